/*
 * The x86-64 routines every translated block shares, written once at the
 * start of the code arena:
 *
 *   bottom     where the return stack's bottom entries return (ret.c).
 *   prologue   block->native(cpu) lands here through the block's entry
 *              thunk (RAX = body): save the callee-saved registers, pin
 *              the CPU in RBP, lay the return stack's bottom (ret.c),
 *              save the host's x87 control word in the frame, check the
 *              guest's x87 mode and set the host's up for it (x87.c), arm
 *              the cpu_stop() sentinel (blk_end = NULL), load cpu->icount
 *              into X64_ICOUNT (x64.h), jump to the body.
 *   miss       a dispatch that found no translated code: cpu->eip = EAX,
 *              then the epilogue.
 *   epilogue   back to the run loop: X64_ICOUNT into cpu->icount, clear
 *              cpu->blk (the unwinder must not take a later fault for one
 *              inside this block), restore the host's x87 control word,
 *              unwind (from the return stack's bottom: whatever guest
 *              CALLs pushed goes).
 *   chain      an unchained direct exit (RSI = its struct jit_exit):
 *              jit_chain_exit() patches it when the target is translated
 *              and returns where to go.
 *   indirect   an exit to cpu->eip (without inline caches, ic.c: cross-page
 *              jumps; RET and indirect JMP/CALL emit the same dispatch
 *              inline, x64_emit_dispatch):
 *              the interpreter's jump-cache lookup, inline. A hit
 *              validated exactly as interp.c's jmp_hit() whose block has
 *              native code continues at its chained entry, which then
 *              checks events and the budget; anything else returns.
 *   ic_miss    per kind of table: where an inline cache (ic.c) missed:
 *              the same dispatch, which fills the table's entry on a hit.
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "jit/x64/x64.h"

static const int saved[6] = { RBX, RBP, R12, R13, R14, R15 };

/* The jump-cache dispatch on EIP in EAX: a hit with native code jumps to
 * its chained entry (whose exits store its EIP: nobody else does), anything
 * else to `miss`, which stores EAX as cpu->eip for the run loop.
 * Clobbers RCX, RDX, R8, R11. fill >= 0: an inline cache's miss routine
 * (ic.c), which fills the entry of its table (RSI, of kind `fill`) on a
 * hit. Emitted in the common routine and inline at
 * each indirect exit, so every exit site has its own indirect jump for
 * the branch predictor to learn (a RET returns to few places; all RETs
 * together go everywhere). */
void x64_emit_dispatch(struct jit *j, struct xbuf *b, const struct block *from, int fill)
{
    struct jit_common *cm = &j->common;
    /* ecx = lin = CS.base + eip (from a block: its own CS base, which
     * nothing inside a block changes) */
    if (from) {
        x_lea(b, 0, RCX, RAX, NOREG, 0, (int32_t)from->cs_base);
    } else {
        x_load(b, 0, RCX, RBP, NOREG, 0,
               (int32_t)(offsetof(struct cpu, seg) + SEG_CS * sizeof(struct seg) + offsetof(struct seg, base)), 4,
               false);
        x_alu_rr(b, ALU_ADD, 0, RCX, RAX);
    }
    /* edx = jmp_hash(lin) */
    x_mov_rr(b, 0, RDX, RCX);
    x_shift_ri(b, SH_SHR, 0, RDX, 10);
    x_alu_rr(b, ALU_XOR, 0, RDX, RCX);
    x_mov_rr(b, 0, R8, RCX);
    x_shift_ri(b, SH_SHR, 0, R8, 20);
    x_alu_rr(b, ALU_XOR, 0, RDX, R8);
    x_alu_ri(b, ALU_AND, 0, RDX, JMP_CACHE_SIZE - 1);
    /* r11 = cpu->cache->jnat[edx], where to go (the jump depends on this
     * load alone: a mispredicted target is found out sooner); r8 =
     * cpu->cache->jmp[edx], the block that vouches for it */
    x_load(b, 1, R8, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, cache), 8, false);
    x_load(b, 1, R11, R8, RDX, 3, (int32_t)offsetof(struct blkcache, jnat), 8, false);
    x_load(b, 1, R8, R8, RDX, 3, (int32_t)offsetof(struct blkcache, jmp), 8, false);
    x_test_rr(b, 1, R8, R8);
    x_jcc_to(b, CC_E, cm->miss);
    x_alu_rm(b, ALU_CMP, 0, RCX, R8, (int32_t)offsetof(struct block, lin));
    x_jcc_to(b, CC_NE, cm->miss);
    x_alu_rm(b, ALU_CMP, 0, RAX, R8, (int32_t)offsetof(struct block, eip));
    x_jcc_to(b, CC_NE, cm->miss);
    if (from) { /* the mode is the block's own: a change of mode ends a block */
        x_rm(b, 0x81, 0, 7, R8, NOREG, 0, (int32_t)offsetof(struct block, mode));
        x32(b, from->mode);
    } else {
        x_load(b, 0, RDX, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, mode), 4, false);
        x_alu_rm(b, ALU_CMP, 0, RDX, R8, (int32_t)offsetof(struct block, mode));
    }
    x_jcc_to(b, CC_NE, cm->miss);
    x_load(b, 0, RDX, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, jmp_gen), 4, false);
    x_alu_rm(b, ALU_CMP, 0, RDX, R8, (int32_t)offsetof(struct block, jmp_gen));
    x_jcc_to(b, CC_NE, cm->miss);
    x_test_rr(b, 1, R11, R11);
    x_jcc_to(b, CC_E, cm->miss);
    x_alu_rm(b, ALU_CMP, 1, R11, R8, (int32_t)offsetof(struct block, native));
    x_jcc_to(b, CC_NE, cm->miss);
    if (j->cfg.stats) { /* R8 stays the block (ic.c's fill reads it) */
        x_mov_ri(b, 1, RDX, (int64_t)(uintptr_t)&j->stats.jit_indirect_hits);
        x_alu_mi(b, ALU_ADD, 1, RDX, 0, 1);
    }
    x_alu_ri(b, ALU_ADD, 1, R11, X64_ENTRY_SIZE);
    if (fill >= 0)
        x64_ic_fill(b, fill);
    x_jmp_r(b, R11);
}

