/*
 * Internals shared by the x86-64 backend's files: the translation context
 * (code buffer, labels, cold stubs waiting to be emitted), the register
 * conventions and the frame layout.
 *
 * Conventions
 * - RBP holds the struct cpu pointer for the whole of translated code.
 * - R11 is the backend's own scratch register, never allocated.
 * - R15 (X64_ICOUNT) holds cpu->icount, from the prologue to the
 *   epilogue, across chained blocks: exits add to it, chained entries and
 *   loop back edges compare it with cpu->exec_end, without a store and a
 *   load of memory per block. struct cpu's copy is stale meanwhile; it is
 *   written before every call out of translated code (x64_call_c: a
 *   helper may read the clock, or fault and unwind to cpu_exec(), which
 *   counts from it) and by the epilogue. Callee-saved: calls keep it.
 * - The frame holds the spill slots and a save area where slow paths park
 *   the call-clobbered registers they must preserve. It is not on the host
 *   stack but in struct cpu (cpu->accel_frame), addressed from RBP
 *   (X64_FP, X64_FO): the host stack below the prologue's pushes is the
 *   return stack of ret.c, which moves RSP by 16 bytes per guest CALL.
 *   RSP stays 16-byte aligned, so calls need no adjustment.
 * - Cold code (slow paths, fault and exit stubs) goes after the block's
 *   main code, so the hot path falls through without taken branches.
 */
#ifndef KESTREL_JIT_X64_X64_H
#define KESTREL_JIT_X64_X64_H

#include "cpu/cpu.h"
#include "jit/jit_int.h"
#include "jit/x64/emit.h"

#define X64_NSLOTS 48
#define X64_SAVE_OFF (X64_NSLOTS * 8)
/* The frame: [X64_FP + X64_FO(off)] is its byte `off`. */
#define X64_FP RBP
#define X64_FO(off) ((int32_t)offsetof(struct cpu, accel_frame) + (int32_t)(off))
#define X64_ENTRY_SIZE 16                     /* the per-block entry thunk, padded */

#define X64_ALLOCATABLE                                                                                                \
    (REGBIT(RAX) | REGBIT(RCX) | REGBIT(RDX) | REGBIT(RBX) | REGBIT(RSI) | REGBIT(RDI) | REGBIT(R8) | REGBIT(R9) |      \
     REGBIT(R10) | REGBIT(R12) | REGBIT(R13) | REGBIT(R14))
#define X64_ICOUNT R15
#define X64_CLOBBERED                                                                                                  \
    (REGBIT(RAX) | REGBIT(RCX) | REGBIT(RDX) | REGBIT(RSI) | REGBIT(RDI) | REGBIT(R8) | REGBIT(R9) | REGBIT(R10))

enum cold_kind {
    COLD_LD, COLD_ST, COLD_SEGFAULT, COLD_EXIT, COLD_CHAIN, COLD_ENTRY_EXIT, COLD_X87, COLD_BRANCH,
    COLD_X87_CROSS, COLD_X87_CROSS_ST, /* x87_cross.c: an operand across two pages, through X64_BOUNCE */
    COLD_LOOP_DECLINE,                 /* loop.c: a loop's head found other x87 state */
    COLD_CANON,                        /* a raw lf_aux word loaded (cpu/flags.h): convert it */
    COLD_PROBE,                        /* memop.c: a PROBE that cannot promise its range: base 0 */
    COLD_GROUP,                        /* memop.c: an access whose probe group has base 0 probes itself */
    COLD_PCPROBE,                      /* memop.c: a PROBE's probe cache slot missed: the probe, filling it */
};

