/*
 * Inline caches: an exit whose target is not a patched jump (an indirect
 * JMP or CALL, a RET the return stack missed, a direct jump to another
 * page) looks its target up in a small table of its own before the jump
 * cache. A hit is one compare and an indirect jump from the exit's own
 * site, which the host predicts as it would the guest's jump natively;
 * the jump-cache lookup behind it is three dependent loads and seven
 * compares (and for jumps to another page one routine, whose single
 * indirect jump served them all).
 *
 * A table has 2^bits entries: keys[2^bits] then targets[2^bits], both
 * 64-bit. The key is gen << 32 | guest EIP, gen being cpu->lin_gen, or
 * cpu->jmp_gen for an exit in a global page (below); the target, the
 * host address of the block's chained entry. An indirect exit hashes the
 * EIP to pick a pair of entries (bits 4 for JMP and CALL, 2 for a RET)
 * and tries both, each with its own jump; a direct one has a single
 * entry, whose EIP is its own, so it compares the generation alone.
 *
 * Why a hit is sound
 * - An entry is filled from a jump-cache hit (common.c, the ic_miss
 *   routines), which checked the block's linear address, EIP, mode and
 *   jump generation, at generation G. While lin_gen is still G, no linear
 *   address names other code: jump-cache flushes (TLB flushes, INVLPG of
 *   a page the jump cache may hold, CS limit changes) and CR3 loads bump
 *   it (cpu.h). The mode and CS base need no generation: they are the
 *   site's block's own (nothing inside a block changes them; a block only
 *   runs under its own), so a site sees the same ones at every lookup and
 *   its EIPs name the same linear addresses. Hence not ctx_gen, which
 *   every system call and interrupt bumps (a CPL change).
 * - A table keyed by jmp_gen (an exit whose page was global when it was
 *   translated: the kernel's code, typically) holds global targets only:
 *   blocks whose page was global (PTE.G, CR4.PGE) when they entered the
 *   jump cache. A CR3 load keeps global translations, in the TLB and in
 *   the jump cache (cpu/blkcache.c), and bumps no jmp_gen; whatever could
 *   drop one (INVLPG of the page, a TLB flush, CR4.PGE cleared, a CR3
 *   load whose log of the jump cache's other entries overflowed) is a
 *   jump-cache flush, which bumps jmp_gen. So the kernel's tables survive
 *   context switches, which empty the lin_gen ones.
 * - A block dropped for self-modifying code keeps its host code until the
 *   arena is reset, but its chained entry is overwritten (be_kill_entry)
 *   to leave for the run loop with cpu->eip its EIP: a table entry still
 *   pointing there leaves the excursion instead of running stale code.
 * - A block that crosses a page checks at its chained entry that the jump
 *   cache still holds it, as for a patched jump.
 * - Tables live at the top of the code arena and go with it; a wrap of
 *   lin_gen or jmp_gen (2^32 bumps) flushes the arena (jit.c), so an old
 *   key never matches again.
 * - An empty entry's key is ~0 and its target the table's miss routine,
 *   so even a key that matched it by accident only takes the miss path.
 *
 * Co-simulation (every block returns to the loop) and --jit-no-ic turn
 * the tables off.
 */
#include <stddef.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "jit/x64/x64.h"

#define IC_HASH 0x9e3779b1u /* Fibonacci hashing: the top bits of EIP * 2^32/phi */

_Static_assert(X64_IC_KINDS == sizeof(((struct jit_common *)0)->ic_miss) / sizeof(uint8_t *),
               "a miss routine per table kind");

/* The generation a table of kind `kind` is keyed by. */
static int32_t gen_off(int kind)
{
    return kind > X64_IC_MAX_BITS ? (int32_t)offsetof(struct cpu, jmp_gen) : (int32_t)offsetof(struct cpu, lin_gen);
}

bool x64_ic_on(const struct jit *j)
{
    return !j->cfg.cosim && !j->cfg.no_ic;
}

/* A table of kind `kind` (2^bits entries) at the top of the arena's free
 * part, filled empty, or NULL when the block's code has no room left
 * below it. */
static uint8_t *table_alloc(struct be_ctx *x, int bits, int kind)
{
    unsigned n = 1u << bits;
    uintptr_t align = bits ? 64 : 16;
    uintptr_t top = (uintptr_t)x->data_end;
    uintptr_t t = (top - 16 * n) & ~(align - 1);
    if (top < 16 * n || t < (uintptr_t)x->buf.p + 256) {
        x->buf.overflow = true;
        return NULL;
    }
    uint64_t *w = (uint64_t *)t;
    for (unsigned k = 0; k < n; k++) {
        w[k] = ~(uint64_t)0;
        w[n + k] = (uint64_t)(uintptr_t)x->j->common.ic_miss[kind];
    }
    x->data_end = (uint8_t *)t;
    x->buf.end = (uint8_t *)t;
    return (uint8_t *)t;
}

/* EDX = the entry for the EIP in EAX (bits > 0). */
static void slot_edx(struct xbuf *b, int bits)
{
    x_imul_rri(b, 0, RDX, RAX, (int32_t)IC_HASH);
    x_shift_ri(b, SH_SHR, 0, RDX, 32 - bits);
}

