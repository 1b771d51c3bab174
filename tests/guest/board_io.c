/*
 * What an accelerator must route to the board, seen from a guest: string
 * port I/O (both directions, DF set), MMIO to the local APIC and the
 * IOAPIC (plain and string accesses), the i440FX PAM segments switching
 * between read-write RAM, read-only RAM and write-only RAM (KVM: memory
 * slots made, made read-only and removed while the guest runs), MSRs of
 * the CPU model, the PIT's interrupt while halted, while running and held
 * pending while IF is clear, and CPU state (x87 stack, segment caches,
 * EFLAGS) across an IRET, which a software KVM hands to Kestrel's
 * interpreter. Runs under every accelerator with the same output.
 *
 * The output holds only what QEMU's pc machine (i440FX, qemu32 CPU)
 * should show the same way, and was cross-checked with qemu-system-i386
 * (tests/guest/pm/qemu-check.sh BUILD board_io); version registers, open
 * bus and the PAM "off" setting differ between the two boards and are
 * left out. QEMU's TCG departs from the SDM on two lines: RDMSR of an MSR
 * that does not exist and WRMSR of a PAT with a reserved memory type
 * (SDM Vol. 4 and Vol. 3A 11.12.2: #GP(0)) complete without a fault.
 */
#include "pm/lib.h"

#define PAM_TEST 0xd0000u /* PAM3 low nibble: free under SeaBIOS too */
#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u

static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline volatile uint32_t *mmio32(uint32_t addr) { return (volatile uint32_t *)addr; }

/* ---- String port I/O ---- */

static void fw_cfg_select(uint16_t key) { outw(0x510, key); }

static void test_string_io(void)
{
    static const char msg[] = "rep outsb to COM1: ok\n";
    const char *src = msg;
    uint32_t n = sizeof(msg) - 1;
    __asm__ volatile("cld; rep outsb" : "+S"(src), "+c"(n) : "d"(0x3f8) : "memory");

    char sig[5] = { 0 };
    fw_cfg_select(0x0000); /* FW_CFG_SIGNATURE */
    char *dst = sig;
    n = 4;
    __asm__ volatile("cld; rep insb" : "+D"(dst), "+c"(n) : "d"(0x511) : "memory");
    rt_printf("rep insb from fw_cfg: %s\n", sig);

    char back[5] = { 0 };
    fw_cfg_select(0x0000);
    dst = back + 3;
    n = 4;
    __asm__ volatile("std; rep insb; cld" : "+D"(dst), "+c"(n) : "d"(0x511) : "memory");
    rt_printf("rep insb with DF=1: %s\n", back);
}

/* ---- MMIO ---- */

static void test_mmio(void)
{
    volatile uint32_t *tpr = mmio32(LAPIC + 0x80);
    uint32_t old = *tpr;
    *tpr = 0x40;
    uint32_t a = *tpr;
    *tpr = 0xff;
    uint32_t b = *tpr;
    *tpr = old;
    rt_printf("lapic tpr writes 40, ff read back: %x %x\n", a, b);

    /* String MMIO: four dwords (ID, version, two reserved) in one MOVS. */
    uint32_t buf[4] = { 1, 1, 1, 1 };
    uint32_t src = LAPIC + 0x20, dst = (uint32_t)buf, n = 1;
    __asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
    rt_printf("lapic id by movsl: %x\n", buf[0] >> 24);

    *(volatile uint8_t *)IOAPIC = 0x01; /* index: version register (byte write) */
    uint32_t ver = *mmio32(IOAPIC + 0x10);
    rt_printf("ioapic redirection entries: %u\n", ((ver >> 16) & 0xff) + 1);
}

/* ---- PAM shadow RAM ---- */

static void pam3_low(uint8_t mode)
{
    outl(0xcf8, 0x80000000u | 0x5c);
    uint8_t v = inb(0xcfc);
    outl(0xcf8, 0x80000000u | 0x5c);
    outb(0xcfc, (uint8_t)((v & 0xf0) | mode));
}

static void test_pam(void)
{
    volatile uint32_t *p = mmio32(PAM_TEST);
    pam3_low(3);
    p[0] = 0x11223344;
    p[1] = 0x0badcafe;
    p[2] = 0x12121212;
    rt_printf("pam read-write: %x\n", p[0]);
    pam3_low(1);
    p[0] = 0x55667788;
    uint32_t fill[2] = { 0xdeadbeef, 0xdeadbeef };
    uint32_t src = (uint32_t)fill, dst = PAM_TEST + 4, n = 2;
    __asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
    rt_printf("pam read-only: writes dropped: %x %x %x\n", p[0], p[1], p[2]);
    pam3_low(2);
    p[0] = 0x99aabbcc;
    dst = PAM_TEST + 4, n = 2;
    __asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(n) : "a"(0x5a5a5a5a) : "memory");
    pam3_low(3);
    rt_printf("pam write-only, then read-write: %x %x %x\n", p[0], p[1], p[2]);
    pam3_low(1);
    rt_printf("pam read-only again: %x\n", p[0]);
    pam3_low(3);
}

