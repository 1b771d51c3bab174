/*
 * Integer instructions that fit no larger family: XLAT, CMPXCHG,
 * CMPXCHG8B, XADD, BOUND.
 *
 * CMPXCHG and CMPXCHG8B with a memory operand always write it (the old
 * value when the comparison fails), as Intel CPUs do under LOCK; so they
 * map the operand for writing first and a read-only page faults either
 * way. XADD writes the destination last, so XADD r, r with the same
 * register leaves the sum.
 */
#include "cpu/ops/ops.h"

/* AL = [seg:eBX + AL], eBX by address size. */
HANDLER(xlat)
{
    uint32_t ea = (uint32_t)c->gpr[R_EBX] + (uint8_t)c->gpr[R_EAX];
    if (!asize32(i))
        ea &= 0xffff;
    *reg8(c, 0) = mem_rd8(c, i->seg, ea);
}

/* ---- CMPXCHG: flags of CMP accumulator, destination ---- */

static inline void cmp_flags8(struct cpu *c, uint8_t a, uint8_t b)
{
    uint8_t r = (uint8_t)(a - b);
    lf_result8(c, r, LF_AUX(LF_SUB_CV(a, b, r), 8));
}
static inline void cmp_flags16(struct cpu *c, uint16_t a, uint16_t b)
{
    uint16_t r = (uint16_t)(a - b);
    lf_result16(c, r, LF_AUX(LF_SUB_CV(a, b, r), 16));
}
static inline void cmp_flags32(struct cpu *c, uint32_t a, uint32_t b)
{
    uint32_t r = a - b;
    lf_result32(c, r, LF_AUX(LF_SUB_CV(a, b, r), 32));
}

HANDLER(cmpxchg_EbGb_r)
{
    uint8_t *d = reg8(c, i->rm), a = (uint8_t)c->gpr[R_EAX], v = *d;
    cmp_flags8(c, a, v);
    if (a == v)
        *d = *reg8(c, i->reg);
    else
        *reg8(c, 0) = v;
}
HANDLER(cmpxchg_EbGb_m)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 1);
    uint8_t a = (uint8_t)c->gpr[R_EAX], v = *p;
    *p = a == v ? *reg8(c, i->reg) : v;
    mem_rmw_done(c, p);
    cmp_flags8(c, a, v);
    if (a != v)
        *reg8(c, 0) = v;
}
HANDLER(cmpxchg_EvGv_r16)
{
    uint16_t a = (uint16_t)c->gpr[R_EAX], v = (uint16_t)c->gpr[i->rm];
    cmp_flags16(c, a, v);
    if (a == v)
        wr_reg16(c, i->rm, (uint16_t)c->gpr[i->reg]);
    else
        wr_reg16(c, R_EAX, v);
}
HANDLER(cmpxchg_EvGv_r32)
{
    uint32_t a = (uint32_t)c->gpr[R_EAX], v = (uint32_t)c->gpr[i->rm];
    cmp_flags32(c, a, v);
    if (a == v)
        wr_reg32(c, i->rm, (uint32_t)c->gpr[i->reg]);
    else
        wr_reg32(c, R_EAX, v);
}
HANDLER(cmpxchg_EvGv_m16)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 2);
    uint16_t a = (uint16_t)c->gpr[R_EAX], v = ld16(p);
    st16(p, a == v ? (uint16_t)c->gpr[i->reg] : v);
    mem_rmw_done(c, p);
    cmp_flags16(c, a, v);
    if (a != v)
        wr_reg16(c, R_EAX, v);
}
HANDLER(cmpxchg_EvGv_m32)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 4);
    uint32_t a = (uint32_t)c->gpr[R_EAX], v = ld32(p);
    st32(p, a == v ? (uint32_t)c->gpr[i->reg] : v);
    mem_rmw_done(c, p);
    cmp_flags32(c, a, v);
    if (a != v)
        wr_reg32(c, R_EAX, v);
}

