/*
 * x86-64 backend: operand constraints and the lowering of each IR op,
 * block entry and exits. Guest memory ops live in memop.c, the arena-wide
 * routines (prologue, epilogue, chaining, indirect dispatch) in common.c.
 *
 * Lowering notes
 * - i32 values are kept zero-extended in 64-bit registers (every 32-bit
 *   x86 operation does that), so EXT32U and TRUNC are plain moves.
 * - Two-operand ALU forms alias the output to input 0; shifts by a
 *   register use BMI2 SHLX/SHRX/SARX (be_available() requires BMI2), so
 *   only rotates by a register need RCX.
 * - A block starts with a 16-byte entry thunk (block->native: load the
 *   body address, jump to the common prologue); the chained entry right
 *   after it checks the instruction budget (and so cpu->events, which
 *   cpu_event() folds into it). cpu->blk is
 *   set where something may fault or read it (x64_set_cur), and the
 *   cpu_stop() sentinel (blk_end = NULL) once, by the prologue: a stop
 *   seen late only ends a later block early, at an instruction boundary.
 */
#include <stddef.h>
#include <stdlib.h>

#include <capstone/capstone.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "jit/x64/x64.h"

const struct be_desc be_host = {
    .name = "x86-64",
    .allocatable = X64_ALLOCATABLE,
    .call_clobbered = X64_CLOBBERED,
    .nslots = X64_NSLOTS,
    .cs_arch = CS_ARCH_X86,
    .cs_mode = CS_MODE_64,
};

const unsigned be_chain_entry_offset = X64_ENTRY_SIZE;

bool be_available(void)
{
    /* SHLX/SHRX/SARX are BMI2 (Haswell, 2013; Excavator). */
    return __builtin_cpu_supports("bmi2");
}

int x64_global_off(int g)
{
    switch (g) {
    case G_LFRES: return (int)offsetof(struct cpu, lf_res);
    case G_LFAUX: return (int)offsetof(struct cpu, lf_aux);
    default: return (int)offsetof(struct cpu, gpr) + 8 * g;
    }
}

#define ALL X64_ALLOCATABLE

static bool is_const(const struct ir_block *ir, ir_temp t)
{
    return t != IR_NOTEMP && ir_is_const(ir, t);
}

void be_constraints(const struct ir_block *ir, const struct ir_op *op, struct be_cons *c)
{
    *c = (struct be_cons){ .in = { ALL, ALL, ALL, ALL }, .out = ALL, .alias = -1 };
    switch (op->opc) {
    case IR_MOV:
        c->imm[0] = 1;
        break;
    case IR_ADD:
    case IR_SUB:
    case IR_AND:
    case IR_OR:
    case IR_XOR:
    case IR_MUL:
        /* IMUL by an immediate has three operands: no copy of in0 first */
        c->alias = op->opc == IR_MUL && is_const(ir, op->in[1]) ? -1 : 0;
        c->imm[1] = 1;
        break;
    case IR_DIVU:
    case IR_DIVS:
    case IR_REMU:
    case IR_REMS: {
        /* rdx:rax / r64: the dividend moves into RAX, the quotient comes
         * out in RAX, the remainder in RDX */
        bool rem = op->opc == IR_REMU || op->opc == IR_REMS;
        c->in[0] = c->in[1] = ALL & ~(REGBIT(RAX) | REGBIT(RDX));
        c->out = REGBIT(rem ? RDX : RAX);
        c->out_excl = 1;
        c->nscratch = 1;
        c->scratch = REGBIT(rem ? RAX : RDX);
        break;
    }
    case IR_SHL:
    case IR_SHR:
    case IR_SAR:
        if (is_const(ir, op->in[1])) {
            c->alias = 0;
            c->imm[1] = 1;
        }
        break;
    case IR_ROTL:
    case IR_ROTR:
        if (is_const(ir, op->in[1])) {
            c->imm[1] = 1;
        } else {
            c->in[0] = c->out = ALL & ~REGBIT(RCX);
            c->in[1] = REGBIT(RCX);
        }
        c->alias = 0;
        break;
    case IR_NOT:
    case IR_NEG:
    case IR_BSWAP:
    case IR_DEPOSIT:
        c->alias = 0;
        c->imm[1] = op->opc == IR_DEPOSIT;
        break;
    case IR_SETCOND:
    case IR_BRCOND:
        c->imm[1] = 1;
        break;
    case IR_MOVCOND:
        c->imm[1] = 1;
        c->alias = 3;
        break;
    case IR_ADDR:
        c->imm[0] = c->imm[1] = 1;
        break;
    case IR_STG:
    case IR_ST:
    case IR_GOTO_IND:
        c->imm[0] = 1;
        break;
    case IR_FLAGS:
        c->imm[0] = c->imm[1] = c->imm[2] = c->imm[3] = 1;
        c->nscratch = 1; /* and R11 */
        c->scratch = ALL;
        break;
    case IR_PROBE:
        c->imm[0] = 1; /* a constant base: the entry and the tag are known now */
        c->nscratch = 2;
        c->scratch = ALL;
        break;
    case IR_QLD:
        c->imm[0] = 1;
        c->out_excl = 1;
        c->nscratch = 2;
        c->scratch = ALL & ~(REGBIT(RDI) | REGBIT(RSI) | REGBIT(RDX));
        break;
    case IR_QST:
        c->imm[0] = c->imm[1] = 1;
        c->in[1] = ALL & ~(REGBIT(RDI) | REGBIT(RSI));
        c->nscratch = 3;
        c->scratch = ALL & ~(REGBIT(RDI) | REGBIT(RSI) | REGBIT(RDX));
        break;
    case IR_X87:
    case IR_X87F:
        c->imm[0] = 1;
        c->out_excl = 1;
        c->nscratch = 4;
        c->scratch = ALL;
        break;
    default:
        break;
    }
}

bool be_imm_ok(const struct ir_op *op, int idx, int64_t v)
{
    switch (op->opc) {
    case IR_MOV:
    case IR_ADDR:
        return true;
    case IR_SHL:
    case IR_SHR:
    case IR_SAR:
    case IR_ROTL:
    case IR_ROTR:
        return v >= 0 && v < (op->type == IR_I64 ? 64 : 32);
    case IR_STG:
    case IR_ST:
        return op->type == IR_I32 || fits_i32(v);
    case IR_QST:
    case IR_QLD:
    case IR_X87:
    case IR_X87F:
    case IR_GOTO_IND:
    case IR_FLAGS:
    case IR_PROBE:
        return true; /* 32-bit guest values; FLAGS loads any constant itself */
    default:
        return op->type == IR_I32 || fits_i32(v) || (idx == 1 && op->opc == IR_DEPOSIT);
    }
}

/* ---- Context ---- */

