/*
 * The x87 register cache (x87.c, struct x87_model in x64.h) at a block's
 * edges. Within a block the guest's registers stay in the host's x87
 * stack; the cache is written back (values, TOP, tags, status, the last
 * instruction's pointers) and the host's stack emptied before any op that
 * may fault, call out or leave the block (x64_x87_keeps_cache; a
 * conditional branch does it in the stub of its taken side), so
 * everything outside the x87 code finds struct cpu exact, as the C ABI
 * finds the x87 stack empty. A guest memory access's slow path syncs
 * struct cpu with it around the call instead (x64_x87_sync). Two things
 * keep it across edges: a loop translation's back edge carries it round
 * (m0, x64_x87_loop_model; loop.c), and a direct exit may carry it into a
 * loop translation that starts from the same cache ("Chained exits").
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "jit/x64/x87_int.h"


/* The guest registers the cache holds (not its ghosts), relative to the
 * guest's TOP: present in the tags once written back. */
static uint8_t cached_set(const struct x87_model *m)
{
    uint8_t cached = 0;
    for (int h = 0; h < m->n; h++)
        if (!(m->ghost & (1u << h)))
            cached |= (uint8_t)(1u << m->v[h]);
    return cached;
}

/* The slot in struct cpu of host register h, relative to its TOP. */
static int slot_of(const struct x87_model *m, int h)
{
    return (m->ghost & (1u << h)) ? m->v[h] : m->delta + m->v[h];
}

/* C1 into the guest's status word (from TMP1 for X87_C1_HOST, from
 * [rsp + sw_at] for X87_C1_LIVE) and the last instruction's pointers. */
static void emit_c1_note(struct be_ctx *x, const struct x87_model *m, int32_t sw_at)
{
    struct xbuf *b = &x->buf;
    if (m->c1 != X87_C1_MEM)
        and_m16(b, FPU_OFF(sw), (uint16_t)~SW_C1);
    if (m->c1 == X87_C1_HOST || m->c1 == X87_C1_LIVE) {
        x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(m->c1 == X87_C1_HOST ? X64_TMP1 : sw_at), 2, false);
        x_alu_ri(b, ALU_AND, 0, R11, SW_C1);
        or_m16_r11(b, FPU_OFF(sw));
    }
    if (m->note) { /* the last instruction's pointers (fpu_note_reg) */
        const struct insn *i = &x->b->insn[m->note - 1];
        x_store_i(b, (int32_t)(x->b->eip + i->off), RBP, FPU_OFF(fip), 4);
        x_store_i(b, (int32_t)((i->b1 << 8 | i->modrm) & 0x7ff), RBP, FPU_OFF(fop), 2);
        x_load(b, 0, R11, RBP, NOREG, 0, SEG_SEL_OFF(SEG_CS), 2, false);
        x_store(b, R11, RBP, NOREG, 0, FPU_OFF(fcs), 2);
    }
    if (m->dnote) { /* the last memory operand's segment (fpu_note_mem) */
        x_load(b, 0, R11, RBP, NOREG, 0, SEG_SEL_OFF(x->b->insn[m->dnote - 1].seg), 2, false);
        x_store(b, R11, RBP, NOREG, 0, FPU_OFF(fds), 2);
    }
}

/* Everything of a write-back but the values: TOP and the tags (rotated
 * by delta; cached ones present, popped ones empty), the host's new
 * exception flags (the host status word at [rsp + sw_at]) and C1 (from
 * TMP1 for X87_C1_HOST, from [rsp + sw_at] for X87_C1_LIVE), the last
 * instruction's pointers. R11 only. */
