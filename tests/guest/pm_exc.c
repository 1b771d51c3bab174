/*
 * Exceptions in protected mode (Intel SDM Vol. 3 ch. 6): each vector this
 * CPU raises without paging or x87 error reporting, with its error code
 * and the saved CS:EIP (faults: the faulting instruction; traps: the one
 * after); error codes with the EXT and IDT bits for faults raised while
 * delivering; interrupt versus trap gates; 16-bit gates; double faults
 * (contributory after contributory) and the benign combinations that are
 * delivered one after the other; and restart after the handler fixes the
 * cause (#NP, #NM).
 *
 * Every line matches QEMU (TCG) 7.2 for the same ELF except where QEMU
 * departs from the SDM:
 * - the EXT bit (bit 0) of error codes for faults raised while delivering
 *   an exception (SDM 6.13: set when the event being delivered is external
 *   to the program, "such as an interrupt or an earlier exception"); QEMU
 *   never sets it, so its "ud2, #UD gate ..." and "#DB gate to data" codes
 *   are one less;
 * - INT1 (ICEBP, F1) raises #DB as a trap without the gate DPL check (SDM
 *   INT n/INTO/INT3/INT1); QEMU builds without WANT_ICEBP and gives #UD.
 */
#include "pm/lib.h"

enum {
    G_NP = GDT_FIRST_FREE, /* 0x40 not-present data (fixed by the #NP handler) */
    G_CODE_NP,             /* 0x48 not-present code */
    G_KCODE_B,             /* 0x50 ring-0 code based so that the 16-bit handlers are below 64K */
    G_NP2,                 /* 0x58 not-present data (stays so) */
};

static void vectors(void)
{
    rt_printf("-- one of each\n");
    PM_TRYB("div by zero", "xorl %%edx, %%edx; movl $1, %%eax; xorl %%ecx, %%ecx", "divl %%ecx", "",
            : : : "eax", "ecx", "edx", "memory");
    PM_TRYB("idiv overflow", "movl $0x80000000, %%eax; cltd; movl $-1, %%ecx", "idivl %%ecx", "",
            : : : "eax", "ecx", "edx", "memory");
    PM_TRYB("single step (TF by popf)", "pushfl; orl $0x100, (%%esp); popfl", "nop", "", : : : "memory");
    PM_TRY("int3", "int3", : : : "memory");
    PM_TRY("int $3", "int $3", : : : "memory");
    PM_TRYB("into, OF=1", "movb $0x7f, %%al; addb $1, %%al", "into", "", : : : "eax", "memory");
    PM_TRYB("into, OF=0", "xorl %%eax, %%eax", "into", "", : : : "eax", "memory");
    static const int32_t bounds[2] = { 0, 4 };
    PM_TRYB("bound out of range", "movl $5, %%eax", "boundl %%eax, %0", "", : : "m"(bounds) : "eax", "memory");
    PM_TRYB("bound in range", "movl $4, %%eax", "boundl %%eax, %0", "", : : "m"(bounds) : "eax", "memory");
    PM_TRY("ud2", "ud2", : : : "memory");
    PM_TRY("lock nop", ".byte 0xf0, 0x90", : : : "memory");
    PM_TRY("lock add reg", "lock; addl %%eax, %%eax" , : : : "eax", "memory");
    PM_TRY("ss not present", "mov %w0, %%ss", : : "r"(G_NP2 << 3) : "memory");
    PM_TRY("gp: es = tss", "mov %w0, %%es", : : "r"(TSS_SEL) : "memory");
    PM_TRY("np: es not present", "mov %w0, %%es", : : "r"(G_NP2 << 3) : "memory");
    PM_TRY("int $1 from ring 0", "int $1", : : : "memory");
}

static uint32_t user_traps(void)
{
    PM_TRY("r3 icebp", ".byte 0xf1", : : : "memory");
    PM_TRY("r3 int $1", "int $1", : : : "memory");
    PM_TRYB("r3 into dpl0 gate", "movb $0x7f, %%al; addb $1, %%al", "into", "", : : : "eax", "memory");
    return 0;
}

