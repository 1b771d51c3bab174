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
 *
 * The common cases take a short path that commits with a few stores: a
 * push onto a free slot of a value that raises nothing (FLD ST(i), FLD
 * m80, normal float32/64, nonzero integers), a store of a value that
 * rounds to a normal number of the format, FXCH and FST ST(i) of present
 * registers. Everything else (stack faults, NaNs, denormals, overflow...)
 * takes the general path, which has the same results on the short path's
 * cases.
 */
#include "cpu/x87/fpu_ops.h"
#include "cpu/x87/sf80_fast.h"

/* ---- Loads ---- */

/* Push v computed under e (flags from the conversion). Only an unmasked
 * #IA stops a load: the host x87 loads a denormal float32/64 even with
 * #D unmasked. */
static void push_value(struct cpu *c, struct f80 v, const struct sf_env *e)
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
}

/* Push a value that raises nothing but stack faults. */
static void push_plain(struct cpu *c, struct f80 v)
{
    struct sf_env e = fpu_env(c);
    push_value(c, v, &e);
}

/* Push a converted memory operand: SNaN raises #IA (quietened), a
 * denormal raises #D. */
static void push_fx(struct cpu *c, struct fx a)
{
    struct sf_env e = fpu_env(c);
    struct f80 v;
    if (!sf_nan1(&e, a, &v)) {
        sf_denormal(&e, a, a);
        v = fx_to_f80(a);
    }
    push_value(c, v, &e);
}

/* Memory formats of the loads. */
enum { LD_F32, LD_F64, LD_F80, LD_I16, LD_I32, LD_I64 };

static inline int ld_size(int kind)
{
    static const uint8_t size[] = { [LD_F32] = 4, [LD_F64] = 8, [LD_F80] = 10, [LD_I16] = 2, [LD_I32] = 4, [LD_I64] = 8 };
    return size[kind];
}

/* General path of the memory loads. */
FPU_GENERAL void load_general(struct cpu *c, const struct insn *i, int kind)
{
    fpu_enter(c);
    uint32_t ea = insn_ea(c, i);
    struct f80 v;
    switch (kind) {
    case LD_F32: push_fx(c, fx_from_f32(mem_rd32(c, i->seg, ea))); break;
    case LD_F64: push_fx(c, fx_from_f64(mem_rd64(c, i->seg, ea))); break;
    case LD_F80:
        v.mant = mem_rd64(c, i->seg, ea);
        v.se = mem_rd16(c, i->seg, ea + 8);
        push_plain(c, v);
        break;
    case LD_I16: push_plain(c, fx_to_f80(fx_from_int((int16_t)mem_rd16(c, i->seg, ea)))); break;
    case LD_I32: push_plain(c, fx_to_f80(fx_from_int((int32_t)mem_rd32(c, i->seg, ea)))); break;
    default: push_plain(c, fx_to_f80(fx_from_int((int64_t)mem_rd64(c, i->seg, ea)))); break;
    }
    fpu_note_mem(c, i, ea);
}

/* Fast path: ST(7) free, and a value that converts exactly and raises
 * nothing (any 80-bit value, normal float32/64, nonzero integers). */
SF_FAST bool load_fast(struct cpu *c, const struct insn *i, int kind)
{
    struct fpu *f = &c->fpu;
    if (!fpu_entry_clear(c) || !fpu_empty(f, -1))
        return false;
    uint32_t ea = insn_ea(c, i);
    const uint8_t *p = fpu_probe_r(c, i->seg, ea, ld_size(kind));
    if (!p)
        return false;
    struct f80 v;
    uint64_t u64;
    uint32_t u32;
    uint16_t u16;
    bool ok;
    switch (kind) {
    case LD_F32: memcpy(&u32, p, 4); ok = fast_from_f32(u32, &v); break;
    case LD_F64: memcpy(&u64, p, 8); ok = fast_from_f64(u64, &v); break;
    case LD_F80:
        memcpy(&v.mant, p, 8);
        memcpy(&v.se, p + 8, 2);
        ok = true;
        break;
    case LD_I16: memcpy(&u16, p, 2); ok = fast_from_int((int16_t)u16, &v); break;
    case LD_I32: memcpy(&u32, p, 4); ok = fast_from_int((int32_t)u32, &v); break;
    default: memcpy(&u64, p, 8); ok = fast_from_int((int64_t)u64, &v); break;
    }
    if (!ok)
        return false;
    fpu_push(f, v);
    f->sw &= (uint16_t)~FSW_C1;
    fpu_note_mem(c, i, ea);
    return true;
}

SF_FAST void load(struct cpu *c, const struct insn *i, int kind)
{
    if (!load_fast(c, i, kind))
        load_general(c, i, kind);
}

HANDLER(fpu_ld_m32) { load(c, i, LD_F32); }
HANDLER(fpu_ld_m64) { load(c, i, LD_F64); }
HANDLER(fpu_ld_m80) { load(c, i, LD_F80); }
HANDLER(fpu_ild_m16) { load(c, i, LD_I16); }
HANDLER(fpu_ild_m32) { load(c, i, LD_I32); }
HANDLER(fpu_ild_m64) { load(c, i, LD_I64); }

