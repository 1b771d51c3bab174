/*
 * Probe groups: guest memory accesses in a block through one flat segment
 * at constant distances from one value (ESP for the stack, a structure
 * pointer, a frame pointer) share one soft-TLB probe. The accesses are
 * QLD/QST, and the memory operands of X87 ops that the backend runs
 * inline (be_x87_access: only it knows which).
 *
 * A function's prologue pushes four registers and reads its arguments:
 * each access probed on its own is eight host instructions and two loads
 * before the access. Here the first access of a group is preceded by a
 * PROBE op, which checks that the whole byte range the group touches
 * lies in one page the TLB holds (the write tag when any access writes,
 * or reads for a write: RMW) and yields the host base of that page, or 0;
 * each access then tests the base and goes straight to host memory, or,
 * for 0, probes for itself as it would without a group (a miss takes its
 * ordinary slow path, which faults, fills the TLB, handles MMIO and
 * self-modifying code exactly as before).
 *
 * Why this is sound
 * - Only flat segments (MODE_FLAT: no limit check, linear = offset) and
 *   offsets computed with 32-bit wrap-around (ADD, SUB, 32-bit ADDR), as
 *   the backend's PROBE computes the range's ends. A range whose ends are
 *   on different pages (or wrap past 4 GiB) never matches one TLB entry.
 * - A TLB entry holds while the block runs: a flush (INVLPG, a CR3 load)
 *   ends the block. Groups stop anyway at interpreter-handler and helper
 *   calls, at a loop's head and back edge (each iteration probes again),
 *   and where the main path ends (the first LABEL).
 * - The write tag implies readability (x86 paging has no write-only
 *   pages) for the block's CPL (the TLB is per CPL, like the probe's).
 * - A group holds at most GROUP_SPAN bytes, so a frame that straddles a
 *   page takes the slow paths rarely.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "jit/jit_int.h"

#define GROUP_SPAN 256
#define MAX_GROUPS 128

struct group {
    ir_temp root;
    ir_temp idx;     /* an index register scaled by 1 << scale, or none */
    uint8_t scale;
    uint8_t seg;
    bool write;
    bool table;      /* a constant root: one access is reason enough */
    int64_t lo, hi;  /* first and last byte, relative to root */
    unsigned first;  /* op index of the first access */
    unsigned n;      /* accesses */
    ir_temp base;    /* PROBE's output, for groups of two or more */
};

/* The value `t` is computed from at a constant distance: root + off
 * (mod 2^32). */
static void resolve(const struct ir_block *ir, const int32_t *def, ir_temp t, ir_temp *root, int64_t *off)
{
    int64_t o = 0;
    for (;;) {
        int32_t d = def[t];
        if (d < 0)
            break;
        const struct ir_op *op = &ir->ops[d];
        if ((op->opc == IR_ADD || op->opc == IR_SUB) && op->type == IR_I32 && ir_is_const(ir, op->in[1])) {
            int64_t v = (int32_t)ir_val(ir, op->in[1]);
            o += op->opc == IR_ADD ? v : -v;
        } else if (op->opc == IR_ADDR && op->c[2] != 16 && ir_is_const(ir, op->in[1])) {
            o += (int32_t)op->c[0] + (int64_t)((uint32_t)ir_val(ir, op->in[1]) << op->c[1]);
        } else if (op->opc == IR_MOV && op->type == IR_I32 && !ir_is_const(ir, op->in[0])) {
        } else if (op->opc == IR_TRUNC && def[op->in[0]] >= 0) {
            /* a 32-bit sum kept as an i64 for the flags: TRUNC(ADD.64(EXT32U x, c)) */
            const struct ir_op *a = &ir->ops[def[op->in[0]]];
            if (a->opc != IR_ADD || a->type != IR_I64 || !ir_is_const(ir, a->in[1]) || def[a->in[0]] < 0 ||
                ir->ops[def[a->in[0]]].opc != IR_EXT32U)
                break;
            o += (int32_t)ir_val(ir, a->in[1]);
            t = ir->ops[def[a->in[0]]].in[0];
            continue;
        } else {
            break;
        }
        t = op->in[0];
    }
    *root = t;
    *off = o;
}

