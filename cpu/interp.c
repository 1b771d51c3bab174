/*
 * The interpreter's run loop.
 *
 * cpu_exec() repeatedly: serves pending interrupts, finds the decoded block
 * for CS:EIP (jump cache by linear PC, then the physical-address hash,
 * else decodes a new one) and runs its instructions, each a call to the
 * handler the decoder chose. Handlers never decode and never touch EIP
 * except to branch:
 *
 *   - On entry to a block, EIP is set to the address after the block, the
 *     fall-through. A branch (always the last instruction) overwrites it.
 *   - cpu_stop() asks to leave after the current instruction (self-modifying
 *     code, mode changes, interrupt requests) by pulling in blk_end, the
 *     pointer the loop compares against; EIP is then the next
 *     instruction's, block->eip + next->off.
 *   - A fault longjmps back here; EIP is recovered as block->eip + cur->off,
 *     so handlers must not commit architectural state before they can no
 *     longer fault.
 *
 * Between blocks one load of cpu->events (plus TF, the physical map's
 * generation and the budget) decides whether anything needs attention;
 * only then does the slow path look at interrupts, halts, the interrupt
 * shadow (STI, MOV SS), single-stepping and breakpoints.
 *
 * The jump cache maps a linear PC to a block. Invalidating translations
 * (TLB flush, INVLPG, a CS limit change) bumps cpu->jmp_gen, and a hit
 * counts only for a block stamped with the current generation: the whole
 * jump cache is invalidated in O(1). Keeping an entry until software
 * invalidates its translation is what a hardware TLB does too, and like
 * the TLB a CR3 load keeps the entries of global pages: only the slots
 * logged for non-global ones are cleared (blkcache_jmp_cr3), so the
 * kernel's blocks stay found across a context switch.
 */
#include <limits.h>

#include "cpu/accel.h"
#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/except.h"
#include "cpu/flags.h"
#include "cpu/mem.h"
#include "cpu/sysregs.h"
#include "cpu/trace.h"

static void op_ud(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_fault(c, EXC_UD, NO_ERRCODE);
}

static void op_gp0(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_fault(c, EXC_GP, 0);
}

static void op_unimpl(struct cpu *c, const struct insn *i)
{
    if (c->log_mask & LOG_UNIMPL)
        cpu_logf(c, "unimplemented: %s at %04x:%08x", op_info[i->id].name, c->seg[SEG_CS].sel,
                 (uint32_t)(c->blk->eip + i->off));
    cpu_fault(c, EXC_UD, NO_ERRCODE);
}

/* Decode one instruction into `i` at `off` in a block; turns decoder
 * failures and CS-limit violations into an instruction that faults when it
 * runs, so the fault is raised with a precise EIP. Returns its length or
 * DEC_MORE. */
static int decode_one(struct cpu *c, const uint8_t *bytes, int avail, uint32_t eip, struct insn *i)
{
    int mode32 = (c->mode & MODE_CS32) != 0;
    int len = decode(bytes, avail, mode32, eip, i);
    if (len == DEC_MORE)
        return len;
    if (len < 0) {
        insn_fn *fn = len == DEC_TOOLONG ? op_gp0 : op_ud;
        memset(i, 0, sizeof(*i));
        i->fn = fn;
        len = 1;
    } else if (!i->fn) {
        i->fn = op_unimpl;
    }
    i->len = (uint8_t)len;
    uint32_t last = eip + (uint32_t)len - 1;
    if (!mode32)
        last &= 0xffffffffu;
    if (last > c->seg[SEG_CS].limit || last < eip)
        i->fn = op_gp0;
    return len;
}

static inline __attribute__((always_inline)) void run_block(struct cpu *c, const struct block *b, unsigned limit)
{
    const struct insn *i = b->insn, *last = b->insn + b->n;
    if (c->log_mask & LOG_EXEC)
        trace_block_exec(c, b);
    c->blk = b;
    c->blk_end = b->n < limit ? last : b->insn + limit;
    c->eip = b->next_eip;
    do {
        c->cur = i;
        i->fn(c, i);
    } while (++i < c->blk_end);
    if (i != last)
        c->eip = b->eip + i->off;
    c->icount += (uint64_t)(i - b->insn);
    c->blk = NULL;
}

