/*
 * Segmentation system instructions: LAR, LSL, VERR, VERW (descriptor
 * queries that report through ZF instead of faulting), ARPL, SLDT, STR,
 * LLDT and LTR (Intel SDM Vol. 2 pseudocode). None of them exists in real
 * or virtual-8086 mode (#UD); LLDT and LTR need CPL 0.
 *
 * A query fails (ZF = 0, destination unchanged) for a null selector, an
 * index beyond the GDT/LDT limit, a descriptor type the instruction does
 * not report, or one the current privilege may not see (DPL < CPL or
 * DPL < RPL, except conforming code). Page faults on the descriptor table
 * are real faults.
 */
#include "cpu/ops/ops.h"
#include "cpu/seg.h"

static void need_pm(struct cpu *c)
{
    if (real_or_v86(c))
        cpu_fault(c, EXC_UD, NO_ERRCODE);
}

/* Replace ZF, keeping the other arithmetic flags. */
static void set_zf(struct cpu *c, bool z)
{
    uint32_t f = cpu_get_eflags(c) & EFL_ARITH & ~EFL_ZF;
    lf_set(c, z ? (f | EFL_ZF) : f);
}

/* The selector operand of LAR, LSL, VERR, VERW, LLDT, LTR (always 16 bits). */
static uint16_t sel_operand(struct cpu *c, const struct insn *i)
{
    return (i->pfx & P_MEM) ? mem_rd16(c, i->seg, insn_ea(c, i)) : (uint16_t)c->gpr[i->rm];
}

/* Fetch a descriptor the current privilege may inspect. */
static bool visible(struct cpu *c, uint16_t sel, struct desc *d)
{
    if ((sel & ~3) == 0 || !desc_fetch(c, sel, d))
        return false;
    if (desc_conforming(*d))
        return true;
    return desc_dpl(*d) >= c->cpl && desc_dpl(*d) >= (sel & 3);
}

/* System types LAR reports: TSSs (both, busy or not), LDT, call and task gates. */
static bool lar_type_ok(struct desc d)
{
    static const uint16_t ok = 1u << DT_TSS16 | 1u << DT_LDT | 1u << DT_TSS16_BUSY | 1u << DT_CALLGATE16 |
                               1u << DT_TASKGATE | 1u << DT_TSS32 | 1u << DT_TSS32_BUSY | 1u << DT_CALLGATE32;
    return desc_s(d) || (ok >> desc_type(d) & 1);
}
/* LSL: only descriptors that have a limit (segments, TSSs, LDT). */
static bool lsl_type_ok(struct desc d)
{
    static const uint16_t ok =
        1u << DT_TSS16 | 1u << DT_LDT | 1u << DT_TSS16_BUSY | 1u << DT_TSS32 | 1u << DT_TSS32_BUSY;
    return desc_s(d) || (ok >> desc_type(d) & 1);
}

/* LAR: the access-rights dword masked to 00FFFF00 (type, S, DPL, P, limit
 * 19:16, AVL, L, D/B, G). The SDM leaves bits 19:16 undefined; P6 returns
 * the limit bits there (QEMU clears them). 16-bit: only FF00. */
static void lar_common(struct cpu *c, const struct insn *i, int size)
{
    need_pm(c);
    struct desc d;
    uint16_t sel = sel_operand(c, i);
    bool ok = visible(c, sel, &d) && lar_type_ok(d);
    if (ok) {
        if (size == 4)
            wr_reg32(c, i->reg, d.hi & 0x00ffff00u);
        else
            wr_reg16(c, i->reg, (uint16_t)(d.hi & 0xff00u));
    }
    set_zf(c, ok);
}
HANDLER(lar_r16) { lar_common(c, i, 2); }
HANDLER(lar_r32) { lar_common(c, i, 4); }
HANDLER(lar_m16) { lar_common(c, i, 2); }
HANDLER(lar_m32) { lar_common(c, i, 4); }

/* LSL: the byte-granular (scaled) limit. */
static void lsl_common(struct cpu *c, const struct insn *i, int size)
{
    need_pm(c);
    struct desc d;
    uint16_t sel = sel_operand(c, i);
    bool ok = visible(c, sel, &d) && lsl_type_ok(d);
    if (ok) {
        if (size == 4)
            wr_reg32(c, i->reg, desc_limit(d));
        else
            wr_reg16(c, i->reg, (uint16_t)desc_limit(d));
    }
    set_zf(c, ok);
}
HANDLER(lsl_r16) { lsl_common(c, i, 2); }
HANDLER(lsl_r32) { lsl_common(c, i, 4); }
HANDLER(lsl_m16) { lsl_common(c, i, 2); }
HANDLER(lsl_m32) { lsl_common(c, i, 4); }

