/*
 * Hardware task switches (Intel SDM Vol. 3 ch. 7): JMP and CALL to a TSS
 * and through task gates (GDT and IDT), IRET with NT back to the caller,
 * busy bits, NT and the back link, nesting, a 16-bit TSS, exceptions with
 * an error code delivered through a task gate, the checks on the TSS
 * descriptor, and a fault in the incoming task's segments (after the
 * commit point) delivered in the new task's context through a task gate.
 *
 * The main program is task A (the TSS of pm_init). Each other task runs a
 * small loop in assembly: record what it sees (C), then leave (JMP back to
 * A, or IRET to the task in its back link), and start over when entered
 * again.
 *
 * Every line matches QEMU (TCG) 7.2 for the same ELF except two, where
 * QEMU departs from the SDM:
 * - "lcall gate to ldt sel": a task gate whose TSS selector has TI=1 is
 *   #GP(TSS selector) (SDM CALL/JMP, TASK-GATE); QEMU raises #TS.
 * - "jmp to E with CS=data": after the commit point the #TS belongs to the
 *   new task, so E's state saved by the switch to F holds E's own EIP
 *   ("E eip kept=1"); QEMU saves the EIP of A's JMP instruction there.
 */
#include "pm/lib.h"

enum {
    G_TSSB = GDT_FIRST_FREE, /* 0x40 */
    G_TSSC,                  /* 0x48 #NP handler task */
    G_TSSD,                  /* 0x50 nested callee */
    G_TSSE,                  /* 0x58 task with a bad CS */
    G_TSSF,                  /* 0x60 #TS handler task */
    G_TSS16,                 /* 0x68 16-bit TSS */
    G_TGATE_B0,              /* 0x70 task gate DPL 0 -> B */
    G_TGATE_B3,              /* 0x78 task gate DPL 3 -> B */
    G_TGATE_D,               /* 0x80 task gate -> D */
    G_TSS_SMALL,             /* 0x88 TSS with limit 0x60 */
    G_TSS_NP,                /* 0x90 TSS not present */
    G_TGATE_DATA,            /* 0x98 task gate -> a data segment */
    G_TGATE_LDT,             /* 0xa0 task gate -> TI=1 selector */
    G_NP,                    /* 0xa8 not-present data */
    G_KCODE_B,               /* 0xb0 ring-0 code based for the 16-bit task */
    G_TSSG,                  /* 0xb8 INT n handler task */
};
#define SEL(g) ((g) << 3)

static struct tss32 tss_b, tss_c, tss_d, tss_e, tss_f, tss_g, tss_small;
static struct tss16 tss_16;
static uint8_t stk_b[2048], stk_c[2048], stk_d[2048], stk_e[2048], stk_f[2048], stk_g[2048];

static void tss_init(struct tss32 *t, void (*entry)(void), uint8_t *top)
{
    memset(t, 0, sizeof(*t));
    t->eip = (uint32_t)entry;
    t->eflags = 2;
    t->esp = (uint32_t)top;
    t->cs = KCODE;
    t->ss = t->ds = t->es = t->fs = t->gs = KDATA;
    t->esp0 = (uint32_t)top;
    t->ss0 = KDATA;
    t->iomap = sizeof(*t);
}

/* What the tasks record. */
volatile uint32_t tb_mode, tb_count, tb_tr, tb_nt, tb_link, tb_busy_a, tb_busy_b, tb_ebx;
volatile uint32_t tc_err, tc_link, tc_nt, tc_a_eip_ok, tc_tr;
volatile uint32_t td_link, td_nt, td_busy_b;
volatile uint32_t tf_err, tf_link, tf_e_cs, tf_e_eip_ok;
volatile uint32_t tg_link, tg_count;
volatile uint32_t t16_eax, t16_esp, t16_cs, t16_tr;

static uint32_t lar(uint16_t sel)
{
    uint32_t v = 0;
    __asm__ volatile("larl %w1, %0" : "=r"(v) : "r"(sel) : "cc");
    return v;
}
static int busy(uint16_t sel) { return lar(sel) >> 9 & 1; }
static uint32_t str(void)
{
    uint32_t v;
    __asm__ volatile("str %0" : "=r"(v));
    return v;
}
static uint32_t nt(void) { return pm_eflags() >> 14 & 1; }

void task_b_body(void);
void task_b_body(void)
{
    tb_count++;
    tb_tr = str();
    tb_nt = nt();
    tb_link = tss_b.link;
    tb_busy_a = busy(TSS_SEL);
    tb_busy_b = busy(SEL(G_TSSB));
    if (tb_mode == 2) {
        /* Nested: call D through a task gate. */
        __asm__ volatile("lcall %0, $0" : : "i"(SEL(G_TGATE_D)) : "memory");
    }
}

