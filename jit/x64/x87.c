/*
 * X87 ops on the x86-64 backend: the common x87 instructions run on the
 * host's own x87, inline; the rest call their interpreter handler.
 *
 * Why the host x87 is exact here: the guest registers are 80-bit values in
 * struct fpu with the host's memory layout (significand, then sign and
 * exponent), so FLD/FSTP m80 move them in and out of the host's stack bit
 * for bit and raise nothing. In between, one host instruction does what
 * the guest instruction does to those values, under the guest's control
 * word (rounding and precision), and FNSTSW reports exactly the flags and
 * condition codes it set. This is what tests/unit/test_fpu checks the
 * software x87 against, so both engines agree with the same oracle, and
 * --cosim compares them block by block. Memory operands are read and
 * written by the host instruction itself at the soft TLB's host address.
 *
 * The inline path covers what exceptions cannot reach: it requires every
 * exception masked, no pending one (SW.ES clear), CR0.EM and CR0.TS clear,
 * the operands present and the register a push fills empty, and a TLB hit
 * for a memory operand (for both pages of one that spans two). Anything else runs the interpreter handler out of
 * line, which gives the architected answer (stack faults, #NM, #MF,
 * unmasked responses, page crossings, MMIO, faults) from the same state.
 *
 * The register cache. Within a block, guest registers stay in the host's
 * x87 stack between instructions (struct x87_model, x64.h, says which host
 * register holds which ST(i) and which are newer than struct cpu): an
 * operand is loaded once, FXCH and FLD ST(i) are renamings, arithmetic is
 * one host instruction on host registers, and the guest's TOP moves only
 * in the model. A popped register keeps its value in struct cpu, as on
 * the host (FNSAVE and MMX see it). What becomes of the cache at the
 * block's edges (write-back, syncs, loops, chained exits) is
 * x87_cache.c's. A check that fails (an operand empty, a TLB miss)
 * writes the cache back as it was before the instruction, runs the
 * handler and leaves the block after it.
 *
 * Host setup, at native entry and after a handler that may change the
 * x87's mode (x64_emit_x87_setup): the mode is checked, the guest's
 * control word loaded into the host (FLDCW, when it differs) and the
 * host's sticky exception flags made a subset of the guest's (FNCLEX when
 * they are not); a block's first inline instruction tests the verdict.
 * The guest's flags then take the host's with an OR, which adds exactly
 * what the instructions raised. C1 is the last defining
 * instruction's: it stays in the host's status word until a host-only
 * instruction (a load, FXCH, a pop, the write-back) would change it, and
 * only then is it saved with FNSTSW (c1_save). The condition codes of a comparison
 * go to the guest's status word at once. The common prologue saves the
 * host's control word and the epilogue restores it; the emulator does no
 * long double arithmetic of its own in between (a guest fault unwinding
 * past the epilogue leaves the guest's control word in the host,
 * harmlessly).
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/opcode.h"
#include "jit/x64/x87_int.h"

/* What an instruction does, in host terms. Stack indexes are relative to
 * the guest's TOP before the instruction. */
enum xkind {
    XK_CALL,    /* the interpreter handler, always */
    XK_ARITH,   /* ST(a) = ST(a) op ST(b); `code`: host ModRM.reg of "st0 = st0 op st(i)" */
    XK_ARITH_M, /* ST(0) = ST(0) op mem (opcode byte = the guest's, ModRM.reg `mreg`) */
    XK_COM,     /* compare ST(0) with ST(b); `code`: 1 unordered (FUCOM) */
    XK_COM_M,   /* compare ST(0) with mem (the non-popping form) */
    XK_COMI,    /* compare ST(0) with ST(b) into EFLAGS (the op's output); `code`: 1 unordered */
    XK_TEST,    /* FTST, FXAM: D9 `code` on ST(0) */
    XK_ONE,     /* ST(0) = f(ST(0)): D9 `code` */
    XK_CONST,   /* push a constant: D9 `code` */
    XK_LD_M,    /* push mem */
    XK_ST_M,    /* mem = ST(0), with `mreg` the host form (popping iff the guest's pops) */
    XK_LD_STI,  /* push a copy of ST(b) */
    XK_ST_STI,  /* ST(a) = ST(0) */
    XK_XCH,     /* swap ST(0) and ST(a) */
    XK_SCALE,   /* FSCALE: ST(0) scaled by ST(1), which the host's reads in st(1) */
    XK_XTRACT,  /* FXTRACT: ST(0) becomes the exponent, the significand is pushed */
    XK_STSW,    /* FNSTSW AX (the op's output) and FNSTSW m16 */
    XK_LDCW,    /* FLDCW: inline when the new word masks every exception (else the handler's) */
    XK_STCW,    /* FNSTCW */
};

struct xform {
    uint8_t kind;
    uint8_t a, b;   /* stack operands */
    bool push;      /* TOP moves down first: ST(7) must be empty */
    uint8_t pops;   /* guest pops after the operation (0..2) */
    uint8_t code;
    uint8_t mreg;   /* host ModRM.reg (memory forms) */
    uint8_t msize;  /* memory operand bytes */
};

/* Guest ModRM.reg of an arithmetic form -> host "st0 = st0 op st(i)"
 * ModRM.reg computing ST(a) op ST(b) with ST(a) in st0: add 0, mul 1,
 * sub 4 (a-b), subr 5 (b-a), div 6, divr 7. The DC/DE register forms name
 * sub/subr and div/divr the other way round (their destination is ST(i)). */
static uint8_t arith_code(unsigned r, bool swapped)
{
    return (uint8_t)(r >= 4 && swapped ? r ^ 1 : r);
}

