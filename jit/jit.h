/*
 * The JIT's public face, for vm/ and the tests: create one per vCPU, and it
 * attaches itself to the CPU through cpu->accel (cpu/accel.h). See
 * jit/README.md for the contract it keeps with the interpreter.
 */
#ifndef KESTREL_JIT_H
#define KESTREL_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpu;
struct jit;

struct jit_config {
    unsigned threshold; /* interpreted runs of a block before it is translated; 0: at once */
    unsigned max_insns; /* instructions per translated block (a prefix of the decoded block); 0: no cap */
    unsigned max_blocks; /* decoded blocks a translation may span past not-taken Jcc and direct JMP (superblocks); 0: default */
    bool stats;         /* keep the counters translated code updates itself */
    bool cosim;         /* lockstep co-simulation against the interpreter (jit/cosim.c) */
    bool no_loops;      /* no loop translations (a block jumping to its own start chains to itself) */
    bool no_ret_stack;  /* guest CALL/RET as plain jumps, not host CALL/RET through a return stack */
    bool no_ic;         /* no inline caches at indirect and cross-page exits (jit/x64/ic.c) */
    bool perf_map;      /* name translated blocks for perf in /tmp/perf-PID.map */
    size_t code_size;   /* code arena bytes; 0: default */
};

struct jit_stats {
#define STAT(name, desc) uint64_t name;
#include "jit/stats.def"
#undef STAT
};

/* Does this build have a backend for the host it runs on? */
bool jit_available(void);

/* Create a JIT and attach it to `cpu` (sets cpu->accel). NULL on failure
 * with a reason in err. */
struct jit *jit_new(struct cpu *cpu, const struct jit_config *cfg, char *err, size_t errlen);
/* Detach from the CPU and free everything. */
void jit_free(struct jit *j);

const struct jit_stats *jit_get_stats(const struct jit *j);

/* Co-simulation results (jit/cosim.c): blocks compared, divergences found;
 * the first divergence is also logged through the CPU's log hook. */
uint64_t jit_cosim_checked(const struct jit *j);
uint64_t jit_cosim_diverged(const struct jit *j);

#endif
