/*
 * Far control transfers: CALLF/JMPF (direct Ap and indirect Mp), RETF
 * [imm16] and IRET/IRETD, in real, protected and virtual-8086 mode
 * (Intel SDM Vol. 2 CALL/JMP/RET/IRET pseudocode, Vol. 3 5.8 and 7.3).
 *
 * Protected-mode CALL/JMP name a code segment (same privilege), a call
 * gate (CALL to an inner ring switches to the TSS stack and copies the
 * gate's parameter count of words or dwords), a task gate or a TSS (a
 * task switch, cpu/task.c). RETF and IRET return to the same or an outer
 * ring; to an outer ring they also pop SS:eSP and drop data segments the
 * outer ring may not use. IRET additionally handles NT (return to the
 * previous task), a return to v86 mode (VM in the popped EFLAGS at CPL
 * 0), IRET inside v86 mode (IOPL-sensitive), and ends NMI blocking.
 *
 * Shape: every path reads and checks everything on local copies (stack
 * pointers, frames, descriptors) and commits registers only after its
 * last possible fault, so faults are precise and the instruction can be
 * restarted.
 */
#include "cpu/except.h"
#include "cpu/ops/ops.h"
#include "cpu/seg.h"
#include "cpu/task.h"

/* ---- helpers ---- */

/* Commit a new CS at the current privilege (RPL := CPL). Callers set the
 * descriptor's accessed bit before committing anything: that write may
 * fault (a read-only GDT page), and must do so with state unchanged. */
static void load_cs(struct cpu *c, uint16_t sel, const struct desc *d)
{
    seg_load_desc(c, SEG_CS, (uint16_t)((sel & ~3) | c->cpl), *d);
}

/* Push a value of `size` bytes on a local copy of the current stack pointer. */
static void stk_push(struct cpu *c, uint32_t *sp, int size, uint32_t v)
{
    if (size == 4)
        stk_wr32(c, sp, v);
    else
        stk_wr16(c, sp, (uint16_t)v);
}
static uint32_t stk_pop(struct cpu *c, uint32_t *sp, int size)
{
    return size == 4 ? stk_rd32(c, sp) : stk_rd16(c, sp);
}

/* Set eSP after a stack switch: the new SS's B bit says how much of it. */
static void esp_set_for_ss(struct cpu *c, uint32_t sp)
{
    if (c->seg[SEG_SS].attr & SA_DB)
        c->gpr[R_ESP] = sp;
    else
        wr_reg16(c, R_ESP, (uint16_t)sp);
}

/* The checks on a CS popped by RETF/IRET (SDM RET pseudocode). */
static struct desc check_return_cs(struct cpu *c, uint16_t sel)
{
    struct desc d;
    int rpl = sel & 3;
    if ((sel & ~3) == 0)
        cpu_fault(c, EXC_GP, 0);
    if (!desc_fetch(c, sel, &d) || !desc_is_code(d) || rpl < c->cpl)
        cpu_fault(c, EXC_GP, sel_code(sel, 0));
    if (desc_conforming(d) ? desc_dpl(d) > rpl : desc_dpl(d) != rpl)
        cpu_fault(c, EXC_GP, sel_code(sel, 0));
    if (!desc_present(d))
        cpu_fault(c, EXC_NP, sel_code(sel, 0));
    return d;
}

/* ---- CALLF / JMPF ---- */

/* Real and v86 mode: no descriptors; the limit stays the cached one (64K in v86). */
static void far_real(struct cpu *c, const struct insn *i, uint16_t sel, uint32_t off, bool call, int size)
{
    uint32_t limit = (c->eflags & EFL_VM) ? 0xffff : c->seg[SEG_CS].limit;
    if (off > limit)
        cpu_fault(c, EXC_GP, 0);
    if (call) {
        uint32_t sp = sp_get(c);
        stk_push(c, &sp, size, c->seg[SEG_CS].sel);
        stk_push(c, &sp, size, insn_next_eip(c, i));
        sp_set(c, sp);
    }
    seg_load_real(c, SEG_CS, sel);
    c->eip = off;
}

