/*
 * Code shapes that stress a JIT, for tests/guest/jit.c. Each routine is
 * called often enough to be translated under every accelerator
 * configuration (the default threshold is 16 runs).
 */
    .text

/* uint32_t jit_smc_self(uint32_t v): patch the immediate of the very next
 * instruction, in the same block, then run it: the block must be left
 * right after the store and the new code decoded. */
    .globl jit_smc_self
jit_smc_self:
    movl 4(%esp), %ecx
    movl %ecx, 1f + 1
1:  movl $0, %eax
    ret

/* uint32_t jit_smc_loop(uint32_t n): a loop whose body rewrites the
 * immediate of its own first instruction (ADD 1 -> ADD 3) when the counter
 * reaches n/2; the loop branches back into code that was chained. */
    .globl jit_smc_loop
jit_smc_loop:
    movl 4(%esp), %ecx
    movl %ecx, %edx
    shrl $1, %edx
    xorl %eax, %eax
    movb $1, 2f + 2
2:  addl $1, %eax
    cmpl %edx, %ecx
    jne 3f
    movb $3, 2b + 2
3:  decl %ecx
    jnz 2b
    ret

/* uint32_t jit_smc_callee(void): code another routine rewrites. */
    .globl jit_smc_callee
jit_smc_callee:
    movl $7, %eax
    ret

/* void jit_fault_gp(void): known registers and flags, a push, then a load
 * beyond ES's limit (#GP(0)) in the same block. The test's trap hook
 * records the frame and resumes at jit_fault_gp_resume. */
    .globl jit_fault_gp, jit_fault_gp_at, jit_fault_gp_resume
jit_fault_gp:
    movl %esp, jit_entry_esp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl $0x11111111, %eax
    movl $0x22222222, %ebx
    addl %ebx, %eax
    leal 5(%eax), %edx
    movl $0x1000, %esi
    movl $0x77, %edi
    pushl %edi
jit_fault_gp_at:
    movl %es:(%esi), %ecx
    addl $1, %eax
jit_fault_gp_resume:
    popl %edi
    popl %edi
    popl %esi
    popl %ebx
    ret

/* void jit_fault_de(void): register arithmetic, then DIV by zero (#DE),
 * an instruction the JIT leaves to the interpreter, in the same block. */
    .globl jit_fault_de, jit_fault_de_at, jit_fault_de_resume
jit_fault_de:
    pushl %ebx
    movl $100, %eax
    xorl %edx, %edx
    xorl %ecx, %ecx
    movl $3, %ebx
    subl %ebx, %eax
jit_fault_de_at:
    divl %ecx
jit_fault_de_resume:
    popl %ebx
    ret

/* void jit_fault_st(uint32_t *p): a store through ES beyond its limit
 * after flag-setting arithmetic: the store faults, nothing is committed. */
    .globl jit_fault_st, jit_fault_st_at, jit_fault_st_resume
jit_fault_st:
    pushl %ebx
    movl $0x7fffffff, %eax
    movl $1, %ebx
    addl %ebx, %eax
    movl $0x2000, %ecx
jit_fault_st_at:
    movl %eax, %es:(%ecx)
    movl $0, %eax
jit_fault_st_resume:
    popl %ebx
    ret

/* void jit_fault_pf(uint8_t *p): a load from a not-present page (#PF) after
 * register arithmetic; the soft-TLB slow path raises it. */
    .globl jit_fault_pf, jit_fault_pf_at, jit_fault_pf_resume
jit_fault_pf:
    movl 4(%esp), %edx
    movl $5, %eax
    movl $7, %ecx
    subl %ecx, %eax
jit_fault_pf_at:
    movzbl 3(%edx), %ecx
    movl $0, %eax
jit_fault_pf_resume:
    ret

/* void jit_fault_group(uint8_t *p): loads at p, p + 4 and p + 8 from one
 * base register (one probe group: jit/probe.c) where p + 8 is on a
 * not-present page: the #PF must come at the third load, after the two
 * others. */
    .globl jit_fault_group, jit_fault_group_at, jit_fault_group_resume
jit_fault_group:
    movl 4(%esp), %edx
    movl (%edx), %eax
    movl 4(%edx), %ecx
jit_fault_group_at:
    movl 8(%edx), %edx
jit_fault_group_resume:
    ret

