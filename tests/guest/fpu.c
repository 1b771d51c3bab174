/*
 * The x87 FPU and MMX from a guest: computations (fpu_calc.c), then the
 * system side: unmasked exceptions delivered as #MF at the next waiting
 * x87/MMX instruction with CR0.NE=1 (not at the instruction that caused
 * them, not at non-waiting ones), restart after the handler clears them,
 * the last-instruction pointers the handler sees, results withheld by
 * unmasked exceptions, CR0.NE=0 (no #MF: FERR# goes to the board), #NM
 * for CR0.TS and CR0.EM (WAIT only with TS and MP), #UD for MMX with
 * CR0.EM, and the FNSAVE/FNSTENV images in the 32- and 16-bit
 * protected-mode layouts.
 *
 * Oracles: the "calc" lines are the host CPU's own output for the same
 * code: gcc -m32 -march=i686 -O2 -DHOST_ORACLE tests/guest/fpu_calc.c &&
 * ./a.out prints exactly those lines of fpu.expected. The system lines
 * follow the SDM (Vol. 1 8.1.8, 8.6, 8.7, figures 8-9 and 8-11; Vol. 3
 * 2.5 (CR0), 6.15 (#NM, #MF), 12.5 (MMX and CR0.EM/TS)).
 */
#include "pm/lib.h"

void fpu_calc(void);

#define CR0_MP 0x02u
#define CR0_EM 0x04u
#define CR0_TS 0x08u
#define CR0_NE 0x20u

static inline uint32_t rd_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline void wr_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }

/* Trap hook: what to do with #MF, #NM and #UD. */
enum { H_RECORD = 1, H_CLEAR_RETRY, H_CLTS_RETRY };
static volatile int hook_mode, hook_count;
static volatile uint32_t hook_env[7];
volatile uint32_t fpu_insn_at, fpu_data_at;

static int hook(struct pm_frame *f)
{
    if (f->vector == 16 && hook_mode) {
        __asm__ volatile("fnstenv %0" : "=m"(hook_env));
        hook_count++;
        if (hook_mode == H_CLEAR_RETRY) {
            __asm__ volatile("fnclex");
            return 1;
        }
        return 0;
    }
    if (f->vector == 7 && hook_mode == H_CLTS_RETRY) {
        __asm__ volatile("clts");
        hook_count++;
        return 1;
    }
    return 0;
}

static const uint16_t cw_ze = 0x037b;  /* zero divide unmasked */
static const uint16_t cw_all = 0x0340; /* everything unmasked */
static const uint16_t cw_masked = 0x037f;