void cpu_run_block(struct cpu *c, const struct block *b, unsigned limit)
{
    run_block(c, b, limit);
}

static void run_uncached(struct cpu *c, uint32_t eip, uint32_t lin, const uint8_t *page, uint64_t paddr)
{
    uint8_t buf[16];
    unsigned o = lin & 0xfff, have = 0x1000 - o;
    if (have > 15)
        have = 15;
    for (unsigned k = 0; k < have; k++)
        buf[k] = page ? page[o + k] : (uint8_t)phys_read(c->mem, paddr + o + k, 1);
    struct block *b = c->scratch;
    int len = decode_one(c, buf, (int)have, eip, &b->insn[0]);
    if (len == DEC_MORE) {
        uint64_t pa2;
        uint32_t lin2 = (lin & ~0xfffu) + 0x1000;
        const uint8_t *p2 = mem_fetch_page(c, lin2, &pa2);
        for (unsigned k = have; k < 15; k++)
            buf[k] = p2 ? p2[k - have] : (uint8_t)phys_read(c->mem, pa2 + (k - have), 1);
        len = decode_one(c, buf, 15, eip, &b->insn[0]);
    }
    b->eip = eip;
    b->n = 1;
    b->insn[0].off = 0;
    b->next_eip = eip + (uint32_t)len;
    if (!(c->mode & MODE_CS32))
        b->next_eip &= 0xffff;
    b->lin = lin;
    c->stats.uncached_insns++;
    run_block(c, b, 1);
}

/* Decode a new block starting at CS:EIP, whose page is `page`. */
/*
 * The instruction at page offset o that runs past the page end, decoded
 * with the next linear page's bytes when that page is in the TLB (for
 * execution) on another physical page; 0 when not (interp.c then runs it
 * uncached, which fetches, and faults, as the CPU would). Looking only at
 * the TLB keeps block building free of page walks and faults: a block
 * must not fault before its instructions run.
 */
static const struct tlb_entry *next_page_entry(const struct cpu *c, uint32_t lin, uint64_t paddr, uint64_t *pa2)
{
    int mode = c->cpl == 3 ? MMU_USER : MMU_SUP;
    uint32_t lin2 = (lin & ~0xfffu) + 0x1000;
    unsigned idx = (lin2 >> 12) & (TLB_SIZE - 1);
    const struct tlb_entry *e = &c->mmu.tlb[mode][idx];
    if (e->tag_x != lin2 || lin2 == 0)
        return NULL;
    *pa2 = c->mmu.phys[mode][idx] & ~0xfffull;
    if (*pa2 == (paddr & ~0xfffull))
        return NULL; /* one physical page twice: its block list could not hold the block twice */
    return e;
}

static int decode_crossing(struct cpu *c, struct block *b, uint32_t lin, unsigned o, const uint8_t *page,
                           uint64_t paddr, uint32_t eip, struct insn *i)
{
    uint64_t pa2;
    uint32_t lin2 = (lin & ~0xfffu) + 0x1000;
    const struct tlb_entry *e = next_page_entry(c, lin, paddr, &pa2);
    if (!e || (!(c->mode & MODE_CS32) && eip + 15 > 0xffff))
        return 0;
    uint8_t buf[15];
    unsigned have = 0x1000 - o;
    memcpy(buf, page + o, have);
    memcpy(buf + have, (const uint8_t *)(uintptr_t)(e->addend + lin2), sizeof(buf) - have);
    int len = decode_one(c, buf, (int)sizeof(buf), eip, i);
    if (len <= (int)have || i->fn == op_ud || i->fn == op_gp0 || i->fn == op_unimpl)
        return 0; /* faults stay with the uncached path */
    b->crosses = 1;
    b->paddr2 = pa2;
    return len;
}