static bool grow(void **p, unsigned *cap, unsigned need, size_t elem)
{
    if (need <= *cap)
        return true;
    unsigned n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

struct cold *x64_add_cold(struct be_ctx *x, enum cold_kind kind, uint8_t *site)
{
    if (!grow((void **)&x->cold, &x->cold_cap, x->ncold + 1, sizeof(struct cold))) {
        x->failed = true;
        x->spare = (struct cold){ .kind = (uint8_t)kind }; /* written to, never emitted */
        return &x->spare;
    }
    struct cold *c = &x->cold[x->ncold++];
    *c = (struct cold){ .kind = (uint8_t)kind, .site = site, .insn = (uint16_t)x->insn, .lin = -1, .out = -1,
                        .val = -1, .stop = -1, .dfirst = x->cur_dfirst, .dcount = x->cur_dcount, .x87 = x->x87 };
    return c;
}

void be_set_defers(struct be_ctx *x, const struct ir_defer *d, const struct be_loc (*locs)[4], unsigned n)
{
    if (!grow((void **)&x->dpool, &x->dpool_cap, x->ndpool + n, sizeof(struct cold_defer))) {
        x->failed = true;
        return;
    }
    x->cur_dfirst = x->ndpool;
    x->cur_dcount = n;
    for (unsigned k = 0; k < n; k++) {
        struct cold_defer *cd = &x->dpool[x->ndpool++];
        cd->d = d[k];
        for (int i = 0; i < 4; i++)
            cd->loc[i] = locs[k][i];
    }
}

/* ---- Flags and deferred stores ---- */

/* r = the canonical form of the lf_aux word in r, raw (cpu/flags.h);
 * t: scratch. The carries of an 8- or 16-bit word are moved up to where
 * a 32-bit word has them. */
static void emit_canon(struct xbuf *b, int r, int t)
{
    x_mov_rr(b, 1, t, r);
    x_bt_ri(b, 4, r, 40);
    uint8_t *is32 = x_jcc32(b, CC_B);
    x_bt_ri(b, 4, r, 41);
    uint8_t *is16 = x_jcc32(b, CC_AE);
    x_shift_ri(b, SH_SHL, 1, t, 32 - 8);
    uint8_t *moved = x_jmp32(b);
    x_patch32(is16, b->p);
    x_shift_ri(b, SH_SHL, 1, t, 32 - 16);
    x_patch32(is32, b->p);
    x_patch32(moved, b->p);
    x_shift_ri(b, SH_SHR, 1, t, 31);
    x_shift_ri(b, SH_SHL, 1, t, 62);
    x_shift_ri(b, SH_SHR, 1, r, 1);
    x_alu_ri(b, ALU_AND, 1, r, 8);
    x_alu_rr(b, ALU_OR, 1, r, t);
}

/* ZF clear when cpu->lf_aux is raw: its byte 5 holds the markers. */
static void test_raw(struct xbuf *b)
{
    x_rm(b, 0xf6, 0, 0, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, lf_aux) + 5);
    xb(b, (uint8_t)(LF_RAW_ANY >> 40));
}

void x64_ld_loc(struct be_ctx *x, int dst, const struct be_loc *l, bool w64)
{
    struct xbuf *b = &x->buf;
    if (l->reg >= 0)
        x_mov_rr(b, w64, dst, l->reg);
    else if (l->reg == BE_LOC_SLOT)
        x_load(b, w64, dst, X64_FP, NOREG, 0, X64_FO((int32_t)l->val * 8), w64 ? 8 : 4, false);
    else
        x_mov_ri(b, w64, dst, w64 ? l->val : (int64_t)(uint32_t)l->val);
}

static void load_r11(struct be_ctx *x, const struct be_loc *l, bool w64)
{
    x64_ld_loc(x, R11, l, w64);
}

/* dst = dst op l at 32 bits (l an i32 value). */
static void op32_loc(struct be_ctx *x, int aluop, int dst, const struct be_loc *l)
{
    struct xbuf *b = &x->buf;
    if (l->reg >= 0)
        x_alu_rr(b, aluop, 0, dst, l->reg);
    else if (l->reg == BE_LOC_SLOT)
        x_alu_rm(b, aluop, 0, dst, X64_FP, X64_FO((int32_t)l->val * 8));
    else
        x_alu_ri(b, aluop, 0, dst, (int32_t)l->val);
}

static void sext_reg(struct xbuf *b, int r, int bits)
{
    if (bits == 8)
        x_movsx8_rr(b, 1, r, r);
    else if (bits == 16)
        x_movsx16_rr(b, 1, r, r);
    else
        x_movsxd_rr(b, r, r);
}

/* dst = l sign-extended from bits to 64 (l an operand of that many bits). */
static void ld_sext(struct be_ctx *x, int dst, const struct be_loc *l, int bits)
{
    struct xbuf *b = &x->buf;
    if (l->reg >= 0 && bits == 32) {
        x_movsxd_rr(b, dst, l->reg);
    } else if (l->reg >= 0 && bits == 8) {
        x_movsx8_rr(b, 1, dst, l->reg);
    } else if (l->reg >= 0 && bits == 16) {
        x_movsx16_rr(b, 1, dst, l->reg);
    } else {
        x64_ld_loc(x, dst, l, bits == 64);
        if (bits < 64)
            sext_reg(b, dst, bits);
    }
}

/*
 * lf_res and lf_aux from a FLAGS op's operands (ir.h, enum ir_flk), with
 * two scratch registers s0 and s1 that hold none of the operands.
 *   arithmetic: aux from the carry vector x = a ^ b ^ r (bit i is the
 *   carry into bit i): CF and the carry into the top bit at 63/62, AF at 3;
 *   shifts: CF the last bit out, OF of the first step (shift.c).
 */