/* void jit_smc_group(uint32_t v, char *code): store v at code + 1
 * (jit_smc_target's immediate) through a base register, between loads
 * from the same base: one probe group (jit/probe.c), which must not let
 * the store past the self-modifying-code check. jit_smc_target is alone
 * on its page, so that this routine stays translated. */
    .globl jit_smc_group
jit_smc_group:
    movl 4(%esp), %ecx
    movl 8(%esp), %edx
    movl 5(%edx), %eax
    movl %ecx, 1(%edx)
    addl 5(%edx), %eax
    ret

    .balign 4096
    .globl jit_smc_target
jit_smc_target:
    movl $0, %eax
    ret
    .balign 4096

/* The x87 state the next two leave at their fault, and jit_x87_ref saves
 * (FNSAVE to its argument) without one: TOP moved, values computed, one
 * of them popped (its register keeps it), two renamed by FXCH. A
 * translator holding these in the host's x87 must store them exactly
 * before the integer load's fault. */
.macro X87_WORK
    fninit
    fld1
    fldpi
    fadd %st(1), %st
    fld %st(0)
    fmul %st(0), %st
    faddp %st, %st(1)
    fxch %st(1)
.endm

    .globl jit_x87_ref
jit_x87_ref:
    movl 4(%esp), %edx
    X87_WORK
    fnsave (%edx)
    ret

/* void jit_x87_gp(const uint8_t *off): the x87 work, then a load at
 * ES:off (beyond ES's limit for the fault). */
    .globl jit_x87_gp, jit_x87_gp_resume
jit_x87_gp:
    movl 4(%esp), %edx
    X87_WORK
    movl %es:(%edx), %ecx
jit_x87_gp_resume:
    ret

/* void jit_x87_pf(const uint8_t *p): the x87 work, then a load from p
 * (a not-present page for the fault). */
    .globl jit_x87_pf, jit_x87_pf_resume
jit_x87_pf:
    movl 4(%esp), %edx
    X87_WORK
    movzbl 3(%edx), %ecx
jit_x87_pf_resume:
    ret

/* uint32_t jit_spin(volatile uint32_t *ticks, uint32_t n): count loop
 * iterations until the timer interrupt handler has run n times. */
    .globl jit_spin, jit_spin_loop, jit_spin_cmp, jit_spin_jb, jit_spin_end
jit_spin:
    movl 4(%esp), %edx
    movl 8(%esp), %ecx
    xorl %eax, %eax
jit_spin_loop:
    incl %eax
jit_spin_cmp:
    cmpl %ecx, (%edx)
jit_spin_jb:
    jb jit_spin_loop
jit_spin_end:
    ret

/* uint32_t jit_spin_reg(void): a loop on registers only, chained to
 * itself; the interrupt handler ends it by setting EAX in the frame. */
    .globl jit_spin_reg, jit_spin_reg_loop, jit_spin_reg_jz, jit_spin_reg_end
jit_spin_reg:
    xorl %eax, %eax
jit_spin_reg_loop:
    testl %eax, %eax
jit_spin_reg_jz:
    jz jit_spin_reg_loop
jit_spin_reg_end:
    ret

/* uint32_t jit_sti_count(uint32_t n): with an interrupt pending, STI,
 * then count ECX up to n in a loop chained to itself; returns the count
 * (CLI again first). The interrupt belongs one instruction after the STI
 * (the shadow covers the NOP); the handler records ECX. */
    .globl jit_sti_count
jit_sti_count:
    movl 4(%esp), %eax
    xorl %ecx, %ecx
    sti
    nop
1:
    incl %ecx
    cmpl %eax, %ecx
    jne 1b
    cli
    movl %ecx, %eax
    ret

/* uint32_t jit_hlt_ticks(volatile uint32_t *ticks): STI, HLT, CLI; the
 * ticks the HLT waited for (an interrupt must end it: not 0). */
    .globl jit_hlt_ticks
jit_hlt_ticks:
    movl 4(%esp), %edx
    movl (%edx), %ecx
    sti
    hlt
    cli
    movl (%edx), %eax
    subl %ecx, %eax
    ret

/* uint32_t jit_x87_spin(volatile uint32_t *ticks, uint32_t n): count on
 * the x87 stack until the timer interrupt handler has run n times. At the
 * loop's head ST(0..2) = k, k+1, k+2 (integers, the rest empty); each
 * iteration pops k (its register keeps it) and shuffles the others with
 * FXCH, so a translator carrying them round the back edge reorders them.
 * Returns k. */
    .globl jit_x87_spin, jit_x87_first, jit_x87_loop, jit_x87_last
