/*
 * The KVM accelerator: the vCPU runs through /dev/kvm on Kestrel's own
 * board (see vm/kvm.h for the contract, kvm_int.h for the file layout).
 *
 * Run loop, one KVM_RUN per iteration:
 *   - host events (frontend poll, COM1 input) about every POLL_NS, expired
 *     virtual-clock timers, an INIT from the local APIC, memory slots
 *     brought up to date with the physical map, struct cpu pushed if it
 *     changed (loaders, resets);
 *   - a HLT exit leaves the vCPU halted in user space: it is woken by an
 *     NMI or by an interrupt with IF set, and idles meanwhile exactly as
 *     vm_run() does for the interpreter;
 *   - interrupts come from the board's controllers through cpu->irq_line
 *     and the same acknowledge hook the interpreter calls
 *     (cpu->env.irq_ack, so the 8259 or the local APIC picks the vector):
 *     injected with KVM_INTERRUPT when KVM says the vCPU can take one, an
 *     interrupt-window exit requested otherwise; NMIs with KVM_NMI (KVM
 *     holds them while NMIs are blocked);
 *   - KVM_RUN is interrupted for the next timer deadline by a POSIX timer
 *     whose signal is blocked except inside KVM_RUN (KVM_SET_SIGNAL_MASK),
 *     then eaten with sigtimedwait(), so no handler ever runs;
 *   - exits: port I/O to the board's iobus, MMIO to phys_read/phys_write,
 *     RDMSR/WRMSR to Kestrel's MSR model (all MSRs but the TSC are
 *     filtered to user space; values the hardware itself uses are copied
 *     back into KVM), shutdown to the board's reset path, entry failures
 *     and internal errors to one line in vm->error.
 * An exit that KVM completes at the next KVM_RUN (I/O, MMIO, MSR) is
 * completed with immediate_exit before the state is read or replaced.
 *
 * What the guest sees that differs from the interpreter: the TSC counts
 * at the host's rate unless KVM can scale it to Kestrel's 1 GHz, hardware
 * executes instructions CPUID does not list (FXSAVE, SSE with OSFXSR
 * refused by CR4 though), and the x87 FCS/FDS depend on how the host
 * saves the FPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu/block.h"
#include "cpu/cpu_model.h"
#include "vm/kvm/kvm_int.h"

#define POLL_NS 10000000ull  /* host events at least every 10 ms while the guest runs */
#define TSS_ADDR 0xfeffd000u /* three pages KVM needs for real mode on some hosts, as QEMU places them */
#define IDENTITY_MAP_ADDR 0xfeffc000u

enum { MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
       MSR_SYSENTER_EIP = 0x176, MSR_PAT = 0x277, MSR_EFER = 0xc0000080u };

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void kick_handler(int sig)
{
    (void)sig; /* never runs: the signal is only unblocked inside KVM_RUN, which returns EINTR */
}

/* ---- Opening ---- */

static int fail(struct vm *vm, int err, const char *what)
{
    vm_errorf(vm, "KVM: %s: %s", what, strerror(err));
    return -err;
}

/* Every MSR but the TSC exits to user space (Kestrel's model answers). */
static bool setup_msr_filter(struct kvm_accel *k)
{
    if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
        ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0)
        return false;
    struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { KVM_MSR_EXIT_REASON_FILTER } };
    static uint8_t tsc_only = 1;
    struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };
    f.ranges[0] = (struct kvm_msr_filter_range){
        .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .nmsrs = 1, .base = MSR_TSC, .bitmap = &tsc_only,
    };
    return ioctl(k->vm_fd, KVM_ENABLE_CAP, &cap) == 0 && ioctl(k->vm_fd, KVM_X86_SET_MSR_FILTER, &f) == 0;
}

