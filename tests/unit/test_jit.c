/*
 * The JIT's machinery seen from outside: translation thresholds and the
 * --jit-max-insns cap, chaining (and unchaining when the target's code is
 * overwritten), writes to code by DMA (phys_write_buf, the devices' path)
 * while translated and chained, a code arena small enough to be flushed
 * again and again, the cap on translated blocks, and loop translations. The oracle is the
 * architecture: each program's result is known; the statistics say which
 * mechanism ran.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/cpu.h"
#include "cpu/sysregs.h"
#include "jit/jit.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"
#include "tests/unit/jit_harness.h"

/* mov eax, 1; jmp +0x0b (to 0x1010); ... 0x1010: add eax, 2; hlt */
static const uint8_t prog_a[] = { 0xb8, 1, 0, 0, 0, 0xeb, 0x09 };
static const uint8_t prog_b[] = { 0x83, 0xc0, 0x02, 0xf4 };

START_TEST(chain_and_dma)
{
    setup_with(&(struct jit_config){ 0 });
    put(0x1000, prog_a, sizeof(prog_a));
    put(0x1010, prog_b, sizeof(prog_b));
    ck_assert_uint_eq(run(0x1000), 3);
    ck_assert_uint_eq(run(0x1000), 3);
    const struct jit_stats *s = jit_get_stats(jit);
    ck_assert_uint_ge(s->jit_blocks, 2);
    ck_assert_uint_eq(s->jit_chained, 1); /* the JMP, the second time it ran */
    /* A device writes new code over the chained target: add eax, 5. */
    static const uint8_t patch[] = { 0x83, 0xc0, 0x05 };
    uint64_t inv = s->jit_invalidations;
    put(0x1010, patch, sizeof(patch));
    ck_assert_uint_eq(s->jit_invalidations, inv + 1);
    ck_assert_uint_eq(run(0x1000), 6);
    ck_assert_uint_eq(run(0x1000), 6);
    ck_assert_uint_eq(s->jit_chained, 2); /* unlinked, then chained to the new translation */
    teardown();
}
END_TEST

START_TEST(threshold_and_cap)
{
    setup_with(&(struct jit_config){ .threshold = 5, .max_insns = 1 });
    put(0x1000, prog_a, sizeof(prog_a));
    put(0x1010, prog_b, sizeof(prog_b));
    const struct jit_stats *s = jit_get_stats(jit);
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(run(0x1000), 3);
    ck_assert_uint_eq(s->jit_blocks, 0); /* interpreted four times: not hot yet */
    ck_assert_uint_eq(run(0x1000), 3);
    ck_assert_uint_eq(s->jit_blocks, 2);  /* the fifth run made both blocks hot */
    ck_assert_uint_eq(s->jit_block_insns, 2); /* one instruction each: a prefix */
    for (int k = 0; k < 20; k++)
        ck_assert_uint_eq(run(0x1000), 3);
    teardown();
}
END_TEST

/* Many distinct blocks through a small arena: it fills and is flushed,
 * and every result stays right. Block k: mov eax, k; add eax, eax; hlt. */
START_TEST(arena_flush)
{
    setup_with(&(struct jit_config){ .code_size = 64 << 10 });
    const struct jit_stats *s = jit_get_stats(jit);
    for (uint32_t k = 0; k < 1500; k++) {
        uint8_t code[] = { 0xb8, (uint8_t)k, (uint8_t)(k >> 8), 0, 0, 0x01, 0xc0, 0xf4 };
        uint32_t at = 0x10000 + k * 16;
        put(at, code, sizeof(code));
        ck_assert_uint_eq(run(at), 2 * k);
    }
    ck_assert_uint_gt(s->jit_flushes, 2);
    for (uint32_t k = 0; k < 1500; k += 7)
        ck_assert_uint_eq(run(0x10000 + k * 16), 2 * k);
    teardown();
}
END_TEST

/* The same through an indirect jump (jmp ebx at 0x1000), whose inline
 * dispatch takes its target from the jump cache's copy of the block's
 * native pointer: after a flush the copy still points into the arena,
 * where other code now is, and must not be followed; blocks flushed are
 * translated again. And a block translated after it entered the jump
 * cache (threshold 3) is found there by the next indirect jump. */
START_TEST(indirect_after_flush)
{
    static const uint8_t target[] = { 0xb8, 7, 0, 0, 0, 0x01, 0xc0, 0xf4 }, jmp_ebx[] = { 0xff, 0xe3 };
    for (int ic = 0; ic < 2; ic++) {
        setup_with(&(struct jit_config){ .threshold = 3, .stats = true, .no_ic = !ic });
        put(0x1000, jmp_ebx, sizeof(jmp_ebx));
        put(0x2000, target, sizeof(target));
        for (int r = 0; r < 10; r++) {
            cpu.gpr[R_EBX] = 0x2000;
            ck_assert_uint_eq(run(0x1000), 14);
        }
        /* without inline caches every jump is a jump-cache hit; with them
         * the first one that finds the block fills the cache */
        const struct jit_stats *s = jit_get_stats(jit);
        ck_assert_uint_ge(s->jit_indirect_hits + s->jit_ic_lookups - s->jit_ic_misses, 5);
        ck_assert_uint_ge(s->jit_indirect_hits, ic ? 1 : 5);
        teardown();
    }

    setup_with(&(struct jit_config){ .threshold = 0, .code_size = 64 << 10, .stats = true });
    const struct jit_stats *s = jit_get_stats(jit);
    put(0x1000, jmp_ebx, sizeof(jmp_ebx));
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < 1500; k++) {
            uint8_t code[] = { 0xb8, (uint8_t)k, (uint8_t)(k >> 8), 0, 0, 0x01, 0xc0, 0xf4 };
            uint32_t at = 0x10000 + k * 16;
            if (pass == 0)
                put(at, code, sizeof(code));
            for (int r = 0; r < 3; r++) {
                cpu.gpr[R_EBX] = at;
                ck_assert_uint_eq(run(0x1000), 2 * k);
            }
        }
    ck_assert_uint_gt(s->jit_flushes, 2);
    ck_assert_uint_gt(s->jit_indirect_hits, 1000);
    teardown();
}
END_TEST

/* A loop that crosses a page boundary with its back edge: exits to
 * another page go through the jump cache, never a patched jump. */
START_TEST(cross_page)
{
    setup_with(&(struct jit_config){ 0 });
    /* 0x1ff8: mov ecx, 100; xor eax, eax; nop (the page ends: the block
     * falls through to the next page) | 0x2000: add eax, 3; dec ecx;
     * jnz 0x2000; hlt */
    static const uint8_t head[] = { 0xb9, 100, 0, 0, 0, 0x31, 0xc0, 0x90 };
    static const uint8_t body[] = { 0x83, 0xc0, 0x03, 0x49, 0x75, 0xfa, 0xf4 };
    put(0x1ff8, head, sizeof(head));
    put(0x2000, body, sizeof(body));
    for (int k = 0; k < 5; k++)
        ck_assert_uint_eq(run(0x1ff8), 300);
    teardown();
}
END_TEST

