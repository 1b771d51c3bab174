/*
 * Superblocks: a hot block is translated together with the decoded
 * blocks that follow it when its last instruction falls through: past a
 * conditional branch not taken, or past the end the decoder gave it (its
 * length cap, or a page boundary); or when it is a direct JMP, with the
 * block it jumps to. A loop whose body the decoder cut (at an early exit,
 * a bounds check, the end of a page) then runs as one translation, as
 * does an interpreter's dispatch that jumps back to a shared tail: no
 * block entry checks, no registers written back and reloaded, no lazy
 * flags rebuilt, no x87 cache flushed in between. The taken branch
 * becomes a side exit (frontend: lower_jcc), the JMP nothing.
 *
 * The pieces are the interpreter's own decoded blocks, found in the block
 * cache: a fall-through block that was never decoded never ran, and is not
 * worth following. They are copied, back to back, into one struct block
 * (j->super), which the translation treats as its block: EIP and the
 * instruction count of a fault come from it (cpu->blk, cpu->cur), exactly
 * as the interpreter's unwinder reads them. The copy lives in the code
 * arena next to the code, so it goes when the code does.
 *
 * Conditions, so that nothing else needs to know:
 * - the pieces are all on the first block's physical page, none
 *   crossing, or, when the first block's last instruction crosses into
 *   the next page, contiguous after it on that second page (where the
 *   first block is listed too), none crossing again: the first block's
 *   byte range can simply be widened to cover them all (jit.c; for the
 *   target of a JMP backwards, b->lead bytes before it), and a write to
 *   any piece invalidates the first block and unlinks its translation, as
 *   a write to the block itself does. A piece's instructions keep their
 *   distance from the first block's (insn.off, negative before it: EIP
 *   and the physical address move together on one page);
 * - a JMP is followed only to a block not among the pieces yet (a loop
 *   stays a loop, its back edge a branch to the start), not to a block
 *   that is a loop of its own (the JMP enters that loop's translation
 *   rather than peeling an iteration off it), and only from a first
 *   block that does not cross;
 * - each piece was decoded under the same key (EIP follows without a
 *   16-bit wrap, same CS base, limit and mode word);
 * - a piece ends in a Jcc lowered inline (its target within the CS
 *   limit) or in an instruction that is neither a control transfer nor a
 *   fault the decoder left in place (A_END, insn_decoded_normally).
 */
#include <string.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/opcode.h"
#include "jit/jit_int.h"

static bool is_jcc(const struct insn *i)
{
    return (i->id >= OP_JO_Jb && i->id <= OP_JG_Jb) || (i->id >= OP_JO_Jz && i->id <= OP_JG_Jz);
}

static bool is_jmp(const struct insn *i)
{
    return i->id == OP_JMP_Jb || i->id == OP_JMP_Jz;
}

/* Bytes of b's own instructions: b->bytes may have been widened over the
 * parts of an earlier superblock (jit.c). */
static unsigned code_bytes(const struct block *b)
{
    const struct insn *last = &b->insn[b->n - 1];
    return last->off + last->len;
}

/* Where b's code ends in physical memory: on its own page, or on the
 * second page for a block whose last instruction crosses. */
static uint64_t phys_end(const struct block *b)
{
    uint64_t end = b->paddr + code_bytes(b);
    if (!b->crosses)
        return end;
    return b->paddr2 + (end - ((b->paddr | 0xfff) + 1));
}

/* The block b's last instruction, a direct JMP, goes to, if it can be
 * translated with the parts so far (parts->b[0] the first). */
static const struct block *jump_target(struct jit *j, const struct block *b, const struct jit_parts *parts)
{
    const struct block *first = parts->b[0];
    const struct insn *last = &b->insn[b->n - 1];
    uint32_t eip = last->imm, lin = b->cs_base + eip;
    if (first->crosses || !insn_decoded_normally(last) || eip > b->cs_limit || ((lin ^ first->lin) & ~0xfffu))
        return NULL;
    for (unsigned p = 0; p < parts->n; p++)
        if (parts->b[p]->eip == eip)
            return NULL;
    uint64_t pa = (first->paddr & ~0xfffull) | (lin & 0xfff);
    const struct block *n = blkcache_lookup(j->cpu->cache, pa, eip, b->cs_base, b->cs_limit, b->mode);
    if (!n || n->crosses)
        return NULL;
    const struct insn *nl = &n->insn[n->n - 1];
    if (is_jcc(nl) && nl->imm == n->eip)
        return NULL; /* a loop's head: the jump enters its loop translation (with the x87 cache, x64/loop.c) */
    return n;
}

