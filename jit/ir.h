/*
 * The JIT's intermediate representation: a list of typed operations on
 * temporaries, modelled on QEMU's TCG ops (jit/ir_ops.def lists them, the
 * semantics are in jit/README.md). Nothing here knows the host.
 *
 * Shape of a translated block
 * - Ops form one straight main path. Control leaves it only through side
 *   exits (BRCOND to a label) and ends with an exit op (IRF_EXIT). Every
 *   label is placed after the main path's final exit and is followed only
 *   by exit code (GOTO/EXIT/RAISE) that uses no temporaries. So the main
 *   path is one extended basic block: the passes and the register allocator
 *   are single forward/backward scans, with no merges.
 * - Temporaries are single-assignment: each is written by at most one op.
 *   Constants are temporaries too (is_const), so every operand is a temp.
 * - Guest registers and the two lazy-flag words are "globals" that live in
 *   struct cpu. The frontend reads them with LDG and writes them with STG
 *   explicitly; the optimiser forwards values and removes stores that a
 *   later store makes dead before anything could observe them.
 */
#ifndef KESTREL_JIT_IR_H
#define KESTREL_JIT_IR_H

#include <stdbool.h>
#include <stdint.h>

enum ir_type { IR_I32, IR_I64 };

enum ir_opc {
#define IROP(name, nout, nin, flags) IR_##name,
#include "jit/ir_ops.def"
#undef IROP
    IR_NOPC
};

#define IRF_PURE 0x01
#define IRF_SIDE 0x02
#define IRF_SYNC 0x04
#define IRF_CALL 0x08
#define IRF_EXIT 0x10
#define IRF_CLOBG 0x20
#define IRF_SOFT 0x40

struct ir_opdef {
    const char *name;
    uint8_t nout, nin;
    uint8_t flags;
};
extern const struct ir_opdef ir_opdefs[IR_NOPC];

/* Conditions (unsigned and signed orders, TCG's set). */
enum ir_cond {
    IR_EQ, IR_NE, IR_LT, IR_GE, IR_LE, IR_GT, IR_LTU, IR_GEU, IR_LEU, IR_GTU, IR_TSTEQ, IR_TSTNE, IR_NCOND
};
/* The condition that holds exactly when `c` does not. */
enum ir_cond ir_cond_invert(enum ir_cond c);
/* Evaluate a condition on two values of a type (for folding). */
bool ir_cond_eval(enum ir_cond c, enum ir_type t, uint64_t a, uint64_t b);

typedef uint16_t ir_temp;
#define IR_NOTEMP 0xffff

/* Globals: guest state the frontend names directly. G_FLAGS stands for
 * the pair lf_res/lf_aux as written by a FLAGS op (deferred stores). */
enum ir_global { G_EAX, G_ECX, G_EDX, G_EBX, G_ESP, G_EBP, G_ESI, G_EDI, G_LFRES, G_LFAUX, G_NGLOBALS,
                 G_FLAGS = G_NGLOBALS };

/* FLAGS kinds: how lf_res and lf_aux (cpu/flags.h) follow from the inputs.
 *   ARITH   in0 = a, in1 = b (i32, zero-extended from c1 bits), in2 = the
 *           i64 result of the operation on them (carry-in included):
 *           lf_res = result sign-extended from c1 bits, lf_aux from the
 *           carry vector a ^ b ^ result
 *   ADD, SUB  as ARITH without in2: the result is a + b, a - b (i64,
 *           of the zero-extended operands), computed where stored
 *   INCDEC  as ARITH, and in3 = the CF to keep (i32 0/1)
 *   LOGIC   in2 = the i32 result: lf_res = it sign-extended, lf_aux = 0
 *   WORDS   in0 = lf_res, in1 = lf_aux, both i64, given
 *   SHL, SHR, SAR  in0 = the source, in1 = the count (a constant, 1..31),
 *           in2 = the result (i32s): the flags of cpu/ops/shift.c (CF the
 *           last bit out, OF of the first step, AF 0)
 *   COMI    in0 = an i32 with EFLAGS' ZF, PF and CF in their places, the
 *           others clear (FCOMI): the words lf_set() would make of it */
enum ir_flk { FLK_ARITH, FLK_INCDEC, FLK_LOGIC, FLK_WORDS, FLK_SHL, FLK_SHR, FLK_SAR, FLK_COMI, FLK_ADD, FLK_SUB };
/* A kind with this bit (loop translations, carry.c): the flags of the
 * previous iteration, stored only once the block's back edge has been
 * taken since it was entered. */
#define FLK_CARRIED 0x80

/* A store of guest state an op must do on its slow path (IRF_SOFT):
 * global g = v[0], or for G_FLAGS the FLAGS op's kind, bits and inputs. */
struct ir_defer {
    uint8_t g;
    uint8_t kind, bits;
    ir_temp v[4];
};

/* QLD/QST flags (c2). */
#define IRM_SIGN 0x1  /* QLD: sign-extend the loaded value to 32 bits */
#define IRM_WCHK 0x2  /* QLD: check for writing (the load of a read-modify-write) */
#define IRM_STRIDE 0x4 /* QLD/QST in a loop's body: on the same page for many iterations (probe.c, ir_strides) */
/* PROBE's cond: bit 0 write, bits 1-2 the index's scale, and this: */
#define IRP_STRIDE 0x8 /* in a loop's body: on the same page for many iterations (probe.c, ir_strides) */


