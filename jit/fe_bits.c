/*
 * Lowering of the bit scans BSF/BSR and the double shifts SHLD/SHRD.
 *
 * BSF/BSR (bitops.c's bs_scan): a zero source sets ZF and PF, clears the
 * other flags and leaves the destination; otherwise the destination is
 * the index, ZF, SF, CF, OF, AF 0 and PF from the index (lf_res the index,
 * or lf_set(PF)'s 0x100 for index 0, and lf_aux 0).
 *
 * SHLD/SHRD (32-bit operand size; the
 * 16-bit forms, whose counts above 16 follow Intel's 48-bit quirk, stay
 * interpreter calls). The semantics and the flag words are shift.c's
 * shld_op/shrd_op with shift_flags(): for a count n = imm or CL, masked
 * to 5 bits, of 1..31,
 *   SHLD: r = d << n | s >> (32 - n), CF = bit 32 - n of d,
 *         OF = bit 31 of d ^ bit 30 of d;
 *   SHRD: r = d >> n | s << (32 - n), CF = bit n - 1 of d,
 *         OF = bit 31 of d ^ bit 0 of s;
 * SF, ZF, PF from r, AF 0. A count of 0 changes nothing, flags included
 * (a memory form still probes for writing: that one is left to the
 * interpreter, as lower_shift does).
 */
#include "jit/frontend.h"

static ir_temp bit(struct fe *f, ir_temp v, ir_temp at)
{
    return ir_op2i(f->ir, IR_AND, IR_I32, ir_op2(f->ir, IR_SHR, IR_I32, v, at), 1);
}

/* The new flag words: lf_res the sign-extended result, lf_aux CF in bit
 * 63 and CF ^ OF in bit 62 (shift_flags with AF 0). */
static ir_temp aux_of(struct fe *f, ir_temp cf, ir_temp of)
{
    struct ir_block *ir = f->ir;
    ir_temp cf64 = ir_op1(ir, IR_EXT32U, IR_I32, cf);
    ir_temp po64 = ir_op1(ir, IR_EXT32U, IR_I32, ir_op2(ir, IR_XOR, IR_I32, cf, of));
    return ir_op2(ir, IR_OR, IR_I64, ir_op2i(ir, IR_SHL, IR_I64, cf64, 63), ir_op2i(ir, IR_SHL, IR_I64, po64, 62));
}

static bool lower_shxd(struct fe *f, bool left, bool by_cl)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    if (fe_opsize(f, 0) != 32 || (by_cl && (i->pfx & P_MEM)))
        return false;
    ir_temp n;
    if (by_cl) {
        n = ir_op2i(ir, IR_AND, IR_I32, ir_ldg(ir, G_ECX), 31);
    } else {
        if (!(i->imm & 31))
            return !(i->pfx & P_MEM); /* nothing changes */
        n = fe_const(f, i->imm & 31);
    }
    ir_temp ea, d = fe_get_rm(f, 32, &ea, IRM_WCHK), s = fe_get_reg(f, i->reg, 32);
    /* 32 - n and n - 1 taken mod 32: in range for a count of 0, whose
     * result and flags are replaced below */
    ir_temp back = ir_op2i(ir, IR_AND, IR_I32, ir_op2(ir, IR_SUB, IR_I32, fe_const(f, 32), n), 31);
    ir_temp r = left ? ir_op2(ir, IR_OR, IR_I32, ir_op2(ir, IR_SHL, IR_I32, d, n), ir_op2(ir, IR_SHR, IR_I32, s, back))
                     : ir_op2(ir, IR_OR, IR_I32, ir_op2(ir, IR_SHR, IR_I32, d, n), ir_op2(ir, IR_SHL, IR_I32, s, back));
    ir_temp zero = fe_const(f, 0);
    if (by_cl)
        r = ir_movcond(ir, IR_I32, IR_EQ, n, zero, d, r);
    if (fe_flags_live(f, F_OSZAPC)) {
        ir_temp at = left ? back : ir_op2i(ir, IR_AND, IR_I32, ir_op2i(ir, IR_SUB, IR_I32, n, 1), 31);
        ir_temp cf = bit(f, d, at);
        ir_temp msb = ir_op2i(ir, IR_SHR, IR_I32, d, 31);
        ir_temp of = left ? ir_op2(ir, IR_XOR, IR_I32, msb, bit(f, d, fe_const(f, 30)))
                          : ir_op2(ir, IR_XOR, IR_I32, msb, ir_op2i(ir, IR_AND, IR_I32, s, 1));
        ir_temp res = ir_op1(ir, IR_EXT32S, IR_I32, r), aux = aux_of(f, cf, of);
        if (by_cl) {
            res = ir_movcond(ir, IR_I32, IR_EQ, n, zero, fe_fl_res(f), res);
            aux = ir_movcond(ir, IR_I32, IR_EQ, n, zero, fe_fl_aux(f), aux);
        }
        fe_flags_words(f, res, aux);
    } else {
        f->fl.kind = FL_NONE; /* dead */
    }
    fe_set_rm(f, 32, ea, r);
    return true;
}

static bool lower_bitscan(struct fe *f, bool reverse)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    int bits = fe_opsize(f, 0);
    ir_temp ea, src = fe_get_rm(f, bits, &ea, 0), zero = fe_const(f, 0);
    ir_temp idx = ir_op1(ir, reverse ? IR_BSR : IR_BSF, IR_I32, src);
    fe_set_reg(f, i->reg, bits, ir_movcond(ir, IR_I32, IR_EQ, src, zero, fe_get_reg(f, i->reg, bits), idx));
    if (fe_flags_live(f, F_OSZAPC)) {
        ir_temp res = ir_movcond(ir, IR_I32, IR_EQ, idx, zero, ir_const(ir, IR_I64, 0x100),
                                 ir_op1(ir, IR_EXT32U, IR_I32, idx));
        res = ir_movcond(ir, IR_I32, IR_EQ, src, zero, ir_const(ir, IR_I64, 0), res);
        fe_flags_words(f, res, ir_const(ir, IR_I64, 0));
    } else {
        f->fl.kind = FL_NONE; /* dead */
    }
    return true;
}

bool fe_bits(struct fe *f)
{
    switch (f->i->id) {
    case OP_BSF: return lower_bitscan(f, false);
    case OP_BSR: return lower_bitscan(f, true);
    case OP_SHLD_EvGvIb: return lower_shxd(f, true, false);
    case OP_SHLD_EvGvCL: return lower_shxd(f, true, true);
    case OP_SHRD_EvGvIb: return lower_shxd(f, false, false);
    case OP_SHRD_EvGvCL: return lower_shxd(f, false, true);
    default: return false;
    }
}