FPU_GENERAL void ld_sti_general(struct cpu *c, const struct insn *i)
{
    struct fpu *f = &c->fpu;
    fpu_enter(c);
    if (fpu_empty(f, i->rm)) {
        /* An empty source is an underflow (C1 = 0) even when the push
         * would also overflow: so the host x87 reports it. */
        if (fpu_stack_underflow(c))
            fpu_push(f, f80_indefinite());
    } else {
        push_plain(c, fpu_st(f, i->rm));
    }
    fpu_note_reg(c, i);
}

HANDLER(fpu_ld_sti)
{
    struct fpu *f = &c->fpu;
    if (likely(fpu_entry_clear(c) && !fpu_empty(f, i->rm) && fpu_empty(f, -1))) {
        fpu_push(f, fpu_st(f, i->rm));
        f->sw &= (uint16_t)~FSW_C1;
        fpu_note_reg(c, i);
        return;
    }
    ld_sti_general(c, i);
}

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
    push_plain(c, fx_to_f80(fx_from_bcd(b)));
    fpu_note_mem(c, i, ea);
}

/* Constants: 128-bit significand with bit 127 weighing 2^exp, rounded
 * with RC; they raise no exceptions. */
static void push_const(struct cpu *c, const struct insn *i, int32_t exp, uint64_t hi, uint64_t lo)
{
    struct sf_env e = fpu_env(c);
    push_plain(c, sf_round80(&e, 0, exp, ((u128)hi << 64) | lo, 64, true));
    fpu_note_reg(c, i);
}

HANDLER(fpu_ld1) { fpu_enter(c); push_const(c, i, 0, 1ull << 63, 0); }
HANDLER(fpu_ldz)
{
    fpu_enter(c);
    push_plain(c, f80_zero(0));
    fpu_note_reg(c, i);
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

static void wr_f80(struct cpu *c, int seg, uint32_t ea, uint64_t mant, uint16_t se)
{
    /* Check both parts are writable before writing either. */
    seg_lin_w(c, seg, ea, 10);
    mem_wr16(c, seg, ea + 8, se);
    mem_wr64(c, seg, ea, mant);
}

static void wr_image(struct cpu *c, const struct insn *i, uint32_t ea, const uint8_t *b, int n)
{
    uint64_t lo = 0;
    for (int k = 0; k < 8; k++)
        lo |= (uint64_t)b[k] << (8 * k);
    switch (n) {
    case 2: mem_wr16(c, i->seg, ea, (uint16_t)lo); break;
    case 4: mem_wr32(c, i->seg, ea, (uint32_t)lo); break;
    case 8: mem_wr64(c, i->seg, ea, lo); break;
    default: wr_f80(c, i->seg, ea, lo, (uint16_t)(b[8] | b[9] << 8)); break;
    }
}

/* General path of the memory stores. */
FPU_GENERAL void store_general(struct cpu *c, const struct insn *i, int kind, bool pop)
{
    struct fpu *f = &c->fpu;
    uint8_t b[10];
    fpu_enter(c);
    uint32_t ea = insn_ea(c, i);
    if (fpu_empty(f, 0)) {
        bool masked = c->fpu.cw & FSW_IE;
        if (masked) {
            struct sf_env e = fpu_env(c);
            wr_image(c, i, ea, b, image(&e, kind, f80_indefinite(), b));
        }
        fpu_stack_underflow(c);
        if (masked && pop)
            fpu_pop(f);
    } else {
        struct sf_env e = fpu_env(c);
        int n = image(&e, kind, fpu_st(f, 0), b);
        bool blocked = fpu_mem_blocked(&e);
        if (!blocked)
            wr_image(c, i, ea, b, n);
        fpu_raise(c, e.flags, FSW_C1, e.up ? FSW_C1 : 0);
        if (pop && !blocked)
            fpu_pop(f);
    }
    fpu_note_mem(c, i, ea);
}

/* Fast path for a present ST(0): the 80-bit format verbatim, float32/64
 * when the value rounds to a normal number, into memory the probe maps. */
SF_FAST bool store_fast(struct cpu *c, const struct insn *i, int kind, bool pop)
{
    struct fpu *f = &c->fpu;
    /* The 80-bit format needs only the entry checks; the others round. */
    if ((kind == ST_F80 ? !fpu_entry_clear(c) : fpu_fast_mode(c) < 0) || fpu_empty(f, 0))
        return false;
    struct f80 v = f->st[f->top];
    uint64_t x = 0;
    unsigned flags = 0;
    int size = 10;
    if (kind == ST_F64 || kind == ST_F32) {
        size = kind == ST_F64 ? 8 : 4;
        if (!(kind == ST_F64 ? fast_to_ieee(v, 52, 11, &x, &flags) : fast_to_ieee(v, 23, 8, &x, &flags)))
            return false;
    } else if (kind != ST_F80) {
        return false;
    }
    uint32_t ea = insn_ea(c, i);
    uint8_t *p = fpu_probe_w(c, i->seg, ea, size);
    if (!p)
        return false;
    if (kind == ST_F80) {
        memcpy(p, &v.mant, 8);
        memcpy(p + 8, &v.se, 2);
    } else if (kind == ST_F64) {
        memcpy(p, &x, 8);
    } else {
        uint32_t x32 = (uint32_t)x;
        memcpy(p, &x32, 4);
    }
    fpu_fast_status(f, flags);
    if (pop)
        fpu_pop(f);
    fpu_note_mem(c, i, ea);
    return true;
}

SF_FAST void store_mem(struct cpu *c, const struct insn *i, int kind, bool pop)
{
    if (!store_fast(c, i, kind, pop))
        store_general(c, i, kind, pop);
}

HANDLER(fpu_st_m32) { store_mem(c, i, ST_F32, false); }
HANDLER(fpu_stp_m32) { store_mem(c, i, ST_F32, true); }
HANDLER(fpu_st_m64) { store_mem(c, i, ST_F64, false); }
HANDLER(fpu_stp_m64) { store_mem(c, i, ST_F64, true); }
HANDLER(fpu_stp_m80) { store_mem(c, i, ST_F80, true); }
HANDLER(fpu_ist_m16) { store_mem(c, i, ST_I16, false); }
HANDLER(fpu_istp_m16) { store_mem(c, i, ST_I16, true); }
HANDLER(fpu_ist_m32) { store_mem(c, i, ST_I32, false); }
HANDLER(fpu_istp_m32) { store_mem(c, i, ST_I32, true); }
HANDLER(fpu_istp_m64) { store_mem(c, i, ST_I64, true); }
HANDLER(fpu_bstp) { store_mem(c, i, ST_BCD, true); }

/* FST/FSTP ST(i): a verbatim copy. */
FPU_GENERAL void store_reg_general(struct cpu *c, const struct insn *i, bool pop)
{
    struct fpu *f = &c->fpu;
    fpu_enter(c);
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
        f->sw &= (uint16_t)~FSW_C1;
    }
    fpu_note_reg(c, i);
}

