# Differential tests: random instruction sequences run natively on the host
# CPU (the oracle) and on Kestrel's interpreter, end states compared.
# See tests/diff/README.md.

set(DIFF_DIR ${CMAKE_CURRENT_SOURCE_DIR}/diff)

# The native runner is a 32-bit Linux program (gcc-multilib), built outside
# the 64-bit toolchain flags of the rest of the tree.
set(DIFF_NATIVE ${CMAKE_CURRENT_BINARY_DIR}/diff_native)
add_custom_command(OUTPUT ${DIFF_NATIVE}
  COMMAND ${CMAKE_C_COMPILER} -m32 -O2 -no-pie -fno-pie -fno-stack-protector -Wall -Wextra -Werror
          -o ${DIFF_NATIVE} ${DIFF_DIR}/native.c ${DIFF_DIR}/native_entry.S
  DEPENDS ${DIFF_DIR}/native.c ${DIFF_DIR}/native_entry.S ${DIFF_DIR}/proto.h
  COMMENT "Building the 32-bit native runner diff_native")
add_custom_target(diff_native ALL DEPENDS ${DIFF_NATIVE})

add_executable(kdiff ${DIFF_DIR}/kdiff.c ${DIFF_DIR}/gen.c ${DIFF_DIR}/gen_int.c ${DIFF_DIR}/gen_misc.c ${DIFF_DIR}/gen_fpu.c
               ${DIFF_DIR}/seq.c
               ${DIFF_DIR}/emu.c ${DIFF_DIR}/report.c $<TARGET_OBJECTS:kcore> $<TARGET_OBJECTS:ktestaccel>)
target_link_libraries(kdiff PkgConfig::LIBELF PkgConfig::XXHASH PkgConfig::CAPSTONE m)
add_dependencies(kdiff diff_native)

# CI: a fixed seed, so a red run is reproducible with the command it prints.
add_test(NAME diff.int COMMAND kdiff --seed 1 --count 60000 --check-enc --native ${DIFF_NATIVE})
set_tests_properties(diff.int PROPERTIES LABELS "diff" TIMEOUT 300)
# Faulting operands and faulting last groups; decoded blocks capped at 1..64 per sequence.
add_test(NAME diff.faults COMMAND kdiff --seed 1000001 --count 20000 --faults --max-block -1 --native ${DIFF_NATIVE})
set_tests_properties(diff.faults PROPERTIES LABELS "diff" TIMEOUT 300)
# Small enough to run again under ASan/UBSan.
add_test(NAME diff.sanitize COMMAND kdiff --seed 2000001 --count 5000 --faults --max-block -1 --native ${DIFF_NATIVE})
set_tests_properties(diff.sanitize PROPERTIES LABELS "diff;sanitize" TIMEOUT 300)
