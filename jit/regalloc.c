/*
 * Block-local register allocation, done while emitting (as QEMU's TCG
 * does): one forward walk over the IR places every op's inputs in the
 * registers its backend constraints allow, picks its output and scratch
 * registers, and calls the backend to emit it.
 *
 * Why this is enough: the main path of a block is straight-line code (IR
 * shape, jit/ir.h) and temporaries are single-assignment, so a temp's
 * lifetime is [definition, last use] and a spilled value stays valid in its
 * slot until the temp dies: spilling is one store, never repeated.
 *
 * Choices
 * - Free registers first; a temp that lives across a main-path call (an
 *   interpreter fallback) gets a callee-saved register when one is free,
 *   others take call-clobbered ones first so callee-saved stay available.
 *   A value a loop's back edge carries takes the register its head value
 *   had at LOOPHEAD when that is free: the back edge has no move to make.
 * - When nothing is free, evict in this order: a constant (rematerialised
 *   for free), a value already in its spill slot, then the value whose
 *   last use is farthest away.
 * - Before a main-path call, values in call-clobbered registers that are
 *   still needed move to free callee-saved registers or to their slots.
 *   Slow paths (out-of-line calls in memory ops) are the backend's
 *   business: it saves the registers `live` lists around its call.
 */
#include <stdlib.h>
#include <string.h>

#include "jit/jit_int.h"

#define NREGS 32

struct ra_state {
    unsigned cap;
    int32_t *last_use;     /* per temp: index of the last op reading it, -1 if none */
    int32_t *def;          /* per temp: index of the op writing it */
    int8_t *reg;           /* per temp: register holding it, -1 */
    int8_t *slot;          /* per temp: spill slot, -1 */
    uint8_t *in_mem;       /* per temp: its value is in its slot */
    uint8_t *crosses_call; /* per temp: a main-path call lies inside its lifetime */
    int8_t *carry;         /* per temp: the loop-carried value it is at the back edge (a guest
                            * register, or 8 + a flags input), or -1 */
    int8_t head_reg[12];   /* per carried value: its register at LOOPHEAD, or -1 */
    unsigned *calls_before; /* per op: main-path calls before it */
    unsigned ops_cap;
    ir_temp owner[NREGS];  /* per register: the temp it holds, or IR_NOTEMP */
    regset owned;          /* the registers whose owner is a temp (kept with owner[]) */
    uint64_t slots_used;
    const struct ir_block *ir;
    struct be_ctx *x;
    bool failed;
};

struct ra_state *ra_new(void)
{
    return calloc(1, sizeof(struct ra_state));
}

void ra_free(struct ra_state *ra)
{
    if (!ra)
        return;
    free(ra->last_use);
    free(ra->def);
    free(ra->reg);
    free(ra->slot);
    free(ra->in_mem);
    free(ra->crosses_call);
    free(ra->carry);
    free(ra->calls_before);
    free(ra);
}

static bool ra_reserve(struct ra_state *ra, unsigned ntemps, unsigned nops)
{
    if (ntemps > ra->cap) {
        unsigned n = ntemps * 2;
        int32_t *lu = realloc(ra->last_use, n * sizeof(int32_t));
        if (lu)
            ra->last_use = lu;
        int32_t *df = realloc(ra->def, n * sizeof(int32_t));
        if (df)
            ra->def = df;
        int8_t *rg = realloc(ra->reg, n);
        if (rg)
            ra->reg = rg;
        int8_t *sl = realloc(ra->slot, n);
        if (sl)
            ra->slot = sl;
        uint8_t *im = realloc(ra->in_mem, n);
        if (im)
            ra->in_mem = im;
        uint8_t *cc = realloc(ra->crosses_call, n);
        if (cc)
            ra->crosses_call = cc;
        int8_t *cy = realloc(ra->carry, n);
        if (cy)
            ra->carry = cy;
        if (!lu || !df || !rg || !sl || !im || !cc || !cy)
            return false;
        ra->cap = n;
    }
    if (nops + 1 > ra->ops_cap) {
        unsigned n = (nops + 1) * 2;
        unsigned *cb = realloc(ra->calls_before, n * sizeof(unsigned));
        if (!cb)
            return false;
        ra->calls_before = cb;
        ra->ops_cap = n;
    }
    return true;
}

static int lowest(regset s)
{
    return __builtin_ctz(s);
}

static regset owned(const struct ra_state *ra)
{
    return ra->owned;
}

static void set_owner(struct ra_state *ra, int r, ir_temp t)
{
    ra->owner[r] = t;
    if (t != IR_NOTEMP)
        ra->owned |= REGBIT(r);
    else
        ra->owned &= ~REGBIT(r);
}

