/*
 * The page walker (mmu/paging.c) and soft TLB (mmu/tlb.c) on hand-built
 * page tables in a struct phys.
 *
 * The oracle is the Intel SDM, Vol. 3A ch. 4: the access-rights rules of
 * 4.6 (supervisor reads always allowed; supervisor writes need R/W=1 in
 * every entry only when CR0.WP=1; user accesses need U/S=1 in every entry
 * and, for writes, R/W=1 in every entry; fetches fail when NXE=1 and XD=1
 * in any entry), the reserved bits of Tables 4-4..4-6 (32-bit) and
 * 4-8..4-11 (PAE), the page-fault error code of 4.7 (P, W/R, U/S, RSVD,
 * I/D only with PAE and NXE), and the accessed/dirty rules of 4.8. Those
 * rules are written below as plain predicates (ref_*) and every
 * combination of the relevant entry bits is compared against the walker;
 * a table of literal cases anchors the predicates themselves.
 *
 * Intel processors update A/D only after a walk succeeds (the KVM commit
 * "Update accessed and dirty bits after guest pagetable walk" records
 * this); the walker does the same, and so a faulting walk must leave every
 * entry unchanged.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "mmu/mmu.h"
#include "tests/common/check_run.h"

#define P 0x001ull
#define RW 0x002ull
#define US 0x004ull
#define A 0x020ull
#define D 0x040ull
#define PS 0x080ull
#define G 0x100ull
#define NX (1ull << 63)

#define CR0_PG (1u << 31)
#define CR0_WP (1u << 16)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)
#define EFER_NXE (1u << 11)

static struct phys mem;
static struct mmu mmu;

static void setup(void)
{
    ck_assert_int_eq(phys_init(&mem, 16u << 20), 0);
    mmu_init(&mmu);
}

static void teardown(void)
{
    phys_free(&mem);
}

static uint64_t rd(uint64_t pa, int size) { return phys_read(&mem, pa, size); }
static void wr(uint64_t pa, int size, uint64_t v) { phys_write(&mem, pa, size, v); }

static const enum mmu_access kinds[] = { ACC_READ, ACC_WRITE, ACC_EXEC };

/* ---- Reference rules (SDM 4.6, 4.7) ---- */

/* Is the access allowed, given the combined U/S, R/W, XD of the entries? */
static bool ref_allowed(enum mmu_access kind, bool user, bool wp, bool us, bool rw, bool xd)
{
    if (user && !us)
        return false;
    if (kind == ACC_WRITE && !rw && (user || wp))
        return false;
    if (kind == ACC_EXEC && xd)
        return false;
    return true;
}

static uint32_t ref_ec(bool present, bool rsvd, enum mmu_access kind, bool user, bool pae_nxe)
{
    return (present ? PFEC_P : 0) | (kind == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0) |
           (rsvd ? PFEC_RSVD : 0) | (kind == ACC_EXEC && pae_nxe ? PFEC_I : 0);
}

/* ---- 32-bit paging: every PDE x PTE bit combination ---- */

/* Layout: CR3 = 0x1000; linear 0x00403abc -> PDE 1, PTE 3. The PDE's address
 * bits are 0x00800000: a page table there, or a 4 MiB page when PS applies.
 * The PTE maps 0x5000. */
#define LIN32 0x00403abcu

