/*
 * Lowering of the integer ALU: ADD OR ADC SBB AND SUB XOR CMP and TEST in
 * every operand form, INC/DEC/NOT/NEG, shifts by an immediate or by one
 * (SHL/SAL SHR SAR), and the multiplications IMUL r,r/m[,imm] and the
 * one-operand MUL/IMUL of 16/32-bit operands.
 *
 * Values are i32 temps zero-extended from the operand size. Arithmetic
 * that produces carries is done in 64 bits on the zero-extended operands,
 * so the carry vector falls out of a ^ b ^ result (frontend.c). Flag
 * values copy the interpreter's exactly, including the ones the SDM calls
 * undefined (cpu/ops/alu.c, shift.c, muldiv.c), because both must agree.
 * A memory destination is loaded write-checked (like mem_rmw()), so a
 * read-only page faults before anything happens.
 */
#include "jit/frontend.h"

enum { AOP_ADD, AOP_OR, AOP_ADC, AOP_SBB, AOP_AND, AOP_SUB, AOP_XOR, AOP_CMP, AOP_TEST };
enum { FORM_EG, FORM_GE, FORM_ACC, FORM_EI };

static bool alu_row(unsigned id, int *op, int *form)
{
    switch (id) {
#define ROWS(N, OP)                                                                                                    \
    case OP_##N##_EbGb:                                                                                                \
    case OP_##N##_EvGv: *op = OP; *form = FORM_EG; return true;                                                        \
    case OP_##N##_GbEb:                                                                                                \
    case OP_##N##_GvEv: *op = OP; *form = FORM_GE; return true;                                                        \
    case OP_##N##_ALIb:                                                                                                \
    case OP_##N##_eAXIz: *op = OP; *form = FORM_ACC; return true;                                                      \
    case OP_##N##_EbIb:                                                                                                \
    case OP_##N##_EbIb_82:                                                                                             \
    case OP_##N##_EvIz:                                                                                                \
    case OP_##N##_EvIbs: *op = OP; *form = FORM_EI; return true;
        ROWS(ADD, AOP_ADD)
        ROWS(OR, AOP_OR)
        ROWS(ADC, AOP_ADC)
        ROWS(SBB, AOP_SBB)
        ROWS(AND, AOP_AND)
        ROWS(SUB, AOP_SUB)
        ROWS(XOR, AOP_XOR)
        ROWS(CMP, AOP_CMP)
#undef ROWS
    case OP_TEST_EbGb:
    case OP_TEST_EvGv: *op = AOP_TEST; *form = FORM_EG; return true;
    case OP_TEST_ALIb:
    case OP_TEST_eAXIz: *op = AOP_TEST; *form = FORM_ACC; return true;
    case OP_TEST_EbIb:
    case OP_TEST_EbIb_1:
    case OP_TEST_EvIz:
    case OP_TEST_EvIz_1: *op = AOP_TEST; *form = FORM_EI; return true;
    default: return false;
    }
}

static uint32_t mask_of(int bits)
{
    return bits == 32 ? 0xffffffffu : (1u << bits) - 1;
}

static ir_temp z64(struct fe *f, ir_temp v)
{
    return ir_op1(f->ir, IR_EXT32U, IR_I32, v);
}

/* CF from the lazy words, as an i64 0/1. */
static ir_temp carry64(struct fe *f)
{
    return ir_op2i(f->ir, IR_SHR, IR_I64, ir_ldg(f->ir, G_LFAUX), 63);
}

/* d op s with flags; returns the result (i32, meaningful in its low bits). */
static ir_temp alu_compute(struct fe *f, int op, int bits, ir_temp d, ir_temp s)
{
    struct ir_block *ir = f->ir;
    ir_temp r64;
    switch (op) {
    case AOP_ADD:
    case AOP_ADC:
        r64 = ir_op2(ir, IR_ADD, IR_I64, z64(f, d), z64(f, s));
        if (op == AOP_ADC)
            r64 = ir_op2(ir, IR_ADD, IR_I64, r64, carry64(f));
        fe_flags_arith(f, op == AOP_ADD ? FL_ADD : FL_OTHER, bits, d, s, r64);
        return ir_op1(ir, IR_TRUNC, IR_I64, r64);
    case AOP_SUB:
    case AOP_SBB:
    case AOP_CMP:
        r64 = ir_op2(ir, IR_SUB, IR_I64, z64(f, d), z64(f, s));
        if (op == AOP_SBB)
            r64 = ir_op2(ir, IR_SUB, IR_I64, r64, carry64(f));
        fe_flags_arith(f, op == AOP_SBB ? FL_OTHER : FL_SUB, bits, d, s, r64);
        return ir_op1(ir, IR_TRUNC, IR_I64, r64);
    default: {
        static const uint8_t lop[] = { [AOP_OR] = IR_OR, [AOP_AND] = IR_AND, [AOP_XOR] = IR_XOR, [AOP_TEST] = IR_AND };
        ir_temp r = ir_op2(ir, (enum ir_opc)lop[op], IR_I32, d, s);
        fe_flags_logic(f, bits, r);
        return r;
    }
    }
}

