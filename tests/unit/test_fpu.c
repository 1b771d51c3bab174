/*
 * x87 instructions against the host CPU's x87, bit for bit.
 *
 * Oracle: the host (x86-64) running the same instruction bytes natively
 * (tests/unit/fpu_harness.h). Every case compares the whole data block:
 * the 80-bit results left in ST(0..2), memory results, the status word
 * (exception flags, condition codes, TOP, ES/B), the control and tag
 * words as FNSTENV stores them, and EFLAGS.
 *
 * Operands are random with a strong bias toward the hard cases: zeros,
 * denormals, pseudo-denormals, unnormals, infinities, pseudo-infinities,
 * quiet/signalling/pseudo NaNs, extreme exponents, significands near the
 * rounding points of 24/53/64 bits, and pairs of nearby values
 * (cancellation). Control words cover the four rounding modes, the four
 * precision-control encodings and random exception masks (so unmasked
 * exceptions and their "no result" rules are exercised). A few cases run
 * with empty or full stacks for the stack-fault rules.
 *
 * Transcendental instructions are in test_fpu_trans.c, MMX in
 * test_mmx.c. On a non-x86 host the test is skipped (exit 77).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fpu_harness.h"
#include "tests/common/check_run.h"

/* How operands are generated. */
enum {
    G_ST2,  /* ST(0), ST(1) random, ST(1) often near ST(0) */
    G_ST1,  /* ST(0) random */
    G_ST3,  /* three operands (FSCALE wants a modest ST(1)) */
    G_INT,  /* ST(0) in integer-ish ranges (FIST, FRNDINT, FBSTP) */
    G_SCALE,
    G_PREM,
};
/* Memory operand at D_MEM. */
enum { M_NONE, M_F32, M_F64, M_F80, M_I16, M_I32, M_I64, M_BCD, M_STORE };
/* Stack preload policy. */
enum { S_OPS, S_PUSH };

struct optest {
    const char *name;
    uint8_t code[4];
    uint8_t ncode;
    uint8_t gen, mem, stack, nops;
    bool sahf;
};

#define OP2(n, a, b) { n, { a, b }, 2, G_ST2, M_NONE, S_OPS, 2, false }
#define OP1(n, a, b) { n, { a, b }, 2, G_ST1, M_NONE, S_OPS, 1, false }
#define OPM(n, a, r, m) { n, { a, (uint8_t)(0x43 | (r) << 3), D_MEM }, 3, G_ST1, m, S_OPS, 1, false }
#define OPL(n, a, r, m) { n, { a, (uint8_t)(0x43 | (r) << 3), D_MEM }, 3, G_ST1, m, S_PUSH, 0, false }
#define OPS(n, a, r, g) { n, { a, (uint8_t)(0x43 | (r) << 3), D_MEM }, 3, g, M_STORE, S_OPS, 1, false }
#define OPK(n, b) { n, { 0xd9, b }, 2, G_ST1, M_NONE, S_PUSH, 0, false }
#define OPC(n, a, b) { n, { a, b }, 2, G_ST2, M_NONE, S_OPS, 2, true }