/* The optimiser's known-bits rules (jit/opt.c width_of): a mask or a
 * zero extension over a value no wider goes away, but not over a
 * sign-extended load. */
START_TEST(known_bits)
{
    setup_with(&(struct jit_config){ 0 });
    static const uint8_t code[] = {
        0xbe, 0x00, 0x30, 0x00, 0x00, /* mov esi, 0x3000 */
        0x0f, 0xbe, 0x06,             /* movsx eax, byte [esi]: ffffff80 */
        0x25, 0xff, 0x00, 0x00, 0x00, /* and eax, 0xff: 80 */
        0x0f, 0xbf, 0x4e, 0x02,       /* movsx ecx, word [esi + 2]: ffff8001 */
        0x0f, 0xb7, 0xc9,             /* movzx ecx, cx: 8001 */
        0xc1, 0xe1, 0x08,             /* shl ecx, 8 */
        0x01, 0xc8,                   /* add eax, ecx */
        0x0f, 0xb6, 0x56, 0x04,       /* movzx edx, byte [esi + 4]: fe */
        0xd1, 0xea,                   /* shr edx, 1 */
        0x83, 0xe2, 0x7f,             /* and edx, 0x7f (no-op) */
        0x01, 0xd0,                   /* add eax, edx */
        0x0f, 0xb7, 0x56, 0x05,       /* movzx edx, word [esi + 5]: 8101 */
        0x81, 0xe2, 0xff, 0x01, 0, 0, /* and edx, 0x1ff: 101 */
        0x81, 0xe2, 0xff, 0x00, 0, 0, /* and edx, 0xff: 1 */
        0x01, 0xd0,                   /* add eax, edx */
        0xf4,                         /* hlt */
    };
    static const uint8_t data[] = { 0x80, 0x00, 0x01, 0x80, 0xfe, 0x01, 0x81 };
    put(0x1000, code, sizeof(code));
    put(0x3000, data, sizeof(data));
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(run(0x1000), 0x80 + (0x8001u << 8) + 0x7f + 1);
    ck_assert_uint_ge(jit_get_stats(jit)->jit_blocks, 1);
    teardown();
}
END_TEST

/* A loop translation keeps EAX, ECX and EDX in host registers round its
 * back edge (--jit-no-loops: none); the same results either way, and a
 * budget (cpu_exec's instruction count) that runs out inside the loop
 * leaves it with the registers stored. */
static void loop_with(bool no_loops)
{
    setup_with(&(struct jit_config){ .no_loops = no_loops });
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0x00, 0x00, /* mov ecx, 1000 */
        0x31, 0xc0,                   /* xor eax, eax */
        0xba, 0x01, 0x00, 0x00, 0x00, /* mov edx, 1 */
        0x01, 0xd0,                   /* loop: add eax, edx */
        0x8d, 0x54, 0x12, 0x01,       /* lea edx, [edx + edx + 1] */
        0x31, 0xc2,                   /* xor edx, eax */
        0x49,                         /* dec ecx */
        0x75, 0xf5,                   /* jnz loop */
        0xf4,                         /* hlt */
    };
    put(0x1000, code, sizeof(code));
    uint32_t a = 0, d = 1;
    for (int k = 0; k < 1000; k++) {
        a += d;
        d = (2 * d + 1) ^ a;
    }
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(run(0x1000), a);
        ck_assert_uint_eq((uint32_t)cpu.gpr[R_EDX], d);
        ck_assert_uint_eq((uint32_t)cpu.gpr[R_ECX], 0);
    }
    /* Slices of 7 instructions: most end at the back edge's budget check. */
    cpu.eip = 0x1000;
    cpu.halted = 0;
    unsigned slices = 0;
    while (cpu_exec(&cpu, 7) != CPU_EXIT_HALT)
        ck_assert_uint_lt(++slices, 10000);
    ck_assert_uint_eq((uint32_t)cpu.gpr[R_EAX], a);
    ck_assert_uint_eq((uint32_t)cpu.gpr[R_EDX], d);
    if (no_loops)
        ck_assert_uint_eq(jit_get_stats(jit)->jit_loops, 0);
    else
        ck_assert_uint_ge(jit_get_stats(jit)->jit_loops, 1);
    teardown();
}

/* Registers a loop only reads are carried round its back edge too
 * (carry.c): ESI, EDX and EDI below, the loop writing EAX, EBX and ECX.
 * Whole runs, and runs in slices of a few instructions that leave at
 * the back edge's budget check, against the interpreter. */
static uint32_t loop_read_only(const struct jit_config *cfg, uint32_t n, unsigned slice, uint32_t *loops)
{
    setup_with(cfg);
    static const uint8_t code[] = {
        0x31, 0xdb,             /* xor ebx, ebx */
        0x31, 0xc9,             /* xor ecx, ecx */
        0x0f, 0xb6, 0x04, 0x0e, /* loop: movzx eax, byte [esi + ecx] */
        0x01, 0xfb,             /* add ebx, edi */
        0x0f, 0xaf, 0xc2,       /* imul eax, edx */
        0x01, 0xc3,             /* add ebx, eax */
        0x41,                   /* inc ecx */
        0x39, 0xf9,             /* cmp ecx, edi */
        0x75, 0xf0,             /* jne loop */
        0x89, 0xd8,             /* mov eax, ebx */
        0xf4,                   /* hlt */
    };
    put(0x1000, code, sizeof(code));
    for (uint32_t k = 0; k < 300; k++)
        phys_write(&mem, 0x3000 + k, 1, (k * 37 + 11) & 0xff);
    uint32_t r = 0;
    for (int k = 0; k < 3; k++) {
        cpu.gpr[R_ESI] = 0x3000;
        cpu.gpr[R_EDX] = 0x9e3779b9u;
        cpu.gpr[R_EDI] = n;
        cpu.eip = 0x1000;
        run_slices(slice);
        r = (uint32_t)cpu.gpr[R_EAX] ^ (uint32_t)cpu.gpr[R_ESI] ^ (uint32_t)cpu.gpr[R_EDX] ^ (uint32_t)cpu.gpr[R_EDI];
    }
    *loops = (uint32_t)jit_get_stats(jit)->jit_loops;
    teardown();
    return r;
}

START_TEST(loop_read_only_regs)
{
    static const uint32_t ns[] = { 1, 2, 37, 300 };
    static const unsigned slices[] = { 5, 11, 29, 1000000 };
    uint32_t loops;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            uint32_t n = ns[a];
            unsigned slice = slices[b];
            uint32_t want = loop_read_only(&(struct jit_config){ .threshold = 1000000, .stats = true }, n, slice,
                                           &loops);
            ck_assert_uint_eq(loop_read_only(&(struct jit_config){ .threshold = 0, .stats = true }, n, slice, &loops),
                              want);
            ck_assert_uint_ge(loops, n > 1); /* one iteration never takes the back edge */
        }
}
END_TEST

