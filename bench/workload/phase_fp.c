/*
 * x87 phase: Mandelbrot in float and double, a five-body gravity
 * simulation in double and in long double (80-bit), and a loop of the
 * exactly-specified helpers (FSQRT, FPREM, FRNDINT, FSCALE, FXTRACT) plus
 * float <-> integer conversions (FILD, FISTP with the control-word dance
 * gcc emits for C casts).
 *
 * Only operations IEEE 754 and the SDM define exactly are used: no FSIN,
 * FPATAN, F2XM1 or FYL2X, whose last bits differ between implementations,
 * so a correct software x87 must reproduce the host's checksum bit for
 * bit. The phase starts with FNINIT so both builds begin in the same
 * state (round to nearest, 64-bit precision, all exceptions masked).
 */
#include "workload.h"

static inline double sqrt_d(double x)
{
    __asm__("fsqrt" : "+t"(x));
    return x;
}

static inline long double sqrt_ld(long double x)
{
    __asm__("fsqrt" : "+t"(x));
    return x;
}

static uint32_t bits_d(uint32_t h, double d)
{
    union { double d; uint32_t w[2]; } u = { .d = d };
    return mix32(mix32(h, u.w[0]), u.w[1]);
}

static uint32_t bits_ld(uint32_t h, long double d)
{
    union { long double d; uint32_t w[3]; } u;
    u.w[2] = 0; /* the 10-byte value leaves two bytes of padding */
    u.d = d;
    return mix32(mix32(mix32(h, u.w[0]), u.w[1]), u.w[2] & 0xffff);
}

static uint32_t mandel_d(int w, int hgt, int maxit)
{
    uint32_t h = 0, total = 0;
    for (int py = 0; py < hgt; py++) {
        double ci = -1.25 + 2.5 * py / hgt;
        for (int px = 0; px < w; px++) {
            double cr = -2.0 + 3.0 * px / w, zr = 0, zi = 0, zr2 = 0, zi2 = 0;
            int it = 0;
            while (it < maxit && zr2 + zi2 <= 4.0) {
                zi = 2 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                zr2 = zr * zr;
                zi2 = zi * zi;
                it++;
            }
            total += (uint32_t)it;
            if (((px ^ py) & 31) == 0)
                h = bits_d(h, zr + zi);
        }
    }
    return mix32(h, total);
}

static uint32_t mandel_f(int w, int hgt, int maxit)
{
    uint32_t total = 0;
    for (int py = 0; py < hgt; py++) {
        float ci = -1.25f + 2.5f * (float)py / (float)hgt;
        for (int px = 0; px < w; px++) {
            float cr = -2.0f + 3.0f * (float)px / (float)w, zr = 0, zi = 0;
            int it = 0;
            while (it < maxit && zr * zr + zi * zi <= 4.0f) {
                float t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                it++;
            }
            total = total * 31 + (uint32_t)it;
        }
    }
    return total;
}

/* The same simulation at two precisions, stamped out by a macro so the
 * two stay identical but for the type. */
