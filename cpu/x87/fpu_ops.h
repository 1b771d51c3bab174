/*
 * What the x87 instruction handlers share (private to cpu/x87/ and
 * cpu/ops/mmx.c): entry checks, exception reporting, stack faults and
 * result commit.
 *
 * The sequence of every x87 handler:
 *   1. fpu_enter() / fpu_enter_nowait(): #NM for CR0.EM/TS, then (waiting
 *      instructions only) a pending unmasked exception: #MF with CR0.NE=1.
 *   2. Read memory operands (may fault: nothing is committed yet).
 *   3. Compute into locals with a struct sf_env.
 *   4. Write memory results (may fault).
 *   5. Commit: registers (unless an unmasked IE/DE/ZE forbids it),
 *      status flags (fpu_raise), pops, and the last-instruction pointers
 *      (fpu_note) for non-control instructions.
 */
#ifndef KESTREL_FPU_OPS_H
#define KESTREL_FPU_OPS_H

#include "cpu/ops/ops.h"
#include "cpu/x87/fpu.h"
#include "cpu/x87/sf80_fast.h"

/* The entry checks cost two tests when nothing is pending: every x87
 * instruction runs them, so the rare work is out of line. */
void fpu_enter_slow(struct cpu *c);
static inline void fpu_enter(struct cpu *c)
{
    if (unlikely((c->cr0 & (CR0_EM | CR0_TS)) || (c->fpu.sw & FSW_ES)))
        fpu_enter_slow(c);
}
void fpu_enter_nowait(struct cpu *c);
/* fpu_enter() has nothing to do: the fast paths' precondition (they
 * leave the rare case to the general path, which calls fpu_enter()). */
static inline bool fpu_entry_clear(const struct cpu *c)
{
    return !((c->cr0 & (CR0_EM | CR0_TS)) | (c->fpu.sw & FSW_ES));
}
/* The same and a control word the rounding fast paths serve (sf80_fast.h:
 * FR_MODE_*): the precision shift, or -1. Every fast arithmetic handler
 * starts here. The control and status words are read with two loads, not
 * one 32-bit load across both: the previous x87 instruction has just
 * stored the status word with a 16-bit store, and a wider load spanning
 * it cannot be forwarded from the store buffer (a stall of a dozen
 * cycles on every instruction of a run of x87 code). */
static inline int fpu_fast_mode(const struct cpu *c)
{
    uint16_t cw = c->fpu.cw, sw = c->fpu.sw;
    if ((c->cr0 & (CR0_EM | CR0_TS)) || ((cw & FR_MODE_MASK) | (sw & FSW_ES)) != FR_MODE_WANT)
        return -1;
    return (int)fr_shift(cw);
}

/* Record FIP/FCS/FOP, and FDP/FDS for a memory operand at `ea` (the
 * handler has it already: computing it again would cost as much). */
static inline void fpu_note_reg(struct cpu *c, const struct insn *i)
{
    struct fpu *f = &c->fpu;
    f->fip = insn_eip(c, i);
    f->fcs = c->seg[SEG_CS].sel;
    f->fop = (uint16_t)((i->b1 << 8 | i->modrm) & 0x7ff);
}
static inline void fpu_note_mem(struct cpu *c, const struct insn *i, uint32_t ea)
{
    fpu_note_reg(c, i);
    c->fpu.fdp = ea;
    c->fpu.fds = c->seg[i->seg].sel;
}
/* Either, by the instruction's form. */
static inline void fpu_note(struct cpu *c, const struct insn *i)
{
    if (i->pfx & P_MEM)
        fpu_note_mem(c, i, insn_ea(c, i));
    else
        fpu_note_reg(c, i);
}

/* Merge exception flags (FSW_IE..FSW_PE, FSW_SF) and the condition codes
 * selected by ccmask into the status word; an unmasked exception sets ES
 * and B and updates FERR# (out of line: fpu_unmasked). */
void fpu_unmasked(struct cpu *c);
static inline void fpu_raise(struct cpu *c, unsigned flags, unsigned ccmask, unsigned cc)
{
    struct fpu *f = &c->fpu;
    f->sw = (uint16_t)((f->sw & ~ccmask) | (cc & ccmask) | (flags & (FSW_EXC | FSW_SF)));
    if (unlikely(flags & ~f->cw & FSW_EXC))
        fpu_unmasked(c);
}


/* Stack faults: flag IE|SF with C1 = 0 (underflow) or 1 (overflow).
 * Return true when IE is masked, so the caller applies the masked
 * response (the default NaN as the result). */
bool fpu_stack_underflow(struct cpu *c);
bool fpu_stack_overflow(struct cpu *c);