/* The kick: a per-thread timer signal, unblocked only inside KVM_RUN. */
static int setup_kick(struct vm *vm, struct kvm_accel *k)
{
    k->kick_sig = SIGRTMIN;
    struct sigaction sa = { .sa_handler = kick_handler };
    sigemptyset(&sa.sa_mask);
    if (sigaction(k->kick_sig, &sa, NULL))
        return fail(vm, errno, "cannot install the timer signal");
    sigset_t block, cur;
    sigemptyset(&block);
    sigaddset(&block, k->kick_sig);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    sigdelset(&cur, k->kick_sig);
    struct {
        struct kvm_signal_mask hdr;
        uint8_t set[8]; /* the kernel's sigset_t: 64 signals */
    } mask = { .hdr.len = 8 };
    memcpy(mask.set, &cur, 8);
    if (ioctl(k->vcpu_fd, KVM_SET_SIGNAL_MASK, &mask))
        return fail(vm, errno, "KVM_SET_SIGNAL_MASK");
    struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = k->kick_sig };
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &ev, &k->kick_timer))
        return fail(vm, errno, "cannot create the vCPU timer");
    k->kick_timer_ok = true;
    return 0;
}

/* Guest instructions retired, from the host PMU when it counts guest mode. */
static int open_insn_counter(void)
{
    struct perf_event_attr pa = {
        .type = PERF_TYPE_HARDWARE, .size = sizeof(pa), .config = PERF_COUNT_HW_INSTRUCTIONS, .exclude_host = 1,
    };
    return (int)syscall(SYS_perf_event_open, &pa, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int kvm_accel_open(struct vm *vm)
{
    struct kvm_accel *k = calloc(1, sizeof(*k));
    if (!k) {
        vm_errorf(vm, "KVM: out of memory");
        return -ENOMEM;
    }
    k->sys_fd = k->vm_fd = k->vcpu_fd = k->perf_fd = -1;
    k->run = MAP_FAILED;
    vm->kvm = k;
    int err;
    k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (k->sys_fd < 0) {
        err = fail(vm, errno, "cannot open /dev/kvm");
        goto bad;
    }
    int api = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        vm_errorf(vm, "KVM: /dev/kvm has API version %d, kestrel needs %d", api, KVM_API_VERSION);
        err = -ENOTSUP;
        goto bad;
    }
    static const struct { int cap; const char *name; } need[] = {
        { KVM_CAP_USER_MEMORY, "user memory" }, { KVM_CAP_EXT_CPUID, "KVM_SET_CPUID2" },
        { KVM_CAP_IMMEDIATE_EXIT, "immediate exit" }, { KVM_CAP_READONLY_MEM, "read-only memory" },
        { KVM_CAP_VCPU_EVENTS, "vCPU events" }, { KVM_CAP_DEBUGREGS, "debug registers" },
    };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
            vm_errorf(vm, "KVM: /dev/kvm lacks %s, which kestrel needs", need[i].name);
            err = -ENOTSUP;
            goto bad;
        }
    }
    do
        k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
    while (k->vm_fd < 0 && errno == EINTR);
    if (k->vm_fd < 0) {
        err = fail(vm, errno, "cannot create a VM (KVM_CREATE_VM)");
        goto bad;
    }
    /* Only Intel hosts without unrestricted guest need these; harmless elsewhere. */
    ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR);
    uint64_t idmap = IDENTITY_MAP_ADDR;
    ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
    k->msr_filter = setup_msr_filter(k);
    /* KVM_SET_XSAVE reads as many bytes as KVM_CAP_XSAVE2 says (more than
     * struct kvm_xsave only once a process asks for AMX state, which
     * kestrel does not); stay with the FPU ioctls should it say more. */
    long xsave2 = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    k->xsave = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0 &&
               (xsave2 <= 0 || (size_t)xsave2 <= sizeof(struct kvm_xsave));
    /* Emulation failures exit (and go to the interpreter) instead of
     * turning into a #UD for the guest. */
    struct kvm_enable_cap emu = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 } };
    if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0)
        ioctl(k->vm_fd, KVM_ENABLE_CAP, &emu);
    k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
    if (k->vcpu_fd < 0) {
        err = fail(vm, errno, "cannot create a vCPU (KVM_CREATE_VCPU)");
        goto bad;
    }
    long run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (long)sizeof(struct kvm_run)) {
        err = fail(vm, run_size < 0 ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
        goto bad;
    }
    k->run_size = (size_t)run_size;
    k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu_fd, 0);
    if (k->run == MAP_FAILED) {
        err = fail(vm, errno, "cannot map the vCPU's run structure");
        goto bad;
    }
    /* Kestrel's TSC runs at 1 GHz; KVM can follow where the host scales TSCs. */
    if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0)
        k->tsc_1ghz = ioctl(k->vcpu_fd, KVM_SET_TSC_KHZ, 1000000ul) == 0;
    err = setup_kick(vm, k);
    if (err)
        goto bad;
    k->dirty_log_works = kvm_mem_probe_dirty_log(k->sys_fd);
    k->perf_fd = open_insn_counter();
    k->cpu_dirty = true;
    /* cpu_stop() (from cpu_set_irq and friends) steps from cpu->cur, which
     * the interpreter would have set; point it at a valid instruction. */
    vm->cpu.cur = vm->cpu.scratch->insn;
    /* The interpreter only runs instructions KVM could not emulate. */
    vm->cpu.max_block_insns = 1;
    k->emu_fallback = true;
    return 0;
