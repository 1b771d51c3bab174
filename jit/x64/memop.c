/*
 * Guest memory accesses (QLD/QST) for the x86-64 backend: the segment
 * check and soft-TLB probe inline, everything else out of line.
 *
 * Inline path (the same test cpu/mem.h makes, see the comments there):
 *   off = ea - seg.lo;  fault if off + size - 1 > seg.span   (64-bit compare)
 *   lin = ea + seg.base
 * (for a segment the block's mode word says is flat, MODE_FLAT: lin = ea,
 * and the one fault left, an access running past 4 GiB, is checked at the
 * top of the slow path, which such an access always takes)
 *   e = cpu->tlb + ((lin >> 12) & (TLB_SIZE - 1))   (cpu->tlb: a constant
 *       offset from the CPU pointer for the block's CPL)
 *   hit if ((lin + size - 1) & ~0xfff) == e->tag   (a page-crossing access never hits)
 *   host = e->addend + lin
 * The slow path (cold) saves the call-clobbered registers still live,
 * points cpu->cur at the instruction (the callee may fault, and the
 * unwinder takes EIP and the instruction count from it), calls
 * jit_ld_slow/jit_st_slow, and resumes. A segment violation calls
 * jit_seg_fault, which does not return. The guest registers are already
 * in struct cpu: QLD/QST are sync points for the optimiser.
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "jit/x64/x64.h"

static int32_t seg_off(int seg, size_t field)
{
    return (int32_t)(offsetof(struct cpu, seg) + (size_t)seg * sizeof(struct seg) + field);
}

static void mov_ea(struct xbuf *b, int dst, const struct be_loc *ea)
{
    if (ea->reg == dst)
        return; /* lin_reg() chose the offset's own register */
    if (ea->reg >= 0)
        x_mov_rr(b, 0, dst, ea->reg);
    else
        x_mov_ri(b, 0, dst, (uint32_t)ea->val);
}

/* Segment check and linear address into `lin`; `tmp` is clobbered. */
void x64_seg_check(struct be_ctx *x, const struct be_loc *ea, int seg, int size, bool write, int lin, int tmp)
{
    struct xbuf *b = &x->buf;
    mov_ea(b, lin, ea);
    if (x64_seg_flat(x, seg))
        return; /* lin = ea; a wrap past 4 GiB misses the TLB: x64_emit_wrap_check */
    x_alu_rm(b, ALU_SUB, 0, lin, RBP, seg_off(seg, offsetof(struct seg, lo)));
    int32_t span = seg_off(seg, write ? offsetof(struct seg, span_w) : offsetof(struct seg, span_r));
    if (size > 1) {
        x_lea(b, 1, tmp, lin, NOREG, 0, size - 1);
        x_alu_rm(b, ALU_CMP, 1, tmp, RBP, span);
    } else {
        x_alu_rm(b, ALU_CMP, 1, lin, RBP, span);
    }
    struct cold *c = x64_add_cold(x, COLD_SEGFAULT, x_jcc32(b, CC_G));
    c->seg = (uint8_t)seg;
    c->flags = write;
    mov_ea(b, lin, ea);
    x_alu_rm(b, ALU_ADD, 0, lin, RBP, seg_off(seg, offsetof(struct seg, base)));
}

/* The active TLB (cpu->tlb) is the one of the block's CPL (cpu.c sets it
 * with the mode word, which the block is keyed by): an offset from the
 * CPU pointer, known now. */
int32_t x64_tlb_base(const struct be_ctx *x)
{
    return (int32_t)(offsetof(struct cpu, mmu) + offsetof(struct mmu, tlb) +
                     (((x->b->mode & MODE_CPL_MASK) >> MODE_CPL_SHIFT) == 3 ? MMU_USER : MMU_SUP) *
                         sizeof(struct tlb_entry[TLB_SIZE]));
}

/* dst = (r + d) mod 2^32 */
static void add32(struct xbuf *b, int dst, int r, int32_t d)
{
    if (d)
        x_lea(b, 0, dst, r, NOREG, 0, d);
    else
        x_mov_rr(b, 0, dst, r);
}

