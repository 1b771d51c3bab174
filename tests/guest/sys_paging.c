/*
 * Paging, run as a guest: two-level 4 KiB paging, 4 MiB PSE pages, PAE
 * with 2 MiB pages and NX, global pages, INVLPG, CR0.WP, user/supervisor
 * checks, accessed/dirty bits, page-fault error codes and CR2, and a fault
 * handler that maps the page and restarts the instruction (also a REP
 * MOVSD that faults half-way). The whole program after the first lines
 * runs with paging on, printing through COM1.
 *
 * Expected values come from the Intel SDM Vol. 3A ch. 4; the output was
 * cross-checked with QEMU (qemu-system-i386 -cpu pentium2,+nx), and the
 * lines where QEMU differs are listed with the SDM's ruling in
 * tests/guest/sys/README.md.
 */
#include "sys/sysrt.h"

#define P 0x001u
#define RW 0x002u
#define US 0x004u
#define A 0x020u
#define D 0x040u
#define PS 0x080u
#define G 0x100u

#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1u << 11)

/* Page tables are volatile: the CPU reads and updates them behind the
 * compiler's back (A/D bits), and stores to them must stay ordered with
 * the accesses they affect. */

/* Linear test pages (through pt_test) and the physical frames behind them. */
#define TLIN(n) (0x00400000u + (uint32_t)(n) * 0x1000u)
#define FRAME(n) (0x00300000u + (uint32_t)(n) * 0x1000u)

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_low[1024] __attribute__((aligned(4096)));  /* identity 0-4 MiB */
static volatile uint32_t pt_test[1024] __attribute__((aligned(4096))); /* 4-8 MiB test pages */

static volatile uint32_t *lin(uint32_t a) { return (volatile uint32_t *)a; }
static volatile uint32_t *phys(uint32_t a) { return (volatile uint32_t *)a; } /* identity-mapped below 4 MiB */

static void map(int n, uint32_t frame, uint32_t flags)
{
    pt_test[n] = frame | flags;
    invlpg(lin(TLIN(n)));
}

static void fill_frame(int n, uint32_t seed)
{
    for (int k = 0; k < 1024; k++)
        phys(FRAME(n))[k] = seed + (uint32_t)k;
}

static const char *ad(uint32_t e)
{
    static const char *const s[4] = { "A=0 D=0", "A=1 D=0", "A=0 D=1", "A=1 D=1" };
    return s[((e & A) ? 1 : 0) | ((e & D) ? 2 : 0)];
}

/* ---- Ring-3 probes (run through sys_user_call) ---- */

static uint32_t user_read(uint32_t a)
{
    uint32_t v = 0;
    TRY("  user read", "movl (%1), %0", : "+r"(v) : "r"(a) : "memory");
    return v;
}

static uint32_t user_write(uint32_t a)
{
    TRY("  user write", "movl $0x5a5a5a5a, (%0)", : : "r"(a) : "memory");
    return 0;
}

static void sup_read(uint32_t a)
{
    uint32_t v = 0;
    TRY("  supervisor read", "movl (%1), %0", : "+r"(v) : "r"(a) : "memory");
}

static void sup_write(uint32_t a)
{
    TRY("  supervisor write", "movl $0xa5a5a5a5, (%0)", : : "r"(a) : "memory");
}

/* Jump to `a`, whose page holds "jmp *%ebx" (ff e3), which comes back to label 9. */
static void sup_fetch(const char *name, uint32_t a)
{
    sys_clear();
    __asm__ volatile("movl $8f, sys_at\n\tmovl $9f, sys_next\n\tmovl $9f, sys_resume\n\t"
                     "movl $9f, %%ebx\n"
                     "8:\n\tjmp *%0\n9:\n\tmovl $0, sys_resume"
                     :
                     : "r"(a)
                     : "ebx", "memory");
    sys_report(name);
}

static uint32_t user_fetch(uint32_t a)
{
    sup_fetch("  user fetch", a);
    return 0;
}

static void put_jmp_ebx(uint32_t frame)
{
    *(volatile uint8_t *)frame = 0xff;
    *(volatile uint8_t *)(frame + 1) = 0xe3;
}

