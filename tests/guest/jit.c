/*
 * Guest test aimed at the JIT (it runs under every accelerator
 * configuration, and must print the same under all of them):
 *
 * - self-modifying code: a block that rewrites the instruction right after
 *   its own store; a loop that rewrites its own body while chained to
 *   itself; a routine rewritten by its caller between calls; a loop
 *   translated as one superblock, rewritten in its second decoded block,
 *   and one whose first block ends across a page boundary, rewritten on
 *   the second page;
 * - precise exceptions in the middle of translated blocks, with registers
 *   and flags held in host registers: #GP from a load and from a store
 *   beyond a segment limit (the inline segment check), #DE from an
 *   instruction the JIT leaves to the interpreter; the trap frame must hold
 *   exactly the state before the faulting instruction; the x87 state
 *   (held in the host's x87 by the JIT) at a #GP and a #PF from an
 *   integer load that follows x87 arithmetic in the same block;
 * - a segment load that makes ES based or flat inside a translated loop;
 * - loops whose translation keeps the guest registers they write in host
 *   registers round the back edge: a #PF at the head of a later
 *   iteration, registers rotating (a cycle of moves on the back edge), a
 *   side exit mid-body, an interpreted instruction in the body, and
 *   timer interrupts at the back edge;
 * - timer interrupts ending loops that are chained to themselves, one
 *   reading memory and one on registers only; the interrupted EIP must be
 *   an instruction boundary of the loop; and an x87 loop whose registers
 *   stay on the host's x87 round its back edge: at each interrupt at its
 *   head, FNSAVE must show the exact stack, tags, C1 and FIP; the same
 *   for an inner x87 loop its outer loop enters with values on the x87
 *   stack (a JIT's exits carry its register cache into the inner loop's
 *   translation), with the end state of every run too;
 * - returns the JIT's return stack (jit/x64/ret.c) did not see coming: to
 *   an address the callee wrote over its return address, a CALL never
 *   returned from (CALL; POP), recursion deeper than the stack, an
 *   unwind past three calls, and a return into a page the callee mapped
 *   elsewhere (same EIP, other code).
 *
 * The routines are in jit_code.S. Registers and flags in the .expected
 * file follow the SDM's definitions of ADD/SUB and agree with QEMU 7.2
 * (qemu-system-i386 -kernel jit.elf -device isa-debug-exit,iobase=0xf4,
 * iosize=4 -nographic) except the two #GP lines: TCG does not check data
 * segment limits (see pm_limits.c), so there the accesses succeed.
 */
#include "pm/lib.h"

uint32_t jit_smc_self(uint32_t v);
uint32_t jit_smc_loop(uint32_t n);
uint32_t jit_smc_callee(void);
uint32_t jit_super_smc(void);
extern char jit_super_smc_imm[];
uint32_t jit_super_cross(void);
extern char jit_super_cross_imm[];
uint32_t jit_x87_spin(volatile uint32_t *ticks, uint32_t n);
extern char jit_x87_first[], jit_x87_loop[], jit_x87_last[];
void jit_x87_nest(uint32_t n, void *img);
extern char jit_x87_nest_inner[], jit_x87_nest_odd[], jit_x87_nest_even[], jit_x87_nest_back[], jit_x87_nest_last[];
void jit_fault_gp(void);
void jit_fault_de(void);
void jit_fault_st(void);
void jit_fault_pf(uint8_t *p);
void jit_fault_group(uint8_t *p);
extern char jit_fault_group_at[], jit_fault_group_resume[];
void jit_smc_group(uint32_t v, char *code);
uint32_t jit_smc_target(void);
void jit_x87_ref(uint8_t *img);
void jit_x87_gp(const uint8_t *off);
void jit_x87_pf(const uint8_t *p);
extern char jit_x87_gp_resume[], jit_x87_pf_resume[];
uint32_t jit_spin(volatile uint32_t *ticks, uint32_t n);
uint32_t jit_seg_flip(uint32_t based_sel, uint32_t flat_sel, const uint32_t *p, uint32_t n);
uint32_t jit_spin_reg(void);
uint32_t jit_sti_count(uint32_t n);
uint32_t jit_hlt_ticks(volatile uint32_t *ticks);
extern char jit_fault_gp_at[], jit_fault_gp_resume[], jit_fault_de_at[], jit_fault_de_resume[];
extern char jit_fault_st_at[], jit_fault_st_resume[], jit_fault_pf_at[], jit_fault_pf_resume[];
extern char jit_spin_loop[], jit_spin_cmp[], jit_spin_jb[], jit_spin_end[];
extern char jit_spin_reg_loop[], jit_spin_reg_jz[], jit_spin_reg_end[];
uint32_t jit_carry_walk(const uint32_t *p);
extern char jit_carry_walk_at[], jit_carry_walk_resume[];
void jit_carry_rot(uint32_t n, uint32_t *out);
uint32_t jit_carry_exit(const uint32_t *p, uint32_t limit, uint32_t *out);
uint32_t jit_carry_lahf(uint32_t n);
uint32_t jit_spin_sum(volatile uint32_t *ticks, uint32_t n);
extern char jit_spin_sum_loop[], jit_spin_sum_add[], jit_spin_sum_end[];

