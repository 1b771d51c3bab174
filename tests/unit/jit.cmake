# The JIT (jit/). The guest programs already run once per accelerator
# configuration (KESTREL_ACCELS); these run the in-process CPU tests again
# with translated code, selected through KESTREL_ACCEL
# (tests/common/accel.h): "jit" translates every block before it first
# runs, "jit-1" translates one instruction per block.
foreach(a jit jit-1)
  # The 80286 vectors (real mode, every instruction form), a 1-in-5 subset.
  add_test(NAME test_sst286.${a} COMMAND test_sst286 --stride 5)
  set_tests_properties(test_sst286.${a} PROPERTIES LABELS "data;jit" ENVIRONMENT KESTREL_ACCEL=${a} TIMEOUT 600)
  # x87 and MMX against the host CPU.
  foreach(t test_fpu test_fpu_trans test_mmx test_fpu_state)
    add_test(NAME ${t}.${a} COMMAND ${t} --quick)
    set_tests_properties(${t}.${a} PROPERTIES LABELS "unit;fpu;jit" ENVIRONMENT KESTREL_ACCEL=${a}
                         SKIP_RETURN_CODE 77 TIMEOUT 300)
  endforeach()
endforeach()
# Random instruction sequences against the host CPU (tests/diff), with
# faulting operands and block caps from 1 to 64.
add_test(NAME diff.jit COMMAND kdiff --seed 3000001 --count 20000 --faults --max-block -1 --native ${DIFF_NATIVE})
set_tests_properties(diff.jit PROPERTIES LABELS "diff;jit" ENVIRONMENT KESTREL_ACCEL=jit TIMEOUT 300)
add_test(NAME diff.jit-1 COMMAND kdiff --seed 4000001 --count 10000 --faults --native ${DIFF_NATIVE})
set_tests_properties(diff.jit-1 PROPERTIES LABELS "diff;jit" ENVIRONMENT KESTREL_ACCEL=jit-1 TIMEOUT 300)
# The JIT's machinery: thresholds and caps, chaining and unchaining, code
# rewritten by DMA, arena flushes, exits across pages.
kestrel_unit(test_jit ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_jit.c ${CMAKE_CURRENT_SOURCE_DIR}/unit/jit_harness.c)
set_tests_properties(test_jit PROPERTIES LABELS "unit;jit;sanitize" SKIP_RETURN_CODE 77)
# Accesses without a probe of their own: probe groups and the probe cache.
kestrel_unit(test_jit_probe ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_jit_probe.c
             ${CMAKE_CURRENT_SOURCE_DIR}/unit/jit_harness.c)
set_tests_properties(test_jit_probe PROPERTIES LABELS "unit;jit;sanitize" SKIP_RETURN_CODE 77)
# Co-simulation (--cosim's machinery, jit/cosim.c): every translated block
# of random sequences also interpreted from the same state and compared,
# besides kdiff's comparison of the end state with the host CPU.
add_test(NAME diff.cosim COMMAND kdiff --seed 5000001 --count 10000 --faults --max-block -1 --native ${DIFF_NATIVE})
set_tests_properties(diff.cosim PROPERTIES LABELS "diff;jit" ENVIRONMENT KESTREL_ACCEL=cosim TIMEOUT 300)
# The x87 the JIT runs on the host's x87 (jit/x64/x87.c) against the
# interpreter's software x87, block by block, on top of both matching the
# host: every case is a block with the operands' edge cases, control words
# and stack states of test_fpu.
foreach(t test_fpu test_fpu_state)
  add_test(NAME ${t}.cosim COMMAND ${t} --quick)
  set_tests_properties(${t}.cosim PROPERTIES LABELS "unit;fpu;jit" ENVIRONMENT KESTREL_ACCEL=cosim
                       SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
# REPE/REPNE CMPS and SCAS against the host CPU (long runs across pages,
# both directions), under the interpreter and the JIT.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  kestrel_unit(test_rep_cmp ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rep_cmp.c)
  set_tests_properties(test_rep_cmp PROPERTIES LABELS "unit;sanitize")
  add_test(NAME test_rep_cmp.jit COMMAND test_rep_cmp)
  set_tests_properties(test_rep_cmp.jit PROPERTIES LABELS "unit;jit" ENVIRONMENT KESTREL_ACCEL=jit)
endif()