static inline struct sf_env fpu_env(const struct cpu *c) { return sf_env_from_cw(c->fpu.cw); }

/* Unmasked overflow/underflow: a memory destination is left unwritten. */
static inline bool fpu_mem_blocked(const struct sf_env *e)
{
    return sf_blocked(e) || (e->flags & ~e->masks & (FSW_OE | FSW_UE));
}

/* The status of a fast-path result: its flags are FSW_PE and FSW_C1 at
 * most, and PE is masked (fpu_fast_mode), so no exception is signalled. */
static inline void fpu_fast_status(struct fpu *f, unsigned flags)
{
    f->sw = (uint16_t)((f->sw & ~FSW_C1) | flags);
}

/* ST(i) and ST(j) both present. */
static inline bool fpu_present2(const struct fpu *f, int i, int j)
{
    return !(f->tw & ((1u << (i & 7)) | (1u << (j & 7))));
}

/*
 * Host pointers for the fast paths' memory operands: `size` bytes at
 * seg:ea when the segment allows the access (the check of mem.h) and the
 * soft TLB maps them within one page, else NULL. A probe has no side
 * effects and never faults; on NULL the caller takes its general path,
 * which makes the access through mem.h with its faults, MMIO and
 * page-crossing cases. Write probes see code pages as misses, so stores
 * to code still reach the invalidation.
 */
static inline const uint8_t *fpu_probe_r(struct cpu *c, int s, uint32_t ea, int size)
{
    const struct seg *sg = &c->seg[s];
    if ((int64_t)(uint32_t)(ea - sg->lo) + size - 1 > sg->span_r)
        return NULL;
    return tlb_hit_r(c, (uint32_t)(sg->base + ea), size);
}
static inline uint8_t *fpu_probe_w(struct cpu *c, int s, uint32_t ea, int size)
{
    const struct seg *sg = &c->seg[s];
    if ((int64_t)(uint32_t)(ea - sg->lo) + size - 1 > sg->span_w)
        return NULL;
    return tlb_hit_w(c, (uint32_t)(sg->base + ea), size);
}

/* The fast paths' handlers fall back to a general path that redoes the
 * whole instruction; keeping it out of line (and out of the hot text)
 * lets the fast path compile to leaf code. */
#define FPU_GENERAL static __attribute__((noinline, cold))

/* Commit a result to ST(dst) (then pop if asked) unless an unmasked
 * exception forbids it; C1 = rounded up. */
void fpu_result(struct cpu *c, int dst, struct f80 r, const struct sf_env *e, bool pop);

/* Unpacked ST(i). */
static inline struct fx fpu_fx(const struct cpu *c, int i) { return fx_from_f80(fpu_st(&c->fpu, i)); }

/* ---- Memory operands of the arithmetic and comparison forms ---- */

enum { MEM_F32, MEM_F64, MEM_I16, MEM_I32 };

static inline int fpu_mem_size(int kind) { return kind == MEM_F64 ? 8 : kind == MEM_I16 ? 2 : 4; }

/* Load a probed operand (host byte order is the guest's, as in mem.h). */
static inline uint64_t fpu_mem_load(const uint8_t *p, int kind)
{
    uint64_t v64;
    uint32_t v32;
    uint16_t v16;
    switch (kind) {
    case MEM_F64: memcpy(&v64, p, 8); return v64;
    case MEM_I16: memcpy(&v16, p, 2); return v16;
    default: memcpy(&v32, p, 4); return v32;
    }
}

static inline uint64_t fpu_mem_read(struct cpu *c, const struct insn *i, uint32_t ea, int kind)
{
    switch (kind) {
    case MEM_F64: return mem_rd64(c, i->seg, ea);
    case MEM_I16: return mem_rd16(c, i->seg, ea);
    default: return mem_rd32(c, i->seg, ea);
    }
}

/* The operand as an extended number when that is exact and normal (the
 * fast paths' form). */
static inline bool fpu_mem_f80(int kind, uint64_t raw, struct f80 *r)
{
    switch (kind) {
    case MEM_F32: return fast_from_f32((uint32_t)raw, r);
    case MEM_F64: return fast_from_f64(raw, r);
    case MEM_I16: return fast_from_int((int16_t)raw, r);
    default: return fast_from_int((int32_t)raw, r);
    }
}

/* The operand unpacked (the general paths' form: keeps "denormal"). */
static inline struct fx fpu_mem_fx(int kind, uint64_t raw)
{
    switch (kind) {
    case MEM_F32: return fx_from_f32((uint32_t)raw);
    case MEM_F64: return fx_from_f64(raw);
    case MEM_I16: return fx_from_int((int16_t)raw);
    default: return fx_from_int((int32_t)raw);
    }
}

#endif