static void emit_flags(struct be_ctx *x, int kind, int bits, const struct be_loc *in, int s0, int s1)
{
    struct xbuf *b = &x->buf;
    int32_t res = (int32_t)offsetof(struct cpu, lf_res), aux = (int32_t)offsetof(struct cpu, lf_aux);
    switch (kind) {
    case FLK_WORDS:
        x64_ld_loc(x, s0, &in[0], true);
        x_store(b, s0, RBP, NOREG, 0, res, 8);
        x64_ld_loc(x, s0, &in[1], true);
        x_store(b, s0, RBP, NOREG, 0, aux, 8);
        return;
    case FLK_LOGIC:
        ld_sext(x, s0, &in[2], bits);
        x_store(b, s0, RBP, NOREG, 0, res, 8);
        x_store_i(b, 0, RBP, aux, 8);
        return;
    case FLK_COMI: /* lf_set() of ZF (bit 6), PF (bit 2), CF (bit 0) */
        x64_ld_loc(x, s0, &in[0], false);
        x_mov_rr(b, 0, s1, s0);
        x_alu_ri(b, ALU_AND, 0, s0, 0x40);
        x_alu_ri(b, ALU_XOR, 0, s0, 0x40);
        x_shift_ri(b, SH_SHL, 0, s0, 8 - 6);
        x_store(b, s0, RBP, NOREG, 0, res, 8); /* 0 for ZF, else 0x100 */
        x_mov_rr(b, 0, s0, s1);
        x_alu_ri(b, ALU_AND, 0, s0, 4);
        x_alu_ri(b, ALU_XOR, 0, s0, 4);
        x_shift_ri(b, SH_SHL, 0, s0, LF_PDB_SHIFT - 2); /* odd parity unless PF */
        x_shift_ri(b, SH_SHL, 1, s1, 63);
        x_shift_ri(b, SH_SAR, 1, s1, 1); /* CF into bits 63 and 62: OF clear */
        x_alu_rr(b, ALU_OR, 1, s0, s1);
        x_store(b, s0, RBP, NOREG, 0, aux, 8);
        return;
    case FLK_SHL:
    case FLK_SHR:
    case FLK_SAR: {
        int n = (int)in[1].val;
        ld_sext(x, s0, &in[2], bits);
        x_store(b, s0, RBP, NOREG, 0, res, 8);
        /* s0 = CF */
        if (kind == FLK_SHL && n > bits) {
            x_mov_ri(b, 0, s0, 0);
        } else {
            x64_ld_loc(x, s0, &in[0], false);
            if (kind == FLK_SAR)
                sext_reg(b, s0, bits);
            int sh = kind == FLK_SHL ? bits - n : n - 1;
            if (sh)
                x_shift_ri(b, kind == FLK_SAR ? SH_SAR : SH_SHR, 1, s0, sh);
            x_alu_ri(b, ALU_AND, 0, s0, 1);
        }
        /* s1 = CF ^ OF: OF is the msb ^ the next bit of the source (SHL),
         * its msb (SHR), 0 (SAR) */
        if (kind == FLK_SAR) {
            x_mov_rr(b, 0, s1, s0);
        } else {
            x64_ld_loc(x, s1, &in[0], false);
            if (kind == FLK_SHL) {
                x_alu_rr(b, ALU_ADD, 0, s1, s1);
                op32_loc(x, ALU_XOR, s1, &in[0]);
            }
            x_shift_ri(b, SH_SHR, 0, s1, bits - 1);
            x_alu_ri(b, ALU_AND, 0, s1, 1);
            x_alu_rr(b, ALU_XOR, 0, s1, s0);
        }
        break;
    }
    case FLK_ADD:
    case FLK_SUB: {
        /* s1 = the i64 result of the zero-extended operands (an i32 is
         * zero-extended in its register and its spill slot) */
        int op = kind == FLK_ADD ? ALU_ADD : ALU_SUB;
        bool imm = in[1].reg < 0 && in[1].reg != BE_LOC_SLOT;
        int64_t d = kind == FLK_ADD ? (int64_t)(uint32_t)in[1].val : -(int64_t)(uint32_t)in[1].val;
        if (in[0].reg >= 0 && imm && d >= INT32_MIN && d <= INT32_MAX) {
            x_lea(b, 1, s1, in[0].reg, NOREG, 0, (int32_t)d); /* a register and a constant: one LEA */
        } else {
            x64_ld_loc(x, s1, &in[0], false);
            if (in[1].reg >= 0) {
                x_alu_rr(b, op, 1, s1, in[1].reg);
            } else if (!imm) {
                x_alu_rm(b, op, 1, s1, X64_FP, X64_FO((int32_t)in[1].val * 8));
            } else if ((uint32_t)in[1].val < 0x80000000u) {
                x_alu_ri(b, op, 1, s1, (int32_t)in[1].val);
            } else {
                x_mov_ri(b, 0, s0, (uint32_t)in[1].val);
                x_alu_rr(b, op, 1, s1, s0);
            }
        }
        x64_ld_loc(x, s0, &in[0], false);
        op32_loc(x, ALU_XOR, s0, &in[1]);
        x_alu_rr(b, ALU_XOR, bits == 32, s0, s1);
        sext_reg(b, s1, bits);
        x_store(b, s1, RBP, NOREG, 0, res, 8);
        x_bt_ri(b, 5, s0, bits == 32 ? 40 : bits == 8 ? 41 : 42); /* raw and marked, as ARITH's */
        x_store(b, s0, RBP, NOREG, 0, aux, 8);
        return;
    }
    default:
        ld_sext(x, s1, &in[2], bits);
        x_store(b, s1, RBP, NOREG, 0, res, 8);
        x64_ld_loc(x, s0, &in[0], false);
        op32_loc(x, ALU_XOR, s0, &in[1]);
        /* an 8- or 16-bit raw word is XORed at 32 bits: nothing above
         * bit 31 but its marker (cpu/flags.h) */
        int w64 = bits == 32 || kind != FLK_ARITH;
        if (in[2].reg >= 0) {
            x_alu_rr(b, ALU_XOR, w64, s0, in[2].reg);
        } else if (in[2].reg == BE_LOC_SLOT) {
            x_alu_rm(b, ALU_XOR, w64, s0, X64_FP, X64_FO((int32_t)in[2].val * 8));
        } else {
            x_mov_ri(b, 1, s1, in[2].val);
            x_alu_rr(b, ALU_XOR, w64, s0, s1);
        }
        if (kind == FLK_ARITH) {
            /* left raw, marked (cpu/flags.h): converted when read */
            x_bt_ri(b, 5, s0, bits == 32 ? 40 : bits == 8 ? 41 : 42);
            x_store(b, s0, RBP, NOREG, 0, aux, 8);
            return;
        }
        if (kind == FLK_INCDEC && bits == 32) {
            /* raw too, the kept CF (in3) as the carry out of the top bit:
             * bits 31 and 32 flip together where it differs, so OF (their
             * XOR) stays; a borrow's copies of bit 32 above it do not
             * matter (the marker is tested first, cpu/flags.h) */
            x_mov_rr(b, 1, s1, s0);
            x_shift_ri(b, SH_SHR, 1, s1, 32);
            op32_loc(x, ALU_XOR, s1, &in[3]);
            x_alu_ri(b, ALU_AND, 0, s1, 1);
            x_shift_ri(b, SH_SHL, 1, s1, 31);
            x_lea(b, 1, s1, s1, s1, 1, 0); /* d << 31 | d << 32 */
            x_alu_rr(b, ALU_XOR, 1, s0, s1);
            x_bt_ri(b, 5, s0, 40);
            x_store(b, s0, RBP, NOREG, 0, aux, 8);
            return;
        }
        x_mov_rr(b, 1, s1, s0);
        x_shift_ri(b, SH_SHR, 1, s1, bits - 1);
        x_shift_ri(b, SH_SHL, 1, s1, 62);
        x_shift_ri(b, SH_SHR, 1, s0, 1);
        x_alu_ri(b, ALU_AND, 1, s0, 8);
        x_alu_rr(b, ALU_OR, 1, s0, s1);
        if (kind == FLK_INCDEC) {
            /* keep CF (in3): flip CF and its partner bit together when they differ */
            x64_ld_loc(x, s1, &in[3], false);
            x_shift_ri(b, SH_SHL, 1, s1, 63);
            x_alu_rr(b, ALU_XOR, 1, s1, s0);
            x_shift_ri(b, SH_SAR, 1, s1, 63);
            x_shift_ri(b, SH_SHL, 1, s1, 62);
            x_alu_rr(b, ALU_XOR, 1, s0, s1);
        }
        x_store(b, s0, RBP, NOREG, 0, aux, 8);
        return;
    }
    /* shifts: aux = CF << 63 | (CF ^ OF) << 62 */
    x_shift_ri(b, SH_SHL, 1, s0, 63);
    x_shift_ri(b, SH_SHL, 1, s1, 62);
    x_alu_rr(b, ALU_OR, 1, s0, s1);
    x_store(b, s0, RBP, NOREG, 0, aux, 8);
}