size_t be_gen_common(struct jit *j, uint8_t *start, uint8_t *end)
{
    struct xbuf bb = { .p = start, .end = end }, *b = &bb;
    struct jit_common *cm = &j->common;

    x64_ret_stack_bottom(j, b);

    while ((uintptr_t)b->p & 15)
        xb(b, 0xcc);
    cm->prologue = b->p;
    for (int k = 0; k < 6; k++)
        x_push(b, saved[k]);
    x_mov_rr(b, 1, RBP, RDI);
    x64_ret_stack_setup(j, b);
    x_rm(b, 0xd9, 0, 7, X64_FP, NOREG, 0, X64_FO(X64_HOSTCW)); /* fnstcw: x87.c loads the guest's */
    x64_emit_x87_setup(b);
    x_store_i(b, 0, RBP, (int32_t)offsetof(struct cpu, blk_end), 8);
    x_load(b, 1, X64_ICOUNT, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, icount), 8, false);
    x_jmp_r(b, RAX);

    while ((uintptr_t)b->p & 15)
        xb(b, 0xcc);
    cm->miss = b->p;
    x_store(b, RAX, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, eip), 4);
    cm->epilogue = b->p; /* falls through from miss */
    x_store(b, X64_ICOUNT, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, icount), 8);
    x_store_i(b, 0, RBP, (int32_t)offsetof(struct cpu, blk), 8);
    x_rm(b, 0xd9, 0, 5, X64_FP, NOREG, 0, X64_FO(X64_HOSTCW)); /* fldcw: the host's again */
    x64_ret_stack_unwind(b);
    for (int k = 5; k >= 0; k--)
        x_pop(b, saved[k]);
    x_ret(b);

    while ((uintptr_t)b->p & 15)
        xb(b, 0xcc);
    cm->chain = b->p;
    x_mov_rr(b, 1, RDI, RBP);
    x64_call_c(b, (const void *)jit_chain_exit);
    x_jmp_r(b, RAX);

    while ((uintptr_t)b->p & 15)
        xb(b, 0xcc);
    cm->indirect = b->p;
    if (j->cfg.cosim)
        x_jmp_to(b, cm->epilogue); /* co-simulation compares block by block */
    x_load(b, 0, RAX, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, eip), 4, false);
    x64_emit_dispatch(j, b, NULL, -1);

    for (int kind = 0; kind < X64_IC_KINDS; kind++) {
        while ((uintptr_t)b->p & 15)
            xb(b, 0xcc);
        x64_ic_miss_routine(j, b, kind);
    }

    while ((uintptr_t)b->p & 15)
        xb(b, 0xcc);
    if (b->overflow)
        return 0;
    return (size_t)(b->p - start);
}
