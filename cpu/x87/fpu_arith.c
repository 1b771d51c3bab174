/*
 * x87 arithmetic instructions: FADD FSUB FSUBR FMUL FDIV FDIVR in every
 * form (m32fp, m64fp, m16int, m32int, ST(0),ST(i), ST(i),ST(0), popping),
 * and the one-operand ones on ST(0): FSQRT FRNDINT FSCALE FXTRACT FPREM
 * FPREM1 FCHS FABS.
 *
 * The six two-operand operations share one body (arith()), and the forms
 * differ only in where the operands come from and where the result goes,
 * so the handlers are stamped out by macros below.
 *
 * Each form first tries the fast path (sf80_fast.h: operands present and
 * normal, result normal), which works on the registers as they are and
 * commits with a few stores; anything else goes to the general path,
 * which unpacks the operands and handles every special case. The split is
 * only about speed: both give the same bits.
 */
#include "cpu/x87/fpu_ops.h"

enum { OPA_ADD, OPA_MUL, OPA_SUB, OPA_SUBR, OPA_DIV, OPA_DIVR };

/* dst = a op b ("reversed" operations swap the operands). */
static struct f80 arith(struct sf_env *e, int op, struct fx a, struct fx b)
{
    switch (op) {
    case OPA_ADD: return sf_add(e, a, b, false);
    case OPA_MUL: return sf_mul(e, a, b);
    case OPA_SUB: return sf_add(e, a, b, true);
    case OPA_SUBR: return sf_add(e, b, a, true);
    case OPA_DIV: return sf_div(e, a, b);
    default: return sf_div(e, b, a);
    }
}

/* The same on normal operands with a normal result, rounding with
 * `shift` (fpu_fast_mode); false otherwise. */
SF_FAST bool arith_fast(int op, struct f80 a, struct f80 b, unsigned shift, struct f80 *r, unsigned *flags)
{
    switch (op) {
    case OPA_ADD: return fast_add(a, b, false, shift, r, flags);
    case OPA_MUL: return fast_mul(a, b, shift, r, flags);
    case OPA_SUB: return fast_add(a, b, true, shift, r, flags);
    case OPA_SUBR: return fast_add(b, a, true, shift, r, flags);
    case OPA_DIV: return fast_div(a, b, shift, r, flags);
    default: return fast_div(b, a, shift, r, flags);
    }
}

/* ---- Memory operands ---- */

/* General path: ST(0) = ST(0) op memory operand of format `kind`. */
FPU_GENERAL void arith_mem_general(struct cpu *c, const struct insn *i, int op, int kind)
{
    fpu_enter(c);
    uint32_t ea = insn_ea(c, i);
    struct fx b = fpu_mem_fx(kind, fpu_mem_read(c, i, ea, kind));
    if (fpu_empty(&c->fpu, 0)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = arith(&e, op, fpu_fx(c, 0), b);
        fpu_result(c, 0, r, &e, false);
    }
    fpu_note_mem(c, i, ea);
}

/* Fast path of the same; false, with nothing done, when the general path
 * must run. */
SF_FAST bool arith_mem_fast(struct cpu *c, const struct insn *i, int op, int kind)
{
    struct fpu *f = &c->fpu;
    int shift = fpu_fast_mode(c);
    if (shift < 0 || fpu_empty(f, 0))
        return false;
    uint32_t ea = insn_ea(c, i);
    const uint8_t *p = fpu_probe_r(c, i->seg, ea, fpu_mem_size(kind));
    struct f80 b, r;
    unsigned flags;
    if (!p || !fpu_mem_f80(kind, fpu_mem_load(p, kind), &b) ||
        !arith_fast(op, f->st[f->top], b, (unsigned)shift, &r, &flags))
        return false;
    f80_put(&f->st[f->top], r);
    fpu_fast_status(f, flags);
    fpu_note_mem(c, i, ea);
    return true;
}

SF_FAST void arith_mem(struct cpu *c, const struct insn *i, int op, int kind)
{
    if (!arith_mem_fast(c, i, op, kind))
        arith_mem_general(c, i, op, kind);
}