/* ---- Demand paging: the #PF handler maps the page and restarts ---- */

static volatile int demand_faults;

static int demand_pager(struct sys_frame *f)
{
    uint32_t a = read_cr2();
    if (f->vector != 14 || a < TLIN(0) || a >= TLIN(1024) || (pt_test[(a - TLIN(0)) >> 12] & P))
        return 0;
    int n = (int)((a - TLIN(0)) >> 12);
    map(n, FRAME(n), P | RW | US);
    demand_faults++;
    return 1; /* IRET to the faulting instruction */
}

static uint32_t user_demand(uint32_t a)
{
    return *lin(a) + *lin(a + 4);
}

/* ---- 32-bit paging ---- */

static void two_level(void)
{
    rt_printf("== two-level paging\n");
    for (int k = 0; k < 1024; k++)
        pt_low[k] = (uint32_t)k << 12 | P | RW | US;
    pd[0] = (uint32_t)pt_low | P | RW | US;
    pd[1] = (uint32_t)pt_test | P | RW | US;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | CR0_PG);
    rt_printf("paging on: cr0.pg=%u cr3=pd\n", read_cr0() >> 31);

    /* Accessed and dirty bits (SDM 4.8). */
    fill_frame(0, 0x10000000);
    map(0, FRAME(0), P | RW | US);
    pd[1] &= ~A;
    uint32_t v = *lin(TLIN(0) + 8);
    rt_printf("read %x: pte %s, pde A=%u\n", v, ad(pt_test[0]), (pd[1] & A) ? 1 : 0);
    *lin(TLIN(0) + 8) = 0x12345678;
    rt_printf("write: pte %s, pde D=%u, frame %x\n", ad(pt_test[0]), (pd[1] & D) ? 1 : 0, phys(FRAME(0))[2]);
    map(0, FRAME(0), P | RW | US);
    *lin(TLIN(0)) = 1;
    rt_printf("write first: pte %s\n", ad(pt_test[0]));
    map(0, FRAME(0), P | RW | US | A);
    v = *lin(TLIN(0));
    rt_printf("read with A set: pte %s\n", ad(pt_test[0]));
    *lin(TLIN(0)) = 2; /* the TLB holds a clean entry: the write must set D */
    rt_printf("then write: pte %s\n", ad(pt_test[0]));

    /* Not present, every access kind. */
    rt_printf("not present:\n");
    map(1, FRAME(1), RW | US);
    sup_read(TLIN(1) + 0x10);
    sup_write(TLIN(1) + 0x20);
    sys_user_call(user_read, TLIN(1) + 0x30);
    sys_user_call(user_write, TLIN(1) + 0x40);
    put_jmp_ebx(FRAME(1));
    sup_fetch("  supervisor fetch", TLIN(1));
    sys_user_call(user_fetch, TLIN(1));
    rt_printf("  pte after faults: %s\n", ad(pt_test[1]));

    /* User/supervisor and read/write (SDM 4.6). */
    rt_printf("supervisor-only page:\n");
    fill_frame(2, 0x20000000);
    map(2, FRAME(2), P | RW);
    sup_read(TLIN(2));
    sys_user_call(user_read, TLIN(2));
    sys_user_call(user_write, TLIN(2));
    rt_printf("read-only user page, CR0.WP=0:\n");
    fill_frame(3, 0x30000000);
    map(3, FRAME(3), P | US);
    sys_user_call(user_read, TLIN(3) + 4);
    sys_user_call(user_write, TLIN(3) + 4);
    sup_write(TLIN(3) + 4);
    rt_printf("  frame %x, pte %s\n", phys(FRAME(3))[1], ad(pt_test[3]));
    rt_printf("CR0.WP=1:\n");
    write_cr0(read_cr0() | CR0_WP);
    sup_write(TLIN(3) + 8);
    sup_read(TLIN(3) + 8);
    rt_printf("  frame %x\n", phys(FRAME(3))[2]);
    write_cr0(read_cr0() & ~CR0_WP);
    sup_write(TLIN(3) + 8);
    rt_printf("  WP=0 again: frame %x\n", phys(FRAME(3))[2]);
    /* The directory entry counts too: PDE 3 and 4 reuse pt_test. */
    rt_printf("PDE without U/S, PTE with:\n");
    pd[3] = (uint32_t)pt_test | P | RW;
    sys_user_call(user_read, 0x00c00000u + 0x3000);
    rt_printf("PDE without R/W, PTE with:\n");
    pd[4] = (uint32_t)pt_test | P | US;
    map(5, FRAME(5), P | RW | US);
    sys_user_call(user_write, 0x01000000u + 0x5000);
    write_cr0(read_cr0() | CR0_WP);
    sup_write(0x01000000u + 0x5000);
    write_cr0(read_cr0() & ~CR0_WP);
    sup_write(0x01000000u + 0x5000);
    pd[3] = pd[4] = 0;
    write_cr3(read_cr3());

    /* INVLPG: a changed PTE is not seen until the entry is invalidated. */
    rt_printf("INVLPG:\n");
    fill_frame(6, 0x60000000);
    fill_frame(7, 0x70000000);
    map(6, FRAME(6), P | RW);
    uint32_t before = *lin(TLIN(6));
    pt_test[6] = FRAME(7) | P | RW;
    uint32_t stale = *lin(TLIN(6));
    invlpg(lin(TLIN(6)));
    uint32_t after = *lin(TLIN(6));
    rt_printf("  before %x, changed PTE without INVLPG %x, after INVLPG %x\n", before, stale, after);

    /* Demand paging with restart. */
    rt_printf("demand paging:\n");
    fill_frame(12, 0xc0000000);
    map(12, 0, 0);
    map(13, 0, 0);
    map(14, 0, 0);
    map(15, 0, 0);
    map(16, 0, 0);
    sys_hook = demand_pager;
    demand_faults = 0;
    v = *lin(TLIN(12) + 0x100);
    rt_printf("  read %x after %d fault(s)\n", v, demand_faults);
    demand_faults = 0;
    *lin(TLIN(13) + 0x200) = 0xdeadbeef;
    rt_printf("  write reached frame: %x after %d fault(s)\n", phys(FRAME(13))[0x80], demand_faults);
    demand_faults = 0;
    fill_frame(14, 0xe0000000);
    v = sys_user_call(user_demand, TLIN(14) + 0x10);
    rt_printf("  ring 3 read sum %x after %d fault(s)\n", v, demand_faults);
    /* REP MOVSD from a mapped page into two unmapped ones: faults at the
     * page boundaries and resumes with ECX/ESI/EDI where they stopped. */
    demand_faults = 0;
    uint32_t src = TLIN(12) + 0x800, dst = TLIN(15) + 0x800, n = 0x400;
    __asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
    int same = 1;
    for (int k = 0; k < 0x400; k++)
        same &= *lin(TLIN(15) + 0x800 + 4u * (uint32_t)k) == *lin(TLIN(12) + 0x800 + 4u * (uint32_t)k);
    rt_printf("  rep movsd: %d fault(s), ecx=%x, copy %s\n", demand_faults, n, same ? "equal" : "DIFFERS");
    sys_hook = 0;
}

