/*
 * System instructions, run as a guest: CPUID, MSRs (round trips, #GP on
 * unknown MSRs and reserved values), RDTSC/RDPMC with CR4.TSD/PCE,
 * SYSENTER/SYSEXIT between ring 0 and ring 3, CR0/CR4 reserved bits and
 * invalid combinations, LMSW/SMSW/CLTS, SGDT/SIDT/LGDT/LIDT with both
 * operand sizes, debug registers (DR4/DR5 aliasing, CR4.DE, general
 * detect, instruction and data breakpoints), and the instructions that
 * are privileged or always fault.
 *
 * Values that depend on the CPU model (CPUID signature, cache
 * descriptors, brand) are checked with CHECK only when the brand string
 * says Kestrel and are not printed, so the printed lines can be compared
 * with QEMU's (see tests/guest/sys/README.md for the differences found).
 */
#include "sys/sysrt.h"

#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PCE (1u << 8)
#define EFL_IF (1u << 9)
#define EFL_RF (1u << 16)

static int kestrel; /* brand string says Kestrel: model-specific values are checked */

/* ---- CPUID ---- */

static void test_cpuid(void)
{
    rt_printf("== cpuid\n");
    uint32_t r[4];
    cpuid(0, r);
    char vendor[13];
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    uint32_t max = r[0];
    rt_printf("vendor %s, leaf 1 and 2 present: %s\n", vendor, max >= 2 ? "yes" : "no");
    cpuid(1, r);
    rt_printf("family %u\n", (r[0] >> 8) & 0xf);
    static const struct { int bit; const char *name; } f[] = {
        { 0, "fpu" }, { 2, "de" }, { 3, "pse" }, { 4, "tsc" }, { 5, "msr" }, { 6, "pae" }, { 8, "cx8" },
        { 11, "sep" }, { 12, "mtrr" }, { 13, "pge" }, { 15, "cmov" }, { 16, "pat" }, { 17, "pse36" }, { 23, "mmx" },
    };
    rt_printf("features:");
    for (unsigned k = 0; k < sizeof(f) / sizeof(f[0]); k++)
        rt_printf(" %s=%u", f[k].name, (r[3] >> f[k].bit) & 1);
    rt_putc('\n');

    cpuid(0x80000000u, r);
    uint32_t xmax = r[0];
    char brand[49] = { 0 };
    if (xmax >= 0x80000004u && xmax < 0x8000ffffu)
        for (uint32_t l = 0; l < 3; l++) {
            cpuid(0x80000002u + l, r);
            memcpy(brand + 16 * l, r, 16);
        }
    kestrel = memcmp(brand, "Kestrel", 7) == 0;
    if (!kestrel)
        return;
    /* The model Kestrel presents (cpu/ops/cpuid.c): exact values. */
    cpuid(0, r);
    CHECK(r[0] == 2, "max basic leaf %x", r[0]);
    cpuid(1, r);
    CHECK(r[0] == 0x652 && r[1] == 0 && r[2] == 0, "leaf 1 %x %x %x", r[0], r[1], r[2]);
    CHECK(r[3] == 0x0083bb7d, "leaf 1 edx %x", r[3]); /* with APIC (bit 9) */
    cpuid(2, r);
    CHECK(r[0] == 0x03020101 && r[1] == 0 && r[2] == 0 && r[3] == 0x0c040843, "leaf 2 %x %x", r[0], r[3]);
    cpuid(5, r); /* above the maximum: the highest basic leaf */
    CHECK(r[0] == 0x03020101 && r[3] == 0x0c040843, "leaf 5 %x", r[0]);
    CHECK(xmax == 0x80000008u, "max extended leaf %x", xmax);
    cpuid(0x80000001u, r);
    CHECK(r[3] == 1u << 20 && r[2] == 0, "leaf 80000001 %x %x", r[2], r[3]);
    cpuid(0x80000006u, r);
    CHECK(r[2] == 0x02004020, "leaf 80000006 %x", r[2]);
    cpuid(0x80000008u, r);
    CHECK(r[0] == 0x2024, "leaf 80000008 %x", r[0]);
}

/* ---- MSRs ---- */

