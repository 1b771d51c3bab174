/*
 * Privilege-level changes (Intel SDM Vol. 3 5.8, 6.12; Vol. 2 CALL, RET,
 * IRET): to ring 3 by IRET, back by INT through an interrupt gate with the
 * TSS stack switch, call gates (32- and 16-bit, parameter copying, the
 * inner stack from the TSS and its checks), RETF imm16 to the outer ring,
 * conforming code, data segments nulled on the way out, IRET's EFLAGS
 * rules by CPL and IOPL, and the IOPL/I-O-bitmap checks of ring 3.
 *
 * Every line matches QEMU (TCG) 7.2 for the same ELF except three, where
 * QEMU departs from the SDM:
 * - "r3 gate to conforming": a call through a gate to conforming code of
 *   a lower DPL runs at the caller's CPL with CS.RPL = CPL (SDM CALL,
 *   SAME-PRIVILEGE: "CS(RPL) <- CPL"); QEMU takes CS.RPL and the CPL from
 *   the code segment's DPL (cs=70, and the code then runs at ring 0).
 * - "iret/retf to outer, eip beyond limit": the SDM checks the return EIP
 *   against the new CS limit (#GP(0), nothing changed); QEMU does not and
 *   jumps to ring 3 at the bad EIP, which then faults elsewhere.
 */
#include "pm/lib.h"

enum {
    G_GATE32 = GDT_FIRST_FREE, /* 0x40 32-bit call gate DPL 3 -> ring 0, 2 params */
    G_GATE16,                  /* 0x48 16-bit call gate DPL 3 -> ring 0, 3 params */
    G_GATE_DPL0,               /* 0x50 call gate DPL 0 */
    G_GATE_NP,                 /* 0x58 call gate not present */
    G_GATE_CODENP,             /* 0x60 call gate to a not-present code segment */
    G_CODE_NP,                 /* 0x68 not-present ring-0 code */
    G_CONF,                    /* 0x70 conforming code DPL 0 */
    G_GATE_CONF,               /* 0x78 call gate DPL 3 -> conforming code */
    G_GATE_BADSTK,             /* 0x80 call gate DPL 3 -> ring-1 code (TSS ss1 is bad) */
    G_CODE1,                   /* 0x88 ring-1 code */
    G_DATA1,                   /* 0x90 ring-1 data */
    G_GATE_R1,                 /* 0x98 call gate DPL 3 -> ring-1 code, 1 param */
    G_KCODE_B,                 /* 0xa0 ring-0 code based so that gate16_target is below 64K */
    G_CODE3_SMALL,             /* 0xa8 ring-3 code, limit 0xfff */
};

/* What the gate targets saw (written at ring 0/1 through the caller's DS). */
volatile uint32_t g_frame[8];
volatile uint32_t g_esp, g_cs, g_ss, g_ret;
volatile uint16_t g_frame16[8];

/* Ring-0 targets of the call gates (32-bit code segment KCODE). */
__asm__(".text\n"
        "gate32_target:\n\t"
        "movl 0(%esp), %eax\n\tmovl %eax, g_frame\n\t"
        "movl 4(%esp), %eax\n\tmovl %eax, g_frame+4\n\t"
        "movl 8(%esp), %eax\n\tmovl %eax, g_frame+8\n\t"
        "movl 12(%esp), %eax\n\tmovl %eax, g_frame+12\n\t"
        "movl 16(%esp), %eax\n\tmovl %eax, g_frame+16\n\t"
        "movl 20(%esp), %eax\n\tmovl %eax, g_frame+20\n\t"
        "movl %esp, g_esp\n\t"
        "mov %cs, %eax\n\tmovl %eax, g_cs\n\t"
        "mov %ss, %eax\n\tmovl %eax, g_ss\n\t"
        "lret $8\n"
        /* 16-bit gate: IP, CS, 3 params, SP, SS as words. The 16-bit
         * return address cannot reach the caller above 64K, so leave
         * ring 3's call through the int 0x80 exit instead. */
        "gate16_target:\n\t"
        "movl %esp, g_esp\n\t"
        "xorl %ecx, %ecx\n"
        "1:\tmovw (%esp,%ecx,2), %ax\n\tmovw %ax, g_frame16(,%ecx,2)\n\t"
        "incl %ecx\n\tcmpl $7, %ecx\n\tjne 1b\n\t"
        "mov %cs, %eax\n\tmovl %eax, g_cs\n\t"
        "mov %ss, %eax\n\tmovl %eax, g_ss\n\t"
        "movl $0x55534552, %eax\n\tmovl $16, %ebx\n\tint $0x80\n"
        /* Conforming target: runs at the caller's CPL. */
        "conf_target:\n\t"
        "mov %cs, %eax\n\tmovl %eax, g_cs\n\t"
        "mov %ss, %eax\n\tmovl %eax, g_ss\n\t"
        "movl %esp, g_esp\n\t"
        "lret\n"
        /* Ring-1 target: one param; returns with lret $4. */
        "ring1_target:\n\t"
        "movl 8(%esp), %eax\n\tmovl %eax, g_frame\n\t"
        "movl 12(%esp), %eax\n\tmovl %eax, g_frame+4\n\t"
        "movl 16(%esp), %eax\n\tmovl %eax, g_frame+8\n\t"
        "movl %esp, g_esp\n\t"
        "mov %cs, %eax\n\tmovl %eax, g_cs\n\t"
        "mov %ss, %eax\n\tmovl %eax, g_ss\n\t"
        "lret $4\n");
