# Local APIC and IOAPIC unit tests (devices/lapic.c, devices/ioapic.c, devices/apicbus.c).
kestrel_unit(test_apic ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_apic.c)
