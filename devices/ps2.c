/*
 * PS/2 keyboard and mouse protocol (IBM PS/2 Technical Reference). Every
 * command is acknowledged with 0xFA; unknown ones get 0xFE (resend).
 */
#include "devices/ps2.h"

#include <string.h>

bool ps2_queue_pop(struct ps2_queue *q, uint8_t *b)
{
    if (!q->count)
        return false;
    *b = q->data[q->head];
    q->head = (q->head + 1) % PS2_QUEUE;
    q->count--;
    return true;
}

void ps2_queue_push(struct ps2_queue *q, uint8_t b)
{
    if (q->count == PS2_QUEUE)
        return; /* a real device would signal overrun; dropping is what it amounts to */
    q->data[(q->head + q->count) % PS2_QUEUE] = b;
    q->count++;
}

/* ---- keyboard ---- */

/* Set 1 make code -> set 2 make code, for the non-extended keys 0x01-0x58. */
static const uint8_t set1_to_set2[0x59] = {
    0x00, 0x76, 0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36, 0x3d, 0x3e, 0x46, 0x45, 0x4e, 0x55, 0x66, 0x0d,
    0x15, 0x1d, 0x24, 0x2d, 0x2c, 0x35, 0x3c, 0x43, 0x44, 0x4d, 0x54, 0x5b, 0x5a, 0x14, 0x1c, 0x1b,
    0x23, 0x2b, 0x34, 0x33, 0x3b, 0x42, 0x4b, 0x4c, 0x52, 0x0e, 0x12, 0x5d, 0x1a, 0x22, 0x21, 0x2a,
    0x32, 0x31, 0x3a, 0x41, 0x49, 0x4a, 0x59, 0x7c, 0x11, 0x29, 0x58, 0x05, 0x06, 0x04, 0x0c, 0x03,
    0x0b, 0x83, 0x0a, 0x01, 0x09, 0x77, 0x7e, 0x6c, 0x75, 0x7d, 0x7b, 0x6b, 0x73, 0x74, 0x79, 0x69,
    0x72, 0x7a, 0x70, 0x71, 0x7f, 0x60, 0x61, 0x78, 0x07,
};
/* Extended keys (after 0xE0): set 1 -> set 2 codes that differ. */
static uint8_t ext_set1_to_set2(uint8_t c)
{
    switch (c) {
    case 0x1c: return 0x5a; /* keypad enter */
    case 0x1d: return 0x14; /* right ctrl */
    case 0x35: return 0x4a; /* keypad / */
    case 0x38: return 0x11; /* right alt */
    case 0x47: return 0x6c; /* home */
    case 0x48: return 0x75; /* up */
    case 0x49: return 0x7d; /* page up */
    case 0x4b: return 0x6b; /* left */
    case 0x4d: return 0x74; /* right */
    case 0x4f: return 0x69; /* end */
    case 0x50: return 0x72; /* down */
    case 0x51: return 0x7a; /* page down */
    case 0x52: return 0x70; /* insert */
    case 0x53: return 0x71; /* delete */
    case 0x5b: return 0x1f; /* left GUI */
    case 0x5c: return 0x27; /* right GUI */
    case 0x5d: return 0x2f; /* menu */
    default: return c < sizeof(set1_to_set2) ? set1_to_set2[c] : 0;
    }
}

void ps2_kbd_reset(struct ps2_kbd *k)
{
    memset(k, 0, sizeof(*k));
    k->scancode_set = 2;
    k->enabled = true;
}

static void kbd_ack(struct ps2_kbd *k)
{
    ps2_queue_push(&k->q, 0xfa);
}

void ps2_kbd_write(struct ps2_kbd *k, uint8_t b)
{
    if (k->pending_cmd) {
        uint8_t cmd = k->pending_cmd;
        k->pending_cmd = 0;
        switch (cmd) {
        case 0xed:
            k->leds = b & 7;
            kbd_ack(k);
            return;
        case 0xf0:
            kbd_ack(k);
            if (b == 0)
                ps2_queue_push(&k->q, k->scancode_set);
            else if (b <= 3)
                k->scancode_set = b;
            return;
        case 0xf3:
            kbd_ack(k);
            return;
        }
    }
    switch (b) {
    case 0xed: case 0xf0: case 0xf3:
        k->pending_cmd = b;
        kbd_ack(k);
        break;
    case 0xee:
        ps2_queue_push(&k->q, 0xee); /* echo */
        break;
    case 0xf2:
        kbd_ack(k);
        ps2_queue_push(&k->q, 0xab);
        ps2_queue_push(&k->q, 0x83);
        break;
    case 0xf4:
        k->enabled = true;
        kbd_ack(k);
        break;
    case 0xf5:
        k->enabled = false;
        kbd_ack(k);
        break;
    case 0xf6:
        k->scancode_set = 2;
        k->leds = 0;
        k->enabled = true;
        kbd_ack(k);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        kbd_ack(k);
        break;
    case 0xfe:
        break; /* resend: we never lose bytes */
    case 0xff:
        ps2_kbd_reset(k);
        kbd_ack(k);
        ps2_queue_push(&k->q, 0xaa); /* self-test passed */
        break;
    default:
        ps2_queue_push(&k->q, 0xfe);
        break;
    }
}