static struct xform classify(const struct insn *i)
{
    struct xform f = { .kind = XK_CALL };
    unsigned r = (i->modrm >> 3) & 7, rm = i->modrm & 7;
    switch (i->id) {
    case OP_FADD_ST0STi: case OP_FMUL_ST0STi: case OP_FSUB_ST0STi: case OP_FSUBR_ST0STi:
    case OP_FDIV_ST0STi: case OP_FDIVR_ST0STi:
        f = (struct xform){ XK_ARITH, 0, (uint8_t)rm, false, 0, arith_code(r, false), 0, 0 };
        break;
    case OP_FADD_STiST0: case OP_FMUL_STiST0: case OP_FSUB_STiST0: case OP_FSUBR_STiST0:
    case OP_FDIV_STiST0: case OP_FDIVR_STiST0:
    case OP_FADDP_STiST0: case OP_FMULP_STiST0: case OP_FSUBP_STiST0: case OP_FSUBRP_STiST0:
    case OP_FDIVP_STiST0: case OP_FDIVRP_STiST0:
        f = (struct xform){ XK_ARITH, (uint8_t)rm, 0, false, i->b1 == 0xde, arith_code(r, true), 0, 0 };
        break;
    case OP_FCOM_ST0STi: case OP_FCOM_STi_DC:
    case OP_FCOMP_ST0STi: case OP_FCOMP_STi_DC: case OP_FCOMP_STi_DE:
        f = (struct xform){ XK_COM, 0, (uint8_t)rm, false, r == 3 || i->b1 == 0xde, 0, 0, 0 };
        break;
    case OP_FUCOM: case OP_FUCOMP:
        f = (struct xform){ XK_COM, 0, (uint8_t)rm, false, r == 5, 1, 0, 0 };
        break;
    case OP_FCOMI: case OP_FCOMIP:
        f = (struct xform){ XK_COMI, 0, (uint8_t)rm, false, i->b1 == 0xdf, 0, 0, 0 };
        break;
    case OP_FUCOMI: case OP_FUCOMIP:
        f = (struct xform){ XK_COMI, 0, (uint8_t)rm, false, i->b1 == 0xdf, 1, 0, 0 };
        break;
    case OP_FCOMPP:
        f = (struct xform){ XK_COM, 0, 1, false, 2, 0, 0, 0 };
        break;
    case OP_FUCOMPP:
        f = (struct xform){ XK_COM, 0, 1, false, 2, 1, 0, 0 };
        break;
    case OP_FTST: case OP_FXAM: /* FXAM of an empty ST(0) is the handler's */
        f = (struct xform){ XK_TEST, 0, 0, false, 0, i->modrm, 0, 0 };
        break;
    case OP_FCHS: case OP_FABS: case OP_FSQRT: case OP_FRNDINT:
        f = (struct xform){ XK_ONE, 0, 0, false, 0, i->modrm, 0, 0 };
        break;
    case OP_FLD1: case OP_FLDL2T: case OP_FLDL2E: case OP_FLDPI: case OP_FLDLG2: case OP_FLDLN2: case OP_FLDZ:
        f = (struct xform){ XK_CONST, 0, 0, true, 0, i->modrm, 0, 0 };
        break;
    case OP_FLD_STi: /* FLD ST(7): the source is the slot the push fills, a fault either way */
        if (rm == 7)
            break;
        f = (struct xform){ XK_LD_STI, 0, (uint8_t)rm, true, 0, 0, 0, 0 };
        break;
    case OP_FST_STi:
        f = (struct xform){ XK_ST_STI, (uint8_t)rm, 0, false, 0, 0, 0, 0 };
        break;
    case OP_FSTP_STi: case OP_FSTP_STi_DF2: case OP_FSTP_STi_DF3:
        f = (struct xform){ XK_ST_STI, (uint8_t)rm, 0, false, 1, 0, 0, 0 };
        break;
    case OP_FXCH: case OP_FXCH_DD: case OP_FXCH_DF:
        f = (struct xform){ XK_XCH, (uint8_t)rm, 0, false, 0, 0, 0, 0 };
        break;
    case OP_FADD_Mf32: case OP_FMUL_Mf32: case OP_FSUB_Mf32: case OP_FSUBR_Mf32: case OP_FDIV_Mf32: case OP_FDIVR_Mf32:
    case OP_FIADD_Mi32: case OP_FIMUL_Mi32: case OP_FISUB_Mi32: case OP_FISUBR_Mi32: case OP_FIDIV_Mi32:
    case OP_FIDIVR_Mi32:
        f = (struct xform){ XK_ARITH_M, 0, 0, false, 0, 0, (uint8_t)r, 4 };
        break;
    case OP_FADD_Mf64: case OP_FMUL_Mf64: case OP_FSUB_Mf64: case OP_FSUBR_Mf64: case OP_FDIV_Mf64: case OP_FDIVR_Mf64:
        f = (struct xform){ XK_ARITH_M, 0, 0, false, 0, 0, (uint8_t)r, 8 };
        break;
    case OP_FIADD_Mi16: case OP_FIMUL_Mi16: case OP_FISUB_Mi16: case OP_FISUBR_Mi16: case OP_FIDIV_Mi16:
    case OP_FIDIVR_Mi16:
        f = (struct xform){ XK_ARITH_M, 0, 0, false, 0, 0, (uint8_t)r, 2 };
        break;
    case OP_FCOM_Mf32: case OP_FCOMP_Mf32: case OP_FICOM_Mi32: case OP_FICOMP_Mi32:
        f = (struct xform){ XK_COM_M, 0, 0, false, r == 3, 0, 2, 4 };
        break;
    case OP_FCOM_Mf64: case OP_FCOMP_Mf64:
        f = (struct xform){ XK_COM_M, 0, 0, false, r == 3, 0, 2, 8 };
        break;
    case OP_FICOM_Mi16: case OP_FICOMP_Mi16:
        f = (struct xform){ XK_COM_M, 0, 0, false, r == 3, 0, 2, 2 };
        break;
    case OP_FLD_Mf32: case OP_FILD_Mi32:
        f = (struct xform){ XK_LD_M, 0, 0, true, 0, 0, (uint8_t)r, 4 };
        break;
    case OP_FLD_Mf64: case OP_FILD_Mi64:
        f = (struct xform){ XK_LD_M, 0, 0, true, 0, 0, (uint8_t)r, 8 };
        break;
    case OP_FLD_Mf80:
        f = (struct xform){ XK_LD_M, 0, 0, true, 0, 0, (uint8_t)r, 10 };
        break;
    case OP_FILD_Mi16:
        f = (struct xform){ XK_LD_M, 0, 0, true, 0, 0, (uint8_t)r, 2 };
        break;
    case OP_FST_Mf32: case OP_FSTP_Mf32: case OP_FIST_Mi32: case OP_FISTP_Mi32:
        f = (struct xform){ XK_ST_M, 0, 0, false, r == 3, 0, (uint8_t)r, 4 };
        break;
    case OP_FST_Mf64: case OP_FSTP_Mf64:
        f = (struct xform){ XK_ST_M, 0, 0, false, r == 3, 0, (uint8_t)r, 8 };
        break;
    case OP_FIST_Mi16: case OP_FISTP_Mi16:
        f = (struct xform){ XK_ST_M, 0, 0, false, r == 3, 0, (uint8_t)r, 2 };
        break;
    case OP_FISTP_Mi64:
        f = (struct xform){ XK_ST_M, 0, 0, false, 1, 0, 7, 8 };
        break;
    case OP_FSTP_Mf80:
        f = (struct xform){ XK_ST_M, 0, 0, false, 1, 0, 7, 10 };
        break;
    case OP_FSCALE:
        f = (struct xform){ XK_SCALE, 0, 1, false, 0, 0, 0, 0 };
        break;
    case OP_FXTRACT:
        f = (struct xform){ XK_XTRACT, 0, 0, true, 0, 0, 0, 0 };
        break;
    case OP_FNSTSW_AX:
        f = (struct xform){ XK_STSW, 0, 0, false, 0, 0, 0, 0 };
        break;
    case OP_FNSTSW_Mw:
        f = (struct xform){ XK_STSW, 0, 0, false, 0, 0, 0, 2 };
        break;
    case OP_FLDCW:
        f = (struct xform){ XK_LDCW, 0, 0, false, 0, 0, 0, 2 };
        break;
    case OP_FNSTCW:
        f = (struct xform){ XK_STCW, 0, 0, false, 0, 0, 0, 2 };
        break;
    default:
        break;
    }
    return f;
}