static void emit_meta(struct be_ctx *x, const struct x87_model *m, int32_t sw_at)
{
    struct xbuf *b = &x->buf;
    uint8_t cached = cached_set(m);
    if (m->delta || cached || m->empty) {
        x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(tw), 1, false);
        if (m->delta) { /* rotate right by delta: relative to the new TOP */
            x_imul_rri(b, 0, R11, R11, 0x101);
            x_shift_ri(b, SH_SHR, 0, R11, m->delta);
        }
        x_alu_ri(b, ALU_AND, 0, R11, (int32_t)(uint8_t)~cached);
        if (m->empty & ~cached)
            x_alu_ri(b, ALU_OR, 0, R11, m->empty & ~cached);
        x_store(b, R11, RBP, NOREG, 0, FPU_OFF(tw), 2);
    }
    if (m->delta) {
        x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(top), 1, false);
        x_alu_ri(b, ALU_ADD, 0, R11, m->delta);
        x_alu_ri(b, ALU_AND, 0, R11, 7);
        x_store(b, R11, RBP, NOREG, 0, FPU_OFF(top), 1);
    }
    if (m->host_ops) {
        x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(sw_at), 2, false);
        x_alu_ri(b, ALU_AND, 0, R11, FSW_EXC_BITS);
        or_m16_r11(b, FPU_OFF(sw));
    }
    emit_c1_note(x, m, sw_at);
}

/* The dirty registers and ghosts into struct cpu, the rest popped: the
 * host's stack emptied. `rebase`: struct cpu's TOP has moved by that much
 * already (emit_meta ran first). R11 only. */
static void emit_values(struct be_ctx *x, const struct x87_model *m, int rebase)
{
    struct xbuf *b = &x->buf;
    int at = -1; /* R11 = ((TOP + at) & 7) << 4, from the last store */
    for (int h = 0; h < m->n; h++) {
        if (m->dirty & (1u << h)) {
            int k = (slot_of(m, h) - rebase) & 7;
            if (at < 0) {
                st_index_r11(b, k);
            } else if (k != at) { /* nothing here changes struct cpu's TOP */
                x_alu_ri(b, ALU_ADD, 0, R11, ((k - at) & 7) << 4);
                x_alu_ri(b, ALU_AND, 0, R11, 7 << 4);
            }
            at = k;
            fstp80(b, R11);
        } else {
            fpop(b);
        }
    }
}

/*
 * Write the cache back to struct cpu and empty the host's stack: the
 * dirty registers and ghosts, then the rest (emit_meta). Uses R11 and
 * the frame's TMP0 and TMP1 only, so it fits anywhere.
 */
static void emit_writeback(struct be_ctx *x, const struct x87_model *m)
{
    struct xbuf *b = &x->buf;
    struct x87_model mm = *m;
    bool stsw = false; /* TMP1 has the host's status word as of now */
    if (mm.c1 == X87_C1_LIVE) {
        fnstsw_tmp(b); /* before the stores change it */
        mm.c1 = X87_C1_HOST;
        stsw = true;
    }
    emit_values(x, m, 0);
    /* FSTP m80 and pops raise nothing: a status word saved above has
     * every sticky flag already (one FNSTSW, which waits for the x87's
     * last result, instead of two). */
    if (m->host_ops && !stsw)
        x87_m(b, 0xdd, 7, X64_FP, NOREG, X64_FO(X64_TMP0)); /* fnstsw: the sticky flags */
    emit_meta(x, &mm, stsw ? X64_TMP1 : X64_TMP0);
}

/*
 * Around a slow-path call that returns to the main path (an integer
 * load's or store's TLB miss) with the cache in use: struct cpu gets
 * exactly what a write-back would give it, in case the call faults, while
 * the host's x87 is saved whole (FNSAVE, which leaves it empty for the C
 * code) and restored after (FRSTOR), and struct cpu's TOP, tags and
 * status word go back to what the cache is relative to. The values
 * written to struct cpu on the way are harmless: the cache's own
 * write-back stores them again. R11 only.
 */
void x64_x87_sync(struct be_ctx *x, const struct x87_model *m)
{
    struct xbuf *b = &x->buf;
    x87_m(b, 0xdd, 6, X64_FP, NOREG, X64_FO(X64_FSAVE)); /* fnsave */
    x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(top), 1, false);
    x_store(b, R11, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE), 1);
    x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(tw), 2, false);
    x_store(b, R11, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE + 2), 2);
    x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(sw), 2, false);
    x_store(b, R11, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE + 4), 2);
    for (int h = 0; h < m->n; h++) {
        if (!(m->dirty & (1u << h)))
            continue;
        x87_m(b, 0xdb, 5, X64_FP, NOREG, X64_FO(X64_FSAVE + 28 + 10 * h)); /* fld m80: ST(h) of the image */
        st_index_r11(b, slot_of(m, h));
        fstp80(b, R11);
    }
    emit_meta(x, m, X64_FSAVE + 4);
}

