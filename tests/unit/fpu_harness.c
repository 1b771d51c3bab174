/*
 * The x87/MMX differential harness: see fpu_harness.h.
 */
#include "tests/unit/fpu_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/block.h"
#include "mmu/phys.h"
#include "tests/common/accel.h"

int fpu_quick;
uint64_t fpu_seed = 0x6b657374726c3837ull;

void harness_args(int argc, char **argv)
{
    for (int k = 1; k < argc; k++)
        if (!strcmp(argv[k], "--quick"))
            fpu_quick = 1;
    const char *s = getenv("FPU_SEED");
    if (s)
        fpu_seed = strtoull(s, NULL, 0);
}

void prog_bytes(struct prog *p, const uint8_t *b, int n)
{
    if (p->n + n > (int)sizeof(p->b) - 1) {
        fprintf(stderr, "fpu harness: program too long\n");
        abort();
    }
    memcpy(p->b + p->n, b, (size_t)n);
    p->n += n;
}

void prog_prologue(struct prog *p, int nload, bool sahf)
{
    p->n = 0;
    PB(p, 0xdb, 0xe3);                         /* fninit */
    PB(p, 0xd9, 0xa3, D_INIT & 0xff, D_INIT >> 8, 0, 0); /* fldenv [ebx+D_INIT] */
    PB(p, 0xb0, 0x7f, 0x04, 0x01); /* mov al,0x7f; add al,1: OF SF AF set, ZF PF CF clear */
    if (sahf)
        PB(p, 0x8a, 0x63, D_AHIN, 0x9e); /* mov ah,[ebx+D_AHIN]; sahf */
    for (int k = nload - 1; k >= 0; k--) {
        int off = D_OPS + 16 * k;
        /* fld tword [ebx+disp]: disp32 form for offsets past 127 */
        PB(p, 0xdb, 0xab, (uint8_t)off, (uint8_t)(off >> 8), 0, 0);
    }
}

void prog_init_env(uint8_t *data, struct rng *r)
{
    uint8_t *e = data + D_INIT;
    memset(e, 0, 28);
    memcpy(e, data + D_CW, 2);
    uint16_t sw = (uint16_t)(rng_next(r) & (0x4000 | 0x0700)), tw = 0xffff;
    memcpy(e + 4, &sw, 2);
    memcpy(e + 8, &tw, 2);
}

void prog_epilogue(struct prog *p)
{
    PB(p, 0x9f, 0x88, 0x63, D_EFL);       /* lahf; mov [ebx+D_EFL],ah */
    PB(p, 0x0f, 0x90, 0x43, D_OF);        /* seto [ebx+D_OF] */
    PB(p, 0xdd, 0x7b, D_SW);              /* fnstsw [ebx+D_SW] */
    PB(p, 0xd9, 0x73, D_ENV);             /* fnstenv [ebx+D_ENV] */
    PB(p, 0xdb, 0xe2);                    /* fnclex */
    PB(p, 0xd9, 0x6b, D_CWM);             /* fldcw [ebx+D_CWM] */
    for (int k = 0; k < 3; k++)
        PB(p, 0xdb, 0x7b, (uint8_t)(D_R + 10 * k)); /* fstp tword [ebx+D_R+10k] */
    PB(p, 0xdd, 0x7b, D_SW2);             /* fnstsw [ebx+D_SW2] */
    PB(p, 0xdb, 0xe3);                    /* fninit */
}

/* ---- Native execution ---- */

#if defined(__x86_64__)
bool fpu_host_is_x86(void) { return true; }

static uint8_t *native_page;
static struct cpu *kcpu;

/*
 * Give the host's x87 the physical registers Kestrel's has. Programs start
 * with FNINIT, which keeps register contents, and some then expose a
 * register nothing wrote (FLDENV/FRSTOR with another TOP, FINCSTP): both
 * must find the same bits there. Without this they agree only while
 * nothing but the previous native run touched the host's x87; the JIT
 * runs guest x87 code on it too.
 */
