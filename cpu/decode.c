/*
 * The x86 decoder for 16- and 32-bit code: prefixes, opcode maps, ModRM,
 * SIB, displacement and immediates, producing a `struct insn` (insn.h).
 *
 * Everything it knows about individual instructions comes from the opcode
 * table through the generated maps and per-row decode plans
 * (decode_tables.h): which row an opcode/ModRM selects, whether the row
 * has a ModRM byte, where its register operand comes from, which
 * immediates follow and which forms it forbids. There is no
 * per-instruction code here, and no per-operand interpretation at run
 * time: decode() runs once per instruction when a block is built, so it
 * is kept to table lookups and a handful of well-predicted branches.
 *
 * Prefix rules followed (as the Intel SDM and real CPUs do): any number of
 * prefixes in any order up to the 15-byte limit; the last segment override
 * wins; of F2/F3 the last one wins; 66/67 toggle from the default size
 * (repeating them changes nothing). A LOCK prefix on an instruction or
 * operand form that does not allow it is #UD. Once the opcode (and ModRM
 * group member) is known to exist, running out of bytes (DEC_MORE) is
 * reported before any #UD, as a CPU's code-fetch fault comes before its
 * decode fault; and a caller that fetches more and decodes again sees the
 * same answer as with all bytes present.
 *
 * Structured disassembly of the result lives in disasm.c, off this path.
 */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/decode_tables.h"
#include "cpu/insn.h"

#define NEED(n)                                                                                                        \
    do {                                                                                                               \
        if (pos + (n) > 15)                                                                                            \
            return DEC_TOOLONG;                                                                                        \
        if (pos + (n) > avail)                                                                                         \
            return DEC_MORE;                                                                                           \
    } while (0)

