/*
 * Comparison of end states and divergence reports (see report.h).
 */
#include "tests/diff/report.h"

#include <string.h>

#include "cpu/opcode.h"

static const char *const gpr_names[8] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI" };
static const char *const sreg_names[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };

const char *vec_name(uint32_t v)
{
    static const char *const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "9", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
        "#MF", "#AC", "#MC", "#XM", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
    };
    if (v < 32)
        return names[v];
    switch (v) {
    case VEC_TIMEOUT: return "timeout";
    case VEC_SHUTDOWN: return "shutdown";
    case VEC_LOST: return "lost";
    default: return "?";
    }
}

static bool has_errcode(uint32_t v)
{
    return v == 8 || (v >= 10 && v <= 13) || v == 17;
}

/* FIP, FCS, FOP, FDP, FDS of the FSAVE area: model-specific (see gen_fpu.c). */
static bool masked_byte(const struct seq *s, uint32_t k)
{
    return s->fpu_off >= 0 && k >= (uint32_t)s->fpu_off + 12 && k < (uint32_t)s->fpu_off + 28;
}

bool cmp_runs(const struct seq *s, const uint32_t *addr, const struct run *nat, const struct run *emu,
              struct cmp *c)
{
    memset(c, 0, sizeof(*c));
    struct seq_flow fl;
    uint32_t undef[SEQ_MAX_ITEMS + 1];
    seq_flow(s, &fl, undef);
    const struct diff_state *a = &nat->fin, *b = &emu->fin;
    c->fault_item = -1;
    for (int k = 0; k <= s->n; k++) {
        uint32_t at = k == s->n && a->vector == 3 ? addr[k] + 1 : addr[k];
        if (s->code16)
            at -= CODE_ADDR; /* EIP is an offset in the 16-bit code segment */
        if (at == a->eip) {
            c->fault_item = k;
            break;
        }
    }
    uint32_t undef_here = c->fault_item >= 0 ? undef[c->fault_item] : fl.undef_end;
    c->flag_mask = CMP_EFLAGS & ~undef_here;
    for (int r = 0; r < 8; r++)
        if (a->gpr[r] != b->gpr[r])
            c->gpr_diff |= 1u << r;
    for (int r = 0; r < 6; r++)
        if (a->sreg[r] != b->sreg[r])
            c->sreg_diff |= 1u << r;
    c->eflags_diff = ((a->eflags ^ b->eflags) & c->flag_mask) != 0;
    c->vec_diff = a->vector != b->vector;
    c->eip_diff = a->eip != b->eip;
    c->err_diff = !c->vec_diff && has_errcode(a->vector) && a->errcode != b->errcode;
    if (memcmp(nat->data, emu->data, DATA_SIZE) != 0)
        for (uint32_t k = 0; k < DATA_SIZE; k++)
            if (nat->data[k] != emu->data[k] && !masked_byte(s, k))
                c->data_diffs++;
    return !c->gpr_diff && !c->sreg_diff && !c->eflags_diff && !c->vec_diff && !c->eip_diff && !c->err_diff &&
           !c->data_diffs;
}

bool report_open(csh *cs, int mode16)
{
    return cs_open(CS_ARCH_X86, mode16 ? CS_MODE_16 : CS_MODE_32, cs) == CS_ERR_OK;
}