static void host_take_registers(void)
{
    if (!kcpu)
        return;
    uint8_t img[108] = { 0 }; /* FRSTOR's 32-bit image: CW, SW, TW (0: all valid), pointers, ST(0..7) */
    uint16_t cw = 0x037f, sw = (uint16_t)(kcpu->fpu.top << 11);
    memcpy(img, &cw, 2);
    memcpy(img + 4, &sw, 2);
    for (int i = 0; i < 8; i++) {
        const struct f80 *r = &kcpu->fpu.st[(kcpu->fpu.top + i) & 7];
        memcpy(img + 28 + 10 * i, &r->mant, 8);
        memcpy(img + 36 + 10 * i, &r->se, 2);
    }
    __asm__ volatile("frstor %0" : : "m"(img) : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
}

void run_native(const struct prog *p, uint8_t *data)
{
    if (!native_page) {
        native_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (native_page == MAP_FAILED) {
            perror("mmap");
            abort();
        }
    }
    memcpy(native_page, p->b, (size_t)p->n);
    native_page[p->n] = 0xc3; /* ret */
    host_take_registers();
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "push %%rbx\n\t"
                     "mov %%rdi, %%rbx\n\t"
                     "call *%%rsi\n\t"
                     "pop %%rbx\n\t"
                     "add $128, %%rsp"
                     :
                     : "D"(data), "S"(native_page)
                     : "rax", "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
                       "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7");
}
#else
bool fpu_host_is_x86(void) { return false; }
void run_native(const struct prog *p, uint8_t *data)
{
    (void)p;
    (void)data;
    abort();
}
#endif

/* ---- Kestrel execution ---- */

#define K_RAM (4u << 20)
#define K_DATA 0x8000u
#define K_CODE 0x10000u
#define K_SLOT 0x180u
#define K_SLOTS ((K_RAM - K_CODE) / K_SLOT)

static struct phys kmem;
#if !defined(__x86_64__)
static struct cpu *kcpu;
#endif
/* Programs already placed in guest memory, by content. */
struct slot {
    uint32_t hash;
    int n;
    uint8_t b[320];
};
static struct slot *slots;
static unsigned nslots;
/* Open-addressed index by content hash: slot number + 1, 0 = free. */
#define K_INDEX 32768u
static uint32_t *slot_index;

struct cpu *kestrel_cpu(void) { return kcpu; }
void kestrel_write(uint32_t pa, const void *p, unsigned n) { phys_write_buf(&kmem, pa, p, n); }
void kestrel_read(uint32_t pa, void *p, unsigned n) { phys_read_buf(&kmem, pa, p, n); }

bool kestrel_run_to_hlt(void)
{
    kcpu->halted = 0;
    return cpu_exec(kcpu, 100000) == CPU_EXIT_HALT;
}

void harness_init(void)
{
    if (kcpu)
        return;
    if (phys_init(&kmem, K_RAM) != 0)
        abort();
    kcpu = calloc(1, sizeof(*kcpu));
    slots = calloc(K_SLOTS, sizeof(*slots));
    slot_index = calloc(K_INDEX, sizeof(*slot_index));
    struct cpu_env env = { 0 };
    if (!kcpu || !slots || !slot_index || cpu_init(kcpu, &kmem, &env) != 0)
        abort();
    test_accel_attach(kcpu); /* KESTREL_ACCEL; lives as long as the process */
    cpu_set_flat32(kcpu);
}

static uint32_t hash_prog(const struct prog *p)
{
    uint32_t h = 2166136261u;
    for (int k = 0; k < p->n; k++)
        h = (h ^ p->b[k]) * 16777619u;
    return h;
}

/* Guest address of the program, placing it on first use. */
static uint32_t place(const struct prog *p)
{
    uint32_t h = hash_prog(p), j;
    for (j = h & (K_INDEX - 1); slot_index[j]; j = (j + 1) & (K_INDEX - 1)) {
        const struct slot *s = &slots[slot_index[j] - 1];
        if (s->hash == h && s->n == p->n && !memcmp(s->b, p->b, (size_t)p->n))
            return K_CODE + (slot_index[j] - 1) * K_SLOT;
    }
    if (nslots == K_SLOTS) {
        /* Start over: the old code is overwritten, so drop its blocks. */
        nslots = 0;
        memset(slot_index, 0, K_INDEX * sizeof(*slot_index));
        blkcache_flush(kcpu->cache);
        cpu_tlb_flush(kcpu);
        for (j = h & (K_INDEX - 1); slot_index[j]; j = (j + 1) & (K_INDEX - 1))
            ;
    }
    slot_index[j] = nslots + 1;
    struct slot *s = &slots[nslots];
    s->hash = h;
    s->n = p->n;
    memcpy(s->b, p->b, (size_t)p->n);
    uint8_t code[321];
    memcpy(code, p->b, (size_t)p->n);
    code[p->n] = 0xf4; /* hlt */
    uint32_t addr = K_CODE + nslots * K_SLOT;
    phys_write_buf(&kmem, addr, code, (size_t)p->n + 1);
    nslots++;
    return addr;
}