/* An indexed address, root = t = ADDR(base, index) with an index that
 * is not a constant (resolve() stops there): the group is rooted at the
 * pair (base's own root, index) with the scale, so a[i], a[i + 1] and
 * a[i + 3] share a probe, as do the fields of p[i] when p is a register.
 * The offsets of a group stay in 32-bit range, as the probe's LEA wants
 * them (all arithmetic is mod 2^32; two offsets of one access that look
 * 2^32 apart only cost it its group). */
static bool indexed(const struct ir_block *ir, const int32_t *def, ir_temp *root, ir_temp *idx, int *scale,
                    int64_t *off)
{
    int32_t d = def[*root];
    if (d < 0)
        return false;
    const struct ir_op *op = &ir->ops[d];
    if (op->opc != IR_ADDR || op->c[2] == 16 || op->in[1] == IR_NOTEMP || ir_is_const(ir, op->in[1]) ||
        op->c[1] > 3)
        return false;
    int64_t o;
    resolve(ir, def, op->in[0], root, &o);
    *idx = op->in[1];
    *scale = (int)op->c[1];
    *off = (int32_t)(uint32_t)(*off + (int32_t)op->c[0] + o);
    return true;
}

/* Whether an access rooted at (root, idx, scale) belongs to group g: the
 * same temps (constants: the same value, each use of one may be a temp
 * of its own) and scale. */
static bool same_root(const struct ir_block *ir, const struct group *g, ir_temp root, ir_temp idx, int scale)
{
    bool root_eq = g->root == root ||
                   (ir_is_const(ir, g->root) && ir_is_const(ir, root) && ir_val(ir, g->root) == ir_val(ir, root));
    return root_eq && g->idx == idx && g->scale == scale;
}

/* A guest memory access that may join a group: its segment, size and
 * whether it writes (or reads for a write). */
struct access {
    int seg, size;
    bool write;
};

/* The input of an access that takes its group's base. */
static int base_input(const struct ir_op *op)
{
    return op->opc == IR_QST ? 2 : 1;
}

/* A bound on the i32 value t (t <= the result), from how it was made:
 * a constant, a zero-extended field or load, a mask, a right shift. */
static uint32_t bound(const struct ir_block *ir, const int32_t *def, ir_temp t, int depth)
{
    if (ir_is_const(ir, t))
        return (uint32_t)ir_val(ir, t);
    int32_t d = def[t];
    if (d < 0 || depth > 4)
        return UINT32_MAX;
    const struct ir_op *op = &ir->ops[d];
    if (op->type != IR_I32)
        return UINT32_MAX;
    switch (op->opc) {
    case IR_MOV: return bound(ir, def, op->in[0], depth + 1);
    case IR_EXT16U: return 0xffff;
    case IR_EXTRACT: return op->c[1] >= 32 ? UINT32_MAX : (uint32_t)((1ull << op->c[1]) - 1);
    case IR_QLD: return op->c[1] >= 4 || (op->c[2] & IRM_SIGN) ? UINT32_MAX : (uint32_t)((1ull << 8 * op->c[1]) - 1);
    case IR_AND: {
        uint32_t a = bound(ir, def, op->in[0], depth + 1), c = bound(ir, def, op->in[1], depth + 1);
        return a < c ? a : c;
    }
    case IR_SHR:
        if (!ir_is_const(ir, op->in[1]))
            return UINT32_MAX;
        return bound(ir, def, op->in[0], depth + 1) >> (ir_val(ir, op->in[1]) & 31);
    default: return UINT32_MAX;
    }
}

/* A table lookup: t = ADDR(constant base, bounded index) + off. The
 * constant base becomes the group's root, [*lo, *hi] the bytes the
 * index can reach (an access of `size`). Its probe depends on no
 * register, so the host runs it beside the index's computation. */
static bool table(const struct ir_block *ir, const int32_t *def, ir_temp t, int64_t off, int size, ir_temp *root,
                  int64_t *lo, int64_t *hi)
{
    int32_t d = def[t];
    if (d < 0)
        return false;
    const struct ir_op *op = &ir->ops[d];
    if (op->opc != IR_ADDR || op->c[2] == 16 || !ir_is_const(ir, op->in[0]) || op->in[1] == IR_NOTEMP)
        return false;
    uint32_t n = bound(ir, def, op->in[1], 0);
    if (n >= 4096)
        return false;
    *root = op->in[0];
    *lo = off + (int32_t)op->c[0];
    *hi = *lo + ((int64_t)n << op->c[1]) + size - 1;
    return *hi - *lo < 4096;
}

