# Local APIC / IOAPIC guest test (tests/guest/apic.c). It counts timer and
# device interrupts over known virtual time, so it runs with --clock icount
# (instruction-count time, idle waits skipped): built like kestrel_guest_c,
# registered with that option for each accelerator configuration.
set(_apic_elf ${GUEST_OUT}/apic.elf)
set(_apic_srcs ${GUEST_DIR}/rt/boot.S ${GUEST_DIR}/rt/rt.c ${GUEST_DIR}/apic.c ${GUEST_DIR}/apic_isr.S)
add_custom_command(OUTPUT ${_apic_elf}
  COMMAND ${CMAKE_C_COMPILER} ${GUEST_CFLAGS} ${GUEST_LDFLAGS} -o ${_apic_elf} ${_apic_srcs} -lgcc
  DEPENDS ${_apic_srcs} ${GUEST_DIR}/rt/rt.h ${GUEST_DIR}/rt/link.ld
  COMMENT "Building guest apic")
add_custom_target(guest_apic ALL DEPENDS ${_apic_elf})
foreach(accel ${KESTREL_ACCELS})
  kestrel_accel_opts(${accel} _opts)
  # kvm keeps no instruction count: host time, and kvm_probe skips the
  # test where KVM cannot keep Kestrel's TSC rate (tests/kvm/kvm.cmake).
  set(_run ${GUEST_DIR}/run-guest.sh)
  set(_clock --clock icount)
  if(accel STREQUAL "kvm")
    if(NOT KESTREL_HAVE_KVM)
      continue()
    endif()
    set(_run $<TARGET_FILE:kvm_probe> ${KVM_NEEDS_apic} -- ${_run})
    set(_clock)
  endif()
  add_test(NAME guest.apic.${accel}
    COMMAND ${_run} $<TARGET_FILE:kestrel> ${_apic_elf} ${GUEST_DIR}/apic.expected ${_opts}
            ${_clock})
  set_tests_properties(guest.apic.${accel} PROPERTIES LABELS "guest;sanitize" TIMEOUT 300)
  if(accel STREQUAL "kvm")
    set_tests_properties(guest.apic.${accel} PROPERTIES SKIP_RETURN_CODE 77 LABELS "guest;sanitize;kvm")
  endif()
endforeach()
