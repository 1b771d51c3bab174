/*
 * The decoder against Capstone on pseudo-random byte streams.
 *
 * For every one-byte and every 0F two-byte opcode, in 16- and 32-bit mode,
 * the generator builds many byte strings around that opcode: random
 * prefixes (sometimes up to and past the 15-byte limit), random ModRM,
 * SIB, displacement and immediate bytes. Kestrel's decoder and Capstone
 * decode each; they must agree on validity, length and mnemonic, or the
 * difference must fall under one of the reasoned rules below (Capstone
 * decodes ISA extensions a P6 does not have, does not check LOCK, spells
 * some mnemonics differently, or has a known bug). Every rule is a
 * predicate on the bytes and both results, and counts how often it fired.
 *
 * The seed is fixed for reproducibility; KESTREL_SEED=n picks another one,
 * KESTREL_ROUNDS=n changes the number of byte strings per opcode. On a
 * failure the seed and the bytes of each unexplained difference are
 * printed.
 */
#include <capstone/capstone.h>
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/disasm.h"
#include "cpu/insn.h"
#include "cpu/opcode.h"
#include "tests/common/check_run.h"

#define BUFLEN 24
#define EIP16 0x1234u
#define EIP32 0x12345678u

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static const uint8_t prefix_bytes[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf2, 0xf3, 0xf0 };

static int is_prefix(uint8_t b)
{
    return memchr(prefix_bytes, b, sizeof(prefix_bytes)) != NULL;
}

/* One byte string around opcode (map, opc). Returns the number of prefix bytes. */
static int generate(uint64_t *s, int map, int opc, uint8_t *buf)
{
    int n = 0, np;
    uint64_t r = rng(s);
    switch (r % 16) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6:
        np = 0;
        break;
    case 15:
        np = 10 + (int)((r >> 8) % 6); /* around the 15-byte limit */
        break;
    default:
        np = 1 + (int)((r >> 8) % 3);
        break;
    }
    for (int k = 0; k < np; k++) {
        uint64_t p = rng(s);
        /* LOCK is rare: most forms reject it and it would hide the rest */
        buf[n++] = prefix_bytes[(p >> 16) % 16 == 0 ? 10 : (p >> 8) % 10];
    }
    if (map)
        buf[n++] = 0x0f;
    buf[n++] = (uint8_t)opc;
    uint64_t m = rng(s);
    /* ModRM: a quarter register forms, the rest every memory form */
    buf[n++] = (uint8_t)((m & 3) == 0 ? 0xc0 | ((m >> 8) & 0x3f) : (m >> 8) & 0xff);
    while (n < BUFLEN) {
        uint64_t v = rng(s);
        for (int k = 0; k < 8 && n < BUFLEN; k++)
            buf[n++] = (uint8_t)(v >> (8 * k));
    }
    return np;
}

/* ---- what each decoder said ---- */

struct result {
    const uint8_t *bytes;
    int mode32;
    int nprefix;          /* prefix bytes in front of the opcode */
    int map, opc;         /* the opcode generated */
    int klen;             /* Kestrel: length, or DEC_* */
    struct insn ki;
    char kmn[32];         /* Kestrel mnemonic */
    int clen;             /* Capstone: length, 0 when invalid */
    char cmn[32];         /* Capstone mnemonic without prefixes */
    const cs_insn *ci;
    csh h;                /* Capstone handle of this mode, to re-decode variants */
};

static void strip_prefix_words(char *mn);

static int has_byte_prefix(const struct result *r, uint8_t b)
{
    return memchr(r->bytes, b, (size_t)r->nprefix) != NULL;
}

static int modrm_byte(const struct result *r)
{
    return r->bytes[r->nprefix + r->map + 1];
}

static int cs_in_group(const struct result *r, unsigned g)
{
    if (!r->ci || !r->ci->detail)
        return 0;
    for (int k = 0; k < r->ci->detail->groups_count; k++)
        if (r->ci->detail->groups[k] == g)
            return 1;
    return 0;
}

/* Instructions introduced after the P6 (or by other vendors) that Capstone
 * 4 decodes without marking an ISA group, by the extension that added them. */