static bool member(const struct block *b, const struct ir_op *op, uint32_t mode, struct access *a)
{
    switch (op->opc) {
    case IR_QLD:
    case IR_QST:
        *a = (struct access){ (int)op->c[0], (int)op->c[1], op->opc == IR_QST || (op->c[2] & IRM_WCHK) };
        break;
    case IR_X87:
    case IR_X87F:
        *a = (struct access){ (int)op->c[1], 0, false };
        if (!be_x87_access(b, op, &a->size, &a->write))
            return false;
        break;
    default:
        return false;
    }
    return a->seg <= SEG_GS && (mode & MODE_FLAT(a->seg));
}

unsigned ir_probes(struct ir_block *ir, const struct block *b, uint32_t mode, unsigned *members)
{
    unsigned nops = ir->nops;
    int32_t *def = malloc((ir->ntemps ? ir->ntemps : 1) * sizeof(*def));
    int16_t *gof = malloc((nops ? nops : 1) * sizeof(*gof)); /* op -> its group, or -1 */
    struct group *g = malloc(MAX_GROUPS * sizeof(*g));
    int open[SEG_GS + 1][8]; /* the open groups (at most 8 roots per segment) */
    unsigned ng = 0, used = 0, n = 0;
    struct access acc;
    if (!def || !gof || !g)
        goto out;
    for (unsigned t = 0; t < ir->ntemps; t++)
        def[t] = -1;
    for (unsigned k = 0; k < nops; k++)
        gof[k] = -1;
    memset(open, -1, sizeof(open));
    for (unsigned k = 0; k < nops; k++) {
        const struct ir_op *op = &ir->ops[k];
        if (op->opc == IR_LABEL)
            break; /* only exits from here */
        uint8_t f = ir_opdefs[op->opc].flags;
        if (op->opc == IR_LOOPHEAD || (int32_t)k == ir->back || (f & (IRF_CALL | IRF_CLOBG))) {
            memset(open, -1, sizeof(open));
        } else if (member(b, op, mode, &acc) && !ir_is_const(ir, op->in[0])) {
            ir_temp root;
            int64_t off;
            resolve(ir, def, op->in[0], &root, &off);
            if (ir_is_const(ir, root))
                goto next; /* an absolute address (folded, normally) */
            int seg = acc.seg, size = acc.size, scale = 0;
            bool write = acc.write;
            ir_temp idx = IR_NOTEMP;
            int64_t lo = off, hi = off + size - 1;
            bool tab = table(ir, def, root, off, size, &root, &lo, &hi);
            if (!tab && indexed(ir, def, &root, &idx, &scale, &off)) {
                lo = off;
                hi = off + size - 1;
            }
            int *slot = NULL;
            for (int s = 0; s < 8 && !slot; s++)
                if (open[seg][s] >= 0 && same_root(ir, &g[open[seg][s]], root, idx, scale))
                    slot = &open[seg][s];
            struct group *gr = slot ? &g[*slot] : NULL;
            if (gr && (hi > gr->hi ? hi : gr->hi) - (lo < gr->lo ? lo : gr->lo) < (tab ? 4096 : GROUP_SPAN)) {
                gr->lo = lo < gr->lo ? lo : gr->lo;
                gr->hi = hi > gr->hi ? hi : gr->hi;
                gr->write |= write;
                gr->n++;
                gof[k] = (int16_t)(gr - g);
            } else if (ng < MAX_GROUPS) {
                if (!slot) { /* a free slot, or the first one's group is left */
                    slot = &open[seg][0];
                    for (int s = 0; s < 8; s++)
                        if (open[seg][s] < 0) {
                            slot = &open[seg][s];
                            break;
                        }
                }
                g[ng] = (struct group){ root, idx, (uint8_t)scale, (uint8_t)seg, write, tab, lo, hi, k, 1, IR_NOTEMP };
                *slot = (int)ng;
                gof[k] = (int16_t)ng++;
            }
        }
    next:
        if (ir_opdefs[op->opc].nout && op->out != IR_NOTEMP)
            def[op->out] = (int32_t)k;
    }
    for (unsigned i = 0; i < ng; i++)
        if (g[i].n >= 2 || g[i].table) {
            g[i].base = ir_new(ir, IR_I64);
            used++;
            n += g[i].n;
        }
    if (!used || ir->oom) {
        used = n = 0;
        goto out;
    }
    struct ir_op *ops = malloc((nops + used) * sizeof(*ops));
    if (!ops) {
        used = n = 0;
        goto out;
    }
    unsigned m = 0;
    int32_t back = ir->back;
    for (unsigned k = 0; k < nops; k++) {
        struct ir_op op = ir->ops[k];
        struct group *gr = gof[k] >= 0 && g[gof[k]].base != IR_NOTEMP ? &g[gof[k]] : NULL;
        if (gr && gr->first == k) {
            ops[m++] = (struct ir_op){ .opc = IR_PROBE, .type = IR_I64, .cond = (uint8_t)(gr->write | gr->scale << 1),
                                       .insn = op.insn, .out = gr->base,
                                       .in = { gr->root, gr->idx, IR_NOTEMP, IR_NOTEMP },
                                       .c = { gr->seg, gr->lo, gr->hi } };
            if (back >= 0 && (int32_t)k <= ir->back)
                back++;
        }
        if (gr)
            op.in[base_input(&op)] = gr->base;
        ops[m++] = op;
    }
    free(ir->ops);
    ir->ops = ops;
    ir->nops = ir->ops_cap = m;
    ir->back = back;
out:
    free(def);
    free(gof);
    free(g);
    *members = n;
    return used;
}

