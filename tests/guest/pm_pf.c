/*
 * Page faults as protection events (Intel SDM Vol. 3 4.7, 6.15 #PF/#DF):
 * error codes and CR2 for reads, writes, ring-3 accesses and instruction
 * fetches; restart after the handler maps the page; precise state when an
 * inner-ring stack page is missing during a call through a call gate
 * (nothing of the caller changes, the CALL restarts and completes); and a
 * page fault while delivering a page fault, which becomes #DF, delivered
 * through a task gate to a task with its own stack that repairs both
 * pages and returns with IRET to the faulting ring-3 code.
 *
 * Paging: 4 KiB pages identity-mapping the first 8 MiB, user and writable
 * unless a test says otherwise. Every line matches QEMU (TCG) 7.2.
 */
#include "pm/lib.h"

#define PTE_P 1u
#define PTE_W 2u
#define PTE_U 4u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[2][1024] __attribute__((aligned(4096)));
static uint8_t page_x[4096] __attribute__((aligned(4096)));  /* test data page */
static uint8_t page_s[4096] __attribute__((aligned(4096)));  /* an inner stack page */
static uint8_t page_i[4096] __attribute__((aligned(4096)));  /* the ring-0 interrupt stack in the #DF test */

enum {
    G_CODE1 = GDT_FIRST_FREE, /* 0x40 ring-1 code */
    G_DATA1,                  /* 0x48 ring-1 data */
    G_GATE1,                  /* 0x50 call gate DPL 3 -> ring 1 */
    G_TSS_DF,                 /* 0x58 the #DF task */
};