/* Euclid's loop: DIV's quotient is dead (EAX is overwritten), so the
 * optimiser makes its remainder one REMU op. */
START_TEST(euclid)
{
    setup_with(&(struct jit_config){ 0 });
    static const uint8_t code[] = {
        0x89, 0xd6, /* loop: mov esi, edx */
        0x31, 0xd2, /* xor edx, edx */
        0xf7, 0xf6, /* div esi: EDX = EAX mod ESI */
        0x89, 0xf0, /* mov eax, esi */
        0x85, 0xd2, /* test edx, edx */
        0x75, 0xf4, /* jnz loop */
        0xf4,       /* hlt: EAX = gcd */
    };
    put(0x1000, code, sizeof(code));
    uint32_t a = 0x9e3779b9u, b = 0x7f4a7c15u;
    for (int k = 0; k < 200; k++) {
        a = a * 1664525u + 1013904223u;
        b = b * 22695477u + 1u;
        uint32_t x = a | 1u << 31, y = (b >> (k % 24)) | 1, g = x, h = y;
        while (h) {
            uint32_t r = g % h;
            g = h;
            h = r;
        }
        cpu.gpr[R_EAX] = x;
        cpu.gpr[R_EDX] = y;
        ck_assert_uint_eq(run(0x1000), g);
    }
    teardown();
}
END_TEST

START_TEST(loop_carry)
{
    loop_with(false);
    loop_with(true);
}
END_TEST

/* ---- The return stack (jit/x64/ret.c) ---- */

/* mov ecx, 20; call fib; hlt. fib: ECX < 2 ? ECX : fib(ECX - 1) + fib(ECX - 2) */
static const uint8_t prog_fib[] = {
    0xb9, 0x14, 0x00, 0x00, 0x00, 0xe8, 0x01, 0x00, 0x00, 0x00, 0xf4, 0x83, 0xf9, 0x02,
    0x72, 0x15, 0x51, 0x49, 0xe8, 0xf4, 0xff, 0xff, 0xff, 0x59, 0x50, 0x83, 0xe9, 0x02,
    0xe8, 0xea, 0xff, 0xff, 0xff, 0x5a, 0x01, 0xd0, 0xc3, 0x89, 0xc8, 0xc3,
};
/* mov ecx, 1000000; l: call n; n: pop eax; dec ecx; jnz l; hlt */
static const uint8_t prog_call_pop[] = { 0xb9, 0x40, 0x42, 0x0f, 0x00, 0xe8, 0x00, 0x00,
                                         0x00, 0x00, 0x58, 0x49, 0x75, 0xf7, 0xf4 };

/* Recursion returns through the host's return stack (and not at all
 * without it); a million CALLs never returned from, in one call of
 * cpu_exec() (one excursion into translated code), must not grow the host
 * stack past its bound. */
static void ret_stack_with(bool off)
{
    setup_with(&(struct jit_config){ .threshold = 2, .stats = true, .no_ret_stack = off });
    put(0x1000, prog_fib, sizeof(prog_fib));
    put(0x3000, prog_call_pop, sizeof(prog_call_pop));
    const struct jit_stats *s = jit_get_stats(jit);
    for (int k = 0; k < 3; k++) {
        cpu.gpr[R_ESP] = 0x8000;
        ck_assert_uint_eq(run(0x1000), 6765);
        ck_assert_uint_eq(cpu.gpr[R_ESP], 0x8000);
    }
    if (off)
        ck_assert_uint_eq(s->jit_ret_hits, 0);
    else
        ck_assert_uint_gt(s->jit_ret_hits, 10000); /* fib(20) returns 21890 times */
    for (int k = 0; k < 2; k++) {
        cpu.gpr[R_ESP] = 0x8000;
        cpu.eip = 0x3000;
        cpu.halted = 0;
        ck_assert_int_eq(cpu_exec(&cpu, 10000000), CPU_EXIT_HALT);
        ck_assert_uint_eq(cpu.gpr[R_EAX], 0x300a);
        ck_assert_uint_eq(cpu.gpr[R_ESP], 0x8000); /* each POP undid its CALL's push */
    }
    teardown();
}

START_TEST(ret_stack)
{
    ret_stack_with(false);
    ret_stack_with(true);
}
END_TEST

/* A return stack entry holds for one cpu->ctx_gen. Here a device read in
 * the callee remaps the caller's page (and flushes its TLB entry) in the
 * middle of a block: the RET after it must run the code now mapped at
 * the return EIP, not follow the CALL's continuation, which is chained to
 * the code mapped before. */
enum { RS_PD = 0x10000, RS_PT0 = 0x11000, RS_PT1 = 0x12000, RS_WIN = 0x20000, RS_COPY = 0x30000, RS_MMIO = 0x400000 };
static bool remap_armed;

static uint32_t remap_read(void *opaque, uint64_t off, int size)
{
    (void)opaque, (void)off, (void)size;
    if (remap_armed) {
        phys_write(&mem, RS_PT0 + (RS_WIN >> 12) * 4, 4, (RS_COPY + 0x1000) | 3);
        cpu_tlb_flush_page(&cpu, RS_WIN);
    }
    return 0;
}

static void map_copy(int k)
{
    phys_write(&mem, RS_PT0 + (RS_WIN >> 12) * 4, 4, (uint32_t)(RS_COPY + 0x1000 * k) | 3);
    cpu_tlb_flush_page(&cpu, RS_WIN);
}

START_TEST(ret_stack_remap)
{
    setup_with(&(struct jit_config){ .threshold = 0, .stats = true });
    static const struct mmio_ops ops = { .read = remap_read };
    ck_assert_int_eq(phys_add_mmio(&mem, RS_MMIO, 0x1000, &ops, NULL, "remap"), 0);
    for (uint32_t k = 0; k < 1024; k++)
        phys_write(&mem, RS_PT0 + 4 * k, 4, k << 12 | 3);
    phys_write(&mem, RS_PT1, 4, RS_MMIO | 3);
    phys_write(&mem, RS_PD, 4, RS_PT0 | 3);
    phys_write(&mem, RS_PD + 4, 4, RS_PT1 | 3);
    /* both copies: call 0x1000; mov eax, 1 + k; hlt */
    for (int k = 0; k < 2; k++) {
        int32_t rel = 0x1000 - (RS_WIN + 5);
        uint8_t code[] = { 0xe8, (uint8_t)rel, (uint8_t)(rel >> 8), (uint8_t)(rel >> 16), (uint8_t)(rel >> 24),
                           0xb8, (uint8_t)(1 + k), 0, 0, 0, 0xf4 };
        put(RS_COPY + 0x1000 * (uint32_t)k, code, sizeof(code));
    }
    /* 0x1000: mov ecx, [RS_MMIO]; ret */
    static const uint8_t callee[] = { 0x8b, 0x0d, 0x00, 0x00, 0x40, 0x00, 0xc3 };
    put(0x1000, callee, sizeof(callee));
    cpu_write_cr3(&cpu, RS_PD);
    cpu_write_cr0(&cpu, cpu.cr0 | CR0_PG);
    const struct jit_stats *s = jit_get_stats(jit);
    for (int round = 0; round < 4; round++) {
        map_copy(0);
        remap_armed = false;
        for (int k = 0; k < 3; k++) { /* the CALL's continuation gets chained to the first copy's code */
            cpu.gpr[R_ESP] = 0x8000;
            ck_assert_uint_eq(run(RS_WIN), 1);
        }
        uint64_t hits = s->jit_ret_hits;
        remap_armed = true;
        cpu.gpr[R_ESP] = 0x8000;
        ck_assert_uint_eq(run(RS_WIN), 2);
        ck_assert_uint_eq(s->jit_ret_hits, hits); /* the RET found no entry of this generation */
    }
    ck_assert_uint_gt(s->jit_ret_hits, 0);
    teardown();
}
END_TEST

