/*
 * The KVM accelerator (--accel kvm): the vCPU runs through Linux's
 * /dev/kvm instead of the interpreter, on the very same board. Guest RAM,
 * ROM, PAM shadowing and the VGA framebuffer are memory slots over the
 * memory the interpreter uses; port I/O and MMIO exits go to the same
 * device models; interrupts come from the same interrupt controllers
 * (KVM's in-kernel irqchip and PIT are not used); CPUID and the MSRs are
 * Kestrel's CPU model (cpu/cpu_model.h). struct cpu stays the place where
 * loaders, resets and the frontend find the CPU state: it is copied into
 * the vCPU before it runs and back whenever someone needs it.
 *
 * The implementation lives in vm/kvm/ (Linux on x86-64 hosts only); on
 * other hosts vm/kvm/none.c makes kvm_accel_open() fail with a message.
 */
#ifndef KESTREL_KVM_H
#define KESTREL_KVM_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/vm.h"

/* Counters for --stats: one X-macro list (vm/kvm/stats.def). */
struct kvm_stats {
#define KVM_STAT(name, desc) uint64_t name;
#include "vm/kvm/stats.def"
#undef KVM_STAT
};

/* Open /dev/kvm and create the VM and its vCPU (vm->kvm). Returns 0, or
 * -errno with a one-line reason in vm->error. */
int kvm_accel_open(struct vm *vm);
void kvm_accel_close(struct vm *vm);

/* vm_run() for --accel kvm: runs the vCPU until the guest stops. On return
 * struct cpu holds the vCPU's state. */
enum vm_stop kvm_accel_run(struct vm *vm);

/* struct cpu was changed from outside (a debugger, a snapshot load): copy
 * it into the vCPU before it runs again. */
void kvm_accel_cpu_changed(struct vm *vm);

/* Counters, and the guest instructions retired when the host can count
 * them (a hardware PMU that counts guest mode); false when it cannot. */
const struct kvm_stats *kvm_accel_stats(const struct vm *vm, uint64_t *guest_insns, bool *have_insns);

#endif
