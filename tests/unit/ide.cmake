# IDE/ATAPI/bus-master DMA through the ports (devices/ide*.c, atapi.c,
# bmdma.c) and the image backends (devices/disk.c).
kestrel_unit(test_ide ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ide.c)
kestrel_unit(test_disk ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_disk.c)