/* A loop whose body crosses a page boundary is a loop translation too
 * (its back edge skips the chained entry's check of the second page:
 * nothing inside a block remaps a page). Its code on the second page is
 * rewritten by the loop itself, once in the run, on a side path: the
 * iterations after that run the new instruction. */
START_TEST(cross_page_loop)
{
    setup_with(&(struct jit_config){ .threshold = 3, .stats = true }); /* hot once its successors were decoded: a superblock */
    static const uint8_t start[] = { 0xb9, 10, 0, 0, 0, 0x31, 0xc0, 0xeb, 0x11 }; /* 0x1fe0: mov ecx, 10; xor eax, eax; jmp 0x1ff8 */
    static const uint8_t body[] = {
        0x90, 0x90, 0x90, 0x90, 0x90, /* 0x1ff8: nop x5 */
        0x05, 0x01, 0x00, 0x00, 0x00, /* 0x1ffd: add eax, 1 (crosses into 0x2000) */
        0x83, 0xf9, 0x05,             /* 0x2002: cmp ecx, 5 */
        0x74, 0x19,                   /* 0x2005: je 0x2020 */
        0x83, 0xc0, 0x0a,             /* 0x2007: add eax, 10 */
        0x49,                         /* 0x200a: dec ecx */
        0x75, 0xeb,                   /* 0x200b: jnz 0x1ff8 */
        0xf4,                         /* 0x200d: hlt */
    };
    static const uint8_t side[] = {
        0x85, 0xdb,                               /* 0x2020: test ebx, ebx */
        0x74, 0xe3,                               /* 0x2022: jz 0x2007 */
        0xc6, 0x05, 0x09, 0x20, 0x00, 0x00, 0x64, /* 0x2024: mov byte [0x2009], 100 */
        0xeb, 0xda,                               /* 0x202b: jmp 0x2007 */
    };
    put(0x1fe0, start, sizeof(start));
    put(0x1ff8, body, sizeof(body));
    put(0x2020, side, sizeof(side));
    const struct jit_stats *s = jit_get_stats(jit);
    for (int round = 0; round < 3; round++) {
        cpu.gpr[R_EBX] = 0;
        for (int r = 0; r < 4; r++)
            ck_assert_uint_eq(run(0x1fe0), 10 * 11);
        cpu.gpr[R_EBX] = 1;
        ck_assert_uint_eq(run(0x1fe0), 5 * 11 + 5 * 101);
        static const uint8_t ten = 10;
        put(0x2009, &ten, 1);
    }
    ck_assert_uint_ge(s->jit_loops, 3);
    teardown();
}
END_TEST

/* A superblock that follows a JMP backwards (jit/super.c): the block at
 * 0x1040 jumps to a tail at 0x1000, before it on its page, and is
 * translated with it. Writes to the tail must reach the translation: by
 * DMA between runs, and by the block itself (program 2 stores CL over the
 * tail's opcode, ADD or SUB, before jumping there, changing it in some
 * runs only). */
static const uint8_t prog_tail[] = { 0x01, 0xc8, 0xf4 };                 /* 0x1000: add eax, ecx; hlt */
static const uint8_t prog_jback[] = { 0xb8, 5, 0, 0, 0, 0xeb, 0xb9 };    /* 0x1040: mov eax, 5; jmp 0x1000 */
static const uint8_t prog_jback_smc[] = { 0x88, 0x0d, 0x00, 0x10, 0x00, 0x00, /* 0x1080: mov [0x1000], cl */
                                          0xb8, 5, 0, 0, 0,                   /* mov eax, 5 */
                                          0xe9, 0x70, 0xff, 0xff, 0xff };     /* jmp 0x1000 */

START_TEST(jump_pieces)
{
    setup_with(&(struct jit_config){ .threshold = 3, .stats = true });
    put(0x1000, prog_tail, sizeof(prog_tail));
    put(0x1040, prog_jback, sizeof(prog_jback));
    put(0x1080, prog_jback_smc, sizeof(prog_jback_smc));
    const struct jit_stats *s = jit_get_stats(jit);
    cpu.gpr[R_ECX] = 7;
    for (int r = 0; r < 6; r++)
        ck_assert_uint_eq(run(0x1040), 12);
    ck_assert_uint_gt(s->jit_superblocks, 0);
    uint64_t inv = s->jit_invalidations;
    static const uint8_t sub = 0x29;
    put(0x1000, &sub, 1); /* sub eax, ecx */
    ck_assert_uint_gt(s->jit_invalidations, inv);
    for (int r = 0; r < 6; r++)
        ck_assert_uint_eq(run(0x1040), (uint32_t)(5 - 7));
    for (int r = 0; r < 24; r++) {
        uint32_t op = r % 3 == 2 ? 0x29 : 0x01;
        cpu.gpr[R_ECX] = op;
        ck_assert_uint_eq(run(0x1080), op == 0x01 ? 5 + op : 5 - op);
    }
    teardown();
}
END_TEST

/* A superblock whose first block ends with an instruction across a page
 * boundary, continued on the second page, entered by a chained jump: the
 * chained entry runs it only while the jump cache holds its first block
 * (a remap of the second page drops it there). Each round maps other code
 * at the second page (its immediate's high half, and the same jump
 * back); the chained jump into the superblock must then leave for the
 * run loop, which decodes the new code. */
