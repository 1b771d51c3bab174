/*
 * x87 and MMX families of the generator.
 *
 * An FPU sequence starts with FRSTOR from a 108-byte image the generator
 * writes into the data area (FPU_OFF): control word (all exceptions masked
 * unless --faults), status word, tags, and eight register values drawn
 * from the hard cases (zeros, denormals, pseudo-denormals, unnormals,
 * infinities, NaNs, pseudo-NaNs, short significands). It ends with FNSAVE
 * to the same place, so the whole x87/MMX state lands in the data area and
 * is compared with it. FRSTOR also makes the start independent of whatever
 * the native runner's FPU held before (FNINIT would leave the register
 * contents alone).
 *
 * The instruction, operand and data pointers in an FSAVE/FSTENV image
 * (FIP, FCS, FOP, FDP, FDS) are model-specific: recent Intel processors
 * store FCS and FDS as zero and update FOP only on unmasked exceptions.
 * The comparer masks those 16 bytes (seq.fpu_off + 12 .. + 28), and
 * FNSTENV/FNSAVE/FLDENV/FRSTOR inside a sequence use only that area.
 *
 * Memory operands get values of their format written into the initial
 * data, so loads see interesting numbers rather than random bytes.
 * Encodings are from the SDM's x87 opcode map (D8..DF) and MMX table
 * (0F 60..7F, D1..FE); MMX never gets a 66/F2/F3 prefix, which would turn
 * it into an SSE instruction on the host.
 */
#include <stddef.h>
#include <string.h>

#include "tests/diff/gen_priv.h"

/* ---- Values ---- */

static uint64_t mant64(struct gen *g)
{
    switch (below(g, 6)) {
    case 0: return 0x8000000000000000ull;
    case 1: return 0x8000000000000000ull | ((uint64_t)rnd(g) & 0xffffff0000000000ull); /* 24-bit */
    case 2: return 0x8000000000000000ull | ((uint64_t)rnd(g) & 0xfffffffffffff800ull); /* 53-bit */
    case 3: /* near a rounding point of 24, 53 or 64 bits */
        return 0x8000000000000000ull | ((uint64_t)rnd(g) & ~0x7ffull) | (0x400u + below(g, 3) - 1);
    default: return 0x8000000000000000ull | rnd(g);
    }
}

static void put_f80(uint8_t *p, uint64_t mant, uint16_t se)
{
    memcpy(p, &mant, 8);
    memcpy(p + 8, &se, 2);
}

void fpu_f80(struct gen *g, uint8_t *p)
{
    uint16_t sign = chance(g, 50) ? 0x8000 : 0;
    unsigned c = below(g, 100);
    uint64_t m = mant64(g);
    uint16_t e;
    if (c < 8) {
        m = 0;
        e = 0;
    } else if (c < 14) {
        m &= 0x7fffffffffffffffull;
        e = 0;
    } else if (c < 16) {
        e = 0; /* pseudo-denormal: integer bit set, exponent 0 */
    } else if (c < 55) {
        e = (uint16_t)(0x3fff - 40 + below(g, 80));
    } else if (c < 62) {
        e = chance(g, 50) ? (uint16_t)(1 + below(g, 70)) : (uint16_t)(0x7ffe - below(g, 70));
    } else if (c < 67) {
        m = 0x8000000000000000ull;
        e = 0x7fff;
    } else if (c < 72) {
        m |= 0xc000000000000000ull;
        e = 0x7fff;
    } else if (c < 76) {
        m = (m & 0xbfffffffffffffffull) | 1;
        e = 0x7fff;
    } else if (c < 78) {
        m &= 0x7fffffffffffffffull; /* unnormal */
        e = (uint16_t)(1 + below(g, 0x7ffe));
    } else if (c < 80) {
        m &= 0x7fffffffffffffffull; /* pseudo-infinity / pseudo-NaN */
        e = 0x7fff;
    } else if (c < 92) {
        /* a small integer, exactly */
        uint32_t v = 1 + below(g, chance(g, 50) ? 16 : 100000);
        int lz = __builtin_clz(v);
        m = (uint64_t)v << (32 + lz);
        e = (uint16_t)(0x3fff + 31 - lz);
    } else {
        e = (uint16_t)(0x3fff - 2000 + below(g, 4000));
    }
    put_f80(p, m, (uint16_t)(sign | e));
}

