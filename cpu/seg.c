/*
 * Segment-register loads and the derived fast-check fields (seg.lo,
 * span_r, span_w) that cpu/mem.h relies on.
 */
#include "cpu/seg.h"

#include "cpu/mem.h"

uint32_t desc_addr(const struct cpu *c, uint16_t sel)
{
    const uint64_t base = (sel & 4) ? c->seg[SEG_LDTR].base : c->gdtr.base;
    return (uint32_t)(base + (sel & ~7u));
}

bool desc_fetch(struct cpu *c, uint16_t sel, struct desc *d)
{
    uint32_t limit;
    if (sel & 4) {
        if ((c->seg[SEG_LDTR].sel & ~3) == 0 || !(c->seg[SEG_LDTR].attr & SA_P))
            return false;
        limit = c->seg[SEG_LDTR].limit;
    } else {
        limit = c->gdtr.limit;
    }
    if ((uint32_t)(sel & ~7u) + 7 > limit)
        return false;
    uint64_t v = mem_sys_read(c, desc_addr(c, sel), 8);
    d->lo = (uint32_t)v;
    d->hi = (uint32_t)(v >> 32);
    return true;
}

void desc_set_accessed(struct cpu *c, uint16_t sel, struct desc *d)
{
    if (d->hi & (1u << 8))
        return;
    d->hi |= 1u << 8;
    mem_sys_write(c, desc_addr(c, sel) + 5, 1, (d->hi >> 8) & 0xff);
}

void seg_recompute(struct cpu *c, int sreg)
{
    seg_compute_checks(&c->seg[sreg], sreg, (c->cr0 & CR0_PE) && !(c->eflags & EFL_VM));
}

void seg_compute_checks(struct seg *s, int sreg, bool pm)
{
    s->lo = 0;
    if (!pm) {
        /* Real and v86 mode: no type checks, only the (cached) limit. */
        s->span_r = s->span_w = s->limit;
        return;
    }
    if (sreg >= SEG_LDTR) {
        s->span_r = s->span_w = s->limit;
        return;
    }
    bool usable = (s->attr & SA_P) && (sreg == SEG_CS || sreg == SEG_SS || (s->sel & ~3) != 0);
    if (!usable) {
        s->span_r = s->span_w = -1;
        return;
    }
    if (s->attr & SA_CODE) {
        s->span_r = (s->attr & SA_RW) ? (int64_t)s->limit : -1;
        s->span_w = -1;
        return;
    }
    int64_t hi = s->limit, lo = 0;
    if (s->attr & SA_CE) { /* expand-down: offsets above the limit */
        lo = (int64_t)s->limit + 1;
        hi = (s->attr & SA_DB) ? 0xffffffffll : 0xffff;
    }
    s->lo = (uint32_t)lo;
    s->span_r = hi - lo; /* negative when empty */
    s->span_w = (s->attr & SA_RW) ? s->span_r : -1;
}

void seg_set_cache(struct cpu *c, int sreg, uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr)
{
    struct seg *s = &c->seg[sreg];
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->attr = attr;
    seg_recompute(c, sreg);
    if (sreg == SEG_CS || sreg == SEG_SS)
        cpu_update_mode(c);
}

void seg_load_real(struct cpu *c, int sreg, uint16_t sel)
{
    struct seg *s = &c->seg[sreg];
    if (c->eflags & EFL_VM) {
        /* v86: every load makes a 64 KiB, DPL 3, read/write data segment. */
        seg_set_cache(c, sreg, sel, (uint32_t)sel << 4, 0xffff, SA_P | SA_S | SA_RW | SA_A | (3 << SA_DPL_SHIFT));
        return;
    }
    /* Real mode keeps the cached limit and attributes ("unreal mode"). */
    seg_set_cache(c, sreg, sel, (uint32_t)sel << 4, s->limit, s->attr);
}

void seg_load_desc(struct cpu *c, int sreg, uint16_t sel, struct desc d)
{
    seg_set_cache(c, sreg, sel, desc_base(d), desc_limit(d), desc_attr(d));
}

void seg_load(struct cpu *c, int sreg, uint16_t sel)
{
    if (!(c->cr0 & CR0_PE) || (c->eflags & EFL_VM)) {
        seg_load_real(c, sreg, sel);
        return;
    }
    int rpl = sel & 3, cpl = c->cpl;
    struct desc d;
    if (sreg == SEG_SS) {
        if ((sel & ~3) == 0)
            cpu_fault(c, EXC_GP, 0);
        if (!desc_fetch(c, sel, &d))
            cpu_fault(c, EXC_GP, sel & ~3);
        if (rpl != cpl || !desc_is_data(d) || !(desc_type(d) & 2) || desc_dpl(d) != cpl)
            cpu_fault(c, EXC_GP, sel & ~3);
        if (!desc_present(d))
            cpu_fault(c, EXC_SS, sel & ~3);
        desc_set_accessed(c, sel, &d);
        seg_load_desc(c, sreg, sel, d);
        return;
    }
    if ((sel & ~3) == 0) {
        /* A null selector loads an unusable segment: faults come at use. */
        seg_set_cache(c, sreg, sel, 0, 0, 0);
        return;
    }
    if (!desc_fetch(c, sel, &d))
        cpu_fault(c, EXC_GP, sel & ~3);
    if (!desc_s(d) || (desc_is_code(d) && !(desc_type(d) & 2)))
        cpu_fault(c, EXC_GP, sel & ~3);
    bool conforming_code = desc_is_code(d) && (desc_type(d) & 4);
    if (!conforming_code && (rpl > desc_dpl(d) || cpl > desc_dpl(d)))
        cpu_fault(c, EXC_GP, sel & ~3);
    if (!desc_present(d))
        cpu_fault(c, EXC_NP, sel & ~3);
    desc_set_accessed(c, sel, &d);
    seg_load_desc(c, sreg, sel, d);
}
