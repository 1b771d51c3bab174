/*
 * Frontend driver: lowers the first n decoded instructions of a block to
 * IR, one instruction at a time, through the per-family lowerings
 * (fe_alu.c, fe_mov.c, fe_ctl.c, fe_x87.c); whatever they decline becomes a call to
 * the instruction's interpreter handler. Also the shared operand, flag
 * and exit helpers (frontend.h).
 *
 * Flag liveness comes from the opcode table: walking the block backwards,
 * flags are live at the end (every exit), killed by an instruction's
 * `fwrite` mask and revived by its `fread` mask, and all live before any
 * instruction that may fault or calls the interpreter (the fault must
 * find them in struct cpu). A lowering skips flag work nobody reads.
 */
#include <stdlib.h>

#include "jit/frontend.h"

#include "cpu/flags.h"

/* ---- Operands ---- */

int fe_opsize(const struct fe *f, int opnd)
{
    const struct opk_info *k = &opk_info[op_info[f->i->id].opnd[opnd]];
    return k->size == SZ_B ? 8 : k->size == SZ_W ? 16 : k->size == SZ_D ? 32 : osize(f);
}

ir_temp fe_const(struct fe *f, uint32_t v)
{
    return ir_const(f->ir, IR_I32, (int32_t)v);
}

ir_temp fe_get_reg(struct fe *f, int reg, int bits)
{
    if (bits == 8)
        return ir_extract(f->ir, ir_ldg(f->ir, (enum ir_global)(reg >> 3)), (reg & 1) * 8, 8, false);
    ir_temp v = ir_ldg(f->ir, (enum ir_global)reg);
    return bits == 16 ? ir_op1(f->ir, IR_EXT16U, IR_I32, v) : v;
}

void fe_set_reg(struct fe *f, int reg, int bits, ir_temp v)
{
    if (bits == 32) {
        ir_stg(f->ir, (enum ir_global)reg, v);
    } else if (bits == 16) {
        ir_stg(f->ir, (enum ir_global)reg, ir_deposit(f->ir, ir_ldg(f->ir, (enum ir_global)reg), v, 0, 16));
    } else {
        enum ir_global g = (enum ir_global)(reg >> 3);
        ir_stg(f->ir, g, ir_deposit(f->ir, ir_ldg(f->ir, g), v, (reg & 1) * 8, 8));
    }
}

static ir_temp reg_or_zero(struct fe *f, int r)
{
    return r == GPR_ZERO ? fe_const(f, 0) : ir_ldg(f->ir, (enum ir_global)r);
}

ir_temp fe_ea(struct fe *f)
{
    const struct insn *i = f->i;
    ir_temp r = ir_new(f->ir, IR_I32);
    struct ir_op *op = ir_emit(f->ir, IR_ADDR, IR_I32, r, reg_or_zero(f, i->rm), reg_or_zero(f, i->index));
    op->c[0] = (int32_t)i->disp;
    op->c[1] = i->scale;
    op->c[2] = (i->pfx & P_ASIZE32) ? 32 : 16;
    return r;
}

ir_temp fe_load(struct fe *f, int seg, ir_temp ea, int bits, int flags)
{
    ir_temp r = ir_new(f->ir, IR_I32);
    struct ir_op *op = ir_emit(f->ir, IR_QLD, IR_I32, r, ea, IR_NOTEMP);
    op->c[0] = seg;
    op->c[1] = bits / 8;
    op->c[2] = flags;
    return r;
}

void fe_store(struct fe *f, int seg, ir_temp ea, int bits, ir_temp v)
{
    struct ir_op *op = ir_emit(f->ir, IR_QST, IR_I32, IR_NOTEMP, ea, v);
    op->c[0] = seg;
    op->c[1] = bits / 8;
    f->wrote_mem = true;
}

ir_temp fe_get_rm(struct fe *f, int bits, ir_temp *ea, int flags)
{
    if (f->i->pfx & P_MEM) {
        *ea = fe_ea(f);
        return fe_load(f, f->i->seg, *ea, bits, flags);
    }
    *ea = IR_NOTEMP;
    return fe_get_reg(f, f->i->rm, bits);
}

void fe_set_rm(struct fe *f, int bits, ir_temp ea, ir_temp v)
{
    if (f->i->pfx & P_MEM)
        fe_store(f, f->i->seg, ea, bits, v);
    else
        fe_set_reg(f, f->i->rm, bits, v);
}

