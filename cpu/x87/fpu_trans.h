/*
 * The x87 transcendental functions on unpacked operands (fpu_trans.c):
 * results rounded once from a 128-bit intermediate, flags in the sf_env.
 * Special operands (zeros, infinities, NaNs, out-of-domain values) follow
 * the SDM's result tables for each instruction.
 */
#ifndef KESTREL_FPU_TRANS_H
#define KESTREL_FPU_TRANS_H

#include "cpu/x87/sf80.h"

/* F2XM1: 2^x - 1. */
struct f80 tr_f2xm1(struct sf_env *e, struct fx x);
/* FYL2X: y * log2(x). */
struct f80 tr_yl2x(struct sf_env *e, struct fx x, struct fx y);
/* FYL2XP1: y * log2(x + 1). */
struct f80 tr_yl2xp1(struct sf_env *e, struct fx x, struct fx y);
/* FPATAN: atan(y / x) with the quadrant of (x, y). */
struct f80 tr_patan(struct sf_env *e, struct fx x, struct fx y);
/* FSIN/FCOS/FSINCOS/FPTAN: false when |x| >= 2^63 (C2 = 1, nothing
 * written). Either output pointer may be NULL; the flags of both results
 * are merged, C1 (e->up) is that of the last one computed: cos for
 * tr_sincos, tan for tr_tan. */
bool tr_sincos(struct sf_env *e, struct fx x, struct f80 *sin, struct f80 *cos);
bool tr_tan(struct sf_env *e, struct fx x, struct f80 *tan);

#endif
