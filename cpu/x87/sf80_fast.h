/*
 * Fast paths of the x87 arithmetic for the case that dominates real
 * programs: every operand a normal number, the result a normal number,
 * rounding to nearest.
 *
 * Why a second path: the general routines (sf80.c) unpack each operand
 * into struct fx, sort out NaNs, infinities, denormals and unsupported
 * encodings, and round through one routine that also knows overflow,
 * underflow, the directed roundings and the unmasked responses. For two
 * normal operands rounded to nearest none of that can happen but the
 * final rounding, and a normal extended value already is its unpacked
 * form (biased exponent, significand with the integer bit). So these
 * kernels work on struct f80 directly, decide "normal" with one test per
 * operand, and round with 64-bit arithmetic at any precision control.
 * They contain no calls (the handlers built on them compile to leaf code)
 * and are inlined into each handler, so the operation is a constant.
 *
 * Contract: a kernel returns false, having changed nothing, when an
 * operand is not a normal number, the rounding control is not "to
 * nearest", or the rounded result would not be a normal number of the
 * destination format (overflow, underflow, a denormal); the caller then
 * runs the general routine on the same operands, which gives the
 * architected answer. When it returns true, the result and the status
 * bits it reports are exactly what the general routine produces: a normal
 * result can raise only precision (FSW_PE), and C1 says "rounded up".
 * The kernels compute the same exact result as the general routines (the
 * same cores for division and square root: sf_div_sig, sf_sqrt_sig), and
 * correct rounding of an exact value has one answer; tests/unit/test_fpu
 * holds both to the host's x87.
 */
#ifndef KESTREL_SF80_FAST_H
#define KESTREL_SF80_FAST_H

#include "cpu/x87/sf80.h"

#define SF_FAST static inline __attribute__((always_inline))

/* Biased exponent 1..0x7ffe with the integer bit set. */
SF_FAST bool f80_is_normal(struct f80 v)
{
    return (unsigned)((v.se & 0x7fff) - 1) < 0x7ffe && (int64_t)v.mant < 0;
}

/*
 * The control words the fast paths serve: rounding to nearest, with the
 * precision exception masked (so the only exception they can raise needs
 * no more than a status bit).
 */
#define FR_MODE_MASK ((3u << FCW_RC_SHIFT) | FSW_PE)
#define FR_MODE_WANT FSW_PE
/* The number of significand bits the precision control drops: 64 minus
 * 24, 64, 53 or 64 (PC 01, reserved, behaves as 64: see sf_env_from_cw). */
SF_FAST unsigned fr_shift(uint16_t cw)
{
    static const uint8_t shift[4] = { 40, 0, 11, 0 };
    return shift[(cw >> FCW_PC_SHIFT) & 3];
}

/*
 * Round hi:lo to nearest, ties to even, keeping 64 - shift bits. hi is
 * normalized; lo stands for the bits below it: its top bit is the next
 * bit, and it is nonzero exactly when anything below hi is (that is all
 * rounding needs, so callers may pass a condensed word). Returns the
 * rounded significand and sets *carry when rounding carried out of bit 63
 * (the significand is then 2^63 and the exponent grows by one). *flags
 * gets FSW_PE when inexact, and FSW_C1 too when rounded up.
 */
SF_FAST uint64_t fr_round(uint64_t hi, uint64_t lo, unsigned shift, unsigned *carry, unsigned *flags)
{
    uint64_t g = lo; /* the dropped bits, left-aligned, sticky in bit 0 */
    if (shift) { /* the 64-bit case (shift 0) is common and simpler apart */
        g = (hi << (64 - shift)) | (lo != 0);
        hi &= ~0ull << shift;
    }
    /* Up when g is above half, or exactly half with the kept lsb odd.
     * Whether it is goes either way at random, so everything here is
     * computed without branches (a mispredicted one costs more than the
     * whole rounding). */
    uint64_t inc = g > (1ull << 63) - ((hi >> shift) & 1);
    *flags = (unsigned)(g != 0) * FSW_PE | (unsigned)inc * FSW_C1;
    uint64_t m = hi + (inc << shift);
    *carry = m < hi; /* all ones rounded up to 2^64: m is 0 */
    return m | (uint64_t)*carry << 63;
}
SF_FAST bool fr_pack_at(struct f80 *r, unsigned *flags, unsigned sign, int32_t bexp, uint64_t hi, uint64_t lo,
                        unsigned shift)
{
    if ((uint32_t)(bexp - 1) >= 0x7ffe)
        return false;
    unsigned carry;
    uint64_t m = fr_round(hi, lo, shift, &carry, flags);
    bexp += (int32_t)carry;
    if (bexp == 0x7fff)
        return false;
    r->mant = m;
    r->se = (uint16_t)(sign | (unsigned)bexp);
    return true;
}
/* The same, compiled apart for the full precision (shift 0, the default
 * and by far the most common) so that case has no shifts at all. */
SF_FAST bool fr_pack(struct f80 *r, unsigned *flags, unsigned sign, int32_t bexp, uint64_t hi, uint64_t lo,
                     unsigned shift)
{
    if (!shift)
        return fr_pack_at(r, flags, sign, bexp, hi, lo, 0);
    return fr_pack_at(r, flags, sign, bexp, hi, lo, shift);
}

