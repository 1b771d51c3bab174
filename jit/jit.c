/*
 * The JIT driver: the accelerator hooks the interpreter calls (cpu/accel.h),
 * translation of a block (frontend -> optimiser -> register allocation and
 * backend -> code arena), chaining of direct exits, and the C functions
 * translated code calls (memory slow paths, faults).
 *
 * The code arena is one mapping, bump-allocated. When it is full it is
 * flushed whole: every block loses its native code (the decoded blocks
 * stay and are retranslated when hot again). A flush only happens from
 * hot(), which the run loop calls between blocks, never while translated
 * code is on the stack. When the interpreter drops every block (its own
 * flush), the arena is reset too.
 */
#include "jit/jit.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/mem.h"
#include "cpu/trace.h"
#include "jit/cosim.h"
#include "jit/jit_int.h"

#define DEFAULT_CODE_SIZE (64u << 20)
#define MAX_TBS (1u << 17)

bool jit_available(void)
{
    return be_available();
}

const struct jit_stats *jit_get_stats(const struct jit *j)
{
    return &j->stats;
}

/* ---- Arena ---- */

static void arena_reset(struct jit *j)
{
    j->used = j->common_size;
    j->data_low = j->arena_size;
    j->ntbs = 0;
}

/* Drop all native code (arena full): blocks go back to the interpreter,
 * which offers them again once they are hot again (their count starts
 * over; at threshold 0 the next run wraps it to 0: at once). */
void jit_flush_code(struct jit *j)
{
    for (unsigned k = 0; k < j->ntbs; k++) {
        struct jit_tb *tb = &j->tbs[k];
        if (tb->b && tb->b->accel == tb) {
            tb->b->native = NULL;
            tb->b->accel = NULL;
            tb->b->hits = j->cfg.threshold ? 0 : UINT32_MAX;
        }
    }
    arena_reset(j);
    j->stats.jit_flushes++;
    if (j->cosim)
        cosim_flush(j->cosim);
}

/* ---- Accelerator hooks ---- */

static void log_line(void *ctx, const char *line)
{
    cpu_logf((struct cpu *)ctx, "%s", line);
}

static void log_host_code(struct jit *j, const struct jit_tb *tb)
{
    csh h;
    if (cs_open((cs_arch)be_host.cs_arch, (cs_mode)be_host.cs_mode, &h) != CS_ERR_OK)
        return;
    cs_insn *ci;
    size_t n = cs_disasm(h, tb->code, tb->size, (uint64_t)(uintptr_t)tb->code, 0, &ci);
    cpu_logf(j->cpu, "out_asm: block %08x, %u guest insns, %u bytes", tb->b->eip, tb->ninsns, tb->size);
    for (size_t k = 0; k < n; k++)
        cpu_logf(j->cpu, "  %012" PRIx64 "  %s %s", ci[k].address, ci[k].mnemonic, ci[k].op_str);
    if (n)
        cs_free(ci, n);
    cs_close(&h);
}