#define NBODY(T, SQRT, BITS, NAME)                                                                                     \
    static uint32_t NAME(int steps)                                                                                    \
    {                                                                                                                  \
        struct { T x, y, z, vx, vy, vz, m; } b[5] = {                                                                  \
            { 0, 0, 0, 0, 0, 0, 39.47841760435743 },                                                                   \
            { 4.84, -1.16, -0.10, 0.606, 2.81, -0.025, 0.0377 },                                                       \
            { 8.34, 4.12, -0.40, -1.01, 1.82, 0.0084, 0.0113 },                                                        \
            { 12.89, -15.11, -0.22, 1.08, 0.868, -0.0108, 0.00172 },                                                   \
            { 15.37, -25.91, 0.179, 0.979, 0.594, -0.0347, 0.00203 },                                                  \
        };                                                                                                             \
        const T dt = 0.01;                                                                                             \
        uint32_t h = 0;                                                                                                \
        for (int s = 0; s < steps; s++) {                                                                              \
            for (int i = 0; i < 5; i++)                                                                                \
                for (int j = i + 1; j < 5; j++) {                                                                      \
                    T dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;                                \
                    T d2 = dx * dx + dy * dy + dz * dz;                                                                \
                    T mag = dt / (d2 * SQRT(d2));                                                                      \
                    b[i].vx -= dx * b[j].m * mag;                                                                      \
                    b[i].vy -= dy * b[j].m * mag;                                                                      \
                    b[i].vz -= dz * b[j].m * mag;                                                                      \
                    b[j].vx += dx * b[i].m * mag;                                                                      \
                    b[j].vy += dy * b[i].m * mag;                                                                      \
                    b[j].vz += dz * b[i].m * mag;                                                                      \
                }                                                                                                      \
            for (int i = 0; i < 5; i++) {                                                                              \
                b[i].x += dt * b[i].vx;                                                                                \
                b[i].y += dt * b[i].vy;                                                                                \
                b[i].z += dt * b[i].vz;                                                                                \
            }                                                                                                          \
            if ((s & 1023) == 0)                                                                                       \
                h = BITS(h, b[1].x + b[2].y + b[3].z);                                                                 \
        }                                                                                                              \
        T e = 0;                                                                                                       \
        for (int i = 0; i < 5; i++) {                                                                                  \
            e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);                           \
            for (int j = i + 1; j < 5; j++) {                                                                          \
                T dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;                                    \
                e -= b[i].m * b[j].m / SQRT(dx * dx + dy * dy + dz * dz);                                              \
            }                                                                                                          \
        }                                                                                                              \
        return BITS(h, e);                                                                                             \
    }

NBODY(double, sqrt_d, bits_d, nbody_d)
NBODY(long double, sqrt_ld, bits_ld, nbody_ld)

static inline long double x87_fprem(long double x, long double y)
{
    uint16_t sw;
    do
        __asm__("fprem; fnstsw %1" : "+t"(x), "=a"(sw) : "u"(y));
    while (sw & 0x400);
    return x;
}

static inline long double x87_frndint(long double x)
{
    __asm__("frndint" : "+t"(x));
    return x;
}

static inline long double x87_fscale(long double x, long double e)
{
    __asm__("fscale" : "+t"(x) : "u"(e));
    return x;
}

/* FXTRACT pushes the significand above the exponent. */
static inline long double x87_fxtract(long double x, long double *exp)
{
    long double sig;
    __asm__("fxtract" : "=t"(sig), "=u"(*exp) : "0"(x));
    return sig;
}

static uint32_t part_misc(int iters)
{
    uint32_t s = 0xfeedf00du, h = 0;
    long double acc = 1.0L;
    for (int k = 0; k < iters; k++) {
        int32_t a = (int32_t)xorshift32(&s), b = (int32_t)(xorshift32(&s) >> 12) + 1;
        double q = (double)a / (double)b;
        int32_t t = (int32_t)q;             /* truncating FISTP */
        long double r = x87_fprem((long double)a * 1.5L, (long double)b / 3.0L);
        long double e, m = x87_fxtract(q + 1e-300, &e);
        acc = x87_fscale(acc * 1.0009765625L + m, (long double)(k & 3) - 1.5L);
        h = mix32(h, (uint32_t)t);
        h = bits_ld(h, r + x87_frndint(q * 0.37));
        h = mix32(h, (uint32_t)(int32_t)e);
        h = mix32(h, (uint32_t)(int64_t)(sqrt_d((double)(uint32_t)a) * 4096.0));
        h = mix32(h, (q < (double)t) + 2 * (q == (double)t) + 4 * (-q > 1e3));
    }
    return bits_ld(h, acc);
}

uint32_t phase_fp(unsigned scale)
{
    __asm__ volatile("fninit");
    uint32_t h = 0;
    int n = (int)scale;
    h = mix32(h, mandel_d(96, 26 * n, 200));
    h = mix32(h, mandel_f(64, 20 * n, 100));
    h = mix32(h, nbody_d(5000 * n));
    h = mix32(h, nbody_ld(3000 * n));
    h = mix32(h, part_misc(6000 * n));
    return h;
}
