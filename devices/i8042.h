/*
 * The 8042 keyboard controller (ports 0x60/0x64) with a PS/2 keyboard on
 * its first port (IRQ1) and a mouse on its second (IRQ12). It also owns
 * two board lines: A20 (output port bit 1) and CPU reset (output port
 * bit 0, pulsed by command 0xFE), reported through callbacks.
 */
#ifndef KESTREL_I8042_H
#define KESTREL_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"
#include "devices/ps2.h"

struct i8042 {
    struct ps2_kbd kbd;
    struct ps2_mouse mouse;
    uint8_t status;       /* status register */
    uint8_t cmd_byte;     /* controller command byte ("RAM 0") */
    uint8_t ram[32];      /* controller RAM 1..31 */
    uint8_t outport;      /* output port: bit 0 reset (active low), bit 1 A20 */
    uint8_t out;          /* output buffer */
    uint8_t pending;      /* controller command awaiting a data byte, 0 if none */
    bool out_aux;         /* output buffer holds mouse data */
    struct irq irq_kbd, irq_mouse;
    void (*set_a20)(void *ctx, bool enabled);
    void (*reset)(void *ctx);
    void *ctx;
};

void i8042_init(struct i8042 *c, struct irq kbd, struct irq mouse, void (*set_a20)(void *ctx, bool on),
                void (*reset)(void *ctx), void *ctx);
void i8042_reset(struct i8042 *c);
uint32_t i8042_io_read(void *opaque, uint16_t port, int size);
void i8042_io_write(void *opaque, uint16_t port, int size, uint32_t val);
/* Host input (see ps2.h for the meaning of the arguments). */
void i8042_key(struct i8042 *c, bool extended, uint8_t set1_code, bool down);
void i8042_mouse(struct i8042 *c, int dx, int dy, int dz, uint8_t buttons);

#endif
