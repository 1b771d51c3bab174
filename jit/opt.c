#include "jit/jit_int.h"
void opt_run(struct ir_block *ir) { (void)ir; }