static bool lower_alu(struct fe *f, int op, int form)
{
    const struct insn *i = f->i;
    int bits = fe_opsize(f, 0);
    bool wb = op != AOP_CMP && op != AOP_TEST;
    ir_temp d, s, ea = IR_NOTEMP;
    switch (form) {
    case FORM_EG:
        s = fe_get_reg(f, i->reg, bits);
        d = fe_get_rm(f, bits, &ea, wb ? IRM_WCHK : 0);
        break;
    case FORM_GE:
        d = fe_get_reg(f, i->reg, bits);
        s = fe_get_rm(f, bits, &ea, 0);
        break;
    case FORM_ACC:
        d = fe_get_reg(f, 0, bits); /* AL is byte offset 0, eAX register 0 */
        s = fe_const(f, i->imm & mask_of(bits));
        break;
    default:
        d = fe_get_rm(f, bits, &ea, wb ? IRM_WCHK : 0);
        s = fe_const(f, i->imm & mask_of(bits));
        break;
    }
    /* xor r,r / sub r,r: a known zero whatever the register held. */
    ir_temp r = alu_compute(f, op, bits, d, s);
    if (!wb)
        return true;
    if (form == FORM_GE)
        fe_set_reg(f, i->reg, bits, r);
    else if (form == FORM_ACC)
        fe_set_reg(f, 0, bits, r);
    else
        fe_set_rm(f, bits, ea, r);
    return true;
}

/* INC/DEC/NOT/NEG of r/m or of the opcode register. */
static bool lower_unary(struct fe *f, unsigned id)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    bool zreg = id == OP_INC_Zv || id == OP_DEC_Zv;
    int bits = zreg ? osize(f) : fe_opsize(f, 0);
    ir_temp ea = IR_NOTEMP, d, r;
    if (zreg)
        d = fe_get_reg(f, i->reg, bits);
    else
        d = fe_get_rm(f, bits, &ea, IRM_WCHK);
    switch (id) {
    case OP_INC_Zv:
    case OP_INC_Eb:
    case OP_INC_Ev:
        r = ir_op2(ir, IR_ADD, IR_I64, z64(f, d), ir_const(ir, IR_I64, 1));
        fe_flags_arith(f, FL_INCDEC, bits, d, fe_const(f, 1), r);
        r = ir_op1(ir, IR_TRUNC, IR_I64, r);
        break;
    case OP_DEC_Zv:
    case OP_DEC_Eb:
    case OP_DEC_Ev:
        r = ir_op2(ir, IR_SUB, IR_I64, z64(f, d), ir_const(ir, IR_I64, 1));
        fe_flags_arith(f, FL_INCDEC, bits, d, fe_const(f, 1), r);
        r = ir_op1(ir, IR_TRUNC, IR_I64, r);
        break;
    case OP_NOT_Eb:
    case OP_NOT_Ev:
        r = ir_op1(ir, IR_NOT, IR_I32, d);
        break;
    default: /* NEG: 0 - d */
        r = ir_op2(ir, IR_SUB, IR_I64, ir_const(ir, IR_I64, 0), z64(f, d));
        fe_flags_arith(f, FL_SUB, bits, fe_const(f, 0), d, r);
        r = ir_op1(ir, IR_TRUNC, IR_I64, r);
        break;
    }
    if (zreg)
        fe_set_reg(f, i->reg, bits, r);
    else
        fe_set_rm(f, bits, ea, r);
    return true;
}

/* aux word with CF and OF given as i32 0/1 (AF 0): CF<<63 | (CF^OF)<<62. */
static ir_temp aux_cf_of(struct fe *f, ir_temp cf, ir_temp of)
{
    struct ir_block *ir = f->ir;
    ir_temp c64 = z64(f, cf), x64 = z64(f, ir_op2(ir, IR_XOR, IR_I32, cf, of));
    return ir_op2(ir, IR_OR, IR_I64, ir_op2i(ir, IR_SHL, IR_I64, c64, 63), ir_op2i(ir, IR_SHL, IR_I64, x64, 62));
}