/* ---- Stack ---- */

ir_temp fe_get_sp(struct fe *f)
{
    ir_temp sp = ir_ldg(f->ir, G_ESP);
    return f->ss32 ? sp : ir_op1(f->ir, IR_EXT16U, IR_I32, sp);
}

ir_temp fe_sp_add(struct fe *f, ir_temp sp, int32_t delta)
{
    ir_temp r = ir_op2(f->ir, IR_ADD, IR_I32, sp, fe_const(f, (uint32_t)delta));
    return f->ss32 ? r : ir_op1(f->ir, IR_EXT16U, IR_I32, r);
}

void fe_set_sp(struct fe *f, ir_temp sp)
{
    fe_set_reg(f, R_ESP, f->ss32 ? 32 : 16, sp);
}

/* ---- Lazy flags ---- */

bool fe_flags_live(const struct fe *f, uint32_t mask)
{
    return (f->live_after & mask) != 0;
}

static ir_temp sext_to64(struct fe *f, int bits, ir_temp v)
{
    struct ir_block *ir = f->ir;
    if (bits == 32)
        return ir_op1(ir, IR_EXT32S, IR_I32, v);
    return ir_op1(ir, bits == 8 ? IR_EXT8S : IR_EXT16S, IR_I64, ir_op1(ir, IR_EXT32U, IR_I32, v));
}

static void record(struct fe *f, struct fe_flags fl)
{
    if (!fe_flags_live(f, F_OSZAPC)) {
        f->fl.kind = FL_NONE;
        return;
    }
    f->fl = fl;
    f->fl_dirty = true;
}

/* a, b: i32 operands zero-extended from bits; r64: the i64 result of the
 * operation on the zero-extended operands (carry-in included). */
void fe_flags_arith(struct fe *f, enum fl_kind kind, int bits, ir_temp a, ir_temp b, ir_temp r64)
{
    if (!fe_flags_live(f, F_OSZAPC)) {
        f->fl.kind = FL_NONE;
        return;
    }
    ir_temp cf = IR_NOTEMP;
    if (kind == FL_INCDEC) {
        if (fe_flags_live(f, F_CF | F_OF))
            cf = fe_fl_cf(f);
        else
            kind = FL_OTHER; /* the kept CF is dead: plain arithmetic flags will do */
    }
    ir_temp r = ir_op1(f->ir, IR_TRUNC, IR_I64, r64);
    record(f, (struct fe_flags){ (uint8_t)kind, (uint8_t)bits, 0, a, b, r64, r, cf, IR_NOTEMP, IR_NOTEMP });
}

void fe_flags_logic(struct fe *f, int bits, ir_temp r)
{
    record(f, (struct fe_flags){ FL_LOGIC, (uint8_t)bits, 0, r, r, IR_NOTEMP, r, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP });
}

void fe_flags_set(struct fe *f, int bits, ir_temp r, ir_temp aux)
{
    if (!fe_flags_live(f, F_OSZAPC)) {
        f->fl.kind = FL_NONE;
        return;
    }
    record(f, (struct fe_flags){ FL_WORDS, (uint8_t)bits, 0, r, r, IR_NOTEMP, r, IR_NOTEMP, sext_to64(f, bits, r), aux });
}

void fe_flags_words(struct fe *f, ir_temp res, ir_temp aux)
{
    record(f, (struct fe_flags){ FL_WORDS, 32, 0, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP, res, aux });
}

void fe_flags_comi(struct fe *f, ir_temp w)
{
    record(f, (struct fe_flags){ FL_COMI, 32, 0, w, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP });
}

/* Bit n of an FCOMI's flags (fl.a: EFLAGS' ZF, PF, CF) as an i32 0/1. */
static ir_temp comi_bit(struct fe *f, int n)
{
    return ir_op2i(f->ir, IR_AND, IR_I32, ir_op2i(f->ir, IR_SHR, IR_I32, f->fl.a, n), 1);
}

void fe_flags_shift(struct fe *f, int kind, int bits, ir_temp v, unsigned n, ir_temp r)
{
    record(f, (struct fe_flags){ FL_SHIFT, (uint8_t)bits, (uint8_t)kind, v, fe_const(f, n), IR_NOTEMP, r, IR_NOTEMP,
                                 IR_NOTEMP, IR_NOTEMP });
}