/* Both normal: the integer bits tested at once. */
SF_FAST bool f80_normal2(struct f80 a, struct f80 b)
{
    return (unsigned)((a.se & 0x7fff) - 1) < 0x7ffe && (unsigned)((b.se & 0x7fff) - 1) < 0x7ffe &&
           (int64_t)(a.mant & b.mant) < 0;
}

/* A true zero (not a denormal). */
SF_FAST bool f80_is_zero(struct f80 v) { return !(v.se & 0x7fff) && !v.mant; }

/* The zero cases of the kernels below (operands zero or normal): a
 * product with a zero factor is a signed zero; a sum with a zero term is
 * the other term rounded to the precision; the sum of two zeros is +0
 * unless both are -0 (rounding to nearest). */
static inline bool fast_mul_zero(struct f80 a, struct f80 b, struct f80 *r, unsigned *flags)
{
    if (!(f80_is_zero(a) || f80_is_zero(b)) || !(f80_is_zero(a) || f80_is_normal(a)) ||
        !(f80_is_zero(b) || f80_is_normal(b)))
        return false;
    *r = f80_zero((a.se ^ b.se) >> 15);
    *flags = 0;
    return true;
}
static inline bool fast_add_zero(struct f80 a, struct f80 b, unsigned sb, unsigned shift, struct f80 *r,
                                 unsigned *flags)
{
    if (f80_is_zero(a) && f80_is_zero(b)) {
        *r = f80_zero((a.se & sb) >> 15);
        *flags = 0;
        return true;
    }
    if (f80_is_zero(a) && f80_is_normal(b))
        return fr_pack(r, flags, sb, (int32_t)f80_bexp(b), b.mant, 0, shift);
    if (f80_is_zero(b) && f80_is_normal(a))
        return fr_pack(r, flags, a.se & 0x8000u, (int32_t)f80_bexp(a), a.mant, 0, shift);
    return false;
}

/* a * b. The product of two significands has its top bit at 127 or 126,
 * either about equally often: normalized without a branch. */
SF_FAST bool fast_mul(struct f80 a, struct f80 b, unsigned shift, struct f80 *r, unsigned *flags)
{
    if (!f80_normal2(a, b))
        return fast_mul_zero(a, b, r, flags);
    u128 p = (u128)a.mant * b.mant;
    uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
    unsigned low = (unsigned)(~hi >> 63); /* top bit at 126: shift up by one */
    hi = (hi << low) | ((lo >> 63) & low);
    lo <<= low;
    int32_t bexp = (int32_t)f80_bexp(a) + (int32_t)f80_bexp(b) - F80_BIAS + 1 - (int32_t)low;
    return fr_pack(r, flags, (a.se ^ b.se) & 0x8000u, bexp, hi, lo, shift);
}

/*
 * b's significand shifted right by d into a 128-bit window *bh:*bl. Exact
 * for d <= 64; beyond, the bits that fall out are ORed into bit 0, a
 * sticky bit far below any rounding position (normalizing a difference
 * shifts left by at most one when d >= 2).
 */
SF_FAST void fr_align(uint64_t mb, uint32_t d, uint64_t *bh, uint64_t *bl)
{
    if (d < 64) {
        *bh = mb >> d;
        *bl = (mb << (63 - d)) << 1; /* 0 when d is 0 */
    } else {
        *bh = 0;
        *bl = d == 64 ? mb : d < 128 ? (mb >> (d - 64)) | ((mb << (128 - d)) != 0) : 1;
    }
}

/* a + b, or a - b when `sub`, in a 128-bit window with the larger
 * magnitude on top. */
SF_FAST bool fast_add(struct f80 a, struct f80 b, bool sub, unsigned shift, struct f80 *r, unsigned *flags)
{
    unsigned sa = a.se & 0x8000u, sb = (b.se & 0x8000u) ^ (sub ? 0x8000u : 0);
    if (!f80_normal2(a, b))
        return fast_add_zero(a, b, sb, shift, r, flags);
    int32_t ea = (int32_t)f80_bexp(a), eb = (int32_t)f80_bexp(b);
    uint64_t ma = a.mant, mb = b.mant;
    if (ea < eb || (ea == eb && ma < mb)) { /* |a| >= |b| from here */
        uint64_t tm = ma;
        int32_t te = ea;
        unsigned ts = sa;
        ma = mb, ea = eb, sa = sb;
        mb = tm, eb = te, sb = ts;
    }
    uint64_t bh, bl, hi, lo;
    fr_align(mb, (uint32_t)(ea - eb), &bh, &bl);
    if (sa == sb) {
        /* A carry out of bit 63 (about half the time: no branch) shifts
         * right by one, keeping the sticky bit. */
        hi = ma + bh;
        uint64_t c = hi < ma;
        lo = (bl >> c) | (bl & c) | (hi << 63 & -c);
        hi = (hi >> c) | (c << 63);
        ea += (int32_t)c;
    } else {
        lo = 0 - bl;
        hi = ma - bh - (bl != 0);
        if (!(hi >> 63)) { /* cancellation: normalize */
            if (!(hi | lo)) { /* exact zero: +0 (-0 only rounding down) */
                *r = f80_zero(0);
                *flags = 0;
                return true;
            }
            int sh = hi ? __builtin_clzll(hi) : 64 + __builtin_clzll(lo);
            if (sh < 64) {
                hi = (hi << sh) | (lo >> (64 - sh));
                lo <<= sh;
            } else {
                hi = lo << (sh - 64);
                lo = 0;
            }
            ea -= sh;
        }
    }
    return fr_pack(r, flags, sa, ea, hi, lo, shift);
}

