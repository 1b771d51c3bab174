/*
 * 8042 controller model. The output buffer holds one byte at a time; when
 * it is empty the controller takes the next byte from the keyboard queue
 * (first) or the mouse queue, unless that port is disabled in the command
 * byte, and raises IRQ1 or IRQ12 if enabled there. Controller responses
 * (self-test, command byte reads, ...) go straight to the buffer.
 */
#include "devices/i8042.h"

#include <string.h>

#define ST_OBF 0x01
#define ST_IBF 0x02
#define ST_SYS 0x04
#define ST_CMD 0x08
#define ST_UNLOCKED 0x10
#define ST_AUX 0x20
#define CB_KBD_IRQ 0x01
#define CB_AUX_IRQ 0x02
#define CB_SYS 0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20
#define CB_XLATE 0x40

static void update_irqs(struct i8042 *c)
{
    bool full = c->status & ST_OBF;
    irq_set(&c->irq_kbd, full && !c->out_aux && (c->cmd_byte & CB_KBD_IRQ));
    irq_set(&c->irq_mouse, full && c->out_aux && (c->cmd_byte & CB_AUX_IRQ));
}

static void fill_output(struct i8042 *c)
{
    if (c->status & ST_OBF)
        return;
    uint8_t b;
    if (!(c->cmd_byte & CB_KBD_OFF) && ps2_queue_pop(&c->kbd.q, &b)) {
        c->out = b;
        c->out_aux = false;
        c->status = (uint8_t)((c->status & ~ST_AUX) | ST_OBF);
    } else if (!(c->cmd_byte & CB_AUX_OFF) && ps2_queue_pop(&c->mouse.q, &b)) {
        c->out = b;
        c->out_aux = true;
        c->status |= ST_OBF | ST_AUX;
    }
    update_irqs(c);
}

/* A byte from the controller itself, or injected as if from a device. */
static void put_output(struct i8042 *c, uint8_t b, bool aux)
{
    c->out = b;
    c->out_aux = aux;
    c->status = (uint8_t)((c->status & ~ST_AUX) | ST_OBF | (aux ? ST_AUX : 0));
    update_irqs(c);
}

void i8042_reset(struct i8042 *c)
{
    ps2_kbd_reset(&c->kbd);
    ps2_mouse_reset(&c->mouse);
    c->status = ST_UNLOCKED;
    c->cmd_byte = CB_KBD_IRQ | CB_XLATE | CB_AUX_OFF;
    c->outport = 0x03; /* reset line inactive, A20 enabled */
    c->pending = 0;
    update_irqs(c);
}

void i8042_init(struct i8042 *c, struct irq kbd, struct irq mouse, void (*set_a20)(void *ctx, bool on),
                void (*reset)(void *ctx), void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->irq_kbd = kbd;
    c->irq_mouse = mouse;
    c->set_a20 = set_a20;
    c->reset = reset;
    c->ctx = ctx;
    i8042_reset(c);
}

static void write_outport(struct i8042 *c, uint8_t v)
{
    uint8_t old = c->outport;
    c->outport = v;
    if ((old ^ v) & 0x02 && c->set_a20)
        c->set_a20(c->ctx, v & 0x02);
    if (!(v & 0x01) && c->reset)
        c->reset(c->ctx);
}

static void controller_command(struct i8042 *c, uint8_t cmd)
{
    if (cmd >= 0x20 && cmd < 0x40) {
        put_output(c, cmd == 0x20 ? c->cmd_byte : c->ram[cmd & 31], false);
        return;
    }
    if (cmd >= 0x60 && cmd < 0x80) {
        c->pending = cmd;
        return;
    }
    if (cmd >= 0xf0) { /* pulse output lines low for 6 us: bit 0 is the reset line */
        if (!(cmd & 1) && c->reset)
            c->reset(c->ctx);
        return;
    }
    switch (cmd) {
    case 0xa7: c->cmd_byte |= CB_AUX_OFF; break;
    case 0xa8: c->cmd_byte &= (uint8_t)~CB_AUX_OFF; break;
    case 0xa9: put_output(c, 0x00, false); break; /* mouse port test: OK */
    case 0xaa: /* self test: also leaves both ports disabled as on real 8042s */
        c->cmd_byte |= CB_KBD_OFF | CB_AUX_OFF;
        c->status |= ST_SYS;
        put_output(c, 0x55, false);
        break;
    case 0xab: put_output(c, 0x00, false); break; /* keyboard port test: OK */
    case 0xad: c->cmd_byte |= CB_KBD_OFF; break;
    case 0xae: c->cmd_byte &= (uint8_t)~CB_KBD_OFF; break;
    case 0xc0: put_output(c, 0xbf, false); break; /* input port: keyboard not locked */
    case 0xd0: put_output(c, c->outport, false); break;
    case 0xd1: case 0xd2: case 0xd3: case 0xd4: c->pending = cmd; break;
    case 0xe0: put_output(c, 0x00, false); break; /* test inputs */
    default: break;
    }
    fill_output(c);
}

static void controller_data(struct i8042 *c, uint8_t v)
{
    uint8_t cmd = c->pending;
    c->pending = 0;
    if (cmd >= 0x60 && cmd < 0x80) {
        if (cmd == 0x60) {
            c->cmd_byte = v;
            c->status = (uint8_t)((c->status & ~ST_SYS) | (v & CB_SYS));
        } else {
            c->ram[cmd & 31] = v;
        }
        fill_output(c);
        update_irqs(c);
        return;
    }
    switch (cmd) {
    case 0xd1: write_outport(c, v); break;
    case 0xd2: put_output(c, v, false); break;
    case 0xd3: put_output(c, v, true); break;
    case 0xd4: ps2_mouse_write(&c->mouse, v); break;
    default:
        /* Plain data to the keyboard; writing to it re-enables its port. */
        c->cmd_byte &= (uint8_t)~CB_KBD_OFF;
        ps2_kbd_write(&c->kbd, v);
        break;
    }
    fill_output(c);
}

uint32_t i8042_io_read(void *opaque, uint16_t port, int size)
{
    struct i8042 *c = opaque;
    (void)size;
    if (port == 0x64)
        return c->status;
    uint8_t v = c->out;
    c->status &= (uint8_t)~(ST_OBF | ST_AUX);
    update_irqs(c);
    fill_output(c);
    return v;
}

void i8042_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct i8042 *c = opaque;
    (void)size;
    if (port == 0x64) {
        c->status |= ST_CMD;
        controller_command(c, (uint8_t)val);
    } else {
        c->status &= (uint8_t)~ST_CMD;
        controller_data(c, (uint8_t)val);
    }
}

void i8042_key(struct i8042 *c, bool extended, uint8_t code, bool down)
{
    ps2_kbd_key(&c->kbd, extended, code, down, c->cmd_byte & CB_XLATE);
    fill_output(c);
}

void i8042_mouse(struct i8042 *c, int dx, int dy, int dz, uint8_t buttons)
{
    ps2_mouse_event(&c->mouse, dx, dy, dz, buttons);
    fill_output(c);
}
