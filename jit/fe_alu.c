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

/* CF as an i64 0/1. */
static ir_temp carry64(struct fe *f)
{
    return z64(f, fe_fl_cf(f));
}

/* d op s with flags; returns the result (i32, meaningful in its low bits). */
static ir_temp alu_compute(struct fe *f, int op, int bits, ir_temp d, ir_temp s)
{
    struct ir_block *ir = f->ir;
    ir_temp r64;
    if (!fe_flags_live(f, F_OSZAPC) && (op == AOP_ADD || op == AOP_SUB || op == AOP_CMP)) {
        f->fl.kind = FL_NONE; /* nobody reads these flags: the plain 32-bit operation */
        return ir_op2(ir, op == AOP_ADD ? IR_ADD : IR_SUB, IR_I32, d, s);
    }
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

/* CMPXCHG Ev, Gv (misc_int.c): flags of eAX - dest; equal: dest = src,
 * else eAX = dest. A memory destination is written either way, as the
 * handler does (one vCPU thread: no atomicity to keep). eAX is written
 * before the destination, which may be eAX itself. */
static bool lower_cmpxchg(struct fe *f)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    int bits = fe_opsize(f, 0);
    ir_temp ea, d = fe_get_rm(f, bits, &ea, IRM_WCHK);
    ir_temp a = fe_get_reg(f, R_EAX, bits), s = fe_get_reg(f, i->reg, bits);
    alu_compute(f, AOP_CMP, bits, a, d);
    fe_set_reg(f, R_EAX, bits, ir_movcond(ir, IR_I32, IR_EQ, a, d, a, d));
    fe_set_rm(f, bits, ea, ir_movcond(ir, IR_I32, IR_EQ, a, d, s, d));
    return true;
}

/* XADD Ev, Gv: dest = dest + src with ADD's flags, src = the old dest
 * (the destination written last: XADD r, r leaves the sum). */
static bool lower_xadd(struct fe *f)
{
    const struct insn *i = f->i;
    int bits = fe_opsize(f, 0);
    ir_temp ea, d = fe_get_rm(f, bits, &ea, IRM_WCHK), s = fe_get_reg(f, i->reg, bits);
    ir_temp r = alu_compute(f, AOP_ADD, bits, d, s);
    fe_set_reg(f, i->reg, bits, d);
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
    case OP_DEC_Zv:
    case OP_DEC_Eb:
    case OP_DEC_Ev: {
        enum ir_opc opc = (id == OP_INC_Zv || id == OP_INC_Eb || id == OP_INC_Ev) ? IR_ADD : IR_SUB;
        if (!fe_flags_live(f, F_OSZAPC)) {
            r = ir_op2i(ir, opc, IR_I32, d, 1);
            break;
        }
        r = ir_op2(ir, opc, IR_I64, z64(f, d), ir_const(ir, IR_I64, 1));
        fe_flags_arith(f, FL_INCDEC, bits, d, fe_const(f, 1), r);
        r = ir_op1(ir, IR_TRUNC, IR_I64, r);
        break;
    }
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
    ir_temp ea, v = fe_get_rm(f, bits, &ea, IRM_WCHK), r;
    switch (kind) {
    case FLK_SHL:
        r = ir_op2i(ir, IR_SHL, IR_I32, v, n);
        break;
    case FLK_SHR:
        r = ir_op2i(ir, IR_SHR, IR_I32, v, n);
        break;
    default:
        r = ir_op2i(ir, IR_SAR, IR_I32, bits == 32 ? v : ir_extract(ir, v, 0, bits, true), n);
        break;
    }
    if (bits < 32)
        r = ir_op2i(ir, IR_AND, IR_I32, r, mask_of(bits));
    fe_flags_shift(f, kind, bits, v, n, r);
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
    if (!fe_flags_live(f, F_OSZAPC)) {
        /* No flags wanted: the low half is all there is, the same for a
         * signed and an unsigned product. */
        lo = ir_op2(ir, IR_MUL, IR_I32, a, b);
        if (bits < 32)
            lo = ir_op2i(ir, IR_AND, IR_I32, lo, 0xffff);
        f->fl.kind = FL_NONE;
        fe_set_reg(f, i->reg, bits, lo);
        return true;
    }
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

/* ROL/ROR by a constant (shift.c): only CF and OF change; a register
 * rotated by an immediate count above 1 keeps OF too. */
static bool lower_rotate(struct fe *f, bool left, unsigned raw, bool imm_form)
{
    struct ir_block *ir = f->ir;
    int bits = fe_opsize(f, 0);
    unsigned n = raw & 31, k = n & (unsigned)(bits - 1);
    if (n == 0)
        return !(f->i->pfx & P_MEM);
    ir_temp ea, v = fe_get_rm(f, bits, &ea, IRM_WCHK), r = v;
    if (k && bits == 32) {
        r = ir_op2i(ir, left ? IR_ROTL : IR_ROTR, IR_I32, v, k);
    } else if (k) {
        unsigned l = left ? k : (unsigned)bits - k;
        r = ir_op2(ir, IR_OR, IR_I32, ir_op2i(ir, IR_SHL, IR_I32, v, l), ir_op2i(ir, IR_SHR, IR_I32, v, (unsigned)bits - l));
        r = ir_op2i(ir, IR_AND, IR_I32, r, mask_of(bits));
    }
    if (fe_flags_live(f, F_CF | F_OF)) {
        bool keep_of = imm_form && n > 1 && !(f->i->pfx & P_MEM);
        ir_temp cf = left ? ir_op2i(ir, IR_AND, IR_I32, r, 1) : bit_of(f, r, bits - 1);
        ir_temp res = fe_fl_res(f), aux = fe_fl_aux(f), naux;
        ir_temp cf63 = ir_op2i(ir, IR_SHL, IR_I64, z64(f, cf), 63);
        if (keep_of) {
            ir_temp d = ir_op2(ir, IR_XOR, IR_I64, aux, cf63); /* flip CF and its partner bit when CF changes */
            d = ir_op2i(ir, IR_SHL, IR_I64, ir_op2i(ir, IR_SAR, IR_I64, d, 63), 62);
            naux = ir_op2(ir, IR_XOR, IR_I64, aux, d);
        } else {
            ir_temp of = left ? ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, bits - 1), bit_of(f, v, bits - 2))
                              : ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, bits - 1), ir_op2i(ir, IR_AND, IR_I32, v, 1));
            ir_temp po = ir_op2i(ir, IR_SHL, IR_I64, z64(f, ir_op2(ir, IR_XOR, IR_I32, cf, of)), 62);
            naux = ir_op2i(ir, IR_AND, IR_I64, aux, (int64_t)(~(3ull << 62)));
            naux = ir_op2(ir, IR_OR, IR_I64, ir_op2(ir, IR_OR, IR_I64, naux, cf63), po);
        }
        fe_flags_words(f, res, naux);
    }
    /* else CF and OF are dead: the other flags are as they were, and so is f->fl */
    fe_set_rm(f, bits, ea, r);
    return true;
}

