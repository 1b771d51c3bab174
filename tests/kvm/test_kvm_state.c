/*
 * The KVM accelerator's CPU state conversion (vm/kvm/state.c) and its
 * round trip through a real vCPU.
 *
 * The field-by-field tests state what each KVM structure holds by the
 * documented layouts they mirror: kvm_segment carries a descriptor's
 * type/S/DPL/P/AVL/L/DB/G bits and a byte-granular limit (KVM API,
 * Intel SDM Vol. 3A 3.4.5), kvm_fpu is the FXSAVE image (SDM Vol. 1
 * 10.5.1: registers by stack position ST(i), the abridged tag byte with
 * one bit per physical register, FCS/FDS in the 32-bit layout's selector
 * fields), and KVM takes the CPL from SS.DPL (SDM Vol. 3C 26.3.1.2). The
 * last test needs /dev/kvm (skipped otherwise): struct cpu goes into a
 * vCPU that halts at once, comes back, and must be unchanged, so KVM
 * itself checks that it accepts and returns everything we convert.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/flags.h"
#include "cpu/seg.h"
#include "cpu/x87/fpu.h"
#include "vm/kvm/kvm_int.h"
#include "vm/vm.h"
#include "tests/common/check_run.h"

static struct phys mem;
static struct cpu cpu;

static void setup(void)
{
    ck_assert_int_eq(phys_init(&mem, 1u << 20), 0);
    struct cpu_env env = { 0 };
    ck_assert_int_eq(cpu_init(&cpu, &mem, &env), 0);
}

static void teardown(void)
{
    cpu_free(&cpu);
    phys_free(&mem);
}

static struct f80 f80(uint64_t mant, uint16_t se) { return (struct f80){ mant, se }; }

/* A protected-mode CPU at CPL 3 with something in every field the
 * conversion carries. */
static void fill(struct cpu *c)
{
    cpu_set_flat32(c);
    for (int r = 0; r < 8; r++)
        c->gpr[r] = 0x11111111u * (uint32_t)(r + 1);
    c->eip = 0x12345678;
    c->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_AM;
    c->cr2 = 0xdeadb000;
    c->cr3 = 0x00123000;
    c->cr4 = CR4_PSE | CR4_PGE | CR4_DE;
    c->efer = EFER_NXE;
    c->gdtr = (struct dtr){ 0x8000, 0x7f };
    c->idtr = (struct dtr){ 0x9000, 0x7ff };
    /* Ring 3: code DPL 3 (type B, 32-bit, 4 KiB granular), stack DPL 3,
     * DS null (unusable), ES a 16-bit expand-down data segment. */
    seg_set_cache(c, SEG_CS, 0x1b, 0, 0xffffffffu, 0xc0fb);
    seg_set_cache(c, SEG_SS, 0x23, 0x10000, 0xfffff, 0x40f3);
    seg_set_cache(c, SEG_DS, 0, 0, 0, 0);
    seg_set_cache(c, SEG_ES, 0x2b, 0x2000, 0x0fff, 0x00f7);
    seg_set_cache(c, SEG_LDTR, 0x30, 0x5000, 0x3f, 0x0082);
    seg_set_cache(c, SEG_TR, 0x38, 0x6000, 0x67, 0x008b);
    c->cpl = 3;
    cpu_update_mode(c);
    cpu_set_eflags(c, EFL_CF | EFL_ZF | EFL_OF | EFL_IF | EFL_DF | (3u << 12) | EFL_AC, 0x3f7fd5u);
    c->dr[0] = 0x1000, c->dr[1] = 0x2000, c->dr[2] = 0x3000, c->dr[3] = 0x4000;
    c->dr[6] = 0xffff0ff1u;
    c->dr[7] = 0x00000400u;
    /* x87: TOP 5, ST(0) and ST(1) loaded, the rest empty. */
    fpu_init(&c->fpu);
    fpu_push(&c->fpu, f80(0xc000000000000000ull, 0x4000)); /* 3.0 */
    fpu_push(&c->fpu, f80(0x8000000000000000ull, 0x3fff)); /* 1.0 */
    fpu_push(&c->fpu, f80(0xa000000000000000ull, 0xc001)); /* -5.0 */
    fpu_pop(&c->fpu);
    c->fpu.cw = 0x027f;
    c->fpu.sw = 0x4100; /* C3, C0 */
    c->fpu.fop = 0x1d9;
    c->fpu.fip = 0x00401234, c->fpu.fcs = 0x1b;
    c->fpu.fdp = 0x00805678, c->fpu.fds = 0x23;
    c->inhibit_irq = 1;
    c->nmi_blocked = 1;
    c->sysenter_cs = 0x10, c->sysenter_esp = 0xc0001000u, c->sysenter_eip = 0xc0100000u;
    c->pat = 0x0007010600070106ull;
    c->mtrr_def_type = 0xc06;
    c->mtrr_fixed[0] = 0x0606060606060606ull;
    c->mtrr_var[0] = 0x0000000000000006ull, c->mtrr_var[1] = 0x0000000ff8000800ull;
    c->tsc_offset = 5000;
}