static const struct {
    const char *isa, *mnemonics;
} later_isa[] = {
    { "SSE (integer MMX extensions, prefetch)", " pshufw pinsrw pextrw pmovmskb pminub pmaxub pavgb pavgw pmulhuw "
      "movntq pminsw pmaxsw psadbw maskmovq prefetchnta prefetcht0 prefetcht1 prefetcht2 " },
    { "SSE2", " paddq psubq pmuludq " },
    { "SSE3", " fisttp monitor mwait " },
    { "FXSR (not in the modelled Pentium II's CPUID)", " fxsave fxrstor " },
    { "XSAVE", " xgetbv xsetbv xsave xsaveopt xsavec xsaves xrstor xrstors " },
    { "AMD SYSCALL", " syscall sysret " },
    { "x86-64", " swapgs " },
    { "RDTSCP", " rdtscp " },
    { "SMX, SGX, SMAP, TSX", " getsec encls enclu enclv clac stac xtest xbegin xend xabort " },
    { "3DNow!, PRFCHW", " prefetch prefetchw femms " },
    { "MOVBE, RDRAND, RDSEED", " movbe rdrand rdseed " },
    { "SSE2, CLFLUSHOPT, CLWB, PCOMMIT", " clflush lfence mfence sfence ldmxcsr stmxcsr clflushopt clwb pcommit " },
    { "POPCNT, LZCNT", " popcnt lzcnt " },
    { "INVPCID, CET", " invpcid endbr32 endbr64 " },
    { "VIA PadLock", " montmul xsha1 xsha256 xstorerng xcryptecb xcryptcbc xcryptctr xcryptcfb xcryptofb " },
};

/* Capstone's instruction belongs to an ISA extension the P6 does not have. */
static int cs_beyond_p6(const struct result *r)
{
    static const unsigned groups[] = {
        X86_GRP_SSE1, X86_GRP_SSE2, X86_GRP_SSE3, X86_GRP_SSSE3, X86_GRP_SSE41, X86_GRP_SSE42, X86_GRP_SSE4A,
        X86_GRP_AVX, X86_GRP_AVX2, X86_GRP_AVX512, X86_GRP_FMA, X86_GRP_FMA4, X86_GRP_XOP, X86_GRP_3DNOW,
        X86_GRP_AES, X86_GRP_PCLMUL, X86_GRP_SHA, X86_GRP_BMI, X86_GRP_BMI2, X86_GRP_ADX, X86_GRP_TBM,
        X86_GRP_F16C, X86_GRP_RTM, X86_GRP_HLE, X86_GRP_VM, X86_GRP_SGX, X86_GRP_SMAP, X86_GRP_FSGSBASE,
    };
    for (unsigned k = 0; k < sizeof(groups) / sizeof(groups[0]); k++)
        if (cs_in_group(r, groups[k]))
            return 1;
    char word[40];
    snprintf(word, sizeof(word), " %s ", r->cmn);
    for (unsigned k = 0; k < sizeof(later_isa) / sizeof(later_isa[0]); k++)
        if (strstr(later_isa[k].mnemonics, word))
            return 1;
    return 0;
}

/* Kestrel's decode of the bytes with every prefix byte `from` turned into
 * `to`: its length (or DEC_*), and its mnemonic in mn. */
static int decode_replaced(const struct result *r, uint8_t from, uint8_t to, char *mn, unsigned len)
{
    uint8_t b[BUFLEN];
    struct insn i;
    memcpy(b, r->bytes, BUFLEN);
    for (int k = 0; k < r->nprefix; k++)
        if (b[k] == from)
            b[k] = to;
    int n = decode(b, BUFLEN, r->mode32, r->mode32 ? EIP32 : EIP16, &i);
    if (n > 0)
        dis_mnemonic(&i, mn, len);
    return n;
}

static int same_mnemonic(const char *capstone, const char *ours);

/* Capstone's decode of the bytes with the prefixes rewritten by `fix`
 * agrees with Kestrel's decode of the original bytes. */
static int capstone_agrees_after(const struct result *r, void (*fix)(uint8_t *b, int n, uint8_t arg), uint8_t arg)
{
    uint8_t b[BUFLEN];
    memcpy(b, r->bytes, BUFLEN);
    fix(b, r->nprefix, arg);
    cs_insn *ci;
    size_t n = cs_disasm(r->h, b, BUFLEN, r->mode32 ? EIP32 : EIP16, 1, &ci);
    if (n != 1)
        return 0;
    char mn[32];
    snprintf(mn, sizeof(mn), "%s", ci->mnemonic);
    int size = ci->size;
    cs_free(ci, n);
    strip_prefix_words(mn);
    return r->klen > 0 && size == r->klen && same_mnemonic(mn, r->kmn);
}

/* Moves every prefix byte `last` next to the opcode (order does not matter to a CPU). */
static void move_last(uint8_t *b, int n, uint8_t last)
{
    uint8_t out[16];
    int m = 0, cnt = 0;
    for (int j = 0; j < n; j++) {
        if (b[j] == last)
            cnt++;
        else
            out[m++] = b[j];
    }
    while (cnt--)
        out[m++] = last;
    memcpy(b, out, (size_t)n);
}

/* Turns F2/F3 into DS overrides. */
static void drop_rep(uint8_t *b, int n, uint8_t unused)
{
    (void)unused;
    for (int k = 0; k < n; k++)
        if (b[k] == 0xf2 || b[k] == 0xf3)
            b[k] = 0x3e;
}

static int kestrel_is(const struct result *r, unsigned id)
{
    return r->klen > 0 && r->ki.id == id;
}

/* ---- the reasoned differences ---- */

