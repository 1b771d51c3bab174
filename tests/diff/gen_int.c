/*
 * The integer instruction families of the generator: one function per
 * family, each emitting one group (setup + instruction under test). The
 * opcodes and ModRM extensions come from the Intel SDM opcode map; the
 * op ids name the opcode-table row only to look up flag masks and to see
 * whether the emulator has a handler yet.
 *
 * Where the operands are known (an immediate shift count, a count loaded
 * by a setup MOV) the table's conservative flag masks are refined to what
 * the SDM defines for that count, so more flags get compared.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/diff/gen_priv.h"

/* A register of operand size osz that may be written (-1: none). */
static int pick_dst(struct gen *g, int osz, uint32_t avoid)
{
    return osz == 8 ? pick_reg8(g, avoid) : pick_reg(g, avoid);
}

/* ---- ALU, TEST, INC/DEC/NOT/NEG ---- */

#define ALU_ROW(N)                                                                                                     \
    { OP_##N##_EbGb, OP_##N##_EvGv, OP_##N##_GbEb, OP_##N##_GvEv, OP_##N##_ALIb,                                    \
      OP_##N##_eAXIz, OP_##N##_EbIb, OP_##N##_EvIz, OP_##N##_EbIb_82, OP_##N##_EvIbs }
static const uint16_t alu_ops[8][10] = {
    ALU_ROW(ADD), ALU_ROW(OR), ALU_ROW(ADC), ALU_ROW(SBB), ALU_ROW(AND), ALU_ROW(SUB), ALU_ROW(XOR), ALU_ROW(CMP),
};

bool fam_alu(struct gen *g)
{
    int k = (int)below(g, 8), f = (int)below(g, 10);
    bool wr = k != 7;
    bool byte = f == 0 || f == 2 || f == 4 || f == 6 || f == 8;
    int osz = byte ? 8 : vsize(g);
    struct rm rm;
    struct enc e = { .n = 0 };
    uint8_t opc, lead = 0;
    int regf = -1, immsz = 0;
    uint32_t imm = 0;
    rm_reg(&rm, 0);
    switch (f) {
    case 0:
    case 1:
        gen_rm(g, &rm, osz, wr, 0, 40, 0);
        regf = (int)below(g, 8);
        opc = (uint8_t)(k * 8 + f);
        break;
    case 2:
    case 3:
        regf = wr ? pick_dst(g, osz, 0) : (int)below(g, 8);
        if (regf < 0)
            return false;
        gen_rm(g, &rm, osz, false, 0, 40, 0);
        opc = (uint8_t)(k * 8 + f);
        break;
    case 4:
    case 5:
        if (wr && (g->keep & RB(EAX)))
            return false;
        opc = (uint8_t)(k * 8 + f);
        imm = rval(g, osz);
        immsz = osz / 8;
        break;
    default:
        gen_rm(g, &rm, osz, wr, 0, 40, 0);
        regf = k;
        opc = (uint8_t)(0x80 + (f - 6));
        immsz = f == 7 ? osz / 8 : 1;
        imm = rval(g, immsz * 8);
        break;
    }
    if (!have(g, alu_ops[k][f], osz, rm.mem))
        return false;
    if (rm.mem && wr && (f < 2 || f > 5) && chance(g, 15))
        lead = 0xf0; /* LOCK: memory destinations only, else #UD */
    enc_std(g, &e, lead, osz, &opc, 1, regf, regf >= 0 ? &rm : NULL, imm, immsz);
    emit(g, &e, alu_ops[k][f], false);
    return true;
}

bool fam_test(struct gen *g)
{
    int f = (int)below(g, 4);
    int osz = (f & 1) ? vsize(g) : 8;
    struct rm rm;
    struct enc e = { .n = 0 };
    uint8_t opc;
    int op, regf = -1, immsz = 0;
    rm_reg(&rm, 0);
    switch (f >> 1) {
    case 0: /* TEST E,G */
        gen_rm(g, &rm, osz, false, 0, 40, 0);
        opc = osz == 8 ? 0x84 : 0x85;
        op = osz == 8 ? OP_TEST_EbGb : OP_TEST_EvGv;
        regf = (int)below(g, 8);
        break;
    default:
        if (chance(g, 40)) { /* TEST AL/eAX, imm */
            opc = osz == 8 ? 0xa8 : 0xa9;
            op = osz == 8 ? OP_TEST_ALIb : OP_TEST_eAXIz;
        } else { /* F6/F7 /0 and its alias /1 */
            gen_rm(g, &rm, osz, false, 0, 40, 0);
            opc = osz == 8 ? 0xf6 : 0xf7;
            regf = chance(g, 15) ? 1 : 0;
            op = osz == 8 ? (regf ? OP_TEST_EbIb_1 : OP_TEST_EbIb) : (regf ? OP_TEST_EvIz_1 : OP_TEST_EvIz);
        }
        immsz = osz / 8;
        break;
    }
    if (!have(g, op, osz, rm.mem))
        return false;
    enc_std(g, &e, 0, osz, &opc, 1, regf, regf >= 0 ? &rm : NULL, rval(g, immsz * 8), immsz);
    emit(g, &e, op, false);
    return true;
}

bool fam_unary(struct gen *g)
{
    int k = (int)below(g, 6);
    struct enc e = { .n = 0 };
    if (k < 2) { /* INC/DEC r16/r32, one-byte forms */
        int osz = vsize(g), r = pick_reg(g, 0);
        int op = k ? OP_DEC_Zv : OP_INC_Zv;
        if (r < 0 || !have(g, op, osz, false))
            return false;
        uint8_t opc = (uint8_t)((k ? 0x48 : 0x40) + r);
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    /* FE/FF /0 /1 (INC, DEC), F6/F7 /2 /3 (NOT, NEG) */
    static const int ops_b[4] = { OP_INC_Eb, OP_DEC_Eb, OP_NOT_Eb, OP_NEG_Eb };
    static const int ops_v[4] = { OP_INC_Ev, OP_DEC_Ev, OP_NOT_Ev, OP_NEG_Ev };
    int w = k - 2;
    int osz = chance(g, 35) ? 8 : vsize(g);
    struct rm rm;
    gen_rm(g, &rm, osz, true, 0, 40, 0);
    int op = osz == 8 ? ops_b[w] : ops_v[w];
    if (!have(g, op, osz, rm.mem))
        return false;
    uint8_t opc = (uint8_t)(w < 2 ? (osz == 8 ? 0xfe : 0xff) : (osz == 8 ? 0xf6 : 0xf7));
    enc_std(g, &e, rm.mem && chance(g, 15) ? 0xf0 : 0, osz, &opc, 1, w, &rm, 0, 0);
    emit(g, &e, op, false);
    return true;
}

/* ---- MUL, IMUL, DIV, IDIV ---- */

/* Dividend and divisor of `bits` bits whose quotient fits (no #DE). */
static void pick_div(struct gen *g, int bits, bool sgn, uint64_t *dividend, uint32_t *divisor)
{
    uint32_t m = mask_of(bits);
    if (!sgn) {
        uint64_t d = rval(g, bits);
        if (d == 0)
            d = 1 + below(g, 10);
        uint64_t q = rval(g, bits), r = rnd(g) % d;
        *dividend = q * d + r;
        *divisor = (uint32_t)d;
        return;
    }
    int64_t d = sext(rval(g, bits), bits);
    if (d == 0)
        d = chance(g, 50) ? 1 : -1;
    int64_t q = sext(rval(g, bits), bits);
    int64_t ad = d < 0 ? -d : d;
    int64_t r = (int64_t)(rnd(g) % (uint64_t)ad);
    int64_t p = q * d;
    if (p < 0 || (p == 0 && chance(g, 50)))
        r = -r;
    *dividend = (uint64_t)(p + r);
    *divisor = (uint32_t)d & m;
}

bool fam_muldiv(struct gen *g)
{
    unsigned r = below(g, 100);
    struct enc e = { .n = 0 };
    struct rm rm;
    if (r < 30) { /* MUL/IMUL E: EDX:EAX (AX) <- eAX * E */
        int osz = chance(g, 30) ? 8 : vsize(g);
        bool sgn = chance(g, 50);
        if (g->keep & (RB(EAX) | (osz == 8 ? 0 : RB(EDX))))
            return false;
        gen_rm(g, &rm, osz, false, 0, 40, 0);
        int op = osz == 8 ? (sgn ? OP_IMUL_Eb : OP_MUL_Eb) : (sgn ? OP_IMUL_Ev : OP_MUL_Ev);
        if (!have(g, op, osz, rm.mem))
            return false;
        uint8_t opc = osz == 8 ? 0xf6 : 0xf7;
        enc_std(g, &e, 0, osz, &opc, 1, sgn ? 5 : 4, &rm, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    if (r < 55) { /* IMUL G, E [, imm] */
        int osz = vsize(g), f = (int)below(g, 3);
        int dst = pick_reg(g, 0);
        if (dst < 0)
            return false;
        gen_rm(g, &rm, osz, false, 0, 40, 0);
        static const int ops[3] = { OP_IMUL_GvEv, OP_IMUL_GvEvIz, OP_IMUL_GvEvIbs };
        if (!have(g, ops[f], osz, rm.mem))
            return false;
        if (f == 0) {
            uint8_t opc[2] = { 0x0f, 0xaf };
            enc_std(g, &e, 0, osz, opc, 2, dst, &rm, 0, 0);
        } else {
            uint8_t opc = f == 1 ? 0x69 : 0x6b;
            int isz = f == 1 ? osz / 8 : 1;
            enc_std(g, &e, 0, osz, &opc, 1, dst, &rm, rval(g, isz * 8), isz);
        }
        emit(g, &e, ops[f], false);
        return true;
    }
    /* DIV/IDIV: setup makes the quotient fit unless faults are wanted. */
    int osz = (int)(8u << below(g, 3));
    bool sgn = chance(g, 50);
    bool safe = !g->o->faults || chance(g, 97);
    if (g->keep & (RB(EAX) | RB(EDX)))
        return false;
    uint32_t avoid = RB(EAX) | RB(EDX);
    if (chance(g, 40)) {
        gen_mem(g, &rm, osz / 8, osz / 8, avoid, MF_WRITE);
    } else {
        int d = pick_dst(g, osz, avoid);
        if (d < 0)
            return false;
        rm_reg(&rm, d);
    }
    int op = osz == 8 ? (sgn ? OP_IDIV_Eb : OP_DIV_Eb) : (sgn ? OP_IDIV_Ev : OP_DIV_Ev);
    if (!have(g, op, osz, rm.mem))
        return false;
    uint8_t opc = osz == 8 ? 0xf6 : 0xf7;
    if (safe) {
        uint64_t dividend;
        uint32_t divisor;
        pick_div(g, osz, sgn, &dividend, &divisor);
        if (rm.mem) {
            uint8_t mo = osz == 8 ? 0xc6 : 0xc7;
            enc_std(g, &e, 0, osz, &mo, 1, 0, &rm, divisor, osz / 8);
            emit(g, &e, osz == 8 ? OP_MOV_EbIb : OP_MOV_EvIz, true);
            e.n = 0;
        } else if (osz == 8) {
            emit_mov_r8_imm(g, rm.reg, (uint8_t)divisor);
        } else {
            emit_mov_imm(g, rm.reg, ((uint32_t)rnd(g) & ~mask_of(osz)) | divisor);
        }
        uint32_t hi = (uint32_t)rnd(g);
        if (osz == 8) {
            emit_mov_imm(g, EAX, (hi & 0xffff0000u) | (uint32_t)(dividend & 0xffff));
        } else if (osz == 16) {
            emit_mov_imm(g, EAX, (hi & 0xffff0000u) | (uint32_t)(dividend & 0xffff));
            emit_mov_imm(g, EDX, ((uint32_t)rnd(g) & 0xffff0000u) | (uint32_t)((dividend >> 16) & 0xffff));
        } else {
            emit_mov_imm(g, EAX, (uint32_t)dividend);
            emit_mov_imm(g, EDX, (uint32_t)(dividend >> 32));
        }
    }
    enc_std(g, &e, 0, osz, &opc, 1, sgn ? 7 : 6, &rm, 0, 0);
    emit(g, &e, op, false);
    return true;
}

/* ---- Shifts and rotates ---- */

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };
#define SH_ROW(N) { { OP_##N##_EbIb, OP_##N##_EvIb }, { OP_##N##_Eb1, OP_##N##_Ev1 }, { OP_##N##_EbCL, OP_##N##_EvCL } }
static const uint16_t sh_ops[8][3][2] = {
    SH_ROW(ROL), SH_ROW(ROR), SH_ROW(RCL), SH_ROW(RCR), SH_ROW(SHL), SH_ROW(SHR), SH_ROW(SAL), SH_ROW(SAR),
};

static uint8_t pick_count(struct gen *g, int width)
{
    switch (below(g, 10)) {
    case 0: return 0;
    case 1:
    case 2: return 1;
    case 3: return (uint8_t)(width - 1 + below(g, 3)); /* width-1, width, width+1 */
    case 4: return (uint8_t)rnd(g);
    default: return (uint8_t)below(g, 32);
    }
}

/* EFLAGS effects of a shift/rotate by a known count (SDM, SAL/SAR/SHL/SHR
 * and RCL/RCR/ROL/ROR "Flags Affected"). */
static void shift_flags(struct item *it, int kind, int width, unsigned count)
{
    unsigned c = count & 31;
    if (c == 0) {
        it->fread = it->fwrite = it->fundef = 0;
        return;
    }
    if (kind <= SH_RCR) {
        it->fread = (kind == SH_RCL || kind == SH_RCR) ? F_CF : 0;
        it->fwrite = F_CF | F_OF;
        it->fundef = c == 1 ? 0 : F_OF;
        return;
    }
    it->fread = 0;
    it->fwrite = F_OSZAPC;
    it->fundef = F_AF | (c == 1 ? 0 : F_OF);
    if (kind != SH_SAR && c >= (unsigned)width)
        it->fundef |= F_CF;
}

static bool gen_shxd(struct gen *g)
{
    int osz = vsize(g);
    bool right = chance(g, 50), by_cl = chance(g, 50);
    bool setup = by_cl && !(g->keep & RB(ECX)) && (osz == 16 || chance(g, 60));
    if (by_cl && osz == 16 && !setup)
        by_cl = false; /* a 16-bit count above 16 leaves the result undefined */
    int op = right ? (by_cl ? OP_SHRD_EvGvCL : OP_SHRD_EvGvIb) : (by_cl ? OP_SHLD_EvGvCL : OP_SHLD_EvGvIb);
    struct rm rm;
    gen_rm(g, &rm, osz, true, setup ? RB(ECX) : 0, 40, 0);
    if (!have(g, op, osz, rm.mem))
        return false;
    unsigned count = (unsigned)pick_count(g, osz);
    if (osz == 16 && (count & 31) > 16)
        count = below(g, 17) | (chance(g, 30) ? 0x20u : 0);
    if (setup)
        emit_mov_r8_imm(g, 1, (uint8_t)count); /* CL */
    struct enc e = { .n = 0 };
    uint8_t opc[2] = { 0x0f, (uint8_t)((right ? 0xac : 0xa4) + (by_cl ? 1 : 0)) };
    enc_std(g, &e, 0, osz, opc, 2, (int)below(g, 8), &rm, count, by_cl ? 0 : 1);
    struct item *it = emit(g, &e, op, false);
    if (!by_cl || setup) {
        unsigned c = count & 31;
        if (c == 0) {
            it->fread = it->fwrite = it->fundef = 0;
        } else {
            it->fread = 0;
            it->fwrite = F_OSZAPC;
            it->fundef = F_AF | (c == 1 ? 0 : F_OF);
        }
    }
    return true;
}

bool fam_shift(struct gen *g)
{
    if (chance(g, 20))
        return gen_shxd(g);
    int kind = (int)below(g, 8), form = (int)below(g, 3);
    int osz = chance(g, 30) ? 8 : vsize(g);
    bool setup = form == 2 && !(g->keep & RB(ECX)) && chance(g, 60);
    int op = sh_ops[kind][form][osz != 8];
    struct rm rm;
    gen_rm(g, &rm, osz, true, setup ? RB(ECX) : 0, 40, 0);
    if (!have(g, op, osz, rm.mem))
        return false;
    unsigned count = form == 1 ? 1 : pick_count(g, osz);
    if (setup)
        emit_mov_r8_imm(g, 1, (uint8_t)count);
    struct enc e = { .n = 0 };
    uint8_t opc = (uint8_t)((form == 0 ? 0xc0 : form == 1 ? 0xd0 : 0xd2) + (osz != 8));
    enc_std(g, &e, 0, osz, &opc, 1, kind, &rm, count, form == 0 ? 1 : 0);
    struct item *it = emit(g, &e, op, false);
    if (form != 2 || setup)
        shift_flags(it, kind, osz, count);
    else if (osz < 32 && (kind == SH_SHL || kind == SH_SHR || kind == SH_SAL))
        it->fundef |= F_CF; /* CL may be >= the width */
    return true;
}

/* ---- Decimal arithmetic, conversions ---- */

bool fam_bcd(struct gen *g)
{
    struct enc e = { .n = 0 };
    unsigned k = below(g, 9);
    if (g->keep & RB(EAX))
        return false;
    if (k == 8) { /* CBW/CWDE, CWD/CDQ */
        bool cwd = chance(g, 50);
        int osz = vsize(g);
        if (cwd && (g->keep & RB(EDX)))
            return false;
        int op = cwd ? OP_CWD : OP_CBW;
        if (!have(g, op, osz, false))
            return false;
        uint8_t opc = cwd ? 0x99 : 0x98;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    static const uint8_t opcs[8] = { 0x27, 0x2f, 0x37, 0x3f, 0xd4, 0xd5, 0xd6, 0x27 };
    static const int ops[8] = { OP_DAA, OP_DAS, OP_AAA, OP_AAS, OP_AAM, OP_AAD, OP_SALC, OP_DAA };
    if (!have(g, ops[k], 32, false))
        return false;
    if (k < 4 && chance(g, 60)) {
        /* The usual pairing: AL from an ADD or SUB of two BCD-ish bytes. */
        uint8_t a = chance(g, 70) ? (uint8_t)(below(g, 10) << 4 | below(g, 10)) : (uint8_t)rnd(g);
        uint8_t b = chance(g, 70) ? (uint8_t)(below(g, 10) << 4 | below(g, 10)) : (uint8_t)rnd(g);
        emit_mov_r8_imm(g, 0, a);
        struct enc a1 = { .n = 0 };
        bool sub = (k & 1) ? chance(g, 80) : chance(g, 20);
        enc_byte(&a1, sub ? 0x2c : 0x04);
        enc_byte(&a1, b);
        emit(g, &a1, sub ? OP_SUB_ALIb : OP_ADD_ALIb, false);
    }
    enc_byte(&e, opcs[k]);
    if (k == 4 || k == 5) {
        uint8_t imm = chance(g, 50) ? 10 : (uint8_t)rnd(g);
        if (k == 4 && imm == 0 && !g->o->faults)
            imm = 10;
        enc_byte(&e, imm);
    }
    emit(g, &e, ops[k], false);
    return true;
}

/* ---- Bit operations ---- */

bool fam_bitops(struct gen *g)
{
    unsigned r = below(g, 100);
    struct enc e = { .n = 0 };
    struct rm rm;
    int osz = vsize(g);
    if (r < 60) {
        static const int ops_r[4] = { OP_BT_EvGv, OP_BTS_EvGv, OP_BTR_EvGv, OP_BTC_EvGv };
        static const int ops_i[4] = { OP_BT_EvIb, OP_BTS_EvIb, OP_BTR_EvIb, OP_BTC_EvIb };
        int k = (int)below(g, 4);
        bool by_reg = r < 35, wr = k != 0;
        int op = by_reg ? ops_r[k] : ops_i[k];
        uint32_t imm = 0;
        int regf;
        if (by_reg && chance(g, 50)) {
            /* Memory with a register bit offset: the address moves by the
             * offset's signed quotient, so pick both to stay in the area. */
            int sz = osz / 8;
            int bo = pick_reg(g, 0);
            if (bo < 0)
                return false;
            uint32_t acc = below(g, DATA_SIZE - (uint32_t)sz + 1) & ~(uint32_t)(sz - 1);
            int32_t lo = -(int32_t)((DATA_SIZE - (uint32_t)sz - acc) / (uint32_t)sz), hi = (int32_t)(acc / (uint32_t)sz);
            int32_t du = chance(g, 50) ? (int32_t)below(g, 5) - 2 : lo + (int32_t)below(g, (uint32_t)(hi - lo + 1));
            if (du < lo)
                du = lo;
            if (du > hi)
                du = hi;
            if (osz == 16) { /* the offset is a signed 16-bit number */
                if (du < -2048)
                    du = lo > -2048 ? lo : -2048;
                if (du > 2047)
                    du = hi < 2047 ? hi : 2047;
            }
            uint32_t ea = acc - (uint32_t)(du * sz);
            if (!off_ok(g, acc, sz))
                return false;
            gen_mem_at(g, &rm, ea, RB(bo), wr ? MF_WRITE : 0);
            uint32_t bits = (uint32_t)(du * osz) + below(g, (uint32_t)osz);
            if (osz == 16)
                bits = ((uint32_t)rnd(g) & 0xffff0000u) | (bits & 0xffff);
            emit_mov_imm(g, bo, bits);
            regf = bo;
        } else {
            /* A register bit offset with a memory operand is handled above. */
            gen_rm(g, &rm, osz, wr, 0, by_reg ? 0 : 40, 0);
            regf = by_reg ? (int)below(g, 8) : 4 + k;
            imm = (uint32_t)rnd(g) & 0xff;
        }
        if (!have(g, op, osz, rm.mem))
            return false;
        uint8_t opc[2] = { 0x0f, by_reg ? (uint8_t)(0xa3 + 8 * k) : 0xba };
        enc_std(g, &e, rm.mem && wr && chance(g, 20) ? 0xf0 : 0, osz, opc, 2, regf, &rm, imm, by_reg ? 0 : 1);
        emit(g, &e, op, false);
        return true;
    }
    if (r < 90) { /* BSF, BSR */
        bool rev = chance(g, 50);
        int op = rev ? OP_BSR : OP_BSF;
        int dst = pick_reg(g, 0);
        if (dst < 0)
            return false;
        gen_rm(g, &rm, osz, false, RB(dst), 40, 0);
        if (!have(g, op, osz, rm.mem))
            return false;
        if (!rm.mem && !(g->keep & RB(rm.reg)) && rm.reg != dst && chance(g, 15))
            emit_mov_imm(g, rm.reg, chance(g, 50) ? 0 : (uint32_t)rnd(g) & 0xffff0000u);
        uint8_t opc[2] = { 0x0f, rev ? 0xbd : 0xbc };
        enc_std(g, &e, 0, osz, opc, 2, dst, &rm, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    int reg = pick_reg(g, 0);
    if (reg < 0 || !have(g, OP_BSWAP, 32, false))
        return false;
    uint8_t opc[2] = { 0x0f, (uint8_t)(0xc8 + reg) };
    enc_std(g, &e, 0, 32, opc, 2, -1, NULL, 0, 0);
    emit(g, &e, OP_BSWAP, false);
    return true;
}

/* ---- Data movement ---- */

static bool gen_moffs(struct gen *g)
{
    int w = (int)below(g, 4); /* A0 A1 A2 A3 */
    int osz = (w & 1) ? vsize(g) : 8;
    static const int ops[4] = { OP_MOV_ALOb, OP_MOV_eAXOv, OP_MOV_ObAL, OP_MOV_OveAX };
    if (w < 2 && (g->keep & RB(EAX)))
        return false;
    if (!have(g, ops[w], osz, false))
        return false;
    uint32_t off = below(g, DATA_SIZE - (uint32_t)osz / 8 + 1);
    if (!off_ok(g, off, osz / 8))
        return false;
    uint8_t p[3];
    int n = 0;
    bool a16 = chance(g, 20), based = a16 || chance(g, 40);
    if (based)
        p[n++] = chance(g, 50) ? PFX_ES : PFX_FS;
    else if (chance(g, 30))
        p[n++] = w >= 2 ? PFX_DS : (chance(g, 50) && !g->code16 ? PFX_CS : PFX_SS);
    n += size_pfx(g, p + n, osz, a16);
    uint8_t opc = (uint8_t)(0xa0 + w);
    struct enc e = { .n = 0 };
    enc_insn(g, &e, p, n, &opc, 1, -1, NULL, based ? off : DATA_ADDR + off, a16 ? 2 : 4);
    emit(g, &e, ops[w], false);
    return true;
}

static bool gen_mov_sreg(struct gen *g)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    int s = (int)below(g, 6);
    uint8_t opc = 0x8c;
    int osz = chance(g, 50) ? 16 : 32;
    if (chance(g, 40) && s != 1) {
        /* Store a selector and load it back: the segment stays the same. */
        bool via_mem = chance(g, 50);
        if (via_mem) {
            gen_mem(g, &rm, 2, 2, 0, MF_WRITE);
        } else {
            int r = pick_reg(g, 0);
            if (r < 0)
                return false;
            rm_reg(&rm, r);
        }
        if (!have(g, OP_MOV_EwSw, osz, rm.mem) || !have(g, OP_MOV_SwEw, 16, rm.mem))
            return false;
        enc_std(g, &e, 0, osz, &opc, 1, s, &rm, 0, 0);
        emit(g, &e, OP_MOV_EwSw, false);
        e.n = 0;
        opc = 0x8e;
        enc_std(g, &e, 0, chance(g, 30) ? 16 : 32, &opc, 1, s, &rm, 0, 0);
        emit(g, &e, OP_MOV_SwEw, false);
        return true;
    }
    gen_rm(g, &rm, 16, true, 0, 40, 0);
    if (!have(g, OP_MOV_EwSw, osz, rm.mem))
        return false;
    enc_std(g, &e, 0, osz, &opc, 1, s, &rm, 0, 0);
    emit(g, &e, OP_MOV_EwSw, false);
    return true;
}

bool fam_mov(struct gen *g)
{
    unsigned r = below(g, 100);
    struct enc e = { .n = 0 };
    struct rm rm;
    if (r < 30) { /* 88 89 8A 8B */
        int w = (int)below(g, 4);
        int osz = (w & 1) ? vsize(g) : 8;
        static const int ops[4] = { OP_MOV_EbGb, OP_MOV_EvGv, OP_MOV_GbEb, OP_MOV_GvEv };
        int regf;
        if (w < 2) {
            gen_rm(g, &rm, osz, true, 0, 50, 0);
            regf = (int)below(g, 8);
        } else {
            regf = pick_dst(g, osz, 0);
            if (regf < 0)
                return false;
            gen_rm(g, &rm, osz, false, 0, 50, 0);
        }
        if (!have(g, ops[w], osz, rm.mem))
            return false;
        uint8_t opc = (uint8_t)(0x88 + w);
        enc_std(g, &e, 0, osz, &opc, 1, regf, &rm, 0, 0);
        emit(g, &e, ops[w], false);
        return true;
    }
    if (r < 45) { /* C6 C7 /0 */
        int osz = chance(g, 35) ? 8 : vsize(g);
        gen_rm(g, &rm, osz, true, 0, 60, 0);
        int op = osz == 8 ? OP_MOV_EbIb : OP_MOV_EvIz;
        if (!have(g, op, osz, rm.mem))
            return false;
        uint8_t opc = osz == 8 ? 0xc6 : 0xc7;
        enc_std(g, &e, 0, osz, &opc, 1, 0, &rm, rval(g, osz), osz / 8);
        emit(g, &e, op, false);
        return true;
    }
    if (r < 60) { /* B0+r, B8+r */
        int osz = chance(g, 35) ? 8 : vsize(g);
        int reg = pick_dst(g, osz, 0);
        int op = osz == 8 ? OP_MOV_ZbIb : OP_MOV_ZvIz;
        if (reg < 0 || !have(g, op, osz, false))
            return false;
        uint8_t opc = (uint8_t)((osz == 8 ? 0xb0 : 0xb8) + reg);
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, rval(g, osz), osz / 8);
        emit(g, &e, op, false);
        return true;
    }
    if (r < 70)
        return gen_moffs(g);
    if (r < 90) { /* MOVZX, MOVSX */
        bool sx = chance(g, 50), word = chance(g, 40);
        int osz = vsize(g);
        int dst = pick_reg(g, 0);
        if (dst < 0)
            return false;
        gen_rm(g, &rm, word ? 16 : 8, false, 0, 40, 0);
        int op = sx ? (word ? OP_MOVSX_GvEw : OP_MOVSX_GvEb) : (word ? OP_MOVZX_GvEw : OP_MOVZX_GvEb);
        if (!have(g, op, osz, rm.mem))
            return false;
        uint8_t opc[2] = { 0x0f, (uint8_t)((sx ? 0xbe : 0xb6) + word) };
        enc_std(g, &e, 0, osz, opc, 2, dst, &rm, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    return gen_mov_sreg(g);
}

bool fam_lea(struct gen *g)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    int osz = vsize(g);
    if (chance(g, 15)) { /* NOP Ev: a ModRM that is never dereferenced */
        gen_mem(g, &rm, 1, 1, 0, MF_LEA);
        if (!have(g, OP_NOP_Ev, osz, true))
            return false;
        uint8_t opc[2] = { 0x0f, 0x1f };
        enc_std(g, &e, 0, osz, opc, 2, 0, &rm, 0, 0);
        emit(g, &e, OP_NOP_Ev, false);
        return true;
    }
    int dst = pick_reg(g, 0);
    if (dst < 0 || !have(g, OP_LEA, osz, true))
        return false;
    gen_mem(g, &rm, 1, 1, 0, MF_LEA);
    uint8_t opc = 0x8d;
    enc_std(g, &e, 0, osz, &opc, 1, dst, &rm, 0, 0);
    emit(g, &e, OP_LEA, false);
    return true;
}

bool fam_xchg(struct gen *g)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    if (chance(g, 30)) { /* 90+r: XCHG eAX, r (90 itself is NOP) */
        int osz = vsize(g), reg = pick_reg(g, RB(EAX));
        if (g->keep & RB(EAX))
            return false;
        if (chance(g, 10))
            reg = 0;
        if (reg < 0)
            return false;
        int op = reg ? OP_XCHG_ZveAX : OP_NOP;
        if (!have(g, op, osz, false))
            return false;
        uint8_t opc = (uint8_t)(0x90 + reg);
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    int osz = chance(g, 35) ? 8 : vsize(g);
    int regf = pick_dst(g, osz, 0);
    if (regf < 0)
        return false;
    gen_rm(g, &rm, osz, true, 0, 50, 0);
    int op = osz == 8 ? OP_XCHG_EbGb : OP_XCHG_EvGv;
    if (!have(g, op, osz, rm.mem))
        return false;
    uint8_t opc = osz == 8 ? 0x86 : 0x87;
    enc_std(g, &e, rm.mem && chance(g, 15) ? 0xf0 : 0, osz, &opc, 1, regf, &rm, 0, 0);
    emit(g, &e, op, false);
    return true;
}

bool fam_cmovset(struct gen *g)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    int cc = (int)below(g, 16);
    if (chance(g, 50)) {
        int osz = vsize(g), dst = pick_reg(g, 0);
        if (dst < 0)
            return false;
        gen_rm(g, &rm, osz, false, 0, 40, 0);
        if (!have(g, OP_CMOVO + cc, osz, rm.mem))
            return false;
        uint8_t opc[2] = { 0x0f, (uint8_t)(0x40 + cc) };
        enc_std(g, &e, 0, osz, opc, 2, dst, &rm, 0, 0);
        emit(g, &e, OP_CMOVO + cc, false);
        return true;
    }
    gen_rm(g, &rm, 8, true, 0, 40, 0);
    if (!have(g, OP_SETO + cc, 8, rm.mem))
        return false;
    uint8_t opc[2] = { 0x0f, (uint8_t)(0x90 + cc) };
    enc_std(g, &e, 0, 0, opc, 2, chance(g, 20) ? (int)below(g, 8) : 0, &rm, 0, 0);
    emit(g, &e, OP_SETO + cc, false);
    return true;
}

/* ---- XADD, CMPXCHG, CMPXCHG8B ---- */

bool fam_atomic(struct gen *g)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    unsigned r = below(g, 100);
    if (r < 75) {
        bool cx = r < 45;
        int osz = chance(g, 30) ? 8 : vsize(g);
        int op = cx ? (osz == 8 ? OP_CMPXCHG_EbGb : OP_CMPXCHG_EvGv) : (osz == 8 ? OP_XADD_EbGb : OP_XADD_EvGv);
        if (cx && (g->keep & RB(EAX)))
            return false;
        int regf = cx ? (int)below(g, 8) : pick_dst(g, osz, 0);
        if (regf < 0)
            return false;
        bool equal = cx && chance(g, 40);
        gen_rm(g, &rm, osz, true, equal ? RB(EAX) : 0, 50, 0);
        if (!have(g, op, osz, rm.mem))
            return false;
        if (equal) {
            /* Make the comparison succeed: accumulator = destination. */
            uint32_t v = rval(g, osz);
            if (rm.mem) {
                uint8_t mo = osz == 8 ? 0xc6 : 0xc7;
                enc_std(g, &e, 0, osz, &mo, 1, 0, &rm, v, osz / 8);
                emit(g, &e, osz == 8 ? OP_MOV_EbIb : OP_MOV_EvIz, true);
                e.n = 0;
                if (osz == 8)
                    emit_mov_r8_imm(g, 0, (uint8_t)v);
                else
                    emit_mov_imm(g, EAX, ((uint32_t)rnd(g) & ~mask_of(osz)) | v);
            } else {
                struct rm src;
                rm_reg(&src, rm.reg);
                uint8_t mo = osz == 8 ? 0x8a : 0x8b;
                enc_std(g, &e, 0, osz, &mo, 1, 0, &src, 0, 0);
                emit(g, &e, osz == 8 ? OP_MOV_GbEb : OP_MOV_GvEv, true);
                e.n = 0;
            }
        }
        uint8_t opc[2] = { 0x0f, (uint8_t)((cx ? 0xb0 : 0xc0) + (osz != 8)) };
        enc_std(g, &e, rm.mem && chance(g, 30) ? 0xf0 : 0, osz, opc, 2, regf, &rm, 0, 0);
        emit(g, &e, op, false);
        return true;
    }
    if (g->keep & (RB(EAX) | RB(EDX)))
        return false;
    gen_mem(g, &rm, 8, 8, RB(EAX) | RB(EDX), MF_WRITE);
    if (!have(g, OP_CMPXCHG8B, 32, true))
        return false;
    int times = chance(g, 50) ? 2 : 1; /* the first loads EDX:EAX, the second then matches */
    for (int t = 0; t < times; t++) {
        uint8_t opc[2] = { 0x0f, 0xc7 };
        e.n = 0;
        enc_std(g, &e, chance(g, 30) ? 0xf0 : 0, chance(g, 10) ? 16 : 32, opc, 2, 1, &rm, 0, 0);
        emit(g, &e, OP_CMPXCHG8B, false);
    }
    return true;
}

/* ---- String instructions ---- */

bool fam_string(struct gen *g)
{
    static const struct {
        uint8_t opc;
        int op_b, op_v;
        bool src, dst, cmp, wax;
    } str[5] = {
        { 0xa4, OP_MOVSB, OP_MOVSV, true, true, false, false },
        { 0xa6, OP_CMPSB, OP_CMPSV, true, true, true, false },
        { 0xaa, OP_STOSB, OP_STOSV, false, true, false, false },
        { 0xac, OP_LODSB, OP_LODSV, true, false, false, true },
        { 0xae, OP_SCASB, OP_SCASV, false, true, true, false },
    };
    int k = (int)below(g, 5);
    int osz = chance(g, 35) ? 8 : vsize(g), sz = osz / 8;
    int op = osz == 8 ? str[k].op_b : str[k].op_v;
    if (!have(g, op, osz, false))
        return false;
    uint8_t rep = 0;
    unsigned rr = below(g, 100);
    if (rr < 55)
        rep = 0xf3;
    else if (rr < 70 && (str[k].cmp || rr < 60))
        rep = 0xf2;
    uint32_t wr = (str[k].src ? RB(ESI) : 0) | (str[k].dst ? RB(EDI) : 0) | (str[k].wax ? RB(EAX) : 0) |
                  (rep ? RB(ECX) : 0);
    if (g->keep & wr)
        return false;
    bool a16 = chance(g, 25);
    uint32_t n = rep ? below(g, 13) : 1, cnt = n ? n : 1;
    if (g->df < 0 || g->depth > 0 || chance(g, 25)) {
        bool std = chance(g, 40);
        struct enc d = { .n = 0 };
        enc_byte(&d, std ? 0xfd : 0xfc);
        emit(g, &d, std ? OP_STD : OP_CLD, true);
        g->df = std;
    }
    uint32_t span = cnt * (uint32_t)sz;
    uint32_t lo = g->df ? span - (uint32_t)sz : 0, hi = g->df ? DATA_SIZE - (uint32_t)sz : DATA_SIZE - span;
    /* Where the destination's run may start: not over a return address. */
    uint32_t doff = 0;
    bool found = false;
    for (int tries = 0; tries < 16 && !found; tries++) {
        doff = lo + below(g, hi - lo + 1);
        found = off_ok(g, g->df ? doff + (uint32_t)sz - span : doff, (int)span);
    }
    if (str[k].dst && str[k].opc != 0xae && str[k].opc != 0xa6 && !found)
        return false;
    uint8_t seg = 0;
    if (str[k].src) {
        bool based = a16 || chance(g, 35);
        if (based)
            seg = chance(g, 50) ? PFX_ES : PFX_FS;
        else if (chance(g, 40))
            seg = (uint8_t)(chance(g, 34) ? PFX_DS : chance(g, 50) || g->code16 ? PFX_SS : PFX_CS);
        uint32_t off = lo + below(g, hi - lo + 1);
        if (!off_ok(g, g->df ? off + (uint32_t)sz - span : off, (int)span))
            return false;
        uint32_t v = based ? off : DATA_ADDR + off;
        emit_mov_imm(g, ESI, a16 ? ((uint32_t)rnd(g) & 0xffff0000u) | off : v);
    }
    if (str[k].dst)
        emit_mov_imm(g, EDI, a16 ? ((uint32_t)rnd(g) & 0xffff0000u) | doff : doff);
    if (rep)
        emit_mov_imm(g, ECX, a16 ? ((uint32_t)rnd(g) & 0xffff0000u) | n : n);
    uint8_t p[4];
    int np = 0;
    if (rep)
        p[np++] = rep;
    if (seg)
        p[np++] = seg;
    np += size_pfx(g, p + np, osz, a16);
    uint8_t opc = (uint8_t)(str[k].opc + (osz != 8));
    struct enc e = { .n = 0 };
    enc_insn(g, &e, p, np, &opc, 1, -1, NULL, 0, 0);
    struct item *it = emit(g, &e, op, false);
    if (rep && n == 0)
        it->fwrite = 0; /* no iteration: flags untouched */
    return true;
}

/* ---- Stack ---- */

static bool stack_room(const struct gen *g, int push, int pop)
{
    return g->esp - push >= STACK_LO && g->esp + pop <= STACK_HI;
}

static bool gen_enter(struct gen *g)
{
    int osz = chance(g, 25) ? 16 : 32, sz = osz / 8;
    unsigned lvl = chance(g, 60) ? 0 : 1 + below(g, 3);
    if (chance(g, 5))
        lvl |= 0x20; /* the level is taken modulo 32 */
    unsigned l = lvl & 31;
    uint32_t frame = below(g, 48);
    int pushed = sz * (l ? (int)l + 1 : 1);
    if ((g->keep & RB(EBP)) || !stack_room(g, pushed + (int)frame + 64, 0))
        return false;
    if (!have(g, OP_ENTER, osz, false) || !have(g, OP_LEAVE, osz, false))
        return false;
    uint16_t grp = g->group;
    if (l || osz == 16) {
        /* Nested levels copy frame pointers from [eBP - k]; a 16-bit ENTER
         * may set only BP, so the upper half must already be right. */
        uint32_t off = 8 * l + below(g, STACK_LO - 8 * l);
        emit_mov_imm(g, EBP, DATA_ADDR + off);
    }
    struct enc e = { .n = 0 };
    uint8_t opc = 0xc8;
    enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, frame | lvl << 16, 3);
    emit(g, &e, OP_ENTER, false);
    int esp0 = g->esp;
    g->esp -= pushed + (int)frame;
    uint32_t keep0 = g->keep;
    g->keep |= RB(EBP);
    gen_body(g, (int)below(g, 3));
    g->keep = keep0;
    g->esp = esp0;
    g->group = grp;
    e.n = 0;
    opc = 0xc9;
    enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
    emit(g, &e, OP_LEAVE, false);
    return true;
}

/* A POPF value: arithmetic flags and DF, sometimes bits CPL 3 cannot
 * change (IF, IOPL: ignored) or may change (NT, ID). Never TF or AC. */
static uint32_t popf_value(struct gen *g)
{
    uint32_t v = 0x2 | ((uint32_t)rnd(g) & (F_OSZAPC | F_DF));
    if (chance(g, 30))
        v |= (uint32_t)rnd(g) & (F_IF | 0x3000u);
    if (chance(g, 10))
        v |= (uint32_t)rnd(g) & (0x4000u | 0x200000u);
    return v;
}

static void emit_push_imm(struct gen *g, int osz, uint32_t v)
{
    struct enc e = { .n = 0 };
    uint8_t opc = 0x68;
    enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, v, osz / 8);
    emit(g, &e, OP_PUSH_Iz, false);
}

bool fam_stack(struct gen *g)
{
    struct enc e = { .n = 0 };
    struct rm rm;
    unsigned r = below(g, 100);
    int osz = chance(g, 25) ? 16 : 32, sz = osz / 8;
    bool balanced_only = g->depth > 0;

    if (r < 12) { /* POPF of a known value: PUSH imm; POPF */
        if (!stack_room(g, sz, 0) || !have(g, OP_POPF, osz, false) || !have(g, OP_PUSH_Iz, osz, false))
            return false;
        uint32_t v = popf_value(g);
        emit_push_imm(g, osz, osz == 16 ? v & 0xffff : v);
        uint8_t opc = 0x9d;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_POPF, false);
        g->df = (v & F_DF) ? 1 : 0;
        return true;
    }
    if (r < 27) { /* PUSH x; POP y */
        if (!stack_room(g, sz, 0) || !have(g, OP_PUSH_Zv, osz, false) || !have(g, OP_POP_Zv, osz, false))
            return false;
        int dst = pick_reg(g, 0);
        if (dst < 0)
            return false;
        uint8_t opc = (uint8_t)(0x50 + below(g, 8));
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_PUSH_Zv, false);
        e.n = 0;
        opc = (uint8_t)(0x58 + dst);
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_POP_Zv, false);
        return true;
    }
    if (r < 35) { /* PUSH sreg; POP same sreg (or POP a register) */
        static const uint8_t push_op[6][2] = { { 0x06 }, { 0x0e }, { 0x16 }, { 0x1e }, { 0x0f, 0xa0 }, { 0x0f, 0xa8 } };
        static const uint8_t pop_op[6][2] = { { 0x07 }, { 0 }, { 0x17 }, { 0x1f }, { 0x0f, 0xa1 }, { 0x0f, 0xa9 } };
        static const int push_id[6] = { OP_PUSH_ES, OP_PUSH_CS, OP_PUSH_SS, OP_PUSH_DS, OP_PUSH_FS, OP_PUSH_GS };
        static const int pop_id[6] = { OP_POP_ES, 0, OP_POP_SS, OP_POP_DS, OP_POP_FS, OP_POP_GS };
        int s = (int)below(g, 6);
        if (!stack_room(g, sz, 0) || !have(g, push_id[s], osz, false))
            return false;
        int np = s >= 4 ? 2 : 1;
        if (osz == 32)
            emit_clear_slot(g, -4);
        enc_std(g, &e, 0, osz, push_op[s], np, -1, NULL, 0, 0);
        emit(g, &e, push_id[s], false);
        e.n = 0;
        if (s == 1 || chance(g, 30)) {
            int dst = pick_reg(g, 0);
            if (dst < 0 || !have(g, OP_POP_Zv, osz, false))
                return false;
            uint8_t opc = (uint8_t)(0x58 + dst);
            enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
            emit(g, &e, OP_POP_Zv, false);
        } else {
            if (!have(g, pop_id[s], osz, false))
                return false;
            enc_std(g, &e, 0, osz, pop_op[s], np, -1, NULL, 0, 0);
            emit(g, &e, pop_id[s], false);
        }
        return true;
    }
    if (r < 45)
        return gen_enter(g);
    if (r < 52) { /* PUSHA; POPA */
        if ((g->keep & ~RB(ESP)) || !stack_room(g, 8 * sz, 0) || !have(g, OP_PUSHA, osz, false) ||
            !have(g, OP_POPA, osz, false))
            return false;
        uint8_t opc = 0x60;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_PUSHA, false);
        if (!balanced_only && chance(g, 50)) {
            g->esp -= 8 * sz;
            return true;
        }
        e.n = 0;
        opc = 0x61;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_POPA, false);
        return true;
    }
    if (balanced_only)
        return false;

    if (r < 62) { /* PUSH r / imm / m */
        if (!stack_room(g, sz, 0))
            return false;
        unsigned w = below(g, 3);
        if (w == 0) {
            if (!have(g, OP_PUSH_Zv, osz, false))
                return false;
            uint8_t opc = (uint8_t)(0x50 + below(g, 8));
            enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
            emit(g, &e, OP_PUSH_Zv, false);
        } else if (w == 1) {
            bool small = chance(g, 50);
            if (!have(g, small ? OP_PUSH_Ibs : OP_PUSH_Iz, osz, false))
                return false;
            uint8_t opc = small ? 0x6a : 0x68;
            enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, rval(g, small ? 8 : osz), small ? 1 : sz);
            emit(g, &e, small ? OP_PUSH_Ibs : OP_PUSH_Iz, false);
        } else {
            gen_mem(g, &rm, sz, sz, 0, 0);
            if (!have(g, OP_PUSH_Ev, osz, true))
                return false;
            uint8_t opc = 0xff;
            enc_std(g, &e, 0, osz, &opc, 1, 6, &rm, 0, 0);
            emit(g, &e, OP_PUSH_Ev, false);
        }
        g->esp -= sz;
        return true;
    }
    if (r < 72) { /* POP r / m */
        if (!stack_room(g, 0, sz))
            return false;
        if (chance(g, 50)) {
            int dst = pick_reg(g, 0);
            if (dst < 0 || !have(g, OP_POP_Zv, osz, false))
                return false;
            uint8_t opc = (uint8_t)(0x58 + dst);
            enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
            emit(g, &e, OP_POP_Zv, false);
        } else {
            gen_rm(g, &rm, osz, true, 0, 70, MF_NOESP);
            if (!have(g, OP_POP_Ev, osz, rm.mem))
                return false;
            uint8_t opc = 0x8f;
            enc_std(g, &e, 0, osz, &opc, 1, 0, &rm, 0, 0);
            emit(g, &e, OP_POP_Ev, false);
        }
        g->esp += sz;
        return true;
    }
    if (r < 82) { /* PUSHF */
        if (!stack_room(g, sz, 0) || !have(g, OP_PUSHF, osz, false))
            return false;
        uint8_t opc = 0x9c;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_PUSHF, false);
        g->esp -= sz;
        return true;
    }
    if (r < 90) { /* POPA of whatever is on the stack */
        if ((g->keep & ~RB(ESP)) || !stack_room(g, 0, 8 * sz) || !have(g, OP_POPA, osz, false))
            return false;
        uint8_t opc = 0x61;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, 0, 0);
        emit(g, &e, OP_POPA, false);
        g->esp += 8 * sz;
        return true;
    }
    /* PUSH sreg alone */
    static const uint8_t push1[4] = { 0x06, 0x0e, 0x16, 0x1e };
    static const int push1_id[4] = { OP_PUSH_ES, OP_PUSH_CS, OP_PUSH_SS, OP_PUSH_DS };
    int s = (int)below(g, 4);
    if (!stack_room(g, sz, 0) || !have(g, push1_id[s], osz, false))
        return false;
    if (osz == 32)
        emit_clear_slot(g, -4);
    enc_std(g, &e, 0, osz, &push1[s], 1, -1, NULL, 0, 0);
    emit(g, &e, push1_id[s], false);
    g->esp -= sz;
    return true;
}

/* ---- Flag instructions ---- */

bool fam_flags(struct gen *g)
{
    static const uint8_t opc[7] = { 0xf8, 0xf9, 0xf5, 0xfc, 0xfd, 0x9f, 0x9e };
    static const int ops[7] = { OP_CLC, OP_STC, OP_CMC, OP_CLD, OP_STD, OP_LAHF, OP_SAHF };
    int k = (int)below(g, 7);
    if (k == 5 && (g->keep & RB(EAX)))
        return false;
    if (!have(g, ops[k], 32, false))
        return false;
    struct enc e = { .n = 0 };
    enc_byte(&e, opc[k]);
    emit(g, &e, ops[k], false);
    if (k == 3 || k == 4)
        g->df = k == 4;
    return true;
}