extern char gate32_target[], gate16_target[], conf_target[], ring1_target[];

static uint8_t ring1_stack[4096] __attribute__((aligned(16)));

/* ---- ring 3 basics ---- */

static uint32_t user_whoami(void)
{
    uint32_t cs, ss, ds;
    __asm__ volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2" : "=r"(cs), "=r"(ss), "=r"(ds));
    return (cs & 0xffff) << 16 | (ss & 0xff) << 8 | (ds & 0xff);
}

/* Frame of an INT from ring 3, captured by a hook on vector 0x81. */
static volatile uint32_t h_ss, h_esp, h_cs, h_frame_off, h_cur_ss, h_eflags;
static int hook_0x81(struct pm_frame *f)
{
    if (f->vector != 0x81)
        return 0;
    uint32_t ss;
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    h_ss = f->ss & 0xffff;
    h_esp = f->esp;
    h_cs = f->cs & 0xffff;
    h_eflags = f->eflags;
    h_cur_ss = ss & 0xffff;
    /* The CPU frame (EIP) sits 5 dwords below esp0. */
    h_frame_off = (uint32_t)pm_istack_top - (uint32_t)&f->eip;
    return 1;
}

static volatile uint32_t u_esp;
static uint32_t user_int81(void)
{
    __asm__ volatile("movl %%esp, %0; int $0x81" : "=m"(u_esp) : : "memory");
    return 0;
}

static uint32_t user_faults(void)
{
    PM_TRY("r3 int to dpl0 gate", "int $0x40", : : : "memory");
    PM_TRY("r3 int3 dpl0 gate", "int3", : : : "memory");
    PM_TRY("r3 cli iopl0", "cli", : : : "memory");
    PM_TRY("r3 sti iopl0", "sti", : : : "memory");
    PM_TRY("r3 hlt", "hlt", : : : "memory");
    PM_TRY("r3 lgdt", "lgdt (%0)", : : "r"(0x1000) : "memory");
    PM_TRY("r3 ltr", "ltr %w0", : : "r"(TSS_SEL) : "memory");
    PM_TRY("r3 lldt", "lldt %w0", : : "r"(0) : "memory");
    PM_TRY("r3 mov ds kdata", "mov %w0, %%es", : : "r"(KDATA) : "memory");
    PM_TRY("r3 mov ss kdata", "mov %w0, %%ss", : : "r"(KDATA) : "memory");
    PM_TRY("r3 in 0x80 denied", "inb $0x80, %%al", : : : "eax", "memory");
    PM_TRY("r3 in 0x3fd allowed", "movw $0x3fd, %%dx; inb %%dx, %%al", : : : "eax", "edx", "memory");
    PM_TRYB("r3 outw 0x3ff (0x400 denied)", "movw $0x3ff, %%dx", "outw %%ax, %%dx", "", : : : "edx", "memory");
    PM_TRY("r3 inl 0xf4", "inl $0xf4, %%eax", : : : "eax", "memory");
    uint32_t f;
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    rt_printf("r3 pushf: if=%u iopl=%u\n", f >> 9 & 1, f >> 12 & 3);
    /* POPF at CPL 3, IOPL 0: IF and IOPL silently keep their values. */
    __asm__ volatile("pushl %1; popfl; pushfl; popl %0" : "=r"(f) : "r"(f ^ (1u << 9 | 3u << 12)) : "cc");
    rt_printf("r3 popf: if=%u iopl=%u\n", f >> 9 & 1, f >> 12 & 3);
    /* IRET at CPL 3 to CPL 3: same rules. */
    __asm__ volatile("pushfl; xorl $0x3200, (%%esp); pushl %%cs; pushl $1f; iretl\n"
                     "1: pushfl; popl %0"
                     : "=r"(f)
                     :
                     : "cc", "memory");
    rt_printf("r3 iret: if=%u iopl=%u\n", f >> 9 & 1, f >> 12 & 3);
    return 0;
}

