/*
 * x87 and MMX computations for the fpu guest test whose every output line
 * the host CPU checks: this file also builds as a 32-bit Linux program
 * (see tests/guest/fpu.c for the command), and its output there is what
 * the "calc" part of fpu.expected holds. Kestrel must print the same bits.
 *
 * Covered: division in the four rounding modes and three precisions,
 * square root, conversions to float64/int/BCD, FPREM iterated to
 * completion, FXTRACT/FSCALE, masked exception responses with their
 * status words, FCOMI flags, FXAM classes, a few transcendentals (inputs
 * where Kestrel and the host agree to the bit), and MMX arithmetic with
 * the tag word before and after EMMS, memory operands across pages,
 * loops keeping their registers on the x87 stack, and control and status
 * words stored and changed in hot loops.
 */
#ifdef HOST_ORACLE
#include <stdint.h>
#include <stdio.h>
#define rt_printf printf
#else
#include "rt.h"
#endif

void fpu_calc(void);

struct ext {
    uint64_t m;
    uint16_t se;
} __attribute__((packed));

static void p80(const char *what, const struct ext *v, uint16_t sw)
{
    rt_printf("%s: %04x %08x%08x sw=%04x\n", what, v->se, (unsigned)(v->m >> 32), (unsigned)v->m, sw);
}

static uint16_t mkcw(int rc, int pc) { return (uint16_t)(0x007f | pc << 8 | rc << 10); }

static void division(void)
{
    static const int pcs[3] = { 0, 2, 3 };
    for (int rc = 0; rc < 4; rc++) {
        for (int k = 0; k < 3; k++) {
            uint16_t cw = mkcw(rc, pcs[k]), sw;
            int32_t num = -2, den = 3;
            struct ext r;
            __asm__ volatile("fninit; fldcw %3; fildl %4; fidivl %5; fnstsw %1; fstpt %0"
                             : "=m"(r), "=m"(sw)
                             : "m"(r), "m"(cw), "m"(num), "m"(den));
            rt_printf("-2/3 rc=%d pc=%d: %04x %08x%08x sw=%04x\n", rc, pcs[k], r.se, (unsigned)(r.m >> 32),
                      (unsigned)r.m, sw);
        }
    }
    for (int rc = 0; rc < 4; rc++) {
        uint16_t cw = mkcw(rc, 3), sw;
        int32_t two = 2;
        struct ext r;
        __asm__ volatile("fninit; fldcw %2; fildl %3; fsqrt; fnstsw %1; fstpt %0"
                         : "=m"(r), "=m"(sw)
                         : "m"(cw), "m"(two));
        rt_printf("sqrt 2 rc=%d: %04x %08x%08x sw=%04x\n", rc, r.se, (unsigned)(r.m >> 32), (unsigned)r.m, sw);
    }
}

