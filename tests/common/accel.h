/*
 * In-process CPU tests (the 80286 vectors, the x87 harness, kdiff) build a
 * struct cpu themselves. This attaches the accelerator the environment
 * variable KESTREL_ACCEL names, so CTest can run each such test per
 * accelerator:
 *   interp (or unset)  the interpreter alone
 *   jit                the JIT, translating every block before its first run
 *   jit-1              the JIT, one instruction per translated block
 *   jit-hot            the JIT with its default threshold (hot blocks only)
 *   cosim              the JIT at once, each block checked against the interpreter
 * An unknown name or an unavailable JIT is an error (exit 2), so a
 * misconfigured test cannot silently run on the interpreter.
 */
#ifndef KESTREL_TESTS_ACCEL_H
#define KESTREL_TESTS_ACCEL_H

struct cpu;
struct jit;

/* NULL when the interpreter runs alone. Call before running the CPU. */
struct jit *test_accel_attach(struct cpu *c);
/* Before cpu_free(). Exits with status 1 if co-simulation found a divergence. */
void test_accel_detach(struct jit *j);

#endif
