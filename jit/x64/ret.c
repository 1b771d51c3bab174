/*
 * The return stack: a guest CALL becomes a host CALL, and the guest RET
 * that matches it a host RET, which the host CPU's own return-address
 * predictor gets right. Without it every RET is an indirect jump through
 * the jump cache (three dependent loads) to wherever the last RET from
 * that site went, a misprediction whenever a function has more than one
 * caller.
 *
 * The host stack below the common prologue's pushes holds 16-byte
 * entries, one per translated CALL not yet returned from:
 *
 *     [rsp]      host address right after the CALL's `call`: the
 *                continuation, a direct exit to the return EIP
 *     [rsp + 8]  key: cpu->ctx_gen << 32 | return EIP
 *
 * A CALL pushes the key and calls its target (a chained jump site, the
 * exit stub until chained, or the inline dispatch); the continuation
 * follows the call in the caller's code. A RET computes the key of the
 * EIP it popped and returns through the top entry when the keys are
 * equal. The key is a prediction checked in full: the continuation goes
 * to its return EIP exactly as the caller's block would have gone there,
 * and ctx_gen (cpu.h) changes with anything that could make that wrong
 * since the CALL (a mode, CS or CR3 change, a jump-cache flush). A
 * generation wraps after 2^32 bumps; an excursion into translated code
 * ends long before that (budget slices, events). Only the order of
 * returns is guessed: a RET that matches no top entry takes the jump
 * cache, and the stack stays as it was, but for one resynchronisation:
 * when the entry below the top matches, both go (a retpoline thunk's
 * CALL is never returned from; its target returns to the CALL below).
 *
 * Invariants
 * - Each excursion (prologue to epilogue) starts with an empty stack;
 *   the epilogue unwinds RSP from X64_RSPBASE, whatever is pushed. A
 *   continuation is therefore only reached while its block's code is
 *   intact: the arena is reset only between excursions, or under one
 *   that leaves at its next check (hook_flush). An invalidated caller
 *   keeps its code, and its continuation's chained jump is unlinked with
 *   the target like any other.
 * - The bottom holds two entries whose return address is `bottom`, so a
 *   key that happens to equal their sentinel (or the resync's look one
 *   entry lower) lands there: it resets RSP and dispatches on EAX.
 * - A full stack (X64_RET_DEPTH entries) is emptied by the next CALL.
 * - Co-simulation (every block returns to the loop) and --jit-no-ret-stack
 *   turn it off; translations then exit as plain jumps.
 */
#include <stddef.h>

#include "cpu/cpu.h"
#include "jit/x64/x64.h"

#define X64_RET_DEPTH 1024
#define SENTINEL (-1)

bool x64_ret_stack_on(const struct jit *j)
{
    return !j->cfg.cosim && !j->cfg.no_ret_stack;
}

void x64_ret_stack_bottom(struct jit *j, struct xbuf *b)
{
    j->common.ret_bottom = b->p;
    x_load(b, 1, RSP, X64_FP, NOREG, 0, X64_FO(X64_RSPBASE), 8, false);
    x64_emit_dispatch(j, b, NULL, -1);
}

/* After the prologue's six pushes (RSP = 8 mod 16): a pad word and the
 * two bottom entries keep RSP 16-byte aligned. */
void x64_ret_stack_setup(struct jit *j, struct xbuf *b)
{
    x_alu_ri(b, ALU_SUB, 1, RSP, 8);
    for (int k = 0; k < 2; k++) {
        x_mov_ri(b, 1, R11, SENTINEL);
        x_push(b, R11);
        x_lea_rip(b, R11, j->common.ret_bottom);
        x_push(b, R11);
    }
    x_store(b, RSP, X64_FP, NOREG, 0, X64_FO(X64_RSPBASE), 8);
    x_lea(b, 1, R11, RSP, NOREG, 0, -16 * X64_RET_DEPTH);
    x_store(b, R11, X64_FP, NOREG, 0, X64_FO(X64_RSPLIMIT), 8);
}

void x64_ret_stack_unwind(struct xbuf *b)
{
    x_load(b, 1, RSP, X64_FP, NOREG, 0, X64_FO(X64_RSPBASE), 8, false);
    x_alu_ri(b, ALU_ADD, 1, RSP, 8 + 4 * 8);
}

/* R11 = the key of the EIP in `eip` (a zero-extended i32). */
static void key_r11(struct xbuf *b, int eip)
{
    x_load(b, 0, R11, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, ctx_gen), 4, false);
    x_shift_ri(b, SH_SHL, 1, R11, 32);
    x_alu_rr(b, ALU_OR, 1, R11, eip);
}

void x64_emit_call_push(struct be_ctx *x, uint32_t ret_eip)
{
    struct xbuf *b = &x->buf;
    /* full: start again from the bottom (the older entries only miss) */
    x_alu_rm(b, ALU_CMP, 1, RSP, X64_FP, X64_FO(X64_RSPLIMIT));
    uint8_t *room = x_jcc32(b, CC_A);
    x_load(b, 1, RSP, X64_FP, NOREG, 0, X64_FO(X64_RSPBASE), 8, false);
    if (!b->overflow)
        x_patch32(room, b->p);
    x_mov_ri(b, 0, RDX, (int64_t)ret_eip); /* nothing is live at an exit */
    key_r11(b, RDX);
    x_push(b, R11);
}

void x64_emit_ret(struct be_ctx *x)
{
    struct xbuf *b = &x->buf;
    struct jit *j = x->j;
    key_r11(b, RAX);
    x_alu_rm(b, ALU_CMP, 1, R11, RSP, 8);
    uint8_t *miss = x_jcc32(b, CC_NE);
    if (j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&j->stats.jit_ret_hits);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
    }
    x_ret_imm(b, 8);
    if (!b->overflow)
        x_patch32(miss, b->p);
    x_alu_rm(b, ALU_CMP, 1, R11, RSP, 24);
    uint8_t *none = x_jcc32(b, CC_NE);
    if (j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&j->stats.jit_ret_resyncs);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
    }
    x_alu_ri(b, ALU_ADD, 1, RSP, 16);
    x_ret_imm(b, 8);
    if (!b->overflow)
        x_patch32(none, b->p);
    if (j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&j->stats.jit_ret_misses);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
    }
}
