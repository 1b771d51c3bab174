/*
 * The x87 arithmetic core on 80-bit extended values: unpacking, the one
 * rounding routine, NaN propagation, and the basic operations (add,
 * multiply, divide, square root, round to integer, scale, extract,
 * partial remainder, compare). Conversions to memory formats live in
 * sf80_conv.c; the transcendental functions in fpu_trans.c.
 *
 * Everything is integer arithmetic on 64-bit significands widened to 128
 * bits: a 128-bit significand leaves 64 guard bits below an extended
 * result, so every operation here is rounded once, exactly (division and
 * square root carry a sticky bit for the bits they do not develop).
 */
#include "cpu/x87/sf80.h"

static inline int clz64(uint64_t x) { return __builtin_clzll(x); }

/* ---- Unpacking and repacking ---- */

struct fx fx_from_f80(struct f80 v)
{
    struct fx a = { FX_FIN, (uint8_t)(v.se >> 15), 0, 0, v.mant };
    unsigned be = v.se & 0x7fff;
    if (be == 0) {
        if (v.mant == 0) {
            a.cls = FX_ZERO;
        } else {
            /* Denormal, or pseudo-denormal (integer bit set): both have the
             * value mant * 2^(1 - bias - 63) and raise #D when used. */
            int sh = clz64(v.mant);
            a.denorm = 1;
            a.sig = v.mant << sh;
            a.exp = 1 - F80_BIAS - sh;
        }
    } else if (!(v.mant >> 63)) {
        a.cls = FX_BAD; /* unnormal, pseudo-infinity, pseudo-NaN */
    } else if (be == 0x7fff) {
        a.cls = (v.mant << 1) ? FX_NAN : FX_INF;
    } else {
        a.exp = (int32_t)be - F80_BIAS;
    }
    return a;
}

struct f80 fx_to_f80(struct fx a)
{
    switch (a.cls) {
    case FX_ZERO: return f80_zero(a.sign);
    case FX_INF: return f80_inf(a.sign);
    case FX_NAN: return f80_make(a.sign, 0x7fff, a.sig);
    case FX_BAD: return f80_indefinite();
    }
    int32_t be = a.exp + F80_BIAS;
    if (be >= 1)
        return f80_make(a.sign, (unsigned)be, a.sig);
    return f80_make(a.sign, 0, be > -63 ? a.sig >> (1 - be) : 0);
}

/* ---- Rounding ---- */

/* Round sig at bit `lsb` (64..104). Sets *inexact and *up; returns the
 * rounded significand, and *carry when it overflowed bit 127 (then the
 * returned value is 1 << 127 and the exponent must grow by one). */
static u128 round_sig(u128 sig, int lsb, int rc, int sign, bool *inexact, bool *up, bool *carry)
{
    u128 mask = ((u128)1 << lsb) - 1;
    u128 rem = sig & mask;
    sig &= ~mask;
    *inexact = rem != 0;
    *up = false;
    *carry = false;
    if (!rem)
        return sig;
    u128 half = (u128)1 << (lsb - 1);
    bool inc;
    switch (rc) {
    case RC_NEAREST: inc = rem > half || (rem == half && ((sig >> lsb) & 1)); break;
    case RC_DOWN: inc = sign; break;
    case RC_UP: inc = !sign; break;
    default: inc = false; break;
    }
    if (inc) {
        u128 n = sig + ((u128)1 << lsb);
        *up = true;
        if (n < sig) {
            *carry = true;
            n = (u128)1 << 127;
        }
        sig = n;
    }
    return sig;
}

/* Destination format for rounding. */
struct rfmt {
    int prec;     /* significand bits */
    int32_t emin; /* exponent of the smallest normal */
    int32_t emax; /* exponent of the largest finite */
};

/* Rounded result: FX_ZERO, FX_FIN (sig bit 63 clear = denormal, exp ==
 * emin) or FX_INF, in struct fx form. */