/* The probe of bytes r + lo .. r + hi (32-bit wrap-around), where r is
 * `base` (a register), or base + (idx << scale) when `idx` is a register
 * (base may then be NOREG: none): the TLB entry of the first byte's page
 * must be tagged with the last byte's page, so a range across two pages
 * never hits. `out` = the entry's host base, or the branch whose rel32
 * field is returned is taken. `ent` and `tag` are clobbered. */
static uint8_t *probe_site(struct be_ctx *x, int base, int idx, int scale, int32_t lo, int32_t hi, int ent, int tag,
                           bool write, int out)
{
    struct xbuf *b = &x->buf;
    int32_t tlb = x64_tlb_base(x);
    _Static_assert((TLB_SIZE - 1) << 5 < 1 << (32 - 7), "the mask keeps no bit the rotate brought round");
    if (idx != NOREG) {
        x_lea(b, 0, ent, base, idx, scale, lo);
        x_shift_ri(b, SH_SHR, 0, ent, 12 - 5);
        x_lea(b, 0, tag, base, idx, scale, hi);
    } else {
        if (lo) {
            x_lea(b, 0, ent, base, NOREG, 0, lo);
            x_shift_ri(b, SH_SHR, 0, ent, 12 - 5);
        } else {
            x_rorx(b, 0, ent, base, 12 - 5); /* no copy of r first */
        }
        add32(b, tag, base, hi);
    }
    x_alu_ri(b, ALU_AND, 0, ent, (TLB_SIZE - 1) << 5);
    x_alu_ri(b, ALU_AND, 0, tag, (int32_t)0xfffff000u);
    x_rm(b, (unsigned)(ALU_CMP << 3 | 3), 1, tag, RBP, ent, 0,
         tlb + (int32_t)(write ? offsetof(struct tlb_entry, tag_w) : offsetof(struct tlb_entry, tag_r)));
    uint8_t *site = x_jcc32(b, CC_NE);
    x_load(b, 1, out, RBP, ent, 0, tlb + (int32_t)offsetof(struct tlb_entry, addend), 8, false);
    return site;
}

/* probe_site, whose miss takes the returned cold stub of kind `kind`. */
static struct cold *probe_range(struct be_ctx *x, enum cold_kind kind, int base, int idx, int scale, int32_t lo,
                                int32_t hi, int ent, int tag, bool write, int out)
{
    return x64_add_cold(x, kind, probe_site(x, base, idx, scale, lo, hi, ent, tag, write, out));
}

/* probe_range for a range known now, lo .. hi (NULL: it spans two pages):
 * the entry's offset and the tag are constants. `tmp` is clobbered. */
static struct cold *probe_const(struct be_ctx *x, uint32_t lo, uint32_t hi, int tmp, bool write, int out)
{
    struct xbuf *b = &x->buf;
    if ((lo ^ hi) & 0xfffff000u)
        return NULL;
    int32_t e = x64_tlb_base(x) + (int32_t)(((lo >> 12) & (TLB_SIZE - 1)) * sizeof(struct tlb_entry));
    x_mov_ri(b, 0, tmp, hi & 0xfffff000u);
    x_alu_rm(b, ALU_CMP, 1, tmp, RBP,
             e + (int32_t)(write ? offsetof(struct tlb_entry, tag_w) : offsetof(struct tlb_entry, tag_r)));
    struct cold *c = x64_add_cold(x, COLD_PROBE, x_jcc32(b, CC_NE));
    x_load(b, 1, out, RBP, NOREG, 0, e + (int32_t)offsetof(struct tlb_entry, addend), 8, false);
    return c;
}

/* TLB probe: leaves the host address base in `ent` (add `lin`), or jumps to
 * the returned cold stub. `tag` is clobbered. */
struct cold *x64_tlb_probe(struct be_ctx *x, enum cold_kind kind, int lin, int ent, int tag, int size, bool write)
{
    return probe_range(x, kind, lin, NOREG, 0, 0, size - 1, ent, tag, write, ent);
}

