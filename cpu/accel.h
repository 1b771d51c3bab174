/*
 * How an accelerator (the JIT) plugs into the interpreter without cpu/
 * knowing anything about it: it attaches native code to decoded blocks.
 *
 *   - Blocks count their executions; at `threshold` the interpreter calls
 *     hot(), which may set block->native (threshold 0: at once, before the
 *     block first runs).
 *   - The run loop calls block->native(cpu) instead of interpreting. Native
 *     code runs the block (and any blocks it chains to), keeps icount,
 *     stops when cpu->events, the budget or a cpu_stop() says so, and
 *     returns with every register, lazy flag and EIP in struct cpu. Before
 *     anything that may fault it sets cpu->blk and cpu->cur like the
 *     interpreter does, so faults unwind to a precise state the same way.
 *   - A block dropped because its code was overwritten is passed to
 *     invalidate() first (unlink chains into it); when the whole block
 *     cache is flushed, flush() is called and every native pointer is gone.
 *   - Predictions kept across excursions into native code and keyed by
 *     cpu->lin_gen or jmp_gen (cpu.h) are checked against it in full;
 *     lin_wrap() is called when either wraps round to 0, under running
 *     native code or not, so that no key from 2^32 bumps ago matches.
 * Single-stepping (TF, the interrupt shadow, breakpoints) always interprets.
 */
#ifndef KESTREL_ACCEL_H
#define KESTREL_ACCEL_H

struct cpu;
struct block;

typedef void native_fn(struct cpu *cpu);

struct cpu_accel {
    void (*hot)(void *ctx, struct block *b);
    void (*invalidate)(void *ctx, struct block *b);
    void (*flush)(void *ctx);
    void (*lin_wrap)(void *ctx); /* cpu->lin_gen or jmp_gen wrapped round (interp.c); may be NULL */
    void *ctx;
    unsigned threshold; /* executions before hot(); 0 translates every block before its first run */
};

#endif
