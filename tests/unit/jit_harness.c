/*
 * What the JIT's unit tests share (jit_harness.h): one machine of 4 MiB
 * with a flat 32-bit CPU and a JIT, code put in memory and run until HLT,
 * and a page of device memory that behaves as memory.
 */
#include <check.h>

#include "tests/unit/jit_harness.h"

struct phys mem;
struct cpu cpu;
struct jit *jit;

void setup_with(const struct jit_config *cfg)
{
    ck_assert_int_eq(phys_init(&mem, 4u << 20), 0);
    struct cpu_env env = { 0 };
    ck_assert_int_eq(cpu_init(&cpu, &mem, &env), 0);
    cpu_set_flat32(&cpu);
    char err[200];
    jit = jit_new(&cpu, cfg, err, sizeof(err));
    ck_assert_msg(jit != NULL, "%s", err);
}

void teardown(void)
{
    jit_free(jit);
    cpu_free(&cpu);
    phys_free(&mem);
}

void put(uint32_t at, const void *code, size_t n)
{
    phys_write_buf(&mem, at, code, n);
}

/* Run from cpu.eip until HLT, in slices of `slice` instructions. */
void run_slices(unsigned slice)
{
    cpu.halted = 0;
    unsigned steps = 0;
    while (cpu_exec(&cpu, slice) != CPU_EXIT_HALT)
        ck_assert_uint_lt(++steps, 100000);
}

/* Run from `eip` until HLT; returns EAX. */
uint32_t run(uint32_t eip)
{
    cpu.eip = eip;
    cpu.halted = 0;
    ck_assert_int_eq(cpu_exec(&cpu, 1000000), CPU_EXIT_HALT);
    return (uint32_t)cpu.gpr[R_EAX];
}

/* Device memory right after RAM, behaving as memory. */
uint8_t devmem[4096];

uint32_t devmem_read(void *opaque, uint64_t off, int size)
{
    (void)opaque;
    uint32_t v = 0;
    for (int i = 0; i < size; i++)
        v |= (uint32_t)devmem[(off + (uint64_t)i) & 4095] << 8 * i;
    return v;
}

void devmem_write(void *opaque, uint64_t off, int size, uint32_t val)
{
    (void)opaque;
    for (int i = 0; i < size; i++)
        devmem[(off + (uint64_t)i) & 4095] = (uint8_t)(val >> 8 * i);
}

void put32(uint32_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        phys_write(&mem, at + (uint32_t)i, 1, (v >> 8 * i) & 0xff);
}

uint32_t get32(uint32_t at)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)phys_read(&mem, at + (uint32_t)i, 1) << 8 * i;
    return v;
}