static uint32_t user_iopl3(void)
{
    PM_TRY("r3 iopl3 cli", "cli", : : : "memory");
    PM_TRY("r3 iopl3 sti", "sti", : : : "memory");
    PM_TRY("r3 iopl3 in 0x80", "inb $0x80, %%al", : : : "eax", "memory");
    uint32_t f;
    __asm__ volatile("pushl %1; popfl; pushfl; popl %0" : "=r"(f) : "r"(0x3002u) : "cc");
    rt_printf("r3 iopl3 popf: if=%u iopl=%u\n", f >> 9 & 1, f >> 12 & 3);
    return 0;
}

/* ---- call gates ---- */

static uint32_t user_callgate32(void)
{
    uint32_t before, after;
    __asm__ volatile("movl %%esp, %0\n\tpushl $0x1111\n\tpushl $0x2222\n\t"
                     "movl $1f, g_ret\n\tlcall %2, $0\n1:\n\tmovl %%esp, %1"
                     : "=&r"(before), "=r"(after)
                     : "i"(G_GATE32 << 3 | 3)
                     : "eax", "memory");
    u_esp = before;
    return after - before;
}

static uint32_t user_callgate16(void)
{
    __asm__ volatile("movl %%esp, u_esp\n\tpushw $0xaaaa\n\tpushw $0xbbbb\n\tpushw $0xcccc\n\t"
                     "lcall %0, $0x5678"
                     :
                     : "i"(G_GATE16 << 3 | 3)
                     : "eax", "ebx", "ecx", "memory");
    return 0; /* not reached: the target leaves through int 0x80 */
}

static uint32_t user_gate_faults(void)
{
    PM_TRY("r3 lcall gate dpl0", "lcall %0, $0", : : "i"(G_GATE_DPL0 << 3 | 3) : "memory");
    PM_TRY("r3 lcall gate not present", "lcall %0, $0", : : "i"(G_GATE_NP << 3 | 3) : "memory");
    PM_TRY("r3 lcall gate code not present", "lcall %0, $0", : : "i"(G_GATE_CODENP << 3 | 3) : "memory");
    PM_TRY("r3 ljmp gate to ring 0", "ljmp %0, $0", : : "i"(G_GATE32 << 3 | 3) : "memory");
    PM_TRY("r3 lcall ring-0 code", "lcall %0, $0", : : "i"(KCODE | 3) : "memory");
    PM_TRY("r3 ljmp ring-0 code", "ljmp %0, $0", : : "i"(KCODE) : "memory");
    PM_TRY("r3 lcall tss", "lcall %0, $0", : : "i"(TSS_SEL | 3) : "memory");
    PM_TRY("r3 lcall bad inner stack", "lcall %0, $0", : : "i"(G_GATE_BADSTK << 3 | 3) : "memory");
    PM_TRY("r3 lcall null", "lcall $0, $0", : : : "memory");
    PM_TRY("r3 lcall kdata", "lcall %0, $0", : : "i"(KDATA | 3) : "memory");
    return 0;
}

