/*
 * Loops at IR level: the back edge of a block that jumps to its own start,
 * and the guest registers carried round it in host registers.
 *
 * A plain translation of such a loop loads each guest register it uses
 * from struct cpu and stores each one it writes, every iteration: the
 * store and the next iteration's load are on the loop's dependency chain
 * (a store-to-load forwarding, some five cycles, per carried register).
 * ir_carry() rewrites the IR so that the registers the loop writes stay in
 * host registers instead:
 *
 *   h = LDG g                    for each carried g, at the top
 *   LOOPHEAD                     the back edge returns here; its deferred
 *                                stores list (g, h): where h is now
 *   STG g, h                     for each g
 *   ...body...
 *   BRCOND ... L                 the back edge
 *   t = LDG g; STG g, t          for each g, on the way out
 *   GOTO ...
 *
 * The optimiser (opt.c) then does the rest: each real STG of g kills the
 * one before it, which becomes a deferred store of every soft op in
 * between (faults, side exits), the back edge included, and the store on
 * the way out stays on the main path, done once when the loop ends. So
 * every way out of the body stores the carried registers, and the back
 * edge's deferred stores of them say where each value is: the backend
 * (x64/loop.c) moves them into the registers LOOPHEAD found the h in,
 * instead of storing them, and jumps to LOOPHEAD. The STG g, h after it is
 * not a store, mostly: it makes the exits taken before the body writes g
 * store h, the value carried in from the previous iteration (struct cpu's
 * copy is stale from the second iteration on). Where something reads
 * struct cpu before the body writes g (an interpreter call), it stays a
 * store, done each iteration: hence after LOOPHEAD.
 *
 * All eight fit: at LOOPHEAD nothing else is live, so the allocator has
 * put each head value in a register.
 *
 * Only registers the loop writes are carried: those it only reads are
 * loaded each iteration, from a line no store touches. The lazy flags are
 * not carried: a loop's flags are written back each iteration as before.
 */
#include <stdlib.h>
#include <string.h>

#include "jit/jit_int.h"

const struct ir_op *ir_label_goto(const struct ir_block *ir, int64_t label)
{
    for (unsigned k = 0; k + 1 < ir->nops; k++)
        if (ir->ops[k].opc == IR_LABEL && ir->ops[k].c[0] == label)
            return ir->ops[k + 1].opc == IR_GOTO ? &ir->ops[k + 1] : NULL;
    return NULL;
}

int ir_back_edge(const struct ir_block *ir, uint32_t eip)
{
    for (unsigned k = 0; k < ir->nops; k++) {
        const struct ir_op *op = &ir->ops[k];
        if (ir_opdefs[op->opc].flags & IRF_EXIT)
            break; /* the end of the main path */
        if (op->opc != IR_BRCOND)
            continue;
        const struct ir_op *g = ir_label_goto(ir, op->c[0]);
        if (g && (uint32_t)g->c[0] == eip)
            return (int)k;
    }
    return -1;
}

/* Move the ops appended since `mark` to index `at`, after shifting the
 * ones from `at` up. */
static void move_tail(struct ir_block *ir, unsigned mark, unsigned at)
{
    unsigned n = ir->nops - mark;
    struct ir_op tmp[n ? n : 1];
    memcpy(tmp, &ir->ops[mark], n * sizeof(*tmp));
    memmove(&ir->ops[at + n], &ir->ops[at], (mark - at) * sizeof(*tmp));
    memcpy(&ir->ops[at], tmp, n * sizeof(*tmp));
}

bool ir_carry(struct ir_block *ir)
{
    if (ir->back < 0)
        return false;
    unsigned back = (unsigned)ir->back;
    uint8_t carried = 0;
    for (unsigned k = 0; k < back; k++)
        if (ir->ops[k].opc == IR_STG && ir->ops[k].c[0] < G_LFRES)
            carried |= (uint8_t)(1u << ir->ops[k].c[0]);
    if (!carried)
        return false;

    /* On the way out: after the back edge, in front of what follows it. */
    uint16_t cur = ir->cur_insn;
    ir->cur_insn = ir->ops[back].insn;
    unsigned mark = ir->nops;
    for (int g = 0; g < G_LFRES; g++)
        if (carried & (1u << g))
            ir_stg(ir, (enum ir_global)g, ir_ldg(ir, (enum ir_global)g));
    if (ir->oom)
        return false;
    move_tail(ir, mark, back + 1);

    /* At the top. */
    ir->cur_insn = 0;
    mark = ir->nops;
    unsigned first = ir->ndefers, n = 0;
    ir_temp h[G_LFRES];
    for (int g = 0; g < G_LFRES; g++) {
        if (!(carried & (1u << g)))
            continue;
        h[g] = ir_ldg(ir, (enum ir_global)g);
        ir_add_defer(ir, &(struct ir_defer){ .g = (uint8_t)g, .v = { h[g], IR_NOTEMP, IR_NOTEMP, IR_NOTEMP } });
        n++;
    }
    struct ir_op *head = ir_emit(ir, IR_LOOPHEAD, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
    head->dfirst = (uint16_t)first;
    head->dcount = (uint16_t)n;
    for (int g = 0; g < G_LFRES; g++)
        if (carried & (1u << g))
            ir_stg(ir, (enum ir_global)g, h[g]);
    ir->cur_insn = cur;
    if (ir->oom)
        return false;
    unsigned added = ir->nops - mark;
    move_tail(ir, mark, 0);
    ir->back = (int32_t)(back + added);
    ir->carried = carried;
    return true;
}
