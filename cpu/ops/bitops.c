/*
 * Bit instructions: BT BTS BTR BTC (register and immediate bit offsets),
 * BSF BSR, BSWAP.
 *
 * BTx with a register bit offset and a memory operand addresses outside
 * the operand: the offset is a signed 16/32-bit number, the operand
 * actually accessed is the word/dword at ea + (offset >> 4) * 2 (or
 * (offset >> 5) * 4), wrapped to the address size, and the bit is the
 * offset's low 4/5 bits. An immediate offset, and any register operand,
 * only use the offset modulo the operand size.
 *
 * Flags the SDM leaves undefined, as Intel P6-family and later CPUs set
 * them (checked against the host CPU, an Intel Xeon):
 *   BTx:     CF = the bit; OF, SF, AF, PF and ZF keep their values.
 *   BSF/BSR: ZF = (source == 0); CF, OF, SF, AF = 0; PF from the bit
 *            index found (PF = 1 for a zero source). A zero source leaves
 *            the destination unchanged.
 */
#include "cpu/ops/ops.h"

enum { BT_TEST, BT_SET, BT_RESET, BT_COMP };

/* CF = bit, everything else unchanged. */
static inline void bt_flags(struct cpu *c, uint32_t bit) { lf_force_cf(c, (int)bit); }

static inline uint32_t bt_apply(int kind, uint32_t v, unsigned bit)
{
    switch (kind) {
    case BT_SET: return v | 1u << bit;
    case BT_RESET: return v & ~(1u << bit);
    case BT_COMP: return v ^ 1u << bit;
    default: return v;
    }
}

static inline void bt_reg16(struct cpu *c, const struct insn *i, int kind, unsigned off)
{
    uint16_t v = (uint16_t)c->gpr[i->rm];
    unsigned bit = off & 15;
    bt_flags(c, (v >> bit) & 1);
    if (kind != BT_TEST)
        wr_reg16(c, i->rm, (uint16_t)bt_apply(kind, v, bit));
}
static inline void bt_reg32(struct cpu *c, const struct insn *i, int kind, unsigned off)
{
    uint32_t v = (uint32_t)c->gpr[i->rm];
    unsigned bit = off & 31;
    bt_flags(c, (v >> bit) & 1);
    if (kind != BT_TEST)
        wr_reg32(c, i->rm, bt_apply(kind, v, bit));
}

/* Memory operand; `disp` is the byte displacement (already a multiple of
 * the operand size) added to the effective address. */
static inline void bt_mem(struct cpu *c, const struct insn *i, int kind, int32_t disp, unsigned bit, int bits)
{
    uint32_t ea = insn_ea(c, i) + (uint32_t)disp;
    if (!asize32(i))
        ea &= 0xffff;
    if (kind == BT_TEST) {
        uint32_t v = bits == 16 ? mem_rd16(c, i->seg, ea) : mem_rd32(c, i->seg, ea);
        bt_flags(c, (v >> bit) & 1);
        return;
    }
    uint8_t *p = mem_rmw(c, i->seg, ea, bits / 8);
    uint32_t v = bits == 16 ? ld16(p) : ld32(p);
    uint32_t r = bt_apply(kind, v, bit);
    if (bits == 16)
        st16(p, (uint16_t)r);
    else
        st32(p, r);
    mem_rmw_done(c, p);
    bt_flags(c, (v >> bit) & 1);
}

#define BT_FORMS(name, kind)                                                                                           \
    HANDLER(name##_EvGv_r16) { bt_reg16(c, i, kind, (unsigned)c->gpr[i->reg]); }                                       \
    HANDLER(name##_EvGv_r32) { bt_reg32(c, i, kind, (unsigned)c->gpr[i->reg]); }                                       \
    HANDLER(name##_EvGv_m16)                                                                                           \
    {                                                                                                                  \
        int16_t off = (int16_t)c->gpr[i->reg];                                                                         \
        bt_mem(c, i, kind, (off >> 4) * 2, (unsigned)off & 15, 16);                                                    \
    }                                                                                                                  \
    HANDLER(name##_EvGv_m32)                                                                                           \
    {                                                                                                                  \
        int32_t off = (int32_t)c->gpr[i->reg];                                                                         \
        bt_mem(c, i, kind, (int32_t)((uint32_t)(off >> 5) * 4), (unsigned)off & 31, 32);                               \
    }                                                                                                                  \
    HANDLER(name##_EvIb_r16) { bt_reg16(c, i, kind, i->imm); }                                                         \
    HANDLER(name##_EvIb_r32) { bt_reg32(c, i, kind, i->imm); }                                                         \
    HANDLER(name##_EvIb_m16) { bt_mem(c, i, kind, 0, i->imm & 15, 16); }                                               \
    HANDLER(name##_EvIb_m32) { bt_mem(c, i, kind, 0, i->imm & 31, 32); }

BT_FORMS(bt, BT_TEST)
BT_FORMS(bts, BT_SET)
BT_FORMS(btr, BT_RESET)
BT_FORMS(btc, BT_COMP)

/* ---- BSF / BSR ---- */

/* Returns true and the index when src is nonzero. Flags: ZF from the
 * source, SF/CF/OF/AF 0, PF from the index (so an index of 0, which would
 * read as ZF = 1 from a lazy result, is encoded explicitly). */
static inline bool bs_scan(struct cpu *c, uint32_t src, bool rev, uint32_t *idx)
{
    if (!src) {
        lf_set(c, EFL_ZF | EFL_PF);
        return false;
    }
    *idx = rev ? 31u - (uint32_t)__builtin_clz(src) : (uint32_t)__builtin_ctz(src);
    if (*idx == 0) {
        lf_set(c, EFL_PF);
    } else {
        c->lf_res = *idx;
        c->lf_aux = 0;
    }
    return true;
}

#define BS_FORMS(name, rev)                                                                                            \
    HANDLER(name##_r16)                                                                                                \
    {                                                                                                                  \
        uint32_t x;                                                                                                    \
        if (bs_scan(c, (uint16_t)c->gpr[i->rm], rev, &x))                                                          \
            wr_reg16(c, i->reg, (uint16_t)x);                                                                          \
    }                                                                                                                  \
    HANDLER(name##_r32)                                                                                                \
    {                                                                                                                  \
        uint32_t x;                                                                                                    \
        if (bs_scan(c, (uint32_t)c->gpr[i->rm], rev, &x))                                                          \
            wr_reg32(c, i->reg, x);                                                                                    \
    }                                                                                                                  \
    HANDLER(name##_m16)                                                                                                \
    {                                                                                                                  \
        uint32_t x;                                                                                                    \
        if (bs_scan(c, mem_rd16(c, i->seg, insn_ea(c, i)), rev, &x))                                               \
            wr_reg16(c, i->reg, (uint16_t)x);                                                                          \
    }                                                                                                                  \
    HANDLER(name##_m32)                                                                                                \
    {                                                                                                                  \
        uint32_t x;                                                                                                    \
        if (bs_scan(c, mem_rd32(c, i->seg, insn_ea(c, i)), rev, &x))                                               \
            wr_reg32(c, i->reg, x);                                                                                    \
    }

BS_FORMS(bsf, false)
BS_FORMS(bsr, true)

/* ---- BSWAP ---- */

/* With a 16-bit operand size the SDM leaves the result undefined; Intel
 * CPUs clear the low 16 bits of the register. */
HANDLER(bswap)
{
    uint32_t v = (uint32_t)c->gpr[i->reg];
    if (osize32(i))
        wr_reg32(c, i->reg, __builtin_bswap32(v));
    else
        wr_reg16(c, i->reg, 0);
}