void print_seq(FILE *f, csh cs, const struct seq *s, const uint8_t *code, const uint32_t *addr, int mark)
{
    for (int k = 0; k <= s->n; k++) {
        uint32_t a = addr[k], len = k < s->n ? (uint32_t)seq_item_size(&s->it[k]) : 1;
        if (k < s->n && s->it[k].kind == IK_GAP) {
            fprintf(f, "    %08x  (%u bytes of int3: the code continues across a page)\n", a, len);
            continue;
        }
        const uint8_t *p = code + (a - CODE_ADDR);
        char hex[64] = "";
        for (uint32_t j = 0; j < len && j < 15; j++)
            snprintf(hex + 3 * j, sizeof(hex) - 3 * j, "%02x ", p[j]);
        cs_insn *insn = NULL;
        size_t n = cs_disasm(cs, p, len, s->code16 ? a - CODE_ADDR : a, 1, &insn);
        char text[224];
        if (n == 1)
            snprintf(text, sizeof(text), "%s %s", insn->mnemonic, insn->op_str);
        else
            snprintf(text, sizeof(text), "(capstone cannot decode)");
        if (n)
            cs_free(insn, n);
        const char *tag = k == s->n ? "end" : s->it[k].setup ? "." : "";
        int depth = k < s->n ? s->it[k].depth : 0;
        fprintf(f, "  %c %08x  %-33s %-3s%*s%s", k == mark ? '>' : ' ', a, hex, tag, 2 * depth, "", text);
        if (k < s->n && s->it[k].op && !s->it[k].setup)
            fprintf(f, "    [%s]", op_info[s->it[k].op].name);
        fputc('\n', f);
    }
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* The FSAVE image at the FPU area, one line per side. */
static void print_fpu(FILE *f, const char *who, const uint8_t *p)
{
    uint16_t sw = rd16(p + 4);
    fprintf(f, "    %-8s cw %04x sw %04x (top %d c3210 %d%d%d%d flags %02x) tw %04x\n", who, rd16(p), sw,
            (sw >> 11) & 7, (sw >> 14) & 1, (sw >> 10) & 1, (sw >> 9) & 1, (sw >> 8) & 1, sw & 0xff, rd16(p + 8));
    fprintf(f, "             ");
    for (int i = 0; i < 8; i++) {
        const uint8_t *r = p + 28 + 10 * i;
        uint64_t m;
        memcpy(&m, r, 8);
        fprintf(f, " st%d=%04x:%016llx%s", i, rd16(r + 8), (unsigned long long)m, i == 3 ? "\n             " : "");
    }
    fputc('\n', f);
}

void print_states(FILE *f, const struct seq *s, const struct run *nat, const struct run *emu, const struct cmp *c)
{
    const struct diff_state *i = &s->init, *a = &nat->fin, *b = &emu->fin;
    fprintf(f, "  %-8s %-12s %-12s %-12s\n", "", "initial", "native", "kestrel");
    for (int r = 0; r < 8; r++)
        fprintf(f, "  %-8s %08x     %08x     %08x%s\n", gpr_names[r], i->gpr[r], a->gpr[r], b->gpr[r],
                (c->gpr_diff >> r) & 1 ? "     <<" : "");
    fprintf(f, "  %-8s %08x     %08x     %08x%s", "EFLAGS", i->eflags, a->eflags, b->eflags,
            c->eflags_diff ? "     <<" : "");
    if (c->eflags_diff)
        fprintf(f, " bits %08x differ", (a->eflags ^ b->eflags) & c->flag_mask);
    if ((~c->flag_mask & F_OSZAPC))
        fprintf(f, " (undefined, not compared: %03x)", ~c->flag_mask & F_OSZAPC);
    fputc('\n', f);
    fprintf(f, "  %-8s %-12s %-12s %-12s%s\n", "end", "", vec_name(a->vector), vec_name(b->vector),
            c->vec_diff ? " <<" : "");
    fprintf(f, "  %-8s %-12s %08x     %08x%s\n", "EIP", "", a->eip, b->eip, c->eip_diff ? "     <<" : "");
    if (has_errcode(a->vector) || has_errcode(b->vector))
        fprintf(f, "  %-8s %-12s %08x     %08x%s\n", "errcode", "", a->errcode, b->errcode,
                c->err_diff ? "     <<" : "");
    for (int r = 0; r < 6; r++)
        if ((c->sreg_diff >> r) & 1)
            fprintf(f, "  %-8s %-12s %04x         %04x         <<\n", sreg_names[r], "", a->sreg[r], b->sreg[r]);
    if (s->fpu_off >= 0) {
        fprintf(f, "  x87 state (FSAVE area at +%04x):\n", s->fpu_off);
        print_fpu(f, "initial", s->data + s->fpu_off);
        print_fpu(f, "native", nat->data + s->fpu_off);
        print_fpu(f, "kestrel", emu->data + s->fpu_off);
    }
    if (c->data_diffs) {
        fprintf(f, "  data area: %d bytes differ (offset: initial native kestrel)\n", c->data_diffs);
        int shown = 0;
        for (uint32_t k = 0; k < DATA_SIZE && shown < 24; k++) {
            if (nat->data[k] == emu->data[k] || masked_byte(s, k))
                continue;
            fprintf(f, "    +%04x (%08x): %02x %02x %02x\n", k, DATA_ADDR + k, s->data[k], nat->data[k], emu->data[k]);
            shown++;
        }
    }
}

int check_encoding(csh cs, const struct seq *s, const uint8_t *code, const uint32_t *addr)
{
    for (int k = 0; k < s->n; k++) {
        uint32_t len = (uint32_t)seq_item_size(&s->it[k]);
        if (s->it[k].kind == IK_GAP || s->it[k].invalid)
            continue;
        cs_insn *insn = NULL;
        size_t n = cs_disasm(cs, code + (addr[k] - CODE_ADDR), len, addr[k], 1, &insn);
        bool ok = n == 1 && insn->size == len;
        if (n)
            cs_free(insn, n);
        if (!ok)
            return k;
    }
    return -1;
}
