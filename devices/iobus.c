/*
 * Port-I/O dispatch. An access of size 2 or 4 goes to the handler of its
 * first port; handlers that only implement bytes get it split up for them
 * (a handler's read/write receives sizes it registered for as a whole).
 */
#include "devices/iobus.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void iobus_init(struct iobus *b)
{
    memset(b, 0, sizeof(*b));
}

int iobus_register(struct iobus *b, uint16_t base, unsigned count, const struct io_handler *h)
{
    if (count == 0 || base + count > 65536)
        return -EINVAL;
    for (unsigned p = base; p < base + count; p++)
        if (b->index[p])
            return -EBUSY;
    /* A handler claimed again (a PCI I/O BAR that moved) keeps its slot. */
    int slot = 0;
    for (int k = 0; k < b->n && !slot; k++)
        if (!memcmp(&b->h[k], h, sizeof(*h)))
            slot = k + 1;
    if (!slot) {
        if (b->n == IOBUS_MAX_HANDLERS)
            return -ENOSPC;
        b->h[b->n] = *h;
        slot = ++b->n;
    }
    for (unsigned p = base; p < base + count; p++)
        b->index[p] = (uint8_t)slot;
    return 0;
}

void iobus_unregister(struct iobus *b, uint16_t base, unsigned count)
{
    for (unsigned p = base; p < base + count && p < 65536; p++)
        b->index[p] = 0;
}

static void log_unclaimed(struct iobus *b, const char *dir, uint16_t port, int size, uint32_t val)
{
    if (!b->log_unclaimed || !b->log)
        return;
    char msg[80];
    snprintf(msg, sizeof(msg), "io: %s%d port %#06x (unclaimed) value %#x", dir, size * 8, port, val);
    b->log(b->log_ctx, msg);
}

uint32_t iobus_in(struct iobus *b, uint16_t port, int size)
{
    unsigned slot = b->index[port];
    if (!slot) {
        if (size > 1) { /* a wide access may still reach claimed ports after the first */
            uint32_t v = 0;
            for (int k = 0; k < size; k++)
                v |= (b->index[(uint16_t)(port + k)] ? iobus_in(b, (uint16_t)(port + k), 1) : 0xff) << (8 * k);
            if (v == (size == 4 ? 0xffffffffu : 0xffffu))
                log_unclaimed(b, "in", port, size, v);
            return v;
        }
        log_unclaimed(b, "in", port, size, 0xff);
        return 0xff;
    }
    const struct io_handler *h = &b->h[slot - 1];
    return h->read ? h->read(h->opaque, port, size) : (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

void iobus_out(struct iobus *b, uint16_t port, int size, uint32_t val)
{
    unsigned slot = b->index[port];
    if (!slot) {
        if (size > 1) {
            for (int k = 1; k < size; k++)
                if (b->index[(uint16_t)(port + k)])
                    iobus_out(b, (uint16_t)(port + k), 1, (val >> (8 * k)) & 0xff);
        }
        log_unclaimed(b, "out", port, size, val);
        return;
    }
    const struct io_handler *h = &b->h[slot - 1];
    if (h->write)
        h->write(h->opaque, port, size, val);
}