bad:
    kvm_accel_close(vm);
    return err;
}

void kvm_accel_close(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    if (!k)
        return;
    if (k->kick_timer_ok)
        timer_delete(k->kick_timer);
    if (k->run != MAP_FAILED)
        munmap(k->run, k->run_size);
    if (k->perf_fd >= 0)
        close(k->perf_fd);
    if (k->vcpu_fd >= 0)
        close(k->vcpu_fd);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->sys_fd >= 0)
        close(k->sys_fd);
    free(k);
    vm->kvm = NULL;
}

/* ---- CPU state ---- */

/* Let KVM finish the instruction of the last exit (it writes an IN's
 * result, skips an OUT) so registers are what the guest will see. */
static int complete_exit(struct kvm_accel *k)
{
    if (!k->exit_pending)
        return 0;
    k->exit_pending = false;
    k->run->immediate_exit = 1;
    int r = ioctl(k->vcpu_fd, KVM_RUN, 0);
    int e = errno;
    k->run->immediate_exit = 0;
    return r < 0 && e != EINTR && e != EAGAIN ? -e : 0;
}

static int set_cpuid(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    struct cpuid_leaf leaf[CPUID_MAX_LEAVES];
    int n = cpu_cpuid_leaves(&vm->cpu, leaf, CPUID_MAX_LEAVES);
    struct {
        struct kvm_cpuid2 hdr;
        struct kvm_cpuid_entry2 e[CPUID_MAX_LEAVES];
    } c;
    memset(&c, 0, sizeof(c));
    c.hdr.nent = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        c.e[i] = (struct kvm_cpuid_entry2){ .function = leaf[i].leaf, .eax = leaf[i].eax, .ebx = leaf[i].ebx,
                                            .ecx = leaf[i].ecx, .edx = leaf[i].edx };
        /* KVM refuses a linear-address width other than 48 or 57 (or 0,
         * "not reported"); this CPU's 32 goes in as 0. */
        if (leaf[i].leaf == 0x80000008u)
            c.e[i].eax &= ~0xff00u;
    }
    if (ioctl(k->vcpu_fd, KVM_SET_CPUID2, &c))
        return fail(vm, errno, "KVM_SET_CPUID2");
    k->cpuid_set = true;
    return 0;
}

/* The x87 state goes through KVM's XSAVE image, not KVM_SET_FPU and
 * KVM_GET_FPU: those two only copy the image's legacy (FXSAVE) area and
 * ignore its XSTATE_BV. While the x87 bit is clear there (the x87 was in
 * its initial state when KVM last saved it: so from vCPU creation until
 * the guest's x87 registers are really used), the next entry loads the
 * initial state instead of what KVM_SET_FPU wrote, and KVM_GET_FPU returns
 * what was last written there even after the guest's FNINIT. KVM_GET_XSAVE
 * reports such a component as its initial values, and KVM_SET_XSAVE with
 * the bit set loads the area. This shows wherever a guest's x87 code is
 * split between KVM and the interpreter: on PVM, KVM's instruction
 * emulator runs FNINIT and FNSTSW/FNSTCW to memory on the real registers
 * while the interpreter runs the rest (emulation fallbacks) and the
 * hardware x87 never leaves its initial state, so the guest read status
 * word 0 and stale x87 stacks. Only the x87 part of the image is replaced:
 * SSE state, which Kestrel does not model, stays the vCPU's. Returns the
 * failing ioctl's name, or NULL. */
