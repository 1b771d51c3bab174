/*
 * The local APIC and the IOAPIC as a guest kernel sees them (run with
 * --clock icount so that virtual time, and so the counts, are exact):
 *
 *   - identification: CPUID.1 APIC flag and initial APIC ID, IA32_APIC_BASE,
 *     the version register;
 *   - self IPIs at several priorities: delivery order by priority class,
 *     nesting of a higher class inside a handler that re-enables
 *     interrupts, the PPR a handler sees, TPR holding classes back, an NMI
 *     IPI (SDM Vol. 3A 10.6, 10.8.3, 10.8.4);
 *   - the timer: its rate measured against the TSC in one-shot mode, then
 *     a periodic timer of 1 ms counted over 20 ms of virtual time, a
 *     one-shot that fires once, a masked timer that fires never (10.5.4);
 *   - the IOAPIC: version and reset state, the PIT's IRQ0 routed through
 *     pin 2 (edge) with the 8259 masked, COM1's THRE interrupt routed
 *     through pin 4 level-triggered: remote IRR while in service, redelivery
 *     after an EOI while the line is still asserted (82093AA 3.2.4);
 *   - the 8259 through LINT0 as ExtINT (virtual wire), blocked when LINT0
 *     is masked, and reaching the CPU directly once IA32_APIC_BASE disables
 *     the APIC (10.4.3).
 * Lines are printed only for what any correct APIC shows; values that are
 * Kestrel's model choices (bus clock, version 0x14, reset state after a
 * global disable) are CHECKed when the brand string says Kestrel.
 *
 * Cross-check against QEMU 7.2 (TCG), which needs instruction-count time
 * without idle sleeping for the counts to be exact:
 *   qemu-system-i386 -kernel apic.elf -nographic -serial stdio -monitor none \
 *       -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
 *       -cpu pentium2 -m 128 -icount shift=0,sleep=off
 * Every line agrees with apic.expected except the last section, where the
 * SDM (Vol. 3A 10.4.3: with IA32_APIC_BASE.EN clear the processor is
 * "functionally equivalent to an IA-32 processor without an on-chip APIC",
 * and the CPUID APIC flag follows EN) sides with Kestrel: QEMU still sends
 * the 8259's INTR through the (masked) LINT0 entry, so nothing arrives,
 * and it leaves CPUID's APIC flag clear after re-enabling.
 */
#include <stdbool.h>

#include "rt.h"

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u
#define MS 1000000ull /* TSC ticks (ns of virtual time on Kestrel: TSC at 1 GHz) */

static inline uint32_t lapic_rd(uint32_t off) { return *(volatile uint32_t *)(LAPIC + off); }
static inline void lapic_wr(uint32_t off, uint32_t v) { *(volatile uint32_t *)(LAPIC + off) = v; }
static uint32_t io_rd(uint8_t idx)
{
    *(volatile uint32_t *)IOAPIC = idx;
    return *(volatile uint32_t *)(IOAPIC + 0x10);
}
static void io_wr(uint8_t idx, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC = idx;
    *(volatile uint32_t *)(IOAPIC + 0x10) = v;
}
static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
/* STI's shadow covers one instruction: interrupts are taken during the nops. */
static inline void window(void) { __asm__ volatile("sti; nop; nop; nop; cli" ::: "memory"); }

/* ---- interrupt handling ---- */

struct frame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax; /* pushal */
    uint32_t vector, eip, cs, eflags;
};

struct gate {
    uint16_t off_lo, sel;
    uint8_t zero, type;
    uint16_t off_hi;
};

extern char apic_isr_stubs[];
static struct gate idt[256] __attribute__((aligned(8)));

enum mode { PLAIN, NEST, UART_ONCE, UART_TWICE };
static volatile enum mode mode;
static volatile int count[256];
static volatile uint32_t events[64];
static volatile int nevents;
static volatile uint32_t ppr_seen, ioapic_rirr_seen, tmr_seen;

static void note(uint32_t v)
{
    if (nevents < 64)
        events[nevents++] = v;
}

static bool irr_has(int v) { return (lapic_rd(0x200 + 0x10 * (v >> 5)) >> (v & 31)) & 1; }
static bool tmr_has(int v) { return (lapic_rd(0x180 + 0x10 * (v >> 5)) >> (v & 31)) & 1; }
static void self_ipi(uint8_t v) { lapic_wr(0x300, 0x00040000u | v); } /* fixed, edge, shorthand self */
static void eoi(void) { lapic_wr(0xb0, 0); }