static struct fx sf_round(struct sf_env *e, int sign, int32_t exp, u128 sig, const struct rfmt *f, bool reg)
{
    struct fx r = { FX_ZERO, (uint8_t)sign, 0, 0, 0 };
    if (sig == 0)
        return r;
    int sh = clz128(sig);
    sig <<= sh;
    exp -= sh;
    int lsb = 128 - f->prec;
    bool inexact, up, carry;
    u128 rs = round_sig(sig, lsb, e->rc, sign, &inexact, &up, &carry);
    int32_t rexp = exp + carry;
    r.cls = FX_FIN;
    if (rexp < f->emin) {
        /* Tiny (after rounding, with unbounded exponent). */
        if (!(e->masks & FSW_UE)) {
            /* Unmasked: a register gets the exponent wrapped by +24576
             * (zero if even that is too small, as FSCALE can make it);
             * a memory destination is not written and only #U is
             * reported. */
            e->flags |= FSW_UE;
            if (!reg)
                return r;
            if (rexp + F80_WRAP < f->emin) {
                e->flags |= FSW_PE;
                r.cls = FX_ZERO;
                return r;
            }
            e->flags |= inexact ? FSW_PE : 0;
            e->up = up;
            r.exp = rexp + F80_WRAP;
            r.sig = (uint64_t)(rs >> 64);
            return r;
        }
        u128 d = shr_jam(sig, f->emin - exp);
        rs = round_sig(d, lsb, e->rc, sign, &inexact, &up, &carry);
        if (inexact)
            e->flags |= FSW_UE | FSW_PE;
        e->up = up;
        r.exp = f->emin;
        r.sig = (uint64_t)(rs >> 64);
        if (!r.sig)
            r.cls = FX_ZERO;
        return r;
    }
    if (exp < f->emin) {
        /* Below the normal range before rounding but not after: the
         * denormalized rounding lands on the smallest normal as well. */
        u128 d = shr_jam(sig, f->emin - exp);
        rs = round_sig(d, lsb, e->rc, sign, &inexact, &up, &carry);
        rexp = f->emin;
    }
    if (rexp > f->emax) {
        e->flags |= FSW_OE;
        if (!(e->masks & FSW_OE)) {
            /* Unmasked: as for underflow, wrapped by -24576 (infinity
             * when still too large), memory destinations untouched. */
            if (!reg)
                return r;
            if (rexp - F80_WRAP > f->emax) {
                e->flags |= FSW_PE;
                e->up = 1;
                r.cls = FX_INF;
                return r;
            }
            e->flags |= inexact ? FSW_PE : 0;
            e->up = up;
            r.exp = rexp - F80_WRAP;
            r.sig = (uint64_t)(rs >> 64);
            return r;
        }
        e->flags |= FSW_PE;
        bool to_inf;
        switch (e->rc) {
        case RC_NEAREST: to_inf = true; break;
        case RC_DOWN: to_inf = sign; break;
        case RC_UP: to_inf = !sign; break;
        default: to_inf = false; break;
        }
        e->up = to_inf;
        if (to_inf) {
            r.cls = FX_INF;
        } else {
            r.exp = f->emax;
            r.sig = ~0ull << (64 - f->prec);
        }
        return r;
    }
    if (inexact)
        e->flags |= FSW_PE;
    e->up = up;
    r.exp = rexp;
    r.sig = (uint64_t)(rs >> 64);
    return r;
}

static struct f80 pack80(struct fx r, int32_t emin)
{
    if (r.cls != FX_FIN)
        return fx_to_f80(r);
    int32_t be = r.exp + F80_BIAS;
    if (r.exp == emin && !(r.sig >> 63))
        be = 0;
    return f80_make(r.sign, (unsigned)be & 0x7fff, r.sig);
}

struct f80 sf_round80(struct sf_env *e, int sign, int32_t exp, u128 sig, int prec, bool reg)
{
    struct rfmt f = { prec, 1 - F80_BIAS, F80_BIAS };
    return pack80(sf_round(e, sign, exp, sig, &f, reg), f.emin);
}