void x64_x87_unsync(struct be_ctx *x)
{
    struct xbuf *b = &x->buf;
    x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE), 1, false);
    x_store(b, R11, RBP, NOREG, 0, FPU_OFF(top), 1);
    x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE + 2), 2, false);
    x_store(b, R11, RBP, NOREG, 0, FPU_OFF(tw), 2);
    x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE + 4), 2, false);
    x_store(b, R11, RBP, NOREG, 0, FPU_OFF(sw), 2);
    x87_m(b, 0xdd, 4, X64_FP, NOREG, X64_FO(X64_FSAVE)); /* frstor */
}

static bool model_empty(const struct x87_model *m)
{
    return !m->n && !m->delta && !m->empty && m->c1 == X87_C1_MEM && !m->host_ops && !m->note && !m->dnote;
}

bool x64_x87_cached(const struct be_ctx *x)
{
    return !model_empty(&x->x87);
}

bool x64_x87_model_empty(const struct x87_model *m)
{
    return model_empty(m);
}

/* In a stub that leaves the main path: its copy of the cache. */
void x64_x87_writeback(struct be_ctx *x, const struct x87_model *m)
{
    if (!model_empty(m))
        emit_writeback(x, m);
}

void x64_x87_flush(struct be_ctx *x)
{
    if (model_empty(&x->x87))
        return;
    emit_writeback(x, &x->x87);
    x->x87 = (struct x87_model){ .n = 0 };
}

/* ---- Loops (loop.c): the cache carried around a back edge ---- */

/* The model a loop's head starts with, made from the one its back edge
 * had in a plain translation: the same registers (ghosts included) in the
 * same order, all dirty, TOP where struct cpu has it, C1 and the pointers
 * in struct cpu. False when there is nothing to carry, or the loop moves
 * TOP. */
bool x64_x87_loop_model(const struct x87_model *m, struct x87_model *m0)
{
    if (!m->n || m->delta || (cached_set(m) & m->empty))
        return false;
    *m0 = (struct x87_model){ .n = m->n, .dirty = (uint8_t)((1u << m->n) - 1), .ghost = m->ghost,
                              .empty = m->empty, .c1 = X87_C1_MEM, .host_ops = true };
    for (int h = 0; h < m->n; h++)
        m0->v[h] = m->v[h];
    /* In ascending slot order (st(0) the lowest), the order a chained
     * exit that carries its cache here puts its own in (x64_x87_carry_head):
     * insertion sort, the ghost bits going along. */
    for (int h = 1; h < m0->n; h++)
        for (int k = h; k > 0 && m0->v[k - 1] > m0->v[k]; k--) {
            int8_t t = m0->v[k];
            m0->v[k] = m0->v[k - 1];
            m0->v[k - 1] = t;
            uint8_t both = (uint8_t)(1u << k | 1u << (k - 1));
            if (((m0->ghost >> k) ^ (m0->ghost >> (k - 1))) & 1)
                m0->ghost ^= both;
        }
    return true;
}

/* At a loop's head, in place of the cache's first loads: the x87 may run
 * inline (X64_X87OK), struct cpu's tags agree with m0 (its registers
 * present, its known-empty ones empty), then m0's registers, ghosts
 * included, come in from struct cpu. Returns the site of a jump to take
 * when a check fails (nothing loaded yet); the rest goes through `fail`
 * too. `t` and `u`: free registers (nothing is live at a block's start). */
uint8_t *x64_x87_preload(struct be_ctx *x, const struct x87_model *m0, int t, int u, uint8_t **fail)
{
    struct xbuf *b = &x->buf;
    uint8_t regs = cached_set(m0);
    x_alu_mi(b, ALU_CMP, 0, X64_FP, X64_FO(X64_X87OK), 0);
    uint8_t *site = x_jcc32(b, CC_E);
    x_load(b, 0, t, RBP, NOREG, 0, FPU_OFF(tw), 1, false);
    x_alu_ri(b, ALU_AND, 0, t, regs | m0->empty);
    x_alu_ri(b, ALU_CMP, 0, t, m0->empty);
    *fail = x_jcc32(b, CC_NE);
    x_load(b, 0, u, RBP, NOREG, 0, FPU_OFF(top), 1, false);
    for (int h = m0->n - 1; h >= 0; h--) {
        st_index(b, t, u, slot_of(m0, h));
        fld80(b, t);
    }
    x->x87 = *m0;
    x->x87_checked = true;
    return site;
}

