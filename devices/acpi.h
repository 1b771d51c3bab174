/*
 * ACPI tables for the Kestrel PC: RSDP, RSDT, FADT (with FACS), MADT when
 * the board has APICs, and the DSDT compiled from devices/acpi/dsdt.asl.
 * They are handed to the firmware through fw_cfg's table-loader protocol
 * ("etc/table-loader", "etc/acpi/tables", "etc/acpi/rsdp"): SeaBIOS
 * allocates them in guest memory, patches the pointers between them and
 * fixes the checksums, exactly as it does on QEMU.
 */
#ifndef KESTREL_ACPI_H
#define KESTREL_ACPI_H

#include <stdbool.h>
#include <stdint.h>

struct fw_cfg;

struct acpi_config {
    uint16_t pm_base;    /* PIIX4 PM I/O block */
    uint8_t sci_irq;     /* ISA IRQ of the SCI */
    bool apic;           /* describe a local APIC and an IOAPIC (MADT) */
    uint32_t lapic_addr, ioapic_addr;
    uint8_t ioapic_id;   /* the IOAPIC's ID register after reset */
    int ncpus;           /* local APIC IDs 0..ncpus-1 */
};

/* Build the tables and add them to fw_cfg. Returns 0 or -errno. */
int acpi_build(struct fw_cfg *f, const struct acpi_config *cfg);

/* Without firmware (direct kernel boot): run the table-loader script
 * ourselves, placing the FSEG allocation (RSDP) at fseg_addr and the rest
 * at high_addr in guest memory. Returns the RSDP address, or 0 on error. */
struct phys;
uint32_t acpi_install(const struct fw_cfg *f, struct phys *mem, uint32_t fseg_addr, uint32_t high_addr,
                      uint32_t *high_len);

/* The raw DSDT AML (for tests). */
const uint8_t *acpi_dsdt(uint32_t *len);

#endif