/* Memory formats share the rounding: exported to sf80_conv.c. */
struct fx sf_round_fmt(struct sf_env *e, int sign, int32_t exp, u128 sig, int prec, int32_t emin, int32_t emax)
{
    struct rfmt f = { prec, emin, emax };
    return sf_round(e, sign, exp, sig, &f, false);
}

/* ---- Exceptional operands ---- */

struct f80 sf_invalid(struct sf_env *e)
{
    e->flags |= FSW_IE;
    return f80_indefinite();
}

static inline bool fx_snan(struct fx a) { return a.cls == FX_NAN && !(a.sig & (1ull << 62)); }
static inline struct f80 fx_quiet(struct fx a) { return f80_make(a.sign, 0x7fff, a.sig | (1ull << 62)); }

bool sf_nan1(struct sf_env *e, struct fx a, struct f80 *r)
{
    if (a.cls == FX_BAD) {
        *r = sf_invalid(e);
        return true;
    }
    if (a.cls != FX_NAN)
        return false;
    if (fx_snan(a))
        e->flags |= FSW_IE;
    *r = fx_quiet(a);
    return true;
}

bool sf_nan2(struct sf_env *e, struct fx a, struct fx b, struct f80 *r)
{
    if (a.cls == FX_BAD || b.cls == FX_BAD) {
        *r = sf_invalid(e);
        return true;
    }
    if (a.cls != FX_NAN && b.cls != FX_NAN)
        return false;
    bool sa = fx_snan(a), sb = fx_snan(b);
    if (sa || sb)
        e->flags |= FSW_IE;
    struct fx pick;
    if (a.cls == FX_NAN && b.cls == FX_NAN) {
        if (sa == sb) {
            /* Both signalling or both quiet: the larger significand wins;
             * on a tie, the one with the positive sign. */
            uint64_t ma = a.sig << 1, mb = b.sig << 1;
            if (ma != mb)
                pick = ma > mb ? a : b;
            else
                pick = a.sign ? b : a;
        } else {
            pick = sa ? b : a; /* the quiet one */
        }
    } else {
        pick = a.cls == FX_NAN ? a : b;
    }
    *r = fx_quiet(pick);
    return true;
}

bool sf_denormal(struct sf_env *e, struct fx a, struct fx b)
{
    if ((a.cls == FX_FIN && a.denorm) || (b.cls == FX_FIN && b.denorm)) {
        e->flags |= FSW_DE;
        return !(e->masks & FSW_DE);
    }
    return false;
}

static const struct fx fx_none = { FX_ZERO, 0, 0, 0, 0 };

/* ---- Basic arithmetic ---- */

struct f80 sf_add(struct sf_env *e, struct fx a, struct fx b, bool sub)
{
    struct f80 r;
    if (sf_nan2(e, a, b, &r))
        return r;
    if (sub)
        b.sign ^= 1;
    if (a.cls == FX_INF || b.cls == FX_INF) {
        if (a.cls == FX_INF && b.cls == FX_INF && a.sign != b.sign)
            return sf_invalid(e);
        sf_denormal(e, a, b);
        return f80_inf(a.cls == FX_INF ? a.sign : b.sign);
    }
    if (sf_denormal(e, a, b))
        return f80_indefinite();
    if (a.cls == FX_ZERO && b.cls == FX_ZERO)
        return f80_zero(a.sign == b.sign ? a.sign : e->rc == RC_DOWN);
    if (a.cls == FX_ZERO)
        return sf_round80(e, b.sign, b.exp, (u128)b.sig << 64, e->prec, true);
    if (b.cls == FX_ZERO)
        return sf_round80(e, a.sign, a.exp, (u128)a.sig << 64, e->prec, true);
    if (a.exp < b.exp || (a.exp == b.exp && a.sig < b.sig)) {
        struct fx t = a;
        a = b;
        b = t;
    }
    u128 x = (u128)a.sig << 63;
    u128 y = shr_jam((u128)b.sig << 63, a.exp - b.exp);
    if (a.sign == b.sign)
        return sf_round80(e, a.sign, a.exp + 1, x + y, e->prec, true);
    if (x == y)
        return f80_zero(e->rc == RC_DOWN);
    return sf_round80(e, a.sign, a.exp + 1, x - y, e->prec, true);
}

