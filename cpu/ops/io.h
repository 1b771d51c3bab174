/* Port I/O helpers shared by IN/OUT and INS/OUTS (cpu/ops/io.c). */
#ifndef KESTREL_OPS_IO_H
#define KESTREL_OPS_IO_H

#include "cpu/cpu.h"

/* #GP(0) unless the current privilege may access ports port..port+size-1. */
void io_check(struct cpu *c, uint16_t port, int size);
uint32_t io_in(struct cpu *c, uint16_t port, int size);
void io_out(struct cpu *c, uint16_t port, int size, uint32_t val);

#endif
