/*
 * Integer phase: hashing (FNV-1a, a table-driven CRC-32, a Murmur-style
 * finaliser), 32- and 64-bit multiply and divide (MUL, IMUL, DIV, IDIV and
 * libgcc's 64-bit division helpers), and bit manipulation (shifts and
 * rotates, BSF/BSR, BSWAP, SETcc/CMOVcc, double-width shifts). The loops
 * are the kind compilers produce for real programs: short, branchy, with
 * a dependency chain through the checksum.
 */
#include "workload.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_buf(uint32_t crc, const uint8_t *p, unsigned n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t fnv1a(const uint8_t *p, unsigned n)
{
    uint32_t h = 0x811c9dc5u;
    while (n--) {
        h ^= *p++;
        h *= 0x01000193u;
    }
    return h;
}

static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* Hash a 1 KiB block again and again, changing it a little each time. */
static uint32_t part_hash(unsigned iters)
{
    static uint8_t buf[1024];
    uint32_t s = 0x12345678u, h = 0;
    for (unsigned k = 0; k < sizeof(buf); k++)
        buf[k] = (uint8_t)xorshift32(&s);
    for (unsigned it = 0; it < iters; it++) {
        buf[xorshift32(&s) & 1023] ^= (uint8_t)it;
        h = mix32(h, crc32_buf(h, buf, 256 + (it & 511)));
        h = mix32(h, fnv1a(buf + (it & 255), 512));
        h = mix32(h, fmix32(h + it));
    }
    return h;
}

/* Euclid's GCD by remainder: a chain of dependent DIVs. */
static uint32_t gcd(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Modular exponentiation with 64-bit products and remainders. */
static uint32_t powmod(uint32_t b, uint32_t e, uint32_t m)
{
    uint64_t r = 1, x = b % m;
    while (e) {
        if (e & 1)
            r = r * x % m;
        x = x * x % m;
        e >>= 1;
    }
    return (uint32_t)r;
}

static uint32_t part_muldiv(unsigned iters)
{
    uint32_t s = 0x9e3779b9u, h = 0;
    for (unsigned it = 0; it < iters; it++) {
        uint32_t a = xorshift32(&s), b = xorshift32(&s) | 1;
        int32_t sa = (int32_t)a, sb = (int32_t)(b >> (it & 15)) | 1;
        if (sa == INT32_MIN)
            sa++;
        h = mix32(h, a / b + a % (b >> 7 | 1));
        h = mix32(h, (uint32_t)(sa / sb) ^ (uint32_t)(sa % sb));
        h = mix32(h, gcd(a, b));
        uint64_t p = (uint64_t)a * b;
        int64_t sp = (int64_t)sa * sb;
        h = mix32(h, (uint32_t)(p >> 32) ^ (uint32_t)p);
        h = mix32(h, (uint32_t)(sp >> 29));
        h = mix32(h, (uint32_t)(p / (b >> 3 | 1)) ^ (uint32_t)((uint64_t)sp % 1000003u));
        if ((it & 15) == 0)
            h = mix32(h, powmod(a, b, 0x7fffffffu));
    }
    return h;
}

static unsigned popcount_loop(uint32_t x)
{
    unsigned n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

static uint32_t rotl(uint32_t x, unsigned r)
{
    r &= 31;
    return r ? (x << r) | (x >> (32 - r)) : x;
}

/* Reverse the bits of a word with the usual mask-and-shift ladder. */
static uint32_t bitrev(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}

static uint32_t part_bits(unsigned iters)
{
    uint32_t s = 0xdeadbeefu, h = 0;
    uint64_t w = 0x0123456789abcdefull;
    for (unsigned it = 0; it < iters; it++) {
        uint32_t x = xorshift32(&s), nz = x | 0x100;
        h = mix32(h, popcount_loop(x) + (unsigned)__builtin_ctz(nz) * 64 + (unsigned)__builtin_clz(nz) * 4096);
        h = mix32(h, rotl(x, it) ^ bitrev(x));
        h = mix32(h, (uint32_t)((int32_t)x >> (it & 31)));
        unsigned r = x & 63;
        w = r ? (w << r) | (w >> (64 - r)) : w;
        w ^= (uint64_t)x << 17;
        h = mix32(h, (uint32_t)(w >> 32) + (uint32_t)w);
        unsigned flags = (x > h) + 2 * ((int32_t)x < (int32_t)h) + 4 * (x == (h ^ 1));
        h = mix32(h, flags + (((int32_t)x < 0) ? x & 0xff : x >> 24));
    }
    return h;
}

uint32_t phase_int(unsigned scale)
{
    crc_init();
    uint32_t h = 0;
    h = mix32(h, part_hash(scale * 250));
    h = mix32(h, part_muldiv(scale * 10000));
    h = mix32(h, part_bits(scale * 20000));
    return h;
}
