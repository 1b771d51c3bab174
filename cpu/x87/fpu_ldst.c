/*
 * x87 data movement: FLD/FST/FSTP in every format, FILD/FIST/FISTP,
 * FBLD/FBSTP, the constants FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ,
 * and the stack housekeeping FXCH FFREE FFREEP FINCSTP FDECSTP FNOP.
 *
 * Loads push: a full stack (ST(7) in use) is a stack overflow whose masked
 * response pushes the default NaN. Stores compute the memory image and
 * its exceptions first, write memory (which may fault), and only then
 * commit flags and the pop; a masked stack underflow stores the format's
 * indefinite value. FLD/FSTP of the 80-bit format copy bits verbatim and
 * raise nothing but stack faults.
 *
 * The constants are kept to 128 bits and rounded with the current
 * rounding control, so FLDPI & co. differ in the last bit between
 * rounding modes as on the 486 and later.
 */
#include "cpu/x87/fpu_ops.h"

/* ---- Loads ---- */

/* Push v computed under e (flags from the conversion). Only an unmasked
 * #IA stops a load: the host x87 loads a denormal float32/64 even with
 * #D unmasked. */
static void push_value(struct cpu *c, const struct insn *i, struct f80 v, const struct sf_env *e)
{
    struct fpu *f = &c->fpu;
    if (!fpu_empty(f, -1)) {
        if (fpu_stack_overflow(c))
            fpu_push(f, f80_indefinite());
    } else {
        if (!(e->flags & ~e->masks & FSW_IE))
            fpu_push(f, v);
        fpu_raise(c, e->flags, FSW_C1, 0);
    }
    fpu_note(c, i);
}

/* Push a converted memory operand: SNaN raises #IA (quietened), a
 * denormal raises #D. */
static void push_fx(struct cpu *c, const struct insn *i, struct fx a)
{
    struct sf_env e = fpu_env(c);
    struct f80 v;
    if (!sf_nan1(&e, a, &v)) {
        sf_denormal(&e, a, a);
        v = fx_to_f80(a);
    }
    push_value(c, i, v, &e);
}

HANDLER(fpu_ld_m32) { fpu_enter(c); push_fx(c, i, fx_from_f32(mem_rd32(c, i->seg, insn_ea(c, i)))); }
HANDLER(fpu_ld_m64) { fpu_enter(c); push_fx(c, i, fx_from_f64(mem_rd64(c, i->seg, insn_ea(c, i)))); }

static struct f80 rd_f80(struct cpu *c, int seg, uint32_t ea)
{
    struct f80 v;
    v.mant = mem_rd64(c, seg, ea);
    v.se = mem_rd16(c, seg, ea + 8);
    return v;
}

HANDLER(fpu_ld_m80)
{
    fpu_enter(c);
    struct f80 v = rd_f80(c, i->seg, insn_ea(c, i));
    struct sf_env e = fpu_env(c);
    push_value(c, i, v, &e);
}

HANDLER(fpu_ld_sti)
{
    fpu_enter(c);
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, i->rm)) {
        /* An empty source is an underflow (C1 = 0) even when the push
         * would also overflow: so the host x87 reports it. */
        if (fpu_stack_underflow(c))
            fpu_push(f, f80_indefinite());
        fpu_note(c, i);
        return;
    }
    struct sf_env e = fpu_env(c);
    push_value(c, i, fpu_st(f, i->rm), &e);
}

static void push_int(struct cpu *c, const struct insn *i, int64_t v)
{
    struct sf_env e = fpu_env(c);
    push_value(c, i, fx_to_f80(fx_from_int(v)), &e);
}

HANDLER(fpu_ild_m16) { fpu_enter(c); push_int(c, i, (int16_t)mem_rd16(c, i->seg, insn_ea(c, i))); }
HANDLER(fpu_ild_m32) { fpu_enter(c); push_int(c, i, (int32_t)mem_rd32(c, i->seg, insn_ea(c, i))); }
HANDLER(fpu_ild_m64) { fpu_enter(c); push_int(c, i, (int64_t)mem_rd64(c, i->seg, insn_ea(c, i))); }

HANDLER(fpu_bld)
{
    fpu_enter(c);
    uint32_t ea = insn_ea(c, i);
    uint8_t b[10];
    uint64_t lo = mem_rd64(c, i->seg, ea);
    uint16_t hi = mem_rd16(c, i->seg, ea + 8);
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(lo >> (8 * k));
    b[8] = (uint8_t)hi;
    b[9] = (uint8_t)(hi >> 8);
    struct sf_env e = fpu_env(c);
    push_value(c, i, fx_to_f80(fx_from_bcd(b)), &e);
}