/* The slots whose ghosts the model holds (with TOP unmoved, a ghost's
 * slot and a register's number are counted alike). */
static uint8_t ghost_set(const struct x87_model *m)
{
    uint8_t g = 0;
    for (int h = 0; h < m->n; h++)
        if (m->ghost & (1u << h))
            g |= (uint8_t)(1u << m->v[h]);
    return g;
}

/* Whether a back edge's model can be brought to m0's: the same guest
 * registers (in any order), TOP and the known-empty ones the same. Its
 * ghosts may differ: x64_x87_normalize stores those m0 lacks into struct
 * cpu and loads those it lacks from there (a body that pushes into a
 * popped slot and pops again moves its ghosts about: nbody_ld). */
bool x64_x87_loop_match(const struct x87_model *m, const struct x87_model *m0)
{
    return m->n && !m->delta && m->empty == m0->empty && cached_set(m) == cached_set(m0);
}

/* The ghosts m has and m0 does not into struct cpu (what a write-back
 * does with them), then those m0 has and m does not from struct cpu
 * (whose copy of a slot the cache does not hold is the slot's value).
 * FXCH, FSTP m80 and FLD m80 raise nothing; C1 was saved. R11 only. */
static void adapt_ghosts(struct xbuf *b, struct x87_model *m, const struct x87_model *m0)
{
    uint8_t want = ghost_set(m0);
    for (int h = 0; h < m->n; h++) {
        if (!(m->ghost & (1u << h)) || (want & (1u << m->v[h])))
            continue;
        if (h) {
            x87_2(b, 0xd9, (uint8_t)(0xc8 + h)); /* fxch st(h) */
            m_swap_host(m, 0, h);
        }
        st_index_r11(b, m->v[0]);
        fstp80(b, R11);
        m_pop_host(m);
        h = -1; /* positions moved: look again from the top */
    }
    uint8_t have = ghost_set(m);
    for (int v = 0; v < 8; v++)
        if ((want & ~have) & (1u << v)) {
            st_index_r11(b, v);
            fld80(b, R11);
            m_push_host(m, v, true);
            m->ghost |= 1;
        }
}

/* Host register p's value down to position h (p <= h) by way of the
 * top: FXCH st(p), unless it is the top, then FXCH st(h). The caller
 * saved a live C1 first (FXCH clears it). */
static void fxch_down(struct xbuf *b, struct x87_model *m, int p, int h)
{
    if (p == h)
        return;
    if (p) {
        x87_2(b, 0xd9, (uint8_t)(0xc8 + p));
        m_swap_host(m, 0, p);
    }
    x87_2(b, 0xd9, (uint8_t)(0xc8 + h));
    m_swap_host(m, 0, h);
}

/* On a back edge whose model matches: its ghosts made m0's, the host's
 * registers into m0's order (FXCH), C1 and the last instruction's
 * pointers into struct cpu, as m0 expects. R11 and TMP1 only. */
void x64_x87_normalize(struct be_ctx *x, const struct x87_model *m, const struct x87_model *m0)
{
    struct xbuf *b = &x->buf;
    struct x87_model mm = *m;
    if (mm.c1 == X87_C1_LIVE) {
        fnstsw_tmp(b); /* before an FXCH changes it */
        mm.c1 = X87_C1_HOST;
    }
    adapt_ghosts(b, &mm, m0);
    for (int h = mm.n - 1; h > 0; h--) { /* fill from the bottom: positions past h are done */
        bool g = m0->ghost & (1u << h);
        int p = 0;
        while (p < h && !(mm.v[p] == m0->v[h] && ((mm.ghost >> p) & 1) == g))
            p++;
        fxch_down(b, &mm, p, h);
    }
    emit_c1_note(x, &mm, 0);
}

/* ---- Chained exits that carry the cache into a loop translation ---- */

/* Host register h's slot relative to struct cpu's TOP once the cache's
 * delta is in it: the TOP the next block starts from. */
static int end_slot(const struct x87_model *m, int h)
{
    return (slot_of(m, h) - m->delta) & 7;
}

/* What a block entered with the cache m (in canonical order) finds: the
 * slots of its registers and of its ghosts, and the ones known empty,
 * relative to that TOP. */