uint32_t jit_ret_swap(void);
uint32_t jit_ret_pc(void);
extern char jit_ret_pc_at[];
void jit_ret_pc_loop(uint32_t n);
uint32_t jit_ret_deep(uint32_t n);
uint32_t jit_ret_unwind(void);
extern char jit_ret_tmpl[], jit_ret_tmpl_imm[], jit_ret_tmpl_end[];

uint32_t jit_entry_esp; /* ESP on entry to jit_fault_gp (set by it) */

#define ROUNDS 40
#define FLAGS_ARITH 0x8d5u /* OF SF ZF AF PF CF */
#define G_SMALL GDT_FIRST_FREE
#define G_BASED4 (GDT_FIRST_FREE + 1)

/* run() is a loop of 4 x (1 + the immediate of the ADD at imm), which
 * the test rewrites halfway through the rounds: "ok" when every round
 * saw the immediate it had. */
static const char *super_rewritten(uint32_t (*run)(void), char *imm)
{
    volatile uint32_t *v = (volatile uint32_t *)(imm + 1);
    int bad = 0;
    *v = 0x100;
    for (uint32_t k = 0; k < ROUNDS; k++) {
        if (k == ROUNDS / 2)
            *v = 0x10000;
        if (run() != 4 * (1 + (k < ROUNDS / 2 ? 0x100u : 0x10000u)))
            bad++;
    }
    return bad ? "FAIL" : "ok";
}

static void smc(void)
{
    int bad = 0;
    for (uint32_t k = 0; k < ROUNDS; k++)
        if (jit_smc_self(0x1000 + k * 3) != 0x1000 + k * 3)
            bad++;
    rt_printf("smc: block rewriting its next instruction: %s\n", bad ? "FAIL" : "ok");

    bad = 0;
    for (uint32_t k = 0; k < ROUNDS; k++) {
        jit_smc_group(0x2000 + k * 5, (char *)jit_smc_target);
        if (jit_smc_target() != 0x2000 + k * 5)
            bad++;
    }
    rt_printf("smc: a routine rewritten through a base register loads share: %s\n", bad ? "FAIL" : "ok");

    bad = 0;
    for (uint32_t k = 0; k < ROUNDS; k++)
        if (jit_smc_loop(1000) != 1998) /* 501 iterations add 1, then 499 add 3 */
            bad++;
    rt_printf("smc: loop rewriting its own body: %s\n", bad ? "FAIL" : "ok");

    volatile uint32_t *imm = (volatile uint32_t *)((char *)jit_smc_callee + 1);
    uint32_t sum = 0;
    *imm = 7;
    for (uint32_t k = 0; k < 10 * ROUNDS; k++) {
        sum += jit_smc_callee();
        if (k == 5 * ROUNDS - 1)
            *imm = 9;
    }
    rt_printf("smc: callee rewritten between calls: sum %u\n", sum);

    /* The same through a function pointer: the indirect CALL's inline
     * cache (jit/x64/ic.c) holds the callee's old translation. */
    uint32_t (*volatile fp)(void) = jit_smc_callee;
    sum = 0;
    *imm = 7;
    for (uint32_t k = 0; k < 10 * ROUNDS; k++) {
        sum += fp();
        if (k == 5 * ROUNDS - 1)
            *imm = 9;
    }
    rt_printf("smc: callee rewritten between indirect calls: sum %u\n", sum);

    rt_printf("smc: second block of a superblock rewritten: %s\n", super_rewritten(jit_super_smc, jit_super_smc_imm));
    rt_printf("smc: superblock across a page boundary, rewritten on the second page: %s\n",
              super_rewritten(jit_super_cross, jit_super_cross_imm));
}

/* ---- Faults ---- */

/* The x87 state after run(bad) (which faults, its handler resuming at
 * `resume`), as FNSAVE gives it, equals the one without a fault: TOP,
 * tags and register contents (the pointer fields differ, other code).
 * run(good) first makes its block hot: a block that faults every time
 * never completes a run, and is never translated at a threshold. */