/* The decoded block that runs when b's last instruction falls through (or
 * jumps), if it can be translated with the parts so far. */
static const struct block *fall_through(struct jit *j, const struct block *b, const struct jit_parts *parts)
{
    const struct insn *last = &b->insn[b->n - 1];
    bool first = b == parts->b[0];
    if (is_jmp(last))
        return jump_target(j, b, parts);
    if (is_jcc(last)) {
        if (last->imm > b->cs_limit)
            return NULL;
    } else if ((op_info[last->id].attr & A_END) || !insn_decoded_normally(last)) {
        return NULL;
    }
    if ((b->crosses && !first) || b->eip + code_bytes(b) != b->next_eip) /* a third page; 16-bit EIP wrapped */
        return NULL;
    uint64_t pa = phys_end(b), page = (b->crosses ? b->paddr2 : b->paddr) >> 12;
    if (pa >> 12 != page)
        return NULL;
    const struct block *n = blkcache_lookup(j->cpu->cache, pa, b->next_eip, b->cs_base, b->cs_limit, b->mode);
    if (!n || n->crosses)
        return NULL;
    for (unsigned p = 0; p < parts->n; p++)
        if (parts->b[p] == n)
            return NULL; /* after a JMP back, the fall-through may be the first block */
    return n;
}

const struct block *jit_super_build(struct jit *j, struct block *b, struct jit_parts *parts)
{
    parts->n = 1;
    parts->b[0] = b;
    unsigned max_blocks = j->cfg.max_blocks ? j->cfg.max_blocks : JIT_DEFAULT_BLOCKS;
    if (max_blocks > JIT_MAX_PARTS)
        max_blocks = JIT_MAX_PARTS;
    /* j->super holds JIT_SUPER_INSNS instructions, whatever the caps of
     * decoded (--max-block) and translated (--jit-max-insns) blocks. */
    unsigned total = b->n, cap = JIT_SUPER_INSNS;
    if (j->cfg.max_insns && j->cfg.max_insns < cap)
        cap = j->cfg.max_insns;
    const struct block *cur = b;
    while (parts->n < max_blocks) {
        const struct block *n = fall_through(j, cur, parts);
        if (!n || total + n->n > cap)
            break;
        parts->b[parts->n++] = n;
        total += n->n;
        cur = n;
    }
    if (parts->n == 1)
        return b;
    struct block *s = j->super;
    *s = *b;
    s->n = (uint16_t)total;
    s->native = NULL;
    s->accel = NULL;
    s->hnext = s->pnext = s->pnext2 = NULL;
    unsigned k = 0;
    int32_t at = 0, lo = 0, hi = 0; /* each piece's offset; the range they cover */
    for (unsigned p = 0; p < parts->n; p++) {
        const struct block *pb = parts->b[p];
        if (!b->crosses) /* on b's page: where the piece is (a JMP's target, or contiguous) */
            at = (int32_t)(pb->paddr - b->paddr);
        for (unsigned i = 0; i < pb->n; i++, k++) {
            s->insn[k] = pb->insn[i];
            s->insn[k].off = (int16_t)(at + pb->insn[i].off);
        }
        lo = at < lo ? at : lo;
        at += (int32_t)code_bytes(pb);
        hi = at > hi ? at : hi;
        s->next_eip = pb->next_eip;
    }
    s->bytes = (uint16_t)hi;
    s->lead = (uint16_t)-lo;
    return s;
}

size_t jit_super_size(unsigned n)
{
    return (sizeof(struct block) + n * sizeof(struct insn) + 15) & ~(size_t)15;
}