/* ---- 4 MiB pages ---- */

static void pse_pages(void)
{
    rt_printf("== 4 MiB pages\n");
    write_cr4(read_cr4() | CR4_PSE);
    pd[2] = 0x00c00000u | PS | P | RW | US; /* linear 8 MiB -> physical 12 MiB */
    write_cr3(read_cr3());
    *lin(0x00812344u) = 0xfeedface;
    map(20, 0x00c12000u, P | RW); /* the same physical page through a 4 KiB entry */
    rt_printf("write through 4M page, read through 4K page: %x\n", *lin(TLIN(20) + 0x344));
    rt_printf("pde %s\n", ad(pd[2]));
    /* INVLPG of any address in a large page drops it. */
    *lin(0x00801000u) = 0x11111111;
    pd[2] = 0x01000000u | PS | P | RW | US;
    invlpg(lin(0x00bff000u));
    *lin(0x00801000u) = 0x22222222;
    map(21, 0x01001000u, P | RW);
    map(22, 0x00c01000u, P | RW);
    rt_printf("INVLPG elsewhere in the 4M page: new frame %x, old frame %x\n", *lin(TLIN(21)), *lin(TLIN(22)));
    /* Without CR4.PSE the PS bit is ignored: the PDE names a page table. */
    pd[2] = 0x00c00000u | PS | P | RW | US;
    write_cr3(read_cr3());
    *lin(0x00800000u) = FRAME(23) | P | RW; /* entry 0 of the would-be page table */
    phys(FRAME(23))[0] = 0x23232323;
    write_cr4(read_cr4() & ~CR4_PSE);
    rt_printf("CR4.PSE=0: linear 8M reads %x\n", *lin(0x00800000u));
    write_cr4(read_cr4() | CR4_PSE);
    rt_printf("CR4.PSE=1: linear 8M reads %x\n", *lin(0x00800000u));
    pd[2] = 0;
    write_cr3(read_cr3());
}

