/*
 * The decoder against the iced x86 disassembler's decoder test vectors
 * (../shared/data/iced-decoder, format in its README): DecoderTest16/32,
 * MemoryTest16/32 and DecoderTestMisc16/32.
 *
 * iced names every instruction form with a Code ("Add_rm16_imm8",
 * "Jo_rel8_16", "Fcom_st0_sti_DCD0"). The test maps each Code to the
 * opcode rows (and operand/address sizes) of ours that have the same
 * mnemonic and operand shapes, by parsing the Code's operand tokens and
 * matching them against the rows' operand kinds -- nothing here lists
 * expected results by hand. A line whose Code maps to a row is checked:
 * it must decode to that row with iced's length, mnemonic, prefixes and
 * every operand (registers, memory segment/base/index/scale/displacement
 * and size, immediates, branch targets, far pointers). An INVALID line
 * whose original Code maps to a row must not decode. Lines for forms we
 * do not have (SSE, AVX, other vendors' extensions) and lines that need a
 * decoder option we do not implement are skipped and counted.
 *
 * iced decodes at IP 0x7FF0 (16-bit) and 0x7FFFFFF0 (32-bit); its branch
 * targets in the files are relative to those (70 5A at 0x7FF0 -> 0x804C).
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cpu/disasm.h"
#include "cpu/insn.h"
#include "cpu/opcode.h"

#define IP16 0x7ff0u
#define IP32 0x7ffffff0u

/* ---- iced Code -> our rows ---- */

/* A set of (row, operand size, address size) triples. */
#define SET_WORDS ((OP_COUNT * 4 + 63) / 64)
struct codemap {
    char name[80];
    char mnem[32];  /* iced's mnemonic for the Code, from a line that decodes it */
    int computed;
    int supported;
    int r32m16; /* iced names the 16-bit registers of this form at the operand size */
    uint64_t set[SET_WORDS];
};

/* Open-addressed table of every Code the files name. */
#define MAP_SLOTS 16384
static struct codemap *maps;
static unsigned nmaps;