/* The same in cold code, which has no free register: R11, and a register
 * none of the operands is in, parked in the frame's scratch word. */
void x64_emit_flags_cold(struct be_ctx *x, int kind, int bits, const struct be_loc *in)
{
    struct xbuf *b = &x->buf;
    regset used = 0;
    for (int i = 0; i < 4; i++)
        if (in[i].reg >= 0)
            used |= REGBIT(in[i].reg);
    int s1 = __builtin_ctz(X64_ALLOCATABLE & ~used);
    x_store(b, s1, X64_FP, NOREG, 0, X64_FO(X64_TMP0), 8);
    emit_flags(x, kind, bits, in, R11, s1);
    x_load(b, 1, s1, X64_FP, NOREG, 0, X64_FO(X64_TMP0), 8, false);
}

/* Flags of a kind marked FLK_CARRIED are stored only when the loop's
 * back edge has been taken: a jump over the store otherwise (its rel32
 * field, to patch), or NULL for other kinds. */
static uint8_t *carried_check(struct be_ctx *x, int kind)
{
    if (!(kind & FLK_CARRIED))
        return NULL;
    x_alu_rm(&x->buf, ALU_CMP, 1, X64_ICOUNT, X64_FP, X64_FO(X64_LOOPFLAGS));
    return x_jcc32(&x->buf, CC_E);
}

void x64_emit_defers(struct be_ctx *x, const struct cold *c, unsigned skip)
{
    struct xbuf *b = &x->buf;
    for (unsigned k = 0; k < c->dcount; k++) {
        const struct cold_defer *cd = &x->dpool[c->dfirst + k];
        int g = cd->d.g;
        if (skip & (1u << g))
            continue;
        if (g == G_FLAGS) {
            uint8_t *skip_carried = carried_check(x, cd->d.kind);
            x64_emit_flags_cold(x, cd->d.kind & ~FLK_CARRIED, cd->d.bits, cd->loc);
            if (skip_carried)
                x_patch32(skip_carried, b->p);
            continue;
        }
        bool w64 = ir_global_type((enum ir_global)g) == IR_I64;
        const struct be_loc *l = &cd->loc[0];
        if (l->reg >= 0) {
            x_store(b, l->reg, RBP, NOREG, 0, x64_global_off(g), w64 ? 8 : 4);
        } else if (l->reg != BE_LOC_SLOT && (!w64 || fits_i32(l->val))) {
            x_store_i(b, (int32_t)l->val, RBP, x64_global_off(g), w64 ? 8 : 4);
        } else {
            load_r11(x, l, w64);
            x_store(b, R11, RBP, NOREG, 0, x64_global_off(g), w64 ? 8 : 4);
        }
    }
}

/* cpu->blk = block, cpu->cur = &block->insn[k]: the interpreter's unwinder
 * reads EIP and the instruction count from them, handlers their EIP. Cold
 * code sets both; the main path sets blk once (nothing it calls changes
 * it, and every block is entered at its top). */
static void set_blk_cur(struct be_ctx *x, unsigned insn, bool blk)
{
    if (blk) {
        x_mov_ri(&x->buf, 1, R11, (int64_t)(uintptr_t)x->b);
        x_store(&x->buf, R11, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, blk), 8);
    }
    x_mov_ri(&x->buf, 1, R11, (int64_t)(uintptr_t)&x->b->insn[insn]);
    x_store(&x->buf, R11, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, cur), 8);
}

void x64_set_cur(struct be_ctx *x, unsigned insn)
{
    set_blk_cur(x, insn, true);
}

int x64_emit_page_check(struct be_ctx *x, uint8_t *fail[2])
{
    if (!x->b->crosses)
        return 0;
    /* Its second page may have been remapped since a chained jump here
     * was patched: go on only while the jump cache still holds the
     * block at the current generation (find_block() put it there after
     * checking that page; a TLB flush, INVLPG or CR3 load undoes it).
     * The jump cache holds the decoded block (tb->b), never a superblock's
     * copy (x->b), whose jmp_gen is a stale copy too. */
    struct xbuf *b = &x->buf;
    const struct block *blk = x->tb->b;
    x_load(b, 1, R11, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, cache), 8, false);
    x_load(b, 1, R11, R11, NOREG, 0,
           (int32_t)(offsetof(struct blkcache, jmp) + jmp_hash(blk->lin) * sizeof(struct block *)), 8, false);
    x_mov_ri(b, 1, R10, (int64_t)(uintptr_t)blk);
    x_alu_rr(b, ALU_CMP, 1, R11, R10);
    fail[0] = x_jcc32(b, CC_NE);
    x_load(b, 0, R11, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, jmp_gen), 4, false);
    x_alu_rm(b, ALU_CMP, 0, R11, R10, (int32_t)offsetof(struct block, jmp_gen));
    fail[1] = x_jcc32(b, CC_NE);
    return 2;
}

struct be_ctx *be_begin(struct jit *j, struct jit_tb *tb, uint8_t *start, uint8_t *end, bool again)
{
    struct be_ctx *x = j->be;
    if (!x) {
        x = calloc(1, sizeof(*x));
        if (!x)
            return NULL;
        j->be = x;
    }
    x->j = j;
    x->tb = tb;
    x->b = tb->blk;
    x->buf = (struct xbuf){ .p = start, .end = end };
    x->start = start;
    x->data_end = end;
    x->insn = 0;
    x->ncold = x->nlref = x->ndpool = 0;
    x->cur_dfirst = x->cur_dcount = 0;
    x->failed = false;
    x->blk_set = false;
    x->st_n = 0;
    x->st_cold = -1;
    x->x87_checked = false;
    x->pc_n = x->pc_next = 0;
    x->zf_at = NULL;
    x->x87 = (struct x87_model){ .n = 0 };
    x64_loop_begin(x, again);
    if (!grow((void **)&x->label, &x->label_cap, j->ir.nlabels + 1, sizeof(uint8_t *)))
        return NULL;
    for (unsigned k = 0; k < j->ir.nlabels; k++)
        x->label[k] = NULL;

    struct xbuf *b = &x->buf;
    /* Entry thunk (block->native): lea rax, [rip + body]; jmp prologue. */
    xb(b, 0x48);
    xb(b, 0x8d);
    xb(b, 0x05);
    uint8_t *body_rel = b->p;
    x32(b, 0);
    x_jmp_to(b, j->common.prologue);
    while (b->p < start + X64_ENTRY_SIZE && !b->overflow)
        xb(b, 0xcc);
    /* Chained entry: leave at once for a spent budget or pending events
     * (cpu_event() makes exec_end 0 while there are any, cpu.h). Whoever
     * jumped here left cpu->eip stale: the exit stub stores it. */
    x_alu_rm(b, ALU_CMP, 1, X64_ICOUNT, RBP, (int32_t)offsetof(struct cpu, exec_end));
    x64_add_cold(x, COLD_ENTRY_EXIT, x_jcc32(b, CC_NS));
    uint8_t *fail[2];
    for (int k = x64_emit_page_check(x, fail); k > 0; k--)
        x64_add_cold(x, COLD_ENTRY_EXIT, fail[k - 1]);
    /* Body. */
    if (!b->overflow)
        x_patch32(body_rel, b->p);
    if (j->cpu->log_mask & LOG_EXEC) {
        x_mov_rr(b, 1, RDI, RBP);
        x_mov_ri(b, 1, RSI, (int64_t)(uintptr_t)x->b);
        x64_call_c(b, (const void *)jit_trace_exec);
    }
    x64_loop_head(x);
    return x;
}

