/*
 * CPU lifecycle (init, reset to the architectural power-on state), EFLAGS
 * assembly from lazy flags, the mode word, and the interrupt inputs.
 */
#include "cpu/cpu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/flags.h"
#include "cpu/seg.h"
#include "cpu/sysregs.h"
#include "cpu/x87/fpu.h"

#define BLOCK_ARENA_SIZE (32u << 20)
#define EFLAGS_VALID 0x3f7fd5u

int cpu_init(struct cpu *c, struct phys *mem, const struct cpu_env *env)
{
    memset(c, 0, sizeof(*c));
    c->mem = mem;
    c->env = *env;
    c->max_block_insns = 64;
    mmu_init(&c->mmu);
    c->mmu.phys_gen = mem->gen;
    c->cache = blkcache_new(c, mem, BLOCK_ARENA_SIZE);
    c->scratch = calloc(1, sizeof(struct block) + sizeof(struct insn));
    if (!c->cache || !c->scratch) {
        cpu_free(c);
        return -ENOMEM;
    }
    cpu_reset(c);
    return 0;
}

void cpu_free(struct cpu *c)
{
    blkcache_free(c->cache);
    free(c->scratch);
    c->cache = NULL;
    c->scratch = NULL;
}

void cpu_reset(struct cpu *c)
{
    memset(c->gpr, 0, sizeof(c->gpr));
    c->gpr[R_EDX] = CPU_SIGNATURE;
    c->eflags = EFL_1;
    lf_set(c, 0);
    c->cr0 = CR0_CD | CR0_NW | CR0_ET;
    c->cr2 = c->cr3 = c->cr4 = 0;
    c->efer = 0;
    memset(c->dr, 0, sizeof(c->dr));
    c->dr[6] = 0xffff0ff0u;
    c->dr[7] = 0x400;
    c->cpl = 0;
    c->halted = c->inhibit_irq = c->nmi_pending = c->init_pending = 0;
    c->gdtr = (struct dtr){ 0, 0xffff };
    c->idtr = (struct dtr){ 0, 0xffff };
    c->sysenter_cs = c->sysenter_esp = c->sysenter_eip = 0;
    c->tsc_offset = 0;
    c->apic_base = 0xfee00000u | (1u << 11) | (1u << 8); /* enabled, bootstrap processor */
    c->pat = 0x0007040600070406ull;
    sys_reset(c); /* the other MSRs and the breakpoint state */
    c->deliv_vector = -1;
    c->nmi_blocked = 0;
    for (int s = 0; s < SEG_COUNT; s++)
        c->seg[s] = (struct seg){ .limit = 0xffff, .attr = SA_P | SA_S | SA_RW | SA_A };
    c->seg[SEG_LDTR].attr = SA_P | 0x2;
    c->seg[SEG_TR].attr = SA_P | 0xb;
    c->seg[SEG_CS].sel = 0xf000;
    c->seg[SEG_CS].base = 0xffff0000u;
    c->seg[SEG_CS].attr |= SA_CODE;
    for (int s = 0; s < SEG_COUNT; s++)
        seg_recompute(c, s);
    c->eip = 0xfff0;
    fpu_reset(&c->fpu);
    mmu_set_paging(&c->mmu, c->mem, c->cr0, c->cr3, c->cr4, c->efer);
    if (c->cache)
        blkcache_flush(c->cache);
    cpu_update_mode(c);
}

uint32_t cpu_get_eflags(const struct cpu *c)
{
    return (c->eflags & ~EFL_ARITH) | lf_get(c) | EFL_1;
}

void cpu_set_eflags(struct cpu *c, uint32_t val, uint32_t mask)
{
    uint32_t old = cpu_get_eflags(c);
    uint32_t n = ((old & ~mask) | (val & mask)) & EFLAGS_VALID;
    lf_set(c, n & EFL_ARITH);
    c->eflags = (n & ~EFL_ARITH) | EFL_1;
    if ((old ^ n) & EFL_VM) {
        if (n & EFL_VM)
            c->cpl = 3;
        for (int s = 0; s < SEG_COUNT; s++)
            seg_recompute(c, s);
        cpu_update_mode(c);
    }
}

