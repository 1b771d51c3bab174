/*
 * IR optimisation: two passes over the straight-line main path (jit/ir.h).
 *
 * 1. Forward: guest-register forwarding and dead-store elimination,
 *    constant folding, copy propagation and a few algebraic rules.
 *    - A global read (LDG) after the value is known (an earlier LDG or
 *      STG) becomes a use of that value.
 *    - A global store (STG) is dead when the same global is stored again
 *      before anything could observe struct cpu: observers are the ops
 *      flagged IRF_SYNC (an interpreter call, a block exit). Ops flagged
 *      IRF_SOFT (a memory op that may fault, a conditional side exit)
 *      observe it only on their way out: a store dead on the main path
 *      becomes a deferred store their slow path or exit stub does. This is also the flag-liveness
 *      pass at IR level: lf_res/lf_aux stores that a later flag write
 *      overwrites first disappear, and with them the flag computation.
 *      (The frontend already skips flag work the opcode table's masks
 *      prove dead; this catches what remains, e.g. after fusion.)
 *    - After an interpreter call (IRF_CLOBG) nothing is known.
 *    - A pure op whose inputs are all constants becomes a constant; its
 *      output temp is turned into a constant in place (temps are
 *      single-assignment, so this is safe).
 * 2. Backward: dead-code elimination of ops without side effects whose
 *    output is unused.
 */
#include <stdlib.h>
#include <string.h>

#include "jit/jit_int.h"