struct f80 sf_mul(struct sf_env *e, struct fx a, struct fx b)
{
    struct f80 r;
    if (sf_nan2(e, a, b, &r))
        return r;
    int s = a.sign ^ b.sign;
    if (a.cls == FX_INF || b.cls == FX_INF) {
        if (a.cls == FX_ZERO || b.cls == FX_ZERO)
            return sf_invalid(e);
        sf_denormal(e, a, b);
        return f80_inf(s);
    }
    if (sf_denormal(e, a, b))
        return f80_indefinite();
    if (a.cls == FX_ZERO || b.cls == FX_ZERO)
        return f80_zero(s);
    return sf_round80(e, s, a.exp + b.exp + 1, (u128)a.sig * b.sig, e->prec, true);
}

struct f80 sf_div(struct sf_env *e, struct fx a, struct fx b)
{
    struct f80 r;
    if (sf_nan2(e, a, b, &r))
        return r;
    int s = a.sign ^ b.sign;
    if (a.cls == FX_INF) {
        if (b.cls == FX_INF)
            return sf_invalid(e);
        sf_denormal(e, a, b);
        return f80_inf(s);
    }
    if (b.cls == FX_INF) {
        sf_denormal(e, a, b);
        return f80_zero(s);
    }
    if (b.cls == FX_ZERO) {
        if (a.cls == FX_ZERO)
            return sf_invalid(e);
        /* Zero divide outranks a denormal dividend: no #D. */
        e->flags |= FSW_ZE;
        return f80_inf(s);
    }
    if (sf_denormal(e, a, b))
        return f80_indefinite();
    if (a.cls == FX_ZERO)
        return f80_zero(s);
    uint64_t lo;
    int below;
    uint64_t q = sf_div_sig(a.sig, b.sig, &lo, &below);
    return sf_round80(e, s, a.exp - b.exp - below, ((u128)q << 64) | lo, e->prec, true);
}

/* Over-estimates of sqrt(m) for m in [k, k + 1) * 2^122, k = 16..63:
 * entry k - 16 is ceil(sqrt((k + 1) * 2^32)), to be shifted left by 45.
 * Within 2^-5 of the root, which four Newton steps take to 2^-95. */
static const uint32_t isqrt_seed[48] = {
    270212, 278046, 285665, 293086, 300324, 307392, 314300, 321060, 327680, 334170, 340536, 346784,
    352923, 358956, 364890, 370728, 376476, 382138, 387717, 393216, 398640, 403992, 409273, 414487,
    419636, 424722, 429749, 434717, 439629, 444487, 449293, 454047, 458752, 463410, 468021, 472587,
    477110, 481590, 486028, 490427, 494786, 499108, 503392, 507640, 511853, 516031, 520176, 524288,
};

uint64_t sf_isqrt128(u128 m)
{
    /* Integer Newton steps x' = (x + m / x) / 2 from above never fall
     * below floor(sqrt(m)), so every quotient fits 65 bits and clamping x
     * to 64 bits keeps it an over-estimate. Four steps leave x within one
     * of the root; the last comparison settles it exactly. */
    u128 x = (u128)isqrt_seed[(unsigned)(m >> 122) - 16] << 45;
    const u128 max = ~0ull;
    for (int k = 0; k < 4; k++) {
        if (x > max)
            x = max;
        x = (x + m / x) >> 1;
    }
    if (x > max)
        x = max;
    while (x * x > m)
        x--;
    return (uint64_t)x;
}