/* Translate `blk` (b, or a superblock starting with it: super.c) for b. */
static struct jit_tb *translate(struct jit *j, struct block *b, const struct block *blk, const struct jit_parts *parts)
{
    struct cpu *c = j->cpu;
    unsigned n = blk->n;
    if (j->cfg.max_insns && n > j->cfg.max_insns)
        n = j->cfg.max_insns;
    if (n == 0)
        return NULL;
    ir_reset(&j->ir);
    fe_translate(j, blk, n, &j->ir);
    if (!j->cfg.no_loops && !j->cfg.cosim && !(c->log_mask & LOG_EXEC)) {
        /* (see x64/loop.c for why not the others, and why a block that
         * crosses a page may be one) */
        j->ir.back = ir_back_edge(&j->ir, b->eip);
        ir_carry(&j->ir);
    }
    if (j->ir.oom)
        return NULL;
    if (c->log_mask & LOG_IR) {
        cpu_logf(c, "ir: block %08x (%u insns%s)", b->eip, n, blk != b ? ", superblock" : "");
        ir_print(&j->ir, log_line, c);
    }
    opt_run(&j->ir);
    ir_carry_share(&j->ir);
    unsigned members;
    j->stats.jit_probe_groups += ir_probes(&j->ir, blk, blk->mode, &members);
    j->stats.jit_probe_members += members;
    j->stats.jit_probe_strided += ir_strides(&j->ir, blk->mode);
    if (c->log_mask & LOG_IR_OPT) {
        cpu_logf(c, "ir_opt: block %08x", b->eip);
        ir_print(&j->ir, log_line, c);
    }
    /* A superblock's instructions go into the arena first: the code points
     * cpu->blk and cpu->cur into them. */
    size_t copy = blk != b ? jit_super_size(blk->n) : 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (j->ntbs == j->tbs_cap)
            jit_flush_code(j);
        struct jit_tb *tb = &j->tbs[j->ntbs];
        const struct block *tblk = b;
        uint8_t *start = j->arena + j->used, *end = j->arena + j->data_low;
        if (copy) {
            if (copy >= (size_t)(end - start)) {
                if (attempt == 0)
                    jit_flush_code(j);
                continue;
            }
            memcpy(start, blk, sizeof(struct block) + blk->n * sizeof(struct insn));
            tblk = (const struct block *)(void *)start;
            start += copy;
        }
        bool ok;
        size_t size;
        for (bool again = false;; again = true) { /* the backend may ask for a second look (be_again) */
            *tb = (struct jit_tb){ .b = b, .blk = tblk, .parts = *parts, .page = b->lin & ~0xfffu, .ninsns = n };
            struct be_ctx *x = be_begin(j, tb, start, end, again);
            if (!x)
                return NULL;
            ok = ra_run(j->ra, &j->ir, x);
            size = be_end(x); /* also when allocation failed: tells a full arena apart */
            if (!ok || !size || size == BE_FULL || !be_again(x))
                break;
        }
        if (size == BE_FULL) {
            if (attempt == 0)
                jit_flush_code(j); /* the arena is full: start over */
            continue;
        }
        if (!ok || !size)
            return NULL; /* cannot be translated (allocator or backend limit) */
        tb->code = start;
        tb->size = (uint32_t)size;
        j->data_low = (size_t)(tb->data - j->arena);
        j->used = (j->used + copy + size + 15) & ~(size_t)15;
        j->ntbs++;
        if (j->ir.carried)
            j->stats.jit_loops++;
        return tb;
    }
    return NULL;
}

struct jit_tb *jit_translate(struct jit *j, struct block *b)
{
    struct jit_parts parts;
    const struct block *blk = jit_super_build(j, b, &parts);
    if (blk != b) {
        struct jit_tb *tb = translate(j, b, blk, &parts);
        if (tb) {
            /* Writes to any part must reach this translation: widen b's
             * range for self-modifying code over the parts (super.c). */
            if (b->bytes < blk->bytes)
                b->bytes = blk->bytes;
            if (b->lead < blk->lead)
                b->lead = blk->lead;
            j->stats.jit_superblocks++;
            return tb;
        }
        parts = (struct jit_parts){ .n = 1, .b = { b } }; /* a limit of the superblock's: translate b alone */
    }
    return translate(j, b, b, &parts);
}

