/*
 * SYSENTER and SYSEXIT: fast transitions between ring 3 and ring 0 that
 * load flat segments without reading any descriptor (SDM Vol. 2,
 * SYSENTER/SYSEXIT "Operation"). The GDT is expected to hold, from
 * IA32_SYSENTER_CS: ring-0 code, ring-0 stack, ring-3 code, ring-3 stack;
 * the processor does not check that it does.
 *
 * SYSENTER: #GP(0) in real mode or with SYSENTER_CS[15:2] = 0; clears VM,
 * IF and RF; CS = SYSENTER_CS & ~3 (base 0, limit 4 GiB, execute/read
 * accessed, DPL 0, 32-bit), SS = CS + 8 (read/write accessed, DPL 0,
 * 32-bit); ESP = SYSENTER_ESP, EIP = SYSENTER_EIP; CPL 0. It works from
 * virtual-8086 mode too.
 * SYSEXIT: #GP(0) in real mode, at CPL > 0 (so also in v86 mode) or with
 * SYSENTER_CS[15:2] = 0; CS = (SYSENTER_CS + 16) | 3 and SS =
 * (SYSENTER_CS + 24) | 3, the same flat segments at DPL 3; ESP = ECX,
 * EIP = EDX; CPL 3.
 */
#include "cpu/ops/ops.h"
#include "cpu/seg.h"

#define FLAT_CODE (SA_P | SA_S | SA_CODE | SA_RW | SA_A | SA_DB | SA_G)
#define FLAT_DATA (SA_P | SA_S | SA_RW | SA_A | SA_DB | SA_G)

/* Switch to flat CS/SS at privilege `cpl` (0 or 3), EFLAGS.VM already
 * cleared; the data segments are rechecked, since leaving v86 mode makes
 * them protected-mode segments. */
static void load_flat(struct cpu *c, uint16_t cs, int cpl)
{
    uint16_t dpl = (uint16_t)(cpl << SA_DPL_SHIFT);
    c->cpl = cpl;
    seg_set_cache(c, SEG_CS, cs, 0, 0xffffffffu, FLAT_CODE | dpl);
    seg_set_cache(c, SEG_SS, (uint16_t)(cs + 8), 0, 0xffffffffu, FLAT_DATA | dpl);
    for (int s = 0; s < SEG_COUNT; s++)
        seg_recompute(c, s);
    cpu_update_mode(c);
    cpu_stop(c);
}

HANDLER(sysenter)
{
    (void)i;
    uint16_t cs = (uint16_t)c->sysenter_cs;
    if (!(c->cr0 & CR0_PE) || (cs & 0xfffc) == 0)
        cpu_fault(c, EXC_GP, 0);
    c->eflags &= ~(EFL_VM | EFL_IF | EFL_RF);
    load_flat(c, cs & 0xfffc, 0);
    c->gpr[R_ESP] = c->sysenter_esp;
    c->eip = c->sysenter_eip;
}

HANDLER(sysexit)
{
    (void)i;
    uint16_t cs = (uint16_t)c->sysenter_cs;
    if (!(c->cr0 & CR0_PE) || c->cpl != 0 || (cs & 0xfffc) == 0)
        cpu_fault(c, EXC_GP, 0);
    load_flat(c, (uint16_t)((cs + 16) | 3), 3);
    c->gpr[R_ESP] = (uint32_t)c->gpr[R_ECX];
    c->eip = (uint32_t)c->gpr[R_EDX];
}