static const struct optest ops[] = {
    /* ST(0) = ST(0) op ST(1) */
    OP2("fadd st,st1", 0xd8, 0xc1), OP2("fmul st,st1", 0xd8, 0xc9), OP2("fsub st,st1", 0xd8, 0xe1),
    OP2("fsubr st,st1", 0xd8, 0xe9), OP2("fdiv st,st1", 0xd8, 0xf1), OP2("fdivr st,st1", 0xd8, 0xf9),
    /* ST(1) = ST(1) op ST(0), plain and popping */
    OP2("fadd st1,st", 0xdc, 0xc1), OP2("fmul st1,st", 0xdc, 0xc9), OP2("fsubr st1,st", 0xdc, 0xe1),
    OP2("fsub st1,st", 0xdc, 0xe9), OP2("fdivr st1,st", 0xdc, 0xf1), OP2("fdiv st1,st", 0xdc, 0xf9),
    OP2("faddp", 0xde, 0xc1), OP2("fmulp", 0xde, 0xc9), OP2("fsubrp", 0xde, 0xe1), OP2("fsubp", 0xde, 0xe9),
    OP2("fdivrp", 0xde, 0xf1), OP2("fdivp", 0xde, 0xf9),
    /* memory operands */
    OPM("fadd m32", 0xd8, 0, M_F32), OPM("fmul m32", 0xd8, 1, M_F32), OPM("fsub m32", 0xd8, 4, M_F32),
    OPM("fsubr m32", 0xd8, 5, M_F32), OPM("fdiv m32", 0xd8, 6, M_F32), OPM("fdivr m32", 0xd8, 7, M_F32),
    OPM("fadd m64", 0xdc, 0, M_F64), OPM("fmul m64", 0xdc, 1, M_F64), OPM("fsub m64", 0xdc, 4, M_F64),
    OPM("fdivr m64", 0xdc, 7, M_F64), OPM("fiadd m16", 0xde, 0, M_I16), OPM("fimul m16", 0xde, 1, M_I16),
    OPM("fisubr m16", 0xde, 5, M_I16), OPM("fidiv m16", 0xde, 6, M_I16), OPM("fiadd m32", 0xda, 0, M_I32),
    OPM("fisub m32", 0xda, 4, M_I32), OPM("fidivr m32", 0xda, 7, M_I32),
    /* one operand */
    OP1("fsqrt", 0xd9, 0xfa), { "frndint", { 0xd9, 0xfc }, 2, G_INT, M_NONE, S_OPS, 1, false },
    OP1("fchs", 0xd9, 0xe0), OP1("fabs", 0xd9, 0xe1), OP1("fxtract", 0xd9, 0xf4),
    { "fscale", { 0xd9, 0xfd }, 2, G_SCALE, M_NONE, S_OPS, 2, false },
    { "fprem", { 0xd9, 0xf8 }, 2, G_PREM, M_NONE, S_OPS, 2, false },
    { "fprem1", { 0xd9, 0xf5 }, 2, G_PREM, M_NONE, S_OPS, 2, false },
    /* comparisons */
    OP2("fcom st1", 0xd8, 0xd1), OP2("fcomp st1", 0xd8, 0xd9), OP2("fcompp", 0xde, 0xd9),
    OP2("fucom st1", 0xdd, 0xe1), OP2("fucomp st1", 0xdd, 0xe9), OP2("fucompp", 0xda, 0xe9),
    OP2("fcom st1 (dc)", 0xdc, 0xd1), OP2("fcomp st1 (de)", 0xde, 0xd1),
    OPM("fcom m32", 0xd8, 2, M_F32), OPM("fcomp m32", 0xd8, 3, M_F32), OPM("fcom m64", 0xdc, 2, M_F64),
    OPM("fcomp m64", 0xdc, 3, M_F64), OPM("ficom m16", 0xde, 2, M_I16), OPM("ficomp m32", 0xda, 3, M_I32),
    OP1("ftst", 0xd9, 0xe4), OP1("fxam", 0xd9, 0xe5),
    OP2("fcomi", 0xdb, 0xf1), OP2("fucomi", 0xdb, 0xe9), OP2("fcomip", 0xdf, 0xf1), OP2("fucomip", 0xdf, 0xe9),
    /* loads */
    OPL("fld m32", 0xd9, 0, M_F32), OPL("fld m64", 0xdd, 0, M_F64), OPL("fld m80", 0xdb, 5, M_F80),
    OPL("fild m16", 0xdf, 0, M_I16), OPL("fild m32", 0xdb, 0, M_I32), OPL("fild m64", 0xdf, 5, M_I64),
    OPL("fbld", 0xdf, 4, M_BCD), { "fld st1", { 0xd9, 0xc1 }, 2, G_ST2, M_NONE, S_PUSH, 2, false },
    /* stores */
    OPS("fst m32", 0xd9, 2, G_ST1), OPS("fstp m32", 0xd9, 3, G_ST1), OPS("fst m64", 0xdd, 2, G_ST1),
    OPS("fstp m64", 0xdd, 3, G_ST1), OPS("fstp m80", 0xdb, 7, G_ST1), OPS("fist m16", 0xdf, 2, G_INT),
    OPS("fistp m16", 0xdf, 3, G_INT), OPS("fist m32", 0xdb, 2, G_INT), OPS("fistp m32", 0xdb, 3, G_INT),
    OPS("fistp m64", 0xdf, 7, G_INT), OPS("fbstp", 0xdf, 6, G_INT),
    OP2("fst st1", 0xdd, 0xd1), OP2("fstp st1", 0xdd, 0xd9), OP2("fstp st1 (df)", 0xdf, 0xd1),
    OP2("fstp1 st1", 0xd9, 0xd9),
    /* constants */
    OPK("fld1", 0xe8), OPK("fldl2t", 0xe9), OPK("fldl2e", 0xea), OPK("fldpi", 0xeb), OPK("fldlg2", 0xec),
    OPK("fldln2", 0xed), OPK("fldz", 0xee),
    /* stack housekeeping */
    OP2("fxch", 0xd9, 0xc9), OP2("fxch (dd)", 0xdd, 0xc9), OP2("ffree st1", 0xdd, 0xc1),
    OP2("ffreep st1", 0xdf, 0xc1), OP2("fincstp", 0xd9, 0xf7), OP2("fdecstp", 0xd9, 0xf6), OP2("fnop", 0xd9, 0xd0),
    /* conditional moves */
    OPC("fcmovb", 0xda, 0xc1), OPC("fcmove", 0xda, 0xc9), OPC("fcmovbe", 0xda, 0xd1), OPC("fcmovu", 0xda, 0xd9),
    OPC("fcmovnb", 0xdb, 0xc1), OPC("fcmovne", 0xdb, 0xc9), OPC("fcmovnbe", 0xdb, 0xd1), OPC("fcmovnu", 0xdb, 0xd9),
};
#define NOPS ((int)(sizeof(ops) / sizeof(ops[0])))