/* Where the linear address goes: through a flat segment it is the offset
 * itself, which stays in its register (nothing here writes it; the slow
 * paths keep it as any other live register and take their arguments from
 * it first, and an I32 value's register is zero-extended), unless that is
 * the load's result (the TLB probe builds its tag there). */
static int lin_reg(const struct be_ctx *x, int seg, const struct be_loc *ea, int scratch, int out)
{
    if (x64_seg_flat(x, seg) && ea->reg >= 0 && ea->reg != out)
        return ea->reg;
    return scratch;
}

static int32_t pc_page(int k);
static int32_t pc_addend(int k);

/* A PROBE with a probe cache slot (IRP_STRIDE): the range's first byte
 * r + lo (base: a register or NOREG, idx likewise) checked against the
 * slot, out = its addend; a miss goes to COLD_PCPROBE, which probes the
 * TLB as an uncached PROBE would and fills the slot, or makes out 0 (the
 * COLD_PROBE record after it). tmp and tmp2: the op's scratch registers
 * (out may be an input's: it is written last). */
static void pcache_probe(struct be_ctx *x, int base, int idx, int scale, int32_t lo, int32_t hi, bool write, int out,
                         int tmp, int tmp2)
{
    struct xbuf *b = &x->buf;
    int k = x->pc_next++;
    x_lea(b, 0, tmp, base, idx, scale, lo);
    x_alu_rm(b, ALU_SUB, 1, tmp, X64_FP, pc_page(k));
    x_alu_ri(b, ALU_CMP, 1, tmp, 4096 - (int32_t)((uint32_t)hi - (uint32_t)lo + 1));
    uint8_t *site = x_jcc32(b, CC_A);
    x_load(b, 1, out, X64_FP, NOREG, 0, pc_addend(k), 8, false);
    struct cold *c = x64_add_cold(x, COLD_PCPROBE, site);
    c->lin = (int8_t)base;
    c->val = (int8_t)idx;
    c->out = (int8_t)out;
    c->aux = (int8_t)tmp;
    c->size = (uint8_t)tmp2;
    c->flags = (uint8_t)(write | scale << 1);
    c->seg = (uint8_t)k;
    c->imm = (int64_t)((uint64_t)(uint32_t)lo | (uint64_t)(uint32_t)hi << 32);
    int ci = c == &x->spare ? -1 : (int)(c - x->cold);
    struct cold *m = x64_add_cold(x, COLD_PROBE, NULL);
    m->resume = b->p;
    m->out = (int8_t)out;
    if (ci >= 0 && m != &x->spare) {
        x->cold[ci].exit = (int)(m - x->cold);
        x->cold[ci].resume = b->p;
    }
}

/* COLD_PCPROBE: the probe of the range into the scratch registers (the
 * TLB entry's index, then its addend, in `size`'s), the slot filled on a
 * hit, then out. */
void x64_emit_cold_pcprobe(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    int base = c->lin < 0 ? NOREG : c->lin, idx = c->val < 0 ? NOREG : c->val, scale = c->flags >> 1, ent = c->size;
    int32_t lo = (int32_t)(uint32_t)c->imm, hi = (int32_t)(uint32_t)((uint64_t)c->imm >> 32);
    x->cold[c->exit].site = probe_site(x, base, idx, scale, lo, hi, ent, c->aux, c->flags & 1, ent);
    x_store(b, ent, X64_FP, NOREG, 0, pc_addend(c->seg), 8);
    x_lea(b, 0, c->aux, base, idx, scale, lo);
    x_alu_ri(b, ALU_AND, 0, c->aux, (int32_t)0xfffff000u);
    x_store(b, c->aux, X64_FP, NOREG, 0, pc_page(c->seg), 8);
    x_mov_rr(b, 1, c->out, ent);
    x_jmp_to(b, c->resume);
}

