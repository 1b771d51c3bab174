/*
 * The decoded-block cache: arena, hash table, jump cache, per-page lists,
 * and invalidation on writes to code (registered as a phys code hook, so
 * CPU stores and DMA both reach it). See block.h for the invariants.
 *
 * Invalidation is by byte range: a write invalidates the blocks whose bytes
 * it overlaps. When the last block of a page goes, the page stops being a
 * code page and writes to it become fast again.
 */
#include "cpu/block.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cpu/cpu.h"

#define HASH_BITS 15

static void code_write_hook(void *opaque, uint64_t paddr, unsigned len);

struct blkcache *blkcache_new(struct cpu *cpu, struct phys *mem, size_t arena_size)
{
    struct blkcache *bc = calloc(1, sizeof(*bc));
    if (!bc)
        return NULL;
    bc->hash_mask = (1u << HASH_BITS) - 1;
    bc->hash = calloc(1u << HASH_BITS, sizeof(*bc->hash));
    bc->npages = mem->ram_size >> 12;
    bc->page = calloc(bc->npages, sizeof(*bc->page));
    arena_size = (arena_size + 63) & ~(size_t)63;
    bc->arena = aligned_alloc(64, arena_size); /* blocks 32-byte aligned (blkcache_insert) */
    bc->arena_size = arena_size;
    bc->mem = mem;
    bc->cpu = cpu;
    bc->phys_gen = mem->gen;
    struct code_hook h = { code_write_hook, bc };
    if (!bc->hash || !bc->page || !bc->arena || phys_add_hook(mem, &h)) {
        blkcache_free(bc);
        return NULL;
    }
    return bc;
}

void blkcache_free(struct blkcache *bc)
{
    if (!bc)
        return;
    free(bc->hash);
    free(bc->page);
    free(bc->arena);
    free(bc);
}

void blkcache_flush_jmp(struct blkcache *bc)
{
    memset(bc->jmp, 0, sizeof(bc->jmp));
    bc->jlog_n = 0;
}

void blkcache_jmp_set(struct blkcache *bc, struct block *b, bool global, bool large)
{
    unsigned slot = jmp_hash(b->lin), pg = (b->lin >> 12) % JMP_PAGE_BITS;
    b->jmp_gen = bc->cpu->jmp_gen;
    b->jmp_global = global;
    bc->jmp[slot] = b;
    bc->jnat[slot] = b->native;
    bc->jpage[pg / 64] |= 1ull << (pg % 64);
    if (large)
        bc->jlarge[(b->lin >> 22) / 64] |= 1ull << ((b->lin >> 22) % 64);
    if (b->crosses) { /* INVLPG of the second page must drop it too */
        uint32_t lin2 = (b->lin & ~0xfffu) + 0x1000;
        unsigned pg2 = (lin2 >> 12) % JMP_PAGE_BITS;
        bc->jpage[pg2 / 64] |= 1ull << (pg2 % 64);
        bc->jlarge[(lin2 >> 22) / 64] |= 1ull << ((lin2 >> 22) % 64); /* it may be a large page: unknown here */
    }
    if (global)
        return;
    if (bc->jlog_n < JMP_LOG_SIZE)
        bc->jlog[bc->jlog_n++] = (uint16_t)slot;
    else
        bc->jlog_n = JMP_LOG_SIZE + 1;
}

bool blkcache_jmp_may_hold(const struct blkcache *bc, uint32_t lin)
{
    unsigned pg = (lin >> 12) % JMP_PAGE_BITS, big = lin >> 22;
    return ((bc->jpage[pg / 64] >> (pg % 64)) & 1) || ((bc->jlarge[big / 64] >> (big % 64)) & 1);
}

void blkcache_jmp_forget(struct blkcache *bc)
{
    memset(bc->jpage, 0, sizeof(bc->jpage));
    memset(bc->jlarge, 0, sizeof(bc->jlarge));
}

/* Kernel code sits on global pages and survives a context switch this
 * way; only the few slots user code filled since the last switch are
 * visited. A slot may be listed twice or hold a block that was replaced
 * since: clearing a slot is always safe, keeping a non-global one never. */
bool blkcache_jmp_cr3(struct blkcache *bc)
{
    unsigned n = bc->jlog_n;
    bc->jlog_n = 0;
    if (n > JMP_LOG_SIZE)
        return false;
    for (unsigned k = 0; k < n; k++) {
        struct block *b = bc->jmp[bc->jlog[k]];
        if (b && !b->jmp_global)
            bc->jmp[bc->jlog[k]] = NULL;
    }
    return true;
}

void blkcache_flush(struct blkcache *bc)
{
    if (bc->cpu->accel)
        bc->cpu->accel->flush(bc->cpu->accel->ctx);
    for (uint64_t p = 0; p < bc->npages; p++) {
        if (bc->page[p]) {
            bc->page[p] = NULL;
            phys_clear_code(bc->mem, p << 12);
        }
    }
    memset(bc->hash, 0, (bc->hash_mask + 1) * sizeof(*bc->hash));
    blkcache_flush_jmp(bc);
    bc->used = 0;
    bc->phys_gen = bc->mem->gen;
    bc->flushes++;
}