START_TEST(cross_super_remap)
{
    setup_with(&(struct jit_config){ .threshold = 3, .stats = true }); /* hot once its successors were decoded */
    for (uint32_t k = 0; k < 1024; k++)
        phys_write(&mem, RS_PT0 + 4 * k, 4, k << 12 | 3);
    phys_write(&mem, RS_PD, 4, RS_PT0 | 3);
    static const uint8_t outer[] = {
        0xb9, 50, 0, 0, 0, 0x31, 0xd2, 0xeb, 0x07,    /* 0x1f000: mov ecx, 50; xor edx, edx; jmp 0x1f010 */
    };
    static const uint8_t loop[] = {
        0x49, 0x78, 0x0a,                             /* 0x1f010: dec ecx; js 0x1f01d */
        0xe9, 0xe3, 0x0f, 0x00, 0x00,                 /* 0x1f013: jmp 0x1fffb */
        0x90, 0x90,                                   /* 0x1f018 */
        0x90, 0x90, 0x90,
        0x89, 0xd0, 0xf4,                             /* 0x1f01d: mov eax, edx; hlt */
    };
    static const uint8_t head[] = { 0x01, 0xca, 0xbb, 0x01, 0x00 }; /* 0x1fffb: add edx, ecx; mov ebx, 0x????0001 */
    put(0x1f000, outer, sizeof(outer));
    put(0x1f010, loop, sizeof(loop));
    put(0x1fffb, head, sizeof(head));
    for (int k = 0; k < 2; k++) { /* second page: the immediate's high half k; add edx, ebx; jmp 0x1f010 */
        uint8_t tail[] = { (uint8_t)k, 0x00, 0x01, 0xda, 0xe9, 0x07, 0xf0, 0xff, 0xff };
        put(RS_COPY + 0x1000 * (uint32_t)k, tail, sizeof(tail));
    }
    cpu_write_cr3(&cpu, RS_PD);
    cpu_write_cr0(&cpu, cpu.cr0 | CR0_PG);
    const struct jit_stats *s = jit_get_stats(jit);
    for (int round = 0; round < 4; round++) {
        uint32_t imm = 1 + ((uint32_t)(round & 1) << 16);
        map_copy(round & 1); /* RS_WIN is 0x20000 */
        for (int r = 0; r < 3; r++)
            ck_assert_uint_eq(run(0x1f000), 49 * 50 / 2 + 50 * imm);
    }
    ck_assert_uint_gt(s->jit_superblocks, 0);
    ck_assert_uint_gt(s->jit_chained, 0);
    teardown();
}
END_TEST

/* ---- Inline caches (jit/x64/ic.c) ---- */

/* At `at`: mov eax, v; hlt */
static void put_mov_hlt(uint32_t at, uint8_t v)
{
    uint8_t code[] = { 0xb8, v, 0, 0, 0, 0xf4 };
    put(at, code, sizeof(code));
}

/* An indirect jump's inline cache jumps straight to its targets' code.
 * When a target is overwritten (DMA here), its translation is dropped;
 * the cache still holds its address, and must not run it. */
START_TEST(ic_smc)
{
    setup_with(&(struct jit_config){ .threshold = 0, .stats = true });
    const struct jit_stats *s = jit_get_stats(jit);
    static const uint8_t jmp_ebx[] = { 0xff, 0xe3 };
    put(0x1000, jmp_ebx, sizeof(jmp_ebx));
    for (uint32_t t = 0; t < 4; t++)
        put_mov_hlt(0x2000 + 0x1000 * t, (uint8_t)(10 + t));
    for (int r = 0; r < 5; r++)
        for (uint32_t t = 0; t < 4; t++) {
            cpu.gpr[R_EBX] = 0x2000 + 0x1000 * t;
            ck_assert_uint_eq(run(0x1000), 10 + t);
        }
    ck_assert_uint_eq(s->jit_ic_lookups, 20);
    ck_assert_uint_le(s->jit_ic_misses, 8); /* the rest were hits */
    uint64_t inv = s->jit_invalidations;
    static const uint8_t patch[] = { 0xb8, 99 };
    put(0x3000, patch, sizeof(patch));
    ck_assert_uint_eq(s->jit_invalidations, inv + 1);
    for (int r = 0; r < 3; r++) {
        cpu.gpr[R_EBX] = 0x3000;
        ck_assert_uint_eq(run(0x1000), 99);
        cpu.gpr[R_EBX] = 0x4000;
        ck_assert_uint_eq(run(0x1000), 12);
    }
    teardown();
}
END_TEST

/* Two targets whose EIPs pick the same pair of entries (jit/x64/ic.c's
 * hash: the top 4 bits of EIP * 0x9e3779b1 are 6 for both) both stay in
 * the table: taking turns, they miss only until each was filled once. */
START_TEST(ic_pairs)
{
    setup_with(&(struct jit_config){ .threshold = 0, .stats = true });
    const struct jit_stats *s = jit_get_stats(jit);
    static const uint8_t jmp_ebx[] = { 0xff, 0xe3 };
    static const uint32_t at[2] = { 0x3000, 0x12000 };
    put(0x1000, jmp_ebx, sizeof(jmp_ebx));
    for (int t = 0; t < 2; t++)
        put_mov_hlt(at[t], (uint8_t)(20 + t));
    for (int r = 0; r < 20; r++) {
        cpu.gpr[R_EBX] = at[r & 1];
        ck_assert_uint_eq(run(0x1000), 20 + (r & 1));
    }
    ck_assert_uint_eq(s->jit_ic_lookups, 20);
    ck_assert_uint_le(s->jit_ic_misses, 4); /* each target: once untranslated, once to fill */
    teardown();
}
END_TEST

/* The exits of ic_remap and ic_cr3: at 0x1000 jmp RS_WIN (to another
 * page), at 0x1100 jmp ebx; each run of them gives EAX `want`. */
static void put_ic_sites(void)
{
    int32_t rel = RS_WIN - (0x1000 + 5);
    uint8_t jmp_win[] = { 0xe9, (uint8_t)rel, (uint8_t)(rel >> 8), (uint8_t)(rel >> 16), (uint8_t)(rel >> 24) };
    static const uint8_t jmp_ebx[] = { 0xff, 0xe3 };
    put(0x1000, jmp_win, sizeof(jmp_win));
    put(0x1100, jmp_ebx, sizeof(jmp_ebx));
}

static void run_ic_sites(uint32_t want)
{
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(run(0x1000), want);
        cpu.gpr[R_EBX] = RS_WIN;
        ck_assert_uint_eq(run(0x1100), want);
    }
}

/* Inline caches are checked by cpu->lin_gen: a jump to another page, and
 * an indirect one, after the target page is mapped elsewhere (INVLPG),
 * and after the generation wrapped round to the one the caches were
 * filled under. */
