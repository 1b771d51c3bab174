# Local APIC / IOAPIC guest test (tests/guest/apic.c). It counts timer and
# device interrupts over known virtual time, so it runs with --clock icount
# (instruction-count time, idle waits skipped) wherever there is an
# instruction count; under kvm its clock is the TSC (tests/kvm/kvm.cmake).
set(GUEST_CLOCK_apic --clock icount)
kestrel_guest_c(apic apic.c apic_isr.S)