/* ---- MSRs ---- */

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static void test_msr(void)
{
    uint64_t pat = rdmsr(0x277);
    wrmsr(0x277, 0x0001050600040407ull);
    rt_printf("pat round trip: %llx\n", (unsigned long long)rdmsr(0x277));
    wrmsr(0x277, pat);
    wrmsr(0x176, 0x9abcdef0);
    wrmsr(0x175, 0x12345678);
    rt_printf("sysenter eip/esp round trip: %llx %llx\n", (unsigned long long)rdmsr(0x176),
              (unsigned long long)rdmsr(0x175));
    PM_TRY("rdmsr 0x12345678 (no such msr)", "rdmsr", : : "c"(0x12345678) : "eax", "edx", "memory");
    PM_TRY("wrmsr pat with memory type 2", "wrmsr", : : "c"(0x277), "a"(0x02), "d"(0) : "memory");
}

/* ---- Interrupts from the PIT through the 8259 ---- */

static volatile uint32_t ticks;

static int tick(struct pm_frame *f)
{
    if (f->vector != 0x20)
        return 0;
    ticks++;
    outb(0x20, 0x20);
    return 1;
}

static void test_interrupts(void)
{
    outb(0x20, 0x11), outb(0x21, 0x20), outb(0x21, 0x04), outb(0x21, 0x01);
    outb(0xa0, 0x11), outb(0xa1, 0x28), outb(0xa1, 0x02), outb(0xa1, 0x01);
    outb(0x21, 0xfe), outb(0xa1, 0xff);
    pm_hook = tick;
    outb(0x43, 0x34); /* channel 0, mode 2, about 1 kHz */
    outb(0x40, 1193 & 0xff);
    outb(0x40, 1193 >> 8);

    while (ticks < 5)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    rt_printf("pit: 5 ticks while halting: ok\n");

    uint32_t start = ticks;
    __asm__ volatile("sti");
    while (ticks < start + 5)
        __asm__ volatile("pause" ::: "memory");
    __asm__ volatile("cli");
    rt_printf("pit: 5 ticks while running: ok\n");

    /* IF clear until the 8259 has latched the next edge (IRR bit 0, read
     * with OCW3): nothing is delivered, and the request waits until IF is
     * set again. The PIT stops first, so exactly one interrupt is pending
     * however slowly the accelerator gets back to the loop. */
    uint32_t before = ticks;
    outb(0x20, 0x0a); /* OCW3: reads of port 0x20 return the IRR */
    while (!(inb(0x20) & 1))
        __asm__ volatile("pause");
    outb(0x43, 0x30); /* stop: mode 0 waiting for a count */
    uint32_t during = ticks - before;
    __asm__ volatile("sti");
    while (ticks == before)
        __asm__ volatile("pause" ::: "memory");
    __asm__ volatile("cli");
    rt_printf("pit: with IF clear %u delivered, after sti %u\n", during, ticks - before);
    outb(0x21, 0xff);
    pm_hook = 0;
}

/* ---- State across an IRET ---- */

static void test_state_across_iret(void)
{
    /* A 16-bit data segment for FS over a buffer, x87 stack of three,
     * EFLAGS with AC, DF, OF and CF from the IRET frame. */
    static uint8_t area[256];
    for (int k = 0; k < 256; k++)
        area[k] = (uint8_t)k;
    int fsx = GDT_FIRST_FREE;
    pm_gdt[fsx] = pm_desc((uint32_t)area, 0xff, T_DATA_RW, 0, D_S);
    uint16_t fs = pm_sel((uint16_t)fsx, 0);
    __asm__ volatile("mov %0, %%fs" : : "r"(fs));
    __asm__ volatile("fninit; fld1; fldpi; fldl2t" ::: "memory");
    uint32_t flags_in = 0x40000u | 0x400u | 0x800u | 0x1u | 0x2u; /* AC DF OF CF, bit 1 */
    uint32_t flags_out;
    __asm__ volatile("pushl %1\n\t"
                     "pushl %%cs\n\t"
                     "pushl $1f\n\t"
                     "iret\n"
                     "1:\tpushfl\n\t"
                     "popl %0\n\t"
                     "pushl $2\n\t" /* clear AC and DF again */
                     "popfl"
                     : "=r"(flags_out)
                     : "r"(flags_in)
                     : "memory", "cc");
    uint8_t b;
    uint16_t fs_after;
    __asm__ volatile("movb %%fs:0x7f, %0" : "=q"(b));
    __asm__ volatile("mov %%fs, %0" : "=r"(fs_after));
    (void)inb(0x80); /* one more exit with the x87 stack loaded */
    double l2t, pi, one;
    uint16_t sw, cw;
    __asm__ volatile("fnstsw %0; fnstcw %1" : "=m"(sw), "=m"(cw));
    __asm__ volatile("fstpl %0; fstpl %1; fstpl %2" : "=m"(l2t), "=m"(pi), "=m"(one));
    rt_printf("iret: eflags %x, fs %s, fs:7f = %x\n", flags_out & 0x40cd5, fs_after == fs ? "kept" : "changed", b);
    rt_printf("x87 after: top %u cw %x st0 %s st1 %s st2 %s\n", (sw >> 11) & 7, cw,
              l2t > 3.3219 && l2t < 3.3220 ? "log2(10)" : "wrong", pi > 3.14159 && pi < 3.14160 ? "pi" : "wrong",
              one == 1.0 ? "1" : "wrong");
    pm_flat_esfsgs();
}

int main(void)
{
    pm_init();
    test_string_io();
    test_mmio();
    test_pam();
    test_msr();
    test_interrupts();
    test_state_across_iret();
    return rt_failures;
}
