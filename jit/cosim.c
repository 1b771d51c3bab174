/*
 * Lockstep co-simulation (--cosim): each translated block runs twice from
 * the same state, first as native code, then interpreted, and the two
 * outcomes are compared: general registers, EIP, EFLAGS, segment
 * registers, control registers, the x87 state, the instruction count, the
 * exception raised (if any), and every byte of memory either run wrote.
 * The interpreter's outcome is the one that stands, so a guest keeps
 * running correctly after a divergence; the first divergence is reported
 * in detail (guest and host disassembly), the rest are counted.
 *
 * How a run is undone: the MMU is told never to cache write entries, so
 * every guest write (from native code or a handler) reaches cpu/mem.c's
 * slow paths, whose access hook lets us journal the old bytes first; the
 * whole struct cpu is copied before the first run and restored after it.
 * A block is not compared (the native run simply stands) when it contains
 * port I/O or reads the time stamp counter, when it touched MMIO or open
 * bus or moved FERR# (device side effects cannot be undone), when it rewrote code
 * (self-modifying code changes the block cache under us), when it walked
 * page tables with paging on (the walker sets accessed and dirty bits
 * outside the journal), or when the journal overflows. Such runs are
 * counted as skipped; the same block is compared on its other runs.
 *
 * Blocks are entered one at a time: with co-simulation on, chaining and
 * the inline jump-cache dispatch are off (jit.c, x64/common.c), and every
 * translated block's `native` pointer is cosim_entry, which finds the
 * block the run loop picked through the jump cache.
 */
#include "jit/cosim.h"

#include <capstone/capstone.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "jit/jit_int.h"

#define JOURNAL_MAX 4096

struct jentry {
    uint64_t pa;
    uint8_t len;
    uint8_t old[8]; /* bytes before the write */
    uint8_t now[8]; /* bytes after the run */
};

struct journal {
    struct jentry e[JOURNAL_MAX];
    unsigned n;
};

struct cosim {
    struct jit *j;
    struct cpu *before, *native; /* copies of struct cpu */
    struct journal jn, ji;       /* native run, interpreted run */
    struct journal *rec;         /* journal being recorded, NULL: none */
    bool unsafe;                 /* the run touched MMIO, open bus, or overflowed */
    uint64_t checked, diverged, skipped;
};

static void hook(void *ctx, uint64_t pa, int size, bool write)
{
    struct cosim *cs = ctx;
    if (!cs->rec)
        return;
    bool writable;
    uint8_t *page = phys_page_ptr(cs->j->cpu->mem, pa, &writable);
    if (!page || (pa & 0xfff) + (uint64_t)size > 0x1000) {
        cs->unsafe = true; /* MMIO or open bus: a device saw it */
        return;
    }
    if (!write || !writable)
        return; /* RAM reads change nothing; ROM drops writes */
    if (cs->rec->n == JOURNAL_MAX || size > 8) {
        cs->unsafe = true;
        return;
    }
    struct jentry *e = &cs->rec->e[cs->rec->n++];
    e->pa = pa;
    e->len = (uint8_t)size;
    memcpy(e->old, page + (pa & 0xfff), (size_t)size);
}

static uint8_t *host_of(struct cpu *c, uint64_t pa)
{
    bool w;
    uint8_t *page = phys_page_ptr(c->mem, pa, &w);
    return page + (pa & 0xfff);
}

/* Record the bytes each journalled write left, then put the old ones back. */
static void finish_and_undo(struct cpu *c, struct journal *jr, bool undo)
{
    for (unsigned k = 0; k < jr->n; k++)
        memcpy(jr->e[k].now, host_of(c, jr->e[k].pa), jr->e[k].len);
    if (undo)
        for (unsigned k = jr->n; k-- > 0;)
            memcpy(host_of(c, jr->e[k].pa), jr->e[k].old, jr->e[k].len);
}

/* Copy the CPU state except the soft TLB's contents (a cache: tens of KiB
 * that need no restoring, see cosim_entry). */