void cpu_update_mode(struct cpu *c)
{
    uint32_t m = 0;
    if (c->seg[SEG_CS].attr & SA_DB)
        m |= MODE_CS32;
    if (c->seg[SEG_SS].attr & SA_DB)
        m |= MODE_SS32;
    if (c->cr0 & CR0_PE)
        m |= MODE_PE;
    if (c->eflags & EFL_VM) {
        m |= MODE_VM86;
        m &= ~(MODE_CS32 | MODE_SS32);
    }
    if (c->cr0 & CR0_PG)
        m |= MODE_PG;
    m |= (uint32_t)c->cpl << MODE_CPL_SHIFT;
    for (int s = SEG_ES; s <= SEG_GS; s++)
        if (seg_is_flat(&c->seg[s]))
            m |= MODE_FLAT(s);
    c->mode = m;
    cpu_ctx_bump(c);
    c->tlb = c->mmu.tlb[c->cpl == 3 ? MMU_USER : MMU_SUP];
}

void cpu_set_flat32(struct cpu *c)
{
    c->cr0 |= CR0_PE;
    c->cpl = 0;
    c->eflags = EFL_1;
    lf_set(c, 0);
    const uint16_t code = SA_P | SA_S | SA_CODE | SA_RW | SA_A | SA_DB | SA_G;
    const uint16_t data = SA_P | SA_S | SA_RW | SA_A | SA_DB | SA_G;
    seg_set_cache(c, SEG_CS, 0x08, 0, 0xffffffffu, code);
    for (int s = 0; s < SEG_COUNT; s++)
        if (s != SEG_CS && s < SEG_LDTR)
            seg_set_cache(c, s, 0x10, 0, 0xffffffffu, data);
    cpu_update_mode(c);
}

_Noreturn void cpu_fault(struct cpu *c, int vector, int errcode)
{
    c->exc_vector = vector;
    c->exc_code = errcode;
    longjmp(c->jb, 1);
}

void cpu_set_irq(struct cpu *c, int level)
{
    c->irq_line = level != 0;
    if (level) {
        cpu_event(c);
        cpu_stop(c);
    }
}

void cpu_raise_nmi(struct cpu *c)
{
    c->nmi_pending = 1;
    cpu_event(c);
    cpu_stop(c);
}

void cpu_raise_init(struct cpu *c)
{
    c->init_pending = 1;
    cpu_event(c);
    cpu_stop(c);
}

void cpu_init_signal(struct cpu *c)
{
    /* What INIT leaves alone: the MSRs (APIC base, SYSENTER, TSC, PAT,
     * MTRRs, MISC_ENABLE, performance counters, EFER), x87 state, CD/NW. */
    uint32_t cache_bits = c->cr0 & (CR0_CD | CR0_NW);
    uint32_t sysenter[3] = { c->sysenter_cs, c->sysenter_esp, c->sysenter_eip };
    uint64_t tsc_offset = c->tsc_offset, apic_base = c->apic_base, pat = c->pat, efer = c->efer;
    uint64_t def_type = c->mtrr_def_type, misc = c->misc_enable, fixed[11], var[16], evtsel[2], ctr[2];
    memcpy(fixed, c->mtrr_fixed, sizeof(fixed));
    memcpy(var, c->mtrr_var, sizeof(var));
    memcpy(evtsel, c->perfevtsel, sizeof(evtsel));
    memcpy(ctr, c->perfctr, sizeof(ctr));
    struct fpu fpu = c->fpu;

    cpu_reset(c);
    c->cr0 = (c->cr0 & ~(CR0_CD | CR0_NW)) | cache_bits;
    c->sysenter_cs = sysenter[0], c->sysenter_esp = sysenter[1], c->sysenter_eip = sysenter[2];
    c->tsc_offset = tsc_offset;
    c->apic_base = apic_base;
    c->pat = pat;
    c->efer = efer;
    c->mtrr_def_type = def_type;
    c->misc_enable = misc;
    memcpy(c->mtrr_fixed, fixed, sizeof(fixed));
    memcpy(c->mtrr_var, var, sizeof(var));
    memcpy(c->perfevtsel, evtsel, sizeof(evtsel));
    memcpy(c->perfctr, ctr, sizeof(ctr));
    c->fpu = fpu;
    mmu_set_paging(&c->mmu, c->mem, c->cr0, c->cr3, c->cr4, c->efer);
}

void cpu_request_exit(struct cpu *c)
{
    c->exit_request = 1;
    cpu_event(c);
    cpu_stop(c);
}

void cpu_logf(struct cpu *c, const char *fmt, ...)
{
    if (!c->env.log)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->env.log(c->env.ctx, buf);
}