static int64_t norm(enum ir_type t, uint64_t v)
{
    return t == IR_I32 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

static unsigned width(enum ir_type t)
{
    return t == IR_I32 ? 32 : 64;
}

static uint64_t umask(enum ir_type t, uint64_t v)
{
    return t == IR_I32 ? (uint32_t)v : v;
}

/* Value of a pure op on constant inputs; false when not foldable. */
static bool fold(const struct ir_op *op, const int64_t *in, int64_t *out)
{
    enum ir_type t = (enum ir_type)op->type;
    uint64_t a = umask(t, (uint64_t)in[0]), b = umask(t, (uint64_t)in[1]);
    unsigned w = width(t);
    uint64_t r;
    switch (op->opc) {
    case IR_MOV: r = a; break;
    case IR_ADD: r = a + b; break;
    case IR_SUB: r = a - b; break;
    case IR_AND: r = a & b; break;
    case IR_OR: r = a | b; break;
    case IR_XOR: r = a ^ b; break;
    case IR_MUL: r = a * b; break;
    case IR_DIVU:
        if (b == 0)
            return false;
        r = a / b;
        break;
    case IR_DIVS:
        if (b == 0 || ((int64_t)a == INT64_MIN && (int64_t)b == -1) || t != IR_I64)
            return false;
        r = (uint64_t)((int64_t)a / (int64_t)b);
        break;
    case IR_REMU:
        if (b == 0)
            return false;
        r = a % b;
        break;
    case IR_REMS:
        if (b == 0 || ((int64_t)a == INT64_MIN && (int64_t)b == -1) || t != IR_I64)
            return false;
        r = (uint64_t)((int64_t)a % (int64_t)b);
        break;
    case IR_SHL:
        if (b >= w)
            return false;
        r = a << b;
        break;
    case IR_SHR:
        if (b >= w)
            return false;
        r = a >> b;
        break;
    case IR_SAR:
        if (b >= w)
            return false;
        r = t == IR_I32 ? (uint64_t)(uint32_t)((int32_t)a >> b) : (uint64_t)((int64_t)a >> b);
        break;
    case IR_ROTL:
    case IR_ROTR:
        b &= w - 1;
        if (op->opc == IR_ROTR)
            b = (w - b) & (w - 1);
        r = b ? (a << b) | (a >> (w - b)) : a;
        break;
    case IR_NOT: r = ~a; break;
    case IR_NEG: r = -a; break;
    case IR_EXT8S: r = (uint64_t)(int64_t)(int8_t)a; break;
    case IR_EXT8U: r = (uint8_t)a; break;
    case IR_EXT16S: r = (uint64_t)(int64_t)(int16_t)a; break;
    case IR_EXT16U: r = (uint16_t)a; break;
    case IR_EXT32S: *out = (int32_t)(uint32_t)in[0]; return true;
    case IR_EXT32U: *out = (int64_t)(uint32_t)in[0]; return true;
    case IR_TRUNC: *out = (int32_t)(uint32_t)in[0]; return true;
    case IR_DEPOSIT: {
        uint64_t m = ((1ull << op->c[1]) - 1) << op->c[0];
        r = (a & ~m) | ((b << op->c[0]) & m);
        break;
    }
    case IR_EXTRACT: r = (a >> op->c[0]) & ((1ull << op->c[1]) - 1); break;
    case IR_SEXTRACT: {
        uint64_t v = (a >> op->c[0]) & ((1ull << op->c[1]) - 1);
        uint64_t sign = 1ull << (op->c[1] - 1);
        r = (v ^ sign) - sign;
        break;
    }
    case IR_BSWAP: r = __builtin_bswap32((uint32_t)a); break;
    case IR_BSF: r = (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 0; break;
    case IR_BSR: r = (uint32_t)a ? 31u - (uint64_t)__builtin_clz((uint32_t)a) : 0; break;
    case IR_PARITY: r = !__builtin_parity((unsigned)(a & 0xff)); break;
    case IR_SETCOND: *out = ir_cond_eval((enum ir_cond)op->cond, t, a, b); return true;
    case IR_ADDR:
        r = (uint32_t)(in[0] + ((uint64_t)(uint32_t)in[1] << op->c[1]) + op->c[0]);
        if (op->c[2] == 16)
            r &= 0xffff;
        *out = norm(IR_I32, r);
        return true;
    default: return false;
    }
    *out = norm(t, r);
    return true;
}

struct opt {
    struct ir_block *ir;
    ir_temp *rename;
    int32_t *def; /* defining op of each temp, -1 */
};

static ir_temp R(const struct opt *o, ir_temp t)
{
    return t == IR_NOTEMP ? t : o->rename[t];
}

static void make_const(struct ir_block *ir, struct ir_op *op, int64_t v)
{
    struct ir_tempinfo *ti = &ir->temps[op->out];
    ti->is_const = 1;
    ti->val = ti->type == IR_I32 ? (int64_t)(int32_t)v : v;
    op->opc = IR_NOP;
}

/* out is just `src`: forward it. */
static void make_copy(struct opt *o, struct ir_op *op, ir_temp src)
{
    o->rename[op->out] = src;
    op->opc = IR_NOP;
}

static const struct ir_op *def_of(const struct opt *o, ir_temp t)
{
    return o->def[t] >= 0 ? &o->ir->ops[o->def[t]] : NULL;
}

/* An upper bound on the significant bits of 32-bit value t (t < 2^n):
 * what zero-extending loads, field extractions, masks and right shifts
 * leave, looking a few definitions back. */
static unsigned width_of(const struct opt *o, ir_temp t, int depth)
{
    const struct ir_block *ir = o->ir;
    if (ir->temps[t].type != IR_I32)
        return 64;
    if (ir_is_const(ir, t)) {
        uint32_t v = (uint32_t)ir_val(ir, t);
        return v ? 32u - (unsigned)__builtin_clz(v) : 0;
    }
    const struct ir_op *d = def_of(o, t);
    if (!d || d->type != IR_I32 || depth == 0)
        return 32;
    switch (d->opc) {
    case IR_EXTRACT: return (unsigned)d->c[1];
    case IR_EXT8U: return 8;
    case IR_EXT16U: return 16;
    case IR_SETCOND: return 1;
    case IR_QLD: return (d->c[2] & IRM_SIGN) || d->c[1] >= 4 ? 32 : 8 * (unsigned)d->c[1];
    case IR_SHR:
        if (ir_is_const(ir, d->in[1])) {
            unsigned w = width_of(o, d->in[0], depth - 1), k = (unsigned)ir_val(ir, d->in[1]) & 31;
            return w > k ? w - k : 0;
        }
        return 32;
    case IR_AND: {
        unsigned w0 = width_of(o, d->in[0], depth - 1), w1 = width_of(o, d->in[1], depth - 1);
        return w0 < w1 ? w0 : w1;
    }
    case IR_OR:
    case IR_XOR: {
        unsigned w0 = width_of(o, d->in[0], depth - 1), w1 = width_of(o, d->in[1], depth - 1);
        return w0 > w1 ? w0 : w1;
    }
    default: return 32;
    }
}

/* Algebraic identities and field tracking; true when the op went away. */
static bool simplify(struct opt *o, struct ir_op *op)
{
    struct ir_block *ir = o->ir;
    bool commutes = op->opc == IR_ADD || op->opc == IR_AND || op->opc == IR_OR || op->opc == IR_XOR || op->opc == IR_MUL;
    if (commutes && ir_is_const(ir, op->in[0]) && op->in[1] != IR_NOTEMP && !ir_is_const(ir, op->in[1])) {
        ir_temp t = op->in[0]; /* the constant on the right, where a backend takes it as an immediate */
        op->in[0] = op->in[1];
        op->in[1] = t;
    }
    ir_temp a = op->in[0], b = op->in[1];
    bool bc = b != IR_NOTEMP && ir_is_const(ir, b);
    int64_t bv = bc ? ir_val(ir, b) : 0;
    uint64_t ones = op->type == IR_I32 ? 0xffffffffu : ~0ull;
    switch (op->opc) {
    case IR_MOV:
        make_copy(o, op, a);
        return true;
    case IR_ADD:
    case IR_SUB:
    case IR_OR:
    case IR_XOR:
    case IR_SHL:
    case IR_SHR:
    case IR_SAR:
    case IR_ROTL:
    case IR_ROTR:
        if (bc && bv == 0) {
            make_copy(o, op, a);
            return true;
        }
        if ((op->opc == IR_ADD || op->opc == IR_OR || op->opc == IR_XOR) && ir_is_const(ir, a) && ir_val(ir, a) == 0) {
            make_copy(o, op, b); /* commutative, 0 on the left: (0 << 32) | x in a division's dividend */
            return true;
        }
        if ((op->opc == IR_XOR || op->opc == IR_SUB) && a == b) {
            make_const(ir, op, 0);
            return true;
        }
        if (op->opc == IR_OR && a == b) {
            make_copy(o, op, a);
            return true;
        }
        break;
    case IR_AND:
        if (bc && bv == 0) {
            make_const(ir, op, 0);
            return true;
        }
        if (bc && op->type == IR_I32 && !((uint32_t)bv & ((uint32_t)bv + 1)) &&
            width_of(o, a, 4) <= 32u - (unsigned)__builtin_clz((uint32_t)bv)) {
            make_copy(o, op, a); /* a low-bits mask over a value no wider */
            return true;
        }
        if ((bc && umask((enum ir_type)op->type, (uint64_t)bv) == ones) || a == b) {
            make_copy(o, op, a);
            return true;
        }
        break;
    case IR_ADDR:
        if (bc && bv == 0 && op->c[0] == 0 && op->c[2] != 16) {
            make_copy(o, op, a); /* [reg]: a 32-bit register is its own offset */
            return true;
        }
        break;
    case IR_MUL:
        if (bc && bv == 1) {
            make_copy(o, op, a);
            return true;
        }
        if (bc && bv == 0) {
            make_const(ir, op, 0);
            return true;
        }
        break;
    case IR_EXTRACT:
    case IR_SEXTRACT:
    case IR_EXT16U:
    case IR_EXT8U: {
        /* Reading back a field just deposited, or one a deposit left alone. */
        int pos = op->opc == IR_EXTRACT || op->opc == IR_SEXTRACT ? (int)op->c[0] : 0;
        int len = op->opc == IR_EXTRACT || op->opc == IR_SEXTRACT ? (int)op->c[1] : op->opc == IR_EXT16U ? 16 : 8;
        if (op->opc != IR_SEXTRACT && op->type == IR_I32 && pos == 0 && width_of(o, a, 4) <= (unsigned)len) {
            make_copy(o, op, a); /* the value fits the field already */
            return true;
        }
        const struct ir_op *d = def_of(o, a);
        if (d && d->opc == IR_DEPOSIT && op->type == IR_I32) {
            int dp = (int)d->c[0], dl = (int)d->c[1];
            if (dp == pos && dl == len) {
                /* the field is the deposited value's low bits */
                op->in[0] = d->in[1];
                if (op->opc != IR_SEXTRACT) {
                    op->opc = IR_EXTRACT;
                    op->c[0] = 0;
                    op->c[1] = len;
                } else {
                    op->c[0] = 0;
                }
            } else if (pos + len <= dp || dp + dl <= pos) {
                op->in[0] = d->in[0]; /* disjoint: read the base */
            }
        }
        break;
    }
    default:
        break;
    }
    return false;
}

/* Deferred stores collected by the forward pass, attached to their soft
 * sync ops at the end (an op's entries arrive out of order). */
struct pend {
    uint32_t op;
    struct ir_defer d;
};

#define NSTATE (G_NGLOBALS + 1) /* the globals and G_FLAGS */
#define MAX_SOFT 64

struct fwd {
    int32_t pending[NSTATE];          /* op index of the store not yet observed, -1 */
    uint32_t soft[NSTATE][MAX_SOFT];  /* soft sync ops since that store */
    unsigned nsoft[NSTATE];
    struct pend *out;
    unsigned nout, cap;
    bool oom;
};

static void push_defer(struct fwd *w, uint32_t op, const struct ir_defer *d)
{
    if (w->nout == w->cap) {
        unsigned n = w->cap ? w->cap * 2 : 256;
        struct pend *q = realloc(w->out, n * sizeof(*q));
        if (!q) {
            w->oom = true;
            return;
        }
        w->out = q;
        w->cap = n;
    }
    w->out[w->nout++] = (struct pend){ op, *d };
}

/* The pending store of g is overwritten: it is dead on the main path; the
 * soft sync ops it was pending across do it on their slow paths instead. */
static void kill_store(struct fwd *w, struct ir_block *ir, int g)
{
    int32_t p = w->pending[g];
    if (p < 0)
        return;
    struct ir_op *st = &ir->ops[p];
    struct ir_defer d = { .g = (uint8_t)g };
    if (g == G_FLAGS) {
        d.kind = (uint8_t)st->c[0];
        d.bits = (uint8_t)st->c[1];
        for (int i = 0; i < 4; i++)
            d.v[i] = st->in[i];
    } else {
        d.v[0] = st->in[0];
        d.v[1] = d.v[2] = d.v[3] = IR_NOTEMP;
    }
    for (unsigned k = 0; k < w->nsoft[g]; k++)
        push_defer(w, w->soft[g][k], &d);
    st->opc = IR_NOP;
}

/* Something reads struct cpu's copy of g, or may fault with it in view:
 * the pending store must stay where it is. */
static void observe(struct fwd *w, int g)
{
    w->pending[g] = -1;
    w->nsoft[g] = 0;
}

static void set_pending(struct fwd *w, int g, uint32_t k)
{
    w->pending[g] = (int32_t)k;
    w->nsoft[g] = 0;
}

static void forward(struct opt *o)
{
    struct ir_block *ir = o->ir;
    ir_temp known[G_NGLOBALS];
    struct fwd *w = calloc(1, sizeof(*w));
    if (!w) {
        ir->oom = true;
        return;
    }
    for (int g = 0; g < G_NGLOBALS; g++)
        known[g] = IR_NOTEMP;
    for (int g = 0; g < NSTATE; g++)
        w->pending[g] = -1;
    for (unsigned k = 0; k < ir->nops; k++) {
        struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        for (int i = 0; i < d->nin; i++)
            op->in[i] = R(o, op->in[i]);
        if (d->nout)
            o->def[op->out] = (int32_t)k;
        if (op->opc == IR_LDG) {
            int g = (int)op->c[0];
            if (g == G_LFRES || g == G_LFAUX)
                observe(w, G_FLAGS); /* the flags were stored by a FLAGS op: read them from struct cpu */
            if (known[g] != IR_NOTEMP)
                make_copy(o, op, known[g]);
            else
                known[g] = op->out;
            continue;
        }
        if (op->opc == IR_STG) {
            int g = (int)op->c[0];
            if (g == G_LFRES || g == G_LFAUX)
                observe(w, G_FLAGS); /* a partial overwrite: keep the FLAGS op */
            kill_store(w, ir, g);
            set_pending(w, g, k);
            known[g] = op->in[0];
            continue;
        }
        if (op->opc == IR_FLAGS) {
            kill_store(w, ir, G_LFRES);
            kill_store(w, ir, G_LFAUX);
            observe(w, G_LFRES);
            observe(w, G_LFAUX);
            kill_store(w, ir, G_FLAGS);
            set_pending(w, G_FLAGS, k);
            known[G_LFRES] = known[G_LFAUX] = IR_NOTEMP;
            continue;
        }
        if (d->flags & IRF_PURE) {
            int64_t v[4] = { 0, 0, 0, 0 };
            bool all = true;
            for (int i = 0; i < d->nin; i++) {
                if (!ir_is_const(ir, op->in[i])) {
                    all = false;
                    break;
                }
                v[i] = ir_val(ir, op->in[i]);
            }
            int64_t r;
            if (op->opc == IR_MOVCOND && ir_is_const(ir, op->in[0]) && ir_is_const(ir, op->in[1])) {
                bool c = ir_cond_eval((enum ir_cond)op->cond, (enum ir_type)op->type, (uint64_t)ir_val(ir, op->in[0]),
                                      (uint64_t)ir_val(ir, op->in[1]));
                make_copy(o, op, c ? op->in[2] : op->in[3]);
                continue;
            }
            if (op->opc == IR_MOVCOND && op->in[2] == op->in[3]) {
                make_copy(o, op, op->in[2]);
                continue;
            }
            if (all && op->opc != IR_MOVCOND && fold(op, v, &r)) {
                make_const(ir, op, r);
                continue;
            }
            simplify(o, op);
            continue;
        }
        if (op->opc == IR_BRCOND && ir_is_const(ir, op->in[0]) && ir_is_const(ir, op->in[1]) &&
            !ir_cond_eval((enum ir_cond)op->cond, (enum ir_type)op->type, (uint64_t)ir_val(ir, op->in[0]),
                          (uint64_t)ir_val(ir, op->in[1]))) {
            op->opc = IR_NOP; /* never taken */
            continue;
        }
        if (d->flags & IRF_SOFT) {
            for (int g = 0; g < NSTATE; g++) {
                if (w->pending[g] < 0)
                    continue;
                if (w->nsoft[g] == MAX_SOFT)
                    observe(w, g); /* too many to track: the store stays */
                else
                    w->soft[g][w->nsoft[g]++] = k;
            }
        }
        if (d->flags & (IRF_SYNC | IRF_EXIT) || op->opc == IR_LABEL)
            for (int g = 0; g < NSTATE; g++)
                observe(w, g);
        if (d->flags & IRF_CLOBG || op->opc == IR_LABEL)
            for (int g = 0; g < G_NGLOBALS; g++)
                known[g] = IR_NOTEMP;
    }
    /* Attach the deferred stores to their ops, in op order. */
    for (unsigned a = 1; a < w->nout; a++) { /* insertion sort: nearly sorted, stable */
        struct pend t = w->out[a];
        unsigned b = a;
        while (b > 0 && w->out[b - 1].op > t.op) {
            w->out[b] = w->out[b - 1];
            b--;
        }
        w->out[b] = t;
    }
    for (unsigned a = 0; a < w->nout;) {
        struct ir_op *op = &ir->ops[w->out[a].op];
        op->dfirst = (uint16_t)ir->ndefers;
        unsigned n = 0;
        for (; a < w->nout && &ir->ops[w->out[a].op] == op; a++, n++)
            ir_add_defer(ir, &w->out[a].d);
        op->dcount = (uint16_t)n;
    }
    if (w->oom)
        ir->oom = true;
    free(w->out);
    free(w);
}

static void dce(struct ir_block *ir, uint8_t *used)
{
    memset(used, 0, ir->ntemps);
    for (int k = (int)ir->nops - 1; k >= 0; k--) {
        struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        if (op->opc == IR_NOP)
            continue;
        bool live = (d->flags & IRF_SIDE) || (d->nout && used[op->out]);
        if (!live) {
            op->opc = IR_NOP;
            continue;
        }
        for (int i = 0; i < d->nin; i++)
            if (op->in[i] != IR_NOTEMP)
                used[op->in[i]] = 1;
        for (unsigned x = op->dfirst; x < (unsigned)op->dfirst + op->dcount; x++)
            for (int i = 0; i < 4; i++)
                if (ir->defers[x].v[i] != IR_NOTEMP)
                    used[ir->defers[x].v[i]] = 1;
    }
}

/* n - (n / d) * d, where nothing else uses the quotient or the product,
 * is one REMU/REMS: a host's division gives the remainder with the
 * quotient, and the multiply and subtract come off the dependency chain
 * (x86's DIV leaves the quotient dead in loops like Euclid's). True when
 * some changed (the division and the multiply are then dead). def: per
 * temp, the op writing it (forward's). */
static bool remainders(struct ir_block *ir, const int32_t *def)
{
    uint16_t *uses = calloc(ir->ntemps ? ir->ntemps : 1, sizeof(*uses));
    if (!uses)
        return false;
    for (unsigned k = 0; k < ir->nops; k++) {
        const struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        for (int i = 0; i < d->nin; i++)
            if (op->in[i] != IR_NOTEMP && uses[op->in[i]] < UINT16_MAX)
                uses[op->in[i]]++;
        for (unsigned x = op->dfirst; x < (unsigned)op->dfirst + op->dcount; x++)
            for (int i = 0; i < 4; i++)
                if (ir->defers[x].v[i] != IR_NOTEMP && uses[ir->defers[x].v[i]] < UINT16_MAX)
                    uses[ir->defers[x].v[i]]++;
    }
    bool changed = false;
    for (unsigned k = 0; k < ir->nops; k++) {
        struct ir_op *op = &ir->ops[k];
        if (op->opc != IR_SUB || op->type != IR_I64 || ir_is_const(ir, op->in[1]) || def[op->in[1]] < 0)
            continue;
        const struct ir_op *mul = &ir->ops[def[op->in[1]]];
        if (mul->opc != IR_MUL || mul->type != IR_I64 || uses[op->in[1]] != 1)
            continue;
        for (int side = 0; side < 2; side++) {
            ir_temp q = mul->in[side], dv = mul->in[!side];
            if (ir_is_const(ir, q) || def[q] < 0 || uses[q] != 1)
                continue;
            const struct ir_op *div = &ir->ops[def[q]];
            if ((div->opc != IR_DIVU && div->opc != IR_DIVS) || div->in[0] != op->in[0] || div->in[1] != dv)
                continue;
            op->opc = div->opc == IR_DIVU ? IR_REMU : IR_REMS;
            op->in[1] = dv;
            op->c[0] = div->c[0];
            changed = true;
            break;
        }
    }
    free(uses);
    return changed;
}

/* A 64-by-32-bit division (DIVU/REMU, c0 = 32) whose dividend is a
 * zero-extended i32 (DIV after XOR EDX, EDX): c1 = 1, its high half is 0
 * (a backend clears it instead of computing it from the dividend). */
static void narrow_dividends(struct ir_block *ir, const int32_t *def)
{
    for (unsigned k = 0; k < ir->nops; k++) {
        struct ir_op *op = &ir->ops[k];
        if ((op->opc != IR_DIVU && op->opc != IR_REMU) || op->c[0] != 32 || ir_is_const(ir, op->in[0]) ||
            def[op->in[0]] < 0)
            continue;
        op->c[1] = ir->ops[def[op->in[0]]].opc == IR_EXT32U;
    }
}

void opt_run(struct ir_block *ir)
{
    size_t n = ir->ntemps;
    ir_temp *rename = malloc(n * sizeof(*rename));
    int32_t *def = malloc(n * sizeof(*def));
    uint8_t *used = malloc(n ? n : 1);
    if (!rename || !def || !used) {
        free(rename);
        free(def);
        free(used);
        return; /* unoptimised IR is still correct */
    }
    for (size_t t = 0; t < n; t++) {
        rename[t] = (ir_temp)t;
        def[t] = -1;
    }
    struct opt o = { ir, rename, def };
    forward(&o);
    dce(ir, used);
    if (remainders(ir, def))
        dce(ir, used);
    narrow_dividends(ir, def);
    free(rename);
    free(def);
    free(used);
}