/* Capstone's spelling -> ours. */
static const struct {
    const char *capstone, *ours;
} spelling[] = {
    { "pushal", "pushad" },        { "popal", "popad" },     { "pushaw", "pusha" },       { "popaw", "popa" },
    { "ljmp", "jmp" },             { "lcall", "call" },      { "feni8087_nop", "fneni" }, { "fdisi8087_nop", "fndisi" },
    { "fsetpm", "fnsetpm" },       { "ud2b", "ud1" },
};

static int rule_isa_extension(const struct result *r)
{
    /* Kestrel rejects it, or (ignoring the prefix, as a P6 does) decodes the older instruction of the same length */
    return r->clen > 0 && cs_beyond_p6(r) && (r->klen < 0 || r->klen == r->clen);
}

/* The SDM's list of instructions LOCK may prefix (Vol. 2A, LOCK), with a
 * memory destination -- judged from Capstone's decode, not from our table. */
static int sdm_lockable(const struct result *r)
{
    static const char lockable[] = " add adc and btc btr bts cmpxchg cmpxchg8b dec inc neg not or sbb sub xor xadd "
                                   "xchg ";
    char word[40];
    snprintf(word, sizeof(word), " %s ", r->cmn);
    return r->clen > 0 && strstr(lockable, word) && r->ci->detail->x86.op_count > 0 &&
           r->ci->detail->x86.operands[0].type == X86_OP_MEM;
}

static int rule_lock(const struct result *r)
{
    char mn[32];
    /* the LOCK is the only reason we reject it (Capstone's length may differ for its other bugs) */
    return r->klen == DEC_INVALID && r->clen > 0 && has_byte_prefix(r, 0xf0) && !sdm_lockable(r) &&
           decode_replaced(r, 0xf0, 0x3e, mn, sizeof(mn)) > 0;
}

static int same_mnemonic(const char *capstone, const char *ours)
{
    if (!strcmp(capstone, ours))
        return 1;
    for (unsigned k = 0; k < sizeof(spelling) / sizeof(spelling[0]); k++)
        if (!strcmp(capstone, spelling[k].capstone) && !strcmp(ours, spelling[k].ours))
            return 1;
    return 0;
}

static int rule_spelling(const struct result *r)
{
    return r->klen > 0 && r->klen == r->clen && same_mnemonic(r->cmn, r->kmn);
}

static int rule_mov_cs(const struct result *r)
{
    return r->klen == DEC_INVALID && r->clen > 0 && !r->map && r->opc == 0x8e && ((modrm_byte(r) >> 3) & 7) == 1;
}

static int rule_mov_crn(const struct result *r)
{
    int n = (modrm_byte(r) >> 3) & 7;
    return r->klen == DEC_INVALID && r->clen > 0 && r->map && (r->opc == 0x20 || r->opc == 0x22) &&
           (n == 1 || n >= 5);
}

static int rule_ud_modrm(const struct result *r)
{
    int ud = r->map && (r->opc == 0xb9 || r->opc == 0xff);
    /* any decoding of these raises #UD: with LOCK ours is invalid outright */
    return ud && (kestrel_is(r, OP_UD1) || kestrel_is(r, OP_UD0) || r->klen == DEC_TOOLONG || r->klen == DEC_INVALID) &&
           (r->clen == 0 || r->clen == r->nprefix + 2);
}

static int rule_66_with_rep(const struct result *r)
{
    char mn[32];
    if (!has_byte_prefix(r, 0x66) || !(has_byte_prefix(r, 0xf2) || has_byte_prefix(r, 0xf3)))
        return 0;
    /* Capstone's result is ours without the 66, or Capstone agrees once the F2/F3 are gone */
    return (r->clen > 0 && decode_replaced(r, 0x66, 0x3e, mn, sizeof(mn)) == r->clen && !strcmp(mn, r->cmn)) ||
           capstone_agrees_after(r, drop_rep, 0);
}

static int rule_prefix_order(const struct result *r)
{
    static const uint8_t sizing[] = { 0x66, 0x67, 0xf3 };
    for (unsigned k = 0; k < sizeof(sizing); k++)
        if (has_byte_prefix(r, sizing[k]) && capstone_agrees_after(r, move_last, sizing[k]))
            return 1;
    return 0;
}

static int rule_16bit_size_names(const struct result *r)
{
    char mn[32];
    if (r->mode32 || r->klen <= 0 || r->klen != r->clen)
        return 0;
    int osz = (r->ki.pfx & P_OSIZE32) != 0, asz = (r->ki.pfx & P_ASIZE32) != 0;
    return !strcmp(op_mnemonic((enum op_id)r->ki.id, !osz, asz, mn, sizeof(mn)), r->cmn) ||
           !strcmp(op_mnemonic((enum op_id)r->ki.id, osz, !asz, mn, sizeof(mn)), r->cmn);
}

static int rule_pause(const struct result *r)
{
    return kestrel_is(r, OP_PAUSE) && r->klen == r->clen && !strcmp(r->cmn, "nop") &&
           (!r->mode32 || has_byte_prefix(r, 0x66));
}

