/*
 * Generator internals shared by gen.c (state, random values, encoding,
 * memory operands, constructs) and gen_int.c (the integer families).
 *
 * Encoding is ours, from the Intel SDM's opcode maps, not the emulator's
 * decoder tables: a bug in those must not hide itself. Instructions are
 * built as prefixes + opcode bytes + ModRM/SIB/displacement + immediate by
 * enc_insn(); Capstone double-checks the lengths (kdiff --check-enc).
 *
 * Invariants the generator keeps so that every sequence runs the same on
 * both sides and never touches memory outside the data area:
 *   - every memory operand lands in [DATA_ADDR, DATA_ADDR + DATA_SIZE): its
 *     base/index registers are loaded by setup MOVs of the same group, or
 *     it is ESP-relative (ESP is tracked statically);
 *   - ESP is never a destination except through the stack instructions
 *     the generator tracks; inside constructs (branch bodies, loops, calls)
 *     groups must leave ESP unchanged, so ESP is the same on every path;
 *   - registers in gen.keep (ESP, and ECX inside LOOP bodies) are never
 *     written by a group;
 *   - no item reads a flag that may be undefined (checked by seq_flow()
 *     after every group; a group that does is rolled back and a CMP that
 *     defines every flag goes first).
 */
#ifndef KESTREL_DIFF_GEN_PRIV_H
#define KESTREL_DIFF_GEN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/opcode.h"
#include "tests/diff/gen.h"

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
#define RB(r) (1u << (r))

/* Segment override prefixes. */
#define PFX_ES 0x26
#define PFX_CS 0x2e
#define PFX_SS 0x36
#define PFX_DS 0x3e
#define PFX_FS 0x64

/* Stack area: ESP stays within [STACK_LO, STACK_HI) of the data area. */
#define STACK_LO 0x3000
#define STACK_HI 0x3f80
/* The FRSTOR/FNSAVE image of an FPU sequence (108 bytes, above the stack). */
#define FPU_OFF (DATA_SIZE - 0x70)

struct gen {
    struct seq *s;
    uint64_t rng;
    const struct gen_opts *o;
    int esp;        /* ESP - DATA_ADDR */
    int depth;      /* open constructs: groups must leave ESP unchanged */
    bool in_loop;   /* inside a backward LOOP body */
    bool in_call;   /* inside a called body */
    uint32_t keep;  /* registers no group may write */
    int prot_lo[4], prot_hi[4]; /* live return addresses, the FPU area: no memory operand goes there */
    int nprot;
    int df;         /* DF as known at this point: 0, 1, or -1 unknown */
    bool code16;         /* the sequence runs in the 16-bit code segment */
    uint16_t group;      /* group of the items being emitted */
    uint16_t next_group; /* last group id handed out */
    bool full;           /* out of item slots */
};

/* A ModRM operand: a register or a memory reference. */
struct rm {
    bool mem;
    int reg;        /* register form: register encoding 0..7 */
    bool a16;       /* 16-bit addressing (0x67) */
    uint8_t seg;    /* override prefix, 0 when none */
    uint8_t mod, rmf;
    bool has_sib;
    uint8_t sib;
    int dsz;        /* displacement bytes: 0, 1, 2, 4 */
    uint32_t disp;
    uint32_t off;   /* data-area offset the operand addresses */
    uint32_t regs;  /* registers the address uses (RB bits) */
};

/* An encoded instruction being built. */
struct enc {
    uint8_t b[15];
    int n;
};

/* Flags for gen_mem(). */
#define MF_WRITE 0x1  /* the operand is written: no CS override */
#define MF_LEA 0x2    /* address only (LEA, NOP Ev): any registers, no setup */
#define MF_NOESP 0x4  /* no ESP-relative form (POP m computes it after the pop) */
#define MF_NO16 0x8   /* no 16-bit addressing */

/* May an access of `span` bytes at data offset `off` go there? Not over a
 * live return address (a store would send RET astray) nor over the FPU
 * area (FNSAVE/FNSTENV leave model-specific bytes there). */
bool off_ok(const struct gen *g, uint32_t off, int span);

/* Random numbers. */
uint64_t rnd(struct gen *g);
uint32_t below(struct gen *g, uint32_t n);
bool chance(struct gen *g, unsigned pct);
uint32_t rval(struct gen *g, int bits); /* an interesting value of `bits` bits */

/* A random operand size for Ev forms: 16 or 32. */
static inline int vsize(struct gen *g) { return chance(g, 30) ? 16 : 32; }
static inline uint32_t mask_of(int bits) { return bits >= 32 ? 0xffffffffu : (1u << bits) - 1; }
static inline int32_t sext(uint32_t v, int bits)
{
    return bits >= 32 ? (int32_t)v : (int32_t)(v << (32 - bits)) >> (32 - bits);
}

