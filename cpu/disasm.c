/*
 * Disassembly of decoded instructions (see disasm.h).
 *
 * The operand list is rebuilt from the opcode row's operand kinds and the
 * fields the decoder filled in; the only things recomputed from the raw
 * ModRM byte are those the interpreter never needs (how many displacement
 * bytes were encoded). Keeping this out of decode.c keeps the decoder on
 * its hot path lean; keeping it derived from `struct insn` means tests
 * that compare this output against other disassemblers check what the
 * interpreter really executes.
 */
#include "cpu/disasm.h"

#include <stdio.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/opcode.h"

static const char *const reg_names[DIS_REG_COUNT] = {
    [DIS_NOREG] = "",
    [DIS_AL] = "al", [DIS_CL] = "cl", [DIS_DL] = "dl", [DIS_BL] = "bl",
    [DIS_AH] = "ah", [DIS_CH] = "ch", [DIS_DH] = "dh", [DIS_BH] = "bh",
    [DIS_AX] = "ax", [DIS_CX] = "cx", [DIS_DX] = "dx", [DIS_BX] = "bx",
    [DIS_SP] = "sp", [DIS_BP] = "bp", [DIS_SI] = "si", [DIS_DI] = "di",
    [DIS_EAX] = "eax", [DIS_ECX] = "ecx", [DIS_EDX] = "edx", [DIS_EBX] = "ebx",
    [DIS_ESP] = "esp", [DIS_EBP] = "ebp", [DIS_ESI] = "esi", [DIS_EDI] = "edi",
    [DIS_ES] = "es", [DIS_CS] = "cs", [DIS_SS] = "ss", [DIS_DS] = "ds", [DIS_FS] = "fs", [DIS_GS] = "gs",
    [DIS_CR0] = "cr0", [DIS_CR0 + 1] = "cr1", [DIS_CR0 + 2] = "cr2", [DIS_CR0 + 3] = "cr3",
    [DIS_CR0 + 4] = "cr4", [DIS_CR0 + 5] = "cr5", [DIS_CR0 + 6] = "cr6", [DIS_CR0 + 7] = "cr7",
    [DIS_DR0] = "dr0", [DIS_DR0 + 1] = "dr1", [DIS_DR0 + 2] = "dr2", [DIS_DR0 + 3] = "dr3",
    [DIS_DR0 + 4] = "dr4", [DIS_DR0 + 5] = "dr5", [DIS_DR0 + 6] = "dr6", [DIS_DR0 + 7] = "dr7",
    [DIS_ST0] = "st0", [DIS_ST0 + 1] = "st1", [DIS_ST0 + 2] = "st2", [DIS_ST0 + 3] = "st3",
    [DIS_ST0 + 4] = "st4", [DIS_ST0 + 5] = "st5", [DIS_ST0 + 6] = "st6", [DIS_ST0 + 7] = "st7",
    [DIS_MM0] = "mm0", [DIS_MM0 + 1] = "mm1", [DIS_MM0 + 2] = "mm2", [DIS_MM0 + 3] = "mm3",
    [DIS_MM0 + 4] = "mm4", [DIS_MM0 + 5] = "mm5", [DIS_MM0 + 6] = "mm6", [DIS_MM0 + 7] = "mm7",
};

const char *dis_reg_name(unsigned r)
{
    return r < DIS_REG_COUNT && reg_names[r] ? reg_names[r] : "?";
}

/* A general-purpose register by number and size in bytes. */
static uint8_t gpr(unsigned num, unsigned size)
{
    switch (size) {
    case 1:
        return (uint8_t)(DIS_AL + num);
    case 2:
        return (uint8_t)(DIS_AX + num);
    default:
        return (uint8_t)(DIS_EAX + num);
    }
}

