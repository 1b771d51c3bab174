/*
 * x87 comparisons and tests: FCOM FCOMP FCOMPP (ordered: any NaN raises
 * #IA), FUCOM FUCOMP FUCOMPP (unordered: only SNaN raises), FICOM FICOMP,
 * FTST, FCOMI FCOMIP FUCOMI FUCOMIP (results in ZF/PF/CF, OF/SF/AF
 * cleared), FXAM, and FCMOVcc.
 *
 * Results go to C3/C2/C0 (FCOM family) as 000 greater, 001 less, 100
 * equal, 111 unordered; C1 is cleared. The condition codes are set even
 * when an unmasked exception is raised (the host x87 does so), and so are
 * EFLAGS for FCOMI and friends, but then nothing is popped.
 *
 * Two normal operands (sf80_fast.h) compare without unpacking and raise
 * nothing; every other pair goes through sf_compare.
 */
#include "cpu/x87/fpu_ops.h"

static const uint16_t cc_of[4] = {
    [SF_LT] = FSW_C0, [SF_EQ] = FSW_C3, [SF_GT] = 0, [SF_UN] = FSW_C3 | FSW_C2 | FSW_C0,
};

/* Stack underflow: C3 C2 C0 = unordered; the masked response pops. */
static void compare_underflow(struct cpu *c, int pops)
{
    bool masked = fpu_stack_underflow(c);
    fpu_raise(c, 0, FSW_C3 | FSW_C2 | FSW_C0, FSW_C3 | FSW_C2 | FSW_C0);
    while (masked && pops--)
        fpu_pop(&c->fpu);
}

/* Commit the order r with the exceptions `flags`; pop unless an unmasked
 * exception forbids it (`blocked`). */
static inline void compare_commit(struct cpu *c, unsigned flags, bool blocked, int r, int pops)
{
    fpu_raise(c, flags, FSW_CC, cc_of[r]);
    while (!blocked && pops--)
        fpu_pop(&c->fpu);
}

/* General path: ST(0) against the unpacked b. */
static void compare_general(struct cpu *c, struct fx b, bool quiet, int pops)
{
    struct sf_env e = fpu_env(c);
    int r = sf_compare(&e, fpu_fx(c, 0), b, quiet);
    compare_commit(c, e.flags, sf_blocked(&e), r, pops);
}

/* ST(0) against ST(src). */
static inline __attribute__((always_inline)) void compare_reg(struct cpu *c, const struct insn *i, int src, bool quiet,
                                                              int pops)
{
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0) || fpu_empty(f, src)) {
        compare_underflow(c, pops);
    } else {
        int r = fast_compare(fpu_st(f, 0), fpu_st(f, src));
        if (r >= 0)
            compare_commit(c, 0, false, r, pops);
        else
            compare_general(c, fpu_fx(c, src), quiet, pops);
    }
    fpu_note_reg(c, i);
}

/* ST(0) against a memory operand of format `kind` (FCOM m32/m64, FICOM). */
static inline __attribute__((always_inline)) void compare_mem(struct cpu *c, const struct insn *i, int kind, int pops)
{
    struct fpu *f = &c->fpu;
    uint32_t ea = insn_ea(c, i);
    uint64_t raw = fpu_mem_read(c, i, ea, kind);
    if (fpu_empty(f, 0)) {
        compare_underflow(c, pops);
    } else {
        struct f80 b;
        int r = fpu_mem_f80(kind, raw, &b) ? fast_compare(fpu_st(f, 0), b) : -1;
        if (r >= 0)
            compare_commit(c, 0, false, r, pops);
        else
            compare_general(c, fpu_mem_fx(kind, raw), false, pops);
    }
    fpu_note_mem(c, i, ea);
}

HANDLER(fpu_com_m32) { fpu_enter(c); compare_mem(c, i, MEM_F32, 0); }
HANDLER(fpu_com_m64) { fpu_enter(c); compare_mem(c, i, MEM_F64, 0); }
HANDLER(fpu_comp_m32) { fpu_enter(c); compare_mem(c, i, MEM_F32, 1); }
HANDLER(fpu_comp_m64) { fpu_enter(c); compare_mem(c, i, MEM_F64, 1); }
HANDLER(fpu_icom_m16) { fpu_enter(c); compare_mem(c, i, MEM_I16, 0); }
HANDLER(fpu_icom_m32) { fpu_enter(c); compare_mem(c, i, MEM_I32, 0); }
HANDLER(fpu_icomp_m16) { fpu_enter(c); compare_mem(c, i, MEM_I16, 1); }
HANDLER(fpu_icomp_m32) { fpu_enter(c); compare_mem(c, i, MEM_I32, 1); }
HANDLER(fpu_com_st0_sti) { fpu_enter(c); compare_reg(c, i, i->rm, false, 0); }
HANDLER(fpu_comp_st0_sti) { fpu_enter(c); compare_reg(c, i, i->rm, false, 1); }
HANDLER(fpu_compp) { fpu_enter(c); compare_reg(c, i, 1, false, 2); }
HANDLER(fpu_ucom) { fpu_enter(c); compare_reg(c, i, i->rm, true, 0); }
HANDLER(fpu_ucomp) { fpu_enter(c); compare_reg(c, i, i->rm, true, 1); }
HANDLER(fpu_ucompp) { fpu_enter(c); compare_reg(c, i, 1, true, 2); }