/* A PROBE (probe.c): out = the TLB's host base for the page holding
 * r + c1 .. r + c2, r = in0 or in0 + (in1 << scale), or 0 (COLD_PROBE).
 * The range's ends are computed with 32-bit wrap-around, as the
 * accesses' offsets are: ends on two pages (or either side of 4 GiB)
 * never match one entry's tag. */
void x64_emit_probe(struct be_ctx *x, const struct ir_op *op, int out, const struct be_loc *in, const int *s)
{
    struct cold *c;
    bool write = op->cond & 1;
    int32_t lo = (int32_t)op->c[1], hi = (int32_t)op->c[2];
    if ((op->cond & IRP_STRIDE) && x->pc_next < x->pc_n && (in[0].reg >= 0 || in[1].reg >= 0)) {
        int base = in[0].reg;
        if (base < 0) {
            lo = (int32_t)((uint32_t)lo + (uint32_t)in[0].val);
            hi = (int32_t)((uint32_t)hi + (uint32_t)in[0].val);
            base = NOREG;
        }
        pcache_probe(x, base, in[1].reg >= 0 ? in[1].reg : NOREG, op->cond >> 1 & 3, lo, hi, write, out, s[0],
                     s[1]);
        return;
    }
    if (in[1].reg >= 0) {
        int base = in[0].reg;
        if (base < 0) { /* a constant base: part of the displacement */
            lo = (int32_t)((uint32_t)lo + (uint32_t)in[0].val);
            hi = (int32_t)((uint32_t)hi + (uint32_t)in[0].val);
            base = NOREG;
        }
        c = probe_range(x, COLD_PROBE, base, in[1].reg, op->cond >> 1 & 3, lo, hi, s[0], s[1], write, out);
    } else if (in[0].reg >= 0) {
        c = probe_range(x, COLD_PROBE, in[0].reg, NOREG, 0, lo, hi, s[0], s[1], write, out);
    } else if (!(c = probe_const(x, (uint32_t)in[0].val + (uint32_t)lo, (uint32_t)in[0].val + (uint32_t)hi, s[0], write,
                                 out))) {
        x_mov_ri(&x->buf, 0, out, 0); /* across two pages: never one entry */
        return;
    }
    c->resume = x->buf.p;
    c->out = (int8_t)out;
}

/* COLD_GROUP's flags: the probe's kind, and whether the record makes the
 * access itself (group_access: a load into `val`, sign-extended or not,
 * or a store of `val`, or of `imm` when val < 0); GRP_CACHE: the probe
 * fills probe cache slot `seg` first (pcache_access). */
enum { GRP_WRITE = 1, GRP_LOAD = 2, GRP_STORE = 4, GRP_SIGN = 8, GRP_CACHE = 16 };

/* The COLD_GROUP record of an access whose group base is 0 (its jump at
 * `site`; back to `resume`) and, after it, the record of kind `kind` its
 * own probe's miss takes (returned; its site is the group record's
 * probe). *gi: the group record's index (-1: none, out of memory), for
 * what the caller sets later: a record pointer does not outlive the next
 * x64_add_cold, which may move them all. */
static struct cold *group_records(struct be_ctx *x, enum cold_kind kind, uint8_t *site, uint8_t *resume, int lin,
                                  int ent, int tag, int size, bool write, int *gi)
{
    struct cold *g = x64_add_cold(x, COLD_GROUP, site);
    g->resume = resume;
    g->lin = (int8_t)lin;
    g->out = (int8_t)ent;
    g->aux = (int8_t)tag;
    g->size = (uint8_t)size;
    g->flags = write ? GRP_WRITE : 0;
    *gi = g == &x->spare ? -1 : (int)(g - x->cold);
    struct cold *c = x64_add_cold(x, kind, NULL);
    if (*gi >= 0 && c != &x->spare)
        x->cold[*gi].exit = (int)(c - x->cold);
    return c;
}

/* The host base for an access into `ent` (an x87 operand's: x87.c): its
 * PROBE's (`base`, a register) when it has one and that is not 0, else
 * its own probe's, out of line (COLD_GROUP: the main path falls through
 * to the access); a miss takes the returned cold stub of kind `kind`. */