START_TEST(to_kvm_fields)
{
    fill(&cpu);
    struct kvm_cpu_state s;
    kvm_state_from_cpu(&s, &cpu, 1000000);

    ck_assert_uint_eq(s.regs.rax, 0x11111111u);
    ck_assert_uint_eq(s.regs.rcx, 0x22222222u);
    ck_assert_uint_eq(s.regs.rdx, 0x33333333u);
    ck_assert_uint_eq(s.regs.rbx, 0x44444444u);
    ck_assert_uint_eq(s.regs.rsp, 0x55555555u);
    ck_assert_uint_eq(s.regs.rbp, 0x66666666u);
    ck_assert_uint_eq(s.regs.rsi, 0x77777777u);
    ck_assert_uint_eq(s.regs.rdi, 0x88888888u);
    ck_assert_uint_eq(s.regs.rip, 0x12345678u);
    /* CF ZF OF IF DF IOPL=3 AC, and bit 1 which always reads 1. */
    ck_assert_uint_eq(s.regs.rflags, 0x1 | 0x2 | 0x40 | 0x200 | 0x400 | 0x800 | 0x3000 | 0x40000);

    const struct kvm_segment *cs = &s.sregs.cs;
    ck_assert_uint_eq(cs->selector, 0x1b);
    ck_assert_uint_eq(cs->limit, 0xffffffffu);
    ck_assert(cs->type == 0xb && cs->s == 1 && cs->dpl == 3 && cs->present == 1 && cs->db == 1 && cs->g == 1 &&
              cs->l == 0 && cs->avl == 0 && cs->unusable == 0);
    ck_assert(s.sregs.ss.base == 0x10000 && s.sregs.ss.limit == 0xfffff && s.sregs.ss.dpl == 3 &&
              s.sregs.ss.type == 3 && s.sregs.ss.db == 1 && s.sregs.ss.g == 0);
    ck_assert(s.sregs.ds.present == 0 && s.sregs.ds.unusable == 1); /* null selector */
    ck_assert(s.sregs.es.type == 7 && s.sregs.es.limit == 0xfff && s.sregs.es.base == 0x2000 && !s.sregs.es.unusable);
    ck_assert(s.sregs.ldt.selector == 0x30 && s.sregs.ldt.type == 2 && s.sregs.ldt.s == 0 && s.sregs.ldt.base == 0x5000);
    ck_assert(s.sregs.tr.selector == 0x38 && s.sregs.tr.type == 0xb && s.sregs.tr.limit == 0x67);
    ck_assert(s.sregs.gdt.base == 0x8000 && s.sregs.gdt.limit == 0x7f);
    ck_assert(s.sregs.idt.base == 0x9000 && s.sregs.idt.limit == 0x7ff);
    ck_assert_uint_eq(s.sregs.cr0, CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_AM);
    ck_assert(s.sregs.cr2 == 0xdeadb000 && s.sregs.cr3 == 0x123000 && s.sregs.cr4 == (CR4_PSE | CR4_PGE | CR4_DE));
    ck_assert_uint_eq(s.sregs.efer, EFER_NXE);
    ck_assert_uint_eq(s.sregs.apic_base, cpu.apic_base);

    /* FXSAVE image: TOP is 6 after three pushes and a pop from 0. */
    ck_assert_uint_eq(s.fpu.fsw, 0x4100 | 6u << 11);
    ck_assert_uint_eq(s.fpu.fcw, 0x027f);
    uint64_t m;
    uint16_t se;
    memcpy(&m, s.fpu.fpr[0], 8), memcpy(&se, s.fpu.fpr[0] + 8, 2);
    ck_assert(m == 0x8000000000000000ull && se == 0x3fff); /* ST(0) = 1.0 */
    memcpy(&m, s.fpu.fpr[1], 8), memcpy(&se, s.fpu.fpr[1] + 8, 2);
    ck_assert(m == 0xc000000000000000ull && se == 0x4000); /* ST(1) = 3.0 */
    ck_assert_uint_eq(s.fpu.ftwx, 1u << 6 | 1u << 7);      /* R6, R7 valid */
    ck_assert_uint_eq(s.fpu.last_opcode, 0x1d9);
    ck_assert_uint_eq(s.fpu.last_ip, 0x00401234u | 0x1bull << 32);
    ck_assert_uint_eq(s.fpu.last_dp, 0x00805678u | 0x23ull << 32);
    ck_assert_uint_eq(s.fpu.mxcsr, 0x1f80);

    ck_assert(s.dregs.db[0] == 0x1000 && s.dregs.db[3] == 0x4000 && s.dregs.dr6 == 0xffff0ff1u && s.dregs.dr7 == 0x400);
    ck_assert_uint_eq(s.events.interrupt.shadow, KVM_X86_SHADOW_INT_STI); /* IF is set */
    ck_assert_uint_eq(s.events.nmi.masked, 1);

    ck_assert_uint_eq(s.msrs.hdr.nmsrs, KVM_STATE_MSRS);
    const struct { uint32_t msr; uint64_t val; } want[] = {
        { 0x10, 1005000 }, { 0x174, 0x10 }, { 0x175, 0xc0001000u }, { 0x176, 0xc0100000u },
        { 0x277, 0x0007010600070106ull }, { 0x2ff, 0xc06 }, { 0x250, 0x0606060606060606ull }, { 0x200, 6 },
        { 0x201, 0x0000000ff8000800ull },
    };
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        bool found = false;
        for (int k = 0; k < KVM_STATE_MSRS; k++)
            if (s.msrs.e[k].index == want[w].msr) {
                ck_assert_uint_eq(s.msrs.e[k].data, want[w].val);
                found = true;
            }
        ck_assert_msg(found, "MSR %#x missing", want[w].msr);
    }
}
END_TEST

