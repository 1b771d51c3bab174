/*
 * The MC146818 real-time clock and its CMOS NVRAM (ports 0x70/0x71): time
 * of day in BCD or binary and 12/24-hour format, the update-in-progress
 * window, periodic/alarm/update-ended interrupts on IRQ8, register C's
 * read-to-clear flags, and the 114 bytes of NVRAM the board fills with
 * what firmware expects (memory sizes, equipment, boot order, century).
 */
#ifndef KESTREL_MC146818_H
#define KESTREL_MC146818_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"

struct rtc {
    uint8_t cmos[128];    /* registers 0x00-0x0d live here too (alarm, A, B, D) */
    uint8_t index;        /* selected register */
    bool nmi_disabled;    /* port 0x70 bit 7 */
    int64_t base_secs;    /* wall-clock seconds (Unix epoch) at guest time 0 */
    int64_t set_offset;   /* seconds added by guest writes to the time registers */
    uint64_t frozen_secs; /* while SET is on: the time being edited */
    uint8_t reg_c;        /* interrupt flags */
    int irq_level;
    struct vclock *clock;
    struct timer periodic, second; /* periodic interrupt; once-a-second update */
    struct irq irq;
};

void rtc_init(struct rtc *r, struct vclock *clock, struct irq irq, int64_t base_secs);
void rtc_reset(struct rtc *r);
uint32_t rtc_io_read(void *opaque, uint16_t port, int size);
void rtc_io_write(void *opaque, uint16_t port, int size, uint32_t val);
/* NVRAM setup by the board (checksummed bytes 0x10-0x2d: call rtc_checksum after). */
void rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t val);
void rtc_checksum(struct rtc *r);

#endif
