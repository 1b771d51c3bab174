/*
 * The page-table walker: 32-bit two-level paging with 4 MiB PSE(-36) pages,
 * and PAE three-level paging with 2 MiB pages and NX. MAXPHYADDR is 36.
 *
 * A walk checks permissions for the access it serves and sets accessed and
 * dirty bits only when that access is allowed, so a faulting access leaves
 * the tables untouched. Entries are read and updated through phys_read /
 * phys_write so page tables in odd places (ROM, MMIO, above RAM) behave
 * like the bus does, and a write to a page table that shares a page with
 * cached code is noticed.
 */
#include <string.h>

#include "mmu/mmu.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)

#define MAXPHYADDR 36
#define PAE_ADDR_MASK (((1ull << MAXPHYADDR) - 1) & ~0xfffull)
/* Bits of a PAE entry that must be zero, before NX is considered. */
#define PAE_RSVD_HI (((1ull << 63) - 1) & ~((1ull << MAXPHYADDR) - 1))

void mmu_init(struct mmu *m)
{
    memset(m, 0, sizeof(*m));
    m->nfill = TLB_FILL_LOG + 1; /* zeroed entries are not logged: clear them all */
    mmu_flush(m);
}

/* Read and check the four PDPTEs at `cr3` (SDM Vol. 3 4.4.1): a present
 * one with reserved bits set (2:1, 8:5, 63:MAXPHYADDR; bit 63 is reserved
 * here even with NXE) fails the load. */
static bool load_pdptes(struct phys *mem, uint64_t cr3, uint64_t *pdpte)
{
    for (int i = 0; i < 4; i++) {
        uint64_t e = phys_read(mem, (cr3 & 0xffffffe0u) + 8 * i, 8);
        if ((e & PTE_P) && (e & (0x1e6ull | PAE_RSVD_HI | PTE_NX)))
            return false;
        pdpte[i] = e;
    }
    return true;
}

bool mmu_set_paging(struct mmu *m, struct phys *mem, uint32_t cr0, uint64_t cr3, uint32_t cr4, uint64_t efer)
{
    bool pg = cr0 & (1u << 31), pae = cr4 & (1u << 5);
    uint64_t pdpte[4];
    if (pg && pae) {
        if (!load_pdptes(mem, cr3, pdpte))
            return false;
        memcpy(m->pdpte, pdpte, sizeof(pdpte));
    }
    m->pg = pg;
    m->wp = cr0 & (1u << 16);
    m->pse = cr4 & (1u << 4);
    m->pae = pae;
    m->pge = cr4 & (1u << 7);
    m->nxe = efer & (1u << 11);
    m->cr3 = cr3;
    mmu_flush(m);
    return true;
}

bool mmu_load_cr3(struct mmu *m, struct phys *mem, uint64_t cr3)
{
    uint64_t pdpte[4];
    if (m->pg && m->pae) {
        if (!load_pdptes(mem, cr3, pdpte))
            return false;
        memcpy(m->pdpte, pdpte, sizeof(pdpte));
    }
    m->cr3 = cr3;
    if (m->pge)
        mmu_flush_nonglobal(m);
    else
        mmu_flush(m);
    return true;
}

/* Common permission check once the leaf is found. Returns the fault code or 0. */
static uint32_t check_access(const struct mmu *m, enum mmu_access kind, bool user, bool us, bool rw, bool nx)
{
    uint32_t ec = PFEC_P | (kind == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0);
    if (kind == ACC_EXEC && m->nxe && m->pae)
        ec |= PFEC_I;
    if (user && !us)
        return ec;
    if (kind == ACC_WRITE && !rw && (user || m->wp))
        return ec;
    if (kind == ACC_EXEC && nx)
        return ec;
    return 0;
}

static uint32_t not_present(const struct mmu *m, enum mmu_access kind, bool user)
{
    uint32_t ec = (kind == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0);
    if (kind == ACC_EXEC && m->nxe && m->pae)
        ec |= PFEC_I;
    return ec;
}

/* Set A (and D on the leaf for writes) in the entries the walk used. */
static void update_ad(struct phys *mem, const uint64_t *addr, const uint64_t *val, int n, bool write, int size)
{
    for (int i = 0; i < n; i++) {
        uint64_t want = val[i] | PTE_A;
        if (i == n - 1 && write)
            want |= PTE_D;
        if (want != val[i])
            phys_write(mem, addr[i], size, size == 8 ? want : (uint32_t)want);
    }
}

