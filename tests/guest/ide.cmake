# End to end through SeaBIOS: it finds our IDE disk and ATAPI CD-ROM, boots
# them (MBR; El Torito "no emulation") and their boot code checks reads,
# writes and geometry through INT 13h (tests/guest/ide_disk.asm, ide_cd.asm).
# The images are made here: nasm for the disk and the boot image, xorriso
# for the ISO (Debian package xorriso, in scripts/deps.sh).
find_program(XORRISO xorriso REQUIRED)
set(IDE_OUT ${GUEST_OUT}/ide)
add_custom_command(OUTPUT ${IDE_OUT}/disk.img
  COMMAND ${CMAKE_COMMAND} -E make_directory ${IDE_OUT}
  COMMAND ${NASM} -f bin -o ${IDE_OUT}/disk.img ${GUEST_DIR}/ide_disk.asm
  DEPENDS ${GUEST_DIR}/ide_disk.asm
  COMMENT "Assembling the IDE test disk")
add_custom_command(OUTPUT ${IDE_OUT}/cd.iso
  COMMAND ${CMAKE_COMMAND} -E make_directory ${IDE_OUT}/cdroot
  COMMAND ${NASM} -f bin -o ${IDE_OUT}/cdroot/boot.bin ${GUEST_DIR}/ide_cd.asm
  COMMAND ${XORRISO} -as mkisofs -quiet -o ${IDE_OUT}/cd.iso -b boot.bin -no-emul-boot -boot-load-size 4
          -boot-info-table ${IDE_OUT}/cdroot
  DEPENDS ${GUEST_DIR}/ide_cd.asm
  COMMENT "Making the El Torito test ISO")
add_custom_target(guest_ide_images ALL DEPENDS ${IDE_OUT}/disk.img ${IDE_OUT}/cd.iso)

# Under every accelerator configuration but kvm (tests/kvm/kvm.cmake has its own).
set(IDE_RUN ${GUEST_DIR}/ide-boot.sh $<TARGET_FILE:kestrel>)
foreach(accel ${KESTREL_ACCELS})
  if(accel STREQUAL "kvm")
    continue()
  endif()
  kestrel_accel_opts(${accel} opts)
  list(APPEND opts --clock icount:4)
  add_test(NAME guest.ide.boot_disk.${accel}
    COMMAND ${IDE_RUN} "IDE disk: " ${GUEST_DIR}/ide_disk.expected --disk ${IDE_OUT}/disk.img ${opts})
  add_test(NAME guest.ide.boot_cd.${accel}
    COMMAND ${IDE_RUN} "IDE cd: " ${GUEST_DIR}/ide_cd.expected --cdrom ${IDE_OUT}/cd.iso --boot d ${opts})
  # Both attached: --boot picks which one SeaBIOS tries first.
  add_test(NAME guest.ide.boot_order_c.${accel}
    COMMAND ${IDE_RUN} "IDE disk: " ${GUEST_DIR}/ide_disk.expected --cdrom ${IDE_OUT}/cd.iso
            --disk ${IDE_OUT}/disk.img ${opts})
  add_test(NAME guest.ide.boot_order_d.${accel}
    COMMAND ${IDE_RUN} "IDE cd: " ${GUEST_DIR}/ide_cd.expected --disk ${IDE_OUT}/disk.img --cdrom ${IDE_OUT}/cd.iso
            --boot d ${opts})
  set_tests_properties(guest.ide.boot_disk.${accel} guest.ide.boot_cd.${accel} guest.ide.boot_order_c.${accel}
    guest.ide.boot_order_d.${accel} PROPERTIES LABELS "guest;sanitize" TIMEOUT 300)
endforeach()
# SeaBIOS with nothing attached: no phantom floppy ("Booting from Floppy...").
add_test(NAME guest.ide.no_floppy
  COMMAND sh -c "out=$(timeout 120 \"$0\" --clock icount:4 --no-reboot --max-insns 100000000 | tr -d '\\r'); echo \"$out\"; echo \"$out\" | grep -q 'No bootable device' && ! echo \"$out\" | grep -q 'Booting from Floppy'"
          $<TARGET_FILE:kestrel>)
set_tests_properties(guest.ide.no_floppy PROPERTIES LABELS "guest;sanitize" TIMEOUT 300)
# Bad images stop kestrel before the guest runs (status 2) with a message
# naming the option and the file.
add_test(NAME guest.ide.bad_images
  COMMAND sh -c "set -u; t=$(mktemp -d); trap 'rm -rf $t' EXIT; : > $t/empty; head -c 100000 /dev/zero > $t/zero.iso
    check() { out=$(\"$0\" --clock icount:4 --no-reboot \"$@\" 2>&1 < /dev/null); rc=$?; echo \"$out\"; test $rc -eq 2 || { echo \"status $rc\"; exit 1; }; }
    check --disk $t/empty; echo \"$out\" | grep -q -- '--disk .*empty' || exit 1
    check --cdrom $t/zero.iso; echo \"$out\" | grep -q -- '--cdrom .*not an ISO 9660' || exit 1
    check --cdrom $t/empty; echo \"$out\" | grep -q 'empty' || exit 1
    check --disk $t/missing.img; echo \"$out\" | grep -q 'No such file' || exit 1
    check --boot d; echo \"$out\" | grep -q 'no --cdrom' || exit 1
    check --disk $t/zero.iso --disk $t/zero.iso; echo \"$out\" | grep -q 'in use' || exit 1
    exit 0"
  $<TARGET_FILE:kestrel>)
set_tests_properties(guest.ide.bad_images PROPERTIES LABELS "guest;sanitize" TIMEOUT 120)
# Linux's own drivers on our IDE: ata_piix (bus-master DMA), sd and sr,
# direct boot of Debian's kernel with its modules (tests/guest/ide-linux.sh).
# The kernel comes through tests/boot/fetch (network on the first run).
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/boot/fetch)
  foreach(accel ${KESTREL_ACCELS})
    if(accel STREQUAL "kvm")
      continue()
    endif()
    kestrel_accel_opts(${accel} opts)
    add_test(NAME boot.ide.linux_drivers.${accel}
      COMMAND ${GUEST_DIR}/ide-linux.sh $<TARGET_FILE:kestrel> ${CMAKE_SOURCE_DIR}/tests/boot/fetch
              ${CMAKE_CURRENT_BINARY_DIR}/ide-linux-${accel} ${opts})
    set_tests_properties(boot.ide.linux_drivers.${accel} PROPERTIES LABELS "boot" TIMEOUT 900
      FIXTURES_REQUIRED boot_images) # the fetch cache filled once, not raced
  endforeach()
endif()
