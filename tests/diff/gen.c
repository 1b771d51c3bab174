/*
 * The sequence generator's core: random values, encoding, memory operands
 * confined to the data area, control-flow constructs, and the loop that
 * draws instruction families and validates each group (see gen_priv.h for
 * the invariants it keeps).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/diff/gen_priv.h"

const char *const gen_family_names[FAM_COUNT] = {
    "alu", "test", "unary", "muldiv", "shift", "bcd", "bitops", "mov",
    "lea", "xchg", "cmovset", "atomic", "string", "stack", "flags", "branch", "misc",
    "x87", "x87trans", "mmx",
};

static bool (*const fam_fn[FAM_COUNT])(struct gen *) = {
    fam_alu, fam_test, fam_unary, fam_muldiv, fam_shift, fam_bcd, fam_bitops, fam_mov,
    fam_lea, fam_xchg, fam_cmovset, fam_atomic, fam_string, fam_stack, fam_flags, fam_branch, fam_misc,
    fam_x87, fam_x87trans, fam_mmx,
};
static const int fam_weight[FAM_COUNT] = {
    18, 3, 6, 7, 12, 4, 7, 8, 4, 3, 5, 4, 6, 6, 4, 9, 4, 30, 5, 20,
};

/* ---- Random values ---- */

uint64_t rnd(struct gen *g)
{
    /* splitmix64: tiny, fast, and the same on every host. */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t below(struct gen *g, uint32_t n)
{
    return n ? (uint32_t)(rnd(g) % n) : 0;
}

bool chance(struct gen *g, unsigned pct)
{
    return below(g, 100) < pct;
}

uint32_t rval(struct gen *g, int bits)
{
    if (bits <= 0)
        return 0;
    uint32_t mask = bits >= 32 ? 0xffffffffu : (1u << bits) - 1;
    uint32_t top = 1u << (bits - 1);
    uint32_t v;
    switch (below(g, 10)) {
    case 0: v = below(g, 4); break;                          /* 0..3 */
    case 1: v = (uint32_t)-(int32_t)(1 + below(g, 3)); break; /* -1..-3 */
    case 2: v = top - 2 + below(g, 4); break;                /* around the sign boundary */
    case 3: v = 1u << below(g, (uint32_t)bits); break;       /* a single bit */
    case 4: v = (uint32_t)rnd(g) & 0xff; break;
    case 5: v = (uint32_t)(int32_t)(int8_t)rnd(g); break;
    default: v = (uint32_t)rnd(g); break;
    }
    return v & mask;
}

bool have(const struct gen *g, int op, int osz, bool mem)
{
    if (g->o->all_ops)
        return true;
    int var = mem ? (osz == 16 ? VAR_M16 : VAR_M32) : (osz == 16 ? VAR_R16 : VAR_R32);
    return op_handlers[op][var] != NULL;
}

/* ---- Registers ---- */

int pick_reg(struct gen *g, uint32_t avoid)
{
    avoid |= g->keep;
    int start = (int)below(g, 8);
    for (int k = 0; k < 8; k++) {
        int r = (start + k) & 7;
        if (!(avoid & RB(r)))
            return r;
    }
    return -1;
}

int pick_reg8(struct gen *g, uint32_t avoid)
{
    avoid |= g->keep;
    int start = (int)below(g, 8);
    for (int k = 0; k < 8; k++) {
        int r = (start + k) & 7;
        if (!(avoid & reg8_bit(r)))
            return r;
    }
    return -1;
}

/* ---- Items and encoding ---- */

struct item *emit(struct gen *g, const struct enc *e, int op, bool setup)
{
    struct seq *s = g->s;
    static struct item dummy;
    if (s->n >= SEQ_MAX_ITEMS - 1) {
        g->full = true;
        return &dummy;
    }
    struct item *it = &s->it[s->n++];
    memset(it, 0, sizeof(*it));
    memcpy(it->b, e->b, (size_t)e->n);
    it->len = (uint8_t)e->n;
    it->kind = IK_PLAIN;
    it->flow = FL_NEXT;
    it->setup = setup;
    it->depth = (uint8_t)g->depth;
    it->target = -1;
    it->group = g->group;
    it->op = (uint16_t)op;
    if (op) {
        it->fread = op_info[op].fread;
        it->fwrite = op_info[op].fwrite;
        it->fundef = op_info[op].fundef;
    }
    return it;
}

void enc_byte(struct enc *e, uint8_t b)
{
    if (e->n < 15)
        e->b[e->n++] = b;
}

void enc_imm(struct enc *e, uint32_t v, int bytes)
{
    for (int k = 0; k < bytes; k++)
        enc_byte(e, (uint8_t)(v >> (8 * k)));
}

int size_pfx(const struct gen *g, uint8_t *p, int osz, bool a16)
{
    int n = 0;
    if ((osz == 16 && !g->code16) || (osz == 32 && g->code16))
        p[n++] = 0x66;
    if (a16 != g->code16)
        p[n++] = 0x67;
    return n;
}

void emit_mov_imm(struct gen *g, int reg, uint32_t v)
{
    struct enc e = { .n = 0 };
    if (g->code16)
        enc_byte(&e, 0x66);
    enc_byte(&e, (uint8_t)(0xb8 + reg));
    enc_imm(&e, v, 4);
    emit(g, &e, OP_MOV_ZvIz, true);
}

void emit_mov_r8_imm(struct gen *g, int reg8, uint8_t v)
{
    struct enc e = { .n = 0 };
    enc_byte(&e, (uint8_t)(0xb0 + reg8));
    enc_byte(&e, v);
    emit(g, &e, OP_MOV_ZbIb, true);
}

void enc_insn(struct gen *g, struct enc *e, const uint8_t *pfx, int npfx, const uint8_t *opc, int nopc, int regf,
              const struct rm *rm, uint32_t imm, int immsz)
{
    uint8_t p[6];
    if (npfx)
        memcpy(p, pfx, (size_t)npfx);
    /* Prefix order is free; vary it now and then to keep the decoder honest. */
    if (npfx > 1 && chance(g, 25)) {
        for (int k = npfx - 1; k > 0; k--) {
            int j = (int)below(g, (uint32_t)k + 1);
            uint8_t t = p[k];
            p[k] = p[j];
            p[j] = t;
        }
    }
    for (int k = 0; k < npfx; k++)
        enc_byte(e, p[k]);
    for (int k = 0; k < nopc; k++)
        enc_byte(e, opc[k]);
    if (regf >= 0) {
        if (!rm->mem) {
            enc_byte(e, (uint8_t)(0xc0 | (regf & 7) << 3 | rm->reg));
        } else {
            enc_byte(e, (uint8_t)(rm->mod << 6 | (regf & 7) << 3 | rm->rmf));
            if (rm->has_sib)
                enc_byte(e, rm->sib);
            enc_imm(e, rm->disp, rm->dsz);
        }
    }
    enc_imm(e, imm, immsz);
}

void enc_std(struct gen *g, struct enc *e, uint8_t lead, int osz, const uint8_t *opc, int nopc, int regf,
             const struct rm *rm, uint32_t imm, int immsz)
{
    uint8_t p[6];
    int n = 0;
    if (lead)
        p[n++] = lead;
    if (rm && rm->mem && rm->seg)
        p[n++] = rm->seg;
    else if (!(rm && rm->mem) && chance(g, 2))
        p[n++] = (uint8_t)(0x26 + 8 * below(g, 4)); /* no memory operand: the override is ignored */
    n += size_pfx(g, p + n, osz, rm && rm->mem ? rm->a16 : g->code16);
    if (n && n <= 2 && chance(g, 3))
        p[n] = p[below(g, (uint32_t)n)], n++; /* a repeated prefix changes nothing */
    enc_insn(g, e, p, n, opc, nopc, regf, rm, imm, immsz);
}

/* ---- Operands ---- */

void rm_reg(struct rm *rm, int reg)
{
    memset(rm, 0, sizeof(*rm));
    rm->reg = reg;
}

bool off_ok(const struct gen *g, uint32_t off, int span)
{
    for (int k = 0; k < g->nprot; k++)
        if ((int)off < g->prot_hi[k] && (int)off + span > g->prot_lo[k])
            return false;
    return true;
}

/* A data-area offset for an access of `span` bytes, biased to the edges. */
static uint32_t pick_off(struct gen *g, int span)
{
    uint32_t hi = DATA_SIZE - (uint32_t)span;
    for (int tries = 0; tries < 16; tries++) {
        uint32_t edge = below(g, 16), off;
        if (edge > hi)
            edge = hi;
        switch (below(g, 10)) {
        case 0: off = edge; break;
        case 1: off = hi - edge; break;
        case 2: /* across a page boundary: split accesses, bounce buffers */
            off = 0x1000 * (1 + below(g, DATA_SIZE / 0x1000 - 1)) - 1 - below(g, (uint32_t)span > 1 ? (uint32_t)span - 1 : 1);
            break;
        default: off = below(g, hi + 1); break;
        }
        if (off_ok(g, off, span))
            return off;
    }
    return below(g, STACK_LO - (uint32_t)span);
}

static uint32_t pick_disp(struct gen *g, int mod)
{
    if (mod == 1)
        return (uint32_t)(int32_t)(int8_t)rnd(g);
    if (mod == 2)
        return chance(g, 50) ? (uint32_t)rnd(g) : (uint32_t)(int32_t)(int16_t)rnd(g);
    return 0;
}

static int disp_size(int mod, bool a16)
{
    return mod == 1 ? 1 : mod == 2 ? (a16 ? 2 : 4) : 0;
}

/* 16-bit addressing: rm field -> registers (second is -1 when absent). */
static const int a16_base[8] = { EBX, EBX, EBP, EBP, ESI, EDI, EBP, EBX };
static const int a16_index[8] = { ESI, EDI, ESI, EDI, -1, -1, -1, -1 };

static void gen_mem16(struct gen *g, struct rm *rm, uint32_t want, uint32_t avoid, bool lea)
{
    rm->a16 = true;
    for (int tries = 0; tries < 8; tries++) {
        int rmf = (int)below(g, 8), mod = (int)below(g, 3);
        if (mod == 0 && rmf == 6) {
            rm->mod = 0;
            rm->rmf = 6;
            rm->dsz = 2;
            rm->disp = want & 0xffff;
            return;
        }
        int b = a16_base[rmf], x = a16_index[rmf];
        uint32_t regs = RB(b) | (x >= 0 ? RB(x) : 0);
        if (!lea && (regs & (avoid | g->keep)))
            continue;
        rm->mod = (uint8_t)mod;
        rm->rmf = (uint8_t)rmf;
        rm->dsz = disp_size(mod, true);
        rm->disp = pick_disp(g, mod) & (mod == 1 ? 0xffffffffu : 0xffff);
        rm->regs = regs;
        if (lea)
            return;
        uint32_t xv = x >= 0 ? (uint32_t)rnd(g) : 0;
        uint32_t bv = want - (xv & 0xffff) - rm->disp;
        if (x >= 0)
            emit_mov_imm(g, x, xv);
        emit_mov_imm(g, b, ((uint32_t)rnd(g) & 0xffff0000u) | (bv & 0xffff));
        return;
    }
    rm->mod = 0;
    rm->rmf = 6;
    rm->dsz = 2;
    rm->disp = want & 0xffff;
    rm->regs = 0;
}

void gen_mem(struct gen *g, struct rm *rm, int size, int span, uint32_t avoid, unsigned flags)
{
    gen_mem_at(g, rm, pick_off(g, span < size ? size : span), avoid, flags);
}

void gen_mem_at(struct gen *g, struct rm *rm, uint32_t off, uint32_t avoid, unsigned flags)
{
    bool lea = flags & MF_LEA;
    memset(rm, 0, sizeof(*rm));
    rm->mem = true;
    rm->off = off;

    /* Segment: flat (the address is DATA_ADDR + off) or ES/FS based (off). */
    bool based;
    if (!(flags & MF_NO16) && chance(g, 20)) {
        rm->seg = chance(g, 50) ? PFX_ES : PFX_FS;
        gen_mem16(g, rm, rm->off, avoid, lea);
        if (lea && chance(g, 50))
            rm->seg = 0;
        return;
    }
    if (chance(g, 40)) {
        based = true;
        rm->seg = chance(g, 50) ? PFX_ES : PFX_FS;
    } else {
        based = false;
        /* CS is flat too, but read-only (and not flat at all in 16-bit code). */
        static const uint8_t flat[] = { 0, 0, 0, PFX_DS, PFX_SS, PFX_CS };
        rm->seg = flat[below(g, (flags & MF_WRITE) || g->code16 ? 5 : 6)];
    }
    uint32_t want = based ? rm->off : DATA_ADDR + rm->off;
    uint32_t busy = avoid | g->keep;

    int form = (int)below(g, 100);
    if (lea) {
        /* Any registers, any form: nothing is accessed. */
        form = 40 + (int)below(g, 60);
        busy = 0;
    }
    if (form >= 25 && form < 40 && !(flags & MF_NOESP)) {
        /* [esp + disp]: ESP is known. The SIB scale is ignored without an index. */
        uint32_t esp = DATA_ADDR + (uint32_t)g->esp;
        uint32_t d = want - esp;
        rm->mod = ((int32_t)d >= -128 && (int32_t)d <= 127 && chance(g, 80)) ? 1 : 2;
        if (d == 0 && chance(g, 50))
            rm->mod = 0;
        rm->rmf = 4;
        rm->has_sib = true;
        rm->sib = (uint8_t)(below(g, 4) << 6 | 4 << 3 | ESP);
        rm->dsz = rm->mod == 1 ? 1 : rm->mod == 2 ? 4 : 0;
        rm->disp = d;
        rm->regs = RB(ESP);
        return;
    }
    if (form >= 40 && form < 70) {
        /* [base + disp] */
        int b = pick_reg(g, busy | RB(ESP));
        if (lea)
            b = (int)below(g, 8);
        if (b >= 0) {
            int mod = (int)below(g, 3);
            if (mod == 0 && b == EBP)
                mod = 1;
            rm->mod = (uint8_t)mod;
            rm->dsz = disp_size(mod, false);
            rm->disp = pick_disp(g, mod);
            if (b != ESP && chance(g, 80)) {
                rm->rmf = (uint8_t)b;
            } else {
                rm->rmf = 4;
                rm->has_sib = true;
                rm->sib = (uint8_t)(below(g, 4) << 6 | 4 << 3 | b);
            }
            rm->regs = RB(b);
            if (!lea)
                emit_mov_imm(g, b, want - rm->disp);
            return;
        }
    }
    if (form >= 70 && form < 90) {
        /* [base + index*scale + disp] */
        int b = pick_reg(g, busy | RB(ESP));
        int x = b >= 0 ? pick_reg(g, busy | RB(ESP) | RB(b)) : -1;
        if (lea) {
            b = (int)below(g, 8);
            do
                x = (int)below(g, 8);
            while (x == ESP);
        }
        if (b >= 0 && x >= 0) {
            int mod = (int)below(g, 3);
            if (mod == 0 && b == EBP)
                mod = 1;
            int sc = (int)below(g, 4);
            rm->mod = (uint8_t)mod;
            rm->rmf = 4;
            rm->has_sib = true;
            rm->sib = (uint8_t)(sc << 6 | x << 3 | b);
            rm->dsz = disp_size(mod, false);
            rm->disp = pick_disp(g, mod);
            rm->regs = RB(b) | RB(x);
            if (!lea) {
                uint32_t xv = chance(g, 50) ? (uint32_t)rnd(g) : below(g, 64);
                emit_mov_imm(g, x, xv);
                emit_mov_imm(g, b, want - (xv << sc) - rm->disp);
            }
            return;
        }
    }
    if (form >= 90) {
        /* [index*scale + disp32] */
        int x = pick_reg(g, busy | RB(ESP));
        if (lea)
            do
                x = (int)below(g, 8);
            while (x == ESP);
        if (x >= 0) {
            int sc = (int)below(g, 4);
            uint32_t xv = chance(g, 50) ? (uint32_t)rnd(g) : below(g, 64);
            rm->mod = 0;
            rm->rmf = 4;
            rm->has_sib = true;
            rm->sib = (uint8_t)(sc << 6 | x << 3 | 5);
            rm->dsz = 4;
            rm->regs = RB(x);
            if (lea) {
                rm->disp = (uint32_t)rnd(g);
            } else {
                emit_mov_imm(g, x, xv);
                rm->disp = want - (xv << sc);
            }
            return;
        }
    }
    /* [disp32] */
    rm->mod = 0;
    rm->rmf = 5;
    rm->dsz = 4;
    rm->disp = lea ? (uint32_t)rnd(g) : want;
}

void gen_rm(struct gen *g, struct rm *rm, int osz, bool write, uint32_t avoid, int mem_pct, unsigned mflags)
{
    if (chance(g, (unsigned)mem_pct)) {
        int sz = osz / 8;
        gen_mem(g, rm, sz, sz, avoid, mflags | (write ? MF_WRITE : 0));
        return;
    }
    int r;
    if (osz == 8)
        r = write ? pick_reg8(g, avoid) : (int)below(g, 8);
    else
        r = write ? pick_reg(g, avoid) : (int)below(g, 8);
    rm_reg(rm, r < 0 ? 0 : r);
    if (r < 0)
        gen_mem(g, rm, osz / 8, osz / 8, avoid, mflags | (write ? MF_WRITE : 0));
}

int span_bytes(const struct seq *s, int from, int to)
{
    int n = 0;
    for (int k = from; k < to; k++)
        n += seq_item_size(&s->it[k]);
    return n;
}

/* ---- Groups ---- */

/* A CMP that defines every arithmetic flag. */
static void emit_definer(struct gen *g)
{
    g->group = ++g->next_group;
    struct enc e = { .n = 0 };
    struct rm rm;
    rm_reg(&rm, (int)below(g, 8));
    uint8_t opc = chance(g, 50) ? 0x39 : 0x3b;
    enc_insn(g, &e, NULL, 0, &opc, 1, (int)below(g, 8), &rm, 0, 0);
    emit(g, &e, opc == 0x39 ? OP_CMP_EvGv : OP_CMP_GvEv, true);
}

static bool gen_group(struct gen *g);

void gen_body(struct gen *g, int n)
{
    int df0 = g->df;
    g->depth++;
    for (int k = 0; k < n && !g->full; k++)
        gen_group(g);
    g->depth--;
    /* The body may be skipped or repeated: DF is only known if it kept it. */
    if (g->df != df0)
        g->df = -1;
}

static int pick_family(struct gen *g)
{
    int total = 0;
    for (int f = 0; f < FAM_COUNT; f++)
        if (g->o->families & (1u << f))
            total += fam_weight[f];
    if (total == 0)
        return -1;
    int r = (int)below(g, (uint32_t)total);
    for (int f = 0; f < FAM_COUNT; f++) {
        if (!(g->o->families & (1u << f)))
            continue;
        if (r < fam_weight[f])
            return f;
        r -= fam_weight[f];
    }
    return -1;
}

/* One group (or construct) under test; rolled back when it cannot be
 * generated or when it would read an undefined flag. */
static bool gen_group(struct gen *g)
{
    for (int tries = 0; tries < 8 && !g->full; tries++) {
        int f = pick_family(g);
        if (f < 0)
            return false;
        int n0 = g->s->n, esp0 = g->esp, df0 = g->df;
        g->group = ++g->next_group;
        bool ok = fam_fn[f](g) && !g->full;
        if (ok) {
            /* Only a new flag reader or a new backward branch can make a
             * read of an undefined flag: skip the dataflow otherwise. */
            bool check = false;
            for (int k = n0; k < g->s->n && !check; k++) {
                const struct item *it = &g->s->it[k];
                check = (it->fread & F_OSZAPC) || (it->flow != FL_NEXT && it->target >= 0 && it->target <= k);
            }
            struct seq_flow fl = { .bad_read = -1 };
            if (check)
                seq_flow(g->s, &fl, NULL);
            if (fl.bad_read < 0)
                return true;
        }
        g->s->n = n0;
        g->esp = esp0;
        g->df = df0;
        g->full = false;
        if (ok && g->s->n < SEQ_MAX_ITEMS - 32)
            emit_definer(g);
    }
    return false;
}

/* ---- Branch constructs ---- */

static struct item *emit_branch(struct gen *g, const uint8_t *b, int n, int kind, int flow, int op)
{
    struct enc e = { .n = 0 };
    for (int k = 0; k < n; k++)
        enc_byte(&e, b[k]);
    struct item *it = emit(g, &e, op, false);
    it->kind = (uint8_t)kind;
    it->flow = (uint8_t)flow;
    return it;
}

/* Jcc / JMP forward over a body. */
static bool br_forward(struct gen *g, bool uncond)
{
    int cc = (int)below(g, 16);
    int op = uncond ? OP_JMP_Jb : OP_JO_Jb + cc;
    if (!have(g, op, 32, false))
        return false;
    bool near = chance(g, 20);
    uint8_t b[3];
    int n = 0;
    if (!uncond && chance(g, 5))
        b[n++] = chance(g, 50) ? PFX_CS : PFX_DS; /* branch hint prefixes: ignored */
    int at = g->s->n;
    uint16_t grp = g->group;
    if (uncond)
        b[n++] = near ? 0xe9 : 0xeb;
    else if (near) {
        b[n++] = 0x0f;
        b[n++] = (uint8_t)(0x80 + cc);
    } else
        b[n++] = (uint8_t)(0x70 + cc);
    int near_kind = g->code16 ? IK_REL16 : IK_REL32;
    emit_branch(g, b, n, near ? near_kind : IK_REL8, uncond ? FL_JUMP : FL_COND,
                near ? (uncond ? OP_JMP_Jz : OP_JO_Jz + cc) : op);
    gen_body(g, 1 + (int)below(g, 4));
    g->group = grp;
    struct item *it = &g->s->it[at];
    it->target = (int16_t)g->s->n;
    if (it->kind == IK_REL8 && span_bytes(g->s, at + 1, g->s->n) > 127) {
        /* Too far for rel8: use the rel32 form. */
        int p = it->len - 1;
        if (uncond) {
            it->b[p] = 0xe9;
            it->op = OP_JMP_Jz;
        } else {
            it->b[p] = 0x0f;
            it->b[p + 1] = (uint8_t)(0x80 + cc);
            it->len++;
            it->op = (uint16_t)(OP_JO_Jz + cc);
        }
        it->kind = (uint8_t)near_kind;
    }
    return true;
}

/* JCXZ / LOOPcc forward: rel8 only. */
static bool br_count_forward(struct gen *g)
{
    static const int ops[4] = { OP_JCXZ, OP_LOOP, OP_LOOPE, OP_LOOPNE };
    static const uint8_t opc[4] = { 0xe3, 0xe2, 0xe1, 0xe0 };
    int k = (int)below(g, 4);
    if (!have(g, ops[k], 32, false) || (k > 0 && (g->keep & RB(ECX))))
        return false;
    uint8_t b[2];
    int n = size_pfx(g, b, 0, chance(g, 30)); /* 16-bit addressing: CX instead of ECX */
    b[n++] = opc[k];
    int at = g->s->n;
    uint16_t grp = g->group;
    emit_branch(g, b, n, IK_REL8, FL_COND, ops[k]);
    gen_body(g, 1 + (int)below(g, 3));
    g->group = grp;
    g->s->it[at].target = (int16_t)g->s->n;
    return span_bytes(g->s, at + 1, g->s->n) <= 127;
}

/* MOV eCX, n; head: body; LOOPcc head. */
static bool br_loop(struct gen *g)
{
    static const int ops[3] = { OP_LOOP, OP_LOOPE, OP_LOOPNE };
    static const uint8_t opc[3] = { 0xe2, 0xe1, 0xe0 };
    int k = (int)below(g, 3);
    if (g->in_loop || (g->keep & RB(ECX)) || !have(g, ops[k], 32, false))
        return false;
    bool a16 = chance(g, 30);
    uint32_t count = 1 + below(g, 6);
    emit_mov_imm(g, ECX, a16 ? ((uint32_t)rnd(g) & 0xffff0000u) | count : count);
    int head = g->s->n;
    uint16_t grp = g->group;
    uint32_t keep0 = g->keep;
    g->keep |= RB(ECX);
    g->in_loop = true;
    gen_body(g, 1 + (int)below(g, 4));
    g->in_loop = false;
    g->keep = keep0;
    g->group = grp;
    uint8_t b[2];
    int n = size_pfx(g, b, 0, a16);
    b[n++] = opc[k];
    int at = g->s->n;
    struct item *it = emit_branch(g, b, n, IK_REL8, FL_COND, ops[k]);
    it->target = (int16_t)head;
    return span_bytes(g->s, head, at + 1) <= 128;
}

/* CALL f; JMP over; f: body; RET; over:  (direct, through a register, or
 * through memory; RET imm16 pops arguments pushed before the call). In
 * 16-bit code the calls, returns and arguments are 16-bit. */
static bool br_call(struct gen *g)
{
    int cw = call_width(g), osz = 8 * cw;
    int nargs = chance(g, 30) ? 1 + (int)below(g, 2) : 0;
    if (g->esp - cw * (nargs + 1) - 64 < STACK_LO)
        return false;
    if (!have(g, OP_CALL_Jz, osz, false) || !have(g, OP_RET, osz, false) || !have(g, OP_RET_Iw, osz, false))
        return false;
    uint16_t grp = g->group;
    for (int a = 0; a < nargs; a++) {
        struct enc e = { .n = 0 };
        uint8_t opc = 0x68;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, (uint32_t)rnd(g), cw);
        emit(g, &e, OP_PUSH_Iz, false);
        g->esp -= cw;
    }
    int how = (int)below(g, 3);
    int call_at, ptr_at = -1;
    if (how == 0 || !have(g, OP_CALL_Ev, osz, how == 2)) {
        uint8_t b = 0xe8;
        call_at = g->s->n;
        emit_branch(g, &b, 1, g->code16 ? IK_REL16 : IK_REL32, FL_JUMP, OP_CALL_Jz);
    } else if (how == 1) {
        int r = pick_reg(g, 0);
        if (r < 0)
            return false;
        uint8_t b[2];
        int n = size_pfx(g, b, 32, g->code16);
        b[n++] = (uint8_t)(0xb8 + r);
        ptr_at = g->s->n;
        struct item *m = emit_branch(g, b, n, IK_ABS32, FL_NEXT, OP_MOV_ZvIz);
        m->setup = 1;
        m->cs_rel = 1;
        struct enc e = { .n = 0 };
        struct rm rm;
        rm_reg(&rm, r);
        uint8_t opc = 0xff;
        enc_std(g, &e, 0, osz, &opc, 1, 2, &rm, 0, 0);
        call_at = g->s->n;
        struct item *c = emit(g, &e, OP_CALL_Ev, false);
        c->flow = FL_JUMP;
    } else {
        struct rm rm;
        gen_mem(g, &rm, 4, 4, 0, MF_WRITE | MF_NO16);
        struct enc e = { .n = 0 };
        uint8_t opc = 0xc7;
        enc_std(g, &e, 0, 32, &opc, 1, 0, &rm, 0, 0);
        ptr_at = g->s->n;
        struct item *m = emit(g, &e, OP_MOV_EvIz, true);
        m->kind = IK_ABS32;
        m->cs_rel = 1;
        e.n = 0;
        opc = 0xff;
        enc_std(g, &e, 0, osz, &opc, 1, 2, &rm, 0, 0);
        call_at = g->s->n;
        struct item *c = emit(g, &e, OP_CALL_Ev, false);
        c->flow = FL_JUMP;
    }
    g->esp -= cw;
    int jmp_at = g->s->n;
    uint8_t jb = 0xeb;
    emit_branch(g, &jb, 1, IK_REL8, FL_JUMP, OP_JMP_Jb);
    int f = g->s->n;
    if (ptr_at >= 0)
        g->s->it[ptr_at].target = (int16_t)f;
    g->s->it[call_at].target = (int16_t)f;
    bool in_call0 = g->in_call;
    g->in_call = true;
    g->prot_lo[g->nprot] = g->esp;
    g->prot_hi[g->nprot] = g->esp + cw;
    g->nprot++;
    gen_body(g, 1 + (int)below(g, 4));
    g->nprot--;
    g->in_call = in_call0;
    g->group = grp;
    struct enc e = { .n = 0 };
    if (nargs) {
        enc_byte(&e, 0xc2);
        enc_imm(&e, (uint32_t)(cw * nargs), 2);
    } else {
        enc_byte(&e, 0xc3);
    }
    struct item *ret = emit(g, &e, nargs ? OP_RET_Iw : OP_RET, false);
    ret->flow = FL_JUMP;
    ret->target = (int16_t)jmp_at;
    g->esp += cw + cw * nargs;
    struct item *j = &g->s->it[jmp_at];
    j->target = (int16_t)g->s->n;
    if (span_bytes(g->s, jmp_at + 1, g->s->n) > 127) {
        j->b[0] = 0xe9;
        j->kind = g->code16 ? IK_REL16 : IK_REL32;
        j->op = OP_JMP_Jz;
    }
    return true;
}

