/*
 * Remapped code, run as a guest: code reached through a linear address is
 * run until it is hot (translated by the JIT, cached in the jump cache),
 * then the page-table entry is pointed at other code and the translation
 * invalidated the ways the SDM (Vol. 3A 4.10.4) says must take effect:
 *
 *   - a CR3 load, for a non-global 4 KiB page, with CR4.PGE off and on;
 *   - INVLPG of that page, for a global 4 KiB page;
 *   - INVLPG of another 4 KiB piece of the same global 4 MiB page (INVLPG
 *     drops the whole large-page translation);
 *   - toggling CR4.PGE, for a global page;
 *   - for an instruction that crosses into a remapped page (Kestrel caches
 *     such an instruction with the block it ends): INVLPG of the second
 *     page, a write to its bytes there, and a CR3 load; and INVLPG and a
 *     CR3 load under such an instruction reached by a direct jump from
 *     its first page (the JIT chains that jump).
 *
 * After each, the next call must run the new code. A global page whose
 * entry is unchanged must keep working across a CR3 load. These are the
 * invalidations Kestrel's jump cache must honour while keeping the entries
 * of global pages across CR3 loads (cpu/interp.c, cpu/blkcache.c).
 */
#include "sys/sysrt.h"

#define P 0x001u
#define RW 0x002u
#define PS 0x080u
#define G 0x100u

#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PGE (1u << 7)

/* Two code frames below 4 MiB (identity-mapped), and two 4 MiB frames. */
#define FRAME_A 0x00300000u
#define FRAME_B 0x00301000u
#define FRAME_C 0x00302000u /* ends with the first bytes of a crossing "mov $imm, %eax" */
#define FRAME_D 0x00303000u /* second pages for it: the immediate's last byte, then ret */
#define FRAME_E 0x00304000u
#define FRAME_F 0x00305000u /* a direct jump into a crossing "mov $imm, %eax; ret" */
#define FRAME_G 0x00306000u /* second pages for it: the immediate's last byte, then ret */
#define FRAME_H 0x00307000u
#define BIG_A 0x00800000u
#define BIG_B 0x00c00000u
#define LIN4K(n) (0x00400000u + (uint32_t)(n) * 0x1000u) /* through pt_test */
#define LINBIG 0x01000000u                               /* PDE 4: a 4 MiB page */
#define HOT 300                                          /* calls: well past the JIT's threshold */

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_low[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_test[1024] __attribute__((aligned(4096)));

/* "mov $v, %eax; ret" at physical `pa` (identity-mapped, or paging off). */
static void put_ret(uint32_t pa, uint32_t v)
{
    volatile uint8_t *p = (volatile uint8_t *)pa;
    p[0] = 0xb8;
    p[1] = (uint8_t)v;
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)(v >> 16);
    p[4] = (uint8_t)(v >> 24);
    p[5] = 0xc3;
}

static uint32_t call_at(uint32_t lin)
{
    uint32_t (*fn)(void) = (uint32_t(*)(void))lin;
    return fn();
}

/* Run the code at `lin` until hot; returns what the last call returned,
 * or 0 when the calls disagreed. */
static uint32_t hot(uint32_t lin)
{
    uint32_t first = call_at(lin), v = first;
    for (int k = 1; k < HOT; k++)
        if ((v = call_at(lin)) != first)
            return 0;
    return v;
}

static void map4k(int n, uint32_t frame, uint32_t flags)
{
    pt_test[n] = frame | flags;
    invlpg((const volatile void *)LIN4K(n));
}