static struct block *build_block(struct cpu *c, uint32_t eip, uint32_t lin, const uint8_t *page, uint64_t paddr)
{
    unsigned max = (unsigned)c->max_block_insns;
    struct block *b = blkcache_alloc(c->cache, max);
    unsigned o = lin & 0xfff, pos = 0, n = 0;
    bool mode32 = c->mode & MODE_CS32;
    while (n < max) {
        struct insn *i = &b->insn[n];
        int len = decode_one(c, page + o + pos, (int)(0x1000 - o - pos), eip + pos, i);
        if (len == DEC_MORE)
            len = decode_crossing(c, b, lin, o + pos, page, paddr, eip + pos, i);
        if (len <= 0)
            break;
        i->off = (int16_t)pos;
        pos += (unsigned)len;
        n++;
        if ((op_info[i->id].attr & A_END) || i->fn == op_ud || i->fn == op_gp0 || i->fn == op_unimpl)
            break;
        if (o + pos >= 0x1000 || (!mode32 && eip + pos > 0xffff) || b->crosses)
            break;
    }
    if (n == 0)
        return NULL;
    b->eip = eip;
    b->next_eip = mode32 ? eip + pos : ((eip + pos) & 0xffff);
    b->cs_base = (uint32_t)c->seg[SEG_CS].base;
    b->cs_limit = c->seg[SEG_CS].limit;
    b->mode = c->mode;
    b->paddr = (paddr & ~0xfffull) + o;
    b->lin = lin;
    b->n = (uint16_t)n;
    b->bytes = (uint16_t)pos;
    blkcache_insert(c->cache, b);
    if (c->log_mask & LOG_IN_ASM)
        trace_block_built(c, b, page + o);
    c->stats.blocks_built++;
    c->stats.block_insns_built += n;
    return b;
}

/* Find or build the block at CS:EIP and run it (or run one uncached insn). */
/* A jump-cache hit is valid when the block was decoded at this EIP, CS base
 * and mode, and no translation was invalidated since it entered the cache. */
static inline bool jmp_hit(const struct cpu *c, const struct block *b, uint32_t eip, uint32_t lin)
{
    return b && b->lin == lin && b->eip == eip && b->mode == c->mode && b->jmp_gen == c->jmp_gen;
}

/* Jump-cache miss: find or build the block at CS:EIP, or run one uncached
 * instruction (then NULL is returned). */
