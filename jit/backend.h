/*
 * The contract between the host-independent JIT (IR, passes, register
 * allocator, code cache) and a host backend (jit/<host>/). Every backend
 * implements exactly these functions; nothing outside its folder knows a
 * host encoding.
 *
 *   - be_desc: the register file (which registers the allocator may use,
 *     which a C call clobbers), spill-slot count, Capstone arch for logs.
 *   - be_constraints()/be_imm_ok(): per IR op, where each input may live
 *     (a register class, or an immediate the backend can encode), where the
 *     output goes, whether it must share an input's register (two-address
 *     hosts), and how many scratch registers the op needs.
 *   - be_emit_*: the allocator's moves (register copy, constant, spill,
 *     fill) and one call per IR op with every operand placed.
 *   - be_gen_common(): prologue, epilogue, chaining stub and indirect-jump
 *     dispatch, generated once at the start of each arena.
 *   - be_patch_jump(): repoint a direct exit (chaining and unchaining).
 *
 * A block's chained entry (be_chain_entry_offset past block->native) is
 * entered with cpu->eip stale: its ways back to the run loop store the
 * block's EIP. It leaves at once for pending events or a spent budget,
 * and, for a block that crosses a page, unless the jump cache still holds
 * it at the current generation (chained jumps outlive TLB flushes; its
 * second page may map elsewhere now).
 *
 * The allocator guarantees an op's inputs are in the registers (or the
 * immediates) the constraints allow, the output register holds nothing
 * live, and `live` lists every register holding a value still needed
 * after the op, so slow paths know what to preserve across their calls.
 */
#ifndef KESTREL_JIT_BACKEND_H
#define KESTREL_JIT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/ir.h"

typedef uint32_t regset;
#define REGBIT(r) ((regset)1u << (r))

struct be_desc {
    const char *name;
    regset allocatable;    /* registers the allocator may hand out */
    regset call_clobbered; /* of those, the ones a C call does not preserve */
    int nslots;            /* spill slots in the frame */
    int cs_arch, cs_mode;  /* Capstone, for --log out_asm */
};
extern const struct be_desc be_host;

struct be_cons {
    regset in[4];      /* allowed registers per input */
    uint8_t imm[4];    /* input may stay a constant if be_imm_ok() accepts it */
    regset out;        /* allowed output registers */
    int8_t alias;      /* output shares input `alias`'s register, or -1 */
    uint8_t out_excl;  /* output must differ from every input register */
    uint8_t nscratch;  /* scratch registers wanted */
    regset scratch;    /* allowed scratch registers */
};

/* Where an operand is: a register (reg >= 0), a constant (reg -1, val),
 * or a spill slot (reg BE_LOC_SLOT, val = slot). Spill slots appear only
 * for deferred stores. */
struct be_loc {
    int reg;
    int64_t val;
};
#define BE_LOC_SLOT (-2)

struct be_ctx;
struct jit;
struct jit_tb;
struct block;

/* Is a backend usable on this host (CPU features)? */
bool be_available(void);

void be_constraints(const struct ir_block *ir, const struct ir_op *op, struct be_cons *c);
bool be_imm_ok(const struct ir_op *op, int idx, int64_t v);
/* An X87/X87F op (instruction op->c[0] of b) whose memory operand the
 * backend accesses inline and can take from a probe group's base in in1
 * (probe.c): its size in bytes and whether it writes. */
bool be_x87_access(const struct block *b, const struct ir_op *op, int *size, bool *write);

/* Translation of one block into [start, end). `again`: the same block
 * once more, into the same place, because be_again() asked for it. */
struct be_ctx *be_begin(struct jit *j, struct jit_tb *tb, uint8_t *start, uint8_t *end, bool again);
void be_emit_mov(struct be_ctx *x, enum ir_type t, int dst, int src);
void be_emit_movi(struct be_ctx *x, enum ir_type t, int dst, int64_t v);
void be_emit_spill(struct be_ctx *x, int reg, int slot);
void be_emit_fill(struct be_ctx *x, int reg, int slot);
void be_emit_op(struct be_ctx *x, const struct ir_block *ir, const struct ir_op *op, int out, const struct be_loc *in,
                const int *scratch, regset live);
/* Before be_emit_op of an op with deferred stores (IRF_SOFT): the stores
 * its out-of-line path must do first, with where each value is. */
void be_set_defers(struct be_ctx *x, const struct ir_defer *d, const struct be_loc (*locs)[4], unsigned n);
/* Finish: emit cold code, resolve labels. Returns the bytes used, 0 when
 * the block cannot be translated, or BE_FULL when it did not fit. */
#define BE_FULL ((size_t)-1)
size_t be_end(struct be_ctx *x);
/* After a successful be_end: whether the backend wants the block emitted
 * once more (a first translation taught it something, e.g. the x87
 * registers a loop carries round; the IR is the same every time). */
bool be_again(struct be_ctx *x);
void be_free(struct be_ctx *x);

/* Arena-wide routines, written at `start`; returns bytes used (0: no room). */
size_t be_gen_common(struct jit *j, uint8_t *start, uint8_t *end);
/* Point the direct exit whose patch site is `site` at `target`. */
void be_patch_jump(uint8_t *site, const uint8_t *target);
/* Whether an exit carrying the backend's x87 cache (jit_exit.cx_key) may
 * jump into a block's x87 entry (jit_tb.cx_key). */
bool be_carry_match(uint32_t exit_key, uint32_t entry_key);
/* Offset from a block's entry point (block->native) to its chained entry. */
extern const unsigned be_chain_entry_offset;
/* A translated block was invalidated: make its chained entry leave for
 * the run loop at once (cpu->eip = its EIP), for whatever may still jump
 * there (an inline cache is checked by generation, not by block). */
void be_kill_entry(struct jit *j, struct jit_tb *tb);

#endif
