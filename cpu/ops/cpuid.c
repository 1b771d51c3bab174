/*
 * CPUID: Kestrel presents a P6-class GenuineIntel CPU (signature
 * CPU_SIGNATURE, a Pentium II) whose feature flags list exactly what the
 * emulator implements: FPU DE PSE TSC MSR PAE CX8 SEP MTRR PGE CMOV PAT
 * PSE36 MMX, and APIC while IA32_APIC_BASE keeps the local APIC globally
 * enabled (SDM Vol. 3A 10.4.3: clearing the enable also clears the CPUID
 * flag). Not VME (no virtual-8086 extensions), not MCE/MCA, not FXSR/SSE.
 * CR4 refuses the bits of the features left out (cpu/ops/sysreg.c). Leaf
 * 1 EBX[31:24] is the initial APIC ID the board gave this CPU.
 *
 * Leaves: 0 (maximum basic leaf 2 and the vendor), 1 (signature and
 * features), 2 (the Pentium II's cache and TLB descriptors), and the
 * extended leaves 0x80000000-0x80000008, needed because NX (EFER.NXE) is
 * reported in 0x80000001 EDX; they also carry a brand string, the L2
 * cache and the address sizes (36 physical, 32 linear). As on Intel
 * CPUs, a leaf above the maximum of its range returns the highest basic
 * leaf's data.
 */
#include "cpu/cpu_model.h"
#include "cpu/ops/ops.h"
#include "cpu/sysregs.h"

#define CPUID_MAX_BASIC 2u
#define CPUID_MAX_EXT 0x80000008u

enum {
    F_FPU = 1u << 0, F_DE = 1u << 2, F_PSE = 1u << 3, F_TSC = 1u << 4, F_MSR = 1u << 5, F_PAE = 1u << 6,
    F_CX8 = 1u << 8, F_SEP = 1u << 11, F_MTRR = 1u << 12, F_PGE = 1u << 13, F_CMOV = 1u << 15,
    F_PAT = 1u << 16, F_PSE36 = 1u << 17, F_MMX = 1u << 23, F_APIC = 1u << 9,
};
#define FEATURES_EDX                                                                                                   \
    (F_FPU | F_DE | F_PSE | F_TSC | F_MSR | F_PAE | F_CX8 | F_SEP | F_MTRR | F_PGE | F_CMOV | F_PAT | F_PSE36 | F_MMX)
#define EXT_NX (1u << 20)

/* 48 bytes, NUL-padded. */
static const char brand[48] = "Kestrel P6-class virtual CPU";

static uint32_t str4(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 | (uint32_t)(uint8_t)s[2] << 16 |
           (uint32_t)(uint8_t)s[3] << 24;
}

static void cpuid_leaf(const struct cpu *c, uint32_t leaf, uint32_t r[4])
{
    r[0] = r[1] = r[2] = r[3] = 0;
    if (leaf >= 0x80000000u ? leaf > CPUID_MAX_EXT : leaf > CPUID_MAX_BASIC)
        leaf = CPUID_MAX_BASIC;
    switch (leaf) {
    case 0:
        r[0] = CPUID_MAX_BASIC;
        r[1] = str4("Genu"), r[3] = str4("ineI"), r[2] = str4("ntel");
        break;
    case 1:
        r[0] = CPU_SIGNATURE;
        r[1] = (uint32_t)c->apic_id << 24; /* brand index 0, no CLFLUSH, one logical processor */
        r[3] = FEATURES_EDX | (c->apic_base & (1u << 11) ? F_APIC : 0);
        break;
    case 2:
        /* One iteration: ITLB 4K 32 entries (01), ITLB 4M (02), DTLB 4K
         * 64 entries (03); L2 512K 4-way 32-byte lines (43), L1I 16K (08),
         * DTLB 4M (04), L1D 16K (0c). */
        r[0] = 0x03020101u;
        r[3] = 0x0c040843u;
        break;
    case 0x80000000u:
        r[0] = CPUID_MAX_EXT;
        break;
    case 0x80000001u:
        if (!(c->misc_enable & MISC_XD_DISABLE))
            r[3] = EXT_NX;
        break;
    case 0x80000002u:
    case 0x80000003u:
    case 0x80000004u:
        for (int k = 0; k < 4; k++)
            r[k] = str4(brand + 16 * (leaf - 0x80000002u) + 4 * k);
        break;
    case 0x80000006u:
        r[2] = 512u << 16 | 0x4u << 12 | 32; /* L2: 512 KiB, 4-way, 32-byte lines */
        break;
    case 0x80000008u:
        r[0] = 32u << 8 | 36; /* linear and physical address bits */
        break;
    default: /* 0x80000005, 0x80000007: reserved on Intel */
        break;
    }
}

HANDLER(cpuid)
{
    (void)i;
    uint32_t r[4];
    cpuid_leaf(c, (uint32_t)c->gpr[R_EAX], r);
    c->gpr[R_EAX] = r[0];
    c->gpr[R_EBX] = r[1];
    c->gpr[R_ECX] = r[2];
    c->gpr[R_EDX] = r[3];
}

int cpu_cpuid_leaves(const struct cpu *c, struct cpuid_leaf *out, int max)
{
    static const uint32_t first[2] = { 0, 0x80000000u }, last[2] = { CPUID_MAX_BASIC, CPUID_MAX_EXT };
    int n = 0;
    for (int range = 0; range < 2; range++) {
        for (uint32_t leaf = first[range]; leaf <= last[range] && n < max; leaf++) {
            uint32_t r[4];
            cpuid_leaf(c, leaf, r);
            out[n++] = (struct cpuid_leaf){ leaf, r[0], r[1], r[2], r[3] };
        }
    }
    return n;
}
