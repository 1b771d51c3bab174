/*
 * x87 control instructions: FLDCW FNSTCW FNSTSW FNCLEX FNINIT FLDENV
 * FNSTENV FRSTOR FNSAVE, WAIT/FWAIT, and the 8087/287 leftovers FNENI
 * FNDISI FNSETPM (no-ops on a 387 and later). None of these update the
 * last-instruction pointers. FLDCW, FLDENV and FRSTOR are waiting
 * instructions (a pending exception is delivered first), the FN* forms
 * are not.
 *
 * Environment images (SDM Vol. 1, figures 8-9 to 8-12) come in four
 * layouts: 14 or 28 bytes by operand size, protected mode (selector and
 * offset) or real/virtual-8086 mode (linear addresses split around the
 * opcode). Unused halves of the 32-bit layouts are stored as 0xFFFF, as
 * the hardware does. The tag word is stored with tags computed from the
 * register contents, and loaded as "empty or not".
 *
 * ES (and B) follow the flags and masks: whenever the control word
 * changes (FLDCW, FLDENV, FRSTOR, FNSTENV masking everything) ES is
 * recomputed as "some flagged exception is unmasked", as the host x87
 * does.
 */
#include "cpu/x87/fpu_ops.h"

static void recompute_es(struct cpu *c)
{
    struct fpu *f = &c->fpu;
    if (f->sw & ~f->cw & FSW_EXC)
        f->sw |= FSW_ES | FSW_B;
    else
        f->sw &= (uint16_t)~(FSW_ES | FSW_B);
    fpu_update_ferr(c);
}

HANDLER(fpu_ldcw)
{
    fpu_enter(c);
    uint16_t cw = mem_rd16(c, i->seg, insn_ea(c, i));
    c->fpu.cw = cw;
    recompute_es(c);
}

HANDLER(fpu_nstcw)
{
    fpu_enter_nowait(c);
    mem_wr16(c, i->seg, insn_ea(c, i), c->fpu.cw);
}

HANDLER(fpu_nstsw_m)
{
    fpu_enter_nowait(c);
    mem_wr16(c, i->seg, insn_ea(c, i), fpu_status(&c->fpu));
}

HANDLER(fpu_nstsw_ax)
{
    fpu_enter_nowait(c);
    wr_reg16(c, R_EAX, fpu_status(&c->fpu));
}

HANDLER(fpu_nclex)
{
    fpu_enter_nowait(c);
    c->fpu.sw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
    fpu_update_ferr(c);
}

HANDLER(fpu_ninit)
{
    fpu_enter_nowait(c);
    fpu_init(&c->fpu);
    fpu_update_ferr(c);
}

/* FNENI, FNDISI, FNSETPM. */
HANDLER(fpu_nnop) { fpu_enter_nowait(c); }

HANDLER(fwait)
{
    if ((c->cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP))
        cpu_fault(c, EXC_NM, NO_ERRCODE);
    if (c->fpu.sw & FSW_ES) {
        if (c->cr0 & CR0_NE)
            cpu_fault(c, EXC_MF, NO_ERRCODE);
        fpu_update_ferr(c);
    }
}

/* ---- Environment images ---- */

/* Image size: 14 or 28 bytes. */
static int env_size(const struct insn *i) { return osize32(i) ? 28 : 14; }

static void env_image(struct cpu *c, bool op32, uint8_t *b)
{
    struct fpu *f = &c->fpu;
    uint16_t w[7];
    uint32_t d[7];
    uint16_t cw = f->cw, sw = fpu_status(f), tw = fpu_full_tags(f);
    if (real_or_v86(c)) {
        uint32_t ip = ((uint32_t)f->fcs << 4) + f->fip;
        uint32_t dp = ((uint32_t)f->fds << 4) + f->fdp;
        if (op32) {
            d[0] = 0xffff0000u | cw;
            d[1] = 0xffff0000u | sw;
            d[2] = 0xffff0000u | tw;
            d[3] = 0xffff0000u | (ip & 0xffff);
            d[4] = ((ip >> 16) << 12) | (f->fop & 0x7ff);
            d[5] = 0xffff0000u | (dp & 0xffff);
            d[6] = (dp >> 16) << 12;
        } else {
            w[0] = cw;
            w[1] = sw;
            w[2] = tw;
            w[3] = (uint16_t)ip;
            w[4] = (uint16_t)((((ip >> 16) & 15) << 12) | (f->fop & 0x7ff));
            w[5] = (uint16_t)dp;
            w[6] = (uint16_t)(((dp >> 16) & 15) << 12);
        }
    } else if (op32) {
        d[0] = 0xffff0000u | cw;
        d[1] = 0xffff0000u | sw;
        d[2] = 0xffff0000u | tw;
        d[3] = f->fip;
        d[4] = f->fcs | ((uint32_t)(f->fop & 0x7ff) << 16);
        d[5] = f->fdp;
        d[6] = 0xffff0000u | f->fds;
    } else {
        w[0] = cw;
        w[1] = sw;
        w[2] = tw;
        w[3] = (uint16_t)f->fip;
        w[4] = f->fcs;
        w[5] = (uint16_t)f->fdp;
        w[6] = f->fds;
    }
    for (int k = 0; k < 7; k++) {
        if (op32)
            st32(b + 4 * k, d[k]);
        else
            st16(b + 2 * k, w[k]);
    }
}

