/*
 * x87 transcendental functions (F2XM1 FYL2X FYL2XP1 FPATAN FSIN FCOS
 * FSINCOS FPTAN) computed with integer arithmetic.
 *
 * Method: a small floating type with a 128-bit significand (struct xf)
 * and plain series, each result rounded once into the extended format by
 * the same rounding routine as the basic arithmetic (sf_round80), so the
 * rounding control, C1 and the underflow/precision flags behave as for
 * any other result. The intermediate carries ~120 good bits, so results
 * are correctly rounded except within about 2^-56 ulp of a rounding tie;
 * the real x87 is only documented to within one ulp, so some of its
 * results differ from ours by one ulp (see tests/unit/test_fpu_trans.c).
 *
 *   2^x - 1       t = x ln 2, expm1 by its Taylor series (|t| <= ln 2)
 *   log2 x        x = 2^k m, m in [sqrt(1/2), sqrt 2), s = (m-1)/(m+1),
 *                 ln m = 2 atanh s (odd series in s^2 <= 0.03)
 *   log2 (1+x)    s = x / (2+x) directly, so tiny x keeps full precision
 *   atan t        t in [0,1], c = round(8t)/8, atan t = atan c +
 *                 atan((t-c)/(1+tc)) with a table of atan(k/8)
 *   sin, cos      argument reduced modulo pi/2 *exactly* against the
 *                 x87's own 66-bit pi (SDM Vol. 1, 8.3.8), nearest
 *                 quotient; then Taylor series on |r| <= pi/4. Using the
 *                 same pi as the hardware reproduces its (mathematically
 *                 wrong) results near multiples of pi, e.g.
 *                 fsin(fldpi) = -2^-64.
 */
#include "cpu/x87/fpu_trans.h"

/* value = m * 2^(exp - 127); m normalized (bit 127 set) or 0 for zero. */
struct xf {
    u128 m;
    int32_t exp;
    uint8_t sign;
};

#define XF(e, hi, lo) { ((u128)(hi) << 64) | (lo), (e), 0 }

static const struct xf XF_ONE = XF(0, 0x8000000000000000ull, 0);
static const struct xf XF_LN2 = XF(-1, 0xb17217f7d1cf79abull, 0xc9e3b39803f2f6afull);
static const struct xf XF_LOG2E = XF(0, 0xb8aa3b295c17f0bbull, 0xbe87fed0691d3e88ull);
static const struct xf XF_PI = XF(1, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull);
static const struct xf XF_PI2 = XF(0, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull);
static const struct xf XF_PI4 = XF(-1, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull);
static const struct xf XF_PI34 = XF(1, 0x96cbe3f9990e91a7ull, 0x9394c9e8a0a5159cull);
static const struct xf XF_ATAN[9] = {
    { 0, 0, 0 },
    XF(-4, 0xfeadd4d5617b6e32ull, 0xc897989f3e888ef7ull),
    XF(-3, 0xfadbafc96406eb15ull, 0x6dc79ef5f7a217e5ull),
    XF(-2, 0xb7b0ca0f26f78473ull, 0x8aa32122dcfe4483ull),
    XF(-2, 0xed63382b0dda7b45ull, 0x6fe445ecbc3a8d03ull),
    XF(-1, 0x8f005d5ef7f59f9bull, 0x5c835e1665c43747ull),
    XF(-1, 0xa4bc7d1934f70924ull, 0x19a87f2a457dac9eull),
    XF(-1, 0xb8053e2bc2319e73ull, 0xcb2da55210a4443dull),
    XF(-1, 0xc90fdaa22168c234ull, 0xc4c6628b80dc1cd1ull),
};
/* sqrt(2) as a 64-bit significand: the split point of log2's reduction. */
#define SQRT2_SIG 0xb504f333f9de6484ull
/* The x87's internal pi: 66 significant bits, pi = P66 * 2^-64. */
#define P66 ((((u128)0xc90fdaa22168c234ull) << 2) | 3)

