/*
 * REPE/REPNE CMPS and SCAS (byte, word, dword; both directions) against
 * the host CPU: the same instruction runs natively on copies of the same
 * buffers and in Kestrel, and the count left in ECX, how far ESI/EDI
 * moved and the arithmetic flags of the last comparison must agree.
 *
 * The buffers are built to make the repeat run long: equal runs (or runs
 * without the value) of random length, ending at a random element, placed
 * so that many runs cross a page (the interpreter compares page-contained
 * stretches through host pointers, eight bytes at a time, and must stop,
 * resume and set the flags exactly as one element at a time would), and
 * some longer than one execution's chunk of iterations. KESTREL_ACCEL
 * picks the accelerator (tests/common/accel.h): the string instructions
 * are interpreter handlers under the JIT too, called from translated code.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "mmu/phys.h"
#include "tests/common/accel.h"
#include "tests/common/check_run.h"

#define GDT 0x800u
#define CODE 0x10000u
#define SRC 0x100000u
#define DST 0x300000u
#define SPAN 0x20000u /* bytes of each buffer in use */
#define ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)

static struct phys mem;
static struct cpu cpu;
static struct jit *jit;
static uint8_t src[SPAN], dst[SPAN];

static void setup(void)
{
    ck_assert_int_eq(phys_init(&mem, 8u << 20), 0);
    struct cpu_env env = { 0 };
    ck_assert_int_eq(cpu_init(&cpu, &mem, &env), 0);
    static const uint64_t gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
    phys_write_buf(&mem, GDT, gdt, sizeof(gdt));
    cpu.gdtr = (struct dtr){ GDT, sizeof(gdt) - 1 };
    cpu_set_flat32(&cpu);
    cpu_update_mode(&cpu);
    jit = test_accel_attach(&cpu);
}

static void teardown(void)
{
    test_accel_detach(jit);
    cpu_free(&cpu);
    phys_free(&mem);
}

struct result {
    uint64_t cx, si, di; /* count left, bytes ESI and EDI moved */
    uint32_t flags;      /* arithmetic flags */
};

/* The instruction on the host: REPE (0xf3) or REPNE (0xf2) with opcode
 * 0xa6/0xa7 (CMPS) or 0xae/0xaf (SCAS); 0x66 for words. */
#define HOST_REP(PFX, INSN)                                                                                            \
    __asm__ volatile("test %[dn], %[dn]\n\tjz 1f\n\tstd\n1:\t" PFX INSN "\n\tpushfq\n\tpopq %[fl]\n\tcld"            \
                     : "+S"(s), "+D"(d), "+c"(n), [fl] "=r"(fl)                                                        \
                     : "a"(acc), [dn] "r"(dn)                                                                          \
                     : "memory", "cc")

static struct result host_run(int size, bool scas, bool repne, bool down, const uint8_t *s0, const uint8_t *d0, uint64_t n0,
                              uint32_t acc)
{
    const uint8_t *s = s0, *d = d0;
    uint64_t n = n0, fl, dn = down;
    if (scas) {
        if (repne) {
            if (size == 1) HOST_REP("repne ", "scasb");
            else if (size == 2) HOST_REP("repne ", "scasw");
            else HOST_REP("repne ", "scasl");
        } else {
            if (size == 1) HOST_REP("repe ", "scasb");
            else if (size == 2) HOST_REP("repe ", "scasw");
            else HOST_REP("repe ", "scasl");
        }
    } else {
        if (repne) {
            if (size == 1) HOST_REP("repne ", "cmpsb");
            else if (size == 2) HOST_REP("repne ", "cmpsw");
            else HOST_REP("repne ", "cmpsl");
        } else {
            if (size == 1) HOST_REP("repe ", "cmpsb");
            else if (size == 2) HOST_REP("repe ", "cmpsw");
            else HOST_REP("repe ", "cmpsl");
        }
    }
    return (struct result){ n, (uint64_t)(s - s0), (uint64_t)(d - d0), (uint32_t)fl & ARITH };
}

