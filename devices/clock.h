/*
 * The virtual clock and its timers. Owned by the VM; devices schedule
 * callbacks on it and read the time from it, never from the host directly.
 *
 * Two sources of time:
 *   CLOCK_HOST    guest time follows the host's monotonic clock while the
 *                 VM runs (what an interactive user expects);
 *   CLOCK_ICOUNT  guest time is derived from retired guest instructions
 *                 (ns = insns * ns_per_insn): runs are reproducible, which
 *                 tests and benchmarks want.
 * Timers live in one list sorted by deadline; the run loop asks for the
 * next deadline, runs the CPU up to it and fires what expired.
 */
#ifndef KESTREL_CLOCK_H
#define KESTREL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

enum clock_source { CLOCK_HOST, CLOCK_ICOUNT };

struct timer;

struct vclock {
    enum clock_source source;
    const uint64_t *icount;   /* CLOCK_ICOUNT: the vCPU's retired-instruction count */
    uint64_t ns_per_insn;     /* CLOCK_ICOUNT: guest ns per instruction */
    uint64_t offset;          /* added to the raw source so time is continuous across pauses/warps */
    uint64_t frozen;          /* guest time while paused */
    bool paused;
    struct timer *timers;     /* armed timers, earliest first */
};

struct timer {
    uint64_t deadline;        /* guest ns */
    void (*cb)(void *opaque);
    void *opaque;
    struct vclock *clock;
    struct timer *next;
    bool armed;
};

#define NS_PER_SEC 1000000000ull

void vclock_init(struct vclock *c, enum clock_source src, const uint64_t *icount, uint64_t ns_per_insn);
uint64_t vclock_now(const struct vclock *c);
void vclock_pause(struct vclock *c);
void vclock_resume(struct vclock *c);
/* Move guest time forward to `t` (CLOCK_ICOUNT while the CPU is halted). */
void vclock_warp(struct vclock *c, uint64_t t);

void timer_init(struct timer *t, struct vclock *c, void (*cb)(void *opaque), void *opaque);
void timer_mod(struct timer *t, uint64_t deadline);
void timer_del(struct timer *t);
/* Deadline of the earliest armed timer, or UINT64_MAX. */
uint64_t vclock_next_deadline(const struct vclock *c);
/* Fire every timer whose deadline has passed (callbacks may re-arm). */
void vclock_run_timers(struct vclock *c);

/* Scale helpers: ticks of a frequency <-> ns, without overflow for years. */
static inline uint64_t ns_to_ticks(uint64_t ns, uint64_t hz)
{
    return (uint64_t)((unsigned __int128)ns * hz / NS_PER_SEC);
}
static inline uint64_t ticks_to_ns(uint64_t ticks, uint64_t hz)
{
    return (uint64_t)((unsigned __int128)ticks * NS_PER_SEC / hz);
}
/* The first ns at which ns_to_ticks() has reached `ticks` (for deadlines). */
static inline uint64_t ticks_to_ns_ceil(uint64_t ticks, uint64_t hz)
{
    return (uint64_t)(((unsigned __int128)ticks * NS_PER_SEC + hz - 1) / hz);
}

#endif
