/*
 * Slow paths of guest memory access: TLB refill through the page walker,
 * accesses that cross a page (both pages are translated, and so checked,
 * before any byte moves), MMIO and code pages (through phys_read/write),
 * and the read-modify-write bounce buffer.
 */
#include "cpu/mem.h"

#include "cpu/except.h"
#include "cpu/sysregs.h"

static inline void note(struct cpu *c, uint64_t pa, int size, bool write)
{
    if (unlikely(c->access_hook))
        c->access_hook(c->access_ctx, pa, size, write);
}

_Noreturn void seg_fault(struct cpu *c, int s, uint32_t ea, int size, int write)
{
    (void)ea, (void)size, (void)write;
    cpu_fault(c, s == SEG_SS ? EXC_SS : EXC_GP, 0);
}

/* Translate for an access, fill the TLB, return the A20-masked physical address. */
static uint64_t xlate(struct cpu *c, uint32_t lin, enum mmu_access kind, bool user)
{
    struct mmu_xlate x;
    c->stats.tlb_miss++;
    if (!mmu_translate(&c->mmu, c->mem, lin, kind, user, &x)) {
        c->cr2 = lin;
        cpu_fault(c, EXC_PF, (int)x.fault);
    }
    mmu_tlb_fill(&c->mmu, c->mem, lin, &x, user ? MMU_USER : MMU_SUP);
    return x.paddr & c->mem->a20_mask;
}

static inline bool crosses(uint32_t lin, int size)
{
    return (lin & 0xfff) + (uint32_t)size > 0x1000;
}

static uint64_t read_split(struct cpu *c, uint32_t lin, int size, enum mmu_access kind, bool user)
{
    uint32_t n1 = 0x1000 - (lin & 0xfff);
    uint64_t pa1 = xlate(c, lin, kind, user);
    uint64_t pa2 = xlate(c, lin + n1, kind, user);
    uint64_t v = 0;
    for (int i = 0; i < size; i++) {
        uint64_t pa = (uint32_t)i < n1 ? pa1 + i : pa2 + (i - n1);
        note(c, pa, 1, false);
        v |= phys_read(c->mem, pa, 1) << (8 * i);
    }
    return v;
}

static void write_split(struct cpu *c, uint32_t lin, int size, uint64_t val, bool user)
{
    uint32_t n1 = 0x1000 - (lin & 0xfff);
    uint64_t pa1 = xlate(c, lin, ACC_WRITE, user);
    uint64_t pa2 = xlate(c, lin + n1, ACC_WRITE, user);
    for (int i = 0; i < size; i++) {
        uint64_t pa = (uint32_t)i < n1 ? pa1 + i : pa2 + (i - n1);
        note(c, pa, 1, true);
        phys_write(c->mem, pa, 1, (val >> (8 * i)) & 0xff);
    }
}

uint64_t mem_read_slow(struct cpu *c, uint32_t lin, int size)
{
    if (unlikely(c->dbg_data))
        dbg_data_check(c, lin, size, false);
    bool user = c->cpl == 3;
    if (crosses(lin, size))
        return read_split(c, lin, size, ACC_READ, user);
    uint64_t pa = xlate(c, lin, ACC_READ, user);
    note(c, pa, size, false);
    return phys_read(c->mem, pa, size);
}

void mem_write_slow(struct cpu *c, uint32_t lin, int size, uint64_t val)
{
    if (unlikely(c->dbg_data))
        dbg_data_check(c, lin, size, true);
    bool user = c->cpl == 3;
    if (crosses(lin, size)) {
        write_split(c, lin, size, val, user);
        return;
    }
    uint64_t pa = xlate(c, lin, ACC_WRITE, user);
    note(c, pa, size, true);
    phys_write(c->mem, pa, size, val);
}

