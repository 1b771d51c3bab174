/*
 * Inside the KVM accelerator (vm/kvm/): the accelerator's state and the
 * contracts between its files.
 *
 *   kvm.c    lifecycle (/dev/kvm, VM, vCPU, CPUID, MSR filter), the run
 *            loop, exits, interrupt injection, timer kicks, statistics
 *   mem.c    memory slots derived from the guest physical map (vm->mem):
 *            RAM and shadow RAM read-write, ROM read-only, MMIO and open
 *            bus without a slot (they exit); the VGA framebuffer with
 *            dirty logging
 *   state.c  struct cpu <-> KVM's register structures
 *
 * Who owns the CPU state: struct cpu while kestrel is outside KVM_RUN and
 * `cpu_dirty` is set (loaders, resets, INIT), the vCPU otherwise; the run
 * loop pushes before KVM_RUN when cpu_dirty is set and pulls when it
 * returns to the board or needs the state (cpu_stale cleared).
 */
#ifndef KESTREL_KVM_INT_H
#define KESTREL_KVM_INT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vm/kvm.h"

#define KVM_SLOTS_MAX 64 /* slot ids 0..63; a PC map needs about a dozen */

/* One memory slot as given to KVM. */
struct kvm_slot {
    uint64_t gpa, size;
    uint8_t *host;
    uint32_t flags;      /* KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES */
    int region;          /* logged slots: the phys region whose dirty bits they feed, else -1 */
    uint64_t region_off; /* gpa - that region's base */
    int id;              /* KVM's slot number */
};

/* MSRs copied between struct cpu and the vCPU (state.c). */
#define KVM_STATE_MSRS 33

/* Everything KVM holds of one vCPU, as the ioctls take it. */
struct kvm_cpu_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_debugregs dregs;
    struct kvm_vcpu_events events;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[KVM_STATE_MSRS];
    } msrs;
};

struct kvm_accel {
    int sys_fd, vm_fd, vcpu_fd; /* /dev/kvm, the VM, the vCPU */
    struct kvm_run *run;        /* the vCPU's shared run structure */
    size_t run_size;

    struct kvm_slot slot[KVM_SLOTS_MAX];
    int nslots;
    uint64_t slot_ids;          /* bitmap of KVM slot numbers in use */
    uint64_t mem_gen;           /* vm->mem.gen the slots were built from */
    bool mem_built;             /* slots exist (mem_gen is meaningful) */
    bool dirty_log_works;       /* KVM's dirty log reports guest writes here (probed at open) */

    bool emu_fallback;          /* instructions KVM cannot emulate go to the interpreter */
    bool tsc_1ghz;              /* the guest TSC runs at 1 GHz like Kestrel's (KVM_SET_TSC_KHZ) */
    bool msr_filter;            /* guest MSR accesses exit to Kestrel's model (else KVM's model) */
    bool xsave;                 /* the x87 state goes through KVM_GET/SET_XSAVE, not KVM_GET/SET_FPU */
    bool cpuid_set;             /* KVM_SET_CPUID2 done (before the first state push) */
    bool cpu_dirty;             /* struct cpu is newer than the vCPU: push before KVM_RUN */
    bool cpu_stale;             /* the vCPU is newer than struct cpu */
    bool exit_pending;          /* the last exit completes only at the next KVM_RUN */
    bool halted;                /* HLT exit taken; waiting for an interrupt */
    bool iflag;                 /* EFLAGS.IF as of the last exit or push */
    bool ready_for_irq;         /* KVM can take a KVM_INTERRUPT now (as of the last exit) */
    struct kvm_vcpu_events events; /* as of the last pull: injected events carried over a push */
    __u64 irq_bitmap[4];        /* same, the external interrupt KVM had queued */
    bool events_valid;          /* events/irq_bitmap hold a pull's values */

    int kick_sig;               /* signal that interrupts KVM_RUN for timers and host events */
    timer_t kick_timer;
    bool kick_timer_ok;
    uint64_t kick_at;           /* CLOCK_MONOTONIC ns the timer is armed for; 0: not armed */
    uint64_t last_poll;         /* CLOCK_MONOTONIC ns of the last host poll */

    int perf_fd;                /* guest-instruction counter (perf), -1 when the host has none */
    struct kvm_stats stats;
};

/* mem.c: make the slots match vm->mem (cheap when nothing changed).
 * Returns 0 or -errno with vm->error set. */
int kvm_mem_sync(struct vm *vm);
/* Fold the dirty log of logged slots into their regions' dirty bits
 * (before anything renders the framebuffer). */
void kvm_mem_dirty_sync(struct vm *vm);
/* Does KVM_GET_DIRTY_LOG report guest writes on this host? Runs a three-
 * instruction guest in a scratch VM. */
bool kvm_mem_probe_dirty_log(int sys_fd);

/* state.c: conversions (pure, unit-tested without /dev/kvm). `clock_ns`
 * is the board's virtual time, which the TSC model is relative to. */
void kvm_state_from_cpu(struct kvm_cpu_state *s, const struct cpu *c, uint64_t clock_ns);
/* `all_msrs`: take the MSRs from KVM too (when KVM's own MSR model ran);
 * otherwise only the TSC, since Kestrel's model holds the rest. */
void kvm_state_to_cpu(struct cpu *c, const struct kvm_cpu_state *s, uint64_t clock_ns, bool all_msrs);
/* The MSR numbers of kvm_cpu_state.msrs, in order. */
extern const uint32_t kvm_state_msr_index[KVM_STATE_MSRS];
/* The x87 registers of `f` into an XSAVE image from KVM_GET_XSAVE, its
 * XSTATE_BV x87 bit set so that KVM loads them; the rest of the image
 * (SSE and later components) is left as it was. */
void kvm_fpu_to_xsave(struct kvm_xsave *xs, const struct kvm_fpu *f);
/* The fields KVM_GET_FPU returns, from an XSAVE image (KVM_GET_XSAVE
 * fills components in their initial state with their initial values). */
void kvm_fpu_from_xsave(struct kvm_fpu *f, const struct kvm_xsave *xs);

#endif
