/*
 * Hardware task switching. Placeholder until the implementation lands:
 * a task switch is refused with #GP so that guests fail visibly.
 */
#include "cpu/task.h"

void task_switch(struct cpu *c, uint16_t sel, enum task_reason reason, int errcode, int ext)
{
    (void)reason, (void)errcode;
    cpu_logf(c, "task switch to %#x not implemented yet", sel);
    cpu_fault(c, EXC_GP, (sel & ~3) + ext);
}
