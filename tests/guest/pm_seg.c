/*
 * Protected-mode segmentation: segment-register loads and the exact
 * exception and error code each rule gives (Intel SDM Vol. 3 5.4-5.6,
 * Vol. 2 MOV/LxS/LLDT), null selectors, the LDT, conforming code as data,
 * accessed bits, LES/LDS/LFS/LGS/LSS, and the descriptor queries LAR, LSL,
 * VERR, VERW, ARPL, SLDT, STR.
 *
 * Every line is also what QEMU (TCG) prints for the same ELF. For that the
 * LAR results are masked to 00F0FE00: the SDM leaves bits 19:16 undefined
 * (QEMU clears them, P6 and Kestrel return limit bits), and QEMU does not
 * set the accessed bit when a far JMP loads CS (the SDM says every
 * segment-register load sets it; pm_limits checks that).
 * Segment limit and type checks on ordinary accesses, which QEMU does not
 * perform, are in pm_limits.c instead.
 */
#include "pm/lib.h"

static uint64_t ldt[4] __attribute__((aligned(8)));

enum {
    G_DATA = GDT_FIRST_FREE, /* 0x40 flat RW data DPL 0, accessed clear */
    G_RO,                    /* 0x48 read-only data */
    G_XO,                    /* 0x50 execute-only code */
    G_RX,                    /* 0x58 readable code */
    G_NP,                    /* 0x60 not-present data */
    G_DPL3,                  /* 0x68 data DPL 3 */
    G_CONF,                  /* 0x70 conforming readable code DPL 0 */
    G_LDT,                   /* 0x78 the LDT */
    G_LDT_NP,                /* 0x80 not-present LDT */
    G_CODE3,                 /* 0x88 code DPL 3 */
    G_SMALL,                 /* 0x90 byte-granular data, limit 0x12345, base 0x1000 */
    G_GATE,                  /* 0x98 call gate */
    G_TGATE,                 /* 0xa0 task gate */
    G_IGATE,                 /* 0xa8 interrupt gate (not a descriptor LAR reports) */
    G_DATA1,                 /* 0xb0 data DPL 1 */
    G_BASED,                 /* 0xb8 data with base 0x1000, 4G limit */
};

static void load_es(const char *name, uint16_t sel)
{
    PM_TRY(name, "mov %w0, %%es", : : "r"(sel) : "memory");
    pm_flat_esfsgs();
}

static void load_ss(const char *name, uint16_t sel)
{
    PM_TRYX(name, "mov %w0, %%ss", "mov %w1, %%ss", : : "r"(sel), "r"(KDATA) : "memory");
}

static void lldt(const char *name, uint16_t sel)
{
    PM_TRY(name, "lldt %w0", : : "r"(sel) : "memory");
}

static void data_loads(void)
{
    rt_printf("-- data segment loads\n");
    load_es("es null 0", 0);
    load_es("es null rpl3", 3);
    load_es("es flat", pm_sel(G_DATA, 0));
    CHECK(pm_gdt[G_DATA] >> 40 & 1, "accessed bit set by the load");
    rt_printf("accessed bit %u\n", (unsigned)(pm_gdt[G_DATA] >> 40 & 1));
    load_es("es rpl3 > dpl0", pm_sel(G_DATA, 3));
    load_es("es dpl3 rpl3", pm_sel(G_DPL3, 3));
    load_es("es dpl1 rpl1", pm_sel(G_DATA1, 1));
    load_es("es read-only", pm_sel(G_RO, 0));
    load_es("es exec-only code", pm_sel(G_XO, 0));
    load_es("es readable code", pm_sel(G_RX, 0));
    load_es("es conforming rpl3", pm_sel(G_CONF, 3));
    load_es("es nonconf code3 rpl3", pm_sel(G_CODE3, 3));
    load_es("es not present", pm_sel(G_NP, 0));
    load_es("es not present rpl3>dpl", pm_sel(G_NP, 3));
    load_es("es tss", TSS_SEL);
    load_es("es ldt desc", pm_sel(G_LDT, 0));
    load_es("es call gate", pm_sel(G_GATE, 0));
    load_es("es empty gdt entry", pm_sel(GDT_ENTRIES - 1, 0));

    /* A shorter GDT: selectors past its limit fault with their own code. */
    pm_lgdt(pm_gdt, 16 * 8 - 1);
    load_es("es beyond gdt limit", pm_sel(16, 0));
    load_es("es last in gdt", pm_sel(15, 0));
    pm_lgdt(pm_gdt, sizeof(pm_gdt) - 1);

    PM_TRY("fs null", "mov %w0, %%fs", : : "r"(0) : "memory");
    pm_flat_esfsgs();

    /* A segment with a base: the same memory through two segments. */
    static volatile uint32_t probe[2] = { 0x11111111, 0x22222222 };
    uint32_t v = 0;
    __asm__ volatile("mov %w1, %%gs; movl %%gs:(%2), %0"
                     : "=r"(v)
                     : "r"(pm_sel(G_BASED, 0)), "r"((uint32_t)&probe[1] - 0x1000)
                     : "memory");
    pm_flat_esfsgs();
    rt_printf("read through based gs: %x\n", v);
}

