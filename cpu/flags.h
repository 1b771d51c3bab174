/*
 * Lazy arithmetic flags.
 *
 * An arithmetic instruction stores two words instead of computing EFLAGS:
 *   lf_res  the result, sign-extended from its operand size to 64 bits
 *   lf_aux  a carry vector: bit 63 = carry out of the top bit (CF),
 *           bit 62 = carry out of the bit below it (so OF = b63 ^ b62),
 *           bit 3  = carry out of bit 3 (AF),
 *           bits 8..15 = a byte XORed into the result's low byte for PF,
 *           bit 16 = a bit XORed into the sign for SF.
 * Every flag is then a couple of branch-free operations on these words:
 *   CF = aux>>63  OF = (aux>>63 ^ aux>>62)&1  AF = aux>>3&1
 *   ZF = res==0   SF = (res>>63 ^ aux>>16)&1  PF = parity(res ^ aux>>8)
 * The two delta fields let lf_set() encode any combination of flags (POPF,
 * SAHF, IRET), and setting CF alone flips bits 63 and 62 together so OF
 * survives (INC/DEC keep CF this way).
 *
 * For subtraction the "carry vector" is the borrow vector, which gives CF
 * and AF as borrows, the x86 meaning. This is the scheme Bochs uses; the
 * JIT shares it so blocks and the interpreter hand flags to each other
 * without conversion.
 *
 * Translated code may leave lf_aux in a raw form for an ADD, ADC, SUB,
 * SBB, CMP or NEG (converting takes six instructions, and the next block
 * usually overwrites the flags): the carry vector a ^ b ^ r (r the 64-bit
 * result of the operation on the zero-extended operands; bit i is the
 * carry into bit i), with bit 4 the carry into bit 4 and, for N-bit
 * operands, bits N-1 and N the carries into the top bit and out of it,
 * and one marker bit saying N. A 32-bit INC or DEC leaves the same word
 * with bits 31 and 32 both flipped where bit 32 differs from the CF it
 * keeps (OF, their XOR, stays). The markers:
 *   32 bits: LF_RAW32 (bit 40) set; bits 33..63 are copies of bit 32
 *   16 bits: LF_RAW16 (bit 42) set, bits 32..41 and 43..63 clear
 *    8 bits: LF_RAW8 (bit 41) set, bits 32..40 and 42..63 clear
 * (the 8- and 16-bit forms are XORed at 32 bits, so nothing above bit 31
 * but the marker survives). Canonical words never have bits 40..42. The
 * interpreter only sees canonical words: the run loop calls lf_canon()
 * when translated code returns or faults, and translated code converts
 * before it reads lf_aux or calls a handler.
 */
#ifndef KESTREL_FLAGS_H
#define KESTREL_FLAGS_H

#include <stdint.h>

#include "cpu/cpu.h"

#define LF_CF (1ull << 63)
#define LF_PO (1ull << 62)
#define LF_AF (1ull << 3)
#define LF_PDB_SHIFT 8
#define LF_SD (1ull << 16)

#define LF_RAW32 (1ull << 40)
#define LF_RAW8 (1ull << 41)
#define LF_RAW16 (1ull << 42)
#define LF_RAW_ANY (LF_RAW32 | LF_RAW8 | LF_RAW16)

/* lf_aux in canonical form (see above). A 32-bit raw word may have bits
 * 41 and 42 set too (copies of bit 32): its marker is tested first. */
static inline void lf_canon(struct cpu *c)
{
    uint64_t a = c->lf_aux;
    if (a & LF_RAW_ANY) {
        int top = (a & LF_RAW32) ? 31 : (a & LF_RAW8) ? 7 : 15;
        c->lf_aux = (a >> top & 3) << 62 | (a >> 1 & 8);
    }
}

/* Carry/borrow vector of an N-bit operation -> aux word. */
#define LF_AUX(cv, bits) ((((uint64_t)(cv) >> ((bits) - 2)) & 3) << 62 | ((uint64_t)(cv) & 8))

