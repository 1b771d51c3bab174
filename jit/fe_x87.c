/*
 * Lowering of x87 instructions (cpu/x87/): each becomes one X87 op, "run
 * guest instruction k", whose memory operand, if any, is at seg:EA with
 * the EA computed here. What a backend makes of it is its own choice
 * (jit/README.md, "X87"): the x86-64 backend runs the common forms on the
 * host's x87 inline and calls the interpreter handler for the rest; a
 * backend without an x87 calls the handler for all of them.
 *
 * Unlike an interpreter fallback, an X87 op is not a sync point for the
 * general registers and flags, and does not make the optimiser forget
 * them: the x87 handlers read and write only the FPU state and memory.
 * The instructions that do reach the integer state stay fallbacks:
 * FNSTSW AX (writes AX), FCOMI/FUCOMI[P] (write EFLAGS), FCMOVcc (read
 * EFLAGS).
 */
#include "jit/frontend.h"

static bool x87_lowered(const struct insn *i)
{
    const struct op_info *oi = &op_info[i->id];
    if (!(oi->attr & A_FPU) || (oi->attr & (A_END | A_BRANCH)))
        return false;
    if (oi->fread || oi->fwrite) /* FCOMI family, FCMOVcc */
        return false;
    return i->id != OP_FNSTSW_AX;
}

bool fe_x87(struct fe *f)
{
    const struct insn *i = f->i;
    if (!x87_lowered(i))
        return false;
    bool mem = (i->pfx & P_MEM) != 0;
    ir_temp ea = mem ? fe_ea(f) : fe_const(f, 0);
    struct ir_op *op = ir_emit(f->ir, IR_X87, IR_I32, IR_NOTEMP, ea, IR_NOTEMP);
    op->c[0] = f->k;
    op->c[1] = i->seg;
    f->j->stats.jit_x87_insns++;
    /* A store may hit code, and a handler that flags an unmasked exception
     * with CR0.NE clear raises FERR#: either calls cpu_stop(). */
    f->wrote_mem = true;
    return true;
}