static ir_temp bit_of(struct fe *f, ir_temp v, int bit)
{
    return ir_op2i(f->ir, IR_AND, IR_I32, ir_op2i(f->ir, IR_SHR, IR_I32, v, bit), 1);
}

/* SHL/SAL, SHR, SAR by a constant count (shift.c's shift_op). */
static bool lower_shift(struct fe *f, int kind, unsigned raw)
{
    struct ir_block *ir = f->ir;
    int bits = fe_opsize(f, 0);
    unsigned n = raw & 31;
    if (n == 0)
        return !(f->i->pfx & P_MEM); /* nothing changes; a memory form still probes for writing */
    ir_temp ea, v = fe_get_rm(f, bits, &ea, IRM_WCHK), r, cf, of;
    switch (kind) {
    case 4: /* SHL */
        r = ir_op2i(ir, IR_SHL, IR_I32, v, n);
        cf = n <= (unsigned)bits ? bit_of(f, v, bits - (int)n) : fe_const(f, 0);
        of = ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, bits - 1), bit_of(f, v, bits - 2));
        break;
    case 5: /* SHR */
        r = ir_op2i(ir, IR_SHR, IR_I32, v, n);
        cf = bit_of(f, v, (int)n - 1);
        of = bit_of(f, v, bits - 1);
        break;
    default: { /* SAR */
        ir_temp s = bits == 32 ? v : ir_extract(ir, v, 0, bits, true);
        r = ir_op2i(ir, IR_SAR, IR_I32, s, n);
        cf = ir_op2i(ir, IR_AND, IR_I32, ir_op2i(ir, IR_SAR, IR_I32, s, n - 1), 1);
        of = fe_const(f, 0);
        break;
    }
    }
    if (bits < 32)
        r = ir_op2i(ir, IR_AND, IR_I32, r, mask_of(bits));
    if (fe_flags_live(f, F_OSZAPC))
        fe_flags_set(f, bits, r, aux_cf_of(f, cf, of));
    else
        f->fl.kind = FL_NONE;
    fe_set_rm(f, bits, ea, r);
    return true;
}

/* Multiply flags (muldiv.c's mul_flags): a zero low half is encoded as
 * lf_set(PF [| CF | OF]); otherwise res = the low half sign-extended and
 * aux = CF (bit 63) when the high half is significant. */
static void mul_flags(struct fe *f, int bits, ir_temp lo, ir_temp ovf)
{
    struct ir_block *ir = f->ir;
    if (!fe_flags_live(f, F_OSZAPC)) {
        f->fl.kind = FL_NONE;
        return;
    }
    ir_temp lo64 = bits == 32 ? ir_op1(ir, IR_EXT32S, IR_I32, lo)
                              : ir_op1(ir, IR_EXT16S, IR_I64, z64(f, lo));
    ir_temp res = ir_movcond(ir, IR_I32, IR_EQ, lo, fe_const(f, 0), ir_const(ir, IR_I64, 0x100), lo64);
    ir_temp aux = ir_op2i(ir, IR_SHL, IR_I64, z64(f, ovf), 63);
    fe_flags_words(f, res, aux);
}

static ir_temp sx(struct fe *f, ir_temp v, int bits)
{
    return bits == 32 ? v : ir_extract(f->ir, v, 0, bits, true);
}

/* IMUL Gv, Ev[, imm]: the product truncated to the operand size. */
static bool lower_imul2(struct fe *f, bool has_imm)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    int bits = osize(f);
    ir_temp ea, b = fe_get_rm(f, bits, &ea, 0);
    ir_temp a = has_imm ? fe_const(f, i->imm & mask_of(bits)) : fe_get_reg(f, i->reg, bits);
    ir_temp lo, ovf;
    if (bits == 32) {
        ir_temp p = ir_op2(ir, IR_MUL, IR_I64, ir_op1(ir, IR_EXT32S, IR_I32, a), ir_op1(ir, IR_EXT32S, IR_I32, b));
        lo = ir_op1(ir, IR_TRUNC, IR_I64, p);
        ovf = ir_setcond(ir, IR_I64, IR_NE, p, ir_op1(ir, IR_EXT32S, IR_I32, lo));
    } else {
        ir_temp p = ir_op2(ir, IR_MUL, IR_I32, sx(f, a, 16), sx(f, b, 16));
        lo = ir_op2i(ir, IR_AND, IR_I32, p, 0xffff);
        ovf = ir_setcond(ir, IR_I32, IR_NE, p, sx(f, lo, 16));
    }
    mul_flags(f, bits, lo, ovf);
    fe_set_reg(f, i->reg, bits, lo);
    return true;
}

