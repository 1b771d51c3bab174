/*
 * Multiplication and division: MUL, IMUL (one-, two- and three-operand
 * forms), DIV, IDIV.
 *
 * Products are computed in 64 bits, so one routine per operation serves
 * every operand size. DIV/IDIV raise #DE for a zero divisor and for a
 * quotient that does not fit the destination, before anything is written.
 *
 * CF and OF are the architectural "high half is significant" bits. The
 * other flags are undefined in the SDM; these set them as Intel P6-family
 * and later CPUs do (established against the host CPU, an Intel Xeon):
 *   - MUL/IMUL (all forms): SF and PF from the low half of the result,
 *     ZF always 0, AF 0.
 *   - DIV/IDIV: every flag keeps its value.
 */
#include "cpu/ops/ops.h"

static inline uint64_t sext(uint32_t v, int bits)
{
    return bits == 8 ? (uint64_t)(int64_t)(int8_t)v
         : bits == 16 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
}

/* Flags after a multiply whose low half is `lo`; `ovf` = CF = OF. A zero
 * low half would read as ZF = 1 from the lazy result, so that one case is
 * encoded explicitly (SF 0, PF 1 for the zero byte). */
static inline void mul_flags(struct cpu *c, uint32_t lo, int bits, bool ovf)
{
    if (lo == 0) {
        lf_set(c, EFL_PF | (ovf ? EFL_CF | EFL_OF : 0));
        return;
    }
    c->lf_res = sext(lo, bits);
    c->lf_aux = ovf ? LF_CF : 0; /* CF = OF = ovf: bit 63 set, bit 62 clear */
}

/* ---- One-operand forms: accumulator times r/m ---- */

static void mul_acc(struct cpu *c, uint32_t src, int bits, bool sign)
{
    uint64_t a, b, p;
    switch (bits) {
    case 8:
        a = (uint8_t)c->gpr[R_EAX];
        if (sign) {
            int16_t r = (int16_t)((int8_t)a * (int8_t)src);
            wr_reg16(c, R_EAX, (uint16_t)r);
            mul_flags(c, (uint8_t)r, 8, r != (int8_t)r);
        } else {
            uint16_t r = (uint16_t)(a * (uint8_t)src);
            wr_reg16(c, R_EAX, r);
            mul_flags(c, (uint8_t)r, 8, r >> 8 != 0);
        }
        return;
    case 16:
        a = (uint16_t)c->gpr[R_EAX];
        if (sign) {
            int32_t r = (int16_t)a * (int16_t)src;
            wr_reg16(c, R_EAX, (uint16_t)r);
            wr_reg16(c, R_EDX, (uint16_t)((uint32_t)r >> 16));
            mul_flags(c, (uint16_t)r, 16, r != (int16_t)r);
        } else {
            uint32_t r = (uint32_t)a * (uint16_t)src;
            wr_reg16(c, R_EAX, (uint16_t)r);
            wr_reg16(c, R_EDX, (uint16_t)(r >> 16));
            mul_flags(c, (uint16_t)r, 16, r >> 16 != 0);
        }
        return;
    default:
        a = (uint32_t)c->gpr[R_EAX];
        if (sign) {
            int64_t r = (int64_t)(int32_t)a * (int32_t)src;
            p = (uint64_t)r;
            wr_reg32(c, R_EAX, (uint32_t)p);
            wr_reg32(c, R_EDX, (uint32_t)(p >> 32));
            mul_flags(c, (uint32_t)p, 32, r != (int32_t)r);
        } else {
            b = src;
            p = a * b;
            wr_reg32(c, R_EAX, (uint32_t)p);
            wr_reg32(c, R_EDX, (uint32_t)(p >> 32));
            mul_flags(c, (uint32_t)p, 32, p >> 32 != 0);
        }
        return;
    }
}

/* ---- Division ---- */

static void div_acc(struct cpu *c, uint32_t src, int bits)
{
    if (src == 0)
        cpu_fault(c, EXC_DE, NO_ERRCODE);
    switch (bits) {
    case 8: {
        uint32_t n = (uint16_t)c->gpr[R_EAX], q = n / src, r = n % src;
        if (q > 0xff)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        wr_reg16(c, R_EAX, (uint16_t)(r << 8 | q));
        break;
    }
    case 16: {
        uint32_t n = (uint32_t)(uint16_t)c->gpr[R_EDX] << 16 | (uint16_t)c->gpr[R_EAX];
        uint32_t q = n / src, r = n % src;
        if (q > 0xffff)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        wr_reg16(c, R_EAX, (uint16_t)q);
        wr_reg16(c, R_EDX, (uint16_t)r);
        break;
    }
    default: {
        uint64_t n = (uint64_t)(uint32_t)c->gpr[R_EDX] << 32 | (uint32_t)c->gpr[R_EAX];
        uint64_t q = n / src, r = n % src;
        if (q > 0xffffffffu)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        wr_reg32(c, R_EAX, (uint32_t)q);
        wr_reg32(c, R_EDX, (uint32_t)r);
        break;
    }
    }
}