/* Bytes of a register, immediate or memory operand of `size` kind. */
static unsigned opsize(unsigned size, int osz32)
{
    switch (size) {
    case SZ_B:
    case SZ_BS:
        return 1;
    case SZ_W:
    case SZ_WV:
        return 2;
    case SZ_D:
    case SZ_F32:
        return 4;
    case SZ_Q:
    case SZ_F64:
        return 8;
    case SZ_V:
    case SZ_Z:
        return osz32 ? 4 : 2;
    case SZ_P:
        return osz32 ? 6 : 4;
    case SZ_A:
        return osz32 ? 8 : 4;
    case SZ_S:
        return 6;
    case SZ_F80:
    case SZ_BCD:
        return 10;
    case SZ_ENV:
        return osz32 ? 28 : 14;
    case SZ_FST:
        return osz32 ? 108 : 94;
    default:
        return 0;
    }
}

/* The ModRM (or moffs) memory operand, as decoded. */
static void modrm_mem(const struct insn *i, int asz32, struct dis_mem *m)
{
    int mod = i->modrm >> 6, rm = i->modrm & 7;
    m->seg = (uint8_t)(DIS_ES + i->seg);
    m->addr32 = (uint8_t)asz32;
    m->base = i->rm == GPR_ZERO ? DIS_NOREG : gpr(i->rm, asz32 ? 4 : 2);
    m->index = i->index == GPR_ZERO ? DIS_NOREG : gpr(i->index, asz32 ? 4 : 2);
    m->scale = i->scale;
    m->disp = asz32 ? i->disp : (i->disp & 0xffff);
    if (mod == 1)
        m->dispsize = 1;
    else if (mod == 2)
        m->dispsize = asz32 ? 4 : 2;
    else if (!asz32)
        m->dispsize = rm == 6 ? 2 : 0;
    else
        m->dispsize = (rm == 5 || (rm == 4 && i->rm == GPR_ZERO)) ? 4 : 0;
}