/* test dword/byte [rbp + disp], imm */
static void test_m32(struct xbuf *b, int32_t disp, uint32_t imm)
{
    x_rm(b, 0xf7, 0, 0, RBP, NOREG, 0, disp);
    x32(b, imm);
}
static void test_m8(struct xbuf *b, int32_t disp, uint8_t imm)
{
    x_rm(b, 0xf6, 0, 0, RBP, NOREG, 0, disp);
    xb(b, imm);
}

/* ---- The register cache (struct x87_model, x64.h) ---- */

/* The host register holding the guest's ST(v), or -1. */
static int hpos(const struct x87_model *m, int v)
{
    for (int h = 0; h < m->n; h++)
        if (m->v[h] == v && !(m->ghost & (1u << h)))
            return h;
    return -1;
}

/* The host register holding the ghost of slot `rel` (relative to struct
 * cpu's TOP), or -1. */
static int gpos(const struct x87_model *m, int rel)
{
    for (int h = 0; h < m->n; h++)
        if (m->v[h] == rel && (m->ghost & (1u << h)))
            return h;
    return -1;
}

/* The guest pushes (the new ST(0) is the host's new top, not yet in
 * struct cpu) or pops ST(0) (the host's top, already dropped or made a
 * ghost). Ghosts are named by slot, which does not move. */
static void m_guest_push(struct x87_model *m)
{
    for (int h = 0; h < m->n; h++)
        if (!(m->ghost & (1u << h)))
            m->v[h]++;
    m->empty = (uint8_t)(m->empty << 1);
    m->delta = (m->delta + 7) & 7;
    m_push_host(m, 0, true);
}

static void m_guest_pop(struct x87_model *m)
{
    for (int h = 0; h < m->n; h++)
        if (!(m->ghost & (1u << h)))
            m->v[h]--;
    m->empty = (uint8_t)(m->empty >> 1 | 0x80);
    m->delta = (m->delta + 1) & 7;
}

/* The guest's C1 is the host's own (X87_C1_LIVE): save it (FNSTSW)
 * before a host instruction that is not the guest's changes it. Most
 * never need this: the guest's next instruction defines C1 anew. */
static void c1_save(struct be_ctx *x)
{
    if (x->x87.c1 == X87_C1_LIVE) {
        fnstsw_tmp(&x->buf);
        x->x87.c1 = X87_C1_HOST;
    }
}

/* Bring host register h to the host's top: FXCH costs nothing there. */
static void to_top_h(struct be_ctx *x, int h)
{
    struct x87_model *m = &x->x87;
    if (h <= 0)
        return;
    c1_save(x);
    x87_2(&x->buf, 0xd9, (uint8_t)(0xc8 + h));
    m_swap_host(m, 0, h);
}

