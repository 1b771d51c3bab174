/*
 * The soft TLB: filling it from a completed translation, flushing it
 * (whole, all but global pages, one page), and revoking write entries when
 * a page starts to hold code. See mmu.h for the entry format and why large
 * pages, global pages and data breakpoints are tracked beside the entries.
 */
#include <string.h>

#include "mmu/mmu.h"

void mmu_flush(struct mmu *m)
{
    /* All-ones bytes make every tag odd, hence TLB_INVALID-like: never a page address. */
    if (m->nglobal == 0 && m->nfill <= TLB_FILL_LOG) {
        /* Every valid entry is a logged non-global fill: clearing those is
         * much cheaper than the whole TLB on each CR3 load of a guest
         * without global pages. */
        for (unsigned k = 0; k < m->nfill; k++)
            memset(&m->tlb[m->fill_log[k] >> TLB_BITS][m->fill_log[k] & (TLB_SIZE - 1)], 0xff,
                   sizeof(struct tlb_entry));
    } else {
        memset(m->tlb, 0xff, sizeof(m->tlb));
        memset(m->global, 0, sizeof(m->global));
        m->nglobal = 0;
    }
    m->large_base = TLB_INVALID; /* with mask 0 no address matches */
    m->large_mask = 0;
    m->nfill = 0;
    m->flushes++;
}

void mmu_flush_nonglobal(struct mmu *m)
{
    if (m->nglobal == 0) {
        mmu_flush(m);
        return;
    }
    /* The large-page span is kept: global large pages may still be cached. */
    if (m->nfill <= TLB_FILL_LOG) {
        /* Every valid non-global entry was filled since the last flush and
         * logged; a logged slot refilled as global since is kept. */
        for (unsigned k = 0; k < m->nfill; k++) {
            unsigned mode = m->fill_log[k] >> TLB_BITS, i = m->fill_log[k] & (TLB_SIZE - 1);
            if (!m->global[mode][i])
                memset(&m->tlb[mode][i], 0xff, sizeof(struct tlb_entry));
        }
    } else {
        for (int mode = 0; mode < MMU_MODES; mode++)
            for (unsigned i = 0; i < TLB_SIZE; i++)
                if (!m->global[mode][i])
                    memset(&m->tlb[mode][i], 0xff, sizeof(struct tlb_entry));
    }
    m->nfill = 0;
    m->flushes++;
}

void mmu_flush_page(struct mmu *m, uint64_t lin)
{
    if ((lin & m->large_mask) == m->large_base) {
        /* Inside a cached large page: its 4 KiB pieces may sit in any slot. */
        mmu_flush(m);
        return;
    }
    uint64_t page = lin & ~0xfffull;
    for (int mode = 0; mode < MMU_MODES; mode++) {
        unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
        struct tlb_entry *e = &m->tlb[mode][idx];
        if ((e->tag_r & ~0xfffull) == page || (e->tag_w & ~0xfffull) == page || (e->tag_x & ~0xfffull) == page) {
            memset(e, 0xff, sizeof(*e));
            if (m->global[mode][idx]) {
                m->global[mode][idx] = 0;
                m->nglobal--;
            }
        }
    }
}

void mmu_set_watch(struct mmu *m, const uint32_t *pages, unsigned n)
{
    m->nwatch = n < 4 ? n : 4;
    for (unsigned k = 0; k < m->nwatch; k++)
        m->watch[k] = pages[k] & ~0xfffu;
    mmu_flush(m);
}

/* Widen the large-page span to cover [lin & ~(size-1), + size). */
static void note_large_page(struct mmu *m, uint64_t lin, uint64_t size)
{
    uint64_t base = lin & ~(size - 1);
    if (m->large_mask == 0) {
        m->large_base = base;
        m->large_mask = ~(size - 1) & 0xffffffffull;
        return;
    }
    uint64_t mask = m->large_mask & ~(size - 1);
    while ((base & mask) != (m->large_base & mask))
        mask <<= 1;
    mask &= 0xffffffffull;
    m->large_mask = mask;
    m->large_base &= mask;
}

static bool watched(const struct mmu *m, uint64_t page)
{
    for (unsigned k = 0; k < m->nwatch; k++)
        if (m->watch[k] == page)
            return true;
    return false;
}

void mmu_tlb_fill(struct mmu *m, struct phys *mem, uint64_t lin, const struct mmu_xlate *x, int mode)
{
    if (m->phys_gen != mem->gen) { /* the physical map or A20 changed: nothing cached is valid */
        mmu_flush(m);
        m->phys_gen = mem->gen;
    }
    uint64_t page = lin & ~0xfffull;
    uint64_t paddr = x->paddr & mem->a20_mask & ~0xfffull;
    unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
    struct tlb_entry *e = &m->tlb[mode][idx];
    bool ram_writable;
    uint8_t *host = phys_page_ptr(mem, paddr, &ram_writable);
    e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    m->phys[mode][idx] = paddr;
    if (m->global[mode][idx] != x->global) {
        m->global[mode][idx] = x->global;
        m->nglobal += x->global ? 1 : (unsigned)-1;
    }
    if (!x->global) {
        if (m->nfill < TLB_FILL_LOG)
            m->fill_log[m->nfill++] = (uint16_t)(mode << TLB_BITS | idx);
        else
            m->nfill = TLB_FILL_LOG + 1;
    }
    if (x->size > 4096)
        note_large_page(m, lin, x->size);
    if (!host)
        return; /* MMIO or open bus: always the slow path */
    /* With the A20 gate closed, page 0x100 aliases page 0: the host pointer
     * already reflects the masked address, so the addend maps both. */
    e->addend = (uintptr_t)host - (uintptr_t)page;
    if (x->exec_ok)
        e->tag_x = page;
    if (m->nwatch && watched(m, page))
        return; /* data breakpoint on this page: reads and writes go slow */
    e->tag_r = page;
    if (ram_writable && x->write_ok && x->dirty && !m->no_write_entries)
        e->tag_w = page;
}

void mmu_protect_code(struct mmu *m, struct phys *mem, uint64_t paddr)
{
    bool w;
    uint8_t *host = phys_page_ptr(mem, paddr & ~0xfffull, &w);
    if (!host)
        return;
    for (int mode = 0; mode < MMU_MODES; mode++) {
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            struct tlb_entry *e = &m->tlb[mode][i];
            if (!(e->tag_w & TLB_INVALID) && (uint8_t *)(e->addend + e->tag_w) == host)
                e->tag_w = TLB_INVALID;
        }
    }
}
