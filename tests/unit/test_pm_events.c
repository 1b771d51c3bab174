/*
 * Event delivery that guest programs cannot drive by themselves: NMIs
 * (blocked from delivery until the next IRET, SDM Vol. 3 6.7.1), an
 * external interrupt whose gate is missing (error code with EXT and IDT
 * set, SDM 6.13), and the triple fault that ends in shutdown (SDM 6.15,
 * interrupt 8: "any further exception while delivering #DF").
 *
 * The CPU runs hand-assembled 32-bit code in flat protected mode on a
 * 1 MiB RAM; the oracle is the SDM text cited at each test.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"

#define GDT 0x1000u
#define IDT 0x2000u
#define CODE 0x3000u
#define NMI_H 0x4000u
#define OTHER_H 0x5000u
#define DATA 0x6000u
#define STACK 0x8000u

static struct phys mem;
static struct cpu cpu;
static int shutdowns, irq_vector = -1;

static void on_shutdown(void *ctx) { (void)ctx; shutdowns++; }
static int on_irq_ack(void *ctx)
{
    (void)ctx;
    cpu_set_irq(&cpu, 0);
    return irq_vector;
}

static void put(uint32_t at, const uint8_t *bytes, size_t n) { phys_write_buf(&mem, at, bytes, n); }
static uint32_t rd32(uint32_t at) { return (uint32_t)phys_read(&mem, at, 4); }

static void gate(int v, uint32_t off, int present)
{
    uint64_t g = (off & 0xffff) | (uint64_t)0x08 << 16 | (uint64_t)(present ? 0x8e00 : 0x0e00) << 32 |
                 (uint64_t)(off >> 16) << 48;
    phys_write(&mem, IDT + 8u * (unsigned)v, 8, g);
}

static void setup(void)
{
    ck_assert_int_eq(phys_init(&mem, 1u << 20), 0);
    struct cpu_env env = { .shutdown = on_shutdown, .irq_ack = on_irq_ack };
    ck_assert_int_eq(cpu_init(&cpu, &mem, &env), 0);
    shutdowns = 0;
    irq_vector = -1;
    /* GDT: null, flat code 0x08, flat data 0x10. */
    phys_write(&mem, GDT + 8, 8, 0x00cf9a000000ffffull);
    phys_write(&mem, GDT + 16, 8, 0x00cf92000000ffffull);
    cpu_set_flat32(&cpu);
    cpu.gdtr = (struct dtr){ GDT, 23 };
    cpu.idtr = (struct dtr){ IDT, 256 * 8 - 1 };
    for (int v = 0; v < 256; v++)
        gate(v, OTHER_H, 1);
    gate(2, NMI_H, 1);
    /* Main code: jmp $ */
    static const uint8_t spin[] = { 0xeb, 0xfe };
    put(CODE, spin, sizeof(spin));
    /* Other vectors: store the error code (or whatever is on top) at
     * DATA+0x10, then hlt. mov eax,[esp]; mov [DATA+0x10],eax; hlt */
    static const uint8_t other[] = { 0x8b, 0x04, 0x24, 0xa3, 0x10, 0x60, 0x00, 0x00, 0xf4, 0xeb, 0xfd };
    put(OTHER_H, other, sizeof(other));
    cpu.eip = CODE;
    cpu.gpr[R_ESP] = STACK;
}

static void teardown(void)
{
    cpu_free(&cpu);
    phys_free(&mem);
}

/* inc dword [DATA]; L: cmp byte [DATA+4],0; je L; iret */
static const uint8_t nmi_wait[] = { 0xff, 0x05, 0x00, 0x60, 0x00, 0x00, 0x80, 0x3d, 0x04, 0x60,
                                    0x00, 0x00, 0x00, 0x74, 0xf7, 0xcf };