int main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    sys_init();
    put_ret(FRAME_A, 0xaaaa0001u);
    put_ret(FRAME_B, 0xbbbb0002u);
    put_ret(BIG_A + 0x1000, 0xaaaa0003u); /* paging is still off: physical */
    put_ret(BIG_B + 0x1000, 0xbbbb0004u);

    for (int k = 0; k < 1024; k++)
        pt_low[k] = (uint32_t)k << 12 | P | RW;
    pd[0] = (uint32_t)pt_low | P | RW;
    pd[1] = (uint32_t)pt_test | P | RW;
    pd[4] = BIG_A | P | RW | PS | G;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | CR0_PG);

    /* Non-global page, CR4.PGE off: a CR3 load drops it. */
    map4k(0, FRAME_A, P | RW);
    CHECK(hot(LIN4K(0)) == 0xaaaa0001u, "non-global page before remap");
    pt_test[0] = FRAME_B | P | RW;
    write_cr3(read_cr3());
    CHECK(call_at(LIN4K(0)) == 0xbbbb0002u, "non-global page after CR3 load (PGE off)");

    /* The same with CR4.PGE on, a hot global page beside it. */
    write_cr4(read_cr4() | CR4_PGE);
    map4k(1, FRAME_A, P | RW);
    map4k(2, FRAME_A, P | RW | G);
    CHECK(hot(LIN4K(1)) == 0xaaaa0001u, "non-global page before remap (PGE on)");
    CHECK(hot(LIN4K(2)) == 0xaaaa0001u, "global page before CR3 load");
    pt_test[1] = FRAME_B | P | RW;
    write_cr3(read_cr3());
    CHECK(call_at(LIN4K(1)) == 0xbbbb0002u, "non-global page after CR3 load (PGE on)");
    CHECK(call_at(LIN4K(2)) == 0xaaaa0001u, "unchanged global page after CR3 load");

    /* Global 4 KiB page: INVLPG of it. */
    pt_test[2] = FRAME_B | P | RW | G;
    invlpg((const volatile void *)LIN4K(2));
    CHECK(call_at(LIN4K(2)) == 0xbbbb0002u, "global page after INVLPG");

    /* INVLPG of an unrelated page leaves hot code working. */
    CHECK(hot(LIN4K(2)) == 0xbbbb0002u, "global page hot again");
    invlpg((const volatile void *)LIN4K(7));
    CHECK(call_at(LIN4K(2)) == 0xbbbb0002u, "global page after INVLPG of another page");

    /* Global 4 MiB page: INVLPG of another 4 KiB piece of it. */
    CHECK(hot(LINBIG + 0x1000) == 0xaaaa0003u, "large page before remap");
    write_cr3(read_cr3());
    CHECK(call_at(LINBIG + 0x1000) == 0xaaaa0003u, "unchanged large global page after CR3 load");
    pd[4] = BIG_B | P | RW | PS | G;
    invlpg((const volatile void *)(LINBIG + 0x5000));
    CHECK(call_at(LINBIG + 0x1000) == 0xbbbb0004u, "large page after INVLPG elsewhere in it");

    /* Global page: toggling CR4.PGE drops it. */
    map4k(3, FRAME_A, P | RW | G);
    CHECK(hot(LIN4K(3)) == 0xaaaa0001u, "global page before PGE toggle");
    pt_test[3] = FRAME_B | P | RW | G;
    write_cr4(read_cr4() & ~CR4_PGE);
    write_cr4(read_cr4() | CR4_PGE);
    CHECK(call_at(LIN4K(3)) == 0xbbbb0002u, "global page after CR4.PGE toggle");

    /* "jmp rel32" with its opcode at the end of one page and its
     * displacement on the next, remapped under it: the target (back on the
     * first page, nothing runs from the second) tells which bytes ran. */
    volatile uint8_t *c = (volatile uint8_t *)FRAME_C, *d = (volatile uint8_t *)FRAME_D,
                     *e = (volatile uint8_t *)FRAME_E;
    put_ret(FRAME_C + 0x100, 0xcccc0005u);
    put_ret(FRAME_C + 0x200, 0xcccc0006u);
    c[0xfff] = 0xe9;
    d[0] = 0xfc, d[1] = 0xf0, d[2] = 0xff, d[3] = 0xff; /* 0x1004 + rel = 0x100 */
    e[0] = 0xfc, e[1] = 0xf1, e[2] = 0xff, e[3] = 0xff; /* 0x1004 + rel = 0x200 */
    map4k(4, FRAME_C, P | RW);
    map4k(5, FRAME_D, P | RW);
    CHECK(hot(LIN4K(4) + 0xfff) == 0xcccc0005u, "crossing instruction before remap");
    map4k(5, FRAME_E, P | RW);
    CHECK(call_at(LIN4K(4) + 0xfff) == 0xcccc0006u, "crossing instruction after INVLPG of its second page");
    CHECK(hot(LIN4K(4) + 0xfff) == 0xcccc0006u, "crossing instruction hot again");
    e[1] = 0xf0; /* through the identity map: the same frame */
    CHECK(call_at(LIN4K(4) + 0xfff) == 0xcccc0005u, "crossing instruction after a write to its second page");
    CHECK(hot(LIN4K(4) + 0xfff) == 0xcccc0005u, "crossing instruction hot after the write");
    e[1] = 0xf1;
    CHECK(hot(LIN4K(4) + 0xfff) == 0xcccc0006u, "crossing instruction hot after another write");
    pt_test[5] = FRAME_D | P | RW;
    write_cr3(read_cr3());
    CHECK(call_at(LIN4K(4) + 0xfff) == 0xcccc0005u, "crossing instruction after a CR3 load");

    /* The crossing instruction reached by a direct jump from its first
     * page, which the JIT chains: the chained jump must not outlive a
     * remap of the second page (INVLPG, then a CR3 load). */
    volatile uint8_t *f = (volatile uint8_t *)FRAME_F, *g = (volatile uint8_t *)FRAME_G,
                     *h = (volatile uint8_t *)FRAME_H;
    f[0xff0] = 0xeb, f[0xff1] = 0x0a;                       /* jmp 0xffc */
    f[0xffc] = 0xb8, f[0xffd] = 0x07, f[0xffe] = 0x00, f[0xfff] = 0xdd; /* mov $0x??dd0007, %eax */
    g[0] = 0x11, g[1] = 0xc3;
    h[0] = 0x22, h[1] = 0xc3;
    map4k(6, FRAME_F, P | RW);
    map4k(7, FRAME_G, P | RW);
    CHECK(hot(LIN4K(6) + 0xff0) == 0x11dd0007u, "jump into a crossing instruction before remap");
    map4k(7, FRAME_H, P | RW);
    CHECK(call_at(LIN4K(6) + 0xff0) == 0x22dd0007u, "jump into a crossing instruction after INVLPG");
    CHECK(hot(LIN4K(6) + 0xff0) == 0x22dd0007u, "jump into a crossing instruction hot again");
    pt_test[7] = FRAME_G | P | RW;
    write_cr3(read_cr3());
    CHECK(call_at(LIN4K(6) + 0xff0) == 0x11dd0007u, "jump into a crossing instruction after a CR3 load");

    write_cr0(read_cr0() & ~CR0_PG);
    rt_printf("sys_codemap: %d failures\n", rt_failures);
    return rt_failures;
}
