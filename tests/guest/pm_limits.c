/*
 * Segment limit and type checks on ordinary accesses (Intel SDM Vol. 3
 * 5.3, 5.4, 5.6): byte- and page-granular limits, accesses that straddle
 * the limit, expand-down data and stack segments (with B = 0 and 1),
 * writes to read-only data, reads of execute-only code, null segments,
 * the CS limit on near jumps, and the accessed bit of CS loads.
 *
 * QEMU's TCG does not check segment limits or types on ordinary data,
 * stack and instruction accesses, nor use of a null data segment, and it
 * does not set the accessed bit when a far JMP loads CS. On QEMU most
 * lines below therefore print "ok" (and the straddling write changes
 * memory) where the SDM requires the fault this file expects. The
 * .expected file follows the SDM; run under QEMU only to see the
 * difference.
 */
#include "pm/lib.h"

enum {
    G_BYTE = GDT_FIRST_FREE, /* 0x40 RW data, base 0x40000, limit 0xfff */
    G_PAGE,                  /* 0x48 RW data, base 0x40000, limit 0 with G=1 (0xfff) */
    G_DOWN32,                /* 0x50 expand-down RW, base 0, limit 0x40fff, B=1 */
    G_DOWN16,                /* 0x58 expand-down RW, base 0x40000, limit 0x0fff, B=0 */
    G_RO,                    /* 0x60 read-only data, base 0x40000, limit 0xfff */
    G_XO,                    /* 0x68 execute-only code DPL 0 */
    G_RX,                    /* 0x70 readable code */
    G_STK3,                  /* 0x78 ring-3 expand-down stack */
    G_CODE_LIM,              /* 0x80 ring-0 code based at lim_code, limit ends inside it */
    G_CODE_NA,               /* 0x88 ring-0 code with A clear */
};

#define BUF 0x40000u /* scratch memory below 1 MiB */

static void data_limits(void)
{
    rt_printf("-- limits of data segments\n");
    __asm__ volatile("mov %w0, %%es" : : "r"(G_BYTE << 3));
    PM_TRY("byte limit fff: dword at ffc", "movl %%es:0xffc, %%eax", : : : "eax", "memory");
    PM_TRY("byte limit fff: dword at ffd", "movl %%es:0xffd, %%eax", : : : "eax", "memory");
    PM_TRY("byte limit fff: byte at fff", "movb %%es:0xfff, %%al", : : : "eax", "memory");
    PM_TRY("byte limit fff: byte at 1000", "movb %%es:0x1000, %%al", : : : "eax", "memory");
    PM_TRY("byte limit fff: offset ffffffff", "movb %%es:0xffffffff, %%al", : : : "eax", "memory");
    *(volatile uint32_t *)(BUF + 0xffc) = 0x11223344;
    PM_TRY("byte limit fff: word write at ffe..1001", "movl $0xaabbccdd, %%es:0xffe", : : : "memory");
    rt_printf("  memory at ffc unchanged: %x\n", *(volatile uint32_t *)(BUF + 0xffc));
    __asm__ volatile("mov %w0, %%es" : : "r"(G_PAGE << 3));
    PM_TRY("G=1 limit 0: byte at fff", "movb %%es:0xfff, %%al", : : : "eax", "memory");
    PM_TRY("G=1 limit 0: byte at 1000", "movb %%es:0x1000, %%al", : : : "eax", "memory");
    __asm__ volatile("mov %w0, %%es" : : "r"(G_RO << 3));
    PM_TRY("read-only: read", "movl %%es:0x10, %%eax", : : : "eax", "memory");
    PM_TRY("read-only: write", "movl %%eax, %%es:0x10", : : : "memory");
    PM_TRY("read-only: add to memory", "addl %%eax, %%es:0x10", : : : "memory");
    pm_flat_esfsgs();
}

static void expand_down(void)
{
    rt_printf("-- expand-down segments\n");
    __asm__ volatile("mov %w0, %%es" : : "r"(G_DOWN32 << 3));
    PM_TRY("down B=1 limit 40fff: byte at 40fff", "movb %%es:0x40fff, %%al", : : : "eax", "memory");
    PM_TRY("down B=1: byte at 41000", "movb %%es:0x41000, %%al", : : : "eax", "memory");
    PM_TRY("down B=1: dword at 40ffe", "movl %%es:0x40ffe, %%eax", : : : "eax", "memory");
    PM_TRY("down B=1: dword at fffffffc", "movl %%es:0xfffffffc, %%eax", : : : "eax", "memory");
    PM_TRY("down B=1: dword at fffffffd", "movl %%es:0xfffffffd, %%eax", : : : "eax", "memory");
    PM_TRY("down B=1: byte at 0", "movb %%es:0, %%al", : : : "eax", "memory");
    __asm__ volatile("mov %w0, %%es" : : "r"(G_DOWN16 << 3));
    PM_TRY("down B=0 limit fff: byte at 1000", "movb %%es:0x1000, %%al", : : : "eax", "memory");
    PM_TRY("down B=0: word at fffe", "movw %%es:0xfffe, %%ax", : : : "eax", "memory");
    PM_TRY("down B=0: word at ffff", "movw %%es:0xffff, %%ax", : : : "eax", "memory");
    PM_TRY("down B=0: byte at 10000", "movb %%es:0x10000, %%al", : : : "eax", "memory");
    PM_TRY("down B=0: byte at fff", "movb %%es:0xfff, %%al", : : : "eax", "memory");
    pm_flat_esfsgs();
}