START_TEST(walk32_all_combinations)
{
    int cases = 0;
    for (int pse = 0; pse < 2; pse++)
    for (int wp = 0; wp < 2; wp++)
    for (int user = 0; user < 2; user++)
    for (int k = 0; k < 3; k++)
    for (unsigned pdeb = 0; pdeb < 16; pdeb++)
    for (unsigned pteb = 0; pteb < 8; pteb++) {
        enum mmu_access kind = kinds[k];
        uint64_t pde = 0x00800000u | (pdeb & 1 ? P : 0) | (pdeb & 2 ? RW : 0) | (pdeb & 4 ? US : 0) |
                       (pdeb & 8 ? PS : 0);
        uint64_t pte = 0x5000u | (pteb & 1 ? P : 0) | (pteb & 2 ? RW : 0) | (pteb & 4 ? US : 0);
        uint64_t pde_pa = 0x1000 + 1 * 4, pte_pa = 0x800000 + 3 * 4;
        wr(pde_pa, 4, pde);
        wr(pte_pa, 4, pte);
        mmu_set_paging(&mmu, &mem, CR0_PG | (wp ? CR0_WP : 0), 0x1000, pse ? CR4_PSE : 0, 0);

        bool large = pse && (pde & PS);
        bool ok;
        uint32_t ec = 0;
        uint64_t pa = 0;
        if (!(pde & P) || (!large && !(pte & P))) {
            ok = false;
            ec = ref_ec(false, false, kind, user, false);
        } else {
            bool us = (pde & US) && (large || (pte & US));
            bool rw = (pde & RW) && (large || (pte & RW));
            ok = ref_allowed(kind, user, wp, us, rw, false);
            if (!ok)
                ec = ref_ec(true, false, kind, user, false);
            pa = large ? 0x800000u + (LIN32 & 0x3fffff) : 0x5000u + (LIN32 & 0xfff);
        }

        struct mmu_xlate x;
        bool got = mmu_translate(&mmu, &mem, LIN32, kind, user, &x);
        ck_assert_msg(got == ok, "pse%d wp%d user%d kind%d pde %llx pte %llx: ok %d want %d", pse, wp, user, k,
                      (unsigned long long)pde, (unsigned long long)pte, got, ok);
        if (ok) {
            ck_assert_uint_eq(x.paddr, pa);
            ck_assert_uint_eq(x.size, large ? 4u << 20 : 4096);
            /* A in every entry used, D in the leaf only for writes (SDM 4.8). */
            ck_assert_uint_eq(rd(pde_pa, 4), pde | A | (large && kind == ACC_WRITE ? D : 0));
            ck_assert_uint_eq(rd(pte_pa, 4), large ? pte : (pte | A | (kind == ACC_WRITE ? D : 0)));
        } else {
            ck_assert_msg(x.fault == ec, "pse%d wp%d user%d kind%d pde %llx pte %llx: ec %x want %x", pse, wp, user,
                          k, (unsigned long long)pde, (unsigned long long)pte, x.fault, ec);
            ck_assert_uint_eq(rd(pde_pa, 4), pde);
            ck_assert_uint_eq(rd(pte_pa, 4), pte);
        }
        cases++;
    }
    ck_assert_int_eq(cases, 2 * 2 * 2 * 3 * 16 * 8);
}
END_TEST

/* PSE-36: PDE bits 16:13 are physical address bits 35:32; bits 21:17 are
 * reserved with MAXPHYADDR 36 (Table 4-5) and fault with RSVD and P set. */
START_TEST(walk32_pse36)
{
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, CR4_PSE, 0);
    struct mmu_xlate x;
    wr(0x1000 + 4 * 0x300, 4, 0xc0000000u | (0x5u << 13) | PS | P | RW);
    ck_assert(mmu_translate(&mmu, &mem, 0xc0123456u, ACC_READ, false, &x));
    ck_assert_uint_eq(x.paddr, 0x5c0123456ull);
    for (int bit = 17; bit <= 21; bit++) {
        uint64_t pde = 0xc0000000u | (1u << bit) | PS | P | RW | US;
        wr(0x1000 + 4 * 0x300, 4, pde);
        ck_assert(!mmu_translate(&mmu, &mem, 0xc0123456u, ACC_WRITE, true, &x));
        ck_assert_uint_eq(x.fault, PFEC_P | PFEC_W | PFEC_U | PFEC_RSVD);
        ck_assert_uint_eq(rd(0x1000 + 4 * 0x300, 4), pde);
    }
    /* Without CR4.PSE the same entry points at a page table (no reserved bits). */
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, 0, 0);
    wr(0x1000 + 4 * 0x300, 4, 0x00800000u | (1u << 17) | PS | P | RW);
    wr(0x820000 + 4 * 0x123, 4, 0x7000 | P); /* bit 17 is an address bit here */
    ck_assert(mmu_translate(&mmu, &mem, 0xc0123456u, ACC_READ, false, &x));
    ck_assert_uint_eq(x.paddr, 0x7456);
}
END_TEST

/* ---- PAE: every PDE x PTE bit combination, with NXE on and off ---- */