static uint32_t user_conforming(void)
{
    /* Direct far call to conforming DPL 0 code, and through a gate: both
     * run at CPL 3 (CS RPL stays 3) on the same stack. */
    uint32_t before, after;
    __asm__ volatile("movl %%esp, %0\n\tlcall %2, $conf_target\n\tmovl %%esp, %1"
                     : "=&r"(before), "=r"(after)
                     : "i"(G_CONF << 3 | 3)
                     : "eax", "memory");
    rt_printf("r3 lcall conforming: cs=%x ss=%x esp delta=%d\n", g_cs & 0xffff, g_ss & 0xffff,
              (int)(before - g_esp));
    __asm__ volatile("lcall %0, $0" : : "i"(G_GATE_CONF << 3 | 3) : "eax", "memory");
    rt_printf("r3 gate to conforming: cs=%x ss=%x\n", g_cs & 0xffff, g_ss & 0xffff);
    return 0;
}

static uint32_t user_ring1(void)
{
    uint32_t before, after;
    __asm__ volatile("movl %%esp, %0\n\tpushl $0x4444\n\tlcall %2, $0\n\tmovl %%esp, %1"
                     : "=&r"(before), "=r"(after)
                     : "i"(G_GATE_R1 << 3 | 3)
                     : "eax", "memory");
    rt_printf("r3 -> ring 1: cs=%x ss=%x param=%x old esp ok=%u old ss=%x esp0 delta=%u back delta=%d\n",
              g_cs & 0xffff, g_ss & 0xffff, g_frame[0], g_frame[1] == before - 4, g_frame[2] & 0xffff,
              (uint32_t)(ring1_stack + sizeof(ring1_stack)) - g_esp, (int)(after - before));
    return 0;
}

/* ---- returns to outer rings ---- */

/* RETF from ring 0 to ring 3 with DS/ES/FS/GS set up in various ways:
 * the ring-3 code stores the selectors it sees through SS and exits. */
static volatile uint32_t r_sel[4];
__asm__(".text\n"
        "outer_entry:\n\t"
        "mov %ds, %ss:r_sel\n\t"
        "mov %es, %ss:r_sel+4\n\t"
        "mov %fs, %ss:r_sel+8\n\t"
        "mov %gs, %ss:r_sel+12\n\t"
        "movl $0x23, %eax\n\tmov %eax, %ds\n\t"
        "movl $0x55534552, %eax\n\tmovl $0, %ebx\n\tint $0x80\n");
extern char outer_entry[];

/* Enter outer_entry at ring 3 via `how` ("retf" or "iret"), with the data
 * segments given, through pm_user_call's kernel-context save. */
static volatile uint16_t o_ds, o_es, o_fs, o_gs;

__asm__(".text\n"
        /* uint32_t enter_outer(int iret): called at ring 0 with pm_kernel_esp
         * saved by enter_outer_call below. */
        "enter_outer_retf:\n\t"
        "movw o_es, %ax\n\tmov %ax, %es\n\t"
        "movw o_fs, %ax\n\tmov %ax, %fs\n\t"
        "movw o_gs, %ax\n\tmov %ax, %gs\n\t"
        "pushl $0x23\n\tpushl $pm_ustack_top\n\tpushl $0x1b\n\tpushl $outer_entry\n\t"
        "movw o_ds, %ax\n\tmov %ax, %ds\n\t"
        "lret\n"
        "enter_outer_iret:\n\t"
        "movw o_es, %ax\n\tmov %ax, %es\n\t"
        "movw o_fs, %ax\n\tmov %ax, %fs\n\t"
        "movw o_gs, %ax\n\tmov %ax, %gs\n\t"
        "pushl $0x23\n\tpushl $pm_ustack_top\n\tpushl $0x2\n\tpushl $0x1b\n\tpushl $outer_entry\n\t"
        "movw o_ds, %ax\n\tmov %ax, %ds\n\t"
        "iret\n");
extern char enter_outer_retf[], enter_outer_iret[];

static void outer(const char *name, int iret, uint16_t ds, uint16_t es, uint16_t fs, uint16_t gs)
{
    o_ds = ds, o_es = es, o_fs = fs, o_gs = gs;
    pm_kernel_call((void (*)(void))(iret ? enter_outer_iret : enter_outer_retf));
    rt_printf("%s: ds=%x es=%x fs=%x gs=%x\n", name, r_sel[0] & 0xffff, r_sel[1] & 0xffff, r_sel[2] & 0xffff,
              r_sel[3] & 0xffff);
}

/* RETF/IRET frames that fail their checks, tried at ring 0: the frame is
 * pushed before label 8, ESP put back after label 9. */
