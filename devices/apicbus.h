/*
 * The interrupt message fabric between the IOAPICs and the local APICs:
 * on a P6 system the three-wire APIC bus, on later ones the system bus.
 * Whoever sends (an IOAPIC redirection entry, a local APIC's ICR) builds a
 * struct apic_msg; apic_bus_send() picks the destination local APICs
 * (physical ID, logical flat/cluster match through LDR/DFR, shorthands,
 * lowest-priority arbitration: SDM Vol. 3A 10.6.2) and hands the message
 * to each. EOIs for level-triggered vectors go the other way, broadcast to
 * every IOAPIC (SDM 10.8.5; 82093AA datasheet 2.4, "Remote IRR").
 *
 * The bus holds pointers to every APIC of the board, so a second CPU is a
 * second struct lapic registered here; nothing else changes.
 */
#ifndef KESTREL_APICBUS_H
#define KESTREL_APICBUS_H

#include <stdbool.h>
#include <stdint.h>

struct lapic;
struct ioapic;

/* Delivery modes (ICR, LVT and redirection-entry bits 10:8). */
enum apic_delivery {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_STARTUP = 6,
    APIC_DM_EXTINT = 7,
};

/* Destination shorthands (ICR bits 19:18). */
enum apic_shorthand { APIC_SH_NONE = 0, APIC_SH_SELF = 1, APIC_SH_ALL = 2, APIC_SH_OTHERS = 3 };

/* One interrupt message. */
struct apic_msg {
    uint8_t vector;
    uint8_t delivery;  /* enum apic_delivery */
    bool logical;      /* destination mode: logical (LDR/DFR match) or physical (APIC ID) */
    bool level;        /* trigger mode: level (sets TMR, EOI is broadcast back) */
    bool assert;       /* level bit: false only for INIT level de-assert */
    uint8_t dest;      /* destination field (8 bits, xAPIC) */
    uint8_t shorthand; /* enum apic_shorthand; only the ICR uses one */
};

#define APIC_BUS_MAX_CPUS 16
#define APIC_BUS_MAX_IOAPICS 4

struct apic_bus {
    struct lapic *lapic[APIC_BUS_MAX_CPUS]; /* every local APIC, by CPU index */
    int nlapics;
    struct ioapic *ioapic[APIC_BUS_MAX_IOAPICS];
    int nioapics;
};

void apic_bus_init(struct apic_bus *b);
/* Registration at board build time; return 0 or -ENOSPC. */
int apic_bus_add_lapic(struct apic_bus *b, struct lapic *l);
int apic_bus_add_ioapic(struct apic_bus *b, struct ioapic *io);
/* Deliver a message. `src` is the sending local APIC (ICR; needed for the
 * self/others shorthands), NULL for an IOAPIC. Returns the number of local
 * APICs that received it. */
int apic_bus_send(struct apic_bus *b, const struct apic_msg *m, struct lapic *src);
/* EOI of a level-triggered `vector` by a local APIC: every IOAPIC clears
 * the remote IRR of the entries with that vector. */
void apic_bus_eoi(struct apic_bus *b, uint8_t vector);

#endif
