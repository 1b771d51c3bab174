/*
 * Delivering interrupts and exceptions.
 *
 * Real mode: push FLAGS, CS, IP and jump through the IVT at IDTR.base.
 * Protected mode: the IDT gate (interrupt, trap or task) chooses the
 * handler; a handler of higher privilege runs on the stack named by the
 * TSS, and from virtual-8086 mode the data segments are saved on it and
 * cleared. Every check and every push happens before any register
 * changes, so a fault during delivery leaves the interrupted state intact
 * and the nested fault is delivered instead (or as #DF, see
 * except_dispatch).
 *
 * Error codes of faults raised here carry EXT (bit 0) when the event being
 * delivered came from outside the program (external interrupt, exception),
 * and IDT (bit 1) when they name an IDT entry.
 */
#include "cpu/except.h"

#include "cpu/flags.h"
#include "cpu/mem.h"
#include "cpu/seg.h"
#include "cpu/stack.h"
#include "cpu/task.h"

void frame_push(struct cpu *c, struct frame *f, int size, uint32_t val)
{
    uint32_t sp = f->sp - (uint32_t)size;
    if (!f->b32)
        sp &= 0xffff;
    if ((int64_t)(uint32_t)(sp - f->ss.lo) + size - 1 > f->ss.span_w)
        cpu_fault(c, EXC_SS, f->fault_code);
    mem_write_as(c, (uint32_t)(f->ss.base + sp), size, val, f->user);
    f->sp = sp;
}

static void deliver_real(struct cpu *c, int vector)
{
    uint32_t off = (uint32_t)vector * 4;
    if (off + 3 > c->idtr.limit)
        cpu_fault(c, EXC_GP, 0);
    uint32_t vec = (uint32_t)mem_sys_read(c, (uint32_t)c->idtr.base + off, 4);
    uint32_t sp = sp_get(c);
    stk_wr16(c, &sp, (uint16_t)cpu_get_eflags(c));
    stk_wr16(c, &sp, c->seg[SEG_CS].sel);
    stk_wr16(c, &sp, (uint16_t)c->eip);
    sp_set(c, sp);
    c->eflags &= ~(EFL_IF | EFL_TF | EFL_AC | EFL_RF);
    seg_load_real(c, SEG_CS, (uint16_t)(vec >> 16));
    c->eip = vec & 0xffff;
}

/* Read the ring-`dpl` stack from the current TSS. */
static void tss_stack(struct cpu *c, int dpl, int ext, uint16_t *ss, uint32_t *esp)
{
    const struct seg *tr = &c->seg[SEG_TR];
    int type = tr->attr & SA_TYPE;
    if (type == 9 || type == 11) {
        uint32_t off = 4 + 8 * (uint32_t)dpl;
        if (off + 5 > tr->limit)
            cpu_fault(c, EXC_TS, (tr->sel & ~3) + ext);
        *esp = (uint32_t)mem_sys_read(c, (uint32_t)tr->base + off, 4);
        *ss = (uint16_t)mem_sys_read(c, (uint32_t)tr->base + off + 4, 2);
    } else {
        uint32_t off = 2 + 4 * (uint32_t)dpl;
        if (off + 3 > tr->limit)
            cpu_fault(c, EXC_TS, (tr->sel & ~3) + ext);
        *esp = (uint32_t)mem_sys_read(c, (uint32_t)tr->base + off, 2);
        *ss = (uint16_t)mem_sys_read(c, (uint32_t)tr->base + off + 2, 2);
    }
}

/* Validate the stack segment a privilege change switches to (#TS/#SS). */
static struct desc check_new_ss(struct cpu *c, uint16_t ss, int dpl, int ext)
{
    struct desc d;
    if ((ss & ~3) == 0)
        cpu_fault(c, EXC_TS, ext);
    if (!desc_fetch(c, ss, &d))
        cpu_fault(c, EXC_TS, (ss & ~3) + ext);
    if ((ss & 3) != dpl || desc_dpl(d) != dpl || !desc_is_data(d) || !(desc_type(d) & 2))
        cpu_fault(c, EXC_TS, (ss & ~3) + ext);
    if (!desc_present(d))
        cpu_fault(c, EXC_SS, (ss & ~3) + ext);
    return d;
}