static void try_rdmsr(const char *name, uint32_t msr)
{
    TRY(name, "rdmsr", : : "c"(msr) : "eax", "edx", "memory");
}

static void try_wrmsr(const char *name, uint32_t msr, uint64_t v)
{
    TRY(name, "wrmsr", : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static void round_trip(const char *name, uint32_t msr, uint64_t v)
{
    uint64_t old = rdmsr(msr);
    wrmsr(msr, v);
    uint64_t got = rdmsr(msr);
    wrmsr(msr, old);
    rt_printf("%s: wrote %llx read %llx\n", name, (unsigned long long)v, (unsigned long long)got);
}

static uint32_t user_rdmsr(uint32_t msr)
{
    try_rdmsr("  rdmsr at ring 3", msr);
    return 0;
}

static void test_msr(void)
{
    rt_printf("== msr\n");
    round_trip("SYSENTER_CS", 0x174, 0x0000abc8);
    round_trip("SYSENTER_ESP", 0x175, 0x12345678);
    round_trip("SYSENTER_EIP", 0x176, 0x9abcdef0);
    round_trip("PAT", 0x277, 0x0001050600040407ull);
    round_trip("MTRRphysBase0", 0x200, 0x0000000123456006ull);
    round_trip("MTRRphysMask0", 0x201, 0x0000000ffff00800ull);
    round_trip("MTRRfix64K_00000", 0x250, 0x0606060606060606ull);
    round_trip("MTRRdefType", 0x2ff, 0xc06);
    uint64_t cap = rdmsr(0xfe);
    rt_printf("MTRRcap: vcnt=%u fix=%u wc=%u\n", (uint32_t)cap & 0xff, (uint32_t)(cap >> 8) & 1,
              (uint32_t)(cap >> 10) & 1);
    uint64_t t0 = rdmsr(0x10);
    wrmsr(0x10, 0x100000000ull);
    uint64_t t1 = rdmsr(0x10), t2 = rdtsc();
    rt_printf("TSC write 100000000: msr read in range %s, rdtsc agrees %s\n",
              t1 >= 0x100000000ull && t1 < 0x100000000ull + 1000000000ull ? "yes" : "no",
              t2 >= t1 && t2 - t1 < 1000000000ull ? "yes" : "no");
    (void)t0;
    uint64_t efer = rdmsr(0xc0000080u);
    wrmsr(0xc0000080u, efer | (1u << 11));
    rt_printf("EFER.NXE set: efer %llx\n", (unsigned long long)rdmsr(0xc0000080u));
    wrmsr(0xc0000080u, efer);
    rt_printf("#GP cases:\n");
    try_rdmsr("  rdmsr 0x12345 (no such MSR)", 0x12345);
    try_wrmsr("  wrmsr 0x12345 (no such MSR)", 0x12345, 0);
    try_wrmsr("  PAT with type 2 (reserved)", 0x277, 0x0007040600070402ull);
    try_wrmsr("  MTRRphysBase0 with type 3 (reserved)", 0x200, 0x100003);
    try_wrmsr("  MTRRdefType with bit 9 (reserved)", 0x2ff, 0x206);
    try_wrmsr("  MTRRcap (read-only)", 0xfe, 0x508);
    try_wrmsr("  EFER.LME (no long mode)", 0xc0000080u, 1u << 8);
    rt_printf("  PAT after the failed write: %llx\n", (unsigned long long)rdmsr(0x277));
    sys_user_call(user_rdmsr, 0x10);
}

/* ---- Time-stamp and performance counters ---- */

static uint32_t user_rdtsc(uint32_t unused)
{
    (void)unused;
    TRY("  rdtsc at ring 3", "rdtsc", : : : "eax", "edx", "memory");
    return 0;
}

static uint32_t user_rdpmc(uint32_t ctr)
{
    TRY("  rdpmc at ring 3", "rdpmc", : : "c"(ctr) : "eax", "edx", "memory");
    return 0;
}

static void test_counters(void)
{
    rt_printf("== rdtsc, rdpmc\n");
    uint64_t prev = rdtsc();
    int mono = 1;
    for (int k = 0; k < 1000; k++) {
        uint64_t t = rdtsc();
        mono &= t >= prev;
        prev = t;
    }
    volatile unsigned sink = 0;
    for (unsigned k = 0; k < 100000; k++)
        sink += k;
    uint64_t later = rdtsc();
    rt_printf("monotonic over 1000 reads: %s, advances across a loop: %s\n", mono ? "yes" : "no",
              later > prev ? "yes" : "no");
    sys_user_call(user_rdtsc, 0);
    write_cr4(read_cr4() | CR4_TSD);
    rt_printf("CR4.TSD=1:\n");
    sys_user_call(user_rdtsc, 0);
    TRY("  rdtsc at ring 0", "rdtsc", : : : "eax", "edx", "memory");
    write_cr4(read_cr4() & ~CR4_TSD);
    rt_printf("CR4.PCE=0:\n");
    sys_user_call(user_rdpmc, 0);
    write_cr4(read_cr4() | CR4_PCE);
    rt_printf("CR4.PCE=1:\n");
    sys_user_call(user_rdpmc, 0);
    write_cr4(read_cr4() & ~CR4_PCE);
}

/* ---- SYSENTER / SYSEXIT ---- */

/* State seen on each side of the transitions (filled by the probes). */
static volatile uint32_t u_cs, u_ss, u_esp, u_eip_ok;
volatile uint32_t k_cs, k_ss, k_esp, k_eflags;
extern char sysenter_probe_entry[];
void sysenter_probe_user(void);
__asm__(".text\n"
        "sysenter_probe_user:\n\t"
        "sti\n\t" /* IF=1 only in STI's shadow: SYSENTER must clear it */
        "sysenter\n"
        "sysenter_probe_entry:\n\t"
        "movl %esp, k_esp\n\t"
        "movw %cs, k_cs\n\t"
        "movw %ss, k_ss\n\t"
        "pushfl\n\t"
        "popl k_eflags\n\t"
        "jmp sys_sysenter_entry\n");

static uint32_t user_probe(uint32_t esp_expected)
{
    uint32_t esp;
    __asm__ volatile("movl %%esp, %0" : "=r"(esp));
    u_cs = read_cs();
    u_ss = read_ss();
    u_esp = (esp & ~0xfffu) == (esp_expected & ~0xfffu);
    return 0x600d;
}

static uint32_t user_sysexit(uint32_t unused)
{
    (void)unused;
    TRY("  sysexit at ring 3", "sysexit", : : : "memory");
    return 0;
}

static void test_sysenter(void)
{
    rt_printf("== sysenter, sysexit\n");
    uint32_t v = sys_user_call(user_probe, (uint32_t)sys_ustack_top);
    rt_printf("ring 3 via SYSEXIT: cs=%x ss=%x, esp from ecx: %s, returned %x through SYSENTER\n", u_cs, u_ss,
              u_esp ? "yes" : "no", v);
    /* SYSENTER lands at SYSENTER_EIP with SYSENTER_ESP, flat ring-0 CS/SS. */
    static uint8_t probe_stack[256] __attribute__((aligned(16)));
    wrmsr(0x175, (uint32_t)(probe_stack + sizeof(probe_stack)));
    wrmsr(0x176, (uint32_t)sysenter_probe_entry);
    sys_user_call((uint32_t(*)(uint32_t))sysenter_probe_user, 0);
    rt_printf("SYSENTER: cs=%x ss=%x, esp=SYSENTER_ESP %s, IF=%u\n", k_cs, k_ss,
              k_esp == (uint32_t)(probe_stack + sizeof(probe_stack)) ? "yes" : "no", (k_eflags >> 9) & 1);
    wrmsr(0x175, (uint32_t)sys_kstack_top);
    wrmsr(0x176, (uint32_t)sys_sysenter_entry);
    rt_printf("#GP cases:\n");
    sys_user_call(user_sysexit, 0);
    wrmsr(0x174, 0);
    TRY("  sysenter with SYSENTER_CS=0", "sysenter", : : : "memory");
    TRY("  sysexit with SYSENTER_CS=0", "sysexit", : : : "memory");
    wrmsr(0x174, 3); /* only bits 15:2 count */
    TRY("  sysexit with SYSENTER_CS=3", "sysexit", : : : "memory");
    wrmsr(0x174, KCODE);
}

/* ---- Control registers ---- */

static uint32_t user_movcr(uint32_t unused)
{
    (void)unused;
    TRY("  mov cr0 to eax at ring 3", "movl %%cr0, %%eax", : : : "eax", "memory");
    TRY("  mov cr4 to eax at ring 3", "movl %%cr4, %%eax", : : : "eax", "memory");
    TRY("  clts at ring 3", "clts", : : : "memory");
    TRY("  lmsw at ring 3", "lmsw %%ax", : : "a"(1) : "memory");
    return 0;
}

static void try_cr4(const char *name, uint32_t v)
{
    TRY(name, "movl %0, %%cr4", : : "r"(v) : "memory");
}

static void test_cr(void)
{
    rt_printf("== control registers\n");
    uint32_t cr0 = read_cr0(), cr4 = read_cr4();
    rt_printf("cr0 pe=%u et=%u pg=%u\n", cr0 & 1, (cr0 >> 4) & 1, cr0 >> 31);
    TRY("PG without PE", "movl %0, %%cr0", : : "r"((cr0 & ~CR0_PE) | CR0_PG) : "memory");
    TRY("NW without CD", "movl %0, %%cr0", : : "r"((cr0 & ~CR0_CD) | CR0_NW) : "memory");
    try_cr4("CR4 bit 12", cr4 | (1u << 12));
    try_cr4("CR4 bit 13", cr4 | (1u << 13));
    try_cr4("CR4 bit 31", cr4 | (1u << 31));
    rt_printf("cr0 and cr4 unchanged: %s\n", read_cr0() == cr0 && read_cr4() == cr4 ? "yes" : "no");
    write_cr0(cr0 & ~CR0_ET);
    rt_printf("clearing ET: et=%u\n", (read_cr0() >> 4) & 1);
    write_cr0(cr0);
    write_cr2(0xdeadb000);
    rt_printf("cr2 %x\n", read_cr2());
    if (kestrel) {
        /* CR4 bits of features this model does not report. */
        static const int no[] = { 0, 1, 6, 9, 10 };
        for (unsigned k = 0; k < sizeof(no) / sizeof(no[0]); k++) {
            int fault = 0;
            sys_clear();
            __asm__ volatile("movl $9f, sys_resume\n\tmovl %0, %%cr4\n9:\n\tmovl $0, sys_resume"
                             : : "r"(cr4 | (1u << no[k])) : "memory");
            fault = sys_fault.count == 1 && sys_fault.vector == 13;
            CHECK(fault, "CR4 bit %d accepted", no[k]);
        }
        write_cr0(cr0 | (1u << 6) | (1u << 17) | (1u << 28));
        CHECK(read_cr0() == cr0, "CR0 reserved bits kept: %x", read_cr0());
        write_cr0(cr0);
    }
    /* MSW */
    write_cr0(cr0 | CR0_MP);
    uint32_t msw;
    __asm__ volatile("lmsw %w0" : : "r"(0u) : "memory");
    uint32_t after0 = read_cr0();
    rt_printf("lmsw 0: pe=%u mp=%u (PE cannot be cleared)\n", after0 & 1, (after0 >> 1) & 1);
    __asm__ volatile("lmsw %w0" : : "r"(CR0_TS | CR0_MP | CR0_EM) : "memory");
    __asm__ volatile("smsw %0" : "=r"(msw));
    uint16_t msw16 = 0;
    __asm__ volatile("smsw %0" : "=m"(msw16));
    rt_printf("lmsw e: msw ts=%u em=%u mp=%u, smsw r32 == cr0: %s, smsw m16 %x\n", (msw >> 3) & 1, (msw >> 2) & 1,
              (msw >> 1) & 1, msw == read_cr0() ? "yes" : "no", msw16 & 0xf);
    __asm__ volatile("clts" : : : "memory");
    rt_printf("clts: ts=%u\n", (read_cr0() >> 3) & 1);
    write_cr0(cr0);
    sys_user_call(user_movcr, 0);
}

/* ---- Descriptor-table registers ---- */

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint32_t base;
};

static void test_dtr(void)
{
    rt_printf("== descriptor-table registers\n");
    struct dtr g0, i0, a, b;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g0), "=m"(i0));
    rt_printf("gdt limit %x, idt limit %x\n", g0.limit, i0.limit);
    /* No segment load and no fault may happen while these are loaded. */
    struct dtr fake = { 0x1234, 0xab345678 };
    memset(&a, 0xcc, sizeof(a));
    memset(&b, 0xcc, sizeof(b));
    __asm__ volatile("lgdtl %2\n\tsgdtl %0\n\tdata16 lgdt %2\n\tsgdtl %1\n\tlgdtl %3"
                     : "=m"(a), "=m"(b)
                     : "m"(fake), "m"(g0)
                     : "memory");
    rt_printf("lgdt o32 ab345678: sgdt %x:%x; lgdt o16: sgdt %x:%x\n", a.limit, a.base, b.limit, b.base);
    memset(&a, 0xcc, sizeof(a));
    memset(&b, 0xcc, sizeof(b));
    __asm__ volatile("lidtl %2\n\tdata16 sidt %0\n\tlidtl %3\n\tsidtl %1"
                     : "=m"(a), "=m"(b)
                     : "m"(fake), "m"(i0)
                     : "memory");
    rt_printf("sidt o16 of ab345678: %x:%x; restored %s\n", a.limit, a.base,
              b.base == i0.base && b.limit == i0.limit ? "yes" : "no");
    /* 0f 01 /2 with mod 3 (XGETBV on CPUs with XSAVE) */
    TRY("lgdt with a register operand", ".byte 0x0f, 0x01, 0xd0", : : : "memory");
}