/* Real mode ignores P (a segment loaded with a null selector in protected
 * mode stays usable after the switch back), and the CPL is 0. */
START_TEST(to_kvm_real_mode)
{
    cpu_reset(&cpu);
    cpu.seg[SEG_DS].attr = 0; /* as left by a protected-mode null load */
    struct kvm_cpu_state s;
    kvm_state_from_cpu(&s, &cpu, 0);
    ck_assert(s.sregs.ds.present == 1 && s.sregs.ds.unusable == 0);
    ck_assert(s.sregs.cs.selector == 0xf000 && s.sregs.cs.base == 0xffff0000u && s.sregs.cs.limit == 0xffff);
    ck_assert_uint_eq(s.regs.rip, 0xfff0);
    ck_assert_uint_eq(s.regs.rflags, 2);
    ck_assert_uint_eq(s.sregs.cr0, CR0_CD | CR0_NW | CR0_ET);
    /* Power-on x87: every register +0.0 and valid (tags 0x5555). */
    ck_assert_uint_eq(s.fpu.ftwx, 0xff);
    ck_assert_uint_eq(s.fpu.fcw, 0x0040);
}
END_TEST

static void same_cpu(const struct cpu *a, const struct cpu *b, bool with_eip)
{
    for (int r = 0; r < 8; r++)
        ck_assert_msg(a->gpr[r] == b->gpr[r], "gpr %d: %llx vs %llx", r, (unsigned long long)a->gpr[r],
                      (unsigned long long)b->gpr[r]);
    if (with_eip)
        ck_assert_uint_eq(a->eip, b->eip);
    ck_assert_uint_eq(cpu_get_eflags(a), cpu_get_eflags(b));
    for (int k = 0; k < SEG_COUNT; k++) {
        const struct seg *x = &a->seg[k], *y = &b->seg[k];
        ck_assert_msg(x->sel == y->sel && x->base == y->base && x->limit == y->limit, "segment %d", k);
        /* An unusable segment's other attributes do not survive KVM. */
        if (x->attr & SA_P)
            ck_assert_msg(x->attr == y->attr, "segment %d attr %x vs %x", k, x->attr, y->attr);
        else
            ck_assert_msg(!(y->attr & SA_P), "segment %d became usable", k);
        ck_assert(x->span_r == y->span_r && x->span_w == y->span_w && x->lo == y->lo);
    }
    ck_assert_int_eq(a->cpl, b->cpl);
    ck_assert_uint_eq(a->mode, b->mode);
    ck_assert(a->gdtr.base == b->gdtr.base && a->gdtr.limit == b->gdtr.limit);
    ck_assert(a->idtr.base == b->idtr.base && a->idtr.limit == b->idtr.limit);
    ck_assert(a->cr0 == b->cr0 && a->cr2 == b->cr2 && a->cr3 == b->cr3 && a->cr4 == b->cr4 && a->efer == b->efer);
    for (int k = 0; k < 8; k++)
        if (k != 4 && k != 5)
            ck_assert_msg(a->dr[k] == b->dr[k], "dr%d %x vs %x", k, a->dr[k], b->dr[k]);
    ck_assert(a->fpu.top == b->fpu.top && a->fpu.cw == b->fpu.cw && a->fpu.sw == b->fpu.sw);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(fpu_empty(&a->fpu, i), fpu_empty(&b->fpu, i));
        if (!fpu_empty(&a->fpu, i))
            ck_assert(fpu_st(&a->fpu, i).mant == fpu_st(&b->fpu, i).mant &&
                      fpu_st(&a->fpu, i).se == fpu_st(&b->fpu, i).se);
    }
    ck_assert(a->fpu.fop == b->fpu.fop && a->fpu.fip == b->fpu.fip && a->fpu.fdp == b->fpu.fdp);
    ck_assert(a->sysenter_cs == b->sysenter_cs && a->sysenter_esp == b->sysenter_esp &&
              a->sysenter_eip == b->sysenter_eip);
    ck_assert(a->pat == b->pat && a->mtrr_def_type == b->mtrr_def_type);
    ck_assert(!memcmp(a->mtrr_fixed, b->mtrr_fixed, sizeof(a->mtrr_fixed)));
    ck_assert(!memcmp(a->mtrr_var, b->mtrr_var, sizeof(a->mtrr_var)));
}