void run_kestrel(const struct prog *p, uint8_t *data)
{
    harness_init();
    uint32_t addr = place(p);
    phys_write_buf(&kmem, K_DATA, data, D_SIZE);
    kcpu->gpr[R_EBX] = K_DATA;
    kcpu->eip = addr;
    kcpu->halted = 0;
    enum cpu_exit x = cpu_exec(kcpu, 100000);
    if (x != CPU_EXIT_HALT || kcpu->eip != addr + (uint32_t)p->n + 1) {
        fprintf(stderr, "fpu harness: program did not reach its HLT (exit %d, eip %#x, want %#x, vector %d)\n", x,
                (unsigned)kcpu->eip, addr + (unsigned)p->n + 1, kcpu->exc_vector);
        abort();
    }
    phys_read_buf(&kmem, K_DATA, data, D_SIZE);
}

/* ---- Random operands ---- */

uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

void put_f80(uint8_t *d, struct f80 v)
{
    memcpy(d, &v.mant, 8);
    memcpy(d + 8, &v.se, 2);
}

struct f80 get_f80(const uint8_t *d)
{
    struct f80 v;
    memcpy(&v.mant, d, 8);
    memcpy(&v.se, d + 8, 2);
    return v;
}

static struct f80 mk(int s, unsigned e, uint64_t m)
{
    struct f80 v = { m, (uint16_t)((s ? 0x8000 : 0) | (e & 0x7fff)) };
    return v;
}

/* A significand with patterns that land near rounding points for 24, 53
 * and 64 bits, or random. */
static uint64_t gen_mant(struct rng *r)
{
    uint64_t m = rng_next(r) | (1ull << 63);
    switch (rng_below(r, 8)) {
    case 0: return (m & ~0xffffffffffull) | (rng_below(r, 2) ? 0x8000000000ull : 0x7fffffffffull); /* 24-bit tie */
    case 1: return (m & ~0x7ffull) | (rng_below(r, 2) ? 0x400u : 0x3ffu);                          /* 53-bit tie */
    case 2: return (m & ~0xffffffull) | (rng_below(r, 3) == 0 ? 0xffffffull : 0);
    case 3: return 0x8000000000000000ull | (rng_below(r, 2) ? 0 : rng_next(r) >> 40);
    case 4: return ~0ull << rng_below(r, 64);
    default: return m;
    }
}

struct f80 gen_f80_range(struct rng *r, int emin, int emax, bool neg_ok)
{
    unsigned e = (unsigned)(emin + (int)rng_below(r, (uint32_t)(emax - emin + 1)));
    return mk(neg_ok ? (int)rng_below(r, 2) : 0, e, gen_mant(r));
}

struct f80 gen_f80(struct rng *r)
{
    int s = (int)rng_below(r, 2);
    unsigned k = rng_below(r, 100);
    if (k < 10) {
        static const struct { unsigned e; uint64_t m; } sp[] = {
            { 0, 0 },                              /* zero */
            { 0x7fff, 0x8000000000000000ull },     /* infinity */
            { 0x7fff, 0xc000000000000000ull },     /* indefinite-like QNaN */
            { 0x7fff, 0xc000000000000001ull },     /* QNaN */
            { 0x7fff, 0x8000000000000001ull },     /* SNaN */
            { 0x7fff, 0x4000000000000000ull },     /* pseudo-NaN */
            { 0x7fff, 0 },                         /* pseudo-infinity */
            { 0x3fff, 0x8000000000000000ull },     /* 1.0 */
            { 0x7ffe, 0xffffffffffffffffull },     /* largest */
            { 1, 0x8000000000000000ull },          /* smallest normal */
            { 0, 0x8000000000000000ull },          /* pseudo-denormal */
            { 0, 1 },                              /* smallest denormal */
        };
        unsigned j = rng_below(r, sizeof(sp) / sizeof(sp[0]));
        uint64_t m = sp[j].m;
        if (j >= 3 && j <= 5 && rng_below(r, 2))
            m ^= rng_next(r) & 0x3fffffffffffffffull & (j == 5 ? ~0ull : ~1ull);
        return mk(s, sp[j].e, m);
    }
    if (k < 14)
        return mk(s, 0, rng_next(r) >> rng_below(r, 64));                 /* denormal */
    if (k < 16)
        return mk(s, 0, (rng_next(r) >> rng_below(r, 64)) | (1ull << 63)); /* pseudo-denormal */
    if (k < 18)
        return mk(s, 1 + rng_below(r, 0x7ffe), rng_next(r) >> 1);          /* unnormal */
    if (k < 22)
        return mk(s, 1 + rng_below(r, 80), gen_mant(r));                   /* tiny normal */
    if (k < 26)
        return mk(s, 0x7ffe - rng_below(r, 80), gen_mant(r));              /* huge normal */
    if (k < 30)
        return mk(s, rng_below(r, 0x7fff), gen_mant(r));                   /* any normal */
    return mk(s, 0x3fff - 70 + rng_below(r, 141), gen_mant(r));
}

