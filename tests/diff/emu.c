/*
 * Emulator runner: one struct cpu on a 4 MiB struct phys, set up the way
 * the native runner's process looks to its code (see proto.h):
 *
 *   - flat 32-bit protected mode (cpu_set_flat32), then CPL 3 with user
 *     code/data descriptors at the very selectors the native process has
 *     (so pushing or storing a segment register gives the same value);
 *   - LDT entry 0 with base DATA_ADDR, loaded in ES and FS, and entry 1, the
 *     16-bit code segment at CODE_ADDR that STATE_CODE16 sequences run in;
 *   - a GDT, LDT, IDT and TSS in a system area (SYS_ADDR) the tests never
 *     touch. Every IDT vector 0..31 is an interrupt gate (DPL 3, so INT3
 *     works from CPL 3) to a one-byte HLT stub at CPL 0, entered on the TSS
 *     ring-0 stack: delivering the exception that ends a run leaves the
 *     user stack alone, as the native signal on an alternate stack does.
 *
 * After cpu_exec() stops at the HLT, the stub's address names the vector,
 * and the user EIP, EFLAGS and ESP are read from the ring-0 frame.
 */
#include "tests/diff/emu.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/except.h"
#include "cpu/seg.h"
#include "tests/common/accel.h"

#define RAM_SIZE (4u << 20)
#define SYS_ADDR 0x00300000u
#define GDT_OFF 0x000u /* 32 descriptors */
#define LDT_OFF 0x100u
#define IDT_OFF 0x200u /* 32 gates */
#define TSS_OFF 0x300u
#define STUB_OFF 0x400u /* 32 HLTs */
#define KSTACK_TOP 0x2000u
#define GDT_ENTRIES 32
#define NVEC 32

struct emu {
    struct phys mem;
    struct cpu cpu;
    struct diff_hello sel; /* user selectors */
    uint16_t kcs, kds, tss, ldt;
    uint32_t prev_len;     /* code bytes of the previous run to clear */
    struct jit *jit;       /* KESTREL_ACCEL (tests/common/accel.h) */
};

static uint64_t make_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint32_t lo = (base << 16) | (limit & 0xffff);
    uint32_t hi = (base & 0xff000000u) | ((uint32_t)(flags & 0xf) << 20) | (limit & 0xf0000u) |
                  ((uint32_t)access << 8) | ((base >> 16) & 0xff);
    return (uint64_t)hi << 32 | lo;
}

static uint16_t attr_of(uint8_t access, uint8_t flags)
{
    return (uint16_t)(access | (uint16_t)(flags & 0xf) << 12);
}

/* Access byte and flags nibble of a descriptor from the native LAR value. */
static uint8_t lar_access(uint32_t lar) { return (uint8_t)(lar >> 8); }
static uint8_t lar_flags(uint32_t lar) { return (uint8_t)((lar >> 20) & 0xf); }

static void put64(struct emu *e, uint32_t addr, uint64_t v)
{
    memcpy(e->mem.ram + addr, &v, 8);
}

/* Lowest GDT index at or above `from` that no user selector uses. */
static int free_index(const struct emu *e, int from)
{
    for (int i = from; i < GDT_ENTRIES; i++)
        if (i != e->sel.cs >> 3 && i != e->sel.ds >> 3 && i != e->sel.ss >> 3 && i != e->sel.gs >> 3)
            return i;
    return -1;
}

struct emu *emu_new(const struct diff_hello *sel)
{
    struct emu *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->sel = *sel;
    if ((sel->cs >> 3) >= GDT_ENTRIES || (sel->ds >> 3) >= GDT_ENTRIES || (sel->ss >> 3) >= GDT_ENTRIES ||
        (sel->gs >> 3) >= GDT_ENTRIES || (sel->cs & 4) || (sel->ds & 4) || (sel->ss & 4)) {
        free(e);
        return NULL;
    }
    int k = free_index(e, 1), d = free_index(e, k + 1), t = free_index(e, d + 1), l = free_index(e, t + 1);
    if (l < 0 || phys_init(&e->mem, RAM_SIZE) != 0) {
        free(e);
        return NULL;
    }
    e->kcs = (uint16_t)(k << 3);
    e->kds = (uint16_t)(d << 3);
    e->tss = (uint16_t)(t << 3);
    e->ldt = (uint16_t)(l << 3);
    struct cpu_env env = { 0 };
    if (cpu_init(&e->cpu, &e->mem, &env) != 0) {
        phys_free(&e->mem);
        free(e);
        return NULL;
    }
    memset(e->mem.ram + CODE_ADDR, 0xcc, CODE_SIZE);
    e->jit = test_accel_attach(&e->cpu);
    return e;
}

