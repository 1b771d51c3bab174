/*
 * MMX instructions (the P6 set: MOVD MOVQ, packed add/subtract with wrap
 * and saturation, multiplies, compares, logic, shifts, pack/unpack, EMMS).
 *
 * The eight MMX registers alias the 64-bit significands of the physical
 * x87 registers R0..R7 (not stack-relative). Every MMX instruction sets
 * TOP to 0 (EMMS too: SDM vol. 3A 12.2, and the host CPU agrees), and all
 * but EMMS set all tags to valid; a written register also gets sign and
 * exponent all ones, so the x87 sees a NaN-like "special" value there.
 * EMMS empties every tag. CR0.EM raises #UD, CR0.TS #NM, and a
 * pending unmasked x87 exception is delivered first (#MF), as for a
 * waiting x87 instruction.
 *
 * Each packed operation is a plain function on two 64-bit values working
 * lane by lane; the register and memory forms are stamped out by macros.
 */
#include "cpu/x87/fpu_ops.h"

static void mmx_enter(struct cpu *c)
{
    if (c->cr0 & CR0_EM)
        cpu_fault(c, EXC_UD, NO_ERRCODE);
    if (c->cr0 & CR0_TS)
        cpu_fault(c, EXC_NM, NO_ERRCODE);
    if (c->fpu.sw & FSW_ES) {
        if (c->cr0 & CR0_NE)
            cpu_fault(c, EXC_MF, NO_ERRCODE);
        fpu_update_ferr(c);
    }
}

static inline uint64_t mm_get(const struct cpu *c, int r) { return c->fpu.st[r & 7].mant; }

/* Commit: the MMX view of the x87 state (TOP 0, all tags valid). */
static inline void mm_touch(struct cpu *c) { fpu_mmx_touch(&c->fpu); }
static inline void mm_set(struct cpu *c, int r, uint64_t v)
{
    c->fpu.st[r & 7].mant = v;
    c->fpu.st[r & 7].se = 0xffff;
    mm_touch(c);
}

/* ---- Lane helpers ---- */

#define LANE(v, k, bits) ((v) >> ((k) * (bits)) & (~0ull >> (64 - (bits))))

static inline int64_t sext(uint64_t v, int bits) { return (int64_t)(v << (64 - bits)) >> (64 - bits); }
static inline uint64_t sat_s(int64_t v, int bits)
{
    int64_t hi = (1ll << (bits - 1)) - 1, lo = -hi - 1;
    return (uint64_t)(v > hi ? hi : v < lo ? lo : v) & ((1ull << bits) - 1);
}
static inline uint64_t sat_u(int64_t v, int bits)
{
    int64_t hi = (1ll << bits) - 1;
    return (uint64_t)(v > hi ? hi : v < 0 ? 0 : v);
}

/* Lane-wise a op b for lanes of `bits`, with op a function of two sign-
 * or zero-extended lane values returning the lane result. */
#define DEF_LANEWISE(name, bits, expr)                                                                                \
    static uint64_t name(uint64_t a, uint64_t b)                                                                       \
    {                                                                                                                  \
        uint64_t r = 0;                                                                                                \
        for (int k = 0; k < 64 / (bits); k++) {                                                                        \
            uint64_t x = LANE(a, k, bits), y = LANE(b, k, bits);                                                       \
            int64_t sx = sext(x, bits), sy = sext(y, bits);                                                            \
            (void)sx;                                                                                                  \
            (void)sy;                                                                                                  \
            r |= ((uint64_t)(expr) & ((1ull << (bits)) - 1)) << (k * (bits));                                          \
        }                                                                                                              \
        return r;                                                                                                      \
    }

