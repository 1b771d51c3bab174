/*
 * What the JIT's unit tests (test_jit.c, test_jit_probe.c) share: one
 * machine, set up and torn down per test, and helpers to put code in it
 * and run it. The oracle stays each test's own: results the architecture
 * defines, computed in the test.
 */
#ifndef KESTREL_TESTS_UNIT_JIT_HARNESS_H
#define KESTREL_TESTS_UNIT_JIT_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "jit/jit.h"
#include "mmu/phys.h"

extern struct phys mem;
extern struct cpu cpu;
extern struct jit *jit;

/* 4 MiB of RAM, a flat 32-bit CPU, a JIT with `cfg`; teardown() frees them. */
void setup_with(const struct jit_config *cfg);
void teardown(void);
/* Code or data into guest memory, as a device's DMA would write it. */
void put(uint32_t at, const void *code, size_t n);
/* Run from cpu.eip until HLT, in slices of `slice` instructions. */
void run_slices(unsigned slice);
/* Run from `eip` until HLT; returns EAX. */
uint32_t run(uint32_t eip);

/* A page of device memory (MMIO) behaving as memory: add it with these
 * ops where a test wants accesses past the end of RAM to reach a device. */
extern uint8_t devmem[4096];
uint32_t devmem_read(void *opaque, uint64_t off, int size);
void devmem_write(void *opaque, uint64_t off, int size, uint32_t val);
/* A little-endian dword of guest memory, byte by byte. */
void put32(uint32_t at, uint32_t v);
uint32_t get32(uint32_t at);

#endif
