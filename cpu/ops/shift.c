/*
 * Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR by 1, CL or imm8,
 * and the double shifts SHLD/SHRD.
 *
 * One function per operation computes the result and the flags for any
 * operand size; the handler bodies for the three count sources and the
 * register/memory forms are stamped out by macros.
 *
 * Counts are masked to 5 bits (the 80286 and later). A masked count of 0
 * changes nothing, not even flags; memory operands are still accessed for
 * writing, so a read-only page faults as on hardware. RCL/RCR rotate
 * through CF over size+1 bits, so their count is further reduced mod 9 or
 * mod 17 for byte and word operands.
 *
 * The flags the SDM calls undefined are set as Intel P6-family and later
 * CPUs set them (established against the host CPU, an Intel Xeon, over
 * thousands of random operands and counts):
 *   - For counts above 1, OF is the OF of the *first* one-bit step:
 *     SHL MSB^MSB-1 of the source, SHR its MSB, SAR 0, ROL MSB^MSB-1,
 *     ROR MSB^LSB, RCL MSB^MSB-1, RCR MSB^CF-in, SHLD MSB^MSB-1 of the
 *     destination, SHRD MSB of the destination ^ LSB of the source.
 *   - Except ROL/ROR of a *register* by an *immediate* count above 1, which
 *     leave OF unchanged (a different micro-op flow; the memory and CL
 *     forms do not).
 *   - AF is 0 after SHL/SHR/SAR/SHLD/SHRD with a nonzero count.
 *   - RCL/RCR whose count reduces to 0 mod 9/17 change no flag at all.
 * Shift counts beyond the operand width (possible for 8/16-bit operands)
 * behave as if the value sat in a wider register: the result is 0 (or all
 * sign bits for SAR) and CF is the last bit shifted out, which is 0 once
 * the count exceeds the width. SHLD/SHRD of 16-bit operands by 17..31
 * shift the 48-bit pattern dst:src:dst.
 */
#include "cpu/ops/ops.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static inline uint32_t size_mask(int bits) { return bits == 32 ? 0xffffffffu : (1u << bits) - 1; }
static inline uint32_t msb(uint32_t v, int bits) { return (v >> (bits - 1)) & 1; }

/* Record a shift result with all six flags: SZP from the result, CF, OF and
 * AF as given. */
static inline void shift_flags(struct cpu *c, uint32_t r, int bits, uint32_t cf, uint32_t of, uint32_t af)
{
    c->lf_res = bits == 8 ? (uint64_t)(int64_t)(int8_t)r
              : bits == 16 ? (uint64_t)(int64_t)(int16_t)r : (uint64_t)(int64_t)(int32_t)r;
    c->lf_aux = (uint64_t)cf << 63 | (uint64_t)(cf ^ of) << 62 | (uint64_t)af << 3;
}

/* Rotates change only CF and OF. */
static inline void rot_flags(struct cpu *c, uint32_t cf, uint32_t of)
{
    uint32_t f = lf_get(c) & ~(EFL_CF | EFL_OF);
    lf_set(c, f | cf | of << 11);
}

/*
 * op `kind` of v (already truncated to `bits`) by the raw count byte.
 * `keep_of`: a register operand rotated by an immediate count (ROL/ROR then
 * keep OF for counts above 1, see the file comment).
 */