/* MUL/IMUL Ev (16/32 bits): eDX:eAX = eAX * r/m. */
static bool lower_mul1(struct fe *f, bool sign)
{
    struct ir_block *ir = f->ir;
    int bits = osize(f);
    ir_temp ea, b = fe_get_rm(f, bits, &ea, 0);
    ir_temp a = fe_get_reg(f, R_EAX, bits);
    ir_temp lo, hi, ovf;
    if (bits == 32) {
        ir_temp a64 = sign ? ir_op1(ir, IR_EXT32S, IR_I32, a) : z64(f, a);
        ir_temp b64 = sign ? ir_op1(ir, IR_EXT32S, IR_I32, b) : z64(f, b);
        ir_temp p = ir_op2(ir, IR_MUL, IR_I64, a64, b64);
        lo = ir_op1(ir, IR_TRUNC, IR_I64, p);
        hi = ir_op1(ir, IR_TRUNC, IR_I64, ir_op2i(ir, IR_SHR, IR_I64, p, 32));
        ovf = sign ? ir_setcond(ir, IR_I64, IR_NE, p, ir_op1(ir, IR_EXT32S, IR_I32, lo))
                   : ir_setcond(ir, IR_I32, IR_NE, hi, fe_const(f, 0));
    } else {
        ir_temp p = sign ? ir_op2(ir, IR_MUL, IR_I32, sx(f, a, 16), sx(f, b, 16)) : ir_op2(ir, IR_MUL, IR_I32, a, b);
        lo = ir_op2i(ir, IR_AND, IR_I32, p, 0xffff);
        hi = ir_op2i(ir, IR_AND, IR_I32, ir_op2i(ir, IR_SHR, IR_I32, p, 16), 0xffff);
        ovf = sign ? ir_setcond(ir, IR_I32, IR_NE, p, sx(f, lo, 16)) : ir_setcond(ir, IR_I32, IR_NE, hi, fe_const(f, 0));
    }
    mul_flags(f, bits, lo, ovf);
    fe_set_reg(f, R_EAX, bits, lo);
    fe_set_reg(f, R_EDX, bits, hi);
    return true;
}

bool fe_alu(struct fe *f)
{
    const struct insn *i = f->i;
    int op, form;
    if (alu_row(i->id, &op, &form))
        return lower_alu(f, op, form);
    switch (i->id) {
    case OP_INC_Zv:
    case OP_DEC_Zv:
    case OP_INC_Eb:
    case OP_DEC_Eb:
    case OP_INC_Ev:
    case OP_DEC_Ev:
    case OP_NOT_Eb:
    case OP_NOT_Ev:
    case OP_NEG_Eb:
    case OP_NEG_Ev:
        return lower_unary(f, i->id);
    case OP_SHL_EbIb:
    case OP_SHL_EvIb:
    case OP_SAL_EbIb:
    case OP_SAL_EvIb: return lower_shift(f, 4, i->imm);
    case OP_SHR_EbIb:
    case OP_SHR_EvIb: return lower_shift(f, 5, i->imm);
    case OP_SAR_EbIb:
    case OP_SAR_EvIb: return lower_shift(f, 7, i->imm);
    case OP_SHL_Eb1:
    case OP_SHL_Ev1:
    case OP_SAL_Eb1:
    case OP_SAL_Ev1: return lower_shift(f, 4, 1);
    case OP_SHR_Eb1:
    case OP_SHR_Ev1: return lower_shift(f, 5, 1);
    case OP_SAR_Eb1:
    case OP_SAR_Ev1: return lower_shift(f, 7, 1);
    case OP_IMUL_GvEv: return lower_imul2(f, false);
    case OP_IMUL_GvEvIz:
    case OP_IMUL_GvEvIbs: return lower_imul2(f, true);
    case OP_MUL_Ev: return lower_mul1(f, false);
    case OP_IMUL_Ev: return lower_mul1(f, true);
    default: return false;
    }
}
