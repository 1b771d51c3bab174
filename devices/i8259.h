/*
 * The PC's two cascaded 8259A programmable interrupt controllers (master at
 * 0x20, slave at 0xA0 on the master's IR2), with the PIIX edge/level
 * control registers (ELCR) at 0x4D0/0x4D1.
 */
#ifndef KESTREL_I8259_H
#define KESTREL_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

struct pic_chip {
    uint8_t irr;        /* interrupt request register */
    uint8_t isr;        /* in-service register */
    uint8_t imr;        /* interrupt mask register */
    uint8_t lines;      /* current input levels (edge detection) */
    uint8_t elcr;       /* 1 = level triggered (PIIX ELCR) */
    uint8_t elcr_mask;  /* ELCR bits that are writable */
    uint8_t vector;     /* ICW2: vector of IR0 */
    uint8_t icw3;       /* cascade configuration */
    uint8_t priority;   /* IR number with the highest priority (rotation) */
    uint8_t init_step;  /* 0 = operational, 2..4 = expecting ICW2..ICW4 */
    bool icw4_needed, single, level_ltim, auto_eoi, rotate_aeoi, special_mask, read_isr, poll, sfnm;
};

struct i8259 {
    struct pic_chip chip[2]; /* master, slave */
    struct irq intr;         /* INTR output to the CPU */
    int intr_level;
};

void pic_init(struct i8259 *p, struct irq intr);
void pic_reset(struct i8259 *p);
/* Input line 0..15 (8..15 on the slave). */
void pic_set_irq(void *opaque, int line, int level);
/* Interrupt acknowledge: the vector to deliver (spurious IRQ7/15 if none). */
int pic_ack(struct i8259 *p);
/* Port handlers: 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1. */
uint32_t pic_io_read(void *opaque, uint16_t port, int size);
void pic_io_write(void *opaque, uint16_t port, int size, uint32_t val);

#endif
