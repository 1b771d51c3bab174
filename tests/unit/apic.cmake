# Local APIC and IOAPIC unit tests (devices/lapic.c, devices/ioapic.c, devices/apicbus.c).
kestrel_unit(test_apic ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_apic.c)
# The APICs on the PC board and the CPU's side of them (vm/pc.c wiring,
# IA32_APIC_BASE, CPUID, INIT).
kestrel_unit(test_apic_board ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_apic_board.c)