/*
 * Loop translations (carry.c): an access of the body that no group took,
 * or a group's PROBE, whose address moves by at most STRIDE_MAX bytes an
 * iteration (or not at all) gets IRM_STRIDE (a PROBE: IRP_STRIDE): it
 * stays on one page for many iterations, and the backend may keep that
 * page's TLB entry from one iteration to the next instead of probing each
 * time (x64/memop.c, "Probe cache"). How far an address moves is known
 * when it is a carried register's head value plus a constant, where the
 * back edge carries that register round as its head plus a constant; a
 * register the body does not write moves by 0; and an address
 * base + (index << scale) moves by the sum of the two's, scaled.
 *
 * That is sound only while nothing can change the TLB between two
 * iterations: nothing in the body calls out (no interpreter handlers or
 * helpers, no x87 ops, whose handlers access memory themselves); the
 * accesses' own slow paths, which do call out (a fill may flush the TLB
 * after a change of the physical map), empty the cache; so does every
 * entry into the loop, at LOOPHEAD.
 */
#define STRIDE_MAX 64

struct loop_regs {
    int at;           /* LOOPHEAD's index */
    ir_temp head[8];  /* each carried register's head value */
    int64_t step[8];  /* what the back edge adds to it */
    bool known[8];    /* step is known */
    bool written[8];  /* the body stores the register (STG) */
};

/* How far a value moves an iteration (*s), where it is a constant, a
 * carried register's head value plus a constant, or the body's load of
 * a register it does not write (not carried, then: a carried register's
 * head is loaded once, before LOOPHEAD, and moves as the back edge says). */
static bool leaf_step(const struct ir_block *ir, const int32_t *def, const struct loop_regs *lr, ir_temp t, int64_t *s)
{
    *s = 0;
    if (ir_is_const(ir, t))
        return true;
    int64_t off;
    resolve(ir, def, t, &t, &off);
    for (int g = 0; g < 8; g++)
        if (lr->known[g] && lr->head[g] == t) {
            *s = lr->step[g];
            return true;
        }
    const struct ir_op *op = def[t] > lr->at ? &ir->ops[def[t]] : NULL;
    return op && op->opc == IR_LDG && op->c[0] < 8 && !lr->written[op->c[0]];
}

/* How far an address (with index `idx` scaled by 1 << scale, or none)
 * moves an iteration, or false. An address that is ADDR(base, index)
 * itself is seen through. */
