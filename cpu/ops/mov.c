/*
 * Data movement: MOV in all its general-purpose forms, LEA, XCHG,
 * MOVZX/MOVSX, CBW/CWD, CMOVcc, SETcc, and moves to and from segment
 * registers. None of these touch flags.
 */
#include "cpu/ops/ops.h"
#include "cpu/seg.h"

HANDLER(mov_EbGb_r) { *reg8(c, i->rm) = *reg8(c, i->reg); }
HANDLER(mov_EbGb_m) { mem_wr8(c, i->seg, insn_ea(c, i), *reg8(c, i->reg)); }
HANDLER(mov_EvGv_r16) { wr_reg16(c, i->rm, (uint16_t)c->gpr[i->reg]); }
HANDLER(mov_EvGv_r32) { wr_reg32(c, i->rm, (uint32_t)c->gpr[i->reg]); }
HANDLER(mov_EvGv_m16) { mem_wr16(c, i->seg, insn_ea(c, i), (uint16_t)c->gpr[i->reg]); }
HANDLER(mov_EvGv_m32) { mem_wr32(c, i->seg, insn_ea(c, i), (uint32_t)c->gpr[i->reg]); }
HANDLER(mov_GbEb_r) { *reg8(c, i->reg) = *reg8(c, i->rm); }
HANDLER(mov_GbEb_m) { *reg8(c, i->reg) = mem_rd8(c, i->seg, insn_ea(c, i)); }
HANDLER(mov_GvEv_r16) { wr_reg16(c, i->reg, (uint16_t)c->gpr[i->rm]); }
HANDLER(mov_GvEv_r32) { wr_reg32(c, i->reg, (uint32_t)c->gpr[i->rm]); }
HANDLER(mov_GvEv_m16) { wr_reg16(c, i->reg, mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(mov_GvEv_m32) { wr_reg32(c, i->reg, mem_rd32(c, i->seg, insn_ea(c, i))); }
HANDLER(mov_ALOb) { *reg8(c, 0) = mem_rd8(c, i->seg, insn_ea(c, i)); }
HANDLER(mov_eAXOv_16) { wr_reg16(c, R_EAX, mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(mov_eAXOv_32) { wr_reg32(c, R_EAX, mem_rd32(c, i->seg, insn_ea(c, i))); }
HANDLER(mov_ObAL) { mem_wr8(c, i->seg, insn_ea(c, i), *reg8(c, 0)); }
HANDLER(mov_OveAX_16) { mem_wr16(c, i->seg, insn_ea(c, i), (uint16_t)c->gpr[R_EAX]); }
HANDLER(mov_OveAX_32) { mem_wr32(c, i->seg, insn_ea(c, i), (uint32_t)c->gpr[R_EAX]); }
HANDLER(mov_ZbIb) { *reg8(c, i->reg) = (uint8_t)i->imm; }
HANDLER(mov_ZvIz_16) { wr_reg16(c, i->reg, (uint16_t)i->imm); }
HANDLER(mov_ZvIz_32) { wr_reg32(c, i->reg, i->imm); }
HANDLER(mov_EbIb_r) { *reg8(c, i->rm) = (uint8_t)i->imm; }
HANDLER(mov_EbIb_m) { mem_wr8(c, i->seg, insn_ea(c, i), (uint8_t)i->imm); }
HANDLER(mov_EvIz_r16) { wr_reg16(c, i->rm, (uint16_t)i->imm); }
HANDLER(mov_EvIz_r32) { wr_reg32(c, i->rm, i->imm); }
HANDLER(mov_EvIz_m16) { mem_wr16(c, i->seg, insn_ea(c, i), (uint16_t)i->imm); }
HANDLER(mov_EvIz_m32) { mem_wr32(c, i->seg, insn_ea(c, i), i->imm); }

HANDLER(lea_16) { wr_reg16(c, i->reg, (uint16_t)insn_ea(c, i)); }
HANDLER(lea_32) { wr_reg32(c, i->reg, insn_ea(c, i)); }

HANDLER(nop) { (void)c, (void)i; }
HANDLER(nop_Ev_r16) { (void)c, (void)i; }
HANDLER(nop_Ev_r32) { (void)c, (void)i; }
/* The multi-byte NOP's memory form does not access memory. */
HANDLER(nop_Ev_m16) { (void)c, (void)i; }
HANDLER(nop_Ev_m32) { (void)c, (void)i; }

HANDLER(xchg_EbGb_r)
{
    uint8_t t = *reg8(c, i->rm);
    *reg8(c, i->rm) = *reg8(c, i->reg);
    *reg8(c, i->reg) = t;
}
HANDLER(xchg_EbGb_m)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 1);
    uint8_t t = *p;
    *p = *reg8(c, i->reg);
    mem_rmw_done(c, p);
    *reg8(c, i->reg) = t;
}
HANDLER(xchg_EvGv_r16)
{
    uint16_t t = (uint16_t)c->gpr[i->rm];
    wr_reg16(c, i->rm, (uint16_t)c->gpr[i->reg]);
    wr_reg16(c, i->reg, t);
}
HANDLER(xchg_EvGv_r32)
{
    uint32_t t = (uint32_t)c->gpr[i->rm];
    wr_reg32(c, i->rm, (uint32_t)c->gpr[i->reg]);
    wr_reg32(c, i->reg, t);
}
HANDLER(xchg_EvGv_m16)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 2);
    uint16_t t = ld16(p);
    st16(p, (uint16_t)c->gpr[i->reg]);
    mem_rmw_done(c, p);
    wr_reg16(c, i->reg, t);
}
HANDLER(xchg_EvGv_m32)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 4);
    uint32_t t = ld32(p);
    st32(p, (uint32_t)c->gpr[i->reg]);
    mem_rmw_done(c, p);
    wr_reg32(c, i->reg, t);
}
HANDLER(xchg_ZveAX_16)
{
    uint16_t t = (uint16_t)c->gpr[i->reg];
    wr_reg16(c, i->reg, (uint16_t)c->gpr[R_EAX]);
    wr_reg16(c, R_EAX, t);
}
HANDLER(xchg_ZveAX_32)
{
    uint32_t t = (uint32_t)c->gpr[i->reg];
    wr_reg32(c, i->reg, (uint32_t)c->gpr[R_EAX]);
    wr_reg32(c, R_EAX, t);
}

