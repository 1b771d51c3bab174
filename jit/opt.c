/*
 * IR optimisation: two passes over the straight-line main path (jit/ir.h).
 *
 * 1. Forward: guest-register forwarding and dead-store elimination,
 *    constant folding, copy propagation and a few algebraic rules.
 *    - A global read (LDG) after the value is known (an earlier LDG or
 *      STG) becomes a use of that value.
 *    - A global store (STG) is dead when the same global is stored again
 *      before anything could observe struct cpu: observers are the ops
 *      flagged IRF_SYNC (a memory op that may fault, a side exit, an
 *      interpreter call, a block exit). This is also the flag-liveness
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

/* Algebraic identities and field tracking; true when the op went away. */
static bool simplify(struct opt *o, struct ir_op *op)
{
    struct ir_block *ir = o->ir;
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
        if ((bc && umask((enum ir_type)op->type, (uint64_t)bv) == ones) || a == b) {
            make_copy(o, op, a);
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

static void forward(struct opt *o)
{
    struct ir_block *ir = o->ir;
    ir_temp known[G_NGLOBALS];
    int32_t pending[G_NGLOBALS];
    for (int g = 0; g < G_NGLOBALS; g++) {
        known[g] = IR_NOTEMP;
        pending[g] = -1;
    }
    for (unsigned k = 0; k < ir->nops; k++) {
        struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        for (int i = 0; i < d->nin; i++)
            op->in[i] = R(o, op->in[i]);
        if (d->nout)
            o->def[op->out] = (int32_t)k;
        if (op->opc == IR_LDG) {
            int g = (int)op->c[0];
            if (known[g] != IR_NOTEMP)
                make_copy(o, op, known[g]);
            else
                known[g] = op->out;
            continue;
        }
        if (op->opc == IR_STG) {
            int g = (int)op->c[0];
            if (pending[g] >= 0)
                ir->ops[pending[g]].opc = IR_NOP;
            pending[g] = (int32_t)k;
            known[g] = op->in[0];
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
        if (d->flags & (IRF_SYNC | IRF_EXIT) || op->opc == IR_LABEL)
            for (int g = 0; g < G_NGLOBALS; g++)
                pending[g] = -1;
        if (d->flags & IRF_CLOBG || op->opc == IR_LABEL)
            for (int g = 0; g < G_NGLOBALS; g++)
                known[g] = IR_NOTEMP;
    }
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
            used[op->in[i]] = 1;
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
    free(rename);
    free(def);
    free(used);
}