static const char *set_fpu(struct kvm_accel *k, const struct kvm_fpu *f)
{
    if (!k->xsave)
        return ioctl(k->vcpu_fd, KVM_SET_FPU, f) ? "KVM_SET_FPU" : NULL;
    struct kvm_xsave xs;
    if (ioctl(k->vcpu_fd, KVM_GET_XSAVE, &xs))
        return "KVM_GET_XSAVE";
    kvm_fpu_to_xsave(&xs, f);
    return ioctl(k->vcpu_fd, KVM_SET_XSAVE, &xs) ? "KVM_SET_XSAVE" : NULL;
}

static const char *get_fpu(struct kvm_accel *k, struct kvm_fpu *f)
{
    if (!k->xsave)
        return ioctl(k->vcpu_fd, KVM_GET_FPU, f) ? "KVM_GET_FPU" : NULL;
    struct kvm_xsave xs;
    if (ioctl(k->vcpu_fd, KVM_GET_XSAVE, &xs))
        return "KVM_GET_XSAVE";
    kvm_fpu_from_xsave(f, &xs);
    return NULL;
}

/* struct cpu -> vCPU. Events KVM had queued (an exception or interrupt
 * being injected, a pending NMI) survive unless a reset dropped them. */
static int push_state(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    int err = complete_exit(k);
    if (err)
        return fail(vm, -err, "cannot complete the last exit");
    if (!k->cpuid_set && (err = set_cpuid(vm)))
        return err;
    struct kvm_cpu_state s;
    kvm_state_from_cpu(&s, &vm->cpu, vclock_now(&vm->clock));
    if (k->events_valid) {
        s.events.exception = k->events.exception;
        s.events.interrupt.injected = k->events.interrupt.injected;
        s.events.interrupt.nr = k->events.interrupt.nr;
        s.events.interrupt.soft = k->events.interrupt.soft;
        s.events.nmi.injected = k->events.nmi.injected;
        s.events.nmi.pending = k->events.nmi.pending;
        memcpy(s.sregs.interrupt_bitmap, k->irq_bitmap, sizeof(k->irq_bitmap));
    }
    const char *what = NULL;
    if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &s.sregs))
        what = "KVM_SET_SREGS";
    else if (ioctl(k->vcpu_fd, KVM_SET_REGS, &s.regs))
        what = "KVM_SET_REGS";
    else if ((what = set_fpu(k, &s.fpu)))
        ;
    else if (ioctl(k->vcpu_fd, KVM_SET_DEBUGREGS, &s.dregs))
        what = "KVM_SET_DEBUGREGS";
    else if (ioctl(k->vcpu_fd, KVM_SET_VCPU_EVENTS, &s.events))
        what = "KVM_SET_VCPU_EVENTS";
    if (what)
        return fail(vm, errno, what);
    /* KVM may refuse an MSR value its own model finds invalid: the rest
     * are still set (the count says where it stopped), so go on past it. */
    for (uint32_t done = 0; done < s.msrs.hdr.nmsrs;) {
        struct {
            struct kvm_msrs hdr;
            struct kvm_msr_entry e[KVM_STATE_MSRS];
        } m = { .hdr.nmsrs = s.msrs.hdr.nmsrs - done };
        memcpy(m.e, s.msrs.e + done, m.hdr.nmsrs * sizeof(m.e[0]));
        int r = ioctl(k->vcpu_fd, KVM_SET_MSRS, &m);
        if (r < 0)
            return fail(vm, errno, "KVM_SET_MSRS");
        done += (uint32_t)r + 1;
    }
    k->halted = vm->cpu.halted;
    k->iflag = (cpu_get_eflags(&vm->cpu) & EFL_IF) != 0;
    k->ready_for_irq = false;
    k->cpu_dirty = false;
    k->cpu_stale = false;
    k->stats.state_pushes++;
    return 0;
}