void emu_free(struct emu *e)
{
    if (!e)
        return;
    test_accel_detach(e->jit);
    cpu_free(&e->cpu);
    phys_free(&e->mem);
    free(e);
}

/* Rebuild the system tables (a test could not reach them, but a bug in the
 * emulator could) and put the CPU at CPL 3 with the test's state. */
static void setup(struct emu *e, const struct diff_state *init)
{
    struct cpu *c = &e->cpu;
    const uint32_t sys = SYS_ADDR;
    memset(e->mem.ram + sys, 0, 0x1000);
    put64(e, sys + GDT_OFF + e->kcs, make_desc(0, 0xfffff, 0x9b, 0xc));
    put64(e, sys + GDT_OFF + e->kds, make_desc(0, 0xfffff, 0x93, 0xc));
    const uint32_t *lar = e->sel.lar;
    put64(e, sys + GDT_OFF + (e->sel.cs & ~7u), make_desc(0, 0xfffff, lar_access(lar[LAR_CS]), lar_flags(lar[LAR_CS])));
    put64(e, sys + GDT_OFF + (e->sel.ds & ~7u), make_desc(0, 0xfffff, lar_access(lar[LAR_DS]), lar_flags(lar[LAR_DS])));
    put64(e, sys + GDT_OFF + (e->sel.ss & ~7u), make_desc(0, 0xfffff, lar_access(lar[LAR_DS]), lar_flags(lar[LAR_DS])));
    put64(e, sys + GDT_OFF + (e->sel.gs & ~7u), make_desc(0, 0xfffff, lar_access(lar[LAR_GS]), lar_flags(lar[LAR_GS])));
    put64(e, sys + GDT_OFF + e->tss, make_desc(sys + TSS_OFF, 0x67, 0x8b, 0));
    put64(e, sys + GDT_OFF + e->ldt, make_desc(sys + LDT_OFF, 15, 0x82, 0));
    put64(e, sys + LDT_OFF,
          make_desc(DATA_ADDR, DATA_SIZE - 1, lar_access(lar[LAR_LDT_DATA]), lar_flags(lar[LAR_LDT_DATA])));
    put64(e, sys + LDT_OFF + 8,
          make_desc(CODE_ADDR, 0xffff, lar_access(lar[LAR_LDT_CODE16]), lar_flags(lar[LAR_LDT_CODE16])));
    for (uint32_t v = 0; v < NVEC; v++) {
        uint32_t off = sys + STUB_OFF + v;
        uint32_t lo = (uint32_t)e->kcs << 16 | (off & 0xffff);
        uint32_t hi = (off & 0xffff0000u) | 0x8000u | (3u << 13) | (0xeu << 8);
        put64(e, sys + IDT_OFF + v * 8, (uint64_t)hi << 32 | lo);
        e->mem.ram[sys + STUB_OFF + v] = 0xf4; /* HLT */
    }
    uint32_t esp0 = sys + KSTACK_TOP, ss0 = e->kds, iomap = 0x68u << 16;
    memcpy(e->mem.ram + sys + TSS_OFF + 4, &esp0, 4);
    memcpy(e->mem.ram + sys + TSS_OFF + 8, &ss0, 4);
    memcpy(e->mem.ram + sys + TSS_OFF + 0x64, &iomap, 4);

    cpu_reset(c);
    cpu_set_flat32(c);
    /* As Linux runs user code: x87 errors as #MF, WAIT honours TS (clear). */
    c->cr0 |= CR0_MP | CR0_NE;
    c->gdtr = (struct dtr){ sys + GDT_OFF, GDT_ENTRIES * 8 - 1 };
    c->idtr = (struct dtr){ sys + IDT_OFF, NVEC * 8 - 1 };
    seg_set_cache(c, SEG_TR, e->tss, sys + TSS_OFF, 0x67, attr_of(0x8b, 0));
    seg_set_cache(c, SEG_LDTR, e->ldt, sys + LDT_OFF, 15, attr_of(0x82, 0));
    c->cpl = 3;
    const uint16_t ucode = attr_of(lar_access(lar[LAR_CS]), lar_flags(lar[LAR_CS]));
    const uint16_t udata = attr_of(lar_access(lar[LAR_DS]), lar_flags(lar[LAR_DS]));
    const uint16_t ugs = attr_of(lar_access(lar[LAR_GS]), lar_flags(lar[LAR_GS]));
    const uint16_t ldata = attr_of(lar_access(lar[LAR_LDT_DATA]), lar_flags(lar[LAR_LDT_DATA]));
    seg_set_cache(c, SEG_CS, e->sel.cs, 0, 0xffffffffu, ucode);
    seg_set_cache(c, SEG_SS, e->sel.ss, 0, 0xffffffffu, udata);
    seg_set_cache(c, SEG_DS, e->sel.ds, 0, 0xffffffffu, udata);
    seg_set_cache(c, SEG_GS, e->sel.gs, 0, 0xffffffffu, ugs);
    seg_set_cache(c, SEG_ES, LDT_SEL, DATA_ADDR, DATA_SIZE - 1, ldata);
    seg_set_cache(c, SEG_FS, LDT_SEL, DATA_ADDR, DATA_SIZE - 1, ldata);
    cpu_update_mode(c);
    for (int r = 0; r < 8; r++)
        c->gpr[r] = init->gpr[r];
    cpu_set_eflags(c, init->eflags | EFL_IF | EFL_1, 0xffffffffu);
    c->eip = CODE_ADDR;
    if (init->flags & STATE_CODE16) {
        seg_set_cache(c, SEG_CS, CODE16_SEL, CODE_ADDR, 0xffff,
                      attr_of(lar_access(lar[LAR_LDT_CODE16]), lar_flags(lar[LAR_LDT_CODE16])));
        c->eip = 0;
    }
    cpu_tlb_flush(c);
}

