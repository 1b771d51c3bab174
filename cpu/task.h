/*
 * Hardware task switching through TSS descriptors and task gates
 * (Intel SDM Vol. 3, ch. 7): 16- and 32-bit TSS formats, busy bits,
 * NT/back-link nesting, and the #TS checks on the incoming state.
 */
#ifndef KESTREL_TASK_H
#define KESTREL_TASK_H

#include "cpu/cpu.h"

/* Why the switch happens: decides busy-bit, NT and back-link handling. */
enum task_reason { TASK_JMP, TASK_CALL, TASK_INT, TASK_IRET };

/* Switch to the task named by `sel` (a TSS descriptor, or a task gate for
 * JMP/CALL). `errcode` (or NO_ERRCODE) is pushed on the new task's stack
 * when an exception is delivered through a task gate. `ext` is the EXT bit
 * for error codes of faults raised while switching. */
void task_switch(struct cpu *c, uint16_t sel, enum task_reason reason, int errcode, int ext);

#endif
