/*
 * Instructions that read or write EFLAGS bits directly: CLC STC CMC CLD
 * STD CLI STI SAHF LAHF SALC.
 */
#include "cpu/ops/ops.h"

HANDLER(clc) { (void)i; lf_force_cf(c, 0); }
HANDLER(stc) { (void)i; lf_force_cf(c, 1); }
HANDLER(cmc) { (void)i; lf_force_cf(c, !lf_cf(c)); }
HANDLER(cld) { (void)i; c->eflags &= ~EFL_DF; }
HANDLER(std) { (void)i; c->eflags |= EFL_DF; }

/* CLI/STI need CPL <= IOPL in protected mode, IOPL 3 in v86 mode. */
static void check_iopl(struct cpu *c)
{
    if (c->cr0 & CR0_PE) {
        int need = (c->eflags & EFL_VM) ? 3 : c->cpl;
        if (iopl(c) < need)
            cpu_fault(c, EXC_GP, 0);
    }
}
HANDLER(cli)
{
    (void)i;
    check_iopl(c);
    c->eflags &= ~EFL_IF;
}
/* STI enables interrupts only after the next instruction. */
HANDLER(sti)
{
    (void)i;
    check_iopl(c);
    if (!(c->eflags & EFL_IF)) {
        c->eflags |= EFL_IF;
        c->inhibit_irq = 1;
        cpu_event(c);
    }
}

HANDLER(sahf)
{
    (void)i;
    uint32_t ah = (uint8_t)(c->gpr[R_EAX] >> 8);
    uint32_t f = cpu_get_eflags(c);
    const uint32_t m = EFL_SF | EFL_ZF | EFL_AF | EFL_PF | EFL_CF;
    lf_set(c, ((f & ~m) | (ah & m)) & EFL_ARITH);
}
HANDLER(lahf)
{
    (void)i;
    uint8_t ah = (uint8_t)((cpu_get_eflags(c) & 0xd5) | EFL_1);
    *reg8(c, 1) = ah;
}
/* Undocumented SALC: AL = CF ? 0xFF : 0. */
HANDLER(salc) { (void)i; *reg8(c, 0) = lf_cf(c) ? 0xff : 0; }
