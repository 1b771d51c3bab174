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
 * FCOMI/FUCOMI[P] write EFLAGS: theirs is an X87F op, whose output (ZF,
 * PF, CF) becomes the lazy flags here (FL_COMI: a Jcc tests its bits, and
 * the backend makes lf_res and lf_aux of it where they are stored). FNSTSW AX is an X87F op too, its
 * output the status word, into AX. FCMOVcc (reads EFLAGS) stays a
 * fallback.
 */
#include "jit/frontend.h"

static bool is_comi(const struct insn *i)
{
    return i->id == OP_FCOMI || i->id == OP_FUCOMI || i->id == OP_FCOMIP || i->id == OP_FUCOMIP;
}

static bool x87_lowered(const struct insn *i)
{
    const struct op_info *oi = &op_info[i->id];
    if (!(oi->attr & A_FPU) || (oi->attr & (A_END | A_BRANCH)))
        return false;
    return !((oi->fread || oi->fwrite) && !is_comi(i)); /* FCMOVcc */
}

bool fe_x87(struct fe *f)
{
    const struct insn *i = f->i;
    if (!x87_lowered(i))
        return false;
    bool mem = (i->pfx & P_MEM) != 0;
    ir_temp ea = mem ? fe_ea(f) : fe_const(f, 0);
    bool out = is_comi(i) || i->id == OP_FNSTSW_AX;
    ir_temp v = out ? ir_new(f->ir, IR_I32) : IR_NOTEMP;
    struct ir_op *op = ir_emit(f->ir, out ? IR_X87F : IR_X87, IR_I32, v, ea, IR_NOTEMP);
    op->c[0] = f->k;
    op->c[1] = i->seg;
    op->c[2] = f->next;
    f->j->stats.jit_x87_insns++;
    if (is_comi(i))
        fe_flags_comi(f, v);
    else if (out)
        fe_set_reg(f, R_EAX, 16, v);
    /* No CHKSTOP after it: an inline store never hits code (the soft TLB
     * has no write entries for code pages), and the backend checks for
     * cpu_stop() itself after a handler (SMC, FERR#). */
    return true;
}