void task_c_body(void);
void task_c_body(void)
{
    tc_link = tss_c.link;
    tc_nt = nt();
    tc_tr = str();
    tc_a_eip_ok = pm_tss.t.eip == pm_at;
    pm_tss.t.eip = pm_resume; /* A resumes after the faulting instruction */
}

void task_d_body(void);
void task_d_body(void)
{
    td_link = tss_d.link;
    td_nt = nt();
    td_busy_b = busy(SEL(G_TSSB));
}

void task_f_body(void);
void task_f_body(void)
{
    tf_link = tss_f.link;
    tf_e_cs = tss_e.cs;
    tf_e_eip_ok = tss_e.eip == (uint32_t)stk_e; /* E's EIP (a bogus one) as loaded */
}

void task_g_body(void);
void task_g_body(void)
{
    tg_count++;
    tg_link = tss_g.link;
}

__asm__(".text\n"
        "task_b_entry:\n\t"
        "movl %ebx, tb_ebx\n\t"
        "call task_b_body\n\t"
        "cmpl $0, tb_mode\n\t"
        "jne 1f\n\t"
        "ljmp $0x28, $0\n\t"
        "jmp task_b_entry\n"
        "1:\tiret\n\t"
        "jmp task_b_entry\n"
        /* #NP handler task: pop the error code, fix A, return to it. */
        "task_c_entry:\n\t"
        "popl tc_err\n\t"
        "call task_c_body\n\t"
        "iret\n\t"
        "jmp task_c_entry\n"
        "task_d_entry:\n\t"
        "call task_d_body\n\t"
        "iret\n\t"
        "jmp task_d_entry\n"
        /* #TS handler task: E cannot be resumed, so jump to A. */
        "task_f_entry:\n\t"
        "popl tf_err\n\t"
        "call task_f_body\n\t"
        "ljmp $0x28, $0\n\t"
        "jmp task_f_entry\n"
        "task_g_entry:\n\t"
        "call task_g_body\n\t"
        "iret\n\t"
        "jmp task_g_entry\n"
        /* 16-bit task: no stack use (its ESP is 0xffff0000 | SP). */
        "task16_entry:\n\t"
        "movl %eax, t16_eax\n\t"
        "movl %esp, t16_esp\n\t"
        "movw %cs, t16_cs\n\t"
        "str t16_tr\n\t"
        "iret\n"
        "task16_after:\n\t"
        "jmp task16_entry\n");
extern char task_b_entry[], task_c_entry[], task_d_entry[], task_f_entry[], task_g_entry[], task16_entry[],
    task16_after[];

static void basic(void)
{
    rt_printf("-- JMP, CALL, IRET\n");
    uint32_t ebx = 0;
    tb_mode = 0;
    __asm__ volatile("movl $0x13572468, %%ebx\n\tljmp %1, $0\n\tmovl %%ebx, %0"
                     : "=r"(ebx)
                     : "i"(SEL(G_TSSB))
                     : "ebx", "memory");
    rt_printf("jmp to B: ran %u, tr=%x nt=%u link=%x busy A=%u B=%u, ebx in B=%x\n", tb_count, tb_tr, tb_nt,
              tb_link, tb_busy_a, tb_busy_b, tb_ebx);
    rt_printf("  back in A by jmp: tr=%x busy A=%u B=%u nt=%u ebx=%x\n", str(), busy(TSS_SEL), busy(SEL(G_TSSB)),
              nt(), ebx);

    tb_mode = 1;
    __asm__ volatile("movl $0x11112222, %%ebx\n\tlcall %1, $0\n\tmovl %%ebx, %0"
                     : "=r"(ebx)
                     : "i"(SEL(G_TSSB))
                     : "ebx", "memory");
    rt_printf("call B: ran %u, tr=%x nt=%u link=%x busy A=%u B=%u\n", tb_count, tb_tr, tb_nt, tb_link, tb_busy_a,
              tb_busy_b);
    rt_printf("  back in A by iret: tr=%x busy A=%u B=%u nt=%u ebx=%x\n", str(), busy(TSS_SEL),
              busy(SEL(G_TSSB)), nt(), ebx);
    rt_printf("  B saved: eip is after its iret=%u nt=%u\n", tss_b.eip != (uint32_t)task_b_entry,
              tss_b.eflags >> 14 & 1);

    __asm__ volatile("lcall %0, $0" : : "i"(SEL(G_TGATE_B0)) : "memory");
    rt_printf("call via task gate: ran %u link=%x nt=%u; A busy=%u B busy=%u\n", tb_count, tb_link, tb_nt,
              busy(TSS_SEL), busy(SEL(G_TSSB)));

    tb_mode = 2;
    __asm__ volatile("lcall %0, $0" : : "i"(SEL(G_TSSB)) : "memory");
    rt_printf("nested A->B->D: D link=%x nt=%u B busy in D=%u; after: B busy=%u D busy=%u\n", td_link, td_nt,
              td_busy_b, busy(SEL(G_TSSB)), busy(SEL(G_TSSD)));
    tb_mode = 1;
}