/* To a code segment at the same privilege (conforming: any DPL <= CPL). */
static void far_direct(struct cpu *c, const struct insn *i, uint16_t sel, struct desc d, uint32_t off, bool call,
                       int size)
{
    uint32_t sp = sp_get(c);
    if (call) {
        stk_push(c, &sp, size, c->seg[SEG_CS].sel);
        stk_push(c, &sp, size, insn_next_eip(c, i));
    }
    if (off > desc_limit(d))
        cpu_fault(c, EXC_GP, 0);
    desc_set_accessed(c, sel, &d);
    if (call)
        sp_set(c, sp);
    load_cs(c, sel, &d);
    c->eip = off;
}

/* Through a call gate. The gate's size decides the size of everything pushed. */
static void far_gate(struct cpu *c, const struct insn *i, uint16_t sel, struct desc gate, bool call)
{
    int cpl = c->cpl, gdpl = desc_dpl(gate);
    if (gdpl < cpl || gdpl < (sel & 3))
        cpu_fault(c, EXC_GP, sel_code(sel, 0));
    if (!desc_present(gate))
        cpu_fault(c, EXC_NP, sel_code(sel, 0));
    uint16_t csel = gate_sel(gate);
    struct desc cd;
    if ((csel & ~3) == 0)
        cpu_fault(c, EXC_GP, 0);
    if (!desc_fetch(c, csel, &cd) || !desc_is_code(cd) || desc_dpl(cd) > cpl)
        cpu_fault(c, EXC_GP, sel_code(csel, 0));
    int dpl = desc_dpl(cd);
    bool conforming = desc_conforming(cd);
    /* JMP never changes privilege: a non-conforming target must be at CPL. */
    if (!call && !conforming && dpl != cpl)
        cpu_fault(c, EXC_GP, sel_code(csel, 0));
    if (!desc_present(cd))
        cpu_fault(c, EXC_NP, sel_code(csel, 0));
    uint32_t target = gate_offset(gate);
    int size = (desc_type(gate) & 8) ? 4 : 2;

    if (!call || conforming || dpl == cpl) {
        uint32_t sp = sp_get(c);
        if (call) {
            stk_push(c, &sp, size, c->seg[SEG_CS].sel);
            stk_push(c, &sp, size, insn_next_eip(c, i));
        }
        if (target > desc_limit(cd))
            cpu_fault(c, EXC_GP, 0);
        desc_set_accessed(c, csel, &cd);
        if (call)
            sp_set(c, sp);
        load_cs(c, csel, &cd);
        c->eip = target;
        return;
    }

    /* CALL to an inner ring: new stack from the TSS, old SS:eSP and the
     * parameters copied onto it, then the return address. */
    struct frame f;
    struct desc ssd;
    uint16_t new_ss;
    frame_inner(c, &f, dpl, 0, &new_ss, &ssd);
    frame_push(c, &f, size, c->seg[SEG_SS].sel);
    frame_push(c, &f, size, (uint32_t)c->gpr[R_ESP]);
    uint32_t osp = sp_get(c);
    for (int k = gate_params(gate) - 1; k >= 0; k--) {
        uint32_t at = sp_add(c, osp, k * size);
        uint32_t v = size == 4 ? mem_rd32(c, SEG_SS, at) : mem_rd16(c, SEG_SS, at);
        frame_push(c, &f, size, v);
    }
    frame_push(c, &f, size, c->seg[SEG_CS].sel);
    frame_push(c, &f, size, insn_next_eip(c, i));
    if (target > desc_limit(cd))
        cpu_fault(c, EXC_GP, 0);
    desc_set_accessed(c, csel, &cd);
    desc_set_accessed(c, new_ss, &ssd);
    c->cpl = dpl;
    frame_commit(c, &f, new_ss, &ssd);
    load_cs(c, csel, &cd);
    c->eip = target;
}