/* Handler present for this op at this operand size (8, 16, 32) and form? */
bool have(const struct gen *g, int op, int osz, bool mem);

/* Registers. pick_reg: a 32/16-bit register encoding not in avoid|keep;
 * pick_reg8: an 8-bit register encoding whose 32-bit register is not in
 * avoid|keep; -1 when none. */
int pick_reg(struct gen *g, uint32_t avoid);
int pick_reg8(struct gen *g, uint32_t avoid);
static inline uint32_t reg8_bit(int enc) { return RB(enc & 3); }

/* Items. emit() appends an instruction of the current group with the
 * flags of op_info[op]; the returned item may be refined. */
struct item *emit(struct gen *g, const struct enc *e, int op, bool setup);
void emit_mov_imm(struct gen *g, int reg, uint32_t v); /* setup: MOV r32, imm32 */
void emit_clear_slot(struct gen *g, int disp); /* setup: MOV dword [esp + disp], imm16 */
/* Stack slot of near CALL/RET and far CALL halves: 2 in 16-bit code, else 4. */
static inline int call_width(const struct gen *g) { return g->code16 ? 2 : 4; }
void emit_mov_r8_imm(struct gen *g, int reg8, uint8_t v); /* setup: MOV r8, imm8 */

/* Encoding. Sizes are effective sizes; the prefixes that select them
 * depend on the code's defaults (g->code16). osz 0 or 8: no 0x66. */
int size_pfx(const struct gen *g, uint8_t *p, int osz, bool a16);
void enc_byte(struct enc *e, uint8_t b);
void enc_imm(struct enc *e, uint32_t v, int bytes);
/* prefixes (pfx[0..npfx), shuffled sometimes), opcode bytes, then ModRM
 * (regf >= 0) with the r/m operand, then an immediate of immsz bytes. */
void enc_insn(struct gen *g, struct enc *e, const uint8_t *pfx, int npfx, const uint8_t *opc, int nopc, int regf,
              const struct rm *rm, uint32_t imm, int immsz);
/* Same with the usual prefixes derived from the operand: LOCK/REP byte
 * `lead` (0 none), segment override, 0x66 and 0x67 as size_pfx() says. */
void enc_std(struct gen *g, struct enc *e, uint8_t lead, int osz, const uint8_t *opc, int nopc, int regf,
             const struct rm *rm, uint32_t imm, int immsz);

/* A register operand. */
void rm_reg(struct rm *rm, int reg);
/* A memory operand of `size` bytes (span: bytes the access may touch from
 * the address, >= size) whose setup MOVs are emitted now; its address
 * registers avoid `avoid`. */
void gen_mem(struct gen *g, struct rm *rm, int size, int span, uint32_t avoid, unsigned flags);
/* The same at a chosen data-area offset. */
void gen_mem_at(struct gen *g, struct rm *rm, uint32_t off, uint32_t avoid, unsigned flags);
/* An r/m operand: register (not in avoid|keep when `write`) or memory. */
void gen_rm(struct gen *g, struct rm *rm, int osz, bool write, uint32_t avoid, int mem_pct, unsigned mflags);

/* Constructs: generate `n` groups nested one level deeper. */
void gen_body(struct gen *g, int n);
/* Bytes of code from item `from` up to (not including) item `to`. */
int span_bytes(const struct seq *s, int from, int to);

/* Family generators (gen_int.c, gen_misc.c); false when nothing could be generated. */
bool fam_alu(struct gen *g);
bool fam_test(struct gen *g);
bool fam_unary(struct gen *g);
bool fam_muldiv(struct gen *g);
bool fam_shift(struct gen *g);
bool fam_bcd(struct gen *g);
bool fam_bitops(struct gen *g);
bool fam_mov(struct gen *g);
bool fam_lea(struct gen *g);
bool fam_xchg(struct gen *g);
bool fam_cmovset(struct gen *g);
bool fam_atomic(struct gen *g);
bool fam_string(struct gen *g);
bool fam_stack(struct gen *g);
bool fam_flags(struct gen *g);
bool fam_branch(struct gen *g); /* gen.c: constructs */
bool fam_misc(struct gen *g);
bool fam_x87(struct gen *g);       /* gen_fpu.c */
bool fam_x87trans(struct gen *g);
bool fam_mmx(struct gen *g);
/* FRSTOR of a generated image / FNSAVE over it (gen_fpu.c). */
void fpu_prologue(struct gen *g);
void fpu_epilogue(struct gen *g);
/* A last group that faults (--faults): limit violations, #BR, #OF, #UD. */
void gen_fault_tail(struct gen *g);

#endif
