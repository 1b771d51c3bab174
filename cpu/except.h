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

/* Does this exception vector push an error code? */
static inline bool exc_has_errcode(int v)
{
    return v == EXC_DF || (v >= EXC_TS && v <= EXC_PF) || v == EXC_AC;
}

#endif
