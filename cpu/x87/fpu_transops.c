/*
 * Handlers of the x87 transcendental instructions: F2XM1, FYL2X,
 * FYL2XP1, FPATAN (two operands, result in ST(1), pop), and FSIN, FCOS,
 * FSINCOS, FPTAN (C2 = 1 and nothing changed when |ST(0)| >= 2^63;
 * FSINCOS and FPTAN push a second result). The mathematics is in
 * fpu_trans.c.
 */
#include "cpu/x87/fpu_ops.h"
#include "cpu/x87/fpu_trans.h"

HANDLER(fpu_f2xm1)
{
    fpu_enter(c);
    if (fpu_empty(&c->fpu, 0)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = tr_f2xm1(&e, fpu_fx(c, 0));
        fpu_result(c, 0, r, &e, false);
    }
    fpu_note(c, i);
}

/* ST(1) = fn(ST(0), ST(1)), pop. */
static void binary_pop(struct cpu *c, const struct insn *i, struct f80 (*fn)(struct sf_env *, struct fx, struct fx))
{
    if (fpu_empty(&c->fpu, 0) || fpu_empty(&c->fpu, 1)) {
        if (fpu_stack_underflow(c)) {
            fpu_write(&c->fpu, 1, f80_indefinite());
            fpu_pop(&c->fpu);
        }
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r = fn(&e, fpu_fx(c, 0), fpu_fx(c, 1));
        fpu_result(c, 1, r, &e, true);
    }
    fpu_note(c, i);
}

HANDLER(fpu_yl2x) { fpu_enter(c); binary_pop(c, i, tr_yl2x); }
HANDLER(fpu_yl2xp1) { fpu_enter(c); binary_pop(c, i, tr_yl2xp1); }
HANDLER(fpu_patan) { fpu_enter(c); binary_pop(c, i, tr_patan); }

/* FSIN (want_sin) / FCOS. */
static void sin_or_cos(struct cpu *c, const struct insn *i, bool want_sin)
{
    if (fpu_empty(&c->fpu, 0)) {
        if (fpu_stack_underflow(c))
            fpu_write(&c->fpu, 0, f80_indefinite());
        fpu_raise(c, 0, FSW_C2, 0);
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 r;
        if (!tr_sincos(&e, fpu_fx(c, 0), want_sin ? &r : NULL, want_sin ? NULL : &r)) {
            fpu_raise(c, 0, FSW_C2 | FSW_C1, FSW_C2);
        } else {
            fpu_result(c, 0, r, &e, false);
            fpu_raise(c, 0, FSW_C2, 0);
        }
    }
    fpu_note(c, i);
}

HANDLER(fpu_sin) { fpu_enter(c); sin_or_cos(c, i, true); }
HANDLER(fpu_cos) { fpu_enter(c); sin_or_cos(c, i, false); }

/* FSINCOS (tan = false) and FPTAN: ST(0) = first, then push second. */
static void two_results(struct cpu *c, const struct insn *i, bool tan)
{
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0)) {
        if (fpu_stack_underflow(c)) {
            fpu_write(f, 0, f80_indefinite());
            fpu_push(f, f80_indefinite());
        }
        fpu_raise(c, 0, FSW_C2, 0);
    } else if (!fpu_empty(f, -1)) {
        if (fpu_stack_overflow(c)) {
            fpu_write(f, 0, f80_indefinite());
            fpu_push(f, f80_indefinite());
        }
        fpu_raise(c, 0, FSW_C2, 0);
    } else {
        struct sf_env e = fpu_env(c);
        struct f80 first, second;
        bool ok;
        if (tan) {
            ok = tr_tan(&e, fpu_fx(c, 0), &first);
            second = f80_make(0, F80_BIAS, 1ull << 63);
            if (f80_is_nan(first) && fpu_fx(c, 0).cls != FX_FIN)
                second = first; /* NaN operand or invalid: both results are the NaN */
        } else {
            ok = tr_sincos(&e, fpu_fx(c, 0), &first, &second);
        }
        if (!ok) {
            fpu_raise(c, 0, FSW_C2 | FSW_C1, FSW_C2);
        } else {
            if (!sf_blocked(&e)) {
                fpu_write(f, 0, first);
                fpu_push(f, second);
            }
            fpu_raise(c, e.flags, FSW_C1 | FSW_C2, e.up ? FSW_C1 : 0);
        }
    }
    fpu_note(c, i);
}

HANDLER(fpu_sincos) { fpu_enter(c); two_results(c, i, false); }
HANDLER(fpu_ptan) { fpu_enter(c); two_results(c, i, true); }
