/*
 * x87 arithmetic instructions: FADD FSUB FSUBR FMUL FDIV FDIVR in every
 * form (m32fp, m64fp, m16int, m32int, ST(0),ST(i), ST(i),ST(0), popping),
 * and the one-operand ones on ST(0): FSQRT FRNDINT FSCALE FXTRACT FPREM
 * FPREM1 FCHS FABS.
 *
 * The six two-operand operations share one body (arith()), and the forms
 * differ only in where the operands come from and where the result goes,
 * so the handlers are stamped out by macros below.
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

/* ST(0) = ST(0) op memory operand (already unpacked). */
static void arith_mem(struct cpu *c, const struct insn *i, int op, struct fx b)
{
    if (fpu_empty(&c->fpu, 0)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = arith(&e, op, fpu_fx(c, 0), b);
        fpu_result(c, 0, r, &e, false);
    }
    fpu_note(c, i);
}

/* ST(dst) = ST(dst) op ST(src), then pop if asked. */
static void arith_reg(struct cpu *c, const struct insn *i, int op, int dst, int src, bool pop)
{
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
    fpu_note(c, i);
}

static struct fx rd_m32fp(struct cpu *c, const struct insn *i) { return fx_from_f32(mem_rd32(c, i->seg, insn_ea(c, i))); }
static struct fx rd_m64fp(struct cpu *c, const struct insn *i) { return fx_from_f64(mem_rd64(c, i->seg, insn_ea(c, i))); }
static struct fx rd_m16int(struct cpu *c, const struct insn *i) { return fx_from_int((int16_t)mem_rd16(c, i->seg, insn_ea(c, i))); }
static struct fx rd_m32int(struct cpu *c, const struct insn *i) { return fx_from_int((int32_t)mem_rd32(c, i->seg, insn_ea(c, i))); }

#define ARITH_FORMS(name, OP)                                                                                          \
    HANDLER(fpu_##name##_m32) { fpu_enter(c); arith_mem(c, i, OP, rd_m32fp(c, i)); }                                  \
    HANDLER(fpu_##name##_m64) { fpu_enter(c); arith_mem(c, i, OP, rd_m64fp(c, i)); }                                  \
    HANDLER(fpu_i##name##_m16) { fpu_enter(c); arith_mem(c, i, OP, rd_m16int(c, i)); }                                \
    HANDLER(fpu_i##name##_m32) { fpu_enter(c); arith_mem(c, i, OP, rd_m32int(c, i)); }                                \
    HANDLER(fpu_##name##_st0_sti) { fpu_enter(c); arith_reg(c, i, OP, 0, i->rm, false); }

ARITH_FORMS(add, OPA_ADD)
ARITH_FORMS(mul, OPA_MUL)
ARITH_FORMS(sub, OPA_SUB)
ARITH_FORMS(subr, OPA_SUBR)
ARITH_FORMS(div, OPA_DIV)
ARITH_FORMS(divr, OPA_DIVR)

/* ST(i) = ST(i) op ST(0), plain and popping. */
#define ARITH_STI(name, OP)                                                                                            \
    HANDLER(fpu_##name##_sti_st0) { fpu_enter(c); arith_reg(c, i, OP, i->rm, 0, false); }                             \
    HANDLER(fpu_##name##p_sti_st0) { fpu_enter(c); arith_reg(c, i, OP, i->rm, 0, true); }

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

HANDLER(fpu_sqrt) { fpu_enter(c); unary(c, i, do_sqrt); }
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