void emit_clear_slot(struct gen *g, int disp)
{
    /* A 32-bit PUSH of a segment register (or far CALL) may write only the
     * selector's 16 bits (SDM, PUSH: recent processors do); clearing the
     * slot's upper half first makes both behaviours give the same bytes. */
    struct rm rm;
    memset(&rm, 0, sizeof(rm));
    rm.mem = true;
    rm.mod = 1;
    rm.rmf = 4;
    rm.has_sib = true;
    rm.sib = 0x24; /* [esp] */
    rm.dsz = 1;
    rm.disp = (uint32_t)disp;
    struct enc e = { .n = 0 };
    uint8_t p[2], opc = 0xc7;
    int n = size_pfx(g, p, 32, false);
    enc_insn(g, &e, p, n, &opc, 1, 0, &rm, (uint32_t)rnd(g) & 0xffff, 4);
    emit(g, &e, OP_MOV_EvIz, true);
}

/* Far transfers within the code segment the sequence runs in: CALLF f;
 * JMP over; f: body; RETF [imm16]; over:  or  JMPF over a body that never
 * runs. Direct (ptr16:32, ptr16:16 in 16-bit code) or through a pointer
 * stored in memory first. */
static bool br_far(struct gen *g)
{
    uint16_t cs = g->code16 ? CODE16_SEL : g->o->sel_cs;
    int cw = call_width(g), osz = 8 * cw;
    bool jump = chance(g, 30), via_mem = chance(g, 50);
    int op = jump ? (via_mem ? OP_JMPF_Mp : OP_JMPF_Ap) : (via_mem ? OP_CALLF_Mp : OP_CALLF_Ap);
    int nargs = !jump && chance(g, 30) ? 1 + (int)below(g, 2) : 0;
    if (!g->o->sel_cs || !have(g, op, osz, via_mem) || !have(g, OP_RETF, osz, false) ||
        !have(g, OP_RETF_Iw, osz, false))
        return false;
    if (!jump && (g->esp - cw * nargs - 2 * cw - 64 < STACK_LO || g->nprot >= 4))
        return false;
    uint16_t grp = g->group;
    for (int a = 0; a < nargs; a++) {
        struct enc e = { .n = 0 };
        uint8_t opc = 0x68;
        enc_std(g, &e, 0, osz, &opc, 1, -1, NULL, (uint32_t)rnd(g), cw);
        emit(g, &e, OP_PUSH_Iz, false);
        g->esp -= cw;
    }
    int ptr_at = -1, xfer_at;
    if (via_mem) {
        /* The pointer lies below the stack area: the slot cleared before
         * the CALL must not overwrite it. Offset first (a 32-bit store
         * whose upper half the selector then overwrites in 16-bit code). */
        struct rm rm;
        gen_mem_at(g, &rm, below(g, STACK_LO - 6), 0, MF_WRITE);
        struct rm abs;
        memset(&abs, 0, sizeof(abs));
        abs.mem = true;
        abs.rmf = 5;
        abs.dsz = 4;
        abs.disp = DATA_ADDR + rm.off;
        struct enc e = { .n = 0 };
        uint8_t opc = 0xc7;
        enc_std(g, &e, 0, 32, &opc, 1, 0, &abs, 0, 0);
        ptr_at = g->s->n;
        struct item *m = emit(g, &e, OP_MOV_EvIz, true);
        m->kind = IK_ABS32;
        m->cs_rel = 1;
        e.n = 0;
        abs.disp += (uint32_t)cw;
        enc_std(g, &e, 0, 16, &opc, 1, 0, &abs, cs, 2);
        emit(g, &e, OP_MOV_EvIz, true);
        if (!jump && cw == 4)
            emit_clear_slot(g, -4);
        e.n = 0;
        opc = 0xff;
        enc_std(g, &e, 0, osz, &opc, 1, jump ? 5 : 3, &rm, 0, 0);
        xfer_at = g->s->n;
        emit(g, &e, op, false);
    } else {
        if (!jump && cw == 4)
            emit_clear_slot(g, -4);
        struct enc e = { .n = 0 };
        enc_byte(&e, jump ? 0xea : 0x9a);
        xfer_at = g->s->n;
        struct item *x = emit(g, &e, op, false);
        x->kind = g->code16 ? IK_FAR16 : IK_FAR32;
        x->farsel = cs;
    }
    g->s->it[xfer_at].flow = FL_JUMP;
    if (jump) {
        gen_body(g, 1 + (int)below(g, 2)); /* never runs */
        g->group = grp;
        g->s->it[xfer_at].target = (int16_t)g->s->n;
        if (ptr_at >= 0)
            g->s->it[ptr_at].target = (int16_t)g->s->n;
        return true;
    }
    g->esp -= 2 * cw;
    int jmp_at = g->s->n;
    uint8_t jb = 0xeb;
    emit_branch(g, &jb, 1, IK_REL8, FL_JUMP, OP_JMP_Jb);
    int f = g->s->n;
    g->s->it[xfer_at].target = (int16_t)f;
    if (ptr_at >= 0)
        g->s->it[ptr_at].target = (int16_t)f;
    g->prot_lo[g->nprot] = g->esp;
    g->prot_hi[g->nprot] = g->esp + 2 * cw;
    g->nprot++;
    gen_body(g, 1 + (int)below(g, 3));
    g->nprot--;
    g->group = grp;
    struct enc e = { .n = 0 };
    if (nargs) {
        enc_byte(&e, 0xca);
        enc_imm(&e, (uint32_t)(cw * nargs), 2);
    } else {
        enc_byte(&e, 0xcb);
    }
    struct item *ret = emit(g, &e, nargs ? OP_RETF_Iw : OP_RETF, false);
    ret->flow = FL_JUMP;
    ret->target = (int16_t)jmp_at;
    g->esp += 2 * cw + cw * nargs;
    struct item *j = &g->s->it[jmp_at];
    j->target = (int16_t)g->s->n;
    if (span_bytes(g->s, jmp_at + 1, g->s->n) > 127) {
        j->b[0] = 0xe9;
        j->kind = g->code16 ? IK_REL16 : IK_REL32;
        j->op = OP_JMP_Jz;
    }
    return true;
}

