/*
 * The eight ALU operations (ADD OR ADC SBB AND SUB XOR CMP), TEST, INC,
 * DEC, NOT and NEG, in every operand form of the opcode table.
 *
 * Each operation is one small inline function per size that computes the
 * result and records lazy flags (flags.h); the handler bodies for the
 * forms Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz / Eb,Ib / Ev,Iz are
 * stamped out by macros so that every form of every operation is the same
 * few lines. Memory destinations use mem_rmw() so a read-only page faults
 * before anything is read or written, as on hardware.
 */
#include "cpu/ops/ops.h"

/* ---- Operations: a op b -> result, flags recorded. ---- */

#define DEF_ARITH(bits, type)                                                                                          \
    static inline type op_add##bits(struct cpu *c, type a, type b)                                                     \
    {                                                                                                                  \
        type r = (type)(a + b);                                                                                        \
        lf_result##bits(c, r, LF_AUX(LF_ADD_CV(a, b, r), bits));                                                       \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_adc##bits(struct cpu *c, type a, type b)                                                     \
    {                                                                                                                  \
        type r = (type)(a + b + (type)lf_cf(c));                                                                       \
        lf_result##bits(c, r, LF_AUX(LF_ADD_CV(a, b, r), bits));                                                       \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_sub##bits(struct cpu *c, type a, type b)                                                     \
    {                                                                                                                  \
        type r = (type)(a - b);                                                                                        \
        lf_result##bits(c, r, LF_AUX(LF_SUB_CV(a, b, r), bits));                                                       \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_sbb##bits(struct cpu *c, type a, type b)                                                     \
    {                                                                                                                  \
        type r = (type)(a - b - (type)lf_cf(c));                                                                       \
        lf_result##bits(c, r, LF_AUX(LF_SUB_CV(a, b, r), bits));                                                       \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_cmp##bits(struct cpu *c, type a, type b) { return op_sub##bits(c, a, b), a; }                \
    static inline type op_and##bits(struct cpu *c, type a, type b)                                                     \
    {                                                                                                                  \
        type r = a & b;                                                                                                \
        lf_result##bits(c, r, 0);                                                                                      \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_or##bits(struct cpu *c, type a, type b)                                                      \
    {                                                                                                                  \
        type r = a | b;                                                                                                \
        lf_result##bits(c, r, 0);                                                                                      \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_xor##bits(struct cpu *c, type a, type b)                                                     \
    {                                                                                                                  \
        type r = a ^ b;                                                                                                \
        lf_result##bits(c, r, 0);                                                                                      \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_test##bits(struct cpu *c, type a, type b) { return op_and##bits(c, a, b), a; }
DEF_ARITH(8, uint8_t)
DEF_ARITH(16, uint16_t)
DEF_ARITH(32, uint32_t)

/* Writeback: CMP and TEST only set flags. */
#define WB_add 1
#define WB_or 1
#define WB_adc 1
#define WB_sbb 1
#define WB_and 1
#define WB_sub 1
#define WB_xor 1
#define WB_cmp 0
#define WB_test 0

/* ---- Forms ---- */

/* Destination r/m, source register or immediate. */
#define FORM_E(name, op, bits, type, SRC)                                                                              \
    void name##_r##bits(struct cpu *c, const struct insn *i)                                                           \
    {                                                                                                                  \
        type r = op_##op##bits(c, (type)c->gpr[i->rm], (type)(SRC));                                                  \
        if (WB_##op)                                                                                                   \
            wr_reg##bits(c, i->rm, r);                                                                                 \
    }                                                                                                                  \
    void name##_m##bits(struct cpu *c, const struct insn *i)                                                           \
    {                                                                                                                  \
        uint32_t ea = insn_ea(c, i);                                                                                   \
        if (WB_##op) {                                                                                                 \
            uint8_t *p = mem_rmw(c, i->seg, ea, bits / 8);                                                             \
            type v;                                                                                                    \
            memcpy(&v, p, sizeof(v));                                                                                  \
            v = op_##op##bits(c, v, (type)(SRC));                                                                      \
            memcpy(p, &v, sizeof(v));                                                                                  \
            mem_rmw_done(c, p);                                                                                        \
        } else {                                                                                                       \
            op_##op##bits(c, mem_rd##bits(c, i->seg, ea), (type)(SRC));                                                \
        }                                                                                                              \
    }

#define FORM_EB(name, op, SRC)                                                                                         \
    void name##_r(struct cpu *c, const struct insn *i)                                                                 \
    {                                                                                                                  \
        uint8_t *d = reg8(c, i->rm);                                                                                   \
        uint8_t r = op_##op##8(c, *d, (uint8_t)(SRC));                                                                 \
        if (WB_##op)                                                                                                   \
            *d = r;                                                                                                    \
    }                                                                                                                  \
    void name##_m(struct cpu *c, const struct insn *i)                                                                 \
    {                                                                                                                  \
        uint32_t ea = insn_ea(c, i);                                                                                   \
        if (WB_##op) {                                                                                                 \
            uint8_t *p = mem_rmw(c, i->seg, ea, 1);                                                                    \
            *p = op_##op##8(c, *p, (uint8_t)(SRC));                                                                    \
            mem_rmw_done(c, p);                                                                                        \
        } else {                                                                                                       \
            op_##op##8(c, mem_rd8(c, i->seg, ea), (uint8_t)(SRC));                                                     \
        }                                                                                                              \
    }

/* Destination register, source r/m. */
#define FORM_G(name, op, bits, type)                                                                                   \
    void name##_r##bits(struct cpu *c, const struct insn *i)                                                           \
    {                                                                                                                  \
        type r = op_##op##bits(c, (type)c->gpr[i->reg], (type)c->gpr[i->rm]);                                         \
        if (WB_##op)                                                                                                   \
            wr_reg##bits(c, i->reg, r);                                                                                \
    }                                                                                                                  \
    void name##_m##bits(struct cpu *c, const struct insn *i)                                                           \
    {                                                                                                                  \
        type r = op_##op##bits(c, (type)c->gpr[i->reg], mem_rd##bits(c, i->seg, insn_ea(c, i)));                      \
        if (WB_##op)                                                                                                   \
            wr_reg##bits(c, i->reg, r);                                                                                \
    }

#define FORM_GB(name, op)                                                                                              \
    void name##_r(struct cpu *c, const struct insn *i)                                                                 \
    {                                                                                                                  \
        uint8_t *d = reg8(c, i->reg);                                                                                  \
        uint8_t r = op_##op##8(c, *d, *reg8(c, i->rm));                                                                \
        if (WB_##op)                                                                                                   \
            *d = r;                                                                                                    \
    }                                                                                                                  \
    void name##_m(struct cpu *c, const struct insn *i)                                                                 \
    {                                                                                                                  \
        uint8_t *d = reg8(c, i->reg);                                                                                  \
        uint8_t r = op_##op##8(c, *d, mem_rd8(c, i->seg, insn_ea(c, i)));                                              \
        if (WB_##op)                                                                                                   \
            *d = r;                                                                                                    \
    }

/* Accumulator and immediate. */
#define FORM_ACC(name, op)                                                                                             \
    void name##_ALIb(struct cpu *c, const struct insn *i)                                                              \
    {                                                                                                                  \
        uint8_t *d = reg8(c, 0);                                                                                       \
        uint8_t r = op_##op##8(c, *d, (uint8_t)i->imm);                                                                \
        if (WB_##op)                                                                                                   \
            *d = r;                                                                                                    \
    }                                                                                                                  \
    void name##_eAXIz_16(struct cpu *c, const struct insn *i)                                                          \
    {                                                                                                                  \
        uint16_t r = op_##op##16(c, (uint16_t)c->gpr[R_EAX], (uint16_t)i->imm);                                        \
        if (WB_##op)                                                                                                   \
            wr_reg16(c, R_EAX, r);                                                                                     \
    }                                                                                                                  \
    void name##_eAXIz_32(struct cpu *c, const struct insn *i)                                                          \
    {                                                                                                                  \
        uint32_t r = op_##op##32(c, (uint32_t)c->gpr[R_EAX], i->imm);                                                  \
        if (WB_##op)                                                                                                   \
            wr_reg32(c, R_EAX, r);                                                                                     \
    }

#define ALU_ALL(op)                                                                                                    \
    FORM_EB(op##_EbGb, op, *reg8(c, i->reg))                                                                           \
    FORM_E(op##_EvGv, op, 16, uint16_t, c->gpr[i->reg])                                                                \
    FORM_E(op##_EvGv, op, 32, uint32_t, c->gpr[i->reg])                                                                \
    FORM_GB(op##_GbEb, op)                                                                                             \
    FORM_G(op##_GvEv, op, 16, uint16_t)                                                                                \
    FORM_G(op##_GvEv, op, 32, uint32_t)                                                                                \
    FORM_ACC(op, op)                                                                                                   \
    FORM_EB(op##_EbIb, op, i->imm)                                                                                     \
    FORM_E(op##_EvIz, op, 16, uint16_t, i->imm)                                                                        \
    FORM_E(op##_EvIz, op, 32, uint32_t, i->imm)

ALU_ALL(add)
ALU_ALL(or)
ALU_ALL(adc)
ALU_ALL(sbb)
ALU_ALL(and)
ALU_ALL(sub)
ALU_ALL(xor)
ALU_ALL(cmp)

FORM_EB(test_EbGb, test, *reg8(c, i->reg))
FORM_E(test_EvGv, test, 16, uint16_t, c->gpr[i->reg])
FORM_E(test_EvGv, test, 32, uint32_t, c->gpr[i->reg])
FORM_ACC(test, test)
FORM_EB(test_EbIb, test, i->imm)
FORM_E(test_EvIz, test, 16, uint16_t, i->imm)
FORM_E(test_EvIz, test, 32, uint32_t, i->imm)

/* ---- INC, DEC: like ADD/SUB 1 but CF is preserved. ---- */

#define DEF_INCDEC(bits, type)                                                                                         \
    static inline type op_inc##bits(struct cpu *c, type a, type unused)                                                \
    {                                                                                                                  \
        (void)unused;                                                                                                  \
        int cf = lf_cf(c);                                                                                             \
        type r = op_add##bits(c, a, 1);                                                                                \
        lf_force_cf(c, cf);                                                                                            \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_dec##bits(struct cpu *c, type a, type unused)                                                \
    {                                                                                                                  \
        (void)unused;                                                                                                  \
        int cf = lf_cf(c);                                                                                             \
        type r = op_sub##bits(c, a, 1);                                                                                \
        lf_force_cf(c, cf);                                                                                            \
        return r;                                                                                                      \
    }                                                                                                                  \
    static inline type op_not##bits(struct cpu *c, type a, type unused)                                                \
    {                                                                                                                  \
        (void)c, (void)unused;                                                                                         \
        return (type)~a;                                                                                               \
    }                                                                                                                  \
    static inline type op_neg##bits(struct cpu *c, type a, type unused)                                                \
    {                                                                                                                  \
        (void)unused;                                                                                                  \
        return op_sub##bits(c, 0, a);                                                                                  \
    }
DEF_INCDEC(8, uint8_t)
DEF_INCDEC(16, uint16_t)
DEF_INCDEC(32, uint32_t)
#define WB_inc 1
#define WB_dec 1
#define WB_not 1
#define WB_neg 1

FORM_EB(inc_Eb, inc, 0)
FORM_EB(dec_Eb, dec, 0)
FORM_EB(not_Eb, not, 0)
FORM_EB(neg_Eb, neg, 0)
FORM_E(inc_Ev, inc, 16, uint16_t, 0)
FORM_E(inc_Ev, inc, 32, uint32_t, 0)
FORM_E(dec_Ev, dec, 16, uint16_t, 0)
FORM_E(dec_Ev, dec, 32, uint32_t, 0)
FORM_E(not_Ev, not, 16, uint16_t, 0)
FORM_E(not_Ev, not, 32, uint32_t, 0)
FORM_E(neg_Ev, neg, 16, uint16_t, 0)
FORM_E(neg_Ev, neg, 32, uint32_t, 0)

void inc_Zv_16(struct cpu *c, const struct insn *i) { wr_reg16(c, i->reg, op_inc16(c, (uint16_t)c->gpr[i->reg], 0)); }
void inc_Zv_32(struct cpu *c, const struct insn *i) { wr_reg32(c, i->reg, op_inc32(c, (uint32_t)c->gpr[i->reg], 0)); }
void dec_Zv_16(struct cpu *c, const struct insn *i) { wr_reg16(c, i->reg, op_dec16(c, (uint16_t)c->gpr[i->reg], 0)); }
void dec_Zv_32(struct cpu *c, const struct insn *i) { wr_reg32(c, i->reg, op_dec32(c, (uint32_t)c->gpr[i->reg], 0)); }
