#include "devices/debugexit.h"

void debugexit_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct debugexit *d = opaque;
    (void)port;
    if (size < 4)
        val &= (1u << (8 * size)) - 1;
    d->exit(d->ctx, (int)(((val << 1) | 1) & 0xff));
}