static int x87_at_fault(void (*run)(const uint8_t *), const uint8_t *good, const uint8_t *bad, char *resume);
static int walk_to_hole(uint32_t *pt);

static struct pm_frame seen;
static volatile uint32_t resume_at;
static volatile int traps;

static int fault_hook(struct pm_frame *f)
{
    if (f->vector >= 32 || !resume_at)
        return 0;
    seen = *f;
    traps++;
    f->eip = resume_at;
    resume_at = 0;
    return 1;
}

static void faults(void)
{
    /* ES with a 4 KiB limit: offsets 0x1000 and up fault. */
    pm_gdt[G_SMALL] = pm_desc(0, 0xfff, T_DATA_RW, 0, D_S | D_DB);
    __asm__ volatile("mov %0, %%es" : : "r"(pm_sel(G_SMALL, 0)));
    pm_hook = fault_hook;
    int bad = 0;
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_fault_gp_resume;
        jit_fault_gp();
        /* three saved registers and one push; pushal stored ESP below the
         * CPU's frame (EFLAGS, CS, EIP) and the stub's error code and vector */
        uint32_t want_esp = jit_entry_esp - 4 * 4 - 4 * 5;
        if (seen.vector != 13 || seen.err != 0 || seen.eip != (uint32_t)jit_fault_gp_at || seen.eax != 0x33333333 ||
            seen.ebx != 0x22222222 || seen.edx != 0x33333338 || seen.esi != 0x1000 || seen.edi != 0x77 ||
            (seen.eflags & FLAGS_ARITH) != 0x004 || seen.esp_dummy != want_esp)
            bad++;
    }
    rt_printf("fault: #GP(%x) on a load mid-block: vector %u eip %s eax %x ebx %x edx %x flags %03x esp %s: %s\n",
              seen.err, seen.vector, seen.eip == (uint32_t)jit_fault_gp_at ? "at insn" : "elsewhere", seen.eax,
              seen.ebx, seen.edx, seen.eflags & FLAGS_ARITH, seen.esp_dummy == jit_entry_esp - 36 ? "exact" : "wrong",
              bad ? "FAIL" : "ok");

    bad = 0;
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_fault_st_resume;
        jit_fault_st();
        if (seen.vector != 13 || seen.eip != (uint32_t)jit_fault_st_at || seen.eax != 0x80000000 ||
            seen.ebx != 1 || seen.ecx != 0x2000 || (seen.eflags & FLAGS_ARITH) != 0x894)
            bad++;
    }
    rt_printf("fault: #GP(%x) on a store mid-block: vector %u eip %s eax %x flags %03x: %s\n", seen.err,
              seen.vector, seen.eip == (uint32_t)jit_fault_st_at ? "at insn" : "elsewhere", seen.eax,
              seen.eflags & FLAGS_ARITH, bad ? "FAIL" : "ok");

    bad = 0;
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_fault_de_resume;
        jit_fault_de();
        if (seen.vector != 0 || seen.eip != (uint32_t)jit_fault_de_at || seen.eax != 97 || seen.ebx != 3 ||
            seen.edx != 0 || (seen.eflags & FLAGS_ARITH) != 0)
            bad++;
    }
    rt_printf("fault: #DE from an interpreted instruction mid-block: vector %u eip %s eax %u flags %03x: %s\n",
              seen.vector, seen.eip == (uint32_t)jit_fault_de_at ? "at insn" : "elsewhere", seen.eax,
              seen.eflags & FLAGS_ARITH, bad ? "FAIL" : "ok");
    bad = 0;
    for (int k = 0; k < ROUNDS; k++)
        bad += x87_at_fault(jit_x87_gp, (const uint8_t *)0, (const uint8_t *)0x1000, jit_x87_gp_resume);
    rt_printf("fault: x87 state at a #GP(%x) from an integer load mid-block: vector %u: %s\n", seen.err, seen.vector,
              bad ? "FAIL" : "ok");
    pm_flat_esfsgs();

    /* Paging on, identity-mapping the first 4 MiB but for one page. */
    static uint32_t pd[1024] __attribute__((aligned(4096)));
    static uint32_t pt[1024] __attribute__((aligned(4096)));
    static uint8_t hole[4096] __attribute__((aligned(4096)));
    for (uint32_t k = 0; k < 1024; k++)
        pt[k] = k << 12 | 3;
    pt[(uint32_t)hole >> 12] = 0;
    pd[0] = (uint32_t)pt | 3;
    __asm__ volatile("movl %0, %%cr3; movl %%cr0, %%eax; orl $0x80000000, %%eax; movl %%eax, %%cr0"
                     : : "r"(pd) : "eax", "memory");
    bad = 0;
    uint32_t cr2 = 0;
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_fault_pf_resume;
        jit_fault_pf(hole);
        __asm__ volatile("movl %%cr2, %0" : "=r"(cr2));
        if (seen.vector != 14 || seen.err != 0 || seen.eip != (uint32_t)jit_fault_pf_at || seen.eax != (uint32_t)-2 ||
            seen.ecx != 7 || cr2 != (uint32_t)hole + 3 || (seen.eflags & FLAGS_ARITH) != 0x091)
            bad++;
    }
    struct pm_frame pf = seen;
    int bad_group = 0;
    const uint32_t *before = (const uint32_t *)((uint32_t)hole - 8); /* the end of the page before the hole */
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_fault_group_resume;
        jit_fault_group((uint8_t *)before);
        uint32_t at;
        __asm__ volatile("movl %%cr2, %0" : "=r"(at));
        if (seen.vector != 14 || seen.eip != (uint32_t)jit_fault_group_at || seen.eax != before[0] ||
            seen.ecx != before[1] || at != (uint32_t)hole)
            bad_group++;
    }
    int bad_x87 = 0;
    for (int k = 0; k < ROUNDS; k++)
        bad_x87 += x87_at_fault(jit_x87_pf, (const uint8_t *)pd, hole, jit_x87_pf_resume);
    int bad_walk = walk_to_hole(pt);
    __asm__ volatile("movl %%cr0, %%eax; andl $0x7fffffff, %%eax; movl %%eax, %%cr0" : : : "eax", "memory");
    rt_printf("fault: #PF(%x) on a load mid-block: eip %s eax %x cr2 %s flags %03x: %s\n", pf.err,
              pf.eip == (uint32_t)jit_fault_pf_at ? "at insn" : "elsewhere", pf.eax,
              cr2 == (uint32_t)hole + 3 ? "exact" : "wrong", pf.eflags & FLAGS_ARITH, bad ? "FAIL" : "ok");
    rt_printf("fault: x87 state at a #PF from an integer load mid-block: vector %u: %s\n", seen.vector,
              bad_x87 ? "FAIL" : "ok");
    rt_printf("fault: #PF at the third of three loads from one base, on the next page: %s\n",
              bad_group ? "FAIL" : "ok");
    rt_printf("fault: #PF at the head of a loop's 17th iteration, registers of the 16th: %s\n",
              bad_walk ? "FAIL" : "ok");
    pm_hook = 0;
    rt_printf("fault: %d traps taken\n", traps);
}

