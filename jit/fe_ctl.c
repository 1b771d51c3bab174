/*
 * Lowering of near control transfers (cpu/ops/branch.c): Jcc, JMP, CALL,
 * RET [imm16], JMP/CALL r/m, LOOP/LOOPE/LOOPNE, JCXZ. Each ends the block,
 * but a Jcc inside a superblock (jit/super.c), whose taken branch is a
 * side exit and whose fall-through is the next instruction.
 *
 * Direct targets are constants: a target beyond the CS limit the block
 * was decoded under (part of its key) faults, so such a branch is left to
 * the interpreter. Indirect targets are checked at run time and raise
 * #GP(0) through a side exit before anything is committed. Conditional
 * branches use the last flag producer's operands directly when they can
 * (CMP+Jcc fusion, frontend.c) and still store the flags, which are live
 * at every exit.
 *
 * Also here: which register forms the JIT lowers (for flag liveness).
 */
#include "jit/frontend.h"

bool fe_reg_form_lowered(const struct insn *i)
{
    switch (i->id) {
    case OP_INC_Zv: case OP_DEC_Zv: case OP_INC_Eb: case OP_DEC_Eb: case OP_INC_Ev: case OP_DEC_Ev:
    case OP_NOT_Eb: case OP_NOT_Ev: case OP_NEG_Eb: case OP_NEG_Ev:
    case OP_SHL_EbIb: case OP_SHL_EvIb: case OP_SAL_EbIb: case OP_SAL_EvIb: case OP_SHR_EbIb: case OP_SHR_EvIb:
    case OP_SAR_EbIb: case OP_SAR_EvIb: case OP_SHL_Eb1: case OP_SHL_Ev1: case OP_SAL_Eb1: case OP_SAL_Ev1:
    case OP_SHR_Eb1: case OP_SHR_Ev1: case OP_SAR_Eb1: case OP_SAR_Ev1:
    case OP_ROL_EbIb: case OP_ROL_EvIb: case OP_ROR_EbIb: case OP_ROR_EvIb: case OP_ROL_Eb1: case OP_ROL_Ev1:
    case OP_ROR_Eb1: case OP_ROR_Ev1:
    case OP_IMUL_GvEv: case OP_IMUL_GvEvIz: case OP_IMUL_GvEvIbs: case OP_MUL_Ev: case OP_IMUL_Ev:
    case OP_MOV_EbGb: case OP_MOV_EvGv: case OP_MOV_GbEb: case OP_MOV_GvEv: case OP_MOV_ZbIb: case OP_MOV_ZvIz:
    case OP_MOV_EbIb: case OP_MOV_EvIz: case OP_LEA:
    case OP_MOVZX_GvEb: case OP_MOVZX_GvEw: case OP_MOVSX_GvEb: case OP_MOVSX_GvEw:
    case OP_XCHG_EbGb: case OP_XCHG_EvGv: case OP_XCHG_ZveAX: case OP_NOP: case OP_PAUSE: case OP_NOP_Ev:
    case OP_CBW: case OP_CWD: case OP_BSWAP: case OP_CMPXCHG_EvGv: case OP_XADD_EvGv: case OP_CLD: case OP_STD:
    case OP_BSF: case OP_BSR:
        return true;
    default:
        break;
    }
    if (i->id >= OP_SETO && i->id <= OP_SETG)
        return true;
    switch (i->id) {
    case OP_SHL_EvCL: case OP_SAL_EvCL: case OP_SHR_EvCL: case OP_SAR_EvCL: case OP_ROL_EvCL: case OP_ROR_EvCL:
    case OP_SHLD_EvGvIb: case OP_SHLD_EvGvCL: case OP_SHRD_EvGvIb: case OP_SHRD_EvGvCL:
        return (i->pfx & P_OSIZE32) != 0; /* 32-bit only (fe_alu.c: lower_shift_cl; fe_bits.c) */
    default:
        break;
    }
    if (i->id >= OP_CMOVO && i->id <= OP_CMOVG)
        return true;
    switch (i->id) {
#define ALU(N) case OP_##N##_EbGb: case OP_##N##_EvGv: case OP_##N##_GbEb: case OP_##N##_GvEv: case OP_##N##_ALIb: \
    case OP_##N##_eAXIz: case OP_##N##_EbIb: case OP_##N##_EbIb_82: case OP_##N##_EvIz: case OP_##N##_EvIbs:
        ALU(ADD) ALU(OR) ALU(ADC) ALU(SBB) ALU(AND) ALU(SUB) ALU(XOR) ALU(CMP)
#undef ALU
    case OP_TEST_EbGb: case OP_TEST_EvGv: case OP_TEST_ALIb: case OP_TEST_eAXIz: case OP_TEST_EbIb:
    case OP_TEST_EbIb_1: case OP_TEST_EvIz: case OP_TEST_EvIz_1:
        return true;
    default:
        return false;
    }
}

