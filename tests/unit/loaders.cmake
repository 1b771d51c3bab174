kestrel_unit(test_loaders ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_loaders.c)
kestrel_unit(test_chaos ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_chaos.c)
add_test(NAME test_chaos.jit COMMAND test_chaos)
set_tests_properties(test_chaos.jit PROPERTIES LABELS "unit;jit;sanitize" ENVIRONMENT CHAOS_ACCEL=jit TIMEOUT 900)