/* jit_carry_walk over the last 16 words of a page followed by a hole (pt:
 * the page table mapping both, paging on): the #PF frame at the 17th
 * load; then from the hole itself, at the first. */
static int walk_to_hole(uint32_t *pt)
{
    static uint32_t area[2][1024] __attribute__((aligned(4096)));
    uint32_t *w = &area[0][1024 - 16], sum = 0;
    for (uint32_t k = 0; k < 16; k++)
        sum += w[k] = k * k * 7 + 1;
    pt[(uint32_t)area[1] >> 12] = 0;
    __asm__ volatile("movl %%cr3, %%eax; movl %%eax, %%cr3" : : : "eax", "memory");
    int bad = 0;
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_carry_walk_resume;
        jit_carry_walk(w);
        if (seen.vector != 14 || seen.eip != (uint32_t)jit_carry_walk_at || seen.eax != sum ||
            seen.ebx != w[15] || seen.ecx != 0x1000 - 16 || seen.esi != (uint32_t)area[1] ||
            seen.edx != w[15] || (seen.eflags & FLAGS_ARITH) != 0x004)
            bad++;
    }
    /* The same loop (translated by now) faulting in its first iteration:
     * the flags are still those from before it (CMP: AF). */
    for (int k = 0; k < ROUNDS; k++) {
        resume_at = (uint32_t)jit_carry_walk_resume;
        jit_carry_walk(area[1]);
        if (seen.vector != 14 || seen.eip != (uint32_t)jit_carry_walk_at || seen.eax != 0 || seen.ebx != 0 ||
            seen.ecx != 0x1000 || seen.esi != (uint32_t)area[1] || (seen.eflags & FLAGS_ARITH) != 0x010)
            bad++;
    }
    pt[(uint32_t)area[1] >> 12] = (uint32_t)area[1] | 3;
    __asm__ volatile("movl %%cr3, %%eax; movl %%eax, %%cr3" : : : "eax", "memory");
    return bad;
}

