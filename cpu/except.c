/*
 * Delivering interrupts and exceptions (Intel SDM Vol. 3, ch. 6 and 20).
 *
 * Real mode: push FLAGS, CS, IP and jump through the IVT at IDTR.base.
 * Protected mode: the IDT gate (interrupt, trap or task) chooses the
 * handler; a handler of higher privilege runs on the stack named by the
 * TSS, and from virtual-8086 mode the data segments are saved on it and
 * cleared. Every check and every push happens before any register
 * changes, so a fault during delivery leaves the interrupted state intact
 * and the nested fault is delivered instead (or as #DF, see
 * except_dispatch). A task gate hands over to task_switch().
 *
 * Error codes of faults raised here carry EXT (bit 0) when the event being
 * delivered came from outside the program (external interrupt, NMI, an
 * exception, INT1), and IDT (bit 1) when they name an IDT entry.
 *
 * Double faults (SDM Table 6-5): while exception `deliv_vector` is being
 * delivered, a second contributory exception after a contributory one,
 * or a contributory or page fault after a page fault, becomes #DF; any
 * exception while delivering #DF shuts the processor down. Benign
 * combinations are delivered one after the other. External interrupts
 * and INT n do not arm these rules (deliv_vector is -1 for them).
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

void frame_inner(struct cpu *c, struct frame *f, int dpl, int ext, uint16_t *ss_sel, struct desc *ssd)
{
    uint32_t esp;
    tss_inner_stack(c, dpl, ext, ss_sel, &esp);
    *ssd = seg_check_stack(c, *ss_sel, dpl, EXC_TS, ext, ext);
    f->ss = (struct seg){ .sel = *ss_sel, .base = desc_base(*ssd), .limit = desc_limit(*ssd), .attr = desc_attr(*ssd) };
    seg_compute_checks(&f->ss, SEG_SS, true);
    f->b32 = f->ss.attr & SA_DB;
    f->sp = f->b32 ? esp : (esp & 0xffff);
    f->user = dpl == 3;
    f->fault_code = sel_code(*ss_sel, ext);
}

void frame_commit(struct cpu *c, const struct frame *f, uint16_t ss_sel, const struct desc *ssd)
{
    seg_load_desc(c, SEG_SS, ss_sel, *ssd);
    if (f->b32)
        c->gpr[R_ESP] = f->sp;
    else
        wr_reg16(c, R_ESP, (uint16_t)f->sp);
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
    if (type != DT_TASKGATE && type != DT_INTGATE16 && type != DT_TRAPGATE16 && type != DT_INTGATE32 &&
        type != DT_TRAPGATE32)
        cpu_fault(c, EXC_GP, idt_code);
    /* Only INT n, INT3 and INTO are held to the gate's DPL (INT1 is not). */
    if ((kind == INTR_SOFTWARE || kind == INTR_SOFT_EXC) && desc_dpl(gate) < c->cpl)
        cpu_fault(c, EXC_GP, (int)idt_off + 2);
    if (!desc_present(gate))
        cpu_fault(c, EXC_NP, idt_code);
    if (type == DT_TASKGATE) {
        /* The gate's TSS selector is checked by task_switch (GDT only,
         * available, present); the error code goes on the new stack. */
        task_switch(c, gate_sel(gate), TASK_INT, errcode, ext);
        return;
    }

    uint16_t sel = gate_sel(gate);
    bool gate32 = type & 8;
    uint32_t target = gate_offset(gate);
    if ((sel & ~3) == 0)
        cpu_fault(c, EXC_GP, ext);
    struct desc cd;
    if (!desc_fetch(c, sel, &cd))
        cpu_fault(c, EXC_GP, sel_code(sel, ext));
    int dpl = desc_dpl(cd);
    if (!desc_is_code(cd) || dpl > c->cpl)
        cpu_fault(c, EXC_GP, sel_code(sel, ext));
    if (!desc_present(cd))
        cpu_fault(c, EXC_NP, sel_code(sel, ext));
    bool conforming = desc_conforming(cd);
    uint32_t eflags = cpu_get_eflags(c);
    bool from_vm = eflags & EFL_VM;
    int size = gate32 ? 4 : 2;
    int new_cpl = conforming ? c->cpl : dpl;

    struct frame f;
    struct desc ssd = { 0, 0 };
    uint16_t new_ss = 0;
    bool stack_switch = !conforming && dpl < c->cpl;
    if (stack_switch) {
        /* From v86 mode only a ring-0 handler will do. */
        if (from_vm && dpl != 0)
            cpu_fault(c, EXC_GP, sel_code(sel, ext));
        frame_inner(c, &f, dpl, ext, &new_ss, &ssd);
        if (from_vm) {
            frame_push(c, &f, size, c->seg[SEG_GS].sel);
            frame_push(c, &f, size, c->seg[SEG_FS].sel);
            frame_push(c, &f, size, c->seg[SEG_DS].sel);
            frame_push(c, &f, size, c->seg[SEG_ES].sel);
        }
        frame_push(c, &f, size, c->seg[SEG_SS].sel);
        frame_push(c, &f, size, (uint32_t)c->gpr[R_ESP]);
    } else {
        /* Same privilege: impossible from v86 mode (CPL 3, DPL 0 required). */
        if (from_vm)
            cpu_fault(c, EXC_GP, sel_code(sel, ext));
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
        cpu_fault(c, EXC_GP, ext);

    /* Commit. The accessed bits are written first: besides the frame they
     * are the only memory writes, and a fault on them must still find the
     * interrupted state intact. */
    desc_set_accessed(c, sel, &cd);
    if (stack_switch)
        desc_set_accessed(c, new_ss, &ssd);
    uint32_t clear = EFL_TF | EFL_NT | EFL_RF | EFL_VM | (type & 1 ? 0 : EFL_IF);
    cpu_set_eflags(c, 0, clear);
    c->cpl = new_cpl;
    if (stack_switch) {
        frame_commit(c, &f, new_ss, &ssd);
        if (from_vm)
            for (int s = SEG_ES; s <= SEG_GS; s++)
                if (s != SEG_CS && s != SEG_SS)
                    seg_set_cache(c, s, 0, 0, 0, 0);
    } else if (f.b32) {
        c->gpr[R_ESP] = f.sp;
    } else {
        wr_reg16(c, R_ESP, (uint16_t)f.sp);
    }
    seg_load_desc(c, SEG_CS, (uint16_t)((sel & ~3) | new_cpl), cd);
    c->eip = target;
    cpu_update_mode(c);
}

void intr_deliver(struct cpu *c, int vector, enum intr_kind kind, int errcode)
{
    if (c->log_mask & LOG_INT)
        cpu_logf(c, "int: vector %#x kind %d err %#x at %04x:%08x", vector, kind, errcode, c->seg[SEG_CS].sel,
                 (uint32_t)c->eip);
    c->intr_taken = 1;
    cpu_stop(c);
    if (!(c->cr0 & CR0_PE)) {
        deliver_real(c, vector);
        return;
    }
    /* INT n in v86 mode without VME: IOPL must be 3, else #GP(0) to the
     * monitor. INT3, INTO and INT1 are not IOPL-sensitive. */
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
