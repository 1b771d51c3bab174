/*
 * 8254 PIT model. Counters are not stepped: each channel remembers when it
 * was loaded, and its count and output are computed from the elapsed
 * ticks of the virtual clock when read. The only scheduled event is the
 * next rising edge of channel 0's output, which pulses IRQ0.
 *
 * Output waveforms (N = reload value, d = ticks since counting started):
 *   mode 0  low until d = N, then high (interrupt on terminal count)
 *   mode 1  low for N ticks after a gate trigger (one-shot)
 *   mode 2  high, low for the one tick in which the count is 1; period N
 *   mode 3  square wave: high for ceil(N/2), low for floor(N/2)
 *   mode 4  high, low for one tick when the count reaches 0 (d = N)
 *   mode 5  as mode 4, started by a gate trigger
 * In modes 0, 2, 3 and 4 a low gate stops counting; for 2 and 3 it also
 * forces the output high, and its rising edge restarts the count.
 */
#include "devices/i8254.h"

#include <string.h>

static uint64_t elapsed(const struct i8254 *p, const struct pit_channel *c)
{
    uint64_t now = vclock_now(p->clock);
    return now > c->load_time ? ns_to_ticks(now - c->load_time, PIT_HZ) : 0;
}

static bool counting(const struct pit_channel *c)
{
    if (!c->armed)
        return false;
    if (c->mode == 1 || c->mode == 5)
        return c->triggered; /* run once a gate edge started them */
    return c->gate;
}

static uint32_t current_count(const struct i8254 *p, const struct pit_channel *c)
{
    if (!counting(c))
        return c->count & 0xffff;
    uint64_t d = elapsed(p, c);
    uint32_t n = c->count;
    switch (c->mode) {
    case 2:
        return (uint32_t)(n - d % n) & 0xffff;
    case 3:
        return (uint32_t)(n - (2 * d) % n) & 0xfffe;
    default:
        return (uint32_t)(n - d) & 0xffff; /* wraps through 0xffff after terminal count */
    }
}

static int output_at(const struct pit_channel *c, uint64_t d)
{
    uint32_t n = c->count;
    switch (c->mode) {
    case 0:
        return d >= n;
    case 1:
        return d >= n;
    case 2:
        return d % n != n - 1 || n == 1;
    case 3:
        return d % n < (n + 1) / 2;
    default:
        return d != n;
    }
}

int pit_output(struct i8254 *p, int ch)
{
    const struct pit_channel *c = &p->ch[ch];
    if (!c->armed)
        return c->mode != 0; /* mode 0 drives OUT low from the control write on */
    if (!counting(c))
        return c->mode == 0 ? output_at(c, 0) : 1;
    return output_at(c, elapsed(p, c));
}

/* Tick offset (from load) of the first rising edge of OUT strictly after d. */
static uint64_t next_rise(const struct pit_channel *c, uint64_t d)
{
    uint64_t n = c->count;
    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? n : UINT64_MAX;
    case 2:
    case 3:
        return (d / n + 1) * n;
    case 4:
    case 5:
        return d < n + 1 ? n + 1 : UINT64_MAX;
    }
    return UINT64_MAX;
}

static void schedule_irq(struct i8254 *p)
{
    struct pit_channel *c = &p->ch[0];
    if (!counting(c)) {
        timer_del(&p->irq_timer);
        return;
    }
    uint64_t t = next_rise(c, elapsed(p, c));
    if (t == UINT64_MAX) {
        timer_del(&p->irq_timer);
        return;
    }
    timer_mod(&p->irq_timer, c->load_time + ticks_to_ns_ceil(t, PIT_HZ));
}

static void irq_timer_cb(void *opaque)
{
    struct i8254 *p = opaque;
    irq_pulse(&p->irq0);
    schedule_irq(p);
}

static void start_counting(struct i8254 *p, int ch)
{
    struct pit_channel *c = &p->ch[ch];
    c->load_time = vclock_now(p->clock);
    c->armed = true;
    c->null_count = false;
    if (ch == 0)
        schedule_irq(p);
}

void pit_reset(struct i8254 *p)
{
    for (int k = 0; k < 3; k++) {
        struct pit_channel *c = &p->ch[k];
        memset(c, 0, sizeof(*c));
        c->count = 0x10000;
        c->rw = 3;
        c->gate = k != 2; /* channel 2's gate comes from port 0x61 */
    }
    p->speaker_data = false;
    timer_del(&p->irq_timer);
}

void pit_init(struct i8254 *p, struct vclock *clock, struct irq irq0)
{
    memset(p, 0, sizeof(*p));
    p->clock = clock;
    p->irq0 = irq0;
    timer_init(&p->irq_timer, clock, irq_timer_cb, p);
    pit_reset(p);
}

static uint16_t to_bcd(uint32_t v)
{
    v %= 10000;
    return (uint16_t)((v / 1000) << 12 | ((v / 100) % 10) << 8 | ((v / 10) % 10) << 4 | (v % 10));
}

static uint32_t from_bcd(uint16_t v)
{
    return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}