static int x87_at_fault(void (*run)(const uint8_t *), const uint8_t *good, const uint8_t *bad, char *resume)
{
    static uint8_t want[108], got[108];
    for (int k = 0; k < 20; k++)
        run(good);
    jit_x87_ref(want);
    /* Zeros in every register, so that only the run's own stores show. */
    __asm__ volatile("fninit; fldz; fldz; fldz; fldz; fldz; fldz; fldz; fldz; fninit");
    resume_at = (uint32_t)resume;
    run(bad);
    __asm__ volatile("fnsave %0" : "=m"(got));
    for (int k = 0; k < 108; k++)
        if ((k < 12 || k >= 28) && got[k] != want[k])
            return 1;
    return resume_at != 0; /* the fault happened */
}

/* Translated code skips the base and limit of segments that are flat
 * when the block is keyed (MODE_FLAT): a segment load that changes that
 * must end the block. */
static void seg_flip(void)
{
    static const uint32_t words[2] = { 0x100, 0x10001 };
    pm_gdt[G_BASED4] = pm_desc(4, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G);
    uint32_t n = 200, sum = jit_seg_flip(pm_sel(G_BASED4, 0), KDATA, words, n);
    rt_printf("segments: ES flat and based in turn in one loop: sum %x: %s\n", sum,
              sum == n * (words[0] + words[1]) ? "ok" : "FAIL");
}

/* ---- Loops carrying guest registers (jit/carry.c) ---- */

static void loops(void)
{
    int bad = 0;
    for (uint32_t k = 0; k < ROUNDS; k++) {
        uint32_t n = 50 + k * 7, out[4], a = 1, b = 2, c = 3, s = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t t = a; /* XCHG EAX, EBX; XCHG EBX, ECX */
            a = b;
            b = c;
            c = t;
            s = 2 * s + a + 1;
        }
        jit_carry_rot(n, out);
        if (out[0] != a || out[1] != b || out[2] != c || out[3] != s)
            bad++;
    }
    rt_printf("loops: registers rotating round the back edge: %s\n", bad ? "FAIL" : "ok");

    static uint32_t words[1000];
    for (uint32_t k = 0; k < 1000; k++)
        words[k] = k * 37 % 101;
    bad = 0;
    for (uint32_t k = 0; k < ROUNDS; k++) {
        uint32_t limit = k == ROUNDS - 1 ? 0xffffffffu : 1000 + k * 977, out[2], sum = 0, i = 0, ecx = 1000;
        for (;;) {
            sum += words[i++];
            if (sum > limit || --ecx == 0)
                break;
        }
        if (jit_carry_exit(words, limit, out) != sum || out[0] != i * 4 || out[1] != ecx)
            bad++;
    }
    rt_printf("loops: a side exit in the middle of the body: %s\n", bad ? "FAIL" : "ok");

    uint32_t h = 0;
    for (uint32_t k = 0; k < ROUNDS; k++)
        h = h * 31 + jit_carry_lahf(100 + k);
    rt_printf("loops: an interpreted instruction in the body: %08x\n", h);
}

/* ---- Returns ---- */

static uint8_t window[4096] __attribute__((aligned(4096))); /* a linear page mapped to either copy */
static uint32_t *window_pte;
static uint32_t flip_to; /* the physical page flip() maps there */

static void map_window(uint32_t page)
{
    *window_pte = page | 3;
    __asm__ volatile("invlpg (%0)" : : "r"(window) : "memory");
}

static void stay(void) {}

static void flip(void)
{
    map_window(flip_to);
}