struct cold *x64_host_base(struct be_ctx *x, enum cold_kind kind, const struct be_loc *base, int lin, int ent,
                           int tag, int size, bool write)
{
    if (base->reg < 0)
        return x64_tlb_probe(x, kind, lin, ent, tag, size, write);
    struct xbuf *b = &x->buf;
    x_mov_rr(b, 1, ent, base->reg);
    x_test_rr(b, 1, ent, ent);
    uint8_t *site = x_jcc32(b, CC_E);
    int gi;
    return group_records(x, kind, site, b->p, lin, ent, tag, size, write, &gi);
}

/* mov [ent + lin], reg or imm: a store of `size` bytes. */
static void store_access(struct xbuf *b, int val, int64_t imm, int ent, int lin, int size)
{
    if (val >= 0) {
        x_store(b, val, ent, lin, 0, 0, size);
        return;
    }
    int32_t v = (int32_t)imm;
    if (size == 2)
        xb(b, 0x66);
    x_rex(b, 0, 0, lin, ent, false);
    xb(b, size == 1 ? 0xc6 : 0xc7);
    x_mem(b, 0, ent, lin, 0, 0);
    if (size == 1)
        xb(b, (uint8_t)v);
    else if (size == 2) {
        xb(b, (uint8_t)v);
        xb(b, (uint8_t)(v >> 8));
    } else
        x32(b, (uint32_t)v);
}

/* An integer access in a probe group whose base is in register `base`:
 * the main path tests the base and accesses through it directly (the
 * caller emits that); base 0 goes out of line (COLD_GROUP, index *gi),
 * which probes for itself into `ent`, makes the same access there and
 * comes back past the main path's (the group record's resume and access,
 * the caller's to set). The own probe's miss takes the returned record
 * of `kind`. */
static struct cold *group_access(struct be_ctx *x, enum cold_kind kind, int base, int lin, int ent, int tag, int size,
                                 bool write, int *gi)
{
    struct xbuf *b = &x->buf;
    x_test_rr(b, 1, base, base);
    uint8_t *site = x_jcc32(b, CC_E);
    return group_records(x, kind, site, NULL, lin, ent, tag, size, write, gi);
}

/*
 * Probe cache. A loop's access through a register that steps by a few
 * bytes an iteration (IRM_STRIDE, probe.c) stays on one page for many
 * iterations: its slot in the frame keeps that page and its TLB entry's
 * addend, and the access checks the slot instead of the TLB:
 *   t = lin - page (64-bit);  hit if t <= 4096 - size (unsigned)
 *   host = addend + lin
 * Five instructions and two loads from lines no guest access touches,
 * none of them on lin's dependency chain but the subtraction, where the
 * TLB probe takes seven, its entry's loads after lin's shift and mask.
 * A miss probes the TLB out of line (COLD_GROUP, GRP_CACHE) and, on a
 * hit, fills the slot; the TLB's miss takes the access's slow path.
 * An empty slot's page is PC_EMPTY: lin - it is at least 2^31.
 *
 * A slot holds what the TLB held when it was filled. It may be kept only
 * while the TLB cannot change: probe.c marks no access of a body that
 * calls out, and what does call out empties the slots: every entry into
 * the loop (LOOPHEAD: the back edge jumps past it) and every slow path of
 * an access (a fill may flush the TLB after a change of the physical
 * map, a device access may change the map).
 */
#define PC_EMPTY ((int32_t)0x80000000)

static int32_t pc_page(int k)
{
    return X64_FO(X64_PCACHE + 16 * k);
}

static int32_t pc_addend(int k)
{
    return X64_FO(X64_PCACHE + 16 * k + 8);
}

void x64_pcache_empty(struct be_ctx *x)
{
    for (int k = 0; k < x->pc_n; k++)
        x_store_i(&x->buf, PC_EMPTY, X64_FP, pc_page(k), 8);
}

