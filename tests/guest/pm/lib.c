/*
 * Protected-mode scaffolding for the pm_* guest tests (see lib.h).
 */
#include "lib.h"

uint64_t pm_gdt[GDT_ENTRIES] __attribute__((aligned(8)));
uint64_t pm_idt[256] __attribute__((aligned(8)));
struct pm_tss pm_tss __attribute__((aligned(16)));

volatile struct pm_fault pm_fault;
volatile uint32_t pm_resume, pm_at, pm_next;
volatile uint32_t pm_saved_esp;
int (*volatile pm_hook)(struct pm_frame *f);

extern char pm_isr0[]; /* stubs.S: 16-byte stubs, one per vector */

uint64_t pm_desc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl, unsigned flags)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | (type & 0xf) << 8 | ((flags & D_S) ? 1u << 12 : 0) | (dpl & 3) << 13 |
                  ((flags & D_NP) ? 0 : 1u << 15) | (limit & 0xf0000) | ((flags & D_DB) ? 1u << 22 : 0) |
                  ((flags & D_G) ? 1u << 23 : 0) | (base & 0xff000000u);
    return (uint64_t)hi << 32 | lo;
}

uint64_t pm_gate(uint16_t sel, uint32_t off, unsigned type, unsigned dpl, unsigned params, int present)
{
    uint32_t lo = (off & 0xffff) | (uint32_t)sel << 16;
    uint32_t hi = (off & 0xffff0000u) | (params & 0x1f) | (type & 0xf) << 8 | (dpl & 3) << 13 |
                  (present ? 1u << 15 : 0);
    return (uint64_t)hi << 32 | lo;
}

uint32_t pm_stub_addr(int vec)
{
    return (uint32_t)pm_isr0 + 16u * (uint32_t)vec;
}

uint64_t pm_default_gate(int vec)
{
    return pm_gate(KCODE, pm_stub_addr(vec), T_INTGATE32, vec == 0x80 ? 3 : 0, 0, 1);
}

void pm_set_idt(int vec, uint64_t gate)
{
    pm_idt[vec] = gate;
}

void pm_io_allow(uint16_t port, int n, int allow)
{
    for (int k = 0; k < n; k++) {
        unsigned p = (unsigned)port + (unsigned)k;
        if (allow)
            pm_tss.iomap[p / 8] &= (uint8_t)~(1u << (p % 8));
        else
            pm_tss.iomap[p / 8] |= (uint8_t)(1u << (p % 8));
    }
}

void pm_init(void)
{
    pm_gdt[0] = 0;
    pm_gdt[KCODE >> 3] = pm_desc(0, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G);
    pm_gdt[KDATA >> 3] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G);
    pm_gdt[UCODE >> 3] = pm_desc(0, 0xfffff, T_CODE_RX, 3, D_S | D_DB | D_G);
    pm_gdt[UDATA >> 3] = pm_desc(0, 0xfffff, T_DATA_RW, 3, D_S | D_DB | D_G);
    pm_gdt[TSS_SEL >> 3] = pm_desc((uint32_t)&pm_tss, sizeof(pm_tss) - 1, T_TSS32, 0, 0);
    pm_gdt[KCODE16 >> 3] = pm_desc(0, 0xffff, T_CODE_RX, 0, D_S);
    pm_gdt[KDATA16 >> 3] = pm_desc(0, 0xffff, T_DATA_RW, 0, D_S);
    for (int k = GDT_FIRST_FREE; k < GDT_ENTRIES; k++)
        pm_gdt[k] = 0;
    pm_lgdt(pm_gdt, sizeof(pm_gdt) - 1);
    __asm__ volatile("ljmp %0, $1f\n1:\n\t"
                     "mov %1, %%ds; mov %1, %%es; mov %1, %%fs; mov %1, %%gs; mov %1, %%ss"
                     :
                     : "i"(KCODE), "r"(KDATA)
                     : "memory");
    for (int v = 0; v < 256; v++)
        pm_idt[v] = pm_default_gate(v);
    pm_lidt(pm_idt, sizeof(pm_idt) - 1);
    /* Mask every PIC input: tests set IF, and under a BIOS (QEMU) IRQ 0
     * would arrive on vector 8. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);

    memset(&pm_tss, 0, sizeof(pm_tss));
    pm_tss.t.esp0 = (uint32_t)pm_istack_top;
    pm_tss.t.ss0 = KDATA;
    pm_tss.t.iomap = (uint16_t)sizeof(struct tss32);
    memset(pm_tss.iomap, 0xff, sizeof(pm_tss.iomap));
    pm_io_allow(0x3f8, 8, 1); /* COM1, so ring 3 and v86 code may print */
    pm_io_allow(0xf4, 4, 1);  /* and exit */
    __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
}

void pm_clear(void)
{
    pm_fault.count = 0;
    pm_fault.vector = pm_fault.err = pm_fault.eip = pm_fault.cs = pm_fault.eflags = 0;
}

static const char *const vec_names[32] = {
    "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "09", "TS", "NP", "SS", "GP", "PF", "15",
    "MF", "AC", "MC", "XM", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
};

static int has_err(uint32_t v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

int pm_report(const char *name)
{
    if (pm_fault.count == 0) {
        rt_printf("%s: ok\n", name);
        return -1;
    }
    uint32_t v = pm_fault.vector;
    if (v < 32)
        rt_printf("%s: #%s", name, vec_names[v]);
    else
        rt_printf("%s: int %x", name, v);
    if (has_err(v))
        rt_printf("(%04x)", pm_fault.err);
    if (pm_fault.eip == pm_at)
        rt_printf(" at insn");
    else if (pm_fault.eip == pm_next)
        rt_printf(" after");
    else
        rt_printf(" at %x", pm_fault.eip);
    if ((pm_fault.cs & 0xffff) != KCODE)
        rt_printf(" cs=%x", pm_fault.cs & 0xffff);
    if (pm_fault.count > 1)
        rt_printf(" (%d faults)", pm_fault.count);
    rt_putc('\n');
    return (int)v;
}

/* Called by the stubs with the frame on the ring-0 stack. */
void pm_trap(struct pm_frame *f);
void pm_trap(struct pm_frame *f)
{
    if (f->vector == 0x80 && f->eax == PM_USER_EXIT)
        pm_user_exit(f->ebx);
    if (pm_hook && pm_hook(f))
        return;
    pm_fault.count++;
    pm_fault.vector = f->vector;
    pm_fault.err = f->err;
    pm_fault.eip = f->eip;
    pm_fault.cs = f->cs & 0xffff;
    pm_fault.eflags = f->eflags;
    if (pm_resume) {
        f->eflags &= ~0x100u; /* a single-step trap must not repeat */
        f->eip = pm_resume;
        pm_resume = 0;
        return;
    }
    rt_printf("unexpected trap %u err %x at %x:%x\n", f->vector, f->err, f->cs & 0xffff, f->eip);
    rt_exit(99);
}
