# Boot tests: real software from Debian packages, booted and driven over the
# serial console (tests/boot/README.md). boot.fetch downloads the packages
# into the shared cache (KESTREL_CACHE, default ~/.cache/kestrel/debian) and
# builds the guests into this build tree; the Linux tests need it (a CTest
# fixture), so a failed download fails them instead of skipping them.

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(BOOT_DIR ${CMAKE_SOURCE_DIR}/tests/boot)
set(BOOT_IMAGES ${CMAKE_BINARY_DIR}/tests/boot/images)
# Every boot test runs once per accelerator configuration of KESTREL_ACCELS
# (tests/CMakeLists.txt) but kvm: this machine's /dev/kvm (PVM, software)
# cannot turn 32-bit paging on, which the i386 kernel needs, and takes
# minutes over SeaBIOS (tests/kvm/kvm.cmake boots SeaBIOS and the IDE test
# images under kvm).
function(kestrel_boot_test name timeout)
  foreach(accel ${KESTREL_ACCELS})
    if(accel STREQUAL "kvm")
      continue()
    endif()
    kestrel_accel_opts(${accel} opts)
    string(REPLACE ";" " " opts "${opts}")
    add_test(NAME boot.${name}.${accel}
      COMMAND ${Python3_EXECUTABLE} ${BOOT_DIR}/drive.py --kestrel $<TARGET_FILE:kestrel> "--kestrel-args=${opts}" ${ARGN})
    set_tests_properties(boot.${name}.${accel} PROPERTIES LABELS "boot" TIMEOUT ${timeout})
    if(NOT name STREQUAL "seabios")
      set_tests_properties(boot.${name}.${accel} PROPERTIES FIXTURES_REQUIRED boot_images)
    endif()
  endforeach()
endfunction()

# fetch's handling of a failing apt-get update (a mirror mid-sync), with
# apt simulated: no root, no network.
add_test(NAME boot.fetch_apt COMMAND ${Python3_EXECUTABLE} ${BOOT_DIR}/test_fetch_apt.py)
set_tests_properties(boot.fetch_apt PROPERTIES LABELS "boot;unit" TIMEOUT 60)

add_test(NAME boot.fetch COMMAND ${Python3_EXECUTABLE} ${BOOT_DIR}/fetch --out ${BOOT_IMAGES})
set_tests_properties(boot.fetch PROPERTIES LABELS "boot" TIMEOUT 900 FIXTURES_SETUP boot_images)

# SeaBIOS alone: its banner on COM1 and the VGA text screen, nothing to boot.
kestrel_boot_test(seabios 300 seabios)

# Debian's kernel + busybox initramfs by direct boot (--kernel/--initrd).
kestrel_boot_test(direct 1200 --images ${BOOT_IMAGES} direct)

# The same kernel and initramfs through SeaBIOS: from an El Torito CD with
# ISOLINUX, and from a partitioned disk with syslinux's MBR and SYSLINUX.
kestrel_boot_test(cdrom 1200 --images ${BOOT_IMAGES} cdrom)
kestrel_boot_test(disk 1200 --images ${BOOT_IMAGES} disk)