void x64_pcache_head(struct be_ctx *x, const struct ir_block *ir)
{
    int n = 0;
    for (unsigned k = 0; k < ir->nops; k++) {
        const struct ir_op *op = &ir->ops[k];
        if (((op->opc == IR_QLD || op->opc == IR_QST) && (op->c[2] & IRM_STRIDE)) ||
            (op->opc == IR_PROBE && (op->cond & IRP_STRIDE)))
            n++;
    }
    x->pc_n = n < X64_PCACHE_N ? n : X64_PCACHE_N;
    x->pc_next = 0;
    x64_pcache_empty(x);
}

/* Whether an access of op (QLD/QST, through register lin's flat
 * segment) takes a probe cache slot. */
static bool pcache_slot(const struct be_ctx *x, const struct ir_op *op)
{
    return (op->c[2] & IRM_STRIDE) && x->pc_next < x->pc_n && x64_seg_flat(x, (int)op->c[0]);
}

/* An access through the next probe cache slot: the check, and the
 * slot's addend into `ent` (the caller makes the access at ent + lin);
 * a miss goes out of line to the COLD_GROUP record of index *gi, which
 * probes and fills the slot, makes the access and comes back past the
 * main path's (its resume and access, the caller's to set). The TLB's
 * miss takes the returned record of `kind`. `tag` is clobbered. */
static struct cold *pcache_access(struct be_ctx *x, enum cold_kind kind, int lin, int ent, int tag, int size,
                                  bool write, int *gi)
{
    struct xbuf *b = &x->buf;
    int k = x->pc_next++;
    x_mov_rr(b, 0, tag, lin);
    x_alu_rm(b, ALU_SUB, 1, tag, X64_FP, pc_page(k));
    x_alu_ri(b, ALU_CMP, 1, tag, 4096 - size);
    uint8_t *site = x_jcc32(b, CC_A);
    x_load(b, 1, ent, X64_FP, NOREG, 0, pc_addend(k), 8, false);
    struct cold *c = group_records(x, kind, site, NULL, lin, ent, tag, size, write, gi);
    if (*gi >= 0) {
        x->cold[*gi].flags |= GRP_CACHE;
        x->cold[*gi].seg = (uint8_t)k;
    }
    return c;
}

/* An access that has a host base without a TLB probe of its own: its
 * probe group's (`group`, a register) or its probe cache slot's (into
 * `ent`); *base: that register. The records are group_access's or
 * pcache_access's (*gi); NULL when it has neither (the caller probes). */
static struct cold *fast_base(struct be_ctx *x, const struct ir_op *op, enum cold_kind kind, int group, int lin,
                              int ent, int tag, int size, bool write, int *gi, int *base)
{
    *base = group;
    if (group >= 0)
        return group_access(x, kind, group, lin, ent, tag, size, write, gi);
    if (!pcache_slot(x, op))
        return NULL;
    *base = ent;
    return pcache_access(x, kind, lin, ent, tag, size, write, gi);
}

/* The group record group_access made, once no record is added after it. */
static struct cold *group_rec(struct be_ctx *x, int gi)
{
    return gi >= 0 ? &x->cold[gi] : &x->spare;
}

/* COLD_GROUP: the access's own probe, then back to the access, or the
 * access itself and back past it; its miss goes to the access's slow
 * path (the next record, emitted after this). */
void x64_emit_cold_group(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    x->cold[c->exit].site =
        probe_site(x, c->lin, NOREG, 0, 0, c->size - 1, c->out, c->aux, c->flags & GRP_WRITE, c->out);
    if (c->flags & GRP_CACHE) { /* the access's bytes are on one page the TLB holds */
        x_store(b, c->out, X64_FP, NOREG, 0, pc_addend(c->seg), 8);
        x_mov_rr(b, 0, c->aux, c->lin);
        x_alu_ri(b, ALU_AND, 0, c->aux, (int32_t)0xfffff000u);
        x_store(b, c->aux, X64_FP, NOREG, 0, pc_page(c->seg), 8);
    }
    if (c->flags & GRP_LOAD)
        x_load(b, 0, c->val, c->out, c->lin, 0, 0, c->size, (c->flags & GRP_SIGN) != 0);
    else if (c->flags & GRP_STORE)
        store_access(b, c->val, c->imm, c->out, c->lin, c->size);
    x_jmp_to(b, c->resume);
}

