# Machine resets: a guest resetting through each mechanism ends kestrel under
# --no-reboot (status 0; a triple fault gives 4), and SeaBIOS, finding nothing
# to boot, resets the board and starts again (its banner twice on COM1).
set(out ${GUEST_OUT}/reset.elf)
set(srcs ${GUEST_DIR}/rt/boot.S ${GUEST_DIR}/rt/rt.c ${GUEST_DIR}/reset.c)
add_custom_command(OUTPUT ${out}
  COMMAND ${CMAKE_C_COMPILER} ${GUEST_CFLAGS} ${GUEST_LDFLAGS} -o ${out} ${srcs} -lgcc
  DEPENDS ${srcs} ${GUEST_DIR}/rt/rt.h ${GUEST_DIR}/rt/link.ld
  COMMENT "Building guest reset")
add_custom_target(guest_reset ALL DEPENDS ${out})
# Once per accelerator configuration; under kvm through kvm_probe (which
# skips where /dev/kvm cannot run the guest) and on host time, KVM keeping
# no instruction count.
foreach(accel ${KESTREL_ACCELS})
  kestrel_accel_opts(${accel} opts)
  set(run "")
  set(labels "guest;sanitize")
  if(accel STREQUAL "kvm")
    if(NOT KESTREL_HAVE_KVM)
      continue()
    endif()
    set(run $<TARGET_FILE:kvm_probe> --)
    set(labels "guest;kvm")
  else()
    list(APPEND opts --clock icount:4 --max-insns 10000000)
  endif()
  string(REPLACE ";" " " opts "${opts}")
  foreach(how kbc cf9 p92 triple)
    if(how STREQUAL "triple")
      set(want 4)
    else()
      set(want 0)
    endif()
    add_test(NAME guest.reset.${how}.${accel}
      COMMAND ${run} /bin/sh -c "out=$(timeout 60 \"$0\" --kernel \"$1\" --append $2 --no-reboot $4); rc=$?; echo \"$out\"; echo \"$out\" | grep -q \"reset via $2\" && test $rc -eq $3"
              $<TARGET_FILE:kestrel> ${out} ${how} ${want} "${opts}")
    set_tests_properties(guest.reset.${how}.${accel} PROPERTIES LABELS "${labels}" TIMEOUT 120 SKIP_RETURN_CODE 77)
  endforeach()
endforeach()
add_test(NAME boot.seabios.reboot
  COMMAND sh -c "n=$(timeout 300 \"$0\" --clock icount:4 --max-insns 40000000 | grep -c 'SeaBIOS (version'); echo \"banners: $n\"; test $n -ge 2"
          $<TARGET_FILE:kestrel>)
set_tests_properties(boot.seabios.reboot PROPERTIES LABELS "boot" TIMEOUT 300)
add_test(NAME boot.seabios.no-reboot
  COMMAND sh -c "out=$(timeout 300 \"$0\" --clock icount:4 --no-reboot --max-insns 200000000); rc=$?; n=$(echo \"$out\" | grep -c 'SeaBIOS (version'); echo \"banners: $n status: $rc\"; test $n -eq 1 -a $rc -eq 0"
          $<TARGET_FILE:kestrel>)
set_tests_properties(boot.seabios.no-reboot PROPERTIES LABELS "boot" TIMEOUT 300)
