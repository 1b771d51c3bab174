/*
 * Virtual-8086 mode (Intel SDM Vol. 3 ch. 20), without VME: entered by
 * IRET from ring 0 with VM set in the EFLAGS image (which also loads ES,
 * DS, FS, GS); real-mode segment arithmetic; the IOPL-sensitive
 * instructions (CLI, STI, PUSHF, POPF, INT n, IRET) trapping with #GP(0)
 * to a ring-0 monitor that emulates them when IOPL < 3, and running
 * natively when IOPL = 3 (then INT n goes through the IDT, needs a DPL 3
 * gate, and the ring-0 handler finds GS, FS, DS, ES pushed and the data
 * segment registers null); port I/O checked against the TSS I/O bitmap
 * whatever the IOPL; exceptions from v86 mode to ring 0.
 *
 * The v86 programs are 16-bit code copied to 2000:0000; they leave
 * through INT 21h with AH = 4Ch, which the monitor turns into a return.
 *
 * Every line matches QEMU (TCG) 7.2 for the same ELF.
 */
#include "pm/lib.h"

#define V86_SEG 0x2000u
#define V86_BASE (V86_SEG << 4)
#define EFL_VM (1u << 17)

/* The v86 programs. Data references are offsets from v86_start (= IP 0). */
__asm__(".text\n"
        ".code16\n"
        "v86_start:\n"
        /* Program 1 (IOPL 0). Greet through COM1 (ports allowed). */
        "prog1:\n\t"
        "movw $(v86_hello - v86_start), %si\n"
        "1:\tlodsb\n\t"
        "testb %al, %al\n\t"
        "jz 3f\n\t"
        "movb %al, %bl\n"
        "2:\tmovw $0x3fd, %dx\n\t"
        "inb %dx, %al\n\t"
        "testb $0x20, %al\n\t"
        "jz 2b\n\t"
        "movw $0x3f8, %dx\n\t"
        "movb %bl, %al\n\t"
        "outb %al, %dx\n\t"
        "jmp 1b\n"
        "3:\t"
        "movw %es, (r_es - v86_start)\n\t"
        "movw %fs, (r_fs - v86_start)\n\t"
        "movw %gs, (r_gs - v86_start)\n\t"
        "movw %ss, (r_ss - v86_start)\n\t"
        "movw %sp, (r_sp - v86_start)\n\t"
        /* Segment arithmetic: 1000:0010 is linear 0x10010. */
        "movw $0x1000, %ax\n\t"
        "movw %ax, %es\n\t"
        "movw %es:0x10, %ax\n\t"
        "movw %ax, (r_word - v86_start)\n\t"
        "movw $0x1001, %ax\n\t"
        "movw %ax, %fs\n\t"
        "movw %fs:0x0, %ax\n\t"
        "movw %ax, (r_word2 - v86_start)\n\t"
        /* IOPL-sensitive instructions, emulated by the monitor. */
        "cli\n\t"
        "pushf\n\t"
        "popw (r_fl_cli - v86_start)\n\t"
        "sti\n\t"
        "pushf\n\t"
        "popw (r_fl_sti - v86_start)\n\t"
        "pushw $0x0\n\t"
        "popf\n\t"
        "pushf\n\t"
        "popw (r_fl_popf - v86_start)\n\t"
        /* INT 60h, reflected by the monitor through the IVT. */
        "movw $0x1111, %bx\n\t"
        "int $0x60\n\t"
        "movw %bx, (r_int60 - v86_start)\n\t"
        /* Port I/O: 0x80 is not in the bitmap, nor is 0x400 of a word at 0x3ff. */
        "movb $0x5a, %al\n\t"
        "outb %al, $0x80\n\t"
        "movw $0x3ff, %dx\n\t"
        "outw %ax, %dx\n\t"
        /* An exception. */
        "xorw %cx, %cx\n\t"
        "movw $1, %ax\n\t"
        "divw %cx\n\t"
        "hlt\n\t"
        "movw $0x4c00, %ax\n\t"
        "int $0x21\n"
        /* Real-mode handler of INT 60h (installed in the IVT). */
        "int60:\n\t"
        "movw $0x2222, %bx\n\t"
        "iret\n"
        /* Program 2 (IOPL 3). */
        "prog2:\n\t"
        "cli\n\t"
        "sti\n\t"
        "pushf\n\t"
        "popw (r2_fl - v86_start)\n\t"
        "pushw $0x0\n\t"
        "popf\n\t"
        "pushf\n\t"
        "popw (r2_fl2 - v86_start)\n\t"
        "int $0x60\n\t"
        "int $0x61\n\t"
        "int3\n\t"
        "movb $0x77, %al\n\t"
        "outb %al, $0x80\n\t"
        "movw $0x4c00, %ax\n\t"
        "int $0x21\n"
        "v86_hello: .asciz \"hello from v86 mode\\r\\n\"\n"
        ".balign 2\n"
        "r_es: .word 0\n"
        "r_fs: .word 0\n"
        "r_gs: .word 0\n"
        "r_ss: .word 0\n"
        "r_sp: .word 0\n"
        "r_word: .word 0\n"
        "r_word2: .word 0\n"
        "r_fl_cli: .word 0\n"
        "r_fl_sti: .word 0\n"
        "r_fl_popf: .word 0\n"
        "r_int60: .word 0\n"
        "r2_fl: .word 0\n"
        "r2_fl2: .word 0\n"
        "v86_end:\n"
        ".code32\n"
        /* void v86_enter(const uint32_t frame[9]): GS FS DS ES SS ESP
         * EFLAGS CS EIP, IRET from ring 0; the monitor leaves through
         * pm_user_exit. */
        "v86_enter:\n\t"
        "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
        "movl %esp, pm_kernel_esp\n\t"
        "movl 20(%esp), %eax\n\t"
        "pushl 0(%eax)\n\tpushl 4(%eax)\n\tpushl 8(%eax)\n\tpushl 12(%eax)\n\t"
        "pushl 16(%eax)\n\tpushl 20(%eax)\n\tpushl 24(%eax)\n\tpushl 28(%eax)\n\tpushl 32(%eax)\n\t"
        "iretl\n");
