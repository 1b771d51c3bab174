/*
 * MC146818 RTC model. The time of day is derived, not ticked: seconds =
 * base + offset + guest seconds elapsed. The update cycle happens at each
 * whole guest second; UIP reads as set during the 244 us before it, which
 * is what firmware polls for. Interrupts: periodic (rate from register A,
 * PIE), alarm (AIE, with "don't care" 0xC0-0xFF fields) and update-ended
 * (UIE), all reported in register C and on IRQ8 while C's IRQF is set;
 * reading C clears it.
 */
#include "devices/mc146818.h"

#include <string.h>
#include <time.h>

enum { SEC = 0, SEC_ALARM = 1, MIN = 2, MIN_ALARM = 3, HOUR = 4, HOUR_ALARM = 5, WDAY = 6, MDAY = 7, MONTH = 8,
       YEAR = 9, REG_A = 10, REG_B = 11, REG_C = 12, REG_D = 13, CENTURY = 0x32 };
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define UIP_NS 244000ull

static uint64_t guest_ns(const struct rtc *r)
{
    return vclock_now(r->clock);
}

static int64_t now_secs(const struct rtc *r)
{
    if (r->cmos[REG_B] & B_SET)
        return (int64_t)r->frozen_secs;
    return r->base_secs + r->set_offset + (int64_t)(guest_ns(r) / NS_PER_SEC);
}