/* Layout: CR3 = 0x1000 (PDPT, 32-byte aligned); linear 0x40603abc ->
 * PDPTE 1, PDE 3, PTE 3. PDPTE 1 -> PD at 0x2000; PDE address bits
 * 0x00800000 (a page table, or a 2 MiB page); PTE -> 0x5000. */
#define LINPAE 0x40603abcu

START_TEST(walk_pae_all_combinations)
{
    int cases = 0;
    wr(0x1000 + 8, 8, 0x2000 | P);
    uint64_t pde_pa = 0x2000 + 3 * 8, pte_pa = 0x800000 + 3 * 8;
    for (int nxe = 0; nxe < 2; nxe++)
    for (int wp = 0; wp < 2; wp++)
    for (int user = 0; user < 2; user++)
    for (int k = 0; k < 3; k++)
    for (unsigned pdeb = 0; pdeb < 32; pdeb++)
    for (unsigned pteb = 0; pteb < 16; pteb++) {
        enum mmu_access kind = kinds[k];
        uint64_t pde = 0x00800000u | (pdeb & 1 ? P : 0) | (pdeb & 2 ? RW : 0) | (pdeb & 4 ? US : 0) |
                       (pdeb & 8 ? PS : 0) | (pdeb & 16 ? NX : 0);
        uint64_t pte = 0x5000u | (pteb & 1 ? P : 0) | (pteb & 2 ? RW : 0) | (pteb & 4 ? US : 0) | (pteb & 8 ? NX : 0);
        wr(pde_pa, 8, pde);
        wr(pte_pa, 8, pte);
        ck_assert(mmu_set_paging(&mmu, &mem, CR0_PG | (wp ? CR0_WP : 0), 0x1000, CR4_PAE, nxe ? EFER_NXE : 0));

        bool large = pde & PS;
        bool ok;
        uint32_t ec = 0;
        uint64_t pa = 0;
        /* Walk order: not present, then reserved bits (XD is reserved
         * unless NXE), then the leaf's presence, then access rights. */
        if (!(pde & P)) {
            ok = false;
            ec = ref_ec(false, false, kind, user, nxe);
        } else if (!nxe && (pde & NX)) {
            ok = false;
            ec = ref_ec(true, true, kind, user, nxe);
        } else if (!large && !(pte & P)) {
            ok = false;
            ec = ref_ec(false, false, kind, user, nxe);
        } else if (!large && !nxe && (pte & NX)) {
            ok = false;
            ec = ref_ec(true, true, kind, user, nxe);
        } else {
            bool us = (pde & US) && (large || (pte & US));
            bool rw = (pde & RW) && (large || (pte & RW));
            bool xd = nxe && ((pde & NX) || (!large && (pte & NX)));
            ok = ref_allowed(kind, user, wp, us, rw, xd);
            if (!ok)
                ec = ref_ec(true, false, kind, user, nxe);
            pa = large ? 0x800000u + (LINPAE & 0x1fffff) : 0x5000u + (LINPAE & 0xfff);
        }

        struct mmu_xlate x;
        bool got = mmu_translate(&mmu, &mem, LINPAE, kind, user, &x);
        ck_assert_msg(got == ok, "nxe%d wp%d user%d kind%d pde %llx pte %llx: ok %d want %d", nxe, wp, user, k,
                      (unsigned long long)pde, (unsigned long long)pte, got, ok);
        if (ok) {
            ck_assert_uint_eq(x.paddr, pa);
            ck_assert_uint_eq(x.size, large ? 2u << 20 : 4096);
            ck_assert_uint_eq(x.exec_ok, !(nxe && ((pde & NX) || (!large && (pte & NX)))));
            ck_assert_uint_eq(rd(pde_pa, 8), pde | A | (large && kind == ACC_WRITE ? D : 0));
            ck_assert_uint_eq(rd(pte_pa, 8), large ? pte : (pte | A | (kind == ACC_WRITE ? D : 0)));
        } else {
            ck_assert_msg(x.fault == ec, "nxe%d wp%d user%d kind%d pde %llx pte %llx: ec %x want %x", nxe, wp, user, k,
                          (unsigned long long)pde, (unsigned long long)pte, x.fault, ec);
            ck_assert_uint_eq(rd(pde_pa, 8), pde);
            ck_assert_uint_eq(rd(pte_pa, 8), pte);
        }
        cases++;
    }
    ck_assert_int_eq(cases, 2 * 2 * 2 * 3 * 32 * 16);
}
END_TEST