START_TEST(round_trip)
{
    fill(&cpu);
    struct kvm_cpu_state s;
    kvm_state_from_cpu(&s, &cpu, 777);
    static struct cpu back;
    struct cpu_env env = { 0 };
    ck_assert_int_eq(cpu_init(&back, &mem, &env), 0);
    kvm_state_to_cpu(&back, &s, 777, true);
    same_cpu(&cpu, &back, true);
    ck_assert_uint_eq(back.tsc_offset, cpu.tsc_offset);
    ck_assert_int_eq(back.inhibit_irq, 1);
    ck_assert_int_eq(back.nmi_blocked, 1);
    ck_assert_uint_eq(back.fpu.fcs, 0x1b);
    ck_assert_uint_eq(back.fpu.fds, 0x23);
    cpu_free(&back);
}
END_TEST

/* From KVM: the CPL is SS.DPL in protected mode, 3 in v86 mode, 0 in
 * real mode; an unusable segment has P clear. Without all_msrs only the
 * TSC is taken (Kestrel's MSR model holds the others). */
START_TEST(from_kvm)
{
    fill(&cpu);
    struct kvm_cpu_state s;
    kvm_state_from_cpu(&s, &cpu, 0);
    s.sregs.ss.dpl = 1, s.sregs.ss.selector = 0x21;
    s.sregs.fs.unusable = 1;
    s.msrs.e[1].data = 0x99; /* SYSENTER_CS */
    s.msrs.e[0].data = 123456;
    kvm_state_to_cpu(&cpu, &s, 100000, false);
    ck_assert_int_eq(cpu.cpl, 1);
    ck_assert_uint_eq((cpu.mode & MODE_CPL_MASK) >> MODE_CPL_SHIFT, 1);
    ck_assert(!(cpu.seg[SEG_FS].attr & SA_P));
    ck_assert_uint_eq(cpu.sysenter_cs, 0x10);
    ck_assert_uint_eq(cpu.tsc_offset, 23456);

    s.regs.rflags |= EFL_VM;
    kvm_state_to_cpu(&cpu, &s, 0, false);
    ck_assert_int_eq(cpu.cpl, 3);
    ck_assert(cpu.mode & MODE_VM86);

    s.regs.rflags &= ~(uint64_t)EFL_VM;
    s.sregs.cr0 &= ~(uint64_t)CR0_PE;
    kvm_state_to_cpu(&cpu, &s, 0, true);
    ck_assert_int_eq(cpu.cpl, 0);
    ck_assert(!(cpu.mode & MODE_PE));
    ck_assert_uint_eq(cpu.sysenter_cs, 0x99);
}
END_TEST