void x64_emit_qld(struct be_ctx *x, const struct ir_op *op, int out, const struct be_loc *in, const int *s, regset live)
{
    int seg = (int)op->c[0], size = (int)op->c[1], flags = (int)op->c[2];
    bool write = flags & IRM_WCHK;
    int lin = lin_reg(x, seg, &in[0], s[0], out), ent = s[1];
    x64_seg_check(x, &in[0], seg, size, write, lin, ent);
    bool sign = (flags & IRM_SIGN) != 0;
    int gi, base;
    struct cold *c = fast_base(x, op, COLD_LD, in[1].reg, lin, ent, out, size, write, &gi, &base);
    if (c) {
        x_load(&x->buf, 0, out, base, lin, 0, 0, size, sign);
        struct cold *g = group_rec(x, gi);
        g->flags |= (uint8_t)(GRP_LOAD | (sign ? GRP_SIGN : 0));
        g->val = (int8_t)out;
        g->resume = x->buf.p;
    } else {
        c = x64_tlb_probe(x, COLD_LD, lin, ent, out, size, write);
        x_load(&x->buf, 0, out, ent, lin, 0, 0, size, sign);
    }
    c->resume = x->buf.p;
    c->seg = (uint8_t)seg;
    c->flat = x64_seg_flat(x, seg);
    c->lin = (int8_t)lin;
    c->out = (int8_t)out;
    c->size = (uint8_t)size;
    c->flags = (uint8_t)flags;
    c->live = live & ~REGBIT(out);
}

struct cold *x64_emit_qst(struct be_ctx *x, const struct ir_op *op, const struct be_loc *in, const int *s,
                          regset live)
{
    int seg = (int)op->c[0], size = (int)op->c[1];
    int lin = lin_reg(x, seg, &in[0], s[0], in[1].reg), ent = s[1], tag = s[2];
    struct xbuf *b = &x->buf;
    x64_seg_check(x, &in[0], seg, size, true, lin, ent);
    int gi, base;
    struct cold *c = fast_base(x, op, COLD_ST, in[2].reg, lin, ent, tag, size, true, &gi, &base);
    if (c) {
        store_access(b, in[1].reg, in[1].val, base, lin, size);
        struct cold *g = group_rec(x, gi);
        g->flags |= GRP_STORE;
        g->val = (int8_t)in[1].reg;
        g->imm = in[1].val;
        g->resume = b->p;
    } else {
        c = x64_tlb_probe(x, COLD_ST, lin, ent, tag, size, true);
        store_access(b, in[1].reg, in[1].val, ent, lin, size);
    }
    c->resume = b->p;
    c->seg = (uint8_t)seg;
    c->flat = x64_seg_flat(x, seg);
    c->lin = (int8_t)lin;
    c->val = (int8_t)in[1].reg;
    c->imm = in[1].val;
    c->size = (uint8_t)size;
    c->live = live;
    return c;
}

bool x64_seg_flat(const struct be_ctx *x, int seg)
{
    return seg <= SEG_GS && (x->b->mode & MODE_FLAT(seg));
}

/* The one limit check x64_seg_check leaves out for a flat segment: an
 * access of `size` bytes at lin (zero-extended) must not run past 4 GiB.
 * Emitted at the top of the slow path, which such an access always
 * takes (its last byte is on another page than its first). */
