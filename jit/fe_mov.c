/*
 * Lowering of data movement: MOV in its general-purpose forms, LEA,
 * MOVZX/MOVSX, XCHG, CBW/CWD, the NOPs, SETcc, CMOVcc, and the stack
 * instructions PUSH/POP (registers, immediates, r/m sources) and LEAVE.
 * Semantics follow cpu/ops/mov.c and stack_ops.c: CMOVcc reads its source
 * even when the condition is false; POP into eSP keeps the popped value;
 * a push or pop commits eSP only after its memory access.
 */
#include <stddef.h>

#include "cpu/cpu.h"
#include "jit/frontend.h"

static uint32_t mask_of(int bits)
{
    return bits == 32 ? 0xffffffffu : (1u << bits) - 1;
}

static bool lower_push(struct fe *f, ir_temp v, int bits)
{
    ir_temp sp = fe_sp_add(f, fe_get_sp(f), -(bits / 8));
    fe_store(f, SEG_SS, sp, bits, v);
    fe_set_sp(f, sp);
    return true;
}

static bool lower_mov(struct fe *f)
{
    const struct insn *i = f->i;
    ir_temp ea = IR_NOTEMP;
    int bits;
    switch (i->id) {
    case OP_MOV_EbGb:
    case OP_MOV_EvGv:
        bits = fe_opsize(f, 0);
        if (i->pfx & P_MEM)
            ea = fe_ea(f);
        fe_set_rm(f, bits, ea, fe_get_reg(f, i->reg, bits));
        return true;
    case OP_MOV_GbEb:
    case OP_MOV_GvEv:
        bits = fe_opsize(f, 0);
        fe_set_reg(f, i->reg, bits, fe_get_rm(f, bits, &ea, 0));
        return true;
    case OP_MOV_ALOb:
    case OP_MOV_eAXOv:
        bits = fe_opsize(f, 0);
        fe_set_reg(f, 0, bits, fe_load(f, i->seg, fe_ea(f), bits, 0));
        return true;
    case OP_MOV_ObAL:
    case OP_MOV_OveAX:
        bits = fe_opsize(f, 1);
        fe_store(f, i->seg, fe_ea(f), bits, fe_get_reg(f, 0, bits));
        return true;
    case OP_BSWAP:
        /* bitops.c: a 16-bit operand's result is 0 (undefined in the SDM) */
        if (osize(f) == 32)
            fe_set_reg(f, i->reg, 32, ir_op1(f->ir, IR_BSWAP, IR_I32, fe_get_reg(f, i->reg, 32)));
        else
            fe_set_reg(f, i->reg, 16, fe_const(f, 0));
        return true;
    case OP_MOV_ZbIb:
    case OP_MOV_ZvIz:
        bits = fe_opsize(f, 0);
        fe_set_reg(f, i->reg, bits, fe_const(f, i->imm & mask_of(bits)));
        return true;
    case OP_MOV_EbIb:
    case OP_MOV_EvIz:
        bits = fe_opsize(f, 0);
        if (i->pfx & P_MEM)
            ea = fe_ea(f);
        fe_set_rm(f, bits, ea, fe_const(f, i->imm & mask_of(bits)));
        return true;
    case OP_LEA:
        fe_set_reg(f, i->reg, osize(f), fe_ea(f));
        return true;
    case OP_MOVZX_GvEb:
    case OP_MOVZX_GvEw:
    case OP_MOVSX_GvEb:
    case OP_MOVSX_GvEw: {
        int sb = i->id == OP_MOVZX_GvEb || i->id == OP_MOVSX_GvEb ? 8 : 16;
        ir_temp v = fe_get_rm(f, sb, &ea, 0);
        if (i->id == OP_MOVSX_GvEb || i->id == OP_MOVSX_GvEw)
            v = ir_extract(f->ir, v, 0, sb, true);
        fe_set_reg(f, i->reg, osize(f), v);
        return true;
    }
    default:
        return false;
    }
}

static bool lower_xchg(struct fe *f)
{
    const struct insn *i = f->i;
    int bits;
    ir_temp ea = IR_NOTEMP;
    switch (i->id) {
    case OP_XCHG_EbGb:
    case OP_XCHG_EvGv: {
        bits = fe_opsize(f, 0);
        ir_temp r = fe_get_reg(f, i->reg, bits);
        ir_temp m = fe_get_rm(f, bits, &ea, IRM_WCHK);
        fe_set_rm(f, bits, ea, r);
        fe_set_reg(f, i->reg, bits, m);
        return true;
    }
    case OP_XCHG_ZveAX: {
        bits = osize(f);
        ir_temp a = fe_get_reg(f, R_EAX, bits), b = fe_get_reg(f, i->reg, bits);
        fe_set_reg(f, i->reg, bits, a);
        fe_set_reg(f, R_EAX, bits, b);
        return true;
    }
    default:
        return false;
    }
}