START_TEST(nmi_blocked_until_iret)
{
    put(NMI_H, nmi_wait, sizeof(nmi_wait));
    phys_write(&mem, DATA + 4, 1, 1); /* handler returns at once */
    cpu_raise_nmi(&cpu);
    cpu_exec(&cpu, 1000);
    ck_assert_uint_eq(rd32(DATA), 1);
    cpu_raise_nmi(&cpu);
    cpu_exec(&cpu, 1000);
    ck_assert_uint_eq(rd32(DATA), 2); /* the IRET ended the blocking */

    /* Now the handler waits: a second NMI must stay pending. */
    phys_write(&mem, DATA + 4, 1, 0);
    cpu_raise_nmi(&cpu);
    cpu_exec(&cpu, 1000);
    ck_assert_uint_eq(rd32(DATA), 3);
    cpu_raise_nmi(&cpu);
    cpu_exec(&cpu, 5000);
    ck_assert_uint_eq(rd32(DATA), 3);
    ck_assert(cpu.nmi_pending);
    /* Let the handler IRET: the pending NMI is delivered right after. */
    phys_write(&mem, DATA + 4, 1, 1);
    cpu_exec(&cpu, 5000);
    ck_assert_uint_eq(rd32(DATA), 4);
    ck_assert(!cpu.nmi_pending);
    ck_assert_uint_eq(shutdowns, 0);
}
END_TEST

/* An external interrupt through a not-present gate: #NP with error code
 * vector * 8 + 2 (IDT) + 1 (EXT). */
START_TEST(external_interrupt_ext_bit)
{
    gate(0x40, OTHER_H, 0);
    irq_vector = 0x40;
    cpu_set_eflags(&cpu, EFL_IF, EFL_IF);
    cpu_set_irq(&cpu, 1);
    enum cpu_exit why = cpu_exec(&cpu, 1000);
    ck_assert_int_eq(why, CPU_EXIT_HALT);
    ck_assert_uint_eq(rd32(DATA + 0x10), 0x40 * 8 + 3);
}
END_TEST

/* #UD with an IDT too short for any vector: #UD is benign, so the #GP for
 * its gate is delivered normally; the #GP for the #GP gate is a second
 * contributory fault, hence #DF, and the #GP for the #DF gate shuts the
 * processor down. */
START_TEST(triple_fault)
{
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    put(CODE, ud2, sizeof(ud2));
    cpu.idtr.limit = 0;
    enum cpu_exit why = cpu_exec(&cpu, 1000);
    ck_assert_int_eq(why, CPU_EXIT_SHUTDOWN);
    ck_assert_int_eq(shutdowns, 1);
    ck_assert_uint_eq((uint32_t)cpu.eip, CODE); /* state is the faulting instruction's */
    ck_assert_uint_eq((uint32_t)cpu.gpr[R_ESP], STACK);
}
END_TEST

/* The same chain with a working #DF gate: delivered with error code 0
 * and the saved EIP of the original fault. */
START_TEST(double_fault_delivered)
{
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    put(CODE, ud2, sizeof(ud2));
    gate(6, OTHER_H, 0);  /* #UD -> #NP(0x33), benign then contributory: serial */
    gate(11, OTHER_H, 0); /* #NP -> #NP(0x5b): contributory twice: #DF */
    enum cpu_exit why = cpu_exec(&cpu, 1000);
    ck_assert_int_eq(why, CPU_EXIT_HALT);
    ck_assert_uint_eq(rd32(DATA + 0x10), 0);          /* #DF error code */
    ck_assert_uint_eq(rd32(STACK - 12), CODE);        /* saved EIP: the ud2 */
    ck_assert_uint_eq(rd32(STACK - 8) & 0xffff, 0x08); /* saved CS */
    ck_assert_uint_eq(rd32(STACK - 16), 0);           /* the error code on the stack */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pm_events");
    TCase *tc = tcase_create("events");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, nmi_blocked_until_iret);
    tcase_add_test(tc, external_interrupt_ext_bit);
    tcase_add_test(tc, triple_fault);
    tcase_add_test(tc, double_fault_delivered);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