static void fpu_f64(struct gen *g, uint8_t *p)
{
    uint64_t s = chance(g, 50) ? 1ull << 63 : 0, m = rnd(g) & 0xfffffffffffffull, e;
    switch (below(g, 10)) {
    case 0: e = 0; m = 0; break;
    case 1: e = 0; break;
    case 2: e = 0x7ff; m = 0; break;
    case 3: e = 0x7ff; m |= chance(g, 50) ? 1ull << 51 : 1; break;
    case 4: e = 1 + below(g, 30); break;
    case 5: e = 0x7fe - below(g, 30); break;
    case 6: e = 1023 + below(g, 20); m &= 0xfffff00000000ull; break; /* short */
    default: e = 1023 - 30 + below(g, 60); break;
    }
    uint64_t v = s | e << 52 | m;
    memcpy(p, &v, 8);
}

static void fpu_f32(struct gen *g, uint8_t *p)
{
    uint32_t s = chance(g, 50) ? 1u << 31 : 0, m = (uint32_t)rnd(g) & 0x7fffff, e;
    switch (below(g, 10)) {
    case 0: e = 0; m = 0; break;
    case 1: e = 0; break;
    case 2: e = 0xff; m = 0; break;
    case 3: e = 0xff; m |= chance(g, 50) ? 1u << 22 : 1; break;
    case 4: e = 1 + below(g, 20); break;
    case 5: e = 0xfe - below(g, 20); break;
    default: e = 127 - 20 + below(g, 40); break;
    }
    uint32_t v = s | e << 23 | m;
    memcpy(p, &v, 4);
}

static void fpu_bcd(struct gen *g, uint8_t *p)
{
    for (int k = 0; k < 9; k++)
        p[k] = chance(g, 3) ? (uint8_t)rnd(g) : (uint8_t)(below(g, 10) << 4 | below(g, 10));
    if (chance(g, 30))
        memset(p + 2 + below(g, 7), 0, 1);
    p[9] = chance(g, 50) ? 0x80 : 0;
    if (chance(g, 3))
        p[9] |= (uint8_t)rnd(g) & 0x7f;
}

/* A control word: rounding and precision control random, exceptions
 * masked unless faults are allowed. */
static uint16_t fpu_cw(struct gen *g)
{
    uint16_t cw = (uint16_t)(0x0040 | (below(g, 4) << 8) | (below(g, 4) << 10));
    uint16_t masks = 0x3f;
    if (g->o->faults && chance(g, 30))
        masks &= (uint16_t)~(1u << below(g, 6));
    if (chance(g, 10))
        cw |= 0x1000; /* infinity control: ignored since the 387 */
    return cw | masks;
}

/* The FRSTOR image at the start of an FPU sequence. */
static void fpu_image(struct gen *g, uint8_t *p)
{
    memset(p, 0, 108);
    uint16_t cw = fpu_cw(g);
    unsigned top = below(g, 8), depth = below(g, 9);
    uint16_t sw = (uint16_t)((top << 11) | ((uint32_t)rnd(g) & 0x4700)); /* C3 C2 C1 C0 random */
    if (chance(g, 30))
        sw |= (uint16_t)((uint32_t)rnd(g) & 0x7f & cw); /* sticky flags of masked exceptions */
    uint16_t tw = 0xffff;
    for (unsigned i = 0; i < depth; i++)
        tw &= (uint16_t)~(3u << (2 * ((top + i) & 7)));
    memcpy(p + 0, &cw, 2);
    memcpy(p + 4, &sw, 2);
    memcpy(p + 8, &tw, 2);
    for (int i = 0; i < 8; i++) {
        if (chance(g, 15)) { /* an MMX-style value: any 64 bits, exponent all ones */
            put_f80(p + 28 + 10 * i, rnd(g), 0xffff);
            continue;
        }
        fpu_f80(g, p + 28 + 10 * i);
    }
}