static void returns(void)
{
    int bad = 0;
    for (int k = 0; k < ROUNDS; k++)
        bad += jit_ret_swap() != 2;
    rt_printf("returns: to the address a callee wrote over its own: %s\n", bad ? "FAIL" : "ok");
    bad = 0;
    for (int k = 0; k < ROUNDS; k++)
        bad += jit_ret_pc() != (uint32_t)jit_ret_pc_at;
    jit_ret_pc_loop(1000000);
    rt_printf("returns: CALL then POP, never returned from: %s\n", bad ? "FAIL" : "ok");
    bad = 0;
    for (uint32_t k = 0; k < ROUNDS; k++) {
        uint32_t n = k % 2 ? 3000 : 20 + k;
        bad += jit_ret_deep(n) != n;
    }
    rt_printf("returns: recursion 3000 deep: %s\n", bad ? "FAIL" : "ok");
    bad = 0;
    for (int k = 0; k < ROUNDS; k++)
        bad += jit_ret_unwind() != 5;
    rt_printf("returns: unwinding three calls at once: %s\n", bad ? "FAIL" : "ok");

    /* Two copies of a routine that differ in the value they return after
     * their CALL, one linear page mapping either: the callee stay()
     * leaves the first mapped (the second run in a row chains the CALL's
     * continuation to the first copy's code: the first found the jump
     * cache flushed by map_window's INVLPG); flip() maps the second, so
     * the same return EIP must now run the second copy's code. */
    static uint32_t pd[1024] __attribute__((aligned(4096)));
    static uint32_t pt[1024] __attribute__((aligned(4096)));
    static uint8_t copy[2][4096] __attribute__((aligned(4096)));
    uint32_t n = (uint32_t)(jit_ret_tmpl_end - jit_ret_tmpl), imm = (uint32_t)(jit_ret_tmpl_imm - jit_ret_tmpl) + 1;
    for (int c = 0; c < 2; c++) {
        for (uint32_t k = 0; k < n; k++)
            copy[c][k] = (uint8_t)jit_ret_tmpl[k];
        copy[c][imm] = (uint8_t)(1 + c);
    }
    for (uint32_t k = 0; k < 1024; k++)
        pt[k] = k << 12 | 3;
    pd[0] = (uint32_t)pt | 3;
    window_pte = &pt[(uint32_t)window >> 12];
    __asm__ volatile("movl %0, %%cr3; movl %%cr0, %%eax; orl $0x80000000, %%eax; movl %%eax, %%cr0"
                     : : "r"(pd) : "eax", "memory");
    uint32_t (*run)(void (*)(void)) = (uint32_t (*)(void (*)(void)))(void *)window;
    uint32_t got_stay = 0, got_flip = 0;
    bad = 0;
    for (int k = 0; k < ROUNDS; k++) {
        map_window((uint32_t)copy[0]);
        got_stay = run(stay);
        got_stay += run(stay) - 1;
        flip_to = (uint32_t)copy[1];
        got_flip = run(flip);
        bad += got_stay != 1 || got_flip != 2;
    }
    __asm__ volatile("movl %%cr0, %%eax; andl $0x7fffffff, %%eax; movl %%eax, %%cr0" : : : "eax", "memory");
    rt_printf("returns: into a page the callee mapped elsewhere: %u then %u: %s\n", got_stay, got_flip,
              bad ? "FAIL" : "ok");
}

/* ---- Timer interrupts ---- */

static volatile uint32_t ticks, off_boundary, reg_stop_at, x87_seen, x87_bad;
static volatile uint32_t sum_seen, sum_bad, sum_last;
static volatile uint32_t ecx_seen = 0xffffffffu;

/* The integer value of a non-negative 80-bit integer. */
static uint32_t ext_int(const uint8_t *v)
{
    uint64_t m = 0;
    for (int k = 7; k >= 0; k--)
        m = m << 8 | v[k];
    int e = (v[8] | v[9] << 8) & 0x7fff;
    if (!m && !e)
        return 0;
    if (e < 16383 || e > 16383 + 31)
        return 0xffffffffu;
    return (uint32_t)(m >> (63 - (e - 16383)));
}

/* An interrupt at jit_x87_spin's loop head: the x87 state there, exact
 * (what an interrupt handler saving it would see). */
static void x87_at_head(void)
{
    uint8_t img[108];
    __asm__ volatile("fnsave %0" : "=m"(img));
    const uint32_t *w = (const uint32_t *)img;
    unsigned top = (w[1] >> 11) & 7, tags = w[2] & 0xffff;
    uint32_t k = ext_int(img + 28);
    int bad = top != 5 || ext_int(img + 38) != k + 1 || ext_int(img + 48) != k + 2;
    for (unsigned i = 0; i < 8; i++) /* ST(0..2) valid (tag 0: all are non-zero but k = 0), the rest empty */
        bad |= ((tags >> 2 * ((top + i) & 7)) & 3) != (i >= 3 ? 3u : k + i ? 0u : 1u);
    bad |= w[3] != (uint32_t)(k ? jit_x87_last : jit_x87_first); /* FIP: the last x87 instruction */
    bad |= (w[1] & 0x200) != 0; /* C1: FXCH and FLDZ clear it */
    x87_seen++;
    x87_bad += bad;
    __asm__ volatile("frstor %0" : : "m"(img));
}

/* jit_x87_nest's inner loop after j of its iterations: (a, b) and the
 * value popped last (its first iteration pops the one the outer block
 * left: 0 in an odd round, 1 in an even one). */
static void nest_state(uint32_t round, uint32_t j, uint32_t *a, uint32_t *b, uint32_t *popped)
{
    *a = *b = 1;
    *popped = round & 1 ? 0 : 1;
    for (uint32_t i = 0; i < j; i++) {
        uint32_t t = *a + *b;
        *popped = *b;
        *b = *a;
        *a = t;
    }
}

