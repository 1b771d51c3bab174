# Guest test aimed at the JIT (self-modifying code, precise faults inside
# translated blocks, timer interrupts ending chained loops), on the pm_*
# scaffolding; runs under every accelerator configuration like the others.
kestrel_guest_c(jit jit.c jit_code.S pm/lib.c pm/stubs.S)
