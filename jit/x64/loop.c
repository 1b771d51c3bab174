/*
 * Loop translations (ir_block.back: a block whose conditional branch
 * jumps back to its own start). Their back edge jumps straight back into
 * the body, past everything a chained entry would redo, and keeps two
 * kinds of state in host registers on the way round:
 *
 * - The guest registers the loop writes, and the inputs of its flags
 *   (carry.c arranged the IR): the back edge's deferred stores of them
 *   become moves into the registers LOOPHEAD found their head values in.
 *   A frame word (X64_LOOPFLAGS: X64_ICOUNT at entry) says whether the
 *   back edge was taken since the block was entered: the carried flags
 *   are stored only then
 *   (FLK_CARRIED); kept only where something stores them (a side exit
 *   or slow path before the body's first flag write).
 * - The x87 register cache (x87.c, x87_cache.c), which would otherwise be written back
 *   to struct cpu (80-bit stores, the status word, the tags) and loaded
 *   again at the top, every iteration:
 *   1. A plain translation notes the cache's model at the back edge.
 *      When the model is worth carrying (something cached, TOP where it
 *      started), be_again() asks for a second translation.
 *   2. The second one starts from that model, m0 (x64_x87_loop_model):
 *      after the chained entry's checks, the head checks that the x87 may
 *      run inline and that struct cpu's tags agree with m0, and loads m0's
 *      registers (x64_x87_preload). The back edge, when its model holds
 *      the same guest registers (x64_x87_loop_match; ghosts may differ),
 *      makes its ghosts m0's, puts the registers back in m0's order and
 *      stores C1 and the instruction pointers (x64_x87_normalize).
 *   3. When the second translation's back edge does not match after all,
 *      a third, plain again, is kept.
 *   A head whose checks fail (the first entry finds other tags, the
 *   guest's x87 mode forbids inline code) sets cpu->interp_next and
 *   returns to the run loop, which interprets the block once: one
 *   iteration later the state is the loop's own.
 *
 * The back edge's code (inline: the BRCOND's jump is inverted to skip it)
 * also counts the instructions (in X64_ICOUNT, x64.h) and makes the
 * chained entry's check itself (the budget, which cpu_event() makes cover
 * the events, cpu.h): leaving there stores the carried registers and
 * flags and writes m0 back. Every other
 * exit stores them as usual. Co-simulation and exec tracing compare or
 * log block by block: jit.c gives them no loop translations. A block that
 * crosses a page checks its second page at its chained entry, which the
 * back edge skips: the check made on entry holds for every iteration,
 * since nothing inside a block remaps a page (a TLB flush, INVLPG or a CR3
 * load ends it; a write to either page's code leaves at its CHKSTOP).
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
    lp->head = lp->resume = NULL;
    lp->carried = 0;
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

/* Where the back edge jumps. */
static void head_here(struct be_ctx *x)
{
    x->lp.head = x->buf.p;
    x->zf_at = NULL; /* the back edge's flags arrive here (backend.c: emit_cmp) */
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
    x->lp.resume = x->buf.p;
    head_here(x);
}

/* A loop translation's x87 entry (jit_tb.cx_entry), for a chained exit
 * that arrives with the cache in m0's shape and m0's own order, struct
 * cpu's TOP, tags, status and pointers already as m0 wants them
 * (x64_x87_carry_head): the chained entry's checks, then on past the
 * preload. Leaving writes m0 back. Only for a translation kept as a
 * loop translation (its back edge matched m0). */
void x64_loop_x87_entry(struct be_ctx *x)
{
    struct x64_loop *lp = &x->lp;
    struct xbuf *b = &x->buf;
    if (lp->state != LP_LOOP || !lp->matched || !lp->resume)
        return;
    uint8_t *entry = b->p, *leave[3];
    x_alu_rm(b, ALU_CMP, 1, X64_ICOUNT, RBP, (int32_t)offsetof(struct cpu, exec_end));
    leave[0] = x_jcc32(b, CC_NS);
    int n = 1 + x64_emit_page_check(x, leave + 1);
    x_jmp_to(b, lp->resume);
    for (int k = 0; k < n && !b->overflow; k++)
        x_patch32(leave[k], b->p);
    x64_x87_writeback(x, &lp->m0);
    x64_store_eip(x, x->b->eip);
    x_jmp_to(b, x->j->common.epilogue);
    x->tb->cx_entry = entry;
    x->tb->cx_key = x64_x87_entry_key(&lp->m0);
}

/* Whether anything stores the previous iteration's flags (a FLAGS op or
 * a deferred store of kind FLK_CARRIED), which reads X64_LOOPFLAGS:
 * where the body overwrites the flags before its first side exit or
 * slow path, nothing does, and the word is not kept. */