jit_x87_spin:
    movl 4(%esp), %edx
    movl 8(%esp), %ecx
    fninit
    fld1
    fld1
    faddp %st, %st(1)
    fld1
jit_x87_first:
    fldz                    /* 0 1 2 */
    jmp jit_x87_loop        /* the loop's head starts a block */
jit_x87_loop:
    fstp %st(0)             /* k+1 k+2 */
    incl %eax               /* nine instructions: the instruction budget's slices
                             * (a power of two) end at each of them in turn */
    fld %st(1)              /* k+2 k+1 k+2 */
    fld1
    faddp %st, %st(1)       /* k+3 k+1 k+2 */
    fxch %st(2)             /* k+2 k+1 k+3 */
jit_x87_last:
    fxch %st(1)             /* k+1 k+2 k+3 */
    cmpl (%edx), %ecx
    ja jit_x87_loop
    pushl %eax
    fistpl (%esp)
    popl %eax
    fninit
    ret

/* void jit_x87_nest(uint32_t n, void *img): n rounds of an outer loop
 * whose block enters an inner x87 loop with values on the x87 stack: a
 * JIT's direct exits may carry its register cache into the inner loop's
 * translation. Round r pushes a = b = 1 over the running sum, pushes and
 * pops a 0 (odd r) or a 1 (even r), leaving a popped register's value in
 * the slot the inner loop pops into, and enters the inner loop with a
 * Jcc (odd r) or a JMP (even r); the inner loop runs (r & 3) + 1 times
 * (a, b) -> (a + b, a), popping the old b each time; then a is added to
 * the sum and both are popped. The x87 state is saved (FNSAVE) to img.
 * At the inner loop's head ST(0..2) = a, b, sum (TOP 5, the rest empty). */
    .globl jit_x87_nest, jit_x87_nest_inner, jit_x87_nest_odd, jit_x87_nest_even, jit_x87_nest_back, jit_x87_nest_last
jit_x87_nest:
    pushl %ebx
    movl 8(%esp), %ecx
    fninit
    fldz                    /* sum */
    xorl %eax, %eax
    jmp 1f
1:  fld1                    /* a = 1 */
    fld %st(0)              /* b = 1 */
    fldz
jit_x87_nest_odd:
    fstp %st(0)             /* a b sum, 0 in the slot below */
    movl %eax, %ebx
    andl $3, %ebx
    incl %ebx
    testb $1, %al
    jnz jit_x87_nest_inner
    fld1
jit_x87_nest_even:
    fstp %st(0)             /* a b sum, 1 in the slot below */
    jmp jit_x87_nest_inner
jit_x87_nest_inner:
    fld %st(0)              /* a a b sum */
    fadd %st(2), %st        /* a+b a b sum */
    fxch %st(2)             /* b a a+b sum */
    fstp %st(0)             /* a a+b sum */
jit_x87_nest_back:
    fxch %st(1)             /* a+b a sum */
    decl %ebx
    jnz jit_x87_nest_inner
    faddp %st, %st(2)       /* a sum+a */
jit_x87_nest_last:
    fstp %st(0)             /* sum */
    incl %eax
    cmpl %ecx, %eax
    jb 1b
    movl 12(%esp), %edx
    fnsave (%edx)
    popl %ebx
    ret

/* uint32_t jit_seg_flip(uint32_t based_sel, uint32_t flat_sel, const uint32_t *p, uint32_t n):
 * a loop that makes ES based (base 4) and flat again in turn, reading
 * ES:[p] after each load: p[1] + p[0] per iteration. Translated code
 * keyed as "ES flat" skips ES's base, so it must not run on past the
 * load that changes that (seg_recompute ends the block). ES is left flat. */
    .globl jit_seg_flip
jit_seg_flip:
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 16(%esp), %esi
    movl 20(%esp), %edi
    movl 24(%esp), %ebx
    movl 28(%esp), %ecx
    xorl %eax, %eax
    movw %di, %es
1:  movw %si, %es
    addl %es:(%ebx), %eax
    movw %di, %es
    addl %es:(%ebx), %eax
    decl %ecx
    jnz 1b
    popl %edi
    popl %esi
    popl %ebx
    ret

