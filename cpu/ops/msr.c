/*
 * Model-specific registers (RDMSR, WRMSR), the time-stamp counter (RDTSC)
 * and the performance counters (RDPMC) of Kestrel's P6-class CPU.
 *
 * The MSRs are those of a Pentium II as far as CPUID reports its features
 * (cpu/ops/cpuid.c), plus EFER for NX and the few that Linux probes on any
 * family-6 Intel CPU. Anything else, or a write that sets a reserved bit
 * or an invalid memory type, is #GP(0), so a guest's rdmsr_safe() probes
 * see exactly what exists:
 *   TSC, PLATFORM_ID (read-only), APIC_BASE, BIOS_UPDT_TRIG (write-only,
 *   ignored), BIOS_SIGN_ID, PERFCTR0/1 and PERFEVTSEL0/1 (kept, but the
 *   counters do not count), MTRRcap (read-only), SYSENTER_CS/ESP/EIP,
 *   MCG_CAP (no banks) and MCG_STATUS, MISC_ENABLE, DEBUGCTL (only 0:
 *   LBR and BTF are not implemented), the variable and fixed MTRRs,
 *   MTRRdefType, PAT, and EFER with NXE only (LME is refused: there is no
 *   long mode).
 * The TSC runs at 1 GHz of the board's virtual clock: TSC = clock (ns) +
 * tsc_offset, and writing it moves the offset.
 */
#include "cpu/cpu_model.h"
#include "cpu/ops/ops.h"
#include "cpu/sysregs.h"

enum {
    MSR_TSC = 0x10, MSR_PLATFORM_ID = 0x17, MSR_APIC_BASE = 0x1b, MSR_BIOS_UPDT_TRIG = 0x79,
    MSR_BIOS_SIGN_ID = 0x8b, MSR_PERFCTR0 = 0xc1, MSR_PERFCTR1 = 0xc2, MSR_MTRRCAP = 0xfe,
    MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176, MSR_MCG_CAP = 0x179,
    MSR_MCG_STATUS = 0x17a, MSR_PERFEVTSEL0 = 0x186, MSR_PERFEVTSEL1 = 0x187, MSR_MISC_ENABLE = 0x1a0,
    MSR_DEBUGCTL = 0x1d9, MSR_MTRR_PHYS0 = 0x200, MSR_MTRR_FIX64K = 0x250, MSR_MTRR_FIX16K_80000 = 0x258,
    MSR_MTRR_FIX16K_A0000 = 0x259, MSR_MTRR_FIX4K_C0000 = 0x268, MSR_PAT = 0x277, MSR_MTRR_DEF_TYPE = 0x2ff,
    MSR_EFER = 0xc0000080u,
};

#define MTRRCAP_VALUE 0x508ull /* 8 variable ranges, fixed ranges, write-combining */
#define PHYS_MASK 0x0000000ffffff000ull /* address bits 35:12 (MAXPHYADDR 36) */
#define APIC_BSP (1ull << 8)
#define APIC_VALID (APIC_BSP | (1ull << 11) | PHYS_MASK)
#define MISC_FAST_STRINGS (1ull << 0)
#define MISC_PERFMON (1ull << 7)     /* read-only: performance monitoring available */
#define MISC_NO_BTS (1ull << 11)     /* read-only: branch trace storage unavailable */
#define MISC_NO_PEBS (1ull << 12)    /* read-only: PEBS unavailable */
#define MISC_WRITABLE (MISC_FAST_STRINGS | (1ull << 3) | (1ull << 22) | (1ull << 23) | MISC_XD_DISABLE)
#define MISC_READONLY (MISC_PERFMON | MISC_NO_BTS | MISC_NO_PEBS)
#define MISC_RESET (MISC_FAST_STRINGS | MISC_READONLY)
#define PERFCTR_MASK 0xffffffffffull /* 40-bit counters */

uint64_t cpu_tsc(struct cpu *c)
{
    uint64_t now = c->env.clock ? c->env.clock(c->env.ctx) : c->icount;
    return now + c->tsc_offset;
}

void sys_reset(struct cpu *c)
{
    c->mtrr_def_type = 0;
    memset(c->mtrr_fixed, 0, sizeof(c->mtrr_fixed));
    memset(c->mtrr_var, 0, sizeof(c->mtrr_var));
    c->misc_enable = MISC_RESET;
    memset(c->perfevtsel, 0, sizeof(c->perfevtsel));
    memset(c->perfctr, 0, sizeof(c->perfctr));
    dbg_update(c);
}

