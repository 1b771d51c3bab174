/*
 * The port-I/O bus: devices register port ranges with read/write
 * callbacks; the CPU's IN/OUT land here through struct cpu_env.
 * Unclaimed ports read as all ones and ignore writes (logged with LOG_IO).
 * A 64 Ki-entry index maps each port to its handler in one lookup.
 */
#ifndef KESTREL_IOBUS_H
#define KESTREL_IOBUS_H

#include <stdint.h>

struct io_handler {
    uint32_t (*read)(void *opaque, uint16_t port, int size);
    void (*write)(void *opaque, uint16_t port, int size, uint32_t val);
    void *opaque;
    const char *name;
};

#define IOBUS_MAX_HANDLERS 64

struct iobus {
    uint8_t index[65536]; /* port -> handler slot + 1, 0 for none */
    struct io_handler h[IOBUS_MAX_HANDLERS];
    int n;
    int log_unclaimed;
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;
};

void iobus_init(struct iobus *b);
/* Claim ports [base, base + count). Returns 0 or -errno. */
int iobus_register(struct iobus *b, uint16_t base, unsigned count, const struct io_handler *h);
/* Stop decoding [base, base + count) (a PCI I/O BAR moving or switched
 * off); registering the same handler again reuses its slot. */
void iobus_unregister(struct iobus *b, uint16_t base, unsigned count);
uint32_t iobus_in(struct iobus *b, uint16_t port, int size);
void iobus_out(struct iobus *b, uint16_t port, int size, uint32_t val);

#endif
