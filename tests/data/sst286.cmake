# The integer core against the SingleStepTests 80286 vectors (real mode).
# The full run is release-only; a deterministic 1-in-25 subset of every
# form runs under the sanitizers.
kestrel_unit(test_sst286 ${CMAKE_CURRENT_SOURCE_DIR}/data/test_sst286.c ${CMAKE_CURRENT_SOURCE_DIR}/data/json.c)
set_tests_properties(test_sst286 PROPERTIES LABELS "data" TIMEOUT 600)
add_test(NAME test_sst286_subset COMMAND test_sst286 --stride 25)
set_tests_properties(test_sst286_subset PROPERTIES LABELS "data;sanitize" TIMEOUT 600)
