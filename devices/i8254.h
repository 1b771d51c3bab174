/*
 * The 8254 programmable interval timer (ports 0x40-0x43), clocked at
 * 1.193182 MHz, with the PC's port 0x61 glue: channel 2's gate (bit 0),
 * the speaker enable (bit 1), the refresh-request toggle (bit 4) and
 * channel 2's output (bit 5) that firmware and Linux calibrate against.
 * Channel 0's output drives IRQ0.
 */
#ifndef KESTREL_I8254_H
#define KESTREL_I8254_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"

#define PIT_HZ 1193182ull

struct pit_channel {
    uint32_t count;       /* reload value, 1..0x10000 (0 written means 0x10000) */
    uint64_t load_time;   /* guest ns when counting (re)started */
    uint16_t latched;     /* latched count */
    uint8_t status;       /* latched status (read-back) */
    bool count_latched, status_latched;
    bool read_msb, write_msb; /* next byte of a two-byte access is the MSB */
    uint8_t write_lsb;    /* LSB waiting for its MSB */
    uint8_t rw;           /* 1 LSB, 2 MSB, 3 LSB then MSB */
    uint8_t mode;         /* 0..5 */
    bool bcd;
    bool gate;
    bool null_count;
    bool armed;           /* a count has been loaded since the mode was set */
    bool triggered;       /* modes 1/5: a gate edge started the count */
};

struct i8254 {
    struct pit_channel ch[3];
    struct vclock *clock;
    struct timer irq_timer; /* next rising edge of OUT0 */
    struct irq irq0;
    bool speaker_data;      /* port 0x61 bit 1 */
};

void pit_init(struct i8254 *p, struct vclock *clock, struct irq irq0);
void pit_reset(struct i8254 *p);
uint32_t pit_io_read(void *opaque, uint16_t port, int size);
void pit_io_write(void *opaque, uint16_t port, int size, uint32_t val);
/* Port 0x61. */
uint32_t pit_port61_read(void *opaque, uint16_t port, int size);
void pit_port61_write(void *opaque, uint16_t port, int size, uint32_t val);
/* Output level of a channel now (for tests and the speaker). */
int pit_output(struct i8254 *p, int ch);

#endif