/* ---- The 128-bit float ---- */

static struct xf xf_make(int sign, int32_t exp, u128 m)
{
    struct xf r = { 0, 0, (uint8_t)sign };
    if (!m)
        return r;
    uint64_t hi = (uint64_t)(m >> 64);
    int sh = hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)m);
    r.m = m << sh;
    r.exp = exp - sh;
    return r;
}

static struct xf xf_from_fx(struct fx a) { return xf_make(a.sign, a.exp, (u128)a.sig << 64); }

static struct xf xf_from_int(int64_t v)
{
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    return xf_make(v < 0, 63, (u128)m << 64);
}

static struct xf xf_neg(struct xf a)
{
    a.sign ^= 1;
    return a;
}

static struct xf xf_add(struct xf a, struct xf b)
{
    if (!a.m)
        return b;
    if (!b.m)
        return a;
    if (a.exp < b.exp || (a.exp == b.exp && a.m < b.m)) {
        struct xf t = a;
        a = b;
        b = t;
    }
    /* The smaller operand is shifted with a sticky bit, so that a term
     * too small to matter still makes the sum inexact in the right
     * direction (tiny arguments: sin x = x - tiny rounds like the x87). */
    int32_t d = a.exp - b.exp + 1;
    u128 x = a.m >> 1, y;
    if (d >= 128)
        y = 1;
    else
        y = (b.m >> d) | ((b.m & (((u128)1 << d) - 1)) != 0);
    return xf_make(a.sign, a.exp + 1, a.sign == b.sign ? x + y : x - y);
}

static struct xf xf_sub(struct xf a, struct xf b) { return xf_add(a, xf_neg(b)); }

static struct xf xf_mul(struct xf a, struct xf b)
{
    if (!a.m || !b.m)
        return xf_make(a.sign ^ b.sign, 0, 0);
    uint64_t a1 = (uint64_t)(a.m >> 64), a0 = (uint64_t)a.m;
    uint64_t b1 = (uint64_t)(b.m >> 64), b0 = (uint64_t)b.m;
    u128 p11 = (u128)a1 * b1, p10 = (u128)a1 * b0, p01 = (u128)a0 * b1, p00 = (u128)a0 * b0;
    u128 mid = (p00 >> 64) + (uint64_t)p10 + (uint64_t)p01;
    u128 hi = p11 + (p10 >> 64) + (p01 >> 64) + (mid >> 64);
    return xf_make(a.sign ^ b.sign, a.exp + b.exp + 1, hi);
}

/* a / b, b nonzero: restoring division, 128 quotient bits, the last one
 * sticky (a quotient that is not exact must not look exact). */
static struct xf xf_div(struct xf a, struct xf b)
{
    if (!a.m)
        return xf_make(a.sign ^ b.sign, 0, 0);
    int32_t exp = a.exp - b.exp;
    u128 r = a.m, d = b.m, q = 0;
    bool carry = false;
    if (r < d) {
        exp--;
        carry = r >> 127;
        r <<= 1;
    }
    for (int k = 127; k >= 0; k--) {
        if (carry || r >= d) {
            r -= d;
            q |= (u128)1 << k;
        }
        carry = r >> 127;
        r <<= 1;
    }
    q |= r != 0 || carry;
    return xf_make(a.sign ^ b.sign, exp, q);
}

/* a / n for a small positive integer n, truncated. */
static struct xf xf_divi(struct xf a, uint32_t n)
{
    if (!a.m)
        return a;
    u128 q = a.m / n;
    uint64_t r = (uint64_t)(a.m % n);
    uint64_t hi = (uint64_t)(q >> 64);
    int sh = hi ? __builtin_clzll(hi) : 64;
    q = (q << sh) | (((u128)r << sh) / n);
    struct xf x = { q, a.exp - sh, a.sign };
    return x;
}

/* Is the term negligible against the sum (below its 125th bit)? Series
 * add the first negligible term (as a sticky bit, see xf_add) and stop:
 * it alone decides on which side of the sum the true value lies. */