/* Parsed environment, committed only after every read succeeded. */
struct env {
    uint16_t cw, sw, tw, fcs, fds, fop;
    uint32_t fip, fdp;
};

static void env_parse(struct cpu *c, bool op32, const uint8_t *b, struct env *v)
{
    uint32_t d[7];
    for (int k = 0; k < 7; k++)
        d[k] = op32 ? ld32(b + 4 * k) : ld16(b + 2 * k);
    v->cw = (uint16_t)d[0];
    v->sw = (uint16_t)d[1];
    v->tw = (uint16_t)d[2];
    if (real_or_v86(c)) {
        if (op32) {
            v->fip = (d[3] & 0xffff) | ((d[4] >> 12) & 0xffff) << 16;
            v->fdp = (d[5] & 0xffff) | ((d[6] >> 12) & 0xffff) << 16;
        } else {
            v->fip = (d[3] & 0xffff) | ((d[4] >> 12) & 15) << 16;
            v->fdp = (d[5] & 0xffff) | ((d[6] >> 12) & 15) << 16;
        }
        v->fop = (uint16_t)(d[4] & 0x7ff);
        v->fcs = v->fds = 0;
    } else {
        v->fip = op32 ? d[3] : (d[3] & 0xffff);
        v->fcs = (uint16_t)d[4];
        v->fop = op32 ? (uint16_t)((d[4] >> 16) & 0x7ff) : c->fpu.fop;
        v->fdp = op32 ? d[5] : (d[5] & 0xffff);
        v->fds = (uint16_t)d[6];
    }
}

static void env_commit(struct cpu *c, const struct env *v)
{
    struct fpu *f = &c->fpu;
    f->cw = v->cw;
    f->sw = v->sw & (uint16_t)~FSW_TOP;
    f->fip = v->fip;
    f->fcs = v->fcs;
    f->fop = v->fop;
    f->fdp = v->fdp;
    f->fds = v->fds;
    /* Only empty / not empty is taken from the image. */
    fpu_set_tags(f, (v->sw >> 11) & 7, v->tw);
    recompute_es(c);
}

static void rd_bytes(struct cpu *c, int seg, uint32_t ea, uint8_t *b, int n)
{
    seg_lin_r(c, seg, ea, n);
    for (int k = 0; k < n; k += 2)
        st16(b + k, mem_rd16(c, seg, ea + (uint32_t)k));
}

static void wr_bytes(struct cpu *c, int seg, uint32_t ea, const uint8_t *b, int n)
{
    seg_lin_w(c, seg, ea, n);
    for (int k = 0; k < n; k += 2)
        mem_wr16(c, seg, ea + (uint32_t)k, ld16(b + k));
}

static void nstenv(struct cpu *c, const struct insn *i)
{
    fpu_enter_nowait(c);
    uint8_t b[28];
    env_image(c, osize32(i), b);
    wr_bytes(c, i->seg, insn_ea(c, i), b, env_size(i));
    c->fpu.cw |= FCW_MASKS;
    recompute_es(c);
}

static void ldenv(struct cpu *c, const struct insn *i)
{
    fpu_enter(c);
    uint8_t b[28];
    struct env v;
    rd_bytes(c, i->seg, insn_ea(c, i), b, env_size(i));
    env_parse(c, osize32(i), b, &v);
    env_commit(c, &v);
}

static void nsave(struct cpu *c, const struct insn *i)
{
    fpu_enter_nowait(c);
    uint8_t b[108];
    int n = env_size(i);
    env_image(c, osize32(i), b);
    for (int k = 0; k < 8; k++) {
        struct f80 v = fpu_st(&c->fpu, k);
        uint8_t *p = b + n + 10 * k;
        for (int j = 0; j < 8; j++)
            p[j] = (uint8_t)(v.mant >> (8 * j));
        st16(p + 8, v.se);
    }
    wr_bytes(c, i->seg, insn_ea(c, i), b, n + 80);
    fpu_init(&c->fpu);
    fpu_update_ferr(c);
}

static void rstor(struct cpu *c, const struct insn *i)
{
    fpu_enter(c);
    uint8_t b[108];
    int n = env_size(i);
    struct env v;
    rd_bytes(c, i->seg, insn_ea(c, i), b, n + 80);
    env_parse(c, osize32(i), b, &v);
    int top = (v.sw >> 11) & 7;
    for (int k = 0; k < 8; k++) {
        const uint8_t *p = b + n + 10 * k;
        struct f80 r = { 0, ld16(p + 8) };
        for (int j = 0; j < 8; j++)
            r.mant |= (uint64_t)p[j] << (8 * j);
        c->fpu.st[(top + k) & 7] = r;
    }
    env_commit(c, &v);
}

HANDLER(fpu_nstenv_16) { nstenv(c, i); }
HANDLER(fpu_nstenv_32) { nstenv(c, i); }
HANDLER(fpu_ldenv_16) { ldenv(c, i); }
HANDLER(fpu_ldenv_32) { ldenv(c, i); }
HANDLER(fpu_nsave_16) { nsave(c, i); }
HANDLER(fpu_nsave_32) { nsave(c, i); }
HANDLER(fpu_rstor_16) { rstor(c, i); }
HANDLER(fpu_rstor_32) { rstor(c, i); }
