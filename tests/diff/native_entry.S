/*
 * diff_enter(const struct diff_state *s): load the test's registers and
 * EFLAGS and jump to the sequence at CODE_ADDR. It never returns: the
 * sequence ends in an exception whose signal handler longjmps back into
 * the runner (native.c). Everything is loaded from the state record through
 * EAX, which is loaded last; EFLAGS is set with POPF on a private stack
 * before any register, since the MOVs after it leave flags alone.
 */
#include "proto.h"

        .text
        .globl  diff_enter
        .type   diff_enter, @function
diff_enter:
        movl    4(%esp), %eax
        movw    $LDT_SEL, %cx
        movw    %cx, %es
        movw    %cx, %fs
        movl    $enter_stack_top, %esp
        pushl   32(%eax)
        popfl
        movl    4(%eax), %ecx
        movl    8(%eax), %edx
        movl    12(%eax), %ebx
        movl    20(%eax), %ebp
        movl    24(%eax), %esi
        movl    28(%eax), %edi
        movl    16(%eax), %esp
        movl    0(%eax), %eax
        jmp     CODE_ADDR
        .size   diff_enter, . - diff_enter

        .bss
        .align  16
        .space  64
enter_stack_top:

        .section .note.GNU-stack, "", @progbits
