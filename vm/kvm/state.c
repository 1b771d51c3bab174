/*
 * CPU state between struct cpu (cpu/cpu.h) and KVM's register structures:
 * general registers and EFLAGS (lazy flags materialised), segment
 * registers with their cached descriptors, descriptor tables, control
 * registers and EFER, the x87/MMX state, debug registers, the interrupt
 * shadow and NMI masking, and the MSRs both sides keep.
 *
 * Pure conversions, so the unit test (tests/unit/test_kvm_state.c) checks
 * them without /dev/kvm. Where the two representations differ:
 *   - Kestrel keeps a segment's attributes even when it is unusable (a
 *     null selector clears P); KVM has an "unusable" bit, set here from
 *     !P. Real and virtual-8086 mode ignore P (Kestrel never checks it
 *     there), so their segments always go in usable.
 *   - Kestrel keeps the CPL apart; KVM takes it from SS.DPL in protected
 *     mode (the value Intel's VMX keeps), 0 in real and 3 in v86 mode.
 *   - The x87 tag word: Kestrel only distinguishes empty from non-empty
 *     (fpu.h), which is exactly the FXSAVE abridged tag KVM uses (one bit
 *     per physical register). The
 *     registers go by stack position ST(i) in KVM, physical Ri here.
 *     FCS/FDS ride in bits 32-47 of last_ip/last_dp (the 32-bit FXSAVE
 *     layout); hosts that save the FPU in 64-bit format drop them.
 *     kvm.c moves the x87 state through KVM's XSAVE image where KVM has
 *     one (kvm_fpu_to_xsave/kvm_fpu_from_xsave: its legacy area is the
 *     same FXSAVE layout); see set_fpu() there for why.
 *   - The TSC: Kestrel's is the board's virtual clock (1 GHz) plus an
 *     offset; KVM's counts at the host's rate from the value set here.
 */
#include <string.h>

#include "cpu/flags.h"
#include "cpu/seg.h"
#include "cpu/sysregs.h"
#include "cpu/x87/fpu.h"
#include "vm/kvm/kvm_int.h"

enum {
    MSR_TSC = 0x10, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176, MSR_PAT = 0x277,
    MSR_MTRR_DEF_TYPE = 0x2ff, MSR_MTRR_PHYS0 = 0x200,
};

/* Order: TSC, SYSENTER x3, PAT, MTRRdefType, the 11 fixed MTRRs in
 * cpu->mtrr_fixed[] order, the 16 variable-range MSRs (base/mask pairs). */
const uint32_t kvm_state_msr_index[KVM_STATE_MSRS] = {
    MSR_TSC, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_PAT, MSR_MTRR_DEF_TYPE,
    0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
    0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, 0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
};
#define MSR_FIXED0 6 /* index of the first fixed MTRR in the list */
#define MSR_VAR0 17

/* KVM's segment numbering differs from the ModRM one. */
static struct kvm_segment *kseg(struct kvm_sregs *s, int sreg)
{
    switch (sreg) {
    case SEG_ES: return &s->es;
    case SEG_CS: return &s->cs;
    case SEG_SS: return &s->ss;
    case SEG_DS: return &s->ds;
    case SEG_FS: return &s->fs;
    case SEG_GS: return &s->gs;
    case SEG_LDTR: return &s->ldt;
    default: return &s->tr;
    }
}

static void seg_to_kvm(struct kvm_segment *k, const struct seg *s, bool real)
{
    *k = (struct kvm_segment){
        .base = s->base,
        .limit = s->limit,
        .selector = s->sel,
        .type = s->attr & SA_TYPE,
        .present = (s->attr & SA_P) != 0,
        .dpl = (s->attr & SA_DPL) >> SA_DPL_SHIFT,
        .db = (s->attr & SA_DB) != 0,
        .s = (s->attr & SA_S) != 0,
        .l = (s->attr & SA_L) != 0,
        .g = (s->attr & SA_G) != 0,
        .avl = (s->attr & SA_AVL) != 0,
    };
    if (real)
        k->present = 1;
    k->unusable = !k->present;
}