static inline uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 16-bit ModRM memory forms: base, index, default segment. */
static const uint8_t rm16_base[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
static const uint8_t rm16_index[8] = { R_ESI, R_EDI, R_ESI, R_EDI, GPR_ZERO, GPR_ZERO, GPR_ZERO, GPR_ZERO };
static const uint8_t rm16_seg[8] = { SEG_DS, SEG_DS, SEG_SS, SEG_SS, SEG_DS, SEG_DS, SEG_SS, SEG_DS };

/* Byte registers AL..BH as byte offsets into cpu->gpr (see insn.h). */
static const uint8_t gpr8_off[8] = { 0, 8, 16, 24, 1, 9, 17, 25 };

/* Prefix bytes: what each one does. */
enum { PK_NONE, PK_SEG, PK_OSIZE, PK_ASIZE, PK_LOCK, PK_REPNE, PK_REP };
static const uint8_t prefix_kind[256] = {
    [0x26] = PK_SEG, [0x2e] = PK_SEG, [0x36] = PK_SEG, [0x3e] = PK_SEG, [0x64] = PK_SEG, [0x65] = PK_SEG,
    [0x66] = PK_OSIZE, [0x67] = PK_ASIZE, [0xf0] = PK_LOCK, [0xf2] = PK_REPNE, [0xf3] = PK_REP,
};

int decode(const uint8_t *b, int avail, int mode32, uint32_t eip, struct insn *o)
{
    int pos = 0, osz = mode32, asz = mode32, seg = SEG_NONE, mand = 0;
    uint8_t pfx = 0;

    memset(o, 0, sizeof(*o));
    for (;;) {
        NEED(1);
        uint8_t c = b[pos];
        unsigned k = prefix_kind[c];
        if (k == PK_NONE)
            break;
        switch (k) {
        case PK_SEG:
            seg = c < 0x40 ? (c >> 3) & 3 : c - 0x60; /* 26 2E 36 3E -> ES CS SS DS; 64 65 -> FS GS */
            break;
        case PK_OSIZE:
            osz = !mode32, pfx |= P_OP66;
            break;
        case PK_ASIZE:
            asz = !mode32;
            break;
        case PK_LOCK:
            pfx |= P_LOCK;
            break;
        case PK_REPNE:
            pfx = (uint8_t)((pfx & ~P_REP) | P_REPNE);
            break;
        default:
            pfx = (uint8_t)((pfx & ~P_REPNE) | P_REP);
            break;
        }
        pos++;
    }
    o->nprefix = (uint8_t)pos;

    int map = 0;
    uint8_t opc = b[pos++];
    if (opc == 0x0f) {
        NEED(1);
        map = 1;
        opc = b[pos++];
    }
    o->b1 = opc;

    /* Mandatory-prefix forms first (F3/F2 by whichever came last, else 66). */
    if (pfx & P_REP)
        mand = MPFX_F3;
    else if (pfx & P_REPNE)
        mand = MPFX_F2;
    else if (pfx & P_OP66)
        mand = MPFX_66;
    unsigned e = mand ? dec_map[mand][map][opc] : 0;
    if (!e)
        e = dec_map[0][map][opc];
    if (!e)
        return DEC_INVALID;

    unsigned id = e;
    int mod = 3, mreg = 0, mrm = 0, has_modrm = (e & DEC_GROUP) || (dec_row[e].flags & DR_MODRM);
    if (has_modrm) {
        NEED(1);
        uint8_t modrm = b[pos++];
        mod = modrm >> 6, mreg = (modrm >> 3) & 7, mrm = modrm & 7;
        o->modrm = modrm;
        if (e & DEC_GROUP) {
            const struct dec_group *g = &dec_group[e & ~DEC_GROUP];
            if (mod != 3)
                id = g->mem[mreg];
            else
                id = g->exact[mreg * 8 + mrm] ? g->exact[mreg * 8 + mrm] : g->reg[mreg];
            if (!id)
                return DEC_INVALID;
        }
    }
    const struct dec_row *dr = &dec_row[id];
    unsigned flags = dr->flags;
    o->id = (uint16_t)id;

    /* Memory operand: ModRM addressing (not for MOV CRn/DRn, which ignore mod). */
    /* Forms the row forbids are #UD, reported once the length is known (below). */
    int is_mem = mod != 3 && !(flags & DR_RMANY);
    int bad = is_mem ? (flags & DR_REGONLY) : (flags & DR_MEMONLY);
    if (flags & (DR_SREG | DR_CREG)) {
        bad |= (flags & DR_SREG) && (mreg > 5 || ((flags & DR_SREGDST) && mreg == SEG_CS));
        bad |= (flags & DR_CREG) && (mreg == 1 || mreg > 4);
    }
    int dseg = SEG_DS;
    o->rm = GPR_ZERO;
    o->index = GPR_ZERO;
    if (is_mem) {
        if (!asz) {
            if (mod == 0 && mrm == 6) {
                NEED(2);
                o->disp = rd16(b + pos);
                pos += 2;
            } else {
                o->rm = rm16_base[mrm];
                o->index = rm16_index[mrm];
                dseg = rm16_seg[mrm];
            }
            if (mod == 1) {
                NEED(1);
                o->disp = (uint32_t)(int8_t)b[pos++];
            } else if (mod == 2) {
                NEED(2);
                o->disp = rd16(b + pos);
                pos += 2;
            }
        } else {
            int base = mrm;
            if (mrm == 4) {
                NEED(1);
                uint8_t sib = b[pos++];
                int idx = (sib >> 3) & 7;
                base = sib & 7;
                o->scale = sib >> 6;
                o->index = idx == 4 ? GPR_ZERO : (uint8_t)idx;
                if (base == 5 && mod == 0)
                    base = -1;
            } else if (mrm == 5 && mod == 0) {
                base = -1;
            }
            if (base >= 0) {
                o->rm = (uint8_t)base;
                if (base == R_ESP || base == R_EBP)
                    dseg = SEG_SS;
            }
            if (mod == 1) {
                NEED(1);
                o->disp = (uint32_t)(int8_t)b[pos++];
            } else if (mod == 2 || base < 0) {
                NEED(4);
                o->disp = rd32(b + pos);
                pos += 4;
            }
        }
        pfx |= P_MEM;
    } else if (has_modrm) {
        o->rm = (flags & DR_RM8) ? gpr8_off[mrm] : (uint8_t)mrm;
    }
    o->seg = (uint8_t)(seg != SEG_NONE ? seg : dseg);

    unsigned rs = dr->regsrc, r = (rs & DRR_OPC) ? opc & 7u : (unsigned)mreg;
    r = (rs & DRR_BYTE) ? gpr8_off[r] : r;
    o->reg = (uint8_t)((rs & DRR_HAS) ? r : 0);

    /* Immediates follow the ModRM bytes. */
    int rel = 0;
    switch (dr->imm) {
    case DI_NONE:
        break;
    case DI_B:
        NEED(1);
        o->imm = b[pos++];
        break;
    case DI_BS:
        NEED(1);
        o->imm = (uint32_t)(int8_t)b[pos++];
        break;
    case DI_W:
        NEED(2);
        o->imm = rd16(b + pos);
        pos += 2;
        break;
    case DI_Z:
        if (osz) {
            NEED(4);
            o->imm = rd32(b + pos);
            pos += 4;
        } else {
            NEED(2);
            o->imm = rd16(b + pos);
            pos += 2;
        }
        break;
    case DI_WB:
        NEED(3);
        o->imm = rd16(b + pos);
        o->imm2 = b[pos + 2];
        pos += 3;
        break;
    case DI_RELB:
        NEED(1);
        rel = (int8_t)b[pos++];
        break;
    case DI_RELZ:
        if (osz) {
            NEED(4);
            rel = (int32_t)rd32(b + pos);
            pos += 4;
        } else {
            NEED(2);
            rel = (int16_t)rd16(b + pos);
            pos += 2;
        }
        break;
    case DI_FAR:
        NEED(osz ? 6 : 4);
        o->imm = osz ? rd32(b + pos) : rd16(b + pos);
        pos += osz ? 4 : 2;
        o->imm2 = (uint16_t)rd16(b + pos);
        pos += 2;
        break;
    case DI_MOFFS:
        NEED(asz ? 4 : 2);
        o->disp = asz ? rd32(b + pos) : rd16(b + pos);
        pos += asz ? 4 : 2;
        pfx |= P_MEM;
        break;
    }
    if (dr->imm == DI_RELB || dr->imm == DI_RELZ) {
        /* Targets are absolute and wrap to the operand size: blocks are keyed by EIP. */
        uint32_t target = eip + (uint32_t)pos + (uint32_t)rel;
        o->imm = osz ? target : (target & 0xffff);
    }

    if (bad || ((pfx & P_LOCK) && (!(flags & DR_LOCK) || !is_mem)))
        return DEC_INVALID;

    if (osz)
        pfx |= P_OSIZE32;
    if (asz)
        pfx |= P_ASIZE32;
    if (seg != SEG_NONE)
        pfx |= P_SEGOVR;
    o->pfx = pfx;
    o->len = (uint8_t)pos;
    o->fn = op_handlers[id][((pfx & P_MEM) ? VAR_M16 : VAR_R16) + (osz ? 1 : 0)];
    return pos;
}
