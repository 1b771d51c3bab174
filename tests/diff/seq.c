/*
 * Sequence assembly, flag dataflow and editing (see seq.h).
 */
#include "tests/diff/seq.h"

#include <string.h>

#include "cpu/opcode.h"

int seq_item_size(const struct item *it)
{
    switch (it->kind) {
    case IK_REL8: return it->len + 1;
    case IK_REL32:
    case IK_ABS32: return it->len + 4;
    case IK_FAR32: return it->len + 6;
    case IK_REL16: return it->len + 2;
    case IK_FAR16: return it->len + 4;
    case IK_GAP: return it->b[0] | it->b[1] << 8;
    default: return it->len;
    }
}

int seq_assemble(const struct seq *s, uint8_t *code, uint32_t cap, uint32_t *addr)
{
    uint32_t a[SEQ_MAX_ITEMS + 1];
    uint32_t pos = 0;
    for (int k = 0; k < s->n; k++) {
        a[k] = CODE_ADDR + pos;
        pos += (uint32_t)seq_item_size(&s->it[k]);
    }
    a[s->n] = CODE_ADDR + pos;
    if (pos + 1 > cap)
        return -1;
    for (int k = 0; k < s->n; k++) {
        const struct item *it = &s->it[k];
        uint8_t *p = code + (a[k] - CODE_ADDR);
        if (it->kind == IK_GAP) {
            memset(p, 0xcc, (size_t)seq_item_size(it));
            continue;
        }
        memcpy(p, it->b, it->len);
        p += it->len;
        uint32_t next = a[k] + (uint32_t)seq_item_size(it);
        uint32_t dest = (it->target >= 0 && it->target <= s->n) ? a[it->target] : next;
        int32_t rel = (int32_t)(dest - next);
        switch (it->kind) {
        case IK_REL8:
            if (rel < -128 || rel > 127)
                return -1;
            *p = (uint8_t)rel;
            break;
        case IK_REL32: memcpy(p, &rel, 4); break;
        case IK_ABS32:
            dest += (uint32_t)(int32_t)it->tofs;
            if (it->cs_rel && s->code16)
                dest -= CODE_ADDR;
            memcpy(p, &dest, 4);
            break;
        case IK_FAR32:
            memcpy(p, &dest, 4);
            memcpy(p + 4, &it->farsel, 2);
            break;
        case IK_REL16:
            if (rel < -32768 || rel > 32767)
                return -1;
            memcpy(p, &rel, 2);
            break;
        case IK_FAR16: {
            uint16_t o16 = (uint16_t)(dest - CODE_ADDR);
            memcpy(p, &o16, 2);
            memcpy(p + 2, &it->farsel, 2);
            break;
        }
        default: break;
        }
    }
    code[pos] = 0xcc;
    if (addr)
        memcpy(addr, a, sizeof(a[0]) * (size_t)(s->n + 1));
    return (int)pos + 1;
}

void seq_flow(const struct seq *s, struct seq_flow *f, uint32_t *undef_in)
{
    /* in[k]: flags that may be undefined on entry to item k; reach[k]: k is
     * reachable. Monotone over a finite lattice, so the loop terminates. */
    uint32_t in[SEQ_MAX_ITEMS + 1];
    uint8_t reach[SEQ_MAX_ITEMS + 1];
    memset(in, 0, sizeof(in));
    memset(reach, 0, sizeof(reach));
    reach[0] = 1;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int k = 0; k < s->n; k++) {
            if (!reach[k])
                continue;
            const struct item *it = &s->it[k];
            uint32_t out = (in[k] & ~it->fwrite) | it->fundef;
            int succ[2], ns = 0;
            if (it->flow != FL_JUMP)
                succ[ns++] = k + 1;
            if (it->flow != FL_NEXT && it->target >= 0 && it->target <= s->n)
                succ[ns++] = it->target;
            for (int j = 0; j < ns; j++) {
                int t = succ[j];
                if (!reach[t] || (in[t] | out) != in[t]) {
                    reach[t] = 1;
                    in[t] |= out;
                    changed = true;
                }
            }
        }
    }
    f->undef_end = in[s->n] & F_OSZAPC;
    if (undef_in)
        for (int k = 0; k <= s->n; k++)
            undef_in[k] = in[k] & F_OSZAPC;
    f->bad_read = -1;
    for (int k = 0; k < s->n; k++) {
        if (reach[k] && (in[k] & s->it[k].fread & F_OSZAPC)) {
            f->bad_read = k;
            break;
        }
    }
}

void seq_remove(struct seq *s, int first, int count)
{
    if (count <= 0)
        return;
    for (int k = 0; k < s->n; k++) {
        int16_t *t = &s->it[k].target;
        if (*t < 0)
            continue;
        if (*t >= first + count)
            *t = (int16_t)(*t - count);
        else if (*t >= first)
            *t = (int16_t)first;
    }
    memmove(&s->it[first], &s->it[first + count], sizeof(s->it[0]) * (size_t)(s->n - first - count));
    s->n -= count;
}

void seq_remove_group(struct seq *s, uint16_t group)
{
    for (int k = s->n - 1; k >= 0; k--)
        if (s->it[k].group == group)
            seq_remove(s, k, 1);
}
