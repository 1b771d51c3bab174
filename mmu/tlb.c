/*
 * Filling the soft TLB from a completed translation, and revoking write
 * entries when a page starts to hold code. See mmu.h for the entry format.
 */
#include "mmu/mmu.h"

void mmu_tlb_fill(struct mmu *m, struct phys *mem, uint64_t lin, const struct mmu_xlate *x, int mode)
{
    if (m->phys_gen != mem->gen) { /* the physical map or A20 changed: nothing cached is valid */
        mmu_flush(m);
        m->phys_gen = mem->gen;
    }
    uint64_t page = lin & ~0xfffull;
    uint64_t paddr = x->paddr & mem->a20_mask & ~0xfffull;
    struct tlb_entry *e = tlb_entry_for(m->tlb[mode], lin);
    bool ram_writable;
    uint8_t *host = phys_page_ptr(mem, paddr, &ram_writable);
    e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    m->phys[mode][(lin >> 12) & (TLB_SIZE - 1)] = paddr;
    if (!host)
        return; /* MMIO or open bus: always the slow path */
    /* With the A20 gate closed, page 0x100 aliases page 0: the host pointer
     * already reflects the masked address, so the addend maps both. */
    e->addend = (uintptr_t)host - (uintptr_t)page;
    e->tag_r = page;
    if (x->exec_ok)
        e->tag_x = page;
    if (ram_writable && x->write_ok && x->dirty)
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