static void far_transfer(struct cpu *c, const struct insn *i, uint16_t sel, uint32_t off, bool call, int size)
{
    cpu_stop(c);
    if (real_or_v86(c)) {
        far_real(c, i, sel, off, call, size);
        return;
    }
    struct desc d;
    int cpl = c->cpl, rpl = sel & 3;
    if ((sel & ~3) == 0)
        cpu_fault(c, EXC_GP, 0);
    if (!desc_fetch(c, sel, &d))
        cpu_fault(c, EXC_GP, sel_code(sel, 0));
    if (desc_is_code(d)) {
        if (desc_conforming(d) ? desc_dpl(d) > cpl : (rpl > cpl || desc_dpl(d) != cpl))
            cpu_fault(c, EXC_GP, sel_code(sel, 0));
        if (!desc_present(d))
            cpu_fault(c, EXC_NP, sel_code(sel, 0));
        far_direct(c, i, sel, d, off, call, size);
        return;
    }
    int type = desc_s(d) ? -1 : desc_type(d);
    switch (type) {
    case DT_CALLGATE16:
    case DT_CALLGATE32:
        far_gate(c, i, sel, d, call);
        return;
    case DT_TASKGATE:
    case DT_TSS16:
    case DT_TSS32:
        if (desc_dpl(d) < cpl || desc_dpl(d) < rpl)
            cpu_fault(c, EXC_GP, sel_code(sel, 0));
        if (!desc_present(d))
            cpu_fault(c, EXC_NP, sel_code(sel, 0));
        /* The outgoing task resumes after this instruction. */
        c->eip = insn_next_eip(c, i);
        task_switch(c, type == DT_TASKGATE ? gate_sel(d) : sel, call ? TASK_CALL : TASK_JMP, NO_ERRCODE, 0);
        return;
    default: /* data segments, busy TSSs, LDTs, interrupt/trap gates */
        cpu_fault(c, EXC_GP, sel_code(sel, 0));
    }
}

HANDLER(callf_Ap_16) { far_transfer(c, i, i->imm2, i->imm & 0xffff, true, 2); }
HANDLER(callf_Ap_32) { far_transfer(c, i, i->imm2, i->imm, true, 4); }
HANDLER(jmpf_Ap_16) { far_transfer(c, i, i->imm2, i->imm & 0xffff, false, 2); }
HANDLER(jmpf_Ap_32) { far_transfer(c, i, i->imm2, i->imm, false, 4); }

/* m16:16 / m16:32: offset first, then the selector. */
static void far_mem(struct cpu *c, const struct insn *i, bool call, int size)
{
    uint32_t ea = insn_ea(c, i);
    uint32_t off = size == 4 ? mem_rd32(c, i->seg, ea) : mem_rd16(c, i->seg, ea);
    uint32_t ea2 = ea + (uint32_t)size;
    uint16_t sel = mem_rd16(c, i->seg, asize32(i) ? ea2 : (ea2 & 0xffff));
    far_transfer(c, i, sel, off, call, size);
}
HANDLER(callf_Mp_16) { far_mem(c, i, true, 2); }
HANDLER(callf_Mp_32) { far_mem(c, i, true, 4); }
HANDLER(jmpf_Mp_16) { far_mem(c, i, false, 2); }
HANDLER(jmpf_Mp_32) { far_mem(c, i, false, 4); }

/* ---- RETF ---- */

