/*
 * Exception stubs and the ring-3 call for the sys_* guest tests (sysrt.h).
 *
 * sys_isr0 + 16 * v is the stub of vector v (0..31): it pushes a zero
 * error code where the CPU pushes none, the vector, then the common part
 * saves registers, loads the kernel data segments and calls sys_trap.
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
    jmp sys_isr_common
    .endm

    .globl sys_isr0
    .align 16
sys_isr0:
    .set vec, 0
    .rept 32
    STUB %vec
    .set vec, vec + 1
    .endr

sys_isr_common:
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
    call sys_trap
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp
    iret

/* uint32_t sys_user_call(uint32_t (*fn)(uint32_t), uint32_t arg):
 * SYSEXIT to fn(arg) at ring 3 on sys_ustack; fn's return comes back to
 * ring 0 through SYSENTER (EIP sys_sysenter_entry, ESP sys_kstack_top). */
    .globl sys_user_call
sys_user_call:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, sys_kernel_esp
    movl 20(%esp), %eax
    movl 24(%esp), %ebx
    movl $0x23, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov %ecx, %gs
    movl $sys_ustack_top, %ecx
    movl $1f, %edx
    sysexit
1:  pushl %ebx
    call *%eax
    addl $4, %esp
    sysenter

    .globl sys_sysenter_entry
sys_sysenter_entry:
    movl $0x10, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov %ecx, %gs
    movl sys_kernel_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .data
    .align 4
sys_kernel_esp: .long 0

    .bss
    .align 16
    .space 16384
    .globl sys_kstack_top
sys_kstack_top:
    .space 16384
    .globl sys_ustack_top
sys_ustack_top:
    .section .note.GNU-stack, "", @progbits
