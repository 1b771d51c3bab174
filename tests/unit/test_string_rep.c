/*
 * REP string instructions as the Intel SDM states them (Vol. 2B, "REP/
 * REPE/REPZ/REPNE/REPNZ"; Vol. 3A 6.9 and 17.3.1.4 on interrupts and
 * single-stepping inside repeated string instructions):
 *   - a fault in iteration k leaves (E)SI/(E)DI/(E)CX describing the k-1
 *     iterations done, and EIP at the instruction, so it restarts;
 *   - an interrupt is taken between iterations, with EIP at the
 *     instruction and the registers part-way; the instruction resumes;
 *   - with TF set, the single-step trap follows every iteration;
 *   - 16-bit addressing wraps SI/DI at 64 KiB; a word at offset FFFFh in
 *     real mode is #GP(0) (#SS for SS) and nothing has been done.
 * Each scenario runs guest code on Kestrel's interpreter and checks the
 * architectural state the SDM prescribes at the interesting point.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"

#define GDT 0x800u
#define IDT 0x1000u
#define STUBS 0x3000u  /* vector v: HLT at STUBS + v */
#define HANDLER 0x3800 /* custom handlers */
#define LOG 0x5000u    /* handlers record state here */
#define PD 0x10000u
#define PT 0x11000u
#define CODE 0x100000u
#define SRC 0x200000u
#define HOLE 0x205000u /* not present once paging is on */
#define DST 0x300000u

static struct phys mem;
static struct cpu cpu;
static int irq_vector = -1;

static int env_irq_ack(void *ctx)
{
    (void)ctx;
    cpu_set_irq(&cpu, 0); /* edge: one delivery */
    return irq_vector;
}

static void setup(void)
{
    ck_assert_int_eq(phys_init(&mem, 16u << 20), 0);
    struct cpu_env env = { .irq_ack = env_irq_ack };
    ck_assert_int_eq(cpu_init(&cpu, &mem, &env), 0);
}

static void teardown(void)
{
    cpu_free(&cpu);
    phys_free(&mem);
}

static void put(uint32_t pa, const void *bytes, size_t n) { phys_write_buf(&mem, pa, bytes, n); }
static uint32_t rd32(uint32_t pa) { return (uint32_t)phys_read(&mem, pa, 4); }
static uint8_t rd8(uint32_t pa) { return (uint8_t)phys_read(&mem, pa, 1); }

static void set_gate(unsigned v, uint32_t off)
{
    uint64_t g = (off & 0xffff) | (0x08u << 16) | ((uint64_t)0x8e00 << 32) | ((uint64_t)(off >> 16) << 48);
    put(IDT + 8 * v, &g, 8);
}

/* Flat 32-bit protected mode, CPL 0, an IDT whose gates lead to HLT stubs,
 * and (optionally) paging with an identity map of 4 MiB minus one page. */
static void protected_mode(bool paging)
{
    static const uint64_t gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
    put(GDT, gdt, sizeof(gdt));
    for (unsigned v = 0; v < 256; v++) {
        set_gate(v, STUBS + v);
        phys_write(&mem, STUBS + v, 1, 0xf4);
    }
    cpu.gdtr = (struct dtr){ GDT, sizeof(gdt) - 1 };
    cpu.idtr = (struct dtr){ IDT, 256 * 8 - 1 };
    cpu_set_flat32(&cpu);
    cpu.gpr[R_ESP] = 0x80000;
    if (paging) {
        phys_write(&mem, PD, 4, PT | 3);
        for (uint32_t p = 0; p < 1024; p++)
            phys_write(&mem, PT + 4 * p, 4, p * 4096 == HOLE ? 0 : (p * 4096) | 3);
        cpu.cr3 = PD;
        cpu.cr0 |= CR0_PG;
        ck_assert(mmu_set_paging(&cpu.mmu, cpu.mem, cpu.cr0, cpu.cr3, cpu.cr4, cpu.efer));
        cpu_tlb_flush(&cpu);
    }
    cpu_update_mode(&cpu);
}

static void run_to_halt(void)
{
    for (int k = 0; k < 1000; k++) {
        enum cpu_exit e = cpu_exec(&cpu, 100000);
        if (e == CPU_EXIT_HALT)
            return;
        ck_assert_int_eq(e, CPU_EXIT_BUDGET);
    }
    ck_abort_msg("guest did not halt");
}