static int rule_vex(const struct result *r)
{
    /* C4/C5/62 with mod = 3 are VEX/EVEX prefixes on later CPUs; Capstone 4 misses the AVX group on some */
    return r->klen == DEC_INVALID && r->clen > 0 && !r->map && (r->opc == 0xc4 || r->opc == 0xc5 || r->opc == 0x62) &&
           (modrm_byte(r) >> 6) == 3;
}

static int rule_nop_register(const struct result *r)
{
    return r->klen > 0 && r->clen == 0 && r->map && r->opc >= 0x18 && r->opc <= 0x1f && !strcmp(r->kmn, "nop") &&
           (modrm_byte(r) >> 6) == 3;
}

static const struct rule {
    const char *name, *why;
    int (*match)(const struct result *r);
    unsigned hits;
} rules_init[] = {
    { "isa-extension", "Capstone decodes an ISA extension the P6 lacks (SSE..AVX-512, 3DNow!, BMI, VMX, XSAVE, "
      "PadLock, ...); a P6 raises #UD or, ignoring the prefix, runs the older instruction of the same length",
      rule_isa_extension, 0 },
    { "vex", "C4/C5/62 with a register operand are LES/LDS/BOUND on a P6 and #UD; Capstone decodes VEX/EVEX (some "
      "without marking the AVX group)", rule_vex, 0 },
    { "lock", "LOCK on an instruction or operand form the SDM does not list is #UD; Capstone does not check LOCK",
      rule_lock, 0 },
    { "spelling", "same instruction, Capstone spells it differently (pushal, ljmp, feni8087_nop, ud2b)",
      rule_spelling, 0 },
    { "mov-cs", "MOV CS, r/m (8E /1) is #UD; Capstone decodes it", rule_mov_cs, 0 },
    { "mov-crn", "MOV to/from CR1, CR5, CR6, CR7 is #UD; Capstone decodes them", rule_mov_crn, 0 },
    { "ud-modrm", "UD0 (0F FF) and UD1 (0F B9) take a ModRM byte (SDM Vol. 2B); Capstone 4 decodes them without one",
      rule_ud_modrm, 0 },
    { "cs-66-rep", "Capstone 4 drops a 66 prefix, or rejects the instruction, when an F2/F3 prefix is also present; "
      "it agrees with ours without the 66, or once the F2/F3 are gone", rule_66_with_rep, 0 },
    { "cs-prefix-order", "Capstone 4 takes the size of size-named instructions (cbw/cwde, jcxz/jecxz) and PAUSE from "
      "the prefix next to the opcode only; it agrees once the prefixes are reordered", rule_prefix_order, 0 },
    { "cs-16bit-names", "Capstone 4 names some size-dependent instructions for the other size in 16-bit mode "
      "(cbw/cwde, cwd/cdq, jcxz/jecxz)", rule_16bit_size_names, 0 },
    { "cs-pause", "Capstone 4 decodes F3 90 as PAUSE only in 32-bit mode without a 66 prefix", rule_pause, 0 },
    { "nop-register", "NOP r/m (0F 1F /0) and the P6 hint NOPs (0F 18..0F 1F) accept register operands; Capstone "
      "4 rejects mod = 3", rule_nop_register, 0 },
};

/* ---- operands, where both decoders agree on the instruction ---- */

static void cs_name(const struct result *r, unsigned reg, char *out, size_t n)
{
    const char *nm = reg ? cs_reg_name(r->h, reg) : "";
    size_t j = 0;
    for (; nm && *nm && j + 1 < n; nm++)
        if (*nm != '(' && *nm != ')') /* st(3) -> st3 */
            out[j++] = *nm;
    out[j] = 0;
}

static uint32_t mask_bytes(uint64_t v, unsigned size)
{
    return size >= 4 ? (uint32_t)v : (uint32_t)(v & ((1u << (size * 8)) - 1));
}

/* Conventions in which Capstone lists operands differently; each is a
 * normalisation the comparison may apply, counted when it was needed. */
enum {
    NORM_ST_ONLY = 1,   /* x87: Capstone leaves out or repeats the implied ST(0); compare the ST(i) operands */
    NORM_SWAP = 2,      /* XCHG r, eAX: Capstone lists eAX first (the operation is symmetric) */
    NORM_WIDE = 4,      /* MOV Sreg, r/m16: Capstone names the register at the operand size, as iced does */
    NORM_REL16 = 8,     /* branch with an operand size other than the mode's: SDM truncates to 16 bits, Capstone
                           does so by mode instead; compare the low 16 bits */
    NORM_FIRST = 16,    /* hint NOP Ev,Gv: Capstone lists only the r/m operand */
    NORM_IMPLICIT = 32, /* Capstone omits XLAT's memory operand and AAM/AAD's default base 10 */
    NORM_REL67 = 64,    /* branch with 67: Capstone wraps the target at 64K; the address size does not apply */
};