/* Bring ST(v), cached, to the host's top. */
static void to_top(struct be_ctx *x, int v)
{
    to_top_h(x, hpos(&x->x87, v));
}

/* The guest pops ST(0). A popped register keeps its contents (FNSAVE and
 * MMX see them), so a value computed here stays on the host as a ghost
 * of its slot, stored with the write-back unless a push refills the slot
 * first (kill_ghost); the guest's loops pop and push the same slots over
 * and over. A value struct cpu has is simply dropped. */
static void pop_guest(struct be_ctx *x)
{
    struct x87_model *m = &x->x87;
    to_top(x, 0);
    if (m->dirty & 1) {
        m->v[0] = (int8_t)m->delta;
        m->ghost |= 1;
    } else {
        c1_save(x);
        fpop(&x->buf);
        m_pop_host(m);
    }
    m_guest_pop(m);
}

/* Slot `rel` (relative to struct cpu's TOP) is about to be written: its
 * ghost, if any, is dead. FSTP ST(h) moves the top over it and pops. */
static void kill_ghost(struct be_ctx *x, int rel)
{
    struct x87_model *m = &x->x87;
    int h = gpos(m, rel & 7);
    if (h < 0)
        return;
    c1_save(x);
    if (h == 0) {
        fpop(&x->buf);
        m_pop_host(m);
        return;
    }
    x87_2(&x->buf, 0xdd, (uint8_t)(0xd8 + h)); /* fstp st(h) */
    m_swap_host(m, 0, h);
    m_pop_host(m); /* the old top is now at h - 1 */
}

/* Store the deepest ghost to struct cpu, making room on the host. */
static bool evict_ghost(struct be_ctx *x)
{
    struct x87_model *m = &x->x87;
    for (int h = m->n - 1; h >= 0; h--) {
        if (!(m->ghost & (1u << h)))
            continue;
        to_top_h(x, h);
        st_index_r11(&x->buf, m->v[0]);
        fstp80(&x->buf, R11);
        m_pop_host(m);
        return true;
    }
    return false;
}


/* A host instruction defined C1 (and maybe raised flags): its status is
 * the guest's until a host-only instruction changes it (c1_save). */
static void capture(struct be_ctx *x)
{
    x->x87.c1 = X87_C1_LIVE;
    x->x87.host_ops = true;
}

/* A comparison: its condition codes and flags into the guest's SW now
 * (later host instructions leave C0, C2, C3 undefined). */
static void merge_cc(struct be_ctx *x, int t, int u)
{
    struct xbuf *b = &x->buf;
    fnstsw_tmp(b);
    x_load(b, 0, t, X64_FP, NOREG, 0, X64_FO(X64_TMP1), 2, false);
    x_alu_ri(b, ALU_AND, 0, t, SW_CC | FSW_EXC_BITS);
    x_load(b, 0, u, RBP, NOREG, 0, FPU_OFF(sw), 2, false);
    x_alu_ri(b, ALU_AND, 0, u, (int32_t)(uint16_t)~SW_CC);
    x_alu_rr(b, ALU_OR, 0, u, t);
    x_store(b, u, RBP, NOREG, 0, FPU_OFF(sw), 2);
    x->x87.c1 = X87_C1_MEM;
    x->x87.host_ops = true;
}

/* A stub to the handler, out of line, with the cache as it is now (the
 * TLB probe makes its own stub; this fills either). */
static void x87_cold_fill(struct be_ctx *x, struct cold *c, const struct ir_op *op, regset live, bool resume)
{
    c->live = live;
    c->flags = resume;
    c->imm = op->c[2];
    c->ninsns = op->c[0] + 1;
    c->x87 = x->x87;
}

/* A jump from `site` to such a stub. */
static struct cold *x87_cold(struct be_ctx *x, const struct ir_op *op, uint8_t *site, regset live, bool resume)
{
    struct cold *c = x64_add_cold(x, COLD_X87, site);
    x87_cold_fill(x, c, op, live, resume);
    return c;
}

/*
 * Memory operands that span two pages. The inline probe checks the page
 * of the operand's last byte against the TLB entry of its first, so such
 * an operand always misses it. Rather than leave the block (the handler
 * cannot hand the cache back), its stub looks both pages up in the TLB
 * and, when both are there, points the host instruction at the frame's
 * bounce buffer: filled from the two pages first for a load, copied out
 * to them after a store (the write entries exclude pages with code and
 * MMIO). No x87 instruction runs in the stubs, so the cache and the
 * host's status word stay as they are. An operand past 4 GiB, or a page
 * not in the TLB, goes to the handler as before (its stub is the next
 * cold record, reached from here). The stubs are x87_cross.c's.
 */
static void cross_probe(struct be_ctx *x, const struct ir_op *op, const struct be_loc *base, int lin, int ent, int t,
                        int u, int size, bool write, regset live)
{
    struct cold *c = x64_host_base(x, COLD_X87_CROSS, base, lin, ent, t, size, write); /* probe.c's group, or its own */
    c->resume = x->buf.p;
    c->lin = (int8_t)lin;
    c->out = (int8_t)ent;
    c->val = (int8_t)t;
    c->aux = (int8_t)u;
    c->size = (uint8_t)size;
    c->flags = write;
    x87_cold(x, op, NULL, live, false); /* the handler: its site is in the stub */
}

/* After the host's store: when it went to the bounce buffer, copy it out
 * (t and u: the op's scratch registers, free again). */
