/*
 * x86-64 instruction encoder: just the forms the backend uses, each a
 * small function appending bytes to a code buffer. Registers are the
 * hardware numbers (RAX=0 ... R15=15). `w` selects 64-bit operand size
 * (REX.W); 8-bit forms always emit a REX prefix for SPL..DIL so every
 * register has a byte form, and 16-bit forms take the 0x66 prefix.
 *
 * Memory operands are [base + disp] or [base + index*scale + disp]; the
 * encoder picks disp8/disp32 and the SIB byte RSP/R12 bases need.
 * A full buffer sets `overflow` and further writes are dropped: the caller
 * checks once at the end and retries in a fresh arena.
 */
#ifndef KESTREL_JIT_X64_EMIT_H
#define KESTREL_JIT_X64_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* Condition codes (the low nibble of Jcc/SETcc/CMOVcc). */
enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A, CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G };

/* Group-1 ALU operations (ModRM reg field of 0x81/0x83). */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
/* Group-2 shifts (0xC1/0xD3 reg field). */
enum { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

struct xbuf {
    uint8_t *p, *end;
    bool overflow;
    uint8_t sink[4]; /* a jump's rel32 field that did not fit: patching it is harmless */
};

#define NOREG (-1)

static inline void xb(struct xbuf *b, uint8_t v)
{
    if (b->p < b->end)
        *b->p++ = v;
    else
        b->overflow = true;
}
static inline void x32(struct xbuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        xb(b, (uint8_t)(v >> (8 * i)));
}
static inline void x64v(struct xbuf *b, uint64_t v)
{
    x32(b, (uint32_t)v);
    x32(b, (uint32_t)(v >> 32));
}
static inline bool fits_i8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* REX prefix for reg (ModRM.reg), index (SIB.index), base (ModRM.rm or SIB.base).
 * byte_regs: an 8-bit operand is involved, so SPL..DIL need a bare REX. */
static inline void x_rex(struct xbuf *b, int w, int reg, int index, int base, bool byte_regs)
{
    int r = (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0);
    bool need = r || (byte_regs && ((reg >= 4 && reg < 8) || (base >= 4 && base < 8)));
    if (need)
        xb(b, (uint8_t)(0x40 | r));
}

/* ModRM (+SIB, disp) for a memory operand [base + index*scale + disp]. */
static inline void x_mem(struct xbuf *b, int reg, int base, int index, int scale, int32_t disp)
{
    int r = reg & 7;
    if (base == NOREG) { /* [index*scale + disp32] or absolute disp32 */
        xb(b, (uint8_t)(0x04 | r << 3));
        xb(b, (uint8_t)((scale << 6) | ((index == NOREG ? RSP : index) & 7) << 3 | 5));
        x32(b, (uint32_t)disp);
        return;
    }
    int mod = (disp == 0 && (base & 7) != RBP) ? 0 : fits_i8(disp) ? 1 : 2;
    if (index == NOREG && (base & 7) != RSP) {
        xb(b, (uint8_t)(mod << 6 | r << 3 | (base & 7)));
    } else {
        xb(b, (uint8_t)(mod << 6 | r << 3 | 4));
        xb(b, (uint8_t)((scale << 6) | ((index == NOREG ? RSP : index) & 7) << 3 | (base & 7)));
    }
    if (mod == 1)
        xb(b, (uint8_t)disp);
    else if (mod == 2)
        x32(b, (uint32_t)disp);
}

static inline void x_modrr(struct xbuf *b, int reg, int rm)
{
    xb(b, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* opcode (1 or 2 bytes: 0x0fXX as 0x0f00|XX) reg, rm register form. */
static inline void x_op(struct xbuf *b, unsigned opc)
{
    if (opc > 0xff)
        xb(b, (uint8_t)(opc >> 8));
    xb(b, (uint8_t)opc);
}
static inline void x_rr(struct xbuf *b, unsigned opc, int w, int reg, int rm)
{
    x_rex(b, w, reg, NOREG, rm, false);
    x_op(b, opc);
    x_modrr(b, reg, rm);
}
static inline void x_rm(struct xbuf *b, unsigned opc, int w, int reg, int base, int index, int scale, int32_t disp)
{
    x_rex(b, w, reg, index, base, false);
    x_op(b, opc);
    x_mem(b, reg, base, index, scale, disp);
}

/* ---- Moves ---- */
static inline void x_mov_rr(struct xbuf *b, int w, int dst, int src)
{
    if (dst != src || !w) /* a 32-bit self-move still zero-extends */
        x_rr(b, 0x89, w, src, dst);
}
static inline void x_mov_ri(struct xbuf *b, int w, int dst, int64_t v)
{
    if (v == 0) {
        x_rr(b, 0x31, 0, dst, dst); /* xor r32, r32 (clobbers flags) */
    } else if (!w || (v >= 0 && v <= UINT32_MAX)) {
        x_rex(b, 0, 0, NOREG, dst, false);
        xb(b, (uint8_t)(0xb8 + (dst & 7)));
        x32(b, (uint32_t)v);
    } else if (fits_i32(v)) {
        x_rex(b, 1, 0, NOREG, dst, false);
        xb(b, 0xc7);
        x_modrr(b, 0, dst);
        x32(b, (uint32_t)v);
    } else {
        x_rex(b, 1, 0, NOREG, dst, false);
        xb(b, (uint8_t)(0xb8 + (dst & 7)));
        x64v(b, (uint64_t)v);
    }
}
/* Like x_mov_ri but never touches the flags (no xor for zero). */
static inline void x_mov_ri_keepflags(struct xbuf *b, int w, int dst, int64_t v)
{
    if (v == 0) {
        x_rex(b, 0, 0, NOREG, dst, false);
        xb(b, (uint8_t)(0xb8 + (dst & 7)));
        x32(b, 0);
    } else {
        x_mov_ri(b, w, dst, v);
    }
}
/* Load size 1/2/4/8 from [base+disp], zero- or sign-extending into a 32/64-bit register. */
static inline void x_load(struct xbuf *b, int w, int dst, int base, int index, int scale, int32_t disp, int size,
                          bool sign)
{
    switch (size) {
    case 1: x_rm(b, sign ? 0x0fbe : 0x0fb6, w && sign, dst, base, index, scale, disp); break;
    case 2: x_rm(b, sign ? 0x0fbf : 0x0fb7, w && sign, dst, base, index, scale, disp); break;
    case 4:
        if (sign && w)
            x_rm(b, 0x63, 1, dst, base, index, scale, disp); /* movsxd */
        else
            x_rm(b, 0x8b, 0, dst, base, index, scale, disp);
        break;
    default: x_rm(b, 0x8b, 1, dst, base, index, scale, disp); break;
    }
}
static inline void x_store(struct xbuf *b, int src, int base, int index, int scale, int32_t disp, int size)
{
    switch (size) {
    case 1:
        x_rex(b, 0, src, index, base, true);
        xb(b, 0x88);
        x_mem(b, src, base, index, scale, disp);
        break;
    case 2:
        xb(b, 0x66);
        x_rm(b, 0x89, 0, src, base, index, scale, disp);
        break;
    case 4: x_rm(b, 0x89, 0, src, base, index, scale, disp); break;
    default: x_rm(b, 0x89, 1, src, base, index, scale, disp); break;
    }
}
/* Store an immediate (sign-extended 32-bit for size 8). */
static inline void x_store_i(struct xbuf *b, int32_t v, int base, int32_t disp, int size)
{
    switch (size) {
    case 1:
        x_rex(b, 0, 0, NOREG, base, false);
        xb(b, 0xc6);
        x_mem(b, 0, base, NOREG, 0, disp);
        xb(b, (uint8_t)v);
        break;
    case 2:
        xb(b, 0x66);
        x_rex(b, 0, 0, NOREG, base, false);
        xb(b, 0xc7);
        x_mem(b, 0, base, NOREG, 0, disp);
        xb(b, (uint8_t)v);
        xb(b, (uint8_t)(v >> 8));
        break;
    default:
        x_rex(b, size == 8, 0, NOREG, base, false);
        xb(b, 0xc7);
        x_mem(b, 0, base, NOREG, 0, disp);
        x32(b, (uint32_t)v);
        break;
    }
}
static inline void x_lea(struct xbuf *b, int w, int dst, int base, int index, int scale, int32_t disp)
{
    x_rm(b, 0x8d, w, dst, base, index, scale, disp);
}
static inline void x_movzx8_rr(struct xbuf *b, int dst, int src)
{
    x_rex(b, 0, dst, NOREG, src, true);
    xb(b, 0x0f);
    xb(b, 0xb6);
    x_modrr(b, dst, src);
}
static inline void x_movsx8_rr(struct xbuf *b, int w, int dst, int src)
{
    x_rex(b, w, dst, NOREG, src, true);
    xb(b, 0x0f);
    xb(b, 0xbe);
    x_modrr(b, dst, src);
}
static inline void x_movzx16_rr(struct xbuf *b, int dst, int src) { x_rr(b, 0x0fb7, 0, dst, src); }
static inline void x_movsx16_rr(struct xbuf *b, int w, int dst, int src) { x_rr(b, 0x0fbf, w, dst, src); }
static inline void x_movsxd_rr(struct xbuf *b, int dst, int src) { x_rr(b, 0x63, 1, dst, src); }
/* mov dst8, src8 (low bytes; the rest of dst is kept) */
static inline void x_mov8_rr(struct xbuf *b, int dst, int src)
{
    x_rex(b, 0, src, NOREG, dst, true);
    xb(b, 0x88);
    x_modrr(b, src, dst);
}
static inline void x_mov16_rr(struct xbuf *b, int dst, int src)
{
    xb(b, 0x66);
    x_rr(b, 0x89, 0, src, dst);
}

/* ---- Arithmetic ---- */
static inline void x_alu_rr(struct xbuf *b, int op, int w, int dst, int src)
{
    x_rr(b, (unsigned)(op << 3 | 1), w, src, dst);
}
static inline void x_alu_ri(struct xbuf *b, int op, int w, int dst, int32_t imm)
{
    x_rex(b, w, 0, NOREG, dst, false);
    if (fits_i8(imm)) {
        xb(b, 0x83);
        x_modrr(b, op, dst);
        xb(b, (uint8_t)imm);
    } else {
        xb(b, 0x81);
        x_modrr(b, op, dst);
        x32(b, (uint32_t)imm);
    }
}
static inline void x_alu_rm(struct xbuf *b, int op, int w, int dst, int base, int32_t disp)
{
    x_rm(b, (unsigned)(op << 3 | 3), w, dst, base, NOREG, 0, disp);
}
static inline void x_alu_mr(struct xbuf *b, int op, int w, int src, int base, int32_t disp)
{
    x_rm(b, (unsigned)(op << 3 | 1), w, src, base, NOREG, 0, disp);
}
static inline void x_alu_mi(struct xbuf *b, int op, int w, int base, int32_t disp, int32_t imm)
{
    x_rex(b, w, 0, NOREG, base, false);
    if (fits_i8(imm)) {
        xb(b, 0x83);
        x_mem(b, op, base, NOREG, 0, disp);
        xb(b, (uint8_t)imm);
    } else {
        xb(b, 0x81);
        x_mem(b, op, base, NOREG, 0, disp);
        x32(b, (uint32_t)imm);
    }
}
static inline void x_test_rr(struct xbuf *b, int w, int a, int c) { x_rr(b, 0x85, w, c, a); }
static inline void x_test8_rr(struct xbuf *b, int a, int c)
{
    x_rex(b, 0, c, NOREG, a, true);
    xb(b, 0x84);
    x_modrr(b, c, a);
}
/* test byte [base + disp], imm8 */
static inline void x_test8_mi(struct xbuf *b, int base, int32_t disp, uint8_t imm)
{
    x_rex(b, 0, 0, NOREG, base, false);
    xb(b, 0xf6);
    x_mem(b, 0, base, NOREG, 0, disp);
    xb(b, imm);
}
static inline void x_test_ri(struct xbuf *b, int w, int a, int32_t imm)
{
    x_rex(b, w, 0, NOREG, a, false);
    xb(b, 0xf7);
    x_modrr(b, 0, a);
    x32(b, (uint32_t)imm);
}
static inline void x_unary(struct xbuf *b, int ext, int w, int r) /* 2 NOT, 3 NEG */
{
    x_rex(b, w, 0, NOREG, r, false);
    xb(b, 0xf7);
    x_modrr(b, ext, r);
}
static inline void x_bt_ri(struct xbuf *b, int ext, int r, int bit) /* ext 4 BT, 5 BTS; 64-bit */
{
    x_rex(b, 1, 0, NOREG, r, false);
    xb(b, 0x0f);
    xb(b, 0xba);
    x_modrr(b, ext, r);
    xb(b, (uint8_t)bit);
}
static inline void x_shift_ri(struct xbuf *b, int op, int w, int r, int n)
{
    x_rex(b, w, 0, NOREG, r, false);
    if (n == 1) {
        xb(b, 0xd1);
        x_modrr(b, op, r);
    } else {
        xb(b, 0xc1);
        x_modrr(b, op, r);
        xb(b, (uint8_t)n);
    }
}
static inline void x_shift_cl(struct xbuf *b, int op, int w, int r)
{
    x_rex(b, w, 0, NOREG, r, false);
    xb(b, 0xd3);
    x_modrr(b, op, r);
}
static inline void x_imul_rr(struct xbuf *b, int w, int dst, int src) { x_rr(b, 0x0faf, w, dst, src); }
static inline void x_imul_rri(struct xbuf *b, int w, int dst, int src, int32_t imm)
{
    x_rex(b, w, dst, NOREG, src, false);
    if (fits_i8(imm)) {
        xb(b, 0x6b);
        x_modrr(b, dst, src);
        xb(b, (uint8_t)imm);
    } else {
        xb(b, 0x69);
        x_modrr(b, dst, src);
        x32(b, (uint32_t)imm);
    }
}
static inline void x_bswap(struct xbuf *b, int w, int r)
{
    x_rex(b, w, 0, NOREG, r, false);
    xb(b, 0x0f);
    xb(b, (uint8_t)(0xc8 + (r & 7)));
}
static inline void x_setcc(struct xbuf *b, int cc, int r)
{
    x_rex(b, 0, 0, NOREG, r, true);
    xb(b, 0x0f);
    xb(b, (uint8_t)(0x90 + cc));
    x_modrr(b, 0, r);
}
static inline void x_cmov(struct xbuf *b, int cc, int w, int dst, int src) { x_rr(b, 0x0f40u + (unsigned)cc, w, dst, src); }

/* BMI2 SHLX/SHRX/SARX dst, src, count (VEX, no flags). pp: 1 = 66 (shlx), 3 = F2 (shrx), 2 = F3 (sarx). */
static inline void x_shx(struct xbuf *b, int pp, int w, int dst, int src, int cnt)
{
    xb(b, 0xc4);
    xb(b, (uint8_t)(((dst >= 8) ? 0 : 0x80) | 0x40 | ((src >= 8) ? 0 : 0x20) | 0x02));
    xb(b, (uint8_t)((w ? 0x80 : 0) | ((~cnt & 15) << 3) | pp));
    xb(b, 0xf7);
    x_modrr(b, dst, src);
}

/* BMI2 RORX dst, src, imm (VEX, no flags): a rotate that leaves src alone. */
static inline void x_rorx(struct xbuf *b, int w, int dst, int src, int imm)
{
    xb(b, 0xc4);
    xb(b, (uint8_t)(((dst >= 8) ? 0 : 0x80) | 0x40 | ((src >= 8) ? 0 : 0x20) | 0x03));
    xb(b, (uint8_t)((w ? 0x80 : 0) | 0x78 | 3));
    xb(b, 0xf0);
    x_modrr(b, dst, src);
    xb(b, (uint8_t)imm);
}

/* ---- Control ---- */
static inline uint8_t *x_jcc32(struct xbuf *b, int cc) /* returns the rel32 field */
{
    xb(b, 0x0f);
    xb(b, (uint8_t)(0x80 + cc));
    uint8_t *f = b->p;
    x32(b, 0);
    return b->overflow ? b->sink : f;
}
static inline uint8_t *x_jmp32(struct xbuf *b)
{
    xb(b, 0xe9);
    uint8_t *f = b->p;
    x32(b, 0);
    return b->overflow ? b->sink : f;
}
static inline uint8_t *x_call32(struct xbuf *b)
{
    xb(b, 0xe8);
    uint8_t *f = b->p;
    x32(b, 0);
    return b->overflow ? b->sink : f;
}
/* Point a rel32 field at `target`. */
static inline void x_patch32(uint8_t *field, const uint8_t *target)
{
    int32_t rel = (int32_t)(target - (field + 4));
    memcpy(field, &rel, 4);
}
/* lea r64, [rip + target] (target NULL: a table that did not fit; the
 * code is thrown away) */
static inline void x_lea_rip(struct xbuf *b, int dst, const uint8_t *target)
{
    x_rex(b, 1, dst, NOREG, NOREG, false);
    xb(b, 0x8d);
    xb(b, (uint8_t)(0x05 | (dst & 7) << 3));
    uint8_t *f = b->p;
    x32(b, 0);
    if (!b->overflow && target)
        x_patch32(f, target);
}
static inline void x_jmp_to(struct xbuf *b, const uint8_t *target)
{
    uint8_t *f = x_jmp32(b);
    if (!b->overflow)
        x_patch32(f, target);
}
static inline void x_call_to(struct xbuf *b, const uint8_t *target)
{
    uint8_t *f = x_call32(b);
    if (!b->overflow)
        x_patch32(f, target);
}
static inline void x_jcc_to(struct xbuf *b, int cc, const uint8_t *target)
{
    uint8_t *f = x_jcc32(b, cc);
    if (!b->overflow)
        x_patch32(f, target);
}
static inline void x_jmp_r(struct xbuf *b, int r)
{
    x_rex(b, 0, 0, NOREG, r, false);
    xb(b, 0xff);
    x_modrr(b, 4, r);
}
/* Call an absolute address: rel32 when it reaches, else through R11. */
static inline void x_call_abs(struct xbuf *b, const void *fn)
{
    int64_t rel = (int64_t)((const uint8_t *)fn - (b->p + 5));
    if (fits_i32(rel)) {
        xb(b, 0xe8);
        x32(b, (uint32_t)rel);
    } else {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)fn);
        x_rex(b, 0, 0, NOREG, R11, false);
        xb(b, 0xff);
        x_modrr(b, 2, R11);
    }
}
static inline void x_push(struct xbuf *b, int r)
{
    x_rex(b, 0, 0, NOREG, r, false);
    xb(b, (uint8_t)(0x50 + (r & 7)));
}
static inline void x_pop(struct xbuf *b, int r)
{
    x_rex(b, 0, 0, NOREG, r, false);
    xb(b, (uint8_t)(0x58 + (r & 7)));
}
static inline void x_ret(struct xbuf *b) { xb(b, 0xc3); }
static inline void x_ret_imm(struct xbuf *b, uint16_t n) /* ret n: pop RIP, then n more bytes */
{
    xb(b, 0xc2);
    xb(b, (uint8_t)n);
    xb(b, (uint8_t)(n >> 8));
}

#endif