/* uint32_t jit_super_smc(void): 4 x (1 + the immediate at
 * jit_super_smc_imm + 1). The decoder cuts the loop at a never-taken jz;
 * the JIT translates the block before it together with the block after it
 * (a superblock), so rewriting the immediate in the second block must
 * invalidate the translation of the first. */
    .globl jit_super_smc, jit_super_smc_imm
jit_super_smc:
    xorl %eax, %eax
    movl $4, %ecx
1:  addl $1, %eax
    testl %ecx, %ecx
    jz 2f
jit_super_smc_imm:
    addl $0x100, %eax
    decl %ecx
    jnz 1b
2:  ret

/* uint32_t jit_super_cross(void): the same loop placed so that an
 * instruction of its body crosses a page boundary: the decoder ends the
 * loop's first block there, and the superblock goes on with the blocks
 * on the second page, where the test rewrites jit_super_cross_imm. */
    .globl jit_super_cross, jit_super_cross_imm
    .balign 4096
9:  .skip 4096 - 24, 0x90
jit_super_cross:
    xorl %eax, %eax
    movl $4, %ecx
1:  addl $1, %eax
    .org 9b + 4096 - 3, 0x90
    leal 0x12345678(%eax), %edx /* 6 bytes, 3 on each page */
    testl %ecx, %ecx
    jz 2f
jit_super_cross_imm:
    addl $0x100, %eax
    decl %ecx
    jnz 1b
2:  ret

/* ---- Loops carrying guest registers in host registers (jit/carry.c) ---- */

/* uint32_t jit_carry_walk(const uint32_t *p): sums the words from p up
 * until a load faults (the test leaves a hole after them): EAX the sum,
 * EBX the last word, ECX counting down from 0x1000, ESI the pointer. At
 * the #PF, in the loop's first instruction, the frame must hold what the
 * previous iteration left, though a loop translation keeps it all in host
 * registers. */
    .globl jit_carry_walk, jit_carry_walk_at, jit_carry_walk_resume
jit_carry_walk:
    pushl %ebx
    pushl %esi
    movl 12(%esp), %esi
    xorl %eax, %eax
    xorl %ebx, %ebx
    movl $0x1000, %ecx
    cmpl $0xfff, %ecx       /* flags a fault in the first iteration keeps: AF */
    jmp jit_carry_walk_at   /* the loop starts a block */
jit_carry_walk_at:
    movl (%esi), %edx
    addl %edx, %eax
    movl %edx, %ebx
    addl $4, %esi
    decl %ecx
    jnz jit_carry_walk_at
jit_carry_walk_resume:
    popl %esi
    popl %ebx
    ret

/* void jit_carry_rot(uint32_t n, uint32_t *out): n rounds of rotating EAX,
 * EBX and ECX (the back edge moves them round a cycle of three host
 * registers) while ESI accumulates; out[0..3] = EAX, EBX, ECX, ESI. */
    .globl jit_carry_rot
jit_carry_rot:
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 16(%esp), %edx
    movl 20(%esp), %edi
    movl $1, %eax
    movl $2, %ebx
    movl $3, %ecx
    xorl %esi, %esi
    jmp 1f
1:  xchgl %eax, %ebx
    xchgl %ebx, %ecx
    leal 1(%eax,%esi,2), %esi
    decl %edx
    jnz 1b
    movl %eax, (%edi)
    movl %ebx, 4(%edi)
    movl %ecx, 8(%edi)
    movl %esi, 12(%edi)
    popl %edi
    popl %esi
    popl %ebx
    ret

/* uint32_t jit_carry_exit(const uint32_t *p, uint32_t limit, uint32_t *out):
 * sums p[] until the sum passes limit, at most 1000 words: the loop (one
 * superblock) leaves through the JA in its middle. Returns the sum;
 * out[0] = the bytes read, out[1] = ECX. */
    .globl jit_carry_exit
jit_carry_exit:
    pushl %esi
    movl 8(%esp), %esi
    movl 12(%esp), %edx
    xorl %eax, %eax
    movl $1000, %ecx
    jmp 1f
1:  addl (%esi), %eax
    addl $4, %esi
    cmpl %edx, %eax
    ja 2f
    decl %ecx
    jnz 1b
2:  movl 16(%esp), %edx
    subl 8(%esp), %esi
    movl %esi, (%edx)
    movl %ecx, 4(%edx)
    popl %esi
    ret