void apic_isr(struct frame *f);
void apic_isr(struct frame *f)
{
    uint32_t v = f->vector;
    count[v]++;
    if (v < 32 && v != 2) {
        rt_printf("FAIL unexpected exception %u at %x\n", v, f->eip);
        rt_exit(1);
    }
    if (v == 2 || v == 0xff) /* NMI, spurious: no EOI */
        return;
    if (v >= 0x20 && v < 0x30) { /* the 8259 (ExtINT or direct) */
        outb(0x20, 0x20);
        return;
    }
    note(v);
    if (mode == NEST && v == 0x90) {
        ppr_seen = lapic_rd(0xa0);
        self_ipi(0xa0); /* higher class: nests as soon as IF is set */
        self_ipi(0x60); /* lower class: waits for the EOI */
        window();
    }
    if (mode == PLAIN && v == 0x81)
        ppr_seen = lapic_rd(0xa0);
    if ((mode == UART_ONCE || mode == UART_TWICE) && v == 0x34) {
        ioapic_rirr_seen = io_rd(0x10 + 2 * 4) & 0x4000;
        tmr_seen = tmr_has(0x34);
        /* UART_TWICE: the first time, EOI with the line still asserted. */
        if (mode == UART_ONCE || count[0x34] > 1)
            (void)inb(0x3fa); /* IIR: acknowledges THR empty, the line drops */
    }
    note(0x100 | v);
    eoi();
}

