/*
 * x87 state management that the rest of the CPU needs even before any
 * floating-point instruction runs: the power-on state.
 */
#include <string.h>

#include "cpu/x87/fpu.h"

void fpu_reset(struct fpu *f)
{
    memset(f, 0, sizeof(*f));
    f->cw = 0x0040;
    f->tw = 0x5555;
}