/* Halted in the stub of vector v? (EIP is past its HLT.) */
static bool in_stub(unsigned v) { return cpu.eip == STUBS + v + 1; }

/* The exception frame at ESP: [error code,] EIP, CS, EFLAGS. */
static uint32_t frame(int k) { return rd32((uint32_t)cpu.gpr[R_ESP] + 4u * (uint32_t)k); }

static void fill(uint32_t pa, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        phys_write(&mem, pa + k, 1, (uint8_t)(k * 7 + 3));
}

/* A long REP MOVSB (far more iterations than one execution runs) copies
 * everything and ends with ESI/EDI advanced and ECX = 0. */
START_TEST(long_rep_completes)
{
    protected_mode(false);
    static const uint8_t code[] = { 0xf3, 0xa4, 0xf4 }; /* rep movsb; hlt */
    put(CODE, code, sizeof(code));
    const uint32_t n = 100000;
    fill(SRC, n);
    cpu.gpr[R_ESI] = SRC;
    cpu.gpr[R_EDI] = DST;
    cpu.gpr[R_ECX] = n;
    cpu.eip = CODE;
    run_to_halt();
    ck_assert_uint_eq(cpu.eip, CODE + 3);
    ck_assert_uint_eq(cpu.gpr[R_ESI], SRC + n);
    ck_assert_uint_eq(cpu.gpr[R_EDI], DST + n);
    ck_assert_uint_eq(cpu.gpr[R_ECX], 0);
    for (uint32_t k = 0; k < n; k += 997)
        ck_assert_uint_eq(rd8(DST + k), (uint8_t)(k * 7 + 3));
    ck_assert_uint_eq(rd8(DST + n - 1), (uint8_t)((n - 1) * 7 + 3));
    ck_assert_uint_eq(rd8(DST + n), 0);
}
END_TEST

/* REP STOSD running into a not-present page: #PF(W) at the first byte of
 * that page, EIP at the REP, EDI/ECX after exactly the dwords stored. */
START_TEST(fault_in_destination)
{
    protected_mode(true);
    static const uint8_t code[] = { 0xf3, 0xab, 0xf4 }; /* rep stosd; hlt */
    put(CODE, code, sizeof(code));
    cpu.gpr[R_EAX] = 0xdeadbeef;
    cpu.gpr[R_EDI] = HOLE - 16;
    cpu.gpr[R_ECX] = 10;
    cpu.eip = CODE;
    run_to_halt();
    ck_assert(in_stub(EXC_PF));
    ck_assert_uint_eq(cpu.cr2, HOLE);
    ck_assert_uint_eq(frame(0), 2); /* not present, write, supervisor */
    ck_assert_uint_eq(frame(1), CODE);
    ck_assert_uint_eq(cpu.gpr[R_EDI], HOLE);
    ck_assert_uint_eq(cpu.gpr[R_ECX], 6);
    for (uint32_t a = HOLE - 16; a < HOLE; a += 4)
        ck_assert_uint_eq(rd32(a), 0xdeadbeef);
    ck_assert_uint_eq(rd32(HOLE), 0);
}
END_TEST

/* The same with DF = 1 and the source faulting: REP MOVSD reading down
 * into... here, up into the hole from below, then down from above it. */
START_TEST(fault_in_source)
{
    protected_mode(true);
    static const uint8_t code[] = { 0xf3, 0xa5, 0xf4 }; /* rep movsd; hlt */
    put(CODE, code, sizeof(code));
    fill(HOLE - 64, 64);
    cpu.gpr[R_ESI] = HOLE - 12;
    cpu.gpr[R_EDI] = DST;
    cpu.gpr[R_ECX] = 7;
    cpu.eip = CODE;
    run_to_halt();
    ck_assert(in_stub(EXC_PF));
    ck_assert_uint_eq(cpu.cr2, HOLE);
    ck_assert_uint_eq(frame(0), 0); /* not present, read, supervisor */
    ck_assert_uint_eq(frame(1), CODE);
    ck_assert_uint_eq(cpu.gpr[R_ESI], HOLE);
    ck_assert_uint_eq(cpu.gpr[R_EDI], DST + 12);
    ck_assert_uint_eq(cpu.gpr[R_ECX], 4);
    ck_assert_uint_eq(rd32(DST + 8), rd32(HOLE - 4));
    ck_assert_uint_eq(rd32(DST + 12), 0);

    /* Downwards from above the hole: the fault comes at its last dword. */
    cpu_reset(&cpu);
    protected_mode(true);
    static const uint8_t code2[] = { 0xfd, 0xf3, 0xa5, 0xf4 }; /* std; rep movsd; hlt */
    put(CODE, code2, sizeof(code2));
    fill(HOLE + 4096, 64);
    cpu.gpr[R_ESI] = HOLE + 4096 + 8;
    cpu.gpr[R_EDI] = DST + 0x100;
    cpu.gpr[R_ECX] = 9;
    cpu.eip = CODE;
    run_to_halt();
    ck_assert(in_stub(EXC_PF));
    ck_assert_uint_eq(cpu.cr2, HOLE + 4092);
    ck_assert_uint_eq(frame(1), CODE + 1);
    ck_assert_uint_eq(cpu.gpr[R_ESI], HOLE + 4092);
    ck_assert_uint_eq(cpu.gpr[R_EDI], DST + 0x100 - 12);
    ck_assert_uint_eq(cpu.gpr[R_ECX], 6);
}
END_TEST