static int alloc_slot(struct ra_state *ra)
{
    for (int s = 0; s < be_host.nslots && s < 64; s++)
        if (!(ra->slots_used & (1ull << s))) {
            ra->slots_used |= 1ull << s;
            return s;
        }
    ra->failed = true;
    return 0;
}

/* Take register r away from its temp, saving the value if it would be lost. */
static void evict(struct ra_state *ra, int r)
{
    ir_temp t = ra->owner[r];
    if (t == IR_NOTEMP)
        return;
    if (!ir_is_const(ra->ir, t) && !ra->in_mem[t]) {
        if (ra->slot[t] < 0)
            ra->slot[t] = (int8_t)alloc_slot(ra);
        be_emit_spill(ra->x, r, ra->slot[t]);
        ra->in_mem[t] = 1;
    }
    set_owner(ra, r, IR_NOTEMP);
    ra->reg[t] = -1;
}

/* A register from `allowed` outside `locked`, evicting if need be. */
static int alloc_reg(struct ra_state *ra, regset allowed, regset locked, bool want_saved)
{
    regset cand = allowed & ~locked;
    regset free_ = cand & ~owned(ra);
    if (free_) {
        regset saved = free_ & ~be_host.call_clobbered, clob = free_ & be_host.call_clobbered;
        if (want_saved)
            return lowest(saved ? saved : clob);
        return lowest(clob ? clob : saved);
    }
    if (!cand) {
        ra->failed = true;
        return lowest(allowed ? allowed : 1);
    }
    int best = -1;
    long best_score = -1;
    for (regset s = cand; s; s &= s - 1) {
        int r = lowest(s);
        ir_temp t = ra->owner[r];
        long score = ir_is_const(ra->ir, t) ? 3L << 40 : ra->in_mem[t] ? 2L << 40 : 0;
        score += ra->last_use[t];
        if (score > best_score) {
            best_score = score;
            best = r;
        }
    }
    evict(ra, best);
    return best;
}

static void bind(struct ra_state *ra, ir_temp t, int r)
{
    set_owner(ra, r, t);
    ra->reg[t] = (int8_t)r;
}

/* Release a dead temp's register and slot. */
static void release(struct ra_state *ra, ir_temp t)
{
    if (ra->reg[t] >= 0) {
        set_owner(ra, (int)ra->reg[t], IR_NOTEMP);
        ra->reg[t] = -1;
    }
    if (ra->slot[t] >= 0) {
        ra->slots_used &= ~(1ull << ra->slot[t]);
        ra->slot[t] = -1;
    }
}

/* Bring temp t into a register of `allowed`; *locked collects the registers
 * this op's operands occupy. */
static int need_reg(struct ra_state *ra, ir_temp t, regset allowed, regset *locked)
{
    const struct ir_block *ir = ra->ir;
    enum ir_type ty = ir_type_of(ir, t);
    int r = ra->reg[t];
    if (r >= 0) {
        if (REGBIT(r) & allowed) {
            *locked |= REGBIT(r);
            return r;
        }
        int n = alloc_reg(ra, allowed, *locked | REGBIT(r), false);
        be_emit_mov(ra->x, ty, n, r);
        if (REGBIT(r) & *locked) {
            /* Another input of this op holds t there: a private copy for this one. */
            *locked |= REGBIT(n);
            return n;
        }
        set_owner(ra, r, IR_NOTEMP);
        bind(ra, t, n);
        *locked |= REGBIT(n);
        return n;
    }
    int n = alloc_reg(ra, allowed, *locked, ra->crosses_call[t]);
    if (ir_is_const(ir, t))
        be_emit_movi(ra->x, ty, n, ir_val(ir, t));
    else if (ra->in_mem[t])
        be_emit_fill(ra->x, n, ra->slot[t]);
    else
        ra->failed = true; /* used before it was written: a frontend bug */
    bind(ra, t, n);
    *locked |= REGBIT(n);
    return n;
}

/* Before a main-path call: keep values needed later out of clobbered registers. */
static void evacuate(struct ra_state *ra, int k, regset locked)
{
    for (regset s = be_host.call_clobbered & owned(ra); s; s &= s - 1) {
        int r = lowest(s);
        ir_temp t = ra->owner[r];
        if (ra->last_use[t] <= k) {
            continue;
        }
        regset free_saved = be_host.allocatable & ~be_host.call_clobbered & ~owned(ra) & ~locked;
        if (free_saved && !ir_is_const(ra->ir, t)) {
            int n = lowest(free_saved);
            be_emit_mov(ra->x, ir_type_of(ra->ir, t), n, r);
            set_owner(ra, r, IR_NOTEMP);
            bind(ra, t, n);
        } else {
            evict(ra, r);
        }
    }
}