int dis_operands(const struct insn *i, struct dis_operand out[DIS_MAX_OPERANDS])
{
    const struct op_info *oi = &op_info[i->id];
    int osz = (i->pfx & P_OSIZE32) != 0, asz = (i->pfx & P_ASIZE32) != 0;
    int n = 0, nimm = 0;
    memset(out, 0, sizeof(struct dis_operand) * DIS_MAX_OPERANDS);
    for (int k = 0; k < 3; k++) {
        unsigned kind = oi->opnd[k];
        if (kind == OPK___)
            continue;
        const struct opk_info *ki = &opk_info[kind];
        struct dis_operand *o = &out[n++];
        unsigned size = opsize(ki->size, osz);
        o->size = (uint8_t)size;
        switch (ki->src) {
        case SRC_RM:
        case SRC_MEM:
        case SRC_RMREG:
        case SRC_RMANY:
            if ((i->pfx & P_MEM) && ki->src != SRC_RMANY) {
                o->kind = DIS_OP_MEM;
                modrm_mem(i, asz, &o->mem);
                o->mem.size = (uint16_t)(ki->size == SZ_WV ? 2 : size);
                o->size = 0;
                break;
            }
            o->kind = DIS_OP_REG;
            if (kind == OPK_STi)
                o->reg = (uint8_t)(DIS_ST0 + i->rm);
            else if (kind == OPK_Qq || kind == OPK_Qd || kind == OPK_Nq)
                o->reg = (uint8_t)(DIS_MM0 + i->rm), o->size = 8;
            else if (ki->size == SZ_B)
                o->reg = gpr((unsigned)gpr8_number(i->rm), 1);
            else
                o->reg = gpr(i->rm, ki->size == SZ_WV ? (osz ? 4 : 2) : size);
            if (ki->size == SZ_WV)
                o->size = (uint8_t)(osz ? 4 : 2);
            break;
        case SRC_REG:
            o->kind = DIS_OP_REG;
            if (kind == OPK_Sw)
                o->reg = (uint8_t)(DIS_ES + i->reg);
            else if (kind == OPK_Cd)
                o->reg = (uint8_t)(DIS_CR0 + i->reg);
            else if (kind == OPK_Dd)
                o->reg = (uint8_t)(DIS_DR0 + i->reg);
            else if (kind == OPK_Pq)
                o->reg = (uint8_t)(DIS_MM0 + i->reg);
            else if (ki->size == SZ_B)
                o->reg = gpr((unsigned)gpr8_number(i->reg), 1);
            else
                o->reg = gpr(i->reg, size);
            break;
        case SRC_OPREG:
            o->kind = DIS_OP_REG;
            o->reg = ki->size == SZ_B ? gpr((unsigned)gpr8_number(i->reg), 1) : gpr(i->reg, size);
            break;
        case SRC_IMM: {
            o->kind = DIS_OP_IMM;
            uint32_t v = nimm++ == 0 ? i->imm : i->imm2;
            o->immsize = (uint8_t)(ki->size == SZ_BS ? 1 : size);
            if (ki->size == SZ_BS)
                o->size = (uint8_t)(kind == OPK_Ibs ? (osz ? 4 : 2) : 1);
            o->value = o->size == 4 ? v : v & ((1u << (o->size * 8)) - 1);
            break;
        }
        case SRC_REL:
            o->kind = DIS_OP_REL;
            o->size = (uint8_t)(osz ? 4 : 2);
            o->value = i->imm;
            break;
        case SRC_FAR:
            o->kind = DIS_OP_FAR;
            o->size = (uint8_t)(osz ? 4 : 2);
            o->value = i->imm;
            o->sel = i->imm2;
            break;
        case SRC_MOFFS:
            o->kind = DIS_OP_MEM;
            o->mem.seg = (uint8_t)(DIS_ES + i->seg);
            o->mem.addr32 = (uint8_t)asz;
            o->mem.disp = i->disp;
            o->mem.dispsize = (uint8_t)(asz ? 4 : 2);
            o->mem.size = (uint16_t)size;
            o->size = 0;
            break;
        case SRC_STR:
            o->kind = DIS_OP_MEM;
            o->mem.addr32 = (uint8_t)asz;
            o->mem.size = (uint16_t)size;
            o->size = 0;
            if (kind == OPK_Mxlat) {
                o->mem.seg = (uint8_t)(DIS_ES + i->seg);
                o->mem.base = gpr(R_EBX, asz ? 4 : 2);
                o->mem.index = DIS_AL;
            } else if (kind == OPK_Xb || kind == OPK_Xv) {
                o->mem.string = 1;
                o->mem.seg = (uint8_t)(DIS_ES + i->seg);
                o->mem.base = gpr(R_ESI, asz ? 4 : 2);
            } else {
                o->mem.string = 1;
                o->mem.seg = DIS_ES;
                o->mem.base = gpr(R_EDI, asz ? 4 : 2);
            }
            break;
        case SRC_FIXED:
            o->kind = DIS_OP_REG;
            switch (kind) {
            case OPK_AL:
                o->reg = DIS_AL;
                break;
            case OPK_CL:
                o->reg = DIS_CL;
                break;
            case OPK_AX:
                o->reg = DIS_AX;
                break;
            case OPK_DX:
                o->reg = DIS_DX;
                break;
            case OPK_eAX:
                o->reg = gpr(R_EAX, size);
                break;
            case OPK_ST0:
                o->reg = DIS_ST0;
                break;
            case OPK_I1:
                o->kind = DIS_OP_IMM;
                o->value = 1;
                o->immsize = 0;
                break;
            default: /* segment registers ES..GS, in operands.def order */
                o->reg = (uint8_t)(DIS_ES + (kind - OPK_ES));
                o->size = 2;
                break;
            }
            break;
        default:
            n--;
            break;
        }
    }
    return n;
}