static void idt_setup(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (int v = 0; v < 256; v++) {
        uint32_t a = (uint32_t)apic_isr_stubs + 16u * (uint32_t)v;
        idt[v] = (struct gate){ (uint16_t)a, cs, 0, 0x8e, (uint16_t)(a >> 16) };
    }
    struct {
        uint16_t limit;
        uint32_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

static void print_events(const char *what)
{
    rt_printf("%s:", what);
    for (int k = 0; k < nevents; k++)
        rt_printf(events[k] & 0x100 ? " /%x" : " %x", events[k] & 0xff);
    rt_putc('\n');
    nevents = 0;
}

static void busy_wait(uint64_t ticks)
{
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < ticks)
        __asm__ volatile("pause");
}

/* Interrupts on, halting between them, until `ticks` have passed. Only
 * for waits where some interrupt keeps coming. */
static void halt_wait(uint64_t ticks)
{
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < ticks)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

static void pit_periodic(uint16_t count_)
{
    outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 */
    outb(0x40, (uint8_t)count_);
    outb(0x40, (uint8_t)(count_ >> 8));
}

static void pit_stop(void)
{
    outb(0x43, 0x30); /* mode 0 waiting for a count: output low, no more edges */
}

static int kestrel;

static void test_identify(void)
{
    uint32_t r[4];
    cpuid(0x80000000u, r);
    if (r[0] >= 0x80000004u) {
        char brand[49] = { 0 };
        for (uint32_t l = 0; l < 3; l++) {
            cpuid(0x80000002u + l, r);
            memcpy(brand + 16 * l, r, 16);
        }
        kestrel = memcmp(brand, "Kestrel", 7) == 0;
    }
    cpuid(1, r);
    uint64_t base = rdmsr(0x1b);
    uint32_t ver = lapic_rd(0x30);
    rt_printf("cpuid: apic=%u\n", (r[3] >> 9) & 1);
    rt_printf("apic base: %x bsp=%u enabled=%u\n", (uint32_t)base & 0xfffff000u, (uint32_t)(base >> 8) & 1,
              (uint32_t)(base >> 11) & 1);
    CHECK(lapic_rd(0x20) >> 24 == r[1] >> 24, "APIC ID %x vs CPUID initial ID %x", lapic_rd(0x20), r[1]);
    CHECK((ver & 0xff) >= 0x10 && (ver >> 16 & 0xff) >= 3, "version %x: not an integrated APIC", ver);
    if (kestrel)
        CHECK(ver == 0x00040014u, "version %x", ver);
}

static void test_ipis(void)
{
    lapic_wr(0xf0, 0x1ff); /* software enable, spurious vector 0xFF */
    lapic_wr(0x80, 0);
    self_ipi(0x41);
    self_ipi(0x40);
    self_ipi(0x90);
    self_ipi(0x51);
    CHECK(irr_has(0x41) && irr_has(0x40) && irr_has(0x90) && irr_has(0x51), "IRR after self IPIs");
    CHECK(lapic_rd(0xa0) == 0, "PPR %x", lapic_rd(0xa0));
    mode = NEST;
    window();
    print_events("ipi order");
    rt_printf("ppr in the 90 handler: %x\n", ppr_seen);
    CHECK(lapic_rd(0x100 + 0x10 * 4) == 0 && lapic_rd(0x100 + 0x10 * 5) == 0, "ISR left set");

    mode = PLAIN;
    lapic_wr(0x80, 0x70);
    rt_printf("tpr 70: ppr %x\n", lapic_rd(0xa0));
    self_ipi(0x65);
    self_ipi(0x7f);
    self_ipi(0x81);
    window();
    print_events("tpr 70 takes");
    rt_printf("ppr in the 81 handler: %x\n", ppr_seen);
    CHECK(irr_has(0x65) && irr_has(0x7f), "held back by TPR");
    lapic_wr(0x80, 0x6f);
    window();
    print_events("tpr 6f takes");
    lapic_wr(0x80, 0);
    window();
    print_events("tpr 0 takes");

    uint32_t id = lapic_rd(0x20);
    lapic_wr(0x310, id);
    lapic_wr(0x300, 0x00000400u); /* NMI, physical destination: ourselves */
    rt_printf("nmi ipi: %d\n", count[2]);
    lapic_wr(0x280, 0);
    rt_printf("esr: %x\n", lapic_rd(0x280));
}

static void test_timer(void)
{
    /* Measure the count-down rate against the TSC in one-shot mode. */
    lapic_wr(0x3e0, 0x3); /* divide by 16 */
    lapic_wr(0x320, 0x10000 | 0xe0);
    lapic_wr(0x380, 0xffffffffu);
    uint64_t t0 = rdtsc();
    busy_wait(2 * MS);
    uint32_t left = lapic_rd(0x390);
    uint64_t t1 = rdtsc();
    uint64_t per_ms = (uint64_t)(0xffffffffu - left) * MS / (t1 - t0);
    if (kestrel) /* 100 MHz bus / 16 */
        CHECK(per_ms > 6250 - 63 && per_ms < 6250 + 63, "timer ticks per ms %u", (uint32_t)per_ms);
    lapic_wr(0x380, 0);
    CHECK(lapic_rd(0x390) == 0, "stopped timer count %x", lapic_rd(0x390));

    /* Periodic, 1 ms, over 20 ms. */
    count[0xe0] = 0;
    lapic_wr(0x320, 0x20000 | 0xe0);
    lapic_wr(0x380, (uint32_t)per_ms);
    uint32_t c1 = lapic_rd(0x390), c2 = lapic_rd(0x390);
    CHECK(c1 <= per_ms && c2 <= c1, "count runs down: %x %x", c1, c2);
    halt_wait(20 * MS);
    int n = count[0xe0];
    rt_printf("periodic 1 ms timer over 20 ms: %s\n", n >= 19 && n <= 21 ? "20 +- 1 interrupts" : "wrong");
    CHECK(n >= 19 && n <= 21, "periodic count %d", n);

    /* Masked: the count runs, nothing is delivered. */
    lapic_wr(0x320, 0x30000 | 0xe0);
    count[0xe0] = 0;
    sti();
    busy_wait(5 * MS);
    cli();
    rt_printf("masked periodic timer over 5 ms: %d interrupts\n", count[0xe0]);

    /* One-shot, 0.5 ms: exactly one interrupt, then the count stays 0. */
    lapic_wr(0x320, 0xe0);
    lapic_wr(0x380, (uint32_t)(per_ms / 2));
    sti();
    busy_wait(5 * MS);
    cli();
    rt_printf("one-shot timer over 5 ms: %d interrupt(s), count now %u\n", count[0xe0], lapic_rd(0x390));
    lapic_wr(0x380, 0);
    lapic_wr(0x320, 0x10000);
}

static void test_ioapic(void)
{
    uint32_t ver = io_rd(0x01);
    rt_printf("ioapic: %u entries\n", (ver >> 16 & 0xff) + 1);
    if (kestrel)
        CHECK(ver == 0x00170011u, "IOAPIC version %x", ver);
    int masked = 0;
    for (int k = 0; k < 24; k++)
        masked += (io_rd((uint8_t)(0x10 + 2 * k)) >> 16) & 1;
    rt_printf("ioapic: %d entries masked after reset\n", masked);
    uint32_t id = lapic_rd(0x20) & 0xff000000u;

    /* The PIT (ISA IRQ0) on pin 2, edge; the 8259 is masked. */
    io_wr(0x11 + 2 * 2, id);
    io_wr(0x10 + 2 * 2, 0x32);
    count[0x32] = 0;
    pit_periodic(1193); /* about 1 ms */
    halt_wait(10 * MS);
    int n = count[0x32];
    io_wr(0x10 + 2 * 2, 0x10032);
    busy_wait(3 * MS);
    pit_stop();
    rt_printf("pit through ioapic pin 2 over 10 ms: %s, after masking: %d more\n",
              n >= 9 && n <= 11 ? "10 +- 1 interrupts" : "wrong", count[0x32] - n);
    CHECK(n >= 9 && n <= 11, "PIT interrupts %d", n);
    rt_printf("through the 8259: %d\n", count[0x20]);

    /* COM1 on pin 4, level-triggered: THR empty holds the line up until
     * IIR is read. */
    uint8_t mcr = inb(0x3fc);
    io_wr(0x11 + 2 * 4, id);
    io_wr(0x10 + 2 * 4, 0x8000 | 0x34);
    outb(0x3fc, mcr | 0x08); /* OUT2: the UART's interrupt reaches the bus */
    for (int round = 0; round < 2; round++) {
        mode = round ? UART_TWICE : UART_ONCE;
        count[0x34] = 0;
        ioapic_rirr_seen = tmr_seen = 0;
        outb(0x3f9, 0x02); /* IER: THR empty */
        window();
        outb(0x3f9, 0x00);
        uint32_t after = io_rd(0x10 + 2 * 4) & 0x4000;
        rt_printf("uart level %s: %d deliveries, remote irr in handler %u, after %u, tmr %u\n",
                  round ? "eoi before ack" : "ack then eoi", count[0x34], ioapic_rirr_seen ? 1 : 0, after ? 1 : 0,
                  tmr_seen);
    }
    nevents = 0;
    io_wr(0x10 + 2 * 4, 0x10034);
    outb(0x3fc, mcr);
    mode = PLAIN;
}

static void test_virtual_wire(void)
{
    uint32_t r[4];
    uint64_t base = rdmsr(0x1b);
    outb(0x21, 0xfe); /* 8259: IRQ0 only */
    lapic_wr(0x350, 0x8700); /* LINT0: ExtINT, as firmware programs virtual wire mode */
    pit_periodic(1193);
    count[0x20] = 0;
    halt_wait(5 * MS);
    int through = count[0x20];
    lapic_wr(0x350, 0x18700);
    count[0x20] = 0;
    sti();
    busy_wait(5 * MS);
    cli();
    int masked = count[0x20];
    wrmsr(0x1b, base & ~0x800ull); /* globally disable the APIC */
    cpuid(1, r);
    uint32_t apic_flag = (r[3] >> 9) & 1;
    uint32_t svr_gone = lapic_rd(0xf0);
    count[0x20] = 0;
    sti();
    busy_wait(5 * MS);
    cli();
    int direct = count[0x20];
    pit_stop();
    outb(0x21, 0xff);
    wrmsr(0x1b, base);
    rt_printf("8259 through LINT0 ExtINT over 5 ms: %s\n", through >= 4 ? "yes" : "no");
    rt_printf("with LINT0 masked: %d\n", masked);
    rt_printf("apic disabled: cpuid apic=%u, 8259 straight to the cpu: %s\n", apic_flag, direct >= 4 ? "yes" : "no");
    if (kestrel) {
        CHECK(svr_gone == 0xffffffffu, "APIC page still decoded while disabled: SVR %x", svr_gone);
        CHECK(lapic_rd(0xf0) == 0xff && lapic_rd(0x350) == 0x700, "state after re-enable: SVR %x LINT0 %x",
              lapic_rd(0xf0), lapic_rd(0x350));
    }
    cpuid(1, r);
    rt_printf("re-enabled: cpuid apic=%u\n", (r[3] >> 9) & 1);
}

int main(void)
{
    cli();
    idt_setup();
    /* 8259s at 0x20/0x28, everything masked: the IOAPIC tests must not
     * see the PIT through the 8259 (LINT0 is ExtINT after RESET). */
    outb(0x20, 0x11), outb(0x21, 0x20), outb(0x21, 0x04), outb(0x21, 0x01);
    outb(0xa0, 0x11), outb(0xa1, 0x28), outb(0xa1, 0x02), outb(0xa1, 0x01);
    outb(0x21, 0xff), outb(0xa1, 0xff);
    test_identify();
    test_ipis();
    test_timer();
    test_ioapic();
    test_virtual_wire();
    rt_printf("spurious: %d\n", count[0xff]);
    rt_printf("%s\n", rt_failures ? "apic: FAILED" : "apic: done");
    return rt_failures;
}
