/*
 * The generator's miscellany and its faulting last groups: XLAT, ARPL,
 * BOUND, LDS/LES/LFS/LGS/LSS, LAR/LSL/VERR/VERW, self-modifying code, and
 * (with --faults) the groups that end a sequence in an exception: ES/FS
 * limit violations, REP string instructions that reach a limit part way,
 * #BR, #OF, #UD, bad segment-register loads, the trap flag and ICEBP.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/diff/gen_priv.h"

static bool sel_ok(const struct gen *g)
{
    return g->o->sel_cs && g->o->sel_ds && g->o->sel_ss && g->o->sel_gs;
}

static bool gen_xlat(struct gen *g)
{
    if ((g->keep & (RB(EAX) | RB(EBX))) || !have(g, OP_XLAT, 32, false))
        return false;
    bool a16 = chance(g, 25), based = a16 || chance(g, 40);
    uint32_t off = below(g, DATA_SIZE - 256 + 1);
    if (!off_ok(g, off, 256))
        return false;
    uint8_t p[2];
    int n = 0;
    if (based)
        p[n++] = chance(g, 50) ? PFX_ES : PFX_FS;
    else if (chance(g, 30))
        p[n++] = chance(g, 50) && !g->code16 ? PFX_CS : PFX_SS;
    n += size_pfx(g, p + n, 0, a16);
    emit_mov_imm(g, EBX, a16 ? ((uint32_t)rnd(g) & 0xffff0000u) | off : based ? off : DATA_ADDR + off);
    uint8_t opc = 0xd7;
    struct enc e = { .n = 0 };
    enc_insn(g, &e, p, n, &opc, 1, -1, NULL, 0, 0);
    emit(g, &e, OP_XLAT, false);
    return true;
}

static bool gen_arpl(struct gen *g)
{
    struct rm rm;
    gen_rm(g, &rm, 16, true, 0, 40, 0);
    if (!have(g, OP_ARPL, 16, rm.mem))
        return false;
    struct enc e = { .n = 0 };
    uint8_t opc = 0x63;
    enc_std(g, &e, 0, chance(g, 50) ? 16 : 32, &opc, 1, (int)below(g, 8), &rm, 0, 0);
    emit(g, &e, OP_ARPL, false);
    return true;
}

/* MOV [DATA_ADDR + off], imm of osz bits through an absolute address. */
static void emit_store_abs(struct gen *g, int osz, uint32_t off, uint32_t v)
{
    struct rm rm;
    memset(&rm, 0, sizeof(rm));
    rm.mem = true;
    rm.mod = 0;
    rm.rmf = 5;
    rm.dsz = 4;
    rm.disp = DATA_ADDR + off;
    struct enc e = { .n = 0 };
    uint8_t opc = 0xc7;
    enc_std(g, &e, 0, osz, &opc, 1, 0, &rm, v, osz / 8);
    emit(g, &e, OP_MOV_EvIz, true);
}

/* BOUND r, m: bounds stored first; the index inside them unless `out`. */
static bool gen_bound(struct gen *g, bool out)
{
    int osz = vsize(g), sz = osz / 8;
    int r = pick_reg(g, 0);
    if (r < 0 || !have(g, OP_BOUND, osz, true))
        return false;
    struct rm rm;
    gen_mem(g, &rm, 2 * sz, 2 * sz, RB(r), MF_WRITE);
    int32_t lo = sext(rval(g, osz), osz), hi = sext(rval(g, osz), osz);
    if (lo > hi) {
        int32_t t = lo;
        lo = hi;
        hi = t;
    }
    int64_t idx = lo + (int64_t)(rnd(g) % (uint64_t)((int64_t)hi - lo + 1));
    if (out) {
        if (hi < (osz == 16 ? 0x7fff : 0x7fffffff))
            idx = (int64_t)hi + 1 + (int64_t)below(g, 3);
        else if (lo > (osz == 16 ? -0x8000 : INT32_MIN))
            idx = (int64_t)lo - 1;
        if (osz == 16)
            idx = (int16_t)idx;
    }
    emit_store_abs(g, osz, rm.off, (uint32_t)lo & mask_of(osz));
    emit_store_abs(g, osz, rm.off + (uint32_t)sz, (uint32_t)hi & mask_of(osz));
    emit_mov_imm(g, r, ((uint32_t)rnd(g) & ~mask_of(osz)) | ((uint32_t)idx & mask_of(osz)));
    struct enc e = { .n = 0 };
    uint8_t opc = 0x62;
    enc_std(g, &e, 0, osz, &opc, 1, r, &rm, 0, 0);
    emit(g, &e, OP_BOUND, false);
    return true;
}

