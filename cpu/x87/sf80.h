/*
 * Soft-float on the x87's 80-bit extended format, with integer arithmetic
 * only (uint64_t and unsigned __int128), so that results are bit-identical
 * on every host: no long double, no host floating point anywhere.
 *
 * Shape
 * - Operands are first unpacked into `struct fx` (class, sign, exponent of
 *   the significand's top bit, normalized 64-bit significand). Unpacking
 *   notes denormal encodings (they raise #D when used) and classifies the
 *   encodings the 387 and later reject (unnormals, pseudo-NaN/infinity) as
 *   FX_BAD. Memory formats (float32/64, integers, BCD) unpack into the same
 *   struct, so one arithmetic routine serves every operand form.
 * - Every rounding goes through one routine (sf_round in sf80.c) that
 *   rounds a 128-bit significand at the destination precision in the four
 *   rounding modes, denormalizes at the destination's minimum exponent,
 *   and implements the x87's masked and unmasked overflow and underflow
 *   responses (the unmasked ones deliver the exponent wrapped by 24576
 *   when the destination is a register).
 * - Exceptions accumulate in `struct sf_env.flags` as status-word bits;
 *   `up` records that the last rounding increased the magnitude (the x87
 *   reports it in C1). Priorities follow the SDM (Vol. 1, 4.9.2 and
 *   8.5): invalid operand, then QNaN propagation, then the remaining
 *   invalid cases and zero divide, then denormal operand (an unmasked #D
 *   stops the operation), then overflow/underflow, then precision.
 * - The caller (the instruction handlers) decides what an unmasked
 *   exception means for its destination: sf_blocked() says whether the
 *   result must be discarded (unmasked IE, DE or ZE).
 */
#ifndef KESTREL_SF80_H
#define KESTREL_SF80_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

typedef unsigned __int128 u128;

/* Status word bits. */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3 0x4000u
#define FSW_B 0x8000u
#define FSW_EXC 0x003fu
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Control word fields. */
#define FCW_MASKS 0x003fu
#define FCW_PC_SHIFT 8
#define FCW_RC_SHIFT 10
enum { RC_NEAREST, RC_DOWN, RC_UP, RC_ZERO };

/* Exponent bias of the extended format and the unmasked-exception wrap. */
#define F80_BIAS 16383
#define F80_WRAP 24576

/* Per-operation context: the relevant control-word settings in, flags out. */
struct sf_env {
    uint8_t rc;     /* rounding control RC_* */
    uint8_t prec;   /* significand bits for the precision-controlled ops: 24, 53 or 64 */
    uint8_t masks;  /* exception mask bits (control word bits 0..5) */
    uint8_t up;     /* the last rounding increased the magnitude (C1) */
    uint16_t flags; /* FSW_IE..FSW_PE, FSW_SF raised by this operation */
};

/* Context from a control word. PC 01 (reserved) behaves as 64 bits. */
static inline struct sf_env sf_env_from_cw(uint16_t cw)
{
    static const uint8_t pcbits[4] = { 24, 64, 53, 64 };
    struct sf_env e = { (uint8_t)((cw >> FCW_RC_SHIFT) & 3), pcbits[(cw >> FCW_PC_SHIFT) & 3], (uint8_t)(cw & 0x3f),
                        0, 0 };
    return e;
}

/* An unmasked invalid, denormal or zero-divide exception: no result. */
static inline bool sf_blocked(const struct sf_env *e)
{
    return (e->flags & ~e->masks & (FSW_IE | FSW_DE | FSW_ZE)) != 0;
}

/* Leading zeros of a nonzero 128-bit value. */
static inline int clz128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)x);
}

/* Shift right, ORing every bit shifted out into bit 0 (sticky). */
static inline u128 shr_jam(u128 x, int32_t n)
{
    if (n <= 0)
        return x;
    if (n >= 128)
        return x != 0;
    return (x >> n) | ((x & (((u128)1 << n) - 1)) != 0);
}

/* Unpacked operand. */
enum fx_class { FX_ZERO, FX_FIN, FX_INF, FX_NAN, FX_BAD };
struct fx {
    uint8_t cls;    /* enum fx_class */
    uint8_t sign;   /* 1 = negative */
    uint8_t denorm; /* denormal or pseudo-denormal encoding (raises #D when used) */
    int32_t exp;    /* FX_FIN: unbiased exponent of significand bit 63 */
    uint64_t sig;   /* FX_FIN: normalized (bit 63 set); FX_NAN: the 64-bit significand, bit 62 = quiet */
};

/* Default NaN (the "real indefinite") and other constants. */
#define F80_QNAN_SIG 0xc000000000000000ull
static inline struct f80 f80_make(int sign, unsigned bexp, uint64_t mant)
{
    struct f80 r = { mant, (uint16_t)((sign ? 0x8000u : 0) | (bexp & 0x7fff)) };
    return r;
}
static inline struct f80 f80_indefinite(void) { return f80_make(1, 0x7fff, F80_QNAN_SIG); }
static inline struct f80 f80_zero(int sign) { return f80_make(sign, 0, 0); }
static inline struct f80 f80_inf(int sign) { return f80_make(sign, 0x7fff, 1ull << 63); }
static inline int f80_sign(struct f80 v) { return v.se >> 15; }
static inline unsigned f80_bexp(struct f80 v) { return v.se & 0x7fffu; }
static inline bool f80_is_nan(struct f80 v) { return f80_bexp(v) == 0x7fff && (v.mant << 1) != 0 && (v.mant >> 63); }
static inline bool f80_is_snan(struct f80 v) { return f80_is_nan(v) && !(v.mant & (1ull << 62)); }