DEF_LANEWISE(op_paddb, 8, x + y)
DEF_LANEWISE(op_paddw, 16, x + y)
DEF_LANEWISE(op_paddd, 32, x + y)
DEF_LANEWISE(op_psubb, 8, x - y)
DEF_LANEWISE(op_psubw, 16, x - y)
DEF_LANEWISE(op_psubd, 32, x - y)
DEF_LANEWISE(op_paddsb, 8, sat_s(sx + sy, 8))
DEF_LANEWISE(op_paddsw, 16, sat_s(sx + sy, 16))
DEF_LANEWISE(op_psubsb, 8, sat_s(sx - sy, 8))
DEF_LANEWISE(op_psubsw, 16, sat_s(sx - sy, 16))
DEF_LANEWISE(op_paddusb, 8, sat_u((int64_t)(x + y), 8))
DEF_LANEWISE(op_paddusw, 16, sat_u((int64_t)(x + y), 16))
DEF_LANEWISE(op_psubusb, 8, sat_u((int64_t)x - (int64_t)y, 8))
DEF_LANEWISE(op_psubusw, 16, sat_u((int64_t)x - (int64_t)y, 16))
DEF_LANEWISE(op_pmullw, 16, (uint64_t)(sx * sy))
DEF_LANEWISE(op_pmulhw, 16, (uint64_t)((sx * sy) >> 16))
DEF_LANEWISE(op_pcmpeqb, 8, x == y ? ~0ull : 0)
DEF_LANEWISE(op_pcmpeqw, 16, x == y ? ~0ull : 0)
DEF_LANEWISE(op_pcmpeqd, 32, x == y ? ~0ull : 0)
DEF_LANEWISE(op_pcmpgtb, 8, sx > sy ? ~0ull : 0)
DEF_LANEWISE(op_pcmpgtw, 16, sx > sy ? ~0ull : 0)
DEF_LANEWISE(op_pcmpgtd, 32, sx > sy ? ~0ull : 0)

static uint64_t op_pand(uint64_t a, uint64_t b) { return a & b; }
static uint64_t op_pandn(uint64_t a, uint64_t b) { return ~a & b; }
static uint64_t op_por(uint64_t a, uint64_t b) { return a | b; }
static uint64_t op_pxor(uint64_t a, uint64_t b) { return a ^ b; }

static uint64_t op_pmaddwd(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (int k = 0; k < 2; k++) {
        int64_t s = sext(LANE(a, 2 * k, 16), 16) * sext(LANE(b, 2 * k, 16), 16) +
                    sext(LANE(a, 2 * k + 1, 16), 16) * sext(LANE(b, 2 * k + 1, 16), 16);
        r |= ((uint64_t)s & 0xffffffffull) << (32 * k);
    }
    return r;
}

/* Packs: a's lanes narrowed into the low half, b's into the high half. */
#define DEF_PACK(name, bits, SAT)                                                                                      \
    static uint64_t name(uint64_t a, uint64_t b)                                                                       \
    {                                                                                                                  \
        uint64_t r = 0;                                                                                                \
        int n = 64 / (bits);                                                                                           \
        for (int k = 0; k < n; k++) {                                                                                  \
            r |= SAT(sext(LANE(a, k, bits), bits), (bits) / 2) << (k * (bits) / 2);                                    \
            r |= SAT(sext(LANE(b, k, bits), bits), (bits) / 2) << ((k + n) * (bits) / 2);                              \
        }                                                                                                              \
        return r;                                                                                                      \
    }
DEF_PACK(op_packsswb, 16, sat_s)
DEF_PACK(op_packssdw, 32, sat_s)
DEF_PACK(op_packuswb, 16, sat_u)