/* ---- Register operands ---- */

/* General path: ST(dst) = ST(dst) op ST(src), then pop if asked. */
FPU_GENERAL void arith_reg_general(struct cpu *c, const struct insn *i, int op, int dst, int src, bool pop)
{
    fpu_enter(c);
    if (fpu_empty(&c->fpu, dst) || fpu_empty(&c->fpu, src)) {
        if (fpu_stack_underflow(c)) {
            fpu_write(&c->fpu, dst, f80_indefinite());
            if (pop)
                fpu_pop(&c->fpu);
        }
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = arith(&e, op, fpu_fx(c, dst), fpu_fx(c, src));
        fpu_result(c, dst, r, &e, pop);
    }
    fpu_note_reg(c, i);
}

/* Fast path of the same. */
SF_FAST bool arith_reg_fast(struct cpu *c, const struct insn *i, int op, int dst, int src, bool pop)
{
    struct fpu *f = &c->fpu;
    int shift = fpu_fast_mode(c);
    struct f80 r;
    unsigned flags;
    if (shift < 0 || !fpu_present2(f, dst, src))
        return false;
    int pd = fpu_phys(f, dst);
    if (!arith_fast(op, f->st[pd], f->st[fpu_phys(f, src)], (unsigned)shift, &r, &flags))
        return false;
    f80_put(&f->st[pd], r);
    fpu_fast_status(f, flags);
    if (pop)
        fpu_pop(f);
    fpu_note_reg(c, i);
    return true;
}

SF_FAST void arith_reg(struct cpu *c, const struct insn *i, int op, int dst, int src, bool pop)
{
    if (!arith_reg_fast(c, i, op, dst, src, pop))
        arith_reg_general(c, i, op, dst, src, pop);
}