static struct codemap *code_slot(const char *code)
{
    uint32_t h = 2166136261u;
    for (const char *p = code; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    if (!maps) {
        maps = calloc(MAP_SLOTS, sizeof(*maps));
        ck_assert_ptr_nonnull(maps);
    }
    for (;; h++) {
        struct codemap *m = &maps[h % MAP_SLOTS];
        if (!m->name[0]) {
            ck_assert_uint_lt(nmaps, MAP_SLOTS / 2);
            nmaps++;
            snprintf(m->name, sizeof(m->name), "%s", code);
            return m;
        }
        if (!strcmp(m->name, code))
            return m;
    }
}

static int in_set(const struct codemap *m, unsigned id, int osz, int asz)
{
    unsigned b = id * 4 + (unsigned)osz * 2 + (unsigned)asz;
    return (m->set[b / 64] >> (b % 64)) & 1;
}

static void add_set(struct codemap *m, unsigned id, int osz, int asz)
{
    unsigned b = id * 4 + (unsigned)osz * 2 + (unsigned)asz;
    m->set[b / 64] |= 1ull << (b % 64);
}

/* What a Code's name says beyond its operand tokens. */
struct spec {
    int ntok;
    char tok[6][16]; /* operand tokens */
    int osz, asz;    /* -1 when the name does not fix it */
    int map, opc;    /* opcode from a hex suffix ("_82", "_0F1F", "_DCD0", "_F6r1"), map -1 if none */
    int reg;         /* ModRM.reg from such a suffix, -1 if none */
    int bad;
};

static int is_hex(const char *s, int n)
{
    for (int k = 0; k < n; k++)
        if (!isxdigit((unsigned char)s[k]) || islower((unsigned char)s[k]))
            return 0;
    return 1;
}

static void lower(char *d, const char *s, size_t n)
{
    size_t k = 0;
    for (; s[k] && k + 1 < n; k++)
        d[k] = (char)tolower((unsigned char)s[k]);
    d[k] = 0;
}

static void parse_code(const char *code, const char *mnem, struct spec *sp)
{
    char buf[96], first[32], mn[32];
    memset(sp, 0, sizeof(*sp));
    sp->osz = sp->asz = sp->map = sp->reg = -1;
    snprintf(buf, sizeof(buf), "%s", code);
    char *save = NULL, *t = strtok_r(buf, "_", &save);
    if (!t) {
        sp->bad = 1;
        return;
    }
    lower(first, t, sizeof(first));
    lower(mn, mnem, sizeof(mn));
    /* "Pushw", "Retnd", "Enterw": the operand size is part of the name. */
    size_t ml = strlen(mn);
    if (strncmp(first, mn, ml) == 0 && first[ml]) {
        const char *rest = first + ml;
        if (!strcmp(rest, "w") || !strcmp(rest, "nw"))
            sp->osz = 0;
        else if (!strcmp(rest, "d") || !strcmp(rest, "nd"))
            sp->osz = 1;
        else
            sp->bad = 1; /* "Cmpxchg486": another instruction with this mnemonic */
    } else if (strcmp(first, mn) != 0 && strncmp(mn, first, strlen(first)) != 0) {
        sp->bad = 1;
    }
    const char *prev = "";
    int after_rel = 0;
    while ((t = strtok_r(NULL, "_", &save))) {
        size_t n = strlen(t);
        if (!strcmp(t, "16") || !strcmp(t, "32")) {
            /* rel8_16, rel32_32: branch operand size; m1632_16: operand size */
            sp->osz = t[0] == '3';
            after_rel = !strncmp(prev, "rel", 3);
        } else if (after_rel && (!strcmp(t, "CX") || !strcmp(t, "ECX"))) {
            sp->asz = t[0] == 'E'; /* LOOP's counter register */
        } else if ((n == 2 || n == 4) && is_hex(t, (int)n)) {
            unsigned v = (unsigned)strtoul(t, NULL, 16);
            if (n == 2) {
                sp->map = 0, sp->opc = (int)v;
            } else if ((v >> 8) == 0x0f) {
                sp->map = 1, sp->opc = (int)(v & 0xff);
            } else {
                sp->map = 0, sp->opc = (int)(v >> 8), sp->reg = (int)((v >> 3) & 7);
                if ((v & 0xc0) != 0xc0)
                    sp->bad = 1;
            }
        } else if (n == 4 && t[2] == 'r' && is_hex(t, 2) && isdigit((unsigned char)t[3])) {
            char hx[3] = { t[0], t[1], 0 }; /* "F6r1": opcode F6, ModRM.reg 1 */
            sp->map = 0, sp->opc = (int)strtoul(hx, NULL, 16), sp->reg = t[3] - '0';
        } else {
            if (sp->ntok == 6 || n >= sizeof(sp->tok[0])) {
                sp->bad = 1;
                break;
            }
            snprintf(sp->tok[sp->ntok++], sizeof(sp->tok[0]), "%s", t);
            after_rel = 0;
        }
        prev = t;
    }
    /* m1632 without a "_16" suffix is the 32-bit operand-size form. */
    for (int k = 0; k < sp->ntok; k++)
        if (!strcmp(sp->tok[k], "m1632") && sp->osz < 0)
            sp->osz = 1;
}

/* Does iced operand token `t` name our operand kind `k` at these sizes? */
static int tok_match(const char *t, unsigned k, int osz, int r32m16)
{
#define T(s) (!strcmp(t, s))
    if (T("rm8"))
        return k == OPK_Eb;
    if (T("rm16"))
        return k == OPK_Ew || (!osz && (k == OPK_Ev || k == OPK_Ewv));
    if (T("rm32"))
        return k == OPK_Ed || (osz && k == OPK_Ev);
    if (T("r32m16"))
        return osz && (k == OPK_Ewv || k == OPK_Ew);
    if (T("r8"))
        return k == OPK_Gb || k == OPK_Zb;
    if (T("r16"))
        return k == OPK_Gw || (!osz && (k == OPK_Gv || k == OPK_Zv));
    if (T("r32"))
        return k == OPK_Gd || k == OPK_Zd || k == OPK_Rd || (osz && (k == OPK_Gv || k == OPK_Zv)) ||
               (r32m16 && osz && k == OPK_Gw);
    if (T("imm8"))
        return k == OPK_Ib || k == OPK_Ibs;
    if (T("imm16"))
        return k == OPK_Iw || (!osz && k == OPK_Iz);
    if (T("imm32"))
        return osz && k == OPK_Iz;
    if (T("1"))
        return k == OPK_I1;
    if (T("AL"))
        return k == OPK_AL;
    if (T("CL"))
        return k == OPK_CL;
    if (T("DX"))
        return k == OPK_DX;
    if (T("AX"))
        return k == OPK_AX || (!osz && k == OPK_eAX);
    if (T("EAX"))
        return osz && k == OPK_eAX;
    if (T("ES"))
        return k == OPK_ES;
    if (T("CS"))
        return k == OPK_CS;
    if (T("SS"))
        return k == OPK_SS;
    if (T("DS"))
        return k == OPK_DS;
    if (T("FS"))
        return k == OPK_FS;
    if (T("GS"))
        return k == OPK_GS;
    if (T("Sreg"))
        return k == OPK_Sw;
    if (T("cr"))
        return k == OPK_Cd;
    if (T("dr"))
        return k == OPK_Dd;
    if (T("st0"))
        return k == OPK_ST0;
    if (T("sti"))
        return k == OPK_STi;
    if (T("mm"))
        return k == OPK_Pq || k == OPK_Nq;
    if (T("mmm64"))
        return k == OPK_Qq;
    if (T("mmm32"))
        return k == OPK_Qd;
    if (T("m"))
        return k == OPK_M;
    if (T("m8"))
        return k == OPK_Xb || k == OPK_Yb || k == OPK_Mxlat;
    if (T("m16"))
        return k == OPK_Mw || (!osz && (k == OPK_Xv || k == OPK_Yv));
    if (T("m32"))
        return k == OPK_Md || (osz && (k == OPK_Xv || k == OPK_Yv));
    if (T("m64"))
        return k == OPK_Mq;
    if (T("m1616"))
        return !osz && (k == OPK_Mp || k == OPK_Ma);
    if (T("m1632"))
        return k == OPK_Ms || (osz && k == OPK_Mp);
    if (T("m3232"))
        return osz && k == OPK_Ma;
    if (T("m32fp"))
        return k == OPK_Mf32;
    if (T("m64fp"))
        return k == OPK_Mf64;
    if (T("m80fp"))
        return k == OPK_Mf80;
    if (T("m16int"))
        return k == OPK_Mi16;
    if (T("m32int"))
        return k == OPK_Mi32;
    if (T("m64int"))
        return k == OPK_Mi64;
    if (T("m80bcd"))
        return k == OPK_Mbcd;
    if (T("m2byte"))
        return k == OPK_Mw;
    if (T("m14byte"))
        return !osz && k == OPK_Menv;
    if (T("m28byte"))
        return osz && k == OPK_Menv;
    if (T("m94byte"))
        return !osz && k == OPK_Mfst;
    if (T("m108byte"))
        return osz && k == OPK_Mfst;
    if (T("moffs8"))
        return k == OPK_Ob;
    if (T("moffs16"))
        return !osz && k == OPK_Ov;
    if (T("moffs32"))
        return osz && k == OPK_Ov;
    if (T("rel8"))
        return k == OPK_Jb;
    if (T("rel16"))
        return !osz && k == OPK_Jz;
    if (T("rel32"))
        return osz && k == OPK_Jz;
    if (T("ptr1616"))
        return !osz && k == OPK_Ap;
    if (T("ptr1632"))
        return osz && k == OPK_Ap;
    return 0;
#undef T
}

static int row_opcode_matches(const struct op_info *oi, const struct spec *sp)
{
    if (sp->map < 0)
        return 1;
    if (oi->map != sp->map || oi->opcode != sp->opc)
        return 0;
    if (sp->reg < 0)
        return 1;
    int kind = oi->ext >> 8, n = oi->ext & 0xff;
    if (kind == EXT_RM)
        return (n >> 3) == sp->reg;
    return kind != EXT_NONE && kind != EXT_M && n == sp->reg;
}

/* Spelling differences between iced's mnemonics and ours, each with its reason. */
static const struct {
    const char *iced, *ours, *why;
} mnemonic_alias[] = {
    { "reservednop", "nop", "0F 18..0F 1F hint NOPs: iced calls the P6's reserved-NOP space Reservednop" },
};

static int mnemonic_equal(const char *iced_lower, const char *ours)
{
    if (!strcmp(iced_lower, ours))
        return 1;
    for (unsigned k = 0; k < sizeof(mnemonic_alias) / sizeof(mnemonic_alias[0]); k++)
        if (!strcmp(iced_lower, mnemonic_alias[k].iced) && !strcmp(ours, mnemonic_alias[k].ours))
            return 1;
    return 0;
}

/* The rows an iced Code maps to (computed on first use). */
static struct codemap *lookup_code(const char *code)
{
    struct codemap *m = code_slot(code);
    if (m->computed)
        return m;
    m->computed = 1;
    char first[32];
    const char *mnem = m->mnem;
    if (!mnem[0]) {
        /* Only ever INVALID in the files: take the mnemonic from the name. */
        snprintf(first, sizeof(first), "%s", code);
        char *u = strchr(first, '_');
        if (u)
            *u = 0;
        mnem = first;
    }
    struct spec sp;
    parse_code(code, mnem, &sp);
    if (sp.bad)
        return m;
    for (int k = 0; k < sp.ntok; k++)
        if (!strcmp(sp.tok[k], "r32m16"))
            m->r32m16 = 1;
    char mn[32];
    lower(mn, mnem, sizeof(mn));
    for (unsigned id = 1; id < OP_COUNT; id++) {
        const struct op_info *oi = &op_info[id];
        int nop = 0;
        while (nop < 3 && oi->opnd[nop] != OPK___)
            nop++;
        if (nop != sp.ntok || !row_opcode_matches(oi, &sp))
            continue;
        for (int osz = 0; osz < 2; osz++) {
            if (sp.osz >= 0 && osz != sp.osz)
                continue;
            for (int asz = 0; asz < 2; asz++) {
                char ours[32];
                if (sp.asz >= 0 && asz != sp.asz)
                    continue;
                op_mnemonic((enum op_id)id, osz, asz, ours, sizeof(ours));
                if (!mnemonic_equal(mn, ours))
                    continue;
                int ok = 1;
                for (int k = 0; k < nop && ok; k++)
                    ok = tok_match(sp.tok[k], oi->opnd[k], osz, m->r32m16);
                if (ok) {
                    add_set(m, id, osz, asz);
                    m->supported = 1;
                }
            }
        }
    }
    return m;
}

/* ---- iced's operand notation ---- */

static int memsize_bytes(const char *s)
{
    static const struct {
        const char *name;
        int size;
    } t[] = {
        { "Unknown", 0 },       { "UInt8", 1 },          { "Int8", 1 },           { "UInt16", 2 },
        { "Int16", 2 },         { "WordOffset", 2 },     { "UInt32", 4 },         { "Int32", 4 },
        { "DwordOffset", 4 },   { "Float32", 4 },        { "SegPtr16", 4 },       { "Bound16_WordWord", 4 },
        { "Fword6", 6 },        { "SegPtr32", 6 },       { "UInt64", 8 },         { "Int64", 8 },
        { "Float64", 8 },       { "Bound32_DwordDword", 8 }, { "Float80", 10 },   { "Bcd", 10 },
        { "FpuEnv14", 14 },     { "FpuEnv28", 28 },      { "FpuState94", 94 },    { "FpuState108", 108 },
    };
    for (unsigned k = 0; k < sizeof(t) / sizeof(t[0]); k++)
        if (!strcmp(s, t[k].name))
            return t[k].size;
    if (!strncmp(s, "Packed32_", 9))
        return 4;
    if (!strncmp(s, "Packed64_", 9))
        return 8;
    return -1;
}

static unsigned split(char *s, char sep, char **out, unsigned max)
{
    unsigned n = 0;
    out[n++] = s;
    for (char *p = s; *p && n < max; p++)
        if (*p == sep)
            *p = 0, out[n++] = p + 1;
    return n;
}

/* Register names compare equal, or (iced's r32m16 convention) iced names the
 * 32-bit register where we name its 16-bit low half. */
static int reg_equal(const char *iced, unsigned ours, int widen)
{
    if (!strcmp(iced, dis_reg_name(ours)))
        return 1;
    return widen && ours >= DIS_AX && ours <= DIS_DI && !strcmp(iced, dis_reg_name(ours - DIS_AX + DIS_EAX));
}

static int operand_equal(const char *spec_in, const struct dis_operand *o, int index, int widen, char *why,
                         size_t whylen)
{
    char spec[128], *f[10];
    snprintf(spec, sizeof(spec), "%s", spec_in);
    unsigned n = split(spec, ';', f, 10);
    const char *k = f[0];
#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        snprintf(why, whylen, __VA_ARGS__);                                                                            \
        return 0;                                                                                                      \
    } while (0)
    if (!strcmp(k, "r")) {
        if (o->kind != DIS_OP_REG || !reg_equal(f[1], o->reg, widen))
            FAIL("op%d: want reg %s", index, f[1]);
        return 1;
    }
    if (!strcmp(k, "m") && n == 8) {
        if (o->kind != DIS_OP_MEM || o->mem.string)
            FAIL("op%d: want memory", index);
        const struct dis_mem *m = &o->mem;
        uint32_t disp = (uint32_t)strtoull(f[5], NULL, 0);
        if (strcmp(f[1], dis_reg_name(m->seg)) || strcmp(f[2], dis_reg_name(m->base)) ||
            strcmp(f[3], dis_reg_name(m->index)))
            FAIL("op%d: want seg/base/index %s/%s/%s, got %s/%s/%s", index, f[1], f[2], f[3], dis_reg_name(m->seg),
                 dis_reg_name(m->base), dis_reg_name(m->index));
        if (atoi(f[4]) != (1 << m->scale))
            FAIL("op%d: want scale %s, got %d", index, f[4], 1 << m->scale);
        if (disp != m->disp || atoi(f[6]) != m->dispsize)
            FAIL("op%d: want disp %#x/%s, got %#x/%d", index, disp, f[6], m->disp, m->dispsize);
        if (memsize_bytes(f[7]) != m->size)
            FAIL("op%d: want size %s, got %d bytes", index, f[7], m->size);
        return 1;
    }
    if (!strcmp(k, "segsi") || !strcmp(k, "segesi") || !strcmp(k, "esdi") || !strcmp(k, "esedi")) {
        int src = k[0] == 's', a32 = strlen(k) == (src ? 6u : 5u);
        const char *seg = src ? f[1] : "es", *size = src ? f[2] : f[1];
        if (o->kind != DIS_OP_MEM || !o->mem.string || o->mem.addr32 != a32 ||
            strcmp(dis_reg_name(o->mem.base), src ? (a32 ? "esi" : "si") : (a32 ? "edi" : "di")) ||
            strcmp(dis_reg_name(o->mem.seg), seg) || memsize_bytes(size) != o->mem.size)
            FAIL("op%d: want string operand %s", index, spec_in);
        return 1;
    }
    if (k[0] == 'i') {
        static const struct {
            const char *name;
            int size, immsize;
        } it[] = {
            { "i8", 1, 1 },     { "i16", 2, 2 },    { "i32", 4, 4 },
            { "i8to16", 2, 1 }, { "i8to32", 4, 1 }, { "i8_2nd", 1, 1 },
        };
        uint32_t v = (uint32_t)strtoull(f[1], NULL, 0);
        for (unsigned j = 0; j < sizeof(it) / sizeof(it[0]); j++) {
            if (strcmp(k, it[j].name))
                continue;
            /* the shift group's constant 1 is encoded in the opcode, not as an imm8 */
            int immsize = o->immsize == 0 ? 1 : o->immsize;
            if (o->kind != DIS_OP_IMM || o->size != it[j].size || immsize != it[j].immsize || o->value != v)
                FAIL("op%d: want %s, got imm size %d/%d value %#x", index, spec_in, o->size, o->immsize, o->value);
            return 1;
        }
        FAIL("op%d: unknown immediate kind %s", index, k);
    }
    if (!strcmp(k, "nb16") || !strcmp(k, "nb32")) {
        uint32_t v = (uint32_t)strtoull(f[1], NULL, 0);
        if (o->kind != DIS_OP_REL || o->size != (k[2] == '1' ? 2 : 4) || o->value != v)
            FAIL("op%d: want %s, got rel%d %#x", index, spec_in, o->size * 8, o->value);
        return 1;
    }
    if ((!strcmp(k, "fb16") || !strcmp(k, "fb32")) && n == 3) {
        uint32_t sel = (uint32_t)strtoull(f[1], NULL, 0), off = (uint32_t)strtoull(f[2], NULL, 0);
        if (o->kind != DIS_OP_FAR || o->size != (k[2] == '1' ? 2 : 4) || o->sel != sel || o->value != off)
            FAIL("op%d: want %s, got far%d %#x:%#x", index, spec_in, o->size * 8, o->sel, o->value);
        return 1;
    }
    FAIL("op%d: operand kind %s not understood", index, k);
#undef FAIL
}

