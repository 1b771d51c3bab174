/*
 * The JIT's internal state, shared by its host-independent files and the
 * backend: the code arena with its translated blocks (struct jit_tb), the
 * chaining records (struct jit_exit), and the reusable translation buffers.
 *
 * Invariants
 * - A jit_tb exists for every block whose `native` points into the arena;
 *   block->accel points back at it. Flushing the arena clears `native` and
 *   `accel` of every block that has one, through the tb list.
 * - A chained exit's jump goes straight to its target's chained entry, and
 *   the exit is on the target's `incoming` list; invalidating the target
 *   walks that list and points every such jump back at its own stub.
 * - Direct exits are chained only to blocks on the same linear page as the
 *   block they leave (and therefore the same physical page: the translation
 *   was checked when the first block of the group was entered).
 */
#ifndef KESTREL_JIT_INT_H
#define KESTREL_JIT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/accel.h"
#include "jit/backend.h"
#include "jit/ir.h"
#include "jit/jit.h"

struct block;
struct cpu;

struct jit_exit {
    uint8_t *site;          /* the patchable jump (backend patch site) */
    uint8_t *stub;          /* where the jump goes when unchained */
    uint32_t eip;           /* target EIP */
    struct jit_tb *from;
    struct jit_tb *to;      /* chained target, or NULL */
    struct jit_exit *next_in; /* next exit chained to the same target */
    /* An exit that leaves with the backend's x87 cache in use may carry it
     * into a target with an x87 entry (a loop translation that starts from
     * such a cache: x64/loop.c) when be_carry_match() says the two fit:
     * chaining points `cx_jump` at that entry and `cx_site` at `cx_path`
     * (which counts the exit's instructions and takes cx_jump); unchaining
     * points cx_site back at `cx_stub` (the cache written back, then the
     * exit as usual). cx_site NULL: no such path. */
    uint8_t *cx_site, *cx_path, *cx_jump, *cx_stub;
    uint32_t cx_key;
};

/* Superblocks (super.c): decoded blocks one translation may span, by
 * default and at most, and its instruction cap. */
#define JIT_DEFAULT_BLOCKS 4
#define JIT_MAX_PARTS 4
#define JIT_SUPER_INSNS 96

/* Exits: a side exit per part but the last, which has two. */
#define JIT_MAX_EXITS (JIT_MAX_PARTS + 1)

/* The decoded blocks a translation covers, in order (parts.b[0] is the
 * block it is attached to). */
struct jit_parts {
    unsigned n;
    const struct block *b[JIT_MAX_PARTS];
};

struct jit_tb {
    struct block *b;
    const struct block *blk; /* the instructions translated: b, or its superblock copy in the arena */
    struct jit_parts parts;
    uint8_t *code;          /* entry point: block->native */
    uint8_t *data;          /* the lowest byte of its data at the arena's top (the end it was given: none) */
    uint32_t size;          /* bytes of host code */
    uint32_t page;          /* linear page of the block */
    unsigned ninsns;        /* guest instructions translated (a prefix of blk) */
    unsigned nexits;
    struct jit_exit exit[JIT_MAX_EXITS];
    struct jit_exit *incoming; /* exits chained to this block */
    uint8_t *cx_entry;      /* its x87 entry (jit_exit.cx_*), or NULL */
    uint32_t cx_key;        /* the cache that entry takes (be_carry_match) */
};

/* Routines at the start of every arena (be_gen_common fills these). */
struct jit_common {
    uint8_t *prologue;      /* native entry: saves registers, pins the CPU, jumps to the body */
    uint8_t *miss;          /* cpu->eip = EAX, then the epilogue (a dispatch miss) */
    uint8_t *epilogue;      /* back to the run loop (cpu->blk cleared) */
    uint8_t *chain;         /* unchained direct exit: try to chain, else epilogue */
    uint8_t *indirect;      /* dispatch on cpu->eip through the jump cache */
    uint8_t *ret_bottom;    /* a return stack's bottom entries return here (x64/ret.c) */
    uint8_t *ic_miss[10];   /* an inline cache missed, per kind (x64/ic.c) */
};

/* Register-allocator working storage, sized by the block's temp count. */
struct ra_state;

struct jit {
    struct cpu *cpu;
    struct cpu_accel accel;
    struct jit_config cfg;
    uint8_t *arena;
    size_t arena_size, used;
    size_t data_low;         /* [data_low, arena_size): translations' data (inline caches), allocated downward */
    size_t common_size;      /* bytes of jit_common routines at the arena start */
    struct jit_common common;
    struct jit_tb *tbs;      /* pool: tbs[0..ntbs) are live */
    unsigned ntbs, tbs_cap;
    struct ir_block ir;
    struct ra_state *ra;
    struct be_ctx *be;       /* the backend's translation context, reused */
    struct jit_stats stats;
    struct cosim *cosim;     /* NULL unless cfg.cosim */
    struct block *super;     /* superblock scratch, room for JIT_SUPER_INSNS (super.c) */
    FILE *perf_map;          /* NULL unless cfg.perf_map */
};

/* jit.c */
struct jit_tb *jit_translate(struct jit *j, struct block *b);
void jit_flush_code(struct jit *j);
/* The C side of an unchained direct exit (called by jit_common.chain):
 * chains it when the target is translated, and returns where to jump. */
const uint8_t *jit_chain_exit(struct cpu *cpu, struct jit_exit *e);
/* Exception raised from translated code (RAISE): does not return. */
_Noreturn void jit_raise(struct cpu *cpu, int vector, int errcode);

/* super.c: the block to translate for b, b itself or a superblock in
 * j->super, and the decoded blocks it covers; its size in the arena. */
const struct block *jit_super_build(struct jit *j, struct block *b, struct jit_parts *parts);
size_t jit_super_size(unsigned n);

/* frontend.c: decoded block -> IR (the first n instructions). */
void fe_translate(struct jit *j, const struct block *b, unsigned n, struct ir_block *ir);

/* opt.c */
void opt_run(struct ir_block *ir);

/* regalloc.c: allocate registers and drive the backend over the IR. */
struct ra_state *ra_new(void);
void ra_free(struct ra_state *ra);
bool ra_run(struct ra_state *ra, const struct ir_block *ir, struct be_ctx *x);

/* Slow paths called by translated code (jit.c). */
uint64_t jit_ld_slow(struct cpu *cpu, uint32_t lin, int size);
uint64_t jit_ldw_slow(struct cpu *cpu, uint32_t lin, int size);
void jit_st_slow(struct cpu *cpu, uint32_t lin, uint64_t val, int size);
_Noreturn void jit_seg_fault(struct cpu *cpu, int seg, int write);
void jit_trace_exec(struct cpu *cpu, const struct block *b);

#endif