extern char v86_start[], v86_end[], prog1[], prog2[], int60[];
extern char r_es[], r_fs[], r_gs[], r_ss[], r_sp[], r_word[], r_word2[], r_fl_cli[], r_fl_sti[], r_fl_popf[],
    r_int60[], r2_fl[], r2_fl2[];
uint32_t v86_enter(const uint32_t frame[9]);

#define OFF(sym) ((uint32_t)(sym) - (uint32_t)v86_start)
static uint16_t rd16_v86(char *sym) { return *(volatile uint16_t *)(V86_BASE + OFF(sym)); }

static uint8_t *lin(uint32_t seg, uint32_t off) { return (uint8_t *)((seg & 0xffff) * 16 + (off & 0xffff)); }

/* The monitor's virtual IF (the real one stays as the monitor wants). */
static int vif = 1;

static void v86_push(struct pm_frame *f, uint16_t v)
{
    f->esp = (f->esp & ~0xffffu) | ((f->esp - 2) & 0xffff);
    *(uint16_t *)lin(f->ss, f->esp) = v;
}
static uint16_t v86_pop(struct pm_frame *f)
{
    uint16_t v = *(uint16_t *)lin(f->ss, f->esp);
    f->esp = (f->esp & ~0xffffu) | ((f->esp + 2) & 0xffff);
    return v;
}
static uint16_t vflags(struct pm_frame *f)
{
    return (uint16_t)((f->eflags & ~(1u << 9)) | (uint32_t)vif << 9);
}