/* PAE reserved bits (Tables 4-8..4-11, MAXPHYADDR 36): bits 62:36 in every
 * entry, 20:13 in a 2 MiB PDE; PDPTE bits 2:1, 8:5, 63:36 fail the load. */
START_TEST(walk_pae_reserved_bits)
{
    struct mmu_xlate x;
    wr(0x1000, 8, 0x2000 | P);
    ck_assert(mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, CR4_PAE, EFER_NXE));
    /* 2 MiB page: bits 13..20 and 36..62 reserved; bit 12 is PAT, bit 35 an address bit. */
    for (int bit = 12; bit < 63; bit++) {
        bool rsvd = (bit >= 13 && bit <= 20) || bit >= 36;
        if (bit >= 21 && bit < 36)
            continue; /* address bits */
        uint64_t pde = 0x00200000u | (1ull << bit) | PS | P | RW;
        wr(0x2000, 8, pde);
        mmu_flush(&mmu);
        bool ok = mmu_translate(&mmu, &mem, 0x00012345u, ACC_EXEC, false, &x);
        ck_assert_msg(ok == !rsvd, "2M bit %d", bit);
        if (rsvd)
            ck_assert_uint_eq(x.fault, PFEC_P | PFEC_RSVD | PFEC_I);
        else
            ck_assert_uint_eq(x.paddr, 0x00212345u); /* bit 12 (PAT) is not an address bit */
    }
    /* 4 KiB PTE and page-table PDE: bits 36..62. */
    for (int bit = 36; bit < 63; bit++) {
        wr(0x2000, 8, 0x3000 | (1ull << bit) | P | RW);
        ck_assert(!mmu_translate(&mmu, &mem, 0x00012345u, ACC_WRITE, false, &x));
        ck_assert_uint_eq(x.fault, PFEC_P | PFEC_W | PFEC_RSVD);
        wr(0x2000, 8, 0x3000 | P | RW);
        wr(0x3000 + 0x12 * 8, 8, 0x7000 | (1ull << bit) | P | RW | US);
        ck_assert(!mmu_translate(&mmu, &mem, 0x00012345u, ACC_READ, true, &x));
        ck_assert_uint_eq(x.fault, PFEC_P | PFEC_U | PFEC_RSVD);
        /* Not present: reserved bits are not looked at. */
        wr(0x3000 + 0x12 * 8, 8, 0x7000 | (1ull << bit) | RW | US);
        ck_assert(!mmu_translate(&mmu, &mem, 0x00012345u, ACC_READ, true, &x));
        ck_assert_uint_eq(x.fault, PFEC_U);
    }
    /* PDPTE loads. */
    static const int bad[] = { 1, 2, 5, 6, 7, 8, 36, 50, 62, 63 };
    for (unsigned n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
        wr(0x1000 + 24, 8, 0x4000 | P | (1ull << bad[n]));
        ck_assert_msg(!mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, CR4_PAE, EFER_NXE), "pdpte bit %d", bad[n]);
        ck_assert_msg(!mmu_load_cr3(&mmu, &mem, 0x1000), "pdpte bit %d", bad[n]);
        /* Not present: anything goes. */
        wr(0x1000 + 24, 8, 0x4000 | (1ull << bad[n]));
        ck_assert(mmu_load_cr3(&mmu, &mem, 0x1000));
    }
    /* Bits 3, 4 (PWT, PCD), 9..11 and 35 are fine. */
    wr(0x1000 + 24, 8, 0x4000 | P | 0x18 | 0xe00 | (1ull << 35));
    ck_assert(mmu_load_cr3(&mmu, &mem, 0x1000));
    /* A failed load changes nothing: the old PDPTEs still translate. */
    wr(0x1000 + 24, 8, 0);
    ck_assert(mmu_load_cr3(&mmu, &mem, 0x1000));
    wr(0x3000 + 0x12 * 8, 8, 0x7000 | P);
    wr(0x5000, 8, 0x6000 | P | 2);
    ck_assert(!mmu_load_cr3(&mmu, &mem, 0x5000));
    ck_assert(mmu_translate(&mmu, &mem, 0x00012345u, ACC_READ, false, &x));
    ck_assert_uint_eq(mmu.cr3, 0x1000);
    /* PDPTE not present: a fault without P (and with I for fetches under NXE). */
    ck_assert(!mmu_translate(&mmu, &mem, 0xc0000000u, ACC_EXEC, true, &x));
    ck_assert_uint_eq(x.fault, PFEC_U | PFEC_I);
}
END_TEST

