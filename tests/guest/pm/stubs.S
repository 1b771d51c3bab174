/*
 * Interrupt stubs and ring-3 entry/exit for the pm_* guest tests.
 *
 * pm_isr0 + 16 * v is the stub of vector v: it pushes a zero error code
 * when the CPU pushes none (by vector: 8, 10-14, 17 push one), the vector,
 * then the common part saves the registers, loads the kernel data
 * segments and calls pm_trap(frame). The frame layout is struct pm_frame.
 */
    .text
    .altmacro
    .macro STUB v
    .align 16
    .if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17)
    .else
    pushl $0
    .endif
    pushl $\v
    jmp pm_isr_common
    .endm

    .globl pm_isr0
    .align 16
pm_isr0:
    .set vec, 0
    .rept 256
    STUB %vec
    .set vec, vec + 1
    .endr

pm_isr_common:
    pushal
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movl $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    cld
    pushl %esp
    call pm_trap
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp
    iret

/* uint32_t pm_user_call(uint32_t (*fn)(void), uint32_t eflags) */
    .globl pm_user_call
pm_user_call:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, pm_kernel_esp
    movl 20(%esp), %ecx
    movl 24(%esp), %edx
    movl $0x23, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    pushl $0x23
    pushl $pm_ustack_top
    pushl %edx
    pushl $0x1b
    pushl $pm_user_entry
    iret
pm_user_entry:
    call *%ecx
    movl %eax, %ebx
    movl $0x55534552, %eax
    int $0x80
1:  jmp 1b

/* uint32_t pm_kernel_call(void (*fn)(void)): jump to fn at ring 0 with
 * the kernel context saved as pm_user_call does; fn (typically after
 * moving to ring 3 by hand) leaves through int 0x80 with PM_USER_EXIT. */
    .globl pm_kernel_call
pm_kernel_call:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, pm_kernel_esp
    movl 20(%esp), %ecx
    jmp *%ecx

/* Called from pm_trap at ring 0: drop the interrupt frame and return
 * from pm_user_call with the result. */
    .globl pm_user_exit
pm_user_exit:
    movl 4(%esp), %eax
    movl $0x10, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov %ecx, %gs
    mov %ecx, %ss
    movl pm_kernel_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .data
    .align 4
    .globl pm_kernel_esp
pm_kernel_esp: .long 0

    .bss
    .align 16
    .space 16384
    .globl pm_istack_top
pm_istack_top:
    .space 16384
    .globl pm_ustack_top
pm_ustack_top:
    .space 16384
    .globl pm_kstack_top
pm_kstack_top:
    .section .note.GNU-stack, "", @progbits