/*
 * The x87 register cache of x87.c, as known at translation time: host
 * x87 register st(h), h < n, holds the guest's ST(v[h]) (relative to the
 * guest's TOP), newer than struct cpu when bit h of `dirty` is set. The
 * guest's TOP is the one in struct cpu plus `delta`; `empty` marks the
 * ST(i) known empty (popped here while struct cpu still says otherwise).
 * Bit h of `ghost`: st(h) is a popped register's value that struct cpu
 * still needs (an empty register keeps its contents); v[h] is then its
 * physical slot relative to struct cpu's TOP, and it is always dirty.
 * `c1`: where the guest's C1 now is (X87_C1_*: struct cpu, the frame's
 * TMP1, zero, or the host's status word itself); `host_ops`: a host
 * instruction may have raised exception flags not yet in the guest's SW;
 * `note`: 1 + the block's instruction whose FIP, FCS and FOP are still to
 * be stored (0: none); `dnote`: the same for FDS (FDP is stored at once:
 * the address is at hand only then; no segment register changes inside
 * a block without the cache written back first).
 */
enum { X87_C1_MEM, X87_C1_HOST, X87_C1_ZERO, X87_C1_LIVE };
struct x87_model {
    uint8_t n;
    int8_t v[8];
    uint8_t dirty, ghost, delta, empty, c1;
    bool host_ops;
    uint16_t note, dnote;
};

struct cold {
    uint8_t kind;      /* enum cold_kind */
    uint8_t *site;     /* rel32 field of the branch that goes here */
    uint8_t *resume;   /* where the main path continues (slow paths) */
    uint16_t insn;     /* guest instruction (for cpu->cur) */
    int8_t lin, out, val; /* registers: linear address, load result, store value (-1: constant) */
    int8_t aux;        /* COLD_X87_CROSS*: a fourth scratch register; COLD_GROUP: the tag's */
    uint8_t size, flags, seg;
    bool flat;         /* COLD_LD/ST: seg is flat, its limit check left to x64_emit_wrap_check */
    int64_t imm;       /* store value when constant; exit EIP */
    int64_t ninsns;    /* exits: instructions completed */
    regset live;       /* registers to preserve across the slow call */
    int exit;          /* COLD_CHAIN: exit index; COLD_BRANCH: the label; COLD_GROUP: the access's
                        * slow path record (`out`: the probe's entry register) */
    int stop;          /* COLD_ST: the COLD_EXIT record its instruction's cpu_stop() check takes, or -1 */
    unsigned dfirst, dcount; /* deferred stores to do first (be_ctx.dpool) */
    struct x87_model x87; /* COLD_X87: the cache to write back first */
};

/* A deferred store with the locations of its values (be_set_defers). */
struct cold_defer {
    struct ir_defer d;
    struct be_loc loc[4];
};

struct label_ref {
    uint8_t *site;
    unsigned label;
};

struct be_ctx {
    struct jit *j;
    struct jit_tb *tb;
    const struct block *b;
    struct xbuf buf;
    uint8_t *start;
    uint8_t *data_end;     /* the lowest byte of data (ic.c's tables) above the code */
    unsigned insn;         /* current guest instruction */
    struct cold *cold;
    unsigned ncold, cold_cap;
    struct label_ref *lref;
    unsigned nlref, lref_cap;
    uint8_t **label;
    unsigned label_cap;
    struct cold_defer *dpool;
    unsigned ndpool, dpool_cap;
    unsigned cur_dfirst, cur_dcount; /* the current op's deferred stores */
    bool failed;
    bool blk_set;          /* the main path has set cpu->blk already */
    unsigned st_n;         /* QSTs in the current guest instruction so far */
    int st_cold;           /* the COLD_ST record of its last one (-1: none) */
    bool x87_checked;      /* X64_X87OK tested since the last handler call (x87.c) */
    int pc_n, pc_next;     /* probe cache slots the loop's body uses, and the next to hand out (memop.c) */
    uint8_t *zf_at;        /* where the last ALU op on a register ended (emit_alu): while */
    int zf_reg, zf_w;      /* nothing follows it, the host's ZF says whether that is 0 */
    struct x87_model x87;  /* the x87 register cache at this point of the main path */
    struct cold spare;     /* what x64_add_cold hands out when out of memory */
    uint8_t *exit_at[JIT_MAX_EXITS]; /* where a plain chained exit's code starts (NULL: a CALL's) */
    int64_t exit_n[JIT_MAX_EXITS];   /* and the instructions it counts */
    struct x64_loop {      /* loop.c: a loop translation (ir_block.back) */
        uint8_t state;     /* enum loop_state: translating a block again to carry the x87 cache */
        bool found, matched;
        struct x87_model m0; /* the cache at the head */
        uint8_t *head;     /* where the back edge jumps (the body, past the preload and LOOPHEAD) */
        uint8_t *resume;   /* where the x87 entry goes on (right after the preload), or NULL */
        uint16_t carried;  /* the globals carried (ir_block.carried), once LOOPHEAD is seen */
        int8_t reg[8];     /* the guest registers' host registers at LOOPHEAD */
        uint8_t fkind, fbits; /* the carried flags: their FLAGS kind and width, */
        struct be_loc fin[4]; /* their inputs at LOOPHEAD (registers, constants) */
        bool fw64[4];      /* and which of them are i64 */
        bool flags_read;   /* something stores them (FLK_CARRIED): X64_LOOPFLAGS is kept */
    } lp;
};