static void cross_store_back(struct be_ctx *x, int lin, int ent, int t, int u, int size)
{
    struct xbuf *b = &x->buf;
    x_lea(b, 1, R11, ent, lin, 0, 0);
    x_alu_rr(b, ALU_SUB, 1, R11, X64_FP);
    x_alu_ri(b, ALU_CMP, 1, R11, X64_FO(X64_BOUNCE));
    struct cold *c = x64_add_cold(x, COLD_X87_CROSS_ST, x_jcc32(b, CC_E));
    c->resume = b->p;
    c->lin = (int8_t)lin;
    c->out = (int8_t)ent;
    c->val = (int8_t)t;
    c->aux = (int8_t)u;
    c->size = (uint8_t)size;
}

/*
 * The mode check and host setup, at native entry (the common prologue)
 * and after the handlers that can change the guest's x87 mode (x87 and
 * MMX instructions, CLTS; MOV CR0, LMSW and task switches end the block,
 * so native entry covers them). The mode: CR0.EM and CR0.TS clear, no pending exception
 * (SW.ES), every exception masked. When they hold, the guest's control
 * word goes into the host (FLDCW, when a bit that matters differs) and the
 * host's sticky exception flags are made a subset of the guest's (FNCLEX
 * when they are not). The verdict is a word of the frame, X64_X87OK,
 * which a block tests before its first inline instruction. Inline
 * instructions keep it true: masked exceptions never set ES, and nothing
 * inline writes CW or CR0. R11 and TMP1 only, so it fits anywhere.
 */
void x64_emit_x87_setup(struct xbuf *b)
{
    uint8_t *fail[3];
    x_store_i(b, 0, X64_FP, X64_FO(X64_X87OK), 4);
    test_m32(b, (int32_t)offsetof(struct cpu, cr0), CR0_EM | CR0_TS);
    fail[0] = x_jcc32(b, CC_NE);
    test_m8(b, FPU_OFF(sw), 0x80); /* ES */
    fail[1] = x_jcc32(b, CC_NE);
    x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(cw), 2, false);
    x_alu_ri(b, ALU_AND, 0, R11, FSW_EXC_BITS);
    x_alu_ri(b, ALU_CMP, 0, R11, FSW_EXC_BITS);
    fail[2] = x_jcc32(b, CC_NE);
    x87_m(b, 0xd9, 7, X64_FP, NOREG, X64_FO(X64_TMP1)); /* fnstcw */
    x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(X64_TMP1), 2, false);
    x_alu_rm(b, ALU_XOR, 0, R11, RBP, FPU_OFF(cw));
    x_test_ri(b, 0, R11, 0x0f3f);
    uint8_t *same = x_jcc32(b, CC_E);
    x87_m(b, 0xd9, 5, RBP, NOREG, FPU_OFF(cw)); /* fldcw */
    x_patch32(same, b->p);
    fnstsw_tmp(b); /* host flags not in the guest's: (host | guest) ^ guest */
    x_load(b, 0, R11, X64_FP, NOREG, 0, X64_FO(X64_TMP1), 2, false);
    x_alu_rm(b, ALU_OR, 0, R11, RBP, FPU_OFF(sw));
    x_alu_rm(b, ALU_XOR, 0, R11, RBP, FPU_OFF(sw));
    x_test_ri(b, 0, R11, FSW_EXC_BITS);
    uint8_t *subset = x_jcc32(b, CC_E);
    x87_2(b, 0xdb, 0xe2); /* fnclex */
    x_patch32(subset, b->p);
    x_store_i(b, 1, X64_FP, X64_FO(X64_X87OK), 4);
    for (int k = 0; k < 3; k++)
        x_patch32(fail[k], b->p);
}

/* The last-instruction pointers, as fpu_note_reg/fpu_note_mem record them:
 * the data pointer now (the EA is at hand), the rest with the write-back
 * (only the last instruction's are ever seen). */
static void note(struct be_ctx *x, const struct insn *i, const struct be_loc *ea)
{
    struct xbuf *b = &x->buf;
    uint16_t k = (uint16_t)(i - x->b->insn + 1);
    x->x87.note = k;
    if (!(i->pfx & P_MEM))
        return;
    if (ea->reg >= 0)
        x_store(b, ea->reg, RBP, NOREG, 0, FPU_OFF(fdp), 4);
    else
        x_store_i(b, (int32_t)ea->val, RBP, FPU_OFF(fdp), 4);
    x->x87.dnote = k;
}

/* dst = the guest's status word as FNSTSW stores it (fpu_status): struct
 * cpu's, with the exception flags the host has raised since the cache
 * began, C1 where the cache has it, and TOP moved by the cache's delta.
 * The cache stays as it is (FNSTSW changes nothing). */
