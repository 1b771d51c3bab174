/*
 * The KVM accelerator on hosts without Linux's x86 KVM API (built instead
 * of the rest of vm/kvm/ there): --accel kvm fails with one line.
 */
#include <errno.h>

#include "vm/kvm.h"

int kvm_accel_open(struct vm *vm)
{
    vm_errorf(vm, "KVM: not available on this host (kestrel supports KVM on Linux x86-64 hosts)");
    return -ENOTSUP;
}

void kvm_accel_close(struct vm *vm)
{
    (void)vm;
}

enum vm_stop kvm_accel_run(struct vm *vm)
{
    vm_errorf(vm, "KVM: not available on this host");
    return VM_STOP_ERROR;
}

void kvm_accel_cpu_changed(struct vm *vm)
{
    (void)vm;
}

const struct kvm_stats *kvm_accel_stats(const struct vm *vm, uint64_t *guest_insns, bool *have_insns)
{
    static const struct kvm_stats none;
    (void)vm;
    *guest_insns = 0;
    *have_insns = false;
    return &none;
}