void ps2_kbd_key(struct ps2_kbd *k, bool extended, uint8_t code, bool down, bool translate)
{
    if (!k->enabled)
        return;
    /* With 8042 translation, the guest sees set 1 when the keyboard is in set 2. */
    if (k->scancode_set == 1 || (k->scancode_set == 2 && translate)) {
        if (extended)
            ps2_queue_push(&k->q, 0xe0);
        ps2_queue_push(&k->q, (uint8_t)(code | (down ? 0 : 0x80)));
        return;
    }
    uint8_t s2 = extended ? ext_set1_to_set2(code) : (code < sizeof(set1_to_set2) ? set1_to_set2[code] : 0);
    if (!s2)
        return;
    if (extended)
        ps2_queue_push(&k->q, 0xe0);
    if (!down)
        ps2_queue_push(&k->q, 0xf0);
    ps2_queue_push(&k->q, s2);
}

/* ---- mouse ---- */

void ps2_mouse_reset(struct ps2_mouse *m)
{
    memset(m, 0, sizeof(*m));
    m->rate = 100;
    m->resolution = 2;
}

static void mouse_ack(struct ps2_mouse *m)
{
    ps2_queue_push(&m->q, 0xfa);
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void mouse_packet(struct ps2_mouse *m)
{
    int dx = clamp(m->dx, -256, 255), dy = clamp(m->dy, -256, 255), dz = clamp(m->dz, -8, 7);
    uint8_t b0 = (uint8_t)(0x08 | (m->buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0));
    ps2_queue_push(&m->q, b0);
    ps2_queue_push(&m->q, (uint8_t)dx);
    ps2_queue_push(&m->q, (uint8_t)dy);
    if (m->id == 3)
        ps2_queue_push(&m->q, (uint8_t)(dz & 0x0f));
    m->dx -= dx;
    m->dy -= dy;
    m->dz -= dz;
}

void ps2_mouse_write(struct ps2_mouse *m, uint8_t b)
{
    if (m->wrap && b != 0xec && b != 0xff) {
        ps2_queue_push(&m->q, b);
        return;
    }
    if (m->pending_cmd) {
        uint8_t cmd = m->pending_cmd;
        m->pending_cmd = 0;
        if (cmd == 0xf3) {
            m->rate = b;
            m->knock[0] = m->knock[1];
            m->knock[1] = m->knock[2];
            m->knock[2] = b;
            if (m->knock[0] == 200 && m->knock[1] == 100 && m->knock[2] == 80)
                m->id = 3; /* IntelliMouse: wheel reports enabled */
        } else if (cmd == 0xe8) {
            m->resolution = b & 3;
        }
        mouse_ack(m);
        return;
    }
    switch (b) {
    case 0xe6: m->scale21 = false; mouse_ack(m); break;
    case 0xe7: m->scale21 = true; mouse_ack(m); break;
    case 0xe8: case 0xf3: m->pending_cmd = b; mouse_ack(m); break;
    case 0xe9:
        mouse_ack(m);
        ps2_queue_push(&m->q, (uint8_t)((m->remote ? 0x40 : 0) | (m->enabled ? 0x20 : 0) | (m->scale21 ? 0x10 : 0) |
                                        (m->buttons & 7)));
        ps2_queue_push(&m->q, m->resolution);
        ps2_queue_push(&m->q, m->rate);
        break;
    case 0xea: m->remote = false; mouse_ack(m); break;
    case 0xeb: mouse_ack(m); mouse_packet(m); break;
    case 0xec: m->wrap = false; mouse_ack(m); break;
    case 0xee: m->wrap = true; mouse_ack(m); break;
    case 0xf0: m->remote = true; mouse_ack(m); break;
    case 0xf2: mouse_ack(m); ps2_queue_push(&m->q, m->id); break;
    case 0xf4: m->enabled = true; mouse_ack(m); break;
    case 0xf5: m->enabled = false; mouse_ack(m); break;
    case 0xf6:
        m->rate = 100;
        m->resolution = 2;
        m->scale21 = false;
        m->enabled = false;
        mouse_ack(m);
        break;
    case 0xff:
        ps2_mouse_reset(m);
        mouse_ack(m);
        ps2_queue_push(&m->q, 0xaa);
        ps2_queue_push(&m->q, 0x00);
        break;
    default:
        ps2_queue_push(&m->q, 0xfe);
        break;
    }
}

void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, uint8_t buttons)
{
    m->dx += dx;
    m->dy += dy;
    m->dz += dz;
    m->buttons = buttons;
    if (m->enabled && !m->remote && m->q.count < PS2_QUEUE - 8)
        mouse_packet(m);
}