struct ir_tempinfo {
    uint8_t type;     /* enum ir_type */
    uint8_t is_const;
    int64_t val;      /* constant value (sign-extended from its type's width) */
};

struct ir_op {
    uint8_t opc;      /* enum ir_opc */
    uint8_t type;     /* enum ir_type: operation width */
    uint8_t cond;     /* enum ir_cond for SETCOND/MOVCOND/BRCOND */
    uint8_t pad;
    uint16_t insn;    /* index of the guest instruction it belongs to */
    ir_temp out;      /* output temp or IR_NOTEMP */
    ir_temp in[4];    /* inputs */
    uint16_t dfirst, dcount; /* IRF_SOFT ops: deferred stores ir_block.defers[dfirst..+dcount) */
    int64_t c[3];     /* constant arguments (see ir_ops.def) */
};

struct ir_block {
    struct ir_op *ops;
    unsigned nops, ops_cap;
    struct ir_tempinfo *temps;
    unsigned ntemps, temps_cap;
    unsigned nlabels;
    struct ir_defer *defers;
    unsigned ndefers, defers_cap;
    uint16_t cur_insn; /* stamped on each op emitted (ir_op.insn) */
    bool oom;         /* an allocation failed: the block is not translated */
    int32_t back;     /* a loop translation: the BRCOND back to the block's start; -1 none */
    uint16_t carried; /* the globals (bits, G_FLAGS included) carried round it in host registers (carry.c) */
};

void ir_init(struct ir_block *b);
void ir_free(struct ir_block *b);
void ir_reset(struct ir_block *b);

/* New temps. */
ir_temp ir_new(struct ir_block *b, enum ir_type t);
ir_temp ir_const(struct ir_block *b, enum ir_type t, int64_t v);
static inline bool ir_is_const(const struct ir_block *b, ir_temp t) { return b->temps[t].is_const; }
static inline int64_t ir_val(const struct ir_block *b, ir_temp t) { return b->temps[t].val; }
static inline enum ir_type ir_type_of(const struct ir_block *b, ir_temp t) { return (enum ir_type)b->temps[t].type; }

/* Append an op (returns it for filling constant arguments). */
struct ir_op *ir_emit(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp out, ir_temp in0, ir_temp in1);

/* Builders returning the new output temp. */
ir_temp ir_op1(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp a);
ir_temp ir_op2(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp a, ir_temp x);
ir_temp ir_op2i(struct ir_block *b, enum ir_opc opc, enum ir_type t, ir_temp a, int64_t imm);
ir_temp ir_setcond(struct ir_block *b, enum ir_type t, enum ir_cond c, ir_temp a, ir_temp x);
ir_temp ir_movcond(struct ir_block *b, enum ir_type t, enum ir_cond c, ir_temp a, ir_temp x, ir_temp vt, ir_temp vf);
ir_temp ir_deposit(struct ir_block *b, ir_temp base, ir_temp v, int pos, int len);
ir_temp ir_extract(struct ir_block *b, ir_temp v, int pos, int len, bool sign);
ir_temp ir_ldg(struct ir_block *b, enum ir_global g);
void ir_stg(struct ir_block *b, enum ir_global g, ir_temp v);
ir_temp ir_ld(struct ir_block *b, enum ir_type t, int offset, int size, bool sign);
void ir_st(struct ir_block *b, ir_temp v, int offset, int size);
unsigned ir_new_label(struct ir_block *b);
void ir_brcond(struct ir_block *b, enum ir_type t, enum ir_cond c, ir_temp a, ir_temp x, unsigned label);
void ir_label(struct ir_block *b, unsigned label);

/* Loops (carry.c). The GOTO a label leads to (only exits follow a label),
 * or NULL for another exit. */
const struct ir_op *ir_label_goto(const struct ir_block *b, int64_t label);
/* The main path's BRCOND whose label leads straight to
 * a GOTO to `eip`, or -1. */
int ir_back_edge(const struct ir_block *b, uint32_t eip);
/* Rewrite a loop translation (b->back set) to carry the guest registers
 * the loop writes, and the inputs of its last FLAGS op, round the back
 * edge in host registers, if it writes some registers (sets b->carried,
 * moves b->back). */
bool ir_carry(struct ir_block *b);
/* carry.c, after the optimiser: carried flag inputs that are carried
 * guest registers' values share their head temps. */
void ir_carry_share(struct ir_block *b);
/* probe.c: accesses at constant distances from one value share one
 * soft-TLB probe (PROBE), for block b (its instructions) of mode word
 * `mode`. Returns the groups made (PROBE ops), *members their accesses. */
struct block;
unsigned ir_probes(struct ir_block *ir, const struct block *b, uint32_t mode, unsigned *members);
/* probe.c: marks a loop translation's accesses through a register that
 * moves by a few bytes an iteration IRM_STRIDE, in a body that calls
 * nothing (segments flat in `mode`). Returns how many. */
unsigned ir_strides(struct ir_block *ir, uint32_t mode);

/* Type of a global. */
static inline enum ir_type ir_global_type(enum ir_global g) { return g >= G_LFRES ? IR_I64 : IR_I32; }

/* Append a deferred store; returns its index (ir_block.oom on failure). */
unsigned ir_add_defer(struct ir_block *b, const struct ir_defer *d);

/* Print the ops (for --log ir / ir_opt) through `out`, one line each. */
void ir_print(const struct ir_block *b, void (*out)(void *ctx, const char *line), void *ctx);

#endif
