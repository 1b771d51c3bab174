/*
 * kvm-probe [NEED...] [-- COMMAND...]: can this host run Kestrel's KVM
 * accelerator (and does its KVM have every NEED)? If so, run COMMAND (or
 * exit 0); if not, print one line saying why and exit 77, which CTest
 * reports as a skipped test (SKIP_RETURN_CODE).
 *
 * Basics: /dev/kvm opens read-write, speaks API version 12, creates a VM
 * and a vCPU. NEEDs name what a test relies on where some /dev/kvm
 * implementations depart from hardware-backed KVM:
 *   tsc-rate    the guest TSC can be set to run at 1 GHz, Kestrel's model
 *               (KVM_CAP_TSC_CONTROL); without it it runs at the host's rate
 *   irq-window  an interrupt-window exit comes at the first instruction
 *               boundary where IF=1 (PVM runs "sti; nop; cli" straight through)
 *   ring3-int   INT n, INT3, INTO, ICEBP and far CALLs execute at CPL 3
 *               (PVM raises #UD for them)
 *   paging      32-bit and PAE paging (PVM refuses CR0.PG outside long mode)
 *   v86         virtual-8086 mode (PVM faults its segment loads)
 * PVM (the kvm_pvm module) is recognised by /sys/module/kvm_pvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define SKIP 77

static int skip(const char *why, const char *detail)
{
    printf("SKIP: %s%s%s\n", why, detail ? ": " : "", detail ? detail : "");
    return SKIP;
}

int main(int argc, char **argv)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return skip("/dev/kvm cannot be opened", strerror(errno));
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        printf("SKIP: /dev/kvm has API version %d, not %d\n", api, KVM_API_VERSION);
        return SKIP;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return skip("KVM_CREATE_VM fails", strerror(errno));
    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (cpu < 0)
        return skip("KVM_CREATE_VCPU fails", strerror(errno));
    int tsc_control = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL);
    close(cpu);
    close(vm);
    close(kvm);
    int pvm = access("/sys/module/kvm_pvm", F_OK) == 0;

    int k = 1;
    for (; k < argc && strcmp(argv[k], "--"); k++) {
        const char *need = argv[k];
        if (!strcmp(need, "tsc-rate")) {
            if (tsc_control <= 0 || pvm)
                return skip("this KVM cannot run the guest TSC at 1 GHz (no KVM_CAP_TSC_CONTROL)", NULL);
        } else if (!strcmp(need, "irq-window")) {
            if (pvm)
                return skip("PVM opens no interrupt window inside short STI windows (sti; nop; cli)", NULL);
        } else if (!strcmp(need, "ring3-int")) {
            if (pvm)
                return skip("PVM raises #UD for INT n, INT3, INTO, ICEBP and far CALL at CPL 3", NULL);
        } else if (!strcmp(need, "paging")) {
            if (pvm)
                return skip("PVM refuses paging outside long mode (MOV CR0 with PG set: #GP)", NULL);
        } else if (!strcmp(need, "v86")) {
            if (pvm)
                return skip("PVM does not run virtual-8086 mode (segment loads fault)", NULL);
        } else {
            fprintf(stderr, "kvm-probe: unknown need '%s'\n", need);
            return 2;
        }
    }
    if (k + 1 < argc) {
        execv(argv[k + 1], argv + k + 1);
        fprintf(stderr, "kvm-probe: %s: %s\n", argv[k + 1], strerror(errno));
        return 2;
    }
    return 0;
}
