/*
 * 8259A PIC model, following the Intel 8259A datasheet:
 * - initialisation sequence ICW1..ICW4 (ICW3 only when cascaded, ICW4 when
 *   ICW1.IC4), then OCW1 (mask), OCW2 (EOI, rotation, priority), OCW3
 *   (register read select, poll, special mask mode);
 * - fully nested priority with rotation: `priority` is the IR currently
 *   highest; an interrupt is presented when an unmasked request outranks
 *   every in-service interrupt (special mask mode ignores masked ISR bits);
 * - edge-triggered inputs latch a rising edge in IRR until acknowledged;
 *   level-triggered inputs (ELCR) follow the line;
 * - acknowledge of nothing yields the spurious IR7 vector without ISR;
 * - the slave's output drives master IR2 and the master's acknowledge
 *   returns the slave's vector.
 */
#include "devices/i8259.h"

#include <string.h>

static int highest(const struct pic_chip *c, uint8_t bits)
{
    if (!bits)
        return -1;
    for (int k = 0; k < 8; k++) {
        int ir = (c->priority + k) & 7;
        if (bits & (1u << ir))
            return ir;
    }
    return -1;
}

/* Rank of an IR in the current priority order (0 = highest). */
static int rank(const struct pic_chip *c, int ir)
{
    return (ir - c->priority) & 7;
}

/* The IR this chip would present to its output, or -1. */
static int pending(const struct pic_chip *c, bool master)
{
    int req = highest(c, c->irr & ~c->imr);
    if (req < 0)
        return -1;
    uint8_t isr = c->isr;
    if (c->special_mask)
        isr &= ~c->imr;
    /* In special fully nested mode the master lets the slave's IR through
     * even while it is in service (more slave interrupts may nest). */
    if (master && c->sfnm)
        isr &= ~(1u << 2);
    int srv = highest(c, isr);
    if (srv >= 0 && rank(c, srv) <= rank(c, req))
        return -1;
    return req;
}

static void set_chip_line(struct pic_chip *c, int ir, int level)
{
    uint8_t m = (uint8_t)(1u << ir);
    if (c->elcr & m) {
        if (level) {
            c->irr |= m;
            c->lines |= m;
        } else {
            c->irr &= ~m;
            c->lines &= ~m;
        }
    } else if (level) {
        if (!(c->lines & m))
            c->irr |= m;
        c->lines |= m;
    } else {
        c->lines &= ~m;
    }
}

static void update(struct i8259 *p)
{
    /* Cascade: the slave's output is master IR2. */
    set_chip_line(&p->chip[0], 2, pending(&p->chip[1], false) >= 0);
    int level = pending(&p->chip[0], true) >= 0;
    if (level != p->intr_level) {
        p->intr_level = level;
        irq_set(&p->intr, level);
    }
}

void pic_set_irq(void *opaque, int line, int level)
{
    struct i8259 *p = opaque;
    if (line < 0 || line > 15)
        return;
    set_chip_line(&p->chip[line >> 3], line & 7, level);
    update(p);
}

static void chip_reset(struct pic_chip *c)
{
    uint8_t elcr = c->elcr, mask = c->elcr_mask;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr;
    c->elcr_mask = mask;
}

void pic_reset(struct i8259 *p)
{
    for (int k = 0; k < 2; k++) {
        chip_reset(&p->chip[k]);
        p->chip[k].elcr = 0;
    }
    p->intr_level = 0;
    irq_set(&p->intr, 0);
}

void pic_init(struct i8259 *p, struct irq intr)
{
    memset(p, 0, sizeof(*p));
    p->intr = intr;
    /* IRQ0, 1, 2, 8 and 13 are always edge triggered on a PIIX. */
    p->chip[0].elcr_mask = 0xf8;
    p->chip[1].elcr_mask = 0xde;
    pic_reset(p);
}

/* Acknowledge on one chip: IRR -> ISR, returns the IR (or 7: spurious). */
static int chip_ack(struct pic_chip *c, int ir)
{
    uint8_t m = (uint8_t)(1u << ir);
    if (!(c->elcr & m))
        c->irr &= ~m;
    if (c->auto_eoi) {
        if (c->rotate_aeoi)
            c->priority = (uint8_t)((ir + 1) & 7);
    } else {
        c->isr |= m;
    }
    return ir;
}