/* Error codes of faults raised while delivering (EXT, IDT bits). */
static void delivery_errors(void)
{
    rt_printf("-- faults while delivering\n");
    pm_lidt(pm_idt, 0x40 * 8 - 1);
    PM_TRY("int $0x50 beyond idt limit", "int $0x50", : : : "memory");
    pm_lidt(pm_idt, sizeof(pm_idt) - 1);

    uint64_t ud = pm_idt[6];
    pm_idt[6] = pm_gate(KCODE, pm_stub_addr(6), T_INTGATE32, 0, 0, 0);
    PM_TRY("ud2, #UD gate not present", "ud2", : : : "memory");
    pm_idt[6] = pm_gate(0, pm_stub_addr(6), T_INTGATE32, 0, 0, 1);
    PM_TRY("ud2, #UD gate null selector", "ud2", : : : "memory");
    pm_idt[6] = pm_gate(KDATA, pm_stub_addr(6), T_INTGATE32, 0, 0, 1);
    PM_TRY("ud2, #UD gate to data", "ud2", : : : "memory");
    pm_idt[6] = pm_gate(G_CODE_NP << 3, pm_stub_addr(6), T_INTGATE32, 0, 0, 1);
    PM_TRY("ud2, #UD gate code not present", "ud2", : : : "memory");
    pm_idt[6] = pm_gate(KCODE, pm_stub_addr(6), T_CALLGATE32, 0, 0, 1);
    PM_TRY("ud2, #UD entry is a call gate", "ud2", : : : "memory");
    pm_idt[6] = pm_gate(KCODE, pm_stub_addr(6), 0x3, 0, 0, 1);
    PM_TRY("ud2, #UD entry is a busy tss", "ud2", : : : "memory");
    pm_idt[6] = ud;

    pm_idt[0x85] = pm_gate(KDATA, pm_stub_addr(0x85), T_INTGATE32, 0, 0, 1);
    PM_TRY("int $0x85 gate to data", "int $0x85", : : : "memory");
    pm_idt[0x86] = pm_gate(KCODE, pm_stub_addr(0x86), T_INTGATE32, 3, 0, 0);
    PM_TRY("int $0x86 gate not present", "int $0x86", : : : "memory");
    pm_idt[0x87] = pm_gate(G_CODE_NP << 3, pm_stub_addr(0x87), T_TRAPGATE32, 0, 0, 1);
    PM_TRY("int $0x87 code not present", "int $0x87", : : : "memory");
    pm_idt[0x85] = pm_default_gate(0x85);
    pm_idt[0x86] = pm_default_gate(0x86);
    pm_idt[0x87] = pm_default_gate(0x87);
}

/* Interrupt gates clear IF, trap gates keep it. */
static volatile uint32_t h_if_frame, h_if_now;
static int hook_if(struct pm_frame *f)
{
    if (f->vector != 0x82 && f->vector != 0x83)
        return 0;
    h_if_frame = f->eflags >> 9 & 1;
    h_if_now = pm_eflags() >> 9 & 1;
    return 1;
}

static void gate_kinds(void)
{
    rt_printf("-- interrupt and trap gates\n");
    pm_idt[0x83] = pm_gate(KCODE, pm_stub_addr(0x83), T_TRAPGATE32, 0, 0, 1);
    pm_hook = hook_if;
    __asm__ volatile("sti; int $0x82; cli" ::: "memory");
    rt_printf("interrupt gate: if in frame=%u in handler=%u\n", h_if_frame, h_if_now);
    __asm__ volatile("sti; int $0x83; cli" ::: "memory");
    rt_printf("trap gate: if in frame=%u in handler=%u\n", h_if_frame, h_if_now);
    pm_hook = 0;
    pm_idt[0x83] = pm_default_gate(0x83);
}

/* 16-bit gates push words. The handlers run in a code segment based so
 * that their offsets fit the gate's 16 bits, record the frame and jump
 * back to label 9 of the PM_TRYB with ESP from pm_saved_esp. */
volatile uint16_t h16[6];
volatile uint32_t h16_esp;
struct {
    uint32_t off;
    uint16_t sel;
} __attribute__((packed)) volatile h16_far;
__asm__(".text\n"
        "handler16:\n\t"
        "movl %esp, h16_esp\n\t"
        "movw 0(%esp), %ax\n\tmovw %ax, h16\n\t"
        "movw 2(%esp), %ax\n\tmovw %ax, h16+2\n\t"
        "movw 4(%esp), %ax\n\tmovw %ax, h16+4\n\t"
        "movw 6(%esp), %ax\n\tmovw %ax, h16+6\n\t"
        "movl pm_saved_esp, %esp\n\t"
        "movl pm_resume, %eax\n\tmovl %eax, h16_far\n\tmovw $8, h16_far+4\n\t"
        "ljmp *h16_far\n");
extern char handler16[];

static void gates16(void)
{
    rt_printf("-- 16-bit gates\n");
    uint32_t base = (uint32_t)handler16 & 0xffff0000u;
    pm_gdt[G_KCODE_B] = pm_desc(base, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G);
    pm_idt[0x84] = pm_gate(G_KCODE_B << 3, (uint32_t)handler16 - base, T_INTGATE16, 0, 0, 1);
    PM_TRYB("int $0x84 via 16-bit gate", "movl %%esp, pm_saved_esp", "int $0x84", "", : : : "eax", "memory");
    rt_printf("  ip ok=%u cs=%x flags=%x pushed=%u\n", h16[0] == (uint16_t)pm_next, h16[1], h16[2],
              pm_saved_esp - h16_esp);
    uint64_t gp = pm_idt[13];
    pm_idt[13] = pm_gate(G_KCODE_B << 3, (uint32_t)handler16 - base, T_TRAPGATE16, 0, 0, 1);
    PM_TRYB("#GP via 16-bit gate", "movl %%esp, pm_saved_esp", "mov %w0, %%es", "", : : "r"(TSS_SEL) : "eax", "memory");
    rt_printf("  err=%x ip ok=%u cs=%x flags=%x pushed=%u\n", h16[0], h16[1] == (uint16_t)pm_at, h16[2], h16[3],
              pm_saved_esp - h16_esp);
    pm_idt[13] = gp;
    pm_idt[0x84] = pm_default_gate(0x84);
}