static uint32_t carry_key(const struct x87_model *m)
{
    uint32_t live = 0, ghosts = 0;
    for (int h = 0; h < m->n; h++) {
        if (m->ghost & (1u << h))
            ghosts |= 1u << end_slot(m, h);
        else
            live |= 1u << end_slot(m, h);
    }
    return live | ghosts << 8 | (uint32_t)m->empty << 16;
}

uint32_t x64_x87_entry_key(const struct x87_model *m0)
{
    return carry_key(m0);
}

/* An exit's cache fits an x87 entry: the same registers and ghosts in
 * the same slots (both in canonical order, so on the same host
 * registers), and every slot the entry takes as empty known empty (the
 * exit's tags say so). */
bool be_carry_match(uint32_t exit_key, uint32_t entry_key)
{
    return (exit_key & 0xffff) == (entry_key & 0xffff) && !((entry_key & ~exit_key) >> 16);
}

/*
 * The first half of a direct exit with the cache in use (the caller's
 * deferred stores may follow: they reuse the TMP words): the host's
 * registers FXCHed into canonical order (ascending slot, st(0) the
 * lowest), then everything of a write-back but the values (emit_meta:
 * TOP, tags, status, C1, pointers). Returns the canonical model, for
 * x64_x87_carry_tail.
 */
struct x87_model x64_x87_carry_head(struct be_ctx *x, const struct x87_model *m)
{
    struct xbuf *b = &x->buf;
    struct x87_model mm = *m;
    int32_t sw_at = X64_TMP0;
    if (mm.c1 == X87_C1_LIVE) { /* before an FXCH changes it; it has the sticky flags too */
        fnstsw_tmp(b);
        mm.c1 = X87_C1_HOST;
        sw_at = X64_TMP1;
    } else if (mm.host_ops) {
        x87_m(b, 0xdd, 7, X64_FP, NOREG, X64_FO(X64_TMP0)); /* fnstsw: the sticky flags */
    }
    for (int h = mm.n - 1; h > 0; h--) { /* selection sort: positions past h are done */
        int p = 0;
        for (int q = 1; q <= h; q++)
            if (end_slot(&mm, q) > end_slot(&mm, p))
                p = q;
        fxch_down(b, &mm, p, h);
    }
    emit_meta(x, &mm, sw_at);
    return mm;
}

/*
 * The second half:
 *   site:  jmp stub                  (chaining repoints it to `path`)
 *   path:  the exit's instructions counted; jmp stub (chaining: to the
 *          target's x87 entry, which takes the host's registers as they are)
 *   stub:  the values written back (struct cpu's TOP has moved already),
 *          the host's stack left empty, as any exit leaves it;
 * then the caller's exit, as without the cache. R11 only.
 */
void x64_x87_carry_tail(struct be_ctx *x, const struct x87_model *mm, int64_t ninsns, struct x87_carry *cy)
{
    struct xbuf *b = &x->buf;
    cy->site = x_jmp32(b);
    cy->path = b->p;
    x64_emit_exit_common(x, ninsns);
    cy->jump = x_jmp32(b);
    cy->stub = b->p;
    x_patch32(cy->site, cy->stub);
    x_patch32(cy->jump, cy->stub);
    cy->key = carry_key(mm);
    emit_values(x, mm, mm->delta);
}

/* Ops the cache survives: they touch neither the x87, nor anything a
 * fault, a call or an exit would need in struct cpu, except in their
 * stubs, which each record a copy of the cache (x64_add_cold): a
 * conditional branch or CHKSTOP writes it back on its way out, a guest
 * memory access's slow path syncs it around the call (x64_x87_sync). */
bool x64_x87_keeps_cache(int opc)
{
    /* (PROBE: its cold path only clears a register) */
    if (ir_opdefs[opc].flags & IRF_PURE)
        return true;
    switch (opc) {
    case IR_NOP: case IR_INSN: case IR_LDG: case IR_STG: case IR_LD: case IR_ST: case IR_FLAGS: case IR_X87: case IR_X87F:
    case IR_BRCOND: case IR_QLD: case IR_QST: case IR_CHKSTOP: case IR_LOOPHEAD: case IR_PROBE:
        return true;
    default:
        return false;
    }
}
