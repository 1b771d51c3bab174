/*
 * 8259A PIC and 8254 PIT behaviour as their Intel datasheets specify,
 * driven through their port interfaces with a deterministic clock.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/clock.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "tests/common/check_run.h"

/* ---- PIC ---- */

static int intr_level, irq0_edges;
static void intr_cb(void *ctx, int line, int level) { (void)ctx, (void)line; intr_level = level; }

static void pic_setup(struct i8259 *p)
{
    pic_init(p, (struct irq){ intr_cb, NULL, 0 });
    /* The BIOS programming: vectors 0x20/0x28, cascade on IR2, 8086 mode. */
    pic_io_write(p, 0x20, 1, 0x11);
    pic_io_write(p, 0x21, 1, 0x20);
    pic_io_write(p, 0x21, 1, 0x04);
    pic_io_write(p, 0x21, 1, 0x01);
    pic_io_write(p, 0xa0, 1, 0x11);
    pic_io_write(p, 0xa1, 1, 0x28);
    pic_io_write(p, 0xa1, 1, 0x02);
    pic_io_write(p, 0xa1, 1, 0x01);
    pic_io_write(p, 0x21, 1, 0x00);
    pic_io_write(p, 0xa1, 1, 0x00);
}

START_TEST(pic_priority_and_eoi)
{
    struct i8259 p;
    pic_setup(&p);
    ck_assert_int_eq(intr_level, 0);
    pic_set_irq(&p, 1, 1);
    ck_assert_int_eq(intr_level, 1);
    ck_assert_int_eq(pic_ack(&p), 0x21);
    ck_assert_int_eq(intr_level, 0);
    pic_set_irq(&p, 3, 1); /* lower priority than IR1 in service: held */
    ck_assert_int_eq(intr_level, 0);
    pic_set_irq(&p, 0, 1); /* higher priority: nests */
    ck_assert_int_eq(intr_level, 1);
    ck_assert_int_eq(pic_ack(&p), 0x20);
    pic_io_write(&p, 0x20, 1, 0x0b); /* read ISR */
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1), 0x03);
    pic_io_write(&p, 0x20, 1, 0x20); /* non-specific EOI: IR0 */
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1), 0x02);
    ck_assert_int_eq(intr_level, 0);
    pic_io_write(&p, 0x20, 1, 0x20); /* IR1 done: IR3 comes through */
    ck_assert_int_eq(intr_level, 1);
    ck_assert_int_eq(pic_ack(&p), 0x23);
}
END_TEST

START_TEST(pic_mask_cascade_spurious)
{
    struct i8259 p;
    pic_setup(&p);
    pic_io_write(&p, 0x21, 1, 0x10); /* mask IR4 */
    pic_set_irq(&p, 4, 1);
    ck_assert_int_eq(intr_level, 0);
    pic_io_write(&p, 0x20, 1, 0x0a); /* read IRR: the request is latched */
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1) & 0x10, 0x10);
    ck_assert_int_eq(pic_ack(&p), 0x27); /* nothing unmasked: spurious IR7, no ISR */
    pic_io_write(&p, 0x20, 1, 0x0b);
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1), 0);
    pic_set_irq(&p, 12, 1); /* slave IR4 through master IR2 */
    ck_assert_int_eq(intr_level, 1);
    ck_assert_int_eq(pic_ack(&p), 0x2c);
    pic_io_write(&p, 0xa0, 1, 0x0b);
    ck_assert_int_eq(pic_io_read(&p, 0xa0, 1), 0x10);
    pic_io_write(&p, 0x20, 1, 0x0b);
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1), 0x04);
    ck_assert_int_eq(pic_io_read(&p, 0x21, 1), 0x10); /* IMR reads back */
}
END_TEST

START_TEST(pic_edge_level_poll_aeoi)
{
    struct i8259 p;
    pic_setup(&p);
    /* Edge: a line held high requests once. */
    pic_set_irq(&p, 5, 1);
    ck_assert_int_eq(pic_ack(&p), 0x25);
    pic_io_write(&p, 0x20, 1, 0x65); /* specific EOI IR5 */
    pic_set_irq(&p, 5, 1);
    ck_assert_int_eq(intr_level, 0);
    pic_set_irq(&p, 5, 0);
    /* Level (ELCR): lowering the line withdraws the request. */
    pic_io_write(&p, 0x4d1, 1, 0x08); /* IRQ11 level */
    ck_assert_int_eq(pic_io_read(&p, 0x4d1, 1), 0x08);
    pic_set_irq(&p, 11, 1);
    ck_assert_int_eq(intr_level, 1);
    pic_set_irq(&p, 11, 0);
    /* The request vanished before INTA: the datasheet's "default IR7",
     * here the slave's spurious vector through the latched cascade input. */
    ck_assert_int_eq(pic_ack(&p), 0x2f);
    pic_io_write(&p, 0x20, 1, 0x20);
    ck_assert_int_eq(intr_level, 0);
    /* Poll mode: read returns 0x80 | IR and acknowledges. */
    pic_set_irq(&p, 6, 1);
    pic_io_write(&p, 0x20, 1, 0x0c);
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1), 0x86);
    pic_io_write(&p, 0x20, 1, 0x66);
    /* Auto-EOI: acknowledge leaves nothing in service. */
    pic_io_write(&p, 0x20, 1, 0x11);
    pic_io_write(&p, 0x21, 1, 0x08);
    pic_io_write(&p, 0x21, 1, 0x04);
    pic_io_write(&p, 0x21, 1, 0x03);
    pic_set_irq(&p, 7, 0);
    pic_set_irq(&p, 7, 1);
    ck_assert_int_eq(pic_ack(&p), 0x0f);
    pic_io_write(&p, 0x20, 1, 0x0b);
    ck_assert_int_eq(pic_io_read(&p, 0x20, 1), 0);
}
END_TEST