static void hook_hot(void *ctx, struct block *b)
{
    struct jit *j = ctx;
    if (b->native)
        return;
    struct jit_tb *tb = jit_translate(j, b);
    if (!tb) {
        j->stats.jit_failed++;
        return;
    }
    b->native = (native_fn *)(void *)tb->code;
    b->accel = tb;
    unsigned slot = jmp_hash(b->lin);
    if (j->cpu->cache->jmp[slot] == b) /* the jump cache's copy (cpu/block.h) */
        j->cpu->cache->jnat[slot] = b->native;
    j->stats.jit_blocks++;
    j->stats.jit_block_insns += tb->ninsns;
    j->stats.jit_code_bytes += tb->size;
    if (j->cpu->log_mask & LOG_OUT_ASM)
        log_host_code(j, tb);
    if (j->perf_map) {
        /* perf's format for JIT code: start, size (hex), name. A block's
         * code may be reused after a flush; the latest line wins. */
        fprintf(j->perf_map, "%" PRIxPTR " %x kestrel_%04x:%08x\n", (uintptr_t)tb->code, tb->size,
                j->cpu->seg[SEG_CS].sel, b->eip);
        fflush(j->perf_map);
    }
    if (j->cosim)
        cosim_attach(j->cosim, b);
}

static void unchain(struct jit_tb *tb)
{
    for (struct jit_exit *e = tb->incoming; e; e = e->next_in) {
        be_patch_jump(e->site, e->stub);
        if (e->cx_site)
            be_patch_jump(e->cx_site, e->cx_stub);
        e->to = NULL;
    }
    tb->incoming = NULL;
}

static void hook_invalidate(void *ctx, struct block *b)
{
    struct jit *j = ctx;
    struct jit_tb *tb = b->accel;
    if (!tb || tb->b != b)
        return;
    unchain(tb);
    be_kill_entry(j, tb);
    j->stats.jit_invalidations++;
    /* Keep b->native: the block may still be running (it is left at the
     * next instruction boundary); nothing can enter it any more. */
}

/* cpu->lin_gen or jmp_gen wrapped round: the inline caches' keys
 * (x64/ic.c) would match again. Drop all code, as for a full arena; if this happens under
 * translated code, leave it at the next check (its code stays intact
 * until the next translation, which only the run loop asks for). */
static void hook_lin_wrap(void *ctx)
{
    struct jit *j = ctx;
    jit_flush_code(j);
    cpu_stop(j->cpu);
}

static void hook_flush(void *ctx)
{
    struct jit *j = ctx;
    /* Every block is being dropped: their native pointers go with them. If
     * this happens under translated code (an interpreter handler reset the
     * CPU), leave it at the next check. */
    arena_reset(j);
    j->stats.jit_flushes++;
    cpu_stop(j->cpu);
    if (j->cosim)
        cosim_flush(j->cosim);
}

/* ---- Called from translated code ---- */

const uint8_t *jit_chain_exit(struct cpu *c, struct jit_exit *e)
{
    struct jit *j = c->accel->ctx;
    struct jit_tb *from = e->from;
    uint32_t eip = (uint32_t)c->eip;
    uint32_t lin = (uint32_t)c->seg[SEG_CS].base + eip;
    j->stats.jit_unchained_exits++;
    if (j->cosim)
        return j->common.epilogue; /* every block returns to the loop to be compared */
    struct block *t = c->cache->jmp[jmp_hash(lin)];
    if (!t || t->lin != lin || t->eip != eip || t->mode != c->mode || t->jmp_gen != c->jmp_gen || !t->native)
        return j->common.epilogue;
    struct jit_tb *to = t->accel;
    /* A block that crosses a page checks at its chained entry that the
     * jump cache still vouches for its second page (backend.h). */
    if (!to || to->b != t || (lin & ~0xfffu) != from->page || e->to)
        return (const uint8_t *)(void *)t->native + be_chain_entry_offset;
    be_patch_jump(e->site, to->code + be_chain_entry_offset);
    e->to = to;
    e->next_in = to->incoming;
    to->incoming = e;
    j->stats.jit_chained++;
    if (e->cx_site && to->cx_entry && be_carry_match(e->cx_key, to->cx_key)) {
        be_patch_jump(e->cx_jump, to->cx_entry);
        be_patch_jump(e->cx_site, e->cx_path);
        j->stats.jit_x87_chained++;
    }
    return to->code + be_chain_entry_offset;
}

