# Local APIC and IOAPIC unit tests (devices/lapic.c, devices/ioapic.c, devices/apicbus.c).
kestrel_unit(test_apic ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_apic.c)
# The APICs on the PC board and the CPU's side of them (vm/pc.c wiring,
# IA32_APIC_BASE, CPUID, INIT).
kestrel_unit(test_apic_board ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_apic_board.c)
# The DSDT's _PIC switch: _PRT as acpica's interpreter evaluates it, in PIC
# and APIC mode, against the board's PIRQ wiring (acpiexec ships with iasl).
find_program(ACPIEXEC acpiexec REQUIRED)
add_test(NAME apic_prt COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/unit/apic_prt.sh
         ${CMAKE_BINARY_DIR}/devices/acpi/dsdt.aml ${ACPIEXEC})
set_tests_properties(apic_prt PROPERTIES LABELS "unit;sanitize" TIMEOUT 60)
