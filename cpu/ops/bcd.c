/*
 * Decimal adjust instructions: DAA DAS (packed BCD after ADD/SUB), AAA AAS
 * (unpacked BCD after ADD/SUB), AAM AAD (unpacked multiply/divide).
 *
 * The defined flags follow the SDM's pseudo-code. The flags it leaves
 * undefined are set as Intel P6-family and later CPUs set them (found by
 * running these instructions on the host CPU, an Intel Xeon, over every AL
 * with every AF/CF combination):
 *   DAA, DAS   OF = 0
 *   AAA, AAS   OF = 0; SF, ZF, PF from AL after it is masked to 4 bits
 *   AAM        CF = AF = OF = 0
 *   AAD        CF, AF, OF of the byte addition AL + AH * imm8
 * AAA/AAS adjust AX as a whole (AX + 106h / AX - 106h), so an AL above F9h
 * carries into AH, as on the 80286 and later.
 */
#include "cpu/ops/ops.h"

/* Set all six flags: SF, ZF, PF from an 8-bit result, the rest given. */
static inline void bcd_flags(struct cpu *c, uint8_t r, int cf, int af, int of)
{
    c->lf_res = (uint64_t)(int64_t)(int8_t)r;
    c->lf_aux = (uint64_t)(cf & 1) << 63 | (uint64_t)((cf ^ of) & 1) << 62 | (uint64_t)(af & 1) << 3;
}

HANDLER(daa)
{
    (void)i;
    uint8_t al = (uint8_t)c->gpr[R_EAX], old = al;
    int cf = lf_cf(c), af = lf_af(c), ncf = 0, naf = 0;
    if ((al & 0xf) > 9 || af) {
        al = (uint8_t)(al + 6);
        ncf = cf || old > 0xf9;
        naf = 1;
    }
    if (old > 0x99 || cf) {
        al = (uint8_t)(al + 0x60);
        ncf = 1;
    } else {
        ncf = 0;
    }
    *reg8(c, 0) = al;
    bcd_flags(c, al, ncf, naf, 0);
}

HANDLER(das)
{
    (void)i;
    uint8_t al = (uint8_t)c->gpr[R_EAX], old = al;
    int cf = lf_cf(c), af = lf_af(c), ncf = 0, naf = 0;
    if ((al & 0xf) > 9 || af) {
        al = (uint8_t)(al - 6);
        ncf = cf || old < 6;
        naf = 1;
    }
    if (old > 0x99 || cf) {
        al = (uint8_t)(al - 0x60);
        ncf = 1;
    }
    *reg8(c, 0) = al;
    bcd_flags(c, al, ncf, naf, 0);
}

HANDLER(aaa)
{
    (void)i;
    uint16_t ax = (uint16_t)c->gpr[R_EAX];
    int adj = (ax & 0xf) > 9 || lf_af(c);
    if (adj)
        ax = (uint16_t)(ax + 0x106);
    ax &= 0xff0f;
    wr_reg16(c, R_EAX, ax);
    bcd_flags(c, (uint8_t)ax, adj, adj, 0);
}

HANDLER(aas)
{
    (void)i;
    uint16_t ax = (uint16_t)c->gpr[R_EAX];
    int adj = (ax & 0xf) > 9 || lf_af(c);
    if (adj) {
        ax = (uint16_t)(ax - 6);
        ax = (uint16_t)(ax - 0x100);
    }
    ax &= 0xff0f;
    wr_reg16(c, R_EAX, ax);
    bcd_flags(c, (uint8_t)ax, adj, adj, 0);
}

HANDLER(aam)
{
    uint8_t base = (uint8_t)i->imm, al = (uint8_t)c->gpr[R_EAX];
    if (base == 0)
        cpu_fault(c, EXC_DE, NO_ERRCODE);
    uint8_t q = al / base, r = al % base;
    wr_reg16(c, R_EAX, (uint16_t)(q << 8 | r));
    bcd_flags(c, r, 0, 0, 0);
}

HANDLER(aad)
{
    uint8_t base = (uint8_t)i->imm;
    uint16_t ax = (uint16_t)c->gpr[R_EAX];
    uint8_t a = (uint8_t)ax, b = (uint8_t)((ax >> 8) * base), al = (uint8_t)(a + b);
    wr_reg16(c, R_EAX, al);
    lf_result8(c, al, LF_AUX(LF_ADD_CV(a, b, al), 8));
}