static const struct {
    unsigned norm;
    const char *name, *why;
} operand_conventions[] = {
    { NORM_ST_ONLY, "x87-st0", "x87 register forms: Capstone omits or repeats the implied ST(0); the ST(i) agree" },
    { NORM_SWAP, "xchg-order", "XCHG r, eAX: Capstone lists eAX first; XCHG is symmetric" },
    { NORM_WIDE, "sreg-wide", "MOV Sreg, r/m16 with a register: Capstone (like iced) names it at the operand size" },
    { NORM_REL16, "rel-16", "branch with 66: the SDM truncates the target to 16 bits when the operand size is 16 "
      "(iced agrees); Capstone truncates by mode instead; the low 16 bits agree" },
    { NORM_REL67, "rel-67", "branch with 67: the address size does not apply to a relative target (SDM Jcc/JMP/CALL); "
      "Capstone 4 wraps it at 64K; the low 16 bits agree" },
    { NORM_FIRST, "nop-ev-gv", "hint NOP Ev,Gv: Capstone lists only the r/m operand (iced lists both)" },
    { NORM_IMPLICIT, "implicit", "Capstone omits XLAT's memory operand and AAM/AAD's base 10" },
};

static int is_st(unsigned reg)
{
    return reg >= DIS_ST0 && reg < DIS_ST0 + 8;
}

/* Kestrel's operand list (disasm.c) against Capstone's: registers, memory
 * segment/base/index/scale/displacement, immediates, branch targets. */
static int operands_agree(const struct result *r, unsigned norm, char *why, size_t n)
{
    struct dis_operand ko[DIS_MAX_OPERANDS];
    int kn = dis_operands(&r->ki, ko);
    const cs_x86 *x = &r->ci->detail->x86;
    cs_x86_op cops[8];
    int cn = x->op_count < 8 ? x->op_count : 8;
    char a[16], b[16];
    memcpy(cops, x->operands, sizeof(cs_x86_op) * (size_t)cn);

    if (kn == 1 && ko[0].kind == DIS_OP_FAR) {
        /* Capstone lists a far pointer as two immediates, selector first */
        if (cn != 2 || (uint16_t)cops[0].imm != ko[0].sel ||
            mask_bytes((uint64_t)cops[1].imm, ko[0].size) != ko[0].value) {
            snprintf(why, n, "far pointer");
            return 0;
        }
        return 1;
    }
    /* each convention applies to its own instructions only */
    int has_st = 0;
    for (int k = 0; k < kn; k++)
        has_st |= ko[k].kind == DIS_OP_REG && is_st(ko[k].reg);
    if (((norm & NORM_ST_ONLY) && !has_st) || ((norm & NORM_SWAP) && r->ki.id != OP_XCHG_ZveAX) ||
        ((norm & NORM_WIDE) && r->ki.id != OP_MOV_SwEw) ||
        ((norm & (NORM_REL16 | NORM_REL67)) && !(kn == 1 && ko[0].kind == DIS_OP_REL)) ||
        ((norm & NORM_FIRST) && !(op_info[r->ki.id].map == 1 && op_info[r->ki.id].opcode >= 0x18 &&
                                  op_info[r->ki.id].opcode <= 0x1f && kn == 2)) ||
        ((norm & NORM_IMPLICIT) && r->ki.id != OP_XLAT && r->ki.id != OP_AAM && r->ki.id != OP_AAD)) {
        snprintf(why, n, "convention does not apply");
        return 0;
    }
    if (norm & NORM_ST_ONLY) {
        /* keep the ST(1)..ST(7) operands of both */
        int j = 0;
        for (int k = 0; k < kn; k++)
            if (ko[k].kind == DIS_OP_REG && is_st(ko[k].reg) && ko[k].reg != DIS_ST0)
                ko[j++] = ko[k];
        kn = j, j = 0;
        for (int k = 0; k < cn; k++) {
            cs_name(r, cops[k].type == X86_OP_REG ? cops[k].reg : 0, a, sizeof(a));
            if (!strncmp(a, "st", 2) && strcmp(a, "st0"))
                cops[j++] = cops[k];
        }
        cn = j;
    }
    if (norm & NORM_SWAP && kn == 2) {
        struct dis_operand t = ko[0];
        ko[0] = ko[1], ko[1] = t;
    }
    if (norm & NORM_FIRST)
        kn = kn > 1 ? 1 : kn, cn = cn > 1 ? 1 : cn;
    if (norm & NORM_IMPLICIT) {
        if (r->ki.id == OP_XLAT)
            kn = 0;
        if ((r->ki.id == OP_AAM || r->ki.id == OP_AAD) && r->ki.imm == 10)
            kn = 0;
    }
    if (cn != kn) {
        snprintf(why, n, "%d operands, Capstone %d", kn, cn);
        return 0;
    }
    int osz = (r->ki.pfx & P_OSIZE32) != 0;
    for (int k = 0; k < kn; k++) {
        const cs_x86_op *c = &cops[k];
        const struct dis_operand *o = &ko[k];
        switch (o->kind) {
        case DIS_OP_REG: {
            cs_name(r, c->type == X86_OP_REG ? c->reg : 0, a, sizeof(a));
            int ok = c->type == X86_OP_REG && !strcmp(a, dis_reg_name(o->reg));
            if (!ok && (norm & NORM_WIDE) && r->ki.id == OP_MOV_SwEw && osz && o->reg >= DIS_AX && o->reg <= DIS_DI)
                ok = !strcmp(a, dis_reg_name(o->reg - DIS_AX + DIS_EAX));
            if (!ok) {
                snprintf(why, n, "op%d: reg %s, Capstone %s", k, dis_reg_name(o->reg), a);
                return 0;
            }
            break;
        }
        case DIS_OP_IMM:
        case DIS_OP_REL: {
            uint32_t want = o->value, got = mask_bytes((uint64_t)c->imm, o->kind == DIS_OP_REL ? 4 : o->size);
            if ((((norm & NORM_REL16) && osz != r->mode32) || ((norm & NORM_REL67) && has_byte_prefix(r, 0x67))) &&
                o->kind == DIS_OP_REL)
                want &= 0xffff, got &= 0xffff;
            if (c->type != X86_OP_IMM || got != want) {
                snprintf(why, n, "op%d: imm %#x, Capstone %#llx", k, o->value, (unsigned long long)c->imm);
                return 0;
            }
            break;
        }
        case DIS_OP_MEM: {
            const struct dis_mem *m = &o->mem;
            if (c->type != X86_OP_MEM) {
                snprintf(why, n, "op%d: memory, Capstone type %d", k, c->type);
                return 0;
            }
            cs_name(r, c->mem.base, a, sizeof(a));
            cs_name(r, c->mem.index, b, sizeof(b));
            if (strcmp(a, dis_reg_name(m->base)) || strcmp(b, dis_reg_name(m->index)) ||
                (m->index && c->mem.scale != 1 << m->scale) ||
                mask_bytes((uint64_t)c->mem.disp, m->addr32 ? 4 : 2) != m->disp) {
                snprintf(why, n, "op%d: [%s+%s*%d+%#x], Capstone [%s+%s*%d+%#llx]", k, dis_reg_name(m->base),
                         dis_reg_name(m->index), 1 << m->scale, m->disp, a, b, c->mem.scale,
                         (unsigned long long)c->mem.disp);
                return 0;
            }
            cs_name(r, c->mem.segment, a, sizeof(a));
            if (a[0] && strcmp(a, dis_reg_name(m->seg))) {
                snprintf(why, n, "op%d: segment %s, Capstone %s", k, dis_reg_name(m->seg), a);
                return 0;
            }
            break;
        }
        }
    }
    return 1;
}