HANDLER(movzx_GvEb_r16) { wr_reg16(c, i->reg, *reg8(c, i->rm)); }
HANDLER(movzx_GvEb_r32) { wr_reg32(c, i->reg, *reg8(c, i->rm)); }
HANDLER(movzx_GvEb_m16) { wr_reg16(c, i->reg, mem_rd8(c, i->seg, insn_ea(c, i))); }
HANDLER(movzx_GvEb_m32) { wr_reg32(c, i->reg, mem_rd8(c, i->seg, insn_ea(c, i))); }
HANDLER(movzx_GvEw_r16) { wr_reg16(c, i->reg, (uint16_t)c->gpr[i->rm]); }
HANDLER(movzx_GvEw_r32) { wr_reg32(c, i->reg, (uint16_t)c->gpr[i->rm]); }
HANDLER(movzx_GvEw_m16) { wr_reg16(c, i->reg, mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(movzx_GvEw_m32) { wr_reg32(c, i->reg, mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(movsx_GvEb_r16) { wr_reg16(c, i->reg, (uint16_t)(int8_t)*reg8(c, i->rm)); }
HANDLER(movsx_GvEb_r32) { wr_reg32(c, i->reg, (uint32_t)(int8_t)*reg8(c, i->rm)); }
HANDLER(movsx_GvEb_m16) { wr_reg16(c, i->reg, (uint16_t)(int8_t)mem_rd8(c, i->seg, insn_ea(c, i))); }
HANDLER(movsx_GvEb_m32) { wr_reg32(c, i->reg, (uint32_t)(int8_t)mem_rd8(c, i->seg, insn_ea(c, i))); }
HANDLER(movsx_GvEw_r16) { wr_reg16(c, i->reg, (uint16_t)c->gpr[i->rm]); }
HANDLER(movsx_GvEw_r32) { wr_reg32(c, i->reg, (uint32_t)(int16_t)c->gpr[i->rm]); }
HANDLER(movsx_GvEw_m16) { wr_reg16(c, i->reg, mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(movsx_GvEw_m32) { wr_reg32(c, i->reg, (uint32_t)(int16_t)mem_rd16(c, i->seg, insn_ea(c, i))); }

HANDLER(cbw_16) { (void)i; wr_reg16(c, R_EAX, (uint16_t)(int8_t)c->gpr[R_EAX]); }
HANDLER(cbw_32) { (void)i; wr_reg32(c, R_EAX, (uint32_t)(int16_t)c->gpr[R_EAX]); }
HANDLER(cwd_16) { (void)i; wr_reg16(c, R_EDX, (int16_t)c->gpr[R_EAX] < 0 ? 0xffff : 0); }
HANDLER(cwd_32) { (void)i; wr_reg32(c, R_EDX, (int32_t)c->gpr[R_EAX] < 0 ? 0xffffffffu : 0); }

/* CMOVcc reads its source even when the condition is false (a memory
 * source can fault either way); a false 32-bit CMOV still writes nothing
 * visible in legacy modes. */
#define CMOV(cc, n)                                                                                                    \
    HANDLER(cmov##cc##_r16) { if (cond_eval(c, n)) wr_reg16(c, i->reg, (uint16_t)c->gpr[i->rm]); }                    \
    HANDLER(cmov##cc##_r32) { if (cond_eval(c, n)) wr_reg32(c, i->reg, (uint32_t)c->gpr[i->rm]); }                    \
    HANDLER(cmov##cc##_m16)                                                                                            \
    {                                                                                                                  \
        uint16_t v = mem_rd16(c, i->seg, insn_ea(c, i));                                                               \
        if (cond_eval(c, n))                                                                                           \
            wr_reg16(c, i->reg, v);                                                                                    \
    }                                                                                                                  \
    HANDLER(cmov##cc##_m32)                                                                                            \
    {                                                                                                                  \
        uint32_t v = mem_rd32(c, i->seg, insn_ea(c, i));                                                               \
        if (cond_eval(c, n))                                                                                           \
            wr_reg32(c, i->reg, v);                                                                                    \
    }                                                                                                                  \
    HANDLER(set##cc##_r) { *reg8(c, i->rm) = (uint8_t)cond_eval(c, n); }                                               \
    HANDLER(set##cc##_m) { mem_wr8(c, i->seg, insn_ea(c, i), (uint8_t)cond_eval(c, n)); }
CMOV(o, 0)
CMOV(no, 1)
CMOV(b, 2)
CMOV(ae, 3)
CMOV(e, 4)
CMOV(ne, 5)
CMOV(be, 6)
CMOV(a, 7)
CMOV(s, 8)
CMOV(ns, 9)
CMOV(p, 10)
CMOV(np, 11)
CMOV(l, 12)
CMOV(ge, 13)
CMOV(le, 14)
CMOV(g, 15)

/* MOV Ev, Sw: a register destination takes the selector zero-extended at
 * 32-bit operand size; memory always gets 16 bits. */
HANDLER(mov_EwSw_r16) { wr_reg16(c, i->rm, c->seg[i->reg].sel); }
HANDLER(mov_EwSw_r32) { wr_reg32(c, i->rm, c->seg[i->reg].sel); }
HANDLER(mov_EwSw_m16) { mem_wr16(c, i->seg, insn_ea(c, i), c->seg[i->reg].sel); }
HANDLER(mov_EwSw_m32) { mem_wr16(c, i->seg, insn_ea(c, i), c->seg[i->reg].sel); }

/* MOV Sw, Ew. Loading SS inhibits interrupts for one instruction. */
static void mov_sreg(struct cpu *c, int sreg, uint16_t sel)
{
    seg_load(c, sreg, sel);
    if (sreg == SEG_SS) {
        c->inhibit_irq = 1;
        cpu_event(c);
        cpu_stop(c); /* the shadow covers exactly the next instruction */
    }
}
HANDLER(mov_SwEw_r) { mov_sreg(c, i->reg, (uint16_t)c->gpr[i->rm]); }
HANDLER(mov_SwEw_m) { mov_sreg(c, i->reg, mem_rd16(c, i->seg, insn_ea(c, i))); }
