/*
 * Interrupt and exception delivery (real mode IVT, protected-mode IDT with
 * interrupt, trap and task gates, virtual-8086), and the double-fault
 * rules applied when delivering one event raises another.
 */
#ifndef KESTREL_EXCEPT_H
#define KESTREL_EXCEPT_H

#include "cpu/cpu.h"

/* Kinds of event, which decide privilege checks and what EIP is pushed. */
enum intr_kind {
    INTR_EXCEPTION, /* fault or trap raised by the CPU */
    INTR_EXTERNAL,  /* INTR/NMI from outside: EXT bit set in error codes */
    INTR_SOFTWARE,  /* INT n: gate DPL checked against CPL; IOPL in v86 */
    INTR_SOFT_EXC,  /* INT3, INTO: gate DPL checked, not IOPL-sensitive */
    INTR_ICEBP,     /* INT1 (F1): like an external event for checks */
};

/* Deliver an event with cpu->eip already set to the return address.
 * errcode is NO_ERRCODE or the value to push. May fault (unwinds). */
void intr_deliver(struct cpu *c, int vector, enum intr_kind kind, int errcode);

/* Deliver the exception recorded by cpu_fault(), applying #DF/triple-fault
 * rules. Called from cpu_exec() after unwinding. Returns false on shutdown. */
bool except_dispatch(struct cpu *c);

/* An instruction (task switch) has committed to a new context: a fault
 * raised after this point is delivered with EIP and the other registers
 * as they now are, so the unwinder must not reset EIP to the instruction.
 * Detaching the block is how cpu_exec()'s unwinder knows. */
static inline void cpu_commit_context(struct cpu *c)
{
    c->blk = NULL;
}

/* Start building a stack frame on the privilege-`dpl` stack the current
 * TSS names (interrupts and call gates to an inner ring): #TS for a bad
 * TSS or stack selector, #SS for a missing stack, all with `ext`. */
struct frame;
struct desc;
void frame_inner(struct cpu *c, struct frame *f, int dpl, int ext, uint16_t *ss_sel, struct desc *ssd);
/* Make a built frame the current stack: load SS and eSP. Call after the
 * last possible fault (set the SS descriptor's accessed bit before). */
void frame_commit(struct cpu *c, const struct frame *f, uint16_t ss_sel, const struct desc *ssd);

/* Does this exception vector push an error code? */
static inline bool exc_has_errcode(int v)
{
    return v == EXC_DF || (v >= EXC_TS && v <= EXC_PF) || v == EXC_AC;
}

#endif