static void retf_common(struct cpu *c, const struct insn *i, int size)
{
    uint16_t imm = (uint16_t)i->imm;
    uint32_t sp = sp_get(c);
    uint32_t eip = stk_pop(c, &sp, size);
    uint16_t sel = (uint16_t)stk_pop(c, &sp, size);
    cpu_stop(c);
    if (real_or_v86(c)) {
        uint32_t limit = (c->eflags & EFL_VM) ? 0xffff : c->seg[SEG_CS].limit;
        if (eip > limit)
            cpu_fault(c, EXC_GP, 0);
        sp_set(c, sp_add(c, sp, imm));
        seg_load_real(c, SEG_CS, sel);
        c->eip = eip;
        return;
    }
    struct desc cd = check_return_cs(c, sel);
    int rpl = sel & 3;
    if (rpl == c->cpl) {
        if (eip > desc_limit(cd))
            cpu_fault(c, EXC_GP, 0);
        desc_set_accessed(c, sel, &cd);
        sp_set(c, sp_add(c, sp, imm));
        load_cs(c, sel, &cd);
        c->eip = eip;
        return;
    }
    /* To an outer ring: release the parameters, then pop its SS:eSP. */
    sp = sp_add(c, sp, imm);
    uint32_t new_sp = stk_pop(c, &sp, size);
    uint16_t new_ss = (uint16_t)stk_pop(c, &sp, size);
    struct desc ssd = seg_check_stack(c, new_ss, rpl, EXC_GP, 0, 0);
    if (eip > desc_limit(cd))
        cpu_fault(c, EXC_GP, 0);
    desc_set_accessed(c, sel, &cd);
    desc_set_accessed(c, new_ss, &ssd);
    c->cpl = rpl;
    load_cs(c, sel, &cd);
    seg_load_desc(c, SEG_SS, new_ss, ssd);
    /* The outer stack releases the same parameter bytes. */
    esp_set_for_ss(c, new_sp + imm);
    seg_drop_inaccessible(c);
    c->eip = eip;
}
HANDLER(retf_16) { retf_common(c, i, 2); }
HANDLER(retf_32) { retf_common(c, i, 4); }

/* ---- IRET ---- */

/* EFLAGS bits a protected-mode IRET may load, decided by the CPL it runs at. */
static uint32_t iret_mask(const struct cpu *c, int size)
{
    uint32_t m = EFL_ARITH | EFL_TF | EFL_DF | EFL_NT;
    if (size == 4)
        m |= EFL_RF | EFL_AC | EFL_ID;
    if (c->cpl <= iopl(c))
        m |= EFL_IF;
    if (c->cpl == 0) {
        m |= EFL_IOPL;
        if (size == 4)
            m |= EFL_VIF | EFL_VIP;
    }
    return m;
}

static void iret_real(struct cpu *c, int size)
{
    uint32_t sp = sp_get(c);
    uint32_t eip = stk_pop(c, &sp, size);
    uint16_t sel = (uint16_t)stk_pop(c, &sp, size);
    uint32_t fl = stk_pop(c, &sp, size);
    if (eip > c->seg[SEG_CS].limit)
        cpu_fault(c, EXC_GP, 0);
    /* Real mode: every flag but VM, VIF, VIP (which keep their values). */
    uint32_t mask = size == 4 ? 0x257fd5u : 0xffffu;
    sp_set(c, sp);
    seg_load_real(c, SEG_CS, sel);
    cpu_set_eflags(c, fl, mask);
    c->eip = eip;
}

/* IRET inside v86 mode: only with IOPL 3 (no VME), and IOPL stays. */
static void iret_v86(struct cpu *c, int size)
{
    if (iopl(c) < 3)
        cpu_fault(c, EXC_GP, 0);
    uint32_t sp = sp_get(c);
    uint32_t eip = stk_pop(c, &sp, size);
    uint16_t sel = (uint16_t)stk_pop(c, &sp, size);
    uint32_t fl = stk_pop(c, &sp, size);
    if (eip > 0xffff)
        cpu_fault(c, EXC_GP, 0);
    uint32_t mask = EFL_ARITH | EFL_TF | EFL_IF | EFL_DF | EFL_NT;
    if (size == 4)
        mask |= EFL_RF | EFL_AC | EFL_ID;
    sp_set(c, sp);
    seg_load_real(c, SEG_CS, sel);
    cpu_set_eflags(c, fl, mask);
    c->eip = eip;
}