/* An environment instruction on the FPU area: [disp32] addressing and
 * the 32-bit image format (in 16-bit code both need their prefixes). */
static void env_insn(struct gen *g, struct enc *e, uint8_t opc, int ext)
{
    uint8_t p[2];
    int n = size_pfx(g, p, 32, false);
    for (int k = 0; k < n; k++)
        enc_byte(e, p[k]);
    enc_byte(e, opc);
    enc_byte(e, (uint8_t)(0x05 | ext << 3));
    enc_imm(e, DATA_ADDR + FPU_OFF, 4);
}

void fpu_prologue(struct gen *g)
{
    g->s->fpu_off = FPU_OFF;
    fpu_image(g, g->s->data + FPU_OFF);
    struct enc e = { .n = 0 };
    env_insn(g, &e, 0xdd, 4); /* FRSTOR */
    emit(g, &e, OP_FRSTOR, true)->pinned = 1;
    g->prot_lo[g->nprot] = FPU_OFF;
    g->prot_hi[g->nprot] = FPU_OFF + 108;
    g->nprot++;
}

void fpu_epilogue(struct gen *g)
{
    g->group = ++g->next_group;
    struct enc e = { .n = 0 };
    env_insn(g, &e, 0xdd, 6); /* FNSAVE */
    emit(g, &e, OP_FNSAVE, true)->pinned = 1;
}

/* ---- x87 ---- */

enum { FM_F32, FM_F64, FM_F80, FM_I16, FM_I32, FM_I64, FM_BCD, FM_CW, FM_W, FM_STI, FM_FIXED };
static const int fm_size[] = { 4, 8, 10, 2, 4, 8, 10, 2, 2, 0, 0 };

struct fop {
    uint8_t opc;  /* D8..DF */
    uint8_t ext;  /* ModRM.reg, or the whole ModRM for FM_FIXED */
    uint8_t form;
    bool store;   /* writes its memory operand */
    uint16_t op;  /* opcode-table row (flags, handler presence, display) */
};

