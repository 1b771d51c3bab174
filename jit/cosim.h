/*
 * Lockstep co-simulation (--cosim): every translated block is run twice
 * from the same state, by the interpreter and by its native code, and the
 * results compared (jit/cosim.c).
 */
#ifndef KESTREL_JIT_COSIM_H
#define KESTREL_JIT_COSIM_H

#include <stddef.h>

struct jit;
struct block;
struct cosim;

struct cosim *cosim_new(struct jit *j, char *err, size_t errlen);
void cosim_free(struct cosim *cs);
/* A block got native code: route its runs through the comparison. */
void cosim_attach(struct cosim *cs, struct block *b);
/* All native code is gone. */
void cosim_flush(struct cosim *cs);

#endif
