/*
 * System-register instructions: the descriptor-table registers (SGDT
 * SIDT LGDT LIDT), the machine status word (SMSW LMSW CLTS), MOV to and
 * from CR0 CR2 CR3 CR4, TLB and cache maintenance (INVLPG INVD WBINVD),
 * and the instructions that only fault here (UD0 UD1 UD2; RSM, since
 * Kestrel has no SMM).
 *
 * Control-register writes check first and commit last: every #GP (a
 * reserved CR4 bit, PG without PE, NW without CD, a PAE PDPTE that fails
 * to load) leaves CR0-CR4 and the MMU untouched. A change of the paging
 * controls (CR0.PG/WP, CR4.PSE/PAE/PGE) reloads the MMU and drops every
 * cached translation including the jump cache; a CR3 load keeps global
 * pages while CR4.PGE is on. A change of CR0.PE or PG changes the mode
 * word, so it is recomputed; the handlers are A_END and call cpu_stop(), so
 * nothing decoded under the old state runs after them.
 *
 * The table marks most of these A_PRIV but the check is the handler's:
 * CPL is 0 in real mode and 3 in virtual-8086 mode, so one comparison
 * covers every mode.
 */
#include "cpu/ops/ops.h"
#include "cpu/seg.h"
#include "cpu/sysregs.h"

#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits of the features CPUID reports (cpu/ops/cpuid.c); the others
 * (VME, PVI, MCE, OSFXSR, OSXMMEXCPT and everything above) are reserved. */
#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE)

static inline void need_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
}

/* Offset of the second part of a pseudo-descriptor: wraps at 64 KiB with
 * a 16-bit address size, like any multi-part memory operand. */
static inline uint32_t ea_plus(const struct insn *i, uint32_t ea, uint32_t n)
{
    return asize32(i) ? ea + n : ((ea + n) & 0xffff);
}

/* ---- Control registers ---- */

void cpu_write_cr0(struct cpu *c, uint32_t val)
{
    /* Reserved bits stay clear and ET stays set on P6 (SDM Vol. 2, MOV CRn). */
    val = (val & CR0_VALID) | CR0_ET;
    if ((val & CR0_PG) && !(val & CR0_PE))
        cpu_fault(c, EXC_GP, 0);
    if ((val & CR0_NW) && !(val & CR0_CD))
        cpu_fault(c, EXC_GP, 0);
    uint32_t diff = c->cr0 ^ val;
    if ((diff & CR0_PG) || ((diff & (CR0_CD | CR0_NW)) && (val & CR0_PG) && (c->cr4 & CR4_PAE))) {
        /* These reload the PDPTEs under PAE paging (SDM Vol. 3 4.4.1). */
        if (!mmu_set_paging(&c->mmu, c->mem, val, c->cr3, c->cr4, c->efer))
            cpu_fault(c, EXC_GP, 0);
        cpu_tlb_flush(c);
    } else if (diff & CR0_WP) {
        c->mmu.wp = val & CR0_WP;
        cpu_tlb_flush(c);
    }
    c->cr0 = val;
    if (diff & CR0_PE)
        for (int s = 0; s < SEG_COUNT; s++)
            seg_recompute(c, s);
    if (diff & (CR0_PE | CR0_PG))
        cpu_update_mode(c);
    cpu_stop(c);
}

void cpu_write_cr4(struct cpu *c, uint32_t val)
{
    if (val & ~CR4_VALID)
        cpu_fault(c, EXC_GP, 0);
    uint32_t diff = c->cr4 ^ val;
    if (diff & (CR4_PSE | CR4_PAE | CR4_PGE)) {
        /* Toggling PGE flushes global entries too (SDM Vol. 3 4.10.4.1). */
        if (!mmu_set_paging(&c->mmu, c->mem, c->cr0, c->cr3, val, c->efer))
            cpu_fault(c, EXC_GP, 0);
        cpu_tlb_flush(c);
    }
    c->cr4 = val;
    if (diff & CR4_DE)
        dbg_update(c);
    cpu_stop(c);
}

void cpu_write_cr3(struct cpu *c, uint32_t val)
{
    if (!mmu_load_cr3(&c->mmu, c->mem, val))
        cpu_fault(c, EXC_GP, 0);
    c->cr3 = val;
    cpu_lin_bump(c);
    /* Translations changed: the jump cache is stale but for global pages
     * (interp.c), which only survive when CR4.PGE is on. */
    if (c->mmu.pge && blkcache_jmp_cr3(c->cache))
        c->stats.jmp_cache_cr3++;
    else
        cpu_jmp_flush(c);
    c->stats.tlb_flushes++;
    cpu_stop(c);
}

