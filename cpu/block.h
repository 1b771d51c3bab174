/*
 * Decoded blocks: straight-line runs of decoded instructions that the
 * interpreter executes without decoding again.
 *
 * Invariants
 * - A block lies within one physical page, except that its last
 *   instruction may cross into the next linear page (`crosses`): then the
 *   block is on both pages' lists for self-modifying code, is found in
 *   the hash only while the second page still maps to `paddr2`, and its
 *   jump-cache entry goes with either page's invalidation. Such an
 *   instruction is cached only when the second page is in the TLB at
 *   build time; otherwise interp.c runs it on its own.
 * - It ends after an A_END instruction (control transfer, mode change,
 *   string instruction), at the page end, or at max_block_insns.
 * - Keyed by (physical address, EIP, CS base, CS limit, mode word): EIP is
 *   part of the key so decoded branch targets can be absolute, and the CS
 *   limit because instructions beyond it were decoded as #GP.
 * - Blocks are bump-allocated from one arena and freed only when the whole
 *   arena is flushed, which happens between blocks, never during one.
 * - An invalidated block is unlinked from the hash chain, its page list and
 *   the jump cache; a pointer to it held by the executing loop stays
 *   readable until the next flush.
 */
#ifndef KESTREL_BLOCK_H
#define KESTREL_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/accel.h"
#include "cpu/insn.h"

struct cpu;
struct phys;

struct block {
    /* What a jump-cache hit checks, and the code it runs, first: one
     * cache line for the JIT's inline dispatch (jit/x64/common.c). */
    uint32_t eip;        /* EIP of the first instruction */
    uint32_t mode;       /* mode word it was decoded under */
    uint32_t lin;        /* linear address of the first byte */
    uint32_t jmp_gen;    /* cpu->jmp_gen when it entered the jump cache */
    native_fn *native;   /* accelerator code for this block, or NULL (cpu/accel.h) */
    uint32_t next_eip;   /* EIP after the last instruction */
    uint32_t cs_base;    /* CS base it was decoded under */
    uint32_t cs_limit;   /* CS limit it was decoded under */
    uint64_t paddr;      /* physical address of the first byte */
    struct block *hnext; /* hash chain */
    struct block *pnext; /* blocks on the same physical page */
    struct block *pnext2; /* crossing blocks: the chain of the second page's list */
    uint64_t paddr2;     /* crossing blocks: physical address of the second page */
    uint8_t crosses;     /* the last instruction crosses into the next linear page */
    uint16_t n;          /* instructions */
    uint16_t bytes;      /* guest code bytes covered (an accelerator may widen this over
                          * code it translated with the block: jit/super.c) */
    uint16_t lead;       /* and before paddr, on its page (0 but for such widening) */
    uint8_t jmp_global;  /* its page was global (PTE.G, CR4.PGE) when it entered the jump cache */
    uint32_t hits;       /* interpreted executions (accelerator hotness) */
    void *accel;         /* the accelerator's own data about this block */
    struct insn insn[];  /* n decoded instructions */
};

#define JMP_CACHE_BITS 14
#define JMP_CACHE_SIZE (1u << JMP_CACHE_BITS)
/* Jump-cache slots remembered for a CR3 load (see blkcache_jmp_set). */
#define JMP_LOG_SIZE 1024
/* Linear pages (folded) that may have jump-cache entries, for INVLPG. */
#define JMP_PAGE_BITS 32768

struct blkcache {
    struct block *jmp[JMP_CACHE_SIZE]; /* by linear PC, see jmp_hash(); checked against the TLB on use */
    /* jmp[k]->native when jmp[k] was set (the accelerator refreshes it when
     * it translates the block): translated code takes its jump target from
     * here, one load after the hash instead of two, and checks it against
     * the block's own pointer (a stale one is a miss). */
    native_fn *jnat[JMP_CACHE_SIZE];
    uint16_t jlog[JMP_LOG_SIZE];       /* slots given a non-global block since the last CR3 load ... */
    unsigned jlog_n;                   /* ... how many; JMP_LOG_SIZE + 1: overflowed, not all are listed */
    uint64_t jpage[JMP_PAGE_BITS / 64]; /* bit (linear page % JMP_PAGE_BITS): may have had an entry ... */
    uint64_t jlarge[1024 / 64];         /* bit (linear address >> 22): ... from a large page, since the last jmp_gen bump */
    struct block **hash;               /* chains by xxHash of the key */
    unsigned hash_mask;
    struct block **page;               /* per RAM page: blocks decoded from it */
    uint64_t npages;
    uint8_t *arena;
    size_t arena_size, used;
    uint64_t phys_gen;                 /* phys.gen the cache was built under */
    struct phys *mem;
    struct cpu *cpu;
    uint64_t flushes, invalidations;
};

/* Jump-cache index: the low bits of the PC spread blocks within a page,
 * the page number is folded in so hot pages land apart. */
static inline unsigned jmp_hash(uint32_t lin)
{
    return (lin ^ (lin >> 10) ^ (lin >> 20)) & (JMP_CACHE_SIZE - 1);
}

struct blkcache *blkcache_new(struct cpu *cpu, struct phys *mem, size_t arena_size);
void blkcache_free(struct blkcache *bc);
void blkcache_flush(struct blkcache *bc);
void blkcache_flush_jmp(struct blkcache *bc);

/*
 * Put `b` in the jump cache, stamped with the CPU's jmp_gen. `global`: the
 * translation of its page is global, so a CR3 load keeps the entry (as the
 * TLB keeps the page); other entries are logged for blkcache_jmp_cr3().
 * `large`: the page may be part of a large page (INVLPG anywhere in it
 * drops the entry).
 */
void blkcache_jmp_set(struct blkcache *bc, struct block *b, bool global, bool large);

/* Drop `b` from lookups (hash and jump cache) and from the accelerator, as
 * for a code write: a crossing block whose second page maps elsewhere now. */
void blkcache_drop(struct blkcache *bc, struct block *b);

/* Whether the jump cache may hold a block from the linear page of `lin`
 * (or from a large page around it) since the last jmp_gen bump, which
 * must clear the bitmaps (blkcache_jmp_forget). INVLPG of a page with no
 * blocks (fixmap and text_poke pages) then keeps the jump cache. */
bool blkcache_jmp_may_hold(const struct blkcache *bc, uint32_t lin);
void blkcache_jmp_forget(struct blkcache *bc);

/* A CR3 load: drop the jump-cache entries of non-global pages. Returns
 * false when the log overflowed and the caller must drop every entry
 * (bump cpu->jmp_gen). */
bool blkcache_jmp_cr3(struct blkcache *bc);

/* Interpret the first `limit` instructions of `b` (all of them when limit
 * >= b->n) exactly as the run loop does, faults included (cpu/interp.c);
 * for callers outside it, such as the JIT's co-simulation. */
void cpu_run_block(struct cpu *c, const struct block *b, unsigned limit);

struct block *blkcache_lookup(struct blkcache *bc, uint64_t paddr, uint32_t eip, uint32_t cs_base, uint32_t cs_limit,
                              uint32_t mode);
/* Allocate a block of up to `n` instructions (may flush the whole cache first). */
struct block *blkcache_alloc(struct blkcache *bc, unsigned n);
/* Publish a block filled in by the caller (shrinks its allocation to b->n). */
void blkcache_insert(struct blkcache *bc, struct block *b);

#endif
