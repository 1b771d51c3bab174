# The benchmark workload (bench/workload, see bench/README.md), built with
# the normal build: build/bench/workload.elf (Multiboot guest) and
# build/bench/workload-native (32-bit Linux). The phase objects are
# compiled once and linked into both, so both run the same machine code
# and must print the same checksums. The smoke test runs every phase at
# scale 1 (about 10^7 instructions each) through bench/run and compares.

set(BENCH_SRC ${CMAKE_SOURCE_DIR}/bench/workload)
set(BENCH_OUT ${CMAKE_BINARY_DIR}/bench)
file(MAKE_DIRECTORY ${BENCH_OUT})
# -fno-tree-loop-distribute-patterns: keep gcc from turning loops into
# memcpy/memset calls, which the guest has no library for.
set(BENCH_CFLAGS -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-builtin
    -fno-tree-loop-distribute-patterns -O2 -Wall -Wextra -Werror)

set(BENCH_OBJS)
foreach(src main phase_int phase_mem phase_call phase_str phase_fp guest/platform guest/boot)
  get_filename_component(base ${src} NAME_WE)
  if(src MATCHES "^guest/")
    set(base guest_${base})
  endif()
  set(ext c)
  if(src STREQUAL "guest/boot")
    set(ext S)
  endif()
  set(obj ${BENCH_OUT}/${base}.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${CMAKE_C_COMPILER} ${BENCH_CFLAGS} -c ${BENCH_SRC}/${src}.${ext} -o ${obj}
    DEPENDS ${BENCH_SRC}/${src}.${ext} ${BENCH_SRC}/workload.h
    COMMENT "Compiling bench workload ${src}.${ext}")
  if(src MATCHES "^guest/")
    list(APPEND BENCH_GUEST_OBJS ${obj})
  else()
    list(APPEND BENCH_OBJS ${obj})
  endif()
endforeach()

add_custom_command(OUTPUT ${BENCH_OUT}/workload.elf
  COMMAND ${CMAKE_C_COMPILER} -m32 -nostdlib -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments
          -T ${BENCH_SRC}/guest/link.ld -o ${BENCH_OUT}/workload.elf ${BENCH_GUEST_OBJS} ${BENCH_OBJS} -lgcc
  DEPENDS ${BENCH_GUEST_OBJS} ${BENCH_OBJS} ${BENCH_SRC}/guest/link.ld
  COMMENT "Linking bench guest workload.elf")
set(BENCH_TARGETS ${BENCH_OUT}/workload.elf)

# The native build needs a 32-bit C library (Debian: libc6-dev-i386).
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS -m32)
set(CMAKE_REQUIRED_LINK_OPTIONS -m32 -no-pie)
check_c_source_compiles("#include <stdio.h>\nint main(void) { return puts(\"\"); }" KESTREL_HAVE_M32_LIBC)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)

if(KESTREL_HAVE_M32_LIBC)
  add_custom_command(OUTPUT ${BENCH_OUT}/workload-native
    COMMAND ${CMAKE_C_COMPILER} -m32 -O2 -Wall -Wextra -Werror -c ${BENCH_SRC}/native/platform.c
            -o ${BENCH_OUT}/native_platform.o
    COMMAND ${CMAKE_C_COMPILER} -m32 -no-pie -o ${BENCH_OUT}/workload-native ${BENCH_OUT}/native_platform.o
            ${BENCH_OBJS} -lgcc
    DEPENDS ${BENCH_SRC}/native/platform.c ${BENCH_SRC}/workload.h ${BENCH_OBJS}
    COMMENT "Linking bench native workload-native")
  list(APPEND BENCH_TARGETS ${BENCH_OUT}/workload-native)
else()
  message(STATUS "bench: no 32-bit libc (gcc -m32 cannot link); skipping workload-native and its smoke test")
endif()

add_custom_target(bench_workload ALL DEPENDS ${BENCH_TARGETS})

find_package(Python3 COMPONENTS Interpreter)
if(KESTREL_HAVE_M32_LIBC AND Python3_Interpreter_FOUND)
  add_test(NAME bench.smoke
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/bench/run --no-build --build-dir ${CMAKE_BINARY_DIR}
            --kestrel $<TARGET_FILE:kestrel> --scale 1 --runs 1 --no-qemu)
  set_tests_properties(bench.smoke PROPERTIES LABELS "bench" TIMEOUT 300)
endif()
if(KESTREL_HAVE_M32_LIBC)
  # The workload under --cosim at the default JIT threshold (superblocks form).
  add_test(NAME bench.cosim
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/guest/cosim-workload.sh $<TARGET_FILE:kestrel> ${BENCH_OUT}/workload.elf
            ${BENCH_OUT}/workload-native)
  set_tests_properties(bench.cosim PROPERTIES LABELS "bench;jit" TIMEOUT 300)
  # Decoded and translated blocks longer than a superblock's cap: the
  # superblock must stay within it (the ASan build runs this one too).
  add_test(NAME bench.cosim.long_blocks
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/guest/cosim-workload.sh $<TARGET_FILE:kestrel> ${BENCH_OUT}/workload.elf
            ${BENCH_OUT}/workload-native --max-block 200 --jit-max-insns 400)
  set_tests_properties(bench.cosim.long_blocks PROPERTIES LABELS "bench;jit;sanitize" TIMEOUT 300)
endif()