#define NCONV (sizeof(operand_conventions) / sizeof(operand_conventions[0]))

/* ---- the run ---- */

struct stats {
    unsigned total, agree_valid, agree_invalid, explained, unexplained;
    unsigned operand_diffs, operands_checked, operands_skipped;
    unsigned conv_hits[NCONV];
    struct rule rules[sizeof(rules_init) / sizeof(rules_init[0])];
};

static void strip_prefix_words(char *mn)
{
    static const char *const words[] = { "lock ", "rep ", "repe ", "repne ", "repz ", "repnz ", "xacquire ",
                                         "xrelease ", "bnd ", "notrack " };
    for (int again = 1; again;) {
        again = 0;
        for (unsigned k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
            size_t l = strlen(words[k]);
            if (!strncmp(mn, words[k], l)) {
                memmove(mn, mn + l, strlen(mn + l) + 1);
                again = 1;
            }
        }
    }
}

static void show(const char *tag, const struct result *r, uint64_t seed)
{
    char hex[3 * BUFLEN + 1] = "", txt[96] = "";
    int shown = r->clen > 0 ? r->clen : r->klen > 0 ? r->klen : 16;
    for (int k = 0; k < shown && k < BUFLEN; k++)
        snprintf(hex + 3 * k, 4, "%02x ", r->bytes[k]);
    if (r->klen > 0)
        dis_format(&r->ki, txt, sizeof(txt));
    printf("%s seed %llu mode%d: %s| kestrel %d %s [%s] | capstone %d %s %s\n", tag, (unsigned long long)seed,
           r->mode32 ? 32 : 16, hex, r->klen, r->klen > 0 ? op_info[r->ki.id].name : "-", txt, r->clen,
           r->clen ? r->ci->mnemonic : "(invalid)", r->clen ? r->ci->op_str : "");
}

/* KESTREL_CS_SUMMARY=1: unexplained differences grouped by opcode and outcome, with one example each. */
static int summary;
static unsigned show_max = 40; /* KESTREL_SHOW=n: how many differences to print */
static struct {
    char key[96];
    unsigned n;
    uint8_t example[BUFLEN];
} groups_seen[4096];