static ir_temp bit_of(struct fe *f, ir_temp v, int bit)
{
    return ir_op2i(f->ir, IR_AND, IR_I32, ir_op2i(f->ir, IR_SHR, IR_I32, v, bit), 1);
}

/* aux word of a shift (shift.c): CF << 63 | (CF ^ OF) << 62, AF 0. */
static ir_temp shift_aux(struct fe *f)
{
    struct ir_block *ir = f->ir;
    const struct fe_flags *fl = &f->fl;
    int bits = fl->size, n = (int)ir_val(ir, fl->b);
    ir_temp v = fl->a, cf, of;
    switch (fl->shift) {
    case FLK_SHL:
        cf = n <= bits ? bit_of(f, v, bits - n) : fe_const(f, 0);
        of = ir_op2(ir, IR_XOR, IR_I32, bit_of(f, v, bits - 1), bit_of(f, v, bits - 2));
        break;
    case FLK_SHR:
        cf = bit_of(f, v, n - 1);
        of = bit_of(f, v, bits - 1);
        break;
    default: {
        ir_temp s = bits == 32 ? v : ir_extract(ir, v, 0, bits, true);
        cf = ir_op2i(ir, IR_AND, IR_I32, ir_op2i(ir, IR_SAR, IR_I32, s, n - 1), 1);
        of = fe_const(f, 0);
        break;
    }
    }
    ir_temp c64 = ir_op1(ir, IR_EXT32U, IR_I32, cf), x64 = ir_op1(ir, IR_EXT32U, IR_I32, ir_op2(ir, IR_XOR, IR_I32, cf, of));
    return ir_op2(ir, IR_OR, IR_I64, ir_op2i(ir, IR_SHL, IR_I64, c64, 63), ir_op2i(ir, IR_SHL, IR_I64, x64, 62));
}

ir_temp fe_fl_res(struct fe *f)
{
    struct fe_flags *fl = &f->fl;
    if (fl->kind == FL_NONE)
        return ir_ldg(f->ir, G_LFRES);
    if (fl->res == IR_NOTEMP && fl->kind == FL_COMI) /* lf_set(): 0 for ZF, else 0x100 */
        fl->res = ir_op2i(f->ir, IR_SHL, IR_I64, ir_op1(f->ir, IR_EXT32U, IR_I32, ir_op2i(f->ir, IR_XOR, IR_I32, comi_bit(f, 6), 1)), 8);
    if (fl->res == IR_NOTEMP)
        fl->res = sext_to64(f, fl->size, fl->r);
    return fl->res;
}

/* The carry vector a ^ b ^ r, shifted right by one (bit i of a^b^r is the
 * carry into bit i), is the aux word of cpu/flags.h: CF and the carry into
 * the top bit at bits 63/62, the carry out of bit 3 at bit 3. */