#define BADRET(name, pushes, insn) \
    PM_TRYB(name, "movl %%esp, pm_saved_esp\n\t" pushes, insn, "movl pm_saved_esp, %%esp", : : : "memory")
static void bad_returns(void)
{
    BADRET("retf to outer, ss rpl != cs rpl", "pushl $0x20; pushl $pm_ustack_top; pushl $0x1b; pushl $0", "lret");
    BADRET("retf to outer, ss dpl0", "pushl $0x13; pushl $pm_ustack_top; pushl $0x1b; pushl $0", "lret");
    BADRET("retf to outer, ss null", "pushl $0x3; pushl $pm_ustack_top; pushl $0x1b; pushl $0", "lret");
    BADRET("retf to outer, ss code", "pushl $0x1b; pushl $pm_ustack_top; pushl $0x1b; pushl $0", "lret");
    BADRET("retf cs rpl3 dpl0", "pushl $0x0b; pushl $0", "lret");
    BADRET("retf cs data", "pushl $0x10; pushl $0", "lret");
    BADRET("retf cs null", "pushl $0; pushl $0", "lret");
    BADRET("retf cs not present", "pushl $0x68; pushl $0", "lret");
    BADRET("iret cs rpl3 dpl0", "pushl $0x23; pushl $0; pushl $2; pushl $0x0b; pushl $0", "iret");
    BADRET("iret to outer, ss rpl", "pushl $0x20; pushl $0; pushl $2; pushl $0x1b; pushl $0", "iret");
    BADRET("iret cs dpl1 rpl0", "pushl $0x23; pushl $0; pushl $2; pushl $0x88; pushl $0", "iret");
    BADRET("iret to outer, eip beyond limit", "pushl $0x23; pushl $0; pushl $2; pushl $0xab; pushl $0x1000", "iret");
    BADRET("retf to outer, eip beyond limit", "pushl $0x23; pushl $0; pushl $0xab; pushl $0x1000", "lret");
}

static uint32_t user_bad_retf(void)
{
    /* RETF from ring 3 to ring 0 code: RPL 0 < CPL 3. */
    BADRET("r3 retf to ring 0", "pushl $0x08; pushl $0", "lret");
    BADRET("r3 iret to ring 0", "pushl $2; pushl $0x08; pushl $0", "iret");
    return 0;
}

/* IRET's EFLAGS rules at CPL 0: IF and IOPL load. */
static void iret_flags(void)
{
    uint32_t f;
    __asm__ volatile("pushfl; orl $0x3200, (%%esp); pushl %%cs; pushl $1f; iretl\n"
                     "1: pushfl; popl %0; pushl $2; popfl"
                     : "=r"(f)
                     :
                     : "cc", "memory");
    rt_printf("r0 iret sets: if=%u iopl=%u\n", f >> 9 & 1, f >> 12 & 3);
}