struct f80 sf_sqrt(struct sf_env *e, struct fx a)
{
    struct f80 r;
    if (sf_nan1(e, a, &r))
        return r;
    if (a.cls == FX_ZERO)
        return f80_zero(a.sign);
    if (a.sign)
        return sf_invalid(e);
    if (a.cls == FX_INF)
        return f80_inf(0);
    if (sf_denormal(e, a, fx_none))
        return f80_indefinite();
    int32_t rexp;
    uint64_t lo, root = sf_sqrt_sig(a.sig, a.exp, &rexp, &lo);
    return sf_round80(e, 0, rexp, ((u128)root << 64) | lo, e->prec, true);
}

struct f80 sf_rndint(struct sf_env *e, struct fx a)
{
    struct f80 r;
    if (sf_nan1(e, a, &r))
        return r;
    if (a.cls != FX_FIN)
        return fx_to_f80(a);
    if (sf_denormal(e, a, fx_none))
        return f80_indefinite();
    if (a.exp >= 63)
        return fx_to_f80(a);
    /* Integer part in bits 127..64, fraction below. */
    u128 x = shr_jam((u128)a.sig << 64, 63 - a.exp);
    bool inexact, up, carry;
    x = round_sig(x, 64, e->rc, a.sign, &inexact, &up, &carry);
    if (inexact)
        e->flags |= FSW_PE;
    e->up = up;
    uint64_t n = (uint64_t)(x >> 64);
    if (!n)
        return f80_zero(a.sign);
    int sh = clz64(n);
    return f80_make(a.sign, (unsigned)(F80_BIAS + 63 - sh), n << sh);
}

struct f80 sf_scale(struct sf_env *e, struct fx a, struct fx b)
{
    struct f80 r;
    if (sf_nan2(e, a, b, &r))
        return r;
    if (b.cls == FX_INF) {
        if (!b.sign) {
            if (a.cls == FX_ZERO)
                return sf_invalid(e);
            if (sf_denormal(e, a, fx_none))
                return f80_indefinite();
            return f80_inf(a.sign);
        }
        if (a.cls == FX_INF)
            return sf_invalid(e);
        if (sf_denormal(e, a, fx_none))
            return f80_indefinite();
        return f80_zero(a.sign);
    }
    if (sf_denormal(e, a, b))
        return f80_indefinite();
    if (a.cls != FX_FIN || b.cls == FX_ZERO)
        return fx_to_f80(a); /* scaling by +-0 returns ST(0) as is, no #U (host x87) */
    int32_t n = 0;
    if (b.cls == FX_FIN && b.exp >= 0)
        n = b.exp >= 20 ? (1 << 20) : (int32_t)(b.sig >> (63 - b.exp));
    if (b.sign)
        n = -n;
    return sf_round80(e, a.sign, a.exp + n, (u128)a.sig << 64, 64, true);
}

struct f80 sf_xtract(struct sf_env *e, struct fx a, struct f80 *sig)
{
    struct f80 r;
    if (sf_nan1(e, a, &r)) {
        *sig = r;
        return r;
    }
    if (a.cls == FX_ZERO) {
        e->flags |= FSW_ZE;
        *sig = f80_zero(a.sign);
        return f80_inf(1);
    }
    if (a.cls == FX_INF) {
        *sig = f80_inf(a.sign);
        return f80_inf(0);
    }
    if (sf_denormal(e, a, fx_none)) {
        *sig = f80_indefinite();
        return *sig;
    }
    *sig = f80_make(a.sign, F80_BIAS, a.sig);
    return fx_to_f80(fx_from_int(a.exp));
}