/*
 * SHL/SHR/SAR/ROL/ROR of a 32-bit register or memory operand by CL (shift.c's shift_op):
 * the count is CL & 31, and a zero count changes nothing, not even the
 * flags, so the new flag words are selected against the old ones at run
 * time (the result needs no selection: a shift or rotate by 0 is the
 * value). kind: FLK_SHL, FLK_SHR, FLK_SAR, or -1 for ROL, -2 for ROR.
 */
static bool lower_shift_cl(struct fe *f, int kind)
{
    struct ir_block *ir = f->ir;
    if (fe_opsize(f, 0) != 32)
        return false;
    /* a memory operand is read for writing and written back whatever the
     * count, as the interpreter's mem_rmw does: a count of 0 writes the
     * value it read, and a read-only page faults */
    ir_temp ea, v = fe_get_rm(f, 32, &ea, IRM_WCHK);
    ir_temp n = ir_op2i(ir, IR_AND, IR_I32, ir_ldg(ir, G_ECX), 31), r;
    static const uint8_t opc[] = { [FLK_SHL] = IR_SHL, [FLK_SHR] = IR_SHR, [FLK_SAR] = IR_SAR };
    if (kind >= 0)
        r = ir_op2(ir, (enum ir_opc)opc[kind], IR_I32, v, n);
    else
        r = ir_op2(ir, kind == -1 ? IR_ROTL : IR_ROTR, IR_I32, v, n);
    ir_temp zero = fe_const(f, 0);
    if (kind >= 0 && fe_flags_live(f, F_OSZAPC)) {
        /* CF the last bit out (bit 32 - n, or n - 1, of the source), OF of
         * the first step, AF 0: shift_flags() */
        ir_temp at = kind == FLK_SHL ? ir_op2(ir, IR_SUB, IR_I32, fe_const(f, 32), n) : ir_op2i(ir, IR_SUB, IR_I32, n, 1);
        ir_temp cf = ir_op2i(ir, IR_AND, IR_I32, ir_op2(ir, IR_SHR, IR_I32, v, ir_op2i(ir, IR_AND, IR_I32, at, 31)), 1);
        ir_temp of = kind == FLK_SHL ? ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, 31), bit_of(f, v, 30))
                     : kind == FLK_SHR ? bit_of(f, v, 31)
                                       : zero;
        ir_temp naux = ir_op2(ir, IR_OR, IR_I64, ir_op2i(ir, IR_SHL, IR_I64, z64(f, cf), 63),
                              ir_op2i(ir, IR_SHL, IR_I64, z64(f, ir_op2(ir, IR_XOR, IR_I32, cf, of)), 62));
        ir_temp nres = ir_op1(ir, IR_EXT32S, IR_I32, r);
        ir_temp res = ir_movcond(ir, IR_I32, IR_EQ, n, zero, fe_fl_res(f), nres);
        ir_temp aux = ir_movcond(ir, IR_I32, IR_EQ, n, zero, fe_fl_aux(f), naux);
        fe_flags_words(f, res, aux);
    } else if (kind >= 0) {
        f->fl.kind = FL_NONE; /* dead */
    } else if (fe_flags_live(f, F_CF | F_OF)) {
        /* rot_flags(): CF and OF replaced, the others kept */
        ir_temp cf = kind == -1 ? ir_op2i(ir, IR_AND, IR_I32, r, 1) : bit_of(f, r, 31);
        ir_temp of = kind == -1 ? ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, 31), bit_of(f, v, 30))
                                : ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, 31), ir_op2i(ir, IR_AND, IR_I32, v, 1));
        ir_temp res = fe_fl_res(f), aux = fe_fl_aux(f);
        ir_temp po = ir_op2i(ir, IR_SHL, IR_I64, z64(f, ir_op2(ir, IR_XOR, IR_I32, cf, of)), 62);
        ir_temp naux = ir_op2i(ir, IR_AND, IR_I64, aux, (int64_t)(~(3ull << 62)));
        naux = ir_op2(ir, IR_OR, IR_I64, ir_op2(ir, IR_OR, IR_I64, naux, ir_op2i(ir, IR_SHL, IR_I64, z64(f, cf), 63)), po);
        fe_flags_words(f, res, ir_movcond(ir, IR_I32, IR_EQ, n, zero, aux, naux));
    }
    fe_set_rm(f, 32, ea, r);
    return true;
}