static inline int lf_cf(const struct cpu *c) { return (int)(c->lf_aux >> 63); }
static inline int lf_of(const struct cpu *c) { return (int)(((c->lf_aux >> 63) ^ (c->lf_aux >> 62)) & 1); }
static inline int lf_af(const struct cpu *c) { return (int)((c->lf_aux >> 3) & 1); }
static inline int lf_zf(const struct cpu *c) { return c->lf_res == 0; }
static inline int lf_sf(const struct cpu *c) { return (int)(((c->lf_res >> 63) ^ (c->lf_aux >> 16)) & 1); }
static inline int lf_pf(const struct cpu *c)
{
    uint8_t v = (uint8_t)(c->lf_res ^ (c->lf_aux >> LF_PDB_SHIFT));
    return !__builtin_parity(v);
}

/* Results of the eight sizes. */
static inline void lf_result8(struct cpu *c, uint32_t r, uint64_t aux) { c->lf_res = (uint64_t)(int64_t)(int8_t)r; c->lf_aux = aux; }
static inline void lf_result16(struct cpu *c, uint32_t r, uint64_t aux) { c->lf_res = (uint64_t)(int64_t)(int16_t)r; c->lf_aux = aux; }
static inline void lf_result32(struct cpu *c, uint32_t r, uint64_t aux) { c->lf_res = (uint64_t)(int64_t)(int32_t)r; c->lf_aux = aux; }

/* ADD/ADC and SUB/SBB/CMP/NEG flag vectors. */
#define LF_ADD_CV(a, b, r) (((a) & (b)) | (((a) | (b)) & ~(r)))
#define LF_SUB_CV(a, b, r) ((~(a) & (b)) | ((~(a) | (b)) & (r)))

/* Replace CF, keeping OF (flip the CF and PO bits together). */
static inline void lf_force_cf(struct cpu *c, int cf)
{
    uint64_t delta = ((c->lf_aux >> 63) ^ (uint64_t)(cf & 1)) & 1;
    c->lf_aux ^= delta * (LF_CF | LF_PO);
}

/* Encode an arbitrary set of the six arithmetic flags (EFLAGS bit layout). */
static inline void lf_set(struct cpu *c, uint32_t f)
{
    uint64_t aux = 0;
    c->lf_res = (f & EFL_ZF) ? 0 : 0x100; /* low byte 0: even parity, sign 0 */
    if (f & EFL_CF)
        aux |= LF_CF | LF_PO;
    if (f & EFL_OF)
        aux ^= LF_PO;
    if (f & EFL_AF)
        aux |= LF_AF;
    if (f & EFL_SF)
        aux |= LF_SD;
    if (!(f & EFL_PF))
        aux |= 1ull << LF_PDB_SHIFT;
    c->lf_aux = aux;
}

/* The six arithmetic flags in EFLAGS layout. */
static inline uint32_t lf_get(const struct cpu *c)
{
    return (uint32_t)lf_cf(c) | (uint32_t)lf_pf(c) << 2 | (uint32_t)lf_af(c) << 4 | (uint32_t)lf_zf(c) << 6 |
           (uint32_t)lf_sf(c) << 7 | (uint32_t)lf_of(c) << 11;
}

/* Condition codes 0..15 (the low nibble of Jcc/SETcc/CMOVcc). */
static inline int cond_eval(const struct cpu *c, int cc)
{
    int r;
    switch (cc >> 1) {
    case 0: r = lf_of(c); break;
    case 1: r = lf_cf(c); break;
    case 2: r = lf_zf(c); break;
    case 3: r = lf_cf(c) | lf_zf(c); break;
    case 4: r = lf_sf(c); break;
    case 5: r = lf_pf(c); break;
    case 6: r = lf_sf(c) ^ lf_of(c); break;
    default: r = lf_zf(c) | (lf_sf(c) ^ lf_of(c)); break;
    }
    return r ^ (cc & 1);
}

#endif