/* ---- Operand generation ---- */

static void gen_mem(struct rng *r, int kind, uint8_t *m)
{
    uint64_t v = rng_next(r);
    switch (kind) {
    case M_F32: {
        uint32_t e = rng_below(r, 4) == 0 ? (rng_below(r, 2) ? 0xff : 0) : 127 - 40 + rng_below(r, 80);
        if (rng_below(r, 8) == 0)
            e = rng_below(r, 256);
        uint32_t f = (uint32_t)v & 0x7fffff;
        if (rng_below(r, 4) == 0)
            f >>= rng_below(r, 23);
        uint32_t x = (uint32_t)(v >> 63) << 31 | e << 23 | f;
        memcpy(m, &x, 4);
        break;
    }
    case M_F64: {
        uint64_t e = rng_below(r, 4) == 0 ? (rng_below(r, 2) ? 0x7ff : 0) : 1023 - 60 + rng_below(r, 120);
        if (rng_below(r, 8) == 0)
            e = rng_below(r, 2048);
        uint64_t f = v & 0xfffffffffffffull;
        if (rng_below(r, 4) == 0)
            f >>= rng_below(r, 52);
        uint64_t x = (rng_next(r) >> 63) << 63 | e << 52 | f;
        memcpy(m, &x, 8);
        break;
    }
    case M_F80: put_f80(m, gen_f80(r)); break;
    case M_I16:
    case M_I32:
    case M_I64: {
        int bits = kind == M_I16 ? 16 : kind == M_I32 ? 32 : 64;
        uint64_t x = v >> rng_below(r, (uint32_t)bits);
        if (rng_below(r, 2))
            x = 0 - x;
        if (rng_below(r, 10) == 0)
            x = rng_below(r, 2) ? 1ull << (bits - 1) : 0;
        memcpy(m, &x, (size_t)bits / 8);
        break;
    }
    case M_BCD:
        for (int k = 0; k < 9; k++) {
            unsigned lo = rng_below(r, 10), hi = rng_below(r, 10);
            if (rng_below(r, 40) == 0)
                lo = 10 + rng_below(r, 6);
            m[k] = (uint8_t)(hi << 4 | lo);
        }
        if (rng_below(r, 3) == 0)
            for (int k = 8; k >= (int)rng_below(r, 9); k--)
                m[k] = 0;
        m[9] = (uint8_t)(rng_below(r, 2) ? 0x80 : 0) | (uint8_t)(rng_below(r, 8) == 0 ? rng_next(r) & 0x7f : 0);
        break;
    default: break;
    }
}

/* A value that is an integer or near one, in the ranges FIST/FBSTP and
 * FRNDINT care about. */
