/*
 * The APICs wired into the PC board (vm/pc.c, vm/vm.c) and the CPU's side
 * of them: ISA IRQs reaching both the 8259 and the IOAPIC (IRQ0 at pin 2
 * as the MADT says), PCI PIRQ# lines at pins 16-19 active low, the 8259's
 * INTR through LINT0 (virtual wire), IA32_APIC_BASE relocating and
 * disabling the register page and the CPUID flag (SDM Vol. 3A 10.4.3,
 * 10.4.4), and an INIT IPI resetting the CPU while keeping its MSRs, x87
 * state and CR0.CD/NW (SDM Vol. 3A 9.1, Table 9-1).
 *
 * Guest code is hand-assembled 32-bit code run by cpu_exec() in the flat
 * protected mode the loaders use.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "tests/common/check_run.h"

#define CODE 0x10000u

static struct vm vm;

static void setup(void)
{
    struct vm_config cfg = { .mem_size = 32u << 20, .clock = CLOCK_ICOUNT, .ns_per_insn = 1 };
    ck_assert_int_eq(vm_init(&vm, &cfg), 0);
    cpu_set_flat32(&vm.cpu);
    vm.cpu.gpr[R_ESP] = 0x8000;
}

static void teardown(void) { vm_free(&vm); }

static uint32_t mmio_rd(uint32_t a) { return (uint32_t)phys_read(&vm.mem, a, 4); }
static void mmio_wr(uint32_t a, uint32_t v) { phys_write(&vm.mem, a, 4, v); }
static void io_wr(uint8_t index, uint32_t v)
{
    mmio_wr(IOAPIC_DEFAULT_BASE, index);
    mmio_wr(IOAPIC_DEFAULT_BASE + 0x10, v);
}
static uint32_t io_rd(uint8_t index)
{
    mmio_wr(IOAPIC_DEFAULT_BASE, index);
    return mmio_rd(IOAPIC_DEFAULT_BASE + 0x10);
}
static bool irr(int v) { return (mmio_rd(LAPIC_DEFAULT_BASE + 0x200 + 0x10 * (v >> 5)) >> (v & 31)) & 1; }

/* Run code placed at CODE until it halts. */
static void run(const uint8_t *code, size_t n)
{
    phys_write_buf(&vm.mem, CODE, code, n);
    vm.cpu.eip = CODE;
    vm.cpu.halted = 0;
    for (int k = 0; k < 100 && !vm.cpu.halted; k++)
        cpu_exec(&vm.cpu, 1000);
    ck_assert(vm.cpu.halted);
}

/* ISA IRQ n -> IOAPIC pin n, IRQ0 -> pin 2, IRQ2 (cascade) -> no pin;
 * the 8259 sees every one of them. */
START_TEST(board_isa_routing)
{
    mmio_wr(LAPIC_DEFAULT_BASE + 0xf0, 0x1ff);
    for (int pin = 1; pin < 16; pin++)
        io_wr((uint8_t)(0x10 + 2 * pin), 0x40u + (uint32_t)pin); /* edge, high, to APIC 0 */
    pc_set_isa_irq(&vm, 0, 1);
    ck_assert(irr(0x42));
    ck_assert_int_eq(vm.ioapic.pins & 1, vm.pic.intr_level); /* pin 0: the 8259's INTR */
    pc_set_isa_irq(&vm, 2, 1);
    ck_assert(!irr(0x41) && !irr(0x43));
    for (int n = 3; n < 16; n++) {
        pc_set_isa_irq(&vm, n, 1);
        ck_assert(irr(0x40 + n));
    }
    ck_assert_uint_eq(vm.pic.chip[0].irr & 0xfb, 0xf9); /* and the 8259 latched them */
    ck_assert_int_eq(vm.cpu.irq_line, 1);
}
END_TEST

/* PIRQ A-D: active-low level lines at IOAPIC pins 16-19 (what the DSDT's
 * APIC-mode _PRT and ACPI's default PCI polarity describe). */
