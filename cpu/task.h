/*
 * Hardware task switching through TSS descriptors and task gates
 * (Intel SDM Vol. 3, ch. 7): 16- and 32-bit TSS formats, busy bits,
 * NT/back-link nesting, and the #TS checks on the incoming state. Also
 * the TSS lookups other code needs (inner-privilege stacks).
 */
#ifndef KESTREL_TASK_H
#define KESTREL_TASK_H

#include "cpu/cpu.h"

/* Why the switch happens: decides busy-bit, NT and back-link handling. */
enum task_reason { TASK_JMP, TASK_CALL, TASK_INT, TASK_IRET };

/*
 * Switch to the task whose TSS descriptor `sel` names (callers have
 * already checked the gate or descriptor privilege). cpu->eip must hold
 * the EIP to save in the outgoing task. `errcode` (or NO_ERRCODE) is
 * pushed on the new task's stack when an exception is delivered through
 * a task gate. `ext` is the EXT bit for error codes of faults raised
 * while switching.
 *
 * Faults before the commit point leave the old task untouched; faults
 * after it (bad segments in the incoming state) are raised in the
 * context of the new task, as the SDM specifies.
 */
void task_switch(struct cpu *c, uint16_t sel, enum task_reason reason, int errcode, int ext);

/* The privilege-`dpl` stack (SS:ESP) from the current TSS; #TS(TR + ext)
 * when the TSS is too short to hold it. */
void tss_inner_stack(struct cpu *c, int dpl, int ext, uint16_t *ss, uint32_t *esp);

#endif
