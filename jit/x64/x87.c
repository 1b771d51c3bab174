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
 * for a memory operand. Anything else runs the interpreter handler out of
 * line, which gives the architected answer (stack faults, #NM, #MF,
 * unmasked responses, page crossings, MMIO, faults) from the same state.
 *
 * Host state, kept per block. The first inline x87 instruction of a block
 * (and the first after anything that may have run a handler) loads the
 * guest's control word into the host (FLDCW) and makes the host's sticky
 * exception flags a subset of the guest's (FNCLEX when they are not):
 * each instruction then ORs the host's flags into the guest's, which adds
 * exactly its own. The common prologue saves the host's control word
 * and the epilogue restores it; the emulator does no long double
 * arithmetic of its own in between (a guest fault unwinding past the
 * epilogue leaves the guest's control word in the host, harmlessly).
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/opcode.h"
#include "jit/x64/x64.h"

#define FPU_OFF(field) ((int32_t)(offsetof(struct cpu, fpu) + offsetof(struct fpu, field)))
#define SEG_SEL_OFF(s) ((int32_t)(offsetof(struct cpu, seg) + (size_t)(s) * sizeof(struct seg) + offsetof(struct seg, sel)))

enum {
    FSW_EXC_BITS = 0x3f,
    SW_C0 = 0x100, SW_C1 = 0x200, SW_C2 = 0x400, SW_C3 = 0x4000,
    SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3,
};

/* What an instruction does, in host terms. Stack indexes are relative to
 * TOP before the instruction; 7 is the slot a push fills. */
enum xkind {
    XK_CALL,    /* the interpreter handler, always */
    XK_ARITH,   /* ST(a) = ST(a) op ST(b): fld b; fld a; op st0,st1 */
    XK_ARITH_M, /* ST(0) = ST(0) op mem */
    XK_COM,     /* compare ST(a) with ST(b) (fcompp/fucompp on the copies) */
    XK_COM_M,   /* compare ST(0) with mem */
    XK_TEST,    /* FTST, FXAM: ST(0) inspected */
    XK_ONE,     /* ST(0) = f(ST(0)) */
    XK_TWO,     /* ST(0) = f(ST(0), ST(1)) */
    XK_CONST,   /* push a constant */
    XK_LD_M,    /* push mem */
    XK_ST_M,    /* mem = ST(0) */
    XK_LD_STI,  /* push ST(b): a copy */
    XK_ST_STI,  /* ST(a) = ST(0): a copy */
    XK_XCH,     /* swap ST(0) and ST(a) */
};

struct xform {
    uint8_t kind;
    uint8_t a, b;       /* stack operands */
    uint8_t need;       /* ST(i) that must be present: bit i */
    bool push;          /* ST(7) must be empty, and TOP moves down */
    uint8_t pops;       /* 0..2 after the result is written */
    uint8_t hop[2];     /* host instruction (register forms) */
    uint8_t mreg;       /* host ModRM.reg (memory forms; opcode byte = the guest's) */
    uint8_t msize;      /* memory operand bytes */
    uint16_t ccmask;    /* condition codes the instruction defines */
};

/* The host ModRM.reg of the arithmetic on ST(0),ST(1) computing "a op b"
 * with a in ST(0): add 0, mul 1, sub 4 (a-b), subr 5 (b-a), div 6, divr 7.
 * The guest's DC/DE register forms name sub/subr and div/divr the other
 * way round (their destination is ST(i)), hence `swapped`. */
static uint8_t arith_hop(unsigned r, bool swapped)
{
    return (uint8_t)(0xc1 | ((r >= 4 && swapped ? r ^ 1 : r) << 3));
}

static struct xform classify(const struct insn *i)
{
    struct xform f = { .kind = XK_CALL };
    unsigned r = (i->modrm >> 3) & 7, rm = i->modrm & 7;
    switch (i->id) {
    /* ---- register arithmetic ---- */
    case OP_FADD_ST0STi: case OP_FMUL_ST0STi: case OP_FSUB_ST0STi: case OP_FSUBR_ST0STi:
    case OP_FDIV_ST0STi: case OP_FDIVR_ST0STi:
        f = (struct xform){ XK_ARITH, 0, (uint8_t)rm, (uint8_t)(1 | 1u << rm), false, 0, { 0xd8, arith_hop(r, false) },
                            0, 0, SW_C1 };
        break;
    case OP_FADD_STiST0: case OP_FMUL_STiST0: case OP_FSUB_STiST0: case OP_FSUBR_STiST0:
    case OP_FDIV_STiST0: case OP_FDIVR_STiST0:
    case OP_FADDP_STiST0: case OP_FMULP_STiST0: case OP_FSUBP_STiST0: case OP_FSUBRP_STiST0:
    case OP_FDIVP_STiST0: case OP_FDIVRP_STiST0:
        f = (struct xform){ XK_ARITH, (uint8_t)rm, 0, (uint8_t)(1 | 1u << rm), false, i->b1 == 0xde,
                            { 0xd8, arith_hop(r, true) }, 0, 0, SW_C1 };
        break;
    /* ---- register comparisons (C0, C2, C3; C1 cleared) ---- */
    case OP_FCOM_ST0STi: case OP_FCOM_STi_DC:
    case OP_FCOMP_ST0STi: case OP_FCOMP_STi_DC: case OP_FCOMP_STi_DE:
        f = (struct xform){ XK_COM, 0, (uint8_t)rm, (uint8_t)(1 | 1u << rm), false, r == 3 || i->b1 == 0xde,
                            { 0xde, 0xd9 }, 0, 0, SW_CC };
        break;
    case OP_FUCOM: case OP_FUCOMP:
        f = (struct xform){ XK_COM, 0, (uint8_t)rm, (uint8_t)(1 | 1u << rm), false, r == 5, { 0xda, 0xe9 }, 0, 0,
                            SW_CC };
        break;
    case OP_FCOMPP:
        f = (struct xform){ XK_COM, 0, 1, 3, false, 2, { 0xde, 0xd9 }, 0, 0, SW_CC };
        break;
    case OP_FUCOMPP:
        f = (struct xform){ XK_COM, 0, 1, 3, false, 2, { 0xda, 0xe9 }, 0, 0, SW_CC };
        break;
    case OP_FTST: case OP_FXAM: /* FXAM of an empty ST(0) is the handler's */
        f = (struct xform){ XK_TEST, 0, 0, 1, false, 0, { 0xd9, i->modrm }, 0, 0, SW_CC };
        break;
    /* ---- one- and two-operand functions ---- */
    case OP_FCHS: case OP_FABS: case OP_FSQRT: case OP_FRNDINT:
        f = (struct xform){ XK_ONE, 0, 0, 1, false, 0, { 0xd9, i->modrm }, 0, 0, SW_C1 };
        break;
    case OP_FSCALE:
        f = (struct xform){ XK_TWO, 0, 1, 3, false, 0, { 0xd9, i->modrm }, 0, 0, SW_C1 };
        break;
    /* Not FPREM/FPREM1: without a quotient (NaN, infinity, zero divisor)
     * they leave C0 and C3 alone, and the host's are not the guest's. */
    case OP_FLD1: case OP_FLDL2T: case OP_FLDL2E: case OP_FLDPI: case OP_FLDLG2: case OP_FLDLN2: case OP_FLDZ:
        f = (struct xform){ XK_CONST, 0, 0, 0, true, 0, { 0xd9, i->modrm }, 0, 0, SW_C1 };
        break;
    /* ---- register moves ---- */
    case OP_FLD_STi: /* FLD ST(7): the source is the slot the push fills, a fault either way */
        if (rm == 7)
            break;
        f = (struct xform){ XK_LD_STI, 0, (uint8_t)rm, (uint8_t)(1u << rm), true, 0, { 0, 0 }, 0, 0, SW_C1 };
        break;
    case OP_FST_STi:
        f = (struct xform){ XK_ST_STI, (uint8_t)rm, 0, 1, false, 0, { 0, 0 }, 0, 0, SW_C1 };
        break;
    case OP_FSTP_STi: case OP_FSTP_STi_DF2: case OP_FSTP_STi_DF3:
        f = (struct xform){ XK_ST_STI, (uint8_t)rm, 0, 1, false, 1, { 0, 0 }, 0, 0, SW_C1 };
        break;
    case OP_FXCH: case OP_FXCH_DD: case OP_FXCH_DF:
        f = (struct xform){ XK_XCH, (uint8_t)rm, 0, (uint8_t)(1 | 1u << rm), false, 0, { 0, 0 }, 0, 0, SW_C1 };
        break;
    /* ---- memory arithmetic and comparisons ---- */
    case OP_FADD_Mf32: case OP_FMUL_Mf32: case OP_FSUB_Mf32: case OP_FSUBR_Mf32: case OP_FDIV_Mf32: case OP_FDIVR_Mf32:
    case OP_FIADD_Mi32: case OP_FIMUL_Mi32: case OP_FISUB_Mi32: case OP_FISUBR_Mi32: case OP_FIDIV_Mi32:
    case OP_FIDIVR_Mi32:
        f = (struct xform){ XK_ARITH_M, 0, 0, 1, false, 0, { 0, 0 }, (uint8_t)r, 4, SW_C1 };
        break;
    case OP_FADD_Mf64: case OP_FMUL_Mf64: case OP_FSUB_Mf64: case OP_FSUBR_Mf64: case OP_FDIV_Mf64: case OP_FDIVR_Mf64:
        f = (struct xform){ XK_ARITH_M, 0, 0, 1, false, 0, { 0, 0 }, (uint8_t)r, 8, SW_C1 };
        break;
    case OP_FIADD_Mi16: case OP_FIMUL_Mi16: case OP_FISUB_Mi16: case OP_FISUBR_Mi16: case OP_FIDIV_Mi16:
    case OP_FIDIVR_Mi16:
        f = (struct xform){ XK_ARITH_M, 0, 0, 1, false, 0, { 0, 0 }, (uint8_t)r, 2, SW_C1 };
        break;
    case OP_FCOM_Mf32: case OP_FCOMP_Mf32: case OP_FICOM_Mi32: case OP_FICOMP_Mi32:
        f = (struct xform){ XK_COM_M, 0, 0, 1, false, r == 3, { 0, 0 }, 3, 4, SW_CC };
        break;
    case OP_FCOM_Mf64: case OP_FCOMP_Mf64:
        f = (struct xform){ XK_COM_M, 0, 0, 1, false, r == 3, { 0, 0 }, 3, 8, SW_CC };
        break;
    case OP_FICOM_Mi16: case OP_FICOMP_Mi16:
        f = (struct xform){ XK_COM_M, 0, 0, 1, false, r == 3, { 0, 0 }, 3, 2, SW_CC };
        break;
    /* ---- loads and stores ---- */
    case OP_FLD_Mf32: case OP_FILD_Mi32:
        f = (struct xform){ XK_LD_M, 0, 0, 0, true, 0, { 0, 0 }, (uint8_t)r, 4, SW_C1 };
        break;
    case OP_FLD_Mf64: case OP_FILD_Mi64:
        f = (struct xform){ XK_LD_M, 0, 0, 0, true, 0, { 0, 0 }, (uint8_t)r, 8, SW_C1 };
        break;
    case OP_FLD_Mf80:
        f = (struct xform){ XK_LD_M, 0, 0, 0, true, 0, { 0, 0 }, (uint8_t)r, 10, SW_C1 };
        break;
    case OP_FILD_Mi16:
        f = (struct xform){ XK_LD_M, 0, 0, 0, true, 0, { 0, 0 }, (uint8_t)r, 2, SW_C1 };
        break;
    /* The host always stores with the popping form (/2 -> /3): its copy
     * of ST(0) must not stay behind. */
    case OP_FST_Mf32: case OP_FSTP_Mf32: case OP_FIST_Mi32: case OP_FISTP_Mi32:
        f = (struct xform){ XK_ST_M, 0, 0, 1, false, r == 3, { 0, 0 }, 3, 4, SW_C1 };
        break;
    case OP_FST_Mf64: case OP_FSTP_Mf64:
        f = (struct xform){ XK_ST_M, 0, 0, 1, false, r == 3, { 0, 0 }, 3, 8, SW_C1 };
        break;
    case OP_FIST_Mi16: case OP_FISTP_Mi16:
        f = (struct xform){ XK_ST_M, 0, 0, 1, false, r == 3, { 0, 0 }, 3, 2, SW_C1 };
        break;
    case OP_FISTP_Mi64:
        f = (struct xform){ XK_ST_M, 0, 0, 1, false, 1, { 0, 0 }, 7, 8, SW_C1 };
        break;
    case OP_FSTP_Mf80:
        f = (struct xform){ XK_ST_M, 0, 0, 1, false, 1, { 0, 0 }, 7, 10, SW_C1 };
        break;
    default:
        break;
    }
    return f;
}

/* ---- Encoding ---- */

static void x87_rr(struct xbuf *b, const uint8_t op[2])
{
    xb(b, op[0]);
    xb(b, op[1]);
}

/* opc /reg [base + index + disp] (x87 memory forms take no REX.W). */
static void x87_m(struct xbuf *b, uint8_t opc, int reg, int base, int index, int32_t disp)
{
    x_rm(b, opc, 0, reg, base, index, 0, disp);
}

static void fld80(struct xbuf *b, int areg) { x87_m(b, 0xdb, 5, RBP, areg, FPU_OFF(st)); }
static void fstp80(struct xbuf *b, int areg) { x87_m(b, 0xdb, 7, RBP, areg, FPU_OFF(st)); }
static void fpop(struct xbuf *b) { xb(b, 0xdd); xb(b, 0xd8); } /* fstp st(0) */
static void fnstsw_tmp(struct xbuf *b) { x87_m(b, 0xdd, 7, RSP, NOREG, X64_TMP1); }

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

/* dst = offset of ST(k) from st[0]: ((top + k) & 7) * 16. */
static void st_index(struct xbuf *b, int dst, int top, int k)
{
    if (k == 0) {
        x_mov_rr(b, 0, dst, top);
    } else {
        x_lea(b, 0, dst, top, NOREG, 0, k);
        x_alu_ri(b, ALU_AND, 0, dst, 7);
    }
    x_shift_ri(b, SH_SHL, 0, dst, 4);
}

/* A jump to the handler, out of line; it resumes after the op (the
 * caller sets `resume` when it gets there). Returns the stub's index:
 * adding stubs may move the array. */
static unsigned x87_cold(struct be_ctx *x, uint8_t *site, regset live)
{
    struct cold *c = x64_add_cold(x, COLD_X87, site);
    c->live = live;
    return (unsigned)(c - x->cold);
}

/* Point the op's stubs back at the main path. */
static void set_resume(struct be_ctx *x, const unsigned *colds, unsigned n)
{
    if (x->failed)
        return; /* x64_add_cold ran out of memory: the indexes are not ours */
    for (unsigned k = 0; k < n; k++)
        x->cold[colds[k]].resume = x->buf.p;
}

/*
 * The mode check, at every instruction: CR0.EM and CR0.TS clear, no
 * pending exception (SW.ES), every exception masked. A failure runs the
 * handler, which raises #NM/#MF or gives the unmasked responses.
 */
static void emit_mode_check(struct be_ctx *x, regset live, int t, unsigned *colds, unsigned *ncold)
{
    struct xbuf *b = &x->buf;
    test_m32(b, (int32_t)offsetof(struct cpu, cr0), CR0_EM | CR0_TS);
    colds[(*ncold)++] = x87_cold(x, x_jcc32(b, CC_NE), live);
    test_m8(b, FPU_OFF(sw), 0x80); /* ES */
    colds[(*ncold)++] = x87_cold(x, x_jcc32(b, CC_NE), live);
    x_load(b, 0, t, RBP, NOREG, 0, FPU_OFF(cw), 2, false);
    x_alu_ri(b, ALU_AND, 0, t, FSW_EXC_BITS);
    x_alu_ri(b, ALU_CMP, 0, t, FSW_EXC_BITS);
    colds[(*ncold)++] = x87_cold(x, x_jcc32(b, CC_NE), live);
}

/*
 * The host setup, once per block and again after anything that may have
 * changed the control word or cleared the status flags (an interpreter
 * handler): the guest's control word into the host, and the host's
 * exception flags a subset of the guest's. t and u are scratch.
 *
 * Sound with checks failing: the instruction that reaches this point
 * first on the main path does it; one whose mode check failed ran its
 * handler instead, but then the next instruction's check fails too (the
 * handlers of the forms done inline change neither CW nor ES, nor can
 * anything else in a block without going through a handler that resets
 * the setup), so no inline path runs without it.
 */
static void emit_setup(struct be_ctx *x, int t, int u)
{
    struct xbuf *b = &x->buf;
    x87_m(b, 0xd9, 5, RBP, NOREG, FPU_OFF(cw)); /* fldcw */
    fnstsw_tmp(b);
    x_load(b, 0, t, RSP, NOREG, 0, X64_TMP1, 2, false);
    x_load(b, 0, u, RBP, NOREG, 0, FPU_OFF(sw), 2, false);
    x_unary(b, 2, 0, u);
    x_alu_rr(b, ALU_AND, 0, t, u);
    x_test_ri(b, 0, t, FSW_EXC_BITS);
    xb(b, 0x74); /* jz over the fnclex */
    xb(b, 2);
    xb(b, 0xdb);
    xb(b, 0xe2);
    x->x87_ready = true;
}

/* SW = SW & ~ccmask | host SW & (ccmask | exception flags). */
static void merge_status(struct xbuf *b, const struct xform *f, int t, int u)
{
    x_load(b, 0, t, RSP, NOREG, 0, X64_TMP1, 2, false);
    x_alu_ri(b, ALU_AND, 0, t, f->ccmask | FSW_EXC_BITS);
    x_load(b, 0, u, RBP, NOREG, 0, FPU_OFF(sw), 2, false);
    x_alu_ri(b, ALU_AND, 0, u, (int32_t)(uint16_t)~f->ccmask);
    x_alu_rr(b, ALU_OR, 0, u, t);
    x_store(b, u, RBP, NOREG, 0, FPU_OFF(sw), 2);
}

/* Copy ST at index register src to ST at index register dst (16 bytes:
 * the padding too, as a struct copy would). */
static void copy_st(struct xbuf *b, int dst, int src, int t)
{
    x_load(b, 1, t, RBP, src, 0, FPU_OFF(st), 8, false);
    x_store(b, t, RBP, dst, 0, FPU_OFF(st), 8);
    x_load(b, 1, t, RBP, src, 0, FPU_OFF(st) + 8, 8, false);
    x_store(b, t, RBP, dst, 0, FPU_OFF(st) + 8, 8);
}

/* Tags and TOP after the instruction: mark ST(mark) present (-1: none),
 * then push or pop. */
static void update_stack(struct xbuf *b, const struct xform *f, int mark, int t, int top)
{
    if (mark < 0 && !f->push && !f->pops)
        return;
    x_load(b, 0, t, RBP, NOREG, 0, FPU_OFF(tw), 2, false);
    if (mark >= 0)
        x_alu_ri(b, ALU_AND, 0, t, (int32_t)~(1u << mark) & 0xff);
    if (f->push) {
        x_shift_ri(b, SH_SHL, 0, t, 1);
        x_alu_ri(b, ALU_AND, 0, t, 0xfe);
    } else if (f->pops) {
        x_shift_ri(b, SH_SHR, 0, t, f->pops);
        x_alu_ri(b, ALU_OR, 0, t, f->pops == 1 ? 0x80 : 0xc0);
    }
    x_store(b, t, RBP, NOREG, 0, FPU_OFF(tw), 2);
    if (f->push || f->pops) {
        x_lea(b, 0, top, top, NOREG, 0, f->push ? 7 : f->pops);
        x_alu_ri(b, ALU_AND, 0, top, 7);
        x_store(b, top, RBP, NOREG, 0, FPU_OFF(top), 1);
    }
}

/* The last-instruction pointers, as fpu_note_reg/fpu_note_mem record them. */
static void note(struct be_ctx *x, const struct insn *i, const struct be_loc *ea, int t)
{
    struct xbuf *b = &x->buf;
    x_store_i(b, (int32_t)(x->b->eip + i->off), RBP, FPU_OFF(fip), 4);
    x_store_i(b, (int32_t)((i->b1 << 8 | i->modrm) & 0x7ff), RBP, FPU_OFF(fop), 2);
    x_load(b, 0, t, RBP, NOREG, 0, SEG_SEL_OFF(SEG_CS), 2, false);
    x_store(b, t, RBP, NOREG, 0, FPU_OFF(fcs), 2);
    if (!(i->pfx & P_MEM))
        return;
    if (ea->reg >= 0)
        x_store(b, ea->reg, RBP, NOREG, 0, FPU_OFF(fdp), 4);
    else
        x_store_i(b, (int32_t)ea->val, RBP, FPU_OFF(fdp), 4);
    x_load(b, 0, t, RBP, NOREG, 0, SEG_SEL_OFF(i->seg), 2, false);
    x_store(b, t, RBP, NOREG, 0, FPU_OFF(fds), 2);
}

void x64_emit_x87(struct be_ctx *x, const struct ir_op *op, const struct be_loc *in, const int *s, regset live)
{
    struct xbuf *b = &x->buf;
    const struct insn *i = &x->b->insn[op->c[0]];
    struct xform f = classify(i);
    unsigned colds[6];
    unsigned ncold = 0;
    if (f.kind == XK_CALL) {
        /* Out of line like a slow path, so the registers survive. */
        colds[ncold++] = x87_cold(x, x_jmp32(b), live);
        set_resume(x, colds, ncold);
        x->x87_ready = false;
        return;
    }
    bool mem = f.msize != 0;
    /* Scratch: for memory forms lin, ent, then top and one index; else
     * top and two indexes. */
    int lin = s[0], ent = s[1], top = mem ? s[2] : s[0], ia = mem ? s[3] : s[1], ib = mem ? s[3] : s[2];
    int t = mem ? s[0] : s[3];
    emit_mode_check(x, live, top, colds, &ncold);
    if (!x->x87_ready)
        emit_setup(x, top, ia);
    if (f.need || f.push) {
        x_load(b, 0, top, RBP, NOREG, 0, FPU_OFF(tw), 1, false);
        if (f.push)
            x_alu_ri(b, ALU_XOR, 0, top, 0x80);
        x_test_ri(b, 0, top, f.need | (f.push ? 0x80 : 0));
        colds[ncold++] = x87_cold(x, x_jcc32(b, CC_NE), live);
    }
    if (mem) {
        bool write = f.kind == XK_ST_M;
        x64_seg_check(x, &in[0], (int)op->c[1], f.msize, write, lin, ent);
        struct cold *c = x64_tlb_probe(x, COLD_X87, lin, ent, top, f.msize, write);
        c->live = live;
        colds[ncold++] = (unsigned)(c - x->cold);
    }
    x_load(b, 0, top, RBP, NOREG, 0, FPU_OFF(top), 1, false);
    int mark = -1;
    switch (f.kind) {
    case XK_ARITH:
        st_index(b, ib, top, f.b);
        fld80(b, ib);
        st_index(b, ia, top, f.a);
        fld80(b, ia);
        x87_rr(b, f.hop);
        fnstsw_tmp(b);
        fstp80(b, ia);
        fpop(b);
        break;
    case XK_COM:
        st_index(b, ib, top, f.b);
        fld80(b, ib);
        st_index(b, ia, top, f.a);
        fld80(b, ia);
        x87_rr(b, f.hop); /* fcompp/fucompp: the host's stack is empty again */
        fnstsw_tmp(b);
        break;
    case XK_TEST:
        st_index(b, ia, top, 0);
        fld80(b, ia);
        x87_rr(b, f.hop);
        fnstsw_tmp(b);
        fpop(b);
        break;
    case XK_ONE:
        st_index(b, ia, top, 0);
        fld80(b, ia);
        x87_rr(b, f.hop);
        fnstsw_tmp(b);
        fstp80(b, ia);
        break;
    case XK_TWO:
        st_index(b, ib, top, 1);
        fld80(b, ib);
        st_index(b, ia, top, 0);
        fld80(b, ia);
        x87_rr(b, f.hop);
        fnstsw_tmp(b);
        fstp80(b, ia);
        fpop(b);
        break;
    case XK_CONST:
        x87_rr(b, f.hop);
        fnstsw_tmp(b);
        st_index(b, ia, top, 7);
        fstp80(b, ia);
        break;
    case XK_LD_M:
        x87_m(b, i->b1, f.mreg, ent, lin, 0);
        fnstsw_tmp(b);
        st_index(b, ia, top, 7);
        fstp80(b, ia);
        break;
    case XK_ARITH_M:
    case XK_COM_M:
    case XK_ST_M:
        st_index(b, ia, top, 0);
        fld80(b, ia);
        x87_m(b, i->b1, f.mreg, ent, lin, 0); /* COM_M and ST_M use the popping form */
        fnstsw_tmp(b);
        if (f.kind == XK_ARITH_M)
            fstp80(b, ia);
        break;
    case XK_LD_STI:
        st_index(b, ia, top, 7);
        st_index(b, ib, top, f.b);
        copy_st(b, ia, ib, t);
        break;
    case XK_ST_STI:
        st_index(b, ia, top, f.a);
        st_index(b, ib, top, 0);
        copy_st(b, ia, ib, t);
        mark = f.a;
        break;
    case XK_XCH: /* TOP does not move: its register is the second temporary */
        st_index(b, ia, top, f.a);
        st_index(b, ib, top, 0);
        for (int32_t half = 0; half < 16; half += 8) {
            x_load(b, 1, t, RBP, ia, 0, FPU_OFF(st) + half, 8, false);
            x_load(b, 1, top, RBP, ib, 0, FPU_OFF(st) + half, 8, false);
            x_store(b, top, RBP, ia, 0, FPU_OFF(st) + half, 8);
            x_store(b, t, RBP, ib, 0, FPU_OFF(st) + half, 8);
        }
        break;
    default:
        break;
    }
    if (f.kind == XK_LD_STI || f.kind == XK_ST_STI || f.kind == XK_XCH) {
        /* Copies raise nothing and clear C1. */
        x_load(b, 0, t, RBP, NOREG, 0, FPU_OFF(sw), 2, false);
        x_alu_ri(b, ALU_AND, 0, t, (int32_t)(uint16_t)~SW_C1);
        x_store(b, t, RBP, NOREG, 0, FPU_OFF(sw), 2);
    } else {
        merge_status(b, &f, t, ia);
    }
    update_stack(b, &f, mark, t, top);
    note(x, i, &in[0], t);
    set_resume(x, colds, ncold);
}

/* The handler, out of line: from a failed check, or for a form not done
 * inline. The guest state is synced first, as for any call that may
 * fault; the registers still live are preserved. */
void x64_emit_cold_x87(struct be_ctx *x, const struct cold *c)
{
    struct xbuf *b = &x->buf;
    const struct insn *i = &x->b->insn[c->insn];
    regset keep = c->live & X64_CLOBBERED;
    x64_save_regs(b, keep, false);
    x64_emit_defers(x, c);
    x64_set_cur(x, c->insn); /* leaves &insn in R11 */
    x_mov_rr(b, 1, RSI, R11);
    x_mov_rr(b, 1, RDI, RBP);
    x_call_abs(b, (const void *)i->fn);
    x64_save_regs(b, keep, true);
    x_jmp_to(b, c->resume);
}