static void stack_loads(void)
{
    rt_printf("-- stack segment loads\n");
    load_ss("ss null", 0);
    load_ss("ss null rpl3", 3);
    load_ss("ss flat", pm_sel(G_DATA, 0));
    load_ss("ss rpl3 != cpl", pm_sel(G_DATA, 3));
    load_ss("ss dpl3 rpl3", pm_sel(G_DPL3, 3));
    load_ss("ss dpl3 rpl0", pm_sel(G_DPL3, 0));
    load_ss("ss read-only", pm_sel(G_RO, 0));
    load_ss("ss code", pm_sel(G_RX, 0));
    load_ss("ss not present", pm_sel(G_NP, 0));
    load_ss("ss tss", TSS_SEL);
}

static void ldt_loads(void)
{
    rt_printf("-- LDT\n");
    ldt[0] = 0;
    ldt[1] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G);
    ldt[2] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G | D_NP);
    ldt[3] = pm_desc(0, 0xfffff, T_DATA_RW, 3, D_S | D_DB | D_G);
    lldt("lldt null", 0);
    load_es("es via null ldtr", 0x0c);
    load_ss("ss via null ldtr", 0x0c);
    lldt("lldt ldt", pm_sel(G_LDT, 0));
    uint16_t s = 0xffff;
    __asm__ volatile("sldt %0" : "=r"(s));
    rt_printf("sldt %x\n", s);
    load_es("es ldt[1]", 0x0c);
    load_es("es ldt[1] rpl3", 0x0f);
    load_es("es ldt[2] not present", 0x14);
    load_es("es ldt[3] dpl3", 0x1f);
    load_es("es beyond ldt limit", 0x24);
    load_es("es ldt[0] (null in ldt)", 0x04);
    lldt("lldt ti=1", 0x0c);
    lldt("lldt data desc", pm_sel(G_DATA, 0));
    lldt("lldt tss desc", TSS_SEL);
    lldt("lldt not present", pm_sel(G_LDT_NP, 0));
    lldt("lldt beyond gdt", pm_sel(GDT_ENTRIES + 2, 0));
    lldt("lldt rpl3 ignored", pm_sel(G_LDT, 3));
    __asm__ volatile("sldt %0" : "=r"(s));
    rt_printf("sldt %x\n", s);
    lldt("lldt null again", 0);
}

static void far_pointer_loads(void)
{
    rt_printf("-- LES LDS LFS LGS LSS\n");
    struct {
        uint32_t off;
        uint16_t sel;
    } __attribute__((packed)) fp32 = { 0x12345678, pm_sel(G_DPL3, 0) };
    struct {
        uint16_t off;
        uint16_t sel;
    } __attribute__((packed)) fp16 = { 0xabcd, pm_sel(G_DATA, 0) };
    uint32_t r = 0xdeadbeef;
    uint16_t es = 0;
    fp32.sel = pm_sel(G_DATA, 0);
    PM_TRYX("les r32", "les %2, %0", "mov %%es, %1", : "+r"(r), "=m"(es) : "m"(fp32) : "memory");
    rt_printf("  eax=%x es=%x\n", r, es);
    r = 0xdeadbeef;
    PM_TRYX("les r16", "les %2, %w0", "mov %%es, %1", : "+r"(r), "=m"(es) : "m"(fp16) : "memory");
    rt_printf("  r=%x es=%x\n", r, es);
    pm_flat_esfsgs();
    r = 0xdeadbeef;
    fp32.sel = pm_sel(G_NP, 0);
    PM_TRY("lfs not present", "lfs %1, %0", : "+r"(r) : "m"(fp32) : "memory");
    rt_printf("  r unchanged: %x\n", r);
    fp32.sel = pm_sel(G_XO, 0);
    PM_TRY("lgs exec-only", "lgs %1, %0", : "+r"(r) : "m"(fp32) : "memory");
    fp32.sel = pm_sel(G_DATA, 0);
    PM_TRYX("lds valid", "lds %1, %0", "mov %w2, %%ds", : "+r"(r) : "m"(fp32), "r"(KDATA) : "memory");
    rt_printf("  r=%x\n", r);
    fp32.sel = 0;
    PM_TRY("lgs null", "lgs %1, %0", : "+r"(r) : "m"(fp32) : "memory");
    pm_flat_esfsgs();

    /* LSS: load SS:ESP at once; SS checks apply. */
    uint32_t esp_after = 0;
    fp32.sel = pm_sel(G_DATA, 0);
    PM_TRYB("lss valid", "movl %%esp, %1", "lss %1, %%esp", "movl %%esp, %0\n\tmov %w2, %%ss",
            : "=m"(esp_after), "+m"(fp32) : "r"(KDATA) : "memory");
    CHECK(esp_after == fp32.off, "lss loaded esp %x, want %x", esp_after, fp32.off);
    fp32.sel = pm_sel(G_RO, 0);
    PM_TRYB("lss read-only", "movl %%esp, %0", "lss %0, %%esp", "", : "+m"(fp32) : : "memory");
    fp32.sel = 0;
    PM_TRYB("lss null", "movl %%esp, %0", "lss %0, %%esp", "", : "+m"(fp32) : : "memory");
}

