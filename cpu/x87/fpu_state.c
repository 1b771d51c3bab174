/*
 * x87 state management shared by every x87 and MMX handler: power-on and
 * FNINIT state, the tag word as stored, the entry checks (#NM, pending
 * #MF), exception reporting with ES/B and the FERR# output, stack faults,
 * and the commit of a result.
 *
 * FERR#: the P6 asserts FERR# when an instruction completes with an
 * unmasked exception (SDM Vol. 3, "Assertion of the FERR# pin"); a PC
 * routes it to IRQ13 for MS-DOS-compatible error reporting (CR0.NE=0).
 * We report the level ES && !CR0.NE through cpu_env.ferr whenever it
 * changes, and end the block when it rises so the interrupt is taken
 * before the next instruction, where real hardware would freeze at the
 * next waiting instruction until it arrives. The freeze itself is not
 * modelled: a waiting instruction that finds ES set with CR0.NE=0 runs
 * (as if IGNNE# were asserted).
 */
#include <string.h>

#include "cpu/x87/fpu_ops.h"

void fpu_reset(struct fpu *f)
{
    memset(f, 0, sizeof(*f));
    f->cw = 0x0040;
    f->tw = 0; /* every register present (+0.0) */
}

void fpu_init(struct fpu *f)
{
    f->cw = 0x037f;
    f->sw = 0;
    f->top = 0;
    f->tw = 0xff; /* all empty */
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

uint16_t fpu_full_tags(const struct fpu *f)
{
    uint16_t tw = 0;
    for (int p = 0; p < 8; p++) {
        unsigned t = fpu_phys_empty(f, p) ? 3 : (unsigned)sf_tag(f->st[p]);
        tw |= (uint16_t)(t << (2 * p));
    }
    return tw;
}

void fpu_set_tags(struct fpu *f, int top, uint16_t tags)
{
    f->top = (uint8_t)(top & 7);
    f->tw = 0;
    for (int p = 0; p < 8; p++)
        if (((tags >> (2 * p)) & 3) == 3)
            f->tw |= (uint16_t)(1u << ((p - f->top) & 7));
}

void fpu_update_ferr(struct cpu *c)
{
    uint8_t level = (c->fpu.sw & FSW_ES) && !(c->cr0 & CR0_NE);
    if (level == c->fpu.ferr)
        return;
    c->fpu.ferr = level;
    if (c->env.ferr)
        c->env.ferr(c->env.ctx, level);
    if (level)
        cpu_stop(c); /* let the interrupt in before the next instruction */
}

void fpu_enter_nowait(struct cpu *c)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        cpu_fault(c, EXC_NM, NO_ERRCODE);
}

void fpu_enter_slow(struct cpu *c)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        cpu_fault(c, EXC_NM, NO_ERRCODE);
    if (c->fpu.sw & FSW_ES) {
        if (c->cr0 & CR0_NE)
            cpu_fault(c, EXC_MF, NO_ERRCODE);
        fpu_update_ferr(c);
    }
}

void fpu_unmasked(struct cpu *c)
{
    c->fpu.sw |= FSW_ES | FSW_B;
    fpu_update_ferr(c);
}

bool fpu_stack_underflow(struct cpu *c)
{
    fpu_raise(c, FSW_IE | FSW_SF, FSW_C1, 0);
    return c->fpu.cw & FSW_IE;
}

bool fpu_stack_overflow(struct cpu *c)
{
    fpu_raise(c, FSW_IE | FSW_SF, FSW_C1, FSW_C1);
    return c->fpu.cw & FSW_IE;
}

void fpu_result(struct cpu *c, int dst, struct f80 r, const struct sf_env *e, bool pop)
{
    if (!sf_blocked(e)) {
        fpu_write(&c->fpu, dst, r);
        if (pop)
            fpu_pop(&c->fpu);
    }
    fpu_raise(c, e->flags, FSW_C1, e->up ? FSW_C1 : 0);
}