/* vCPU -> struct cpu (when struct cpu is stale). */
static int pull_state(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    if (!k->cpu_stale)
        return 0;
    int err = complete_exit(k);
    if (err)
        return fail(vm, -err, "cannot complete the last exit");
    struct kvm_cpu_state s;
    memset(&s, 0, sizeof(s));
    s.msrs.hdr.nmsrs = KVM_STATE_MSRS;
    for (int i = 0; i < KVM_STATE_MSRS; i++)
        s.msrs.e[i].index = kvm_state_msr_index[i];
    const char *what = NULL;
    if (ioctl(k->vcpu_fd, KVM_GET_REGS, &s.regs))
        what = "KVM_GET_REGS";
    else if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &s.sregs))
        what = "KVM_GET_SREGS";
    else if ((what = get_fpu(k, &s.fpu)))
        ;
    else if (ioctl(k->vcpu_fd, KVM_GET_DEBUGREGS, &s.dregs))
        what = "KVM_GET_DEBUGREGS";
    else if (ioctl(k->vcpu_fd, KVM_GET_VCPU_EVENTS, &s.events))
        what = "KVM_GET_VCPU_EVENTS";
    if (what)
        return fail(vm, errno, what);
    int r = ioctl(k->vcpu_fd, KVM_GET_MSRS, &s.msrs);
    s.msrs.hdr.nmsrs = r < 0 ? 0 : (uint32_t)r; /* those read before one KVM does not have */
    kvm_state_to_cpu(&vm->cpu, &s, vclock_now(&vm->clock), !k->msr_filter);
    k->events = s.events;
    memcpy(k->irq_bitmap, s.sregs.interrupt_bitmap, sizeof(k->irq_bitmap));
    k->events_valid = true;
    vm->cpu.halted = k->halted;
    if (k->perf_fd >= 0) {
        uint64_t n;
        if (read(k->perf_fd, &n, sizeof(n)) == sizeof(n))
            vm->cpu.icount = n;
    }
    k->cpu_stale = false;
    k->stats.state_pulls++;
    return 0;
}

/* After pc_reset() or an INIT: struct cpu holds the new state and nothing
 * KVM had queued survives. */
static void cpu_was_reset(struct kvm_accel *k)
{
    k->events_valid = false;
    k->cpu_dirty = true;
    k->cpu_stale = false;
}

void kvm_accel_cpu_changed(struct vm *vm)
{
    vm->kvm->cpu_dirty = true;
    vm->kvm->cpu_stale = false;
}

/* ---- Exits ---- */

static void handle_io(struct vm *vm, struct kvm_run *run)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    int size = run->io.size;
    vm->kvm->stats.exit_io++;
    if (run->io.count > 1)
        vm->kvm->stats.exit_io_string++;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_IN) {
            uint32_t v = iobus_in(&vm->io, run->io.port, size);
            memcpy(data, &v, (size_t)size);
        } else {
            uint32_t v = 0;
            memcpy(&v, data, (size_t)size);
            iobus_out(&vm->io, run->io.port, size, v);
        }
    }
}

static void handle_mmio(struct vm *vm, struct kvm_run *run)
{
    uint64_t addr = run->mmio.phys_addr;
    unsigned len = run->mmio.len;
    bool whole = len == 1 || len == 2 || len == 4 || len == 8;
    vm->kvm->stats.exit_mmio++;
    if (run->mmio.is_write) {
        if (whole) {
            uint64_t v = 0;
            memcpy(&v, run->mmio.data, len);
            phys_write(&vm->mem, addr, (int)len, v);
        } else {
            for (unsigned i = 0; i < len && i < 8; i++)
                phys_write(&vm->mem, addr + i, 1, run->mmio.data[i]);
        }
    } else {
        if (whole) {
            uint64_t v = phys_read(&vm->mem, addr, (int)len);
            memcpy(run->mmio.data, &v, len);
        } else {
            for (unsigned i = 0; i < len && i < 8; i++)
                run->mmio.data[i] = (uint8_t)phys_read(&vm->mem, addr + i, 1);
        }
    }
}

/* After the model accepted a WRMSR: the values the hardware acts on go to
 * KVM too (as the model stored them: SYSENTER values are 32 bits here). */