/* DIV/IDIV: #DE for a zero divisor or a quotient that does not fit,
 * checked before anything is written; flags keep their values. */
static bool lower_div(struct fe *f, bool sign)
{
    struct ir_block *ir = f->ir;
    int bits = fe_opsize(f, 0);
    ir_temp ea, d = fe_get_rm(f, bits, &ea, 0);
    ir_temp eax = fe_get_reg(f, R_EAX, 32), edx = fe_get_reg(f, R_EDX, 32);
    ir_temp n64, d64, hi;
    if (bits == 32) {
        hi = edx;
        n64 = ir_op2(ir, IR_OR, IR_I64, ir_op2i(ir, IR_SHL, IR_I64, z64(f, edx), 32), z64(f, eax));
    } else if (bits == 16) {
        hi = ir_op1(ir, IR_EXT16U, IR_I32, edx);
        n64 = z64(f, ir_op2(ir, IR_OR, IR_I32, ir_op2i(ir, IR_SHL, IR_I32, hi, 16), ir_op1(ir, IR_EXT16U, IR_I32, eax)));
    } else {
        hi = ir_extract(ir, eax, 8, 8, false);
        n64 = z64(f, ir_op1(ir, IR_EXT16U, IR_I32, eax));
    }
    unsigned de = ir_new_label(ir);
    ir_temp q, r;
    if (!sign) {
        /* the quotient fits iff the high half is below the divisor (also catches 0) */
        ir_brcond(ir, IR_I32, IR_GEU, hi, d, de);
        d64 = z64(f, d);
        q = ir_new(ir, IR_I64);
        ir_emit(ir, IR_DIVU, IR_I64, q, n64, d64)->c[0] = 32; /* hi < d: the quotient fits in 32 bits */
    } else {
        if (bits < 32)
            n64 = ir_op1(ir, bits == 16 ? IR_EXT32S : IR_EXT16S, bits == 16 ? IR_I32 : IR_I64,
                         bits == 16 ? ir_op1(ir, IR_TRUNC, IR_I64, n64) : n64);
        d64 = bits == 32 ? ir_op1(ir, IR_EXT32S, IR_I32, d)
                         : ir_op1(ir, bits == 16 ? IR_EXT16S : IR_EXT8S, IR_I64, z64(f, d));
        ir_brcond(ir, IR_I64, IR_EQ, d64, ir_const(ir, IR_I64, 0), de);
        ir_temp ovf = ir_op2(ir, IR_AND, IR_I32, ir_setcond(ir, IR_I64, IR_EQ, d64, ir_const(ir, IR_I64, -1)),
                             ir_setcond(ir, IR_I64, IR_EQ, n64, ir_const(ir, IR_I64, INT64_MIN)));
        ir_brcond(ir, IR_I32, IR_NE, ovf, fe_const(f, 0), de);
        q = ir_op2(ir, IR_DIVS, IR_I64, n64, d64);
        ir_temp qs = bits == 32 ? ir_op1(ir, IR_EXT32S, IR_I32, ir_op1(ir, IR_TRUNC, IR_I64, q))
                                : ir_op1(ir, bits == 16 ? IR_EXT16S : IR_EXT8S, IR_I64, q);
        ir_brcond(ir, IR_I64, IR_NE, q, qs, de);
    }
    fe_raise(f, EXC_DE, NO_ERRCODE, de);
    r = ir_op2(ir, IR_SUB, IR_I64, n64, ir_op2(ir, IR_MUL, IR_I64, q, d64));
    ir_temp q32 = ir_op1(ir, IR_TRUNC, IR_I64, q), r32 = ir_op1(ir, IR_TRUNC, IR_I64, r);
    if (bits == 8) {
        ir_temp ax = ir_op2(ir, IR_OR, IR_I32, ir_op2i(ir, IR_SHL, IR_I32, ir_op2i(ir, IR_AND, IR_I32, r32, 0xff), 8),
                            ir_op2i(ir, IR_AND, IR_I32, q32, 0xff));
        fe_set_reg(f, R_EAX, 16, ax);
    } else {
        fe_set_reg(f, R_EAX, bits, bits == 16 ? ir_op1(ir, IR_EXT16U, IR_I32, q32) : q32);
        fe_set_reg(f, R_EDX, bits, bits == 16 ? ir_op1(ir, IR_EXT16U, IR_I32, r32) : r32);
    }
    return true;
}