START_TEST(pic_rotation)
{
    struct i8259 p;
    pic_setup(&p);
    pic_io_write(&p, 0x20, 1, 0xc4); /* set priority: IR4 lowest, IR5 highest */
    pic_set_irq(&p, 1, 1);
    pic_set_irq(&p, 6, 1);
    ck_assert_int_eq(pic_ack(&p), 0x26);
    pic_io_write(&p, 0x20, 1, 0xa0); /* rotate on non-specific EOI: IR6 becomes lowest */
    ck_assert_int_eq(pic_ack(&p), 0x21);
}
END_TEST

/* ---- PIT ---- */

static uint64_t now_ns;
static void irq0_cb(void *ctx, int line, int level) { (void)ctx, (void)line; if (level) irq0_edges++; }

static void advance(struct vclock *c, uint64_t ns)
{
    uint64_t target = now_ns + ns;
    while (vclock_next_deadline(c) <= target) {
        now_ns = vclock_next_deadline(c);
        vclock_run_timers(c);
    }
    now_ns = target;
}

START_TEST(pit_mode2_irq_rate)
{
    struct vclock clk;
    struct i8254 p;
    now_ns = 0;
    irq0_edges = 0;
    vclock_init(&clk, CLOCK_ICOUNT, &now_ns, 1);
    pit_init(&p, &clk, (struct irq){ irq0_cb, NULL, 0 });
    pit_io_write(&p, 0x43, 1, 0x34); /* ch0, LSB/MSB, mode 2 */
    pit_io_write(&p, 0x40, 1, 1193 & 0xff);
    pit_io_write(&p, 0x40, 1, 1193 >> 8);
    advance(&clk, 1000000000ull); /* one second */
    /* 1193182 Hz / 1193 = 1000.15 interrupts per second */
    ck_assert_int_eq(irq0_edges, 1000);
}
END_TEST

START_TEST(pit_counter_latch_and_readback)
{
    struct vclock clk;
    struct i8254 p;
    now_ns = 0;
    vclock_init(&clk, CLOCK_ICOUNT, &now_ns, 1);
    pit_init(&p, &clk, (struct irq){ 0 });
    pit_io_write(&p, 0x43, 1, 0xb0); /* ch2, LSB/MSB, mode 0 */
    pit_io_write(&p, 0x61, 1, 0x01);
    pit_port61_write(&p, 0x61, 1, 0x01); /* gate 2 high */
    pit_io_write(&p, 0x42, 1, 0x00);
    pit_io_write(&p, 0x42, 1, 0x10); /* 0x1000 ticks */
    ck_assert_int_eq(pit_port61_read(&p, 0x61, 1) & 0x20, 0); /* OUT2 low while counting */
    advance(&clk, ticks_to_ns(0x100, PIT_HZ) + 1);
    pit_io_write(&p, 0x43, 1, 0x80); /* latch ch2 */
    advance(&clk, ticks_to_ns(0x100, PIT_HZ));
    unsigned lo = pit_io_read(&p, 0x42, 1), hi = pit_io_read(&p, 0x42, 1);
    ck_assert_int_eq(hi << 8 | lo, 0x1000 - 0x100); /* the latched value, not the current one */
    advance(&clk, ticks_to_ns(0x1000, PIT_HZ));
    ck_assert_int_eq(pit_port61_read(&p, 0x61, 1) & 0x20, 0x20); /* terminal count: OUT2 high */
    pit_io_write(&p, 0x43, 1, 0xe8); /* read-back status of ch2 */
    ck_assert_int_eq(pit_io_read(&p, 0x42, 1), 0x80 | 0x30 | 0x00);
}
END_TEST

START_TEST(pit_mode3_square_wave)
{
    struct vclock clk;
    struct i8254 p;
    now_ns = 0;
    vclock_init(&clk, CLOCK_ICOUNT, &now_ns, 1);
    pit_init(&p, &clk, (struct irq){ 0 });
    pit_port61_write(&p, 0x61, 1, 0x01);
    pit_io_write(&p, 0x43, 1, 0xb6); /* ch2 mode 3 */
    pit_io_write(&p, 0x42, 1, 100);
    pit_io_write(&p, 0x42, 1, 0);
    int high = 0;
    for (int t = 0; t < 1000; t++) { /* sample 10 periods tick by tick */
        now_ns = ticks_to_ns((uint64_t)t, PIT_HZ) + 1;
        high += pit_output(&p, 2);
    }
    ck_assert_int_eq(high, 500);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pic_pit");
    TCase *tc = tcase_create("devices");
    tcase_add_test(tc, pic_priority_and_eoi);
    tcase_add_test(tc, pic_mask_cascade_spurious);
    tcase_add_test(tc, pic_edge_level_poll_aeoi);
    tcase_add_test(tc, pic_rotation);
    tcase_add_test(tc, pit_mode2_irq_rate);
    tcase_add_test(tc, pit_counter_latch_and_readback);
    tcase_add_test(tc, pit_mode3_square_wave);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