/* An interrupt arriving during a long REP MOVSD is taken between
 * iterations with EIP at the REP and the registers part-way; after IRET
 * the copy resumes and completes. */
START_TEST(interrupt_between_iterations)
{
    protected_mode(false);
    static const uint8_t code[] = { 0xf3, 0xa5, 0xf4 }; /* rep movsd; hlt */
    put(CODE, code, sizeof(code));
    /* push eax; mov eax,[esp+4]; mov [LOG],eax; mov [LOG+4],ecx; mov [LOG+8],edi;
     * inc dword [LOG+12]; pop eax; iret */
    static const uint8_t isr[] = { 0x50, 0x8b, 0x44, 0x24, 0x04, 0xa3, 0x00, 0x50, 0x00, 0x00,
                                   0x89, 0x0d, 0x04, 0x50, 0x00, 0x00, 0x89, 0x3d, 0x08, 0x50,
                                   0x00, 0x00, 0xff, 0x05, 0x0c, 0x50, 0x00, 0x00, 0x58, 0xcf };
    put(HANDLER, isr, sizeof(isr));
    set_gate(0x40, HANDLER);
    const uint32_t n = 300000;
    fill(SRC, 4 * n);
    cpu.gpr[R_ESI] = SRC;
    cpu.gpr[R_EDI] = DST;
    cpu.gpr[R_ECX] = n;
    cpu_set_eflags(&cpu, EFL_IF, EFL_IF);
    cpu.eip = CODE;
    ck_assert_int_eq(cpu_exec(&cpu, 3), CPU_EXIT_BUDGET); /* a few executions of the REP */
    ck_assert_uint_eq(cpu.eip, CODE);
    uint32_t left = (uint32_t)cpu.gpr[R_ECX];
    ck_assert(left > 0 && left < n);
    irq_vector = 0x40;
    cpu_set_irq(&cpu, 1);
    run_to_halt();
    ck_assert_uint_eq(cpu.eip, CODE + 3);
    ck_assert_uint_eq(rd32(LOG + 12), 1);    /* one interrupt */
    ck_assert_uint_eq(rd32(LOG), CODE);      /* taken with EIP at the REP */
    uint32_t ecx_then = rd32(LOG + 4), edi_then = rd32(LOG + 8);
    ck_assert_uint_eq(ecx_then, left);       /* between two executions */
    ck_assert_uint_eq(edi_then, DST + 4 * (n - left));
    ck_assert_uint_eq(cpu.gpr[R_ECX], 0);
    ck_assert_uint_eq(cpu.gpr[R_ESI], SRC + 4 * n);
    ck_assert_uint_eq(cpu.gpr[R_EDI], DST + 4 * n);
    for (uint32_t k = 0; k < 4 * n; k += 4093)
        ck_assert_uint_eq(rd8(DST + k), (uint8_t)(k * 7 + 3));
}
END_TEST

/* With TF set, REP MOVSB traps after every iteration: 5 iterations, then
 * PUSHFD, AND, POPFD (clearing TF) each trap once more. */