void x64_emit_ic(struct be_ctx *x, int bits)
{
    struct xbuf *b = &x->buf;
    struct jit *j = x->j;
    /* An exit in a global page mostly goes to global pages (the kernel's
     * code): keyed by jmp_gen, its table outlives CR3 loads */
    int kind = x64_ic_kind(bits, x->tb->b->jmp_global);
    uint8_t *t = table_alloc(x, bits, kind);
    int32_t targets = 8 << bits;
    if (j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&j->stats.jit_ic_lookups);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
    }
    x_load(b, 0, R11, RBP, NOREG, 0, gen_off(kind), 4, false);
    if (bits) {
        x_shift_ri(b, SH_SHL, 1, R11, 32);
        x_alu_rr(b, ALU_OR, 1, R11, RAX);
        slot_edx(b, bits);
        x_lea_rip(b, R8, t);
        x_rm(b, 0x3b, 1, R11, R8, RDX, 3, 0); /* cmp r11, [r8 + rdx*8] */
        uint8_t *other = x_jcc32(b, CC_NE);
        x_rm(b, 0xff, 0, 4, R8, RDX, 3, targets); /* jmp [r8 + rdx*8 + targets] */
        if (!b->overflow)
            x_patch32(other, b->p);
        x_alu_ri(b, ALU_XOR, 0, RDX, 1); /* the other entry of the pair */
        x_rm(b, 0x3b, 1, R11, R8, RDX, 3, 0);
        x_jcc_to(b, CC_NE, j->common.ic_miss[kind]);
        x_rm(b, 0xff, 0, 4, R8, RDX, 3, targets);
    } else {
        x_lea_rip(b, R8, t);
        x_rm(b, 0x3b, 0, R11, R8, NOREG, 0, 4); /* cmp r11d, [r8 + 4]: the key's generation */
        x_jcc_to(b, CC_NE, j->common.ic_miss[kind]);
        x_rm(b, 0xff, 0, 4, R8, NOREG, 0, targets);
    }
}

/* Where an exit's table missed (EAX = EIP, R8 = the table): the jump
 * cache, and on a hit the entry filled before the jump. */
void x64_ic_miss_routine(struct jit *j, struct xbuf *b, int kind)
{
    j->common.ic_miss[kind] = b->p;
    if (j->cfg.stats) {
        x_mov_ri(b, 1, R11, (int64_t)(uintptr_t)&j->stats.jit_ic_misses);
        x_alu_mi(b, ALU_ADD, 1, R11, 0, 1);
    }
    x_mov_rr(b, 1, RSI, R8); /* the dispatch keeps RSI */
    x64_emit_dispatch(j, b, NULL, kind);
}

/* The dispatch's hit, R11 = the chained entry, R8 = its block, RSI = the
 * table: fill the EIP's entry, then go. Its hash's entry unless that one
 * holds a key of this generation (another EIP's), then the other of the
 * pair: two EIPs whose hashes collide take turns no more. A table keyed
 * by jmp_gen takes global targets only (a CR3 load keeps just those). */
void x64_ic_fill(struct xbuf *b, int kind)
{
    int bits = kind % (X64_IC_MAX_BITS + 1);
    uint8_t *skip = NULL;
    if (kind > X64_IC_MAX_BITS) {
        x_rm(b, 0x80, 0, 7, R8, NOREG, 0, (int32_t)offsetof(struct block, jmp_global)); /* cmp byte [r8 + ...], 0 */
        xb(b, 0);
        skip = x_jcc32(b, CC_E);
    }
    x_load(b, 0, RCX, RBP, NOREG, 0, gen_off(kind), 4, false);
    if (bits) {
        slot_edx(b, bits);
        x_rm(b, 0x3b, 0, RCX, RSI, RDX, 3, 4); /* cmp ecx, [rsi + rdx*8 + 4]: the key's generation */
        uint8_t *own = x_jcc32(b, CC_NE);
        x_alu_ri(b, ALU_XOR, 0, RDX, 1);
        if (!b->overflow)
            x_patch32(own, b->p);
    } else {
        x_alu_rr(b, ALU_XOR, 0, RDX, RDX);
    }
    x_store(b, R11, RSI, RDX, 3, 8 << bits, 8);
    x_shift_ri(b, SH_SHL, 1, RCX, 32);
    x_alu_rr(b, ALU_OR, 1, RCX, RAX);
    x_store(b, RCX, RSI, RDX, 3, 0, 8);
    if (skip && !b->overflow)
        x_patch32(skip, b->p);
}

void be_kill_entry(struct jit *j, struct jit_tb *tb)
{
    /* mov dword [rbp + eip], tb's EIP; jmp epilogue: 15 bytes over the
     * chained entry's event check and budget load (be_begin), which
     * nothing jumps into the middle of. */
    struct xbuf bb = { .p = tb->code + X64_ENTRY_SIZE, .end = tb->code + X64_ENTRY_SIZE + 15 }, *b = &bb;
    x_store_i(b, (int32_t)tb->b->eip, RBP, (int32_t)offsetof(struct cpu, eip), 4);
    x_jmp_to(b, j->common.epilogue);
}