/* Memory types valid in MTRRs (UC WC WT WP WB) and in the PAT (also UC-). */
static bool mtrr_type_ok(unsigned t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }
static bool pat_type_ok(unsigned t) { return mtrr_type_ok(t) || t == 7; }

static bool all_bytes(uint64_t v, bool (*ok)(unsigned))
{
    for (int k = 0; k < 8; k++)
        if (!ok((v >> (8 * k)) & 0xff))
            return false;
    return true;
}

/* Index into mtrr_fixed[] of a fixed-range MTRR, or -1. */
static int fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K)
        return 0;
    if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
        return 1 + (int)(msr - MSR_MTRR_FIX16K_80000);
    if (msr >= MSR_MTRR_FIX4K_C0000 && msr < MSR_MTRR_FIX4K_C0000 + 8)
        return 3 + (int)(msr - MSR_MTRR_FIX4K_C0000);
    return -1;
}

static bool nx_available(const struct cpu *c) { return !(c->misc_enable & MISC_XD_DISABLE); }

/* Read an MSR into *val; false when it does not exist (#GP). */
static bool msr_read(struct cpu *c, uint32_t msr, uint64_t *val)
{
    int fx = fixed_index(msr);
    if (fx >= 0) {
        *val = c->mtrr_fixed[fx];
        return true;
    }
    if (msr >= MSR_MTRR_PHYS0 && msr < MSR_MTRR_PHYS0 + 16) {
        *val = c->mtrr_var[msr - MSR_MTRR_PHYS0];
        return true;
    }
    switch (msr) {
    case MSR_TSC: *val = cpu_tsc(c); return true;
    case MSR_PLATFORM_ID: *val = 0; return true;
    case MSR_APIC_BASE: *val = c->apic_base; return true;
    case MSR_BIOS_SIGN_ID: *val = 0; return true; /* no microcode update loaded */
    case MSR_PERFCTR0: case MSR_PERFCTR1: *val = c->perfctr[msr - MSR_PERFCTR0]; return true;
    case MSR_MTRRCAP: *val = MTRRCAP_VALUE; return true;
    case MSR_SYSENTER_CS: *val = c->sysenter_cs; return true;
    case MSR_SYSENTER_ESP: *val = c->sysenter_esp; return true;
    case MSR_SYSENTER_EIP: *val = c->sysenter_eip; return true;
    case MSR_MCG_CAP: *val = 0; return true;    /* no banks, no MCG_CTL */
    case MSR_MCG_STATUS: *val = 0; return true; /* no machine check is ever in progress */
    case MSR_PERFEVTSEL0: case MSR_PERFEVTSEL1: *val = c->perfevtsel[msr - MSR_PERFEVTSEL0]; return true;
    case MSR_MISC_ENABLE: *val = c->misc_enable; return true;
    case MSR_DEBUGCTL: *val = 0; return true;
    case MSR_PAT: *val = c->pat; return true;
    case MSR_MTRR_DEF_TYPE: *val = c->mtrr_def_type; return true;
    case MSR_EFER: if (!nx_available(c)) return false; *val = c->efer; return true;
    default: return false;
    }
}

/* Write an MSR; false for a missing MSR or a reserved/invalid value (#GP).
 * Nothing changes on failure. */
