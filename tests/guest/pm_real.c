/*
 * Leaving protected mode for real mode and coming back, the way firmware
 * does it (SeaBIOS's transitions): a far JMP to a 16-bit protected-mode
 * code segment, 16-bit data segments, CR0.PE cleared, a far JMP that
 * loads a real-mode CS; later LIDT, CR0.PE set, instructions still run
 * with the old CS cache until a 32-bit far JMP loads a protected-mode CS.
 * In real mode: far CALL/RET and JMP through memory, INT n through the
 * IVT and IRET, an exception through the IVT whose saved IP is the
 * faulting instruction, and "unreal" mode (a 4 GiB limit cached in FS
 * from protected mode survives real-mode loads of FS).
 *
 * The real-mode code is copied to 3000:0000 and records what it sees in
 * its own data, which the protected-mode side prints afterwards.
 *
 * Every line matches QEMU (TCG) 7.2 for the same ELF.
 */
#include "pm/lib.h"

#define RM_SEG 0x3000u
#define RM_BASE (RM_SEG << 4)

enum {
    G_CODE16_B = GDT_FIRST_FREE, /* 0x40 16-bit code, base 0x30000, limit 0xffff */
    G_DATA16_B,                  /* 0x48 16-bit data, base 0x30000, limit 0xffff */
};

__asm__(".text\n"
        ".code16\n"
        "rm_start:\n"
        /* Entered at 0040:offset in 16-bit protected mode. */
        "rm_pm16:\n\t"
        "movw $0x48, %ax\n\t"
        "movw %ax, %ds\n\t"
        "movw %ax, %es\n\t"
        "movw %ax, %ss\n\t"
        "movw $0x10, %ax\n\t" /* FS: flat 4 GiB, kept for unreal mode */
        "movw %ax, %fs\n\t"
        "movl %cr0, %eax\n\t"
        "andl $~1, %eax\n\t"
        "movl %eax, %cr0\n\t"
        "ljmp $0x3000, $(rm_real - rm_start)\n"
        "rm_real:\n\t"
        "movw $0x3000, %ax\n\t"
        "movw %ax, %ds\n\t"
        "movw %ax, %es\n\t"
        "movw %ax, %ss\n\t"
        "movw $0xfff0, %sp\n\t"
        "xorw %ax, %ax\n\t"
        "movw %ax, %fs\n\t"
        "lidt (rm_ivt_desc - rm_start)\n\t"
        "movw %cs, (r_cs - rm_start)\n\t"
        "movl %cr0, %eax\n\t"
        "movl %eax, (r_cr0 - rm_start)\n\t"
        /* INT 60h through the IVT. */
        "movw $0x1111, %bx\n\t"
        "int $0x60\n"
        "rm_after_int:\n\t"
        "movw %bx, (r_bx - rm_start)\n\t"
        /* Far CALL and RET, far JMP through memory. */
        "xorb %cl, %cl\n\t"
        "lcall $0x3000, $(rm_func - rm_start)\n\t"
        "movb %cl, (r_cl - rm_start)\n\t"
        "ljmp *(rm_farptr - rm_start)\n"
        "rm_after_jmp:\n\t"
        "movw $1, (r_jmp - rm_start)\n\t"
        /* #DE through IVT[0]: the handler skips the 2-byte DIV. */
        "xorw %cx, %cx\n\t"
        "movw $1, %ax\n"
        "rm_div:\n\t"
        "divw %cx\n\t"
        /* Unreal mode: FS still has the 4 GiB limit. */
        "movl (r_unreal_addr - rm_start), %esi\n\t"
        "movl %fs:(%esi), %eax\n\t"
        "movl %eax, (r_unreal - rm_start)\n\t"
        /* Back to protected mode. */
        "lidtl (rm_pmidt_desc - rm_start)\n\t"
        "movl %cr0, %eax\n\t"
        "orl $1, %eax\n\t"
        "movl %eax, %cr0\n\t"
        /* Still the real-mode CS and DS caches until the far JMP. */
        "movw $1, (r_after_pe - rm_start)\n\t"
        "ljmpl $0x08, $rm_back32\n"
        "rm_func:\n\t"
        "movb $0x55, %cl\n\t"
        "lret\n"
        "rm_int60:\n\t"
        "movw %sp, %bp\n\t"
        "movw 0(%bp), %ax\n\tmovw %ax, (r_int_ip - rm_start)\n\t"
        "movw 2(%bp), %ax\n\tmovw %ax, (r_int_cs - rm_start)\n\t"
        "movw 4(%bp), %ax\n\tmovw %ax, (r_int_fl - rm_start)\n\t"
        "pushf\n\tpopw %ax\n\tmovw %ax, (r_int_fl_in - rm_start)\n\t"
        "movw $0x2222, %bx\n\t"
        "iret\n"
        "rm_de:\n\t"
        "movw %sp, %bp\n\t"
        "movw 0(%bp), %ax\n\tmovw %ax, (r_de_ip - rm_start)\n\t"
        "movw 2(%bp), %ax\n\tmovw %ax, (r_de_cs - rm_start)\n\t"
        "addw $2, 0(%bp)\n\t"
        "iret\n"
        ".balign 4\n"
        "rm_ivt_desc: .word 0x3ff\n\t.long 0\n"
        "rm_pmidt_desc: .word 0x7ff\n\t.long pm_idt\n"
        "rm_farptr: .word (rm_after_jmp - rm_start), 0x3000\n"
        ".balign 4\n"
        "r_unreal_addr: .long 0\n"
        "r_unreal: .long 0\n"
        "r_cr0: .long 0\n"
        "r_cs: .word 0\n"
        "r_bx: .word 0\n"
        "r_cl: .word 0\n"
        "r_jmp: .word 0\n"
        "r_int_ip: .word 0\n"
        "r_int_cs: .word 0\n"
        "r_int_fl: .word 0\n"
        "r_int_fl_in: .word 0\n"
        "r_de_ip: .word 0\n"
        "r_de_cs: .word 0\n"
        "r_after_pe: .word 0\n"
        "rm_end:\n"
        ".code32\n"
        /* uint32_t rm_enter(void): leave for real mode and come back. */
        "rm_enter:\n\t"
        "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
        "movl %esp, rm_saved_esp\n\t"
        "ljmp $0x40, $(rm_pm16 - rm_start)\n"
        "rm_back32:\n\t"
        "movl $0x10, %eax\n\t"
        "mov %eax, %ds\n\tmov %eax, %es\n\tmov %eax, %fs\n\tmov %eax, %gs\n\tmov %eax, %ss\n\t"
        "movl rm_saved_esp, %esp\n\t"
        "popl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\t"
        "ret\n");
