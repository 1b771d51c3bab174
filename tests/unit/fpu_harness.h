/*
 * Differential harness for the x87 and MMX: the same instruction bytes run
 * natively on the host CPU (the oracle) and in a small Kestrel machine
 * (flat 32-bit protected mode), on the same data block, and the data
 * blocks are compared afterwards.
 *
 * The trick that makes one byte sequence serve both: every memory operand
 * is [ebx+disp8], and x87/MMX encodings with that addressing mean the same
 * in 64-bit and 32-bit mode. Natively the bytes go into an executable
 * page and are called with rbx pointing at the data block; in Kestrel they
 * are placed in guest RAM and run until the HLT that replaces the RET.
 *
 * Programs follow one template (fpu_prog_*): FNINIT, load the test
 * control word, preset EFLAGS, push the operands, the instruction under
 * test, then capture the status word, FNSTENV, EFLAGS (LAHF/SETO), clear
 * exceptions and store ST(0..2) with everything masked, so an unmasked
 * exception in the instruction under test never raises a signal natively
 * (only waiting instructions would, and those run after FNCLEX).
 */
#ifndef KESTREL_FPU_HARNESS_H
#define KESTREL_FPU_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* Data block layout (offsets from ebx). */
enum {
    D_CW = 0x00,    /* control word for the test */
    D_CWM = 0x02,   /* 0x037f: everything masked, for the epilogue */
    D_AHIN = 0x04,  /* AH loaded into EFLAGS by SAHF (FCMOVcc tests) */
    D_MEM = 0x30,   /* memory operand (16 bytes) */
    D_R = 0x40,     /* ST(0), ST(1), ST(2) after the instruction: 3 x 10 bytes */
    D_SW = 0x60,    /* status word right after the instruction */
    D_SW2 = 0x62,   /* status word at the end */
    D_ENV = 0x70,   /* FNSTENV right after the instruction (28 bytes) */
    D_EFL = 0x08,   /* LAHF after the instruction */
    D_OF = 0x09,    /* SETO after the instruction */
    D_OPS = 0x100,  /* operands pushed: ST(k) = D_OPS + 16k, k < 8 */
    D_SAVE = 0x180, /* FNSAVE image (MMX tests), 108 bytes */
    D_INIT = 0x200, /* FLDENV image the prologue starts from (28 bytes) */
    D_SIZE = 0x240,
};

struct rng;

struct prog {
    uint8_t b[320];
    int n;
};

void prog_bytes(struct prog *p, const uint8_t *b, int n);
#define PB(p, ...) prog_bytes((p), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* FNINIT; FLDENV [D_INIT] (control word D_CW, random condition codes);
 * preset flags; push nload operands (ST(0) = D_OPS). */
void prog_prologue(struct prog *p, int nload, bool sahf);
/* Fill D_INIT from D_CW with condition codes C0..C3 chosen by r, so that
 * what an instruction does to bits it leaves "undefined" is compared too. */
void prog_init_env(uint8_t *data, struct rng *r);
/* Capture and store: see the header comment. */
void prog_epilogue(struct prog *p);

/* Run on the host and in Kestrel. data: D_SIZE bytes, updated in place. */
bool fpu_host_is_x86(void);
void run_native(const struct prog *p, uint8_t *data);
void run_kestrel(const struct prog *p, uint8_t *data);
/* The Kestrel CPU, for tests that look at state directly: guest physical
 * memory access, and running from CS:EIP (set by the caller) to a HLT. */
struct cpu *kestrel_cpu(void);
void kestrel_write(uint32_t pa, const void *p, unsigned n);
void kestrel_read(uint32_t pa, void *p, unsigned n);
bool kestrel_run_to_hlt(void);
void harness_init(void);

/* Random numbers: xorshift64*, seeded per test (seeds printed on failure). */
struct rng {
    uint64_t s;
};
uint64_t rng_next(struct rng *r);
static inline uint32_t rng_below(struct rng *r, uint32_t n) { return (uint32_t)(rng_next(r) % n); }

/* Operand generators. */
struct f80 gen_f80(struct rng *r);
struct f80 gen_f80_near(struct rng *r, struct f80 a); /* close to a (cancellation, ties) */
struct f80 gen_f80_range(struct rng *r, int emin, int emax, bool neg_ok);
uint16_t gen_cw(struct rng *r);
void put_f80(uint8_t *d, struct f80 v);
struct f80 get_f80(const uint8_t *d);

/* Iteration scale: 1 normally, small with --quick (the sanitizer subset). */
extern int fpu_quick;
extern uint64_t fpu_seed;
void harness_args(int argc, char **argv);

/* Compare the two data blocks (env pointer fields excluded). Returns the
 * first differing offset or -1. */
int data_diff(const uint8_t *a, const uint8_t *b);
void dump_case(const char *name, uint64_t seed, int iter, const uint8_t *in, const uint8_t *host,
               const uint8_t *kes, int nops);

#endif