START_TEST(board_pirq_pins)
{
    mmio_wr(LAPIC_DEFAULT_BASE + 0xf0, 0x1ff);
    for (int k = 0; k < 4; k++)
        io_wr((uint8_t)(0x10 + 2 * (16 + k)), 0xa000u | (0x60u + (uint32_t)k)); /* level, active low */
    ck_assert(!irr(0x60) && !irr(0x61) && !irr(0x62) && !irr(0x63));
    vm.pci.route(vm.pci.route_ctx, 1, 1); /* PIRQB asserted */
    ck_assert(irr(0x61) && !irr(0x60));
    ck_assert_uint_eq(io_rd(0x10 + 2 * 17) & 0x4000, 0x4000);
    int v = lapic_ack(&vm.lapic);
    ck_assert_int_eq(v, 0x61);
    vm.pci.route(vm.pci.route_ctx, 1, 0);
    mmio_wr(LAPIC_DEFAULT_BASE + 0xb0, 0); /* EOI: remote IRR clears, nothing more */
    ck_assert_uint_eq(io_rd(0x10 + 2 * 17) & 0x4000, 0);
    ck_assert(!irr(0x61));
}
END_TEST

/* The 8259's INTR reaches the CPU through LINT0 (ExtINT after RESET) and
 * the acknowledge is the 8259's; with LINT0 masked it does not. */
