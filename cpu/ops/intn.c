/*
 * Software interrupts (INT n, INT3, INTO, INT1) and HLT. The pushed return
 * address is the next instruction; a fault while delivering unwinds with
 * EIP at the INT itself.
 */
#include "cpu/except.h"
#include "cpu/ops/ops.h"

HANDLER(int_Ib)
{
    c->eip = insn_next_eip(c, i);
    intr_deliver(c, (uint8_t)i->imm, INTR_SOFTWARE, NO_ERRCODE);
}
HANDLER(int3)
{
    c->eip = insn_next_eip(c, i);
    intr_deliver(c, EXC_BP, INTR_SOFT_EXC, NO_ERRCODE);
}
HANDLER(into)
{
    if (lf_of(c)) {
        c->eip = insn_next_eip(c, i);
        intr_deliver(c, EXC_OF, INTR_SOFT_EXC, NO_ERRCODE);
    }
}
HANDLER(int1)
{
    c->eip = insn_next_eip(c, i);
    intr_deliver(c, EXC_DB, INTR_ICEBP, NO_ERRCODE);
}

HANDLER(hlt)
{
    (void)i;
    if ((c->cr0 & CR0_PE) && c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
    c->halted = 1;
    cpu_event(c);
}