static void deliver_protected(struct cpu *c, int vector, enum intr_kind kind, int errcode)
{
    int ext = (kind == INTR_EXTERNAL || kind == INTR_EXCEPTION || kind == INTR_ICEBP) ? 1 : 0;
    uint32_t idt_off = (uint32_t)vector * 8;
    int idt_code = (int)idt_off + 2 + ext;
    if (idt_off + 7 > c->idtr.limit)
        cpu_fault(c, EXC_GP, idt_code);
    uint64_t raw = mem_sys_read(c, (uint32_t)c->idtr.base + idt_off, 8);
    struct desc gate = { (uint32_t)raw, (uint32_t)(raw >> 32) };
    int type = desc_s(gate) ? -1 : desc_type(gate);
    if (type != 5 && type != 6 && type != 7 && type != 14 && type != 15)
        cpu_fault(c, EXC_GP, idt_code);
    if ((kind == INTR_SOFTWARE || kind == INTR_SOFT_EXC) && desc_dpl(gate) < c->cpl)
        cpu_fault(c, EXC_GP, (int)idt_off + 2);
    if (!desc_present(gate))
        cpu_fault(c, EXC_NP, idt_code);
    if (type == 5) {
        task_switch(c, (uint16_t)(gate.lo >> 16), TASK_INT, errcode, ext);
        return;
    }

    uint16_t sel = (uint16_t)(gate.lo >> 16);
    bool gate32 = type & 8;
    uint32_t target = (gate.lo & 0xffff) | (gate32 ? (gate.hi & 0xffff0000u) : 0);
    if ((sel & ~3) == 0)
        cpu_fault(c, EXC_GP, ext);
    struct desc cd;
    if (!desc_fetch(c, sel, &cd))
        cpu_fault(c, EXC_GP, (sel & ~3) + ext);
    int dpl = desc_dpl(cd);
    if (!desc_is_code(cd) || dpl > c->cpl)
        cpu_fault(c, EXC_GP, (sel & ~3) + ext);
    if (!desc_present(cd))
        cpu_fault(c, EXC_NP, (sel & ~3) + ext);
    bool conforming = desc_type(cd) & 4;
    uint32_t eflags = cpu_get_eflags(c);
    bool from_vm = eflags & EFL_VM;
    int size = gate32 ? 4 : 2;
    int new_cpl = conforming ? c->cpl : dpl;

    struct frame f;
    struct desc ssd = { 0, 0 };
    uint16_t new_ss = 0;
    bool stack_switch = !conforming && dpl < c->cpl;
    if (stack_switch) {
        if (from_vm && dpl != 0)
            cpu_fault(c, EXC_GP, (sel & ~3) + ext);
        uint32_t new_esp;
        tss_stack(c, dpl, ext, &new_ss, &new_esp);
        ssd = check_new_ss(c, new_ss, dpl, ext);
        f.ss = (struct seg){ .sel = new_ss, .base = desc_base(ssd), .limit = desc_limit(ssd), .attr = desc_attr(ssd) };
        seg_compute_checks(&f.ss, SEG_SS, true);
        f.b32 = f.ss.attr & SA_DB;
        f.sp = f.b32 ? new_esp : (new_esp & 0xffff);
        f.user = dpl == 3;
        f.fault_code = (new_ss & ~3) + ext;
        if (from_vm) {
            frame_push(c, &f, size, c->seg[SEG_GS].sel);
            frame_push(c, &f, size, c->seg[SEG_FS].sel);
            frame_push(c, &f, size, c->seg[SEG_DS].sel);
            frame_push(c, &f, size, c->seg[SEG_ES].sel);
        }
        frame_push(c, &f, size, c->seg[SEG_SS].sel);
        frame_push(c, &f, size, (uint32_t)c->gpr[R_ESP]);
    } else {
        if (from_vm)
            cpu_fault(c, EXC_GP, (sel & ~3) + ext);
        f.ss = c->seg[SEG_SS];
        f.b32 = ss32(c);
        f.sp = sp_get(c);
        f.user = c->cpl == 3;
        f.fault_code = ext;
    }
    frame_push(c, &f, size, eflags);
    frame_push(c, &f, size, c->seg[SEG_CS].sel);
    frame_push(c, &f, size, (uint32_t)c->eip);
    if (errcode != NO_ERRCODE)
        frame_push(c, &f, size, (uint32_t)errcode);
    if (target > desc_limit(cd))
        cpu_fault(c, EXC_GP, 0);

    /* Commit. Accessed bits are set last: they are the only memory writes
     * besides the frame, and a fault setting them is still precise. */
    desc_set_accessed(c, sel, &cd);
    if (stack_switch)
        desc_set_accessed(c, new_ss, &ssd);
    uint32_t clear = EFL_TF | EFL_NT | EFL_RF | EFL_VM | (type & 1 ? 0 : EFL_IF);
    cpu_set_eflags(c, 0, clear);
    c->cpl = new_cpl;
    if (stack_switch) {
        seg_load_desc(c, SEG_SS, new_ss, ssd);
        if (from_vm)
            for (int s = SEG_ES; s <= SEG_GS; s++)
                if (s != SEG_CS && s != SEG_SS)
                    seg_set_cache(c, s, 0, 0, 0, 0);
    }
    seg_load_desc(c, SEG_CS, (uint16_t)((sel & ~3) | new_cpl), cd);
    if (f.b32)
        c->gpr[R_ESP] = f.sp;
    else
        wr_reg16(c, R_ESP, (uint16_t)f.sp);
    c->eip = target;
    cpu_update_mode(c);
}