uint8_t *mem_rmw_slow(struct cpu *c, uint32_t lin, int size)
{
    if (unlikely(c->dbg_data))
        dbg_data_check(c, lin, size, true);
    bool user = c->cpl == 3;
    if (!crosses(lin, size)) {
        uint64_t pa = xlate(c, lin, ACC_WRITE, user);
        bool writable;
        uint8_t *page = phys_page_ptr(c->mem, pa, &writable);
        if (page && writable) {
            note(c, pa, size, true); /* the caller reads and writes through the pointer */
            return page + (pa & 0xfff);
        }
        c->bounce_pa[0] = pa;
        c->bounce_split = size;
    } else {
        uint32_t n1 = 0x1000 - (lin & 0xfff);
        c->bounce_pa[0] = xlate(c, lin, ACC_WRITE, user);
        c->bounce_pa[1] = xlate(c, lin + n1, ACC_WRITE, user);
        c->bounce_split = (int)n1;
    }
    c->bounce_size = size;
    for (int i = 0; i < size; i++) {
        uint64_t pa = i < c->bounce_split ? c->bounce_pa[0] + i : c->bounce_pa[1] + (i - c->bounce_split);
        note(c, pa, 1, false);
        c->bounce[i] = (uint8_t)phys_read(c->mem, pa, 1);
    }
    return c->bounce;
}

void mem_rmw_flush(struct cpu *c)
{
    if (c->bounce_split >= c->bounce_size) {
        uint64_t v = 0;
        memcpy(&v, c->bounce, c->bounce_size);
        note(c, c->bounce_pa[0], c->bounce_size, true);
        phys_write(c->mem, c->bounce_pa[0], c->bounce_size, v);
        return;
    }
    for (int i = 0; i < c->bounce_size; i++) {
        uint64_t pa = i < c->bounce_split ? c->bounce_pa[0] + i : c->bounce_pa[1] + (i - c->bounce_split);
        note(c, pa, 1, true);
        phys_write(c->mem, pa, 1, c->bounce[i]);
    }
}

/* mem_read_as/mem_write_as serve descriptor-table, IDT and TSS reads and
 * the stack pushes of interrupt delivery: on every segment load and every
 * syscall, so they try the TLB of the access's privilege first, as the
 * inline paths do (a hit there was permission-checked for this kind of
 * access when it was filled; watched pages never hit). */
uint64_t mem_read_as(struct cpu *c, uint32_t lin, int size, bool user)
{
    if (unlikely(c->dbg_data))
        dbg_data_check(c, lin, size, false);
    struct tlb_entry *e = tlb_entry_for(c->mmu.tlb[user ? MMU_USER : MMU_SUP], lin);
    if (likely(e->tag_r == (uint64_t)((lin + (uint32_t)size - 1) & ~0xfffu))) {
        return host_ld((uint8_t *)(e->addend + lin), size);
    }
    if (crosses(lin, size))
        return read_split(c, lin, size, ACC_READ, user);
    uint64_t pa = xlate(c, lin, ACC_READ, user);
    note(c, pa, size, false);
    return phys_read(c->mem, pa, size);
}

void mem_write_as(struct cpu *c, uint32_t lin, int size, uint64_t val, bool user)
{
    if (unlikely(c->dbg_data))
        dbg_data_check(c, lin, size, true);
    struct tlb_entry *e = tlb_entry_for(c->mmu.tlb[user ? MMU_USER : MMU_SUP], lin);
    if (likely(e->tag_w == (uint64_t)((lin + (uint32_t)size - 1) & ~0xfffu))) {
        host_st((uint8_t *)(e->addend + lin), size, val);
        return;
    }
    if (crosses(lin, size)) {
        write_split(c, lin, size, val, user);
        return;
    }
    uint64_t pa = xlate(c, lin, ACC_WRITE, user);
    note(c, pa, size, true);
    phys_write(c->mem, pa, size, val);
}

uint8_t *mem_fetch_page(struct cpu *c, uint32_t lin, uint64_t *paddr)
{
    int mode = c->cpl == 3 ? MMU_USER : MMU_SUP;
    unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
    struct tlb_entry *e = &c->mmu.tlb[mode][idx];
    uint32_t page = lin & ~0xfffu;
    if (e->tag_x != page) {
        struct mmu_xlate x;
        c->stats.tlb_miss++;
        if (!mmu_translate(&c->mmu, c->mem, lin, ACC_EXEC, mode == MMU_USER, &x)) {
            c->cr2 = lin;
            cpu_fault(c, EXC_PF, (int)x.fault);
        }
        mmu_tlb_fill(&c->mmu, c->mem, lin, &x, mode);
        if (e->tag_x != page) { /* MMIO or open bus: the caller fetches through phys_read */
            *paddr = x.paddr & c->mem->a20_mask & ~0xfffull;
            return NULL;
        }
    }
    *paddr = c->mmu.phys[mode][idx];
    return (uint8_t *)(e->addend + page);
}