static uint32_t user_task(void)
{
    PM_TRY("r3 lcall tss dpl0", "lcall %0, $0", : : "i"(SEL(G_TSSB) | 3) : "memory");
    PM_TRY("r3 lcall task gate dpl0", "lcall %0, $0", : : "i"(SEL(G_TGATE_B0) | 3) : "memory");
    uint32_t cs = 0;
    PM_TRYX("r3 lcall task gate dpl3", "lcall %1, $0", "mov %%cs, %0", : "=r"(cs) : "i"(SEL(G_TGATE_B3) | 3)
            : "memory");
    rt_printf("  B ran %u, back at cs=%x\n", tb_count, cs & 0xffff);
    return 0;
}

static void checks(void)
{
    rt_printf("-- checks\n");
    PM_TRY("ljmp to own (busy) tss", "ljmp %0, $0", : : "i"(TSS_SEL) : "memory");
    PM_TRY("lcall to own (busy) tss", "lcall %0, $0", : : "i"(TSS_SEL) : "memory");
    PM_TRY("ljmp tss limit 0x60", "ljmp %0, $0", : : "i"(SEL(G_TSS_SMALL)) : "memory");
    PM_TRY("ljmp tss not present", "ljmp %0, $0", : : "i"(SEL(G_TSS_NP)) : "memory");
    PM_TRY("lcall gate to data", "lcall %0, $0", : : "i"(SEL(G_TGATE_DATA)) : "memory");
    PM_TRY("lcall gate to ldt sel", "lcall %0, $0", : : "i"(SEL(G_TGATE_LDT)) : "memory");
    /* IRET with NT and a back link naming an available TSS. */
#define SET_NT "pushfl; orl $0x4000, (%%esp); popfl"
#define CLEAR_NT "pushfl; andl $~0x4000, (%%esp); popfl"
    pm_tss.t.link = SEL(G_TSSB);
    PM_TRYB("iret nt=1, link not busy", SET_NT, "iret", CLEAR_NT, : : : "memory");
    pm_tss.t.link = SEL(G_NP);
    PM_TRYB("iret nt=1, link is data", SET_NT, "iret", CLEAR_NT, : : : "memory");
    pm_tss.t.link = 0;
    rt_printf("after checks: tr=%x busy A=%u nt=%u\n", str(), busy(TSS_SEL), nt());
}

static void through_idt(void)
{
    rt_printf("-- task gates in the IDT\n");
    uint64_t np = pm_idt[11];
    pm_idt[11] = pm_gate(SEL(G_TSSC), 0, T_TASKGATE, 0, 0, 1);
    PM_TRY("#NP through a task gate", "mov %w0, %%es", : : "r"(SEL(G_NP)) : "memory");
    rt_printf("  C: err=%x link=%x nt=%u tr=%x A's eip was the fault=%u; now tr=%x busy C=%u\n", tc_err, tc_link,
              tc_nt, tc_tr, tc_a_eip_ok, str(), busy(SEL(G_TSSC)));
    PM_TRY("#NP through a task gate again", "mov %w0, %%fs", : : "r"(SEL(G_NP)) : "memory");
    rt_printf("  C: err=%x; C's stack balanced=%u\n", tc_err, tss_c.esp == (uint32_t)(stk_c + sizeof(stk_c)));
    pm_idt[11] = np;
    pm_flat_esfsgs();

    pm_idt[0x88] = pm_gate(SEL(G_TSSG), 0, T_TASKGATE, 3, 0, 1);
    __asm__ volatile("int $0x88" ::: "memory");
    rt_printf("int $0x88 through a task gate: ran %u link=%x\n", tg_count, tg_link);
    pm_idt[0x88] = pm_default_gate(0x88);

    /* E's CS is a data segment: the #TS comes after the commit point, in
     * E's context, through the #TS task gate to F. */
    uint64_t ts = pm_idt[10];
    pm_idt[10] = pm_gate(SEL(G_TSSF), 0, T_TASKGATE, 0, 0, 1);
    __asm__ volatile("ljmp %0, $0" : : "i"(SEL(G_TSSE)) : "memory");
    rt_printf("jmp to E with CS=data: F got #TS(%x) link=%x E cs=%x E eip kept=%u; busy E=%u F=%u A=%u tr=%x\n",
              tf_err, tf_link, tf_e_cs, tf_e_eip_ok, busy(SEL(G_TSSE)), busy(SEL(G_TSSF)), busy(TSS_SEL), str());
    pm_idt[10] = ts;
    pm_gdt[G_TSSE] &= ~(2ull << 40); /* E stays busy: make it available again */
}

