/* Execution tracing for --log in_asm and --log exec (cpu/trace.c). */
#ifndef KESTREL_TRACE_H
#define KESTREL_TRACE_H

#include "cpu/cpu.h"

struct block;
void trace_block_built(struct cpu *c, const struct block *b, const uint8_t *code);
void trace_block_exec(struct cpu *c, const struct block *b);

#endif
