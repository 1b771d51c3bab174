/*
 * The short names the rows of cpu/opcodes.def use in their EXT and PFX
 * columns. Include this only in files that expand rows with those columns
 * (optable.c, gen_decode.c), after cpu/opcode.h.
 */
#ifndef KESTREL_OPCODE_ROWS_H
#define KESTREL_OPCODE_ROWS_H

#include "cpu/opcode.h"

#define NOEXT 0
#define R(n) ((EXT_R << 8) | (n))
#define M(n) ((EXT_M << 8) | (n))
#define X(n) ((EXT_X << 8) | (n))
#define RM(n, m) ((EXT_RM << 8) | ((n) << 3) | (m))

#define NP MPFX_NONE
#define P66 MPFX_66
#define PF3 MPFX_F3
#define PF2 MPFX_F2

#endif