static struct result guest_run(int size, bool scas, bool repne, bool down, uint32_t soff, uint32_t doff, uint32_t n,
                               uint32_t acc, uint32_t flags_before)
{
    uint8_t code[8];
    int k = 0;
    code[k++] = down ? 0xfd : 0xfc;
    if (size == 2)
        code[k++] = 0x66;
    code[k++] = repne ? 0xf2 : 0xf3;
    code[k++] = (uint8_t)((scas ? 0xae : 0xa6) + (size > 1));
    code[k++] = 0xf4; /* hlt */
    phys_write_buf(&mem, CODE, code, (size_t)k);
    cpu.eip = CODE;
    cpu.gpr[R_ESI] = SRC + soff;
    cpu.gpr[R_EDI] = DST + doff;
    cpu.gpr[R_ECX] = n;
    cpu.gpr[R_EAX] = acc;
    cpu_set_eflags(&cpu, flags_before, ARITH);
    cpu.halted = 0;
    for (int t = 0; t < 1000 && !cpu.halted; t++)
        cpu_exec(&cpu, 100000);
    ck_assert_msg(cpu.halted && cpu.eip == CODE + (uint32_t)k, "guest did not reach its HLT (eip %#x)", (unsigned)cpu.eip);
    uint32_t si = (uint32_t)cpu.gpr[R_ESI] - (SRC + soff), di = (uint32_t)cpu.gpr[R_EDI] - (DST + doff);
    return (struct result){ (uint32_t)cpu.gpr[R_ECX], (uint64_t)(int64_t)(int32_t)si, (uint64_t)(int64_t)(int32_t)di,
                            cpu_get_eflags(&cpu) & ARITH };
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* One random case: a run of `len` elements that keep the repeat going
 * from the start element, then one that ends it (unless the count stops
 * first). */
static void one_case(int size, bool scas, bool repne, bool down)
{
    for (uint32_t k = 0; k < SPAN; k++)
        src[k] = (uint8_t)rnd();
    memcpy(dst, src, SPAN);
    uint32_t acc = rnd();
    if (size == 1)
        acc &= 0xff;
    else if (size == 2)
        acc &= 0xffff;
    /* Start near a page boundary half of the time (runs then cross it);
     * the longest run (13,100 dwords) stays inside the buffers either way. */
    uint32_t start = 0xf000 + (rnd() % 0x3000);
    if (rnd() & 1)
        start = (start & ~0xfffu) + 0x1000 - (rnd() % 64);
    start &= ~(uint32_t)(size - 1) | (rnd() & 1 ? 0u : 3u); /* aligned or not */
    uint32_t len = rnd() % 4 == 0 ? 4096 + rnd() % 9000 : rnd() % 300;
    uint32_t n = len + (rnd() % 3 ? 1 + rnd() % 8 : 0) - (rnd() % 8 == 0 ? rnd() % (len + 1) : 0);
    int step = down ? -size : size;
    /* Make elements start .. start + step * (len - 1) keep the repeat
     * going, and the next one stop it. */
    for (uint32_t e = 0; e <= len; e++) {
        uint32_t at = start + (uint32_t)(step * (int)e);
        bool go = e < len;
        uint8_t *a = scas ? NULL : src + at, *b = dst + at;
        for (int j = 0; j < size; j++) {
            uint8_t want = scas ? (uint8_t)(acc >> (8 * j)) : a[j];
            if (go != repne) /* REPE goes on while equal, REPNE while different */
                b[j] = want;
            else if (b[j] == want)
                b[j] = (uint8_t)(want ^ (1u << (rnd() % 8)));
        }
        if (go == repne) { /* a differing element: at least one byte differs */
            bool diff = false;
            for (int j = 0; j < size; j++)
                diff |= b[j] != (scas ? (uint8_t)(acc >> (8 * j)) : src[at + (uint32_t)j]);
            if (!diff)
                b[0] ^= 1;
        }
    }
    phys_write_buf(&mem, SRC, src, SPAN);
    phys_write_buf(&mem, DST, dst, SPAN);
    uint32_t flags_before = rnd() & ARITH;
    struct result h = host_run(size, scas, repne, down, src + start, dst + start, n, acc);
    struct result g = guest_run(size, scas, repne, down, start, start, n, acc, flags_before);
    const char *what = scas ? "scas" : "cmps";
    ck_assert_msg(g.cx == h.cx && g.di == h.di && (scas || g.si == h.si),
                  "%s%s size %d %s start %#x len %u n %u: guest ecx %u edi %+lld esi %+lld, host ecx %u edi %+lld "
                  "esi %+lld",
                  repne ? "repne " : "repe ", what, size, down ? "down" : "up", start, len, n, (unsigned)g.cx,
                  (long long)g.di, (long long)g.si, (unsigned)h.cx, (long long)h.di, (long long)h.si);
    if (n) /* with a zero count the flags are left alone */
        ck_assert_msg(g.flags == h.flags, "%s%s size %d %s start %#x len %u n %u: guest flags %#x, host %#x",
                      repne ? "repne " : "repe ", what, size, down ? "down" : "up", start, len, n, g.flags, h.flags);
    else
        ck_assert_uint_eq(g.flags, flags_before);
}

START_TEST(rep_compare_against_host)
{
    int v = _i; /* size, kind, prefix, direction */
    int size = 1 << (v % 3);
    bool scas = (v / 3) & 1, repne = (v / 6) & 1, down = (v / 12) & 1;
    for (int k = 0; k < 40; k++)
        one_case(size, scas, repne, down);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rep_cmp");
    TCase *tc = tcase_create("host");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, rep_compare_against_host, 0, 24);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
