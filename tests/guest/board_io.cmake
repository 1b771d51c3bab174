# What accelerators route to the board (string I/O, MMIO, PAM slots, MSRs,
# PIT interrupts, state across an IRET): one guest, every accelerator.
kestrel_guest_c(board_io board_io.c pm/lib.c pm/stubs.S)