#define ARITH_M(o, k, f, base) { o, k, f, false, (uint16_t)((base) + (k)) }
static const struct fop x87_ops[] = {
    /* D8 / DC memory: FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR */
    ARITH_M(0xd8, 0, FM_F32, OP_FADD_Mf32), ARITH_M(0xd8, 1, FM_F32, OP_FADD_Mf32),
    ARITH_M(0xd8, 2, FM_F32, OP_FADD_Mf32), ARITH_M(0xd8, 3, FM_F32, OP_FADD_Mf32),
    ARITH_M(0xd8, 4, FM_F32, OP_FADD_Mf32), ARITH_M(0xd8, 5, FM_F32, OP_FADD_Mf32),
    ARITH_M(0xd8, 6, FM_F32, OP_FADD_Mf32), ARITH_M(0xd8, 7, FM_F32, OP_FADD_Mf32),
    ARITH_M(0xdc, 0, FM_F64, OP_FADD_Mf64), ARITH_M(0xdc, 1, FM_F64, OP_FADD_Mf64),
    ARITH_M(0xdc, 2, FM_F64, OP_FADD_Mf64), ARITH_M(0xdc, 3, FM_F64, OP_FADD_Mf64),
    ARITH_M(0xdc, 4, FM_F64, OP_FADD_Mf64), ARITH_M(0xdc, 5, FM_F64, OP_FADD_Mf64),
    ARITH_M(0xdc, 6, FM_F64, OP_FADD_Mf64), ARITH_M(0xdc, 7, FM_F64, OP_FADD_Mf64),
    /* DA / DE memory: FIADD FIMUL FICOM FICOMP FISUB FISUBR FIDIV FIDIVR */
    ARITH_M(0xda, 0, FM_I32, OP_FIADD_Mi32), ARITH_M(0xda, 1, FM_I32, OP_FIADD_Mi32),
    ARITH_M(0xda, 2, FM_I32, OP_FIADD_Mi32), ARITH_M(0xda, 3, FM_I32, OP_FIADD_Mi32),
    ARITH_M(0xda, 4, FM_I32, OP_FIADD_Mi32), ARITH_M(0xda, 5, FM_I32, OP_FIADD_Mi32),
    ARITH_M(0xda, 6, FM_I32, OP_FIADD_Mi32), ARITH_M(0xda, 7, FM_I32, OP_FIADD_Mi32),
    ARITH_M(0xde, 0, FM_I16, OP_FIADD_Mi16), ARITH_M(0xde, 1, FM_I16, OP_FIADD_Mi16),
    ARITH_M(0xde, 2, FM_I16, OP_FIADD_Mi16), ARITH_M(0xde, 3, FM_I16, OP_FIADD_Mi16),
    ARITH_M(0xde, 4, FM_I16, OP_FIADD_Mi16), ARITH_M(0xde, 5, FM_I16, OP_FIADD_Mi16),
    ARITH_M(0xde, 6, FM_I16, OP_FIADD_Mi16), ARITH_M(0xde, 7, FM_I16, OP_FIADD_Mi16),
    /* Register forms */
    ARITH_M(0xd8, 0, FM_STI, OP_FADD_ST0STi), ARITH_M(0xd8, 1, FM_STI, OP_FADD_ST0STi),
    ARITH_M(0xd8, 2, FM_STI, OP_FADD_ST0STi), ARITH_M(0xd8, 3, FM_STI, OP_FADD_ST0STi),
    ARITH_M(0xd8, 4, FM_STI, OP_FADD_ST0STi), ARITH_M(0xd8, 5, FM_STI, OP_FADD_ST0STi),
    ARITH_M(0xd8, 6, FM_STI, OP_FADD_ST0STi), ARITH_M(0xd8, 7, FM_STI, OP_FADD_ST0STi),
    { 0xdc, 0, FM_STI, false, OP_FADD_STiST0 }, { 0xdc, 1, FM_STI, false, OP_FMUL_STiST0 },
    { 0xdc, 2, FM_STI, false, OP_FCOM_STi_DC }, { 0xdc, 3, FM_STI, false, OP_FCOMP_STi_DC },
    { 0xdc, 4, FM_STI, false, OP_FSUBR_STiST0 }, { 0xdc, 5, FM_STI, false, OP_FSUB_STiST0 },
    { 0xdc, 6, FM_STI, false, OP_FDIVR_STiST0 }, { 0xdc, 7, FM_STI, false, OP_FDIV_STiST0 },
    { 0xde, 0, FM_STI, false, OP_FADDP_STiST0 }, { 0xde, 1, FM_STI, false, OP_FMULP_STiST0 },
    { 0xde, 2, FM_STI, false, OP_FCOMP_STi_DE }, { 0xde, 4, FM_STI, false, OP_FSUBRP_STiST0 },
    { 0xde, 5, FM_STI, false, OP_FSUBP_STiST0 }, { 0xde, 6, FM_STI, false, OP_FDIVRP_STiST0 },
    { 0xde, 7, FM_STI, false, OP_FDIVP_STiST0 }, { 0xde, 0xd9, FM_FIXED, false, OP_FCOMPP },
    /* Loads */
    { 0xd9, 0, FM_F32, false, OP_FLD_Mf32 }, { 0xdd, 0, FM_F64, false, OP_FLD_Mf64 },
    { 0xdb, 5, FM_F80, false, OP_FLD_Mf80 }, { 0xdf, 0, FM_I16, false, OP_FILD_Mi16 },
    { 0xdb, 0, FM_I32, false, OP_FILD_Mi32 }, { 0xdf, 5, FM_I64, false, OP_FILD_Mi64 },
    { 0xdf, 4, FM_BCD, false, OP_FBLD }, { 0xd9, 0, FM_STI, false, OP_FLD_STi },
    { 0xd9, 0xe8, FM_FIXED, false, OP_FLD1 }, { 0xd9, 0xe9, FM_FIXED, false, OP_FLDL2T },
    { 0xd9, 0xea, FM_FIXED, false, OP_FLDL2E }, { 0xd9, 0xeb, FM_FIXED, false, OP_FLDPI },
    { 0xd9, 0xec, FM_FIXED, false, OP_FLDLG2 }, { 0xd9, 0xed, FM_FIXED, false, OP_FLDLN2 },
    { 0xd9, 0xee, FM_FIXED, false, OP_FLDZ },
    /* Stores */
    { 0xd9, 2, FM_F32, true, OP_FST_Mf32 }, { 0xd9, 3, FM_F32, true, OP_FSTP_Mf32 },
    { 0xdd, 2, FM_F64, true, OP_FST_Mf64 }, { 0xdd, 3, FM_F64, true, OP_FSTP_Mf64 },
    { 0xdb, 7, FM_F80, true, OP_FSTP_Mf80 }, { 0xdf, 2, FM_I16, true, OP_FIST_Mi16 },
    { 0xdf, 3, FM_I16, true, OP_FISTP_Mi16 }, { 0xdb, 2, FM_I32, true, OP_FIST_Mi32 },
    { 0xdb, 3, FM_I32, true, OP_FISTP_Mi32 }, { 0xdf, 7, FM_I64, true, OP_FISTP_Mi64 },
    { 0xdf, 6, FM_BCD, true, OP_FBSTP }, { 0xdd, 2, FM_STI, false, OP_FST_STi },
    { 0xdd, 3, FM_STI, false, OP_FSTP_STi }, { 0xdf, 2, FM_STI, false, OP_FSTP_STi_DF2 },
    { 0xdf, 3, FM_STI, false, OP_FSTP_STi_DF3 }, { 0xd9, 3, FM_STI, false, OP_FSTPNCE },
    /* Stack, sign, classification, exact arithmetic */
    { 0xd9, 1, FM_STI, false, OP_FXCH }, { 0xdd, 1, FM_STI, false, OP_FXCH_DD },
    { 0xdf, 1, FM_STI, false, OP_FXCH_DF }, { 0xdd, 0, FM_STI, false, OP_FFREE },
    { 0xdf, 0, FM_STI, false, OP_FFREEP }, { 0xd9, 0xe0, FM_FIXED, false, OP_FCHS },
    { 0xd9, 0xe1, FM_FIXED, false, OP_FABS }, { 0xd9, 0xe4, FM_FIXED, false, OP_FTST },
    { 0xd9, 0xe5, FM_FIXED, false, OP_FXAM }, { 0xd9, 0xf6, FM_FIXED, false, OP_FDECSTP },
    { 0xd9, 0xf7, FM_FIXED, false, OP_FINCSTP }, { 0xd9, 0xd0, FM_FIXED, false, OP_FNOP },
    { 0xd9, 0xfc, FM_FIXED, false, OP_FRNDINT }, { 0xd9, 0xfa, FM_FIXED, false, OP_FSQRT },
    { 0xd9, 0xfd, FM_FIXED, false, OP_FSCALE }, { 0xd9, 0xf4, FM_FIXED, false, OP_FXTRACT },
    { 0xd9, 0xf8, FM_FIXED, false, OP_FPREM }, { 0xd9, 0xf5, FM_FIXED, false, OP_FPREM1 },
    /* Unordered compares, compares into EFLAGS, conditional moves */
    { 0xdd, 4, FM_STI, false, OP_FUCOM }, { 0xdd, 5, FM_STI, false, OP_FUCOMP },
    { 0xda, 0xe9, FM_FIXED, false, OP_FUCOMPP }, { 0xdb, 6, FM_STI, false, OP_FCOMI },
    { 0xdb, 5, FM_STI, false, OP_FUCOMI }, { 0xdf, 6, FM_STI, false, OP_FCOMIP },
    { 0xdf, 5, FM_STI, false, OP_FUCOMIP }, { 0xda, 0, FM_STI, false, OP_FCMOVB },
    { 0xda, 1, FM_STI, false, OP_FCMOVE }, { 0xda, 2, FM_STI, false, OP_FCMOVBE },
    { 0xda, 3, FM_STI, false, OP_FCMOVU }, { 0xdb, 0, FM_STI, false, OP_FCMOVNB },
    { 0xdb, 1, FM_STI, false, OP_FCMOVNE }, { 0xdb, 2, FM_STI, false, OP_FCMOVNBE },
    { 0xdb, 3, FM_STI, false, OP_FCMOVNU },
    /* Control */
    { 0xdf, 0xe0, FM_FIXED, false, OP_FNSTSW_AX }, { 0xdd, 7, FM_W, true, OP_FNSTSW_Mw },
    { 0xd9, 7, FM_W, true, OP_FNSTCW }, { 0xd9, 5, FM_CW, false, OP_FLDCW },
    { 0xdb, 0xe2, FM_FIXED, false, OP_FNCLEX }, { 0xdb, 0xe3, FM_FIXED, false, OP_FNINIT },
    { 0xdb, 0xe0, FM_FIXED, false, OP_FNENI }, { 0xdb, 0xe1, FM_FIXED, false, OP_FNDISI },
    { 0xdb, 0xe4, FM_FIXED, false, OP_FNSETPM },
};

