/*
 * x87 state handling against the host CPU: FRSTOR/FNSAVE and
 * FLDENV/FNSTENV images in the 32- and 16-bit protected-mode layouts
 * (random control/status/tag words and register contents, including
 * encodings the x87 rejects), the tag word as stored (computed from the
 * contents), ES/B recomputed against the masks, and random sequences of
 * x87 (and some MMX) instructions where TOP, tags, condition codes and
 * sticky flags carry from one instruction to the next.
 *
 * The host runs in 64-bit mode, where these images have the protected-
 * mode layout; the instruction/operand pointer fields differ between the
 * two sides and are excluded. The real-mode layouts are checked by the
 * guest test (tests/guest/fpu.c) against the SDM's figures.
 * Oracle: the host CPU (tests/unit/fpu_harness.h); skipped off x86-64.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fpu_harness.h"
#include "tests/common/check_run.h"

/* Step status words of the sequence test. */
enum { D_STEPSW = 0x10, D_SCRATCH = 0x50, NSTEPS = 8 };

static void emit_disp32(struct prog *p, uint8_t op, uint8_t modrm_reg, int off, bool p66)
{
    if (p66)
        PB(p, 0x66);
    PB(p, op, (uint8_t)(0x83 | modrm_reg << 3), (uint8_t)off, (uint8_t)(off >> 8), 0, 0);
}

/* A case's data block: zeros, the test's control word `cw` (D_CW) and
 * the epilogue's all-masked one (D_CWM). */
static void data_init(uint8_t *in, uint16_t cw)
{
    static const uint16_t cwm = 0x037f;
    memset(in, 0, D_SIZE);
    memcpy(in + D_CW, &cw, 2);
    memcpy(in + D_CWM, &cwm, 2);
}

/* A random FRSTOR/FLDENV image in the 32-bit (or 16-bit) layout. */
static void gen_image(struct rng *r, uint8_t *img, bool op16, bool full)
{
    uint16_t cw = gen_cw(r);
    if (rng_below(r, 2))
        cw = (uint16_t)((cw & ~0x3f) | (rng_next(r) & 0x3f));
    uint16_t sw = (uint16_t)rng_next(r);
    uint16_t tw = (uint16_t)rng_next(r);
    if (rng_below(r, 3) == 0)
        tw = rng_below(r, 2) ? 0xffff : 0;
    int w = op16 ? 2 : 4;
    memset(img, 0xee, 108);
    memcpy(img + 0 * w, &cw, 2);
    memcpy(img + 1 * w, &sw, 2);
    memcpy(img + 2 * w, &tw, 2);
    if (full) {
        int base = op16 ? 14 : 28;
        for (int k = 0; k < 8; k++)
            put_f80(img + base + 10 * k, gen_f80(r));
    }
}