void be_emit_mov(struct be_ctx *x, enum ir_type t, int dst, int src)
{
    if (dst != src)
        x_mov_rr(&x->buf, t == IR_I64, dst, src);
}

void be_emit_movi(struct be_ctx *x, enum ir_type t, int dst, int64_t v)
{
    x_mov_ri(&x->buf, t == IR_I64, dst, t == IR_I32 ? (int64_t)(uint32_t)v : v);
}

void be_emit_spill(struct be_ctx *x, int reg, int slot)
{
    x_store(&x->buf, reg, X64_FP, NOREG, 0, X64_FO(slot * 8), 8);
}

void be_emit_fill(struct be_ctx *x, int reg, int slot)
{
    x_load(&x->buf, 1, reg, X64_FP, NOREG, 0, X64_FO(slot * 8), 8, false);
}

/* ---- Ops ---- */

static int cc_of(enum ir_cond c)
{
    static const uint8_t map[IR_NCOND] = { CC_E, CC_NE, CC_L, CC_GE, CC_LE, CC_G, CC_B, CC_AE, CC_BE, CC_A, CC_E, CC_NE };
    return map[c];
}

/* Compare two operands (a register, b register or immediate) for cond. */
static void emit_cmp(struct be_ctx *x, int w, enum ir_cond cond, const struct be_loc *a, const struct be_loc *b)
{
    struct xbuf *buf = &x->buf;
    if (cond == IR_TSTEQ || cond == IR_TSTNE) {
        if (b->reg >= 0)
            x_test_rr(buf, w, a->reg, b->reg);
        else
            x_test_ri(buf, w, a->reg, (int32_t)b->val);
    } else if (b->reg >= 0) {
        x_alu_rr(buf, ALU_CMP, w, a->reg, b->reg);
    } else if (b->val == 0 && (cond == IR_EQ || cond == IR_NE) && x->zf_at == buf->p && x->zf_reg == a->reg &&
               x->zf_w == w) {
        /* the ALU op just emitted left ZF as TEST would (`dec ecx; jnz`) */
    } else if (b->val == 0 && (cond == IR_EQ || cond == IR_NE || cond == IR_LT || cond == IR_GE)) {
        x_test_rr(buf, w, a->reg, a->reg);
    } else {
        x_alu_ri(buf, ALU_CMP, w, a->reg, (int32_t)b->val);
    }
}

static void emit_alu(struct be_ctx *x, int aluop, int w, int out, const struct be_loc *b)
{
    if (b->reg >= 0)
        x_alu_rr(&x->buf, aluop, w, out, b->reg);
    else
        x_alu_ri(&x->buf, aluop, w, out, (int32_t)b->val);
    x->zf_at = x->buf.p;
    x->zf_reg = out;
    x->zf_w = w;
}

void x64_emit_exit_common(struct be_ctx *x, int64_t ninsns)
{
    struct xbuf *b = &x->buf;
    if (ninsns)
        x_alu_ri(b, ALU_ADD, 1, X64_ICOUNT, (int32_t)ninsns);
    if (x->j->cfg.stats && ninsns) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&x->j->stats.jit_insns_run);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, (int32_t)ninsns);
    }
}

void x64_store_eip(struct be_ctx *x, uint32_t eip)
{
    x_store_i(&x->buf, (int32_t)(uint32_t)eip, RBP, (int32_t)offsetof(struct cpu, eip), 4);
}

void x64_emit_exit(struct be_ctx *x, uint32_t eip, int64_t ninsns)
{
    x64_store_eip(x, eip);
    x64_emit_exit_common(x, ninsns);
    x_jmp_to(&x->buf, x->j->common.epilogue);
}

/* A direct exit to eip after ninsns instructions. A chained one does not
 * store EIP: the block it jumps to stores its own on the ways out of its
 * chained entry, and the exit's stub (unchained, or unlinked again) stores
 * it before anything reads it. call_ret >= 0: a CALL's, which returns to
 * call_ret; with the return stack (ret.c) it calls its target, and its
 * continuation, a direct exit to call_ret, follows. */
static void emit_goto_to(struct be_ctx *x, uint32_t eip, int64_t ninsns, int64_t call_ret);

/* call L; the CALL's continuation (a direct exit to ret_eip); L: what is
 * emitted next runs as the called code, and returns to the continuation. */
static void call_past_continuation(struct be_ctx *x, uint32_t ret_eip)
{
    struct xbuf *b = &x->buf;
    uint8_t *site = x_call32(b);
    emit_goto_to(x, ret_eip, 0, -1);
    if (!b->overflow)
        x_patch32(site, b->p);
}

static void emit_goto_to(struct be_ctx *x, uint32_t eip, int64_t ninsns, int64_t call_ret)
{
    struct xbuf *b = &x->buf;
    struct jit_tb *tb = x->tb;
    uint8_t *start = b->p;
    uint32_t lin = x->b->cs_base + eip;
    bool same = (lin & ~0xfffu) == tb->page;
    bool chain = same && tb->nexits < JIT_MAX_EXITS;
    bool call = call_ret >= 0 && (chain || !same) && x64_ret_stack_on(x->j);
    bool ic = !same && x64_ic_on(x->j);
    if (!chain && !ic) /* the inline cache's miss stores it */
        x64_store_eip(x, eip);
    x64_emit_exit_common(x, ninsns);
    if (call)
        x64_emit_call_push(x, (uint32_t)call_ret);
    /* Another page may be mapped elsewhere next time: never a patched
     * jump; an inline cache checked by generation (ic.c), or without one
     * the jump-cache lookup. */
    if (ic) {
        if (call)
            call_past_continuation(x, (uint32_t)call_ret);
        x_mov_ri(b, 0, RAX, eip);
        x64_emit_ic(x, 0);
        return;
    }
    if (!same) {
        if (call)
            x_call_to(b, x->j->common.indirect);
        else
            x_jmp_to(b, x->j->common.indirect);
    } else if (!chain) {
        x_jmp_to(b, x->j->common.epilogue);
    } else {
        int e = (int)tb->nexits++;
        tb->exit[e] = (struct jit_exit){ .eip = eip, .from = tb };
        x->exit_at[e] = call ? NULL : start;
        x->exit_n[e] = ninsns;
        uint8_t *site = call ? x_call32(b) : x_jmp32(b);
        struct cold *c = x64_add_cold(x, COLD_CHAIN, site);
        c->exit = e;
        tb->exit[e].site = site;
    }
    if (call)
        emit_goto_to(x, (uint32_t)call_ret, 0, -1);
}

/* Whether a GOTO becomes a plain chained exit (emit_goto_to). */
static bool goto_chains(const struct be_ctx *x, const struct ir_op *op)
{
    uint32_t lin = x->b->cs_base + (uint32_t)op->c[0];
    return op->c[1] < 0 && (lin & ~0xfffu) == x->tb->page && x->tb->nexits < JIT_MAX_EXITS;
}