static bool deferred_here(const struct ir_block *ir, const struct ir_op *op, ir_temp t)
{
    for (unsigned e = op->dfirst; e < (unsigned)op->dfirst + op->dcount; e++)
        for (int i = 0; i < 4; i++)
            if (ir->defers[e].v[i] == t)
                return true;
    return false;
}

/* Tell the backend where the values of this op's deferred stores are. */
static void place_defers(struct ra_state *ra, const struct ir_op *op)
{
    const struct ir_block *ir = ra->ir;
    struct be_loc locs[op->dcount][4];
    for (unsigned e = 0; e < op->dcount; e++) {
        for (int i = 0; i < 4; i++) {
            ir_temp t = ir->defers[op->dfirst + e].v[i];
            struct be_loc *l = &locs[e][i];
            if (t == IR_NOTEMP) {
                *l = (struct be_loc){ -1, 0 };
            } else if (ir_is_const(ir, t)) {
                *l = (struct be_loc){ -1, ir_val(ir, t) };
            } else if (ra->reg[t] >= 0) {
                *l = (struct be_loc){ ra->reg[t], 0 };
            } else if (ra->in_mem[t]) {
                *l = (struct be_loc){ BE_LOC_SLOT, ra->slot[t] };
            } else {
                ra->failed = true;
                return;
            }
        }
    }
    be_set_defers(ra->x, &ir->defers[op->dfirst], locs, op->dcount);
}

static void reset_regs(struct ra_state *ra)
{
    for (int r = 0; r < NREGS; r++)
        set_owner(ra, r, IR_NOTEMP);
    ra->slots_used = 0;
}

static void analyse(struct ra_state *ra, const struct ir_block *ir)
{
    for (unsigned t = 0; t < ir->ntemps; t++) {
        ra->last_use[t] = -1;
        ra->def[t] = -1;
        ra->reg[t] = -1;
        ra->slot[t] = -1;
        ra->in_mem[t] = 0;
        ra->crosses_call[t] = 0;
    }
    unsigned calls = 0;
    for (unsigned k = 0; k < ir->nops; k++) {
        const struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        ra->calls_before[k] = calls;
        for (int i = 0; i < d->nin; i++)
            if (op->in[i] != IR_NOTEMP)
                ra->last_use[op->in[i]] = (int32_t)k;
        for (unsigned x = op->dfirst; x < (unsigned)op->dfirst + op->dcount; x++)
            for (int i = 0; i < 4; i++)
                if (ir->defers[x].v[i] != IR_NOTEMP)
                    ra->last_use[ir->defers[x].v[i]] = (int32_t)k;
        if (d->nout)
            ra->def[op->out] = (int32_t)k;
        if ((d->flags & IRF_CALL) && !(d->flags & IRF_EXIT))
            calls++;
    }
    ra->calls_before[ir->nops] = calls;
    for (unsigned t = 0; t < ir->ntemps; t++) {
        int32_t d = ra->def[t] < 0 ? 0 : ra->def[t] + 1, u = ra->last_use[t];
        if (u > d && ra->calls_before[u] > ra->calls_before[d])
            ra->crosses_call[t] = 1;
    }
}

/* A loop's carried values, numbered as ra_state.carry has them, of a
 * LOOPHEAD's or back edge's deferred stores: calls f for each with its
 * temp. */
static void each_carried(const struct ir_block *ir, const struct ir_op *op, void (*f)(struct ra_state *, int, ir_temp),
                         struct ra_state *ra)
{
    for (unsigned e = op->dfirst; e < (unsigned)op->dfirst + op->dcount; e++) {
        const struct ir_defer *d = &ir->defers[e];
        if (d->g < 8)
            f(ra, d->g, d->v[0]);
        else if (d->g == G_FLAGS)
            for (int i = 0; i < 4; i++)
                f(ra, 8 + i, d->v[i]);
    }
}

static void note_back_value(struct ra_state *ra, int n, ir_temp t)
{
    if (t != IR_NOTEMP && !ir_is_const(ra->ir, t) && ra->carry[t] < 0)
        ra->carry[t] = (int8_t)n;
}

static void note_head_reg(struct ra_state *ra, int n, ir_temp t)
{
    if (t != IR_NOTEMP && !ir_is_const(ra->ir, t))
        ra->head_reg[n] = ra->reg[t];
}

/* The output register of a value the back edge carries: the one its
 * head value had at LOOPHEAD when that is free (the back edge then has
 * no move to make), else any (alloc_reg). */
static int alloc_out(struct ra_state *ra, ir_temp t, regset allowed, regset locked)
{
    int n = ra->carry[t];
    if (n >= 0 && ra->head_reg[n] >= 0) {
        int r = ra->head_reg[n];
        bool clobbered = ra->crosses_call[t] && (REGBIT(r) & be_host.call_clobbered); /* a call would move it */
        if ((REGBIT(r) & allowed & ~locked & ~owned(ra)) && !clobbered)
            return r;
    }
    return alloc_reg(ra, allowed, locked, ra->crosses_call[t]);
}

