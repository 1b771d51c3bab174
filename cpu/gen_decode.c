/*
 * Build-time generator: turns the rows of cpu/opcodes.def into the
 * decoder's lookup maps (decode_tables.c). Runs on the build host.
 *
 * Output structure (see decode.c for the walk):
 *   dec_map[pfx][map][opcode]  0 invalid, id < 0x8000 a row, 0x8000|g a ModRM group
 *   dec_group[g]               rows by ModRM: mem[reg], reg[reg], exact[reg*8+rm]
 *   dec_row[id]                the row's decode plan: whether it has a ModRM
 *                              byte, where its register operands come from,
 *                              which immediates follow, what it forbids
 * pfx 0 is "no mandatory prefix"; 1..3 are 66/F3/F2 alternates, consulted
 * first when that prefix is present.
 *
 * The plans turn the operand kinds into a few bytes per row once, at build
 * time, so the decoder does no per-operand interpretation at run time.
 *
 * The generator refuses tables where two rows claim the same encoding, or
 * a row whose operands no plan describes, so either is a build error
 * rather than a silent misdecode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode_tables.h"
#include "cpu/opcode.h"
#include "cpu/opcode_rows.h"

struct row {
    const char *name;
    int map, opc, ext, pfx;
    int opnd[3];
    unsigned attr;
};

static const struct row rows[] = {
    { "INVALID", 0, 0, 0, 0, { 0, 0, 0 }, 0 },
#define OP(name, map, opc, ext, pfx, mn, o1, o2, o3, attr, fr, fw, fu, kind, stem) \
    { #name, map, opc, ext, pfx, { OPK_##o1, OPK_##o2, OPK_##o3 }, attr },
#include "cpu/opcodes.def"
#undef OP
};
#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

static const int opk_src[] = {
#define OPK(name, src, size) src,
#include "cpu/operands.def"
#undef OPK
};

static const int opk_size[] = {
#define OPK(name, src, size) size,
#include "cpu/operands.def"
#undef OPK
};

struct group {
    int mem[8], reg[8], exact[64];
};

static int map[4][2][256];     /* row id, or -(group+1) */
static struct group groups[512];
static int ngroups;
static int errors;

static const char *slot_owner(int id)
{
    return id > 0 ? rows[id].name : "a group";
}

static void claim(int *slot, int id, const char *what, const struct row *r)
{
    if (*slot && *slot != id) {
        fprintf(stderr, "gen_decode: %s: %s (map %d opcode %02X) conflicts with %s\n", r->name, what, r->map, r->opc,
                slot_owner(*slot));
        errors++;
    }
    *slot = id;
}

/* The decode plan of one row (struct dec_row in decode_tables.h). */
static int plan(const struct row *r, unsigned *flags, unsigned *regsrc, unsigned *imm)
{
    int nimm = 0, immk[2] = { 0, 0 };
    *flags = 0, *regsrc = DRR_NONE, *imm = DI_NONE;
    if (r->ext)
        *flags |= DR_MODRM;
    if (r->attr & A_LOCK)
        *flags |= DR_LOCK;
    for (int k = 0; k < 3; k++) {
        int o = r->opnd[k], byte = opk_size[o] == SZ_B;
        switch (opk_src[o]) {
        case SRC_RM:
            *flags |= DR_MODRM | (byte ? DR_RM8 : 0);
            break;
        case SRC_MEM:
            *flags |= DR_MODRM | DR_MEMONLY;
            break;
        case SRC_RMREG:
            *flags |= DR_MODRM | DR_REGONLY;
            break;
        case SRC_RMANY:
            *flags |= DR_MODRM | DR_RMANY;
            break;
        case SRC_REG:
            *flags |= DR_MODRM;
            *regsrc = DRR_HAS | (byte ? DRR_BYTE : 0);
            if (o == OPK_Sw)
                *flags |= DR_SREG | (k == 0 ? DR_SREGDST : 0);
            if (o == OPK_Cd)
                *flags |= DR_CREG;
            break;
        case SRC_OPREG:
            *regsrc = DRR_HAS | DRR_OPC | (byte ? DRR_BYTE : 0);
            break;
        case SRC_IMM:
            if (nimm == 2)
                return -1;
            immk[nimm++] = o;
            break;
        case SRC_REL:
            if (nimm)
                return -1;
            *imm = o == OPK_Jb ? DI_RELB : DI_RELZ;
            nimm = 2;
            break;
        case SRC_FAR:
            if (nimm)
                return -1;
            *imm = DI_FAR;
            nimm = 2;
            break;
        case SRC_MOFFS:
            if (nimm)
                return -1;
            *imm = DI_MOFFS;
            nimm = 2;
            break;
        }
    }
    if (*imm != DI_NONE)
        return 0;
    if (nimm == 2)
        return immk[0] == OPK_Iw && immk[1] == OPK_Ib ? (*imm = DI_WB, 0) : -1;
    if (nimm == 1)
        *imm = immk[0] == OPK_Ib ? DI_B : immk[0] == OPK_Ibs ? DI_BS : immk[0] == OPK_Iw ? DI_W : DI_Z;
    return 0;
}

