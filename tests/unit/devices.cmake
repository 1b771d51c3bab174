kestrel_unit(test_pic_pit ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pic_pit.c)
kestrel_unit(test_rtc_kbc ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rtc_kbc.c)
kestrel_unit(test_chipset ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_chipset.c)