static uint32_t *pte(void *p) { return &pt[(uint32_t)p >> 22][((uint32_t)p >> 12) & 1023]; }
static void invlpg(void *p) { __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory"); }
static void set_pte(void *p, uint32_t flags)
{
    *pte(p) = ((uint32_t)p & ~0xfffu) | flags;
    invlpg(p);
}
static uint32_t cr2(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static void paging_on(void)
{
    for (int t = 0; t < 2; t++) {
        for (int k = 0; k < 1024; k++)
            pt[t][k] = ((uint32_t)t << 22 | (uint32_t)k << 12) | PTE_P | PTE_W | PTE_U;
        pd[t] = (uint32_t)pt[t] | PTE_P | PTE_W | PTE_U;
    }
    pm_tss.t.cr3 = (uint32_t)pd; /* loaded again by task switches back to the main task */
    __asm__ volatile("mov %0, %%cr3\n\tmov %%cr0, %%eax\n\torl $0x80000000, %%eax\n\tmov %%eax, %%cr0"
                     :
                     : "r"(pd)
                     : "eax", "memory");
}

/* Faults are reported with CR2 relative to page_x when they hit it. */
static volatile uint32_t last_cr2;
static int hook_cr2(struct pm_frame *f)
{
    if (f->vector == 14)
        last_cr2 = cr2();
    return 0;
}
static void report_cr2(void)
{
    if ((last_cr2 & ~0xfffu) == (uint32_t)page_x)
        rt_printf("  cr2=page_x+%x\n", last_cr2 & 0xfff);
    else
        rt_printf("  cr2=%x\n", last_cr2);
}

static uint32_t user_access(void)
{
    PM_TRY("r3 read supervisor page", "movl (%0), %%eax", : : "r"(page_x + 8) : "eax", "memory");
    report_cr2();
    PM_TRY("r3 write supervisor page", "movl %%eax, (%0)", : : "r"(page_x + 12) : "memory");
    report_cr2();
    return 0;
}
static uint32_t user_ro(void)
{
    PM_TRY("r3 read user read-only page", "movl (%0), %%eax", : : "r"(page_x) : "eax", "memory");
    PM_TRY("r3 write user read-only page", "movl %%eax, (%0)", : : "r"(page_x + 16) : "memory");
    report_cr2();
    return 0;
}

static volatile int maps;
static int hook_map(struct pm_frame *f)
{
    if (f->vector != 14)
        return 0;
    last_cr2 = cr2();
    set_pte((void *)(last_cr2 & ~0xfffu), PTE_P | PTE_W | PTE_U);
    maps++;
    return 1;
}

static void basics(void)
{
    rt_printf("-- error codes and CR2\n");
    pm_hook = hook_cr2;
    set_pte(page_x, 0);
    PM_TRY("read not present", "movl (%0), %%eax", : : "r"(page_x + 4) : "eax", "memory");
    report_cr2();
    PM_TRY("write not present", "movl %%eax, (%0)", : : "r"(page_x + 0xffe) : "memory");
    report_cr2();
    /* The fault is taken at the target (the call itself completed). */
    pm_clear();
    __asm__ volatile("movl %%esp, pm_saved_esp\n\tmovl $9f, pm_resume\n\tcall *%0\n"
                     "9:\tmovl pm_saved_esp, %%esp\n\tmovl $0, pm_resume"
                     :
                     : "r"(page_x + 0x10)
                     : "memory");
    pm_at = (uint32_t)page_x + 0x10;
    pm_next = 0;
    pm_report("fetch not present (at the target)");
    report_cr2();
    /* A dword straddling into the missing page: CR2 is the first byte
     * that faults, the page's start. */
    PM_TRY("read across into not present", "movl (%0), %%eax", : : "r"((uint32_t)page_x - 2) : "eax", "memory");
    report_cr2();

    set_pte(page_x, PTE_P | PTE_W);
    pm_user_call(user_access, 0x2);
    set_pte(page_x, PTE_P | PTE_U);
    pm_user_call(user_ro, 0x2);
    PM_TRY("r0 write read-only, WP=0", "movl %%eax, (%0)", : : "r"(page_x + 20) : "memory");
    __asm__ volatile("mov %%cr0, %%eax; orl $0x10000, %%eax; mov %%eax, %%cr0" ::: "eax");
    PM_TRY("r0 write read-only, WP=1", "movl %%eax, (%0)", : : "r"(page_x + 24) : "memory");
    report_cr2();
    __asm__ volatile("mov %%cr0, %%eax; andl $~0x10000, %%eax; mov %%eax, %%cr0" ::: "eax");

    rt_printf("-- restart after mapping\n");
    set_pte(page_x, 0);
    pm_hook = hook_map;
    maps = 0;
    uint32_t v = 0;
    set_pte(page_x, PTE_P | PTE_W | PTE_U);
    ((volatile uint32_t *)page_x)[64] = 0x600df00d;
    set_pte(page_x, 0);
    PM_TRYX("read, handler maps", "movl (%1), %0", "", : "=r"(v) : "r"(page_x + 256) : "memory");
    rt_printf("  mapped %d times, read %x\n", maps, v);
    pm_hook = 0;
}

/* A call gate to ring 1 whose stack page is missing: the #PF comes with
 * ring 3's CS:EIP and stack, and the CALL restarts once it is mapped. */
__asm__(".text\n"
        "ring1_fn:\n\t"
        "movl 8(%esp), %eax\n\t"
        "lret $4\n");
extern char ring1_fn[];
static volatile uint32_t pf_cs, pf_esp, pf_eip_ok, ret_val;
static int hook_stack(struct pm_frame *f)
{
    if (f->vector != 14)
        return 0;
    last_cr2 = cr2();
    pf_cs = f->cs & 0xffff;
    pf_esp = f->esp;
    pf_eip_ok = f->eip == pm_at;
    set_pte(page_s, PTE_P | PTE_W | PTE_U);
    maps++;
    return 1;
}
static volatile uint32_t esp_before;
static uint32_t user_gate(void)
{
    PM_TRYB("r3 call gate, ring-1 stack not present", "movl %%esp, esp_before\n\tpushl $0x7777",
            "lcall %1, $0", "movl %%eax, %0", : "=m"(ret_val) : "i"(G_GATE1 << 3 | 3) : "eax", "memory");
    return 0;
}

static void gate_stack(void)
{
    rt_printf("-- call gate with a missing inner stack page\n");
    pm_tss.t.ss1 = G_DATA1 << 3 | 1;
    pm_tss.t.esp1 = (uint32_t)page_s + 4096;
    set_pte(page_s, 0);
    pm_hook = hook_stack;
    maps = 0;
    pm_user_call(user_gate, 0x2);
    pm_hook = 0;
    rt_printf("  #PF cs=%x at the lcall=%u caller esp kept=%u cr2=stack top-%x; mapped %d; param via the "
              "completed call=%x\n",
              pf_cs, pf_eip_ok, pf_esp == esp_before - 4, (uint32_t)page_s + 4096 - last_cr2, maps, ret_val);
}

/* #PF while delivering #PF: #DF through a task gate. */
static struct tss32 tss_df;
static uint8_t stk_df[2048];
volatile uint32_t df_err, df_cr2, df_link, df_eip_ok, df_cs;
void df_body(void);
void df_body(void)
{
    df_cr2 = cr2();
    df_link = tss_df.link;
    df_cs = pm_tss.t.cs;
    df_eip_ok = pm_tss.t.eip == pm_at;
    set_pte(page_i, PTE_P | PTE_W);
    set_pte(page_x, PTE_P | PTE_W | PTE_U);
}
__asm__(".text\n"
        "df_entry:\n\t"
        "popl df_err\n\t"
        "call df_body\n\t"
        "iret\n\t"
        "jmp df_entry\n");
extern char df_entry[];

static uint32_t user_df(void)
{
    uint32_t v = 0;
    PM_TRYX("r3 read, #PF delivery faults too", "movl (%1), %0", "", : "=r"(v) : "r"(page_x + 32) : "memory");
    return v;
}

static void double_fault(void)
{
    rt_printf("-- #PF during #PF delivery\n");
    memset(&tss_df, 0, sizeof(tss_df));
    tss_df.eip = (uint32_t)df_entry;
    tss_df.eflags = 2;
    tss_df.esp = (uint32_t)(stk_df + sizeof(stk_df));
    tss_df.cs = KCODE;
    tss_df.ss = tss_df.ds = tss_df.es = tss_df.fs = tss_df.gs = KDATA;
    tss_df.cr3 = (uint32_t)pd;
    tss_df.iomap = sizeof(tss_df);
    pm_gdt[G_TSS_DF] = pm_desc((uint32_t)&tss_df, sizeof(tss_df) - 1, T_TSS32, 0, 0);
    pm_idt[8] = pm_gate(G_TSS_DF << 3, 0, T_TASKGATE, 0, 0, 1);
    uint32_t esp0 = pm_tss.t.esp0;
    pm_tss.t.esp0 = (uint32_t)page_i + 4096;
    ((volatile uint32_t *)page_x)[8] = 0x5eed5eed;
    set_pte(page_x, 0);
    set_pte(page_i, 0);
    uint32_t v = pm_user_call(user_df, 0x2);
    pm_tss.t.esp0 = esp0;
    rt_printf("  #DF task: err=%x cr2=ring-0 stack top-%x link=%x faulting cs=%x eip at the read=%u; read %x\n",
              df_err, (uint32_t)page_i + 4096 - df_cr2, df_link, df_cs, df_eip_ok, v);
}

int main(void)
{
    pm_init();
    pm_gdt[G_CODE1] = pm_desc(0, 0xfffff, T_CODE_RX, 1, D_S | D_DB | D_G);
    pm_gdt[G_DATA1] = pm_desc(0, 0xfffff, T_DATA_RW, 1, D_S | D_DB | D_G);
    pm_gdt[G_GATE1] = pm_gate(G_CODE1 << 3 | 1, (uint32_t)ring1_fn, T_CALLGATE32, 3, 1, 1);
    rt_printf("pm_pf: page faults\n");
    paging_on();
    basics();
    gate_stack();
    double_fault();
    return rt_failures;
}