static void copy_state(struct cpu *dst, const struct cpu *src)
{
    size_t from = offsetof(struct cpu, mmu) + offsetof(struct mmu, tlb);
    size_t to = offsetof(struct cpu, mmu) + offsetof(struct mmu, watch);
    memcpy(dst, src, from);
    memcpy((uint8_t *)dst + to, (const uint8_t *)src + to, sizeof(*dst) - to);
}

/* A fault unwound to us: make EIP and the count precise as cpu_exec() would. */
static void fix_fault(struct cpu *c)
{
    if (c->blk) {
        c->eip = c->blk->eip + c->cur->off;
        c->icount += (uint64_t)(c->cur - c->blk->insn);
        c->blk = NULL;
    }
}

static bool checkable(const struct block *b, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        unsigned id = b->insn[k].id;
        if ((op_info[id].attr & A_IO) || id == OP_RDTSC || id == OP_RDPMC)
            return false;
    }
    return true;
}

/* ---- Comparison and report ---- */

struct diff {
    char text[1024];
    size_t len;
};

static void add(struct diff *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct diff *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (d->len < sizeof(d->text))
        d->len += (size_t)vsnprintf(d->text + d->len, sizeof(d->text) - d->len, fmt, ap);
    va_end(ap);
}

#define CMP(field, fmt)                                                                                                \
    if (n->field != i->field)                                                                                          \
        add(d, " " #field " native " fmt " interp " fmt, n->field, i->field);

static void compare_cpu(const struct cpu *n, const struct cpu *i, bool nf, bool inf, struct diff *d)
{
    static const char *const names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
    for (int r = 0; r < 8; r++)
        if ((uint32_t)n->gpr[r] != (uint32_t)i->gpr[r])
            add(d, " %s native %08x interp %08x", names[r], (uint32_t)n->gpr[r], (uint32_t)i->gpr[r]);
    CMP(eip, "%#" PRIx64)
    uint32_t fn = cpu_get_eflags(n), fi = cpu_get_eflags(i);
    if (fn != fi)
        add(d, " eflags native %08x interp %08x", fn, fi);
    CMP(icount, "%" PRIu64)
    if (nf != inf)
        add(d, " fault native %s interp %s", nf ? "yes" : "no", inf ? "yes" : "no");
    if (nf && inf) {
        CMP(exc_vector, "%d")
        CMP(exc_code, "%d")
    }
    for (int s = 0; s < SEG_COUNT; s++)
        if (n->seg[s].sel != i->seg[s].sel || n->seg[s].base != i->seg[s].base || n->seg[s].limit != i->seg[s].limit ||
            n->seg[s].attr != i->seg[s].attr)
            add(d, " seg%d native %04x interp %04x", s, n->seg[s].sel, i->seg[s].sel);
    CMP(cr0, "%#x")
    CMP(cr2, "%#x")
    CMP(cr3, "%#x")
    CMP(cr4, "%#x")
    CMP(mode, "%#x")
    CMP(cpl, "%d")
    CMP(halted, "%d")
    for (int r = 0; r < 8; r++) /* field by field: struct f80 has padding */
        if (n->fpu.st[r].mant != i->fpu.st[r].mant || n->fpu.st[r].se != i->fpu.st[r].se)
            add(d, " st%d differs", r);
    if (n->fpu.cw != i->fpu.cw || n->fpu.sw != i->fpu.sw || n->fpu.tw != i->fpu.tw || n->fpu.top != i->fpu.top)
        add(d, " x87 control/status/tag differ");
    if (n->fpu.fip != i->fpu.fip || n->fpu.fcs != i->fpu.fcs || n->fpu.fop != i->fpu.fop ||
        n->fpu.fdp != i->fpu.fdp || n->fpu.fds != i->fpu.fds)
        add(d, " x87 last-instruction pointers differ");
}

/* Bytes both runs left in memory: the interpreter's are in memory now. */
static void compare_mem(struct cosim *cs, struct cpu *c, struct diff *d)
{
    int shown = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct journal *jr = pass ? &cs->ji : &cs->jn;
        for (unsigned k = 0; k < jr->n; k++) {
            for (unsigned b = 0; b < jr->e[k].len; b++) {
                uint64_t pa = jr->e[k].pa + b;
                /* native value: the last native write of this byte, else the old byte */
                int nv = -1;
                for (unsigned m = cs->jn.n; m-- > 0;)
                    if (pa >= cs->jn.e[m].pa && pa < cs->jn.e[m].pa + cs->jn.e[m].len) {
                        nv = cs->jn.e[m].now[pa - cs->jn.e[m].pa];
                        break;
                    }
                if (pass && nv >= 0)
                    continue; /* compared in the first pass */
                if (nv < 0)
                    nv = jr->e[k].old[b]; /* only the interpreter wrote it: native left the old byte */
                int iv = *host_of(c, pa);
                if (nv != iv && shown++ < 4)
                    add(d, " mem[%#" PRIx64 "] native %02x interp %02x", pa, nv, iv);
            }
        }
    }
}