/* Constants: 128-bit significand with bit 127 weighing 2^exp. */
static void push_const(struct cpu *c, const struct insn *i, int32_t exp, uint64_t hi, uint64_t lo)
{
    struct sf_env e = fpu_env(c);
    struct f80 v = sf_round80(&e, 0, exp, ((u128)hi << 64) | lo, 64, true);
    e.flags = 0; /* constants raise no exceptions */
    push_value(c, i, v, &e);
}

HANDLER(fpu_ld1) { fpu_enter(c); push_const(c, i, 0, 1ull << 63, 0); }
HANDLER(fpu_ldz)
{
    fpu_enter(c);
    struct sf_env e = fpu_env(c);
    push_value(c, i, f80_zero(0), &e);
}
HANDLER(fpu_ldl2t) { fpu_enter(c); push_const(c, i, 1, 0xd49a784bcd1b8afeull, 0x492bf6ff4dafdb4cull); }
HANDLER(fpu_ldl2e) { fpu_enter(c); push_const(c, i, 0, 0xb8aa3b295c17f0bbull, 0xbe87fed0691d3e88ull); }
HANDLER(fpu_ldpi) { fpu_enter(c); push_const(c, i, 1, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull); }
HANDLER(fpu_ldlg2) { fpu_enter(c); push_const(c, i, -2, 0x9a209a84fbcff798ull, 0x8f8959ac0b7c9178ull); }
HANDLER(fpu_ldln2) { fpu_enter(c); push_const(c, i, -1, 0xb17217f7d1cf79abull, 0xc9e3b39803f2f6afull); }

/* ---- Stores ---- */

enum { ST_F32, ST_F64, ST_F80, ST_I16, ST_I32, ST_I64, ST_BCD };

/* Memory image of ST(0) in format `kind`, into b[]; returns its size. */
static int image(struct sf_env *e, int kind, struct f80 v, uint8_t b[10])
{
    uint64_t x;
    int n;
    switch (kind) {
    case ST_F32: x = sf_to_f32(e, v); n = 4; break;
    case ST_F64: x = sf_to_f64(e, v); n = 8; break;
    case ST_F80:
        x = v.mant;
        b[8] = (uint8_t)v.se;
        b[9] = (uint8_t)(v.se >> 8);
        n = 10;
        break;
    case ST_I16: x = (uint64_t)sf_to_int(e, v, 16); n = 2; break;
    case ST_I32: x = (uint64_t)sf_to_int(e, v, 32); n = 4; break;
    case ST_I64: x = (uint64_t)sf_to_int(e, v, 64); n = 8; break;
    default: sf_to_bcd(e, v, b); return 10;
    }
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(x >> (8 * k));
    return n;
}

static void wr_image(struct cpu *c, const struct insn *i, const uint8_t *b, int n)
{
    uint32_t ea = insn_ea(c, i);
    uint64_t lo = 0;
    for (int k = 0; k < 8; k++)
        lo |= (uint64_t)b[k] << (8 * k);
    switch (n) {
    case 2: mem_wr16(c, i->seg, ea, (uint16_t)lo); break;
    case 4: mem_wr32(c, i->seg, ea, (uint32_t)lo); break;
    case 8: mem_wr64(c, i->seg, ea, lo); break;
    default:
        /* Check both parts are writable before writing either. */
        seg_lin_w(c, i->seg, ea, 10);
        mem_wr16(c, i->seg, ea + 8, (uint16_t)(b[8] | b[9] << 8));
        mem_wr64(c, i->seg, ea, lo);
        break;
    }
}

static void store_mem(struct cpu *c, const struct insn *i, int kind, bool pop)
{
    struct fpu *f = &c->fpu;
    uint8_t b[10];
    if (fpu_empty(f, 0)) {
        bool masked = c->fpu.cw & FSW_IE;
        if (masked) {
            struct sf_env e = fpu_env(c);
            wr_image(c, i, b, image(&e, kind, f80_indefinite(), b));
        }
        fpu_stack_underflow(c);
        if (masked && pop)
            fpu_pop(f);
    } else {
        struct sf_env e = fpu_env(c);
        int n = image(&e, kind, fpu_st(f, 0), b);
        bool blocked = fpu_mem_blocked(&e);
        if (!blocked)
            wr_image(c, i, b, n);
        fpu_raise(c, e.flags, FSW_C1, e.up ? FSW_C1 : 0);
        if (pop && !blocked)
            fpu_pop(f);
    }
    fpu_note(c, i);
}