static void status_word(struct be_ctx *x, int dst, int t)
{
    struct xbuf *b = &x->buf;
    const struct x87_model *m = &x->x87;
    if (m->host_ops || m->c1 == X87_C1_LIVE)
        x87_m(b, 0xdd, 7, X64_FP, NOREG, X64_FO(X64_TMP0)); /* fnstsw: the host's flags and C1 */
    x_load(b, 0, dst, RBP, NOREG, 0, FPU_OFF(sw), 2, false);
    if (m->host_ops) {
        x_load(b, 0, t, X64_FP, NOREG, 0, X64_FO(X64_TMP0), 2, false);
        x_alu_ri(b, ALU_AND, 0, t, FSW_EXC_BITS);
        x_alu_rr(b, ALU_OR, 0, dst, t);
    }
    if (m->c1 != X87_C1_MEM) {
        x_alu_ri(b, ALU_AND, 0, dst, (uint16_t)~SW_C1);
        if (m->c1 == X87_C1_HOST || m->c1 == X87_C1_LIVE) {
            x_load(b, 0, t, X64_FP, NOREG, 0, X64_FO(m->c1 == X87_C1_HOST ? X64_TMP1 : X64_TMP0), 2, false);
            x_alu_ri(b, ALU_AND, 0, t, SW_C1);
            x_alu_rr(b, ALU_OR, 0, dst, t);
        }
    }
    x_load(b, 0, t, RBP, NOREG, 0, FPU_OFF(top), 1, false);
    if (m->delta) {
        x_alu_ri(b, ALU_ADD, 0, t, m->delta);
        x_alu_ri(b, ALU_AND, 0, t, 7);
    }
    x_shift_ri(b, SH_SHL, 0, t, 11);
    x_alu_ri(b, ALU_AND, 0, dst, 0xffff & ~0x3800);
    x_alu_rr(b, ALU_OR, 0, dst, t);
}

/* FLDCW and FNSTCW, their operand probed at [ent + lin]. A new control
 * word that masks every exception keeps the x87 mode inline code needs
 * (x64_emit_x87_setup; no exception can become pending): it goes into
 * struct cpu and the host, the cache staying as it is. Any other is the
 * handler's, which leaves the block after it. */
static void control_word(struct be_ctx *x, const struct ir_op *op, const struct xform *f, int lin, int ent, int t,
                         int u, regset live)
{
    struct xbuf *b = &x->buf;
    if (f->kind == XK_STCW) {
        x_load(b, 0, u, RBP, NOREG, 0, FPU_OFF(cw), 2, false);
        x_store(b, u, ent, lin, 0, 0, 2);
        cross_store_back(x, lin, ent, t, u, 2);
        return;
    }
    x_load(b, 0, t, ent, lin, 0, 0, 2, false);
    x_mov_rr(b, 0, u, t);
    x_alu_ri(b, ALU_AND, 0, u, FSW_EXC_BITS);
    x_alu_ri(b, ALU_CMP, 0, u, FSW_EXC_BITS);
    x87_cold(x, op, x_jcc32(b, CC_NE), live, false);
    x_store(b, t, RBP, NOREG, 0, FPU_OFF(cw), 2);
    c1_save(x); /* the host's FLDCW leaves C1 undefined */
    x87_m(b, 0xd9, 5, RBP, NOREG, FPU_OFF(cw)); /* fldcw */
}

static bool writes(const struct xform *f)
{
    return f->kind == XK_ST_M || f->kind == XK_STCW || f->kind == XK_STSW;
}

bool be_x87_access(const struct block *b, const struct ir_op *op, int *size, bool *write)
{
    struct xform f = classify(&b->insn[op->c[0]]);
    if (!f.msize)
        return false;
    *size = f.msize;
    *write = writes(&f);
    return true;
}