/* Two words of the frame the backend uses as scratch memory: the save
 * area's slots of RSP and RBP, which are never saved there. */
#define X64_TMP0 (X64_SAVE_OFF + 8 * RSP)
#define X64_TMP1 (X64_SAVE_OFF + 8 * RBP)
/* The frame's last word: the host's x87 control word, saved by the common
 * prologue and restored by the epilogue (x87.c changes it). */
#define X64_HOSTCW (X64_SAVE_OFF + 16 * 8)
/* The save area's RBX slot (callee-saved: never parked there), a dword:
 * nonzero when the guest's x87 mode lets x87.c run instructions on the
 * host's x87, which is then set up for it (x64_emit_x87_setup). */
#define X64_X87OK (X64_SAVE_OFF + 8 * RBX)
/* 16 bytes of the save area, the slots of R12 and R13 (callee-saved:
 * never parked there): an x87 memory operand that spans two pages is
 * read or written there by the host instruction, and x64_x87_sync keeps
 * struct cpu's TOP, tags and status word there across a call (x87.c;
 * never both at once). */
#define X64_BOUNCE (X64_SAVE_OFF + 8 * R12)
/* The save area's R14 slot (callee-saved: never parked there): a loop
 * translation's back edge has been taken since the block was entered,
 * so that the carried flags are the previous iteration's (FLK_CARRIED,
 * loop.c), while X64_ICOUNT differs from it. LOOPHEAD stores X64_ICOUNT
 * there, which only the back edge and the exits change in a block: no
 * store an iteration (a back edge that leaves the flags in struct cpu
 * stores its new X64_ICOUNT). */
#define X64_LOOPFLAGS (X64_SAVE_OFF + 8 * R14)
/* After X64_HOSTCW: 108 bytes for an FNSAVE image (x64_x87_sync). */
#define X64_FSAVE (X64_SAVE_OFF + 16 * 8 + 8)
/* RSP at the bottom of the return stack (ret.c), set by the prologue;
 * the epilogue unwinds from it. */
#define X64_RSPBASE (X64_FSAVE + 112)
/* The lowest RSP a guest CALL may push from (ret.c). */
#define X64_RSPLIMIT (X64_RSPBASE + 8)
/* The probe cache of a loop translation (memop.c): X64_PCACHE_N pairs
 * (page, TLB addend) of 8-byte words. */
#define X64_PCACHE (X64_RSPLIMIT + 8)
#define X64_PCACHE_N 4
#define X64_FRAME (X64_PCACHE + 16 * X64_PCACHE_N)
_Static_assert(X64_FRAME <= sizeof(((struct cpu *)0)->accel_frame), "the frame fits cpu->accel_frame");

/* Call C function fn from translated code, struct cpu's icount brought
 * up to date first (X64_ICOUNT). */
static inline void x64_call_c(struct xbuf *b, const void *fn)
{
    x_store(b, X64_ICOUNT, RBP, NOREG, 0, (int32_t)offsetof(struct cpu, icount), 8);
    x_call_abs(b, fn);
}

/* Offsets into struct cpu, checked against the types in backend.c. */
int x64_global_off(int g);

