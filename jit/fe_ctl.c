#include "jit/frontend.h"
bool fe_ctl(struct fe *f) { (void)f; return false; }
bool fe_reg_form_lowered(const struct insn *i) { (void)i; return false; }
