/*
 * MMX instructions against the host CPU, bit for bit: every P6 MMX
 * instruction in register and memory forms, on random lanes biased to
 * saturation boundaries and shift counts around the lane widths.
 *
 * Besides the MMX results, each case captures the x87 view of the state
 * with FNSAVE right after the instruction (TOP = 0, the tag word as
 * computed from contents, and the aliased registers whose sign/exponent
 * MMX writes set to all ones) and FNSTENV after EMMS (all tags empty).
 * The x87 stack is filled with known values and partly popped first, so
 * aliasing over live x87 registers and a non-zero TOP are covered.
 * Oracle: the host CPU (tests/unit/fpu_harness.h); skipped off x86-64.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fpu_harness.h"
#include "tests/common/check_run.h"

enum { A_OFF = 0x30, B_OFF = 0x38, R0_OFF = 0x40, R1_OFF = 0x48, GPR_OFF = 0x50 };

enum { F_RR, F_RM, F_IMM, F_MOVD_LOAD, F_MOVD_STORE, F_MOVQ };

struct mmxtest {
    const char *name;
    uint8_t opc;  /* second opcode byte (after 0F) */
    uint8_t form; /* F_* */
    uint8_t ext;  /* ModRM.reg for the immediate shifts */
    uint8_t cnt;  /* operand B is a shift count */
};

#define BIN(n, o) { n, o, F_RR, 0, 0 }, { n " m64", o, F_RM, 0, 0 }
#define SHF(n, o) { n, o, F_RR, 0, 1 }, { n " m64", o, F_RM, 0, 1 }
#define IMM(n, o, r) { n " imm", o, F_IMM, r, 1 }

static const struct mmxtest tests[] = {
    BIN("punpcklbw", 0x60), BIN("punpcklwd", 0x61), BIN("punpckldq", 0x62), BIN("packsswb", 0x63),
    BIN("pcmpgtb", 0x64),   BIN("pcmpgtw", 0x65),   BIN("pcmpgtd", 0x66),   BIN("packuswb", 0x67),
    BIN("punpckhbw", 0x68), BIN("punpckhwd", 0x69), BIN("punpckhdq", 0x6a), BIN("packssdw", 0x6b),
    BIN("pcmpeqb", 0x74),   BIN("pcmpeqw", 0x75),   BIN("pcmpeqd", 0x76),   SHF("psrlw", 0xd1),
    SHF("psrld", 0xd2),     SHF("psrlq", 0xd3),     BIN("pmullw", 0xd5),    BIN("psubusb", 0xd8),
    BIN("psubusw", 0xd9),   BIN("pand", 0xdb),      BIN("paddusb", 0xdc),   BIN("paddusw", 0xdd),
    BIN("pandn", 0xdf),     SHF("psraw", 0xe1),     SHF("psrad", 0xe2),     BIN("pmulhw", 0xe5),
    BIN("psubsb", 0xe8),    BIN("psubsw", 0xe9),    BIN("por", 0xeb),       BIN("paddsb", 0xec),
    BIN("paddsw", 0xed),    BIN("pxor", 0xef),      SHF("psllw", 0xf1),     SHF("pslld", 0xf2),
    SHF("psllq", 0xf3),     BIN("pmaddwd", 0xf5),   BIN("psubb", 0xf8),     BIN("psubw", 0xf9),
    BIN("psubd", 0xfa),     BIN("paddb", 0xfc),     BIN("paddw", 0xfd),     BIN("paddd", 0xfe),
    IMM("psrlw", 0x71, 2),  IMM("psraw", 0x71, 4),  IMM("psllw", 0x71, 6),  IMM("psrld", 0x72, 2),
    IMM("psrad", 0x72, 4),  IMM("pslld", 0x72, 6),  IMM("psrlq", 0x73, 2),  IMM("psllq", 0x73, 6),
    { "movd mm,r32/m32", 0x6e, F_MOVD_LOAD, 0, 0 }, { "movd r32/m32,mm", 0x7e, F_MOVD_STORE, 0, 0 },
    { "movq", 0x6f, F_MOVQ, 0, 0 },
};
#define NTESTS ((int)(sizeof(tests) / sizeof(tests[0])))

/* Lanes biased to the values where saturation and sign matter. */
static uint64_t gen_lanes(struct rng *r)
{
    static const uint8_t edge[] = { 0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff };
    uint64_t v = rng_next(r);
    if (rng_below(r, 2))
        for (int k = 0; k < 8; k++)
            if (rng_below(r, 2))
                v = (v & ~(0xffull << (8 * k))) | (uint64_t)edge[rng_below(r, sizeof(edge))] << (8 * k);
    return v;
}

static uint64_t gen_count(struct rng *r)
{
    unsigned k = rng_below(r, 10);
    if (k < 7)
        return rng_below(r, 70);
    if (k < 9)
        return rng_next(r) >> rng_below(r, 64);
    return ~0ull - rng_below(r, 4);
}