static unsigned key_hash(const struct blkcache *bc, uint64_t paddr, uint32_t eip, uint32_t cs_base, uint32_t cs_limit,
                         uint32_t mode)
{
    uint64_t key[3] = { paddr, (uint64_t)eip << 32 | cs_base, (uint64_t)cs_limit << 32 | mode };
    return (unsigned)XXH3_64bits(key, sizeof(key)) & bc->hash_mask;
}

struct block *blkcache_lookup(struct blkcache *bc, uint64_t paddr, uint32_t eip, uint32_t cs_base, uint32_t cs_limit,
                              uint32_t mode)
{
    if (bc->phys_gen != bc->mem->gen)
        blkcache_flush(bc);
    for (struct block *b = bc->hash[key_hash(bc, paddr, eip, cs_base, cs_limit, mode)]; b; b = b->hnext)
        if (b->paddr == paddr && b->eip == eip && b->cs_base == cs_base && b->cs_limit == cs_limit && b->mode == mode)
            return b;
    return NULL;
}

struct block *blkcache_alloc(struct blkcache *bc, unsigned n)
{
    size_t need = sizeof(struct block) + n * sizeof(struct insn);
    if (bc->used + need > bc->arena_size)
        blkcache_flush(bc);
    struct block *b = (struct block *)(bc->arena + bc->used);
    memset(b, 0, sizeof(*b));
    return b;
}

void blkcache_insert(struct blkcache *bc, struct block *b)
{
    /* 32-byte aligned: the fields a jump-cache hit reads (the first 24
     * bytes) never straddle two cache lines. */
    bc->used += (sizeof(struct block) + (size_t)b->n * sizeof(struct insn) + 31) & ~(size_t)31;
    unsigned h = key_hash(bc, b->paddr, b->eip, b->cs_base, b->cs_limit, b->mode);
    b->hnext = bc->hash[h];
    bc->hash[h] = b;
    uint64_t pg = b->paddr >> 12;
    if (pg < bc->npages) { /* RAM: track for self-modifying code (ROM cannot change) */
        if (!bc->page[pg]) {
            phys_mark_code(bc->mem, b->paddr);
            mmu_protect_code(&bc->cpu->mmu, bc->mem, b->paddr);
        }
        b->pnext = bc->page[pg];
        bc->page[pg] = b;
    }
    uint64_t pg2 = b->paddr2 >> 12;
    if (b->crosses && pg2 < bc->npages) {
        if (!bc->page[pg2]) {
            phys_mark_code(bc->mem, b->paddr2);
            mmu_protect_code(&bc->cpu->mmu, bc->mem, b->paddr2);
        }
        b->pnext2 = bc->page[pg2];
        bc->page[pg2] = b;
    }
    /* Not in the jump cache yet: find_block() puts it there, knowing
     * whether its page is global or part of a large page. */
}

static void unlink_hash(struct blkcache *bc, struct block *b)
{
    struct block **pp = &bc->hash[key_hash(bc, b->paddr, b->eip, b->cs_base, b->cs_limit, b->mode)];
    while (*pp && *pp != b)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = b->hnext;
    unsigned j = jmp_hash(b->lin);
    if (bc->jmp[j] == b)
        bc->jmp[j] = NULL;
}

void blkcache_drop(struct blkcache *bc, struct block *b)
{
    unlink_hash(bc, b);
    if (bc->cpu->accel && b->native)
        bc->cpu->accel->invalidate(bc->cpu->accel->ctx, b);
    bc->invalidations++;
}

/* Whether a write to [paddr, end) on physical page pg touches b's bytes
 * there, and b's link in that page's list. A crossing block stays on the
 * other page's list when dropped from one: a stale entry, invalidated
 * again harmlessly if that page is written, gone at the next flush. */
static bool block_hit(const struct block *b, uint64_t pg, uint64_t paddr, uint64_t end)
{
    if (b->paddr >> 12 == pg)
        return b->paddr - b->lead < end && paddr < b->paddr + b->bytes;
    uint64_t tail = b->paddr + b->bytes - ((b->paddr | 0xfff) + 1); /* bytes on the second page */
    return b->paddr2 < end && paddr < b->paddr2 + tail;
}

static struct block **next_on(struct block *b, uint64_t pg)
{
    return b->paddr >> 12 == pg ? &b->pnext : &b->pnext2;
}

static void code_write_hook(void *opaque, uint64_t paddr, unsigned len)
{
    struct blkcache *bc = opaque;
    uint64_t pg = paddr >> 12;
    if (pg >= bc->npages)
        return;
    /* A write may straddle into the next page; handle each page it touches. */
    uint64_t end = paddr + len;
    for (; pg < bc->npages && (pg << 12) < end; pg++) {
        struct block **pp = &bc->page[pg];
        while (*pp) {
            struct block *b = *pp;
            if (block_hit(b, pg, paddr, end)) {
                *pp = *next_on(b, pg);
                blkcache_drop(bc, b);
                bc->cpu->stats.smc_invalidations++;
                /* The running block may be the one rewritten: leave it after this insn. */
                cpu_stop(bc->cpu);
            } else {
                pp = next_on(b, pg);
            }
        }
        if (!bc->page[pg])
            phys_clear_code(bc->mem, pg << 12);
    }
}