/* Self-modifying code: a store changes the immediate of a MOV that runs
 * a little later (in the same decoded block, usually). */
static bool gen_smc(struct gen *g)
{
    int r = pick_reg(g, 0), r2 = pick_reg(g, 0);
    if (r < 0 || r2 < 0 || !have(g, OP_MOV_EbIb, 8, true))
        return false;
    uint16_t grp = g->group;
    struct enc e = { .n = 0 };
    uint8_t p[2];
    int np = size_pfx(g, p, 32, g->code16);
    for (int k = 0; k < np; k++)
        enc_byte(&e, p[k]);
    enc_byte(&e, (uint8_t)(0xb8 + r));
    int mov_at = g->s->n;
    struct item *m = emit(g, &e, OP_MOV_ZvIz, true);
    m->kind = IK_ABS32; /* the linear address: DS is flat */
    m->tofs = (int8_t)(np + 1 + (int)below(g, 4));
    struct rm rm;
    memset(&rm, 0, sizeof(rm));
    rm.mem = true;
    rm.rmf = (uint8_t)r;
    rm.mod = r == EBP ? 1 : 0;
    rm.dsz = r == EBP ? 1 : 0;
    e.n = 0;
    uint8_t opc = 0xc6;
    enc_std(g, &e, 0, 8, &opc, 1, 0, &rm, (uint32_t)rnd(g) & 0xff, 1);
    emit(g, &e, OP_MOV_EbIb, false);
    uint32_t keep0 = g->keep;
    g->keep |= RB(r);
    if (chance(g, 50))
        gen_body(g, 1 + (int)below(g, 2));
    g->keep = keep0;
    g->group = grp;
    e.n = 0;
    for (int k = 0; k < np; k++)
        enc_byte(&e, p[k]);
    enc_byte(&e, (uint8_t)(0xb8 + r2));
    enc_imm(&e, (uint32_t)rnd(g), 4);
    g->s->it[mov_at].target = (int16_t)g->s->n;
    emit(g, &e, OP_MOV_ZvIz, false);
    return true;
}

/* LDS/LES/LFS/LGS/LSS r, m16:16/32, reloading the selector the register
 * already holds (a different base would move later operands). */
static bool gen_lxs(struct gen *g)
{
    static const struct {
        uint8_t opc[2];
        int n, op;
    } lx[5] = {
        { { 0xc4 }, 1, OP_LES }, { { 0xc5 }, 1, OP_LDS }, { { 0x0f, 0xb2 }, 2, OP_LSS },
        { { 0x0f, 0xb4 }, 2, OP_LFS }, { { 0x0f, 0xb5 }, 2, OP_LGS },
    };
    const uint16_t sel[5] = { LDT_SEL, g->o->sel_ds, g->o->sel_ss, LDT_SEL, g->o->sel_gs };
    int k = (int)below(g, 5), osz = vsize(g), sz = osz / 8;
    int dst = pick_reg(g, 0);
    if (!sel[k] || dst < 0 || !have(g, lx[k].op, osz, true))
        return false;
    struct rm rm;
    gen_mem(g, &rm, sz + 2, sz + 2, 0, MF_WRITE);
    emit_store_abs(g, osz, rm.off, rval(g, osz));
    emit_store_abs(g, 16, rm.off + (uint32_t)sz, sel[k]);
    struct enc e = { .n = 0 };
    enc_std(g, &e, 0, osz, lx[k].opc, lx[k].n, dst, &rm, 0, 0);
    emit(g, &e, lx[k].op, false);
    return true;
}