/* The sum jit_x87_nest holds after `rounds` rounds. */
static uint32_t nest_sum(uint32_t rounds)
{
    uint32_t sum = 0, a, b, p;
    for (uint32_t r = 0; r < rounds; r++) {
        nest_state(r, (r & 3) + 1, &a, &b, &p);
        sum += a;
    }
    return sum;
}

static volatile uint32_t nest_seen, nest_bad;

/* An interrupt at jit_x87_nest's inner loop head (EAX the round, EBX the
 * iterations left): the x87 state there, exact. */
static void x87_at_nest_head(const struct pm_frame *f)
{
    uint8_t img[108];
    __asm__ volatile("fnsave %0" : "=m"(img));
    const uint32_t *w = (const uint32_t *)img;
    uint32_t r = f->eax, j = (r & 3) + 1 - f->ebx, a, b, popped;
    nest_state(r, j, &a, &b, &popped);
    uint32_t sum = nest_sum(r);
    unsigned top = (w[1] >> 11) & 7, tags = w[2] & 0xffff;
    int bad = j > 3 || top != 5 || ext_int(img + 28) != a || ext_int(img + 38) != b || ext_int(img + 48) != sum;
    bad |= ext_int(img + 28 + 7 * 10) != popped; /* ST(7): empty, its register keeps the value */
    for (unsigned i = 0; i < 8; i++) /* ST(0..2) valid (the sum 0 at first: tag zero), the rest empty */
        bad |= ((tags >> 2 * ((top + i) & 7)) & 3) != (i >= 3 ? 3u : i == 2 && !sum ? 1u : 0u);
    bad |= w[3] != (uint32_t)(j ? jit_x87_nest_back : r & 1 ? jit_x87_nest_odd : jit_x87_nest_even); /* FIP */
    bad |= (w[1] & 0x200) != 0; /* C1: FSTP and FXCH clear it */
    nest_seen++;
    nest_bad += bad;
    __asm__ volatile("frstor %0" : : "m"(img));
}

/* jit_x87_nest's state at its end, from n rounds: the sum in ST(0), the
 * last round's registers below it, empty. */
static int x87_nest_end(uint32_t n)
{
    uint8_t img[108];
    jit_x87_nest(n, img);
    const uint32_t *w = (const uint32_t *)img;
    uint32_t r = n - 1, a, b, popped;
    nest_state(r, (r & 3) + 1, &a, &b, &popped);
    unsigned top = (w[1] >> 11) & 7, tags = w[2] & 0xffff;
    int bad = top != 7 || ext_int(img + 28) != nest_sum(n) || ext_int(img + 28 + 7 * 10) != b ||
              ext_int(img + 28 + 6 * 10) != a || ext_int(img + 28 + 5 * 10) != popped;
    for (unsigned i = 0; i < 8; i++)
        bad |= ((tags >> 2 * ((top + i) & 7)) & 3) != (i ? 3u : 0u);
    bad |= w[3] != (uint32_t)jit_x87_nest_last || (w[1] & 0x200) != 0;
    return bad;
}

/* 1 + 2 + ... + n, modulo 2^32 */
static uint32_t tri(uint32_t n)
{
    return n % 2 ? n * ((n + 1) / 2) : n / 2 * (n + 1);
}

static int timer_hook(struct pm_frame *f)
{
    if (f->vector != 0x20)
        return 0;
    ticks++;
    if (ecx_seen == 0xffffffffu)
        ecx_seen = f->ecx; /* the first interrupt's */
    uint32_t e = f->eip;
    if (e == (uint32_t)jit_x87_loop)
        x87_at_head();
    if (e == (uint32_t)jit_x87_nest_inner)
        x87_at_nest_head(f);
    if (e >= (uint32_t)jit_spin_loop && e <= (uint32_t)jit_spin_end && e != (uint32_t)jit_spin_loop &&
        e != (uint32_t)jit_spin_cmp && e != (uint32_t)jit_spin_jb && e != (uint32_t)jit_spin_end)
        off_boundary++;
    if (e >= (uint32_t)jit_spin_reg_loop && e <= (uint32_t)jit_spin_reg_end && e != (uint32_t)jit_spin_reg_loop &&
        e != (uint32_t)jit_spin_reg_jz && e != (uint32_t)jit_spin_reg_end)
        off_boundary++;
    if (e >= (uint32_t)jit_spin_sum_loop && e <= (uint32_t)jit_spin_sum_end) {
        /* EBX = EAX (EAX + 1) / 2, but between the INC and the ADD; EAX
         * grew since the last interrupt (stale registers would not); at
         * the head and after the INC (which keeps CF), CF from the CMP
         * that kept the loop going */
        uint32_t a = f->eax, want = tri(e == (uint32_t)jit_spin_sum_add ? a - 1 : a);
        int cf_wrong = ((e == (uint32_t)jit_spin_sum_loop && a) || (e == (uint32_t)jit_spin_sum_add && a > 1)) &&
                       !(f->eflags & 1);
        sum_bad += f->ebx != want || (sum_last && a <= sum_last) || cf_wrong;
        sum_last = a;
        sum_seen += a != 0;
    }
    if (reg_stop_at && ticks >= reg_stop_at && e >= (uint32_t)jit_spin_reg_loop && e <= (uint32_t)jit_spin_reg_end)
        f->eax = 1;
    outb(0x20, 0x20); /* EOI */
    return 1;
}