static inline uint32_t shift_op(struct cpu *c, int kind, uint32_t v, unsigned raw, bool keep_of, int bits)
{
    unsigned n = raw & 31;
    uint32_t m = size_mask(bits), r;
    if (n == 0)
        return v;
    switch (kind) {
    case SH_ROL: {
        unsigned k = n & (unsigned)(bits - 1);
        r = k ? ((v << k) | (v >> (bits - k))) & m : v;
        uint32_t of = n == 1 || !keep_of ? msb(v, bits) ^ msb(v, bits - 1) : (uint32_t)lf_of(c);
        rot_flags(c, r & 1, of);
        return r;
    }
    case SH_ROR: {
        unsigned k = n & (unsigned)(bits - 1);
        r = k ? ((v >> k) | (v << (bits - k))) & m : v;
        uint32_t of = n == 1 || !keep_of ? msb(v, bits) ^ (v & 1) : (uint32_t)lf_of(c);
        rot_flags(c, msb(r, bits), of);
        return r;
    }
    case SH_RCL:
    case SH_RCR: {
        unsigned k = bits == 32 ? n : n % (unsigned)(bits + 1);
        if (k == 0)
            return v; /* a full turn through CF: nothing changes, not even OF */
        uint64_t cf = (uint64_t)lf_cf(c);
        uint64_t w = (uint64_t)v | cf << bits; /* the (bits+1)-bit value CF:v */
        uint64_t wm = ((uint64_t)1 << (bits + 1)) - 1;
        uint32_t of;
        if (kind == SH_RCL) {
            w = ((w << k) | (w >> (bits + 1 - k))) & wm;
            of = msb(v, bits) ^ msb(v, bits - 1);
        } else {
            w = ((w >> k) | (w << (bits + 1 - k))) & wm;
            of = msb(v, bits) ^ (uint32_t)cf;
        }
        rot_flags(c, (uint32_t)(w >> bits) & 1, of);
        return (uint32_t)w & m;
    }
    case SH_SHL:
    case SH_SAL: {
        uint64_t w = (uint64_t)v << n;
        r = (uint32_t)w & m;
        shift_flags(c, r, bits, (uint32_t)(w >> bits) & 1, msb(v, bits) ^ msb(v, bits - 1), 0);
        return r;
    }
    case SH_SHR: {
        r = (uint32_t)((uint64_t)v >> n);
        shift_flags(c, r, bits, (uint32_t)(((uint64_t)v >> (n - 1)) & 1), msb(v, bits), 0);
        return r;
    }
    default: { /* SH_SAR */
        int64_t s = bits == 8 ? (int8_t)v : bits == 16 ? (int16_t)v : (int32_t)v;
        r = (uint32_t)(s >> n) & m;
        shift_flags(c, r, bits, (uint32_t)((s >> (n - 1)) & 1), 0, 0);
        return r;
    }
    }
}

/* ---- Handler forms ---- */

#define CNT_1 1u
#define CNT_CL ((unsigned)(uint8_t)c->gpr[R_ECX])
#define CNT_IB ((unsigned)(uint8_t)i->imm)

