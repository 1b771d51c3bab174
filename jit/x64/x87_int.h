/*
 * What the x87 files of the x86-64 backend share: x87.c lowers the
 * guest's x87 instructions onto the host's x87, keeping the guest's
 * registers in the host's stack within a block (the register cache,
 * struct x87_model in x64.h); x87_cache.c moves that cache across the
 * block's edges (written back, synced around calls, carried round a
 * loop's back edge and into a chained loop translation). Here: offsets
 * into struct cpu's x87 state, status word bits, and the host
 * instructions both emit.
 */
#ifndef KESTREL_JIT_X64_X87_INT_H
#define KESTREL_JIT_X64_X87_INT_H

#include <stddef.h>

#include "cpu/cpu.h"
#include "jit/x64/x64.h"

#define FPU_OFF(field) ((int32_t)(offsetof(struct cpu, fpu) + offsetof(struct fpu, field)))
#define SEG_SEL_OFF(s) ((int32_t)(offsetof(struct cpu, seg) + (size_t)(s) * sizeof(struct seg) + offsetof(struct seg, sel)))

enum {
    FSW_EXC_BITS = 0x3f,
    SW_C0 = 0x100, SW_C1 = 0x200, SW_C2 = 0x400, SW_C3 = 0x4000,
    SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3,
};

/* opc /reg [base + index + disp] (x87 memory forms take no REX.W). */
static inline void x87_m(struct xbuf *b, uint8_t opc, int reg, int base, int index, int32_t disp)
{
    x_rm(b, opc, 0, reg, base, index, 0, disp);
}

static inline void fld80(struct xbuf *b, int areg) { x87_m(b, 0xdb, 5, RBP, areg, FPU_OFF(st)); }
static inline void fstp80(struct xbuf *b, int areg) { x87_m(b, 0xdb, 7, RBP, areg, FPU_OFF(st)); }
static inline void fpop(struct xbuf *b) { xb(b, 0xdd); xb(b, 0xd8); } /* fstp st(0) */
static inline void fnstsw_tmp(struct xbuf *b) { x87_m(b, 0xdd, 7, X64_FP, NOREG, X64_FO(X64_TMP1)); }

static inline void x87_2(struct xbuf *b, uint8_t a, uint8_t c)
{
    xb(b, a);
    xb(b, c);
}

/* dst = offset of ST(k) from st[0] in struct cpu: ((top + k) & 7) * 16,
 * with `top` struct cpu's TOP (k includes the cache's delta). */
static inline void st_index(struct xbuf *b, int dst, int top, int k)
{
    k &= 7;
    if (k == 0) {
        x_mov_rr(b, 0, dst, top);
    } else {
        x_lea(b, 0, dst, top, NOREG, 0, k);
        x_alu_ri(b, ALU_AND, 0, dst, 7);
    }
    x_shift_ri(b, SH_SHL, 0, dst, 4);
}

/* The same into R11, reading TOP itself (write-back code has R11 only). */
static inline void st_index_r11(struct xbuf *b, int k)
{
    x_load(b, 0, R11, RBP, NOREG, 0, FPU_OFF(top), 1, false);
    if (k & 7) {
        x_alu_ri(b, ALU_ADD, 0, R11, k & 7);
        x_alu_ri(b, ALU_AND, 0, R11, 7);
    }
    x_shift_ri(b, SH_SHL, 0, R11, 4);
}

/* and word [rbp + disp], imm16 / or word [rbp + disp], r11w */
static inline void and_m16(struct xbuf *b, int32_t disp, uint16_t imm)
{
    xb(b, 0x66);
    x_rm(b, 0x81, 0, 4, RBP, NOREG, 0, disp);
    xb(b, (uint8_t)imm);
    xb(b, (uint8_t)(imm >> 8));
}
static inline void or_m16_r11(struct xbuf *b, int32_t disp)
{
    xb(b, 0x66);
    x_rm(b, 0x09, 0, R11, RBP, NOREG, 0, disp);
}

/* The host pushes v (a guest register, not a ghost) or pops its top. */
static inline void m_push_host(struct x87_model *m, int v, bool dirty)
{
    for (int h = m->n; h > 0; h--)
        m->v[h] = m->v[h - 1];
    m->v[0] = (int8_t)v;
    m->dirty = (uint8_t)(m->dirty << 1 | dirty);
    m->ghost = (uint8_t)(m->ghost << 1);
    m->n++;
}

static inline void m_pop_host(struct x87_model *m)
{
    for (int h = 0; h + 1 < m->n; h++)
        m->v[h] = m->v[h + 1];
    m->dirty >>= 1;
    m->ghost >>= 1;
    m->n--;
}

/* Host registers h1 and h2 trade places (FXCH). */
static inline void m_swap_host(struct x87_model *m, int h1, int h2)
{
    int8_t t = m->v[h1];
    m->v[h1] = m->v[h2];
    m->v[h2] = t;
    uint8_t both = (uint8_t)(1u << h1 | 1u << h2);
    if (((m->dirty >> h1) ^ (m->dirty >> h2)) & 1)
        m->dirty ^= both;
    if (((m->ghost >> h1) ^ (m->ghost >> h2)) & 1)
        m->ghost ^= both;
}

#endif