START_TEST(single_step_each_iteration)
{
    protected_mode(false);
    /* rep movsb; pushfd; and dword [esp], ~0x100; popfd; hlt */
    static const uint8_t code[] = { 0xf3, 0xa4, 0x9c, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff, 0x9d, 0xf4 };
    put(CODE, code, sizeof(code));
    /* #DB: mov eax,[esp]; mov [LOG+ecx*4]... keep it simple: count, and
     * record the EIP of the first trap. inc dword [LOG+12]; iret */
    static const uint8_t db[] = { 0xff, 0x05, 0x0c, 0x50, 0x00, 0x00, 0xcf };
    put(HANDLER, db, sizeof(db));
    set_gate(EXC_DB, HANDLER);
    fill(SRC, 16);
    cpu.gpr[R_ESI] = SRC;
    cpu.gpr[R_EDI] = DST;
    cpu.gpr[R_ECX] = 5;
    cpu_set_eflags(&cpu, EFL_TF, EFL_TF);
    cpu.eip = CODE;
    run_to_halt();
    ck_assert_uint_eq(cpu.eip, CODE + sizeof(code));
    ck_assert_uint_eq(rd32(LOG + 12), 5 + 3);
    ck_assert_uint_eq(cpu.gpr[R_ECX], 0);
    ck_assert_uint_eq(rd8(DST + 4), (uint8_t)(4 * 7 + 3));
}
END_TEST

/* Real mode: byte string operands wrap SI at 64 KiB; a word at SI = FFFFh
 * is #GP(0) with nothing done. */
START_TEST(real_mode_offset_wrap)
{
    /* CS = DS = ES = 0x1000; IVT entry 13 -> 0000:0600 (HLT). */
    static const uint8_t code[] = { 0xf3, 0xa4, 0xf4 }; /* rep movsb; hlt */
    put(0x10000 + 0x100, code, sizeof(code));
    phys_write(&mem, 13 * 4, 4, 0x0600);
    phys_write(&mem, 0x600, 1, 0xf4);
    static const uint8_t tail[] = { 0x11, 0x22 }, head[] = { 0x33, 0x44 };
    put(0x10000 + 0xfffe, tail, 2);
    put(0x10000, head, 2);
    seg_load_real(&cpu, SEG_CS, 0x1000);
    seg_load_real(&cpu, SEG_DS, 0x1000);
    seg_load_real(&cpu, SEG_ES, 0x1000);
    seg_load_real(&cpu, SEG_SS, 0x0000);
    cpu.gpr[R_ESP] = 0x7000;
    cpu.gpr[R_ESI] = 0xfffe;
    cpu.gpr[R_EDI] = 0x8000;
    cpu.gpr[R_ECX] = 4;
    cpu.eip = 0x100;
    run_to_halt();
    ck_assert_uint_eq(cpu.eip, 0x103);
    ck_assert_uint_eq(cpu.gpr[R_ESI], 0x0002);
    ck_assert_uint_eq(cpu.gpr[R_EDI], 0x8004);
    ck_assert_uint_eq(rd8(0x18000), 0x11);
    ck_assert_uint_eq(rd8(0x18001), 0x22);
    ck_assert_uint_eq(rd8(0x18002), 0x33);
    ck_assert_uint_eq(rd8(0x18003), 0x44);

    /* movsw with SI = FFFFh: #GP(0), SI/DI/CX untouched, IP at the MOVSW. */
    static const uint8_t code2[] = { 0xf3, 0xa5, 0xf4 }; /* rep movsw; hlt */
    put(0x10000 + 0x200, code2, sizeof(code2));
    cpu.gpr[R_ESI] = 0xfffd;
    cpu.gpr[R_EDI] = 0x9000;
    cpu.gpr[R_ECX] = 3;
    cpu.eip = 0x200;
    cpu.halted = 0;
    run_to_halt();
    ck_assert_uint_eq(cpu.seg[SEG_CS].sel, 0);
    ck_assert_uint_eq(cpu.eip, 0x601);
    ck_assert_uint_eq(cpu.gpr[R_ESI], 0xffff); /* one word moved, the second faults */
    ck_assert_uint_eq(cpu.gpr[R_EDI], 0x9002);
    ck_assert_uint_eq(cpu.gpr[R_ECX], 2);
    ck_assert_uint_eq(rd32(0x7000 - 6) & 0xffff, 0x200); /* pushed IP */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("string_rep");
    TCase *tc = tcase_create("rep");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, long_rep_completes);
    tcase_add_test(tc, fault_in_destination);
    tcase_add_test(tc, fault_in_source);
    tcase_add_test(tc, interrupt_between_iterations);
    tcase_add_test(tc, single_step_each_iteration);
    tcase_add_test(tc, real_mode_offset_wrap);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