static uint8_t to_reg(const struct rtc *r, int v)
{
    return (r->cmos[REG_B] & B_DM) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static int from_reg(const struct rtc *r, uint8_t v)
{
    return (r->cmos[REG_B] & B_DM) ? v : (v >> 4) * 10 + (v & 15);
}

static uint8_t hour_to_reg(const struct rtc *r, int h)
{
    if (r->cmos[REG_B] & B_24H)
        return to_reg(r, h);
    int h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(to_reg(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int hour_from_reg(const struct rtc *r, uint8_t v)
{
    if (r->cmos[REG_B] & B_24H)
        return from_reg(r, v);
    int h = from_reg(r, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

static void update_irq(struct rtc *r)
{
    uint8_t en = r->cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
    if (r->reg_c & en & (C_PF | C_AF | C_UF))
        r->reg_c |= C_IRQF;
    int level = (r->reg_c & C_IRQF) != 0;
    if (level != r->irq_level) {
        r->irq_level = level;
        irq_set(&r->irq, level);
    }
}

/* Period of the periodic interrupt in ns (0: off). RS 1 and 2 alias 8 and 9. */
static uint64_t periodic_ns(const struct rtc *r)
{
    int rs = r->cmos[REG_A] & 15;
    if (!rs || ((r->cmos[REG_A] >> 4) & 7) != 2)
        return 0;
    if (rs <= 2)
        rs += 7;
    return ticks_to_ns(1u << (rs - 1), 32768);
}

static void arm_periodic(struct rtc *r)
{
    uint64_t p = periodic_ns(r);
    if (!p) {
        timer_del(&r->periodic);
        return;
    }
    uint64_t now = guest_ns(r);
    timer_mod(&r->periodic, (now / p + 1) * p);
}

static void periodic_cb(void *opaque)
{
    struct rtc *r = opaque;
    r->reg_c |= C_PF;
    update_irq(r);
    arm_periodic(r);
}

static bool alarm_field(uint8_t alarm, uint8_t cur)
{
    return (alarm & 0xc0) == 0xc0 || alarm == cur;
}

static void arm_second(struct rtc *r)
{
    timer_mod(&r->second, (guest_ns(r) / NS_PER_SEC + 1) * NS_PER_SEC);
}

static void fill_time(struct rtc *r, int64_t secs)
{
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    r->cmos[SEC] = to_reg(r, tm.tm_sec);
    r->cmos[MIN] = to_reg(r, tm.tm_min);
    r->cmos[HOUR] = hour_to_reg(r, tm.tm_hour);
    r->cmos[WDAY] = to_reg(r, tm.tm_wday + 1);
    r->cmos[MDAY] = to_reg(r, tm.tm_mday);
    r->cmos[MONTH] = to_reg(r, tm.tm_mon + 1);
    r->cmos[YEAR] = to_reg(r, tm.tm_year % 100);
    r->cmos[CENTURY] = to_reg(r, 19 + tm.tm_year / 100);
}

/* The once-a-second update cycle: update-ended and alarm interrupts. */
static void second_cb(void *opaque)
{
    struct rtc *r = opaque;
    if (!(r->cmos[REG_B] & B_SET)) {
        fill_time(r, now_secs(r));
        r->reg_c |= C_UF;
        if (alarm_field(r->cmos[SEC_ALARM], r->cmos[SEC]) && alarm_field(r->cmos[MIN_ALARM], r->cmos[MIN]) &&
            alarm_field(r->cmos[HOUR_ALARM], r->cmos[HOUR]))
            r->reg_c |= C_AF;
        update_irq(r);
    }
    arm_second(r);
}

void rtc_init(struct rtc *r, struct vclock *clock, struct irq irq, int64_t base_secs)
{
    memset(r, 0, sizeof(*r));
    r->clock = clock;
    r->irq = irq;
    r->base_secs = base_secs;
    timer_init(&r->periodic, clock, periodic_cb, r);
    timer_init(&r->second, clock, second_cb, r);
    r->cmos[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    r->cmos[REG_B] = B_24H;
    r->cmos[REG_D] = 0x80; /* valid RAM and time */
    rtc_reset(r);
}

void rtc_reset(struct rtc *r)
{
    /* A reset clears the interrupt enables and flags, not the time or NVRAM. */
    r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | 0x08);
    r->reg_c = 0;
    r->index = 0;
    r->nmi_disabled = false;
    update_irq(r);
    arm_periodic(r);
    arm_second(r);
}

/* The guest finished editing the time: the registers define the new now. */
static void commit_time(struct rtc *r)
{
    struct tm tm = {
        .tm_sec = from_reg(r, r->cmos[SEC]),
        .tm_min = from_reg(r, r->cmos[MIN]),
        .tm_hour = hour_from_reg(r, r->cmos[HOUR]),
        .tm_mday = from_reg(r, r->cmos[MDAY]),
        .tm_mon = from_reg(r, r->cmos[MONTH]) - 1,
        .tm_year = from_reg(r, r->cmos[CENTURY]) * 100 + from_reg(r, r->cmos[YEAR]) - 1900,
    };
    int64_t secs = (int64_t)timegm(&tm);
    r->set_offset = secs - r->base_secs - (int64_t)(guest_ns(r) / NS_PER_SEC);
}

uint32_t rtc_io_read(void *opaque, uint16_t port, int size)
{
    struct rtc *r = opaque;
    (void)size;
    if ((port & 1) == 0)
        return 0xff; /* the index register is write-only */
    uint8_t i = r->index & 0x7f;
    switch (i) {
    case SEC: case MIN: case HOUR: case WDAY: case MDAY: case MONTH: case YEAR: case CENTURY:
        if (!(r->cmos[REG_B] & B_SET))
            fill_time(r, now_secs(r));
        return r->cmos[i];
    case REG_A: {
        uint64_t into = guest_ns(r) % NS_PER_SEC;
        bool uip = !(r->cmos[REG_B] & B_SET) && into >= NS_PER_SEC - UIP_NS;
        return (r->cmos[REG_A] & 0x7f) | (uip ? 0x80 : 0);
    }
    case REG_C: {
        uint8_t v = r->reg_c;
        r->reg_c = 0;
        update_irq(r);
        return v;
    }
    default:
        return r->cmos[i];
    }
}

void rtc_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct rtc *r = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    if ((port & 1) == 0) {
        r->index = v & 0x7f;
        r->nmi_disabled = v & 0x80;
        return;
    }
    uint8_t i = r->index;
    switch (i) {
    case REG_A:
        r->cmos[REG_A] = v & 0x7f;
        arm_periodic(r);
        break;
    case REG_B:
        if ((v & B_SET) && !(r->cmos[REG_B] & B_SET)) {
            r->frozen_secs = (uint64_t)now_secs(r);
            fill_time(r, (int64_t)r->frozen_secs);
        }
        if (!(v & B_SET) && (r->cmos[REG_B] & B_SET)) {
            r->cmos[REG_B] = v;
            commit_time(r);
        }
        r->cmos[REG_B] = v;
        update_irq(r);
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    case SEC: case MIN: case HOUR: case WDAY: case MDAY: case MONTH: case YEAR: case CENTURY:
        if (!(r->cmos[REG_B] & B_SET))
            fill_time(r, now_secs(r));
        r->cmos[i] = v;
        if (!(r->cmos[REG_B] & B_SET))
            commit_time(r);
        break;
    default:
        r->cmos[i] = v;
        break;
    }
}

void rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t val)
{
    r->cmos[index & 0x7f] = val;
}

void rtc_checksum(struct rtc *r)
{
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++)
        sum += r->cmos[i];
    r->cmos[0x2e] = (uint8_t)(sum >> 8);
    r->cmos[0x2f] = (uint8_t)sum;
}
