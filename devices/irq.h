/*
 * An interrupt line from a device to whatever the board connected it to
 * (PIC input, IOAPIC pin, CPU INTR). Devices only ever call irq_set().
 */
#ifndef KESTREL_IRQ_H
#define KESTREL_IRQ_H

struct irq {
    void (*set)(void *ctx, int line, int level);
    void *ctx;
    int line;
};

static inline void irq_set(const struct irq *q, int level)
{
    if (q->set)
        q->set(q->ctx, q->line, level);
}

/* An edge as devices that pulse their line produce it. */
static inline void irq_pulse(const struct irq *q)
{
    irq_set(q, 1);
    irq_set(q, 0);
}

#endif