/* ---- Global pages ---- */

static void global_pages(void)
{
    rt_printf("== global pages\n");
    fill_frame(8, 0x80000000);
    fill_frame(9, 0x90000000);
    fill_frame(10, 0xa0000000);
    fill_frame(11, 0xb0000000);
    write_cr4(read_cr4() | CR4_PGE);
    map(8, FRAME(8), P | RW | G);
    map(9, FRAME(9), P | RW);
    uint32_t g0 = *lin(TLIN(8)), n0 = *lin(TLIN(9));
    pt_test[8] = FRAME(10) | P | RW | G;
    pt_test[9] = FRAME(11) | P | RW;
    write_cr3(read_cr3());
    uint32_t g1 = *lin(TLIN(8)), n1 = *lin(TLIN(9));
    write_cr4(read_cr4() & ~CR4_PGE);
    uint32_t g2 = *lin(TLIN(8));
    rt_printf("global: %x, after CR3 load %x, after CR4.PGE toggle %x\n", g0, g1, g2);
    rt_printf("non-global: %x, after CR3 load %x\n", n0, n1);
}

/* ---- PAE ---- */

static volatile uint64_t pdpt[4] __attribute__((aligned(32)));
static volatile uint64_t pdpt_bad[4] __attribute__((aligned(32)));
static volatile uint64_t pae_pd[512] __attribute__((aligned(4096)));
static volatile uint64_t pae_pd1[512] __attribute__((aligned(4096)));
static volatile uint64_t pae_pt_low[512] __attribute__((aligned(4096)));
static volatile uint64_t pae_pt_test[512] __attribute__((aligned(4096)));
#define NX (1ull << 63)
#define PLIN(n) (0x00400000u + (uint32_t)(n) * 0x1000u)

static void pmap(int n, uint64_t e)
{
    pae_pt_test[n] = e;
    invlpg(lin(PLIN(n)));
}

static void set_nxe(int on)
{
    uint64_t e = rdmsr(MSR_EFER);
    wrmsr(MSR_EFER, on ? e | EFER_NXE : e & ~(uint64_t)EFER_NXE);
}