void x64_emit_x87(struct be_ctx *x, const struct ir_op *op, int out, const struct be_loc *in, const int *s, regset live)
{
    struct xbuf *b = &x->buf;
    struct x87_model *m = &x->x87;
    const struct insn *i = &x->b->insn[op->c[0]];
    struct xform f = classify(i);
    if (f.kind == XK_CALL) {
        x64_x87_flush(x);
        uint8_t *site = x_jmp32(b);
        unsigned c = (unsigned)(x87_cold(x, op, site, live, true) - x->cold);
        if (!x->failed)
            x->cold[c].resume = b->p;
        x->x87_checked = false;
        return;
    }
    /* The stack registers the instruction reads. */
    int need[2], nneed = 0;
    switch (f.kind) {
    case XK_ARITH: need[nneed++] = f.a; if (f.b != f.a) need[nneed++] = f.b; break;
    case XK_COM: case XK_COMI: need[nneed++] = 0; if (f.b) need[nneed++] = f.b; break;
    case XK_XCH: need[nneed++] = 0; if (f.a) need[nneed++] = f.a; break;
    case XK_LD_STI: need[nneed++] = f.b; break;
    case XK_SCALE: need[nneed++] = 0; need[nneed++] = 1; break;
    case XK_CONST: case XK_LD_M: case XK_LDCW: case XK_STCW: case XK_STSW: break;
    default: need[nneed++] = 0; break;
    }
    /* Host registers the instruction may add: loads, a push, a copy. */
    int extra = f.push + (f.kind == XK_ST_STI && f.a) + (f.kind == XK_ST_M && f.pops && f.mreg == 7);
    for (int k = 0; k < nneed; k++)
        extra += hpos(m, need[k]) < 0;
    /* No room even without the ghosts: write everything back first (the
     * checks below rely on what is cached). Ghosts alone make room after
     * the checks, when the instruction's own C1 makes saving the host's
     * needless and the slot a push fills has dropped its ghost. */
    if (m->n - __builtin_popcount(m->ghost) + extra > 8)
        x64_x87_flush(x);
    int lin = s[0], ent = s[1], top = s[2], idx = s[3];
    if (!x->x87_checked) { /* the cache is empty here: only handlers clear the flag */
        x_alu_mi(b, ALU_CMP, 0, X64_FP, X64_FO(X64_X87OK), 0);
        x87_cold(x, op, x_jcc32(b, CC_E), live, false);
        x->x87_checked = true;
    }
    /* Checks: operands present, the slot a push fills empty. Known from
     * the cache where it can tell; else the tags in struct cpu. */
    bool fault = f.push && hpos(m, 7) >= 0;
    unsigned present = 0, emptied = 0;
    for (int k = 0; k < nneed; k++) {
        if (hpos(m, need[k]) >= 0)
            continue;
        if (m->empty & (1u << need[k]))
            fault = true;
        present |= 1u << ((m->delta + need[k]) & 7);
    }
    if (f.push && !(m->empty & 0x80))
        emptied = 1u << ((m->delta + 7) & 7);
    if (fault) {
        x87_cold(x, op, x_jmp32(b), live, false); /* a stack fault: the handler's */
    } else if (!present != !emptied) {
        /* one kind of check: a test of the tag byte where it is (a push's
         * slot, one bit: empty when set; operands: all clear) */
        x_test8_mi(b, RBP, FPU_OFF(tw), (uint8_t)(present | emptied));
        x87_cold(x, op, x_jcc32(b, emptied ? CC_E : CC_NE), live, false);
    } else if (present | emptied) {
        x_load(b, 0, idx, RBP, NOREG, 0, FPU_OFF(tw), 1, false);
        if (emptied)
            x_alu_ri(b, ALU_XOR, 0, idx, (int32_t)emptied);
        x_test_ri(b, 0, idx, (int32_t)(present | emptied));
        x87_cold(x, op, x_jcc32(b, CC_NE), live, false);
    }
    bool write = writes(&f);
    if (f.msize) {
        x64_seg_check(x, &in[0], (int)op->c[1], f.msize, write, lin, ent);
        cross_probe(x, op, &in[1], lin, ent, top, idx, f.msize, write, live);
    }
    if (f.kind == XK_LDCW || f.kind == XK_STCW) {
        control_word(x, op, &f, lin, ent, top, idx, live);
        return; /* control instructions leave C1 and the pointers alone */
    }
    if (f.kind == XK_STSW) {
        int dst = f.msize ? top : out;
        status_word(x, dst, idx);
        if (f.msize) {
            x_store(b, dst, ent, lin, 0, 0, 2);
            cross_store_back(x, lin, ent, top, idx, 2);
        }
        return; /* a control instruction too */
    }
    /* Past the checks (their stubs hold the cache as it was): every kind
     * but FCOMI defines C1 itself, so the loads and exchanges before its
     * host instruction need not save the previous one. */
    if (f.kind != XK_COMI && m->c1 == X87_C1_LIVE)
        m->c1 = X87_C1_ZERO; /* a placeholder: redefined below */
    /* A slot this instruction fills loses its ghost. */
    if (f.push)
        kill_ghost(x, m->delta + 7);
    if (f.kind == XK_ST_STI && f.a)
        kill_ghost(x, m->delta + f.a);
    while (m->n + extra > 8 && evict_ghost(x))
        ;
    /* Load what is not cached yet (checked present above). */
    if (nneed && (hpos(m, need[0]) < 0 || (nneed > 1 && hpos(m, need[1]) < 0)))
        x_load(b, 0, top, RBP, NOREG, 0, FPU_OFF(top), 1, false);
    for (int k = 0; k < nneed; k++) {
        if (hpos(m, need[k]) >= 0)
            continue;
        c1_save(x);
        st_index(b, idx, top, m->delta + need[k]);
        fld80(b, idx);
        m_push_host(m, need[k], false);
    }
    switch (f.kind) {
    case XK_ARITH:
        if (f.b == 0 && f.a != 0) {
            /* ST(a) = ST(a) op ST(0): ST(0) stays on the host's top and
             * the "st(i) = st(i) op st(0)" forms do it (DC, whose sub and
             * div name their operands the other way round; DE when the
             * guest pops a value struct cpu has: the pop is the host
             * instruction's own). Either way nothing runs on the host
             * after it, and its C1 is the guest's without an FNSTSW. */
            to_top(x, 0);
            int h = hpos(m, f.a);
            uint8_t rc = (uint8_t)(f.code >= 4 ? f.code ^ 1 : f.code);
            if (f.pops && !(m->dirty & 1)) {
                x87_2(b, 0xde, (uint8_t)(0xc0 | rc << 3 | h));
                m_pop_host(m);
                m->dirty |= (uint8_t)(1u << (h - 1));
                m_guest_pop(m);
                capture(x);
            } else {
                x87_2(b, 0xdc, (uint8_t)(0xc0 | rc << 3 | h));
                m->dirty |= (uint8_t)(1u << h);
                capture(x);
                if (f.pops)
                    pop_guest(x); /* a ghost: no host instruction */
            }
            break;
        }
        to_top(x, f.a);
        x87_2(b, 0xd8, (uint8_t)(0xc0 | f.code << 3 | hpos(m, f.b)));
        m->dirty |= 1;
        capture(x);
        if (f.pops)
            pop_guest(x);
        break;
    case XK_COM:
        to_top(x, 0);
        if (f.code)
            x87_2(b, 0xdd, (uint8_t)(0xe0 + hpos(m, f.b))); /* fucom st(i) */
        else
            x87_2(b, 0xd8, (uint8_t)(0xd0 + hpos(m, f.b))); /* fcom st(i) */
        merge_cc(x, lin, ent);
        for (int k = 0; k < f.pops; k++)
            pop_guest(x);
        break;
    case XK_COMI:
        /* ZF, PF, CF into out where EFLAGS has them (bits 6, 2, 0): the
         * host's EFLAGS through the stack, the rest masked off */
        to_top(x, 0);
        c1_save(x); /* the guest's FCOMI keeps C1; the host's may not */
        x87_2(b, 0xdb, (uint8_t)((f.code ? 0xe8 : 0xf0) + hpos(m, f.b))); /* fucomi/fcomi st(i) */
        xb(b, 0x9c); /* pushfq */
        x_pop(b, out);
        x_alu_ri(b, ALU_AND, 0, out, 0x45);
        m->host_ops = true; /* C1 stays as it was, as on the host */
        for (int k = 0; k < f.pops; k++)
            pop_guest(x);
        break;
    case XK_TEST:
        to_top(x, 0);
        x87_2(b, 0xd9, f.code);
        merge_cc(x, lin, ent);
        break;
    case XK_ONE:
        to_top(x, 0);
        x87_2(b, 0xd9, f.code);
        m->dirty |= 1;
        capture(x);
        break;
    case XK_SCALE:
        if (hpos(m, 1) != 1) { /* ST(1) into the host's st(1) */
            to_top(x, 1);
            to_top_h(x, 1);
        }
        to_top(x, 0); /* from elsewhere than st(1) */
        x87_2(b, 0xd9, 0xfd); /* fscale */
        m->dirty |= 1;
        capture(x);
        break;
    case XK_XTRACT:
        to_top(x, 0);
        x87_2(b, 0xd9, 0xf4); /* fxtract: the exponent stays in ST(0)'s register */
        m->dirty |= 1;
        m_guest_push(m);
        capture(x);
        break;
    case XK_CONST:
        x87_2(b, 0xd9, f.code);
        m_guest_push(m);
        capture(x);
        break;
    case XK_LD_M:
        x87_m(b, i->b1, f.mreg, ent, lin, 0);
        m_guest_push(m);
        capture(x);
        break;
    case XK_ARITH_M:
        to_top(x, 0);
        x87_m(b, i->b1, f.mreg, ent, lin, 0);
        m->dirty |= 1;
        capture(x);
        break;
    case XK_COM_M:
        to_top(x, 0);
        x87_m(b, i->b1, f.mreg, ent, lin, 0);
        merge_cc(x, lin, ent);
        if (f.pops)
            pop_guest(x);
        break;
    case XK_ST_M:
        to_top(x, 0);
        if (f.pops && (m->dirty & 1)) {
            /* The popped value must reach struct cpu too (pop_guest):
             * store with the non-popping form, or from a copy. */
            if (f.mreg == 3) {
                x87_m(b, i->b1, 2, ent, lin, 0);
            } else {
                x87_2(b, 0xd9, 0xc0); /* fld st(0) */
                x87_m(b, i->b1, f.mreg, ent, lin, 0);
            }
            cross_store_back(x, lin, ent, top, idx, f.msize);
            capture(x);
            pop_guest(x);
        } else {
            x87_m(b, i->b1, f.mreg, ent, lin, 0); /* the host's form pops when the guest's does */
            cross_store_back(x, lin, ent, top, idx, f.msize);
            capture(x);
            if (f.pops) {
                m_pop_host(m);
                m_guest_pop(m);
            }
        }
        break;
    case XK_LD_STI:
        x87_2(b, 0xd9, (uint8_t)(0xc0 + hpos(m, f.b))); /* fld st(i) */
        m_guest_push(m);
        m->c1 = X87_C1_ZERO;
        break;
    case XK_ST_STI:
        to_top(x, 0);
        if (f.a) {
            int ha = hpos(m, f.a);
            if (ha > 0) {
                x87_2(b, 0xdd, (uint8_t)(0xd0 + ha)); /* fst st(i) */
                m->dirty |= (uint8_t)(1u << ha);
            } else {
                x87_2(b, 0xd9, 0xc0); /* fld st(0): the copy becomes ST(a) */
                m_push_host(m, f.a, true);
                m->empty &= (uint8_t)~(1u << f.a);
            }
        }
        if (f.pops)
            pop_guest(x);
        m->c1 = X87_C1_ZERO;
        break;
    case XK_XCH: {
        /* Renaming: the values stay where they are, struct cpu's copies
         * of both are stale now. */
        int h0 = hpos(m, 0), ha = hpos(m, f.a);
        m->v[h0] = (int8_t)f.a;
        m->v[ha] = 0;
        m->dirty |= (uint8_t)(1u << h0 | 1u << ha);
        m->c1 = X87_C1_ZERO;
        break;
    }
    default:
        break;
    }
    note(x, i, &in[0]);
}

