/*
 * Hardware task switching (Intel SDM Vol. 3, 7.3): JMP or CALL to a TSS
 * descriptor or task gate, an interrupt or exception through a task gate
 * in the IDT, and IRET with EFLAGS.NT set (return through the back link).
 *
 * The switch runs in two halves around a commit point, as the SDM
 * describes:
 *   1. Check the new TSS descriptor, read the whole incoming state, save
 *      the outgoing state into the current TSS, update busy bits and the
 *      back link. A fault here (#GP, #TS, #NP, #PF) is raised in the old
 *      task with its registers untouched (the TSS memory writes are the
 *      only side effects, as on hardware).
 *   2. Load TR, CR3, EFLAGS, EIP and the general registers, then check
 *      and load LDTR, CS, SS and the data segments. A fault here is raised
 *      in the context of the new task: cpu_commit_context() tells the
 *      unwinder that EIP is already the new task's.
 *
 * 16-bit (286) TSSs are supported in both roles; their registers load
 * with the upper halves set to ones, as P6 processors (and QEMU, Bochs) do.
 * CR3 is loaded from a 32-bit TSS only while paging is on.
 */
#include "cpu/task.h"

#include "cpu/except.h"
#include "cpu/mem.h"
#include "cpu/seg.h"
#include "cpu/stack.h"