static bool xf_tiny(struct xf term, struct xf sum) { return !term.m || (sum.m && term.exp < sum.exp - 125); }

static struct f80 xf_round(struct sf_env *e, struct xf a)
{
    return sf_round80(e, a.sign, a.exp, a.m, 64, true);
}

/* ---- Elementary functions on xf ---- */

/* 2 atanh(s) = ln((1+s)/(1-s)), |s| small. */
static struct xf xf_atanh2(struct xf s)
{
    struct xf sum = s, p = s, s2 = xf_mul(s, s);
    for (uint32_t k = 3; k < 400; k += 2) {
        p = xf_mul(p, s2);
        struct xf t = xf_divi(p, k);
        sum = xf_add(sum, t);
        if (xf_tiny(t, sum))
            break;
    }
    sum.exp++;
    return sum;
}

/* log2 of a positive xf; *exact when x is a power of two. */
static struct xf xf_log2(struct xf x, bool *exact)
{
    *exact = x.m == (u128)1 << 127;
    int32_t k = x.exp;
    struct xf m = { x.m, 0, 0 };
    if ((uint64_t)(x.m >> 64) > SQRT2_SIG) {
        m.exp = -1;
        k++;
    }
    struct xf s = xf_div(xf_sub(m, XF_ONE), xf_add(m, XF_ONE));
    return xf_add(xf_from_int(k), xf_mul(xf_atanh2(s), XF_LOG2E));
}

/* y * log2(x) from the logarithm l. The logarithm of a power of two is
 * an exact integer, but the x87 reports such products inexact, as if its
 * logarithm came out a little above the integer (larger in magnitude
 * above 1, smaller below): C1 and directed roundings follow from that. */
static struct f80 y_log(struct sf_env *e, struct fx y, struct xf l, bool exact)
{
    struct xf r = xf_mul(xf_from_fx(y), l);
    if (exact && r.m) {
        if (l.sign)
            r = xf_make(r.sign, r.exp, r.m - 1);
        else
            r.m |= 1;
    }
    return xf_round(e, r);
}

/* e^t - 1. */
static struct xf xf_expm1(struct xf t)
{
    struct xf sum = t, term = t;
    for (uint32_t n = 2; n < 400; n++) {
        term = xf_divi(xf_mul(term, t), n);
        sum = xf_add(sum, term);
        if (xf_tiny(term, sum))
            break;
    }
    return sum;
}

/* atan u for |u| <= 1/16: odd series. */
static struct xf xf_atan_series(struct xf u)
{
    struct xf sum = u, p = u, u2 = xf_mul(u, u);
    for (uint32_t k = 3; k < 400; k += 2) {
        p = xf_neg(xf_mul(p, u2));
        struct xf t = xf_divi(p, k);
        sum = xf_add(sum, t);
        if (xf_tiny(t, sum))
            break;
    }
    return sum;
}

/* atan t for 0 <= t <= 1. */
static struct xf xf_atan01(struct xf t)
{
    unsigned k = 0;
    if (t.m && t.exp >= -4) {
        /* k = round(8t): 8t = m * 2^(exp + 3 - 127). */
        int sh = 127 - (t.exp + 3);
        k = (unsigned)(((t.m >> (sh - 1)) + 1) >> 1);
    }
    if (k == 0)
        return xf_atan_series(t);
    struct xf c = xf_make(0, 0, (u128)k << 124); /* k/8 */
    struct xf u = xf_div(xf_sub(t, c), xf_add(XF_ONE, xf_mul(t, c)));
    return xf_add(XF_ATAN[k], xf_atan_series(u));
}