START_TEST(images)
{
    struct rng r = { fpu_seed ^ 0x7f4a7c159e3779b9ull };
    int iters = fpu_quick ? 400 : 20000;
    int bad = 0;
    for (int it = 0; it < iters; it++) {
        uint64_t seed = r.s;
        uint8_t in[D_SIZE], h[D_SIZE], k[D_SIZE];
        data_init(in, 0);
        for (int j = 0; j < 8; j++)
            put_f80(in + D_OPS + 16 * j, gen_f80(&r));
        bool op16 = rng_below(&r, 3) == 0;
        bool rstor = rng_below(&r, 2);
        gen_image(&r, in + D_SAVE, op16, rstor);
        /* Start from a random stack so FLDENV's tags meet real contents. */
        int nload = (int)rng_below(&r, 9);
        struct prog p;
        p.n = 0;
        PB(&p, 0xdb, 0xe3);
        for (int j = nload - 1; j >= 0; j--)
            emit_disp32(&p, 0xdb, 5, D_OPS + 16 * j, false);
        emit_disp32(&p, 0xdd - (rstor ? 0 : 4), 4, D_SAVE, op16); /* frstor / fldenv */
        PB(&p, 0xdd, 0x7b, D_SW);                                  /* fnstsw */
        if (op16)
            PB(&p, 0x66);
        PB(&p, 0xd9, 0x73, D_ENV); /* fnstenv */
        PB(&p, 0xdb, 0xe2, 0xd9, 0x6b, D_CWM);
        for (int j = 0; j < 3; j++)
            PB(&p, 0xdb, 0x7b, (uint8_t)(D_R + 10 * j));
        PB(&p, 0xdd, 0x7b, D_SW2, 0xdb, 0xe3);
        memcpy(h, in, D_SIZE);
        memcpy(k, in, D_SIZE);
        run_native(&p, h);
        run_kestrel(&p, k);
        if (op16) {
            /* 16-bit image: only CW, SW, TW (bytes 0..5) are comparable. */
            memset(h + D_ENV + 6, 0, 22);
            memset(k + D_ENV + 6, 0, 22);
        }
        /* The loaded image itself (pointer fields) is not compared. */
        memset(h + D_SAVE, 0, 108);
        memset(k + D_SAVE, 0, 108);
        if (data_diff(h, k) >= 0) {
            if (bad < 5) {
                printf("MISMATCH %s%s seed=%#llx iter=%d at +%#x\n", rstor ? "frstor" : "fldenv", op16 ? "16" : "32",
                       (unsigned long long)seed, it, data_diff(h, k));
                dump_case("image", seed, it, in, h, k, nload);
            }
            bad++;
        }
    }
    printf("frstor/fldenv images: %d cases, %d mismatches\n", iters, bad);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Run p from the data block `in` on the host (h) and on Kestrel (k): the
 * first differing offset, or -1. */
static int run_both(const struct prog *p, const uint8_t *in, uint8_t *h, uint8_t *k)
{
    memcpy(h, in, D_SIZE);
    memcpy(k, in, D_SIZE);
    run_native(p, h);
    run_kestrel(p, k);
    return data_diff(h, k);
}

/* ---- Random sequences ---- */

/* Emit one random instruction. */
static void emit_random(struct rng *r, struct prog *p)
{
    unsigned i = rng_below(r, 8);
    uint8_t sti = (uint8_t)(1 + rng_below(r, 7));
    switch (rng_below(r, 24)) {
    case 0: emit_disp32(p, 0xdb, 5, D_OPS + 16 * (int)rng_below(r, 8), false); break; /* fld m80 */
    case 1: PB(p, 0xd9, (uint8_t)(0xe8 + rng_below(r, 7))); break;                   /* constants */
    case 2: PB(p, (uint8_t)(0xd8 + 4 * rng_below(r, 2)), (uint8_t)(0xc0 | rng_below(r, 8) << 3 | i)); break;
    case 3: PB(p, 0xde, (uint8_t)(0xc0 | (uint8_t[]){ 0, 1, 4, 5, 6, 7 }[rng_below(r, 6)] << 3 | sti)); break;
    case 4: PB(p, 0xd9, (uint8_t)(0xc8 | i)); break;  /* fxch */
    case 5: PB(p, 0xdd, (uint8_t)(0xc0 | i)); break;  /* ffree */
    case 6: PB(p, 0xd9, (uint8_t)(0xf6 + rng_below(r, 2))); break; /* fdecstp / fincstp */
    case 7: PB(p, 0xdd, (uint8_t)(0xd0 | rng_below(r, 2) << 3 | i)); break; /* fst/fstp st(i) */
    case 8: PB(p, 0xd8, (uint8_t)(0xd0 | rng_below(r, 2) << 3 | i)); break; /* fcom/fcomp */
    case 9: PB(p, (uint8_t)(0xdb + 4 * rng_below(r, 2)), (uint8_t)(0xe8 | rng_below(r, 2) << 3 | i)); break; /* fucomi/fcomi(p) */
    case 10: PB(p, (uint8_t)(0xda + rng_below(r, 2)), (uint8_t)(0xc0 | rng_below(r, 4) << 3 | i)); break; /* fcmovcc */
    case 11: PB(p, 0xd9, (uint8_t)(0xe0 + (uint8_t[]){ 0, 1, 4, 5 }[rng_below(r, 4)])); break; /* fchs fabs ftst fxam */
    case 12: /* the exact members of D9 F0..FF (transcendentals may differ by an ulp) */
        PB(p, 0xd9, (uint8_t[]){ 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xfa, 0xfc, 0xfd }[rng_below(r, 8)]);
        break;
    case 13: PB(p, 0xdf, 0x53 + (uint8_t)(rng_below(r, 2) << 3), D_SCRATCH); break; /* fist/fistp m16 */
    case 14: PB(p, 0xd9, 0x53 + (uint8_t)(rng_below(r, 2) << 3), D_SCRATCH); break; /* fst/fstp m32 */
    case 15: PB(p, 0xdf, 0x43, D_SCRATCH); break;  /* fild m16 */
    case 16: PB(p, 0xd9, 0x6b, D_CW); break;       /* fldcw (the test's control word again) */
    case 17: PB(p, 0xde, 0xd9); break;             /* fcompp */
    case 18: PB(p, 0xda, 0xe9); break;             /* fucompp */
    case 19: PB(p, 0x0f, (uint8_t)(0xfc + rng_below(r, 3)), (uint8_t)(0xc0 | i << 3 | rng_below(r, 8))); break; /* padd */
    case 20: PB(p, 0x0f, 0x77); break;             /* emms */
    case 21: PB(p, 0xdd, 0xe0 | (uint8_t)(rng_below(r, 2) << 3) | i); break; /* fucom/fucomp */
    case 22: PB(p, 0xd9, 0xd0); break;             /* fnop */
    default: PB(p, 0xdf, (uint8_t)(0xc0 | i)); break; /* ffreep */
    }
}

START_TEST(sequences)
{
    struct rng r = { fpu_seed ^ 0x3c6ef372fe94f82bull };
    int iters = fpu_quick ? 300 : 40000;
    int bad = 0;
    for (int it = 0; it < iters; it++) {
        uint64_t seed = r.s;
        uint8_t in[D_SIZE], h[D_SIZE], k[D_SIZE];
        uint16_t cw = gen_cw(&r);
        bool unmasked = (cw & 0x3f) != 0x3f;
        data_init(in, cw);
        prog_init_env(in, &r);
        for (int j = 0; j < 8; j++)
            put_f80(in + D_OPS + 16 * j, rng_below(&r, 3) ? gen_f80_range(&r, 0x3fff - 20, 0x3fff + 20, true)
                                                           : gen_f80(&r));
        for (int j = 0; j < 16; j++)
            in[D_SCRATCH + j] = (uint8_t)rng_next(&r);
        struct prog p;
        int nload = (int)rng_below(&r, 9);
        prog_prologue(&p, nload, rng_below(&r, 2));
        for (int s = 0; s < NSTEPS; s++) {
            emit_random(&r, &p);
            /* Half of the steps skip the FNSTSW, so that a translator's
             * x87 state (C1 in particular) carries across instructions. */
            if (rng_below(&r, 2))
                PB(&p, 0xdd, 0x7b, (uint8_t)(D_STEPSW + 2 * s)); /* fnstsw [step] */
            if (unmasked)
                PB(&p, 0xdb, 0xe2); /* fnclex: keep the host from trapping */
        }
        prog_epilogue(&p);
        if (run_both(&p, in, h, k) >= 0) {
            if (bad < 5) {
                printf("MISMATCH sequence seed=%#llx iter=%d at +%#x; code:", (unsigned long long)seed, it,
                       data_diff(h, k));
                for (int j = 0; j < p.n; j++)
                    printf(" %02x", p.b[j]);
                printf("\n  step sw host:");
                for (int s = 0; s < NSTEPS; s++)
                    printf(" %02x%02x", h[D_STEPSW + 2 * s + 1], h[D_STEPSW + 2 * s]);
                printf("\n  step sw kest:");
                for (int s = 0; s < NSTEPS; s++)
                    printf(" %02x%02x", k[D_STEPSW + 2 * s + 1], k[D_STEPSW + 2 * s]);
                printf("\n");
                dump_case("sequence", seed, it, in, h, k, nload);
            }
            bad++;
        }
    }
    printf("sequences: %d cases of %d instructions, %d mismatches\n", iters, NSTEPS, bad);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* C1 across instructions: an arithmetic instruction rounds (C1 = 1 when
 * it rounded up), then FCOMI/FUCOMI(P), which leave C1 as it was, then
 * a pop or a load, which clear it. A translator that keeps the guest's
 * status in the host's x87 between instructions must carry C1 exactly. */
START_TEST(c1_carry)
{
    struct rng r = { fpu_seed ^ 0x510e527fade682d1ull };
    int iters = fpu_quick ? 400 : 20000;
    int bad = 0;
    for (int it = 0; it < iters; it++) {
        uint64_t seed = r.s;
        uint8_t in[D_SIZE], h[D_SIZE], k[D_SIZE];
        data_init(in, (uint16_t)(gen_cw(&r) | 0x3f));
        prog_init_env(in, &r);
        for (int j = 0; j < 3; j++)
            put_f80(in + D_OPS + 16 * j, gen_f80_range(&r, 0x3fff - 20, 0x3fff + 20, true));
        struct prog p;
        prog_prologue(&p, 3, false);
        PB(&p, 0xd8, (uint8_t)(0xc1 | (uint8_t[]){ 0, 1, 4, 5, 6, 7 }[rng_below(&r, 6)] << 3)); /* arith st, st(1) */
        PB(&p, (uint8_t)(0xdb + 4 * rng_below(&r, 2)), (uint8_t)(0xe9 | rng_below(&r, 2) << 3)); /* (u)comi(p) st(1) */
        PB(&p, 0xdd, 0x7b, (uint8_t)D_STEPSW); /* fnstsw [step 0]: C1 still the arithmetic's */
        if (rng_below(&r, 2))
            PB(&p, 0xdd, 0xd8); /* fstp st(0) */
        else
            PB(&p, 0xd9, 0xc1); /* fld st(1) */
        PB(&p, 0xdd, 0x7b, (uint8_t)(D_STEPSW + 2)); /* fnstsw [step 1] */
        prog_epilogue(&p);
        if (run_both(&p, in, h, k) >= 0) {
            if (bad < 5) {
                printf("MISMATCH c1_carry seed=%#llx iter=%d at +%#x\n", (unsigned long long)seed, it,
                       data_diff(h, k));
                dump_case("c1_carry", seed, it, in, h, k, 3);
            }
            bad++;
        }
    }
    printf("C1 across FCOMI: %d cases, %d mismatches\n", iters, bad);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Popped registers keep their contents, which FNSAVE shows; a translator
 * that keeps a popped value on the host until the write-back (jit/x64/
 * x87.c: ghosts) must store it, drop it when the slot is written again
 * (a push, FST into the empty ST(i)) and store it when it needs the room.
 * Each program ends in FNSAVE, compared but for its pointer fields. */
START_TEST(popped_contents)
{
    static const struct {
        const char *what;
        int nload;
        uint8_t code[32];
        int len;
    } progs[] = {
        { "pop a computed value", 3, { 0xd8, 0xc1, 0xdd, 0xd8 }, 4 },
        { "push over a popped value", 2, { 0xd8, 0xc1, 0xdd, 0xd8, 0xd9, 0xe8, 0xd8, 0xc0 }, 8 },
        { "FST into a popped slot", 2, { 0xd8, 0xc1, 0xdd, 0xd8, 0xdd, 0xd7 }, 6 },
        { "FSTP ST(1) then FST ST(7)", 3, { 0xd8, 0xca, 0xdd, 0xd9, 0xdd, 0xd7, 0xdc, 0xc0 }, 8 },
        /* eight pushes, four pops, a push: the host's stack is full */
        { "a full stack", 0,
          { 0xd9, 0xe8, 0xd9, 0xee, 0xd9, 0xeb, 0xd9, 0xea, 0xd9, 0xe9, 0xd9, 0xec, 0xd9, 0xed, 0xd9, 0xe8,
            0xd8, 0xc0, 0xdd, 0xd8, 0xdd, 0xd8, 0xdd, 0xd8, 0xdd, 0xd8, 0xd9, 0xee },
          28 },
    };
    struct rng r = { fpu_seed ^ 0x9b05688c2b3e6c1full };
    int bad = 0, cases = 0;
    for (size_t q = 0; q < sizeof(progs) / sizeof(progs[0]); q++) {
        for (int it = 0; it < 20; it++, cases++) {
            uint8_t in[D_SIZE], h[D_SIZE], k[D_SIZE];
            data_init(in, 0x037f);
            prog_init_env(in, &r);
            for (int j = 0; j < 8; j++)
                put_f80(in + D_OPS + 16 * j, gen_f80_range(&r, 0x3fff - 20, 0x3fff + 20, true));
            struct prog p;
            prog_prologue(&p, progs[q].nload, false);
            for (int j = 0; j < progs[q].len; j++)
                PB(&p, progs[q].code[j]);
            emit_disp32(&p, 0xdd, 6, D_SAVE, false); /* fnsave */
            prog_epilogue(&p);
            memcpy(h, in, D_SIZE);
            memcpy(k, in, D_SIZE);
            run_native(&p, h);
            run_kestrel(&p, k);
            memset(h + D_SAVE + 12, 0, 16); /* FIP, FCS, FOP, FDP, FDS */
            memset(k + D_SAVE + 12, 0, 16);
            if (data_diff(h, k) >= 0) {
                if (bad < 5) {
                    printf("MISMATCH popped_contents \"%s\" iter=%d at +%#x\n", progs[q].what, it, data_diff(h, k));
                    dump_case("popped_contents", 0, it, in, h, k, progs[q].nload);
                }
                bad++;
            }
        }
    }
    printf("popped contents: %d cases, %d mismatches\n", cases, bad);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* ---- Real-mode images (Kestrel only; oracle: SDM Vol. 1 figures 8-10
 * and 8-12) ---- */

/* Real mode with CS = 0x9000, DS = 0x8800, 16-bit segments. */
static void enter_real(struct cpu *c)
{
    c->cr0 &= ~CR0_PE;
    for (int s = 0; s < SEG_LDTR; s++) {
        uint16_t sel = s == SEG_CS ? 0x9000 : 0x8800;
        uint16_t attr = SA_P | SA_S | SA_RW | SA_A | (s == SEG_CS ? SA_CODE : 0);
        seg_set_cache(c, s, sel, (uint32_t)sel << 4, 0xffff, attr);
    }
    cpu_update_mode(c);
    cpu_tlb_flush(c);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }

START_TEST(real_mode_images)
{
    struct cpu *c = kestrel_cpu();
    enter_real(c);
    /* fninit; fldcw [bx]; fld1; fadd dword [bx+0x30] (at IP 9); fnstenv [bx+0x40];
     * o32 fnstenv [bx+0x60]; fldenv [bx+0x80] (a crafted 16-bit image);
     * fnstenv [bx+0xa0]... as disp16; o32 fldenv/fnstenv likewise; hlt */
    static const uint8_t code[] = {
        0xdb, 0xe3, 0xd9, 0x2f, 0xd9, 0xe8, 0x90, 0x90, 0x90, /* IP 0..8 */
        0xd8, 0x47, 0x30,                                     /* IP 9: fadd dword [bx+0x30] */
        0xd9, 0x77, 0x40,                                     /* fnstenv [bx+0x40] (14 bytes) */
        0x66, 0xd9, 0x77, 0x60,                               /* o32 fnstenv [bx+0x60] (28 bytes) */
        0xd9, 0xa7, 0x80, 0x00,                               /* fldenv [bx+0x80] */
        0xd9, 0xb7, 0xa0, 0x00,                               /* fnstenv [bx+0xa0] */
        0x66, 0xd9, 0xa7, 0xc0, 0x00,                         /* o32 fldenv [bx+0xc0] */
        0x66, 0xd9, 0xb7, 0xe0, 0x00,                         /* o32 fnstenv [bx+0xe0] */
        0xf4,
    };
    uint8_t d[0x100];
    memset(d, 0, sizeof(d));
    d[0] = 0x7f, d[1] = 0x02;                          /* cw 0x027f */
    uint32_t onef = 0x3fc00000u;                       /* 1.5f */
    memcpy(d + 0x30, &onef, 4);
    /* 16-bit real image: FIP 0xABCDE, FOP 0x5a5, FDP 0x7F123. */
    static const uint16_t img16[7] = { 0x0363, 0x3800, 0x7fff, 0xbcde, 0xa5a5, 0xf123, 0x7000 };
    memcpy(d + 0x80, img16, sizeof(img16));
    /* 32-bit real image: FIP 0x0ABCDEF1 (bits 31..16 at 27..12), FOP 0x123, FDP 0x01234567. */
    static const uint32_t img32[7] = { 0xffff0b7f, 0xffff0000, 0xffffffff, 0xffffdef1, 0x0abcd123, 0xffff4567,
                                       0x00123000 };
    memcpy(d + 0xc0, img32, sizeof(img32));
    kestrel_write(0x88000, d, sizeof(d));
    kestrel_write(0x90000, code, sizeof(code));
    c->gpr[R_EBX] = 0;
    c->eip = 0;
    ck_assert_msg(kestrel_run_to_hlt(), "real-mode program did not reach its HLT");
    kestrel_read(0x88000, d, sizeof(d));
    cpu_set_flat32(c);
    cpu_tlb_flush(c);

    uint32_t fip = 0x90000 + 9, fdp = 0x88000 + 0x30;
    uint16_t fop = (0xd8 & 7) << 8 | 0x47;
    const uint8_t *e = d + 0x40; /* figure 8-12 */
    ck_assert_uint_eq(rd16(e + 0), 0x027f);
    ck_assert_uint_eq(rd16(e + 2), 0x3800);       /* TOP 7 */
    ck_assert_uint_eq(rd16(e + 4), 0x3fff);       /* R7 valid */
    ck_assert_uint_eq(rd16(e + 6), fip & 0xffff);
    ck_assert_uint_eq(rd16(e + 8), ((fip >> 16) & 15) << 12 | fop);
    ck_assert_uint_eq(rd16(e + 10), fdp & 0xffff);
    ck_assert_uint_eq(rd16(e + 12), ((fdp >> 16) & 15) << 12);
    e = d + 0x60; /* figure 8-10: reserved halves not checked */
    ck_assert_uint_eq(rd32(e + 0) & 0xffff, 0x027f);
    ck_assert_uint_eq(rd32(e + 4) & 0xffff, 0x3800);
    ck_assert_uint_eq(rd32(e + 8) & 0xffff, 0x3fff);
    ck_assert_uint_eq(rd32(e + 12) & 0xffff, fip & 0xffff);
    ck_assert_uint_eq(rd32(e + 16) & 0x0ffff7ff, (fip >> 16) << 12 | fop);
    ck_assert_uint_eq(rd32(e + 20) & 0xffff, fdp & 0xffff);
    ck_assert_uint_eq(rd32(e + 24) & 0x0ffff000, (fdp >> 16) << 12);
    /* Round trips: the loaded pointers come back; the tag word is
     * recomputed from the (still valid) register contents. */
    e = d + 0xa0;
    ck_assert_uint_eq(rd16(e + 0), 0x0363);
    ck_assert_uint_eq(rd16(e + 2), 0x3800);
    ck_assert_uint_eq(rd16(e + 4), 0x3fff); /* R7 loaded as "zero", holds 2.5: stored as valid */
    ck_assert_uint_eq(rd16(e + 6), 0xbcde);
    ck_assert_uint_eq(rd16(e + 8), 0xa5a5);
    ck_assert_uint_eq(rd16(e + 10), 0xf123);
    ck_assert_uint_eq(rd16(e + 12), 0x7000);
    e = d + 0xe0;
    ck_assert_uint_eq(rd32(e + 0) & 0xffff, 0x0b7f);
    ck_assert_uint_eq(rd32(e + 12) & 0xffff, 0xdef1);
    ck_assert_uint_eq(rd32(e + 16) & 0x0ffff7ff, 0x0abcd123);
    ck_assert_uint_eq(rd32(e + 20) & 0xffff, 0x4567);
    ck_assert_uint_eq(rd32(e + 24) & 0x0ffff000, 0x00123000);
}
END_TEST

/* ---- FERR# (Kestrel only; oracle: SDM Vol. 3, "Assertion of the FERR#
 * pin": on the P6 an unmasked exception asserts FERR# when the
 * instruction that caused it completes; CR0.NE=1 reports through #MF
 * instead, and FNCLEX/FNINIT clear the error) ---- */

static int ferr_level, ferr_calls;
static void on_ferr(void *ctx, int level)
{
    (void)ctx;
    ferr_level = level;
    ferr_calls++;
}

static void run_bytes(const uint8_t *b, int n)
{
    uint8_t d[D_SIZE];
    memset(d, 0, sizeof(d));
    uint16_t cw = 0x037b; /* zero divide unmasked */
    memcpy(d + D_CW, &cw, 2);
    struct prog p;
    p.n = 0;
    prog_bytes(&p, b, n);
    run_kestrel(&p, d);
}

START_TEST(ferr_output)
{
    struct cpu *c = kestrel_cpu();
    static const uint8_t divide[] = { 0xdb, 0xe3, 0xd9, 0x6b, D_CW, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9 };
    static const uint8_t clex[] = { 0xdb, 0xe2 }, init[] = { 0xdb, 0xe3 }, nstsw[] = { 0xdf, 0xe0 };
    c->env.ferr = on_ferr;
    c->cr0 &= ~CR0_NE;
    ferr_calls = 0;
    run_bytes(divide, sizeof(divide));
    ck_assert_int_eq(ferr_calls, 1);
    ck_assert_int_eq(ferr_level, 1);
    run_bytes(nstsw, sizeof(nstsw)); /* still pending: no change */
    ck_assert_int_eq(ferr_calls, 1);
    run_bytes(clex, sizeof(clex));
    ck_assert_int_eq(ferr_calls, 2);
    ck_assert_int_eq(ferr_level, 0);
    run_bytes(divide, sizeof(divide));
    run_bytes(init, sizeof(init));
    ck_assert_int_eq(ferr_calls, 4);
    ck_assert_int_eq(ferr_level, 0);
    /* Native error reporting: no FERR#. */
    c->cr0 |= CR0_NE;
    run_bytes(divide, sizeof(divide));
    ck_assert_int_eq(ferr_calls, 4);
    run_bytes(init, sizeof(init));
    c->cr0 &= ~CR0_NE;
    c->env.ferr = NULL;
}
END_TEST

int main(int argc, char **argv)
{
    harness_args(argc, argv);
    if (!fpu_host_is_x86()) {
        printf("test_fpu_state: skipped, the oracle is the host's x87 and this host is not x86-64\n");
        return 77;
    }
    harness_init();
    Suite *s = suite_create("fpu_state");
    TCase *tc = tcase_create("state");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, images);
    tcase_add_test(tc, sequences);
    tcase_add_test(tc, c1_carry);
    tcase_add_test(tc, popped_contents);
    tcase_add_test(tc, real_mode_images);
    tcase_add_test(tc, ferr_output);
    suite_add_tcase(s, tc);
    return check_run(s, CK_NOFORK);
}
