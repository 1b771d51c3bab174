/*
 * Entry of freestanding guest test programs: Multiboot v1 header, a stack,
 * then main(magic, info); main's return value goes to the debug-exit port
 * (kestrel exits with (v << 1) | 1, so 0 means success: status 1).
 */
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002
    .long 0
    .long -(0x1BADB002)

    .section .text
    .globl _start
_start:
    mov $rt_stack_top, %esp
    push %ebx
    push %eax
    call main
    push %eax
    call rt_exit
1:  hlt
    jmp 1b

    .section .bss
    .align 16
    .space 65536
rt_stack_top:
    .section .note.GNU-stack, "", @progbits
