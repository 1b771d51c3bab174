/*
 * The x87 FPU: architectural state helpers shared by the x87 and MMX
 * handlers. Arithmetic is done in software on 80-bit values (softfloat.h),
 * never with the host's long double, so results are identical on every host.
 */
#ifndef KESTREL_FPU_H
#define KESTREL_FPU_H

#include "cpu/cpu.h"

/* Power-on state (not FNINIT's): CW 0x0040, tags all valid-zero... per SDM table 9-1. */
void fpu_reset(struct fpu *f);

#endif
