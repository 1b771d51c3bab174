/*
 * MC146818 RTC/CMOS and 8042 + PS/2 behaviour per their datasheets and the
 * IBM PS/2 technical reference, driven through the port interfaces with a
 * deterministic clock.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/clock.h"
#include "devices/i8042.h"
#include "devices/mc146818.h"
#include "tests/common/check_run.h"

static uint64_t now_ns;
static int irq_rises[16], irq_level[16];
static void irq_cb(void *ctx, int line, int level)
{
    (void)ctx;
    if (level && !irq_level[line])
        irq_rises[line]++;
    irq_level[line] = level;
}
static void advance(struct vclock *c, uint64_t ns)
{
    uint64_t target = now_ns + ns;
    while (vclock_next_deadline(c) <= target) {
        now_ns = vclock_next_deadline(c);
        vclock_run_timers(c);
    }
    now_ns = target;
}
static uint8_t cmos_rd(struct rtc *r, uint8_t i)
{
    rtc_io_write(r, 0x70, 1, i);
    return (uint8_t)rtc_io_read(r, 0x71, 1);
}
static void cmos_wr(struct rtc *r, uint8_t i, uint8_t v)
{
    rtc_io_write(r, 0x70, 1, i);
    rtc_io_write(r, 0x71, 1, v);
}

/* 2026-11-22 13:45:50 UTC, a Sunday. */
#define BASE 1795355150

START_TEST(rtc_time_formats)
{
    struct vclock clk;
    struct rtc r;
    now_ns = 0;
    vclock_init(&clk, CLOCK_ICOUNT, &now_ns, 1);
    rtc_init(&r, &clk, (struct irq){ irq_cb, NULL, 8 }, BASE);
    ck_assert_int_eq(cmos_rd(&r, 0x00), 0x50);
    ck_assert_int_eq(cmos_rd(&r, 0x02), 0x45);
    ck_assert_int_eq(cmos_rd(&r, 0x04), 0x13);
    ck_assert_int_eq(cmos_rd(&r, 0x06), 0x01); /* Sunday = 1 */
    ck_assert_int_eq(cmos_rd(&r, 0x07), 0x22);
    ck_assert_int_eq(cmos_rd(&r, 0x08), 0x11);
    ck_assert_int_eq(cmos_rd(&r, 0x09), 0x26);
    ck_assert_int_eq(cmos_rd(&r, 0x32), 0x20);
    advance(&clk, 15 * NS_PER_SEC); /* 13:46:05 */
    ck_assert_int_eq(cmos_rd(&r, 0x00), 0x05);
    ck_assert_int_eq(cmos_rd(&r, 0x02), 0x46);
    cmos_wr(&r, 0x0b, 0x04); /* binary, 12-hour */
    ck_assert_int_eq(cmos_rd(&r, 0x04), 0x81); /* 1 PM */
    ck_assert_int_eq(cmos_rd(&r, 0x00), 5);
    /* Set a new time with SET held, then release. */
    cmos_wr(&r, 0x0b, 0x86); /* SET, binary, 24h */
    cmos_wr(&r, 0x04, 7);
    cmos_wr(&r, 0x02, 0);
    cmos_wr(&r, 0x00, 0);
    cmos_wr(&r, 0x0b, 0x06);
    advance(&clk, 2 * NS_PER_SEC);
    ck_assert_int_eq(cmos_rd(&r, 0x04), 7);
    ck_assert_int_eq(cmos_rd(&r, 0x00), 2);
    ck_assert_int_eq(cmos_rd(&r, 0x0d), 0x80);
}
END_TEST

