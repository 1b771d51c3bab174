/*
 * The benchmark workload: phases of ordinary integer, memory, call, string
 * and x87 code, each returning a 32-bit checksum of everything it computed.
 *
 * The phase objects are compiled once, freestanding, and linked twice: into
 * a Multiboot guest (guest/) and into a native 32-bit Linux program
 * (native/). Only the platform glue below differs between the two, so the
 * checksums must match exactly; a mismatch is an emulation bug. For that
 * reason phase code must not depend on anything the platform decides
 * (addresses, uninitialised memory, timing, libc behaviour).
 */
#ifndef KESTREL_BENCH_WORKLOAD_H
#define KESTREL_BENCH_WORKLOAD_H

#include <stdint.h>

/* One unit of `scale` is about 10^7 guest instructions per phase. */
#define BENCH_DEFAULT_SCALE 10

struct phase {
    const char *name;                 /* selects it on the command line */
    uint32_t (*run)(unsigned scale);  /* returns the phase's checksum */
};

uint32_t phase_int(unsigned scale);
uint32_t phase_mem(unsigned scale);
uint32_t phase_call(unsigned scale);
uint32_t phase_str(unsigned scale);
uint32_t phase_fp(unsigned scale);

/* Run the phases named in `args` ("phases=int,mem scale=10"; tokens
 * without '=' are ignored, so a boot loader's kernel path is harmless).
 * Returns 0, or 2 on a bad argument. */
int bench_main(const char *args);

/* Platform glue (guest/platform.c or native/platform.c). */
void plat_putc(char c);
uint64_t plat_time_ns(void);    /* monotonic nanoseconds; 0 where there is no clock */
uint64_t plat_cputime_ns(void); /* CPU time of the process in nanoseconds, likewise */

/* Checksum mixing shared by the phases: order-sensitive, cheap. */
static inline uint32_t mix32(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;
    return (h << 13) | (h >> 19);
}

/* A small deterministic generator (xorshift32) for phase inputs. */
static inline uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

#endif