static void tss16(void)
{
    rt_printf("-- 16-bit TSS\n");
    __asm__ volatile("movl $0x9999aaaa, %%eax\n\tlcall %0, $0" : : "i"(SEL(G_TSS16)) : "eax", "memory");
    /* The upper halves of the registers are undefined (SDM 7.6: "modified
     * and not maintained"): only the low words are compared. */
    rt_printf("call 16-bit task: ax=%x sp=%x cs=%x tr=%x; link=%x saved ip ok=%u flags nt=%u; busy=%u\n",
              t16_eax & 0xffff, t16_esp & 0xffff, t16_cs & 0xffff, t16_tr & 0xffff, tss_16.link,
              tss_16.ip == (uint16_t)(uint32_t)task16_after,
              tss_16.flags >> 14 & 1, busy(SEL(G_TSS16)));
}

int main(void)
{
    pm_init();
    tss_init(&tss_b, (void (*)(void))task_b_entry, stk_b + sizeof(stk_b));
    tss_init(&tss_c, (void (*)(void))task_c_entry, stk_c + sizeof(stk_c));
    tss_init(&tss_d, (void (*)(void))task_d_entry, stk_d + sizeof(stk_d));
    tss_init(&tss_e, (void (*)(void))stk_e, stk_e + sizeof(stk_e));
    tss_e.cs = KDATA;
    tss_init(&tss_f, (void (*)(void))task_f_entry, stk_f + sizeof(stk_f));
    tss_init(&tss_g, (void (*)(void))task_g_entry, stk_g + sizeof(stk_g));
    tss_init(&tss_small, (void (*)(void))task_b_entry, stk_b + sizeof(stk_b));
    pm_gdt[G_TSSB] = pm_desc((uint32_t)&tss_b, sizeof(tss_b) - 1, T_TSS32, 0, 0);
    pm_gdt[G_TSSC] = pm_desc((uint32_t)&tss_c, sizeof(tss_c) - 1, T_TSS32, 0, 0);
    pm_gdt[G_TSSD] = pm_desc((uint32_t)&tss_d, sizeof(tss_d) - 1, T_TSS32, 0, 0);
    pm_gdt[G_TSSE] = pm_desc((uint32_t)&tss_e, sizeof(tss_e) - 1, T_TSS32, 0, 0);
    pm_gdt[G_TSSF] = pm_desc((uint32_t)&tss_f, sizeof(tss_f) - 1, T_TSS32, 0, 0);
    pm_gdt[G_TSSG] = pm_desc((uint32_t)&tss_g, sizeof(tss_g) - 1, T_TSS32, 0, 0);
    pm_gdt[G_TSS_SMALL] = pm_desc((uint32_t)&tss_small, 0x60, T_TSS32, 0, 0);
    pm_gdt[G_TSS_NP] = pm_desc((uint32_t)&tss_small, sizeof(tss_small) - 1, T_TSS32, 0, D_NP);
    pm_gdt[G_TGATE_B0] = pm_gate(SEL(G_TSSB), 0, T_TASKGATE, 0, 0, 1);
    pm_gdt[G_TGATE_B3] = pm_gate(SEL(G_TSSB), 0, T_TASKGATE, 3, 0, 1);
    pm_gdt[G_TGATE_D] = pm_gate(SEL(G_TSSD), 0, T_TASKGATE, 0, 0, 1);
    pm_gdt[G_TGATE_DATA] = pm_gate(KDATA, 0, T_TASKGATE, 0, 0, 1);
    pm_gdt[G_TGATE_LDT] = pm_gate(SEL(G_TSSB) | 4, 0, T_TASKGATE, 0, 0, 1);
    pm_gdt[G_NP] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G | D_NP);

    uint32_t base = (uint32_t)task16_entry & 0xffff0000u;
    pm_gdt[G_KCODE_B] = pm_desc(base, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G);
    memset(&tss_16, 0, sizeof(tss_16));
    tss_16.ip = (uint16_t)((uint32_t)task16_entry - base);
    tss_16.flags = 2;
    tss_16.sp = 0x1234;
    tss_16.ax = 0x5678;
    tss_16.cs = SEL(G_KCODE_B);
    tss_16.ss = tss_16.ds = tss_16.es = KDATA;
    pm_gdt[G_TSS16] = pm_desc((uint32_t)&tss_16, sizeof(tss_16) - 1, T_TSS16, 0, 0);

    rt_printf("pm_task: task switches\n");
    basic();
    tb_mode = 1;
    pm_user_call(user_task, 0x2);
    checks();
    through_idt();
    tss16();
    return rt_failures;
}
