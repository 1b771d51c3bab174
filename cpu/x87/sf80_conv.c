/*
 * Conversions between the x87's extended format and its memory formats:
 * float32 and float64 (FLD/FST and the arithmetic memory forms), 16/32/64-
 * bit integers (FILD/FIST and the integer arithmetic forms) and 18-digit
 * packed BCD (FBLD/FBSTP).
 *
 * Loads are exact (every memory value fits an extended one); a denormal
 * float32/64 is normalized and marked so the operation that uses it raises
 * #D. Stores round with the rounding control (never the precision
 * control) at the target's precision and exponent range through the same
 * rounding routine as the arithmetic (sf80.c), so masked overflow,
 * underflow and denormal results come out as IEEE prescribes.
 */
#include "cpu/x87/sf80.h"

struct fx sf_round_fmt(struct sf_env *e, int sign, int32_t exp, u128 sig, int prec, int32_t emin, int32_t emax);

/* A binary interchange value (float32/64) with `fbits` fraction bits. */
static struct fx fx_from_ieee(uint64_t v, int fbits, int ebits)
{
    int32_t bias = (1 << (ebits - 1)) - 1;
    uint64_t frac = v & ((1ull << fbits) - 1);
    unsigned be = (unsigned)(v >> fbits) & ((1u << ebits) - 1);
    struct fx a = { FX_FIN, (uint8_t)(v >> (fbits + ebits)), 0, 0, 0 };
    uint64_t m = frac << (63 - fbits);
    if (be == 0) {
        if (!frac) {
            a.cls = FX_ZERO;
            return a;
        }
        int sh = __builtin_clzll(m);
        a.denorm = 1;
        a.sig = m << sh;
        a.exp = 1 - bias - sh;
        return a;
    }
    a.sig = (1ull << 63) | m;
    if (be == (1u << ebits) - 1)
        a.cls = frac ? FX_NAN : FX_INF;
    else
        a.exp = (int32_t)be - bias;
    return a;
}

struct fx fx_from_f32(uint32_t v) { return fx_from_ieee(v, 23, 8); }
struct fx fx_from_f64(uint64_t v) { return fx_from_ieee(v, 52, 11); }

struct fx fx_from_int(int64_t v)
{
    struct fx a = { FX_ZERO, v < 0, 0, 0, 0 };
    if (!v)
        return a;
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int sh = __builtin_clzll(m);
    a.cls = FX_FIN;
    a.sig = m << sh;
    a.exp = 63 - sh;
    return a;
}

/* Digits A-F are not valid BCD; the result is then undefined, and we take
 * each nibble at its face value. */
struct fx fx_from_bcd(const uint8_t b[10])
{
    int64_t n = 0;
    for (int k = 8; k >= 0; k--)
        n = n * 100 + (b[k] >> 4) * 10 + (b[k] & 15);
    struct fx a = fx_from_int(n);
    a.sign = b[9] >> 7;
    return a;
}

/* Store to float32/float64: shared body. */
static uint64_t to_ieee(struct sf_env *e, struct f80 v, int fbits, int ebits)
{
    int32_t bias = (1 << (ebits - 1)) - 1;
    uint64_t sign = (uint64_t)f80_sign(v) << (fbits + ebits);
    uint64_t expall = ((1ull << ebits) - 1) << fbits;
    uint64_t quiet = 1ull << (fbits - 1);
    struct fx a = fx_from_f80(v);
    switch (a.cls) {
    case FX_BAD:
        e->flags |= FSW_IE;
        return (1ull << (fbits + ebits)) | expall | quiet;
    case FX_NAN:
        if (!(a.sig & (1ull << 62)))
            e->flags |= FSW_IE;
        return sign | expall | quiet | ((a.sig << 1) >> (64 - fbits));
    case FX_INF: return sign | expall;
    case FX_ZERO: return sign;
    }
    struct fx r = sf_round_fmt(e, a.sign, a.exp, (u128)a.sig << 64, fbits + 1, 1 - bias, bias);
    if (r.cls == FX_ZERO)
        return sign;
    if (r.cls == FX_INF)
        return sign | expall;
    uint64_t frac = (r.sig << 1) >> (64 - fbits);
    uint64_t be = (r.sig >> 63) ? (uint64_t)(r.exp + bias) : 0;
    return sign | ((be << fbits) & expall) | frac;
}

uint32_t sf_to_f32(struct sf_env *e, struct f80 v) { return (uint32_t)to_ieee(e, v, 23, 8); }
uint64_t sf_to_f64(struct sf_env *e, struct f80 v) { return to_ieee(e, v, 52, 11); }

/* Round a finite or zero operand to an integer magnitude; false when it is
 * not a number at all (NaN, infinity, unsupported). */
static bool round_int(struct sf_env *e, struct fx a, u128 *mag)
{
    if (a.cls == FX_ZERO) {
        *mag = 0;
        return true;
    }
    if (a.cls != FX_FIN)
        return false;
    if (a.exp >= 64) {
        *mag = (u128)1 << 64; /* certainly out of range */
        return true;
    }
    u128 x;
    int shift = 63 - a.exp; /* fraction bits of sig, may be negative */
    if (shift < 0) {
        *mag = (u128)a.sig << -shift;
        return true;
    }
    /* Integer part in bits 127..64 of x, fraction below, bits shifted
     * out of the 128-bit window kept as a sticky bit. */
    if (shift >= 128) {
        x = 1;
    } else {
        x = ((u128)a.sig << 64) >> shift;
        if (shift > 64 && (a.sig & ((1ull << (shift - 64)) - 1)))
            x |= 1;
    }
    u128 mask = ((u128)1 << 64) - 1, rem = x & mask, half = (u128)1 << 63;
    u128 ip = x >> 64;
    bool inc = false;
    if (rem) {
        e->flags |= FSW_PE;
        switch (e->rc) {
        case RC_NEAREST: inc = rem > half || (rem == half && (ip & 1)); break;
        case RC_DOWN: inc = a.sign; break;
        case RC_UP: inc = !a.sign; break;
        default: break;
        }
    }
    e->up = inc;
    *mag = ip + inc;
    return true;
}

int64_t sf_to_int(struct sf_env *e, struct f80 v, int bits)
{
    struct fx a = fx_from_f80(v);
    int64_t indef = (int64_t)(~0ull << (bits - 1));
    struct sf_env t = *e;
    u128 mag;
    if (!round_int(&t, a, &mag)) {
        e->flags |= FSW_IE;
        return indef;
    }
    u128 lim = ((u128)1 << (bits - 1)) - (a.sign ? 0 : 1);
    if (mag > lim) {
        e->flags |= FSW_IE;
        return indef;
    }
    *e = t;
    uint64_t m = (uint64_t)mag;
    return a.sign ? (int64_t)(0 - m) : (int64_t)m;
}

void sf_to_bcd(struct sf_env *e, struct f80 v, uint8_t out[10])
{
    struct fx a = fx_from_f80(v);
    struct sf_env t = *e;
    u128 mag;
    if (!round_int(&t, a, &mag) || mag > 999999999999999999ull) {
        static const uint8_t indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
        e->flags |= FSW_IE;
        for (int k = 0; k < 10; k++)
            out[k] = indef[k];
        return;
    }
    *e = t;
    uint64_t n = (uint64_t)mag;
    for (int k = 0; k < 9; k++) {
        unsigned lo = (unsigned)(n % 10);
        n /= 10;
        unsigned hi = (unsigned)(n % 10);
        n /= 10;
        out[k] = (uint8_t)(hi << 4 | lo);
    }
    out[9] = a.sign ? 0x80 : 0;
}