/* ---- the files ---- */

static int foreign_encoding(const char *code)
{
    static const char *const pfx[] = { "VEX_", "EVEX_", "XOP_", "MVEX_", "D3NOW_" };
    for (unsigned k = 0; k < sizeof(pfx) / sizeof(pfx[0]); k++)
        if (!strncmp(code, pfx[k], strlen(pfx[k])))
            return 1;
    return 0;
}

/* A row whose handler and operands do not depend on the operand size
 * (SYSEXIT, FADD): iced may still name one size ("Sysexitd"). */
static int size_independent(unsigned id)
{
    const struct op_info *oi = &op_info[id];
    if (oi->kind == KIND_HS || oi->kind == KIND_HSRM)
        return 0;
    for (int k = 0; k < 3; k++) {
        switch (opk_info[oi->opnd[k]].size) {
        case SZ_V:
        case SZ_Z:
        case SZ_WV:
        case SZ_P:
        case SZ_A:
        case SZ_ENV:
        case SZ_FST:
            return 0;
        }
        if (oi->opnd[k] == OPK_Ibs)
            return 0;
    }
    return 1;
}

struct counts {
    unsigned checked, checked_invalid, checked_foreign, skipped_unsupported, skipped_option, mismatches;
};

/* Decoder options that make iced decode as a P6 does, so their lines are
 * checked too: ForceReservedNop (0F 18..0F 1F are the hint NOPs),
 * NoMPFX_0FBC/0FBD (F3 0F BC/BD are BSF/BSR with an ignored prefix, no
 * TZCNT/LZCNT), NoWbnoinvd (F3 0F 09 is WBINVD). */