/* Unpacking. */
struct fx fx_from_f80(struct f80 v);
struct fx fx_from_f32(uint32_t v);
struct fx fx_from_f64(uint64_t v);
struct fx fx_from_int(int64_t v);
struct fx fx_from_bcd(const uint8_t b[10]);
struct f80 fx_to_f80(struct fx a); /* exact repack (FX_FIN must be in range) */

/*
 * Rounding: value = sig * 2^(exp - 127) (sig need not be normalized,
 * sig == 0 gives a zero), rounded to `prec` bits for an extended-format
 * destination. `reg`: the destination is a register, so unmasked
 * overflow/underflow deliver the wrapped exponent.
 */
struct f80 sf_round80(struct sf_env *e, int sign, int32_t exp, u128 sig, int prec, bool reg);

/*
 * Significand cores shared by the general operations below and the fast
 * paths (sf80_fast.h), so both develop the same bits. Each returns a
 * normalized 64-bit significand and a word `lo` standing for the bits
 * below it: its top bit is the next bit of the exact result, and the rest
 * is nonzero exactly when anything beyond is. That is all a rounding at
 * 64 bits or fewer needs, and it costs one division (one square root)
 * instead of developing 128 bits.
 */
/* a / b for normalized a, b; *below = 1 when a < b (then the quotient's
 * top bit weighs 2^-1, else 2^0). */
static inline uint64_t sf_div_sig(uint64_t a, uint64_t b, uint64_t *lo, int *below)
{
    *below = a < b;
    u128 num = (u128)a << (63 + *below);
    uint64_t q = (uint64_t)(num / b);
    uint64_t r = (uint64_t)num - q * b; /* the remainder, < b */
    uint64_t rest = b - r;             /* r against b / 2, without overflow */
    *lo = !r ? 0 : r > rest ? (1ull << 63) | 1 : r == rest ? 1ull << 63 : 1;
    return q;
}
/* floor(sqrt(m)) for m in [2^126, 2^128). */
uint64_t sf_isqrt128(u128 m);
/* Square root of sig * 2^(exp - 63), sig normalized: the root's top bit
 * weighs 2^*rexp. */
static inline uint64_t sf_sqrt_sig(uint64_t sig, int32_t exp, int32_t *rexp, uint64_t *lo)
{
    /* m = sig * 2^k with k = 63 or 64 so that exp - 63 - k is even: then
     * sqrt(value) = sqrt(m) * 2^((exp - 63 - k) / 2), and the root of m has
     * exactly 64 bits, its top bit weighing 2^floor(exp / 2). The remainder
     * m - r^2 (at most 2r) tells the rest: above r means above half an ulp;
     * exactly half is impossible for an integer m. */
    u128 m = (u128)sig << (63 + (exp & 1));
    uint64_t r = sf_isqrt128(m);
    u128 rem = m - (u128)r * r;
    *lo = !rem ? 0 : rem > r ? (1ull << 63) | 1 : 1;
    *rexp = exp >> 1; /* arithmetic shift: floor */
    return r;
}

/* Arithmetic (the precision-controlled ones use e->prec). */
struct f80 sf_add(struct sf_env *e, struct fx a, struct fx b, bool sub);
struct f80 sf_mul(struct sf_env *e, struct fx a, struct fx b);
struct f80 sf_div(struct sf_env *e, struct fx a, struct fx b);
struct f80 sf_sqrt(struct sf_env *e, struct fx a);
struct f80 sf_rndint(struct sf_env *e, struct fx a);
struct f80 sf_scale(struct sf_env *e, struct fx a, struct fx b);
/* FXTRACT: significand into *sig, exponent returned. */
struct f80 sf_xtract(struct sf_env *e, struct fx a, struct f80 *sig);
/* FPREM (round = false) / FPREM1 (true): remainder; *cc gets C0..C3 as FSW bits. */
struct f80 sf_rem(struct sf_env *e, struct fx a, struct fx b, bool round, uint16_t *cc);

/* Comparison: returns one of these; raises IE for SNaN (any NaN when !quiet)
 * and for unsupported encodings, DE for denormals. */
enum { SF_LT, SF_EQ, SF_GT, SF_UN };
int sf_compare(struct sf_env *e, struct fx a, struct fx b, bool quiet);

/* Stores to memory formats. Masked invalid gives the format's indefinite. */
uint32_t sf_to_f32(struct sf_env *e, struct f80 v);
uint64_t sf_to_f64(struct sf_env *e, struct f80 v);
int64_t sf_to_int(struct sf_env *e, struct f80 v, int bits);
void sf_to_bcd(struct sf_env *e, struct f80 v, uint8_t out[10]);

/* NaN propagation shared with the transcendentals: the result of an
 * operation with NaN or unsupported operands (raises IE as needed).
 * Returns false when no operand is a NaN or unsupported. */
bool sf_nan2(struct sf_env *e, struct fx a, struct fx b, struct f80 *r);
bool sf_nan1(struct sf_env *e, struct fx a, struct f80 *r);
/* Raise IE and return the default NaN. */
struct f80 sf_invalid(struct sf_env *e);
/* Note a denormal operand; returns true when #D is unmasked (stop). */
bool sf_denormal(struct sf_env *e, struct fx a, struct fx b);

/* FXAM classification into C0..C3 (status-word bits); empty handled by the caller. */
uint16_t sf_xam(struct f80 v);
/* The tag (0 valid, 1 zero, 2 special) of a register's contents. */
int sf_tag(struct f80 v);

#endif