static void tally(const struct result *r)
{
    char key[96];
    snprintf(key, sizeof(key), "m%d %s%02x k:%s%s c:%s", r->mode32 ? 32 : 16, r->map ? "0f" : "", r->opc,
             r->klen > 0 ? r->kmn : "-", r->klen > 0 && r->klen != r->clen ? "(len)" : "", r->clen ? r->cmn : "-");
    for (unsigned k = 0; k < sizeof(groups_seen) / sizeof(groups_seen[0]); k++) {
        if (!groups_seen[k].n) {
            snprintf(groups_seen[k].key, sizeof(groups_seen[k].key), "%s", key);
            memcpy(groups_seen[k].example, r->bytes, BUFLEN);
        }
        if (!strcmp(groups_seen[k].key, key)) {
            groups_seen[k].n++;
            return;
        }
    }
}

static void print_tally(void)
{
    for (unsigned k = 0; k < sizeof(groups_seen) / sizeof(groups_seen[0]) && groups_seen[k].n; k++) {
        printf("%6u %-50s eg", groups_seen[k].n, groups_seen[k].key);
        for (int j = 0; j < 12; j++)
            printf(" %02x", groups_seen[k].example[j]);
        printf("\n");
    }
}

static void run(uint64_t seed, unsigned rounds, struct stats *st)
{
    csh h[2];
    ck_assert_int_eq(cs_open(CS_ARCH_X86, CS_MODE_16, &h[0]), CS_ERR_OK);
    ck_assert_int_eq(cs_open(CS_ARCH_X86, CS_MODE_32, &h[1]), CS_ERR_OK);
    cs_option(h[0], CS_OPT_DETAIL, CS_OPT_ON);
    cs_option(h[1], CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *ci = cs_malloc(h[0]), *ci32 = cs_malloc(h[1]);
    uint64_t s = seed ? seed : 1;
    for (int mode32 = 0; mode32 < 2; mode32++) {
        for (int op = 0; op < 512; op++) {
            int map = op >> 8, opc = op & 0xff;
            if (!map && (opc == 0x0f || is_prefix((uint8_t)opc)))
                continue;
            for (unsigned k = 0; k < rounds; k++) {
                uint8_t buf[BUFLEN];
                struct result r;
                memset(&r, 0, sizeof(r));
                r.bytes = buf;
                r.h = h[mode32];
                r.mode32 = mode32;
                r.map = map, r.opc = opc;
                r.nprefix = generate(&s, map, opc, buf);
                uint32_t eip = mode32 ? EIP32 : EIP16;
                r.klen = decode(buf, BUFLEN, mode32, eip, &r.ki);
                if (r.klen > 0)
                    dis_mnemonic(&r.ki, r.kmn, sizeof(r.kmn));
                const uint8_t *code = buf;
                size_t size = BUFLEN;
                uint64_t addr = eip;
                cs_insn *cur = mode32 ? ci32 : ci;
                if (cs_disasm_iter(h[mode32], &code, &size, &addr, cur)) {
                    r.ci = cur;
                    r.clen = cur->size;
                    snprintf(r.cmn, sizeof(r.cmn), "%s", cur->mnemonic);
                    strip_prefix_words(r.cmn);
                }
                st->total++;
                int kv = r.klen > 0, cv = r.clen > 0;
                /* LOCK that we accept must be one the SDM allows */
                int bad_lock = kv && has_byte_prefix(&r, 0xf0) && !sdm_lockable(&r);
                if (kv && cv && r.klen == r.clen && !strcmp(r.kmn, r.cmn) && !bad_lock) {
                    char why[160];
                    st->agree_valid++;
                    if (has_byte_prefix(&r, 0x66) && (has_byte_prefix(&r, 0xf2) || has_byte_prefix(&r, 0xf3))) {
                        st->operands_skipped++; /* Capstone 4's 66 + F2/F3 bug (cs-66-rep) */
                        continue;
                    }
                    if (cs_beyond_p6(&r)) {
                        st->operands_skipped++; /* Capstone decodes the SSE2 form a P6 does not have */
                        continue;
                    }
                    st->operands_checked++;
                    int agreed = operands_agree(&r, 0, why, sizeof(why));
                    for (unsigned j = 0; !agreed && j < NCONV; j++) {
                        char w2[160];
                        if (operands_agree(&r, operand_conventions[j].norm, w2, sizeof(w2))) {
                            st->conv_hits[j]++;
                            agreed = 1;
                        }
                    }
                    if (!agreed) {
                        st->operand_diffs++;
                        if (summary) {
                            snprintf(r.cmn, sizeof(r.cmn), "%.20s", why);
                            tally(&r);
                        } else if (st->operand_diffs <= show_max) {
                            show("OPERANDS", &r, seed);
                            printf("    %s\n", why);
                        }
                    }
                    continue;
                }
                if (!kv && !cv) {
                    st->agree_invalid++;
                    continue;
                }
                int explained = 0;
                for (unsigned j = 0; j < sizeof(st->rules) / sizeof(st->rules[0]) && !explained && !bad_lock; j++) {
                    if (st->rules[j].match(&r)) {
                        st->rules[j].hits++;
                        explained = 1;
                    }
                }
                if (explained) {
                    st->explained++;
                } else {
                    st->unexplained++;
                    if (summary)
                        tally(&r);
                    else if (st->unexplained <= show_max)
                        show("UNEXPLAINED", &r, seed);
                }
            }
        }
    }
    cs_free(ci, 1);
    cs_free(ci32, 1);
    cs_close(&h[0]);
    cs_close(&h[1]);
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    return v && *v ? (unsigned)strtoul(v, NULL, 0) : dflt;
}

START_TEST(kestrel_agrees_with_capstone)
{
    uint64_t seed = env_uint("KESTREL_SEED", 20240601u);
    unsigned rounds = env_uint("KESTREL_ROUNDS", 1000);
    struct stats st;
    memset(&st, 0, sizeof(st));
    memcpy(st.rules, rules_init, sizeof(rules_init));
    clock_t t0 = clock();
    summary = getenv("KESTREL_CS_SUMMARY") != NULL;
    show_max = env_uint("KESTREL_SHOW", 40);
    run(seed, rounds, &st);
    if (summary)
        print_tally();
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("seed %llu, %u byte strings per opcode and mode: %u decoded, %u agree (valid), %u agree (invalid), "
           "%u reasoned differences, %u unexplained (%.2f s)\n",
           (unsigned long long)seed, rounds, st.total, st.agree_valid, st.agree_invalid, st.explained, st.unexplained,
           secs);
    for (unsigned j = 0; j < sizeof(st.rules) / sizeof(st.rules[0]); j++)
        printf("  %-16s %7u  %s\n", st.rules[j].name, st.rules[j].hits, st.rules[j].why);
    printf("operands of the %u agreeing instructions: %u compared, %u not (Capstone 66+F2/F3 bug or its SSE2 "
           "reading), %u differ\n",
           st.agree_valid, st.operands_checked, st.operands_skipped, st.operand_diffs);
    for (unsigned j = 0; j < NCONV; j++)
        printf("  %-16s %7u  %s\n", operand_conventions[j].name, st.conv_hits[j], operand_conventions[j].why);
    ck_assert_msg(st.unexplained == 0, "seed %llu: %u unexplained differences with Capstone", (unsigned long long)seed,
                  st.unexplained);
    ck_assert_msg(st.operand_diffs == 0, "seed %llu: %u operand differences with Capstone", (unsigned long long)seed,
                  st.operand_diffs);
    ck_assert_uint_gt(st.agree_valid, st.total / 2);
}
END_TEST

/* With fewer bytes than the instruction needs the decoder must ask for more
 * (DEC_MORE) rather than answer differently: the interpreter decodes at a
 * page end with what it has and fetches the next page only on DEC_MORE,
 * and a CPU raises the code fetch's fault before any decode fault. With
 * exactly the instruction's bytes it must give the same result. */
START_TEST(truncated_input_asks_for_more)
{
    uint64_t seed = env_uint("KESTREL_SEED", 20240601u) ^ 0x5eedull, s = seed;
    unsigned checked = 0, bad = 0;
    for (int mode32 = 0; mode32 < 2; mode32++) {
        for (int op = 0; op < 512; op++) {
            int map = op >> 8, opc = op & 0xff;
            if (!map && (opc == 0x0f || is_prefix((uint8_t)opc)))
                continue;
            for (unsigned k = 0; k < 100; k++) {
                uint8_t buf[BUFLEN];
                struct insn full, part;
                generate(&s, map, opc, buf);
                int len = decode(buf, BUFLEN, mode32, 0x1000, &full);
                int upto = len > 0 ? len : 15;
                for (int avail = 0; avail <= upto; avail++) {
                    int r = decode(buf, avail, mode32, 0x1000, &part);
                    int ok = avail < upto ? (r == DEC_MORE || (len < 0 && r == len))
                                          : (r == len && (len < 0 || !memcmp(&part, &full, sizeof(full))));
                    checked++;
                    if (!ok && bad++ < 20) {
                        printf("seed %llu mode%d: %d bytes of", (unsigned long long)seed, mode32 ? 32 : 16, avail);
                        for (int j = 0; j < upto; j++)
                            printf(" %02x", buf[j]);
                        printf(" give %d, all of them %d\n", r, len);
                    }
                }
            }
        }
    }
    printf("truncated decodes: %u checked, %u wrong\n", checked, bad);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the counts when a forked test fails */
    Suite *s = suite_create("decode_capstone");
    TCase *tc = tcase_create("random");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, kestrel_agrees_with_capstone);
    tcase_add_test(tc, truncated_input_asks_for_more);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
