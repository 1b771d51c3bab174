/*
 * String phase: the memcpy/memset/memcmp/strlen a libc or kernel would
 * use, in the two shapes that matter to an emulator: REP-prefixed string
 * instructions (MOVSB, MOVSD, STOSB, STOSD, CMPSB, SCASB, written as
 * inline asm so the compiler cannot choose something else) and plain
 * byte loops. Lengths and alignments vary so both short and long REP
 * counts occur.
 */
#include "workload.h"

#define BUF 65536

static uint8_t src[BUF], dst[BUF];

static void copy_movsb(void *d, const void *s, uint32_t n)
{
    __asm__ volatile("cld; rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* Dwords with REP MOVSD, then the tail with REP MOVSB. */
static void copy_movsd(void *d, const void *s, uint32_t n)
{
    uint32_t words = n >> 2, tail = n & 3;
    __asm__ volatile("cld; rep movsl; mov %3, %%ecx; rep movsb"
                     : "+D"(d), "+S"(s), "+c"(words)
                     : "r"(tail)
                     : "memory");
}

static void set_stosb(void *d, uint8_t v, uint32_t n)
{
    __asm__ volatile("cld; rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory");
}

static void set_stosd(void *d, uint8_t v, uint32_t n)
{
    uint32_t words = n >> 2, tail = n & 3, pat = v * 0x01010101u;
    __asm__ volatile("cld; rep stosl; mov %3, %%ecx; rep stosb"
                     : "+D"(d), "+c"(words)
                     : "a"(pat), "r"(tail)
                     : "memory");
}

/* REPE CMPSB: returns the difference of the first mismatching bytes. */
static int cmp_cmpsb(const void *a, const void *b, uint32_t n)
{
    const uint8_t *p = a, *q = b;
    if (!n)
        return 0;
    __asm__ volatile("cld; repe cmpsb" : "+S"(p), "+D"(q), "+c"(n) : : "memory", "cc");
    return p[-1] - q[-1];
}

/* REPNE SCASB for the terminating NUL. */
static uint32_t len_scasb(const char *s)
{
    uint32_t n = 0xffffffffu;
    __asm__ volatile("cld; repne scasb" : "+D"(s), "+c"(n) : "a"(0) : "memory", "cc");
    return ~n - 1;
}

/* The byte-loop versions; volatile accesses keep gcc from recognising
 * the idioms and calling a library routine instead. */
static int cmp_loop(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    for (; n; n--, a++, b++)
        if (*a != *b)
            return *a - *b;
    return 0;
}

static uint32_t len_loop(const char *s)
{
    const volatile char *p = s;
    while (*p)
        p++;
    return (uint32_t)(p - s);
}

static void copy_loop(uint8_t *d, const uint8_t *s, uint32_t n)
{
    volatile uint8_t *vd = d;
    while (n--)
        *vd++ = *s++;
}

/* A sparse fingerprint of a buffer: cheap next to the copies. */
static uint32_t sample(uint32_t h, const uint8_t *b, uint32_t seed)
{
    for (int k = 0; k < 8; k++) {
        seed = seed * 1103515245u + 12345u;
        h = mix32(h, b[(seed >> 8) & (BUF - 1)]);
    }
    return h;
}

uint32_t phase_str(unsigned scale)
{
    uint32_t s = 0x600dcafeu, h = 0;
    for (uint32_t k = 0; k < BUF; k++)
        src[k] = (uint8_t)(xorshift32(&s) | 1); /* no NULs: strlen stops where we put one */
    unsigned iters = scale * 300;
    for (unsigned it = 0; it < iters; it++) {
        uint32_t r = xorshift32(&s);
        uint32_t so = r & 63, dof = (r >> 6) & 63;
        uint32_t n = (it & 3) == 0 ? 32768 + (r >> 20) : (r >> 16) & 4095;

        copy_movsd(dst + dof, src + so, n);
        h = mix32(h, (uint32_t)cmp_cmpsb(dst + dof, src + so, n));
        copy_movsb(dst + 4096 + dof, src + so + 1, n >> 1);
        h = sample(h, dst, r);

        set_stosd(dst + so, (uint8_t)r, n >> 1);
        set_stosb(dst + dof + 8192, (uint8_t)(r >> 8), n >> 2);
        h = sample(h, dst, r >> 3);

        copy_loop(dst + 20000 + dof, src + so, n >> 3);
        h = mix32(h, (uint32_t)cmp_loop(dst + 20000 + dof, src + so, n >> 3));
        dst[20000 + dof + (n >> 4)] ^= 0x80;
        h = mix32(h, (uint32_t)cmp_loop(dst + 20000 + dof, src + so, n >> 3));
        h = mix32(h, (uint32_t)cmp_cmpsb(dst, src, n >> 3));

        /* strlen over src with a NUL planted at a random place. */
        uint32_t nul = 16 + ((r >> 4) & 2047);
        uint8_t saved = src[nul];
        src[nul] = 0;
        h = mix32(h, len_scasb((const char *)src + (r & 15)));
        h = mix32(h, len_loop((const char *)src + (r & 7)) * 3);
        src[nul] = saved;
    }
    return h;
}
