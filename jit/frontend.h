/*
 * Frontend internals: the state of lowering one decoded block to IR, and
 * the helpers the per-family files (fe_*.c) share to read and write guest
 * operands, compute effective addresses, record lazy flags and leave the
 * block.
 *
 * Rules every lowering keeps (precise exceptions):
 * - all memory accesses of an instruction come before its first guest
 *   register or flag store (STG), so a fault finds struct cpu exactly as it
 *   was before the instruction;
 * - an instruction that stores to memory ends with a CHKSTOP (the store may
 *   have hit code, possibly this block's own: cpu_stop() was called);
 * - a lowering returns false without emitting anything when it does not
 *   handle a form, and the instruction becomes an interpreter call.
 */
#ifndef KESTREL_JIT_FRONTEND_H
#define KESTREL_JIT_FRONTEND_H

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "jit/jit_int.h"

/* The flags as the last flag-setting operation of the block left them:
 * its operands, from which any flag is computed on demand (Jcc/SETcc/
 * CMOVcc fusion, ADC's carry-in, ...), and which become a FLAGS op when the
 * instruction commits. FL_NONE: the flags are in struct cpu. */
enum fl_kind { FL_NONE, FL_ADD, FL_SUB, FL_LOGIC, FL_INCDEC, FL_OTHER, FL_WORDS, FL_SHIFT, FL_COMI };

struct fe_flags {
    uint8_t kind;      /* enum fl_kind; FL_OTHER: ADC/SBB-like arithmetic */
    uint8_t size;      /* operand bits: 8, 16, 32 */
    uint8_t shift;     /* FL_SHIFT: FLK_SHL, FLK_SHR or FLK_SAR; b is the constant count */
    ir_temp a, b;      /* operands (i32, zero-extended to size) */
    ir_temp r64;       /* arithmetic: the i64 result on the zero-extended operands */
    ir_temp r;         /* the result (i32, meaningful in its low `size` bits) */
    ir_temp cf;        /* FL_INCDEC: the CF kept (i32 0/1) */
    ir_temp res, aux;  /* lf_res / lf_aux (i64) once computed (FL_WORDS: given) */
};

struct fe {
    struct jit *j;
    struct ir_block *ir;
    const struct block *b;
    const struct insn *i;  /* instruction being lowered */
    unsigned k, n;         /* its index; instructions to translate */
    uint32_t eip, next;    /* its EIP and the next instruction's */
    bool cs32, ss32;
    uint32_t live_after;   /* arithmetic flags (F_*) read after it before being rewritten */
    bool wrote_mem;        /* it stored to memory: CHKSTOP after it */
    bool fl_dirty;         /* fl.res/fl.aux are to be stored when the instruction commits */
    bool ended;            /* it ended the block (an exit was emitted) */
    struct fe_flags fl;
};

/* Is the register form of this instruction lowered natively (so it
 * cannot fault or reach the interpreter)? */
bool fe_reg_form_lowered(const struct insn *i);

/* Per-family lowerings (true: handled). */
bool fe_alu(struct fe *f);
bool fe_mov(struct fe *f);
bool fe_ctl(struct fe *f);
bool fe_x87(struct fe *f);
bool fe_bits(struct fe *f);

/* ---- Helpers (frontend.c) ---- */
static inline int osize(const struct fe *f) { return (f->i->pfx & P_OSIZE32) ? 32 : 16; }
/* Operand size in bits of the row's first operand kind: 8 for byte forms. */
int fe_opsize(const struct fe *f, int opnd);

ir_temp fe_const(struct fe *f, uint32_t v);
/* A guest register as an i32 zero-extended from `bits` (byte registers by
 * their decoded byte offset). */
ir_temp fe_get_reg(struct fe *f, int reg, int bits);
void fe_set_reg(struct fe *f, int reg, int bits, ir_temp v);
/* Effective address of the memory operand. */
ir_temp fe_ea(struct fe *f);
ir_temp fe_load(struct fe *f, int seg, ir_temp ea, int bits, int flags);
void fe_store(struct fe *f, int seg, ir_temp ea, int bits, ir_temp v);
/* r/m operand (register or memory at ea) of `bits`. */
ir_temp fe_get_rm(struct fe *f, int bits, ir_temp *ea, int flags);
void fe_set_rm(struct fe *f, int bits, ir_temp ea, ir_temp v);

/* Lazy flags. These record the new flags; the FLAGS op that stores them
 * is emitted when the instruction commits (after its memory accesses). */
void fe_flags_arith(struct fe *f, enum fl_kind kind, int bits, ir_temp a, ir_temp b, ir_temp r64);
/* The current lf_res / lf_aux values (i64) and CF (i32 0/1). */
ir_temp fe_fl_res(struct fe *f);
ir_temp fe_fl_aux(struct fe *f);
ir_temp fe_fl_cf(struct fe *f);
void fe_flags_logic(struct fe *f, int bits, ir_temp r);
void fe_flags_set(struct fe *f, int bits, ir_temp r, ir_temp aux);
/* SHL/SHR/SAR of v (zero-extended from bits) by the constant n (1..31). */
void fe_flags_shift(struct fe *f, int kind, int bits, ir_temp v, unsigned n, ir_temp r);
/* FCOMI's: w an i32 with EFLAGS' ZF, PF and CF in their places. */
void fe_flags_comi(struct fe *f, ir_temp w);
/* Both words given (res already sign-extended to 64 bits). */
void fe_flags_words(struct fe *f, ir_temp res, ir_temp aux);
/* Store the flags computed by this instruction (the driver does it after
 * each instruction; a lowering that exits must do it before the exit). */
void fe_commit_flags(struct fe *f);
bool fe_flags_live(const struct fe *f, uint32_t mask);
/* The condition cc (0..15, Jcc order) as an i32 0/1, fused with the last
 * flag producer when possible. */
ir_temp fe_cond(struct fe *f, int cc);
/* cc ? vt : vf */
ir_temp fe_cond_select(struct fe *f, int cc, ir_temp vt, ir_temp vf);
/* Branch to label when cc holds. */
void fe_brcond_cc(struct fe *f, int cc, unsigned label);

/* Exits. */
void fe_goto(struct fe *f, uint32_t eip);
/* A CALL's exit, to target: it returns to the next instruction. */
void fe_call(struct fe *f, uint32_t target);
/* To the EIP in `eip`: a CALL's (call), a RET's (ret) or a jump's. */
void fe_goto_ind(struct fe *f, ir_temp eip, bool call, bool ret);
/* Code placed after the main path at `label`: raise an exception, or a
 * direct exit (after the current instruction). */
void fe_raise(struct fe *f, int vector, int errcode, unsigned label);
void fe_side_goto(struct fe *f, uint32_t eip, unsigned label);
/* Stack. */
ir_temp fe_get_sp(struct fe *f);
void fe_set_sp(struct fe *f, ir_temp sp);
ir_temp fe_sp_add(struct fe *f, ir_temp sp, int32_t delta);

#endif