SF_FAST void store_reg(struct cpu *c, const struct insn *i, bool pop)
{
    struct fpu *f = &c->fpu;
    if (unlikely(!fpu_entry_clear(c) || fpu_empty(f, 0))) {
        store_reg_general(c, i, pop);
        return;
    }
    fpu_write(f, i->rm, f->st[f->top]);
    if (pop)
        fpu_pop(f);
    f->sw &= (uint16_t)~FSW_C1;
    fpu_note_reg(c, i);
}

HANDLER(fpu_st_sti) { store_reg(c, i, false); }
HANDLER(fpu_stp_sti) { store_reg(c, i, true); }

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
        fpu_note_reg(c, i);
        return;
    }
    store_reg(c, i, true); /* runs the entry checks again: they are idempotent */
}

/* ---- Stack housekeeping ---- */

/* FXCH, general path. An empty operand is an underflow, whose masked
 * response swaps in the default NaN for each empty one. */
FPU_GENERAL void xch_general(struct cpu *c, const struct insn *i)
{
    struct fpu *f = &c->fpu;
    fpu_enter(c);
    bool swap = true;
    if (fpu_empty(f, 0) || fpu_empty(f, i->rm)) {
        swap = fpu_stack_underflow(c);
        if (swap && fpu_empty(f, 0))
            fpu_write(f, 0, f80_indefinite());
        if (swap && fpu_empty(f, i->rm))
            fpu_write(f, i->rm, f80_indefinite());
    } else {
        f->sw &= (uint16_t)~FSW_C1;
    }
    if (swap) {
        struct f80 a = fpu_st(f, 0), b = fpu_st(f, i->rm);
        fpu_write(f, 0, b);
        fpu_write(f, i->rm, a);
    }
    fpu_note_reg(c, i);
}

HANDLER(fpu_xch)
{
    struct fpu *f = &c->fpu;
    if (unlikely(!fpu_entry_clear(c) || !fpu_present2(f, 0, i->rm))) {
        xch_general(c, i);
        return;
    }
    int p0 = f->top, pi = fpu_phys(f, i->rm);
    struct f80 t = f->st[p0];
    f80_put(&f->st[p0], f->st[pi]);
    f80_put(&f->st[pi], t);
    f->sw &= (uint16_t)~FSW_C1;
    fpu_note_reg(c, i);
}

/* FFREE and FFREEP clear C1, as the host x87 does. */
HANDLER(fpu_free)
{
    fpu_enter(c);
    fpu_free_st(&c->fpu, i->rm);
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note_reg(c, i);
}

HANDLER(fpu_freep)
{
    fpu_enter(c);
    fpu_free_st(&c->fpu, i->rm);
    fpu_pop(&c->fpu);
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note_reg(c, i);
}

HANDLER(fpu_incstp)
{
    fpu_enter(c);
    fpu_rotate_up(&c->fpu);
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note_reg(c, i);
}

HANDLER(fpu_decstp)
{
    fpu_enter(c);
    fpu_rotate_down(&c->fpu);
    fpu_raise(c, 0, FSW_C1, 0);
    fpu_note_reg(c, i);
}

HANDLER(fpu_nop)
{
    fpu_enter(c);
    fpu_note_reg(c, i);
}