static const struct fop x87_trans[] = {
    { 0xd9, 0xf0, FM_FIXED, false, OP_F2XM1 }, { 0xd9, 0xf1, FM_FIXED, false, OP_FYL2X },
    { 0xd9, 0xf2, FM_FIXED, false, OP_FPTAN }, { 0xd9, 0xf3, FM_FIXED, false, OP_FPATAN },
    { 0xd9, 0xf9, FM_FIXED, false, OP_FYL2XP1 }, { 0xd9, 0xfb, FM_FIXED, false, OP_FSINCOS },
    { 0xd9, 0xfe, FM_FIXED, false, OP_FSIN }, { 0xd9, 0xff, FM_FIXED, false, OP_FCOS },
};

/* Write a value of the operand's format at data offset off. */
static void fpu_operand_value(struct gen *g, int form, uint32_t off)
{
    uint8_t *p = g->s->data + off;
    switch (form) {
    case FM_F32: fpu_f32(g, p); break;
    case FM_F64: fpu_f64(g, p); break;
    case FM_F80: fpu_f80(g, p); break;
    case FM_BCD: fpu_bcd(g, p); break;
    case FM_I16: {
        uint16_t v = (uint16_t)rval(g, 16);
        memcpy(p, &v, 2);
        break;
    }
    case FM_I32: {
        uint32_t v = rval(g, 32);
        memcpy(p, &v, 4);
        break;
    }
    case FM_I64: {
        uint64_t v = chance(g, 50) ? (uint64_t)(int64_t)(int32_t)rval(g, 32) : rnd(g);
        memcpy(p, &v, 8);
        break;
    }
    default: break;
    }
}