static void disasm(struct cpu *c, int arch, int mode, const uint8_t *code, size_t len, uint64_t addr)
{
    csh h;
    if (cs_open((cs_arch)arch, (cs_mode)mode, &h) != CS_ERR_OK)
        return;
    cs_insn *ci;
    size_t n = cs_disasm(h, code, len, addr, 0, &ci);
    for (size_t k = 0; k < n; k++)
        cpu_logf(c, "    %08" PRIx64 "  %s %s", ci[k].address, ci[k].mnemonic, ci[k].op_str);
    if (n)
        cs_free(ci, n);
    cs_close(&h);
}

static void report(struct cosim *cs, struct cpu *c, const struct block *b, const struct jit_tb *tb,
                   const struct diff *d)
{
    cs->diverged++;
    if (cs->diverged > 1)
        return;
    cpu_logf(c, "cosim: first divergence in block %04x:%08x (phys %#" PRIx64 ", %u insns, mode %#x):%s",
             c->seg[SEG_CS].sel, b->eip, b->paddr, tb->ninsns, b->mode, d->text);
    cpu_logf(c, "cosim: guest code");
    bool w;
    const uint8_t *page = phys_page_ptr(c->mem, b->paddr & ~0xfffull, &w);
    if (page)
        disasm(c, CS_ARCH_X86, (b->mode & MODE_CS32) ? CS_MODE_32 : CS_MODE_16, page + (b->paddr & 0xfff), b->bytes,
               b->eip);
    cpu_logf(c, "cosim: host code");
    disasm(c, be_host.cs_arch, be_host.cs_mode, tb->code, tb->size, (uint64_t)(uintptr_t)tb->code);
}

/* ---- The entry every translated block gets ---- */

/* The interpreter over the decoded blocks the translation covers (more
 * than one for a superblock, jit/super.c): `limit` instructions, or fewer
 * when a Jcc between parts leaves them. */
static void run_parts(struct cpu *c, const struct jit_tb *tb, unsigned limit)
{
    for (unsigned p = 0; p < tb->parts.n && limit; p++) {
        const struct block *pb = tb->parts.b[p];
        if (p > 0 && (uint32_t)c->eip != pb->eip)
            return; /* the previous part's branch was taken */
        unsigned run = limit < pb->n ? limit : pb->n;
        cpu_run_block(c, pb, run);
        limit -= run;
    }
}

/* A function, not a local pointer: a local live across setjmp trips
 * -Wclobbered at -O2. */
static void run_native(struct cpu *c, const struct jit_tb *tb)
{
    ((native_fn *)(void *)tb->code)(c);
}