static uint16_t read_value(const struct i8254 *p, const struct pit_channel *c)
{
    uint32_t v = current_count(p, c);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static void latch_count(struct i8254 *p, int ch)
{
    struct pit_channel *c = &p->ch[ch];
    if (!c->count_latched) {
        c->latched = read_value(p, c);
        c->count_latched = true;
        c->read_msb = false;
    }
}

static void latch_status(struct i8254 *p, int ch)
{
    struct pit_channel *c = &p->ch[ch];
    if (!c->status_latched) {
        c->status = (uint8_t)(pit_output(p, ch) << 7 | c->null_count << 6 | c->rw << 4 | c->mode << 1 | c->bcd);
        c->status_latched = true;
    }
}

static uint8_t read_counter(struct i8254 *p, int ch)
{
    struct pit_channel *c = &p->ch[ch];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v = c->count_latched ? c->latched : read_value(p, c);
    uint8_t out;
    switch (c->rw) {
    case 1:
        out = (uint8_t)v;
        c->count_latched = false;
        break;
    case 2:
        out = (uint8_t)(v >> 8);
        c->count_latched = false;
        break;
    default:
        out = c->read_msb ? (uint8_t)(v >> 8) : (uint8_t)v;
        if (c->read_msb)
            c->count_latched = false;
        c->read_msb = !c->read_msb;
        break;
    }
    return out;
}

static void load_count(struct i8254 *p, int ch, uint16_t raw)
{
    struct pit_channel *c = &p->ch[ch];
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    if (n == 0)
        n = c->bcd ? 10000 : 0x10000;
    c->count = n;
    /* Triggered modes wait for a gate edge; the others start at once. (In
     * modes 2/3 a new count should wait for the end of the current period;
     * restarting at once is what every PC emulator does and no known
     * software notices.) */
    if (c->mode == 1 || c->mode == 5) {
        c->armed = true;
        c->null_count = false;
        return;
    }
    start_counting(p, ch);
}

static void write_counter(struct i8254 *p, int ch, uint8_t v)
{
    struct pit_channel *c = &p->ch[ch];
    switch (c->rw) {
    case 1:
        load_count(p, ch, v);
        break;
    case 2:
        load_count(p, ch, (uint16_t)(v << 8));
        break;
    default:
        if (!c->write_msb) {
            c->write_lsb = v;
            c->write_msb = true;
            if (c->mode == 0) /* writing the first byte stops a mode 0 count */
                c->armed = false;
        } else {
            c->write_msb = false;
            load_count(p, ch, (uint16_t)(c->write_lsb | v << 8));
        }
        break;
    }
}

static void write_control(struct i8254 *p, uint8_t v)
{
    int ch = v >> 6;
    if (ch == 3) { /* read-back */
        for (int k = 0; k < 3; k++) {
            if (!(v & (2u << k)))
                continue;
            if (!(v & 0x20))
                latch_count(p, k);
            if (!(v & 0x10))
                latch_status(p, k);
        }
        return;
    }
    struct pit_channel *c = &p->ch[ch];
    int rw = (v >> 4) & 3;
    if (rw == 0) {
        latch_count(p, ch);
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4; /* 6 and 7 alias 2 and 3 */
    c->bcd = v & 1;
    c->read_msb = c->write_msb = false;
    c->count_latched = c->status_latched = false;
    c->armed = false;
    c->triggered = false;
    c->null_count = true;
    if (ch == 0)
        schedule_irq(p);
}

uint32_t pit_io_read(void *opaque, uint16_t port, int size)
{
    struct i8254 *p = opaque;
    (void)size;
    int ch = port & 3;
    if (ch == 3)
        return 0xff; /* the control word register is write-only */
    return read_counter(p, ch);
}

void pit_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct i8254 *p = opaque;
    (void)size;
    int ch = port & 3;
    if (ch == 3)
        write_control(p, (uint8_t)val);
    else
        write_counter(p, ch, (uint8_t)val);
}

static void set_gate2(struct i8254 *p, bool gate)
{
    struct pit_channel *c = &p->ch[2];
    bool rising = gate && !c->gate;
    c->gate = gate;
    /* A rising gate triggers modes 1 and 5 and restarts 2 and 3. Modes 0 and
     * 4 only pause while the gate is low; resuming from the start of the
     * count is the approximation (software re-loads after gating anyway). */
    if (rising && c->armed) {
        c->load_time = vclock_now(p->clock);
        c->triggered = true;
    }
}

uint32_t pit_port61_read(void *opaque, uint16_t port, int size)
{
    struct i8254 *p = opaque;
    (void)port, (void)size;
    /* Refresh request toggles every 15.085 us (DRAM refresh on a real PC). */
    uint64_t refresh = (vclock_now(p->clock) / 15085) & 1;
    return (uint32_t)((p->ch[2].gate ? 1 : 0) | (p->speaker_data ? 2 : 0) | refresh << 4 |
                      (uint32_t)pit_output(p, 2) << 5);
}

void pit_port61_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct i8254 *p = opaque;
    (void)port, (void)size;
    p->speaker_data = val & 2;
    set_gate2(p, val & 1);
}