static void double_faults(void)
{
    rt_printf("-- double faults\n");
    uint64_t gp = pm_idt[13], np = pm_idt[11], de = pm_idt[0], ss = pm_idt[12];
    pm_idt[13] = pm_gate(KCODE, pm_stub_addr(13), T_INTGATE32, 0, 0, 0);
    PM_TRY("#GP, #GP gate not present", "mov %w0, %%es", : : "r"(TSS_SEL) : "memory");
    pm_idt[13] = gp;
    pm_idt[11] = pm_gate(KDATA, pm_stub_addr(11), T_INTGATE32, 0, 0, 1);
    PM_TRY("#NP, #NP gate to data", "mov %w0, %%es", : : "r"(G_NP2 << 3) : "memory");
    pm_idt[11] = np;
    pm_idt[0] = pm_gate(KCODE, pm_stub_addr(0), T_INTGATE32, 0, 0, 0);
    PM_TRYB("#DE, #DE gate not present", "xorl %%edx, %%edx; movl $1, %%eax; xorl %%ecx, %%ecx", "divl %%ecx", "",
            : : : "eax", "ecx", "edx", "memory");
    pm_idt[0] = de;
    pm_idt[12] = pm_gate(KCODE, pm_stub_addr(12), T_INTGATE32, 0, 0, 0);
    PM_TRY("#SS, #SS gate not present", "mov %w0, %%ss", : : "r"(G_NP2 << 3) : "memory");
    pm_idt[12] = ss;
    /* Benign first: delivered one after the other. */
    pm_idt[3] = pm_gate(KCODE, pm_stub_addr(3), T_INTGATE32, 0, 0, 0);
    PM_TRY("int3, #BP gate not present", "int3", : : : "memory");
    pm_idt[3] = pm_default_gate(3);
    pm_idt[1] = pm_gate(KDATA, pm_stub_addr(1), T_INTGATE32, 0, 0, 1);
    PM_TRYB("single step, #DB gate to data", "pushfl; orl $0x100, (%%esp); popfl", "nop", "", : : : "memory");
    pm_idt[1] = pm_default_gate(1);
    /* Benign #UD, then #NP for its gate (serial), then #NP for the #NP
     * gate: contributory after contributory. */
    pm_idt[6] = pm_gate(KCODE, pm_stub_addr(6), T_INTGATE32, 0, 0, 0);
    pm_idt[11] = pm_gate(KCODE, pm_stub_addr(11), T_INTGATE32, 0, 0, 0);
    PM_TRY("ud2, #UD and #NP gates not present", "ud2", : : : "memory");
    pm_idt[11] = np;
    pm_idt[6] = pm_default_gate(6);
}

/* Restart: the handler fixes the cause and returns to the faulting
 * instruction, which then completes. */
static volatile int fixes;
static int hook_fix(struct pm_frame *f)
{
    if (f->vector == 11 && (f->err & ~7u) == G_NP << 3) {
        pm_gdt[G_NP] |= 1ull << 47; /* present */
        fixes++;
        return 1;
    }
    if (f->vector == 7) {
        __asm__ volatile("clts");
        fixes++;
        return 1;
    }
    return 0;
}

static void restarts(void)
{
    rt_printf("-- restart after fixing the cause\n");
    pm_hook = hook_fix;
    fixes = 0;
    uint16_t es = 0;
    PM_TRYX("mov es, not present -> handler sets P", "mov %w1, %%es", "mov %%es, %0", : "=r"(es) : "r"(G_NP << 3)
            : "memory");
    rt_printf("  fixed %d times, es=%x\n", fixes, es);
    pm_flat_esfsgs();
    fixes = 0;
    uint32_t cr0;
    __asm__ volatile("mov %%cr0, %0; orl $8, %0; mov %0, %%cr0" : "=r"(cr0));
    uint16_t cw = 0;
    PM_TRYX("fninit with CR0.TS -> handler clears TS", "fninit", "fnstcw %0", : "=m"(cw) : : "memory");
    rt_printf("  fixed %d times, fcw=%x\n", fixes, cw);
    pm_hook = 0;
}

int main(void)
{
    pm_init();
    pm_gdt[G_NP] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G | D_NP);
    pm_gdt[G_NP2] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G | D_NP);
    pm_gdt[G_CODE_NP] = pm_desc(0, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G | D_NP);
    rt_printf("pm_exc: exceptions\n");
    vectors();
    pm_user_call(user_traps, 0x2);
    delivery_errors();
    gate_kinds();
    gates16();
    double_faults();
    restarts();
    return rt_failures;
}