static void conversions(void)
{
    for (int rc = 0; rc < 4; rc++) {
        uint16_t cw = mkcw(rc, 3), sw;
        int32_t one = 1, ten = 10;
        uint64_t d;
        __asm__ volatile("fninit; fldcw %2; fildl %3; fidivl %4; fstpl %0; fnstsw %1"
                         : "=m"(d), "=m"(sw)
                         : "m"(cw), "m"(one), "m"(ten));
        rt_printf("0.1 as double rc=%d: %08x%08x sw=%04x\n", rc, (unsigned)(d >> 32), (unsigned)d, sw);
        static const uint32_t halves[4] = { 0x40200000u, 0xc0200000u, 0x3f000000u, 0x4f000001u }; /* 2.5 -2.5 0.5 big */
        for (int k = 0; k < 4; k++) {
            int32_t i32 = 0;
            int16_t i16 = 0;
            __asm__ volatile("fninit; fldcw %3; flds %4; fistl %0; fistps %1; fnstsw %2"
                             : "=m"(i32), "=m"(i16), "=m"(sw)
                             : "m"(cw), "m"(halves[k]));
            rt_printf("fist %08x rc=%d: %d %d sw=%04x\n", halves[k], rc, i32, i16, sw);
        }
    }
    static const uint64_t big = 0xc2718c0e6b2a7c00ull; /* -1234567890123.5 as a double */
    uint8_t bcd[10];
    uint16_t sw;
    __asm__ volatile("fninit; fldl %2; fbstp %0; fnstsw %1" : "=m"(bcd), "=m"(sw) : "m"(big));
    rt_printf("fbstp:");
    for (int k = 9; k >= 0; k--)
        rt_printf(" %02x", bcd[k]);
    rt_printf(" sw=%04x\n", sw);
    struct ext r;
    __asm__ volatile("fninit; fbld %2; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(bcd));
    p80("fbld", &r, sw);
}

static void partial_remainder(void)
{
    static const uint32_t x = 0x501502f9u; /* 1e10 as a float */
    struct ext r;
    uint16_t sw;
    int rounds = 0;
    __asm__ volatile("fninit; fldpi; flds %0" : : "m"(x));
    do {
        __asm__ volatile("fprem; fnstsw %0" : "=m"(sw));
        rounds++;
    } while (sw & 0x400);
    __asm__ volatile("fstpt %0; fstp %%st(0)" : "=m"(r));
    rt_printf("fprem 1e10 mod pi: %d rounds, %04x %08x%08x Q=%d%d%d\n", rounds, r.se, (unsigned)(r.m >> 32),
              (unsigned)r.m, sw >> 8 & 1, sw >> 14 & 1, sw >> 9 & 1);
    static const uint32_t big = 0x7f000000u; /* 2^127 */
    rounds = 0;
    __asm__ volatile("fninit; fldl2t; flds %0" : : "m"(big));
    do {
        __asm__ volatile("fprem1; fnstsw %0" : "=m"(sw));
        rounds++;
    } while (sw & 0x400);
    __asm__ volatile("fstpt %0; fninit" : "=m"(r));
    rt_printf("fprem1 2^127 mod l2t: %d rounds, %04x %08x%08x Q=%d%d%d\n", rounds, r.se, (unsigned)(r.m >> 32),
              (unsigned)r.m, sw >> 8 & 1, sw >> 14 & 1, sw >> 9 & 1);
    struct ext e, s;
    static const int32_t n = -1000;
    __asm__ volatile("fninit; fildl %3; fxtract; fnstsw %2; fstpt %1; fstpt %0" : "=m"(e), "=m"(s), "=m"(sw) : "m"(n));
    p80("fxtract -1000 exponent", &e, sw);
    p80("fxtract -1000 significand", &s, sw);
    static const int32_t k = 16000;
    __asm__ volatile("fninit; fildl %2; fld1; fscale; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(k));
    p80("fscale 1 by 16000", &r, sw);
}

/* Masked responses: the result and the flags. */
static void masked(void)
{
    struct ext r;
    uint16_t sw;
    static const struct ext big = { 0xffffffffffffffffull, 0x7ffe }, tiny = { 0x8000000000000000ull, 0x0001 };
    __asm__ volatile("fninit; fld1; fldz; fdivrp; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw));
    p80("1/0", &r, sw);
    __asm__ volatile("fninit; fldz; fldz; fdivrp; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw));
    p80("0/0", &r, sw);
    __asm__ volatile("fninit; fldt %2; fadd %%st(0), %%st(0); fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(big));
    p80("max+max", &r, sw);
    static const int32_t three = 3;
    __asm__ volatile("fninit; fldt %2; fidivl %3; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(tiny), "m"(three));
    p80("min/3", &r, sw);
    __asm__ volatile("fninit; fld1; fchs; fsqrt; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw));
    p80("sqrt -1", &r, sw);
    __asm__ volatile("fninit; fld1; fstp %%st(0); fadd %%st(0), %%st(0); fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw));
    p80("empty+empty", &r, sw);
    uint32_t f;
    __asm__ volatile("fninit; fldt %2; fsts %0; fnstsw %1" : "=m"(f), "=m"(sw) : "m"(tiny));
    rt_printf("min as float: %08x sw=%04x\n", f, sw);
}

static void compares(void)
{
    static const struct {
        const char *name;
        uint32_t a, b;
    } c[] = {
        { "1 vs 2", 0x3f800000u, 0x40000000u }, { "2 vs 1", 0x40000000u, 0x3f800000u },
        { "-0 vs 0", 0x80000000u, 0x00000000u }, { "nan vs 1", 0x7fc00000u, 0x3f800000u },
    };
    for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        /* Every condition right after FCOMIP, in one block: a JIT tests
         * FCOMI's flags directly there (bit n: condition n, Jcc order).
         * Run often enough to be translated, every run the same. */
        uint32_t first = 0, differ = 0;
        for (int run = 0; run < 64; run++) {
            uint8_t set[16];
            __asm__ volatile("fninit; flds %2; flds %1; fcomip %%st(1), %%st; fstp %%st(0);"
                             "seto %%al; movb %%al, 0(%0); setno %%al; movb %%al, 1(%0);"
                             "setb %%al; movb %%al, 2(%0); setae %%al; movb %%al, 3(%0);"
                             "sete %%al; movb %%al, 4(%0); setne %%al; movb %%al, 5(%0);"
                             "setbe %%al; movb %%al, 6(%0); seta %%al; movb %%al, 7(%0);"
                             "sets %%al; movb %%al, 8(%0); setns %%al; movb %%al, 9(%0);"
                             "setp %%al; movb %%al, 10(%0); setnp %%al; movb %%al, 11(%0);"
                             "setl %%al; movb %%al, 12(%0); setge %%al; movb %%al, 13(%0);"
                             "setle %%al; movb %%al, 14(%0); setg %%al; movb %%al, 15(%0)"
                             :
                             : "r"(set), "m"(c[k].a), "m"(c[k].b)
                             : "cc", "memory", "eax");
            uint32_t taken = 0;
            for (int n = 0; n < 16; n++)
                taken |= (uint32_t)(set[n] & 1) << n;
            if (!run)
                first = taken;
            differ += taken != first;
        }
        rt_printf("fcomip %s: conditions %04x, %u runs differ\n", c[k].name, first, differ);
        uint32_t fl;
        uint16_t sw, sw2;
        __asm__ volatile("fninit; flds %4; flds %3; fcomi %%st(1), %%st; pushfl; popl %0; fnstsw %1;"
                         "fucom %%st(1); fnstsw %2"
                         : "=r"(fl), "=m"(sw), "=m"(sw2)
                         : "m"(c[k].a), "m"(c[k].b)
                         : "cc");
        rt_printf("fcomi %s: eflags&8d5=%03x sw=%04x fucom sw=%04x\n", c[k].name, fl & 0x8d5, sw, sw2);
    }
    static const struct ext v[] = {
        { 0, 0 }, { 0x8000000000000000ull, 0xffff }, { 0xc000000000000000ull, 0x7fff }, { 1, 0 },
        { 0x8000000000000000ull, 0x3fff }, { 0x4000000000000000ull, 0x3fff },
    };
    for (unsigned k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        uint16_t sw;
        __asm__ volatile("fninit; fldt %1; fxam; fnstsw %0" : "=m"(sw) : "m"(v[k]));
        rt_printf("fxam %04x %08x%08x: sw=%04x\n", v[k].se, (unsigned)(v[k].m >> 32), (unsigned)v[k].m, sw);
    }
    uint16_t sw;
    __asm__ volatile("fninit; fxam; fnstsw %0" : "=m"(sw));
    rt_printf("fxam empty: sw=%04x\n", sw);
}

static void transcendental(void)
{
    struct ext r, r2;
    uint16_t sw;
    static const uint32_t half = 0x3f000000u, quarter = 0x3e800000u, ten = 0x41200000u;
    __asm__ volatile("fninit; flds %2; fsin; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(half));
    p80("fsin 0.5", &r, sw);
    __asm__ volatile("fninit; flds %2; fcos; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(half));
    p80("fcos 0.5", &r, sw);
    __asm__ volatile("fninit; fldpi; fsin; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw));
    p80("fsin pi", &r, sw);
    __asm__ volatile("fninit; flds %3; fptan; fnstsw %2; fstpt %0; fstpt %1" : "=m"(r), "=m"(r2), "=m"(sw)
                     : "m"(quarter));
    p80("fptan 0.25 (1.0)", &r, sw);
    p80("fptan 0.25", &r2, sw);
    __asm__ volatile("fninit; fld1; flds %2; fyl2x; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(ten));
    p80("fyl2x 10", &r, sw);
    __asm__ volatile("fninit; fld1; flds %2; fyl2xp1; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(quarter));
    p80("fyl2xp1 0.25", &r, sw);
    __asm__ volatile("fninit; flds %2; f2xm1; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(half));
    p80("f2xm1 0.5", &r, sw);
    __asm__ volatile("fninit; fld1; fld1; fchs; fpatan; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw));
    p80("fpatan 1,-1", &r, sw);
    for (int rc = 0; rc < 4; rc++) {
        uint16_t cw = mkcw(rc, 3);
        __asm__ volatile("fninit; fldcw %2; fldl2e; fnstsw %1; fstpt %0" : "=m"(r), "=m"(sw) : "m"(cw));
        rt_printf("fldl2e rc=%d: %04x %08x%08x\n", rc, r.se, (unsigned)(r.m >> 32), (unsigned)r.m);
    }
}

static void mmx(void)
{
    static const uint64_t a = 0x7ff0800100ff8000ull, b = 0x0020fffe7f010080ull;
    uint64_t r[10];
    __asm__ volatile("movq %10, %%mm0; movq %11, %%mm1;"
                     "movq %%mm0, %%mm2; paddsw %%mm1, %%mm2; movq %%mm2, %0;"
                     "movq %%mm0, %%mm2; psubusb %%mm1, %%mm2; movq %%mm2, %1;"
                     "movq %%mm0, %%mm2; pmulhw %%mm1, %%mm2; movq %%mm2, %2;"
                     "movq %%mm0, %%mm2; pmaddwd %%mm1, %%mm2; movq %%mm2, %3;"
                     "movq %%mm0, %%mm2; packsswb %%mm1, %%mm2; movq %%mm2, %4;"
                     "movq %%mm0, %%mm2; packuswb %%mm1, %%mm2; movq %%mm2, %5;"
                     "movq %%mm0, %%mm2; punpcklbw %%mm1, %%mm2; movq %%mm2, %6;"
                     "movq %%mm0, %%mm2; psraw $3, %%mm2; movq %%mm2, %7;"
                     "movq %%mm0, %%mm2; psllq $60, %%mm2; movq %%mm2, %8;"
                     "movq %%mm0, %%mm2; pcmpgtw %%mm1, %%mm2; movq %%mm2, %9"
                     : "=m"(r[0]), "=m"(r[1]), "=m"(r[2]), "=m"(r[3]), "=m"(r[4]), "=m"(r[5]), "=m"(r[6]), "=m"(r[7]),
                       "=m"(r[8]), "=m"(r[9])
                     : "m"(a), "m"(b));
    static const char *const names[10] = { "paddsw",   "psubusb",   "pmulhw", "pmaddwd", "packsswb",
                                           "packuswb", "punpcklbw", "psraw",  "psllq",   "pcmpgtw" };
    for (int k = 0; k < 10; k++)
        rt_printf("%s: %08x%08x\n", names[k], (unsigned)(r[k] >> 32), (unsigned)r[k]);
    uint16_t env[14], env2[14];
    __asm__ volatile("fninit; fld1; fldz; movd %%mm0, %%eax; fnstenv %0; emms; fnstenv %1; fninit"
                     : "=m"(env), "=m"(env2)
                     :
                     : "eax");
    rt_printf("after mmx: sw=%04x tw=%04x; after emms: sw=%04x tw=%04x\n", env[2], env[4], env2[2], env2[4]);
}

/* Memory operands across a page boundary (a translator's inline access
 * covers one page): in a loop, hot enough to be translated, a long double
 * and a double are loaded across one, and stored across another. */
static uint8_t pages[4 * 4096] __attribute__((aligned(4096)));

static void across_pages(void)
{
    struct ext *a = (struct ext *)(pages + 4096 - 3), *r = (struct ext *)(pages + 3 * 4096 - 6);
    double *d = (double *)(pages + 2 * 4096 - 5);
    long double tenth = 0.1L;
    uint16_t sw = 0;
    __builtin_memcpy(a, &tenth, 10);
    *d = 1.0 / 3.0;
    __asm__ volatile("fninit");
    for (int k = 0; k < 50; k++)
        __asm__ volatile("fldt %1; faddl %2; fld %%st(0); fstpl %2; fmul %%st(0), %%st; fstpt %0; fnstsw %3"
                         : "=m"(*r), "+m"(*a), "+m"(*d), "=m"(sw));
    uint64_t bits;
    __builtin_memcpy(&bits, d, 8);
    p80("across pages", r, sw);
    rt_printf("across pages: double %08x%08x\n", (unsigned)(bits >> 32), (unsigned)bits);
}

/* The eight registers of a 32-bit FNSAVE image, empty ones included. */
static void print_regs(const uint8_t *img)
{
    for (int k = 0; k < 8; k++) {
        const uint8_t *v = img + 28 + 10 * k;
        uint32_t lo = v[0] | v[1] << 8 | v[2] << 16 | (uint32_t)v[3] << 24;
        uint32_t hi = v[4] | v[5] << 8 | v[6] << 16 | (uint32_t)v[7] << 24;
        rt_printf("  st%d: %02x%02x %08x%08x\n", k, v[9], v[8], (unsigned)hi, (unsigned)lo);
    }
}

/* A loop that keeps its x87 registers across iterations (a translator
 * may carry them round its back edge): the logistic map x = r x (1 - x)
 * with a running sum that a comparison adds to or subtracts from (the
 * subtracting side leaves the loop's block and enters it again), popped
 * temporaries, 2000 iterations. Run four ways: plain;
 * round down; with the invalid-operation exception unmasked (none occurs:
 * the same numbers, but code that needs every exception masked declines);
 * and with four values beneath, so that the loop's pushes overflow the
 * stack. The FNSAVE image is printed but for the pointers
 * and the opcode (which recent hosts save only for unmasked exceptions),
 * empty registers' contents included. */
static void loops(void)
{
    static const double r = 3.7, x0 = 0.25, half = 0.5;
    static const uint16_t cws[4] = { 0x037f, 0x077f, 0x037e, 0x037f };
    for (int pass = 0; pass < 4; pass++) {
        uint8_t img[108];
        int n = 2000;
        __asm__ volatile("fninit\n"
                         "fldcw %[cw]\n"
                         "cmpl $3, %[pass]\n"
                         "jne 2f\n"
                         "fld1\n"
                         "fldpi\n"
                         "fldl2t\n"
                         "fldlg2\n"
                         "2:\n"
                         "fldl %[r]\n"             /* r */
                         "fldl %[x0]\n"            /* x r */
                         "fldz\n"                  /* s x r */
                         "jmp 1f\n"                /* the loop's head starts a block */
                         "1:\n"
                         "fld1\n"                  /* 1 s x r */
                         "fsub %%st(2), %%st\n"    /* 1-x s x r */
                         "fmul %%st(2), %%st\n"    /* x(1-x) s x r */
                         "fmul %%st(3), %%st\n"    /* x' s x r */
                         "fxch %%st(2)\n"          /* x s x' r */
                         "fstp %%st(0)\n"          /* s x' r */
                         "fld %%st(1)\n"           /* x' s x' r */
                         "fmul %%st(0), %%st\n"    /* x'^2 s x' r */
                         "fldl %[half]\n"          /* 0.5 x'^2 s x' r */
                         "fcomip %%st(1), %%st\n"  /* 0.5 : x'^2 */
                         "fstp %%st(0)\n"          /* s x' r */
                         "jbe 3f\n"
                         "fadd %%st(1), %%st\n"    /* s + x' */
                         "4:\n"
                         "decl %[n]\n"
                         "jnz 1b\n"
                         "jmp 5f\n"
                         "3:\n"
                         "fsub %%st(1), %%st\n"    /* s - x' */
                         "jmp 4b\n"
                         "5:\n"
                         "fnsave %[img]\n"
                         : [img] "=m"(img), [n] "+r"(n)
                         : [cw] "m"(cws[pass]), [pass] "r"(pass), [r] "m"(r), [x0] "m"(x0), [half] "m"(half)
                         : "cc");
        const uint32_t *w = (const uint32_t *)img;
        rt_printf("loop %d: cw=%04x sw=%04x tw=%04x\n", pass, w[0] & 0xffff, w[1] & 0xffff, w[2] & 0xffff);
        print_regs(img);
    }
}

/* The inner loop of a Mandelbrot set as gcc -O2 writes it for the x87
 * (bench/workload's fp phase): five registers, shuffled by FXCH so that
 * their order on the stack differs where the loop ends and where it
 * starts again, for points inside and outside the set. */
static void mandel_loop(void)
{
    static const double four = 4.0;
    static const double pts[3][2] = { { -0.5, 0.3 }, { 0.2501, 0.0 }, { -1.9, 0.01 } };
    for (int k = 0; k < 3; k++) {
        uint8_t img[108];
        int it = 0;
        __asm__ volatile("fninit\n"
                         "fldl %[ci]\n"
                         "fldz\n"
                         "fldz\n"
                         "fldz\n"
                         "fldz\n"
                         "1:\n"
                         "fxch %%st(2)\n"
                         "fadd %%st(0), %%st\n"
                         "incl %[it]\n"
                         "cmpl $500, %[it]\n"
                         "fmulp %%st, %%st(3)\n"
                         "fxch %%st(2)\n"
                         "fadd %%st(3), %%st\n"
                         "fxch %%st(1)\n"
                         "fsubp %%st, %%st(2)\n" /* Intel's fsubrp st(2), st: AT&T swaps the names */
                         "fldl %[cr]\n"
                         "faddp %%st, %%st(2)\n"
                         "fld %%st(1)\n"
                         "fmul %%st(2), %%st\n"
                         "fld %%st(1)\n"
                         "fmul %%st(2), %%st\n"
                         "je 2f\n"
                         "fxch %%st(1)\n"
                         "fxch %%st(2)\n"
                         "fxch %%st(3)\n"
                         "fxch %%st(2)\n"
                         "fld %%st(0)\n"
                         "fadd %%st(2), %%st\n"
                         "fldl %[four]\n"
                         "fcomip %%st(1), %%st\n"
                         "fstp %%st(0)\n"
                         "jae 1b\n"
                         "2:\n"
                         "fnsave %[img]\n"
                         : [img] "=m"(img), [it] "+r"(it)
                         : [cr] "m"(pts[k][0]), [ci] "m"(pts[k][1]), [four] "m"(four)
                         : "cc");
        const uint32_t *w = (const uint32_t *)img;
        rt_printf("mandel %d: %d iterations, sw=%04x tw=%04x\n", k, it, w[1] & 0xffff, w[2] & 0xffff);
        print_regs(img);
    }
}

/* Float-to-integer conversions as i686 compilers write them (FNSTCW,
 * FLDCW to truncate, FISTP, FLDCW back), hot in a loop, with a value left
 * on the stack across them; every fourth iteration also unmasks the
 * invalid-operation exception for a moment (none occurs). */
static void cw_loop(void)
{
    uint32_t acc = 0;
    uint16_t saved = 0, trunc = 0, cw = 0, cw2 = 0, unmask = 0x037e, sw = 0;
    for (int k = 0; k < 400; k++) {
        double d = k * 0.7 - 50.3;
        int32_t v = 0, w = 0;
        __asm__ volatile("fldl %[d]\n"
                         "fld %%st(0)\n"
                         "fnstcw %[saved]\n"
                         "movzwl %[saved], %%eax\n"
                         "orb $0x0c, %%ah\n"
                         "movw %%ax, %[trunc]\n"
                         "fldcw %[trunc]\n"
                         "fnstcw %[cw2]\n"
                         "fistpl %[v]\n"
                         "fldcw %[saved]\n"
                         "testb $3, %[k]\n"
                         "jnz 1f\n"
                         "fldcw %[unmask]\n"
                         "fldcw %[saved]\n"
                         "1:\n"
                         "fistpl %[w]\n"
                         "fnstcw %[cw]\n"
                         "fnstsw %[sw]\n"
                         : [saved] "=m"(saved), [trunc] "=m"(trunc), [v] "=m"(v), [w] "=m"(w), [cw] "=m"(cw), [sw] "=m"(sw),
                           [cw2] "=m"(cw2)
                         : [d] "m"(d), [k] "m"(k), [unmask] "m"(unmask)
                         : "eax", "cc");
        acc = ((acc * 31 + (uint32_t)v) * 31 + (uint32_t)w) * 31 + cw2;
    }
    rt_printf("control words in a loop: %08x cw=%04x sw=%04x\n", (unsigned)acc, cw, sw);
}

/* FNSTSW in a hot loop, to AX and to memory, in the middle of x87 work:
 * after a comparison (condition codes), after a division (C1 rounded up
 * or not, the precision flag) and one register deeper on the stack (TOP). */
static void sw_loop(void)
{
    static const double b = 3.0, c = 3.0;
    uint32_t acc = 0;
    for (int k = 0; k < 400; k++) {
        double a = k * 0.37 - 20.0, r = 0;
        uint16_t s1 = 0, s2 = 0, s3 = 0;
        __asm__ volatile("fldl %[a]\n"
                         "fcoml %[b]\n"
                         "fnstsw %%ax\n"
                         "movw %%ax, %[s1]\n"
                         "fld1\n"
                         "faddp %%st, %%st(1)\n"
                         "fdivl %[c]\n"
                         "fnstsw %%ax\n"
                         "movw %%ax, %[s2]\n"
                         "fld %%st(0)\n"
                         "fnstsw %[s3]\n"
                         "fstp %%st(0)\n"
                         "fstpl %[r]\n"
                         : [s1] "=m"(s1), [s2] "=m"(s2), [s3] "=m"(s3), [r] "=m"(r)
                         : [a] "m"(a), [b] "m"(b), [c] "m"(c)
                         : "eax", "cc");
        uint64_t bits;
        __builtin_memcpy(&bits, &r, 8);
        acc = (((acc * 31 + s1) * 31 + s2) * 31 + s3) * 31 + (uint32_t)(bits ^ bits >> 32);
    }
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=m"(sw));
    rt_printf("status words in a loop: %08x sw=%04x\n", (unsigned)acc, sw);
}

void fpu_calc(void)
{
    division();
    conversions();
    partial_remainder();
    masked();
    compares();
    transcendental();
    mmx();
    across_pages();
    loops();
    mandel_loop();
    cw_loop();
    sw_loop();
}

#ifdef HOST_ORACLE
int main(void)
{
    fpu_calc();
    return 0;
}
#endif