static int has_opreg(const struct row *r)
{
    for (int k = 0; k < 3; k++)
        if (opk_src[r->opnd[k]] == SRC_OPREG)
            return 1;
    return 0;
}

static void place(int id, int opc)
{
    const struct row *r = &rows[id];
    int *slot = &map[r->pfx][r->map][opc];
    int kind = r->ext >> 8, n = r->ext & 0xff;
    if (kind == EXT_NONE) {
        if (*slot < 0) {
            fprintf(stderr, "gen_decode: %s: opcode %02X also has ModRM-group rows\n", r->name, opc);
            errors++;
        }
        claim(slot, id, "opcode", r);
        return;
    }
    if (*slot > 0) {
        fprintf(stderr, "gen_decode: %s: opcode %02X already taken by %s\n", r->name, opc, rows[*slot].name);
        errors++;
        return;
    }
    if (*slot == 0) {
        if (ngroups == (int)(sizeof(groups) / sizeof(groups[0]))) {
            fprintf(stderr, "gen_decode: too many groups\n");
            exit(1);
        }
        *slot = -(++ngroups);
    }
    struct group *g = &groups[-*slot - 1];
    switch (kind) {
    case EXT_R:
        claim(&g->mem[n], id, "memory form", r);
        claim(&g->reg[n], id, "register form", r);
        break;
    case EXT_M:
        claim(&g->mem[n], id, "memory form", r);
        break;
    case EXT_X:
        claim(&g->reg[n], id, "register form", r);
        break;
    case EXT_RM:
        claim(&g->exact[n], id, "exact ModRM", r);
        break;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_decode OUTPUT.c\n");
        return 2;
    }
    /* Explicit rows first, so +r rows (opcode | reg) fill only what is left. */
    for (int pass = 0; pass < 2; pass++) {
        for (int id = 1; id < NROWS; id++) {
            const struct row *r = &rows[id];
            if (has_opreg(r) != pass)
                continue;
            if (!pass) {
                place(id, r->opc);
                continue;
            }
            for (int k = 0; k < 8; k++) {
                int opc = (r->opc & ~7) | k;
                if (opc < r->opc)
                    continue;
                if (!map[r->pfx][r->map][opc])
                    place(id, opc);
            }
        }
    }
    for (int id = 1; id < NROWS; id++) {
        unsigned flags, regsrc, imm;
        if (plan(&rows[id], &flags, &regsrc, &imm)) {
            fprintf(stderr, "gen_decode: %s: no decode plan for its immediates\n", rows[id].name);
            errors++;
        }
    }
    if (errors)
        return 1;

    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fprintf(f, "/* Generated by cpu/gen_decode.c from cpu/opcodes.def. Do not edit. */\n");
    fprintf(f, "#include \"cpu/decode_tables.h\"\n\n");
    fprintf(f, "const uint16_t dec_map[4][2][256] = {\n");
    for (int p = 0; p < 4; p++) {
        fprintf(f, "  {\n");
        for (int m = 0; m < 2; m++) {
            fprintf(f, "    {");
            for (int o = 0; o < 256; o++) {
                int v = map[p][m][o];
                unsigned e = v < 0 ? 0x8000u | (unsigned)(-v - 1) : (unsigned)v;
                fprintf(f, "%s%u,", o % 16 ? " " : "\n      ", e);
            }
            fprintf(f, "\n    },\n");
        }
        fprintf(f, "  },\n");
    }
    fprintf(f, "};\n\n");
    fprintf(f, "const struct dec_group dec_group[%d] = {\n", ngroups ? ngroups : 1);
    for (int g = 0; g < ngroups; g++) {
        fprintf(f, "  { {");
        for (int k = 0; k < 8; k++)
            fprintf(f, "%d,", groups[g].mem[k]);
        fprintf(f, "}, {");
        for (int k = 0; k < 8; k++)
            fprintf(f, "%d,", groups[g].reg[k]);
        fprintf(f, "}, {");
        for (int k = 0; k < 64; k++)
            fprintf(f, "%d,", groups[g].exact[k]);
        fprintf(f, "} },\n");
    }
    if (!ngroups)
        fprintf(f, "  { {0}, {0}, {0} },\n");
    fprintf(f, "};\n\n");
    fprintf(f, "const struct dec_row dec_row[%d] = {\n", NROWS);
    for (int id = 0; id < NROWS; id++) {
        unsigned flags, regsrc, imm;
        plan(&rows[id], &flags, &regsrc, &imm);
        fprintf(f, "  { %#x, %u, %u }, /* %s */\n", flags, regsrc, imm, rows[id].name);
    }
    fprintf(f, "};\n");
    return fclose(f) ? 1 : 0;
}