/* memop.c: a PROBE op (probe.c). */
void x64_emit_probe(struct be_ctx *x, const struct ir_op *op, int out, const struct be_loc *in, const int *s);
/* An access's host page base into `ent`: its probe group's (`base`, when
 * in a register and not 0), else its own probe's, out of line; a miss
 * takes the returned cold record of kind `kind` (its resume and fields
 * are the caller's to set). `tag` is clobbered. */
struct cold *x64_host_base(struct be_ctx *x, enum cold_kind kind, const struct be_loc *base, int lin, int ent,
                           int tag, int size, bool write);

/* ret.c: the return stack (see there). */
bool x64_ret_stack_on(const struct jit *j);
void x64_ret_stack_bottom(struct jit *j, struct xbuf *b);
void x64_ret_stack_setup(struct jit *j, struct xbuf *b);
void x64_ret_stack_unwind(struct xbuf *b);
void x64_emit_call_push(struct be_ctx *x, uint32_t ret_eip);
void x64_emit_ret(struct be_ctx *x);

/* common.c: the jump-cache dispatch on EIP in EAX (see there). */
void x64_emit_dispatch(struct jit *j, struct xbuf *b, const struct block *from, int fill);

/* ic.c: inline caches at exits (see there). An exit's table of 2^bits
 * entries, EAX = the EIP (bits 0: the exit's constant one); never falls
 * through. A table's kind: its size and whether it is keyed by jmp_gen
 * (an exit in a global page: global targets only) or lin_gen. */
#define X64_IC_MAX_BITS 4
#define X64_IC_KINDS (2 * (X64_IC_MAX_BITS + 1))
static inline int x64_ic_kind(int bits, bool global) { return (global ? X64_IC_MAX_BITS + 1 : 0) + bits; }
bool x64_ic_on(const struct jit *j);
void x64_emit_ic(struct be_ctx *x, int bits);
void x64_ic_miss_routine(struct jit *j, struct xbuf *b, int kind);
void x64_ic_fill(struct xbuf *b, int kind);

/* memop.c */
void x64_emit_qld(struct be_ctx *x, const struct ir_op *op, int out, const struct be_loc *in, const int *s, regset live);
/* Returns its slow path's cold record. */
struct cold *x64_emit_qst(struct be_ctx *x, const struct ir_op *op, const struct be_loc *in, const int *s,
                          regset live);
void x64_emit_cold_mem(struct be_ctx *x, const struct cold *c);
void x64_emit_cold_group(struct be_ctx *x, const struct cold *c);
void x64_emit_cold_pcprobe(struct be_ctx *x, const struct cold *c);
/* Segment check of `size` bytes at ea, linear address into `lin`. */
void x64_seg_check(struct be_ctx *x, const struct be_loc *ea, int seg, int size, bool write, int lin, int tmp);
/* The block's mode word says segment `seg` is flat (MODE_FLAT). */
bool x64_seg_flat(const struct be_ctx *x, int seg);
void x64_emit_wrap_check(struct be_ctx *x, const struct cold *c, int lin);
/* Soft-TLB probe of lin: host address = ent + lin, or a jump to the
 * returned cold stub of `kind`. */
int32_t x64_tlb_base(const struct be_ctx *x);
struct cold *x64_tlb_probe(struct be_ctx *x, enum cold_kind kind, int lin, int ent, int tag, int size, bool write);
/* The probe cache (memop.c): at LOOPHEAD, the slots the body of `ir`
 * uses are counted and emptied; its accesses' slow paths empty them. */
void x64_pcache_head(struct be_ctx *x, const struct ir_block *ir);
void x64_pcache_empty(struct be_ctx *x);
/* Park (restore) the registers of `s` in the frame's save area. */
void x64_save_regs(struct xbuf *b, regset s, bool restore);

/* x87.c */
void x64_emit_x87(struct be_ctx *x, const struct ir_op *op, int out, const struct be_loc *in, const int *s, regset live);
void x64_emit_cold_x87(struct be_ctx *x, const struct cold *c);
/* x87_cross.c: the stubs of an operand across two pages */
void x64_emit_cold_x87_cross(struct be_ctx *x, const struct cold *c, struct cold *handler);
void x64_emit_cold_x87_cross_st(struct be_ctx *x, const struct cold *c);