#define SHIFT_FORMS(name, kind, CNT, KEEP)                                                                             \
    HANDLER(name##_r)                                                                                                  \
    {                                                                                                                  \
        uint8_t *d = reg8(c, i->rm);                                                                                   \
        *d = (uint8_t)shift_op(c, kind, *d, CNT, KEEP, 8);                                                             \
    }                                                                                                                  \
    HANDLER(name##_m)                                                                                                  \
    {                                                                                                                  \
        uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 1);                                                             \
        *p = (uint8_t)shift_op(c, kind, *p, CNT, false, 8);                                                            \
        mem_rmw_done(c, p);                                                                                            \
    }

#define SHIFT_FORMS_V(name, kind, CNT, KEEP)                                                                           \
    HANDLER(name##_r16)                                                                                                \
    {                                                                                                                  \
        wr_reg16(c, i->rm, (uint16_t)shift_op(c, kind, (uint16_t)c->gpr[i->rm], CNT, KEEP, 16));                      \
    }                                                                                                                  \
    HANDLER(name##_r32) { wr_reg32(c, i->rm, shift_op(c, kind, (uint32_t)c->gpr[i->rm], CNT, KEEP, 32)); }            \
    HANDLER(name##_m16)                                                                                                \
    {                                                                                                                  \
        uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 2);                                                             \
        st16(p, (uint16_t)shift_op(c, kind, ld16(p), CNT, false, 16));                                                 \
        mem_rmw_done(c, p);                                                                                            \
    }                                                                                                                  \
    HANDLER(name##_m32)                                                                                                \
    {                                                                                                                  \
        uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 4);                                                             \
        st32(p, shift_op(c, kind, ld32(p), CNT, false, 32));                                                           \
        mem_rmw_done(c, p);                                                                                            \
    }

#define SHIFT_ALL(op, kind)                                                                                            \
    SHIFT_FORMS(op##_Eb1, kind, CNT_1, false)                                                                          \
    SHIFT_FORMS(op##_EbCL, kind, CNT_CL, false)                                                                        \
    SHIFT_FORMS(op##_EbIb, kind, CNT_IB, true)                                                                         \
    SHIFT_FORMS_V(op##_Ev1, kind, CNT_1, false)                                                                        \
    SHIFT_FORMS_V(op##_EvCL, kind, CNT_CL, false)                                                                      \
    SHIFT_FORMS_V(op##_EvIb, kind, CNT_IB, true)

SHIFT_ALL(rol, SH_ROL)
SHIFT_ALL(ror, SH_ROR)
SHIFT_ALL(rcl, SH_RCL)
SHIFT_ALL(rcr, SH_RCR)
SHIFT_ALL(shl, SH_SHL)
SHIFT_ALL(shr, SH_SHR)
SHIFT_ALL(sar, SH_SAR)

/* ---- SHLD / SHRD ---- */

/*
 * Double shifts: dst is shifted by n (masked to 5 bits) with bits coming in
 * from src. For a 16-bit operand and n > 16 the SDM leaves the result
 * undefined; Intel CPUs shift the 48-bit value dst:src:dst, so bits of dst
 * come in again after those of src.
 */
static inline uint32_t shld_op(struct cpu *c, uint32_t d, uint32_t s, unsigned raw, int bits)
{
    unsigned n = raw & 31;
    if (n == 0)
        return d;
    uint32_t m = size_mask(bits), r, cf;
    if (bits == 16) {
        /* d:s:d as a 48-bit value, take the top 16 bits after the shift. */
        uint64_t w = (uint64_t)d << 32 | (uint64_t)s << 16 | d;
        r = (uint32_t)(w >> (32 - n)) & m;
        cf = (uint32_t)(w >> (48 - n)) & 1;
    } else {
        uint64_t w = (uint64_t)d << 32 | s;
        r = (uint32_t)(w >> (32 - n));
        cf = (uint32_t)(w >> (64 - n)) & 1;
    }
    shift_flags(c, r, bits, cf, msb(d, bits) ^ msb(d, bits - 1), 0);
    return r;
}

static inline uint32_t shrd_op(struct cpu *c, uint32_t d, uint32_t s, unsigned raw, int bits)
{
    unsigned n = raw & 31;
    if (n == 0)
        return d;
    uint32_t m = size_mask(bits), r, cf;
    if (bits == 16) {
        uint64_t w = (uint64_t)d << 32 | (uint64_t)s << 16 | d;
        r = (uint32_t)(w >> n) & m;
        cf = (uint32_t)(w >> (n - 1)) & 1;
    } else {
        uint64_t w = (uint64_t)s << 32 | d;
        r = (uint32_t)(w >> n);
        cf = (uint32_t)(w >> (n - 1)) & 1;
    }
    shift_flags(c, r, bits, cf, msb(d, bits) ^ (s & 1), 0);
    return r;
}

#define SHXD_FORMS(name, fn, CNT)                                                                                      \
    HANDLER(name##_r16)                                                                                                \
    {                                                                                                                  \
        wr_reg16(c, i->rm, (uint16_t)fn(c, (uint16_t)c->gpr[i->rm], (uint16_t)c->gpr[i->reg], CNT, 16));              \
    }                                                                                                                  \
    HANDLER(name##_r32) { wr_reg32(c, i->rm, fn(c, (uint32_t)c->gpr[i->rm], (uint32_t)c->gpr[i->reg], CNT, 32)); }    \
    HANDLER(name##_m16)                                                                                                \
    {                                                                                                                  \
        uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 2);                                                             \
        st16(p, (uint16_t)fn(c, ld16(p), (uint16_t)c->gpr[i->reg], CNT, 16));                                          \
        mem_rmw_done(c, p);                                                                                            \
    }                                                                                                                  \
    HANDLER(name##_m32)                                                                                                \
    {                                                                                                                  \
        uint8_t *p = mem_rmw(c, i->seg, insn_ea(c, i), 4);                                                             \
        st32(p, fn(c, ld32(p), (uint32_t)c->gpr[i->reg], CNT, 32));                                                    \
        mem_rmw_done(c, p);                                                                                            \
    }

SHXD_FORMS(shld_EvGvIb, shld_op, CNT_IB)
SHXD_FORMS(shld_EvGvCL, shld_op, CNT_CL)
SHXD_FORMS(shrd_EvGvIb, shrd_op, CNT_IB)
SHXD_FORMS(shrd_EvGvCL, shrd_op, CNT_CL)