struct f80 sf_rem(struct sf_env *e, struct fx a, struct fx b, bool round, uint16_t *cc)
{
    struct f80 r;
    *cc = 0;
    if (sf_nan2(e, a, b, &r))
        return r;
    if (a.cls == FX_INF || b.cls == FX_ZERO)
        return sf_invalid(e);
    if (sf_denormal(e, a, b))
        return f80_indefinite();
    if (b.cls == FX_INF || a.cls == FX_ZERO)
        return fx_to_f80(a); /* the dividend itself, even a denormal: no #U */
    int32_t d = a.exp - b.exp;
    int sign = a.sign;
    uint64_t q = 0, rs;
    int32_t rexp; /* exponent of bit 63 of rs */
    if (d >= 64) {
        /* Partial remainder: reduce the exponent by N = 32 + D mod 32 (as
         * the host's x87 does), quotient bits not reported. */
        int n = 32 + (d & 31);
        rs = (uint64_t)(((u128)a.sig << n) % b.sig);
        rexp = b.exp + (d - n);
        *cc = FSW_C2;
        if (!rs)
            return f80_zero(sign);
        return sf_round80(e, sign, rexp, (u128)rs << 64, 64, true);
    }
    if (d >= 0) {
        u128 x = (u128)a.sig << d;
        q = (uint64_t)(x / b.sig);
        rs = (uint64_t)(x % b.sig);
        rexp = b.exp;
        if (round && (rs > b.sig - rs || (rs == b.sig - rs && (q & 1)))) {
            rs = b.sig - rs;
            q++;
            sign ^= 1;
        }
    } else {
        rs = a.sig;
        rexp = a.exp;
        if (round && d == -1 && a.sig > b.sig) {
            /* |a| > |b|/2: a - b, computed at a's scale. */
            rs = (uint64_t)(((u128)b.sig << 1) - a.sig);
            q = 1;
            sign ^= 1;
        }
    }
    *cc = (uint16_t)(((q >> 2) & 1 ? FSW_C0 : 0) | ((q >> 1) & 1 ? FSW_C3 : 0) | (q & 1 ? FSW_C1 : 0));
    if (!rs)
        return f80_zero(a.sign);
    return sf_round80(e, sign, rexp, (u128)rs << 64, 64, true);
}

int sf_compare(struct sf_env *e, struct fx a, struct fx b, bool quiet)
{
    if (a.cls == FX_BAD || b.cls == FX_BAD) {
        e->flags |= FSW_IE;
        return SF_UN;
    }
    if (a.cls == FX_NAN || b.cls == FX_NAN) {
        if (!quiet || fx_snan(a) || fx_snan(b))
            e->flags |= FSW_IE;
        return SF_UN;
    }
    sf_denormal(e, a, b);
    if (a.cls == FX_ZERO && b.cls == FX_ZERO)
        return SF_EQ;
    /* Order by sign, then by magnitude: zero < finite < infinity. */
    if (a.cls == FX_ZERO)
        return b.sign ? SF_GT : SF_LT;
    if (b.cls == FX_ZERO)
        return a.sign ? SF_LT : SF_GT;
    if (a.sign != b.sign)
        return a.sign ? SF_LT : SF_GT;
    int mag; /* -1, 0, 1: |a| against |b| */
    if (a.cls == FX_INF || b.cls == FX_INF)
        mag = (a.cls == FX_INF) - (b.cls == FX_INF);
    else if (a.exp != b.exp)
        mag = a.exp > b.exp ? 1 : -1;
    else
        mag = (a.sig > b.sig) - (a.sig < b.sig);
    if (mag == 0)
        return SF_EQ;
    return (mag > 0) != (a.sign != 0) ? SF_GT : SF_LT;
}

/* ---- Classification ---- */

uint16_t sf_xam(struct f80 v)
{
    uint16_t c1 = f80_sign(v) ? FSW_C1 : 0;
    unsigned be = f80_bexp(v);
    if (be == 0) {
        if (v.mant == 0)
            return c1 | FSW_C3;          /* zero */
        return c1 | FSW_C3 | FSW_C2;     /* denormal (or pseudo-denormal) */
    }
    if (!(v.mant >> 63))
        return c1;                       /* unsupported */
    if (be == 0x7fff)
        return c1 | ((v.mant << 1) ? FSW_C0 : (FSW_C2 | FSW_C0)); /* NaN / infinity */
    return c1 | FSW_C2;                  /* normal */
}

int sf_tag(struct f80 v)
{
    unsigned be = f80_bexp(v);
    if (be == 0)
        return v.mant ? 2 : 1;
    if (be == 0x7fff || !(v.mant >> 63))
        return 2;
    return 0;
}