_Noreturn void jit_raise(struct cpu *c, int vector, int errcode)
{
    cpu_fault(c, vector, errcode);
}

_Noreturn void jit_seg_fault(struct cpu *c, int seg, int write)
{
    seg_fault(c, seg, 0, 0, write);
}

/* A slow access may have changed the physical map (MMIO): the TLB and the
 * decoded blocks must be revalidated before the next block runs. */
static inline void check_map(struct cpu *c)
{
    if (unlikely(c->mmu.phys_gen != c->mem->gen))
        cpu_stop(c);
}

uint64_t jit_ld_slow(struct cpu *c, uint32_t lin, int size)
{
    uint64_t v = mem_read_slow(c, lin, size);
    check_map(c);
    return v;
}

uint64_t jit_ldw_slow(struct cpu *c, uint32_t lin, int size)
{
    uint8_t *p = mem_rmw_slow(c, lin, size);
    uint64_t v = 0;
    memcpy(&v, p, (size_t)size);
    check_map(c);
    return v;
}

void jit_st_slow(struct cpu *c, uint32_t lin, uint64_t val, int size)
{
    mem_write_slow(c, lin, size, val);
    check_map(c);
}

void jit_trace_exec(struct cpu *c, const struct block *b)
{
    lf_canon(c);
    trace_block_exec(c, b);
}

/* ---- Lifecycle ---- */

struct jit *jit_new(struct cpu *cpu, const struct jit_config *cfg, char *err, size_t errlen)
{
    if (!be_available()) {
        snprintf(err, errlen, "no JIT backend for this host (%s needs features it lacks)", be_host.name);
        return NULL;
    }
    struct jit *j = calloc(1, sizeof(*j));
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->cpu = cpu;
    j->cfg = *cfg;
    j->arena_size = cfg->code_size ? cfg->code_size : DEFAULT_CODE_SIZE;
    j->arena = mmap(NULL, j->arena_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (j->arena == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %zu bytes of code arena: %s", j->arena_size, strerror(errno));
        free(j);
        return NULL;
    }
    j->tbs_cap = MAX_TBS;
    j->tbs = calloc(j->tbs_cap, sizeof(*j->tbs));
    j->ra = ra_new();
    j->super = malloc(jit_super_size(JIT_SUPER_INSNS));
    ir_init(&j->ir);
    j->common_size = be_gen_common(j, j->arena, j->arena + j->arena_size);
    if (!j->tbs || !j->ra || !j->super || !j->common_size) {
        snprintf(err, errlen, "cannot set up the JIT");
        jit_free(j);
        return NULL;
    }
    if (cfg->perf_map) {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
        j->perf_map = fopen(path, "w");
        if (!j->perf_map) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            jit_free(j);
            return NULL;
        }
    }
    if (cfg->cosim) {
        j->cosim = cosim_new(j, err, errlen);
        if (!j->cosim) {
            jit_free(j);
            return NULL;
        }
    }
    arena_reset(j);
    j->accel = (struct cpu_accel){ .hot = hook_hot, .invalidate = hook_invalidate, .flush = hook_flush,
                                   .lin_wrap = hook_lin_wrap, .ctx = j, .threshold = cfg->threshold };
    /* Blocks decoded before the JIT existed have no native code yet; the
     * ones already hot are translated when they next get hot. */
    cpu->accel = &j->accel;
    return j;
}

void jit_free(struct jit *j)
{
    if (!j)
        return;
    if (j->cpu && j->cpu->accel == &j->accel) {
        jit_flush_code(j);
        j->cpu->accel = NULL;
    }
    if (j->cosim)
        cosim_free(j->cosim);
    if (j->perf_map)
        fclose(j->perf_map);
    if (j->arena && j->arena != MAP_FAILED)
        munmap(j->arena, j->arena_size);
    free(j->tbs);
    free(j->super);
    ra_free(j->ra);
    ir_free(&j->ir);
    be_free(j->be);
    free(j);
}