bool fe_alu(struct fe *f)
{
    const struct insn *i = f->i;
    int op, form;
    if (alu_row(i->id, &op, &form))
        return lower_alu(f, op, form);
    switch (i->id) {
    case OP_CMPXCHG_EvGv:
        return lower_cmpxchg(f);
    case OP_XADD_EvGv:
        return lower_xadd(f);
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
    case OP_SAL_EvIb: return lower_shift(f, FLK_SHL, i->imm);
    case OP_SHR_EbIb:
    case OP_SHR_EvIb: return lower_shift(f, FLK_SHR, i->imm);
    case OP_SAR_EbIb:
    case OP_SAR_EvIb: return lower_shift(f, FLK_SAR, i->imm);
    case OP_SHL_Eb1:
    case OP_SHL_Ev1:
    case OP_SAL_Eb1:
    case OP_SAL_Ev1: return lower_shift(f, FLK_SHL, 1);
    case OP_SHR_Eb1:
    case OP_SHR_Ev1: return lower_shift(f, FLK_SHR, 1);
    case OP_SAR_Eb1:
    case OP_SAR_Ev1: return lower_shift(f, FLK_SAR, 1);
    case OP_IMUL_GvEv: return lower_imul2(f, false);
    case OP_IMUL_GvEvIz:
    case OP_IMUL_GvEvIbs: return lower_imul2(f, true);
    case OP_MUL_Ev: return lower_mul1(f, false);
    case OP_IMUL_Ev: return lower_mul1(f, true);
    case OP_DIV_Eb:
    case OP_DIV_Ev: return lower_div(f, false);
    case OP_IDIV_Eb:
    case OP_IDIV_Ev: return lower_div(f, true);
    case OP_ROL_EbIb:
    case OP_ROL_EvIb: return lower_rotate(f, true, i->imm, true);
    case OP_ROR_EbIb:
    case OP_ROR_EvIb: return lower_rotate(f, false, i->imm, true);
    case OP_ROL_Eb1:
    case OP_ROL_Ev1: return lower_rotate(f, true, 1, false);
    case OP_ROR_Eb1:
    case OP_ROR_Ev1: return lower_rotate(f, false, 1, false);
    case OP_SHL_EvCL:
    case OP_SAL_EvCL: return lower_shift_cl(f, FLK_SHL);
    case OP_SHR_EvCL: return lower_shift_cl(f, FLK_SHR);
    case OP_SAR_EvCL: return lower_shift_cl(f, FLK_SAR);
    case OP_ROL_EvCL: return lower_shift_cl(f, -1);
    case OP_ROR_EvCL: return lower_shift_cl(f, -2);
    default: return false;
    }
}