static void ic_remap_with(bool wrap)
{
    setup_with(&(struct jit_config){ .threshold = 0, .stats = true });
    for (uint32_t k = 0; k < 1024; k++)
        phys_write(&mem, RS_PT0 + 4 * k, 4, k << 12 | 3);
    phys_write(&mem, RS_PD, 4, RS_PT0 | 3);
    for (int k = 0; k < 2; k++)
        put_mov_hlt(RS_COPY + 0x1000 * (uint32_t)k, (uint8_t)(1 + k));
    put_ic_sites();
    cpu_write_cr3(&cpu, RS_PD);
    cpu_write_cr0(&cpu, cpu.cr0 | CR0_PG);
    const struct jit_stats *s = jit_get_stats(jit);
    map_copy(0);
    cpu.lin_gen = 0;
    run_ic_sites(1);
    ck_assert_uint_eq(s->jit_ic_lookups, 6);
    ck_assert_uint_le(s->jit_ic_misses, 3); /* the first JMP's target was not translated yet */
    map_copy(1);
    if (wrap) {
        uint64_t flushes = s->jit_flushes;
        cpu.lin_gen = UINT32_MAX; /* as after 2^32 - 1 more bumps: the next is 0 again */
        cpu_lin_bump(&cpu);
        ck_assert_uint_eq(cpu.lin_gen, 0);
        ck_assert_uint_eq(s->jit_flushes, flushes + 1);
    } else {
        ck_assert_uint_ne(cpu.lin_gen, 0);
    }
    run_ic_sites(2);
    teardown();
}

/* With CR4.PGE a CR3 load keeps the jump cache's global entries and
 * drops the others without a jump-generation bump: the inline caches go
 * by lin_gen, which the load bumps. Two address spaces map the target
 * page (not global) to different code; the site's page is global. */
START_TEST(ic_cr3)
{
    setup_with(&(struct jit_config){ .threshold = 0, .stats = true });
    enum { PD2 = 0x13000, PT2 = 0x14000 };
    for (uint32_t k = 0; k < 1024; k++) { /* identity, global, but RS_WIN: copy 0 or 1 */
        uint32_t pte = k << 12 | 0x103;
        if (k == RS_WIN >> 12)
            pte = RS_COPY | 3;
        phys_write(&mem, RS_PT0 + 4 * k, 4, pte);
        phys_write(&mem, PT2 + 4 * k, 4, k == RS_WIN >> 12 ? (RS_COPY + 0x1000) | 3 : pte);
    }
    phys_write(&mem, RS_PD, 4, RS_PT0 | 3);
    phys_write(&mem, PD2, 4, PT2 | 3);
    for (int k = 0; k < 2; k++)
        put_mov_hlt(RS_COPY + 0x1000 * (uint32_t)k, (uint8_t)(1 + k));
    put_ic_sites();
    cpu_write_cr4(&cpu, cpu.cr4 | CR4_PGE);
    cpu_write_cr3(&cpu, RS_PD);
    cpu_write_cr0(&cpu, cpu.cr0 | CR0_PG);
    const struct jit_stats *s = jit_get_stats(jit);
    for (int round = 0; round < 4; round++) {
        uint32_t want = 1 + (uint32_t)(round & 1);
        uint64_t flushes = cpu.stats.jmp_cache_flushes;
        cpu_write_cr3(&cpu, round & 1 ? PD2 : RS_PD);
        if (round)
            ck_assert_uint_eq(cpu.stats.jmp_cache_flushes, flushes); /* the global entries were kept */
        run_ic_sites(want);
    }
    ck_assert_uint_ge(s->jit_ic_lookups - s->jit_ic_misses, 8); /* the caches were used in each round */
    teardown();
}
END_TEST

/* An exit in a global page keys its table by jmp_gen, which a CR3 load
 * does not bump, and takes global targets only: across switches between
 * two address spaces, the global target stays in it; the target page
 * the address spaces map differently never enters it. */
START_TEST(ic_cr3_global)
{
    setup_with(&(struct jit_config){ .threshold = 2, .stats = true }); /* in the jump cache before translated */
    enum { PD2 = 0x13000, PT2 = 0x14000, GLOB = 0x5000 };
    for (uint32_t k = 0; k < 1024; k++) {
        uint32_t pte = k << 12 | 0x103;
        phys_write(&mem, RS_PT0 + 4 * k, 4, k == RS_WIN >> 12 ? RS_COPY | 3 : pte);
        phys_write(&mem, PT2 + 4 * k, 4, k == RS_WIN >> 12 ? (RS_COPY + 0x1000) | 3 : pte);
    }
    phys_write(&mem, RS_PD, 4, RS_PT0 | 3);
    phys_write(&mem, PD2, 4, PT2 | 3);
    for (int k = 0; k < 2; k++)
        put_mov_hlt(RS_COPY + 0x1000 * (uint32_t)k, (uint8_t)(1 + k));
    put_mov_hlt(GLOB, 7);
    static const uint8_t jmp_ebx[] = { 0xff, 0xe3 };
    put(0x1100, jmp_ebx, sizeof(jmp_ebx));
    cpu_write_cr4(&cpu, cpu.cr4 | CR4_PGE);
    cpu_write_cr3(&cpu, RS_PD);
    cpu_write_cr0(&cpu, cpu.cr0 | CR0_PG);
    const struct jit_stats *s = jit_get_stats(jit);
    for (int round = 0; round < 8; round++) {
        cpu_write_cr3(&cpu, round & 1 ? PD2 : RS_PD);
        uint64_t lookups = s->jit_ic_lookups, misses = s->jit_ic_misses;
        for (int k = 0; k < 3; k++) {
            cpu.gpr[R_EBX] = GLOB;
            ck_assert_uint_eq(run(0x1100), 7);
        }
        if (round >= 4) { /* translated and filled long since: the CR3 load kept it */
            ck_assert_uint_eq(s->jit_ic_lookups - lookups, 3);
            ck_assert_uint_eq(s->jit_ic_misses - misses, 0);
        }
        misses = s->jit_ic_misses;
        for (int k = 0; k < 3; k++) {
            cpu.gpr[R_EBX] = RS_WIN;
            ck_assert_uint_eq(run(0x1100), 1 + (uint32_t)(round & 1));
        }
        if (round >= 4)
            ck_assert_uint_eq(s->jit_ic_misses - misses, 3); /* never kept: not a global target */
    }
    teardown();
}
END_TEST

START_TEST(ic_remap)
{
    ic_remap_with(false);
    ic_remap_with(true);
}
END_TEST

/* ---- x87 loops whose ghosts move ---- */

/* The inner loop of the bench workload's nbody_ld (80-bit bodies, 0x54
 * bytes each: x y z at 0, 0xc, 0x18, velocities at 0x24.., mass at 0x48;
 * body i's position at [esp], [esp+0x10], [esp+0x20], its mass in ST0,
 * its velocities at [edx-0x30].., the others' at [eax-0x54].., dt at
 * [0x103468]), then fnsave [edi]; hlt. Its back edge pops registers the
 * cache keeps as ghosts (popped values struct cpu's empty slots must still
 * receive), and which ones it holds there depends on what it started with:
 * the loop translation stores the ghosts its head does not take and loads
 * those it does (x87_cache.c, adapt_ghosts). */
