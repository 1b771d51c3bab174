/*
 * The per-vCPU memory-management unit: two soft TLBs (supervisor and user)
 * and the paging walker's view of CR0/CR3/CR4/EFER.
 *
 * TLB entry layout follows QEMU's: four pointer-sized words, one tag per
 * access kind and a host addend, so that a hit costs one compare and one
 * add. A tag is the linear page address; an entry that must not be used
 * for an access kind holds TLB_INVALID there (never page aligned). Write
 * tags are only filled when the page is RAM without code, is writable at
 * this privilege, and its PTE dirty bit is already set, so that every
 * write that has side effects takes the slow path.
 *
 * Accesses that cross a page are compared on the page of their last byte
 * while indexing by the first: they can never hit and take the slow path.
 *
 * Large pages (4 MiB, 2 MiB) are cached as the 4 KiB pieces touched, so
 * INVLPG of one address inside a large page must drop all its pieces: the
 * MMU keeps one aligned span covering every large page cached (as QEMU
 * does) and an INVLPG inside it flushes everything. Entries that map a
 * global page (CR4.PGE and PTE.G) are flagged beside the table, outside
 * the entry, so a CR3 load can keep them without changing the layout the
 * JIT probes; the slots of non-global fills are logged, so a CR3 load
 * (a context switch) clears those few instead of scanning the table.
 *
 * Pages holding a data breakpoint (DR0-DR3) never get read or write tags,
 * so every access to them reaches the CPU's slow path, which checks them.
 */
#ifndef KESTREL_MMU_H
#define KESTREL_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/phys.h"

#define TLB_BITS 11
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 1ull
/* Non-global fills remembered so a CR3 load visits only those slots. */
#define TLB_FILL_LOG 1024

struct tlb_entry {
    uint64_t tag_r;    /* linear page readable through this entry */
    uint64_t tag_w;    /* linear page writable through this entry */
    uint64_t tag_x;    /* linear page executable through this entry */
    uintptr_t addend;  /* host address = addend + linear address */
};
_Static_assert(sizeof(struct tlb_entry) == 32, "the JIT's inline TLB probe assumes 32-byte entries");

/* TLB index: 0 supervisor (CPL 0-2), 1 user (CPL 3). */
enum { MMU_SUP, MMU_USER, MMU_MODES };

/* Access kinds for translation. */
enum mmu_access { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };

/* Page-fault error code bits. */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)

struct mmu {
    struct tlb_entry tlb[MMU_MODES][TLB_SIZE];
    uint64_t phys[MMU_MODES][TLB_SIZE]; /* physical page of each entry (cold: code fetch only) */
    uint8_t global[MMU_MODES][TLB_SIZE]; /* entry maps a global page: kept by CR3 loads */
    unsigned nglobal;     /* entries flagged in global[] (0: a CR3 load may memset) */
    uint64_t large_base;  /* span covering every cached large page ... */
    uint64_t large_mask;  /* ... is (lin & large_mask) == large_base; mask 0: none cached */
    uint32_t watch[4];    /* linear pages holding an enabled data breakpoint */
    unsigned nwatch;
    /* Paging control as last set by the CPU. */
    bool pg;        /* CR0.PG */
    bool wp;        /* CR0.WP */
    bool pse;       /* CR4.PSE */
    bool pae;       /* CR4.PAE */
    bool pge;       /* CR4.PGE */
    bool nxe;       /* EFER.NXE */
    uint64_t cr3;
    uint64_t pdpte[4]; /* PAE: PDPTEs loaded at CR3 write */
    uint64_t phys_gen; /* phys.gen the TLB was filled under */
    bool no_write_entries; /* never cache write tags: every write takes the slow path (JIT co-simulation) */
    uint64_t flushes;  /* statistics */
    uint64_t misses;
    uint16_t fill_log[TLB_FILL_LOG]; /* mode << TLB_BITS | index of non-global fills since the last flush ... */
    unsigned nfill;                  /* ... how many; TLB_FILL_LOG + 1: overflowed, not all are listed */
};

/* Result of a page walk. */
struct mmu_xlate {
    uint64_t paddr;   /* physical address (before A20 masking) */
    bool user_ok;     /* page reachable from CPL 3 */
    bool write_ok;    /* writable at the privilege of the walk */
    bool exec_ok;     /* executable (NX clear or NXE off) */
    bool dirty;       /* D bit was set before this walk (write entries may be cached) */
    bool global;      /* global page (CR4.PGE and G in the leaf) */
    uint64_t size;    /* page size: 4 KiB, 2 MiB or 4 MiB (4 KiB with paging off) */
    uint32_t fault;   /* page-fault error code; 0 when the walk succeeded */
};

void mmu_init(struct mmu *m);

/* Set paging controls from CR0/CR3/CR4/EFER and flush the whole TLB. With
 * PAE paging on, loads the PDPTEs from `mem`. Returns false, changing
 * nothing, when a present PDPTE has reserved bits set (the caller raises
 * #GP(0)). */
bool mmu_set_paging(struct mmu *m, struct phys *mem, uint32_t cr0, uint64_t cr3, uint32_t cr4, uint64_t efer);

/* A CR3 load: new page-directory base (and PDPTEs under PAE paging, with
 * the same failure rule), then drop every entry except global pages when
 * CR4.PGE is on. */
bool mmu_load_cr3(struct mmu *m, struct phys *mem, uint64_t cr3);

void mmu_flush(struct mmu *m);
void mmu_flush_nonglobal(struct mmu *m);
void mmu_flush_page(struct mmu *m, uint64_t lin);

/* Linear pages that hold enabled data breakpoints (at most 4); flushes. */
void mmu_set_watch(struct mmu *m, const uint32_t *pages, unsigned n);

/*
 * Translate a linear address for an access of `kind` at privilege `user`
 * (true for CPL 3 data accesses). Sets accessed/dirty bits as the hardware
 * would when the access is allowed. On a fault returns false with the
 * page-fault error code in x->fault.
 */
bool mmu_translate(struct mmu *m, struct phys *mem, uint64_t lin, enum mmu_access kind, bool user,
                   struct mmu_xlate *x);

/* Fill the TLB entry for `lin` after a successful translation. */
void mmu_tlb_fill(struct mmu *m, struct phys *mem, uint64_t lin, const struct mmu_xlate *x, int mode);

/* Drop write entries that point at a physical page (it now holds code). */
void mmu_protect_code(struct mmu *m, struct phys *mem, uint64_t paddr);

static inline struct tlb_entry *tlb_entry_for(struct tlb_entry *tlb, uint64_t lin)
{
    return &tlb[(lin >> 12) & (TLB_SIZE - 1)];
}

#endif