static bool carried_flags_stored(const struct ir_block *ir)
{
    for (unsigned k = 0; k < ir->nops; k++) {
        const struct ir_op *op = &ir->ops[k];
        if (op->opc == IR_FLAGS && (op->c[0] & FLK_CARRIED))
            return true;
        for (unsigned e = op->dfirst; e < (unsigned)op->dfirst + op->dcount; e++)
            if (ir->defers[e].g == G_FLAGS && (ir->defers[e].kind & FLK_CARRIED))
                return true;
    }
    return false;
}

/* LOOPHEAD, after the carried values came in: their host registers
 * (nothing else is live yet, so they are in registers), and the flags'
 * constant inputs. The first entry has not taken the back edge. */
void x64_loop_carry_head(struct be_ctx *x, const struct ir_block *ir)
{
    struct x64_loop *lp = &x->lp;
    lp->carried = 0;
    lp->flags_read = carried_flags_stored(ir);
    for (unsigned k = 0; k < x->cur_dcount; k++) {
        const struct cold_defer *cd = &x->dpool[x->cur_dfirst + k];
        int g = cd->d.g;
        if (g == G_FLAGS) {
            lp->fkind = cd->d.kind;
            lp->fbits = cd->d.bits;
            for (int i = 0; i < 4; i++) {
                ir_temp t = cd->d.v[i];
                lp->fin[i] = cd->loc[i];
                lp->fw64[i] = t != IR_NOTEMP && ir_type_of(ir, t) == IR_I64;
                if (t != IR_NOTEMP && !ir_is_const(ir, t) && cd->loc[i].reg < 0)
                    x->failed = true;
            }
            if (lp->flags_read)
                x_store(&x->buf, X64_ICOUNT, X64_FP, NOREG, 0, X64_FO(X64_LOOPFLAGS), 8);
        } else if (g < 8 && cd->loc[0].reg >= 0) {
            lp->reg[g] = cd->loc[0].reg;
        } else {
            x->failed = true;
        }
        lp->carried |= (uint16_t)(1u << g);
    }
    x64_pcache_head(x, ir);
    head_here(x);
}

/* The back edge's deferred store of the flags, when its kind is the
 * carried one's (else the flags are stored, left in struct cpu). */
static const struct cold_defer *carried_flags(const struct be_ctx *x, const struct cold *c)
{
    const struct x64_loop *lp = &x->lp;
    if (!(lp->carried & (1u << G_FLAGS)))
        return NULL;
    for (unsigned k = 0; k < c->dcount; k++) {
        const struct cold_defer *cd = &x->dpool[c->dfirst + k];
        if (cd->d.g != G_FLAGS)
            continue;
        if (cd->d.kind != lp->fkind || cd->d.bits != lp->fbits)
            return NULL;
        for (int i = 0; i < 4; i++) /* a constant input is the same constant */
            if (lp->fin[i].reg < 0 && (cd->loc[i].reg != lp->fin[i].reg || cd->loc[i].val != lp->fin[i].val))
                return NULL;
        return cd;
    }
    return NULL;
}

/* A move of the back edge: into host register dst from src, or from
 * guest register g in struct cpu (g >= 0: the main path stored it). */
struct move {
    int dst, g;
    struct be_loc src;
    bool w64;
};

/* The back edge's carried values into their head registers, a parallel
 * move (the sources are registers, spill slots, constants or struct
 * cpu), cycles broken through R11. */
static void carry_moves(struct be_ctx *x, const struct cold *c, const struct cold_defer *fd)
{
    struct xbuf *b = &x->buf;
    const struct x64_loop *lp = &x->lp;
    struct move mv[12];
    unsigned n = 0;
    for (int g = 0; g < 8; g++) {
        if (!(lp->carried & (1u << g)))
            continue;
        mv[n] = (struct move){ .dst = lp->reg[g], .g = g };
        for (unsigned k = 0; k < c->dcount; k++) {
            const struct cold_defer *cd = &x->dpool[c->dfirst + k];
            if (cd->d.g == g) {
                mv[n].src = cd->loc[0];
                mv[n].g = -1;
            }
        }
        n++;
    }
    unsigned ng = n;
    for (int i = 0; fd && i < 4; i++) {
        if (lp->fin[i].reg < 0)
            continue;
        unsigned k = 0;
        while (k < ng && mv[k].dst != lp->fin[i].reg)
            k++;
        if (k < ng) { /* a guest register's head temp (ir_carry_share): its move brings the value */
            if (mv[k].g >= 0 || mv[k].src.reg != fd->loc[i].reg || mv[k].src.val != fd->loc[i].val)
                x->failed = true;
            continue;
        }
        mv[n++] = (struct move){ .dst = lp->fin[i].reg, .g = -1, .src = fd->loc[i], .w64 = lp->fw64[i] };
    }
    unsigned todo = 0;
    for (unsigned k = 0; k < n; k++)
        if (mv[k].g >= 0 || mv[k].src.reg != mv[k].dst)
            todo |= 1u << k;
    while (todo) {
        bool moved = false;
        for (unsigned k = 0; k < n; k++) {
            if (!(todo & (1u << k)))
                continue;
            bool busy = false; /* another move still reads this one's destination */
            for (unsigned o = 0; o < n; o++)
                if (o != k && (todo & (1u << o)) && mv[o].g < 0 && mv[o].src.reg == mv[k].dst)
                    busy = true;
            if (busy)
                continue;
            if (mv[k].g >= 0)
                x_load(b, 0, mv[k].dst, RBP, NOREG, 0, x64_global_off(mv[k].g), 4, false);
            else
                x64_ld_loc(x, mv[k].dst, &mv[k].src, mv[k].w64);
            todo &= ~(1u << k);
            moved = true;
        }
        if (moved)
            continue;
        /* Only cycles are left: park one destination's value in R11. */
        int r = mv[__builtin_ctz(todo)].dst;
        x_mov_rr(b, 1, R11, r);
        for (unsigned o = 0; o < n; o++)
            if ((todo & (1u << o)) && mv[o].g < 0 && mv[o].src.reg == r)
                mv[o].src.reg = R11;
    }
}