bool fam_branch(struct gen *g)
{
    if (g->depth >= 3)
        return false;
    unsigned r = below(g, 100);
    if (r >= 80 && g->nprot >= 4)
        return false;
    if (r < 35)
        return br_forward(g, false);
    if (r < 45)
        return br_forward(g, true);
    if (r < 60)
        return br_count_forward(g);
    if (r < 80)
        return br_loop(g);
    if (r < 90)
        return br_far(g);
    return br_call(g);
}

/* ---- The sequence ---- */

static void init_data(struct gen *g, uint8_t *d)
{
    for (uint32_t at = 0; at < DATA_SIZE; at += 64) {
        unsigned kind = below(g, 10);
        for (uint32_t k = at; k < at + 64; k++) {
            switch (kind) {
            case 0: d[k] = 0; break;
            case 1: d[k] = 0xff; break;
            case 2: d[k] = (uint8_t)below(g, 4); break;
            case 3: d[k] = (uint8_t)(0x7e + below(g, 4)); break;
            default: d[k] = (uint8_t)rnd(g); break;
            }
        }
    }
}

void gen_sequence(struct seq *s, uint64_t seed, const struct gen_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->fpu_off = -1;
    struct gen g = { .s = s, .rng = seed, .o = o };
    rnd(&g);
    for (int r = 0; r < 8; r++)
        s->init.gpr[r] = rval(&g, 32);
    g.esp = STACK_LO + 0x400 + 4 * (int)below(&g, 0x100);
    if (chance(&g, 10))
        g.esp += 1 + (int)below(&g, 3);
    s->init.gpr[ESP] = DATA_ADDR + (uint32_t)g.esp;
    s->init.eflags = 0x202u | ((uint32_t)rnd(&g) & (F_OSZAPC | F_DF));
    g.df = (s->init.eflags & F_DF) ? 1 : 0;
    g.keep = RB(ESP);
    init_data(&g, s->data);

    if (o->code16_pct && chance(&g, (unsigned)o->code16_pct)) {
        g.code16 = s->code16 = true;
        s->init.flags |= STATE_CODE16;
    }
    if (!o->no_page_cross && chance(&g, 15)) {
        /* JMP over a gap so the sequence runs across the end of a code page:
         * instructions and blocks that straddle pages. */
        g.group = ++g.next_group;
        struct enc e = { .n = 0 };
        enc_byte(&e, 0xe9);
        struct item *j = emit(&g, &e, OP_JMP_Jz, true);
        j->kind = g.code16 ? IK_REL16 : IK_REL32;
        j->flow = FL_JUMP;
        j->target = 2;
        e.n = 0;
        struct item *gap = emit(&g, &e, 0, true);
        uint32_t size = 0x1000 - 0x40 - 5 + below(&g, 0x40);
        gap->kind = IK_GAP;
        gap->b[0] = (uint8_t)size;
        gap->b[1] = (uint8_t)(size >> 8);
    }
    const uint32_t fpu_fams = 1u << FAM_X87 | 1u << FAM_X87TRANS | 1u << FAM_MMX;
    if ((o->families & fpu_fams) && ((o->families & ~fpu_fams) == 0 || chance(&g, 40))) {
        g.group = ++g.next_group;
        fpu_prologue(&g);
    }
    int groups = o->min_groups + (int)below(&g, (uint32_t)(o->max_groups - o->min_groups + 1));
    for (int k = 0, tries = 0; k < groups && !g.full && tries < 4 * groups; tries++)
        if (gen_group(&g))
            k++;
    if (s->fpu_off >= 0)
        fpu_epilogue(&g);
    if (o->faults && chance(&g, 30))
        gen_fault_tail(&g);
}