/* Segment registers in TSS order. */
static const int tss_sregs[6] = { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

/* The dynamic state a TSS holds. */
struct tss_state {
    uint32_t cr3, eip, eflags;
    uint32_t gpr[8];  /* EAX..EDI */
    uint16_t sreg[6]; /* ES CS SS DS FS GS */
    uint16_t ldt;
    bool trap;        /* T flag: #DB when the task starts */
};

static uint32_t rd(struct cpu *c, uint32_t base, uint32_t off, int size)
{
    return (uint32_t)mem_sys_read(c, base + off, size);
}
static void wr(struct cpu *c, uint32_t base, uint32_t off, int size, uint32_t v)
{
    mem_sys_write(c, base + off, size, v);
}

static void tss_read(struct cpu *c, uint32_t base, bool t32, struct tss_state *s)
{
    if (t32) {
        s->cr3 = rd(c, base, 0x1c, 4);
        s->eip = rd(c, base, 0x20, 4);
        s->eflags = rd(c, base, 0x24, 4);
        for (int r = 0; r < 8; r++)
            s->gpr[r] = rd(c, base, 0x28 + 4 * (uint32_t)r, 4);
        for (int k = 0; k < 6; k++)
            s->sreg[k] = (uint16_t)rd(c, base, 0x48 + 4 * (uint32_t)k, 2);
        s->ldt = (uint16_t)rd(c, base, 0x60, 2);
        s->trap = rd(c, base, 0x64, 2) & 1;
        return;
    }
    s->cr3 = 0;
    s->eip = rd(c, base, 0x0e, 2);
    s->eflags = rd(c, base, 0x10, 2);
    for (int r = 0; r < 8; r++)
        s->gpr[r] = 0xffff0000u | rd(c, base, 0x12 + 2 * (uint32_t)r, 2);
    for (int k = 0; k < 4; k++)
        s->sreg[k] = (uint16_t)rd(c, base, 0x22 + 2 * (uint32_t)k, 2);
    s->sreg[4] = s->sreg[5] = 0; /* a 286 TSS has no FS, GS: they load null */
    s->ldt = (uint16_t)rd(c, base, 0x2a, 2);
    s->trap = false;
}

/* Save the outgoing task's dynamic state (not LDTR, CR3: those are static). */
static void tss_save(struct cpu *c, uint32_t base, bool t32, uint32_t eflags)
{
    if (t32) {
        wr(c, base, 0x20, 4, (uint32_t)c->eip);
        wr(c, base, 0x24, 4, eflags);
        for (int r = 0; r < 8; r++)
            wr(c, base, 0x28 + 4 * (uint32_t)r, 4, (uint32_t)c->gpr[r]);
        for (int k = 0; k < 6; k++)
            wr(c, base, 0x48 + 4 * (uint32_t)k, 2, c->seg[tss_sregs[k]].sel);
        return;
    }
    wr(c, base, 0x0e, 2, (uint16_t)c->eip);
    wr(c, base, 0x10, 2, (uint16_t)eflags);
    for (int r = 0; r < 8; r++)
        wr(c, base, 0x12 + 2 * (uint32_t)r, 2, (uint16_t)c->gpr[r]);
    for (int k = 0; k < 4; k++)
        wr(c, base, 0x22 + 2 * (uint32_t)k, 2, c->seg[tss_sregs[k]].sel);
}

void tss_inner_stack(struct cpu *c, int dpl, int ext, uint16_t *ss, uint32_t *esp)
{
    const struct seg *tr = &c->seg[SEG_TR];
    uint32_t base = (uint32_t)tr->base;
    if ((tr->attr & SA_TYPE) & 8) {
        uint32_t off = 4 + 8 * (uint32_t)dpl;
        if (off + 5 > tr->limit)
            cpu_fault(c, EXC_TS, sel_code(tr->sel, ext));
        *esp = rd(c, base, off, 4);
        *ss = (uint16_t)rd(c, base, off + 4, 2);
    } else {
        uint32_t off = 2 + 4 * (uint32_t)dpl;
        if (off + 3 > tr->limit)
            cpu_fault(c, EXC_TS, sel_code(tr->sel, ext));
        *esp = rd(c, base, off, 2);
        *ss = (uint16_t)rd(c, base, off + 2, 2);
    }
}

/* CS of the incoming task: code, privilege matching its RPL, present. */
static void load_task_cs(struct cpu *c, uint16_t sel, int ext)
{
    struct desc d;
    if ((sel & ~3) == 0)
        cpu_fault(c, EXC_TS, ext);
    if (!desc_fetch(c, sel, &d) || !desc_is_code(d))
        cpu_fault(c, EXC_TS, sel_code(sel, ext));
    int rpl = sel & 3;
    if (desc_conforming(d) ? desc_dpl(d) > rpl : desc_dpl(d) != rpl)
        cpu_fault(c, EXC_TS, sel_code(sel, ext));
    if (!desc_present(d))
        cpu_fault(c, EXC_NP, sel_code(sel, ext));
    desc_set_accessed(c, sel, &d);
    seg_load_desc(c, SEG_CS, sel, d);
}

/* Second half: load the incoming state (faults belong to the new task). */
static void load_new_state(struct cpu *c, const struct tss_state *s, bool n32, int ext)
{
    uint32_t eflags = s->eflags | EFL_1;
    if (!n32)
        eflags &= 0xffff;
    cpu_set_eflags(c, eflags, ~0u);
    for (int r = 0; r < 8; r++)
        c->gpr[r] = s->gpr[r];
    c->eip = n32 ? s->eip : (s->eip & 0xffff);
    bool vm = c->eflags & EFL_VM;
    c->cpl = vm ? 3 : (s->sreg[1] & 3);
    /* Selectors become visible at once; descriptors follow the checks,
     * so a fault below shows the new task's selectors with unusable
     * segments, as in the SDM's description of task-switch errors. */
    for (int k = 0; k < 6; k++)
        seg_set_cache(c, tss_sregs[k], s->sreg[k], 0, 0, 0);
    seg_load_ldt(c, s->ldt, EXC_TS, EXC_TS, ext);
    if (vm) {
        for (int k = 0; k < 6; k++)
            seg_load_real(c, tss_sregs[k], s->sreg[k]);
        cpu_update_mode(c);
        return;
    }
    load_task_cs(c, s->sreg[1], ext);
    struct desc ssd = seg_check_stack(c, s->sreg[2], c->cpl, EXC_TS, ext, ext);
    desc_set_accessed(c, s->sreg[2], &ssd);
    seg_load_desc(c, SEG_SS, s->sreg[2], ssd);
    seg_load_data(c, SEG_ES, s->sreg[0], EXC_TS, ext);
    seg_load_data(c, SEG_DS, s->sreg[3], EXC_TS, ext);
    seg_load_data(c, SEG_FS, s->sreg[4], EXC_TS, ext);
    seg_load_data(c, SEG_GS, s->sreg[5], EXC_TS, ext);
    cpu_update_mode(c);
}

void task_switch(struct cpu *c, uint16_t sel, enum task_reason reason, int errcode, int ext)
{
    bool iret = reason == TASK_IRET;
    int bad = iret ? EXC_TS : EXC_GP;
    struct desc nd;
    if (c->log_mask & LOG_INT)
        cpu_logf(c, "task switch to %#x (reason %d)", sel, reason);

    /* The new TSS: in the GDT, available (busy for IRET), present, long enough. */
    if (!desc_fetch_gdt(c, sel, &nd))
        cpu_fault(c, bad, sel_code(sel, ext));
    int type = desc_s(nd) ? -1 : desc_type(nd);
    bool ok = iret ? (type == DT_TSS16_BUSY || type == DT_TSS32_BUSY) : (type == DT_TSS16 || type == DT_TSS32);
    if (!ok)
        cpu_fault(c, bad, sel_code(sel, ext));
    if (!desc_present(nd))
        cpu_fault(c, EXC_NP, sel_code(sel, ext));
    bool n32 = type & 8;
    if (desc_limit(nd) < (n32 ? 0x67u : 0x2bu))
        cpu_fault(c, EXC_TS, sel_code(sel, ext));

    const struct seg *tr = &c->seg[SEG_TR];
    uint16_t old_sel = tr->sel;
    bool o32 = tr->attr & 8;
    if (tr->limit < (o32 ? 0x5fu : 0x29u))
        cpu_fault(c, EXC_TS, sel_code(old_sel, ext));

    /* Everything that can fault in the old task: read the new state,
     * save the old one, then the descriptor and back-link writes. */
    struct tss_state ns;
    uint32_t nbase = desc_base(nd);
    tss_read(c, nbase, n32, &ns);
    uint32_t eflags = cpu_get_eflags(c);
    if (iret)
        eflags &= ~EFL_NT;
    tss_save(c, (uint32_t)tr->base, o32, eflags);
    if ((reason == TASK_JMP || iret) && (old_sel & ~3)) {
        struct desc od;
        if (desc_fetch_gdt(c, old_sel, &od)) {
            od.hi &= ~((uint32_t)DT_BUSY << 8);
            desc_write_type(c, old_sel, od);
        }
    }
    if (reason == TASK_CALL || reason == TASK_INT) {
        wr(c, nbase, 0, 2, old_sel);
        ns.eflags |= EFL_NT;
    }
    if (!iret) {
        nd.hi |= (uint32_t)DT_BUSY << 8;
        desc_write_type(c, sel, nd);
    }

    /* Commit: from here on the new task owns every fault. */
    cpu_commit_context(c);
    cpu_stop(c);
    seg_load_desc(c, SEG_TR, sel, nd);
    c->cr0 |= CR0_TS;
    c->dr[7] &= ~0x55u; /* local breakpoint enables belong to the old task */
    if (n32 && (c->cr0 & CR0_PG)) {
        c->cr3 = ns.cr3;
        if (!mmu_set_paging(&c->mmu, c->mem, c->cr0, c->cr3, c->cr4, c->efer))
            cpu_fault(c, EXC_GP, 0);
        cpu_tlb_flush(c);
    }
    load_new_state(c, &ns, n32, ext);

    if (errcode != NO_ERRCODE) {
        struct frame f = { .ss = c->seg[SEG_SS], .sp = sp_get(c), .b32 = ss32(c), .user = c->cpl == 3,
                           .fault_code = ext };
        frame_push(c, &f, n32 ? 4 : 2, (uint32_t)errcode);
        sp_set(c, f.sp);
    }
    if (c->eip > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, ext);
    if (ns.trap) {
        c->dr[6] |= 1u << 15; /* BT: the T flag of the new TSS */
        intr_deliver(c, EXC_DB, INTR_EXCEPTION, NO_ERRCODE);
    }
}