static void seg_from_kvm(struct seg *s, const struct kvm_segment *k)
{
    s->base = k->base;
    s->limit = k->limit;
    s->sel = k->selector;
    s->attr = (uint16_t)((k->type & SA_TYPE) | (k->s ? SA_S : 0) | (k->dpl & 3) << SA_DPL_SHIFT |
                         (k->present && !k->unusable ? SA_P : 0) | (k->avl ? SA_AVL : 0) | (k->l ? SA_L : 0) |
                         (k->db ? SA_DB : 0) | (k->g ? SA_G : 0));
}

static void f80_to_bytes(uint8_t out[16], struct f80 v)
{
    memset(out, 0, 16);
    memcpy(out, &v.mant, 8);
    memcpy(out + 8, &v.se, 2);
}

static struct f80 f80_from_bytes(const uint8_t in[16])
{
    struct f80 v;
    memcpy(&v.mant, in, 8);
    memcpy(&v.se, in + 8, 2);
    return v;
}

/* KVM_GET_XSAVE's image is in the standard (non-compacted) format: the
 * FXSAVE layout, then the XSAVE header with XSTATE_BV at byte 512. */
enum {
    FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_FOP = 6, FX_FIP = 8, FX_FDP = 16, FX_MXCSR = 24, FX_ST = 32,
    FX_XMM = 160, XSAVE_BV = 512,
};
#define XSTATE_X87 1ull /* XSTATE_BV bit: the x87 area holds the state (clear: initial state) */

void kvm_fpu_to_xsave(struct kvm_xsave *xs, const struct kvm_fpu *f)
{
    uint8_t *b = (uint8_t *)xs->region;
    memcpy(b + FX_FCW, &f->fcw, 2);
    memcpy(b + FX_FSW, &f->fsw, 2);
    b[FX_FTW] = f->ftwx;
    memcpy(b + FX_FOP, &f->last_opcode, 2);
    memcpy(b + FX_FIP, &f->last_ip, 8);
    memcpy(b + FX_FDP, &f->last_dp, 8);
    memcpy(b + FX_ST, f->fpr, sizeof(f->fpr));
    uint64_t bv;
    memcpy(&bv, b + XSAVE_BV, 8);
    bv |= XSTATE_X87;
    memcpy(b + XSAVE_BV, &bv, 8);
}

void kvm_fpu_from_xsave(struct kvm_fpu *f, const struct kvm_xsave *xs)
{
    const uint8_t *b = (const uint8_t *)xs->region;
    memset(f, 0, sizeof(*f));
    memcpy(&f->fcw, b + FX_FCW, 2);
    memcpy(&f->fsw, b + FX_FSW, 2);
    f->ftwx = b[FX_FTW];
    memcpy(&f->last_opcode, b + FX_FOP, 2);
    memcpy(&f->last_ip, b + FX_FIP, 8);
    memcpy(&f->last_dp, b + FX_FDP, 8);
    memcpy(&f->mxcsr, b + FX_MXCSR, 4);
    memcpy(f->fpr, b + FX_ST, sizeof(f->fpr));
    memcpy(f->xmm, b + FX_XMM, sizeof(f->xmm));
}