static void cosim_entry(struct cpu *c)
{
    struct jit *j = c->accel->ctx;
    struct cosim *cs = j->cosim;
    uint32_t eip = (uint32_t)c->eip, lin = (uint32_t)c->seg[SEG_CS].base + eip;
    struct block *b = c->cache->jmp[jmp_hash(lin)];
    struct jit_tb *tb = b ? b->accel : NULL;
    if (!b || b->lin != lin || b->eip != eip || !tb || tb->b != b) {
        cpu_logf(c, "cosim: no block for %08x", eip); /* cannot happen: the loop just found it there */
        abort();
    }
    if (!checkable(tb->blk, tb->ninsns)) {
        cs->skipped++;
        run_native(c, tb);
        return;
    }
    jmp_buf outer;
    memcpy(outer, c->jb, sizeof(jmp_buf));
    copy_state(cs->before, c);
    uint64_t smc = c->stats.smc_invalidations + c->cache->flushes;

    /* Native run. */
    cs->unsafe = false;
    cs->jn.n = 0;
    cs->rec = &cs->jn;
    volatile bool nfault = false;
    if (setjmp(c->jb) == 0)
        run_native(c, tb);
    else {
        nfault = true;
        fix_fault(c);
    }
    cs->rec = NULL;
    memcpy(c->jb, outer, sizeof(jmp_buf));
    lf_canon(c); /* as the run loop would (cpu/flags.h) */
    /* A page walk may have set accessed/dirty bits in the page tables
     * (mmu/paging.c writes them directly, not through the journal). */
    bool walked = c->stats.tlb_miss != cs->before->stats.tlb_miss && (c->cr0 & CR0_PG);
    /* FERR# changing level reached the board (cpu_env.ferr): like MMIO, a
     * device saw it. */
    bool ferr = c->fpu.ferr != cs->before->fpu.ferr;
    bool keep = cs->unsafe || walked || ferr || c->stats.smc_invalidations + c->cache->flushes != smc;
    finish_and_undo(c, &cs->jn, !keep);
    if (keep) {
        cs->skipped++;
        if (nfault)
            longjmp(c->jb, 1); /* deliver it: cpu_exec's unwinder finds the state precise */
        return;
    }
    copy_state(cs->native, c);

    /* Interpreted run from the same state. The TLB keeps what the native
     * run cached: translations of the unchanged page tables (no walk
     * happened with paging on, see above). */
    copy_state(c, cs->before);
    cs->ji.n = 0;
    cs->rec = &cs->ji;
    volatile bool ifault = false;
    /* As many instructions as the native run completed: translated code may
     * leave a block early (after an x87 handler, say), as the interpreter
     * would at a cpu_stop(). */
    uint64_t done = cs->native->icount - cs->before->icount;
    volatile unsigned limit = nfault || done == 0 || done > tb->ninsns ? tb->ninsns : (unsigned)done;
    if (setjmp(c->jb) == 0)
        run_parts(c, tb, limit);
    else {
        ifault = true;
        fix_fault(c);
    }
    cs->rec = NULL;
    memcpy(c->jb, outer, sizeof(jmp_buf));
    finish_and_undo(c, &cs->ji, false);

    cs->checked++;
    struct diff d = { .len = 0 };
    if (!cs->unsafe) {
        compare_cpu(cs->native, c, nfault, ifault, &d);
        compare_mem(cs, c, &d);
    }
    if (d.len)
        report(cs, c, b, tb, &d);
    if (ifault)
        longjmp(c->jb, 1);
}

void cosim_attach(struct cosim *cs, struct block *b)
{
    (void)cs;
    b->native = cosim_entry;
}

void cosim_flush(struct cosim *cs)
{
    (void)cs;
}

struct cosim *cosim_new(struct jit *j, char *err, size_t errlen)
{
    struct cosim *cs = calloc(1, sizeof(*cs));
    struct cpu *c = j->cpu;
    if (cs) {
        cs->before = malloc(sizeof(struct cpu));
        cs->native = malloc(sizeof(struct cpu));
    }
    if (!cs || !cs->before || !cs->native) {
        snprintf(err, errlen, "--cosim: out of memory");
        cosim_free(cs);
        return NULL;
    }
    cs->j = j;
    c->access_hook = hook;
    c->access_ctx = cs;
    c->mmu.no_write_entries = true;
    cpu_tlb_flush(c);
    return cs;
}

void cosim_free(struct cosim *cs)
{
    if (!cs)
        return;
    struct cpu *c = cs->j ? cs->j->cpu : NULL;
    if (c && c->access_ctx == cs) {
        c->access_hook = NULL;
        c->access_ctx = NULL;
        c->mmu.no_write_entries = false;
    }
    free(cs->before);
    free(cs->native);
    free(cs);
}

uint64_t jit_cosim_checked(const struct jit *j)
{
    return j->cosim ? j->cosim->checked : 0;
}

uint64_t jit_cosim_diverged(const struct jit *j)
{
    return j->cosim ? j->cosim->diverged : 0;
}
