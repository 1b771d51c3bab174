/*
 * The cold side of x87 memory operands that span two pages (x87.c's
 * cross_probe and cross_store_back emit the main path's side): both
 * pages looked up in the TLB and the operand copied between them and the
 * frame's bounce buffer (X64_BOUNCE), which the host instruction reads
 * or writes instead. No x87 instruction runs here, so the register cache
 * and the host's status word stay as they are.
 */
#include <stddef.h>

#include "cpu/cpu.h"
#include "mmu/mmu.h"
#include "jit/x64/x87_int.h"

/* dst = the host address of linear address `at` (a register; its page in
 * the TLB). */
static void host_addr(struct be_ctx *x, int dst, int at)
{
    struct xbuf *b = &x->buf;
    x_mov_rr(b, 0, dst, at);
    x_shift_ri(b, SH_SHR, 0, dst, 12 - 5);
    x_alu_ri(b, ALU_AND, 0, dst, (TLB_SIZE - 1) << 5);
    x_load(b, 1, dst, RBP, dst, 0, x64_tlb_base(x) + (int32_t)offsetof(struct tlb_entry, addend), 8, false);
    x_alu_rr(b, ALU_ADD, 1, dst, at);
}

/* p1 = host address of the operand's first byte, p2 = of its second
 * page (TLB entries known to be there). Clobbers both and `t`. */
static void cross_pages(struct be_ctx *x, int lin, int p1, int p2, int t, int size)
{
    x_lea(&x->buf, 0, t, lin, NOREG, 0, size - 1);
    x_alu_ri(&x->buf, ALU_AND, 0, t, (int32_t)0xfffff000u); /* the second page */
    host_addr(x, p2, t);
    host_addr(x, p1, lin);
}

/* Byte k between the bounce buffer and [page + k], R11 carrying it. */
static void copy_byte(struct xbuf *b, int page, int k, bool out)
{
    if (out) {
        x_load(b, 0, R11, X64_FP, k, 0, X64_FO(X64_BOUNCE), 1, false);
        x_store(b, R11, page, k, 0, 0, 1);
    } else {
        x_load(b, 0, R11, page, k, 0, 0, 1, false);
        x_store(b, R11, X64_FP, k, 0, X64_FO(X64_BOUNCE), 1);
    }
}

/* Copy between the bounce buffer and the pages at p1 (up to the page
 * end) and p2 (the rest): k counts bytes. */
static void cross_copy(struct xbuf *b, int lin, int p1, int p2, int k, int size, bool out)
{
    x_alu_rr(b, ALU_XOR, 0, k, k);
    uint8_t *first = b->p;
    copy_byte(b, p1, k, out);
    x_alu_ri(b, ALU_ADD, 0, k, 1);
    x_lea(b, 0, R11, lin, k, 0, 0);
    x_test_ri(b, 0, R11, 0xfff);
    x_jcc_to(b, CC_NE, first);
    x_alu_rr(b, ALU_SUB, 1, p2, k); /* p2 - k + k addresses the second page's first byte */
    uint8_t *second = b->p;
    copy_byte(b, p2, k, out);
    x_alu_ri(b, ALU_ADD, 0, k, 1);
    x_alu_ri(b, ALU_CMP, 0, k, size);
    x_jcc_to(b, CC_B, second);
}

void x64_emit_cold_x87_cross(struct be_ctx *x, const struct cold *c, struct cold *handler)
{
    struct xbuf *b = &x->buf;
    int lin = c->lin, p1 = c->out, p2 = c->val, t = c->aux, size = c->size;
    bool write = c->flags;
    int32_t tag = x64_tlb_base(x) +
                  (int32_t)(write ? offsetof(struct tlb_entry, tag_w) : offsetof(struct tlb_entry, tag_r));
    uint8_t *fail[4];
    x_lea(b, 1, R11, lin, NOREG, 0, size - 1); /* past 4 GiB: the handler's */
    x_shift_ri(b, SH_SHR, 1, R11, 32);
    fail[0] = x_jcc32(b, CC_NE);
    x_mov_rr(b, 0, R11, lin);
    x_alu_ri(b, ALU_AND, 0, R11, 0xfff);
    x_alu_ri(b, ALU_CMP, 0, R11, 0x1000 - size);
    fail[1] = x_jcc32(b, CC_BE); /* within one page: a TLB miss */
    for (int k = 0; k < 2; k++) { /* both pages in the TLB */
        if (k == 0)
            x_mov_rr(b, 0, R11, lin);
        else
            x_lea(b, 0, R11, lin, NOREG, 0, size - 1);
        x_alu_ri(b, ALU_AND, 0, R11, (int32_t)0xfffff000u);
        x_mov_rr(b, 0, t, R11);
        x_shift_ri(b, SH_SHR, 0, t, 12 - 5);
        x_alu_ri(b, ALU_AND, 0, t, (TLB_SIZE - 1) << 5);
        x_rm(b, (unsigned)(ALU_CMP << 3 | 3), 1, R11, RBP, t, 0, tag);
        fail[2 + k] = x_jcc32(b, CC_NE);
    }
    if (!write) {
        cross_pages(x, lin, p1, p2, t, size);
        cross_copy(b, lin, p1, p2, t, size, false);
    }
    x_lea(b, 1, p1, X64_FP, NOREG, 0, X64_FO(X64_BOUNCE)); /* [p1 + lin] is the buffer */
    x_alu_rr(b, ALU_SUB, 1, p1, lin);
    x_jmp_to(b, c->resume);
    uint8_t *at = b->p;
    for (int k = 0; k < 4; k++)
        x_patch32(fail[k], at);
    handler->site = x_jmp32(b);
}

void x64_emit_cold_x87_cross_st(struct be_ctx *x, const struct cold *c)
{
    /* Both pages' write entries were checked by the first stub, and
     * nothing has run since that could change the TLB. */
    cross_pages(x, c->lin, c->out, c->val, c->aux, c->size);
    cross_copy(&x->buf, c->lin, c->out, c->val, c->aux, c->size, true);
    x_jmp_to(&x->buf, c->resume);
}
