/*
 * The backend of hosts without one: reports itself unavailable, so the
 * VM runs the interpreter (a new host ISA adds a folder like jit/x64/).
 * It implements all of backend.h, so that such hosts build; the x86-64
 * build compiles it too when KESTREL_JIT_NONE is set (scripts/test.sh).
 */
#include <stddef.h>

#include "jit/backend.h"

const struct be_desc be_host = { .name = "none" };
const unsigned be_chain_entry_offset = 0;

bool be_available(void) { return false; }
void be_constraints(const struct ir_block *ir, const struct ir_op *op, struct be_cons *c)
{
    (void)ir, (void)op;
    *c = (struct be_cons){ .alias = -1 };
}
bool be_imm_ok(const struct ir_op *op, int idx, int64_t v) { (void)op, (void)idx, (void)v; return false; }
bool be_x87_access(const struct block *b, const struct ir_op *op, int *size, bool *write)
{
    (void)b, (void)op, (void)size, (void)write;
    return false;
}
struct be_ctx *be_begin(struct jit *j, struct jit_tb *tb, uint8_t *start, uint8_t *end, bool again)
{
    (void)j, (void)tb, (void)start, (void)end, (void)again;
    return NULL;
}
void be_emit_mov(struct be_ctx *x, enum ir_type t, int dst, int src) { (void)x, (void)t, (void)dst, (void)src; }
void be_emit_movi(struct be_ctx *x, enum ir_type t, int dst, int64_t v) { (void)x, (void)t, (void)dst, (void)v; }
void be_emit_spill(struct be_ctx *x, int reg, int slot) { (void)x, (void)reg, (void)slot; }
void be_emit_fill(struct be_ctx *x, int reg, int slot) { (void)x, (void)reg, (void)slot; }
void be_emit_op(struct be_ctx *x, const struct ir_block *ir, const struct ir_op *op, int out, const struct be_loc *in,
                const int *scratch, regset live)
{
    (void)x, (void)ir, (void)op, (void)out, (void)in, (void)scratch, (void)live;
}
void be_set_defers(struct be_ctx *x, const struct ir_defer *d, const struct be_loc (*locs)[4], unsigned n)
{
    (void)x, (void)d, (void)locs, (void)n;
}
size_t be_end(struct be_ctx *x) { (void)x; return 0; }
bool be_again(struct be_ctx *x) { (void)x; return false; }
void be_free(struct be_ctx *x) { (void)x; }
size_t be_gen_common(struct jit *j, uint8_t *start, uint8_t *end) { (void)j, (void)start, (void)end; return 0; }
void be_patch_jump(uint8_t *site, const uint8_t *target) { (void)site, (void)target; }
bool be_carry_match(uint32_t exit_key, uint32_t entry_key) { (void)exit_key, (void)entry_key; return false; }
void be_kill_entry(struct jit *j, struct jit_tb *tb) { (void)j, (void)tb; }