static const uint8_t prog_nbody_ld[] = {
    0x83, 0xc0, 0x54, 0xdb, 0x68, 0xac, 0xdb, 0x6c, 0x24, 0x20, 0xde, 0xe1, 0xdb, 0x2c, 0x24, 0xdb, 0x68, 0xb8, 0xde,
    0xe9, 0xdb, 0x6c, 0x24, 0x10, 0xdb, 0x68, 0xc4, 0xde, 0xe9, 0xd9, 0xc2, 0xd8, 0xcb, 0xd9, 0xc2, 0xd8, 0xcb, 0xde,
    0xc1, 0xd9, 0xc1, 0xd8, 0xca, 0xde, 0xc1, 0xd9, 0xc0, 0xd9, 0xfa, 0xde, 0xc9, 0xdc, 0x3d, 0x68, 0x34, 0x10, 0x00,
    0xdb, 0x68, 0xf4, 0xd9, 0xc0, 0xd8, 0xcd, 0xd8, 0xca, 0xdb, 0x6a, 0xd0, 0xde, 0xe1, 0xdb, 0x7a, 0xd0, 0xd9, 0xc0,
    0xd8, 0xcc, 0xd8, 0xca, 0xdb, 0x6a, 0xdc, 0xde, 0xe1, 0xdb, 0x7a, 0xdc, 0xd8, 0xca, 0xd8, 0xc9, 0xdb, 0x6a, 0xe8,
    0xde, 0xe1, 0xdb, 0x7a, 0xe8, 0xd9, 0xcb, 0xd8, 0xcc, 0xd8, 0xcb, 0xdb, 0x68, 0xd0, 0xde, 0xc1, 0xdb, 0x78, 0xd0,
    0xd9, 0xc9, 0xd8, 0xcb, 0xd8, 0xca, 0xdb, 0x68, 0xdc, 0xde, 0xc1, 0xdb, 0x78, 0xdc, 0xd8, 0xca, 0xde, 0xc9, 0xdb,
    0x68, 0xe8, 0xde, 0xc1, 0xdb, 0x78, 0xe8, 0x39, 0xc3, 0x0f, 0x85, 0x6c, 0xff, 0xff, 0xff, /* jne: its start */
    0xdd, 0x37, 0xf4,                                                                         /* fnsave [edi]; hlt */
};
/* 0x1000: fninit; fld tbyte [0x5000]; jmp 0x1100 */
static const uint8_t prog_nbody_entry[] = { 0xdb, 0xe3, 0xdb, 0x2d, 0x00, 0x50, 0x00, 0x00, 0xe9, 0xf3, 0x00, 0x00, 0x00 };

#define NB_BODIES 0x20000u
#define NB_STATE 0x9000u

/* An 80-bit value v (an exact double) at `at`. */
static void put80(uint32_t at, double v)
{
    uint64_t mant = 0;
    uint16_t se = 0;
    if (v != 0) {
        int e;
        double m = frexp(fabs(v), &e); /* [0.5, 1) */
        mant = (uint64_t)ldexp(m, 64);
        se = (uint16_t)((e - 1 + 16383) | (v < 0 ? 0x8000 : 0));
    }
    phys_write_buf(&mem, at, &mant, 8);
    phys_write_buf(&mem, at + 8, &se, 2);
}

/* The machine of prog_nbody_ld: code, bodies, body 0's position and
 * mass, dt. */
static void nbody_setup(const struct jit_config *cfg)
{
    setup_with(cfg);
    put(0x1000, prog_nbody_entry, sizeof(prog_nbody_entry));
    put(0x1100, prog_nbody_ld, sizeof(prog_nbody_ld));
    for (uint32_t b = 0; b < 5; b++)
        for (uint32_t f = 0; f < 7; f++)
            put80(NB_BODIES + 0x54 * b + 0xc * f, (double)(b + 1) * (f < 6 ? 1.5 : 0.25) - (double)f * 0.625);
    put80(0x5000, 0.25); /* body 0's mass */
    for (uint32_t f = 0; f < 3; f++)
        put80(0x8000 + 0x10 * f, -0.375 * (double)(f + 1));
    static const double dt = 0.0078125;
    phys_write_buf(&mem, 0x103468, &dt, 8);
}

/* Registers for one run from 0x1000 over bodies 1..4 against body 0. */
static void nbody_regs(void)
{
    cpu.gpr[R_EAX] = cpu.gpr[R_EDX] = NB_BODIES + 0x54;
    cpu.gpr[R_EBX] = NB_BODIES + 5 * 0x54;
    cpu.gpr[R_ESP] = 0x8000;
    cpu.gpr[R_EDI] = NB_STATE;
    cpu.eip = 0x1000;
}

/* Runs the loop over bodies 1..4 against body 0 (rounds times, the
 * bodies moving on); the FNSAVE image and the bodies after it into out. */
static void nbody_run(const struct jit_config *cfg, int rounds, uint8_t *out, size_t n)
{
    nbody_setup(cfg);
    for (int r = 0; r < rounds; r++) {
        nbody_regs();
        run(0x1000);
    }
    phys_read_buf(&mem, NB_STATE, out, 108);
    phys_read_buf(&mem, NB_BODIES, out + 108, n - 108);
    if (cfg->threshold == 0)
        ck_assert_uint_gt(jit_get_stats(jit)->jit_x87_loops, 0);
    teardown();
}

/* The x87 registers (all eight, empty ones too: their contents are
 * architectural), TOP and tags after each time slice of `slice`
 * instructions under the JIT: a slice can end at the loop's back edge,
 * which writes back the cache its head starts from. */
struct x87_at {
    uint64_t icount;
    struct f80 st[8];
    uint16_t tw;
    uint8_t top;
};

static int nbody_slices(unsigned slice, struct x87_at *at, int max)
{
    nbody_setup(&(struct jit_config){ .threshold = 0 });
    nbody_regs();
    int n = 0;
    for (int guard = 0; guard < 100000 && n < max; guard++) {
        enum cpu_exit e = cpu_exec(&cpu, slice);
        at[n] = (struct x87_at){ cpu.icount, { { 0 } }, cpu.fpu.tw, cpu.fpu.top };
        for (int r = 0; r < 8; r++)
            at[n].st[r] = cpu.fpu.st[r];
        n++;
        if (e == CPU_EXIT_HALT)
            break;
    }
    teardown();
    return n;
}

