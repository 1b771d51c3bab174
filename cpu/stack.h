/*
 * Stack operations. The current stack (SS:eSP with SS.B choosing SP or
 * ESP) for PUSH/POP/CALL/RET, and a "frame" for building a stack image on
 * a stack that is not loaded yet (interrupt delivery and call gates switch
 * stacks only after every push has succeeded).
 *
 * Instructions that push or pop several values work on a local copy of
 * the stack pointer and commit it last, so a fault half-way leaves ESP as
 * it was: the instruction restarts cleanly.
 */
#ifndef KESTREL_STACK_H
#define KESTREL_STACK_H

#include "cpu/mem.h"

static inline bool ss32(const struct cpu *c) { return c->mode & MODE_SS32; }

static inline uint32_t sp_get(const struct cpu *c)
{
    return ss32(c) ? (uint32_t)c->gpr[R_ESP] : (uint16_t)c->gpr[R_ESP];
}
static inline void sp_set(struct cpu *c, uint32_t sp)
{
    if (ss32(c))
        c->gpr[R_ESP] = sp;
    else
        wr_reg16(c, R_ESP, (uint16_t)sp);
}
/* Step a local stack pointer by delta within the stack's width. */
static inline uint32_t sp_add(const struct cpu *c, uint32_t sp, int32_t delta)
{
    sp += (uint32_t)delta;
    return ss32(c) ? sp : (sp & 0xffff);
}

/* Push/pop on a local stack pointer (caller commits with sp_set). */
static inline void stk_wr16(struct cpu *c, uint32_t *sp, uint16_t v) { *sp = sp_add(c, *sp, -2); mem_wr16(c, SEG_SS, *sp, v); }
static inline void stk_wr32(struct cpu *c, uint32_t *sp, uint32_t v) { *sp = sp_add(c, *sp, -4); mem_wr32(c, SEG_SS, *sp, v); }
static inline uint16_t stk_rd16(struct cpu *c, uint32_t *sp) { uint16_t v = mem_rd16(c, SEG_SS, *sp); *sp = sp_add(c, *sp, 2); return v; }
static inline uint32_t stk_rd32(struct cpu *c, uint32_t *sp) { uint32_t v = mem_rd32(c, SEG_SS, *sp); *sp = sp_add(c, *sp, 4); return v; }

static inline void push16(struct cpu *c, uint16_t v) { uint32_t sp = sp_get(c); stk_wr16(c, &sp, v); sp_set(c, sp); }
static inline void push32(struct cpu *c, uint32_t v) { uint32_t sp = sp_get(c); stk_wr32(c, &sp, v); sp_set(c, sp); }
static inline uint16_t pop16(struct cpu *c) { uint32_t sp = sp_get(c); uint16_t v = stk_rd16(c, &sp); sp_set(c, sp); return v; }
static inline uint32_t pop32(struct cpu *c) { uint32_t sp = sp_get(c); uint32_t v = stk_rd32(c, &sp); sp_set(c, sp); return v; }

/* A stack being built before it is loaded (see top of file). */
struct frame {
    struct seg ss;     /* the new stack segment's cache, checks computed */
    uint32_t sp;       /* its stack pointer, moving down */
    bool b32;          /* SS.B of the new stack */
    bool user;         /* push with CPL 3 privilege */
    int fault_code;    /* #SS error code when the frame overflows the segment */
};

void frame_push(struct cpu *c, struct frame *f, int size, uint32_t val);

#endif
