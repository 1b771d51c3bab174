#include "jit/frontend.h"
bool fe_mov(struct fe *f) { (void)f; return false; }