static void mirror_msr(struct vm *vm, uint32_t msr)
{
    struct cpu *c = &vm->cpu;
    uint64_t v;
    switch (msr) {
    case MSR_SYSENTER_CS: v = c->sysenter_cs; break;
    case MSR_SYSENTER_ESP: v = c->sysenter_esp; break;
    case MSR_SYSENTER_EIP: v = c->sysenter_eip; break;
    case MSR_PAT: v = c->pat; break;
    case MSR_EFER: v = c->efer; break;
    case MSR_APIC_BASE: v = c->apic_base; break; /* KVM's CPUID APIC flag follows the enable bit */
    default: return;
    }
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = { .hdr.nmsrs = 1, .e = { .index = msr, .data = v } };
    if (ioctl(vm->kvm->vcpu_fd, KVM_SET_MSRS, &m) != 1)
        cpu_logf(c, "KVM: could not copy MSR %#x = %#llx into the vCPU", msr, (unsigned long long)v);
}

static void handle_msr(struct vm *vm, struct kvm_run *run)
{
    vm->kvm->stats.exit_msr++;
    if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
        uint64_t v = 0;
        run->msr.error = !cpu_msr_read(&vm->cpu, run->msr.index, &v);
        run->msr.data = v;
    } else {
        run->msr.error = !cpu_msr_write(&vm->cpu, run->msr.index, run->msr.data);
        if (!run->msr.error)
            mirror_msr(vm, run->msr.index);
    }
}

static const char *internal_error_name(uint32_t sub)
{
    switch (sub) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected hardware exit";
    default: return "unknown";
    }
}

/* A fatal exit: one line in vm->error, with where the guest was. */
static void exit_error(struct vm *vm, const char *what)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (!ioctl(vm->kvm->vcpu_fd, KVM_GET_REGS, &r) && !ioctl(vm->kvm->vcpu_fd, KVM_GET_SREGS, &s))
        vm_errorf(vm, "KVM: %s at %04x:%08llx (linear %#llx)", what, s.cs.selector, (unsigned long long)r.rip,
                  (unsigned long long)(s.cs.base + r.rip));
    else
        vm_errorf(vm, "KVM: %s", what);
}

/* KVM could not emulate an instruction (software KVM emulates far more
 * than hardware-backed KVM, and its emulator lacks protected-mode IRET,
 * task switches, most of the x87...): Kestrel's interpreter runs it on
 * the same state, then the vCPU goes on. Exceptions it raises are
 * delivered by the interpreter; so is an interrupt that is pending at
 * that boundary. The interpreter's decoded blocks and soft TLB may be
 * stale after KVM ran (guest code and page tables change under it), so
 * both are dropped first; blocks are one instruction long (set at open). */
static bool emulate_one(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    struct cpu *c = &vm->cpu;
    if (pull_state(vm))
        return false;
    if (c->log_mask & (LOG_INT | LOG_UNIMPL)) {
        const struct kvm_run *run = k->run;
        char bytes[48] = "";
        if (run->emulation_failure.ndata >= 3 &&
            (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
            for (int i = 0; i < run->emulation_failure.insn_size && i < 15; i++)
                snprintf(bytes + 3 * i, sizeof(bytes) - 3 * (size_t)i, " %02x", run->emulation_failure.insn_bytes[i]);
        cpu_logf(c, "KVM could not emulate the instruction at %04x:%08x%s%s; the interpreter runs it",
                 c->seg[SEG_CS].sel, (uint32_t)c->eip, bytes[0] ? ":" : "", bytes);
    }
    blkcache_flush(c->cache);
    cpu_tlb_flush(c);
    c->exit_request = 0;
    c->halted = 0;
    uint64_t before = c->icount;
    cpu_exec(c, 1);
    k->stats.emu_fallbacks++;
    k->stats.emu_insns += c->icount - before;
    k->cpu_dirty = true; /* pushed before the next KVM_RUN; KVM's queued events ride along */
    return true;
}

/* Dispatch one exit. Returns false on a fatal one (vm->error set). */
static bool handle_exit(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    struct kvm_run *run = k->run;
    char what[128];
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(vm, run);
        k->exit_pending = true;
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(vm, run);
        k->exit_pending = true;
        return true;
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
        handle_msr(vm, run);
        k->exit_pending = true;
        return true;
    case KVM_EXIT_HLT:
        k->stats.exit_hlt++;
        k->halted = true;
        return true;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        k->stats.exit_irq_window++;
        return true;
    case KVM_EXIT_INTR:
        k->stats.exit_intr++;
        return true;
    case KVM_EXIT_SHUTDOWN:
        k->stats.exit_shutdown++;
        vm->shutdown = true;
        return true;
    case KVM_EXIT_SYSTEM_EVENT:
        k->stats.exit_other++;
        if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
            vm->reset_requested = true;
            return true;
        }
        if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
            vm->poweroff_requested = true;
            return true;
        }
        snprintf(what, sizeof(what), "unexpected system event %u", run->system_event.type);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof(what), "the vCPU could not enter the guest (hardware reason %#llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && k->emu_fallback)
            return emulate_one(vm);
        snprintf(what, sizeof(what), "internal error %u (%s)", run->internal.suberror,
                 internal_error_name(run->internal.suberror));
        break;
    default:
        snprintf(what, sizeof(what), "unexpected exit reason %u", run->exit_reason);
        break;
    }
    exit_error(vm, what);
    return false;
}

