/*
 * Hostile guests: random bytes executed on the whole PC board from random
 * CPU states (real mode, 16/32-bit protected mode, v86, paging on or off,
 * random descriptor tables). Whatever the guest does — random port I/O to
 * every device, random MMIO, DMA to random addresses, self-modifying code,
 * faults of every kind — the emulator must keep running: the run ends by
 * the instruction limit, a halt, a reset or power-off, never by a crash,
 * an assertion or memory misuse (this test also runs under ASan/UBSan).
 * CHAOS_ACCEL=jit runs the same under the JIT, translating every block
 * before its first run (the x87 on the host's x87 included).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/seg.h"
#include "vm/vm.h"
#include "tests/common/check_run.h"

static uint64_t rng;
static uint32_t next32(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 32);
}

static void random_fill(uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k += 4) {
        uint32_t v = next32();
        memcpy(p + k, &v, n - k < 4 ? n - k : 4);
    }
}

static void put32(struct vm *vm, uint32_t at, uint32_t v)
{
    memcpy(vm->mem.ram + at, &v, 4);
}

/* Valid descriptor tables at fixed low addresses, so that protected-mode
 * runs survive their first exceptions: flat ring-0/ring-3 code and data, a
 * 16-bit code segment, a TSS with a ring-0 stack, and 256 interrupt gates
 * into random code. */
static void sane_tables(struct vm *vm)
{
    static const uint32_t gdt[] = {
        0, 0, 0x0000ffff, 0x00cf9b00, 0x0000ffff, 0x00cf9300, 0x0000ffff, 0x00009b01,
        0x0000ffff, 0x00009301, 0x0c000067, 0x00008900, 0x0000ffff, 0x00cffb00, 0x0000ffff, 0x00cff300,
    };
    memcpy(vm->mem.ram + 0x500, gdt, sizeof(gdt));
    for (int v = 0; v < 256; v++) {
        uint32_t target = 0x10000 + (next32() % 0x1f0000);
        put32(vm, 0x800 + 8 * v, (0x08u << 16) | (target & 0xffff));
        put32(vm, 0x804 + 8 * v, (target & 0xffff0000u) | 0xee00);
    }
    memset(vm->mem.ram + 0xc00, 0, 0x68);
    put32(vm, 0xc04, 0x9000 + (next32() & 0x7ffc)); /* ESP0 */
    put32(vm, 0xc08, 0x10);                          /* SS0 */
    struct cpu *c = &vm->cpu;
    c->gdtr = (struct dtr){ 0x500, sizeof(gdt) - 1 };
    c->idtr = (struct dtr){ 0x800, 256 * 8 - 1 };
    seg_set_cache(c, SEG_TR, 0x28, 0xc00, 0x67, SA_P | 0x0b);
}

/* Identity map the first 64 MiB with 4 MiB pages, a few of them damaged. */
static void identity_paging(struct vm *vm)
{
    for (uint32_t k = 0; k < 1024; k++) {
        uint32_t pde = k < 16 ? (k << 22) | 0x87 : 0;
        if (next32() % 16 == 0)
            pde ^= 1u << (next32() % 32);
        put32(vm, 0x1000 + 4 * k, pde);
    }
}

static void random_state(struct vm *vm)
{
    struct cpu *c = &vm->cpu;
    for (int r = 0; r < 8; r++)
        c->gpr[r] = next32();
    c->gdtr = (struct dtr){ next32() & 0xfffff, next32() & 0xffff };
    c->idtr = (struct dtr){ next32() & 0xfffff, next32() & 0xffff };
    bool sane = next32() % 4 != 0; /* mostly valid tables, sometimes garbage */
    switch (next32() % 4) {
    case 0: /* real mode at a random place */
        seg_load_real(c, SEG_CS, (uint16_t)(next32() & 0x9fff));
        c->eip = next32() & 0xffff;
        break;
    case 1: /* flat 32-bit protected mode */
        cpu_set_flat32(c);
        if (sane)
            sane_tables(vm);
        c->eip = next32() % (uint32_t)vm->mem.ram_size;
        break;
    case 2: /* 16-bit protected mode */
        cpu_set_flat32(c);
        if (sane)
            sane_tables(vm);
        seg_set_cache(c, SEG_CS, 0x18, 0x10000, 0xffff, SA_P | SA_S | SA_CODE | SA_RW);
        c->eip = next32() & 0xffff;
        break;
    default: /* paging on: identity mapped (or random tables) */
        cpu_set_flat32(c);
        if (sane) {
            sane_tables(vm);
            identity_paging(vm);
            c->cr3 = 0x1000;
            c->eip = 0x10000 + (next32() % 0x1f0000);
        } else {
            c->cr3 = next32() & 0x3fff000;
            c->eip = next32();
        }
        c->cr0 |= CR0_PG;
        c->cr4 = next32() & (CR4_PSE | CR4_PGE);
        c->cr4 |= sane ? CR4_PSE : 0;
        mmu_set_paging(&c->mmu, c->mem, c->cr0, c->cr3, c->cr4, c->efer);
        cpu_update_mode(c);
        break;
    }
    if (next32() % 8 == 0) /* virtual-8086 mode */
        cpu_set_eflags(c, EFL_VM | (next32() & 0x3000), EFL_VM | EFL_IOPL);
    cpu_set_eflags(c, next32() & 0x0cd5, 0x0cd5);
}

START_TEST(random_code_on_the_board)
{
    rng = 0x6368616f73ull + (uint64_t)_i * 0x9e3779b97f4a7c15ull;
    const char *env = getenv("CHAOS_SEED");
    if (env)
        rng = strtoull(env, NULL, 0);
    uint64_t seed = rng;
    struct vm *vm = calloc(1, sizeof(*vm));
    /* Guest time is bounded too: a guest halted with its interrupts masked
     * waits forever, as on hardware. */
    struct vm_config cfg = { .mem_size = 64u << 20, .clock = CLOCK_ICOUNT, .ns_per_insn = 4, .no_reboot = true,
                             .max_time_ns = 50000000 };
    const char *accel = getenv("CHAOS_ACCEL");
    if (accel && !strcmp(accel, "jit")) {
        cfg.accel = VM_ACCEL_JIT;
        cfg.jit_threshold = 0;
    }
    ck_assert_int_eq(vm_init(vm, &cfg), 0);
    ck_assert_int_eq(pc_finalize(vm), 0);
    /* Random low memory (IVT, BIOS data, code) and scattered random pages. */
    random_fill(vm->mem.ram, 2u << 20);
    for (int k = 0; k < 64; k++)
        random_fill(vm->mem.ram + ((next32() % 15800) << 12), 4096);
    random_state(vm);
    enum vm_stop stop = vm_run(vm, 300000);
    printf("chaos seed %#llx: stopped with %d after %llu instructions\n", (unsigned long long)seed, stop,
           (unsigned long long)vm->cpu.icount);
    ck_assert(stop == VM_STOP_LIMIT || stop == VM_STOP_HALTED || stop == VM_STOP_SHUTDOWN || stop == VM_STOP_RESET ||
              stop == VM_STOP_POWEROFF || stop == VM_STOP_EXIT);
    vm_free(vm);
    free(vm);
}
END_TEST

int main(void)
{
    int runs = getenv("CHAOS_RUNS") ? atoi(getenv("CHAOS_RUNS")) : 60;
    Suite *s = suite_create("chaos");
    TCase *tc = tcase_create("chaos");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, random_code_on_the_board, 0, runs);
    suite_add_tcase(s, tc);
    return check_run(s, CK_NOFORK);
}
