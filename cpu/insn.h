/*
 * The decoded instruction: everything mode-dependent about an instruction
 * resolved once at decode time (prefixes, operand and address size,
 * effective segment, register numbers, immediates, absolute branch target)
 * so that a handler does no decoding at all.
 *
 * Invariants
 * - fn is the handler variant already chosen for ModRM form and operand size.
 * - Memory operand: P_MEM set; ea = gpr[base] + (gpr[index] << scale) + disp,
 *   truncated to 16 bits without P_ASIZE32. Absent base/index are GPR_ZERO.
 * - Register operands of byte size hold a *byte offset* into cpu->gpr
 *   (AL=0, CL=8, ..., AH=1, CH=9, ...); other sizes hold the register number.
 *   The decoder converts by operand kind, so handlers never test for AH..BH.
 * - seg is the effective segment of the memory operand (override or default;
 *   for string instructions, the source segment).
 * - Relative branches store the absolute target EIP (masked to the operand
 *   size) in imm: blocks are keyed by EIP, so the target is a constant.
 * - off is the byte offset of the instruction from the start of its block;
 *   EIP of this instruction = block->eip + off.
 */
#ifndef KESTREL_INSN_H
#define KESTREL_INSN_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/opcode.h"

/* insn.pfx bits */
#define P_OSIZE32 0x01 /* 32-bit operand size */
#define P_ASIZE32 0x02 /* 32-bit address size */
#define P_REP 0x04     /* F3: REP / REPE */
#define P_REPNE 0x08   /* F2: REPNE */
#define P_LOCK 0x10
#define P_MEM 0x20     /* ModRM r/m (or moffs) is a memory operand */
#define P_SEGOVR 0x40  /* a segment override prefix was present */
#define P_OP66 0x80    /* a 66 prefix was present (for mandatory-prefix forms) */

struct insn {
    insn_fn *fn;     /* handler */
    uint32_t imm;    /* immediate, absolute branch target, or far offset */
    uint32_t disp;   /* displacement (memory operand) or moffs */
    uint16_t id;     /* enum op_id */
    int16_t off;     /* offset of this instruction from its block's first (negative in a
                      * superblock's piece before it: jit/super.c) */
    uint16_t imm2;   /* second immediate: ENTER nesting level, far selector */
    uint8_t len;     /* length in bytes, 1..15 */
    uint8_t reg;     /* ModRM.reg or opcode register (byte offset for byte operands) */
    uint8_t rm;      /* ModRM.rm register (byte offset for byte operands); base for memory */
    uint8_t index;   /* index register or GPR_ZERO */
    uint8_t scale;   /* shift count 0..3 */
    uint8_t seg;     /* effective segment SEG_* */
    uint8_t pfx;     /* P_* */
    uint8_t modrm;   /* raw ModRM byte (0 when absent) */
    uint8_t b1;      /* opcode byte (last byte of the opcode) */
    uint8_t nprefix; /* number of prefix bytes */
};
_Static_assert(sizeof(struct insn) == 32, "keep the decoded record at half a cache line");

/* Whether the decoder left i as the instruction it is, with the handler
 * of its row (rather than one raising #UD or #GP, or the handler of an
 * encoding the CPU model lacks). */
static inline bool insn_decoded_normally(const struct insn *i)
{
    unsigned var = ((i->pfx & P_MEM) ? VAR_M16 : VAR_R16) + ((i->pfx & P_OSIZE32) ? 1 : 0);
    return i->id != OP_INVALID && i->fn == op_handlers[i->id][var];
}

/* Decoder entry point. `mode32`: default operand/address size is 32 bits.
 * `eip` is the instruction's own EIP (for relative targets).
 * Returns the length (> 0), DEC_INVALID for an encoding that raises #UD,
 * DEC_TOOLONG for > 15 bytes (#GP), or DEC_MORE when `avail` bytes are not
 * enough to know. */
#define DEC_INVALID (-1)
#define DEC_TOOLONG (-2)
#define DEC_MORE (-3)
int decode(const uint8_t *bytes, int avail, int mode32, uint32_t eip, struct insn *out);

/* Byte offset of an 8-bit register inside cpu->gpr (AL..BH encoding 0..7). */
static inline uint8_t gpr8_offset(int r)
{
    return (uint8_t)(r < 4 ? r * 8 : (r - 4) * 8 + 1);
}
/* And back: encoding 0..7 from a byte offset. */
static inline int gpr8_number(uint8_t off)
{
    return (off & 1) ? off / 8 + 4 : off / 8;
}

#endif