/* The stub of a head whose checks failed: interpret the block once. */
void x64_emit_loop_decline(struct be_ctx *x)
{
    struct xbuf *b = &x->buf;
    if (x->j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&x->j->stats.jit_x87_loop_declines);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
    }
    x_store_i(b, 1, RBP, (int32_t)offsetof(struct cpu, interp_next), 1);
    x64_store_eip(x, x->b->eip);
    x_jmp_to(b, x->j->common.epilogue);
}

/* The back edge, taken: deferred stores, the cache into m0's shape, the
 * carried values into their head registers, then what the GOTO and the
 * chained entry would do, into the body (c: the BRCOND's stub record). */
static void emit_back_edge(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    const struct x64_loop *lp = &x->lp;
    const struct cold_defer *fd = carried_flags(x, c);
    x64_emit_defers(x, c, (lp->carried & 0xffu) | (fd ? 1u << G_FLAGS : 0)); /* R11 and the TMP words */
    if (c->flags)
        x64_x87_normalize(x, &c->x87, &lp->m0);
    else
        x64_x87_writeback(x, &c->x87);
    carry_moves(x, c, fd);
    x_alu_ri(b, ALU_ADD, 1, X64_ICOUNT, (int32_t)c->ninsns);
    if ((lp->carried & (1u << G_FLAGS)) && lp->flags_read && !fd) /* the flags are in struct cpu */
        x_store(b, X64_ICOUNT, X64_FP, NOREG, 0, X64_FO(X64_LOOPFLAGS), 8);
    if (x->j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&x->j->stats.jit_insns_run);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, (int32_t)c->ninsns);
    }
    /* the budget, and events (cpu_event()): while neither, back to the
     * head with the loop's one taken branch an iteration */
    x_alu_rm(b, ALU_CMP, 1, X64_ICOUNT, RBP, (int32_t)offsetof(struct cpu, exec_end));
    x_jcc_to(b, CC_S, lp->head);
    for (int g = 0; g < 8; g++)
        if (lp->carried & (1u << g))
            x_store(b, lp->reg[g], RBP, NOREG, 0, x64_global_off(g), 4);
    if (fd)
        x64_emit_flags_cold(x, lp->fkind, lp->fbits, lp->fin);
    if (c->flags)
        x64_x87_writeback(x, &lp->m0);
    x64_store_eip(x, x->b->eip);
    x_jmp_to(b, x->j->common.epilogue);
}

/* A BRCOND (its jump at `site`): true when it is the loop's back edge,
 * emitted here: the jump inverted, to past the back edge's code, which
 * follows inline (no taken branch but the one to the head). In a plain
 * translation, notes the cache's model there when it is worth a loop
 * translation. */
bool x64_loop_back_edge(struct be_ctx *x, const struct ir_block *ir, const struct ir_op *op, uint8_t *site)
{
    struct x64_loop *lp = &x->lp;
    if (ir->back < 0 || op != &ir->ops[ir->back])
        return false;
    const struct ir_op *g = ir_label_goto(ir, op->c[0]);
    bool x87 = false;
    if (!g)
        return false;
    if (x64_x87_cached(x)) {
        if (lp->state == LP_PLAIN)
            lp->found = x64_x87_loop_model(&x->x87, &lp->m0);
        else if (lp->state == LP_LOOP)
            x87 = lp->head && x64_x87_loop_match(&x->x87, &lp->m0);
    }
    if (!x87 && !lp->carried)
        return false;
    struct cold c = { .kind = COLD_BRANCH, .site = site, .insn = (uint16_t)x->insn, .lin = -1, .out = -1, .val = -1,
                      .dfirst = x->cur_dfirst, .dcount = x->cur_dcount, .x87 = x->x87, .ninsns = g->c[2],
                      .flags = x87 };
    if (!x->buf.overflow)
        site[-1] ^= 1; /* Jcc's condition codes come in pairs: cc ^ 1 is its negation */
    emit_back_edge(x, &c);
    x_patch32(site, x->buf.p);
    lp->matched |= x87;
    return true;
}
