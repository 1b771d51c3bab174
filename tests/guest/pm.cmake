# Protected-mode system tests (segmentation, privilege, exceptions, tasks,
# v86, real/protected transitions): guest programs on the scaffolding in
# tests/guest/pm/. Their .expected files follow the Intel SDM and were
# cross-checked against QEMU with tests/guest/pm/qemu-check.sh: each
# program's header lists the lines where QEMU's TCG departs from the SDM,
# and pm_limits covers checks TCG does not perform at all.
set(PM_LIB pm/lib.c pm/stubs.S)
kestrel_guest_c(pm_seg pm_seg.c ${PM_LIB})
kestrel_guest_c(pm_priv pm_priv.c ${PM_LIB})
kestrel_guest_c(pm_exc pm_exc.c ${PM_LIB})
kestrel_guest_c(pm_task pm_task.c ${PM_LIB})
kestrel_guest_c(pm_v86 pm_v86.c ${PM_LIB})
kestrel_guest_c(pm_limits pm_limits.c ${PM_LIB})
kestrel_guest_c(pm_real pm_real.c ${PM_LIB})
kestrel_guest_c(pm_pf pm_pf.c ${PM_LIB})