static bool msr_write(struct cpu *c, uint32_t msr, uint64_t val)
{
    int fx = fixed_index(msr);
    if (fx >= 0) {
        if (!all_bytes(val, mtrr_type_ok))
            return false;
        c->mtrr_fixed[fx] = val;
        return true;
    }
    if (msr >= MSR_MTRR_PHYS0 && msr < MSR_MTRR_PHYS0 + 16) {
        bool base = !(msr & 1);
        if (base ? ((val & ~(PHYS_MASK | 0xff)) || !mtrr_type_ok(val & 0xff)) : (val & ~(PHYS_MASK | 0x800)))
            return false;
        c->mtrr_var[msr - MSR_MTRR_PHYS0] = val;
        return true;
    }
    switch (msr) {
    case MSR_TSC:
        c->tsc_offset += val - cpu_tsc(c);
        return true;
    case MSR_APIC_BASE:
        if (val & ~APIC_VALID)
            return false;
        c->apic_base = (val & ~APIC_BSP) | (c->apic_base & APIC_BSP); /* BSP is read-only */
        if (c->env.apic_base)
            c->env.apic_base(c->env.ctx, c->apic_base); /* the local APIC moves or turns off */
        return true;
    case MSR_BIOS_UPDT_TRIG:
    case MSR_BIOS_SIGN_ID:
        return true; /* an update attempt changes nothing; writing the signature clears it */
    case MSR_PERFCTR0: case MSR_PERFCTR1:
        /* P6: the low 32 bits are written and sign-extended to 40. */
        c->perfctr[msr - MSR_PERFCTR0] = (uint64_t)(int64_t)(int32_t)val & PERFCTR_MASK;
        return true;
    case MSR_SYSENTER_CS: c->sysenter_cs = (uint32_t)val; return true;
    case MSR_SYSENTER_ESP: c->sysenter_esp = (uint32_t)val; return true;
    case MSR_SYSENTER_EIP: c->sysenter_eip = (uint32_t)val; return true;
    case MSR_MCG_STATUS:
        return val == 0;
    case MSR_PERFEVTSEL0: case MSR_PERFEVTSEL1:
        if (val >> 32)
            return false;
        c->perfevtsel[msr - MSR_PERFEVTSEL0] = val;
        return true;
    case MSR_MISC_ENABLE:
        if (val & ~(MISC_WRITABLE | MISC_READONLY))
            return false;
        c->misc_enable = (val & MISC_WRITABLE) | (c->misc_enable & MISC_READONLY);
        return true;
    case MSR_DEBUGCTL:
        return val == 0;
    case MSR_PAT:
        if (!all_bytes(val, pat_type_ok))
            return false;
        c->pat = val;
        return true;
    case MSR_MTRR_DEF_TYPE:
        if ((val & ~0xcffull) || !mtrr_type_ok(val & 0xff))
            return false;
        c->mtrr_def_type = val;
        return true;
    case MSR_EFER:
        if (!nx_available(c) || (val & ~(uint64_t)EFER_NXE))
            return false; /* LME, SCE and the rest: not this CPU */
        if ((val ^ c->efer) & EFER_NXE) {
            /* NXE only changes how entries are read: no PDPTE reload. */
            c->mmu.nxe = val & EFER_NXE;
            cpu_tlb_flush(c);
        }
        c->efer = val;
        return true;
    default:
        return false;
    }
}

static inline void need_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
}

HANDLER(rdmsr)
{
    (void)i;
    need_cpl0(c);
    uint64_t v;
    if (!msr_read(c, (uint32_t)c->gpr[R_ECX], &v))
        cpu_fault(c, EXC_GP, 0);
    c->gpr[R_EAX] = (uint32_t)v;
    c->gpr[R_EDX] = (uint32_t)(v >> 32);
}

HANDLER(wrmsr)
{
    (void)i;
    need_cpl0(c);
    uint64_t v = (uint32_t)c->gpr[R_EAX] | c->gpr[R_EDX] << 32;
    if (!msr_write(c, (uint32_t)c->gpr[R_ECX], v))
        cpu_fault(c, EXC_GP, 0);
    cpu_stop(c);
}

/* RDTSC: #GP at CPL > 0 with CR4.TSD (in v86 mode CPL is 3). */
HANDLER(rdtsc)
{
    (void)i;
    if ((c->cr4 & CR4_TSD) && c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
    uint64_t t = cpu_tsc(c);
    c->gpr[R_EAX] = (uint32_t)t;
    c->gpr[R_EDX] = (uint32_t)(t >> 32);
}

/* RDPMC: counters 0 and 1 (P6); CPL > 0 needs CR4.PCE. */
HANDLER(rdpmc)
{
    (void)i;
    if (!(c->cr4 & CR4_PCE) && c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
    uint32_t n = (uint32_t)c->gpr[R_ECX];
    if (n > 1)
        cpu_fault(c, EXC_GP, 0);
    c->gpr[R_EAX] = (uint32_t)c->perfctr[n];
    c->gpr[R_EDX] = (uint32_t)(c->perfctr[n] >> 32);
}

bool cpu_msr_read(struct cpu *c, uint32_t msr, uint64_t *val)
{
    return msr_read(c, msr, val);
}

bool cpu_msr_write(struct cpu *c, uint32_t msr, uint64_t val)
{
    return msr_write(c, msr, val);
}