/* Raise #GP(0) unless target <= the block's CS limit. */
static void check_target(struct fe *f, ir_temp target)
{
    if (f->b->cs_limit == 0xffffffffu || (osize(f) == 16 && f->b->cs_limit >= 0xffff))
        return;
    unsigned l = ir_new_label(f->ir);
    ir_brcond(f->ir, IR_I32, IR_GTU, target, fe_const(f, f->b->cs_limit), l);
    fe_raise(f, EXC_GP, 0, l);
}

static bool lower_jcc(struct fe *f, int cc)
{
    uint32_t target = f->i->imm;
    if (target > f->b->cs_limit)
        return false;
    unsigned taken = ir_new_label(f->ir);
    fe_brcond_cc(f, cc, taken);
    fe_side_goto(f, target, taken);
    if (f->k + 1 < f->n)
        return true; /* a superblock (jit/super.c) goes on with the fall-through */
    fe_goto(f, f->next);
    return true;
}

/* LOOP/LOOPE/LOOPNE/JCXZ: the counter is eCX by the address size. */
static bool lower_loop(struct fe *f)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    uint32_t target = i->imm;
    if (target > f->b->cs_limit)
        return false;
    int cbits = (i->pfx & P_ASIZE32) ? 32 : 16;
    ir_temp n = fe_get_reg(f, R_ECX, cbits);
    unsigned taken = ir_new_label(ir);
    if (i->id == OP_JCXZ) {
        ir_brcond(ir, IR_I32, IR_EQ, n, fe_const(f, 0), taken);
    } else {
        n = ir_op2i(ir, IR_SUB, IR_I32, n, 1);
        if (cbits == 16)
            n = ir_op1(ir, IR_EXT16U, IR_I32, n);
        ir_temp go = ir_setcond(ir, IR_I32, IR_NE, n, fe_const(f, 0));
        if (i->id != OP_LOOP) {
            ir_temp zf = fe_cond(f, i->id == OP_LOOPE ? 4 : 5);
            go = ir_op2(ir, IR_AND, IR_I32, go, zf);
        }
        fe_set_reg(f, R_ECX, cbits, n);
        ir_brcond(ir, IR_I32, IR_NE, go, fe_const(f, 0), taken);
    }
    fe_side_goto(f, target, taken);
    fe_goto(f, f->next);
    return true;
}

static bool lower_call_ret(struct fe *f)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    int bits = osize(f);
    switch (i->id) {
    case OP_JMP_Jb:
    case OP_JMP_Jz:
        if (i->imm > f->b->cs_limit)
            return false;
        if (f->k + 1 < f->n)
            return true; /* a superblock (jit/super.c) goes on at the target */
        fe_goto(f, i->imm);
        return true;
    case OP_CALL_Jz: {
        if (i->imm > f->b->cs_limit)
            return false;
        ir_temp sp = fe_sp_add(f, fe_get_sp(f), -(bits / 8));
        fe_store(f, SEG_SS, sp, bits, fe_const(f, f->next));
        fe_set_sp(f, sp);
        fe_call(f, i->imm);
        return true;
    }
    case OP_RET:
    case OP_RET_Iw: {
        ir_temp sp = fe_get_sp(f);
        ir_temp t = fe_load(f, SEG_SS, sp, bits, 0);
        check_target(f, t);
        uint32_t release = (uint32_t)(bits / 8) + (i->id == OP_RET_Iw ? (uint16_t)i->imm : 0);
        fe_set_sp(f, fe_sp_add(f, sp, (int32_t)release));
        fe_goto_ind(f, t, false, true);
        return true;
    }
    case OP_JMP_Ev:
    case OP_CALL_Ev: {
        ir_temp ea;
        ir_temp t = fe_get_rm(f, bits, &ea, 0);
        check_target(f, t);
        if (i->id == OP_CALL_Ev) {
            ir_temp sp = fe_sp_add(f, fe_get_sp(f), -(bits / 8));
            fe_store(f, SEG_SS, sp, bits, fe_const(f, f->next));
            fe_set_sp(f, sp);
        }
        fe_goto_ind(f, t, i->id == OP_CALL_Ev, false);
        return true;
    }
    default:
        (void)ir;
        return false;
    }
}

bool fe_ctl(struct fe *f)
{
    const struct insn *i = f->i;
    bool ok;
    if (i->id >= OP_JO_Jb && i->id <= OP_JG_Jb)
        ok = lower_jcc(f, i->id - OP_JO_Jb);
    else if (i->id >= OP_JO_Jz && i->id <= OP_JG_Jz)
        ok = lower_jcc(f, i->id - OP_JO_Jz);
    else if (i->id == OP_LOOP || i->id == OP_LOOPE || i->id == OP_LOOPNE || i->id == OP_JCXZ)
        ok = lower_loop(f);
    else
        ok = lower_call_ret(f);
    return ok;
}