/* ---- Debug registers ---- */

static uint32_t user_movdr(uint32_t unused)
{
    (void)unused;
    TRY("  mov dr7 to eax at ring 3", "movl %%dr7, %%eax", : : : "eax", "memory");
    return 0;
}

static volatile uint32_t watched[4] __attribute__((aligned(16)));
static volatile int bp_hits;
static volatile uint32_t bp_eip, bp_dr6;

/* Instruction breakpoint handler: note it, set RF so IRET re-runs the
 * instruction without hitting the breakpoint again. */
static int ibp_hook(struct sys_frame *f)
{
    if (f->vector != 1)
        return 0;
    bp_hits++;
    bp_eip = f->eip;
    bp_dr6 = read_dr6();
    f->eflags |= EFL_RF;
    return 1;
}

extern char bp_target[];
uint32_t bp_func(uint32_t x);
__asm__(".text\n"
        "bp_func:\n\t"
        "movl 4(%esp), %eax\n"
        "bp_target:\n\t"
        "addl $1, %eax\n\t"
        "ret\n");

static void test_dr(void)
{
    rt_printf("== debug registers\n");
    write_dr0(0x11111111);
    write_dr1(0x22222222);
    write_dr2(0x33333333);
    write_dr3(0x44444444);
    rt_printf("dr0-3: %x %x %x %x\n", read_dr0(), read_dr1(), read_dr2(), read_dr3());
    write_dr7(0);
    write_dr6(0);
    rt_printf("dr6 after writing 0: %x, dr7 after writing 0: %x\n", read_dr6(), read_dr7());
    uint32_t v5, v4;
    __asm__ volatile("movl %1, %%dr5\n\tmovl %%dr5, %0" : "=r"(v5) : "r"(0x00550000u) : "memory");
    rt_printf("dr5 write/read %x, dr7 %x\n", v5, read_dr7());
    __asm__ volatile("movl %1, %%dr4\n\tmovl %%dr4, %0" : "=r"(v4) : "r"(0x0000000fu) : "memory");
    rt_printf("dr4 write/read %x, dr6 %x\n", v4, read_dr6());
    write_dr7(0);
    write_dr6(0);
    write_cr4(read_cr4() | CR4_DE);
    rt_printf("CR4.DE=1:\n");
    TRY("  mov dr4 to eax", "movl %%dr4, %%eax", : : : "eax", "memory");
    TRY("  mov eax to dr5", "movl %%eax, %%dr5", : : "a"(0) : "memory");
    TRY("  mov dr6 to eax", "movl %%dr6, %%eax", : : : "eax", "memory");
    write_cr4(read_cr4() & ~CR4_DE);
    sys_user_call(user_movdr, 0);

    /* General detect: the next debug-register access is a #DB fault. */
    write_dr7(1u << 13);
    TRY("DR7.GD then mov dr0", "movl %%dr0, %%eax", : : : "eax", "memory");
    rt_printf("  dr6 bd=%u, dr7 gd=%u afterwards\n", (sys_fault.dr6 >> 13) & 1, (read_dr7() >> 13) & 1);
    write_dr6(0);

    /* Instruction breakpoint: a fault before the instruction, once. */
    sys_hook = ibp_hook;
    bp_hits = 0;
    write_dr0((uint32_t)bp_target);
    write_dr7(0x1); /* L0, execute, length 1 */
    uint32_t r = bp_func(41);
    write_dr7(0);
    sys_hook = 0;
    rt_printf("instruction breakpoint: %d hit(s), at target %s, dr6 b0=%u, result %u\n", bp_hits,
              bp_eip == (uint32_t)bp_target ? "yes" : "no", bp_dr6 & 1, r);
    r = bp_func(1);
    rt_printf("disabled: %u hit(s), result %u\n", bp_hits - 1, r);
    write_dr6(0);

    /* Data breakpoints: traps after the access. */
    write_dr1((uint32_t)&watched[1]);
    write_dr7(0x4 | (0x1u << 20) | (0x3u << 22)); /* L1, write, 4 bytes */
    uint32_t x = 0;
    TRY("write breakpoint, write", "movl $5, (%0)", : : "r"(&watched[1]) : "memory");
    rt_printf("  dr6 b=%x\n", sys_fault.dr6 & 0xf);
    TRY("write breakpoint, read", "movl (%1), %0", : "+r"(x) : "r"(&watched[1]) : "memory");
    TRY("write breakpoint, write next dword", "movl $5, (%0)", : : "r"(&watched[2]) : "memory");
    TRY("write breakpoint, 2-byte write overlapping", "movw $5, (%0)", : : "r"((uint8_t *)&watched[1] + 3)
        : "memory");
    write_dr6(0);
    write_dr7(0x4 | (0x3u << 20) | (0x1u << 22)); /* L1, read/write, 2 bytes */
    TRY("read/write breakpoint, read", "movl (%1), %0", : "+r"(x) : "r"(&watched[1]) : "memory");
    rt_printf("  dr6 b=%x\n", sys_fault.dr6 & 0xf);
    TRY("read/write breakpoint, read of bytes 2-3", "movw 2(%1), %w0", : "+r"(x) : "r"(&watched[1]) : "memory");
    write_dr7(0);
    write_dr6(0);
    TRY("disabled, write", "movl $6, (%0)", : : "r"(&watched[1]) : "memory");
    rt_printf("watched[1] = %u\n", watched[1]);
}

