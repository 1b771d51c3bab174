/*
 * Disassembly of a decoded instruction: its operands in a structured form
 * (registers by name, memory as segment/base/index/scale/displacement/size,
 * immediates, branch targets, far pointers) and an Intel-syntax text.
 *
 * Everything here is derived from the `struct insn` the decoder produced
 * and the operand kinds of its opcode row, so a disassembly shows exactly
 * what the interpreter will execute. It is not on the execution path: the
 * decoder stays lean and anything only a reader needs (register names,
 * displacement sizes) is worked out here.
 */
#ifndef KESTREL_DISASM_H
#define KESTREL_DISASM_H

#include <stdint.h>

#include "cpu/insn.h"

/* Register identifiers across classes (one namespace, like the SDM's). */
enum dis_reg {
    DIS_NOREG,
    DIS_AL, DIS_CL, DIS_DL, DIS_BL, DIS_AH, DIS_CH, DIS_DH, DIS_BH,
    DIS_AX, DIS_CX, DIS_DX, DIS_BX, DIS_SP, DIS_BP, DIS_SI, DIS_DI,
    DIS_EAX, DIS_ECX, DIS_EDX, DIS_EBX, DIS_ESP, DIS_EBP, DIS_ESI, DIS_EDI,
    DIS_ES, DIS_CS, DIS_SS, DIS_DS, DIS_FS, DIS_GS,
    DIS_CR0 = DIS_GS + 3, /* two slots left for LDTR/TR if ever needed */
    DIS_DR0 = DIS_CR0 + 8,
    DIS_ST0 = DIS_DR0 + 8,
    DIS_MM0 = DIS_ST0 + 8,
    DIS_REG_COUNT = DIS_MM0 + 8,
};

enum dis_kind {
    DIS_OP_NONE,
    DIS_OP_REG, /* reg */
    DIS_OP_MEM, /* mem */
    DIS_OP_IMM, /* value (zero- or sign-extended to size), immsize bytes encoded */
    DIS_OP_REL, /* value: absolute near branch target */
    DIS_OP_FAR, /* sel:value far pointer */
};

/* Memory operand. */
struct dis_mem {
    uint8_t seg;      /* DIS_ES..DIS_GS: the segment actually used */
    uint8_t base;     /* dis_reg or DIS_NOREG */
    uint8_t index;    /* dis_reg or DIS_NOREG (XLAT: AL) */
    uint8_t scale;    /* shift count 0..3 (kept even without an index, as SIB encodes it) */
    uint8_t dispsize; /* displacement bytes encoded: 0, 1, 2 or 4 */
    uint8_t string;   /* implicit string operand: DS:[eSI] or ES:[eDI] */
    uint8_t addr32;   /* 32-bit address size */
    uint16_t size;    /* bytes accessed; 0 when only the address is used (LEA, INVLPG) */
    uint32_t disp;    /* displacement, sign-extended, truncated to the address size */
};

struct dis_operand {
    uint8_t kind;    /* enum dis_kind */
    uint8_t size;    /* operand size in bytes (REG, IMM, REL, FAR offset) */
    uint8_t reg;     /* DIS_OP_REG */
    uint8_t immsize; /* DIS_OP_IMM: bytes encoded (1 for a sign-extended imm8) */
    uint16_t sel;    /* DIS_OP_FAR */
    uint32_t value;  /* IMM, REL target, FAR offset */
    struct dis_mem mem;
};

#define DIS_MAX_OPERANDS 3

/* Name of a register ("eax", "es", "cr0", "st3", "mm1"). */
const char *dis_reg_name(unsigned r);

/* The explicit operands of a decoded instruction; returns their number. */
int dis_operands(const struct insn *i, struct dis_operand out[DIS_MAX_OPERANDS]);

/* The mnemonic for the instruction's operand/address size. */
const char *dis_mnemonic(const struct insn *i, char *buf, unsigned len);

/* Intel-syntax text ("add word ptr ss:[bp+0x10], ax"), prefixes included.
 * Returns the number of characters written (snprintf rules). */
int dis_format(const struct insn *i, char *buf, unsigned len);

/* Decode and format in one step (for traces and tests); on a decoder
 * failure writes "(bad)" / "(too long)" / "(truncated)" and returns the
 * decoder's negative code. */
int dis_decode_format(const uint8_t *bytes, int avail, int mode32, uint32_t eip, char *buf, unsigned len);

#endif
