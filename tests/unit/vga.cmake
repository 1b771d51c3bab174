# VGA + Bochs VBE device, renderer, text dump (devices/vga*.c) and the PNG
# screenshot encoder (frontends/png.c).
kestrel_unit(test_vga ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vga.c)
# The frontends' share: PNG, screenshots, the SDL key map and the SDL window
# on SDL's headless dummy video driver. Not run under the sanitizers: SDL's
# own allocations would be reported as leaks.
kestrel_unit(test_vga_frontends ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vga_frontends.c $<TARGET_OBJECTS:kfront>)
target_link_libraries(test_vga_frontends PkgConfig::SDL2)
set_tests_properties(test_vga_frontends PROPERTIES LABELS "unit" ENVIRONMENT "SDL_VIDEODRIVER=dummy")