bool ra_run(struct ra_state *ra, const struct ir_block *ir, struct be_ctx *x)
{
    if (!ra_reserve(ra, ir->ntemps, ir->nops))
        return false;
    ra->ir = ir;
    ra->x = x;
    ra->failed = false;
    reset_regs(ra);
    analyse(ra, ir);
    for (unsigned t = 0; t < ir->ntemps; t++)
        ra->carry[t] = -1;
    memset(ra->head_reg, -1, sizeof(ra->head_reg));
    if (ir->back >= 0)
        each_carried(ir, &ir->ops[ir->back], note_back_value, ra);

    for (unsigned k = 0; k < ir->nops && !ra->failed; k++) {
        const struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        if (op->opc == IR_NOP)
            continue;
        if (op->opc == IR_LABEL) {
            reset_regs(ra); /* only exit code follows a label: nothing is live */
            be_emit_op(x, ir, op, -1, NULL, NULL, 0);
            continue;
        }
        struct be_cons cons;
        be_constraints(ir, op, &cons);
        struct be_loc loc[4] = { { -1, 0 }, { -1, 0 }, { -1, 0 }, { -1, 0 } };
        regset locked = 0;
        for (int i = 0; i < d->nin; i++) {
            ir_temp t = op->in[i];
            if (t == IR_NOTEMP)
                continue;
            if (ir_is_const(ir, t) && cons.imm[i] && be_imm_ok(op, i, ir_val(ir, t))) {
                loc[i].val = ir_val(ir, t);
                continue;
            }
            loc[i].reg = need_reg(ra, t, cons.in[i], &locked);
        }

        int out = -1;
        if (d->nout && cons.alias >= 0) {
            int a = cons.alias;
            ir_temp t = op->in[a];
            int shared = 0;
            for (int i = 0; i < d->nin; i++)
                if (i != a && loc[i].reg >= 0 && loc[i].reg == loc[a].reg)
                    shared = 1;
            if (loc[a].reg >= 0 && ra->owner[loc[a].reg] == t && ra->last_use[t] == (int32_t)k && !shared) {
                out = loc[a].reg;
                set_owner(ra, out, IR_NOTEMP); /* t dies here; its register becomes the output */
                ra->reg[t] = -1;
            } else {
                out = alloc_out(ra, op->out, cons.out, locked);
                if (loc[a].reg >= 0)
                    be_emit_mov(x, (enum ir_type)op->type, out, loc[a].reg);
                else
                    be_emit_movi(x, (enum ir_type)op->type, out, loc[a].val);
                loc[a].reg = out;
            }
            locked |= REGBIT(out);
        }

        int scratch[4];
        for (int s = 0; s < cons.nscratch && s < 4; s++) {
            scratch[s] = alloc_reg(ra, cons.scratch, locked, false);
            locked |= REGBIT(scratch[s]);
        }

        if ((d->flags & IRF_CALL) && !(d->flags & IRF_EXIT))
            evacuate(ra, (int)k, locked);

        /* Inputs whose last use is this op give up their registers (unless
         * a deferred store still reads them, below). */
        regset in_regs = 0;
        for (int i = 0; i < d->nin; i++) {
            if (loc[i].reg >= 0)
                in_regs |= REGBIT(loc[i].reg);
            ir_temp t = op->in[i];
            if (t != IR_NOTEMP && ra->last_use[t] == (int32_t)k && !deferred_here(ir, op, t))
                release(ra, t);
        }

        if (d->nout && out < 0) {
            regset lock = (locked & owned(ra)) | (cons.out_excl ? in_regs : 0);
            for (int s = 0; s < cons.nscratch && s < 4; s++)
                lock |= REGBIT(scratch[s]);
            out = alloc_out(ra, op->out, cons.out, lock);
        }

        if (op->dcount)
            place_defers(ra, op);
        regset live = owned(ra);
        be_emit_op(x, ir, op, out, loc, scratch, live);
        if (op->opc == IR_LOOPHEAD)
            each_carried(ir, op, note_head_reg, ra); /* before the dead ones are released */
        for (unsigned e = op->dfirst; e < (unsigned)op->dfirst + op->dcount; e++)
            for (int i = 0; i < 4; i++) {
                ir_temp t = ir->defers[e].v[i];
                if (t != IR_NOTEMP && ra->last_use[t] == (int32_t)k)
                    release(ra, t);
            }

        if (d->nout) {
            bind(ra, op->out, out);
            if (ra->last_use[op->out] < 0)
                release(ra, op->out);
        }
        if (d->flags & IRF_EXIT)
            reset_regs(ra);
    }
    return !ra->failed;
}
