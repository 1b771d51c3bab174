/*
 * Interrupt entry for the apic guest test: 256 stubs, 16 bytes apart,
 * each pushing its vector and joining a common path that saves the
 * general registers and calls apic_isr(frame) in apic.c. Exceptions with
 * an error code get the same treatment (the test treats every exception
 * as fatal, so the extra word on the stack does not matter).
 */
    .text
    .globl apic_isr_stubs
    .align 16
apic_isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushal
    push %esp
    call apic_isr
    add $4, %esp
    popal
    add $4, %esp
    iret
    .section .note.GNU-stack, "", @progbits
