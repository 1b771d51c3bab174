/*
 * Kestrel's CPU model as data, for accelerators that run guest code on
 * something other than the interpreter (vm/kvm/): the CPUID leaves the
 * CPUID instruction answers and the MSR file behind RDMSR/WRMSR. Both are
 * the very functions the interpreter's handlers use (cpu/ops/cpuid.c,
 * cpu/ops/msr.c), so a guest sees one CPU whichever accelerator runs it.
 */
#ifndef KESTREL_CPU_MODEL_H
#define KESTREL_CPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* One CPUID leaf (no leaf of this CPU has subleaves). */
struct cpuid_leaf {
    uint32_t leaf;
    uint32_t eax, ebx, ecx, edx;
};

/* Enough for every leaf the model reports (basic and extended ranges). */
#define CPUID_MAX_LEAVES 16

/* The leaves of both ranges in order, as CPUID reports them for `c` now
 * (the APIC flag and NX follow IA32_APIC_BASE and MISC_ENABLE). Leaves
 * above a range's maximum are not listed: they answer like the highest
 * basic leaf. Returns the number written (at most `max`). */
int cpu_cpuid_leaves(const struct cpu *c, struct cpuid_leaf *out, int max);

/* RDMSR/WRMSR through the model without the CPL check: false means the
 * MSR does not exist or the value is invalid (the guest gets #GP(0)), and
 * then nothing changed. A write has the model's side effects (the local
 * APIC moves on an IA32_APIC_BASE write). */
bool cpu_msr_read(struct cpu *c, uint32_t msr, uint64_t *val);
bool cpu_msr_write(struct cpu *c, uint32_t msr, uint64_t val);

#endif
