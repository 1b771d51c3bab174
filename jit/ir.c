/*
 * IR construction and printing. The arrays grow by doubling and are kept
 * between translations (ir_reset), so translating a block allocates
 * nothing in the steady state. An allocation failure marks the block
 * (b->oom) and the builders keep returning valid temp numbers into a spare
 * slot, so callers need no error paths: the translator checks oom once.
 */
#include "jit/ir.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ir_opdef ir_opdefs[IR_NOPC] = {
#define IROP(name, nout, nin, flags) { #name, nout, nin, flags },
#include "jit/ir_ops.def"
#undef IROP
};

static const char *const cond_names[IR_NCOND] = { "eq", "ne", "lt", "ge", "le", "gt", "ltu", "geu", "leu", "gtu",
                                                  "tsteq", "tstne" };
static const char *const global_names[G_NGLOBALS] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                                      "lf_res", "lf_aux" };

enum ir_cond ir_cond_invert(enum ir_cond c)
{
    static const uint8_t inv[IR_NCOND] = { IR_NE, IR_EQ, IR_GE, IR_LT, IR_GT, IR_LE, IR_GEU, IR_LTU, IR_GTU, IR_LEU,
                                           IR_TSTNE, IR_TSTEQ };
    return (enum ir_cond)inv[c];
}

bool ir_cond_eval(enum ir_cond c, enum ir_type t, uint64_t a, uint64_t b)
{
    if (t == IR_I32) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    int64_t sa = t == IR_I32 ? (int32_t)a : (int64_t)a, sb = t == IR_I32 ? (int32_t)b : (int64_t)b;
    switch (c) {
    case IR_EQ: return a == b;
    case IR_NE: return a != b;
    case IR_LT: return sa < sb;
    case IR_GE: return sa >= sb;
    case IR_LE: return sa <= sb;
    case IR_GT: return sa > sb;
    case IR_LTU: return a < b;
    case IR_GEU: return a >= b;
    case IR_LEU: return a <= b;
    case IR_GTU: return a > b;
    case IR_TSTEQ: return (a & b) == 0;
    default: return (a & b) != 0;
    }
}

void ir_init(struct ir_block *b)
{
    memset(b, 0, sizeof(*b));
    b->back = -1;
}

void ir_free(struct ir_block *b)
{
    free(b->ops);
    free(b->temps);
    free(b->defers);
    memset(b, 0, sizeof(*b));
}

void ir_reset(struct ir_block *b)
{
    b->nops = b->ntemps = b->nlabels = b->ndefers = 0;
    b->cur_insn = 0;
    b->oom = false;
    b->back = -1;
    b->carried = 0;
}