/* CMPXCHG8B m64: compare EDX:EAX with m64; ZF is the only flag changed. */
HANDLER(cmpxchg8b)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 8);
    uint64_t v, a = (uint64_t)(uint32_t)c->gpr[R_EDX] << 32 | (uint32_t)c->gpr[R_EAX];
    memcpy(&v, p, 8);
    bool eq = v == a;
    uint64_t w = eq ? (uint64_t)(uint32_t)c->gpr[R_ECX] << 32 | (uint32_t)c->gpr[R_EBX] : v;
    memcpy(p, &w, 8);
    mem_rmw_done(c, p);
    lf_set(c, (lf_get(c) & ~EFL_ZF) | (eq ? EFL_ZF : 0));
    if (!eq) {
        wr_reg32(c, R_EAX, (uint32_t)v);
        wr_reg32(c, R_EDX, (uint32_t)(v >> 32));
    }
}

/* ---- XADD: dest = dest + src, src = old dest ---- */

HANDLER(xadd_EbGb_r)
{
    uint8_t d = *reg8(c, i->rm), s = *reg8(c, i->reg), r = (uint8_t)(d + s);
    lf_result8(c, r, LF_AUX(LF_ADD_CV(d, s, r), 8));
    *reg8(c, i->reg) = d;
    *reg8(c, i->rm) = r;
}
HANDLER(xadd_EbGb_m)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 1);
    uint8_t d = *p, s = *reg8(c, i->reg), r = (uint8_t)(d + s);
    *p = r;
    mem_rmw_done(c, p);
    lf_result8(c, r, LF_AUX(LF_ADD_CV(d, s, r), 8));
    *reg8(c, i->reg) = d;
}
HANDLER(xadd_EvGv_r16)
{
    uint16_t d = (uint16_t)c->gpr[i->rm], s = (uint16_t)c->gpr[i->reg], r = (uint16_t)(d + s);
    lf_result16(c, r, LF_AUX(LF_ADD_CV(d, s, r), 16));
    wr_reg16(c, i->reg, d);
    wr_reg16(c, i->rm, r);
}
HANDLER(xadd_EvGv_r32)
{
    uint32_t d = (uint32_t)c->gpr[i->rm], s = (uint32_t)c->gpr[i->reg], r = d + s;
    lf_result32(c, r, LF_AUX(LF_ADD_CV(d, s, r), 32));
    wr_reg32(c, i->reg, d);
    wr_reg32(c, i->rm, r);
}
HANDLER(xadd_EvGv_m16)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 2);
    uint16_t d = ld16(p), s = (uint16_t)c->gpr[i->reg], r = (uint16_t)(d + s);
    st16(p, r);
    mem_rmw_done(c, p);
    lf_result16(c, r, LF_AUX(LF_ADD_CV(d, s, r), 16));
    wr_reg16(c, i->reg, d);
}
HANDLER(xadd_EvGv_m32)
{
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 4);
    uint32_t d = ld32(p), s = (uint32_t)c->gpr[i->reg], r = d + s;
    st32(p, r);
    mem_rmw_done(c, p);
    lf_result32(c, r, LF_AUX(LF_ADD_CV(d, s, r), 32));
    wr_reg32(c, i->reg, d);
}

/* ---- BOUND: #BR unless lower <= Gv <= upper (signed) ---- */

HANDLER(bound_16)
{
    uint32_t ea = insn_ea(c, i), ea2 = asize32(i) ? ea + 2 : (ea + 2) & 0xffff;
    int16_t lo = (int16_t)mem_rd16(c, i->seg, ea), hi = (int16_t)mem_rd16(c, i->seg, ea2);
    int16_t v = (int16_t)c->gpr[i->reg];
    if (v < lo || v > hi)
        cpu_fault(c, EXC_BR, NO_ERRCODE);
}
HANDLER(bound_32)
{
    uint32_t ea = insn_ea(c, i), ea2 = asize32(i) ? ea + 4 : (ea + 4) & 0xffff;
    int32_t lo = (int32_t)mem_rd32(c, i->seg, ea), hi = (int32_t)mem_rd32(c, i->seg, ea2);
    int32_t v = (int32_t)c->gpr[i->reg];
    if (v < lo || v > hi)
        cpu_fault(c, EXC_BR, NO_ERRCODE);
}