HANDLER(fpu_st_m32) { fpu_enter(c); store_mem(c, i, ST_F32, false); }
HANDLER(fpu_stp_m32) { fpu_enter(c); store_mem(c, i, ST_F32, true); }
HANDLER(fpu_st_m64) { fpu_enter(c); store_mem(c, i, ST_F64, false); }
HANDLER(fpu_stp_m64) { fpu_enter(c); store_mem(c, i, ST_F64, true); }
HANDLER(fpu_stp_m80) { fpu_enter(c); store_mem(c, i, ST_F80, true); }
HANDLER(fpu_ist_m16) { fpu_enter(c); store_mem(c, i, ST_I16, false); }
HANDLER(fpu_istp_m16) { fpu_enter(c); store_mem(c, i, ST_I16, true); }
HANDLER(fpu_ist_m32) { fpu_enter(c); store_mem(c, i, ST_I32, false); }
HANDLER(fpu_istp_m32) { fpu_enter(c); store_mem(c, i, ST_I32, true); }
HANDLER(fpu_istp_m64) { fpu_enter(c); store_mem(c, i, ST_I64, true); }
HANDLER(fpu_bstp) { fpu_enter(c); store_mem(c, i, ST_BCD, true); }

/* FST/FSTP ST(i): a verbatim copy. */
static void store_reg(struct cpu *c, const struct insn *i, bool pop)
{
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0)) {
        if (fpu_stack_underflow(c)) {
            fpu_write(f, i->rm, f80_indefinite());
            if (pop)
                fpu_pop(f);
        }
    } else {
        fpu_write(f, i->rm, fpu_st(f, 0));
        if (pop)
            fpu_pop(f);
        fpu_raise(c, 0, FSW_C1, 0);
    }
    fpu_note(c, i);
}

HANDLER(fpu_st_sti) { fpu_enter(c); store_reg(c, i, false); }
HANDLER(fpu_stp_sti) { fpu_enter(c); store_reg(c, i, true); }

/* D9 D8+i, the undocumented FSTP alias ("no check for empty"): an empty
 * ST(0) raises nothing and stores nothing, it is only popped (ST(i) keeps
 * its contents and tag on the host x87). */
HANDLER(fpu_stpnce)
{
    fpu_enter(c);
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0)) {
        fpu_pop(f);
        fpu_raise(c, 0, FSW_C1, 0);
        fpu_note(c, i);
        return;
    }
    store_reg(c, i, true);
}

/* ---- Stack housekeeping ---- */

HANDLER(fpu_xch)
{
    fpu_enter(c);
    struct fpu *f = &c->fpu;
    if (fpu_empty(f, 0) || fpu_empty(f, i->rm)) {
        if (!fpu_stack_underflow(c)) {
            fpu_note(c, i);
            return;
        }
        if (fpu_empty(f, 0))
            fpu_write(f, 0, f80_indefinite());
        if (fpu_empty(f, i->rm))
            fpu_write(f, i->rm, f80_indefinite());
    } else {
        fpu_raise(c, 0, FSW_C1, 0);
    }
    struct f80 a = fpu_st(f, 0), b = fpu_st(f, i->rm);
    fpu_write(f, 0, b);
    fpu_write(f, i->rm, a);
    fpu_note(c, i);
}

/* FFREE and FFREEP clear C1, as the host x87 does. */
HANDLER(fpu_free)
{
    fpu_enter(c);
    fpu_set_tag(&c->fpu, fpu_phys(&c->fpu, i->rm), 3);
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note(c, i);
}

HANDLER(fpu_freep)
{
    fpu_enter(c);
    fpu_set_tag(&c->fpu, fpu_phys(&c->fpu, i->rm), 3);
    fpu_pop(&c->fpu);
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note(c, i);
}

HANDLER(fpu_incstp)
{
    fpu_enter(c);
    c->fpu.top = (c->fpu.top + 1) & 7;
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note(c, i);
}

HANDLER(fpu_decstp)
{
    fpu_enter(c);
    c->fpu.top = (c->fpu.top - 1) & 7;
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note(c, i);
}

HANDLER(fpu_nop)
{
    fpu_enter(c);
    fpu_note(c, i);
}