HANDLER(mov_RdCd)
{
    need_cpl0(c);
    uint32_t v;
    switch (i->reg) {
    case 0: v = c->cr0; break;
    case 2: v = c->cr2; break;
    case 3: v = c->cr3; break;
    default: v = c->cr4; break; /* the decoder turns CR1, CR5-CR7 into #UD */
    }
    wr_reg32(c, i->rm, v);
}

HANDLER(mov_CdRd)
{
    need_cpl0(c);
    uint32_t v = rd_reg32(c, i->rm);
    switch (i->reg) {
    case 0: cpu_write_cr0(c, v); break;
    case 2: c->cr2 = v; break;
    case 3: cpu_write_cr3(c, v); break;
    default: cpu_write_cr4(c, v); break;
    }
}

/* ---- Machine status word ---- */

HANDLER(smsw_r16) { wr_reg16(c, i->rm, (uint16_t)c->cr0); }
/* With a 32-bit register the whole of CR0 is stored (P6 and later). */
HANDLER(smsw_r32) { wr_reg32(c, i->rm, c->cr0); }
HANDLER(smsw_m16) { mem_wr16(c, i->seg, insn_ea(c, i), (uint16_t)c->cr0); }
HANDLER(smsw_m32) { mem_wr16(c, i->seg, insn_ea(c, i), (uint16_t)c->cr0); }

/* LMSW loads PE, MP, EM and TS; it can set PE but never clear it. */
static void lmsw(struct cpu *c, uint16_t v)
{
    need_cpl0(c);
    uint32_t msw = CR0_PE | CR0_MP | CR0_EM | CR0_TS;
    cpu_write_cr0(c, (c->cr0 & ~msw) | (v & msw) | (c->cr0 & CR0_PE));
}
HANDLER(lmsw_r) { lmsw(c, rd_reg16(c, i->rm)); }
HANDLER(lmsw_m)
{
    need_cpl0(c);
    lmsw(c, mem_rd16(c, i->seg, insn_ea(c, i)));
}

HANDLER(clts)
{
    (void)i;
    need_cpl0(c);
    c->cr0 &= ~CR0_TS;
}

/* ---- Descriptor-table registers ---- */

/* SGDT/SIDT store the 16-bit limit and the full 32-bit base whatever the
 * operand size (SDM Vol. 2, SGDT "Operation": "Full 32-bit base address
 * stored"). Older manuals said a 16-bit operand stores 24 bits and a zero
 * byte; QEMU does that. */
static void store_dtr(struct cpu *c, const struct insn *i, const struct dtr *d)
{
    uint32_t ea = insn_ea(c, i);
    mem_wr16(c, i->seg, ea, (uint16_t)d->limit);
    mem_wr32(c, i->seg, ea_plus(i, ea, 2), (uint32_t)d->base);
}
HANDLER(sgdt_16) { store_dtr(c, i, &c->gdtr); }
HANDLER(sgdt_32) { store_dtr(c, i, &c->gdtr); }
HANDLER(sidt_16) { store_dtr(c, i, &c->idtr); }
HANDLER(sidt_32) { store_dtr(c, i, &c->idtr); }

/* LGDT/LIDT: with a 16-bit operand only 24 bits of base are loaded. */
static void load_dtr(struct cpu *c, const struct insn *i, struct dtr *d, bool o32)
{
    need_cpl0(c);
    uint32_t ea = insn_ea(c, i);
    uint16_t limit = mem_rd16(c, i->seg, ea);
    uint32_t base = mem_rd32(c, i->seg, ea_plus(i, ea, 2));
    d->limit = limit;
    d->base = o32 ? base : (base & 0xffffff);
}
HANDLER(lgdt_16) { load_dtr(c, i, &c->gdtr, false); }
HANDLER(lgdt_32) { load_dtr(c, i, &c->gdtr, true); }
HANDLER(lidt_16) { load_dtr(c, i, &c->idtr, false); }
HANDLER(lidt_32) { load_dtr(c, i, &c->idtr, true); }

/* ---- TLB and caches ---- */

/* INVLPG takes the operand's linear address with no limit or access check. */
HANDLER(invlpg)
{
    need_cpl0(c);
    cpu_tlb_flush_page(c, (uint32_t)(c->seg[i->seg].base + insn_ea(c, i)));
    cpu_stop(c);
}

/* INVD and WBINVD: there is no cache to write back or drop. */
HANDLER(wbinvd)
{
    (void)i;
    need_cpl0(c);
}

/* ---- Always-faulting instructions ---- */

HANDLER(ud2)
{
    (void)i;
    cpu_fault(c, EXC_UD, NO_ERRCODE);
}

/* RSM is valid only in system-management mode, which Kestrel lacks. */
HANDLER(rsm)
{
    (void)i;
    cpu_fault(c, EXC_UD, NO_ERRCODE);
}