int main(void)
{
    pm_init();
    pm_gdt[G_GATE32] = pm_gate(KCODE, (uint32_t)gate32_target, T_CALLGATE32, 3, 2, 1);
    /* A 16-bit gate holds a 16-bit offset (QEMU would also use bits 31:16). */
    uint32_t base16 = (uint32_t)gate16_target & 0xffff0000u;
    pm_gdt[G_KCODE_B] = pm_desc(base16, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G);
    pm_gdt[G_GATE16] = pm_gate(G_KCODE_B << 3, (uint32_t)gate16_target - base16, T_CALLGATE16, 3, 3, 1);
    pm_gdt[G_GATE_DPL0] = pm_gate(KCODE, (uint32_t)gate32_target, T_CALLGATE32, 0, 2, 1);
    pm_gdt[G_GATE_NP] = pm_gate(KCODE, (uint32_t)gate32_target, T_CALLGATE32, 3, 2, 0);
    pm_gdt[G_CODE_NP] = pm_desc(0, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G | D_NP);
    pm_gdt[G_GATE_CODENP] = pm_gate(G_CODE_NP << 3, (uint32_t)gate32_target, T_CALLGATE32, 3, 2, 1);
    pm_gdt[G_CONF] = pm_desc(0, 0xfffff, T_CODE_RX_C, 0, D_S | D_DB | D_G);
    pm_gdt[G_GATE_CONF] = pm_gate(G_CONF << 3, (uint32_t)conf_target, T_CALLGATE32, 3, 0, 1);
    pm_gdt[G_CODE3_SMALL] = pm_desc(0, 0xfff, T_CODE_RX, 3, D_S | D_DB);
    pm_gdt[G_CODE1] = pm_desc(0, 0xfffff, T_CODE_RX, 1, D_S | D_DB | D_G);
    pm_gdt[G_DATA1] = pm_desc(0, 0xfffff, T_DATA_RW, 1, D_S | D_DB | D_G);
    pm_gdt[G_GATE_BADSTK] = pm_gate(G_CODE1 << 3, (uint32_t)ring1_target, T_CALLGATE32, 3, 1, 1);
    pm_gdt[G_GATE_R1] = pm_gate(G_CODE1 << 3 | 1, (uint32_t)ring1_target, T_CALLGATE32, 3, 1, 1);
    pm_set_idt(0x81, pm_gate(KCODE, pm_stub_addr(0x81), T_INTGATE32, 3, 0, 1));
    rt_printf("pm_priv: privilege changes\n");

    uint32_t who = pm_user_call(user_whoami, 0x2);
    rt_printf("ring 3 via iret: cs=%x ss=%x ds=%x\n", who >> 16, who >> 8 & 0xff, who & 0xff);

    pm_hook = hook_0x81;
    pm_user_call(user_int81, 0x202);
    __asm__ volatile("cli");
    pm_hook = 0;
    rt_printf("int 0x81 from ring 3: frame ss=%x esp ok=%u cs=%x if=%u; handler ss=%x frame at esp0-%u\n", h_ss,
              h_esp == u_esp, h_cs, h_eflags >> 9 & 1, h_cur_ss, h_frame_off);

    pm_user_call(user_faults, 0x2);
    pm_user_call(user_iopl3, 0x3002);
    __asm__ volatile("cli");

    uint32_t d = pm_user_call(user_callgate32, 0x2);
    rt_printf("call gate 32: ret ok=%u cs=%x p=%x,%x old esp ok=%u old ss=%x; inner cs=%x ss=%x esp0-%u; "
              "esp after retf $8 delta=%d\n",
              g_frame[0] == g_ret, g_frame[1] & 0xffff, g_frame[2], g_frame[3], g_frame[4] == u_esp - 8,
              g_frame[5] & 0xffff, g_cs & 0xffff, g_ss & 0xffff, (uint32_t)pm_istack_top - g_esp, (int)d);

    uint32_t r = pm_user_call(user_callgate16, 0x2);
    rt_printf("call gate 16: exit %u cs=%x p=%x,%x,%x sp ok=%u ss=%x; inner cs=%x ss=%x esp0-%u\n", r,
              g_frame16[1], g_frame16[2], g_frame16[3], g_frame16[4],
              g_frame16[5] == (uint16_t)(u_esp - 6), g_frame16[6], g_cs & 0xffff, g_ss & 0xffff,
              (uint32_t)pm_istack_top - g_esp);

    /* Inner stack checks: the ring-1 stack in the TSS is not set up yet. */
    pm_tss.t.ss1 = KDATA; /* DPL 0 != 1: #TS */
    pm_tss.t.esp1 = (uint32_t)(ring1_stack + sizeof(ring1_stack));
    pm_user_call(user_gate_faults, 0x2);
    pm_tss.t.ss1 = G_DATA1 << 3 | 1;
    pm_user_call(user_ring1, 0x2);
    pm_user_call(user_conforming, 0x2);

    rt_printf("-- returns to ring 3 drop segments ring 3 may not use\n");
    outer("retf kdata everywhere", 0, KDATA, KDATA, KDATA, KDATA);
    outer("retf udata, conforming fs, null gs", 0, UDATA, UDATA, G_CONF << 3 | 3, 0);
    outer("retf ring-1 data", 0, G_DATA1 << 3 | 1, KDATA, UDATA, G_DATA1 << 3 | 1);
    outer("iret kdata everywhere", 1, KDATA, KDATA, KDATA, KDATA);
    outer("iret mixed", 1, UDATA, KDATA, G_CONF << 3, UDATA);

    bad_returns();
    pm_user_call(user_bad_retf, 0x2);
    iret_flags();
    return rt_failures;
}
