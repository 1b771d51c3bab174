/*
 * The opcode table as data. cpu/opcodes.def lists every instruction once;
 * this header turns its rows into:
 *   - enum op_id         one id per row (OP_<NAME>)
 *   - op_info[]          mnemonic, operands, attributes, flag masks
 *   - op_handlers[]      the interpreter handler of each row, per variant
 * and cpu/gen_decode.c turns the same rows into the decoder's maps.
 *
 * Row format:
 *   OP(NAME, MAP, OPCODE, EXT, PFX, "mnemonic", O1, O2, O3, ATTR, FREAD, FWRITE, FUNDEF, KIND, stem)
 *   MAP     0 one-byte, 1 0F xx
 *   EXT     NOEXT | R(n) ModRM.reg = n | M(n) same, memory only |    (cpu/opcode_rows.h)
 *           X(n) same, register only | RM(n, m) mod 3 with reg n, r/m m
 *   PFX     NP, or a mandatory prefix P66/PF3/PF2
 *   "mnem"  "a|b" when the 16- and 32-bit operand sizes name it differently
 *   O1..O3  operand kinds from cpu/operands.def, __ when absent
 *   ATTR    A_* bits below
 *   FREAD   flags the instruction reads (F_*); a flag it writes only
 *           sometimes (shift by a count that may be 0) is also listed as read
 *   FWRITE  flags it writes
 *   FUNDEF  of those, the ones the architecture leaves undefined
 *   KIND    how the handler is split into variants:
 *           H1 one handler `stem`; HS `stem_16/_32/_64` by operand size;
 *           HRM `stem_r/_m` by ModRM form; HSRM `stem_{r,m}{16,32,64}`
 */
#ifndef KESTREL_OPCODE_H
#define KESTREL_OPCODE_H

#include <stdint.h>

struct cpu;
struct insn;
typedef void insn_fn(struct cpu *cpu, const struct insn *i);

enum op_src {
    SRC_NONE, SRC_RM, SRC_MEM, SRC_RMREG, SRC_RMANY, SRC_REG, SRC_OPREG, SRC_IMM, SRC_REL,
    SRC_FAR, SRC_MOFFS, SRC_FIXED, SRC_STR,
};

enum op_size {
    SZ_NONE, SZ_B, SZ_W, SZ_D, SZ_Q, SZ_V, SZ_Z, SZ_WV, SZ_BS, SZ_P, SZ_A, SZ_S,
    SZ_F32, SZ_F64, SZ_F80, SZ_BCD, SZ_ENV, SZ_FST,
};

enum opk {
#define OPK(name, src, size) OPK_##name,
#include "cpu/operands.def"
#undef OPK
    OPK_COUNT
};

struct opk_info {
    const char *name;
    uint8_t src;  /* enum op_src */
    uint8_t size; /* enum op_size */
};
extern const struct opk_info opk_info[OPK_COUNT];

/* Attributes. */
#define A_LOCK (1u << 0)    /* LOCK prefix allowed (with a memory destination) */
#define A_END (1u << 1)     /* ends a decoded block: control transfer or mode change */
#define A_REP (1u << 2)     /* string instruction: REP/REPE/REPNE meaningful */
#define A_PRIV (1u << 3)    /* CPL 0 only */
#define A_BRANCH (1u << 4)  /* direct or indirect control transfer */
#define A_COND (1u << 5)    /* conditional (Jcc, LOOPcc, JCXZ) */
#define A_ASZMN (1u << 6)   /* mnemonic split "a|b" follows address size (JCXZ) */
#define A_FPU (1u << 7)     /* x87: checks CR0.EM/TS, may take pending #MF */
#define A_MMX (1u << 8)     /* MMX: checks CR0.EM/TS */
#define A_IO (1u << 9)      /* port I/O: IOPL / I/O bitmap checks */
#define A_SERIAL (1u << 10) /* serializing */
#define A_NOWAIT (1u << 11) /* x87 control instruction that does not check pending exceptions */
#define A_386 (1u << 12)    /* introduced by the 80386 or later (for the 286 vectors) */
#define A_486 (1u << 13)
#define A_586 (1u << 14)
#define A_686 (1u << 15)

/* Flag masks (EFLAGS bit positions). */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_TF 0x100u
#define F_IF 0x200u
#define F_DF 0x400u
#define F_OF 0x800u
#define F_OSZAPC (F_OF | F_SF | F_ZF | F_AF | F_PF | F_CF)
#define F_OSZAP (F_OF | F_SF | F_ZF | F_AF | F_PF)
#define F_SZAPC (F_SF | F_ZF | F_AF | F_PF | F_CF)
#define F_SZP (F_SF | F_ZF | F_PF)
#define F_SZAP (F_SF | F_ZF | F_AF | F_PF)
#define F_ALL 0x3f7fd5u /* every EFLAGS bit a POPF/IRET may write */

/* Extension selectors. */
#define EXT_NONE 0
#define EXT_R 1
#define EXT_M 2
#define EXT_X 3
#define EXT_RM 4

/* Mandatory prefixes (op_info.pfx). The rows spell them NP/P66/PF3/PF2,
 * and the extensions R(n)/M(n)/X(n)/RM(n, m): those short names live in
 * cpu/opcode_rows.h, included only where rows are expanded with those
 * columns, so they never leak into the rest of the program. */
enum { MPFX_NONE, MPFX_66, MPFX_F3, MPFX_F2 };

/* Handler kinds. */
enum { KIND_H1, KIND_HS, KIND_HRM, KIND_HSRM };

enum op_id {
    OP_INVALID = 0,
#define OP(name, map, opc, ext, pfx, mn, o1, o2, o3, attr, fr, fw, fu, kind, stem) OP_##name,
#include "cpu/opcodes.def"
#undef OP
    OP_COUNT
};

struct op_info {
    const char *name;     /* row name, e.g. "ADD_EbGb" */
    const char *mnemonic; /* "a" or "a|b" (16|32) */
    uint8_t map, opcode;
    uint16_t ext;
    uint8_t pfx;
    uint8_t kind;
    uint8_t opnd[3]; /* enum opk */
    uint16_t attr;
    uint32_t fread, fwrite, fundef;
};
extern const struct op_info op_info[OP_COUNT];

/* Handler variants: by ModRM form (register, memory) and operand size (16, 32, 64). */
enum { VAR_R16, VAR_R32, VAR_R64, VAR_M16, VAR_M32, VAR_M64, VAR_COUNT };
extern insn_fn *const op_handlers[OP_COUNT][VAR_COUNT];

/* Mnemonic for an instruction's operand/address size (copies into buf). */
const char *op_mnemonic(enum op_id id, int osize32, int asize32, char *buf, unsigned len);

#endif