int pic_ack(struct i8259 *p)
{
    struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
    int ir = pending(m, true);
    int vec;
    if (ir < 0) {
        vec = m->vector | 7; /* spurious */
    } else if (ir == 2) {
        int sir = pending(s, false);
        chip_ack(m, 2);
        if (sir < 0)
            vec = s->vector | 7;
        else
            vec = s->vector | chip_ack(s, sir);
    } else {
        vec = m->vector | chip_ack(m, ir);
    }
    update(p);
    return vec;
}

static void eoi(struct pic_chip *c, int ir, bool rotate)
{
    if (ir < 0)
        return;
    c->isr &= (uint8_t)~(1u << ir);
    if (rotate)
        c->priority = (uint8_t)((ir + 1) & 7);
}

static void chip_write(struct pic_chip *c, int a0, uint8_t v)
{
    if (!a0) {
        if (v & 0x10) { /* ICW1 */
            chip_reset(c);
            c->level_ltim = v & 0x08;
            c->single = v & 0x02;
            c->icw4_needed = v & 0x01;
            c->init_step = 2;
            return;
        }
        if (v & 0x08) { /* OCW3 */
            if (v & 0x04)
                c->poll = true;
            if (v & 0x02)
                c->read_isr = v & 0x01;
            if (v & 0x40)
                c->special_mask = (v >> 5) & 1;
            return;
        }
        /* OCW2 */
        int cmd = v >> 5;
        switch (cmd) {
        case 0: c->rotate_aeoi = false; break;                    /* clear rotate in AEOI */
        case 4: c->rotate_aeoi = true; break;                     /* set rotate in AEOI */
        case 1: eoi(c, highest(c, c->isr), false); break;         /* non-specific EOI */
        case 5: eoi(c, highest(c, c->isr), true); break;          /* rotate on non-specific EOI */
        case 3: eoi(c, v & 7, false); break;                      /* specific EOI */
        case 7: eoi(c, v & 7, true); break;                       /* rotate on specific EOI */
        case 6: c->priority = (uint8_t)(((v & 7) + 1) & 7); break; /* set priority: v&7 lowest */
        default: break;                                           /* 2: no operation */
        }
        return;
    }
    switch (c->init_step) {
    case 2:
        c->vector = v & 0xf8;
        c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = v;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4:
        c->auto_eoi = v & 0x02;
        c->sfnm = v & 0x10;
        c->init_step = 0;
        break;
    default:
        c->imr = v; /* OCW1 */
        break;
    }
}

static uint8_t chip_read(struct pic_chip *c, int a0, bool master)
{
    if (c->poll) {
        c->poll = false;
        int ir = pending(c, master);
        if (ir < 0)
            return 0;
        chip_ack(c, ir);
        return (uint8_t)(0x80 | ir);
    }
    if (a0)
        return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

uint32_t pic_io_read(void *opaque, uint16_t port, int size)
{
    struct i8259 *p = opaque;
    (void)size;
    uint8_t v;
    if (port == 0x4d0 || port == 0x4d1)
        return size >= 2 && port == 0x4d0 ? (uint32_t)(p->chip[0].elcr | p->chip[1].elcr << 8) : p->chip[port & 1].elcr;
    else
        v = chip_read(&p->chip[(port >> 7) & 1], port & 1, !(port & 0x80));
    update(p);
    return v;
}

void pic_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct i8259 *p = opaque;
    (void)size;
    if (port == 0x4d0 || port == 0x4d1) {
        for (int k = 0; k < size && (port & 1) + k < 2; k++) {
            struct pic_chip *c = &p->chip[(port & 1) + k];
            c->elcr = (uint8_t)((val >> (8 * k)) & c->elcr_mask);
        }
    } else {
        chip_write(&p->chip[(port >> 7) & 1], port & 1, (uint8_t)val);
    }
    update(p);
}
