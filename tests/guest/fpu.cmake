# The x87 FPU and MMX from a guest (computations checked against the host
# CPU, #MF/#NM/#UD delivery, FNSAVE images), on the pm_* scaffolding.
kestrel_guest_c(fpu fpu.c fpu_calc.c pm/lib.c pm/stubs.S)