HANDLER(fpu_tst)
{
    fpu_enter(c);
    if (fpu_empty(&c->fpu, 0)) {
        compare_underflow(c, 0);
    } else {
        struct fx zero = { FX_ZERO, 0, 0, 0, 0 };
        compare_general(c, zero, false, 0);
    }
    fpu_note_reg(c, i);
}

/* FCOMI family: the result goes to EFLAGS. */
static const uint32_t comi_flags[4] = {
    [SF_LT] = EFL_CF, [SF_EQ] = EFL_ZF, [SF_GT] = 0, [SF_UN] = EFL_ZF | EFL_PF | EFL_CF,
};

FPU_GENERAL void comi_general(struct cpu *c, const struct insn *i, bool quiet, bool pop)
{
    struct fpu *f = &c->fpu;
    fpu_enter(c);
    if (fpu_empty(f, 0) || fpu_empty(f, i->rm)) {
        bool masked = fpu_stack_underflow(c);
        lf_set(c, comi_flags[SF_UN]);
        if (masked && pop)
            fpu_pop(f);
    } else {
        struct sf_env e = fpu_env(c);
        int r = sf_compare(&e, fpu_fx(c, 0), fpu_fx(c, i->rm), quiet);
        lf_set(c, comi_flags[r]);
        if (!sf_blocked(&e) && pop)
            fpu_pop(f);
        fpu_raise(c, e.flags, 0, 0); /* C1 unchanged, as on the host x87 */
    }
    fpu_note_reg(c, i);
}

/* Two present normal operands: an order, no exception, no status change. */
static inline __attribute__((always_inline)) void comi(struct cpu *c, const struct insn *i, bool quiet, bool pop)
{
    struct fpu *f = &c->fpu;
    int r = -1;
    if (fpu_entry_clear(c) && fpu_present2(f, 0, i->rm))
        r = fast_compare(fpu_st(f, 0), fpu_st(f, i->rm));
    switch (r) { /* lf_set with a constant is a couple of stores */
    case SF_LT: lf_set(c, comi_flags[SF_LT]); break;
    case SF_EQ: lf_set(c, comi_flags[SF_EQ]); break;
    case SF_GT: lf_set(c, comi_flags[SF_GT]); break;
    default: comi_general(c, i, quiet, pop); return;
    }
    if (pop)
        fpu_pop(f);
    fpu_note_reg(c, i);
}

HANDLER(fpu_comi) { comi(c, i, false, false); }
HANDLER(fpu_comip) { comi(c, i, false, true); }
HANDLER(fpu_ucomi) { comi(c, i, true, false); }
HANDLER(fpu_ucomip) { comi(c, i, true, true); }

HANDLER(fpu_xam)
{
    fpu_enter(c);
    struct fpu *f = &c->fpu;
    uint16_t cc;
    if (fpu_empty(f, 0))
        cc = (uint16_t)(FSW_C3 | FSW_C0 | (f80_sign(fpu_st(f, 0)) ? FSW_C1 : 0));
    else
        cc = sf_xam(fpu_st(f, 0));
    fpu_raise(c, 0, FSW_CC, cc);
    fpu_note(c, i);
}

/* FCMOVcc: ST(0) = ST(i) when the condition holds. */
static void cmov(struct cpu *c, const struct insn *i, bool cond)
{
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0) || fpu_empty(f, i->rm)) {
        if (fpu_stack_underflow(c))
            fpu_write(f, 0, f80_indefinite()); /* whatever the condition */
    } else {
        if (cond)
            fpu_write(f, 0, fpu_st(f, i->rm)); /* C1 unchanged, as on the host x87 */
    }
    fpu_note(c, i);
}

HANDLER(fpu_cmovb) { fpu_enter(c); cmov(c, i, lf_cf(c)); }
HANDLER(fpu_cmove) { fpu_enter(c); cmov(c, i, lf_zf(c)); }
HANDLER(fpu_cmovbe) { fpu_enter(c); cmov(c, i, lf_cf(c) || lf_zf(c)); }
HANDLER(fpu_cmovu) { fpu_enter(c); cmov(c, i, lf_pf(c)); }
HANDLER(fpu_cmovnb) { fpu_enter(c); cmov(c, i, !lf_cf(c)); }
HANDLER(fpu_cmovne) { fpu_enter(c); cmov(c, i, !lf_zf(c)); }
HANDLER(fpu_cmovnbe) { fpu_enter(c); cmov(c, i, !lf_cf(c) && !lf_zf(c)); }
HANDLER(fpu_cmovnu) { fpu_enter(c); cmov(c, i, !lf_pf(c)); }