static bool addr_step(const struct ir_block *ir, const int32_t *def, const struct loop_regs *lr, ir_temp t,
                      ir_temp idx, int scale, int64_t *s)
{
    int64_t sb, si = 0;
    if (idx == IR_NOTEMP) {
        ir_temp root;
        int64_t off;
        resolve(ir, def, t, &root, &off);
        const struct ir_op *op = def[root] >= 0 ? &ir->ops[def[root]] : NULL;
        if (op && op->opc == IR_ADDR && op->c[2] != 16 && op->in[1] != IR_NOTEMP && !ir_is_const(ir, op->in[1])) {
            t = op->in[0];
            idx = op->in[1];
            scale = (int)op->c[1];
        }
    }
    if (!leaf_step(ir, def, lr, t, &sb) || (idx != IR_NOTEMP && !leaf_step(ir, def, lr, idx, &si)))
        return false;
    *s = (int32_t)(uint32_t)((uint64_t)sb + ((uint64_t)si << scale));
    return true;
}

unsigned ir_strides(struct ir_block *ir, uint32_t mode)
{
    int head = -1, back = ir->back;
    if (back < 0)
        return 0;
    for (int k = 0; k < back; k++)
        if (ir->ops[k].opc == IR_LOOPHEAD)
            head = k;
    if (head < 0)
        return 0;
    struct loop_regs lr = { .at = head, .known = { false }, .written = { false } };
    for (int g = 0; g < 8; g++)
        lr.head[g] = IR_NOTEMP;
    for (int k = head + 1; k < back; k++) {
        const struct ir_op *op = &ir->ops[k];
        if ((ir_opdefs[op->opc].flags & (IRF_CALL | IRF_CLOBG)) || op->opc == IR_X87 || op->opc == IR_X87F)
            return 0;
        if (op->opc == IR_STG && op->c[0] < 8)
            lr.written[op->c[0]] = true;
    }
    int32_t *def = malloc((ir->ntemps ? ir->ntemps : 1) * sizeof(*def));
    if (!def)
        return 0;
    for (unsigned t = 0; t < ir->ntemps; t++)
        def[t] = -1;
    for (int k = 0; k <= back; k++) {
        const struct ir_op *op = &ir->ops[k];
        if (ir_opdefs[op->opc].nout && op->out != IR_NOTEMP)
            def[op->out] = k;
    }
    const struct ir_op *h = &ir->ops[head], *be = &ir->ops[back];
    for (unsigned e = h->dfirst; e < (unsigned)h->dfirst + h->dcount; e++)
        if (ir->defers[e].g < 8)
            lr.head[ir->defers[e].g] = ir->defers[e].v[0];
    for (unsigned e = be->dfirst; e < (unsigned)be->dfirst + be->dcount; e++) {
        const struct ir_defer *d = &ir->defers[e];
        if (d->g >= 8 || lr.head[d->g] == IR_NOTEMP || d->v[0] == IR_NOTEMP || ir_is_const(ir, d->v[0]))
            continue;
        ir_temp root;
        int64_t off;
        resolve(ir, def, d->v[0], &root, &off);
        lr.known[d->g] = root == lr.head[d->g];
        lr.step[d->g] = (int32_t)off;
    }
    unsigned n = 0;
    for (int k = head + 1; k < back; k++) {
        struct ir_op *op = &ir->ops[k];
        int64_t step;
        if (op->opc == IR_PROBE) {
            if (addr_step(ir, def, &lr, op->in[0], op->in[1], op->cond >> 1 & 3, &step) && step >= -STRIDE_MAX &&
                step <= STRIDE_MAX) {
                op->cond |= IRP_STRIDE;
                n++;
            }
            continue;
        }
        if ((op->opc != IR_QLD && op->opc != IR_QST) || op->in[base_input(op)] != IR_NOTEMP ||
            ir_is_const(ir, op->in[0]) || op->c[0] > SEG_GS || !(mode & MODE_FLAT(op->c[0])))
            continue;
        if (addr_step(ir, def, &lr, op->in[0], IR_NOTEMP, 0, &step) && step >= -STRIDE_MAX && step <= STRIDE_MAX) {
            op->c[2] |= IRM_STRIDE;
            n++;
        }
    }
    free(def);
    return n;
}