/* Literal cases worked out by hand from the SDM tables, anchoring the
 * predicates above: {pde, pte, cr0.wp, cr4, efer, kind, user} -> error code
 * (or 0xff: translated). 32-bit cases use CR3 0x1000 and LIN32. */
START_TEST(literal_error_codes)
{
    static const struct {
        uint32_t pde, pte;
        int wp, kind, user;
        uint32_t want;
    } t[] = {
        { 0x00800000, 0x5007, 0, ACC_READ, 0, 0x00 },   /* PDE not present, supervisor read */
        { 0x00800000, 0x5007, 0, ACC_WRITE, 1, 0x06 },  /* PDE not present, user write */
        { 0x00800007, 0x5006, 0, ACC_EXEC, 1, 0x04 },   /* PTE not present, user fetch: no I without PAE */
        { 0x00800003, 0x5007, 0, ACC_READ, 1, 0x05 },   /* PDE supervisor-only, user read */
        { 0x00800007, 0x5003, 1, ACC_READ, 1, 0x05 },   /* PTE supervisor-only, user read */
        { 0x00800005, 0x5007, 0, ACC_WRITE, 1, 0x07 },  /* PDE read-only, user write */
        { 0x00800005, 0x5007, 0, ACC_WRITE, 0, 0xff },  /* PDE read-only, supervisor write, WP=0 */
        { 0x00800005, 0x5007, 1, ACC_WRITE, 0, 0x03 },  /* PDE read-only, supervisor write, WP=1 */
        { 0x00800007, 0x5005, 1, ACC_WRITE, 0, 0x03 },  /* PTE read-only, supervisor write, WP=1 */
        { 0x00800003, 0x5001, 1, ACC_READ, 0, 0xff },   /* supervisor read of a read-only supervisor page */
        { 0x00800007, 0x5007, 1, ACC_WRITE, 1, 0xff },  /* user write of a user RW page */
    };
    for (unsigned n = 0; n < sizeof(t) / sizeof(t[0]); n++) {
        wr(0x1004, 4, t[n].pde);
        wr(0x80000c, 4, t[n].pte);
        mmu_set_paging(&mmu, &mem, CR0_PG | (t[n].wp ? CR0_WP : 0), 0x1000, 0, 0);
        struct mmu_xlate x;
        bool ok = mmu_translate(&mmu, &mem, LIN32, (enum mmu_access)t[n].kind, t[n].user, &x);
        if (t[n].want == 0xff)
            ck_assert_msg(ok, "case %u", n);
        else
            ck_assert_msg(!ok && x.fault == t[n].want, "case %u: ec %x want %x", n, x.fault, t[n].want);
    }
}
END_TEST

/* Paging off: identity, everything allowed, nothing written. */
START_TEST(paging_off)
{
    mmu_set_paging(&mmu, &mem, 0, 0x1000, CR4_PAE | CR4_PSE, EFER_NXE);
    struct mmu_xlate x;
    ck_assert(mmu_translate(&mmu, &mem, 0xfffff123u, ACC_WRITE, true, &x));
    ck_assert_uint_eq(x.paddr, 0xfffff123u);
    ck_assert(x.write_ok && x.exec_ok && x.user_ok && x.dirty);
}
END_TEST

/* ---- Soft TLB ---- */

static const struct tlb_entry *entry(int mode, uint32_t lin)
{
    return tlb_entry_for(mmu.tlb[mode], lin);
}

static void fill(uint32_t lin, enum mmu_access kind, bool user)
{
    struct mmu_xlate x;
    ck_assert(mmu_translate(&mmu, &mem, lin, kind, user, &x));
    mmu_tlb_fill(&mmu, &mem, lin, &x, user ? MMU_USER : MMU_SUP);
}

