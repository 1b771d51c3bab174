# VGA + Bochs VBE device, renderer and text dump (devices/vga*.c).
kestrel_unit(test_vga ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vga.c)
# The frontends' share: PNG, screenshots, the SDL key map and the SDL window
# on SDL's headless dummy video driver.
kestrel_unit(test_vga_frontends ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vga_frontends.c $<TARGET_OBJECTS:kfront>)
target_link_libraries(test_vga_frontends PkgConfig::SDL2)
set_tests_properties(test_vga_frontends PROPERTIES ENVIRONMENT "SDL_VIDEODRIVER=dummy")
# The VGA driven by Debian's SeaBIOS VGA BIOS running on the CPU, through a
# small real-mode stub assembled here.
set(VGA_STUB ${CMAKE_CURRENT_BINARY_DIR}/vga_bios_stub.bin)
add_custom_command(OUTPUT ${VGA_STUB}
  COMMAND ${NASM} -f bin -o ${VGA_STUB} ${CMAKE_CURRENT_SOURCE_DIR}/unit/vga_bios_stub.asm
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/unit/vga_bios_stub.asm
  COMMENT "Assembling the VGA BIOS test stub")
add_custom_target(vga_bios_stub DEPENDS ${VGA_STUB})
kestrel_unit(test_vga_bios ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vga_bios.c)
add_dependencies(test_vga_bios vga_bios_stub)
target_compile_definitions(test_vga_bios PRIVATE VGA_STUB_BIN="${VGA_STUB}")