static void show_zf(const char *name, int zf, uint32_t v)
{
    if (zf)
        rt_printf("%s: zf=1 %x\n", name, v);
    else
        rt_printf("%s: zf=0\n", name);
}

static void lar(const char *name, uint16_t sel)
{
    uint32_t v = 0x5a5a5a5a;
    uint8_t zf;
    __asm__ volatile("larl %w2, %0; setz %1" : "+r"(v), "=q"(zf) : "r"(sel) : "cc");
    /* Bits 19:16 and the accessed bit: see the top of the file. */
    show_zf(name, zf, zf ? v & 0x00f0fe00u : v);
}

static void lsl(const char *name, uint16_t sel)
{
    uint32_t v = 0x5a5a5a5a;
    uint8_t zf;
    __asm__ volatile("lsll %w2, %0; setz %1" : "+r"(v), "=q"(zf) : "r"(sel) : "cc");
    show_zf(name, zf, v);
}

static void verrw(const char *name, uint16_t sel)
{
    uint8_t r, w;
    __asm__ volatile("verr %w2; setz %0; verw %w2; setz %1" : "=&q"(r), "=&q"(w) : "r"(sel) : "cc");
    rt_printf("%s: verr=%u verw=%u\n", name, r, w);
}

static void queries(void)
{
    rt_printf("-- LAR LSL VERR VERW\n");
    lar("lar null", 0);
    lar("lar kcode", KCODE);
    lar("lar kdata", KDATA);
    lar("lar ucode", UCODE);
    lar("lar exec-only", pm_sel(G_XO, 0));
    lar("lar not present", pm_sel(G_NP, 0));
    lar("lar busy tss", TSS_SEL);
    lar("lar ldt", pm_sel(G_LDT, 0));
    lar("lar call gate", pm_sel(G_GATE, 0));
    lar("lar task gate", pm_sel(G_TGATE, 0));
    lar("lar int gate", pm_sel(G_IGATE, 0));
    lar("lar beyond gdt", pm_sel(GDT_ENTRIES, 0));
    lar("lar rpl3 on dpl0", pm_sel(G_DATA, 3));
    lar("lar rpl3 on conforming", pm_sel(G_CONF, 3));
    lar("lar ldt sel, no ldt", 0x0c);
    uint16_t v16 = 0x1234;
    uint8_t zf;
    __asm__ volatile("larw %w2, %w0; setz %1" : "+r"(v16), "=q"(zf) : "r"(KDATA) : "cc");
    rt_printf("lar r16 kdata: zf=%u %x\n", zf, v16);

    lsl("lsl kdata (G=1)", KDATA);
    lsl("lsl small", pm_sel(G_SMALL, 0));
    lsl("lsl tss", TSS_SEL);
    lsl("lsl ldt", pm_sel(G_LDT, 0));
    lsl("lsl call gate", pm_sel(G_GATE, 0));
    lsl("lsl null", 0);
    lsl("lsl not present", pm_sel(G_NP, 0));
    v16 = 0x1234;
    __asm__ volatile("lslw %w2, %w0; setz %1" : "+r"(v16), "=q"(zf) : "r"(pm_sel(G_SMALL, 0)) : "cc");
    rt_printf("lsl r16 small: zf=%u %x\n", zf, v16);

    verrw("ver kdata", KDATA);
    verrw("ver read-only", pm_sel(G_RO, 0));
    verrw("ver exec-only", pm_sel(G_XO, 0));
    verrw("ver readable code", pm_sel(G_RX, 0));
    verrw("ver conforming rpl3", pm_sel(G_CONF, 3));
    verrw("ver data rpl3", pm_sel(G_DATA, 3));
    verrw("ver dpl3 rpl3", pm_sel(G_DPL3, 3));
    verrw("ver not present", pm_sel(G_NP, 0));
    verrw("ver tss", TSS_SEL);
    verrw("ver null", 0);

    /* Memory operand forms. */
    uint16_t msel = KDATA;
    uint32_t v = 0;
    __asm__ volatile("lsll %2, %0; setz %1" : "=r"(v), "=q"(zf) : "m"(msel) : "cc");
    rt_printf("lsl mem: zf=%u %x\n", zf, v);
    __asm__ volatile("verw %1; setz %0" : "=q"(zf) : "m"(msel) : "cc");
    rt_printf("verw mem: zf=%u\n", zf);
}

