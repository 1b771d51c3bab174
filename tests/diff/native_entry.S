/*
 * diff_enter(const struct diff_state *s): load the test's registers and
 * EFLAGS and jump to the sequence at CODE_ADDR (diff_enter16: at offset 0
 * of the 16-bit code segment CODE16_SEL, which is the same place). It never returns: the
 * sequence ends in an exception whose signal handler longjmps back into
 * the runner (native.c). Everything is loaded from the state record through
 * EAX, which is loaded last; EFLAGS is set with POPF on a private stack
 * before any register, since the MOVs after it leave flags alone.
 */
#include "proto.h"

        .text
/* diff_enter16: the same, entering the 16-bit code segment at offset 0. */
        .globl  diff_enter16
        .type   diff_enter16, @function
diff_enter16:
        movl    $0, target
        movw    $CODE16_SEL, target + 4
        jmp     1f
        .size   diff_enter16, . - diff_enter16

        .globl  diff_enter
        .type   diff_enter, @function
diff_enter:
        movl    $CODE_ADDR, target
        movw    %cs, %cx
        movw    %cx, target + 4
1:      movl    4(%esp), %eax
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
        ljmp    *target         /* a far jump through memory leaves EFLAGS alone */
        .size   diff_enter, . - diff_enter

        .bss
        .align  16
target: .space  8               /* far pointer: offset, selector */
        .space  64
enter_stack_top:

        .section .note.GNU-stack, "", @progbits
