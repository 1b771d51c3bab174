/*
 * Stack instructions: PUSH/POP of registers, immediates, memory and
 * segment registers, PUSHA/POPA, PUSHF/POPF with their privilege rules,
 * ENTER and LEAVE.
 */
#include "cpu/ops/ops.h"
#include "cpu/seg.h"

HANDLER(push_Zv_16) { push16(c, (uint16_t)c->gpr[i->reg]); }
HANDLER(push_Zv_32) { push32(c, (uint32_t)c->gpr[i->reg]); }
/* POP into ESP: the popped value wins over the increment. */
HANDLER(pop_Zv_16) { uint16_t v = pop16(c); wr_reg16(c, i->reg, v); }
HANDLER(pop_Zv_32) { uint32_t v = pop32(c); wr_reg32(c, i->reg, v); }
HANDLER(push_Iz_16) { push16(c, (uint16_t)i->imm); }
HANDLER(push_Iz_32) { push32(c, i->imm); }

HANDLER(push_Ev_r16) { push16(c, (uint16_t)c->gpr[i->rm]); }
HANDLER(push_Ev_r32) { push32(c, (uint32_t)c->gpr[i->rm]); }
HANDLER(push_Ev_m16) { push16(c, mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(push_Ev_m32) { push32(c, mem_rd32(c, i->seg, insn_ea(c, i))); }

HANDLER(pop_Ev_r16) { uint16_t v = pop16(c); wr_reg16(c, i->rm, v); }
HANDLER(pop_Ev_r32) { uint32_t v = pop32(c); wr_reg32(c, i->rm, v); }
/* POP to memory addressed through ESP uses the incremented ESP. */
static uint32_t pop_ea(struct cpu *c, const struct insn *i, uint32_t new_sp)
{
    uint64_t old = c->gpr[R_ESP];
    sp_set(c, new_sp);
    uint32_t ea = insn_ea(c, i);
    c->gpr[R_ESP] = old;
    return ea;
}
HANDLER(pop_Ev_m16)
{
    uint32_t sp = sp_get(c);
    uint16_t v = stk_rd16(c, &sp);
    mem_wr16(c, i->seg, pop_ea(c, i, sp), v);
    sp_set(c, sp);
}
HANDLER(pop_Ev_m32)
{
    uint32_t sp = sp_get(c);
    uint32_t v = stk_rd32(c, &sp);
    mem_wr32(c, i->seg, pop_ea(c, i, sp), v);
    sp_set(c, sp);
}

/* Segment register from the opcode: 06/0E/16/1E ES CS SS DS, 0F A0/A8 FS GS. */
static int sreg_of(const struct insn *i)
{
    if (op_info[i->id].map == 1)
        return i->b1 == 0xa0 || i->b1 == 0xa1 ? SEG_FS : SEG_GS;
    return (i->b1 >> 3) & 3;
}
HANDLER(push_sreg_16) { push16(c, c->seg[sreg_of(i)].sel); }
/* A 32-bit push of a segment register writes only the low word (P6 and
 * later), leaving the upper half of the slot as it was. */
HANDLER(push_sreg_32)
{
    uint32_t sp = sp_add(c, sp_get(c), -4);
    mem_wr16(c, SEG_SS, sp, c->seg[sreg_of(i)].sel);
    sp_set(c, sp);
}
static void pop_sreg(struct cpu *c, const struct insn *i, int size)
{
    int s = sreg_of(i);
    uint32_t sp = sp_get(c);
    uint16_t sel = mem_rd16(c, SEG_SS, sp);
    seg_load(c, s, sel);
    sp_set(c, sp_add(c, sp, size));
    if (s == SEG_SS) {
        c->inhibit_irq = 1;
        cpu_event(c);
        cpu_stop(c);
    }
}
HANDLER(pop_sreg_16) { pop_sreg(c, i, 2); }
HANDLER(pop_sreg_32) { pop_sreg(c, i, 4); }

HANDLER(pusha_16)
{
    (void)i;
    uint32_t sp = sp_get(c), orig = (uint16_t)c->gpr[R_ESP];
    for (int r = R_EAX; r <= R_EDI; r++)
        stk_wr16(c, &sp, (uint16_t)(r == R_ESP ? orig : c->gpr[r]));
    sp_set(c, sp);
}
HANDLER(pusha_32)
{
    (void)i;
    uint32_t sp = sp_get(c), orig = (uint32_t)c->gpr[R_ESP];
    for (int r = R_EAX; r <= R_EDI; r++)
        stk_wr32(c, &sp, (uint32_t)(r == R_ESP ? orig : c->gpr[r]));
    sp_set(c, sp);
}
/* POPA discards the saved eSP. Read everything before writing anything. */
HANDLER(popa_16)
{
    (void)i;
    uint32_t sp = sp_get(c);
    uint16_t v[8];
    for (int r = R_EDI; r >= R_EAX; r--)
        v[r] = stk_rd16(c, &sp);
    for (int r = R_EAX; r <= R_EDI; r++)
        if (r != R_ESP)
            wr_reg16(c, r, v[r]);
    sp_set(c, sp);
}
HANDLER(popa_32)
{
    (void)i;
    uint32_t sp = sp_get(c);
    uint32_t v[8];
    for (int r = R_EDI; r >= R_EAX; r--)
        v[r] = stk_rd32(c, &sp);
    for (int r = R_EAX; r <= R_EDI; r++)
        if (r != R_ESP)
            wr_reg32(c, r, v[r]);
    sp_set(c, sp);
}

/* PUSHF/POPF. In v86 mode without VME they need IOPL 3 (#GP(0) otherwise). */
HANDLER(pushf_16)
{
    (void)i;
    if ((c->eflags & EFL_VM) && iopl(c) < 3)
        cpu_fault(c, EXC_GP, 0);
    push16(c, (uint16_t)cpu_get_eflags(c));
}
HANDLER(pushf_32)
{
    (void)i;
    if ((c->eflags & EFL_VM) && iopl(c) < 3)
        cpu_fault(c, EXC_GP, 0);
    /* VM and RF read as 0 in the pushed image. */
    push32(c, cpu_get_eflags(c) & ~(EFL_VM | EFL_RF));
}

/* Which EFLAGS bits POPF may change at the current privilege. */
static uint32_t popf_mask(struct cpu *c, bool op32)
{
    uint32_t m = EFL_ARITH | EFL_TF | EFL_DF | EFL_NT;
    if (op32)
        m |= EFL_AC | EFL_ID;
    if (c->eflags & EFL_VM) {
        if (iopl(c) < 3)
            cpu_fault(c, EXC_GP, 0);
        m |= EFL_IF;
    } else if (!(c->cr0 & CR0_PE) || c->cpl == 0) {
        m |= EFL_IF | EFL_IOPL;
    } else if (c->cpl <= iopl(c)) {
        m |= EFL_IF;
    }
    return m;
}
static void popf_common(struct cpu *c, uint32_t v, uint32_t m)
{
    cpu_set_eflags(c, v & ~EFL_RF, m | EFL_RF); /* RF is cleared */
    cpu_stop(c); /* IF or TF may have changed: look at interrupts and traps */
}
HANDLER(popf_16)
{
    (void)i;
    uint32_t m = popf_mask(c, false) & 0xffff;
    popf_common(c, pop16(c), m);
}
HANDLER(popf_32)
{
    (void)i;
    uint32_t m = popf_mask(c, true);
    popf_common(c, pop32(c), m);
}

/* ENTER imm16, imm8: nesting level mod 32; frame pointer copies read from
 * the old frame. The stack writes are checked before anything commits. */
static void enter_common(struct cpu *c, const struct insn *i, int size)
{
    uint32_t alloc = (uint16_t)i->imm;
    int level = i->imm2 & 31;
    uint32_t sp = sp_get(c);
    uint32_t bp = ss32(c) ? (uint32_t)c->gpr[R_EBP] : (uint16_t)c->gpr[R_EBP];
    if (size == 4)
        stk_wr32(c, &sp, bp);
    else
        stk_wr16(c, &sp, (uint16_t)bp);
    uint32_t frame = sp;
    for (int l = 1; l < level; l++) {
        bp = sp_add(c, bp, -size);
        if (size == 4)
            stk_wr32(c, &sp, mem_rd32(c, SEG_SS, bp));
        else
            stk_wr16(c, &sp, mem_rd16(c, SEG_SS, bp));
    }
    if (level > 0) {
        if (size == 4)
            stk_wr32(c, &sp, frame);
        else
            stk_wr16(c, &sp, (uint16_t)frame);
    }
    sp = sp_add(c, sp, -(int32_t)alloc);
    /* The final stack pointer must be writable (hardware probes it). */
    if (alloc)
        (void)seg_lin_w(c, SEG_SS, sp, 1);
    if (size == 4)
        wr_reg32(c, R_EBP, frame);
    else
        wr_reg16(c, R_EBP, (uint16_t)frame);
    sp_set(c, sp);
}
HANDLER(enter_16) { enter_common(c, i, 2); }
HANDLER(enter_32) { enter_common(c, i, 4); }

HANDLER(leave_16)
{
    (void)i;
    uint32_t sp = ss32(c) ? (uint32_t)c->gpr[R_EBP] : (uint16_t)c->gpr[R_EBP];
    uint16_t v = stk_rd16(c, &sp);
    sp_set(c, sp);
    wr_reg16(c, R_EBP, v);
}
HANDLER(leave_32)
{
    (void)i;
    uint32_t sp = ss32(c) ? (uint32_t)c->gpr[R_EBP] : (uint16_t)c->gpr[R_EBP];
    uint32_t v = stk_rd32(c, &sp);
    sp_set(c, sp);
    wr_reg32(c, R_EBP, v);
}