extern char rm_start[], rm_end[], rm_int60[], rm_de[], rm_after_int[], rm_div[];
extern char r_unreal_addr[], r_unreal[], r_cr0[], r_cs[], r_bx[], r_cl[], r_jmp[], r_int_ip[], r_int_cs[],
    r_int_fl[], r_int_fl_in[], r_de_ip[], r_de_cs[], r_after_pe[];
void rm_enter(void);
uint32_t rm_saved_esp;

#define OFF(sym) ((uint32_t)(sym) - (uint32_t)rm_start)
static uint32_t rd(char *sym, int size)
{
    volatile uint8_t *p = (volatile uint8_t *)(RM_BASE + OFF(sym));
    return size == 4 ? *(volatile uint32_t *)p : *(volatile uint16_t *)p;
}

static volatile uint32_t high_value = 0xcafef00d;

int main(void)
{
    pm_init();
    pm_gdt[G_CODE16_B] = pm_desc(RM_BASE, 0xffff, T_CODE_RX, 0, D_S);
    pm_gdt[G_DATA16_B] = pm_desc(RM_BASE, 0xffff, T_DATA_RW, 0, D_S);
    rt_printf("pm_real: protected -> real -> protected mode\n");
    memcpy((void *)RM_BASE, rm_start, (unsigned)(rm_end - rm_start));
    *(volatile uint32_t *)(RM_BASE + OFF(r_unreal_addr)) = (uint32_t)&high_value;
    volatile uint32_t ivt_at = 0; /* (opaque: gcc frowns on small constant pointers) */
    volatile uint16_t *ivt = (volatile uint16_t *)ivt_at;
    ivt[0] = (uint16_t)OFF(rm_de);
    ivt[1] = RM_SEG;
    ivt[0x60 * 2] = (uint16_t)OFF(rm_int60);
    ivt[0x60 * 2 + 1] = RM_SEG;

    rm_enter();

    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    rt_printf("back in protected mode: cs=%x\n", cs);
    rt_printf("real mode: cs=%x cr0.pe=%u\n", rd(r_cs, 2), rd(r_cr0, 4) & 1);
    rt_printf("int 60h: bx=%x, frame ip ok=%u cs=%x if/tf pushed=%x, in handler=%x\n", rd(r_bx, 2),
              rd(r_int_ip, 2) == OFF(rm_after_int), rd(r_int_cs, 2), rd(r_int_fl, 2) & 0x300,
              rd(r_int_fl_in, 2) & 0x300);
    rt_printf("far call/ret: cl=%x; far jmp through memory: %u\n", rd(r_cl, 2) & 0xff, rd(r_jmp, 2));
    rt_printf("#DE through IVT: saved ip at div=%u cs=%x\n", rd(r_de_ip, 2) == OFF(rm_div), rd(r_de_cs, 2));
    rt_printf("unreal fs read at %s: %x\n", (uint32_t)&high_value >= 0x100000 ? "1 MiB+" : "?", rd(r_unreal, 4));
    rt_printf("ran with the old CS cache after setting PE: %u\n", rd(r_after_pe, 2));

    /* The protected-mode machinery still works after the round trip. */
    PM_TRY("ud2 after the round trip", "ud2", : : : "memory");
    return rt_failures;
}