/* Unpacks interleave the low (half = 0) or high halves of a and b. */
static uint64_t unpack(uint64_t a, uint64_t b, int bits, int half)
{
    uint64_t r = 0;
    int n = 32 / bits;
    for (int k = 0; k < n; k++) {
        r |= LANE(a, k + half * n, bits) << (2 * k * bits);
        r |= LANE(b, k + half * n, bits) << ((2 * k + 1) * bits);
    }
    return r;
}
static uint64_t op_punpcklbw(uint64_t a, uint64_t b) { return unpack(a, b, 8, 0); }
static uint64_t op_punpcklwd(uint64_t a, uint64_t b) { return unpack(a, b, 16, 0); }
static uint64_t op_punpckldq(uint64_t a, uint64_t b) { return unpack(a, b, 32, 0); }
static uint64_t op_punpckhbw(uint64_t a, uint64_t b) { return unpack(a, b, 8, 1); }
static uint64_t op_punpckhwd(uint64_t a, uint64_t b) { return unpack(a, b, 16, 1); }
static uint64_t op_punpckhdq(uint64_t a, uint64_t b) { return unpack(a, b, 32, 1); }

/* Shifts by a 64-bit count: counts past the lane width give 0 (logical)
 * or the sign everywhere (arithmetic). */
static uint64_t shift(uint64_t a, uint64_t count, int bits, int kind)
{
    uint64_t r = 0;
    for (int k = 0; k < 64 / bits; k++) {
        uint64_t x = LANE(a, k, bits), v;
        if (kind == 0) /* left */
            v = count >= (uint64_t)bits ? 0 : x << count;
        else if (kind == 1) /* right logical */
            v = count >= (uint64_t)bits ? 0 : x >> count;
        else /* right arithmetic */
            v = (uint64_t)(sext(x, bits) >> (count >= (uint64_t)bits ? bits - 1 : (int)count));
        r |= (bits == 64 ? v : v & ((1ull << bits) - 1)) << (k * bits);
    }
    return r;
}
static uint64_t op_psllw(uint64_t a, uint64_t n) { return shift(a, n, 16, 0); }
static uint64_t op_pslld(uint64_t a, uint64_t n) { return shift(a, n, 32, 0); }
static uint64_t op_psllq(uint64_t a, uint64_t n) { return shift(a, n, 64, 0); }
static uint64_t op_psrlw(uint64_t a, uint64_t n) { return shift(a, n, 16, 1); }
static uint64_t op_psrld(uint64_t a, uint64_t n) { return shift(a, n, 32, 1); }
static uint64_t op_psrlq(uint64_t a, uint64_t n) { return shift(a, n, 64, 1); }
static uint64_t op_psraw(uint64_t a, uint64_t n) { return shift(a, n, 16, 2); }
static uint64_t op_psrad(uint64_t a, uint64_t n) { return shift(a, n, 32, 2); }

/* ---- Forms ---- */

