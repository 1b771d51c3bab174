# x87 and MMX against the host CPU (tests/unit/fpu_harness.h). The full
# runs are release-only; the --quick runs are the sanitizer subset. On a
# host that is not x86-64 they exit 77 (skipped).
set(FPU_HARNESS ${CMAKE_CURRENT_SOURCE_DIR}/unit/fpu_harness.c)
foreach(t test_fpu test_fpu_trans test_mmx test_fpu_state)
  kestrel_unit(${t} ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c ${FPU_HARNESS})
  set_tests_properties(${t} PROPERTIES LABELS "unit;fpu" SKIP_RETURN_CODE 77)
  add_test(NAME ${t}.quick COMMAND ${t} --quick)
  set_tests_properties(${t}.quick PROPERTIES LABELS "unit;fpu;sanitize" SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
