/*
 * Debug registers: MOV to and from DR0-DR7, and the breakpoint engine
 * behind DR7 (instruction and data breakpoints, general detect).
 *
 * MOV DRn: CPL 0 only (#GP(0), so also in virtual-8086 mode); DR4 and DR5
 * are aliases of DR6 and DR7 unless CR4.DE is set, when they are #UD;
 * with DR7.GD set any access raises #DB first, with DR6.BD set and GD
 * cleared so the handler can use the registers. DR6 and DR7 read their
 * fixed bits as the P6 does (DR6 bits 4-11 and 16-31 one, bit 12 zero;
 * DR7 bit 10 one; other reserved bits zero).
 *
 * Breakpoints (see cpu/sysregs.h for how they stay off the fast path):
 * - Instruction breakpoints (R/W = 00) are faults, checked before the
 *   instruction at CS.base + EIP runs unless EFLAGS.RF is set; RF is then
 *   cleared instead, which is what lets a handler IRET with RF=1 and run
 *   the instruction once.
 * - Data breakpoints (R/W = 01 writes, 11 reads and writes; LEN 1, 2, 4
 *   bytes, the address aligned down to the length) are traps: hits are
 *   collected during the instruction and reported in DR6 after it
 *   completes. A string instruction with REP reports after the whole
 *   instruction rather than after the iteration that hit.
 * - I/O breakpoints (R/W = 10 with CR4.DE) are not implemented.
 * B0-B3 in DR6 are replaced by the breakpoints that hit, as QEMU does;
 * the processor never clears the other DR6 bits.
 */
#include "cpu/except.h"
#include "cpu/ops/ops.h"
#include "cpu/sysregs.h"

static int bp_enabled(const struct cpu *c, int n) { return (c->dr[7] >> (2 * n)) & 3; }
static int bp_rw(const struct cpu *c, int n) { return (c->dr[7] >> (16 + 4 * n)) & 3; }
static uint32_t bp_len(const struct cpu *c, int n)
{
    static const uint8_t len[4] = { 1, 2, 8, 4 }; /* 10b is 8 bytes on later CPUs, undefined on P6 */
    return len[(c->dr[7] >> (18 + 4 * n)) & 3];
}

void dbg_update(struct cpu *c)
{
    uint32_t pages[4];
    unsigned npages = 0;
    bool armed = false, data = false;
    for (int n = 0; n < 4; n++) {
        if (!bp_enabled(c, n))
            continue;
        armed = true;
        int rw = bp_rw(c, n);
        if (rw == 1 || rw == 3) {
            data = true;
            uint32_t a = c->dr[n] & ~(bp_len(c, n) - 1);
            pages[npages++] = a & ~0xfffu; /* an aligned range never crosses a page */
        }
    }
    c->dbg_armed = armed;
    if (armed)
        cpu_event(c);
    c->dbg_data = data;
    c->dbg_hits = 0;
    if (npages || c->mmu.nwatch)
        mmu_set_watch(&c->mmu, pages, npages);
}

bool dbg_before_insn(struct cpu *c)
{
    c->dbg_hits = 0;
    if (c->eflags & EFL_RF) {
        c->eflags &= ~EFL_RF;
        return false;
    }
    uint32_t lin = (uint32_t)(c->seg[SEG_CS].base + c->eip);
    uint32_t hit = 0;
    for (int n = 0; n < 4; n++)
        if (bp_enabled(c, n) && bp_rw(c, n) == 0 && c->dr[n] == lin)
            hit |= DR6_B(n);
    if (!hit)
        return false;
    c->dr[6] = (c->dr[6] & ~0xfu) | hit;
    intr_deliver(c, EXC_DB, INTR_EXCEPTION, NO_ERRCODE);
    return true;
}

uint32_t dbg_after_insn(struct cpu *c)
{
    uint32_t hit = c->dbg_hits;
    c->dbg_hits = 0;
    if (hit)
        c->dr[6] = (c->dr[6] & ~0xfu) | hit;
    return hit;
}

void dbg_data_check(struct cpu *c, uint32_t lin, int size, bool write)
{
    for (int n = 0; n < 4; n++) {
        int rw = bp_rw(c, n);
        if (!bp_enabled(c, n) || !(rw == 3 || (rw == 1 && write)))
            continue;
        uint32_t len = bp_len(c, n);
        uint32_t a = c->dr[n] & ~(len - 1);
        /* Overlap of [lin, lin + size) and [a, a + len), wrapping at 4 GiB. */
        if ((uint32_t)(a - lin) < (uint32_t)size || (uint32_t)(lin - a) < len)
            c->dbg_hits |= DR6_B(n);
    }
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE; general detect; CPL 0. */
static int dr_index(struct cpu *c, int n)
{
    if (c->cpl != 0)
        cpu_fault(c, EXC_GP, 0);
    if (n == 4 || n == 5) {
        if (c->cr4 & CR4_DE)
            cpu_fault(c, EXC_UD, NO_ERRCODE);
        n += 2;
    }
    if (c->dr[7] & DR7_GD) {
        c->dr[6] |= DR6_BD;
        c->dr[7] &= ~DR7_GD;
        cpu_fault(c, EXC_DB, NO_ERRCODE);
    }
    return n;
}

HANDLER(mov_RdDd)
{
    int n = dr_index(c, i->reg);
    wr_reg32(c, i->rm, c->dr[n]);
}

HANDLER(mov_DdRd)
{
    int n = dr_index(c, i->reg);
    uint32_t v = rd_reg32(c, i->rm);
    if (n == 6)
        v = (v & (0xfu | DR6_BD | DR6_BS | DR6_BT)) | DR6_FIXED;
    else if (n == 7)
        v = (v & DR7_VALID) | DR7_FIXED;
    c->dr[n] = v;
    if (n != 6)
        dbg_update(c);
    cpu_stop(c);
}
