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
 * At LOOPHEAD nothing else is live, so the allocator has put each head
 * value in a register, as long as there are registers enough (be_host):
 * eight guest registers and four flag inputs at most.
 *
 * Registers the loop only reads are carried too while registers are left
 * for the body's own values (RESERVE): their back edge's deferred store
 * is their head value, which stays in its register (or moves back to it).
 * The others are loaded each iteration, from a line no store touches.
 *
 * The lazy flags are carried the same way, as the inputs of the last
 * FLAGS op before the back edge (computing lf_res and lf_aux from them
 * takes a dozen instructions, most loops overwrite them at once):
 *
 *   f = LD ...                   a temp per input, at the top
 *   LOOPHEAD                     (G_FLAGS, kind, f...) among the carried
 *   FLAGS kind|FLK_CARRIED, f... the previous iteration's flags
 *   ...body..., FLAGS kind, x... the body's last
 *   BRCOND ... L
 *   FLAGS kind, x...             on the way out
 *
 * The first entry has no previous iteration: its flags are in struct cpu
 * already, and f holds nothing. So a FLAGS op marked FLK_CARRIED, and the
 * deferred stores made of it, store the flags only once the back edge has
 * been taken (the backend keeps that bit). When the body's last FLAGS op
 * stays a store on the main path (something reads the flags after it),
 * the back edge has no deferred store of the flags to carry: it leaves
 * them in struct cpu and clears the bit.
 */
#include <string.h>

#include "cpu/cpu.h"
#include "jit/jit_int.h"

/* Host registers a loop's body keeps for its own values when read-only
 * guest registers are carried too. */
#define RESERVE 5

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

/* The last flags write before the back edge, when it is a FLAGS op that
 * nothing after it may have overtaken (a store to lf_res/lf_aux, an
 * interpreter call): its index, else -1. */
static int last_flags(const struct ir_block *ir, unsigned back)
{
    int lf = -1;
    for (unsigned k = 0; k < back; k++) {
        const struct ir_op *op = &ir->ops[k];
        if (op->opc == IR_FLAGS)
            lf = (int)k;
        else if ((op->opc == IR_STG && op->c[0] >= G_LFRES) || (ir_opdefs[op->opc].flags & (IRF_SYNC | IRF_CLOBG)))
            lf = -1;
    }
    return lf;
}