/* VERR: a readable code or data segment visible at this privilege. */
static void verr_common(struct cpu *c, const struct insn *i)
{
    need_pm(c);
    struct desc d;
    uint16_t sel = sel_operand(c, i);
    bool ok = visible(c, sel, &d) && desc_s(d) && (!desc_is_code(d) || (desc_type(d) & 2));
    set_zf(c, ok);
}
HANDLER(verr_r) { verr_common(c, i); }
HANDLER(verr_m) { verr_common(c, i); }

/* VERW: a writable data segment (never code, so no conforming exemption). */
static void verw_common(struct cpu *c, const struct insn *i)
{
    need_pm(c);
    struct desc d;
    uint16_t sel = sel_operand(c, i);
    bool ok = visible(c, sel, &d) && desc_is_data(d) && (desc_type(d) & 2);
    set_zf(c, ok);
}
HANDLER(verw_r) { verw_common(c, i); }
HANDLER(verw_m) { verw_common(c, i); }

/* ARPL Ew, Gw: raise the destination selector's RPL to the source's. */
HANDLER(arpl_r)
{
    need_pm(c);
    uint16_t dst = (uint16_t)c->gpr[i->rm], src = (uint16_t)c->gpr[i->reg];
    bool raise = (dst & 3) < (src & 3);
    if (raise)
        wr_reg16(c, i->rm, (uint16_t)((dst & ~3) | (src & 3)));
    set_zf(c, raise);
}
HANDLER(arpl_m)
{
    need_pm(c);
    uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 2);
    uint16_t dst = ld16(p), src = (uint16_t)c->gpr[i->reg];
    bool raise = (dst & 3) < (src & 3);
    if (raise)
        st16(p, (uint16_t)((dst & ~3) | (src & 3)));
    mem_rmw_done(c, p);
    set_zf(c, raise);
}

/* SLDT/STR: a 32-bit register destination is zero-extended (P6 and
 * later); a memory destination is always a word. */
#define STORE_SEL(stem, sreg)                                                                                          \
    HANDLER(stem##_r16) { need_pm(c); wr_reg16(c, i->rm, c->seg[sreg].sel); }                                          \
    HANDLER(stem##_r32) { need_pm(c); wr_reg32(c, i->rm, c->seg[sreg].sel); }                                          \
    HANDLER(stem##_m16) { need_pm(c); mem_wr16(c, i->seg, insn_ea(c, i), c->seg[sreg].sel); }                          \
    HANDLER(stem##_m32) { need_pm(c); mem_wr16(c, i->seg, insn_ea(c, i), c->seg[sreg].sel); }
STORE_SEL(sldt, SEG_LDTR)
STORE_SEL(str, SEG_TR)

static void need_cpl0(struct cpu *c)
{
    need_pm(c);
    if (c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
}

/* LLDT: a present LDT descriptor in the GDT, or null (LDT unusable). */
static void lldt_common(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    seg_load_ldt(c, sel_operand(c, i), EXC_GP, EXC_NP, 0);
}
HANDLER(lldt_r) { lldt_common(c, i); }
HANDLER(lldt_m) { lldt_common(c, i); }

/* LTR: an available TSS in the GDT, which becomes busy. */
static void ltr_common(struct cpu *c, const struct insn *i)
{
    need_cpl0(c);
    uint16_t sel = sel_operand(c, i);
    struct desc d;
    if ((sel & ~3) == 0)
        cpu_fault(c, EXC_GP, 0);
    if (!desc_fetch_gdt(c, sel, &d) || !(desc_is_sys(d, DT_TSS16) || desc_is_sys(d, DT_TSS32)))
        cpu_fault(c, EXC_GP, sel_code(sel, 0));
    if (!desc_present(d))
        cpu_fault(c, EXC_NP, sel_code(sel, 0));
    d.hi |= (uint32_t)DT_BUSY << 8;
    desc_write_type(c, sel, d);
    seg_load_desc(c, SEG_TR, sel, d);
}
HANDLER(ltr_r) { ltr_common(c, i); }
HANDLER(ltr_m) { ltr_common(c, i); }