/* x87_cache.c: the register cache at a block's edges */
/* Before any op that is not one of the x87 cache's neighbours
 * (x64_x87_keeps_cache): write the cache back and empty the host's x87
 * stack. Uses R11 only. */
void x64_x87_flush(struct be_ctx *x);
bool x64_x87_cached(const struct be_ctx *x);
bool x64_x87_model_empty(const struct x87_model *m);
void x64_x87_sync(struct be_ctx *x, const struct x87_model *m);
void x64_x87_unsync(struct be_ctx *x);
void x64_x87_writeback(struct be_ctx *x, const struct x87_model *m);
bool x64_x87_keeps_cache(int opc);

/* x87.c: check the guest's x87 mode and set the host's x87 up for it, into
 * X64_X87OK: at native entry and after handlers that may change that
 * mode (backend.c, x87.c). R11 only. */
void x64_emit_x87_setup(struct xbuf *b);
/* Leave the block for the run loop at `eip` with `ninsns` instructions done. */
void x64_emit_exit(struct be_ctx *x, uint32_t eip, int64_t ninsns);

/* x87_cache.c: a direct exit that may carry the cache into a loop
 * translation's x87 entry ("Chained exits"): its patch sites, in
 * struct jit_exit's terms (cx_*), and what it carries (be_carry_match). */
struct x87_carry {
    uint8_t *site, *path, *jump, *stub;
    uint32_t key;
};
struct x87_model x64_x87_carry_head(struct be_ctx *x, const struct x87_model *m);
void x64_x87_carry_tail(struct be_ctx *x, const struct x87_model *mm, int64_t ninsns, struct x87_carry *cy);
/* The key of a loop translation's x87 entry, which starts from m0. */
uint32_t x64_x87_entry_key(const struct x87_model *m0);

/* x87_cache.c: the cache around a loop (loop.c) */
bool x64_x87_loop_model(const struct x87_model *m, struct x87_model *m0);
uint8_t *x64_x87_preload(struct be_ctx *x, const struct x87_model *m0, int t, int u, uint8_t **fail);
bool x64_x87_loop_match(const struct x87_model *m, const struct x87_model *m0);
void x64_x87_normalize(struct be_ctx *x, const struct x87_model *m, const struct x87_model *m0);

/* loop.c */
void x64_loop_begin(struct be_ctx *x, bool again);
void x64_loop_head(struct be_ctx *x);
void x64_loop_carry_head(struct be_ctx *x, const struct ir_block *ir);
bool x64_loop_back_edge(struct be_ctx *x, const struct ir_block *ir, const struct ir_op *op, uint8_t *site);
void x64_emit_loop_decline(struct be_ctx *x);
/* With the cold code: a loop translation's x87 entry (jit_tb.cx_entry). */
void x64_loop_x87_entry(struct be_ctx *x);

/* backend.c */
/* dst = l: a register, a spill slot or a constant (w64: all 64 bits,
 * else the low 32 zero-extended). */
void x64_ld_loc(struct be_ctx *x, int dst, const struct be_loc *l, bool w64);
void x64_store_eip(struct be_ctx *x, uint32_t eip);
void x64_emit_exit_common(struct be_ctx *x, int64_t ninsns);
struct cold *x64_add_cold(struct be_ctx *x, enum cold_kind kind, uint8_t *site);
void x64_set_cur(struct be_ctx *x, unsigned insn);
/* A chained entry's check that a block crossing a page may still run
 * (backend.h): the jumps taken when it may not, into fail[]; their count. */
int x64_emit_page_check(struct be_ctx *x, uint8_t *fail[2]);
/* Store the flags a FLAGS op of `kind` computes from `in`, in cold code:
 * R11 and the TMP words only. */
void x64_emit_flags_cold(struct be_ctx *x, int kind, int bits, const struct be_loc *in);
/* The deferred stores of a cold stub (flags computed with R11 and the TMP
 * words), but those of the globals in `skip` (bits). */
void x64_emit_defers(struct be_ctx *x, const struct cold *c, unsigned skip);

#endif