/* A flat segment (base 0, limit 4 GiB-1) still faults on an access whose
 * last byte lies past 4 GiB; translated code skips the limit check for
 * flat segments and must catch exactly this case on its slow path. */
static void flat_wrap(void)
{
    rt_printf("-- flat segments at 4 GiB\n");
    PM_TRY("flat ds: dword at fffffffd", "movl 0xfffffffd, %%eax", : : : "eax", "memory");
    PM_TRY("flat ds: word write at ffffffff", "movw %%ax, 0xffffffff", : : : "memory");
    PM_TRY("flat ds: dword write at [ebx=fffffffe]", "movl %%eax, (%%ebx)", : : "b"(0xfffffffeu) : "memory");
    PM_TRY("flat ds: add to dword at fffffffe", "addl %%eax, 0xfffffffe", : : : "memory");
    PM_TRY("flat ss: dword at fffffffe", "movl %%ss:0xfffffffe, %%eax", : : : "eax", "memory");
    PM_TRY("flat es: fld qword at fffffffc", "fldl %%es:0xfffffffc", : : : "memory");
}

static void code_as_data(void)
{
    rt_printf("-- code segments as data, null segments\n");
    __asm__ volatile("mov %w0, %%es" : : "r"(G_RX << 3));
    PM_TRY("readable code: read", "movl %%es:0x100000, %%eax", : : : "eax", "memory");
    PM_TRY("readable code: write", "movl %%eax, %%es:0x40000", : : : "memory");
    PM_TRY("cs override read (readable)", "movl %%cs:0x100000, %%eax", : : : "eax", "memory");
    PM_TRY("cs override write", "movl %%eax, %%cs:0x40000", : : : "memory");
    pm_flat_esfsgs();
    PM_TRYB("null es: read", "mov %w0, %%es", "movl %%es:0x40000, %%eax", "", : : "r"(0) : "eax", "memory");
    pm_flat_esfsgs();
    PM_TRYB("null fs: write", "mov %w0, %%fs", "movl %%eax, %%fs:0x40000", "", : : "r"(0) : "memory");
    PM_TRYB("null gs: lea is fine", "mov %w0, %%gs", "leal %%gs:0x40000, %%eax", "", : : "r"(0) : "eax", "memory");
    PM_TRYB("null gs rpl3: string store", "mov %w0, %%gs", "movl %%gs:0x40000, %%eax", "", : : "r"(3)
            : "eax", "memory");
    pm_flat_esfsgs();
}

/* Ring 3 on an expand-down stack (limit 0xff7, so offsets 0xff8 and up)
 * starting at ESP 0x1000: the third push faults with #SS(0) and leaves
 * ESP as it was. */
static uint8_t stk3[256] __attribute__((aligned(16)));
volatile uint32_t s_esp_before, s_esp_at_fault;
static uint32_t user_stack(void)
{
    uint16_t ss = G_STK3 << 3 | 3;
    PM_TRYB("r3 push below expand-down limit",
            "movl %%esp, pm_saved_esp\n\tmov %w0, %%ss\n\tmovl %2, %%esp\n\t"
            "pushl $1\n\tpushl $2\n\tmovl %%esp, s_esp_before",
            "pushl $3", "movl %%esp, s_esp_at_fault\n\tmov %w1, %%ss\n\tmovl pm_saved_esp, %%esp",
            : : "r"(ss), "r"(UDATA), "i"(0x1000) : "memory");
    rt_printf("  esp unchanged by the fault: %u\n", s_esp_before == s_esp_at_fault);
    PM_TRYB("r3 pushal across the limit",
            "movl %%esp, pm_saved_esp\n\tmov %w0, %%ss\n\tmovl %2, %%esp\n\tmovl %%esp, s_esp_before",
            "pushal", "movl %%esp, s_esp_at_fault\n\tmov %w1, %%ss\n\tmovl pm_saved_esp, %%esp",
            : : "r"(ss), "r"(UDATA), "i"(0x1000) : "memory");
    rt_printf("  esp unchanged by the fault: %u\n", s_esp_before == s_esp_at_fault);
    return 0;
}