static __attribute__((noinline)) struct block *find_block(struct cpu *c, uint32_t eip, uint32_t lin)
{
    uint32_t base = (uint32_t)c->seg[SEG_CS].base;
    c->stats.jmp_cache_miss++;
    if (eip > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    uint64_t paddr;
    const uint8_t *page = mem_fetch_page(c, lin, &paddr);
    if (!page) {
        run_uncached(c, eip, lin, NULL, paddr);
        return NULL;
    }
    /* An instruction that crosses a page is cached only when the next page
     * is in the TLB (build_block): when it is the one that failed last
     * time (a hot loop may hold one) and still cannot be, run it at once
     * rather than miss in the hash and fail to build a block again. The
     * generation covers CS limit changes and flushes; if its bytes change
     * so that a block could be built, running it uncached is still right. */
    uint64_t pa2;
    if (lin == c->uncached.lin && eip == c->uncached.eip && c->mode == c->uncached.mode &&
        c->jmp_gen == c->uncached.jmp_gen && paddr == c->uncached.paddr && !next_page_entry(c, lin, paddr, &pa2)) {
        run_uncached(c, eip, lin, page, paddr);
        return NULL;
    }
    /* mem_fetch_page() gives the page's address; blocks are keyed by their first byte's. */
    struct block *b = blkcache_lookup(c->cache, paddr + (lin & 0xfff), eip, base, c->seg[SEG_CS].limit, c->mode);
    if (b && b->crosses && (!next_page_entry(c, lin, paddr, &pa2) || pa2 != b->paddr2)) {
        blkcache_drop(c->cache, b); /* its second page maps elsewhere now, or is not in the TLB to tell */
        b = NULL;
    }
    if (!b) {
        b = build_block(c, eip, lin, page, paddr);
        if (!b) {
            c->uncached.lin = lin;
            c->uncached.eip = eip;
            c->uncached.mode = c->mode;
            c->uncached.jmp_gen = c->jmp_gen;
            c->uncached.paddr = paddr;
            run_uncached(c, eip, lin, page, paddr);
            return NULL;
        }
        if (c->accel && c->accel->threshold == 0)
            c->accel->hot(c->accel->ctx, b);
    }
    /* mem_fetch_page() left the page's translation in this TLB slot; the
     * MMU's large-page span covers it if it came from a large page. */
    int mode = c->cpl == 3 ? MMU_USER : MMU_SUP;
    bool global = c->mmu.global[mode][(lin >> 12) & (TLB_SIZE - 1)] &&
                  (!b->crosses || c->mmu.global[mode][((lin >> 12) + 1) & (TLB_SIZE - 1)]);
    blkcache_jmp_set(c->cache, b, global, (lin & c->mmu.large_mask) == c->mmu.large_base);
    return b;
}

/* Interpreted often enough: offer the block to the accelerator. */
static __attribute__((noinline)) void block_hot(struct cpu *c, struct block *b)
{
    c->accel->hot(c->accel->ctx, b);
}

static inline __attribute__((always_inline)) void step(struct cpu *c, unsigned limit)
{
    uint32_t eip = (uint32_t)c->eip;
    uint32_t lin = (uint32_t)c->seg[SEG_CS].base + eip;
    struct block *b = c->cache->jmp[jmp_hash(lin)];
    if (__builtin_expect(!jmp_hit(c, b, eip, lin), 0)) {
        b = find_block(c, eip, lin);
        if (!b)
            return;
    }
    if (b->native && limit == UINT_MAX) {
        b->native(c);
        lf_canon(c);
        return;
    }
    run_block(c, b, limit);
    if (__builtin_expect(c->accel != NULL, 0) && ++b->hits == c->accel->threshold)
        block_hot(c, b);
}

static void serve_interrupts(struct cpu *c)
{
    if (c->nmi_pending && !c->nmi_blocked) {
        c->nmi_pending = 0;
        c->nmi_blocked = 1;
        c->halted = 0;
        intr_deliver(c, EXC_NMI, INTR_EXTERNAL, NO_ERRCODE);
        return;
    }
    if (c->irq_line && (c->eflags & EFL_IF) && !c->inhibit_irq && c->env.irq_ack) {
        int v = c->env.irq_ack(c->env.ctx);
        c->halted = 0;
        if (v >= 0) {
            c->stats.interrupts++;
            intr_deliver(c, v, INTR_EXTERNAL, NO_ERRCODE);
        }
    }
}

/* A fault unwound to cpu_exec(): make EIP precise, then deliver it. */
static bool on_fault(struct cpu *c)
{
    lf_canon(c); /* translated code's stores (cpu/flags.h) */
    if (c->blk) {
        c->eip = c->blk->eip + c->cur->off;
        c->icount += (uint64_t)(c->cur - c->blk->insn);
        c->blk = NULL;
    }
    c->inhibit_irq = 0;
    /* A delivered fault counts as a step of guest progress: a guest caught
     * in a fault loop (handler faulting on its first instruction) still
     * spends the budget and, under the icount clock, guest time. */
    c->icount++;
    if (c->log_mask & LOG_INT)
        cpu_logf(c, "fault: vector %d code %#x at %04x:%08x", c->exc_vector, c->exc_code, c->seg[SEG_CS].sel,
                 (uint32_t)c->eip);
    return except_dispatch(c);
}

/* Between blocks, when cpu->events (or TF, or a map change) says so.
 * Returns -1 to go on with the next block, or the reason to return. */
static __attribute__((noinline)) int attend(struct cpu *c)
{
    if (c->exit_request) {
        c->exit_request = 0;
        return CPU_EXIT_REQUEST;
    }
    if (c->mmu.phys_gen != c->mem->gen)
        cpu_tlb_flush(c);
    if (c->init_pending)
        cpu_init_signal(c); /* INIT outranks NMI and INTR, and ends a HLT */
    if ((c->nmi_pending && !c->nmi_blocked) || (c->irq_line && (c->eflags & EFL_IF) && !c->inhibit_irq))
        serve_interrupts(c);
    if (c->halted)
        return CPU_EXIT_HALT;
    if (c->inhibit_irq || (c->eflags & EFL_TF) || c->dbg_armed) {
        /* One instruction alone: the interrupt shadow ends after it, TF set
         * before it traps after it (unless it delivered an event), and
         * enabled DR7 breakpoints are checked around it. */
        bool tf = c->eflags & EFL_TF;
        c->intr_taken = 0;
        if (c->dbg_armed && dbg_before_insn(c))
            return -1; /* instruction breakpoint: #DB delivered */
        step(c, 1);
        c->inhibit_irq = 0;
        uint32_t hits = c->dbg_armed ? dbg_after_insn(c) : 0;
        if ((tf && !c->intr_taken) || hits) {
            if (tf && !c->intr_taken)
                c->dr[6] |= 1u << 14; /* BS */
            intr_deliver(c, EXC_DB, INTR_EXCEPTION, NO_ERRCODE);
        }
        return -1;
    }
    if (c->interp_next) {
        c->interp_next = 0;
        step(c, UINT_MAX - 1); /* any limit but UINT_MAX: the whole block, interpreted */
        return -1;
    }
    step(c, UINT_MAX);
    return -1;
}

/* The hot loop. Kept out of cpu_exec() because a function that calls
 * setjmp() has its variables kept in memory by the compiler. */
static __attribute__((noinline)) enum cpu_exit run_loop(struct cpu *c)
{
    for (;;) {
        if ((int64_t)(c->icount - c->exec_end) >= 0) {
            if ((int64_t)(c->icount - c->run_end) >= 0)
                return c->exit_request ? (c->exit_request = 0, CPU_EXIT_REQUEST) : CPU_EXIT_BUDGET;
            if (!c->events)
                c->exec_end = c->run_end; /* cpu_event(): the events were served */
        }
        if (__builtin_expect(c->events | (c->eflags & EFL_TF) | (c->mmu.phys_gen != c->mem->gen), 0)) {
            int r = attend(c);
            if (r >= 0)
                return (enum cpu_exit)r;
            continue;
        }
        step(c, UINT_MAX);
    }
}

enum cpu_exit cpu_exec(struct cpu *c, uint64_t budget)
{
    c->run_end = c->icount + budget;
    c->exec_end = c->events ? 0 : c->run_end; /* cpu_event() while one is pending */
    if (setjmp(c->jb)) {
        if (!on_fault(c)) {
            if (c->env.shutdown)
                c->env.shutdown(c->env.ctx);
            return CPU_EXIT_SHUTDOWN;
        }
    }
    return run_loop(c);
}

void cpu_tlb_flush(struct cpu *c)
{
    mmu_flush(&c->mmu);
    c->mmu.phys_gen = c->mem->gen;
    cpu_jmp_flush(c);
    c->stats.tlb_flushes++;
}

void cpu_tlb_flush_page(struct cpu *c, uint32_t lin)
{
    mmu_flush_page(&c->mmu, lin);
    if (blkcache_jmp_may_hold(c->cache, lin))
        cpu_jmp_flush(c);
}

void cpu_ctx_bump(struct cpu *c)
{
    c->ctx_gen++; /* its keys live for one excursion into native code: no wrap to handle */
}

void cpu_lin_bump(struct cpu *c)
{
    c->ctx_gen++;
    if (++c->lin_gen == 0 && c->accel && c->accel->lin_wrap)
        c->accel->lin_wrap(c->accel->ctx);
}

void cpu_jmp_flush(struct cpu *c)
{
    /* the JIT's inline caches of exits in global pages are keyed by it */
    if (++c->jmp_gen == 0 && c->accel && c->accel->lin_wrap)
        c->accel->lin_wrap(c->accel->ctx);
    cpu_lin_bump(c);
    c->stats.jmp_cache_flushes++;
    blkcache_jmp_forget(c->cache);
}