/* a / b: one 128-by-64 division (the quotient's 64 bits and the
 * remainder tell everything rounding needs). */
SF_FAST bool fast_div(struct f80 a, struct f80 b, unsigned shift, struct f80 *r, unsigned *flags)
{
    if (!f80_normal2(a, b))
        return false;
    uint64_t lo;
    int below;
    uint64_t q = sf_div_sig(a.mant, b.mant, &lo, &below);
    int32_t bexp = (int32_t)f80_bexp(a) - (int32_t)f80_bexp(b) + F80_BIAS - below;
    return fr_pack(r, flags, (a.se ^ b.se) & 0x8000u, bexp, q, lo, shift);
}

/* sqrt(a) for a positive normal a (the root of a normal is normal). This
 * one calls sf_isqrt128: a few divisions dwarf the call. */
SF_FAST bool fast_sqrt(struct f80 a, unsigned shift, struct f80 *r, unsigned *flags)
{
    if (!f80_is_normal(a) || f80_sign(a))
        return false;
    int32_t rexp;
    uint64_t lo, root = sf_sqrt_sig(a.mant, (int32_t)f80_bexp(a) - F80_BIAS, &rexp, &lo);
    return fr_pack(r, flags, 0, rexp + F80_BIAS, root, lo, shift);
}

/* ---- Memory formats ---- */

/* float64 / float32 loads of normal numbers are exact re-encodings. */
SF_FAST bool fast_from_f64(uint64_t v, struct f80 *r)
{
    unsigned be = (unsigned)(v >> 52) & 0x7ff;
    if (be - 1 >= 0x7fe)
        return false;
    *r = f80_make((int)(v >> 63), be + (F80_BIAS - 1023), (1ull << 63) | (v << 11));
    return true;
}
SF_FAST bool fast_from_f32(uint32_t v, struct f80 *r)
{
    unsigned be = (v >> 23) & 0xff;
    if (be - 1 >= 0xfe)
        return false;
    *r = f80_make((int)(v >> 31), be + (F80_BIAS - 127), (1ull << 63) | ((uint64_t)v << 40));
    return true;
}
/* A nonzero integer is a normal extended number, exactly. */
SF_FAST bool fast_from_int(int64_t v, struct f80 *r)
{
    if (!v)
        return false;
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int sh = __builtin_clzll(m);
    *r = f80_make(v < 0, (unsigned)(F80_BIAS + 63 - sh), m << sh);
    return true;
}

/*
 * Stores to float64 / float32 (`fbits` fraction and `ebits` exponent bits)
 * when the value rounds to a normal number of the format (stores round
 * with RC, never PC: the caller has checked FR_MODE_*). Otherwise false:
 * the general conversion handles NaNs, overflow, underflow and denormal
 * results.
 */
SF_FAST bool fast_to_ieee(struct f80 v, int fbits, int ebits, uint64_t *out, unsigned *flags)
{
    if (!f80_is_normal(v))
        return false;
    int32_t bias = (1 << (ebits - 1)) - 1, emax_b = 2 * bias;
    int32_t be = (int32_t)f80_bexp(v) - F80_BIAS + bias;
    if (be < 1 || be > emax_b)
        return false;
    unsigned carry;
    uint64_t m = fr_round(v.mant, 0, (unsigned)(63 - fbits), &carry, flags);
    be += (int32_t)carry;
    if (be > emax_b)
        return false;
    *out = ((uint64_t)f80_sign(v) << (fbits + ebits)) | ((uint64_t)be << fbits) | ((m << 1) >> (64 - fbits));
    return true;
}

/* ---- Comparison ---- */

/* Order of two normal numbers (SF_LT/SF_EQ/SF_GT), or -1 when either is
 * not normal. */
SF_FAST int fast_compare(struct f80 a, struct f80 b)
{
    if (!f80_is_normal(a) || !f80_is_normal(b))
        return -1;
    if (f80_sign(a) != f80_sign(b))
        return f80_sign(a) ? SF_LT : SF_GT;
    /* Same sign: magnitudes order as (exponent, significand). */
    uint32_t ka = a.se & 0x7fff, kb = b.se & 0x7fff;
    int mag = ka != kb ? (ka > kb ? 1 : -1) : (a.mant > b.mant) - (a.mant < b.mant);
    if (!mag)
        return SF_EQ;
    return (mag > 0) != (f80_sign(a) != 0) ? SF_GT : SF_LT;
}

#endif