/* LAR, LSL, VERR, VERW on selectors whose descriptors both sides share:
 * the user code/data selectors, glibc's TLS selector, the two LDT entries,
 * null, LDT and GDT selectors past the tables' limits, with any RPL. The
 * rest of Linux's GDT (kernel, 64-bit code, the per-CPU segment) differs
 * from the emulator's, so it is left alone; so is everything unless the
 * layout is the x86-64 kernel's (user code selector 0x23). */
static bool gen_lar(struct gen *g)
{
    if (g->o->sel_cs != 0x23 || !sel_ok(g))
        return false;
    uint16_t sel;
    switch (below(g, 7)) {
    case 0: sel = (uint16_t)below(g, 4); break;
    case 1: sel = (uint16_t)((g->o->sel_cs & ~3) | below(g, 4)); break;
    case 2: sel = (uint16_t)((g->o->sel_ds & ~3) | below(g, 4)); break;
    case 3: sel = (uint16_t)((g->o->sel_gs & ~3) | below(g, 4)); break;
    case 4: sel = (uint16_t)(chance(g, 50) ? (LDT_SEL & ~3) : (CODE16_SEL & ~3)) | (uint16_t)below(g, 4); break;
    case 5: sel = (uint16_t)((2 + below(g, 50)) << 3 | 4 | below(g, 4)); break; /* LDT, past its limit */
    default: sel = (uint16_t)((16 + below(g, 1000)) << 3 | below(g, 4)); break; /* GDT, past its limit */
    }
    static const int ops[4] = { OP_LAR, OP_LSL, OP_VERR, OP_VERW };
    int k = (int)below(g, 4), osz = vsize(g);
    int dst = k < 2 ? pick_reg(g, 0) : 0;
    if (dst < 0)
        return false;
    struct rm rm;
    if (chance(g, 40)) {
        gen_mem(g, &rm, 2, 2, 0, MF_WRITE);
        emit_store_abs(g, 16, rm.off, sel);
    } else {
        int r = pick_reg(g, 0);
        if (r < 0)
            return false;
        emit_mov_imm(g, r, ((uint32_t)rnd(g) & 0xffff0000u) | sel);
        rm_reg(&rm, r);
    }
    if (!have(g, ops[k], osz, rm.mem))
        return false;
    struct enc e = { .n = 0 };
    uint8_t opc[2] = { 0x0f, (uint8_t)(k == 0 ? 0x02 : k == 1 ? 0x03 : 0x00) };
    enc_std(g, &e, 0, k < 2 ? osz : 0, opc, 2, k < 2 ? dst : 2 + k, &rm, 0, 0);
    emit(g, &e, ops[k], false);
    return true;
}

bool fam_misc(struct gen *g)
{
    switch (below(g, 6)) {
    case 0: return gen_xlat(g);
    case 1: return gen_arpl(g);
    case 2: return gen_bound(g, false);
    case 3: return gen_lxs(g);
    case 4: return gen_lar(g);
    default: return gen_smc(g);
    }
}

/* ---- Faulting tails (--faults) ---- */

/* An access that crosses or passes the ES/FS limit: #GP(0). */
static void tail_limit(struct gen *g)
{
    int osz = (int)(8u << below(g, 3)), sz = osz / 8;
    struct rm rm;
    memset(&rm, 0, sizeof(rm));
    rm.mem = true;
    rm.seg = chance(g, 50) ? PFX_ES : PFX_FS;
    rm.off = DATA_SIZE - (uint32_t)sz + 1 + below(g, 8);
    int b = pick_reg(g, 0);
    if (b >= 0 && chance(g, 50)) {
        rm.rmf = (uint8_t)b;
        rm.mod = 1;
        rm.dsz = 1;
        rm.disp = (uint32_t)(int32_t)(int8_t)rnd(g);
        emit_mov_imm(g, b, rm.off - rm.disp);
    } else {
        rm.rmf = 5;
        rm.dsz = 4;
        rm.disp = rm.off;
    }
    struct enc e = { .n = 0 };
    uint8_t opc;
    int op;
    switch (below(g, 3)) {
    case 0: /* load */
        opc = osz == 8 ? 0x8a : 0x8b;
        op = osz == 8 ? OP_MOV_GbEb : OP_MOV_GvEv;
        break;
    case 1: /* store */
        opc = osz == 8 ? 0x88 : 0x89;
        op = osz == 8 ? OP_MOV_EbGb : OP_MOV_EvGv;
        break;
    default: /* read-modify-write */
        opc = osz == 8 ? 0x00 : 0x01;
        op = osz == 8 ? OP_ADD_EbGb : OP_ADD_EvGv;
        break;
    }
    int regf = pick_reg(g, b >= 0 ? RB(b) : 0);
    enc_std(g, &e, 0, osz, &opc, 1, regf < 0 ? 0 : regf, &rm, 0, 0);
    emit(g, &e, op, false);
}

