/*
 * Scaffolding for the sys_* guest tests, see sysrt.h.
 */
#include "sysrt.h"

struct tss32 {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
};

static uint64_t gdt[6] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static struct tss32 tss __attribute__((aligned(16)));

volatile struct sys_fault sys_fault;
volatile uint32_t sys_resume, sys_at, sys_next;
int (*volatile sys_hook)(struct sys_frame *f);

extern char sys_isr0[]; /* sysstubs.S: 16-byte stubs for vectors 0..31 */

static uint64_t seg_desc(uint32_t type, uint32_t dpl)
{
    /* Flat 4 GiB, 32-bit, present, code/data. */
    uint32_t lo = 0x0000ffffu;
    uint32_t hi = (type << 8) | (1u << 12) | (dpl << 13) | (1u << 15) | 0x000f0000u | (1u << 22) | (1u << 23);
    return (uint64_t)hi << 32 | lo;
}

static uint64_t int_gate(uint32_t off)
{
    uint32_t lo = (off & 0xffff) | (uint32_t)KCODE << 16;
    uint32_t hi = (off & 0xffff0000u) | (0xeu << 8) | (1u << 15);
    return (uint64_t)hi << 32 | lo;
}

void sys_init(void)
{
    gdt[0] = 0;
    gdt[1] = seg_desc(0xb, 0); /* KCODE: execute/read, accessed */
    gdt[2] = seg_desc(0x3, 0); /* KDATA: read/write, accessed */
    gdt[3] = seg_desc(0xb, 3); /* UCODE */
    gdt[4] = seg_desc(0x3, 3); /* UDATA */
    uint32_t tb = (uint32_t)&tss, tl = sizeof(tss) - 1;
    gdt[5] = (uint64_t)((tb & 0xff000000u) | ((tb >> 16) & 0xff) | (0x9u << 8) | (1u << 15)) << 32 |
             (tb << 16) | tl;
    struct { uint16_t l; uint32_t b; } __attribute__((packed)) g = { sizeof(gdt) - 1, (uint32_t)gdt },
                                                                   i = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n1:\n\t"
                     "mov %2, %%ds; mov %2, %%es; mov %2, %%fs; mov %2, %%gs; mov %2, %%ss"
                     :
                     : "m"(g), "i"(KCODE), "r"(KDATA)
                     : "memory");
    for (int v = 0; v < 32; v++)
        idt[v] = int_gate((uint32_t)sys_isr0 + 16u * (uint32_t)v);
    __asm__ volatile("lidt %0" : : "m"(i));
    memset(&tss, 0, sizeof(tss));
    tss.esp0 = (uint32_t)sys_kstack_top;
    tss.ss0 = KDATA;
    tss.iomap = sizeof(tss); /* no I/O bitmap: IOPL decides */
    __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
    /* IOPL 3: ring-3 code may use COM1 and the exit port. */
    __asm__ volatile("pushfl; orl $0x3000, (%%esp); popfl" : : : "memory", "cc");
    wrmsr(0x174, KCODE);
    wrmsr(0x175, (uint32_t)sys_kstack_top);
    wrmsr(0x176, (uint32_t)sys_sysenter_entry);
}

void sys_clear(void)
{
    sys_fault.count = 0;
    sys_fault.vector = sys_fault.err = sys_fault.eip = sys_fault.cs = sys_fault.eflags = sys_fault.cr2 = 0;
    sys_fault.dr6 = 0;
}

static const char *const names[32] = {
    "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "09", "TS", "NP", "SS", "GP", "PF", "15",
    "MF", "AC", "MC", "XM", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
};

static int has_err(uint32_t v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

int sys_report(const char *name)
{
    if (sys_fault.count == 0) {
        rt_printf("%s: ok\n", name);
        return -1;
    }
    uint32_t v = sys_fault.vector;
    rt_printf("%s: #%s", name, names[v & 31]);
    if (has_err(v))
        rt_printf("(%04x)", sys_fault.err);
    if (v == 14)
        rt_printf(" cr2=%08x", sys_fault.cr2);
    if (sys_fault.eip == sys_at)
        rt_printf(" at insn");
    else if (sys_fault.eip == sys_next)
        rt_printf(" after");
    else
        rt_printf(" at %x", sys_fault.eip);
    if (sys_fault.cs != KCODE)
        rt_printf(" cs=%x", sys_fault.cs);
    if (sys_fault.count > 1)
        rt_printf(" (%d faults)", sys_fault.count);
    rt_putc('\n');
    return (int)v;
}

/* Called by the stubs with the frame on the ring-0 stack. */
void sys_trap(struct sys_frame *f);
void sys_trap(struct sys_frame *f)
{
    if (sys_hook && sys_hook(f))
        return;
    sys_fault.count++;
    sys_fault.vector = f->vector;
    sys_fault.err = f->err;
    sys_fault.eip = f->eip;
    sys_fault.cs = f->cs & 0xffff;
    sys_fault.eflags = f->eflags;
    if (f->vector == 14)
        sys_fault.cr2 = read_cr2();
    if (f->vector == 1)
        sys_fault.dr6 = read_dr6();
    if (sys_resume) {
        f->eip = sys_resume;
        sys_resume = 0;
        return;
    }
    static int dying;
    if (dying++) /* the report itself faulted */
        rt_exit(98);
    rt_printf("unexpected trap %u err %x at %x:%x cr2 %x\n", f->vector, f->err, f->cs & 0xffff, f->eip, read_cr2());
    rt_exit(99);
}