bool ir_carry(struct ir_block *ir)
{
    if (ir->back < 0)
        return false;
    unsigned back = (unsigned)ir->back;
    uint16_t carried = 0;
    for (unsigned k = 0; k < back; k++)
        if (ir->ops[k].opc == IR_STG && ir->ops[k].c[0] < G_LFRES)
            carried |= (uint16_t)(1u << ir->ops[k].c[0]);
    if (!carried)
        return false;
    int lf = last_flags(ir, back);
    struct ir_op fl = lf >= 0 ? ir->ops[lf] : (struct ir_op){ 0 };
    unsigned regs = (unsigned)__builtin_popcount(carried),
             avail = (unsigned)__builtin_popcount(be_host.allocatable);
    if (regs > avail)
        return false;
    for (int i = 0; lf >= 0 && i < 4; i++)
        regs += fl.in[i] != IR_NOTEMP && !ir_is_const(ir, fl.in[i]);
    if (regs > avail)
        lf = -1;
    if (lf >= 0)
        carried |= 1u << G_FLAGS;
    else
        regs = (unsigned)__builtin_popcount(carried);
    /* Registers the loop only reads come along while registers are left
     * for the body's own values: the back edge leaves them where the head
     * has them, instead of a load each iteration. */
    uint16_t read = 0;
    for (unsigned k = 0; k < back; k++) {
        if (ir_opdefs[ir->ops[k].opc].flags & IRF_CLOBG) {
            read = 0; /* something writes registers behind the IR's back (a back edge follows none now) */
            break;
        }
        if (ir->ops[k].opc == IR_LDG && ir->ops[k].c[0] < G_LFRES)
            read |= (uint16_t)(1u << ir->ops[k].c[0]);
    }
    for (int g = 0; g < G_LFRES; g++)
        if ((read & ~carried & (1u << g)) && regs + 1 + RESERVE <= avail) {
            carried |= (uint16_t)(1u << g);
            regs++;
        }

    /* On the way out: after the back edge, in front of what follows it. */
    uint16_t cur = ir->cur_insn;
    ir->cur_insn = ir->ops[back].insn;
    unsigned mark = ir->nops;
    for (int g = 0; g < G_LFRES; g++)
        if (carried & (1u << g))
            ir_stg(ir, (enum ir_global)g, ir_ldg(ir, (enum ir_global)g));
    if (lf >= 0) {
        struct ir_op *op = ir_emit(ir, IR_FLAGS, IR_I64, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
        *op = fl;
        op->insn = ir->cur_insn;
    }
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
    struct ir_defer hf = { .g = G_FLAGS, .kind = (uint8_t)fl.c[0], .bits = (uint8_t)fl.c[1] };
    if (lf >= 0) {
        /* Temps for the flags' inputs at the head, constants as they are:
         * what the first entry puts there does not matter (below). */
        for (int i = 0; i < 4; i++) {
            ir_temp t = fl.in[i];
            if (t != IR_NOTEMP && !ir_is_const(ir, t)) {
                enum ir_type ty = ir_type_of(ir, t);
                t = ir_ld(ir, ty, (int)offsetof(struct cpu, lf_res), ty == IR_I64 ? 8 : 4, false);
            }
            hf.v[i] = t;
        }
        ir_add_defer(ir, &hf);
        n++;
    }
    struct ir_op *head = ir_emit(ir, IR_LOOPHEAD, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
    head->dfirst = (uint16_t)first;
    head->dcount = (uint16_t)n;
    for (int g = 0; g < G_LFRES; g++)
        if (carried & (1u << g))
            ir_stg(ir, (enum ir_global)g, h[g]);
    if (lf >= 0) {
        struct ir_op *op = ir_emit(ir, IR_FLAGS, IR_I64, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
        *op = fl;
        op->insn = 0;
        op->c[0] |= FLK_CARRIED;
        for (int i = 0; i < 4; i++)
            op->in[i] = hf.v[i];
    }
    ir->cur_insn = cur;
    if (ir->oom)
        return false;
    unsigned added = ir->nops - mark;
    move_tail(ir, mark, 0);
    ir->back = (int32_t)(back + added);
    ir->carried = carried;
    return true;
}

/* After the optimiser: a flags input the back edge carries that is the
 * very value it carries for a guest register (a CMP of the register
 * itself, as in a byte-compare loop) comes round in that register's head
 * temp instead of a temp of its own: one host register and one move of
 * the back edge fewer. The first entry's flags are never stored
 * (FLK_CARRIED), so what the head temp holds then does not matter. */
void ir_carry_share(struct ir_block *ir)
{
    if (ir->back < 0 || !(ir->carried & (1u << G_FLAGS)))
        return;
    struct ir_op *head = NULL;
    for (unsigned k = 0; k < ir->nops && !head; k++)
        if (ir->ops[k].opc == IR_LOOPHEAD)
            head = &ir->ops[k];
    const struct ir_op *back = &ir->ops[ir->back];
    if (!head)
        return;
    ir_temp h[G_LFRES], v[G_LFRES];
    struct ir_defer *hf = NULL;
    const struct ir_defer *bf = NULL;
    for (int g = 0; g < G_LFRES; g++)
        h[g] = v[g] = IR_NOTEMP;
    for (unsigned e = head->dfirst; e < (unsigned)head->dfirst + head->dcount; e++) {
        struct ir_defer *d = &ir->defers[e];
        if (d->g == G_FLAGS)
            hf = d;
        else if (d->g < G_LFRES)
            h[d->g] = d->v[0];
    }
    for (unsigned e = back->dfirst; e < (unsigned)back->dfirst + back->dcount; e++) {
        const struct ir_defer *d = &ir->defers[e];
        if (d->g == G_FLAGS)
            bf = d;
        else if (d->g < G_LFRES)
            v[d->g] = d->v[0];
    }
    if (!hf || !bf || hf->kind != bf->kind)
        return;
    for (int i = 0; i < 4; i++) {
        ir_temp f = hf->v[i];
        if (f == IR_NOTEMP || ir_is_const(ir, f) || bf->v[i] == IR_NOTEMP)
            continue;
        int g = 0;
        while (g < G_LFRES && (v[g] != bf->v[i] || h[g] == IR_NOTEMP || ir_type_of(ir, h[g]) != ir_type_of(ir, f)))
            g++;
        if (g == G_LFRES)
            continue;
        /* f is the head's LD, read by the carried FLAGS op and its
         * deferred copies only: all of them take h[g] */
        for (unsigned k = 0; k < ir->nops; k++) {
            struct ir_op *op = &ir->ops[k];
            if (op->out == f && ir_opdefs[op->opc].nout)
                op->opc = IR_NOP;
            for (int j = 0; j < ir_opdefs[op->opc].nin; j++)
                if (op->in[j] == f)
                    op->in[j] = h[g];
        }
        for (unsigned e = 0; e < ir->ndefers; e++)
            for (int j = 0; j < 4; j++)
                if (ir->defers[e].v[j] == f)
                    ir->defers[e].v[j] = h[g];
    }
}