/* REP STOS/MOVS that runs into the ES limit part way: ECX, EDI (ESI)
 * must show the iterations done when #GP is raised. */
static void tail_rep(struct gen *g)
{
    /* 0: STOS, 1: MOVS into the limit, 2: MOVS from FS past it, 3: LODS from FS */
    int k = (int)below(g, 4);
    bool std = chance(g, 30), src_side = k >= 2;
    int osz = chance(g, 35) ? 8 : vsize(g), sz = osz / 8;
    uint32_t before = below(g, 6);
    struct enc e = { .n = 0 };
    enc_byte(&e, std ? 0xfd : 0xfc);
    emit(g, &e, std ? OP_STD : OP_CLD, true);
    /* Up: start `before` elements below the limit; down: wrap below 0. */
    uint32_t edge = std ? (uint32_t)sz * before : DATA_SIZE - (uint32_t)sz * before;
    uint32_t safe = 0x100 + below(g, 0x100);
    if (k == 1)
        emit_mov_imm(g, ESI, DATA_ADDR + safe);
    if (src_side)
        emit_mov_imm(g, ESI, edge);
    if (k != 3)
        emit_mov_imm(g, EDI, src_side ? 0x800 + safe : edge);
    emit_mov_imm(g, ECX, before + 1 + below(g, 4));
    e.n = 0;
    uint8_t p[4] = { 0xf3 };
    int np = 1;
    np += size_pfx(g, p + np, osz, false);
    if (src_side)
        p[np++] = PFX_FS;
    static const uint8_t base[4] = { 0xaa, 0xa4, 0xa4, 0xac };
    static const int ops[4][2] = {
        { OP_STOSB, OP_STOSV }, { OP_MOVSB, OP_MOVSV }, { OP_MOVSB, OP_MOVSV }, { OP_LODSB, OP_LODSV },
    };
    uint8_t opc = (uint8_t)(base[k] + (osz != 8));
    enc_insn(g, &e, p, np, &opc, 1, -1, NULL, 0, 0);
    emit(g, &e, ops[k][osz != 8], false);
}

/* The trap flag set by POPF: #DB after the instruction that follows, or
 * ICEBP (F1), a trap through vector 1 as well. */
static void tail_trap(struct gen *g)
{
    struct enc e = { .n = 0 };
    if (chance(g, 30) && !g->o->no_icebp) {
        enc_byte(&e, 0xf1);
        emit(g, &e, OP_INT1, false);
        return;
    }
    uint32_t v = 0x102 | ((uint32_t)rnd(g) & (F_OSZAPC | F_DF));
    uint8_t opc = 0x68;
    enc_std(g, &e, 0, 32, &opc, 1, -1, NULL, v, 4);
    emit(g, &e, OP_PUSH_Iz, false);
    e.n = 0;
    opc = 0x9d;
    enc_std(g, &e, 0, 32, &opc, 1, -1, NULL, 0, 0);
    emit(g, &e, OP_POPF, false);
    g->df = (v & F_DF) ? 1 : 0;
    /* One ordinary instruction runs, then the trap; the rest never does. */
    for (int k = 0; k < 2; k++)
        if (!fam_alu(g))
            fam_mov(g);
}

/* Segment register loads that fault, or make the next access fault:
 * an LDT selector past the LDT limit (#GP(selector)), a null or code
 * selector in SS, a null selector in a data register then an access
 * through it, the code selector in FS/GS then a write through it. */