/* A code segment whose limit ends inside lim_code: the near JMP to a
 * target beyond it faults at the JMP; straight-line execution reaching
 * the limit faults at the first instruction that does not fit. */
__asm__(".text\n"
        "lim_code:\n\t"
        "nop\n\t"
        "jmp lim_far\n"
        "lim_mid:\n\t"
        "nop\n\t"
        "nop\n\t"
        "movl $0x12345678, %eax\n" /* 5 bytes: straddles the limit */
        "lim_end:\n\t"
        "nop\n"
        "lim_far:\n\t"
        "nop\n");
extern char lim_code[], lim_mid[], lim_end[], lim_far[];

static volatile uint32_t lim_eip, lim_cs, lim_vec, lim_err;
static int hook_cs(struct pm_frame *f)
{
    if ((f->cs & 0xffff) != G_CODE_LIM << 3)
        return 0;
    lim_vec = f->vector;
    lim_err = f->err;
    lim_eip = f->eip;
    lim_cs = f->cs;
    f->cs = KCODE;
    f->eip = pm_resume;
    return 1;
}

static void cs_limit(void)
{
    rt_printf("-- CS limit\n");
    pm_gdt[G_CODE_LIM] = pm_desc((uint32_t)lim_code, (uint32_t)(lim_end - lim_code) - 3, T_CODE_RX, 0, D_S | D_DB);
    pm_hook = hook_cs;
    lim_vec = 99;
    PM_TRY("jmp to lim_code", "ljmp %0, $0", : : "i"(G_CODE_LIM << 3) : "memory");
    rt_printf("  vector %u err %x at jmp=%u\n", lim_vec, lim_err, lim_eip == 1);
    lim_vec = 99;
    PM_TRY("jmp to lim_mid", "ljmp %0, $(lim_mid - lim_code)", : : "i"(G_CODE_LIM << 3) : "memory");
    rt_printf("  vector %u err %x at mov=%u\n", lim_vec, lim_err, lim_eip == (uint32_t)(lim_end - lim_code) - 5);
    PM_TRY("ljmp beyond the limit", "ljmp %0, $(lim_far - lim_code)", : : "i"(G_CODE_LIM << 3) : "memory");
    pm_hook = 0;

    pm_gdt[G_CODE_NA] = pm_desc(0, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G); /* A clear */
    __asm__ volatile("ljmp %0, $1f\n1:\tljmp %1, $2f\n2:" : : "i"(G_CODE_NA << 3), "i"(KCODE) : "memory");
    rt_printf("accessed bit after a far jmp loads CS: %u\n", (unsigned)(pm_gdt[G_CODE_NA] >> 40 & 1));
    uint32_t v;
    __asm__ volatile("larl %w1, %0" : "=r"(v) : "r"(KDATA) : "cc");
    rt_printf("lar kdata (limit bits 19:16 included): %x\n", v);
}

int main(void)
{
    pm_init();
    pm_gdt[G_BYTE] = pm_desc(BUF, 0xfff, T_DATA_RW, 0, D_S | D_DB);
    pm_gdt[G_PAGE] = pm_desc(BUF, 0, T_DATA_RW, 0, D_S | D_DB | D_G);
    pm_gdt[G_DOWN32] = pm_desc(0, 0x40fff, T_DATA_RW_ED, 0, D_S | D_DB);
    pm_gdt[G_DOWN16] = pm_desc(BUF, 0x0fff, T_DATA_RW_ED, 0, D_S);
    pm_gdt[G_RO] = pm_desc(BUF, 0xfff, T_DATA_RO, 0, D_S | D_DB);
    pm_gdt[G_XO] = pm_desc(0, 0xfffff, T_CODE_XO, 0, D_S | D_DB | D_G);
    pm_gdt[G_RX] = pm_desc(0, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G);
    rt_printf("pm_limits: limit and type checks on accesses\n");
    data_limits();
    expand_down();
    flat_wrap();
    code_as_data();

    /* Offset 0x1000 of the ring-3 stack is stk3 + 0x80. */
    pm_gdt[G_STK3] = pm_desc((uint32_t)stk3 + 0x80 - 0x1000, 0xff7, T_DATA_RW_ED, 3, D_S | D_DB);
    pm_user_call(user_stack, 0x2);

    /* Execute-only CS as the running code segment: reads through CS fault. */
    __asm__ volatile("ljmp %0, $1f\n1:" : : "i"(G_XO << 3) : "memory");
    PM_TRY("execute-only cs: read through cs", "movl %%cs:0x100000, %%eax", : : : "eax", "memory");
    __asm__ volatile("ljmp %0, $1f\n1:" : : "i"(KCODE) : "memory");

    cs_limit();
    return rt_failures;
}
