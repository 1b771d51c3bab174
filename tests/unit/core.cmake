kestrel_unit(test_optable ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_optable.c)