START_TEST(rtc_uip_and_interrupts)
{
    struct vclock clk;
    struct rtc r;
    now_ns = 0;
    vclock_init(&clk, CLOCK_ICOUNT, &now_ns, 1);
    rtc_init(&r, &clk, (struct irq){ irq_cb, NULL, 8 }, BASE);
    ck_assert_int_eq(cmos_rd(&r, 0x0a) & 0x80, 0);
    advance(&clk, NS_PER_SEC - 100000); /* inside the 244 us before the update */
    ck_assert_int_eq(cmos_rd(&r, 0x0a) & 0x80, 0x80);
    /* Periodic interrupt at 1024 Hz: count acknowledged interrupts over a second. */
    cmos_wr(&r, 0x0b, 0x42);
    irq_rises[8] = 0;
    uint64_t end = now_ns + NS_PER_SEC;
    int flags_seen = 0;
    while (now_ns < end) {
        advance(&clk, 100000);
        if (irq_level[8]) {
            uint8_t c = cmos_rd(&r, 0x0c);
            if (c & 0x40)
                flags_seen++;
            ck_assert_int_eq(irq_level[8], 0); /* reading C drops the line */
        }
    }
    ck_assert_int_ge(flags_seen, 1020);
    ck_assert_int_le(flags_seen, 1025);
    /* Update-ended interrupt once per second. */
    cmos_wr(&r, 0x0b, 0x12);
    cmos_rd(&r, 0x0c);
    irq_rises[8] = 0;
    for (int s = 0; s < 3; s++) {
        advance(&clk, NS_PER_SEC);
        ck_assert_int_eq(cmos_rd(&r, 0x0c) & 0x90, 0x90);
    }
    ck_assert_int_eq(irq_rises[8], 3);
    /* NVRAM and checksum. */
    cmos_wr(&r, 0x40, 0xa5);
    ck_assert_int_eq(cmos_rd(&r, 0x40), 0xa5);
    rtc_cmos_set(&r, 0x15, 0x80);
    rtc_cmos_set(&r, 0x16, 0x02);
    rtc_checksum(&r);
    ck_assert_int_eq(cmos_rd(&r, 0x2e) << 8 | cmos_rd(&r, 0x2f), 0x82);
}
END_TEST

static int a20_state = -1, resets;
static void set_a20(void *ctx, bool on) { (void)ctx; a20_state = on; }
static void do_reset(void *ctx) { (void)ctx; resets++; }

static uint8_t kbc_read(struct i8042 *c)
{
    ck_assert_int_eq(i8042_io_read(c, 0x64, 1) & 1, 1);
    return (uint8_t)i8042_io_read(c, 0x60, 1);
}

START_TEST(kbc_controller_and_keyboard)
{
    struct i8042 c;
    i8042_init(&c, (struct irq){ irq_cb, NULL, 1 }, (struct irq){ irq_cb, NULL, 12 }, set_a20, do_reset, NULL);
    i8042_io_write(&c, 0x64, 1, 0xaa);
    ck_assert_int_eq(kbc_read(&c), 0x55);
    i8042_io_write(&c, 0x64, 1, 0x60); /* command byte: IRQ1, translate, ports enabled */
    i8042_io_write(&c, 0x60, 1, 0x47);
    i8042_io_write(&c, 0x64, 1, 0x20);
    ck_assert_int_eq(kbc_read(&c), 0x47);
    i8042_io_write(&c, 0x60, 1, 0xff); /* keyboard reset */
    ck_assert_int_eq(kbc_read(&c), 0xfa);
    ck_assert_int_eq(kbc_read(&c), 0xaa);
    i8042_io_write(&c, 0x60, 1, 0xf2); /* identify: MF2 */
    ck_assert_int_eq(kbc_read(&c), 0xfa);
    ck_assert_int_eq(kbc_read(&c), 0xab);
    ck_assert_int_eq(kbc_read(&c), 0x83);
    irq_level[1] = 0;
    i8042_key(&c, false, 0x1e, true); /* 'A' down, translated: set 1 */
    ck_assert_int_eq(irq_level[1], 1);
    ck_assert_int_eq(kbc_read(&c), 0x1e);
    ck_assert_int_eq(irq_level[1], 0);
    i8042_key(&c, true, 0x48, false); /* up arrow released */
    ck_assert_int_eq(kbc_read(&c), 0xe0);
    ck_assert_int_eq(kbc_read(&c), 0xc8);
    i8042_io_write(&c, 0x64, 1, 0x60); /* translation off: raw set 2 */
    i8042_io_write(&c, 0x60, 1, 0x07);
    i8042_key(&c, false, 0x1e, false);
    ck_assert_int_eq(kbc_read(&c), 0xf0);
    ck_assert_int_eq(kbc_read(&c), 0x1c);
    i8042_key(&c, true, 0x48, true);
    ck_assert_int_eq(kbc_read(&c), 0xe0);
    ck_assert_int_eq(kbc_read(&c), 0x75);
    /* A20 through the output port, reset through the pulse command. */
    i8042_io_write(&c, 0x64, 1, 0xd1);
    i8042_io_write(&c, 0x60, 1, 0x01);
    ck_assert_int_eq(a20_state, 0);
    i8042_io_write(&c, 0x64, 1, 0xd0);
    ck_assert_int_eq(kbc_read(&c), 0x01);
    i8042_io_write(&c, 0x64, 1, 0xd1);
    i8042_io_write(&c, 0x60, 1, 0x03);
    ck_assert_int_eq(a20_state, 1);
    resets = 0;
    i8042_io_write(&c, 0x64, 1, 0xfe);
    ck_assert_int_eq(resets, 1);
}
END_TEST