static bool emit_fop(struct gen *g, const struct fop *f)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    if (f->form == FM_FIXED) {
        if (!have(g, f->op, 32, false))
            return false;
        enc_byte(&e, f->opc);
        enc_byte(&e, f->ext);
        emit(g, &e, f->op, false);
        return true;
    }
    if (f->form == FM_STI) {
        if (!have(g, f->op, 32, false))
            return false;
        rm_reg(&rm, (int)below(g, 8));
        enc_insn(g, &e, NULL, 0, &f->opc, 1, f->ext, &rm, 0, 0);
        emit(g, &e, f->op, false);
        return true;
    }
    if (f->op == OP_FNSTSW_AX && (g->keep & RB(EAX)))
        return false;
    int size = fm_size[f->form];
    gen_mem(g, &rm, size, size, 0, f->store || f->form == FM_CW ? MF_WRITE : 0);
    if (!have(g, f->op, 32, true))
        return false;
    if (f->form == FM_CW) {
        /* FLDCW: store the control word first, so it is the one we chose
         * even if the location was written since (masks matter). */
        uint8_t mo = 0xc7;
        enc_std(g, &e, 0, 16, &mo, 1, 0, &rm, fpu_cw(g), 2);
        emit(g, &e, OP_MOV_EvIz, true);
        e.n = 0;
    } else {
        fpu_operand_value(g, f->form, rm.off);
    }
    /* x87 ignores the operand-size prefix except for the environment forms. */
    enc_std(g, &e, 0, 0, &f->opc, 1, f->ext, &rm, 0, 0);
    emit(g, &e, f->op, false);
    return true;
}