/* sin r and cos r for |r| <= pi/4 (Taylor series). */
static void xf_sincos(struct xf r, struct xf *s, struct xf *c)
{
    struct xf r2 = xf_mul(r, r);
    struct xf sum = r, term = r;
    for (uint32_t n = 1; n < 60; n++) {
        term = xf_neg(xf_divi(xf_mul(term, r2), (2 * n) * (2 * n + 1)));
        sum = xf_add(sum, term);
        if (xf_tiny(term, sum))
            break;
    }
    *s = sum;
    sum = XF_ONE;
    term = XF_ONE;
    for (uint32_t n = 1; n < 60; n++) {
        term = xf_neg(xf_divi(xf_mul(term, r2), (2 * n - 1) * (2 * n)));
        sum = xf_add(sum, term);
        if (xf_tiny(term, sum))
            break;
    }
    *c = sum;
}

/* |x| = q * (P66 / 2) + r with q nearest, |x| < 2^63: returns r (exact)
 * and q mod 4. */
static struct xf reduce(struct fx a, unsigned *quadrant)
{
    *quadrant = 0;
    if (a.exp < -1)
        return xf_make(0, a.exp, (u128)a.sig << 64);
    /* |x| = sig * 2^(exp + 2) in units of 2^-65, and pi/2 = P66 units:
     * long division over the dividend's bits keeps the remainder < P66. */
    u128 rem = 0;
    unsigned q = 0;
    int nbits = 64 + a.exp + 2;
    for (int k = 0; k < nbits; k++) {
        unsigned bit = k < 64 ? (unsigned)(a.sig >> (63 - k)) & 1 : 0;
        rem = (rem << 1) | bit;
        q <<= 1;
        if (rem >= P66) {
            rem -= P66;
            q |= 1;
        }
    }
    int sign = 0;
    if (rem > P66 - rem) {
        rem = P66 - rem;
        q++;
        sign = 1;
    }
    *quadrant = q & 3;
    return xf_make(sign, 62, rem); /* rem * 2^-65 */
}

/* ---- Instructions ---- */

struct f80 tr_f2xm1(struct sf_env *e, struct fx x)
{
    struct f80 r;
    if (sf_nan1(e, x, &r))
        return r;
    if (x.cls == FX_ZERO)
        return f80_zero(x.sign);
    if (x.cls == FX_INF)
        return x.sign ? f80_make(1, F80_BIAS, 1ull << 63) : f80_inf(0);
    if (sf_denormal(e, x, x))
        return f80_indefinite();
    if (x.exp == 0 && x.sig == 1ull << 63) {
        /* 2^1 - 1 = 1 and 2^-1 - 1 = -0.5 are exact, yet the x87 reports
         * them inexact as if computed a little too large in magnitude. */
        struct xf r = xf_make(x.sign, x.sign ? -1 : 0, ((u128)1 << 127) | 1);
        return xf_round(e, r);
    }
    if (x.exp >= 0) {
        /* Outside the domain [-1, 1] the x87 leaves the operand alone
         * and reports it inexact. */
        e->flags |= FSW_PE;
        return fx_to_f80(x);
    }
    return xf_round(e, xf_expm1(xf_mul(xf_from_fx(x), XF_LN2)));
}

struct f80 tr_yl2x(struct sf_env *e, struct fx x, struct fx y)
{
    struct f80 r;
    if (sf_nan2(e, x, y, &r))
        return r;
    if (x.sign && x.cls != FX_ZERO)
        return sf_invalid(e);
    if (x.cls == FX_ZERO) {
        if (y.cls == FX_ZERO)
            return sf_invalid(e);
        if (y.cls != FX_INF) /* zero divide, which outranks a denormal y */
            e->flags |= FSW_ZE;
        return f80_inf(!y.sign);
    }
    if (x.cls == FX_INF) {
        if (y.cls == FX_ZERO)
            return sf_invalid(e);
        sf_denormal(e, y, y);
        return f80_inf(y.sign);
    }
    bool below1 = x.exp < 0;
    bool one = x.exp == 0 && x.sig == 1ull << 63;
    if (y.cls == FX_INF) {
        if (one)
            return sf_invalid(e);
        sf_denormal(e, x, x);
        return f80_inf(y.sign ^ below1);
    }
    if (sf_denormal(e, x, y))
        return f80_indefinite();
    if (y.cls == FX_ZERO || one)
        return f80_zero(y.sign ^ below1);
    bool exact;
    struct xf l = xf_log2(xf_from_fx(x), &exact);
    return y_log(e, y, l, exact);
}