static uint32_t rd32(const struct emu *e, uint32_t addr)
{
    uint32_t v = 0;
    if (addr <= RAM_SIZE - 4)
        memcpy(&v, e->mem.ram + addr, 4);
    return v;
}

void emu_run(struct emu *e, const uint8_t *code, uint32_t len, const struct diff_state *init, uint8_t *data,
             struct diff_state *fin, int max_block)
{
    struct cpu *c = &e->cpu;
    memset(e->mem.ram + CODE_ADDR, 0xcc, e->prev_len);
    memcpy(e->mem.ram + CODE_ADDR, code, len);
    e->prev_len = len;
    memcpy(e->mem.ram + DATA_ADDR, data, DATA_SIZE);
    setup(e, init);
    c->max_block_insns = max_block > 0 ? max_block : 64;

    memset(fin, 0, sizeof(*fin));
    enum cpu_exit r = cpu_exec(c, 10u * 1000 * 1000);
    uint32_t esp = (uint32_t)c->gpr[R_ESP];
    uint32_t stub = SYS_ADDR + STUB_OFF;
    uint32_t v = (uint32_t)c->eip - stub - 1;
    for (int k = 0; k < 8; k++)
        fin->gpr[k] = (uint32_t)c->gpr[k];
    fin->eflags = cpu_get_eflags(c);
    fin->eip = (uint32_t)c->eip;
    if (r == CPU_EXIT_SHUTDOWN) {
        fin->vector = VEC_SHUTDOWN;
    } else if (r != CPU_EXIT_HALT) {
        fin->vector = VEC_TIMEOUT;
    } else if (v >= NVEC || c->cpl != 0) {
        fin->vector = VEC_LOST;
    } else {
        fin->vector = v;
        if (exc_has_errcode((int)v)) {
            fin->errcode = rd32(e, esp);
            esp += 4;
        }
        fin->eip = rd32(e, esp);
        fin->eflags = rd32(e, esp + 8);
        fin->gpr[R_ESP] = rd32(e, esp + 12);
    }
    static const int order[6] = { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };
    for (int s = 0; s < 6; s++)
        fin->sreg[s] = c->seg[order[s]].sel;
    if (fin->vector < NVEC) {
        /* The user CS and SS were replaced by the delivery; they are in the frame. */
        fin->sreg[1] = (uint16_t)rd32(e, esp + 4);
        fin->sreg[2] = (uint16_t)rd32(e, esp + 16);
    }
    memcpy(data, e->mem.ram + DATA_ADDR, DATA_SIZE);
}