/* ---- Through a real vCPU ---- */

static bool kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Ring 0 this time (the vCPU must enter the guest): flat 32-bit code that
 * halts at once with IF clear, so the run ends (VM_STOP_HALTED) with the
 * state pulled back. Everything but EIP must be what went in. */
START_TEST(through_kvm)
{
    if (!kvm_usable()) {
        fprintf(stderr, "through_kvm: skipped (no usable /dev/kvm)\n");
        return;
    }
    static struct vm vm;
    struct vm_config cfg = { .mem_size = 4u << 20, .accel = VM_ACCEL_KVM, .rtc_base = 1 };
    int err = vm_init(&vm, &cfg);
    if (err) {
        fprintf(stderr, "through_kvm: skipped (%s)\n", vm.error);
        return;
    }
    static const uint8_t hlt = 0xf4;
    phys_write_buf(&vm.mem, 0x3000, &hlt, 1);
    struct cpu *c = &vm.cpu;
    cpu_set_flat32(c);
    c->eip = 0x3000;
    for (int r = 0; r < 8; r++)
        c->gpr[r] = 0x01010101u * (uint32_t)(r + 3);
    cpu_set_eflags(c, EFL_CF | EFL_PF | EFL_SF | EFL_DF, 0x3f7fd5u);
    c->cr0 = CR0_PE | CR0_ET | CR0_NE;
    c->gdtr = (struct dtr){ 0x8000, 0x7f };
    c->idtr = (struct dtr){ 0x9000, 0x7ff };
    c->dr[0] = 0x1234, c->dr[3] = 0x5678;
    fpu_init(&c->fpu);
    fpu_push(&c->fpu, f80(0xc90fdaa22168c235ull, 0x4000)); /* pi */
    fpu_push(&c->fpu, f80(0x8000000000000000ull, 0xbfff)); /* -1.0 */
    c->fpu.cw = 0x037f;
    c->fpu.sw = 0x0200; /* C1 */
    c->sysenter_cs = 0x08, c->sysenter_esp = 0x7000, c->sysenter_eip = 0x3000;
    c->pat = 0x0007040600070406ull;
    static struct cpu want;
    want = *c;
    enum vm_stop stop = vm_run(&vm, 0);
    ck_assert_msg(stop == VM_STOP_HALTED, "stop %d: %s", stop, vm.error);
    ck_assert_uint_eq(c->eip, 0x3001);
    same_cpu(&want, c, false);
    uint64_t insns;
    bool have;
    const struct kvm_stats *st = kvm_accel_stats(&vm, &insns, &have);
    ck_assert_uint_eq(st->exit_hlt, 1);
    ck_assert_uint_eq(st->state_pushes, 1);
    vm_free(&vm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kvm_state");
    TCase *tc = tcase_create("convert");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, to_kvm_fields);
    tcase_add_test(tc, to_kvm_real_mode);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, from_kvm);
    suite_add_tcase(s, tc);
    TCase *kv = tcase_create("kvm");
    tcase_set_timeout(kv, 60);
    tcase_add_test(kv, through_kvm);
    suite_add_tcase(s, kv);
    return check_run(s, CK_NOFORK);
}