/* From CPL 0 to v86 mode: the frame also holds ESP, SS, ES, DS, FS, GS. */
static void iret_to_v86(struct cpu *c, uint32_t sp, uint32_t eip, uint16_t cs, uint32_t fl)
{
    uint32_t new_esp = stk_rd32(c, &sp);
    uint16_t sel[5];
    for (int k = 0; k < 5; k++) /* SS ES DS FS GS */
        sel[k] = (uint16_t)stk_rd32(c, &sp);
    if (eip > 0xffff)
        cpu_fault(c, EXC_GP, 0);
    cpu_set_eflags(c, fl, F_ALL); /* sets VM, and CPL 3 with it */
    static const int order[5] = { SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    seg_load_real(c, SEG_CS, cs);
    for (int k = 0; k < 5; k++)
        seg_load_real(c, order[k], sel[k]);
    c->gpr[R_ESP] = new_esp;
    c->eip = eip;
    cpu_update_mode(c);
}

static void iret_protected(struct cpu *c, const struct insn *i, int size)
{
    if (c->eflags & EFL_NT) {
        /* Return to the task in the back link of the current TSS. */
        uint16_t link = (uint16_t)mem_sys_read(c, (uint32_t)c->seg[SEG_TR].base, 2);
        c->eip = insn_next_eip(c, i);
        task_switch(c, link, TASK_IRET, NO_ERRCODE, 0);
        return;
    }
    uint32_t sp = sp_get(c);
    uint32_t eip = stk_pop(c, &sp, size);
    uint16_t sel = (uint16_t)stk_pop(c, &sp, size);
    uint32_t fl = stk_pop(c, &sp, size);
    if (size == 4 && (fl & EFL_VM) && c->cpl == 0) {
        iret_to_v86(c, sp, eip, sel, fl);
        return;
    }
    struct desc cd = check_return_cs(c, sel);
    int rpl = sel & 3;
    uint32_t mask = iret_mask(c, size);
    if (rpl == c->cpl) {
        if (eip > desc_limit(cd))
            cpu_fault(c, EXC_GP, 0);
        desc_set_accessed(c, sel, &cd);
        sp_set(c, sp);
        load_cs(c, sel, &cd);
        cpu_set_eflags(c, fl, mask);
        c->eip = eip;
        return;
    }
    uint32_t new_sp = stk_pop(c, &sp, size);
    uint16_t new_ss = (uint16_t)stk_pop(c, &sp, size);
    struct desc ssd = seg_check_stack(c, new_ss, rpl, EXC_GP, 0, 0);
    if (eip > desc_limit(cd))
        cpu_fault(c, EXC_GP, 0);
    desc_set_accessed(c, sel, &cd);
    desc_set_accessed(c, new_ss, &ssd);
    cpu_set_eflags(c, fl, mask); /* mask was computed at the old CPL */
    c->cpl = rpl;
    load_cs(c, sel, &cd);
    seg_load_desc(c, SEG_SS, new_ss, ssd);
    esp_set_for_ss(c, new_sp);
    seg_drop_inaccessible(c);
    c->eip = eip;
}

static void iret_common(struct cpu *c, const struct insn *i, int size)
{
    cpu_stop(c);
    if (!(c->cr0 & CR0_PE))
        iret_real(c, size);
    else if (c->eflags & EFL_VM)
        iret_v86(c, size);
    else
        iret_protected(c, i, size);
    /* Any IRET that completes ends the NMI handler's blocking. */
    c->nmi_blocked = 0;
}
HANDLER(iret_16) { iret_common(c, i, 2); }
HANDLER(iret_32) { iret_common(c, i, 4); }