ir_temp fe_fl_aux(struct fe *f)
{
    struct ir_block *ir = f->ir;
    struct fe_flags *fl = &f->fl;
    if (fl->kind == FL_NONE)
        return ir_ldg(ir, G_LFAUX);
    if (fl->aux != IR_NOTEMP)
        return fl->aux;
    if (fl->kind == FL_LOGIC) {
        fl->aux = ir_const(ir, IR_I64, 0);
        return fl->aux;
    }
    if (fl->kind == FL_SHIFT) {
        fl->aux = shift_aux(f);
        return fl->aux;
    }
    if (fl->kind == FL_COMI) {
        /* lf_set(): CF in bits 63 and 62 (OF clear), odd parity unless PF */
        ir_temp cf = ir_op1(ir, IR_EXT32U, IR_I32, comi_bit(f, 0));
        ir_temp cfm = ir_op2(ir, IR_AND, IR_I64, ir_op1(ir, IR_NEG, IR_I64, cf), ir_const(ir, IR_I64, (int64_t)(LF_CF | LF_PO)));
        ir_temp npf = ir_op1(ir, IR_EXT32U, IR_I32, ir_op2i(ir, IR_XOR, IR_I32, comi_bit(f, 2), 1));
        fl->aux = ir_op2(ir, IR_OR, IR_I64, cfm, ir_op2i(ir, IR_SHL, IR_I64, npf, LF_PDB_SHIFT));
        return fl->aux;
    }
    ir_temp x = ir_op2(ir, IR_XOR, IR_I64, ir_op1(ir, IR_EXT32U, IR_I32, fl->a), ir_op1(ir, IR_EXT32U, IR_I32, fl->b));
    x = ir_op2(ir, IR_XOR, IR_I64, x, fl->r64);
    ir_temp hi = ir_op2i(ir, IR_SHL, IR_I64, ir_op2i(ir, IR_SHR, IR_I64, x, fl->size - 1), 62);
    ir_temp af = ir_op2i(ir, IR_AND, IR_I64, ir_op2i(ir, IR_SHR, IR_I64, x, 1), 8);
    ir_temp aux = ir_op2(ir, IR_OR, IR_I64, hi, af);
    if (fl->kind == FL_INCDEC) {
        /* keep CF: flip CF and its partner bit together when they differ (lf_force_cf) */
        ir_temp want = ir_op2i(ir, IR_SHL, IR_I64, ir_op1(ir, IR_EXT32U, IR_I32, fl->cf), 63);
        ir_temp d = ir_op2(ir, IR_XOR, IR_I64, aux, want);
        d = ir_op2i(ir, IR_SHL, IR_I64, ir_op2i(ir, IR_SAR, IR_I64, d, 63), 62);
        aux = ir_op2(ir, IR_XOR, IR_I64, aux, d);
    }
    fl->aux = aux;
    return aux;
}

ir_temp fe_fl_cf(struct fe *f)
{
    struct ir_block *ir = f->ir;
    struct fe_flags *fl = &f->fl;
    switch (fl->kind) {
    case FL_LOGIC:
        return fe_const(f, 0);
    case FL_INCDEC:
        return fl->cf;
    case FL_COMI:
        return comi_bit(f, 0);
    case FL_ADD:
    case FL_SUB:
    case FL_OTHER:
        /* the operands are zero-extended: bit `size` of the result is the carry (or borrow) out */
        return ir_op1(ir, IR_TRUNC, IR_I64, ir_op2i(ir, IR_AND, IR_I64, ir_op2i(ir, IR_SHR, IR_I64, fl->r64, fl->size), 1));
    default:
        return ir_op1(ir, IR_TRUNC, IR_I64, ir_op2i(ir, IR_SHR, IR_I64, fe_fl_aux(f), 63));
    }
}