START_TEST(board_virtual_wire)
{
    static const uint8_t init_pic[][2] = { { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 }, { 0x21, 0x01 },
                                           { 0xa0, 0x11 }, { 0xa1, 0x38 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
                                           { 0x21, 0x00 }, { 0xa1, 0x00 } };
    for (size_t k = 0; k < sizeof(init_pic) / sizeof(init_pic[0]); k++)
        iobus_out(&vm.io, init_pic[k][0], 1, init_pic[k][1]);
    pc_set_isa_irq(&vm, 1, 1);
    ck_assert_int_eq(vm.cpu.irq_line, 1);
    ck_assert_int_eq(vm.cpu.env.irq_ack(vm.cpu.env.ctx), 0x31);
    ck_assert_int_eq(vm.cpu.irq_line, 0);
    iobus_out(&vm.io, 0x20, 1, 0x20);
    mmio_wr(LAPIC_DEFAULT_BASE + 0xf0, 0x1ff);
    mmio_wr(LAPIC_DEFAULT_BASE + 0x350, 0x10700); /* LINT0 masked */
    pc_set_isa_irq(&vm, 3, 1);
    ck_assert_int_eq(vm.cpu.irq_line, 0);
    mmio_wr(LAPIC_DEFAULT_BASE + 0x350, 0x700);
    ck_assert_int_eq(vm.cpu.irq_line, 1);
    ck_assert_int_eq(vm.cpu.env.irq_ack(vm.cpu.env.ctx), 0x33);
}
END_TEST

/* WRMSR IA32_APIC_BASE moves the register page; clearing EN unmaps it
 * (open bus) and clears CPUID.1:EDX.APIC (SDM 10.4.3, 10.4.4). */
START_TEST(board_apic_base_msr)
{
    static const uint8_t code[] = {
        0xb8, 0x01, 0x00, 0x00, 0x00,       /* mov eax, 1 */
        0x0f, 0xa2,                         /* cpuid */
        0x89, 0xd6,                         /* mov esi, edx */
        0xb9, 0x1b, 0x00, 0x00, 0x00,       /* mov ecx, 0x1b */
        0xb8, 0x00, 0x08, 0x00, 0x10,       /* mov eax, 0x10000800 (EN, new base) */
        0x31, 0xd2,                         /* xor edx, edx */
        0x0f, 0x30,                         /* wrmsr */
        0xa1, 0x30, 0x00, 0x00, 0x10,       /* mov eax, [0x10000030] */
        0xa3, 0x00, 0x90, 0x00, 0x00,       /* mov [0x9000], eax */
        0x8b, 0x2d, 0x30, 0x00, 0xe0, 0xfe, /* mov ebp, [0xfee00030] */
        0xb8, 0x00, 0x00, 0x00, 0x10,       /* mov eax, 0x10000000 (disabled) */
        0x0f, 0x30,                         /* wrmsr */
        0x0f, 0x32,                         /* rdmsr */
        0xa3, 0x04, 0x90, 0x00, 0x00,       /* mov [0x9004], eax */
        0xb8, 0x01, 0x00, 0x00, 0x00,       /* mov eax, 1 */
        0x0f, 0xa2,                         /* cpuid */
        0x89, 0xd7,                         /* mov edi, edx */
        0xa1, 0x30, 0x00, 0x00, 0x10,       /* mov eax, [0x10000030] */
        0xa3, 0x08, 0x90, 0x00, 0x00,       /* mov [0x9008], eax */
        0xf4,                               /* hlt */
    };
    run(code, sizeof(code));
    ck_assert_uint_eq(vm.cpu.gpr[R_ESI] & 0x200, 0x200);
    ck_assert_uint_eq(phys_read(&vm.mem, 0x9000, 4), LAPIC_VERSION);
    ck_assert_uint_eq(vm.cpu.gpr[R_EBP], 0xffffffffu);            /* nothing at the old place */
    ck_assert_uint_eq(phys_read(&vm.mem, 0x9004, 4), 0x10000100u); /* BSP kept, EN clear */
    ck_assert_uint_eq(vm.cpu.gpr[R_EDI] & 0x200, 0);
    ck_assert_uint_eq(phys_read(&vm.mem, 0x9008, 4), 0xffffffffu);
    ck_assert_uint_eq(vm.lapic.base, 0x10000100u);
}
END_TEST

/* An INIT IPI to ourselves: the CPU restarts at F000:FFF0 in real mode
 * with its MSRs, x87 control word and CR0.CD/NW as they were; the local
 * APIC's registers reset but its ID stays (SDM 9.1, 10.4.7.3). */
START_TEST(board_init_ipi)
{
    static uint8_t rom[4096];
    memset(rom, 0xf4, sizeof(rom)); /* hlt at the reset vector */
    ck_assert_int_eq(phys_add_rom(&vm.mem, 0xfffff000u, rom, sizeof(rom), "reset-vector"), 0);
    static const uint16_t cw = 0x027f;
    phys_write(&vm.mem, 0x9000, 2, cw);
    static const uint8_t code[] = {
        0x0f, 0x20, 0xc0,                   /* mov eax, cr0 */
        0x25, 0xff, 0xff, 0xff, 0x9f,       /* and eax, ~(CD|NW) */
        0x0f, 0x22, 0xc0,                   /* mov cr0, eax */
        0xd9, 0x2d, 0x00, 0x90, 0x00, 0x00, /* fldcw [0x9000] */
        0xb9, 0x74, 0x01, 0x00, 0x00,       /* mov ecx, 0x174 (SYSENTER_CS) */
        0xb8, 0x08, 0x00, 0x00, 0x00,       /* mov eax, 8 */
        0x31, 0xd2,                         /* xor edx, edx */
        0x0f, 0x30,                         /* wrmsr */
        0xc7, 0x05, 0x80, 0x00, 0xe0, 0xfe, 0x40, 0x00, 0x00, 0x00, /* mov dword [TPR], 0x40 */
        0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x00, 0x45, 0x00, 0x00, /* mov dword [ICR], INIT to APIC 0 */
        0xeb, 0xfe,                         /* jmp $ (INIT comes first) */
    };
    run(code, sizeof(code));
    struct cpu *c = &vm.cpu;
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0xf000);
    ck_assert_uint_eq(c->seg[SEG_CS].base, 0xffff0000u);
    ck_assert_uint_eq(c->eip, 0xfff1); /* after the hlt */
    ck_assert_uint_eq(c->cr0, CR0_ET);
    ck_assert_uint_eq(c->sysenter_cs, 8);
    ck_assert_uint_eq(c->fpu.cw, 0x027f);
    ck_assert_uint_eq(c->gpr[R_EDX], CPU_SIGNATURE);
    ck_assert_uint_eq(c->apic_base, 0xfee00900u);
    ck_assert_uint_eq(mmio_rd(LAPIC_DEFAULT_BASE + 0x80), 0);
    ck_assert_uint_eq(mmio_rd(LAPIC_DEFAULT_BASE + 0xf0), 0xff);
    ck_assert_uint_eq(mmio_rd(LAPIC_DEFAULT_BASE + 0x20), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("apic_board");
    TCase *tc = tcase_create("apic_board");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, board_isa_routing);
    tcase_add_test(tc, board_pirq_pins);
    tcase_add_test(tc, board_virtual_wire);
    tcase_add_test(tc, board_apic_base_msr);
    tcase_add_test(tc, board_init_ipi);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