static void mf_native(void)
{
    rt_printf("-- #MF with CR0.NE=1\n");
    wr_cr0(rd_cr0() | CR0_NE);
    PM_TRYB("fdivrp by zero (unmasked)", "fninit; fldcw %0; fld1; fldz", "fdivrp", "fnclex", : : "m"(cw_ze) : "memory");
    hook_mode = H_RECORD;
    hook_count = 0;
    PM_TRYB("fwait after it", "fninit; fldcw %0; fld1; fldz; movl $7f, fpu_insn_at; 7: fdivrp", "fwait", "fnclex",
            : : "m"(cw_ze) : "memory");
    uint16_t fsw = (uint16_t)hook_env[1];
    uint32_t fop = hook_env[4] >> 16 & 0x7ff;
    rt_printf("  handler: fsw=%04x fop=%03x fip %s fcs=%04x\n", fsw, fop,
              hook_env[3] == fpu_insn_at ? "= the fdivrp" : "wrong", hook_env[4] & 0xffff);
    hook_mode = 0;
    PM_TRYB("fnstsw with it pending", "fninit; fldcw %0; fld1; fldz; fdivrp", "fnstsw %%ax", "fnclex",
            : : "m"(cw_ze) : "eax", "memory");
    PM_TRYB("fnstenv with it pending", "fninit; fldcw %0; fld1; fldz; fdivrp", "fnstenv %1", "fnclex",
            : : "m"(cw_ze), "m"(hook_env) : "memory");
    PM_TRYB("fld1 with it pending", "fninit; fldcw %0; fld1; fldz; fdivrp", "fld1", "fnclex",
            : : "m"(cw_ze) : "memory");
    PM_TRYB("fldcw with it pending", "fninit; fldcw %0; fld1; fldz; fdivrp", "fldcw %1", "fnclex",
            : : "m"(cw_ze), "m"(cw_masked) : "memory");
    PM_TRYB("paddb with it pending", "fninit; fldcw %0; fld1; fldz; fdivrp", "paddb %%mm1, %%mm1", "fnclex; emms",
            : : "m"(cw_ze) : "memory");
    PM_TRYB("fninit with it pending", "fninit; fldcw %0; fld1; fldz; fdivrp", "fninit", "", : : "m"(cw_ze) : "memory");
    PM_TRYB("fldcw unmasks a flagged exception", "fninit; fld1; fldz; fdivrp; fldcw %0", "fwait", "fnclex",
            : : "m"(cw_ze) : "memory");

    hook_mode = H_CLEAR_RETRY;
    hook_count = 0;
    PM_TRYB("fwait, handler clears and returns", "fninit; fldcw %0; fld1; fldz; fdivrp", "fwait", "fninit",
            : : "m"(cw_ze) : "memory");
    rt_printf("  handler ran %d time(s)\n", hook_count);
    hook_mode = 0;

    /* Unmasked exceptions withhold results (SDM 8.5). */
    uint16_t sw;
    uint32_t st0;
    static const uint32_t minus1 = 0xbf800000u;
    __asm__ volatile("fninit; fldcw %2; flds %3; fsqrt; fnstsw %1; fnclex; fldcw %4; fstps %0"
                     : "=m"(st0), "=m"(sw)
                     : "m"(cw_all), "m"(minus1), "m"(cw_masked));
    rt_printf("unmasked fsqrt -1: st0=%08x sw=%04x\n", st0, sw);
    static const struct {
        uint64_t m;
        uint16_t se;
    } __attribute__((packed)) big = { 0xc000000000000000ull, 0x7ffe };
    uint32_t mem = 0x12345678u;
    uint8_t r[10];
    __asm__ volatile("fninit; fldcw %3; fldt %4; fsts %0; fnstsw %1; fnclex; fldcw %5; fstpt %2"
                     : "+m"(mem), "=m"(sw), "=m"(r)
                     : "m"(cw_all), "m"(big), "m"(cw_masked));
    rt_printf("unmasked overflow to float: mem=%08x sw=%04x st0 exp=%02x%02x\n", mem, sw, r[9], r[8]);
    __asm__ volatile("fninit; fldcw %2; fldt %3; fadd %%st(0), %%st(0); fnstsw %1; fnclex; fldcw %4; fstpt %0"
                     : "=m"(r), "=m"(sw)
                     : "m"(cw_all), "m"(big), "m"(cw_masked));
    rt_printf("unmasked overflow in a register: %02x%02x %02x%02x%02x%02x%02x%02x%02x%02x sw=%04x\n", r[9], r[8],
              r[7], r[6], r[5], r[4], r[3], r[2], r[1], r[0], sw);
}

static void mf_dos(void)
{
    rt_printf("-- CR0.NE=0: FERR# instead of #MF\n");
    wr_cr0(rd_cr0() & ~CR0_NE);
    PM_TRYB("fwait after an unmasked zero divide", "fninit; fldcw %0; fld1; fldz; fdivrp", "fwait", "fnclex",
            : : "m"(cw_ze) : "memory");
    PM_TRYB("fld1 after it", "fninit; fldcw %0; fld1; fldz; fdivrp", "fld1", "fninit", : : "m"(cw_ze) : "memory");
    wr_cr0(rd_cr0() | CR0_NE);
}