const char *dis_mnemonic(const struct insn *i, char *buf, unsigned len)
{
    return op_mnemonic((enum op_id)i->id, (i->pfx & P_OSIZE32) != 0, (i->pfx & P_ASIZE32) != 0, buf, len);
}

static const char *ptr_name(unsigned size)
{
    switch (size) {
    case 1:
        return "byte ptr ";
    case 2:
        return "word ptr ";
    case 4:
        return "dword ptr ";
    case 6:
        return "fword ptr ";
    case 8:
        return "qword ptr ";
    case 10:
        return "tbyte ptr ";
    default:
        return "";
    }
}

/* Appends with snprintf semantics: *pos keeps counting past the end. */
#define PUT(...)                                                                                                       \
    do {                                                                                                               \
        int w_ = snprintf(buf + (pos < len ? pos : len), pos < len ? len - pos : 0, __VA_ARGS__);                      \
        pos += w_ > 0 ? (unsigned)w_ : 0;                                                                              \
    } while (0)

int dis_format(const struct insn *i, char *buf, unsigned len)
{
    const struct op_info *oi = &op_info[i->id];
    struct dis_operand ops[DIS_MAX_OPERANDS];
    char mn[24];
    unsigned pos = 0;
    int n = dis_operands(i, ops);

    if (len)
        buf[0] = 0;
    if (i->pfx & P_LOCK)
        PUT("lock ");
    if ((oi->attr & A_REP) && (i->pfx & (P_REP | P_REPNE))) {
        int cmp = i->id == OP_CMPSB || i->id == OP_CMPSV || i->id == OP_SCASB || i->id == OP_SCASV;
        PUT("%s ", (i->pfx & P_REPNE) ? "repne" : cmp ? "repe" : "rep");
    }
    PUT("%s", dis_mnemonic(i, mn, sizeof(mn)));
    for (int k = 0; k < n; k++) {
        const struct dis_operand *o = &ops[k];
        PUT("%s", k ? ", " : " ");
        switch (o->kind) {
        case DIS_OP_REG:
            PUT("%s", dis_reg_name(o->reg));
            break;
        case DIS_OP_IMM:
        case DIS_OP_REL:
            PUT("0x%x", o->value);
            break;
        case DIS_OP_FAR:
            PUT("0x%x:0x%x", o->sel, o->value);
            break;
        case DIS_OP_MEM: {
            const struct dis_mem *m = &o->mem;
            int plus = 0;
            PUT("%s", i->id == OP_LEA ? "" : ptr_name(m->size));
            if ((i->pfx & P_SEGOVR) || m->string)
                PUT("%s:", dis_reg_name(m->seg));
            PUT("[");
            if (m->base) {
                PUT("%s", dis_reg_name(m->base));
                plus = 1;
            }
            if (m->index) {
                PUT("%s%s", plus ? "+" : "", dis_reg_name(m->index));
                if (m->scale)
                    PUT("*%d", 1 << m->scale);
                plus = 1;
            }
            if (m->disp || !plus) {
                /* relative to a register a displacement reads as signed; alone, as an address */
                uint32_t d = m->disp, sign = m->addr32 ? 0x80000000u : 0x8000u;
                int neg = plus && (d & sign);
                if (neg)
                    d = (m->addr32 ? 0u : 0x10000u) - d, d &= m->addr32 ? 0xffffffffu : 0xffffu;
                PUT("%s0x%x", plus ? (neg ? "-" : "+") : "", d);
            }
            PUT("]");
            break;
        }
        }
    }
    return (int)pos;
}

int dis_decode_format(const uint8_t *bytes, int avail, int mode32, uint32_t eip, char *buf, unsigned len)
{
    struct insn i;
    int r = decode(bytes, avail, mode32, eip, &i);
    if (r > 0) {
        dis_format(&i, buf, len);
        return r;
    }
    snprintf(buf, len, "%s", r == DEC_TOOLONG ? "(too long)" : r == DEC_MORE ? "(truncated)" : "(bad)");
    return r;
}
