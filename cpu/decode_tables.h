/*
 * Lookup maps and per-row decode plans generated from cpu/opcodes.def by
 * cpu/gen_decode.c. Read-only data; the walk is in cpu/decode.c.
 */
#ifndef KESTREL_DECODE_TABLES_H
#define KESTREL_DECODE_TABLES_H

#include <stdint.h>

#define DEC_GROUP 0x8000u

struct dec_group {
    uint16_t mem[8];    /* mod != 3, by ModRM.reg */
    uint16_t reg[8];    /* mod == 3, by ModRM.reg */
    uint16_t exact[64]; /* mod == 3, by reg * 8 + rm; 0 falls back to reg[] */
};

/* dec_row.flags */
#define DR_MODRM 0x01   /* a ModRM byte follows the opcode */
#define DR_RMANY 0x02   /* r/m names a register whatever mod says (MOV CRn/DRn) */
#define DR_MEMONLY 0x04 /* mod == 3 is #UD (LEA, LES, BOUND, M operands) */
#define DR_REGONLY 0x08 /* mod != 3 is #UD (STi, Nq) */
#define DR_RM8 0x10     /* the r/m register operand is a byte register */
#define DR_LOCK 0x20    /* LOCK allowed with a memory operand */
#define DR_SREG 0x40    /* ModRM.reg names a segment register (6, 7 are #UD) */
#define DR_CREG 0x80    /* ModRM.reg names a control register (CR1, CR5..7 are #UD) */
#define DR_SREGDST 0x100 /* ... and is loaded: CS is #UD too (MOV Sreg, r/m) */

/* dec_row.regsrc: where insn.reg comes from (bits, so the decoder can select without branches) */
#define DRR_NONE 0
#define DRR_HAS 1  /* the row has a register operand in ModRM.reg or the opcode */
#define DRR_OPC 2  /* ... in the opcode's low three bits */
#define DRR_BYTE 4 /* ... and it is a byte register */

/* dec_row.imm: the bytes after ModRM/SIB/displacement */
enum {
    DI_NONE,
    DI_B,     /* imm8 */
    DI_BS,    /* imm8 sign-extended */
    DI_W,     /* imm16 */
    DI_Z,     /* imm16 or imm32 by operand size */
    DI_WB,    /* imm16 then imm8 (ENTER) */
    DI_RELB,  /* rel8 */
    DI_RELZ,  /* rel16 or rel32 by operand size */
    DI_FAR,   /* offset16/32 then selector16 */
    DI_MOFFS, /* offset16/32 by address size */
};

struct dec_row {
    uint16_t flags; /* DR_* */
    uint8_t regsrc; /* DRR_* bits */
    uint8_t imm;    /* DI_* */
};

/* [mandatory prefix: none, 66, F3, F2][map: one-byte, 0F][opcode] */
extern const uint16_t dec_map[4][2][256];
extern const struct dec_group dec_group[];
extern const struct dec_row dec_row[];

#endif
