# Tests of the KVM accelerator (--accel kvm); see tests/kvm/README.md.
# Included by tests/CMakeLists.txt before the guest tests are defined: the
# "kvm" configuration of KESTREL_ACCELS reads KVM_NEEDS_<guest> and
# KVM_EXCLUDED from here.
if(NOT KESTREL_HAVE_KVM)
  return()
endif()

# Runs a test only where /dev/kvm works (and has what the test needs);
# otherwise exits 77 with the reason, which CTest reports as skipped.
add_executable(kvm_probe ${CMAKE_CURRENT_LIST_DIR}/probe.c)

# What guest tests need beyond the basics, where some /dev/kvm
# implementations depart from hardware-backed KVM (names in probe.c). The
# pm_* runtime returns from ring 3 through INT 0x80, so every pm_* test
# that enters ring 3 needs ring3-int.
set(KVM_NEEDS_apic tsc-rate irq-window)   # its clock is the TSC; window() is "sti; nop; nop; nop; cli"
set(KVM_NEEDS_pm_exc ring3-int)
set(KVM_NEEDS_pm_limits ring3-int)
set(KVM_NEEDS_pm_priv ring3-int)
set(KVM_NEEDS_pm_task ring3-int)
set(KVM_NEEDS_pm_pf paging ring3-int)
set(KVM_NEEDS_pm_v86 v86)
set(KVM_NEEDS_sys_paging paging ring3-int)
set(KVM_NEEDS_jit paging)

# Never under KVM: sys_system checks Kestrel's exact CPU model where every
# KVM departs from it: CPUID 0x80000008 cannot report 32 linear-address
# bits (KVM refuses widths other than 48/57, so kestrel passes 0), RDPMC
# at CPL 3 is #GP without a KVM PMU (Kestrel's P6 counters are MSRs only),
# and KVM accepts CR4.VME/PVI/MCE/OSFXSR/OSXMMEXCPT whatever CPUID says.
# On PVM, CPUID leaf 1 also shows the host's feature flags and guest TSC
# writes are ignored.
set(KVM_EXCLUDED sys_system)
