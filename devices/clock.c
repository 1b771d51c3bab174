#include "devices/clock.h"

#include <time.h>

static uint64_t raw_now(const struct vclock *c)
{
    if (c->source == CLOCK_ICOUNT)
        return *c->icount * c->ns_per_insn;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void vclock_init(struct vclock *c, enum clock_source src, const uint64_t *icount, uint64_t ns_per_insn)
{
    c->source = src;
    c->icount = icount;
    c->ns_per_insn = ns_per_insn ? ns_per_insn : 1;
    c->timers = NULL;
    c->paused = false;
    c->offset = 0;
    c->offset = 0 - raw_now(c); /* guest time starts at 0 */
}

uint64_t vclock_now(const struct vclock *c)
{
    return c->paused ? c->frozen : raw_now(c) + c->offset;
}

void vclock_pause(struct vclock *c)
{
    if (!c->paused) {
        c->frozen = vclock_now(c);
        c->paused = true;
    }
}

void vclock_resume(struct vclock *c)
{
    if (c->paused) {
        c->paused = false;
        c->offset = c->frozen - raw_now(c);
    }
}

void vclock_warp(struct vclock *c, uint64_t t)
{
    uint64_t now = vclock_now(c);
    if (t > now)
        c->offset += t - now;
}

void timer_init(struct timer *t, struct vclock *c, void (*cb)(void *opaque), void *opaque)
{
    t->deadline = 0;
    t->cb = cb;
    t->opaque = opaque;
    t->clock = c;
    t->next = NULL;
    t->armed = false;
}

void timer_del(struct timer *t)
{
    if (!t->armed)
        return;
    for (struct timer **pp = &t->clock->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

void timer_mod(struct timer *t, uint64_t deadline)
{
    timer_del(t);
    t->deadline = deadline;
    struct timer **pp = &t->clock->timers;
    while (*pp && (*pp)->deadline <= deadline)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->armed = true;
}

uint64_t vclock_next_deadline(const struct vclock *c)
{
    return c->timers ? c->timers->deadline : UINT64_MAX;
}

void vclock_run_timers(struct vclock *c)
{
    uint64_t now = vclock_now(c);
    while (c->timers && c->timers->deadline <= now) {
        struct timer *t = c->timers;
        c->timers = t->next;
        t->armed = false;
        t->next = NULL;
        t->cb(t->opaque);
    }
}
