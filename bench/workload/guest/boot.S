/*
 * Entry of the benchmark guest: a Multiboot (v1) header, a stack, and 32
 * exception stubs for the IDT that guest_main() installs. A stub pushes
 * its vector (and a dummy error code where the CPU pushes none) so the C
 * handler sees one frame layout; the handler reports and exits, it never
 * returns.
 */
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002
    .long 0
    .long -(0x1BADB002)

    .section .text
    .globl _start
_start:
    mov $stack_top, %esp
    push %ebx                   /* multiboot info (physical) */
    push %eax                   /* multiboot magic */
    call guest_main
1:  cli
    hlt
    jmp 1b

/* Vectors 8, 10-14, 17 and 21 push an error code; the others do not.
 * Each stub is 16-byte aligned: stub v is at exc_stubs + 16 * v. */
    .macro stub v
    .if !((\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21))
    push $0
    .endif
    push $\v
    jmp exc_common
    .endm

    .globl exc_stubs
    .align 16
exc_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .align 16
    stub \v
    .endr

exc_common:
    push %esp                   /* struct exc_frame * */
    call guest_exception
1:  cli
    hlt
    jmp 1b

    .section .bss
    .align 16
    .space 65536
stack_top:
    .section .note.GNU-stack, "", @progbits
