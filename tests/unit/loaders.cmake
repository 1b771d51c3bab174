kestrel_unit(test_loaders ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_loaders.c)
kestrel_unit(test_chaos ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_chaos.c)