/* uint32_t jit_carry_lahf(uint32_t n): a loop with an instruction the JIT
 * leaves to the interpreter (LAHF: it writes EAX in struct cpu) in its
 * body. Returns a mix of what it saw. */
    .globl jit_carry_lahf
jit_carry_lahf:
    pushl %ebx
    pushl %esi
    movl 12(%esp), %ecx
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %esi, %esi
    jmp 1f
1:  addl $0x9e3779b9, %ebx
    lahf
    movzbl %ah, %edx
    addl %edx, %esi
    roll $3, %esi
    decl %ecx
    jnz 1b
    movl %esi, %eax
    xorl %ebx, %eax
    popl %esi
    popl %ebx
    ret

/* uint32_t jit_spin_sum(volatile uint32_t *ticks, uint32_t n): like
 * jit_spin, with EBX = EAX (EAX + 1) / 2 at the loop's boundaries but
 * after the INC: interrupts at the back edge must find both exact, and
 * the flags of the CMP. */
    .globl jit_spin_sum, jit_spin_sum_loop, jit_spin_sum_add, jit_spin_sum_end
jit_spin_sum:
    pushl %ebx
    movl 8(%esp), %edx
    movl 12(%esp), %ecx
    xorl %eax, %eax
    xorl %ebx, %ebx
    jmp jit_spin_sum_loop
jit_spin_sum_loop:
    incl %eax
jit_spin_sum_add:
    addl %eax, %ebx
    cmpl %ecx, (%edx)
    jb jit_spin_sum_loop
jit_spin_sum_end:
    popl %ebx
    ret

/* Returns that do not match the last CALL, for the JIT's return stack
 * (jit/x64/ret.c): each must go where the guest's stack says. */

/* uint32_t jit_ret_swap(void): the callee replaces its return address
 * (2 when that is where it returned). */
    .globl jit_ret_swap
jit_ret_swap:
    call 1f
    movl $1, %eax
    ret
1:  movl $2f, (%esp)
    ret
2:  movl $2, %eax
    ret

/* uint32_t jit_ret_pc(void): CALL to the next instruction, POP: the
 * address of jit_ret_pc_at (no RET for that CALL). */
    .globl jit_ret_pc, jit_ret_pc_at
jit_ret_pc:
    call jit_ret_pc_at
jit_ret_pc_at:
    popl %eax
    ret

/* void jit_ret_pc_loop(uint32_t n): n times CALL;POP in a loop (a
 * return stack that kept every entry would outgrow the host's stack). */
    .globl jit_ret_pc_loop
jit_ret_pc_loop:
    movl 4(%esp), %ecx
1:  call 2f
2:  popl %eax
    decl %ecx
    jnz 1b
    ret

/* uint32_t jit_ret_deep(uint32_t n): recursion n deep, n returned (each
 * level adds 1 after its CALL returns). */
    .globl jit_ret_deep
jit_ret_deep:
    movl 4(%esp), %ecx
    call 1f
    ret
1:  xorl %eax, %eax
    testl %ecx, %ecx
    jz 2f
    decl %ecx
    call 1b
    incl %eax
2:  ret

/* uint32_t jit_ret_unwind(void): three calls deep, the innermost resets
 * ESP to the outermost's and jumps back into it (longjmp), which returns
 * 5; its RET matches an entry three below the return stack's top. */
    .globl jit_ret_unwind
jit_ret_unwind:
    movl %esp, %edx
    call 1f
    movl $1, %eax       /* not reached */
    ret
1:  call 2f
    movl $2, %eax       /* not reached */
    ret
2:  call 3f
    movl $3, %eax       /* not reached */
    ret
3:  movl %edx, %esp
    movl $5, %eax
    ret

/* Template copied to two pages (jit.c): calls the function at 4(%esp)
 * and returns the immediate of the MOV after the CALL, which the copies
 * differ in. The test maps either page at one linear address and calls
 * it there; the function may map the other page before returning. */
    .globl jit_ret_tmpl, jit_ret_tmpl_imm, jit_ret_tmpl_end
jit_ret_tmpl:
    movl 4(%esp), %edx
    call *%edx
jit_ret_tmpl_imm:
    movl $1, %eax
    ret
jit_ret_tmpl_end:

    .section .note.GNU-stack, "", @progbits