/*
 * The handler, out of line: write the cache back as it was before the
 * instruction, sync the guest state, call. After a failed check, leave the
 * block after the instruction (the cache the main path goes on with is
 * not what the handler left). For a form never done inline (the cache is
 * empty around it), resume unless the handler called cpu_stop().
 */
void x64_emit_cold_x87(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    const struct insn *i = &x->b->insn[c->insn];
    bool resume = c->flags;
    x64_x87_writeback(x, &c->x87);
    regset keep = resume ? c->live & X64_CLOBBERED : 0;
    x64_save_regs(b, keep, false);
    x64_emit_defers(x, c, 0);
    x64_set_cur(x, c->insn); /* leaves &insn in R11 */
    x_mov_rr(b, 1, RSI, R11);
    x_mov_rr(b, 1, RDI, RBP);
    x64_call_c(b, (const void *)i->fn);
    if (resume) {
        x64_emit_x87_setup(b);
        x_alu_mi(b, ALU_CMP, 1, RBP, (int32_t)offsetof(struct cpu, blk_end), 0);
        uint8_t *go_on = x_jcc32(b, CC_E);
        x64_emit_exit(x, (uint32_t)c->imm, c->ninsns);
        x_patch32(go_on, b->p);
        x64_save_regs(b, keep, true);
        x_jmp_to(b, c->resume);
        return;
    }
    x64_emit_exit(x, (uint32_t)c->imm, c->ninsns);
}
