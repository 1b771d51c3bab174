# Boot tests: real software from Debian packages, booted and driven over the
# serial console (tests/boot/README.md). boot.fetch downloads the packages
# into the shared cache (KESTREL_CACHE, default ~/.cache/kestrel/debian) and
# builds the guests into this build tree; the Linux tests need it (a CTest
# fixture), so a failed download fails them instead of skipping them.

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(BOOT_DIR ${CMAKE_SOURCE_DIR}/tests/boot)
set(BOOT_IMAGES ${CMAKE_BINARY_DIR}/tests/boot/images)
# This issue's guests run on the interpreter; the accelerators have their own tests.
set(BOOT_DRIVE ${Python3_EXECUTABLE} ${BOOT_DIR}/drive.py --kestrel $<TARGET_FILE:kestrel> "--kestrel-args=--accel interp")

add_test(NAME boot.fetch COMMAND ${Python3_EXECUTABLE} ${BOOT_DIR}/fetch --out ${BOOT_IMAGES})
set_tests_properties(boot.fetch PROPERTIES LABELS "boot" TIMEOUT 900 FIXTURES_SETUP boot_images)

# SeaBIOS alone: its banner on COM1 and the VGA text screen, nothing to boot.
add_test(NAME boot.seabios COMMAND ${BOOT_DRIVE} seabios)
set_tests_properties(boot.seabios PROPERTIES LABELS "boot" TIMEOUT 300)

# Debian's kernel + busybox initramfs by direct boot (--kernel/--initrd).
add_test(NAME boot.direct COMMAND ${BOOT_DRIVE} --images ${BOOT_IMAGES} direct)
set_tests_properties(boot.direct PROPERTIES LABELS "boot" TIMEOUT 1200 FIXTURES_REQUIRED boot_images)

# The same kernel and initramfs through SeaBIOS: from an El Torito CD with
# ISOLINUX, and from a partitioned disk with syslinux's MBR and SYSLINUX.
add_test(NAME boot.cdrom COMMAND ${BOOT_DRIVE} --images ${BOOT_IMAGES} cdrom)
add_test(NAME boot.disk COMMAND ${BOOT_DRIVE} --images ${BOOT_IMAGES} disk)
set_tests_properties(boot.cdrom boot.disk PROPERTIES LABELS "boot" TIMEOUT 1200 FIXTURES_REQUIRED boot_images)