static bool walk32(const struct mmu *m, struct phys *mem, uint64_t lin, enum mmu_access kind, bool user,
                   struct mmu_xlate *x)
{
    uint64_t addr[2], val[2];
    addr[0] = (m->cr3 & 0xfffff000u) + ((lin >> 22) & 0x3ff) * 4;
    val[0] = phys_read(mem, addr[0], 4);
    if (!(val[0] & PTE_P)) {
        x->fault = not_present(m, kind, user);
        return false;
    }
    int n;
    uint64_t leaf;
    if (m->pse && (val[0] & PTE_PS)) {
        /* PSE-36: bits 13..16 are physical address bits 32..35; 17..21 reserved. */
        if (val[0] & (0x1full << 17)) {
            x->fault = PFEC_P | PFEC_RSVD | (kind == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0);
            return false;
        }
        n = 1;
        leaf = val[0];
        x->paddr = (val[0] & 0xffc00000u) | ((val[0] >> 13) & 0xfull) << 32 | (lin & 0x3fffff);
        x->size = 4u << 20;
    } else {
        addr[1] = (val[0] & 0xfffff000u) + ((lin >> 12) & 0x3ff) * 4;
        val[1] = phys_read(mem, addr[1], 4);
        if (!(val[1] & PTE_P)) {
            x->fault = not_present(m, kind, user);
            return false;
        }
        n = 2;
        leaf = val[1];
        x->paddr = (val[1] & 0xfffff000u) | (lin & 0xfff);
    }
    bool us = true, rw = true;
    for (int i = 0; i < n; i++) {
        us = us && (val[i] & PTE_US);
        rw = rw && (val[i] & PTE_RW);
    }
    x->fault = check_access(m, kind, user, us, rw, false);
    if (x->fault)
        return false;
    x->user_ok = us;
    x->write_ok = user ? rw : (rw || !m->wp);
    x->exec_ok = true;
    x->dirty = (leaf & PTE_D) || kind == ACC_WRITE;
    x->global = m->pge && (leaf & PTE_G);
    update_ad(mem, addr, val, n, kind == ACC_WRITE, 4);
    return true;
}

static bool walk_pae(const struct mmu *m, struct phys *mem, uint64_t lin, enum mmu_access kind, bool user,
                     struct mmu_xlate *x)
{
    uint64_t pdpte = m->pdpte[(lin >> 30) & 3];
    if (!(pdpte & PTE_P)) {
        x->fault = not_present(m, kind, user);
        return false;
    }
    uint64_t rsvd = PAE_RSVD_HI | (m->nxe ? 0 : PTE_NX);
    uint32_t rsvd_fault = PFEC_P | PFEC_RSVD | (kind == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0) |
                          (kind == ACC_EXEC && m->nxe ? PFEC_I : 0);
    uint64_t addr[2], val[2];
    addr[0] = (pdpte & PAE_ADDR_MASK) + ((lin >> 21) & 0x1ff) * 8;
    val[0] = phys_read(mem, addr[0], 8);
    if (!(val[0] & PTE_P)) {
        x->fault = not_present(m, kind, user);
        return false;
    }
    int n;
    uint64_t leaf;
    if (val[0] & PTE_PS) {
        if ((val[0] & rsvd) || (val[0] & (0xffull << 13))) {
            x->fault = rsvd_fault;
            return false;
        }
        n = 1;
        leaf = val[0];
        x->paddr = (val[0] & PAE_ADDR_MASK & ~0x1fffffull) | (lin & 0x1fffff);
        x->size = 2u << 20;
    } else {
        if (val[0] & rsvd) {
            x->fault = rsvd_fault;
            return false;
        }
        addr[1] = (val[0] & PAE_ADDR_MASK) + ((lin >> 12) & 0x1ff) * 8;
        val[1] = phys_read(mem, addr[1], 8);
        if (!(val[1] & PTE_P)) {
            x->fault = not_present(m, kind, user);
            return false;
        }
        if (val[1] & rsvd) {
            x->fault = rsvd_fault;
            return false;
        }
        n = 2;
        leaf = val[1];
        x->paddr = (val[1] & PAE_ADDR_MASK) | (lin & 0xfff);
    }
    bool us = true, rw = true, nx = false;
    for (int i = 0; i < n; i++) {
        us = us && (val[i] & PTE_US);
        rw = rw && (val[i] & PTE_RW);
        nx = nx || (m->nxe && (val[i] & PTE_NX));
    }
    x->fault = check_access(m, kind, user, us, rw, nx);
    if (x->fault)
        return false;
    x->user_ok = us;
    x->write_ok = user ? rw : (rw || !m->wp);
    x->exec_ok = !nx;
    x->dirty = (leaf & PTE_D) || kind == ACC_WRITE;
    x->global = m->pge && (leaf & PTE_G);
    update_ad(mem, addr, val, n, kind == ACC_WRITE, 8);
    return true;
}

bool mmu_translate(struct mmu *m, struct phys *mem, uint64_t lin, enum mmu_access kind, bool user,
                   struct mmu_xlate *x)
{
    memset(x, 0, sizeof(*x));
    x->size = 4096;
    if (!m->pg) {
        x->paddr = lin & 0xffffffffu;
        x->user_ok = x->write_ok = x->exec_ok = x->dirty = true;
        return true;
    }
    lin &= 0xffffffffu;
    return m->pae ? walk_pae(m, mem, lin, kind, user, x) : walk32(m, mem, lin, kind, user, x);
}