struct f80 tr_yl2xp1(struct sf_env *e, struct fx x, struct fx y)
{
    struct f80 r;
    if (sf_nan2(e, x, y, &r))
        return r;
    if (x.cls == FX_ZERO) {
        if (y.cls == FX_INF)
            return sf_invalid(e);
        sf_denormal(e, y, y);
        return f80_zero(x.sign ^ y.sign);
    }
    if (x.cls == FX_INF) {
        if (x.sign || y.cls == FX_ZERO)
            return sf_invalid(e);
        sf_denormal(e, y, y);
        return f80_inf(y.sign);
    }
    if (y.cls == FX_ZERO) {
        sf_denormal(e, x, x);
        return f80_zero(x.sign ^ y.sign);
    }
    if (y.cls == FX_INF) {
        sf_denormal(e, x, x);
        return f80_inf(y.sign ^ x.sign);
    }
    /* Finite x: the documented domain is |x| < 1 - sqrt(2)/2. The x87
     * computes the logarithm for any x > -1, and for x <= -1 delivers x
     * itself, inexact. */
    if (x.sign && x.exp >= 0) {
        if (sf_denormal(e, y, y))
            return f80_indefinite();
        e->flags |= FSW_PE;
        return fx_to_f80(x);
    }
    if (sf_denormal(e, x, y))
        return f80_indefinite();
    struct xf X = xf_from_fx(x), l;
    bool exact = false;
    if (x.exp < -1) {
        struct xf two = xf_make(0, 1, (u128)1 << 127);
        l = xf_mul(xf_atanh2(xf_div(X, xf_add(two, X))), XF_LOG2E);
    } else {
        l = xf_log2(xf_add(XF_ONE, X), &exact);
    }
    return y_log(e, y, l, exact);
}

struct f80 tr_patan(struct sf_env *e, struct fx x, struct fx y)
{
    struct f80 r;
    if (sf_nan2(e, x, y, &r))
        return r;
    struct xf a;
    if (y.cls == FX_ZERO || y.cls == FX_INF || x.cls == FX_ZERO || x.cls == FX_INF) {
        if (sf_denormal(e, x, y))
            return f80_indefinite();
        if (y.cls == FX_ZERO) {
            if (!x.sign)
                return f80_zero(y.sign);
            a = XF_PI;
        } else if (y.cls == FX_INF) {
            a = x.cls == FX_INF ? (x.sign ? XF_PI34 : XF_PI4) : XF_PI2;
        } else if (x.cls == FX_ZERO) {
            a = XF_PI2;
        } else {
            if (!x.sign)
                return f80_zero(y.sign);
            a = XF_PI;
        }
    } else {
        if (sf_denormal(e, x, y))
            return f80_indefinite();
        struct xf ax = xf_from_fx(x), ay = xf_from_fx(y);
        ax.sign = ay.sign = 0;
        bool swap = ay.exp > ax.exp || (ay.exp == ax.exp && ay.m > ax.m);
        a = swap ? xf_sub(XF_PI2, xf_atan01(xf_div(ax, ay))) : xf_atan01(xf_div(ay, ax));
        if (x.sign)
            a = xf_sub(XF_PI, a);
    }
    a.sign = y.sign;
    return xf_round(e, a);
}

/* sin x and tan x of a denormal x: the x87 returns x itself (a
 * pseudo-denormal normalized), reporting it inexact, and tiny when it is,
 * but not rounded up. */
static struct f80 tiny_denormal(struct sf_env *e, struct fx x)
{
    if (x.exp == 1 - F80_BIAS && x.sig == 1ull << 63) {
        /* The smallest normal stays itself in every rounding mode. */
        e->flags |= FSW_PE;
        e->up = 0;
        return fx_to_f80(x);
    }
    struct f80 r = sf_round80(e, x.sign, x.exp, (u128)x.sig << 64, 64, true);
    e->flags |= FSW_PE;
    if (x.exp < 1 - F80_BIAS)
        e->flags |= FSW_UE;
    e->up = 0;
    return r;
}