START_TEST(x87_loop_ghosts)
{
    uint8_t want[108 + 5 * 0x54], got[sizeof(want)];
    for (int rounds = 1; rounds <= 3; rounds++) {
        nbody_run(&(struct jit_config){ .threshold = 1000000 }, rounds, want, sizeof(want)); /* interpreted */
        nbody_run(&(struct jit_config){ .threshold = 0, .stats = true }, rounds, got, sizeof(got));
        for (size_t k = 0; k < sizeof(want); k++)
            ck_assert_msg(got[k] == want[k], "round %d: byte %zu of the FNSAVE image and bodies: %02x, want %02x",
                          rounds, k, got[k], want[k]);
    }
    /* The state at every exit of the translated code, against the
     * interpreter stepped to the same instruction. */
    static struct x87_at at[400];
    for (unsigned slice = 7; slice <= 61; slice += 9) {
        int n = nbody_slices(slice, at, 400);
        nbody_setup(&(struct jit_config){ .threshold = 1000000 }); /* interpreted, an instruction a block */
        cpu.max_block_insns = 1;
        nbody_regs();
        for (int k = 0; k < n; k++) {
            while (cpu.icount < at[k].icount)
                cpu_exec(&cpu, at[k].icount - cpu.icount);
            ck_assert_uint_eq(cpu.icount, at[k].icount);
            bool same = cpu.fpu.tw == at[k].tw && cpu.fpu.top == at[k].top;
            for (int r = 0; r < 8; r++)
                same &= cpu.fpu.st[r].mant == at[k].st[r].mant && cpu.fpu.st[r].se == at[k].st[r].se;
            ck_assert_msg(same,
                          "slice %u, exit %d (icount %llu): the x87 registers differ from the interpreter's", slice, k,
                          (unsigned long long)at[k].icount);
        }
        teardown();
    }
}
END_TEST

/* ---- icount kept in a host register (x64: R15) across chained blocks ---- */

static uint64_t icount_seen; /* struct cpu's icount when the device was read */

static uint32_t icount_read(void *opaque, uint64_t off, int size)
{
    (void)opaque, (void)off, (void)size;
    icount_seen = cpu.icount;
    return 0x5a;
}

/* 0x1000: nop; nop; jmp 0x1010 / 0x1010: nop; jmp 0x1020 /
 * 0x1020: mov eax, [esi] (the device); rdtsc; hlt */
static const uint8_t prog_ic_a[] = { 0x90, 0x90, 0xeb, 0x0c };
static const uint8_t prog_ic_b[] = { 0x90, 0xeb, 0x0d };
static const uint8_t prog_ic_c[] = { 0x8b, 0x06, 0x0f, 0x31, 0xf4 };

/* What a helper called from translated code reads as the instruction
 * count (a device's clock, RDTSC without a clock of its own: cpu_tsc())
 * is exact, chained blocks' instructions included: five before block C,
 * whether the blocks run interpreted, translated or chained. */
START_TEST(icount_in_calls)
{
    setup_with(&(struct jit_config){ .threshold = 0 });
    static const struct mmio_ops ops = { .read = icount_read, .write = devmem_write };
    ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "icount"), 0);
    put(0x1000, prog_ic_a, sizeof(prog_ic_a));
    put(0x1010, prog_ic_b, sizeof(prog_ic_b));
    put(0x1020, prog_ic_c, sizeof(prog_ic_c));
    const struct jit_stats *s = jit_get_stats(jit);
    for (int k = 0; k < 4; k++) {
        cpu.gpr[R_ESI] = 4u << 20;
        uint64_t start = cpu.icount;
        uint64_t tsc = cpu_tsc(&cpu) - start; /* the TSC's offset from icount */
        run(0x1000);
        ck_assert_uint_eq(icount_seen - start, 5);
        ck_assert_uint_eq((uint32_t)cpu.gpr[R_EAX] - (uint32_t)(start + tsc), 5);
        ck_assert_uint_eq(cpu.icount - start, 8); /* HLT counted */
    }
    ck_assert_uint_ge(s->jit_chained, 2); /* A -> B -> C in one native entry */
    teardown();
}
END_TEST

/* ---- Events raised from inside translated code ---- */

static unsigned writes_seen;

static void exit_on_third(void *opaque, uint64_t off, int size, uint32_t val)
{
    (void)opaque, (void)off, (void)size, (void)val;
    if (++writes_seen == 3)
        cpu_request_exit(&cpu); /* a device asks for the CPU, as the SDL thread would */
}

/* loop: mov [esi], eax; inc ecx; jmp loop (a loop translation whose only
 * way out is its budget check) */
static const uint8_t prog_mmio_loop[] = { 0x89, 0x06, 0x41, 0xeb, 0xfb };

/* An exit request made by a device during a store's slow path must stop
 * the loop at once, not at the end of its budget a million instructions
 * later. cpu_request_exit() stops the block (cpu_stop(): the store's
 * check) and arms the next budget check (cpu_event(): exec_end 0); either
 * alone passes this test, neither fails it. Loop translations, plain
 * chaining and single instructions. */
static void exit_request_with(const struct jit_config *cfg)
{
    setup_with(cfg);
    static const struct mmio_ops ops = { .read = devmem_read, .write = exit_on_third };
    ck_assert_int_eq(phys_add_mmio(&mem, 4u << 20, 0x1000, &ops, NULL, "exit-dev"), 0);
    put(0x1000, prog_mmio_loop, sizeof(prog_mmio_loop));
    for (int round = 0; round < 3; round++) {
        writes_seen = 0;
        cpu.gpr[R_ESI] = 4u << 20;
        cpu.gpr[R_ECX] = 0;
        cpu.eip = 0x1000;
        uint64_t start = cpu.icount;
        ck_assert_int_eq(cpu_exec(&cpu, 1000000), CPU_EXIT_REQUEST);
        ck_assert_uint_le(writes_seen, 4);
        ck_assert_uint_lt(cpu.icount - start, 16);
    }
    teardown();
}

START_TEST(exit_request_in_block)
{
    exit_request_with(&(struct jit_config){ .threshold = 0 });
    exit_request_with(&(struct jit_config){ .threshold = 0, .no_loops = true });
    exit_request_with(&(struct jit_config){ .threshold = 0, .max_insns = 1 });
}
END_TEST

int main(void)
{
    if (!jit_available())
        return 77;
    Suite *s = suite_create("jit");
    TCase *tc = tcase_create("machinery");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, chain_and_dma);
    tcase_add_test(tc, threshold_and_cap);
    tcase_add_test(tc, arena_flush);
    tcase_add_test(tc, indirect_after_flush);
    tcase_add_test(tc, cross_page);
    tcase_add_test(tc, known_bits);
    tcase_add_test(tc, loop_carry);
    tcase_add_test(tc, loop_read_only_regs);
    tcase_add_test(tc, euclid);
    tcase_add_test(tc, ret_stack);
    tcase_add_test(tc, ret_stack_remap);
    tcase_add_test(tc, cross_page_loop);
    tcase_add_test(tc, cross_super_remap);
    tcase_add_test(tc, jump_pieces);
    tcase_add_test(tc, ic_smc);
    tcase_add_test(tc, ic_pairs);
    tcase_add_test(tc, ic_cr3);
    tcase_add_test(tc, ic_cr3_global);
    tcase_add_test(tc, ic_remap);
    tcase_add_test(tc, x87_loop_ghosts);
    tcase_add_test(tc, icount_in_calls);
    tcase_add_test(tc, exit_request_in_block);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
