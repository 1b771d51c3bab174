/*
 * The x86 decoder for 16- and 32-bit code: prefixes, opcode maps, ModRM,
 * SIB, displacement and immediates, producing a `struct insn` (insn.h).
 *
 * Everything it knows about individual instructions comes from the opcode
 * table through the generated maps (decode_tables.h) and the operand kinds
 * of each row; there is no per-instruction code here.
 *
 * Prefix rules followed (as the Intel SDM and real CPUs do): any number of
 * prefixes in any order up to the 15-byte limit; the last segment override
 * wins; of F2/F3 the last one wins; 66/67 toggle from the default size
 * (repeating them changes nothing). A LOCK prefix on an instruction or
 * operand form that does not allow it is #UD.
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

static int row_has_modrm(const struct op_info *oi)
{
    for (int k = 0; k < 3; k++) {
        switch (opk_info[oi->opnd[k]].src) {
        case SRC_RM: case SRC_MEM: case SRC_RMREG: case SRC_RMANY: case SRC_REG:
            return 1;
        }
    }
    return oi->ext != 0;
}

static int row_has_rmany(const struct op_info *oi)
{
    for (int k = 0; k < 3; k++)
        if (opk_info[oi->opnd[k]].src == SRC_RMANY)
            return 1;
    return 0;
}

/* 16-bit ModRM memory forms: base, index, default segment. */
static const uint8_t rm16_base[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
static const uint8_t rm16_index[8] = { R_ESI, R_EDI, R_ESI, R_EDI, GPR_ZERO, GPR_ZERO, GPR_ZERO, GPR_ZERO };

int decode(const uint8_t *b, int avail, int mode32, uint32_t eip, struct insn *o)
{
    int pos = 0, osz = mode32, asz = mode32, seg = SEG_NONE, mand = 0;
    uint8_t pfx = 0;

    memset(o, 0, sizeof(*o));
    for (;;) {
        NEED(1);
        uint8_t c = b[pos];
        if (c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e)
            seg = (c >> 3) & 3;
        else if (c == 0x64 || c == 0x65)
            seg = c - 0x60;
        else if (c == 0x66)
            osz = !mode32, pfx |= P_OP66;
        else if (c == 0x67)
            asz = !mode32;
        else if (c == 0xf0)
            pfx |= P_LOCK;
        else if (c == 0xf2)
            pfx = (pfx & ~P_REP) | P_REPNE;
        else if (c == 0xf3)
            pfx = (pfx & ~P_REPNE) | P_REP;
        else
            break;
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
        mand = PF3;
    else if (pfx & P_REPNE)
        mand = PF2;
    else if (pfx & P_OP66)
        mand = P66;
    unsigned e = mand ? dec_map[mand][map][opc] : 0;
    if (!e)
        e = dec_map[0][map][opc];
    if (!e)
        return DEC_INVALID;

    unsigned id = e;
    int has_modrm = (e & DEC_GROUP) || row_has_modrm(&op_info[e]);
    uint8_t modrm = 0;
    int mod = 0, mreg = 0, mrm = 0;
    if (has_modrm) {
        NEED(1);
        modrm = b[pos++];
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
    const struct op_info *oi = &op_info[id];
    o->id = (uint16_t)id;

    /* Memory operand: ModRM addressing (not for MOV CRn/DRn, which ignore mod). */
    int is_mem = has_modrm && mod != 3 && !row_has_rmany(oi);
    o->rm = GPR_ZERO;
    o->index = GPR_ZERO;
    if (is_mem) {
        int dseg = SEG_DS;
        if (!asz) {
            if (mod == 0 && mrm == 6) {
                NEED(2);
                o->disp = rd16(b + pos);
                pos += 2;
            } else {
                o->rm = rm16_base[mrm];
                o->index = rm16_index[mrm];
                if (mrm == 2 || mrm == 3 || mrm == 6)
                    dseg = SEG_SS;
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
        o->seg = (uint8_t)(seg != SEG_NONE ? seg : dseg);
        pfx |= P_MEM;
    } else {
        o->seg = (uint8_t)(seg != SEG_NONE ? seg : SEG_DS);
    }

    /* Operands in order; immediates follow the ModRM bytes in operand order. */
    int nimm = 0, rel = 0, relsize = 0;
    for (int k = 0; k < 3; k++) {
        const struct opk_info *ki = &opk_info[oi->opnd[k]];
        int byte = ki->size == SZ_B;
        switch (ki->src) {
        case SRC_NONE:
        case SRC_FIXED:
            break;
        case SRC_RM:
            if (!is_mem)
                o->rm = byte ? gpr8_offset(mrm) : (uint8_t)mrm;
            break;
        case SRC_MEM:
            if (!is_mem)
                return DEC_INVALID;
            break;
        case SRC_RMREG:
            if (is_mem)
                return DEC_INVALID;
            o->rm = (uint8_t)mrm;
            break;
        case SRC_RMANY:
            o->rm = (uint8_t)mrm;
            break;
        case SRC_REG:
            if (oi->opnd[k] == OPK_Sw && (mreg > 5 || (id == OP_MOV_SwEw && mreg == SEG_CS)))
                return DEC_INVALID;
            if (oi->opnd[k] == OPK_Cd && (mreg == 1 || mreg > 4))
                return DEC_INVALID;
            o->reg = byte ? gpr8_offset(mreg) : (uint8_t)mreg;
            break;
        case SRC_OPREG:
            o->reg = byte ? gpr8_offset(opc & 7) : (uint8_t)(opc & 7);
            break;
        case SRC_IMM: {
            uint32_t v;
            if (ki->size == SZ_B || ki->size == SZ_BS) {
                NEED(1);
                v = ki->size == SZ_BS ? (uint32_t)(int8_t)b[pos] : b[pos];
                pos += 1;
            } else if (ki->size == SZ_W || !osz) {
                NEED(2);
                v = rd16(b + pos);
                pos += 2;
            } else {
                NEED(4);
                v = rd32(b + pos);
                pos += 4;
            }
            if (nimm++ == 0)
                o->imm = v;
            else
                o->imm2 = (uint16_t)v;
            break;
        }
        case SRC_REL:
            if (ki->size == SZ_B) {
                NEED(1);
                rel = (int8_t)b[pos];
                relsize = 1;
            } else if (osz) {
                NEED(4);
                rel = (int32_t)rd32(b + pos);
                relsize = 4;
            } else {
                NEED(2);
                rel = (int16_t)rd16(b + pos);
                relsize = 2;
            }
            pos += relsize;
            break;
        case SRC_FAR:
            NEED(osz ? 6 : 4);
            o->imm = osz ? rd32(b + pos) : rd16(b + pos);
            pos += osz ? 4 : 2;
            o->imm2 = (uint16_t)rd16(b + pos);
            pos += 2;
            break;
        case SRC_MOFFS:
            NEED(asz ? 4 : 2);
            o->disp = asz ? rd32(b + pos) : rd16(b + pos);
            pos += asz ? 4 : 2;
            pfx |= P_MEM;
            break;
        case SRC_STR:
            break;
        }
    }
    if (relsize) {
        uint32_t target = eip + (uint32_t)pos + (uint32_t)rel;
        o->imm = osz ? target : (target & 0xffff);
    }

    if ((pfx & P_LOCK) && (!(oi->attr & A_LOCK) || !(pfx & P_MEM)))
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