static int option_implemented(const char *opts)
{
    static const char *const p6[] = { "ForceReservedNop", "NoMPFX_0FBC", "NoMPFX_0FBD", "NoWbnoinvd" };
    char buf[256], *f[16];
    snprintf(buf, sizeof(buf), "%s", opts);
    unsigned n = split(buf, ';', f, 16);
    for (unsigned k = 0; k < n; k++) {
        int known = 0;
        for (unsigned j = 0; j < sizeof(p6) / sizeof(p6[0]); j++)
            known |= !strcmp(f[k], p6[j]);
        if (!known)
            return 0;
    }
    return 1;
}

static int parse_hex(const char *s, uint8_t *out, int max)
{
    int n = 0, hi = -1;
    for (; *s; s++) {
        if (isspace((unsigned char)*s))
            continue;
        int v = isdigit((unsigned char)*s) ? *s - '0' : tolower((unsigned char)*s) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            if (n == max)
                return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static void report(struct counts *c, const char *file, unsigned line, const char *text, const char *why)
{
    if (c->mismatches++ < 60)
        printf("MISMATCH %s:%u: %s\n    -> %s\n", file, line, text, why);
}

static void check_line(struct counts *c, const char *file, unsigned lineno, int mode32, char *text)
{
    char orig[512], *col[5];
    snprintf(orig, sizeof(orig), "%s", text);
    if (split(text, ',', col, 5) != 5)
        return;
    uint8_t bytes[32];
    int len = parse_hex(col[0], bytes, (int)sizeof(bytes));
    char *code = trim(col[1]), *mnem = trim(col[2]), *rest = trim(col[4]);
    int nops = atoi(col[3]);

    /* The key=value and flag words after the operand count. */
    char *ops[5] = { 0 }, *orig_code = NULL, *err = NULL;
    int lock = 0, rep = 0, repne = 0, segpfx = -1, option = 1;
    char *w, *save = NULL;
    for (w = strtok_r(rest, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!strncmp(w, "op", 2) && isdigit((unsigned char)w[2]) && w[3] == '=')
            ops[w[2] - '0'] = w + 4;
        else if (!strncmp(w, "code=", 5))
            orig_code = w + 5;
        else if (!strncmp(w, "err=", 4))
            err = w + 4;
        else if (!strncmp(w, "decopt=", 7))
            option = option_implemented(w + 7);
        else if (!strcmp(w, "lock"))
            lock = 1;
        else if (!strcmp(w, "rep") || !strcmp(w, "repe") || !strcmp(w, "xrelease"))
            rep = 1, repne = 0;
        else if (!strcmp(w, "repne") || !strcmp(w, "xacquire"))
            repne = 1, rep = 0;
        else if (strlen(w) == 3 && w[2] == ':') {
            static const char *const segs[] = { "es:", "cs:", "ss:", "ds:", "fs:", "gs:" };
            for (int s = 0; s < 6; s++)
                if (!strcmp(w, segs[s]))
                    segpfx = s;
        }
    }
    if (len < 0) {
        report(c, file, lineno, orig, "unparsable bytes");
        return;
    }
    uint32_t ip = mode32 ? IP32 : IP16;
    struct insn in;
    char why[256];

    if (!strcmp(code, "INVALID")) {
        const char *what = orig_code ? orig_code : "INVALID";
        if (strcmp(what, "INVALID") && !lookup_code(what)->supported) {
            c->skipped_unsupported++;
            return;
        }
        if (!option) {
            c->skipped_option++;
            return;
        }
        int r = decode(bytes, len, mode32, ip, &in);
        c->checked_invalid++;
        if (err && !strcmp(err, "NoMoreBytes") ? r != DEC_MORE : r >= 0) {
            char txt[96];
            if (r > 0)
                dis_format(&in, txt, sizeof(txt));
            snprintf(why, sizeof(why), "must not decode (%s), got %d %s", err ? err : "invalid", r,
                     r > 0 ? txt : "");
            report(c, file, lineno, orig, why);
        }
        return;
    }

    struct codemap *m = lookup_code(code);
    if (!m->supported) {
        if (foreign_encoding(code)) {
            /* VEX/EVEX/XOP/MVEX/3DNow! forms live where a P6 has LES, LDS,
             * BOUND or POP with a register operand, or 0F 0F: all #UD. */
            c->checked_foreign++;
            if (decode(bytes, len, mode32, ip, &in) >= 0)
                report(c, file, lineno, orig, "foreign encoding must not decode");
            return;
        }
        c->skipped_unsupported++;
        return;
    }
    if (!option) {
        c->skipped_option++;
        return;
    }
    c->checked++;
    int r = decode(bytes, len, mode32, ip, &in);
    if (r != len) {
        snprintf(why, sizeof(why), "decode returned %d, want length %d", r, len);
        report(c, file, lineno, orig, why);
        return;
    }
    int osz = (in.pfx & P_OSIZE32) != 0, asz = (in.pfx & P_ASIZE32) != 0;
    char mn[32], want[32], txt[128];
    dis_format(&in, txt, sizeof(txt));
    if (!in_set(m, in.id, osz, asz) && !(size_independent(in.id) && in_set(m, in.id, !osz, asz))) {
        snprintf(why, sizeof(why), "decoded as %s (o%d a%d): %s", op_info[in.id].name, osz ? 32 : 16,
                 asz ? 32 : 16, txt);
        report(c, file, lineno, orig, why);
        return;
    }
    lower(want, mnem, sizeof(want));
    if (!mnemonic_equal(want, dis_mnemonic(&in, mn, sizeof(mn)))) {
        snprintf(why, sizeof(why), "mnemonic %s, want %s", mn, want);
        report(c, file, lineno, orig, why);
        return;
    }
    struct dis_operand dops[DIS_MAX_OPERANDS];
    int n = dis_operands(&in, dops);
    if (n != nops) {
        snprintf(why, sizeof(why), "%d operands, want %d: %s", n, nops, txt);
        report(c, file, lineno, orig, why);
        return;
    }
    for (int k = 0; k < n; k++) {
        if (!ops[k] || !operand_equal(ops[k], &dops[k], k, m->r32m16, why, sizeof(why))) {
            size_t l = strlen(why);
            snprintf(why + l, sizeof(why) - l, " [%s]", txt);
            report(c, file, lineno, orig, why);
            return;
        }
    }
    /* Prefixes. F3/F2 that select the instruction (PAUSE) are not REP. */
    int mandatory = op_info[in.id].pfx != MPFX_NONE;
    if (!!(in.pfx & P_LOCK) != lock || (!mandatory && (!!(in.pfx & P_REP) != rep || !!(in.pfx & P_REPNE) != repne))) {
        snprintf(why, sizeof(why), "prefix flags %#x, want lock %d rep %d repne %d", in.pfx, lock, rep, repne);
        report(c, file, lineno, orig, why);
        return;
    }
    if ((segpfx >= 0) != !!(in.pfx & P_SEGOVR) || (segpfx >= 0 && in.seg != segpfx)) {
        snprintf(why, sizeof(why), "segment override %d/%d, want %d", !!(in.pfx & P_SEGOVR), in.seg, segpfx);
        report(c, file, lineno, orig, why);
        return;
    }
}

/* MemoryTest: HEX, Code, reg, segment prefix, segment, base, index, scale (shift), displ, displ size, offsets */
static void check_memline(struct counts *c, const char *file, unsigned lineno, int mode32, char *text)
{
    char orig[512], *col[12];
    snprintf(orig, sizeof(orig), "%s", text);
    unsigned nc = split(text, ',', col, 12);
    if (nc < 11)
        return;
    for (unsigned k = 0; k < nc; k++)
        col[k] = trim(col[k]);
    uint8_t bytes[32];
    int len = parse_hex(col[0], bytes, (int)sizeof(bytes));
    struct codemap *m = lookup_code(col[1]);
    struct insn in;
    char why[256], txt[128];
    if (!m->supported) {
        if (foreign_encoding(col[1])) {
            c->checked_foreign++;
            if (decode(bytes, len, mode32, mode32 ? IP32 : IP16, &in) >= 0)
                report(c, file, lineno, orig, "foreign encoding must not decode");
            return;
        }
        c->skipped_unsupported++;
        return;
    }
    c->checked++;
    int r = decode(bytes, len, mode32, mode32 ? IP32 : IP16, &in);
    if (r != len) {
        snprintf(why, sizeof(why), "decode returned %d, want %d", r, len);
        report(c, file, lineno, orig, why);
        return;
    }
    dis_format(&in, txt, sizeof(txt));
    struct dis_operand o[DIS_MAX_OPERANDS];
    int n = dis_operands(&in, o);
    if (!in_set(m, in.id, !!(in.pfx & P_OSIZE32), !!(in.pfx & P_ASIZE32)) || n != 2 || o[0].kind != DIS_OP_MEM ||
        o[1].kind != DIS_OP_REG) {
        snprintf(why, sizeof(why), "decoded as %s: %s", op_info[in.id].name, txt);
        report(c, file, lineno, orig, why);
        return;
    }
    const struct dis_mem *mm = &o[0].mem;
    const char *none = "none";
#define NAME(r) ((r) ? dis_reg_name(r) : none)
    int segpfx = strcmp(col[3], "none") != 0;
    if (strcmp(col[2], dis_reg_name(o[1].reg)) || strcmp(col[4], NAME(mm->seg)) || strcmp(col[5], NAME(mm->base)) ||
        strcmp(col[6], NAME(mm->index)) || atoi(col[7]) != mm->scale ||
        (uint32_t)strtoull(col[8], NULL, 0) != mm->disp || atoi(col[9]) != mm->dispsize ||
        segpfx != !!(in.pfx & P_SEGOVR)) {
        snprintf(why, sizeof(why), "got reg %s seg %s base %s index %s scale %d disp %#x/%d: %s",
                 dis_reg_name(o[1].reg), NAME(mm->seg), NAME(mm->base), NAME(mm->index), mm->scale, mm->disp,
                 mm->dispsize, txt);
        report(c, file, lineno, orig, why);
    }
#undef NAME
}

static void run_file(const char *name, int mode32, int memory, struct counts *c)
{
    char path[512], line[1024];
    snprintf(path, sizeof(path), "%s/iced-decoder/%s", KESTREL_DATA, name);
    gzFile f = gzopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned lineno = 0;
    while (gzgets(f, line, sizeof(line))) {
        lineno++;
        char *s = trim(line);
        if (!*s && line[0] != ',')
            continue;
        if (s[0] == '#')
            continue;
        if (memory)
            check_memline(c, name, lineno, mode32, s);
        else
            check_line(c, name, lineno, mode32, s);
    }
    gzclose(f);
}

/* Learn each Code's mnemonic from the lines that decode it, so INVALID lines
 * (whose mnemonic column is INVALID) map their code= the same way. */
static void prescan(const char *name)
{
    char path[512], line[1024];
    snprintf(path, sizeof(path), "%s/iced-decoder/%s", KESTREL_DATA, name);
    gzFile f = gzopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    while (gzgets(f, line, sizeof(line))) {
        char *col[5];
        if (line[0] == '#' || split(line, ',', col, 5) != 5)
            continue;
        char *code = trim(col[1]), *mnem = trim(col[2]);
        if (!strcmp(code, "INVALID"))
            continue;
        struct codemap *m = code_slot(code);
        if (!m->mnem[0])
            snprintf(m->mnem, sizeof(m->mnem), "%s", mnem);
    }
    gzclose(f);
}

static void print_counts(const char *what, const struct counts *c)
{
    printf("%-22s checked %5u valid, %3u invalid, %5u VEX/EVEX/XOP/3DNow! (#UD on a P6); skipped %4u unsupported "
           "forms, %3u decoder options; %u mismatches\n",
           what, c->checked, c->checked_invalid, c->checked_foreign, c->skipped_unsupported, c->skipped_option,
           c->mismatches);
}

static void run_set(const char *what, const char *f16, const char *f32, int memory)
{
    struct counts c16 = { 0 }, c32 = { 0 };
    char label[64];
    run_file(f16, 0, memory, &c16);
    run_file(f32, 1, memory, &c32);
    snprintf(label, sizeof(label), "%s 16-bit", what);
    print_counts(label, &c16);
    snprintf(label, sizeof(label), "%s 32-bit", what);
    print_counts(label, &c32);
    ck_assert_uint_eq(c16.mismatches + c32.mismatches, 0);
    ck_assert_uint_gt(c16.checked, 0);
    ck_assert_uint_gt(c32.checked, 0);
}

START_TEST(decoder_tests)
{
    static const char *const files[] = { "DecoderTest16.txt.gz", "DecoderTest32.txt.gz", "DecoderTestMisc16.txt.gz",
                                         "DecoderTestMisc32.txt.gz" };
    for (unsigned k = 0; k < sizeof(files) / sizeof(files[0]); k++)
        prescan(files[k]);
    run_set("DecoderTest", "DecoderTest16.txt.gz", "DecoderTest32.txt.gz", 0);
}
END_TEST

START_TEST(memory_tests)
{
    run_set("MemoryTest", "MemoryTest16.txt.gz", "MemoryTest32.txt.gz", 1);
}
END_TEST

START_TEST(misc_tests)
{
    run_set("DecoderTestMisc", "DecoderTestMisc16.txt.gz", "DecoderTestMisc32.txt.gz", 0);
}
END_TEST

/* How many of iced's 16/32-bit Codes name a form we decode. */
START_TEST(supported_forms)
{
    unsigned total = 0, supported = 0;
    ck_assert_msg(maps != NULL, "no iced data was read (see the failures above)");
    for (unsigned k = 0; k < MAP_SLOTS; k++) {
        if (!maps[k].name[0])
            continue;
        total++;
        supported += (unsigned)lookup_code(maps[k].name)->supported;
    }
    printf("iced Codes seen: %u, supported by Kestrel's decoder: %u\n", total, supported);
    if (getenv("KESTREL_ICED_UNSUPPORTED"))
        for (unsigned k = 0; k < MAP_SLOTS; k++)
            if (maps[k].name[0] && !maps[k].supported)
                printf("  unsupported: %s\n", maps[k].name);
    ck_assert_uint_gt(supported, 0);
}
END_TEST

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the counts when a forked test fails */
    Suite *s = suite_create("iced");
    TCase *tc = tcase_create("iced");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, decoder_tests);
    tcase_add_test(tc, memory_tests);
    tcase_add_test(tc, misc_tests);
    tcase_add_test(tc, supported_forms);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* the Code map is shared between the tests */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(maps);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