struct f80 gen_f80_near(struct rng *r, struct f80 a)
{
    unsigned e = a.se & 0x7fff;
    struct f80 b = a;
    switch (rng_below(r, 4)) {
    case 0: b.mant ^= rng_next(r) >> rng_below(r, 64); break; /* same exponent */
    case 1: b.se = (uint16_t)((a.se & 0x8000) | ((e + rng_below(r, 130) - 65) & 0x7fff)); break;
    case 2: b.mant += rng_below(r, 5) - 2; break;
    default: b.se ^= 0x8000; b.mant ^= rng_next(r) >> (40 + rng_below(r, 24)); break;
    }
    if (rng_below(r, 2))
        b.se ^= 0x8000;
    return b;
}

uint16_t gen_cw(struct rng *r)
{
    unsigned masks = rng_below(r, 4) ? 0x3f : (unsigned)(rng_next(r) & 0x3f);
    return (uint16_t)(0x40 | masks | rng_below(r, 4) << 8 | rng_below(r, 4) << 10);
}

/* ---- Comparison ---- */

int data_diff(const uint8_t *a, const uint8_t *b)
{
    for (int k = 0; k < D_SIZE; k++) {
        if (k >= D_ENV + 12 && k < D_ENV + 28)
            continue; /* FIP/FCS/FOP/FDP/FDS: the host (64-bit mode) differs */
        if (k >= D_SAVE + 12 && k < D_SAVE + 28)
            continue;
        if (a[k] != b[k])
            return k;
    }
    return -1;
}

static void pr80(const char *what, const uint8_t *d)
{
    struct f80 v = get_f80(d);
    printf("  %-6s %04x %016llx\n", what, v.se, (unsigned long long)v.mant);
}

void dump_case(const char *name, uint64_t seed, int iter, const uint8_t *in, const uint8_t *host, const uint8_t *kes,
               int nops)
{
    uint16_t cw, sw_h, sw_k, sw2_h, sw2_k;
    memcpy(&cw, in + D_CW, 2);
    memcpy(&sw_h, host + D_SW, 2);
    memcpy(&sw_k, kes + D_SW, 2);
    memcpy(&sw2_h, host + D_SW2, 2);
    memcpy(&sw2_k, kes + D_SW2, 2);
    int off = data_diff(host, kes);
    printf("MISMATCH %s seed=%#llx iter=%d (replay: FPU_SEED=%#llx) cw=%04x first diff at +%#x\n", name,
           (unsigned long long)seed, iter, (unsigned long long)fpu_seed, cw, off);
    for (int k = 0; k < nops; k++) {
        char t[16];
        snprintf(t, sizeof(t), "op%d", k);
        pr80(t, in + D_OPS + 16 * k);
    }
    printf("  mem    ");
    for (int k = 0; k < 16; k++)
        printf("%02x", in[D_MEM + k]);
    printf("\n  host: sw=%04x sw2=%04x tw=%02x%02x efl=%02x/%d mem=", sw_h, sw2_h, host[D_ENV + 9], host[D_ENV + 8],
           host[D_EFL], host[D_OF]);
    for (int k = 0; k < 16; k++)
        printf("%02x", host[D_MEM + k]);
    printf("\n");
    for (int k = 0; k < 3; k++)
        pr80("h.st", host + D_R + 10 * k);
    printf("  kest: sw=%04x sw2=%04x tw=%02x%02x efl=%02x/%d mem=", sw_k, sw2_k, kes[D_ENV + 9], kes[D_ENV + 8],
           kes[D_EFL], kes[D_OF]);
    for (int k = 0; k < 16; k++)
        printf("%02x", kes[D_MEM + k]);
    printf("\n");
    for (int k = 0; k < 3; k++)
        pr80("k.st", kes + D_R + 10 * k);
}