static void idiv_acc(struct cpu *c, uint32_t src, int bits)
{
    if ((uint32_t)sext(src, bits) == 0)
        cpu_fault(c, EXC_DE, NO_ERRCODE);
    int64_t d = (int64_t)sext(src, bits);
    switch (bits) {
    case 8: {
        int64_t n = (int16_t)c->gpr[R_EAX], q = n / d, r = n % d;
        if (q != (int8_t)q)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        wr_reg16(c, R_EAX, (uint16_t)((uint8_t)r << 8 | (uint8_t)q));
        break;
    }
    case 16: {
        int64_t n = (int32_t)((uint32_t)(uint16_t)c->gpr[R_EDX] << 16 | (uint16_t)c->gpr[R_EAX]);
        int64_t q = n / d, r = n % d;
        if (q != (int16_t)q)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        wr_reg16(c, R_EAX, (uint16_t)q);
        wr_reg16(c, R_EDX, (uint16_t)r);
        break;
    }
    default: {
        int64_t n = (int64_t)((uint64_t)(uint32_t)c->gpr[R_EDX] << 32 | (uint32_t)c->gpr[R_EAX]);
        /* INT64_MIN / -1 overflows the host too: its quotient cannot fit anyway. */
        if (n == INT64_MIN && d == -1)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        int64_t q = n / d, r = n % d;
        if (q != (int32_t)q)
            cpu_fault(c, EXC_DE, NO_ERRCODE);
        wr_reg32(c, R_EAX, (uint32_t)q);
        wr_reg32(c, R_EDX, (uint32_t)r);
        break;
    }
    }
}

/* ---- Handlers: F6 /4../7 and F7 /4../7 ---- */

#define ACC_FORMS(name, call)                                                                                          \
    HANDLER(name##_Eb_r) { call(c, *reg8(c, i->rm), 8); }                                                              \
    HANDLER(name##_Eb_m) { call(c, mem_rd8(c, i->seg, insn_ea(c, i)), 8); }                                            \
    HANDLER(name##_Ev_r16) { call(c, (uint16_t)c->gpr[i->rm], 16); }                                                   \
    HANDLER(name##_Ev_r32) { call(c, (uint32_t)c->gpr[i->rm], 32); }                                                   \
    HANDLER(name##_Ev_m16) { call(c, mem_rd16(c, i->seg, insn_ea(c, i)), 16); }                                        \
    HANDLER(name##_Ev_m32) { call(c, mem_rd32(c, i->seg, insn_ea(c, i)), 32); }

static inline void op_mul(struct cpu *c, uint32_t s, int bits) { mul_acc(c, s, bits, false); }
static inline void op_imul(struct cpu *c, uint32_t s, int bits) { mul_acc(c, s, bits, true); }
ACC_FORMS(mul, op_mul)
ACC_FORMS(imul, op_imul)
ACC_FORMS(div, div_acc)
ACC_FORMS(idiv, idiv_acc)

/* ---- Two- and three-operand IMUL: Gv = a * b, truncated ---- */

static inline uint32_t imul_trunc(struct cpu *c, uint32_t a, uint32_t b, int bits)
{
    int64_t r = (int64_t)sext(a, bits) * (int64_t)sext(b, bits);
    uint32_t lo = (uint32_t)r;
    if (bits == 16)
        lo &= 0xffff;
    mul_flags(c, lo, bits, r != (int64_t)sext(lo, bits));
    return lo;
}

HANDLER(imul_GvEv_r16)
{
    wr_reg16(c, i->reg, (uint16_t)imul_trunc(c, (uint16_t)c->gpr[i->reg], (uint16_t)c->gpr[i->rm], 16));
}
HANDLER(imul_GvEv_r32) { wr_reg32(c, i->reg, imul_trunc(c, (uint32_t)c->gpr[i->reg], (uint32_t)c->gpr[i->rm], 32)); }
HANDLER(imul_GvEv_m16)
{
    uint16_t b = mem_rd16(c, i->seg, insn_ea(c, i));
    wr_reg16(c, i->reg, (uint16_t)imul_trunc(c, (uint16_t)c->gpr[i->reg], b, 16));
}
HANDLER(imul_GvEv_m32)
{
    uint32_t b = mem_rd32(c, i->seg, insn_ea(c, i));
    wr_reg32(c, i->reg, imul_trunc(c, (uint32_t)c->gpr[i->reg], b, 32));
}
/* Three-operand form; the imm8 of 6B is sign-extended by the decoder. */
HANDLER(imul_GvEvIz_r16)
{
    wr_reg16(c, i->reg, (uint16_t)imul_trunc(c, (uint16_t)c->gpr[i->rm], (uint16_t)i->imm, 16));
}
HANDLER(imul_GvEvIz_r32) { wr_reg32(c, i->reg, imul_trunc(c, (uint32_t)c->gpr[i->rm], i->imm, 32)); }
HANDLER(imul_GvEvIz_m16)
{
    uint16_t a = mem_rd16(c, i->seg, insn_ea(c, i));
    wr_reg16(c, i->reg, (uint16_t)imul_trunc(c, a, (uint16_t)i->imm, 16));
}
HANDLER(imul_GvEvIz_m32)
{
    uint32_t a = mem_rd32(c, i->seg, insn_ea(c, i));
    wr_reg32(c, i->reg, imul_trunc(c, a, i->imm, 32));
}