/* Pq = op(Pq, Qq): 64-bit memory source. */
#define MMX_Q(name)                                                                                                    \
    HANDLER(mmx_##name##_r)                                                                                            \
    {                                                                                                                  \
        mmx_enter(c);                                                                                                  \
        mm_set(c, i->reg, op_##name(mm_get(c, i->reg), mm_get(c, i->rm)));                                             \
    }                                                                                                                  \
    HANDLER(mmx_##name##_m)                                                                                            \
    {                                                                                                                  \
        mmx_enter(c);                                                                                                  \
        uint64_t s = mem_rd64(c, i->seg, insn_ea(c, i));                                                               \
        mm_set(c, i->reg, op_##name(mm_get(c, i->reg), s));                                                            \
    }

/* Pq = op(Pq, Qd): the low-half unpacks read only 32 bits of memory. */
#define MMX_D(name)                                                                                                    \
    HANDLER(mmx_##name##_r)                                                                                            \
    {                                                                                                                  \
        mmx_enter(c);                                                                                                  \
        mm_set(c, i->reg, op_##name(mm_get(c, i->reg), mm_get(c, i->rm)));                                             \
    }                                                                                                                  \
    HANDLER(mmx_##name##_m)                                                                                            \
    {                                                                                                                  \
        mmx_enter(c);                                                                                                  \
        uint64_t s = mem_rd32(c, i->seg, insn_ea(c, i));                                                               \
        mm_set(c, i->reg, op_##name(mm_get(c, i->reg), s));                                                            \
    }

/* Shift of Nq by Ib. */
#define MMX_IMM(name)                                                                                                  \
    HANDLER(mmx_##name##_imm)                                                                                          \
    {                                                                                                                  \
        mmx_enter(c);                                                                                                  \
        mm_set(c, i->rm, op_##name(mm_get(c, i->rm), i->imm & 0xff));                                                  \
    }

MMX_D(punpcklbw)
MMX_D(punpcklwd)
MMX_D(punpckldq)
MMX_Q(punpckhbw)
MMX_Q(punpckhwd)
MMX_Q(punpckhdq)
MMX_Q(packsswb)
MMX_Q(packssdw)
MMX_Q(packuswb)
MMX_Q(pcmpgtb)
MMX_Q(pcmpgtw)
MMX_Q(pcmpgtd)
MMX_Q(pcmpeqb)
MMX_Q(pcmpeqw)
MMX_Q(pcmpeqd)
MMX_Q(paddb)
MMX_Q(paddw)
MMX_Q(paddd)
MMX_Q(psubb)
MMX_Q(psubw)
MMX_Q(psubd)
MMX_Q(paddsb)
MMX_Q(paddsw)
MMX_Q(psubsb)
MMX_Q(psubsw)
MMX_Q(paddusb)
MMX_Q(paddusw)
MMX_Q(psubusb)
MMX_Q(psubusw)
MMX_Q(pmullw)
MMX_Q(pmulhw)
MMX_Q(pmaddwd)
MMX_Q(pand)
MMX_Q(pandn)
MMX_Q(por)
MMX_Q(pxor)
MMX_Q(psllw)
MMX_Q(pslld)
MMX_Q(psllq)
MMX_Q(psrlw)
MMX_Q(psrld)
MMX_Q(psrlq)
MMX_Q(psraw)
MMX_Q(psrad)
MMX_IMM(psllw)
MMX_IMM(pslld)
MMX_IMM(psllq)
MMX_IMM(psrlw)
MMX_IMM(psrld)
MMX_IMM(psrlq)
MMX_IMM(psraw)
MMX_IMM(psrad)

/* ---- Moves ---- */

HANDLER(mmx_movd_PqEd_r)
{
    mmx_enter(c);
    mm_set(c, i->reg, rd_reg32(c, i->rm));
}

HANDLER(mmx_movd_PqEd_m)
{
    mmx_enter(c);
    mm_set(c, i->reg, mem_rd32(c, i->seg, insn_ea(c, i)));
}

HANDLER(mmx_movd_EdPq_r)
{
    mmx_enter(c);
    wr_reg32(c, i->rm, (uint32_t)mm_get(c, i->reg));
    mm_touch(c);
}

HANDLER(mmx_movd_EdPq_m)
{
    mmx_enter(c);
    mem_wr32(c, i->seg, insn_ea(c, i), (uint32_t)mm_get(c, i->reg));
    mm_touch(c);
}

HANDLER(mmx_movq_PqQq_r)
{
    mmx_enter(c);
    mm_set(c, i->reg, mm_get(c, i->rm));
}

HANDLER(mmx_movq_PqQq_m)
{
    mmx_enter(c);
    mm_set(c, i->reg, mem_rd64(c, i->seg, insn_ea(c, i)));
}

HANDLER(mmx_movq_QqPq_r)
{
    mmx_enter(c);
    mm_set(c, i->rm, mm_get(c, i->reg));
}

HANDLER(mmx_movq_QqPq_m)
{
    mmx_enter(c);
    mem_wr64(c, i->seg, insn_ea(c, i), mm_get(c, i->reg));
    mm_touch(c);
}

HANDLER(mmx_emms)
{
    mmx_enter(c);
    fpu_mmx_emms(&c->fpu);
}