static void pic_init(void)
{
    outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x20); /* vectors 0x20.. */
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0xa0, 0x11);
    outb(0xa1, 0x28);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    outb(0xa1, 0xff);
    outb(0x21, 0xfe); /* IRQ 0 only */
}

static void timer(void)
{
    pic_init();
    outb(0x43, 0x34); /* PIT channel 0, mode 2, about 1 kHz */
    outb(0x40, 1193 & 0xff);
    outb(0x40, 1193 >> 8);
    pm_hook = timer_hook;
    __asm__ volatile("sti");
    uint32_t spins = 0;
    for (int k = 0; k < 5; k++)
        spins += jit_spin(&ticks, ticks + 3);
    rt_printf("timer: memory-polling loop ended by interrupts: %s\n", spins ? "ok" : "FAIL");
    for (int k = 0; k < 5; k++) {
        sum_last = 0;
        jit_spin_sum(&ticks, ticks + 3);
    }
    rt_printf("timer: loop carrying registers, interrupted: %s\n", sum_seen >= 5 && !sum_bad ? "ok" : "FAIL");
    int ok = 1;
    for (int k = 0; k < 5; k++) {
        reg_stop_at = ticks + 2;
        ok &= jit_spin_reg() == 1;
    }
    rt_printf("timer: register-only loop ended by interrupts: %s\n", ok ? "ok" : "FAIL");
    /* Each boundary of the x87 loop may take the interrupt (one
     * instruction per block, say): spin until a few hit its head. */
    uint32_t until = ticks + 500;
    while (x87_seen < 3 && ticks < until)
        jit_x87_spin(&ticks, ticks + 1);
    rt_printf("timer: x87 loop interrupted at its head, state exact: %s\n", x87_seen >= 3 && !x87_bad ? "ok" : "FAIL");
    /* The same for an inner loop entered with the x87 cache (a JIT may
     * carry it there from the outer block): rounds until a few
     * interrupts hit its head, and its end state each time. */
    int nest_end_bad = 0;
    until = ticks + 500;
    for (uint32_t n = 3000; nest_seen < 3 && ticks < until; n += 7)
        nest_end_bad += x87_nest_end(n);
    rt_printf("timer: x87 loop entered with its registers, interrupted at its head, state exact: %s\n",
              nest_seen >= 3 && !nest_bad && !nest_end_bad ? "ok" : "FAIL");
    /* An interrupt waiting for STI is taken after the shadow (a block
     * boundary or two later in an emulator), not when the translated loop
     * after it happens to leave: run hot enough to be translated. */
    __asm__ volatile("cli");
    uint32_t late = 0, hlt_woke = 0;
    for (int k = 0; k < 40; k++) {
        outb(0x20, 0x0a); /* read IRR */
        for (uint32_t spin = 0; !(inb(0x20) & 1) && spin < 100000000u; spin++)
            outb(0x20, 0x0a);
        ecx_seen = 0xffffffffu;
        uint32_t n = jit_sti_count(100000);
        late += n != 100000 || ecx_seen > 2;
        hlt_woke += jit_hlt_ticks(&ticks) != 0;
    }
    rt_printf("timer: pending interrupt taken right after STI: %s\n", late ? "FAIL" : "ok");
    rt_printf("timer: HLT waits for the interrupt: %s\n", hlt_woke == 40 ? "ok" : "FAIL");
    __asm__ volatile("cli");
    outb(0x21, 0xff);
    pm_hook = 0;
    rt_printf("timer: interrupted between instructions only: %s\n", off_boundary ? "FAIL" : "ok");
}

int main(void)
{
    pm_init();
    smc();
    faults();
    seg_flip();
    loops();
    returns();
    timer();
    return 0;
}