/* Write tags appear only once the dirty bit is set; read-only pages and
 * supervisor pages under CR0.WP never get one. */
START_TEST(tlb_write_tags_follow_dirty)
{
    mmu_set_paging(&mmu, &mem, CR0_PG | CR0_WP, 0x1000, 0, 0);
    wr(0x1000, 4, 0x2000 | P | RW | US);
    wr(0x2000 + 4 * 5, 4, 0x9000 | P | RW | US);     /* clean */
    wr(0x2000 + 4 * 6, 4, 0xa000 | P | RW | US | D); /* already dirty */
    wr(0x2000 + 4 * 7, 4, 0xb000 | P | US | D);      /* read-only */
    fill(0x5000, ACC_READ, true);
    ck_assert_uint_eq(entry(MMU_USER, 0x5000)->tag_r, 0x5000);
    ck_assert_uint_eq(entry(MMU_USER, 0x5000)->tag_w, TLB_INVALID);
    ck_assert_uint_eq(rd(0x2000 + 4 * 5, 4) & D, 0);
    fill(0x5000, ACC_WRITE, true);
    ck_assert_uint_eq(entry(MMU_USER, 0x5000)->tag_w, 0x5000);
    ck_assert_uint_eq(rd(0x2000 + 4 * 5, 4) & D, D);
    fill(0x6000, ACC_READ, false);
    ck_assert_uint_eq(entry(MMU_SUP, 0x6000)->tag_w, 0x6000);
    ck_assert_uint_eq(entry(MMU_SUP, 0x6000)->addend + 0x6000, (uintptr_t)mem.ram + 0xa000);
    fill(0x7000, ACC_READ, false);
    ck_assert_uint_eq(entry(MMU_SUP, 0x7000)->tag_r, 0x7000);
    ck_assert_uint_eq(entry(MMU_SUP, 0x7000)->tag_w, TLB_INVALID);
    /* WP=0: supervisor may write a read-only page. */
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, 0, 0);
    fill(0x7000, ACC_READ, false);
    ck_assert_uint_eq(entry(MMU_SUP, 0x7000)->tag_w, 0x7000);
}
END_TEST

/* CR3 loads keep global entries only while CR4.PGE is on. */
START_TEST(tlb_global_entries)
{
    wr(0x1000, 4, 0x2000 | P | RW);
    wr(0x2000 + 4 * 1, 4, 0x9000 | P | RW | G);
    wr(0x2000 + 4 * 2, 4, 0xa000 | P | RW);
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, CR4_PGE, 0);
    fill(0x1000, ACC_READ, false);
    fill(0x2000, ACC_READ, false);
    ck_assert(mmu_load_cr3(&mmu, &mem, 0x1000));
    ck_assert_uint_eq(entry(MMU_SUP, 0x1000)->tag_r, 0x1000);
    ck_assert_uint_eq(entry(MMU_SUP, 0x2000)->tag_r & 1, 1);
    /* INVLPG drops a global entry. */
    mmu_flush_page(&mmu, 0x1abc);
    ck_assert_uint_eq(entry(MMU_SUP, 0x1000)->tag_r & 1, 1);
    ck_assert_uint_eq(mmu.nglobal, 0);
    /* G is ignored without CR4.PGE. */
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, 0, 0);
    fill(0x1000, ACC_READ, false);
    ck_assert(mmu_load_cr3(&mmu, &mem, 0x1000));
    ck_assert_uint_eq(entry(MMU_SUP, 0x1000)->tag_r & 1, 1);
    /* A global entry refilled as non-global loses its flag. */
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, CR4_PGE, 0);
    fill(0x1000, ACC_READ, false);
    ck_assert_uint_eq(mmu.nglobal, 1);
    wr(0x2000 + 4 * 1, 4, 0x9000 | P | RW | A);
    fill(0x1000, ACC_READ, false);
    ck_assert_uint_eq(mmu.nglobal, 0);
}
END_TEST