static int monitor(struct pm_frame *f)
{
    if (!(f->eflags & EFL_VM))
        return 0;
    uint8_t *ip = lin(f->cs, f->eip);
    uint32_t at = f->eip & 0xffff;
    if (f->vector == 0) {
        rt_printf("  monitor: #DE at %x:%x (vm=1), skipped\n", f->cs & 0xffff, at);
        f->eip += 2;
        return 1;
    }
    if (f->vector == 0x61) {
        rt_printf("  ring 0 int 61h from v86: cs:ip=%x:%x saved es=%x ds=%x fs=%x gs=%x; handler saw ds=%x es=%x "
                  "fs=%x gs=%x\n",
                  f->cs & 0xffff, at, f->v86_es & 0xffff, f->v86_ds & 0xffff, f->v86_fs & 0xffff,
                  f->v86_gs & 0xffff, f->ds & 0xffff, f->es & 0xffff, f->fs & 0xffff, f->gs & 0xffff);
        return 1;
    }
    if (f->vector != 13) {
        rt_printf("  monitor: unexpected vector %u\n", f->vector);
        rt_exit(98);
    }
    rt_printf("  monitor: #GP(%x) at %x: %x ", f->err, at, ip[0]);
    switch (ip[0]) {
    case 0xfa:
        rt_printf("cli\n");
        vif = 0;
        f->eip += 1;
        break;
    case 0xfb:
        rt_printf("sti\n");
        vif = 1;
        f->eip += 1;
        break;
    case 0x9c:
        rt_printf("pushf\n");
        v86_push(f, vflags(f));
        f->eip += 1;
        break;
    case 0x9d:
        rt_printf("popf\n");
        vif = v86_pop(f) >> 9 & 1;
        f->eip += 1;
        break;
    case 0xcd: {
        int n = ip[1];
        if (n == 0x21 && (f->eax >> 8 & 0xff) == 0x4c) {
            rt_printf("int 21h exit\n");
            pm_user_exit(f->eax & 0xff);
        }
        if (f->err != 0) { /* IOPL 3: the IDT gate refused it; skip */
            rt_printf("int %xh refused by its gate, skipped\n", n);
            f->eip += 2;
            break;
        }
        rt_printf("int %xh reflected\n", n);
        v86_push(f, vflags(f));
        v86_push(f, (uint16_t)f->cs);
        v86_push(f, (uint16_t)(f->eip + 2));
        uint16_t *ivt = (uint16_t *)(n * 4);
        f->eip = ivt[0];
        f->cs = ivt[1];
        vif = 0;
        break;
    }
    case 0xcc:
        rt_printf("int3 refused by its gate, skipped\n");
        f->eip += 1;
        break;
    case 0xcf: {
        rt_printf("iret\n");
        f->eip = v86_pop(f);
        f->cs = v86_pop(f);
        vif = v86_pop(f) >> 9 & 1;
        break;
    }
    case 0xe6:
        rt_printf("out %x, al=%x\n", ip[1], f->eax & 0xff);
        f->eip += 2;
        break;
    case 0xef:
        rt_printf("out dx=%x, ax=%x\n", f->edx & 0xffff, f->eax & 0xffff);
        f->eip += 1;
        break;
    case 0xf4:
        rt_printf("hlt\n");
        f->eip += 1;
        break;
    default:
        rt_printf("?\n");
        rt_exit(97);
    }
    return 1;
}

static void run(const char *name, char *entry, uint32_t iopl)
{
    uint32_t frame[9] = { 0x3456, 0x2345, V86_SEG, 0x1234, V86_SEG, 0xfffe, EFL_VM | iopl << 12 | 0x2,
                          V86_SEG, OFF(entry) };
    rt_printf("%s\n", name);
    uint32_t r = v86_enter(frame);
    rt_printf("  back in protected mode, exit code %x\n", r);
}

int main(void)
{
    pm_init();
    rt_printf("pm_v86: virtual-8086 mode\n");
    memcpy((void *)V86_BASE, v86_start, (unsigned)(v86_end - v86_start));
    *(volatile uint16_t *)0x10010 = 0xbeef;
    volatile uint32_t ivt_at = 0x60 * 4; /* (opaque: gcc frowns on small constant pointers) */
    volatile uint16_t *ivt = (volatile uint16_t *)ivt_at;
    ivt[0] = (uint16_t)OFF(int60);
    ivt[1] = V86_SEG;
    pm_hook = monitor;

    run("program 1, IOPL 0", prog1, 0);
    rt_printf("  v86 saw es=%x fs=%x gs=%x ss:sp=%x:%x\n", rd16_v86(r_es), rd16_v86(r_fs), rd16_v86(r_gs),
              rd16_v86(r_ss), rd16_v86(r_sp));
    rt_printf("  1000:0010 -> %x, 1001:0000 -> %x\n", rd16_v86(r_word), rd16_v86(r_word2));
    rt_printf("  virtual IF after cli=%u sti=%u popf=%u; int 60h gave bx=%x\n", rd16_v86(r_fl_cli) >> 9 & 1,
              rd16_v86(r_fl_sti) >> 9 & 1, rd16_v86(r_fl_popf) >> 9 & 1, rd16_v86(r_int60));

    pm_idt[0x61] = pm_gate(KCODE, pm_stub_addr(0x61), T_INTGATE32, 3, 0, 1);
    vif = 1;
    run("program 2, IOPL 3", prog2, 3);
    __asm__ volatile("cli");
    rt_printf("  native flags: after sti if=%u iopl=%u; after popf 0: if=%u iopl=%u\n", rd16_v86(r2_fl) >> 9 & 1,
              rd16_v86(r2_fl) >> 12 & 3, rd16_v86(r2_fl2) >> 9 & 1, rd16_v86(r2_fl2) >> 12 & 3);
    pm_hook = 0;
    return rt_failures;
}