static struct f80 gen_int_range(struct rng *r)
{
    if (rng_below(r, 6) == 0)
        return gen_f80(r);
    struct f80 v = gen_f80_range(r, 0x3fff - 3, 0x3fff + 64, true);
    if (rng_below(r, 3) == 0) {
        /* exact halves and integers */
        int e = (int)(v.se & 0x7fff) - 0x3fff;
        if (e >= 1 && e < 63)
            v.mant &= ~0ull << (62 - e);
    }
    return v;
}

static void gen_case(struct rng *r, const struct optest *t, uint8_t *d, int *nload)
{
    memset(d, 0, D_SIZE);
    uint16_t cw = gen_cw(r), cwm = 0x037f;
    memcpy(d + D_CW, &cw, 2);
    memcpy(d + D_CWM, &cwm, 2);
    prog_init_env(d, r);
    d[D_AHIN] = (uint8_t)(rng_next(r) & 0xd5);
    for (int k = 0; k < 16; k++)
        d[D_MEM + k] = (uint8_t)rng_next(r);
    for (int k = 0; k < 8; k++)
        put_f80(d + D_OPS + 16 * k, gen_f80(r));
    struct f80 a = gen_f80(r);
    switch (t->gen) {
    case G_ST2:
        put_f80(d + D_OPS, a);
        put_f80(d + D_OPS + 16, rng_below(r, 2) ? gen_f80_near(r, a) : gen_f80(r));
        break;
    case G_INT: put_f80(d + D_OPS, gen_int_range(r)); break;
    case G_SCALE:
        put_f80(d + D_OPS, a);
        if (rng_below(r, 5))
            put_f80(d + D_OPS + 16, gen_f80_range(r, 0x3fff - 2, 0x3fff + 16, true));
        break;
    case G_PREM:
        put_f80(d + D_OPS, a);
        if (rng_below(r, 5))
            put_f80(d + D_OPS + 16, gen_f80_range(r, (a.se & 0x7fff) - 120 > 0 ? (a.se & 0x7fff) - 120 : 0,
                                                  (a.se & 0x7fff) + 3, true));
        break;
    default: put_f80(d + D_OPS, a); break;
    }
    if (t->mem != M_NONE && t->mem != M_STORE)
        gen_mem(r, t->mem, d + D_MEM);
    /* Stack depth: mostly what the instruction needs; sometimes less
     * (underflow) or a full stack (overflow for pushes). */
    unsigned k = rng_below(r, 16);
    if (t->stack == S_PUSH)
        *nload = k < 12 ? (int)t->nops + (int)rng_below(r, 2) : k < 14 ? 8 : 7;
    else
        *nload = k < 13 ? (t->gen == G_SCALE || t->gen == G_PREM ? 2 : t->nops) : (int)rng_below(r, 3);
}

static void build(struct prog *p, const struct optest *t, int nload)
{
    prog_prologue(p, nload, t->sahf);
    prog_bytes(p, t->code, t->ncode);
    prog_epilogue(p);
}

/* ---- The test ---- */

static int mismatches[128];

START_TEST(x87_op)
{
    const struct optest *t = &ops[_i];
    struct rng r = { fpu_seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1)) };
    int iters = fpu_quick ? 300 : 30000;
    int bad = 0;
    for (int it = 0; it < iters; it++) {
        uint64_t seed = r.s;
        uint8_t in[D_SIZE], h[D_SIZE], k[D_SIZE];
        int nload;
        gen_case(&r, t, in, &nload);
        struct prog p;
        build(&p, t, nload);
        memcpy(h, in, D_SIZE);
        memcpy(k, in, D_SIZE);
        run_native(&p, h);
        run_kestrel(&p, k);
        if (data_diff(h, k) >= 0) {
            if (bad < 5)
                dump_case(t->name, seed, it, in, h, k, nload);
            bad++;
        }
    }
    mismatches[_i] = bad;
    printf("%-16s %6d cases, %d mismatches\n", t->name, iters, bad);
    ck_assert_msg(bad == 0, "%s: %d of %d cases differ from the host", t->name, bad, iters);
}
END_TEST

int main(int argc, char **argv)
{
    harness_args(argc, argv);
    if (!fpu_host_is_x86()) {
        printf("test_fpu: skipped, the oracle is the host's x87 and this host is not x86-64\n");
        return 77;
    }
    harness_init();
    Suite *s = suite_create("fpu");
    TCase *tc = tcase_create("x87");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, x87_op, 0, NOPS);
    suite_add_tcase(s, tc);
    return check_run(s, CK_NOFORK);
}
