/*
 * Loops that keep the x87 register cache (x87.c) across their back edge.
 *
 * A block whose conditional branch jumps back to its own start would
 * otherwise write every cached x87 register back to struct cpu on the way
 * round (80-bit stores, the status word, the tags) and load them again at
 * the top, every iteration. Instead:
 *
 *   1. A plain translation notes such a back edge and the cache's model
 *      there. When the model is worth carrying (something cached, TOP
 *      where it started), be_again() asks for a second translation.
 *   2. The second one starts from that model, m0 (x64_x87_loop_model):
 *      after the chained entry's checks, the head checks that the x87 may
 *      run inline and that struct cpu's tags agree with m0, and loads m0's
 *      registers (x64_x87_preload). The back edge's stub, when its model
 *      holds the same registers (x64_x87_loop_match), puts them back in
 *      m0's order, stores C1 and the instruction pointers, counts the
 *      instructions, makes the chained entry's checks itself (events, the
 *      budget: leaving writes m0 back) and jumps to the body past the
 *      head. Every other exit writes the cache back as usual.
 *   3. When the second translation's back edge does not match after all,
 *      a third, plain again, is kept.
 *
 * A head whose checks fail (the first entry finds other tags, the guest's
 * x87 mode forbids inline code) sets cpu->interp_next and returns to the
 * run loop, which interprets the block once: one iteration later the
 * state is the loop's own. Co-simulation and exec tracing compare or log
 * block by block, and a block that crosses a page checks its second page
 * at each entry: they keep plain translations.
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "jit/x64/x64.h"

enum loop_state { LP_PLAIN, LP_FOUND, LP_LOOP, LP_FAILED };

void x64_loop_begin(struct be_ctx *x, bool again)
{
    struct x64_loop *lp = &x->lp;
    if (!again)
        lp->state = LP_PLAIN;
    else if (lp->state == LP_FOUND)
        lp->state = LP_LOOP;
    lp->found = lp->matched = false;
    lp->head = NULL;
}

bool be_again(struct be_ctx *x)
{
    struct x64_loop *lp = &x->lp;
    switch (lp->state) {
    case LP_PLAIN:
        if (lp->found) {
            lp->state = LP_FOUND;
            return true;
        }
        return false;
    case LP_LOOP:
        if (lp->matched) {
            x->j->stats.jit_x87_loops++;
            return false;
        }
        lp->state = LP_FAILED;
        return true;
    default:
        return false;
    }
}

/* At the start of the body: the head, in a loop translation. */
void x64_loop_head(struct be_ctx *x)
{
    if (x->lp.state != LP_LOOP)
        return;
    uint8_t *fail;
    uint8_t *site = x64_x87_preload(x, &x->lp.m0, RAX, RCX, &fail);
    x64_add_cold(x, COLD_LOOP_DECLINE, site);
    x64_add_cold(x, COLD_LOOP_DECLINE, fail);
    x->lp.head = x->buf.p;
}

/* The exit a label leads to: LABEL c0, then its GOTO (ir.h: only exits
 * follow a label). */
static const struct ir_op *label_goto(const struct ir_block *ir, int64_t label)
{
    for (unsigned k = 0; k + 1 < ir->nops; k++)
        if (ir->ops[k].opc == IR_LABEL && ir->ops[k].c[0] == label)
            return ir->ops[k + 1].opc == IR_GOTO ? &ir->ops[k + 1] : NULL;
    return NULL;
}

/* A BRCOND (its jump at `site`) with the x87 cache in use: true when it
 * is the loop's back edge and its stub is made here (COLD_LOOP). In a
 * plain translation, notes the first back edge whose model is worth a
 * loop translation. */
bool x64_loop_back_edge(struct be_ctx *x, const struct ir_block *ir, const struct ir_op *op, uint8_t *site)
{
    struct x64_loop *lp = &x->lp;
    const struct jit_config *cfg = &x->j->cfg;
    if (lp->state == LP_FAILED || cfg->cosim || (x->j->cpu->log_mask & LOG_EXEC) || x->b->crosses)
        return false; /* (a block crossing a page rechecks it at every entry: backend.h) */
    const struct ir_op *g = label_goto(ir, op->c[0]);
    if (!g || (uint32_t)g->c[0] != x->b->eip)
        return false;
    uint32_t index = (uint32_t)(op - ir->ops);
    if (lp->state == LP_PLAIN) {
        if (!lp->found && x64_x87_loop_model(&x->x87, &lp->m0)) {
            lp->found = true;
            lp->op = index;
        }
        return false;
    }
    if (lp->state != LP_LOOP || index != lp->op || !lp->head || !x64_x87_loop_match(&x->x87, &lp->m0))
        return false;
    struct cold *c = x64_add_cold(x, COLD_LOOP, site);
    c->x87 = x->x87;
    c->ninsns = g->c[2];
    lp->matched = true;
    return true;
}

/* The back edge: deferred stores, the cache into m0's shape, then what the
 * GOTO and the chained entry would do, into the body. */
void x64_emit_cold_loop(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    if (c->kind == COLD_LOOP_DECLINE) {
        if (x->j->cfg.stats) {
            x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&x->j->stats.jit_x87_loop_declines);
            x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
        }
        x_store_i(b, 1, RBP, (int32_t)offsetof(struct cpu, interp_next), 1);
        x64_store_eip(x, x->b->eip);
        x_jmp_to(b, x->j->common.epilogue);
        return;
    }
    x64_emit_defers(x, c);
    x64_x87_normalize(x, &c->x87, &x->lp.m0);
    x64_emit_exit_common(x, c->ninsns);
    x_alu_mi(b, ALU_CMP, 1, RBP, (int32_t)offsetof(struct cpu, events), 0);
    uint8_t *ev = x_jcc32(b, CC_NE);
    x_load(b, 1, R11, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, icount), 8, false);
    x_alu_rm(b, ALU_SUB, 1, R11, RBP, (int32_t)offsetof(struct cpu, exec_end));
    uint8_t *spent = x_jcc32(b, CC_NS);
    x_jmp_to(b, x->lp.head);
    x_patch32(ev, b->p);
    x_patch32(spent, b->p);
    x64_x87_writeback(x, &x->lp.m0);
    x64_store_eip(x, x->b->eip);
    x_jmp_to(b, x->j->common.epilogue);
}
