#include "jit/frontend.h"
bool fe_alu(struct fe *f) { (void)f; return false; }
