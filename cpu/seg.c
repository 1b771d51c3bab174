/*
 * Segment-register loads with their protection checks (Intel SDM Vol. 3,
 * 5.5-5.10 and the MOV/POP Sreg, LLDT pseudocode), and the derived
 * fast-check fields (seg.lo, span_r, span_w) that cpu/mem.h relies on.
 *
 * Every function here checks everything first and only then writes the
 * segment register (and the descriptor's accessed bit), so a fault leaves
 * the register as it was.
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
        /* LLDT with a null selector leaves the LDT unusable (P clear); the
         * reset state (selector 0, base 0, limit FFFFh, present) is usable. */
        if (!(c->seg[SEG_LDTR].attr & SA_P))
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

bool desc_fetch_gdt(struct cpu *c, uint16_t sel, struct desc *d)
{
    return !(sel & 4) && desc_fetch(c, sel, d);
}

void desc_write_type(struct cpu *c, uint16_t sel, struct desc d)
{
    mem_sys_write(c, desc_addr(c, sel) + 5, 1, (d.hi >> 8) & 0xff);
}

void desc_set_accessed(struct cpu *c, uint16_t sel, struct desc *d)
{
    if (d->hi & (1u << 8))
        return;
    d->hi |= 1u << 8;
    mem_sys_write(c, desc_addr(c, sel) + 5, 1, (d->hi >> 8) & 0xff);
}

bool seg_is_flat(const struct seg *s)
{
    return s->base == 0 && s->lo == 0 && s->span_r == 0xffffffffll && s->span_w == 0xffffffffll;
}

void seg_recompute(struct cpu *c, int sreg)
{
    seg_compute_checks(&c->seg[sreg], sreg, (c->cr0 & CR0_PE) && !(c->eflags & EFL_VM));
    if (sreg >= SEG_LDTR)
        return;
    uint32_t m = seg_is_flat(&c->seg[sreg]) ? c->mode | MODE_FLAT(sreg) : c->mode & ~MODE_FLAT(sreg);
    if (m != c->mode) {
        /* Translated code after this instruction assumed the old flatness:
         * leave the block (blocks are keyed by the mode word). */
        c->mode = m;
        cpu_ctx_bump(c);
        cpu_stop(c);
    }
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
    /* Jump-cache hits do not compare the CS limit (blocks decoded under
     * another limit fault differently): drop them when it changes. */
    if (sreg == SEG_CS && limit != s->limit)
        cpu_jmp_flush(c);
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

void seg_load_data(struct cpu *c, int sreg, uint16_t sel, int vec, int ext)
{
    struct desc d;
    if ((sel & ~3) == 0) {
        /* A null selector loads an unusable segment: faults come at use. */
        seg_set_cache(c, sreg, sel, 0, 0, 0);
        return;
    }
    if (!desc_fetch(c, sel, &d))
        cpu_fault(c, vec, sel_code(sel, ext));
    /* Data, or readable code. */
    if (!desc_s(d) || (desc_is_code(d) && !(desc_type(d) & 2)))
        cpu_fault(c, vec, sel_code(sel, ext));
    /* Conforming code is usable from any privilege. */
    if (!desc_conforming(d) && ((sel & 3) > desc_dpl(d) || c->cpl > desc_dpl(d)))
        cpu_fault(c, vec, sel_code(sel, ext));
    if (!desc_present(d))
        cpu_fault(c, EXC_NP, sel_code(sel, ext));
    desc_set_accessed(c, sel, &d);
    seg_load_desc(c, sreg, sel, d);
}

struct desc seg_check_stack(struct cpu *c, uint16_t sel, int cpl, int vec, int null_code, int ext)
{
    struct desc d;
    if ((sel & ~3) == 0)
        cpu_fault(c, vec, null_code);
    if (!desc_fetch(c, sel, &d))
        cpu_fault(c, vec, sel_code(sel, ext));
    if ((sel & 3) != cpl || !desc_is_data(d) || !(desc_type(d) & 2) || desc_dpl(d) != cpl)
        cpu_fault(c, vec, sel_code(sel, ext));
    if (!desc_present(d))
        cpu_fault(c, EXC_SS, sel_code(sel, ext));
    return d;
}

void seg_load_ldt(struct cpu *c, uint16_t sel, int vec, int np_vec, int ext)
{
    struct desc d;
    if ((sel & ~3) == 0) {
        /* Unusable: references through TI=1 fail until the next LLDT. */
        seg_set_cache(c, SEG_LDTR, sel, 0, 0, 0);
        return;
    }
    if (!desc_fetch_gdt(c, sel, &d) || !desc_is_sys(d, DT_LDT))
        cpu_fault(c, vec, sel_code(sel, ext));
    if (!desc_present(d))
        cpu_fault(c, np_vec, sel_code(sel, ext));
    seg_load_desc(c, SEG_LDTR, sel, d);
}

void seg_drop_inaccessible(struct cpu *c)
{
    static const int sregs[] = { SEG_ES, SEG_FS, SEG_GS, SEG_DS };
    for (unsigned k = 0; k < sizeof(sregs) / sizeof(sregs[0]); k++) {
        struct seg *s = &c->seg[sregs[k]];
        bool conforming = (s->attr & (SA_S | SA_CODE | SA_CE)) == (SA_S | SA_CODE | SA_CE);
        int dpl = (s->attr & SA_DPL) >> SA_DPL_SHIFT;
        /* The cached DPL decides (SDM IRET/RET pseudocode); the selector
         * becomes 0 and the segment unusable. */
        if (!conforming && dpl < c->cpl)
            seg_set_cache(c, sregs[k], 0, s->base, s->limit, (uint16_t)(s->attr & ~SA_P));
    }
}

void seg_load(struct cpu *c, int sreg, uint16_t sel)
{
    if (!(c->cr0 & CR0_PE) || (c->eflags & EFL_VM)) {
        seg_load_real(c, sreg, sel);
        return;
    }
    if (sreg == SEG_SS) {
        struct desc d = seg_check_stack(c, sel, c->cpl, EXC_GP, 0, 0);
        desc_set_accessed(c, sel, &d);
        seg_load_desc(c, sreg, sel, d);
        return;
    }
    seg_load_data(c, sreg, sel, EXC_GP, 0);
}