static void build(struct prog *p, const struct mmxtest *t, int pops, int pick, uint8_t imm)
{
    p->n = 0;
    PB(p, 0xdb, 0xe3); /* fninit */
    for (int k = 7; k >= 0; k--) {
        int off = D_OPS + 16 * k;
        PB(p, 0xdb, 0xab, (uint8_t)off, (uint8_t)(off >> 8), 0, 0); /* fld tword [ebx+off] */
    }
    for (int k = 0; k < pops; k++)
        PB(p, 0xdd, 0xd8); /* fstp st(0) */
    PB(p, 0x0f, 0x6f, 0x43, A_OFF); /* movq mm0, [ebx+A] */
    PB(p, 0x0f, 0x6f, 0x4b, B_OFF); /* movq mm1, [ebx+B] */
    switch (t->form) {
    case F_RR: PB(p, 0x0f, t->opc, 0xc1); break;
    case F_RM: PB(p, 0x0f, t->opc, 0x43, B_OFF); break;
    case F_IMM: PB(p, 0x0f, t->opc, (uint8_t)(0xc0 | t->ext << 3), imm); break;
    case F_MOVD_LOAD:
        if (pick)
            PB(p, 0x0f, 0x6e, 0x43, B_OFF); /* movd mm0, [ebx+B] */
        else
            PB(p, 0x8b, 0x43, B_OFF + 4, 0x0f, 0x6e, 0xc0); /* mov eax,[ebx+B+4]; movd mm0, eax */
        break;
    case F_MOVD_STORE:
        if (pick)
            PB(p, 0x0f, 0x7e, 0x4b, GPR_OFF); /* movd [ebx+GPR], mm1 */
        else
            PB(p, 0x31, 0xc0, 0x0f, 0x7e, 0xc8, 0x89, 0x43, GPR_OFF); /* xor eax,eax; movd eax, mm1; mov [..],eax */
        break;
    default:
        if (pick == 0)
            PB(p, 0x0f, 0x6f, 0xc1); /* movq mm0, mm1 */
        else if (pick == 1)
            PB(p, 0x0f, 0x7f, 0xc8); /* movq mm0, mm1 (7F form) */
        else
            PB(p, 0x0f, 0x7f, 0x4b, GPR_OFF); /* movq [ebx+GPR], mm1 */
        break;
    }
    PB(p, 0x0f, 0x7f, 0x43, R0_OFF); /* movq [ebx+R0], mm0 */
    PB(p, 0x0f, 0x7f, 0x4b, R1_OFF); /* movq [ebx+R1], mm1 */
    int off = D_SAVE;
    PB(p, 0xdd, 0xb3, (uint8_t)off, (uint8_t)(off >> 8), 0, 0); /* fnsave [ebx+D_SAVE] */
    PB(p, 0x0f, 0x77);                                            /* emms */
    PB(p, 0xd9, 0x73, D_ENV);                                     /* fnstenv [ebx+D_ENV] */
    PB(p, 0xdb, 0xe3);                                            /* fninit */
}

START_TEST(mmx_op)
{
    const struct mmxtest *t = &tests[_i];
    struct rng r = { fpu_seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(_i + 1)) };
    int iters = fpu_quick ? 300 : 10000;
    int bad = 0;
    for (int it = 0; it < iters; it++) {
        uint64_t seed = r.s;
        uint8_t in[D_SIZE], h[D_SIZE], k[D_SIZE];
        memset(in, 0, sizeof(in));
        for (int j = 0; j < 8; j++)
            put_f80(in + D_OPS + 16 * j, gen_f80(&r));
        uint64_t a = gen_lanes(&r), b = t->cnt ? gen_count(&r) : gen_lanes(&r);
        memcpy(in + A_OFF, &a, 8);
        memcpy(in + B_OFF, &b, 8);
        for (int j = 0; j < 16; j++)
            in[R0_OFF + j] = (uint8_t)rng_next(&r);
        uint8_t imm = (uint8_t)(rng_below(&r, 4) ? rng_below(&r, 70) : rng_next(&r));
        struct prog p;
        build(&p, t, (int)rng_below(&r, 9), (int)rng_below(&r, 3), imm);
        memcpy(h, in, D_SIZE);
        memcpy(k, in, D_SIZE);
        run_native(&p, h);
        run_kestrel(&p, k);
        int off = data_diff(h, k);
        if (off >= 0) {
            if (bad < 5) {
                uint64_t rh, rk;
                memcpy(&rh, h + R0_OFF, 8);
                memcpy(&rk, k + R0_OFF, 8);
                printf("MISMATCH %s seed=%#llx iter=%d at +%#x: a=%016llx b=%016llx imm=%u host=%016llx kestrel=%016llx\n",
                       t->name, (unsigned long long)seed, it, off, (unsigned long long)a, (unsigned long long)b, imm,
                       (unsigned long long)rh, (unsigned long long)rk);
            }
            bad++;
        }
    }
    printf("%-18s %5d cases, %d mismatches\n", t->name, iters, bad);
    ck_assert_msg(bad == 0, "%s: %d of %d cases differ from the host", t->name, bad, iters);
}
END_TEST

int main(int argc, char **argv)
{
    harness_args(argc, argv);
    if (!fpu_host_is_x86()) {
        printf("test_mmx: skipped, the oracle is the host CPU and this host is not x86-64\n");
        return 77;
    }
    harness_init();
    Suite *s = suite_create("mmx");
    TCase *tc = tcase_create("mmx");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, mmx_op, 0, NTESTS);
    suite_add_tcase(s, tc);
    return check_run(s, CK_NOFORK);
}