void intr_deliver(struct cpu *c, int vector, enum intr_kind kind, int errcode)
{
    if (c->log_mask & LOG_INT)
        cpu_logf(c, "int: vector %#x kind %d err %#x at %04x:%08x", vector, kind, errcode, c->seg[SEG_CS].sel,
                 (uint32_t)c->eip);
    c->intr_taken = 1;
    if (!(c->cr0 & CR0_PE)) {
        deliver_real(c, vector);
        return;
    }
    /* INT n in v86 mode without VME: IOPL must be 3, else #GP(0) to the monitor. */
    if (kind == INTR_SOFTWARE && (c->eflags & EFL_VM) && ((c->eflags & EFL_IOPL) >> 12) < 3)
        cpu_fault(c, EXC_GP, 0);
    deliver_protected(c, vector, kind, errcode);
}

static bool contributory(int v)
{
    return v == EXC_DE || (v >= EXC_TS && v <= EXC_GP);
}

bool except_dispatch(struct cpu *c)
{
    int v = c->exc_vector, code = c->exc_code;
    c->stats.exceptions++;
    if (c->deliv_vector >= 0) {
        int prev = c->deliv_vector;
        if (prev == EXC_DF) {
            c->deliv_vector = -1;
            if (c->log_mask & LOG_INT)
                cpu_logf(c, "int: triple fault (vector %#x during #DF)", v);
            return false;
        }
        if ((contributory(prev) && contributory(v)) || (prev == EXC_PF && (v == EXC_PF || contributory(v)))) {
            v = EXC_DF;
            code = 0;
        }
    }
    c->deliv_vector = v;
    intr_deliver(c, v, INTR_EXCEPTION, exc_has_errcode(v) ? code : NO_ERRCODE);
    c->deliv_vector = -1;
    return true;
}
