/*
 * PS/2 devices behind the 8042: a keyboard (scan code sets 1 and 2,
 * LEDs, typematic, identify) and a mouse (stream/remote/wrap modes,
 * sample rate, resolution, scaling, the IntelliMouse wheel knock).
 * Each device answers commands and queues the bytes it sends; the
 * controller (i8042.c) drains the queues into its output buffer.
 */
#ifndef KESTREL_PS2_H
#define KESTREL_PS2_H

#include <stdbool.h>
#include <stdint.h>

#define PS2_QUEUE 256

struct ps2_queue {
    uint8_t data[PS2_QUEUE];
    int head, count;
};

struct ps2_kbd {
    struct ps2_queue q;
    uint8_t pending_cmd; /* command waiting for its parameter byte, 0 if none */
    uint8_t scancode_set; /* 1, 2 or 3 as selected by the guest */
    uint8_t leds;
    bool enabled;         /* scanning enabled */
};

struct ps2_mouse {
    struct ps2_queue q;
    uint8_t pending_cmd;
    uint8_t rate, resolution, id;
    bool enabled, remote, wrap, scale21;
    uint8_t knock[3];     /* last three sample rates, for the wheel-mode knock */
    int dx, dy, dz;
    uint8_t buttons;
};

bool ps2_queue_pop(struct ps2_queue *q, uint8_t *b);
void ps2_queue_push(struct ps2_queue *q, uint8_t b);

void ps2_kbd_reset(struct ps2_kbd *k);
void ps2_kbd_write(struct ps2_kbd *k, uint8_t b);
/* A key event in scan code set 1 (with 0xE0 prefix for extended keys);
 * translated to the guest's set as the hardware would before the 8042.
 * `translate` tells whether the 8042 will translate set 2 back to set 1. */
void ps2_kbd_key(struct ps2_kbd *k, bool extended, uint8_t set1_code, bool down, bool translate);

void ps2_mouse_reset(struct ps2_mouse *m);
void ps2_mouse_write(struct ps2_mouse *m, uint8_t b);
/* Host movement: dx right, dy up, dz wheel; buttons bit 0 left, 1 right, 2 middle. */
void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, uint8_t buttons);

#endif
