/*
 * Near control transfers: Jcc, JMP, CALL, RET, LOOPcc, JCXZ.
 * Relative targets were made absolute (and masked to the operand size) by
 * the decoder. A target beyond the CS limit is #GP(0) with nothing changed.
 */
#include "cpu/ops/ops.h"

static inline void jump_near(struct cpu *c, uint32_t target)
{
    if (target > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    c->eip = target;
}

#define JCC(cc, n)                                                                                                     \
    HANDLER(j##cc)                                                                                                     \
    {                                                                                                                  \
        if (cond_eval(c, n))                                                                                           \
            jump_near(c, i->imm);                                                                                      \
    }
JCC(o, 0)
JCC(no, 1)
JCC(b, 2)
JCC(ae, 3)
JCC(e, 4)
JCC(ne, 5)
JCC(be, 6)
JCC(a, 7)
JCC(s, 8)
JCC(ns, 9)
JCC(p, 10)
JCC(np, 11)
JCC(l, 12)
JCC(ge, 13)
JCC(le, 14)
JCC(g, 15)

HANDLER(jmp_rel) { jump_near(c, i->imm); }

/* eCX as the address size selects it. */
static inline uint32_t count_dec(struct cpu *c, const struct insn *i)
{
    if (asize32(i))
        return (uint32_t)c->gpr[R_ECX] - 1;
    return (uint16_t)((uint16_t)c->gpr[R_ECX] - 1);
}
static inline void count_set(struct cpu *c, const struct insn *i, uint32_t v)
{
    if (asize32(i))
        wr_reg32(c, R_ECX, v);
    else
        wr_reg16(c, R_ECX, (uint16_t)v);
}

/* A fault on the target must leave eCX unchanged: check before committing. */
static inline void loop_common(struct cpu *c, const struct insn *i, bool extra)
{
    uint32_t n = count_dec(c, i);
    bool taken = n != 0 && extra;
    if (taken && i->imm > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    count_set(c, i, n);
    if (taken)
        c->eip = i->imm;
}
HANDLER(loop) { loop_common(c, i, true); }
HANDLER(loope) { loop_common(c, i, lf_zf(c)); }
HANDLER(loopne) { loop_common(c, i, !lf_zf(c)); }
HANDLER(jcxz)
{
    uint32_t n = asize32(i) ? (uint32_t)c->gpr[R_ECX] : (uint16_t)c->gpr[R_ECX];
    if (n == 0)
        jump_near(c, i->imm);
}

HANDLER(call_rel_16)
{
    uint32_t target = i->imm;
    if (target > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    push16(c, (uint16_t)insn_next_eip(c, i));
    c->eip = target;
}
HANDLER(call_rel_32)
{
    uint32_t target = i->imm;
    if (target > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    push32(c, insn_next_eip(c, i));
    c->eip = target;
}

static inline uint32_t ev_target16(struct cpu *c, const struct insn *i)
{
    return (i->pfx & P_MEM) ? mem_rd16(c, i->seg, insn_ea(c, i)) : (uint16_t)c->gpr[i->rm];
}
static inline uint32_t ev_target32(struct cpu *c, const struct insn *i)
{
    return (i->pfx & P_MEM) ? mem_rd32(c, i->seg, insn_ea(c, i)) : (uint32_t)c->gpr[i->rm];
}

#define CALL_EV(v, bits)                                                                                               \
    HANDLER(call_Ev_##v##bits)                                                                                         \
    {                                                                                                                  \
        uint32_t target = ev_target##bits(c, i);                                                                       \
        if (target > c->seg[SEG_CS].limit)                                                                             \
            cpu_fault(c, EXC_GP, 0);                                                                                   \
        push##bits(c, insn_next_eip(c, i));                                                             \
        c->eip = target;                                                                                               \
    }                                                                                                                  \
    HANDLER(jmp_Ev_##v##bits) { jump_near(c, ev_target##bits(c, i)); }
CALL_EV(r, 16)
CALL_EV(r, 32)
CALL_EV(m, 16)
CALL_EV(m, 32)

/* RET [imm16]: pop, check the target, then release imm16 more bytes. */
HANDLER(ret_near_16)
{
    uint32_t sp = sp_get(c);
    uint32_t target = stk_rd16(c, &sp);
    if (target > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    sp_set(c, sp_add(c, sp, (int32_t)(uint16_t)i->imm));
    c->eip = target;
}
HANDLER(ret_near_32)
{
    uint32_t sp = sp_get(c);
    uint32_t target = stk_rd32(c, &sp);
    if (target > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    sp_set(c, sp_add(c, sp, (int32_t)(uint16_t)i->imm));
    c->eip = target;
}