/* Shared front of the trigonometric instructions: special operands.
 * Returns 1 when *res holds the result for every output, 0 when x must
 * be computed, -1 when out of range. */
static int trig_special(struct sf_env *e, struct fx x, struct f80 *res)
{
    if (sf_nan1(e, x, res))
        return 1;
    if (x.cls == FX_INF) {
        *res = sf_invalid(e);
        return 1;
    }
    if (x.cls == FX_FIN && x.exp >= 63)
        return -1;
    if (x.cls == FX_FIN && sf_denormal(e, x, x)) {
        *res = f80_indefinite();
        return 1;
    }
    return 0;
}

bool tr_sincos(struct sf_env *e, struct fx x, struct f80 *sin, struct f80 *cos)
{
    struct f80 sp;
    int k = trig_special(e, x, &sp);
    if (k < 0)
        return false;
    if (k > 0) {
        if (sin)
            *sin = sp;
        if (cos)
            *cos = sp;
        return true;
    }
    if (x.cls == FX_ZERO) {
        if (sin)
            *sin = f80_zero(x.sign);
        if (cos)
            *cos = f80_make(0, F80_BIAS, 1ull << 63);
        e->up = 0;
        return true;
    }
    unsigned q;
    struct xf s, c, r = reduce(x, &q);
    xf_sincos(r, &s, &c);
    if (x.denorm || (x.exp == 1 - F80_BIAS && x.sig == 1ull << 63)) {
        if (cos)
            *cos = xf_round(e, c);
        if (sin)
            *sin = tiny_denormal(e, x);
        return true;
    }
    /* sin and cos of |x| by quadrant; sin is odd, cos even. */
    struct xf vs = (q & 1) ? c : s, vc = (q & 1) ? s : c;
    if (q & 2)
        vs = xf_neg(vs);
    if ((q + 1) & 2)
        vc = xf_neg(vc);
    if (x.sign)
        vs = xf_neg(vs);
    if (sin)
        *sin = xf_round(e, vs);
    if (cos)
        *cos = xf_round(e, vc);
    return true;
}

bool tr_tan(struct sf_env *e, struct fx x, struct f80 *tan)
{
    int k = trig_special(e, x, tan);
    if (k)
        return k > 0;
    if (x.cls == FX_ZERO) {
        *tan = f80_zero(x.sign);
        return true;
    }
    if (x.denorm || (x.exp == 1 - F80_BIAS && x.sig == 1ull << 63)) {
        *tan = tiny_denormal(e, x);
        return true;
    }
    if (x.exp <= -34) {
        /* Tiny: the x87 returns x as if tan x were just below it in
         * magnitude (like sin x), not just above. */
        struct xf t = xf_from_fx(x);
        *tan = xf_round(e, xf_make(t.sign, t.exp, t.m - 1));
        return true;
    }
    unsigned q;
    struct xf s, c, t, r = reduce(x, &q);
    if (r.exp < -60) {
        /* Tiny reduced argument (x next to a multiple of pi/2): sin/cos
         * would both carry the same sticky bit, which cancels in the
         * quotient; tan r = r + r^3/3 and cot r = 1/r - r/3 keep the
         * direction of the last bit. */
        struct xf r3 = xf_divi(xf_mul(xf_mul(r, r), r), 3);
        t = (q & 1) ? xf_neg(xf_sub(xf_div(XF_ONE, r), xf_divi(r, 3))) : xf_add(r, r3);
    } else {
        xf_sincos(r, &s, &c);
        t = (q & 1) ? xf_neg(xf_div(c, s)) : xf_div(s, c);
    }
    if (x.sign)
        t = xf_neg(t);
    *tan = xf_round(e, t);
    return true;
}