/* FNSTENV / FLDENV / FNSAVE / FRSTOR on the masked environment area. */
static bool fpu_env(struct gen *g)
{
    static const struct {
        uint8_t opc, ext;
        uint16_t op;
    } env[4] = {
        { 0xd9, 6, OP_FNSTENV }, { 0xd9, 4, OP_FLDENV }, { 0xdd, 6, OP_FNSAVE }, { 0xdd, 4, OP_FRSTOR },
    };
    int k = (int)below(g, 4);
    if (!have(g, env[k].op, 32, true))
        return false;
    struct enc e = { .n = 0 };
    env_insn(g, &e, env[k].opc, env[k].ext);
    emit(g, &e, env[k].op, false);
    return true;
}

bool fam_x87(struct gen *g)
{
    if (g->s->fpu_off < 0)
        return false;
    if (chance(g, 4))
        return fpu_env(g);
    if (chance(g, 4)) { /* WAIT: checks for pending unmasked exceptions */
        struct enc e = { .n = 0 };
        enc_byte(&e, 0x9b);
        emit(g, &e, OP_WAIT, false);
        return true;
    }
    return emit_fop(g, &x87_ops[below(g, sizeof(x87_ops) / sizeof(x87_ops[0]))]);
}

bool fam_x87trans(struct gen *g)
{
    if (g->s->fpu_off < 0)
        return false;
    return emit_fop(g, &x87_trans[below(g, sizeof(x87_trans) / sizeof(x87_trans[0]))]);
}

/* ---- MMX ---- */

struct mop {
    uint8_t opc; /* second opcode byte after 0F */
    uint8_t form;
    uint16_t op;
};
enum { MM_PQ, MM_PQD, MM_MOVD_LOAD, MM_MOVD_STORE, MM_MOVQ_STORE, MM_SHIFT_IMM };

static const struct mop mmx_ops[] = {
    { 0x60, MM_PQD, OP_PUNPCKLBW }, { 0x61, MM_PQD, OP_PUNPCKLWD }, { 0x62, MM_PQD, OP_PUNPCKLDQ },
    { 0x63, MM_PQ, OP_PACKSSWB }, { 0x64, MM_PQ, OP_PCMPGTB }, { 0x65, MM_PQ, OP_PCMPGTW },
    { 0x66, MM_PQ, OP_PCMPGTD }, { 0x67, MM_PQ, OP_PACKUSWB }, { 0x68, MM_PQ, OP_PUNPCKHBW },
    { 0x69, MM_PQ, OP_PUNPCKHWD }, { 0x6a, MM_PQ, OP_PUNPCKHDQ }, { 0x6b, MM_PQ, OP_PACKSSDW },
    { 0x74, MM_PQ, OP_PCMPEQB }, { 0x75, MM_PQ, OP_PCMPEQW }, { 0x76, MM_PQ, OP_PCMPEQD },
    { 0xd1, MM_PQ, OP_PSRLW }, { 0xd2, MM_PQ, OP_PSRLD }, { 0xd3, MM_PQ, OP_PSRLQ },
    { 0xd5, MM_PQ, OP_PMULLW }, { 0xd8, MM_PQ, OP_PSUBUSB }, { 0xd9, MM_PQ, OP_PSUBUSW },
    { 0xdb, MM_PQ, OP_PAND }, { 0xdc, MM_PQ, OP_PADDUSB }, { 0xdd, MM_PQ, OP_PADDUSW },
    { 0xdf, MM_PQ, OP_PANDN }, { 0xe1, MM_PQ, OP_PSRAW }, { 0xe2, MM_PQ, OP_PSRAD },
    { 0xe5, MM_PQ, OP_PMULHW }, { 0xe8, MM_PQ, OP_PSUBSB }, { 0xe9, MM_PQ, OP_PSUBSW },
    { 0xeb, MM_PQ, OP_POR }, { 0xec, MM_PQ, OP_PADDSB }, { 0xed, MM_PQ, OP_PADDSW },
    { 0xef, MM_PQ, OP_PXOR }, { 0xf1, MM_PQ, OP_PSLLW }, { 0xf2, MM_PQ, OP_PSLLD },
    { 0xf3, MM_PQ, OP_PSLLQ }, { 0xf5, MM_PQ, OP_PMADDWD }, { 0xf8, MM_PQ, OP_PSUBB },
    { 0xf9, MM_PQ, OP_PSUBW }, { 0xfa, MM_PQ, OP_PSUBD }, { 0xfc, MM_PQ, OP_PADDB },
    { 0xfd, MM_PQ, OP_PADDW }, { 0xfe, MM_PQ, OP_PADDD }, { 0x6e, MM_MOVD_LOAD, OP_MOVD_PqEd },
    { 0x6f, MM_PQ, OP_MOVQ_PqQq }, { 0x7e, MM_MOVD_STORE, OP_MOVD_EdPq }, { 0x7f, MM_MOVQ_STORE, OP_MOVQ_QqPq },
    { 0x71, MM_SHIFT_IMM, 0 }, { 0x72, MM_SHIFT_IMM, 0 }, { 0x73, MM_SHIFT_IMM, 0 },
};