static bool lower_stack(struct fe *f)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    int bits = osize(f);
    ir_temp ea;
    switch (i->id) {
    case OP_PUSH_Zv:
        return lower_push(f, fe_get_reg(f, i->reg, bits), bits);
    case OP_PUSH_Iz:
    case OP_PUSH_Ibs:
        return lower_push(f, fe_const(f, i->imm & mask_of(bits)), bits);
    case OP_PUSH_Ev:
        return lower_push(f, fe_get_rm(f, bits, &ea, 0), bits);
    case OP_POP_Zv:
    case OP_POP_Ev: {
        if (i->id == OP_POP_Ev && (i->pfx & P_MEM))
            return false; /* the destination address uses the incremented eSP: rare */
        int reg = i->id == OP_POP_Zv ? i->reg : i->rm;
        ir_temp sp = fe_get_sp(f);
        ir_temp v = fe_load(f, SEG_SS, sp, bits, 0);
        fe_set_sp(f, fe_sp_add(f, sp, bits / 8));
        fe_set_reg(f, reg, bits, v);
        return true;
    }
    case OP_LEAVE: {
        ir_temp sp = fe_get_reg(f, R_EBP, f->ss32 ? 32 : 16);
        ir_temp v = fe_load(f, SEG_SS, sp, bits, 0);
        fe_set_sp(f, fe_sp_add(f, sp, bits / 8));
        fe_set_reg(f, R_EBP, bits, v);
        return true;
    }
    default:
        (void)ir;
        return false;
    }
}

static bool lower_cc(struct fe *f)
{
    const struct insn *i = f->i;
    ir_temp ea = IR_NOTEMP;
    if (i->id >= OP_SETO && i->id <= OP_SETG) {
        int cc = i->id - OP_SETO;
        ir_temp v = fe_cond(f, cc);
        if (i->pfx & P_MEM)
            ea = fe_ea(f);
        fe_set_rm(f, 8, ea, v);
        return true;
    }
    if (i->id >= OP_CMOVO && i->id <= OP_CMOVG) {
        int cc = i->id - OP_CMOVO, bits = osize(f);
        ir_temp v = fe_get_rm(f, bits, &ea, 0);
        ir_temp old = fe_get_reg(f, i->reg, bits);
        fe_set_reg(f, i->reg, bits, fe_cond_select(f, cc, v, old));
        return true;
    }
    return false;
}

bool fe_mov(struct fe *f)
{
    const struct insn *i = f->i;
    struct ir_block *ir = f->ir;
    switch (i->id) {
    case OP_NOP:
    case OP_PAUSE:
    case OP_NOP_Ev:
    case OP_NOP_EvGv_0F18: case OP_NOP_EvGv_0F19: case OP_NOP_EvGv_0F1A: case OP_NOP_EvGv_0F1B:
    case OP_NOP_EvGv_0F1C: case OP_NOP_EvGv_0F1D: case OP_NOP_EvGv_0F1E: case OP_NOP_EvGv_0F1F_1:
    case OP_NOP_EvGv_0F1F_2: case OP_NOP_EvGv_0F1F_3: case OP_NOP_EvGv_0F1F_4: case OP_NOP_EvGv_0F1F_5:
    case OP_NOP_EvGv_0F1F_6: case OP_NOP_EvGv_0F1F_7:
        return true; /* the hint NOPs (ENDBR32 among them) touch nothing, memory forms included */
    case OP_CLD:
    case OP_STD: { /* DF lives in cpu->eflags itself, not in the lazy flags */
        int off = (int)offsetof(struct cpu, eflags);
        ir_temp e = ir_ld(ir, IR_I32, off, 4, false);
        e = i->id == OP_CLD ? ir_op2i(ir, IR_AND, IR_I32, e, (int32_t)~EFL_DF) : ir_op2i(ir, IR_OR, IR_I32, e, EFL_DF);
        ir_st(ir, e, off, 4);
        return true;
    }
    case OP_CBW:
        if (osize(f) == 32)
            fe_set_reg(f, R_EAX, 32, ir_extract(ir, fe_get_reg(f, R_EAX, 32), 0, 16, true));
        else
            fe_set_reg(f, R_EAX, 16, ir_extract(ir, fe_get_reg(f, R_EAX, 32), 0, 8, true));
        return true;
    case OP_CWD: {
        int bits = osize(f);
        ir_temp a = fe_get_reg(f, R_EAX, 32);
        ir_temp s = bits == 32 ? ir_op2i(ir, IR_SAR, IR_I32, a, 31)
                               : ir_op2i(ir, IR_SAR, IR_I32, ir_extract(ir, a, 0, 16, true), 31);
        fe_set_reg(f, R_EDX, bits, s);
        return true;
    }
    default:
        break;
    }
    return lower_mov(f) || lower_xchg(f) || lower_stack(f) || lower_cc(f);
}