static void nm(void)
{
    rt_printf("-- #NM and #UD from CR0.TS/EM/MP\n");
    uint32_t cr0 = rd_cr0() & ~(CR0_TS | CR0_EM | CR0_MP);
    __asm__ volatile("fninit");
    wr_cr0(cr0 | CR0_TS);
    PM_TRY("TS: fld1", "fld1", : : : "memory");
    PM_TRY("TS: fnstsw (no-wait)", "fnstsw %%ax", : : : "eax", "memory");
    PM_TRY("TS: fwait, MP=0", "fwait", : : : "memory");
    PM_TRY("TS: paddb", "paddb %%mm0, %%mm0", : : : "memory");
    PM_TRY("TS: emms", "emms", : : : "memory");
    wr_cr0(cr0 | CR0_TS | CR0_MP);
    PM_TRY("TS+MP: fwait", "fwait", : : : "memory");
    wr_cr0(cr0 | CR0_EM);
    PM_TRY("EM: fld1", "fld1", : : : "memory");
    PM_TRY("EM: fninit", "fninit", : : : "memory");
    PM_TRY("EM: fwait", "fwait", : : : "memory");
    PM_TRY("EM: paddb", "paddb %%mm0, %%mm0", : : : "memory");
    PM_TRY("EM: emms", "emms", : : : "memory");
    wr_cr0(cr0 | CR0_EM | CR0_MP);
    PM_TRY("EM+MP: fwait", "fwait", : : : "memory");

    wr_cr0(cr0 | CR0_TS | CR0_MP);
    hook_mode = H_CLTS_RETRY;
    hook_count = 0;
    uint32_t one = 0;
    PM_TRYX("TS: fld1, handler clears TS and returns", "fninit; fld1", "fstps %0", : "=m"(one) : : "memory");
    rt_printf("  handler ran %d time(s), st0=%08x, TS=%d\n", hook_count, one, (rd_cr0() & CR0_TS) != 0);
    hook_mode = 0;
    wr_cr0(cr0);
}

/* FNSAVE/FNSTENV images in protected mode (SDM figures 8-9, 8-11). */
static void images(void)
{
    rt_printf("-- FNSAVE/FNSTENV images\n");
    static float operand = 1.5f;
    static const uint16_t cw = 0x027f;
    uint8_t img[108];
    fpu_data_at = (uint32_t)&operand;
    __asm__ volatile("fninit; fldcw %1; fld1; fldz; movl $7f, fpu_insn_at;"
                     "7: fadds %2; fnsave %0"
                     : "=m"(img)
                     : "m"(cw), "m"(operand)
                     : "memory");
    uint32_t d[7];
    for (int k = 0; k < 7; k++)
        d[k] = (uint32_t)img[4 * k] | (uint32_t)img[4 * k + 1] << 8 | (uint32_t)img[4 * k + 2] << 16 |
               (uint32_t)img[4 * k + 3] << 24;
    rt_printf("fnsave32: cw=%08x sw=%08x tw=%08x fip %s fcs=%04x fop=%03x fdp %s fds=%08x\n", d[0], d[1], d[2],
              d[3] == fpu_insn_at ? "ok" : "wrong", d[4] & 0xffff, d[4] >> 16, d[5] == fpu_data_at ? "ok" : "wrong",
              d[6]);
    rt_printf("  st0: %02x%02x %02x%02x%02x%02x%02x%02x%02x%02x\n", img[37], img[36], img[35], img[34], img[33],
              img[32], img[31], img[30], img[29], img[28]);
    uint16_t sw, tw[14];
    __asm__ volatile("fnstsw %0; fnstenv %1" : "=m"(sw), "=m"(tw));
    rt_printf("after fnsave: sw=%04x cw=%04x tw=%04x\n", sw, tw[0], tw[4]);
    __asm__ volatile("frstor %1; fnstenv %0; fninit" : "=m"(tw) : "m"(img));
    rt_printf("frstor: cw=%04x sw=%04x tw=%04x\n", tw[0], tw[2], tw[4]);

    uint16_t w[47];
    fpu_data_at = (uint32_t)&operand;
    __asm__ volatile("fninit; fldcw %1; fldpi; movl $7f, fpu_insn_at;"
                     "7: fmuls %2; data16 fnsave %0"
                     : "=m"(w)
                     : "m"(cw), "m"(operand)
                     : "memory");
    rt_printf("fnsave16: cw=%04x sw=%04x tw=%04x fip %s fcs=%04x fdp %s fds=%04x st0=%04x%04x\n", w[0], w[1], w[2],
              w[3] == (uint16_t)fpu_insn_at ? "ok" : "wrong", w[4], w[5] == (uint16_t)fpu_data_at ? "ok" : "wrong",
              w[6], w[11], w[10]);
    __asm__ volatile("data16 frstor %1; fnstenv %0; fninit" : "=m"(tw) : "m"(w));
    rt_printf("frstor16: cw=%04x sw=%04x tw=%04x\n", tw[0], tw[2], tw[4]);
}

int main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    pm_init();
    pm_hook = hook;
    wr_cr0((rd_cr0() | CR0_NE | CR0_MP) & ~(CR0_EM | CR0_TS));
    rt_printf("-- calc (host-checked)\n");
    fpu_calc();
    mf_native();
    mf_dos();
    nm();
    images();
    __asm__ volatile("fninit");
    return rt_failures;
}