static bool all_invalid(void)
{
    for (int mode = 0; mode < MMU_MODES; mode++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            if (!(mmu.tlb[mode][i].tag_r & 1) || !(mmu.tlb[mode][i].tag_w & 1) || !(mmu.tlb[mode][i].tag_x & 1))
                return false;
    return true;
}

/* A full flush (CR3 load without global pages, CR0/CR4 changes) visits
 * only the logged fills when it can: it must still leave nothing valid,
 * from a new TLB, after a few fills, and after more fills than the log
 * holds. */
START_TEST(tlb_flush_all)
{
    ck_assert(all_invalid()); /* mmu_init */
    mmu_set_paging(&mmu, &mem, 0, 0, 0, 0);
    const unsigned counts[] = { 3, TLB_FILL_LOG - 1, TLB_FILL_LOG + 300 };
    for (unsigned k = 0; k < 3; k++) {
        for (unsigned p = 0; p < counts[k]; p++)
            fill(p << 12, ACC_WRITE, p & 1);
        ck_assert(!all_invalid());
        mmu_flush(&mmu);
        ck_assert_msg(all_invalid(), "after %u fills", counts[k]);
    }
}
END_TEST

/* INVLPG of any address inside a large page drops all its cached pieces. */
START_TEST(tlb_invlpg_large_page)
{
    wr(0x1000 + 4 * 1, 4, 0x00800000u | PS | P | RW);
    wr(0x1000 + 4 * 2, 4, 0x2000 | P | RW);
    wr(0x2000, 4, 0x9000 | P | RW);
    mmu_set_paging(&mmu, &mem, CR0_PG, 0x1000, CR4_PSE, 0);
    fill(0x00401000u, ACC_READ, false);
    fill(0x00402000u, ACC_READ, false);
    fill(0x00800000u, ACC_READ, false);
    mmu_flush_page(&mmu, 0x00800000u); /* 4 KiB page: only itself */
    ck_assert_uint_eq(entry(MMU_SUP, 0x00800000u)->tag_r & 1, 1);
    ck_assert_uint_eq(entry(MMU_SUP, 0x00401000u)->tag_r, 0x00401000u);
    mmu_flush_page(&mmu, 0x007ff000u); /* another piece of the 4 MiB page */
    ck_assert_uint_eq(entry(MMU_SUP, 0x00401000u)->tag_r & 1, 1);
    ck_assert_uint_eq(entry(MMU_SUP, 0x00402000u)->tag_r & 1, 1);
}
END_TEST

/* Data-breakpoint pages keep fetch tags but lose read and write tags. */
START_TEST(tlb_watch_pages)
{
    uint32_t pages[] = { 0x3000 };
    mmu_set_watch(&mmu, pages, 1);
    fill(0x3000, ACC_WRITE, false);
    fill(0x4000, ACC_WRITE, false);
    ck_assert_uint_eq(entry(MMU_SUP, 0x3000)->tag_r, TLB_INVALID);
    ck_assert_uint_eq(entry(MMU_SUP, 0x3000)->tag_w, TLB_INVALID);
    ck_assert_uint_eq(entry(MMU_SUP, 0x3000)->tag_x, 0x3000);
    ck_assert_uint_eq(entry(MMU_SUP, 0x4000)->tag_w, 0x4000);
    mmu_set_watch(&mmu, pages, 0);
    fill(0x3000, ACC_WRITE, false);
    ck_assert_uint_eq(entry(MMU_SUP, 0x3000)->tag_w, 0x3000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("paging");
    TCase *tc = tcase_create("walker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, walk32_all_combinations);
    tcase_add_test(tc, walk32_pse36);
    tcase_add_test(tc, walk_pae_all_combinations);
    tcase_add_test(tc, walk_pae_reserved_bits);
    tcase_add_test(tc, literal_error_codes);
    tcase_add_test(tc, paging_off);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("tlb");
    tcase_add_checked_fixture(tt, setup, teardown);
    tcase_add_test(tt, tlb_write_tags_follow_dirty);
    tcase_add_test(tt, tlb_global_entries);
    tcase_add_test(tt, tlb_invlpg_large_page);
    tcase_add_test(tt, tlb_flush_all);
    tcase_add_test(tt, tlb_watch_pages);
    suite_add_tcase(s, tt);
    return check_run(s, CK_FORK);
}