void fe_commit_flags(struct fe *f)
{
    if (!f->fl_dirty)
        return;
    const struct fe_flags *fl = &f->fl;
    struct ir_op *op = ir_emit(f->ir, IR_FLAGS, IR_I64, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
    op->c[1] = fl->size;
    switch (fl->kind) {
    case FL_LOGIC:
        op->c[0] = FLK_LOGIC;
        op->in[2] = fl->r;
        break;
    case FL_WORDS:
        op->c[0] = FLK_WORDS;
        op->in[0] = fl->res;
        op->in[1] = fl->aux;
        break;
    case FL_COMI:
        op->c[0] = FLK_COMI;
        op->in[0] = fl->a;
        break;
    case FL_SHIFT:
        op->c[0] = fl->shift;
        op->in[0] = fl->a;
        op->in[1] = fl->b;
        op->in[2] = fl->r;
        break;
    default:
        op->c[0] = fl->kind == FL_INCDEC ? FLK_INCDEC : FLK_ARITH;
        op->in[0] = fl->a;
        op->in[1] = fl->b;
        op->in[2] = fl->r64;
        op->in[3] = fl->kind == FL_INCDEC ? fl->cf : IR_NOTEMP;
        break;
    }
    f->fl_dirty = false;
}

/* A condition as one comparison: cc holds iff cond(a, b). */
struct fe_cmp {
    enum ir_cond cond;
    enum ir_type type;
    ir_temp a, b;
};

static ir_temp sext_bits(struct fe *f, ir_temp v, int bits)
{
    return bits == 32 ? v : ir_extract(f->ir, v, 0, bits, true);
}

static struct fe_cmp cmp_bool(struct fe *f, ir_temp t)
{
    return (struct fe_cmp){ IR_NE, IR_I32, t, fe_const(f, 0) };
}

/* ZF and SF of a 32-bit result come from the result itself: comparing it
 * with 0 needs no lf_res (a sign extension, and a store the exit may not
 * need at all, opt.c). */
static bool cond_res32(struct fe *f, int c, struct fe_cmp *m)
{
    const struct fe_flags *fl = &f->fl;
    if (fl->size != 32 || fl->r == IR_NOTEMP || fl->kind == FL_NONE || fl->kind == FL_WORDS)
        return false;
    ir_temp zero = fe_const(f, 0);
    if (c == 2)
        *m = (struct fe_cmp){ IR_EQ, IR_I32, fl->r, zero };
    else if (c == 4)
        *m = (struct fe_cmp){ IR_LT, IR_I32, fl->r, zero };
    else if (fl->kind == FL_LOGIC && c == 6) /* OF = 0: SF */
        *m = (struct fe_cmp){ IR_LT, IR_I32, fl->r, zero };
    else if (fl->kind == FL_LOGIC && c == 7) /* ZF or SF */
        *m = (struct fe_cmp){ IR_LE, IR_I32, fl->r, zero };
    else
        return false;
    return true;
}

static struct fe_cmp cond_cmp(struct fe *f, int cc)
{
    struct ir_block *ir = f->ir;
    struct fe_flags *fl = &f->fl;
    int c = cc >> 1;
    ir_temp zero64 = ir_const(ir, IR_I64, 0);
    struct fe_cmp m;
    if (fl->kind == FL_COMI) {
        /* ZF, PF, CF as FCOMI set them; OF and SF clear: O, S and L never
         * hold, LE is ZF */
        static const int8_t mask[8] = { 0, 0x01, 0x40, 0x41, 0, 0x04, 0, 0x40 };
        if (!mask[c])
            return (struct fe_cmp){ IR_NE, IR_I32, fe_const(f, 0), fe_const(f, 0) };
        return cmp_bool(f, ir_op2i(ir, IR_AND, IR_I32, fl->a, mask[c]));
    }
    if (fl->kind != FL_SUB && cond_res32(f, c, &m))
        return m;
    if (fl->kind == FL_SUB && c == 4 && cond_res32(f, c, &m))
        return m;
    if (fl->kind == FL_SUB) {
        switch (c) {
        case 1: return (struct fe_cmp){ IR_LTU, IR_I32, fl->a, fl->b };
        case 2: return (struct fe_cmp){ IR_EQ, IR_I32, fl->a, fl->b };
        case 3: return (struct fe_cmp){ IR_LEU, IR_I32, fl->a, fl->b };
        case 4: return (struct fe_cmp){ IR_LT, IR_I64, fe_fl_res(f), zero64 };
        case 6: return (struct fe_cmp){ IR_LT, IR_I32, sext_bits(f, fl->a, fl->size), sext_bits(f, fl->b, fl->size) };
        case 7: return (struct fe_cmp){ IR_LE, IR_I32, sext_bits(f, fl->a, fl->size), sext_bits(f, fl->b, fl->size) };
        default: break;
        }
    } else if (fl->kind == FL_LOGIC) {
        switch (c) {
        case 0:
        case 1: return (struct fe_cmp){ IR_NE, IR_I32, fe_const(f, 0), fe_const(f, 0) }; /* OF, CF are 0 */
        case 2:
        case 3: return (struct fe_cmp){ IR_EQ, IR_I64, fe_fl_res(f), zero64 };
        case 4:
        case 6: return (struct fe_cmp){ IR_LT, IR_I64, fe_fl_res(f), zero64 };
        case 7: return (struct fe_cmp){ IR_LE, IR_I64, fe_fl_res(f), zero64 };
        default: break;
        }
    } else if (fl->kind == FL_SHIFT && (c == 2 || c == 4)) {
        return (struct fe_cmp){ c == 2 ? IR_EQ : IR_LT, IR_I64, fe_fl_res(f), zero64 };
    } else if (fl->kind == FL_ADD || fl->kind == FL_INCDEC || fl->kind == FL_OTHER) {
        switch (c) {
        case 1: return cmp_bool(f, fe_fl_cf(f));
        case 2: return (struct fe_cmp){ IR_EQ, IR_I64, fe_fl_res(f), zero64 };
        case 3:
            return cmp_bool(f, ir_op2(ir, IR_OR, IR_I32, fe_fl_cf(f), ir_setcond(ir, IR_I64, IR_EQ, fe_fl_res(f), zero64)));
        case 4: return (struct fe_cmp){ IR_LT, IR_I64, fe_fl_res(f), zero64 };
        default: break;
        }
    }
    /* From the lazy-flag words (cpu/flags.h): CF is aux bit 63, OF is
     * bit 63 ^ bit 62, SF is res bit 63 ^ aux bit 16, ZF is res == 0. */
    ir_temp res = fe_fl_res(f), aux = fe_fl_aux(f);
    ir_temp of = ir_op2(ir, IR_XOR, IR_I64, aux, ir_op2i(ir, IR_SHL, IR_I64, aux, 1));
    ir_temp sf = ir_op2(ir, IR_XOR, IR_I64, res, ir_op2i(ir, IR_SHL, IR_I64, aux, 47));
    switch (c) {
    case 0: return (struct fe_cmp){ IR_LT, IR_I64, of, zero64 };
    case 1: return (struct fe_cmp){ IR_LT, IR_I64, aux, zero64 };
    case 2: return (struct fe_cmp){ IR_EQ, IR_I64, res, zero64 };
    case 3:
        return cmp_bool(f, ir_op2(ir, IR_OR, IR_I32, ir_setcond(ir, IR_I64, IR_LT, aux, zero64),
                                  ir_setcond(ir, IR_I64, IR_EQ, res, zero64)));
    case 4: return (struct fe_cmp){ IR_LT, IR_I64, sf, zero64 };
    case 5: return cmp_bool(f, ir_op1(ir, IR_PARITY, IR_I64, ir_op2(ir, IR_XOR, IR_I64, res, ir_op2i(ir, IR_SHR, IR_I64, aux, 8))));
    case 6: return (struct fe_cmp){ IR_LT, IR_I64, ir_op2(ir, IR_XOR, IR_I64, sf, of), zero64 };
    default:
        return cmp_bool(f, ir_op2(ir, IR_OR, IR_I32, ir_setcond(ir, IR_I64, IR_EQ, res, zero64),
                                  ir_setcond(ir, IR_I64, IR_LT, ir_op2(ir, IR_XOR, IR_I64, sf, of), zero64)));
    }
}

static struct fe_cmp cond_cc(struct fe *f, int cc)
{
    struct fe_cmp m = cond_cmp(f, cc);
    if (cc & 1)
        m.cond = ir_cond_invert(m.cond);
    return m;
}

ir_temp fe_cond(struct fe *f, int cc)
{
    struct fe_cmp m = cond_cc(f, cc);
    return ir_setcond(f->ir, m.type, m.cond, m.a, m.b);
}

ir_temp fe_cond_select(struct fe *f, int cc, ir_temp vt, ir_temp vf)
{
    struct fe_cmp m = cond_cc(f, cc);
    return ir_movcond(f->ir, m.type, m.cond, m.a, m.b, vt, vf);
}

void fe_brcond_cc(struct fe *f, int cc, unsigned label)
{
    struct fe_cmp m = cond_cc(f, cc);
    ir_brcond(f->ir, m.type, m.cond, m.a, m.b, label);
}

/* ---- Exits ---- */

#define MAX_PENDING 16
struct pending {
    unsigned label;
    uint8_t kind; /* 0 goto, 1 raise */
    uint16_t insn;
    uint32_t eip;
    int vector, errcode;
};
struct fe_ext {
    struct pending p[MAX_PENDING];
    unsigned n;
};

static void goto_ret(struct fe *f, uint32_t eip, int64_t ret)
{
    struct ir_op *op = ir_emit(f->ir, IR_GOTO, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
    op->c[0] = eip;
    op->c[1] = ret;
    op->c[2] = f->k + 1;
    f->ended = true;
}

void fe_goto(struct fe *f, uint32_t eip)
{
    goto_ret(f, eip, -1);
}

void fe_call(struct fe *f, uint32_t target)
{
    goto_ret(f, target, f->next);
}

void fe_goto_ind(struct fe *f, ir_temp eip, bool call, bool ret)
{
    struct ir_op *op = ir_emit(f->ir, IR_GOTO_IND, IR_I32, IR_NOTEMP, eip, IR_NOTEMP);
    op->c[0] = ret;
    op->c[1] = call ? (int64_t)f->next : -1;
    op->c[2] = f->k + 1;
    f->ended = true;
}

static struct fe_ext *ext_of(struct fe *f);

/* Side exits are placed after the main path (IR shape rule): record them. */
static void add_pending(struct fe *f, struct pending p)
{
    struct fe_ext *e = ext_of(f);
    if (e->n < MAX_PENDING)
        e->p[e->n++] = p;
    else
        f->ir->oom = true; /* cannot happen with the lowerings we have: fail safe */
}

void fe_raise(struct fe *f, int vector, int errcode, unsigned label)
{
    add_pending(f, (struct pending){ label, 1, (uint16_t)f->k, 0, vector, errcode });
}

void fe_side_goto(struct fe *f, uint32_t eip, unsigned label)
{
    add_pending(f, (struct pending){ label, 0, (uint16_t)f->k, eip, 0, 0 });
}

/* ---- Driver ---- */

struct fe_full {
    struct fe f;
    struct fe_ext ext;
};

static struct fe_ext *ext_of(struct fe *f)
{
    return &((struct fe_full *)f)->ext;
}

static uint32_t eip_after(const struct fe *f, unsigned k)
{
    const struct insn *i = &f->b->insn[k];
    uint32_t e = f->b->eip + i->off + i->len;
    return f->cs32 ? e : (e & 0xffff);
}

/* Could this instruction fault or reach the interpreter? Then every flag
 * is live before it. Register-only forms of the instructions the JIT
 * lowers cannot; anything touching memory or the stack can, and so can an
 * instruction the decoder gave a faulting handler (#UD, #GP for a CS-limit
 * overrun, a missing handler) while keeping its row: that one is only ever
 * an interpreter call (insn_decoded_normally). */
static bool may_fault(const struct insn *i)
{
    if (!insn_decoded_normally(i))
        return true;
    switch (i->id) {
    case OP_LEA:
    case OP_NOP:
        return false;
    default:
        break;
    }
    if (i->pfx & P_MEM)
        return true;
    return !fe_reg_form_lowered(i);
}

static void compute_liveness(struct fe *f, uint32_t *live_after)
{
    uint32_t live = F_OSZAPC;
    for (int k = (int)f->n - 1; k >= 0; k--) {
        const struct insn *i = &f->b->insn[k];
        const struct op_info *oi = &op_info[i->id];
        if (may_fault(i))
            live = F_OSZAPC; /* a store may leave the block right after it (CHKSTOP) */
        live_after[k] = live;
        live = (live & ~oi->fwrite) | oi->fread;
        if (may_fault(i))
            live = F_OSZAPC;
        live &= F_OSZAPC;
    }
}

static void fallback(struct fe *f)
{
    const struct insn *i = f->i;
    uint16_t attr = op_info[i->id].attr;
    struct ir_block *ir = f->ir;
    if (attr & (A_END | A_BRANCH))
        ir_st(ir, fe_const(f, f->next), (int)offsetof(struct cpu, eip), 4); /* branch handlers find the fall-through */
    ir_emit(ir, IR_FALLBACK, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP)->c[0] = f->k;
    f->fl.kind = FL_NONE;
    f->j->stats.jit_fallback_insns++;
    if (attr & A_END) {
        struct ir_op *op = ir_emit(ir, IR_EXIT, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
        op->c[0] = -1;
        op->c[2] = f->k + 1;
        f->ended = true;
    } else {
        f->wrote_mem = true; /* the handler may have called cpu_stop() for any reason */
    }
}

/* An ARITH FLAGS op whose 64-bit result (in2) is ADD.64 or SUB.64 of its
 * own operands, zero-extended, and used by nothing but such FLAGS ops
 * (a CMP's, mostly: the compare and branch uses the host's flags)
 * becomes FLK_ADD/FLK_SUB, which computes the result itself when it
 * stores: the operation leaves the main path wherever the flags are
 * only stored on the way out (a side exit, a slow path; opt.c), and a
 * loop carries two values round its back edge instead of three. */
static bool zext_of(const struct ir_block *ir, const int32_t *def, ir_temp t, ir_temp v)
{
    return def[t] >= 0 && ir->ops[def[t]].opc == IR_EXT32U && ir->ops[def[t]].in[0] == v;
}

static void flags_recompute(struct ir_block *ir)
{
    unsigned nt = ir->ntemps ? ir->ntemps : 1;
    int32_t *def = malloc(nt * sizeof(*def));
    uint8_t *used = calloc(nt, 1); /* by an op that is not dead: 1, 2 when not as an ARITH FLAGS op's in2 */
    if (!def || !used)
        goto out;
    for (unsigned t = 0; t < ir->ntemps; t++)
        def[t] = -1;
    for (unsigned k = ir->nops; k-- > 0;) { /* backwards: pure ops nothing reads are dead (a CMP's TRUNCs) */
        const struct ir_op *op = &ir->ops[k];
        const struct ir_opdef *d = &ir_opdefs[op->opc];
        if (d->nout && op->out != IR_NOTEMP)
            def[op->out] = (int32_t)k;
        if ((d->flags & IRF_PURE) && (op->out == IR_NOTEMP || !used[op->out]))
            continue;
        for (int i = 0; i < d->nin; i++)
            if (op->in[i] != IR_NOTEMP)
                used[op->in[i]] |= op->opc == IR_FLAGS && op->c[0] == FLK_ARITH && i == 2 ? 1 : 2;
    }
    for (unsigned k = 0; k < ir->nops; k++) {
        struct ir_op *op = &ir->ops[k];
        ir_temp r = op->in[2];
        if (op->opc != IR_FLAGS || op->c[0] != FLK_ARITH || r == IR_NOTEMP || (used[r] & 2) || def[r] < 0)
            continue;
        const struct ir_op *rd = &ir->ops[def[r]];
        if ((rd->opc != IR_ADD && rd->opc != IR_SUB) || rd->type != IR_I64 || !zext_of(ir, def, rd->in[0], op->in[0]) ||
            !zext_of(ir, def, rd->in[1], op->in[1]))
            continue;
        op->c[0] = rd->opc == IR_ADD ? FLK_ADD : FLK_SUB;
        op->in[2] = IR_NOTEMP;
    }
out:
    free(def);
    free(used);
}

void fe_translate(struct jit *j, const struct block *b, unsigned n, struct ir_block *ir)
{
    struct fe_full full = { .f = { .j = j, .ir = ir, .b = b, .n = n } };
    struct fe *f = &full.f;
    uint32_t live_after[n];
    f->cs32 = (b->mode & MODE_CS32) != 0;
    f->ss32 = (b->mode & MODE_SS32) != 0;
    compute_liveness(f, live_after);
    for (unsigned k = 0; k < n && !f->ended; k++) {
        const struct insn *i = &b->insn[k];
        ir->cur_insn = (uint16_t)k;
        ir_emit(ir, IR_INSN, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP)->c[0] = k;
        f->i = i;
        f->k = k;
        f->eip = b->eip + i->off;
        f->next = eip_after(f, k);
        f->live_after = live_after[k];
        f->wrote_mem = false;
        f->fl_dirty = false;
        unsigned nops = ir->nops, ntemps = ir->ntemps;
        struct fe_flags fl = f->fl;
        if (!insn_decoded_normally(i) || !(fe_alu(f) || fe_mov(f) || fe_ctl(f) || fe_x87(f) || fe_bits(f))) {
            ir->nops = nops; /* a lowering that gave up must leave nothing behind */
            ir->ntemps = ntemps;
            f->fl = fl;
            f->fl_dirty = false;
            fallback(f);
        }
        if (!f->ended)
            fe_commit_flags(f);
        if (f->wrote_mem && !f->ended) {
            struct ir_op *op = ir_emit(ir, IR_CHKSTOP, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
            op->c[0] = k + 1;
            op->c[1] = f->next;
        }
    }
    if (!f->ended) {
        f->k = n - 1;
        fe_goto(f, eip_after(f, n - 1));
    }
    for (unsigned p = 0; p < full.ext.n; p++) {
        const struct pending *pd = &full.ext.p[p];
        ir->cur_insn = pd->insn;
        ir_label(ir, pd->label);
        if (pd->kind == 1) {
            struct ir_op *op = ir_emit(ir, IR_RAISE, IR_I32, IR_NOTEMP, IR_NOTEMP, IR_NOTEMP);
            op->c[0] = pd->vector;
            op->c[1] = pd->errcode;
            op->c[2] = pd->insn;
        } else {
            f->k = pd->insn;
            fe_goto(f, pd->eip);
        }
    }
    flags_recompute(ir);
}