/* ---- Privileged and faulting instructions ---- */

static uint32_t user_priv(uint32_t unused)
{
    (void)unused;
    TRY("  invd at ring 3", "invd", : : : "memory");
    TRY("  wbinvd at ring 3", "wbinvd", : : : "memory");
    TRY("  invlpg at ring 3", "invlpg (%0)", : : "r"(&watched) : "memory");
    TRY("  lgdt at ring 3", "lgdt (%0)", : : "r"(&watched) : "memory");
    TRY("  lidt at ring 3", "lidt (%0)", : : "r"(&watched) : "memory");
    TRY("  sgdt at ring 3", "sgdt (%0)", : : "r"(&watched) : "memory");
    TRY("  smsw at ring 3", "smsw %%ax", : : : "eax", "memory");
    return 0;
}

static void test_misc(void)
{
    rt_printf("== other instructions\n");
    TRY("invd", "invd", : : : "memory");
    TRY("wbinvd", "wbinvd", : : : "memory");
    TRY("invlpg", "invlpg (%0)", : : "r"(&watched) : "memory");
    TRY("ud2", "ud2", : : : "memory");
    TRY("ud1", ".byte 0x0f, 0xb9, 0xc0", : : : "memory");
    TRY("rsm", "rsm", : : : "memory");
    sys_user_call(user_priv, 0);
}

int main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    sys_init();
    test_cpuid();
    test_msr();
    test_counters();
    test_sysenter();
    test_cr();
    test_dtr();
    test_dr();
    test_misc();
    return rt_failures;
}