static void attach_carry(struct be_ctx *x, int e, const struct x87_carry *cy)
{
    struct jit_exit *ex = &x->tb->exit[e];
    ex->cx_site = cy->site;
    ex->cx_path = cy->path;
    ex->cx_jump = cy->jump;
    ex->cx_stub = cy->stub;
    ex->cx_key = cy->key;
}

/* A GOTO on the main path with the x87 cache in use: the exit may carry
 * the cache into its target (x87_cache.c, "Chained exits"). */
static void carry_goto(struct be_ctx *x, const struct ir_op *op)
{
    struct x87_carry cy;
    struct x87_model mm = x64_x87_carry_head(x, &x->x87);
    x64_x87_carry_tail(x, &mm, op->c[2], &cy);
    x->x87 = (struct x87_model){ .n = 0 };
    emit_goto_to(x, (uint32_t)op->c[0], op->c[2], -1);
    attach_carry(x, (int)x->tb->nexits - 1, &cy);
}

/* The plain chained exit whose code starts at `at` (a label's GOTO), or -1. */
static int exit_at(const struct be_ctx *x, const uint8_t *at)
{
    for (unsigned e = 0; e < x->tb->nexits; e++)
        if (x->exit_at[e] == at)
            return (int)e;
    return -1;
}

void be_emit_op(struct be_ctx *x, const struct ir_block *ir, const struct ir_op *op, int out, const struct be_loc *in,
                const int *s, regset live)
{
    struct xbuf *b = &x->buf;
    int w = op->type == IR_I64;
    if (op->opc == IR_GOTO && x->x87.n && goto_chains(x, op)) {
        carry_goto(x, op);
        x->cur_dcount = 0;
        return;
    }
    if (!x64_x87_keeps_cache(op->opc))
        x64_x87_flush(x);
    switch (op->opc) {
    case IR_NOP:
        break;
    case IR_INSN:
        x->insn = (unsigned)op->c[0];
        x->st_n = 0;
        break;
    case IR_MOV:
        if (in[0].reg >= 0)
            be_emit_mov(x, (enum ir_type)op->type, out, in[0].reg);
        else
            be_emit_movi(x, (enum ir_type)op->type, out, in[0].val);
        break;
    case IR_ADD: emit_alu(x, ALU_ADD, w, out, &in[1]); break;
    case IR_SUB: emit_alu(x, ALU_SUB, w, out, &in[1]); break;
    case IR_AND: emit_alu(x, ALU_AND, w, out, &in[1]); break;
    case IR_OR: emit_alu(x, ALU_OR, w, out, &in[1]); break;
    case IR_XOR: emit_alu(x, ALU_XOR, w, out, &in[1]); break;
    case IR_MUL:
        if (in[1].reg >= 0)
            x_imul_rr(b, w, out, in[1].reg);
        else
            x_imul_rri(b, w, out, in[0].reg, (int32_t)in[1].val);
        break;
    case IR_SHL:
    case IR_SHR:
    case IR_SAR: {
        static const int sh[3] = { SH_SHL, SH_SHR, SH_SAR };
        static const int pp[3] = { 1, 3, 2 };
        int k = op->opc - IR_SHL;
        if (in[1].reg < 0) {
            if (in[1].val)
                x_shift_ri(b, sh[k], w, out, (int)in[1].val);
            else if (!w)
                x_mov_rr(b, 0, out, out);
        } else {
            x_shx(b, pp[k], w, out, in[0].reg, in[1].reg);
        }
        break;
    }
    case IR_ROTL:
    case IR_ROTR: {
        int sh = op->opc == IR_ROTL ? SH_ROL : SH_ROR;
        if (in[1].reg < 0) {
            if (in[1].val)
                x_shift_ri(b, sh, w, out, (int)in[1].val);
        } else {
            x_shift_cl(b, sh, w, out);
        }
        break;
    }
    case IR_DIVU:
    case IR_DIVS:
    case IR_REMU:
    case IR_REMS: {
        x_mov_rr(b, 1, RAX, in[0].reg);
        if ((op->opc == IR_DIVU || op->opc == IR_REMU) && op->c[0] == 32) {
            /* EDX:EAX / r32, several times faster than a 64-bit DIV on many
             * hosts; the frontend checked the quotient fits */
            if (op->c[1]) { /* the high half is 0 (opt.c): off the dividend's chain */
                x_mov_ri(b, 0, RDX, 0);
            } else {
                x_mov_rr(b, 1, RDX, RAX);
                x_shift_ri(b, SH_SHR, 1, RDX, 32);
            }
            x_unary(b, 6, 0, in[1].reg);
            break;
        }
        bool sign = op->opc == IR_DIVS || op->opc == IR_REMS;
        if (!sign) {
            x_mov_ri(b, 0, RDX, 0);
        } else {
            xb(b, 0x48); /* cqo */
            xb(b, 0x99);
        }
        x_unary(b, sign ? 7 : 6, 1, in[1].reg);
        break;
    }
    case IR_NOT: x_unary(b, 2, w, out); break;
    case IR_NEG: x_unary(b, 3, w, out); break;
    case IR_BSWAP: x_bswap(b, w, out); break;
    case IR_BSF: x_rr(b, 0x0fbc, 0, out, in[0].reg); break;
    case IR_BSR: x_rr(b, 0x0fbd, 0, out, in[0].reg); break;
    case IR_EXT8S: x_movsx8_rr(b, w, out, in[0].reg); break;
    case IR_EXT8U: x_movzx8_rr(b, out, in[0].reg); break;
    case IR_EXT16S: x_movsx16_rr(b, w, out, in[0].reg); break;
    case IR_EXT16U: x_movzx16_rr(b, out, in[0].reg); break;
    case IR_EXT32S: x_movsxd_rr(b, out, in[0].reg); break;
    case IR_EXT32U:
        /* an i32 is zero-extended in its register already */
        if (out != in[0].reg)
            x_mov_rr(b, 0, out, in[0].reg);
        break;
    case IR_TRUNC: x_mov_rr(b, 0, out, in[0].reg); break;
    case IR_DEPOSIT: {
        int pos = (int)op->c[0], len = (int)op->c[1];
        if (in[1].reg < 0) {
            uint32_t mask = (len == 32 ? 0xffffffffu : ((1u << len) - 1)) << pos;
            x_alu_ri(b, ALU_AND, 0, out, (int32_t)~mask);
            uint32_t v = ((uint32_t)in[1].val << pos) & mask;
            if (v)
                x_alu_ri(b, ALU_OR, 0, out, (int32_t)v);
        } else if (pos == 0 && len == 8) {
            x_mov8_rr(b, out, in[1].reg);
        } else if (pos == 0 && len == 16) {
            x_mov16_rr(b, out, in[1].reg);
        } else if (pos == 8 && len == 8) {
            x_shift_ri(b, SH_ROR, 0, out, 8);
            x_mov8_rr(b, out, in[1].reg);
            x_shift_ri(b, SH_ROL, 0, out, 8);
        } else {
            x->failed = true;
        }
        break;
    }
    case IR_EXTRACT:
    case IR_SEXTRACT: {
        int pos = (int)op->c[0], len = (int)op->c[1], sign = op->opc == IR_SEXTRACT;
        if (pos == 0 && len == 8) {
            if (sign)
                x_movsx8_rr(b, 0, out, in[0].reg);
            else
                x_movzx8_rr(b, out, in[0].reg);
        } else if (pos == 0 && len == 16) {
            if (sign)
                x_movsx16_rr(b, 0, out, in[0].reg);
            else
                x_movzx16_rr(b, out, in[0].reg);
        } else if (pos + len <= 32) {
            x_mov_rr(b, 0, out, in[0].reg);
            x_shift_ri(b, SH_SHL, 0, out, 32 - pos - len);
            x_shift_ri(b, sign ? SH_SAR : SH_SHR, 0, out, 32 - len);
        } else {
            x->failed = true;
        }
        break;
    }
    case IR_PARITY:
        x_test8_rr(b, in[0].reg, in[0].reg);
        x_setcc(b, CC_P, out);
        x_movzx8_rr(b, out, out);
        break;
    case IR_SETCOND:
        emit_cmp(x, w, (enum ir_cond)op->cond, &in[0], &in[1]);
        x_setcc(b, cc_of((enum ir_cond)op->cond), out);
        x_movzx8_rr(b, out, out);
        break;
    case IR_MOVCOND:
        emit_cmp(x, w, (enum ir_cond)op->cond, &in[0], &in[1]);
        x_cmov(b, cc_of((enum ir_cond)op->cond), ir_type_of(ir, op->out) == IR_I64, out, in[2].reg);
        break;
    case IR_BRCOND: {
        emit_cmp(x, w, (enum ir_cond)op->cond, &in[0], &in[1]);
        uint8_t *site = x_jcc32(b, cc_of((enum ir_cond)op->cond));
        if (x64_loop_back_edge(x, ir, op, site))
            break; /* a loop's back edge, keeping registers or the x87 cache (loop.c) */
        if (x->cur_dcount || x64_x87_cached(x)) {
            /* Stores the main path left for later (opt.c) and the x87
             * cache are due at the side exit: a stub does them, then
             * goes to the label (where the cache is empty). */
            struct cold *c = x64_add_cold(x, COLD_BRANCH, site);
            c->exit = (int)op->c[0];
            c->x87 = x->x87;
            break;
        }
        if (grow((void **)&x->lref, &x->lref_cap, x->nlref + 1, sizeof(struct label_ref)))
            x->lref[x->nlref++] = (struct label_ref){ site, (unsigned)op->c[0] };
        else
            x->failed = true;
        break;
    }
    case IR_LABEL:
        x->label[op->c[0]] = b->p;
        x->zf_at = NULL; /* jumped to: the host's flags are the jumper's */
        break;
    case IR_LOOPHEAD:
        x64_loop_carry_head(x, ir);
        break;
    case IR_ADDR: {
        /* Constant parts fold into the displacement, modulo 2^32. */
        uint32_t d = (uint32_t)op->c[0];
        int base = in[0].reg, index = in[1].reg;
        if (base < 0)
            d += (uint32_t)in[0].val;
        if (index < 0)
            d += (uint32_t)in[1].val << op->c[1];
        int32_t disp = (int32_t)d;
        if (base < 0 && index < 0)
            x_mov_ri(b, 0, out, (uint32_t)disp);
        else
            x_lea(b, 0, out, base, index, index < 0 ? 0 : (int)op->c[1], disp);
        if (op->c[2] == 16)
            x_movzx16_rr(b, out, out);
        break;
    }
    case IR_LDG:
        x_load(b, w, out, RBP, NOREG, 0, x64_global_off((int)op->c[0]), w ? 8 : 4, false);
        if (op->c[0] == G_LFAUX) { /* a raw word (cpu/flags.h) is converted out of line */
            test_raw(b);
            struct cold *c = x64_add_cold(x, COLD_CANON, x_jcc32(b, CC_NE));
            c->out = (int8_t)out;
            c->resume = b->p;
        }
        break;
    case IR_STG:
        if (in[0].reg >= 0)
            x_store(b, in[0].reg, RBP, NOREG, 0, x64_global_off((int)op->c[0]), w ? 8 : 4);
        else
            x_store_i(b, (int32_t)in[0].val, RBP, x64_global_off((int)op->c[0]), w ? 8 : 4);
        break;
    case IR_LD:
        x_load(b, w, out, RBP, NOREG, 0, (int32_t)op->c[0], (int)op->c[1], op->c[2] != 0);
        break;
    case IR_ST:
        if (in[0].reg >= 0)
            x_store(b, in[0].reg, RBP, NOREG, 0, (int32_t)op->c[0], (int)op->c[1]);
        else
            x_store_i(b, (int32_t)in[0].val, RBP, (int32_t)op->c[0], (int)op->c[1]);
        break;
    case IR_FLAGS: {
        uint8_t *skip_carried = carried_check(x, (int)op->c[0]);
        emit_flags(x, (int)op->c[0] & ~FLK_CARRIED, (int)op->c[1], in, R11, s[0]);
        if (skip_carried)
            x_patch32(skip_carried, b->p);
        break;
    }
    case IR_QLD: x64_emit_qld(x, op, out, in, s, live); break;
    case IR_PROBE: x64_emit_probe(x, op, out, in, s); break;
    case IR_QST: {
        const struct cold *c = x64_emit_qst(x, op, in, s, live);
        x->st_cold = c == &x->spare ? -1 : (int)(c - x->cold);
        x->st_n++;
        break;
    }
    case IR_FALLBACK: {
        const struct insn *i = &x->b->insn[op->c[0]];
        /* The handler may read the flags: lf_aux canonical first
         * (cpu/flags.h). Nothing lives in call-clobbered registers. */
        if (live & (REGBIT(RAX) | REGBIT(RCX))) {
            x->failed = true;
            break;
        }
        int32_t aux = (int32_t)offsetof(struct cpu, lf_aux);
        test_raw(b);
        uint8_t *canonical = x_jcc32(b, CC_E);
        x_load(b, 1, RAX, RBP, NOREG, 0, aux, 8, false);
        emit_canon(b, RAX, RCX);
        x_store(b, RAX, RBP, NOREG, 0, aux, 8);
        x_patch32(canonical, b->p);
        set_blk_cur(x, (unsigned)op->c[0], !x->blk_set);
        x->blk_set = true;
        x_mov_rr(b, 1, RDI, RBP);
        x_mov_rr(b, 1, RSI, R11);
        x64_call_c(b, (const void *)i->fn);
        /* x87 and MMX handlers and CLTS may change what x87.c's mode check
         * looks at (CR0.TS, the control and status words); the other
         * instructions that can (MOV CR0, LMSW, task switches) end the
         * block, and the next native entry checks again. */
        if ((op_info[i->id].attr & (A_FPU | A_MMX)) || i->id == OP_CLTS) {
            x64_emit_x87_setup(b);
            x->x87_checked = false;
        }
        break;
    }
    case IR_X87:
        x64_emit_x87(x, op, -1, in, s, live);
        break;
    case IR_X87F:
        x64_emit_x87(x, op, out, in, s, live);
        break;
    case IR_CHKSTOP: {
        /* Only a store's slow path can call cpu_stop() (the soft TLB has
         * no write entries for code pages). When the instruction's one
         * store ended right here (nothing emitted since: the same
         * registers, x87 cache and deferred stores), its slow path makes
         * the check and the main path none. */
        int st = x->st_n == 1 && x->st_cold >= 0 && x->cold[x->st_cold].resume == b->p ? x->st_cold : -1;
        uint8_t *site = NULL;
        if (st < 0) {
            x_alu_mi(b, ALU_CMP, 1, RBP, (int32_t)offsetof(struct cpu, blk_end), 0);
            site = x_jcc32(b, CC_NE);
        }
        struct cold *c = x64_add_cold(x, COLD_EXIT, site);
        c->imm = (uint32_t)op->c[1];
        c->ninsns = op->c[0];
        if (st >= 0 && c != &x->spare)
            x->cold[st].stop = (int)(c - x->cold);
        break;
    }
    case IR_GOTO:
        emit_goto_to(x, (uint32_t)op->c[0], op->c[2], op->c[1]);
        break;
    case IR_GOTO_IND:
        /* Nothing is live after an exit: EAX and the dispatch's scratch
         * registers are free. */
        if (in[0].reg >= 0)
            x_mov_rr(b, 0, RAX, in[0].reg);
        else
            x_mov_ri(b, 0, RAX, (uint32_t)in[0].val);
        x64_emit_exit_common(x, op->c[2]);
        if (x->j->cfg.cosim) {
            x_jmp_to(b, x->j->common.miss); /* co-simulation compares block by block */
            break;
        }
        if (x64_ret_stack_on(x->j) && op->c[0]) {
            x64_emit_ret(x); /* falls through when no entry matches */
        } else if (x64_ret_stack_on(x->j) && op->c[1] >= 0) {
            x64_emit_call_push(x, (uint32_t)op->c[1]); /* the lookup is called */
            call_past_continuation(x, (uint32_t)op->c[1]);
        }
        if (x64_ic_on(x->j)) /* a smaller table for a RET: the return stack takes most */
            x64_emit_ic(x, op->c[0] && x64_ret_stack_on(x->j) ? 2 : 4);
        else
            x64_emit_dispatch(x->j, b, x->b, -1); /* EIP stored only on a miss */
        break;
    case IR_EXIT:
        if (op->c[0] >= 0)
            x64_store_eip(x, op->c[0]);
        x64_emit_exit_common(x, op->c[2]);
        x_jmp_to(b, x->j->common.epilogue);
        break;
    case IR_RAISE:
        x64_set_cur(x, (unsigned)op->c[2]);
        x_mov_rr(b, 1, RDI, RBP);
        x_mov_ri(b, 0, RSI, op->c[0]);
        x_mov_ri(b, 0, RDX, (uint32_t)op->c[1]);
        x64_call_c(b, (const void *)jit_raise);
        break;
    default:
        x->failed = true;
        break;
    }
    x->cur_dcount = 0; /* deferred stores belong to this op's stubs only */
}