static bool mmx_shift_imm(struct gen *g, uint8_t opc)
{
    /* 0F 71/72/73 /2 (PSRL), /4 (PSRA, not for Q), /6 (PSLL), register only. */
    static const uint16_t ops[3][3] = {
        { OP_PSRLW_NqIb, OP_PSRAW_NqIb, OP_PSLLW_NqIb },
        { OP_PSRLD_NqIb, OP_PSRAD_NqIb, OP_PSLLD_NqIb },
        { OP_PSRLQ_NqIb, 0, OP_PSLLQ_NqIb },
    };
    int w = opc - 0x71, k = (int)below(g, 3);
    if (w == 2 && k == 1)
        k = 2;
    if (!have(g, ops[w][k], 32, false))
        return false;
    struct rm rm;
    rm_reg(&rm, (int)below(g, 8));
    uint8_t b[2] = { 0x0f, opc };
    uint8_t cnt = chance(g, 70) ? (uint8_t)below(g, 70) : (uint8_t)rnd(g);
    struct enc e = { .n = 0 };
    enc_insn(g, &e, NULL, 0, b, 2, 2 + 2 * k, &rm, cnt, 1);
    emit(g, &e, ops[w][k], false);
    return true;
}

bool fam_mmx(struct gen *g)
{
    if (g->s->fpu_off < 0)
        return false;
    struct enc e = { .n = 0 };
    if (chance(g, 5)) {
        if (!have(g, OP_EMMS, 32, false))
            return false;
        enc_byte(&e, 0x0f);
        enc_byte(&e, 0x77);
        emit(g, &e, OP_EMMS, false);
        return true;
    }
    const struct mop *m = &mmx_ops[below(g, sizeof(mmx_ops) / sizeof(mmx_ops[0]))];
    if (m->form == MM_SHIFT_IMM)
        return mmx_shift_imm(g, m->opc);
    struct rm rm;
    int regf = (int)below(g, 8);
    bool store = m->form == MM_MOVD_STORE || m->form == MM_MOVQ_STORE;
    if (m->form == MM_MOVD_LOAD || m->form == MM_MOVD_STORE) {
        /* The r/m side is a general register or 32 bits of memory. */
        gen_rm(g, &rm, 32, store, 0, 50, 0);
    } else if (chance(g, 50)) {
        gen_mem(g, &rm, 8, 8, 0, store ? MF_WRITE : 0);
    } else {
        rm_reg(&rm, (int)below(g, 8));
    }
    if (!have(g, m->op, 32, rm.mem))
        return false;
    uint8_t b[2] = { 0x0f, m->opc };
    enc_std(g, &e, 0, 0, b, 2, regf, &rm, 0, 0); /* never 66: that is SSE */
    emit(g, &e, m->op, false);
    return true;
}