static void arpl_str(void)
{
    rt_printf("-- ARPL SLDT STR\n");
    static const uint16_t cases[][2] = { { 0x10, 0x03 }, { 0x13, 0x01 }, { 0x12, 0x02 }, { 0xfff9, 0x1b } };
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        uint16_t d = cases[k][0];
        uint8_t zf;
        __asm__ volatile("arpl %w2, %w0; setz %1" : "+r"(d), "=q"(zf) : "r"(cases[k][1]) : "cc");
        rt_printf("arpl %x,%x: zf=%u -> %x\n", cases[k][0], cases[k][1], zf, d);
    }
    uint16_t m = 0x20;
    uint8_t zf;
    __asm__ volatile("arpl %w2, %0; setz %1" : "+m"(m), "=q"(zf) : "r"(3) : "cc");
    rt_printf("arpl mem: zf=%u -> %x\n", zf, m);
    /* ARPL leaves the other flags alone: CF set before survives. */
    uint8_t cf;
    m = 0x20;
    __asm__ volatile("stc; arpl %w2, %0; setc %1" : "+m"(m), "=q"(cf) : "r"(3) : "cc");
    rt_printf("arpl keeps cf: %u\n", cf);

    uint32_t r = 0xffffffff;
    __asm__ volatile("str %0" : "+r"(r));
    rt_printf("str r32: %x\n", r);
    r = 0xffffffff;
    __asm__ volatile("strw %w0" : "+r"(r));
    rt_printf("str r16: %x\n", r);
    uint32_t mem = 0xffffffff;
    __asm__ volatile("str %0" : "+m"(mem));
    rt_printf("str m16: %x\n", mem);
    r = 0xffffffff;
    __asm__ volatile("sldt %0" : "+r"(r));
    rt_printf("sldt r32 (null ldtr): %x\n", r);
}

static void mov_cs(void)
{
    rt_printf("-- MOV CS\n");
    /* 8E /1 (MOV CS, r/m) is undefined. */
    PM_TRY("mov cs, ax", ".byte 0x8e, 0xc8", : : : "memory");
}

int main(void)
{
    pm_init();
    pm_gdt[G_DATA] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G);
    pm_gdt[G_RO] = pm_desc(0, 0xfffff, T_DATA_RO, 0, D_S | D_DB | D_G);
    pm_gdt[G_XO] = pm_desc(0, 0xfffff, T_CODE_XO, 0, D_S | D_DB | D_G);
    pm_gdt[G_RX] = pm_desc(0, 0xfffff, T_CODE_RX, 0, D_S | D_DB | D_G);
    pm_gdt[G_NP] = pm_desc(0, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G | D_NP);
    pm_gdt[G_DPL3] = pm_desc(0, 0xfffff, T_DATA_RW, 3, D_S | D_DB | D_G);
    pm_gdt[G_CONF] = pm_desc(0, 0xfffff, T_CODE_RX_C, 0, D_S | D_DB | D_G);
    pm_gdt[G_LDT] = pm_desc((uint32_t)ldt, sizeof(ldt) - 1, T_LDT, 0, 0);
    pm_gdt[G_LDT_NP] = pm_desc((uint32_t)ldt, sizeof(ldt) - 1, T_LDT, 0, D_NP);
    pm_gdt[G_CODE3] = pm_desc(0, 0xfffff, T_CODE_RX, 3, D_S | D_DB | D_G);
    pm_gdt[G_SMALL] = pm_desc(0x1000, 0x12345, T_DATA_RW, 0, D_S | D_DB);
    pm_gdt[G_GATE] = pm_gate(KCODE, 0x12345678, T_CALLGATE32, 0, 3, 1);
    pm_gdt[G_TGATE] = pm_gate(TSS_SEL, 0, T_TASKGATE, 0, 0, 1);
    pm_gdt[G_IGATE] = pm_gate(KCODE, 0x1000, T_INTGATE32, 0, 0, 1);
    pm_gdt[G_DATA1] = pm_desc(0, 0xfffff, T_DATA_RW, 1, D_S | D_DB | D_G);
    pm_gdt[G_BASED] = pm_desc(0x1000, 0xfffff, T_DATA_RW, 0, D_S | D_DB | D_G);
    rt_printf("pm_seg: protected-mode segmentation\n");
    data_loads();
    stack_loads();
    ldt_loads();
    far_pointer_loads();
    queries();
    arpl_str();
    mov_cs();
    return rt_failures;
}