/* ---- Cold code and finishing ---- */

static void emit_cold(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    switch (c->kind) {
    case COLD_EXIT:
        x64_x87_writeback(x, &c->x87);
        x64_emit_defers(x, c, 0);
        x64_store_eip(x, c->imm);
        x64_emit_exit_common(x, c->ninsns);
        x_jmp_to(b, x->j->common.epilogue);
        break;
    case COLD_ENTRY_EXIT:
        x64_store_eip(x, x->b->eip); /* whoever jumped here did not (emit_goto) */
        x_jmp_to(b, x->j->common.epilogue);
        break;
    case COLD_BRANCH: {
        /* The label's code is a plain chained exit: this side exit may
         * carry the cache into its target (x87_cache.c, "Chained exits"). */
        int e = !c->x87.n || !x->label[c->exit] ? -1 : exit_at(x, x->label[c->exit]);
        if (e >= 0 && !x->tb->exit[e].cx_site) {
            struct x87_carry cy;
            struct x87_model mm = x64_x87_carry_head(x, &c->x87);
            x64_emit_defers(x, c, 0);
            x64_x87_carry_tail(x, &mm, x->exit_n[e], &cy);
            attach_carry(x, e, &cy);
        } else {
            x64_x87_writeback(x, &c->x87);
            x64_emit_defers(x, c, 0);
        }
        if (x->label[c->exit])
            x_jmp_to(b, x->label[c->exit]);
        else
            x->failed = true;
        break;
    }
    case COLD_X87:
        x64_emit_cold_x87(x, c);
        break;
    case COLD_X87_CROSS: /* the handler's stub is the next record (x87.c) */
        if (c + 1 < x->cold + x->ncold && c[1].kind == COLD_X87)
            x64_emit_cold_x87_cross(x, c, &x->cold[c - x->cold + 1]);
        else
            x->failed = true;
        break;
    case COLD_X87_CROSS_ST:
        x64_emit_cold_x87_cross_st(x, c);
        break;
    case COLD_CANON:
        emit_canon(b, c->out, R11);
        x_jmp_to(b, c->resume);
        break;
    case COLD_PROBE:
        x_mov_ri(b, 0, c->out, 0);
        x_jmp_to(b, c->resume);
        break;
    case COLD_GROUP:
        x64_emit_cold_group(x, c);
        break;
    case COLD_PCPROBE:
        x64_emit_cold_pcprobe(x, c);
        break;
    case COLD_LOOP_DECLINE:
        x64_emit_loop_decline(x);
        break;
    case COLD_CHAIN: {
        struct jit_exit *e = &x->tb->exit[c->exit];
        e->stub = b->p;
        x64_store_eip(x, e->eip);
        x_mov_ri(b, 1, RSI, (int64_t)(uintptr_t)e);
        x_jmp_to(b, x->j->common.chain);
        break;
    }
    default:
        x64_emit_cold_mem(x, c);
        break;
    }
}

size_t be_end(struct be_ctx *x)
{
    struct xbuf *b = &x->buf;
    x64_loop_x87_entry(x);
    for (unsigned k = 0; k < x->ncold && !b->overflow; k++) {
        struct cold *c = &x->cold[k];
        uint8_t *at = b->p;
        emit_cold(x, c);
        if (!c->site) /* a COLD_EXIT whose COLD_ST did not branch to it */
            x->failed = true;
        else if (!b->overflow)
            x_patch32(c->site, at);
    }
    for (unsigned k = 0; k < x->nlref && !b->overflow; k++) {
        uint8_t *t = x->label[x->lref[k].label];
        if (!t)
            x->failed = true;
        else
            x_patch32(x->lref[k].site, t);
    }
    if (b->overflow)
        return BE_FULL;
    if (x->failed)
        return 0;
    x->tb->data = x->data_end;
    return (size_t)(b->p - x->start);
}

void be_free(struct be_ctx *x)
{
    if (!x)
        return;
    free(x->cold);
    free(x->lref);
    free(x->label);
    free(x->dpool);
    free(x);
}

void be_patch_jump(uint8_t *site, const uint8_t *target)
{
    x_patch32(site, target);
}