#define ARITH_FORMS(name, OP)                                                                                          \
    HANDLER(fpu_##name##_m32) { arith_mem(c, i, OP, MEM_F32); }                                         \
    HANDLER(fpu_##name##_m64) { arith_mem(c, i, OP, MEM_F64); }                                         \
    HANDLER(fpu_i##name##_m16) { arith_mem(c, i, OP, MEM_I16); }                                        \
    HANDLER(fpu_i##name##_m32) { arith_mem(c, i, OP, MEM_I32); }                                        \
    HANDLER(fpu_##name##_st0_sti) { arith_reg(c, i, OP, 0, i->rm, false); }

ARITH_FORMS(add, OPA_ADD)
ARITH_FORMS(mul, OPA_MUL)
ARITH_FORMS(sub, OPA_SUB)
ARITH_FORMS(subr, OPA_SUBR)
ARITH_FORMS(div, OPA_DIV)
ARITH_FORMS(divr, OPA_DIVR)

/* ST(i) = ST(i) op ST(0), plain and popping. */
#define ARITH_STI(name, OP)                                                                                            \
    HANDLER(fpu_##name##_sti_st0) { arith_reg(c, i, OP, i->rm, 0, false); }                             \
    HANDLER(fpu_##name##p_sti_st0) { arith_reg(c, i, OP, i->rm, 0, true); }

ARITH_STI(add, OPA_ADD)
ARITH_STI(mul, OPA_MUL)
ARITH_STI(sub, OPA_SUB)
ARITH_STI(subr, OPA_SUBR)
ARITH_STI(div, OPA_DIV)
ARITH_STI(divr, OPA_DIVR)

/* ---- One-operand instructions on ST(0) ---- */

/* ST(0) = f(ST(0)): underflow check, compute, commit. */
static void unary(struct cpu *c, const struct insn *i, struct f80 (*fn)(struct sf_env *, struct fx))
{
    if (fpu_empty(&c->fpu, 0)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = fn(&e, fpu_fx(c, 0));
        fpu_result(c, 0, r, &e, false);
    }
    fpu_note(c, i);
}

static struct f80 do_sqrt(struct sf_env *e, struct fx a) { return sf_sqrt(e, a); }
static struct f80 do_rndint(struct sf_env *e, struct fx a) { return sf_rndint(e, a); }

HANDLER(fpu_sqrt)
{
    struct fpu *f = &c->fpu;
    int shift = fpu_fast_mode(c);
    struct f80 r;
    unsigned flags;
    if (shift >= 0 && !fpu_empty(f, 0) &&
        fast_sqrt(f->st[f->top], (unsigned)shift, &r, &flags)) {
        f80_put(&f->st[f->top], r);
        fpu_fast_status(f, flags);
        fpu_note_reg(c, i);
        return;
    }
    fpu_enter(c);
    unary(c, i, do_sqrt);
}
HANDLER(fpu_rndint) { fpu_enter(c); unary(c, i, do_rndint); }

/* FCHS/FABS touch only the sign bit and raise nothing but stack faults. */
static void sign_op(struct cpu *c, const struct insn *i, uint16_t and_mask, uint16_t xor_mask)
{
    if (fpu_empty(&c->fpu, 0)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
    } else {
        struct f80 v = fpu_st(&c->fpu, 0);
        v.se = (uint16_t)((v.se & and_mask) ^ xor_mask);
        fpu_write(&c->fpu, 0, v);
        fpu_raise(c, 0, FSW_C1, 0);
    }
    fpu_note(c, i);
}

HANDLER(fpu_chs) { fpu_enter(c); sign_op(c, i, 0xffff, 0x8000); }
HANDLER(fpu_abs) { fpu_enter(c); sign_op(c, i, 0x7fff, 0); }

/* Two stack operands ST(0), ST(1): both must be present. */
static bool two_present(struct cpu *c) { return !fpu_empty(&c->fpu, 0) && !fpu_empty(&c->fpu, 1); }

HANDLER(fpu_scale)
{
    fpu_enter(c);
    if (!two_present(c)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = sf_scale(&e, fpu_fx(c, 0), fpu_fx(c, 1));
        fpu_result(c, 0, r, &e, false);
    }
    fpu_note(c, i);
}

static void prem(struct cpu *c, const struct insn *i, bool round)
{
    /* Without a quotient (empty, NaN or invalid operand, or an unmasked
     * exception) the host x87 clears C2 and C1 and leaves C0 and C3 alone. */
    if (!two_present(c)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
        fpu_raise(c, 0, FSW_C2, 0);
    } else {
        struct sf_env e = fpu_env(c);
        uint16_t cc;
        struct fx a = fpu_fx(c, 0), b = fpu_fx(c, 1);
        struct f80 r = sf_rem(&e, a, b, round, &cc);
        bool noq = a.cls == FX_NAN || b.cls == FX_NAN || (e.flags & FSW_IE);
        if (!sf_blocked(&e)) {
            fpu_write(&c->fpu, 0, r);
            fpu_raise(c, e.flags, noq ? FSW_C2 | FSW_C1 : FSW_CC, cc);
        } else {
            fpu_raise(c, e.flags, FSW_C2 | FSW_C1, 0);
        }
    }
    fpu_note(c, i);
}

HANDLER(fpu_prem) { fpu_enter(c); prem(c, i, false); }
HANDLER(fpu_prem1) { fpu_enter(c); prem(c, i, true); }

/* FXTRACT: ST(0) = exponent, then push the significand. */
HANDLER(fpu_xtract)
{
    fpu_enter(c);
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0)) {
        if (fpu_stack_underflow(c)) {
            fpu_write(f, 0, f80_indefinite());
            fpu_push(f, f80_indefinite());
        }
    } else if (!fpu_empty(f, -1)) {
        if (fpu_stack_overflow(c)) {
            fpu_write(f, 0, f80_indefinite());
            fpu_push(f, f80_indefinite());
        }
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 sig, ex = sf_xtract(&e, fpu_fx(c, 0), &sig);
        if (!sf_blocked(&e)) {
            fpu_write(f, 0, ex);
            fpu_push(f, sig);
        }
        fpu_raise(c, e.flags, FSW_C1, 0);
    }
    fpu_note(c, i);
}