START_TEST(kbc_mouse)
{
    struct i8042 c;
    i8042_init(&c, (struct irq){ irq_cb, NULL, 1 }, (struct irq){ irq_cb, NULL, 12 }, set_a20, do_reset, NULL);
    i8042_io_write(&c, 0x64, 1, 0xa8); /* enable mouse port */
    i8042_io_write(&c, 0x64, 1, 0x60);
    i8042_io_write(&c, 0x60, 1, 0x47); /* both IRQs, translate */
    static const uint8_t knock[] = { 200, 100, 80 };
    for (int k = 0; k < 3; k++) {
        i8042_io_write(&c, 0x64, 1, 0xd4);
        i8042_io_write(&c, 0x60, 1, 0xf3);
        ck_assert_int_eq(kbc_read(&c), 0xfa);
        i8042_io_write(&c, 0x64, 1, 0xd4);
        i8042_io_write(&c, 0x60, 1, knock[k]);
        ck_assert_int_eq(kbc_read(&c), 0xfa);
    }
    i8042_io_write(&c, 0x64, 1, 0xd4);
    i8042_io_write(&c, 0x60, 1, 0xf2); /* get ID: IntelliMouse after the knock */
    ck_assert_int_eq(kbc_read(&c), 0xfa);
    ck_assert_int_eq(kbc_read(&c), 0x03);
    i8042_io_write(&c, 0x64, 1, 0xd4);
    i8042_io_write(&c, 0x60, 1, 0xf4);
    ck_assert_int_eq(kbc_read(&c), 0xfa);
    irq_level[12] = 0;
    i8042_mouse(&c, 5, -3, 1, 1);
    ck_assert_int_eq(irq_level[12], 1);
    ck_assert_int_eq(i8042_io_read(&c, 0x64, 1) & 0x21, 0x21); /* aux data in the buffer */
    ck_assert_int_eq(kbc_read(&c), 0x08 | 0x01 | 0x20);
    ck_assert_int_eq(kbc_read(&c), 5);
    ck_assert_int_eq(kbc_read(&c), 0xfd);
    ck_assert_int_eq(kbc_read(&c), 0x01);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rtc_kbc");
    TCase *tc = tcase_create("devices");
    tcase_add_test(tc, rtc_time_formats);
    tcase_add_test(tc, rtc_uip_and_interrupts);
    tcase_add_test(tc, kbc_controller_and_keyboard);
    tcase_add_test(tc, kbc_mouse);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