static void tail_sreg(struct gen *g)
{
    static const uint8_t ovr[6] = { PFX_ES, PFX_CS, PFX_SS, PFX_DS, PFX_FS, 0x65 };
    static const int data_regs[4] = { 0, 3, 4, 5 }; /* ES DS FS GS */
    int r = pick_reg(g, 0), s, access = 0;
    uint16_t sel;
    switch (below(g, 5)) {
    case 0:
        sel = (uint16_t)((1 + below(g, 100)) << 3 | 4 | below(g, 4));
        s = chance(g, 20) ? 2 : data_regs[below(g, 4)];
        break;
    case 1:
        sel = (uint16_t)below(g, 4);
        s = 2;
        break;
    case 2:
        sel = g->o->sel_cs;
        s = 2;
        break;
    case 3:
        sel = (uint16_t)below(g, 4);
        s = data_regs[below(g, 4)];
        access = 1;
        break;
    default:
        sel = g->o->sel_cs;
        s = chance(g, 50) ? 4 : 5;
        access = 2;
        break;
    }
    if (r < 0 || !sel_ok(g))
        return;
    emit_mov_imm(g, r, ((uint32_t)rnd(g) & 0xffff0000u) | sel);
    struct rm rm;
    rm_reg(&rm, r);
    struct enc e = { .n = 0 };
    uint8_t opc = 0x8e;
    enc_std(g, &e, 0, 32, &opc, 1, s, &rm, 0, 0);
    emit(g, &e, OP_MOV_SwEw, false);
    if (!access)
        return;
    /* MOV [sreg:DATA_ADDR + x], r (or a load for a null selector) */
    memset(&rm, 0, sizeof(rm));
    rm.mem = true;
    rm.rmf = 5;
    rm.dsz = 4;
    rm.disp = DATA_ADDR + below(g, 0x100);
    rm.seg = ovr[s];
    e.n = 0;
    opc = access == 2 || chance(g, 50) ? 0x89 : 0x8b;
    int v = pick_reg(g, 0);
    enc_std(g, &e, 0, 32, &opc, 1, v < 0 ? EAX : v, &rm, 0, 0);
    emit(g, &e, opc == 0x89 ? OP_MOV_EvGv : OP_MOV_GvEv, false);
}

void gen_fault_tail(struct gen *g)
{
    g->group = ++g->next_group;
    g->keep = RB(ESP);
    struct enc e = { .n = 0 };
    switch (below(g, 8)) {
    case 7: tail_trap(g); break;
    case 6: tail_sreg(g); break;
    case 0: tail_limit(g); break;
    case 1: tail_rep(g); break;
    case 2: gen_bound(g, true); break;
    case 3: { /* INTO with OF set: #OF, a trap (EIP after INTO) */
        emit_mov_r8_imm(g, 0, 0x7f);
        const uint8_t b[3] = { 0x04, 0x01, 0xce }; /* add al, 1; into */
        enc_byte(&e, b[0]);
        enc_byte(&e, b[1]);
        emit(g, &e, OP_ADD_ALIb, false);
        e.n = 0;
        enc_byte(&e, b[2]);
        emit(g, &e, OP_INTO, false);
        break;
    }
    case 4: /* UD2 */
        enc_byte(&e, 0x0f);
        enc_byte(&e, 0x0b);
        emit(g, &e, OP_UD2, false);
        break;
    default: { /* LOCK where it is not allowed: #UD */
        struct rm rm;
        rm_reg(&rm, (int)below(g, 8));
        static const uint8_t opcs[4] = { 0x01, 0x31, 0x39, 0x85 }; /* reg ADD/XOR, any CMP/TEST */
        uint8_t opc = opcs[below(g, 4)];
        if (opc >= 0x39 && chance(g, 50))
            gen_mem(g, &rm, 4, 4, 0, 0);
        enc_std(g, &e, 0xf0, 32, &opc, 1, (int)below(g, 8), &rm, 0, 0);
        emit(g, &e, OP_ADD_EvGv, false)->invalid = 1;
        break;
    }
    }
}