static bool grow(void **p, unsigned *cap, unsigned need, size_t elem)
{
    if (need <= *cap)
        return true;
    unsigned n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

unsigned ir_add_defer(struct ir_block *b, const struct ir_defer *d)
{
    if (b->ndefers >= 0xffff || !grow((void **)&b->defers, &b->defers_cap, b->ndefers + 1, sizeof(*b->defers))) {
        b->oom = true;
        return 0;
    }
    b->defers[b->ndefers] = *d;
    return b->ndefers++;
}

ir_temp ir_new(struct ir_block *b, enum ir_type t)
{
    /* Temps are 16-bit numbers; IR_NOTEMP is reserved. Slot 0 doubles as
     * the spare returned after a failure. */
    if (b->ntemps >= IR_NOTEMP - 1 ||
        !grow((void **)&b->temps, &b->temps_cap, b->ntemps + 1, sizeof(*b->temps))) {
        b->oom = true;
        return 0;
    }
    b->temps[b->ntemps] = (struct ir_tempinfo){ .type = (uint8_t)t };
    return (ir_temp)b->ntemps++;
}

ir_temp ir_const(struct ir_block *b, enum ir_type t, int64_t v)
{
    ir_temp r = ir_new(b, t);
    if (b->oom)
        return r;
    b->temps[r].is_const = 1;
    b->temps[r].val = t == IR_I32 ? (int64_t)(int32_t)v : v;
    return r;
}

struct ir_op *ir_emit(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp out, ir_temp in0, ir_temp in1)
{
    static struct ir_op spare;
    if (!grow((void **)&b->ops, &b->ops_cap, b->nops + 1, sizeof(*b->ops))) {
        b->oom = true;
        memset(&spare, 0, sizeof(spare)); /* written, never read: harmless to share */
        return &spare;
    }
    struct ir_op *op = &b->ops[b->nops++];
    *op = (struct ir_op){ .opc = (uint8_t)opc, .type = (uint8_t)t, .insn = b->cur_insn, .out = out,
                          .in = { in0, in1, IR_NOTEMP, IR_NOTEMP }, .dfirst = 0, .dcount = 0 };
    return op;
}

ir_temp ir_op1(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp a)
{
    enum ir_type ot = opc == IR_EXT32S || opc == IR_EXT32U ? IR_I64 : opc == IR_TRUNC ? IR_I32 : t;
    ir_temp r = ir_new(b, ot);
    ir_emit(b, opc, t, r, a, IR_NOTEMP);
    return r;
}

ir_temp ir_op2(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp a, ir_temp x)
{
    ir_temp r = ir_new(b, t);
    ir_emit(b, opc, t, r, a, x);
    return r;
}

ir_temp ir_op2i(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp a, int64_t imm)
{
    return ir_op2(b, opc, t, a, ir_const(b, t, imm));
}

ir_temp ir_setcond(struct ir_block *b, enum ir_type t, enum ir_cond c, ir_temp a, ir_temp x)
{
    ir_temp r = ir_new(b, IR_I32);
    ir_emit(b, IR_SETCOND, t, r, a, x)->cond = (uint8_t)c;
    return r;
}

ir_temp ir_movcond(struct ir_block *b, enum ir_type t, enum ir_cond c, ir_temp a, ir_temp x, ir_temp vt, ir_temp vf)
{
    ir_temp r = ir_new(b, ir_type_of(b, vt));
    struct ir_op *op = ir_emit(b, IR_MOVCOND, t, r, a, x);
    op->cond = (uint8_t)c;
    op->in[2] = vt;
    op->in[3] = vf;
    return r;
}

ir_temp ir_deposit(struct ir_block *b, ir_temp base, ir_temp v, int pos, int len)
{
    ir_temp r = ir_new(b, IR_I32);
    struct ir_op *op = ir_emit(b, IR_DEPOSIT, IR_I32, r, base, v);
    op->c[0] = pos;
    op->c[1] = len;
    return r;
}

ir_temp ir_extract(struct ir_block *b, ir_temp v, int pos, int len, bool sign)
{
    ir_temp r = ir_new(b, IR_I32);
    struct ir_op *op = ir_emit(b, sign ? IR_SEXTRACT : IR_EXTRACT, IR_I32, r, v, IR_NOTEMP);
    op->c[0] = pos;
    op->c[1] = len;
    return r;
}

ir_temp ir_ldg(struct ir_block *b, enum ir_global g)
{
    enum ir_type t = ir_global_type(g);
    ir_temp r = ir_new(b, t);
    ir_emit(b, IR_LDG, t, r, IR_NOTEMP, IR_NOTEMP)->c[0] = g;
    return r;
}

void ir_stg(struct ir_block *b, enum ir_global g, ir_temp v)
{
    ir_emit(b, IR_STG, ir_global_type(g), IR_NOTEMP, v, IR_NOTEMP)->c[0] = g;
}

ir_temp ir_ld(struct ir_block *b, enum ir_type t, int offset, int size, bool sign)
{
    ir_temp r = ir_new(b, t);
    struct ir_op *op = ir_emit(b, IR_LD, t, r, IR_NOTEMP, IR_NOTEMP);
    op->c[0] = offset;
    op->c[1] = size;
    op->c[2] = sign;
    return r;
}

void ir_st(struct ir_block *b, ir_temp v, int offset, int size)
{
    struct ir_op *op = ir_emit(b, IR_ST, ir_type_of(b, v), IR_NOTEMP, v, IR_NOTEMP);
    op->c[0] = offset;
    op->c[1] = size;
}

unsigned ir_new_label(struct ir_block *b)
{
    return b->nlabels++;
}

void ir_brcond(struct ir_block *b, enum ir_type t, enum ir_cond c, ir_temp a, ir_temp x, unsigned label)
{
    struct ir_op *op = ir_emit(b, IR_BRCOND, t, IR_NOTEMP, a, x);
    op->cond = (uint8_t)c;
    op->c[0] = label;
}

void ir_label(struct ir_block *b, unsigned label)
{
    ir_emit(b, IR_LABEL, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP)->c[0] = label;
}

/* ---- Printing ---- */

static int put_temp(const struct ir_block *b, ir_temp t, char *s, size_t n)
{
    if (t == IR_NOTEMP)
        return snprintf(s, n, "-");
    const struct ir_tempinfo *ti = &b->temps[t];
    if (ti->is_const)
        return ti->type == IR_I32 ? snprintf(s, n, "$%#" PRIx32, (uint32_t)ti->val)
                                  : snprintf(s, n, "$%#" PRIx64, (uint64_t)ti->val);
    return snprintf(s, n, "%c%u", ti->type == IR_I32 ? 't' : 'q', t);
}

void ir_print(const struct ir_block *b, void (*out)(void *ctx, const char *line), void *ctx)
{
    char line[256];
    for (unsigned k = 0; k < b->nops; k++) {
        const struct ir_op *op = &b->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        if (op->opc == IR_NOP)
            continue;
        size_t p = 0, n = sizeof(line);
        if (op->opc == IR_INSN) {
            snprintf(line, n, " ---- insn %" PRId64, op->c[0]);
            out(ctx, line);
            continue;
        }
        p += (size_t)snprintf(line + p, n - p, "  ");
        if (d->nout) {
            p += (size_t)put_temp(b, op->out, line + p, n - p);
            p += (size_t)snprintf(line + p, n - p, " = ");
        }
        p += (size_t)snprintf(line + p, n - p, "%s%s", d->name, op->type == IR_I64 ? ".64" : "");
        if (op->opc == IR_SETCOND || op->opc == IR_MOVCOND || op->opc == IR_BRCOND)
            p += (size_t)snprintf(line + p, n - p, ".%s", cond_names[op->cond]);
        for (int i = 0; i < d->nin && p < n; i++) {
            p += (size_t)snprintf(line + p, n - p, i ? ", " : " ");
            p += (size_t)put_temp(b, op->in[i], line + p, n - p);
        }
        if (p >= n)
            p = n - 1;
        switch (op->opc) {
        case IR_LDG:
        case IR_STG:
            snprintf(line + p, n - p, " %s", global_names[op->c[0]]);
            break;
        case IR_BRCOND:
        case IR_LABEL:
            snprintf(line + p, n - p, " L%" PRId64, op->c[0]);
            break;
        case IR_PROBE:
            snprintf(line + p, n - p, " seg%" PRId64 " bytes %" PRId64 "..%" PRId64 "%s%s%s", op->c[0], op->c[1],
                     op->c[2],
                     op->in[1] == IR_NOTEMP ? "" : (const char *[]){ " x1", " x2", " x4", " x8" }[op->cond >> 1 & 3],
                     (op->cond & 1) ? " write" : "", (op->cond & IRP_STRIDE) ? " stride" : "");
            break;
        case IR_QLD:
        case IR_QST:
            snprintf(line + p, n - p, " seg%" PRId64 " size %" PRId64 "%s%s%s", op->c[0], op->c[1],
                     (op->c[2] & IRM_SIGN) ? " sign" : "", (op->c[2] & IRM_WCHK) ? " wchk" : "",
                     (op->c[2] & IRM_STRIDE) ? " stride" : "");
            break;
        case IR_LD:
        case IR_ST:
            snprintf(line + p, n - p, " [cpu+%#" PRIx64 "] size %" PRId64 "%s", op->c[0], op->c[1],
                     op->c[2] ? " sign" : "");
            break;
        case IR_DEPOSIT:
        case IR_EXTRACT:
        case IR_SEXTRACT:
            snprintf(line + p, n - p, " pos %" PRId64 " len %" PRId64, op->c[0], op->c[1]);
            break;
        case IR_ADDR:
            snprintf(line + p, n - p, " scale %" PRId64 " disp %#" PRIx64 "%s", op->c[1], (uint64_t)op->c[0],
                     op->c[2] == 16 ? " a16" : "");
            break;
        case IR_GOTO:
            if (op->c[1] >= 0)
                snprintf(line + p, n - p, " eip %#" PRIx64 " call, returns to %#" PRIx64 " insns %" PRId64, op->c[0],
                         op->c[1], op->c[2]);
            else
                snprintf(line + p, n - p, " eip %#" PRIx64 " insns %" PRId64, op->c[0], op->c[2]);
            break;
        case IR_GOTO_IND:
            if (op->c[1] >= 0)
                snprintf(line + p, n - p, " call, returns to %#" PRIx64 " insns %" PRId64, op->c[1], op->c[2]);
            else
                snprintf(line + p, n - p, "%s insns %" PRId64, op->c[0] ? " ret" : "", op->c[2]);
            break;
        case IR_EXIT:
            if (op->c[0] >= 0)
                snprintf(line + p, n - p, " eip %#" PRIx64 " insns %" PRId64, op->c[0], op->c[2]);
            else
                snprintf(line + p, n - p, " insns %" PRId64, op->c[2]);
            break;
        case IR_FALLBACK:
            snprintf(line + p, n - p, " insn %" PRId64, op->c[0]);
            break;
        case IR_X87:
        case IR_X87F:
            snprintf(line + p, n - p, " insn %" PRId64 " seg%" PRId64, op->c[0], op->c[1]);
            break;
        case IR_CHKSTOP:
            snprintf(line + p, n - p, " eip %#" PRIx64 " insns %" PRId64, op->c[1], op->c[0]);
            break;
        case IR_RAISE:
            snprintf(line + p, n - p, " vector %" PRId64 " code %" PRId64, op->c[0], op->c[1]);
            break;
        case IR_FLAGS: {
            static const char *const kinds[16] = { "arith", "incdec", "logic", "words", "shl", "shr",
                                                   "sar",   "comi",   "add",   "sub" };
            const char *kind = kinds[op->c[0] & 15];
            snprintf(line + p, n - p, " %s %" PRId64 "%s", kind ? kind : "?", op->c[1],
                     (op->c[0] & FLK_CARRIED) ? " carried" : "");
            break;
        }
        default:
            break;
        }
        for (unsigned e = op->dfirst; e < (unsigned)op->dfirst + op->dcount; e++) {
            const struct ir_defer *d = &b->defers[e];
            size_t q = strlen(line);
            if (q + 40 >= n)
                break;
            const char *what = op->opc == IR_LOOPHEAD ? "  carried: %s=" : "  slow path stores: %s=";
            q += (size_t)snprintf(line + q, n - q, e == op->dfirst ? what : ", %s=",
                                  d->g == G_FLAGS ? "flags" : global_names[d->g]);
            put_temp(b, d->v[0], line + q, n - q);
        }
        out(ctx, line);
    }
}