void kvm_state_from_cpu(struct kvm_cpu_state *s, const struct cpu *c, uint64_t clock_ns)
{
    memset(s, 0, sizeof(*s));
    struct kvm_regs *r = &s->regs;
    r->rax = c->gpr[R_EAX], r->rcx = c->gpr[R_ECX], r->rdx = c->gpr[R_EDX], r->rbx = c->gpr[R_EBX];
    r->rsp = c->gpr[R_ESP], r->rbp = c->gpr[R_EBP], r->rsi = c->gpr[R_ESI], r->rdi = c->gpr[R_EDI];
    r->r8 = c->gpr[8], r->r9 = c->gpr[9], r->r10 = c->gpr[10], r->r11 = c->gpr[11];
    r->r12 = c->gpr[12], r->r13 = c->gpr[13], r->r14 = c->gpr[14], r->r15 = c->gpr[15];
    r->rip = c->eip;
    uint32_t eflags = cpu_get_eflags(c);
    r->rflags = eflags;

    struct kvm_sregs *sr = &s->sregs;
    bool pm = (c->cr0 & CR0_PE) && !(eflags & EFL_VM);
    for (int k = 0; k < SEG_COUNT; k++)
        seg_to_kvm(kseg(sr, k), &c->seg[k], !pm && k < SEG_LDTR);
    if (pm)
        sr->ss.dpl = (uint8_t)c->cpl; /* KVM's CPL */
    sr->gdt = (struct kvm_dtable){ .base = c->gdtr.base, .limit = (uint16_t)c->gdtr.limit };
    sr->idt = (struct kvm_dtable){ .base = c->idtr.base, .limit = (uint16_t)c->idtr.limit };
    sr->cr0 = c->cr0, sr->cr2 = c->cr2, sr->cr3 = c->cr3, sr->cr4 = c->cr4;
    sr->efer = c->efer;
    sr->apic_base = c->apic_base;

    struct kvm_fpu *f = &s->fpu;
    const struct fpu *x = &c->fpu;
    for (int i = 0; i < 8; i++)
        f80_to_bytes(f->fpr[i], x->st[fpu_phys(x, i)]);
    f->fcw = x->cw;
    f->fsw = fpu_status(x);
    for (int i = 0; i < 8; i++)
        if (!fpu_empty(x, i))
            f->ftwx |= (uint8_t)(1u << fpu_phys(x, i)); /* FXSAVE's tag bits go by physical register */
    f->last_opcode = x->fop;
    f->last_ip = x->fip | (uint64_t)x->fcs << 32;
    f->last_dp = x->fdp | (uint64_t)x->fds << 32;
    f->mxcsr = 0x1f80; /* no SSE in this CPU: the power-on value */

    for (int k = 0; k < 4; k++)
        s->dregs.db[k] = c->dr[k];
    s->dregs.dr6 = c->dr[6];
    s->dregs.dr7 = c->dr[7];

    /* STI blocking needs IF=1 on entry; MOV SS blocking has no such rule. */
    s->events.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
    if (c->inhibit_irq)
        s->events.interrupt.shadow = (eflags & EFL_IF) ? KVM_X86_SHADOW_INT_STI : KVM_X86_SHADOW_INT_MOV_SS;
    s->events.nmi.masked = c->nmi_blocked;

    uint64_t val[KVM_STATE_MSRS] = { clock_ns + c->tsc_offset, c->sysenter_cs, c->sysenter_esp, c->sysenter_eip,
                                     c->pat, c->mtrr_def_type };
    memcpy(val + MSR_FIXED0, c->mtrr_fixed, sizeof(c->mtrr_fixed));
    memcpy(val + MSR_VAR0, c->mtrr_var, sizeof(c->mtrr_var));
    s->msrs.hdr.nmsrs = KVM_STATE_MSRS;
    for (int k = 0; k < KVM_STATE_MSRS; k++)
        s->msrs.e[k] = (struct kvm_msr_entry){ .index = kvm_state_msr_index[k], .data = val[k] };
}