static void pae(void)
{
    rt_printf("== PAE\n");
    uint32_t r[4];
    cpuid(0x80000000u, r);
    uint32_t nx = 0;
    if (r[0] >= 0x80000001u) {
        cpuid(0x80000001u, r);
        nx = (r[3] >> 20) & 1;
    }
    cpuid(1, r);
    rt_printf("cpuid: pae=%u nx=%u\n", (r[3] >> 6) & 1, nx);

    write_cr0(read_cr0() & ~CR0_PG);
    for (int k = 0; k < 512; k++)
        pae_pt_low[k] = (uint64_t)k << 12 | P | RW | US;
    pae_pd[0] = (uint32_t)pae_pt_low | P | RW | US;
    pae_pd[1] = 0x00200000u | PS | P | RW | US;            /* identity 2-4 MiB */
    pae_pd[2] = (uint32_t)pae_pt_test | P | RW | US;      /* 4-6 MiB test pages */
    pae_pd[3] = 0x00e00000u | PS | P | RW | US;            /* linear 6 MiB -> physical 14 MiB */
    pdpt[0] = (uint32_t)pae_pd | P;
    write_cr4(read_cr4() | CR4_PAE);
    write_cr3((uint32_t)pdpt);
    write_cr0(read_cr0() | CR0_PG);
    rt_printf("PAE paging on\n");

    /* 2 MiB page, A/D in the 64-bit entries. */
    *lin(0x00601234u) = 0x2b2b2b2b;
    pmap(0, 0x00e01000u | P | RW);
    rt_printf("2M page write, 4K read: %x, pde %s\n", *lin(PLIN(0) + 0x234), ad((uint32_t)pae_pd[3]));
    fill_frame(1, 0x11000000);
    pmap(1, FRAME(1) | P | RW | US);
    *lin(PLIN(1));
    rt_printf("4K read: pte %s\n", ad((uint32_t)pae_pt_test[1]));
    *lin(PLIN(1)) = 3;
    rt_printf("4K write: pte %s\n", ad((uint32_t)pae_pt_test[1]));
    pmap(2, FRAME(2) | P | RW);
    sys_user_call(user_read, PLIN(2));

    /* NX: instruction fetches from a page with XD set fault with I/D. */
    set_nxe(1);
    rt_printf("EFER.NXE=%u\n", (uint32_t)(rdmsr(MSR_EFER) >> 11) & 1);
    put_jmp_ebx(FRAME(3));
    pmap(3, FRAME(3) | P | RW | US | NX);
    sup_fetch("  fetch from NX page", PLIN(3));
    sup_read(PLIN(3));
    sys_user_call(user_fetch, PLIN(3));
    pmap(3, FRAME(3) | P | RW | US);
    sup_fetch("  fetch after clearing XD", PLIN(3));
    sys_user_call(user_fetch, PLIN(3));
    pae_pd[2] |= NX; /* XD in the directory entry covers the whole table */
    invlpg(lin(PLIN(3)));
    sup_fetch("  fetch with XD in the PDE", PLIN(3));
    pae_pd[2] &= ~NX;
    invlpg(lin(PLIN(3)));
    pmap(4, FRAME(4) | RW | US);
    sup_fetch("  fetch from a not-present page", PLIN(4));

    /* Reserved bits (SDM Table 4-11, MAXPHYADDR 36). */
    rt_printf("reserved bits:\n");
    pmap(5, FRAME(5) | P | RW | US | (1ull << 40));
    sup_read(PLIN(5));
    sup_write(PLIN(5));
    sys_user_call(user_read, PLIN(5));
    sup_fetch("  supervisor fetch", PLIN(5));
    set_nxe(0);
    pmap(5, FRAME(5) | P | RW | US | NX); /* XD is reserved while NXE=0 */
    sup_read(PLIN(5));
    sup_fetch("  supervisor fetch, NXE=0", PLIN(5));
    pae_pd[4] = 0x00e00000u | (1u << 13) | PS | P | RW; /* bit 13 of a 2 MiB PDE */
    sup_read(0x00800000u);
    pae_pd[4] = 0;
    pmap(5, 0);

    /* PDPTEs are loaded by MOV CR3 and checked then (SDM 4.4.1). */
    rt_printf("PDPTE loads:\n");
    pdpt_bad[0] = pdpt[0];
    pdpt_bad[3] = (uint32_t)pae_pd1 | P | 2; /* bit 1 is reserved */
    uint32_t good = (uint32_t)pdpt;
    TRY("  CR3 with a reserved PDPTE bit", "movl %0, %%cr3", : : "r"((uint32_t)pdpt_bad) : "memory");
    write_cr3(good);
    rt_printf("  cr3 still %s\n", read_cr3() == good ? "the old PDPT" : "CHANGED");
    pae_pd1[0] = 0x00e00000u | PS | P | RW;
    pdpt[1] = (uint32_t)pae_pd1 | P; /* present only in memory until CR3 is loaded */
    sup_read(0x40000000u);
    write_cr3(good);
    sup_read(0x40000000u);

    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(read_cr4() & ~CR4_PAE);
    rt_printf("paging off\n");
}

static unsigned fib(unsigned k)
{
    return k < 2 ? k : fib(k - 1) + fib(k - 2);
}

int main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    sys_init();
    two_level();
    pse_pages();
    global_pages();
    rt_printf("fib(22) with paging on: %u\n", fib(22));
    write_cr0(read_cr0() & ~CR0_PG);
    pae();
    return rt_failures;
}
