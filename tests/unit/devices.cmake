kestrel_unit(test_pic_pit ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pic_pit.c)