void kvm_state_to_cpu(struct cpu *c, const struct kvm_cpu_state *s, uint64_t clock_ns, bool all_msrs)
{
    const struct kvm_regs *r = &s->regs;
    c->gpr[R_EAX] = r->rax, c->gpr[R_ECX] = r->rcx, c->gpr[R_EDX] = r->rdx, c->gpr[R_EBX] = r->rbx;
    c->gpr[R_ESP] = r->rsp, c->gpr[R_EBP] = r->rbp, c->gpr[R_ESI] = r->rsi, c->gpr[R_EDI] = r->rdi;
    c->gpr[8] = r->r8, c->gpr[9] = r->r9, c->gpr[10] = r->r10, c->gpr[11] = r->r11;
    c->gpr[12] = r->r12, c->gpr[13] = r->r13, c->gpr[14] = r->r14, c->gpr[15] = r->r15;
    c->eip = r->rip;
    lf_set(c, (uint32_t)r->rflags & EFL_ARITH);
    c->eflags = ((uint32_t)r->rflags & ~EFL_ARITH) | EFL_1;

    const struct kvm_sregs *sr = &s->sregs;
    for (int k = 0; k < SEG_COUNT; k++)
        seg_from_kvm(&c->seg[k], kseg((struct kvm_sregs *)sr, k));
    c->gdtr = (struct dtr){ sr->gdt.base, sr->gdt.limit };
    c->idtr = (struct dtr){ sr->idt.base, sr->idt.limit };
    c->cr0 = (uint32_t)sr->cr0, c->cr2 = (uint32_t)sr->cr2, c->cr3 = (uint32_t)sr->cr3, c->cr4 = (uint32_t)sr->cr4;
    c->efer = sr->efer;
    c->apic_base = sr->apic_base;
    if (!(c->cr0 & CR0_PE))
        c->cpl = 0;
    else if (c->eflags & EFL_VM)
        c->cpl = 3;
    else
        c->cpl = sr->ss.dpl & 3;

    const struct kvm_fpu *f = &s->fpu;
    struct fpu *x = &c->fpu;
    /* All empty, then TOP, then the registers by stack position (fpu.h's
     * own operations keep its tag representation right). */
    fpu_init(x);
    x->top = (f->fsw >> 11) & 7;
    for (int i = 0; i < 8; i++) {
        struct f80 v = f80_from_bytes(f->fpr[i]);
        if (f->ftwx & (1u << fpu_phys(x, i)))
            fpu_write(x, i, v);
        else
            x->st[fpu_phys(x, i)] = v; /* empty, contents kept */
    }
    x->sw = f->fsw & (uint16_t)~FSW_TOP;
    x->cw = f->fcw;
    x->fop = f->last_opcode & 0x7ff;
    x->fip = (uint32_t)f->last_ip, x->fcs = (uint16_t)(f->last_ip >> 32);
    x->fdp = (uint32_t)f->last_dp, x->fds = (uint16_t)(f->last_dp >> 32);

    for (int k = 0; k < 4; k++)
        c->dr[k] = (uint32_t)s->dregs.db[k];
    c->dr[6] = (uint32_t)s->dregs.dr6;
    c->dr[7] = (uint32_t)s->dregs.dr7;

    c->inhibit_irq = s->events.interrupt.shadow != 0;
    c->nmi_blocked = s->events.nmi.masked != 0;

    for (int k = 0; k < (int)s->msrs.hdr.nmsrs && k < KVM_STATE_MSRS; k++) {
        uint64_t v = s->msrs.e[k].data;
        if (k == 0) {
            c->tsc_offset = v - clock_ns;
            continue;
        }
        if (!all_msrs)
            break;
        if (k == 1)
            c->sysenter_cs = (uint32_t)v;
        else if (k == 2)
            c->sysenter_esp = (uint32_t)v;
        else if (k == 3)
            c->sysenter_eip = (uint32_t)v;
        else if (k == 4)
            c->pat = v;
        else if (k == 5)
            c->mtrr_def_type = v;
        else if (k < MSR_VAR0)
            c->mtrr_fixed[k - MSR_FIXED0] = v;
        else
            c->mtrr_var[k - MSR_VAR0] = v;
    }

    /* Derived state: segment fast checks, the mode word, the soft MMU's
     * paging setup and breakpoints, as if the interpreter had run. */
    for (int k = 0; k < SEG_COUNT; k++)
        seg_recompute(c, k);
    cpu_update_mode(c);
    mmu_set_paging(&c->mmu, c->mem, c->cr0, c->cr3, c->cr4, c->efer);
    cpu_tlb_flush(c);
    dbg_update(c);
}