/* ---- Timers and host events ---- */

/* Make sure KVM_RUN returns by the next timer deadline, or POLL_NS from
 * now for host events. An earlier kick already armed is left alone. */
static void arm_kick(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    uint64_t now = host_ns(), at = now + POLL_NS;
    uint64_t next = vclock_next_deadline(&vm->clock);
    if (next != UINT64_MAX) {
        uint64_t vnow = vclock_now(&vm->clock);
        uint64_t t = next <= vnow ? now + 1 : now + (next - vnow);
        if (t < at)
            at = t;
    }
    if (k->kick_at && k->kick_at <= at)
        return;
    struct itimerspec its = { .it_value = { (time_t)(at / NS_PER_SEC), (long)(at % NS_PER_SEC) } };
    if (timer_settime(k->kick_timer, TIMER_ABSTIME, &its, NULL) == 0)
        k->kick_at = at;
}

/* KVM_RUN was interrupted: consume the (blocked) kick signal. */
static void eat_kick(struct kvm_accel *k)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, k->kick_sig);
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(&set, NULL, &zero) == k->kick_sig)
        ;
    k->kick_at = 0;
}

/* ---- The run loop ---- */

/* Inject what the board's controllers raise. */
static int inject(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    struct cpu *c = &vm->cpu;
    if (c->nmi_pending) {
        if (ioctl(k->vcpu_fd, KVM_NMI))
            return fail(vm, errno, "KVM_NMI");
        c->nmi_pending = 0;
        k->stats.nmis_injected++;
    }
    k->run->request_interrupt_window = 0;
    if (!c->irq_line)
        return 0;
    if (!k->ready_for_irq) {
        k->run->request_interrupt_window = 1;
        return 0;
    }
    int v = c->env.irq_ack(c->env.ctx); /* INTA: the controller moves the vector in service */
    k->ready_for_irq = false;
    if (v >= 0) {
        struct kvm_interrupt irq = { .irq = (uint32_t)v };
        if (ioctl(k->vcpu_fd, KVM_INTERRUPT, &irq))
            return fail(vm, errno, "KVM_INTERRUPT");
        k->stats.irqs_injected++;
    }
    k->run->request_interrupt_window = c->irq_line; /* another one waits */
    return 0;
}

/* The vCPU is halted: wake it, idle, or give up. Returns true while it
 * stays halted (the loop starts over), false when it runs again; sets
 * *stop when nothing can ever wake it. */
static bool halted(struct vm *vm, bool *stop)
{
    struct kvm_accel *k = vm->kvm;
    struct cpu *c = &vm->cpu;
    if (c->nmi_pending || (c->irq_line && k->iflag)) {
        k->halted = false;
        return false;
    }
    uint64_t next = vclock_next_deadline(&vm->clock);
    bool can_wake = k->iflag && (next != UINT64_MAX || vm->cfg.host_poll);
    if (!can_wake) {
        *stop = true;
        return true;
    }
    kvm_mem_dirty_sync(vm);
    vm_idle(vm, next);
    k->last_poll = host_ns();
    return true;
}

