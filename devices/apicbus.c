/*
 * APIC message routing (see apicbus.h): destination selection per SDM Vol.
 * 3A 10.6.2 and lowest-priority arbitration per 10.6.2.4, EOI broadcast to
 * the IOAPICs per 10.8.5.
 */
#include "devices/apicbus.h"

#include <errno.h>
#include <string.h>

#include "devices/ioapic.h"
#include "devices/lapic.h"

void apic_bus_init(struct apic_bus *b)
{
    memset(b, 0, sizeof(*b));
}

int apic_bus_add_lapic(struct apic_bus *b, struct lapic *l)
{
    if (b->nlapics == APIC_BUS_MAX_CPUS)
        return -ENOSPC;
    b->lapic[b->nlapics++] = l;
    return 0;
}

int apic_bus_add_ioapic(struct apic_bus *b, struct ioapic *io)
{
    if (b->nioapics == APIC_BUS_MAX_IOAPICS)
        return -ENOSPC;
    b->ioapic[b->nioapics++] = io;
    return 0;
}

static bool selected(struct lapic *l, const struct apic_msg *m, struct lapic *src)
{
    switch (m->shorthand) {
    case APIC_SH_SELF: return l == src;
    case APIC_SH_ALL: return true;
    case APIC_SH_OTHERS: return l != src;
    default: return lapic_match(l, m->dest, m->logical);
    }
}

/* Lowest priority (10.6.2.4): a focus processor (one already servicing or
 * holding the vector, with focus checking on) wins; else the lowest
 * arbitration priority, ties to the lowest APIC ID. */
static struct lapic *lowest_priority(struct lapic **t, int n, uint8_t vector)
{
    for (int k = 0; k < n; k++) {
        const struct lapic *l = t[k];
        bool held = ((l->isr[vector >> 5] | l->irr[vector >> 5]) >> (vector & 31)) & 1;
        if (held && !(l->svr & 0x200))
            return t[k];
    }
    struct lapic *best = t[0];
    for (int k = 1; k < n; k++) {
        uint8_t a = lapic_apr(t[k]), b = lapic_apr(best);
        if (a < b || (a == b && t[k]->id < best->id))
            best = t[k];
    }
    return best;
}

int apic_bus_send(struct apic_bus *b, const struct apic_msg *m, struct lapic *src)
{
    struct lapic *t[APIC_BUS_MAX_CPUS];
    int n = 0;
    for (int k = 0; k < b->nlapics; k++)
        if (lapic_hw_enabled(b->lapic[k]) && selected(b->lapic[k], m, src))
            t[n++] = b->lapic[k];
    if (m->delivery == APIC_DM_LOWEST && m->shorthand == APIC_SH_NONE && n > 1) {
        t[0] = lowest_priority(t, n, m->vector);
        n = 1;
    }
    for (int k = 0; k < n; k++)
        lapic_deliver(t[k], m);
    return n;
}

void apic_bus_eoi(struct apic_bus *b, uint8_t vector)
{
    for (int k = 0; k < b->nioapics; k++)
        ioapic_eoi(b->ioapic[k], vector);
}