void x64_emit_wrap_check(struct be_ctx *x, const struct cold *c, int lin)
{
    struct xbuf *b = &x->buf;
    if (!c->flat || c->size <= 1)
        return;
    x_lea(b, 1, R11, lin, NOREG, 0, c->size - 1);
    x_shift_ri(b, SH_SHR, 1, R11, 32);
    uint8_t *ok = x_jcc32(b, CC_E);
    x64_x87_writeback(x, &c->x87);
    x64_emit_defers(x, c, 0);
    x64_set_cur(x, c->insn);
    x_mov_rr(b, 1, RDI, RBP);
    x_mov_ri(b, 0, RSI, c->seg);
    x_mov_ri(b, 0, RDX, c->kind == COLD_ST || (c->flags & IRM_WCHK));
    x64_call_c(b, (const void *)jit_seg_fault);
    x_patch32(ok, b->p);
}

void x64_save_regs(struct xbuf *b, regset s, bool restore)
{
    for (int r = 0; r < 16; r++)
        if (s & REGBIT(r)) {
            if (restore)
                x_load(b, 1, r, X64_FP, NOREG, 0, X64_FO(X64_SAVE_OFF + 8 * r), 8, false);
            else
                x_store(b, r, X64_FP, NOREG, 0, X64_FO(X64_SAVE_OFF + 8 * r), 8);
        }
}

void x64_emit_cold_mem(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    regset keep = c->live & X64_CLOBBERED;
    bool x87 = !x64_x87_model_empty(&c->x87); /* the x87 cache, in use across the access */
    switch (c->kind) {
    case COLD_SEGFAULT:
        x64_x87_writeback(x, &c->x87);
        x64_emit_defers(x, c, 0);
        x64_set_cur(x, c->insn);
        x_mov_rr(b, 1, RDI, RBP);
        x_mov_ri(b, 0, RSI, c->seg);
        x_mov_ri(b, 0, RDX, c->flags);
        x64_call_c(b, (const void *)jit_seg_fault);
        break;
    case COLD_LD:
        x64_emit_wrap_check(x, c, c->lin);
        if (x87)
            x64_x87_sync(x, &c->x87);
        x64_save_regs(b, keep, false);
        x64_emit_defers(x, c, 0);
        x64_set_cur(x, c->insn);
        x_mov_rr(b, 0, RSI, c->lin);
        x_mov_ri(b, 0, RDX, c->size);
        x_mov_rr(b, 1, RDI, RBP);
        x64_call_c(b, (c->flags & IRM_WCHK) ? (const void *)jit_ldw_slow : (const void *)jit_ld_slow);
        x64_pcache_empty(x);
        if ((c->flags & IRM_SIGN) && c->size == 1)
            x_movsx8_rr(b, 0, c->out, RAX);
        else if ((c->flags & IRM_SIGN) && c->size == 2)
            x_movsx16_rr(b, 0, c->out, RAX);
        else
            x_mov_rr(b, 0, c->out, RAX);
        x64_save_regs(b, keep, true);
        if (x87)
            x64_x87_unsync(x);
        x_jmp_to(b, c->resume);
        break;
    case COLD_ST:
        x64_emit_wrap_check(x, c, c->lin);
        if (x87)
            x64_x87_sync(x, &c->x87);
        x64_save_regs(b, keep, false);
        x64_emit_defers(x, c, 0);
        x64_set_cur(x, c->insn);
        x_mov_rr(b, 0, R11, c->lin); /* lin and the value may be in RSI and RDX either way round */
        if (c->val >= 0)
            x_mov_rr(b, 1, RDX, c->val);
        else
            x_mov_ri(b, 0, RDX, (uint32_t)c->imm);
        x_mov_rr(b, 0, RSI, R11);
        x_mov_ri(b, 0, RCX, c->size);
        x_mov_rr(b, 1, RDI, RBP);
        x64_call_c(b, (const void *)jit_st_slow);
        x64_pcache_empty(x);
        x64_save_regs(b, keep, true);
        if (x87)
            x64_x87_unsync(x);
        if (c->stop >= 0) { /* the instruction's CHKSTOP (backend.c) */
            x_alu_mi(b, ALU_CMP, 1, RBP, (int32_t)offsetof(struct cpu, blk_end), 0);
            x->cold[c->stop].site = x_jcc32(b, CC_NE);
        }
        x_jmp_to(b, c->resume);
        break;
    default:
        break;
    }
}
