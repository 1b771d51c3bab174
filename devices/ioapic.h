/*
 * An Intel 82093AA I/O APIC: 24 interrupt input pins, each with a 64-bit
 * redirection entry that turns the pin into an interrupt message on the
 * APIC bus (devices/apicbus.h). Two registers in memory at its base
 * (default 0xFEC00000): IOREGSEL (+0x00) selects, IOWIN (+0x10) reads or
 * writes the selected 32-bit register. See ioapic.c for the rules.
 *
 * Pins take the electrical level of their wire (struct irq compatible
 * ioapic_set_irq); the entry's polarity says which level is asserted, so
 * the board passes active-low lines (PCI PIRQ#) as they are on the wire.
 */
#ifndef KESTREL_IOAPIC_H
#define KESTREL_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/apicbus.h"

struct mmio_ops;

#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_SIZE 0x1000u /* decoded window: IOREGSEL and IOWIN */
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x11u

struct ioapic {
    uint8_t id;                    /* IOAPICID bits 27:24 */
    uint8_t sel;                   /* IOREGSEL */
    uint64_t redir[IOAPIC_PINS];   /* redirection table */
    uint32_t pins;                 /* input levels, one bit per pin (wires, kept across reset) */
    struct apic_bus *bus;
};

extern const struct mmio_ops ioapic_mmio_ops;

/* Set up and register on `bus`; returns 0 or -errno. Then RESET. */
int ioapic_init(struct ioapic *io, struct apic_bus *bus);
void ioapic_reset(struct ioapic *io);
/* Input pin level (struct irq compatible: opaque is the ioapic). */
void ioapic_set_irq(void *opaque, int pin, int level);
/* EOI broadcast from a local APIC (apicbus.c). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

uint32_t ioapic_mmio_read(void *opaque, uint64_t offset, int size);
void ioapic_mmio_write(void *opaque, uint64_t offset, int size, uint32_t val);

#endif
