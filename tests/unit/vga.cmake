# VGA + Bochs VBE device, renderer, text dump (devices/vga*.c) and the PNG
# screenshot encoder (frontends/png.c).
kestrel_unit(test_vga ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vga.c)
