/*
 * The debug-exit port (QEMU's isa-debug-exit convention): writing value v
 * ends the emulator with exit status (v << 1) | 1, so a test kernel can
 * report success or failure without a serial protocol.
 */
#ifndef KESTREL_DEBUGEXIT_H
#define KESTREL_DEBUGEXIT_H

#include <stdint.h>

struct debugexit {
    void (*exit)(void *ctx, int status);
    void *ctx;
};

void debugexit_write(void *opaque, uint16_t port, int size, uint32_t val);

#endif
