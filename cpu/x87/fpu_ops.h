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

void fpu_enter(struct cpu *c);
void fpu_enter_nowait(struct cpu *c);

/* Record FIP/FCS/FOP, and FDP/FDS when the instruction has a memory operand. */
void fpu_note(struct cpu *c, const struct insn *i);

/* Merge exception flags (FSW_IE..FSW_PE, FSW_SF) and the condition codes
 * selected by ccmask into the status word; an unmasked exception sets ES
 * and B and updates FERR#. */
void fpu_raise(struct cpu *c, unsigned flags, unsigned ccmask, unsigned cc);


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

/* Commit a result to ST(dst) (then pop if asked) unless an unmasked
 * exception forbids it; C1 = rounded up. */
void fpu_result(struct cpu *c, int dst, struct f80 r, const struct sf_env *e, bool pop);

/* Unpacked ST(i). */
static inline struct fx fpu_fx(const struct cpu *c, int i) { return fx_from_f80(fpu_st(&c->fpu, i)); }

#endif