enum vm_stop kvm_accel_run(struct vm *vm)
{
    struct kvm_accel *k = vm->kvm;
    struct cpu *c = &vm->cpu;
    enum vm_stop stop;
    for (;;) {
        uint64_t now = host_ns();
        if (now - k->last_poll >= POLL_NS) {
            k->last_poll = now;
            kvm_mem_dirty_sync(vm); /* the frontend may render */
            vm_serve_host(vm, true);
        } else {
            vm_serve_host(vm, false);
        }
        if (vm->stop_requested) {
            vm->stop_requested = false;
            stop = VM_STOP_USER;
            break;
        }
        vclock_run_timers(&vm->clock);
        if (c->init_pending) {
            /* INIT keeps the MSRs and x87 state: start from the vCPU's. */
            if (pull_state(vm)) {
                stop = VM_STOP_ERROR;
                break;
            }
            c->init_pending = 0;
            cpu_init_signal(c);
            cpu_was_reset(k);
        }
        if (kvm_mem_sync(vm) || (k->cpu_dirty && push_state(vm))) {
            stop = VM_STOP_ERROR;
            break;
        }
        if (k->halted) {
            bool give_up = false;
            if (halted(vm, &give_up)) {
                if (give_up) {
                    stop = VM_STOP_HALTED;
                    break;
                }
                continue;
            }
        }
        if (inject(vm)) {
            stop = VM_STOP_ERROR;
            break;
        }
        arm_kick(vm);
        int r = ioctl(k->vcpu_fd, KVM_RUN, 0);
        int e = errno;
        k->stats.runs++;
        k->cpu_stale = true;
        k->ready_for_irq = k->run->ready_for_interrupt_injection;
        k->iflag = k->run->if_flag;
        if (r < 0) {
            if (e == EINTR || e == EAGAIN) {
                eat_kick(k);
                k->stats.exit_intr++;
                continue;
            }
            fail(vm, e, "KVM_RUN");
            stop = VM_STOP_ERROR;
            break;
        }
        k->stats.exits++;
        if (!handle_exit(vm)) {
            stop = VM_STOP_ERROR;
            break;
        }
        if (k->run->exit_reason == KVM_EXIT_INTR)
            eat_kick(k);
        if (vm->exit_requested) {
            stop = VM_STOP_EXIT;
            break;
        }
        if (vm->poweroff_requested) {
            stop = VM_STOP_POWEROFF;
            break;
        }
        if (vm->shutdown || vm->reset_requested) {
            /* As vm_run(): a triple fault or a reset request restarts the
             * PC, unless told not to or there is no firmware to restart. */
            bool triple = vm->shutdown;
            vm->reset_requested = false;
            vm->shutdown = false;
            if (vm->cfg.no_reboot || !vm->bios_low) {
                stop = triple ? VM_STOP_SHUTDOWN : VM_STOP_RESET;
                break;
            }
            int err = complete_exit(k);
            if (err) {
                fail(vm, -err, "cannot complete the last exit");
                stop = VM_STOP_ERROR;
                break;
            }
            pc_reset(vm);
            cpu_was_reset(k);
        }
    }
    /* Leave struct cpu (and the framebuffer's dirty bits) current for the
     * frontend; after an error keep the first message. */
    kvm_mem_dirty_sync(vm);
    char error[sizeof(vm->error)];
    memcpy(error, vm->error, sizeof(error));
    if (pull_state(vm) && stop == VM_STOP_ERROR)
        memcpy(vm->error, error, sizeof(error));
    return stop;
}

const struct kvm_stats *kvm_accel_stats(const struct vm *vm, uint64_t *guest_insns, bool *have_insns)
{
    struct kvm_accel *k = vm->kvm;
    uint64_t n = 0;
    *have_insns = k->perf_fd >= 0 && read(k->perf_fd, &n, sizeof(n)) == sizeof(n);
    *guest_insns = *have_insns ? n : 0;
    return &k->stats;
}
