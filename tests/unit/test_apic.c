/*
 * Local APIC and 82093AA IOAPIC behaviour, driven through their register
 * (MMIO) interfaces with a virtual clock the test advances by hand. The
 * expected values are what the Intel SDM Vol. 3A chapter 10 and the
 * 82093AA datasheet (290566) state; each test names its sections.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/apicbus.h"
#include "devices/clock.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "tests/common/check_run.h"

/* ---- fixture: one or two local APICs, an IOAPIC, a clock ---- */

struct cpu_side {
    int intr, nmis, inits, extint_acks;
};

static uint64_t icount; /* the clock's time source: 1 ns per "instruction" */
static struct vclock clk;
static struct apic_bus bus;
static struct lapic la, lb;
static struct ioapic io;
static struct cpu_side ca, cb;

static void intr_cb(void *ctx, int line, int level) { (void)line, ((struct cpu_side *)ctx)->intr = level; }
static void nmi_cb(void *ctx) { ((struct cpu_side *)ctx)->nmis++; }
static void init_cb(void *ctx) { ((struct cpu_side *)ctx)->inits++; }
static int extint_cb(void *ctx)
{
    ((struct cpu_side *)ctx)->extint_acks++;
    return 0x28; /* what an 8259 programmed at 0x20 answers for IR8... any vector */
}

static void setup(void)
{
    icount = 0;
    vclock_init(&clk, CLOCK_ICOUNT, &icount, 1);
    apic_bus_init(&bus);
    ca = cb = (struct cpu_side){ 0 };
    struct lapic_hooks ha = { &ca, nmi_cb, init_cb, NULL, extint_cb };
    struct lapic_hooks hb = { &cb, nmi_cb, init_cb, NULL, extint_cb };
    ck_assert_int_eq(lapic_init(&la, 0, true, &clk, &bus, NULL, (struct irq){ intr_cb, &ca, 0 }, &ha), 0);
    ck_assert_int_eq(lapic_init(&lb, 1, false, &clk, &bus, NULL, (struct irq){ intr_cb, &cb, 0 }, &hb), 0);
    ck_assert_int_eq(ioapic_init(&io, &bus), 0);
}

static void teardown(void) {}

static uint32_t rd(struct lapic *l, unsigned off) { return lapic_mmio_read(l, off, 4); }
static void wr(struct lapic *l, unsigned off, uint32_t v) { lapic_mmio_write(l, off, 4, v); }
static uint32_t io_rd(uint8_t index)
{
    ioapic_mmio_write(&io, 0x00, 4, index);
    return ioapic_mmio_read(&io, 0x10, 4);
}
static void io_wr(uint8_t index, uint32_t v)
{
    ioapic_mmio_write(&io, 0x00, 4, index);
    ioapic_mmio_write(&io, 0x10, 4, v);
}
static void io_route(int pin, uint32_t lo, uint8_t dest)
{
    io_wr((uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
    io_wr((uint8_t)(0x10 + 2 * pin), lo);
}

static bool vec_bit(struct lapic *l, unsigned base, int v) { return (rd(l, base + 0x10 * (v >> 5)) >> (v & 31)) & 1; }
static bool in_irr(struct lapic *l, int v) { return vec_bit(l, 0x200, v); }
static bool in_isr(struct lapic *l, int v) { return vec_bit(l, 0x100, v); }
static bool in_tmr(struct lapic *l, int v) { return vec_bit(l, 0x180, v); }

static void sw_enable(struct lapic *l) { wr(l, 0xf0, 0x1ff); }
static void self_ipi(struct lapic *l, uint8_t v) { wr(l, 0x300, 0x00040000u | v); } /* fixed, shorthand self */
static void advance(uint64_t ns)
{
    icount += ns;
    vclock_run_timers(&clk);
}
/* Acknowledge (INTA) and EOI one interrupt; returns its vector. */
static int ack_eoi(struct lapic *l)
{
    int v = lapic_ack(l);
    wr(l, 0xb0, 0);
    return v;
}

/* ---- local APIC ---- */

/* SDM 10.4.7.1 (state after RESET), 10.4.8 (version), Figure 10-8. */
START_TEST(lapic_reset_state)
{
    ck_assert_uint_eq(la.base, 0xfee00900u); /* enabled, BSP */
    ck_assert_uint_eq(lb.base, 0xfee00800u);
    ck_assert_uint_eq(rd(&la, 0x20), 0);
    ck_assert_uint_eq(rd(&lb, 0x20), 0x01000000u);
    ck_assert_uint_eq(rd(&la, 0x30), 0x00040014u);
    ck_assert_uint_eq(rd(&la, 0x80), 0);
    ck_assert_uint_eq(rd(&la, 0xa0), 0);
    ck_assert_uint_eq(rd(&la, 0xd0), 0);
    ck_assert_uint_eq(rd(&la, 0xe0), 0xffffffffu);
    ck_assert_uint_eq(rd(&la, 0xf0), 0xff);
    for (unsigned off = 0x100; off < 0x280; off += 0x10)
        ck_assert_uint_eq(rd(&la, off), 0);
    ck_assert_uint_eq(rd(&la, 0x320), 0x10000);
    ck_assert_uint_eq(rd(&la, 0x340), 0x10000);
    ck_assert_uint_eq(rd(&la, 0x350), 0x700); /* BSP: ExtINT (virtual wire), see lapic.c */
    ck_assert_uint_eq(rd(&lb, 0x350), 0x10000);
    ck_assert_uint_eq(rd(&la, 0x360), 0x10000);
    ck_assert_uint_eq(rd(&la, 0x370), 0x10000);
    ck_assert_uint_eq(rd(&la, 0x380), 0);
    ck_assert_uint_eq(rd(&la, 0x390), 0);
    ck_assert_uint_eq(rd(&la, 0x3e0), 0);
    /* Sub-dword reads see the register's bytes; bytes 4-15 of a slot are empty. */
    ck_assert_uint_eq(lapic_mmio_read(&la, 0x32, 1), 0x04);
    ck_assert_uint_eq(lapic_mmio_read(&la, 0x30, 2), 0x14);
    ck_assert_uint_eq(lapic_mmio_read(&la, 0x34, 4), 0);
}
END_TEST

/* SDM 10.8.3.1 (PPR), 10.8.4 (IRR/ISR, acceptance per priority class),
 * 10.8.5 (EOI clears the highest ISR bit), 10.6.1 (self IPI). */
START_TEST(lapic_priority_classes)
{
    sw_enable(&la);
    self_ipi(&la, 0x45);
    self_ipi(&la, 0x43);
    self_ipi(&la, 0x91);
    ck_assert(in_irr(&la, 0x45) && in_irr(&la, 0x43) && in_irr(&la, 0x91));
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(lapic_ack(&la), 0x91);
    ck_assert(in_isr(&la, 0x91) && !in_irr(&la, 0x91));
    ck_assert_uint_eq(rd(&la, 0xa0), 0x90); /* PPR = ISRV[7:4]:0 */
    ck_assert_int_eq(ca.intr, 0);           /* class 4 below class 9 */
    self_ipi(&la, 0x9f);                    /* same class: held */
    ck_assert_int_eq(ca.intr, 0);
    self_ipi(&la, 0xa0); /* higher class: nests */
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(lapic_ack(&la), 0xa0);
    ck_assert_uint_eq(rd(&la, 0xa0), 0xa0);
    wr(&la, 0xb0, 0); /* EOI: 0xA0 done */
    ck_assert(!in_isr(&la, 0xa0) && in_isr(&la, 0x91));
    ck_assert_int_eq(ca.intr, 0); /* 0x9F still not above PPR 0x90 */
    wr(&la, 0xb0, 0);
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(ack_eoi(&la), 0x9f);
    ck_assert_int_eq(lapic_ack(&la), 0x45); /* highest vector first within the rest */
    ck_assert_int_eq(ca.intr, 0);           /* 0x43: same class as 0x45 in service */
    wr(&la, 0xb0, 0);
    ck_assert_int_eq(ack_eoi(&la), 0x43);
    ck_assert_int_eq(ca.intr, 0);
    ck_assert_uint_eq(rd(&la, 0xa0), 0);
}
END_TEST

/* SDM 10.8.3.1: TPR masks classes at or below it; PPR = TPR when TPR's
 * class is at least the in-service one. 10.6.2.4: APR. */
START_TEST(lapic_tpr_masking)
{
    sw_enable(&la);
    wr(&la, 0x80, 0x52);
    ck_assert_uint_eq(rd(&la, 0x80), 0x52);
    ck_assert_uint_eq(rd(&la, 0xa0), 0x52);
    self_ipi(&la, 0x5f);
    self_ipi(&la, 0x44);
    ck_assert_int_eq(ca.intr, 0);
    ck_assert_uint_eq(rd(&la, 0x90), 0x52); /* APR: TPR[7:4] >= IRRV[7:4] and > ISRV[7:4] */
    self_ipi(&la, 0x60);
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_uint_eq(rd(&la, 0x90), 0x60); /* APR: max(TPR, ISRV, IRRV) classes */
    ck_assert_int_eq(lapic_ack(&la), 0x60);
    ck_assert_uint_eq(rd(&la, 0xa0), 0x60);
    wr(&la, 0xb0, 0);
    ck_assert_uint_eq(rd(&la, 0xa0), 0x52);
    ck_assert_int_eq(ca.intr, 0);
    wr(&la, 0x80, 0x4f); /* class 5 now above */
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(ack_eoi(&la), 0x5f);
    ck_assert_int_eq(ca.intr, 0); /* 0x44: class 4 = TPR class */
    wr(&la, 0x80, 0);
    ck_assert_int_eq(ack_eoi(&la), 0x44);
    ck_assert_int_eq(ca.intr, 0);
}
END_TEST

/* SDM 10.9: an acknowledge that finds nothing above PPR gets the spurious
 * vector from the SVR, and ISR is not set. 10.8.5: EOI with nothing in
 * service changes nothing. */
START_TEST(lapic_spurious)
{
    wr(&la, 0xf0, 0x1e7);
    self_ipi(&la, 0x70);
    ck_assert_int_eq(ca.intr, 1);
    wr(&la, 0x80, 0xf0); /* masked between INTR and INTA */
    ck_assert_int_eq(lapic_ack(&la), 0xe7);
    for (unsigned off = 0x100; off < 0x180; off += 0x10)
        ck_assert_uint_eq(rd(&la, off), 0);
    ck_assert(in_irr(&la, 0x70));
    wr(&la, 0xb0, 0);
    ck_assert(in_irr(&la, 0x70));
}
END_TEST

/* SDM 10.5.2 (vectors 0-15 illegal), 10.5.3 (ESR: write latches and
 * clears, error interrupt through LVT error), 10.4.1 (unimplemented
 * register: Illegal Register Address). */
START_TEST(lapic_errors)
{
    sw_enable(&la);
    self_ipi(&la, 0x05);
    ck_assert_uint_eq(rd(&la, 0x280), 0); /* not visible before an ESR write */
    wr(&la, 0x280, 0);
    ck_assert_uint_eq(rd(&la, 0x280), ESR_SEND_ILLEGAL | ESR_RECV_ILLEGAL);
    ck_assert_uint_eq(rd(&la, 0x200), 0);
    ck_assert_int_eq(ca.intr, 0);
    wr(&la, 0x280, 0);
    ck_assert_uint_eq(rd(&la, 0x280), 0);
    wr(&la, 0x370, 0xfe); /* error interrupt unmasked, vector 0xFE */
    (void)rd(&la, 0x330); /* no thermal LVT on this APIC */
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(ack_eoi(&la), 0xfe);
    wr(&la, 0x280, 0);
    ck_assert_uint_eq(rd(&la, 0x280), ESR_ILLEGAL_REG);
    /* A timer LVT with an illegal vector: receive illegal when it fires. */
    wr(&la, 0x370, 0x10000);
    wr(&la, 0x280, 0);
    wr(&la, 0x3e0, 0xb);
    wr(&la, 0x320, 0x0003);
    wr(&la, 0x380, 10);
    advance(100);
    wr(&la, 0x280, 0);
    ck_assert_uint_eq(rd(&la, 0x280), ESR_RECV_ILLEGAL);
    ck_assert_uint_eq(rd(&la, 0x200), 0);
}
END_TEST

/* SDM 10.4.7.2: software disable masks every LVT entry and keeps it
 * masked; fixed messages are not accepted, NMI and INIT still are. */
START_TEST(lapic_software_disable)
{
    sw_enable(&la);
    wr(&la, 0x320, 0x30);
    wr(&la, 0x370, 0x31);
    wr(&la, 0xf0, 0xff);
    ck_assert_uint_eq(rd(&la, 0x320), 0x10030);
    ck_assert_uint_eq(rd(&la, 0x350), 0x10700);
    ck_assert_uint_eq(rd(&la, 0x370), 0x10031);
    wr(&la, 0x360, 0x400);
    ck_assert_uint_eq(rd(&la, 0x360), 0x10400);
    self_ipi(&la, 0x80);
    ck_assert(!in_irr(&la, 0x80));
    wr(&la, 0x300, 0x00040400u); /* NMI to self */
    ck_assert_int_eq(ca.nmis, 1);
    sw_enable(&la);
    wr(&la, 0x360, 0x400);
    ck_assert_uint_eq(rd(&la, 0x360), 0x400);
}
END_TEST

/* SDM 10.5.4, Figure 10-10: the divide configuration (bits 3, 1:0) and
 * the count-down at the bus clock / divisor (100 MHz: 10 ns per tick). */
START_TEST(lapic_timer_divide)
{
    static const struct { uint32_t dcr, div; } t[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
    };
    for (unsigned k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        wr(&la, 0x3e0, t[k].dcr);
        ck_assert_uint_eq(rd(&la, 0x3e0), t[k].dcr);
        wr(&la, 0x380, 1000000);
        advance(10 * t[k].div * 1234 + 5); /* 1234 ticks and a bit */
        ck_assert_uint_eq(rd(&la, 0x390), 1000000 - 1234);
    }
    wr(&la, 0x3e0, 0xffffffffu);
    ck_assert_uint_eq(rd(&la, 0x3e0), 0xb); /* only bits 0, 1, 3 exist */
}
END_TEST

/* SDM 10.5.4: one-shot counts to zero once, interrupts, and stays at 0;
 * writing the initial count restarts; writing 0 stops. */
START_TEST(lapic_timer_oneshot)
{
    sw_enable(&la);
    wr(&la, 0x3e0, 0xb); /* divide by 1: 10 ns per tick */
    wr(&la, 0x320, 0x40);
    advance(7);
    uint64_t t0 = vclock_now(&clk);
    wr(&la, 0x380, 1000);
    ck_assert_uint_eq(rd(&la, 0x380), 1000);
    ck_assert_uint_eq(rd(&la, 0x390), 1000);
    ck_assert_uint_eq(vclock_next_deadline(&clk), t0 + 10000);
    advance(5009);
    ck_assert_uint_eq(rd(&la, 0x390), 500);
    ck_assert_int_eq(ca.intr, 0);
    advance(4990); /* 9999 ns: one tick short */
    ck_assert_uint_eq(rd(&la, 0x390), 1);
    ck_assert_int_eq(ca.intr, 0);
    advance(1);
    ck_assert_uint_eq(rd(&la, 0x390), 0);
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(ack_eoi(&la), 0x40);
    advance(100000);
    ck_assert_uint_eq(rd(&la, 0x390), 0);
    ck_assert_int_eq(ca.intr, 0);
    ck_assert_uint_eq(vclock_next_deadline(&clk), UINT64_MAX);
    wr(&la, 0x380, 50);
    wr(&la, 0x380, 0); /* stop */
    advance(1000);
    ck_assert_int_eq(ca.intr, 0);
    ck_assert_uint_eq(vclock_next_deadline(&clk), UINT64_MAX);
}
END_TEST

/* SDM 10.5.4: periodic mode reloads from the initial count; a masked
 * timer keeps counting without interrupts; a divide change keeps the
 * current count and continues at the new rate. */
START_TEST(lapic_timer_periodic)
{
    sw_enable(&la);
    wr(&la, 0x3e0, 0x3); /* divide by 16: 160 ns per tick */
    wr(&la, 0x320, 0x20000 | 0x41);
    wr(&la, 0x380, 100); /* period 16 us */
    int fired = 0;
    for (int k = 0; k < 35; k++) { /* 3.5 periods in 1.6 us steps */
        advance(1600);
        if (ca.intr) {
            ck_assert_int_eq(ack_eoi(&la), 0x41);
            fired++;
        }
    }
    ck_assert_int_eq(fired, 3);
    ck_assert_uint_eq(rd(&la, 0x390), 50);
    wr(&la, 0x320, 0x30041); /* masked, still periodic */
    advance(16000 * 4);
    ck_assert_int_eq(ca.intr, 0);
    ck_assert_uint_eq(rd(&la, 0x390), 50);
    wr(&la, 0x320, 0x20041);
    wr(&la, 0x3e0, 0xb); /* divide by 1 from here: 50 ticks left = 500 ns */
    ck_assert_uint_eq(rd(&la, 0x390), 50);
    advance(490);
    ck_assert_uint_eq(rd(&la, 0x390), 1);
    ck_assert_int_eq(ca.intr, 0);
    advance(10);
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_uint_eq(rd(&la, 0x390), 100); /* reloaded */
    ck_assert_int_eq(ack_eoi(&la), 0x41);
    /* Periodic -> one-shot mid-count: the count runs out, then stops. */
    advance(300);
    wr(&la, 0x320, 0x41);
    ck_assert_uint_eq(rd(&la, 0x390), 70);
    advance(700);
    ck_assert_int_eq(ack_eoi(&la), 0x41);
    advance(5000);
    ck_assert_int_eq(ca.intr, 0);
    ck_assert_uint_eq(rd(&la, 0x390), 0);
}
END_TEST

/* SDM 10.5.1 (LINT0 ExtINT, always level), MP spec 3.6.2.2 (virtual wire),
 * SDM 10.4.3 (globally disabled: INTR and NMI pins straight through,
 * register page state back to power-up). */
START_TEST(lapic_extint_virtual_wire)
{
    sw_enable(&la);
    wr(&la, 0x350, 0x8700); /* SeaBIOS's virtual wire setting */
    lapic_set_lint(&la, 0, 1);
    ck_assert_int_eq(ca.intr, 1);
    wr(&la, 0x80, 0xff); /* ExtINT ignores priorities */
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(lapic_ack(&la), 0x28);
    ck_assert_int_eq(ca.extint_acks, 1);
    for (unsigned off = 0x100; off < 0x280; off += 0x10)
        ck_assert_uint_eq(rd(&la, off), 0); /* no IRR/ISR/TMR involvement */
    wr(&la, 0x350, 0x18700); /* masked */
    ck_assert_int_eq(ca.intr, 0);
    lapic_set_lint(&la, 0, 0);
    wr(&la, 0x350, 0x8700);
    ck_assert_int_eq(ca.intr, 0); /* level: nothing while INTR is low */
    /* Fixed interrupts compete with nothing while an ExtINT is pending. */
    wr(&la, 0x80, 0);
    self_ipi(&la, 0x90);
    lapic_set_lint(&la, 0, 1);
    ck_assert_int_eq(lapic_ack(&la), 0x28);
    lapic_set_lint(&la, 0, 0);
    ck_assert_int_eq(lapic_ack(&la), 0x90);
    wr(&la, 0xb0, 0);
    /* Global disable: LINT0 is INTR, LINT1 is NMI; state is reset. */
    wr(&la, 0x80, 0x30);
    wr(&la, 0x350, 0x18700);
    lapic_set_base(&la, 0xfee00100u);
    ck_assert_int_eq(ca.intr, 0);
    lapic_set_lint(&la, 0, 1);
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(lapic_ack(&la), 0x28);
    lapic_set_lint(&la, 0, 0);
    ck_assert_int_eq(ca.intr, 0);
    lapic_set_lint(&la, 1, 1);
    ck_assert_int_eq(ca.nmis, 1);
    lapic_set_lint(&la, 1, 0);
    /* Messages do not reach a disabled APIC. */
    struct apic_msg m = { .vector = 0x50, .delivery = APIC_DM_FIXED, .dest = 0 };
    ck_assert_int_eq(apic_bus_send(&bus, &m, NULL), 0);
    lapic_set_base(&la, 0xfee00900u);
    ck_assert_uint_eq(rd(&la, 0x80), 0);
    ck_assert_uint_eq(rd(&la, 0xf0), 0xff);
    ck_assert_uint_eq(rd(&la, 0x350), 0x700);
}
END_TEST

/* SDM 10.5.1: LINT1 as NMI (edge); LINT0 as a fixed level-triggered
 * input with remote IRR, cleared by the EOI of its vector; polarity. */
START_TEST(lapic_lint_fixed_and_nmi)
{
    sw_enable(&la);
    wr(&la, 0x360, 0x400);
    lapic_set_lint(&la, 1, 1);
    lapic_set_lint(&la, 1, 1);
    ck_assert_int_eq(ca.nmis, 1);
    lapic_set_lint(&la, 1, 0);
    lapic_set_lint(&la, 1, 1);
    ck_assert_int_eq(ca.nmis, 2);
    wr(&la, 0x350, 0x8000 | 0x2000 | 0x66); /* fixed, level, active low */
    ck_assert_uint_eq(rd(&la, 0x350) & 0x4000, 0x4000); /* line low = asserted */
    ck_assert(in_irr(&la, 0x66) && in_tmr(&la, 0x66));
    ck_assert_int_eq(lapic_ack(&la), 0x66);
    wr(&la, 0xb0, 0);                               /* still asserted: again */
    ck_assert(in_irr(&la, 0x66));
    ck_assert_int_eq(lapic_ack(&la), 0x66);
    lapic_set_lint(&la, 0, 1);                      /* deasserted */
    wr(&la, 0xb0, 0);
    ck_assert_uint_eq(rd(&la, 0x350) & 0x4000, 0);
    ck_assert(!in_irr(&la, 0x66));
    wr(&la, 0x350, 0x55); /* fixed, edge, active high */
    lapic_set_lint(&la, 0, 0);
    lapic_set_lint(&la, 0, 1);
    ck_assert(in_irr(&la, 0x55) && !in_tmr(&la, 0x55));
}
END_TEST

/* SDM 10.4.7.3: INIT resets every register but the APIC ID; 10.6.1: INIT
 * level de-assert delivers nothing. */
START_TEST(lapic_init_ipi)
{
    sw_enable(&la);
    wr(&la, 0x20, 0x05000000u);
    wr(&la, 0x80, 0x20);
    wr(&la, 0xd0, 0x01000000u);
    wr(&la, 0x300, 0x0000c500u | (0u << 18)); /* INIT level de-assert, physical dest 0 */
    ck_assert_int_eq(ca.inits, 0);
    wr(&la, 0x310, 0x05000000u);
    wr(&la, 0x300, 0x00004500u); /* INIT assert to APIC 5: ourselves */
    ck_assert_int_eq(ca.inits, 1);
    ck_assert_uint_eq(rd(&la, 0x20), 0x05000000u);
    ck_assert_uint_eq(rd(&la, 0x80), 0);
    ck_assert_uint_eq(rd(&la, 0xd0), 0);
    ck_assert_uint_eq(rd(&la, 0xf0), 0xff);
    ck_assert_int_eq(cb.inits, 0);
    wr(&la, 0x300, 0x000c4500u); /* INIT to all others */
    ck_assert_int_eq(cb.inits, 1);
    ck_assert_int_eq(ca.inits, 1);
}
END_TEST

/* SDM 10.6.2: physical, logical flat and cluster destinations, the
 * shorthands, and lowest-priority arbitration by APR (10.6.2.4). */
START_TEST(lapic_destinations)
{
    sw_enable(&la);
    sw_enable(&lb);
    wr(&la, 0xd0, 0x01000000u); /* flat: A is bit 0, B bit 1 */
    wr(&lb, 0xd0, 0x02000000u);
    wr(&la, 0x310, 0x02000000u);
    wr(&la, 0x300, 0x00000831u); /* logical, fixed, dest 0x02 */
    ck_assert(!in_irr(&la, 0x31) && in_irr(&lb, 0x31));
    wr(&la, 0x310, 0x01000000u);
    wr(&la, 0x300, 0x00000032u); /* physical dest 1 = B */
    ck_assert(!in_irr(&la, 0x32) && in_irr(&lb, 0x32));
    wr(&la, 0x300, 0x00080033u); /* all including self */
    ck_assert(in_irr(&la, 0x33) && in_irr(&lb, 0x33));
    wr(&la, 0x300, 0x000c0034u); /* all excluding self */
    ck_assert(!in_irr(&la, 0x34) && in_irr(&lb, 0x34));
    wr(&la, 0x310, 0xff000000u);
    wr(&la, 0x300, 0x00000035u); /* physical broadcast */
    ck_assert(in_irr(&la, 0x35) && in_irr(&lb, 0x35));
    /* Cluster model: cluster 1 member 1 is A, cluster 2 member 1 is B. */
    wr(&la, 0xe0, 0x0fffffffu);
    wr(&lb, 0xe0, 0x0fffffffu);
    ck_assert_uint_eq(rd(&la, 0xe0), 0x0fffffffu);
    wr(&la, 0xd0, 0x11000000u);
    wr(&lb, 0xd0, 0x21000000u);
    wr(&la, 0x310, 0x21000000u);
    wr(&la, 0x300, 0x00000836u);
    ck_assert(!in_irr(&la, 0x36) && in_irr(&lb, 0x36));
    wr(&la, 0x310, 0xf1000000u); /* every cluster, member 1 */
    wr(&la, 0x300, 0x00000837u);
    ck_assert(in_irr(&la, 0x37) && in_irr(&lb, 0x37));
    /* Lowest priority among both: B has the lower TPR. */
    wr(&la, 0x80, 0x40);
    wr(&lb, 0x80, 0x20);
    ck_assert_uint_eq(rd(&lb, 0x90), 0x30); /* B's APR: IRRV class 3 above TPR */
    wr(&la, 0x310, 0xf1000000u);
    wr(&la, 0x300, 0x00000948u); /* lowest priority, logical */
    ck_assert(!in_irr(&la, 0x48) && in_irr(&lb, 0x48));
}
END_TEST

/* ---- IOAPIC ---- */

/* 82093AA 3.2.1-3.2.4: ID (bits 27:24), version 0x11 with 24 entries,
 * arbitration ID, entries masked after reset, read-only bits. */
START_TEST(ioapic_registers)
{
    ck_assert_uint_eq(io_rd(0x00), 0);
    ck_assert_uint_eq(io_rd(0x01), 0x00170011u);
    io_wr(0x00, 0xffffffffu);
    ck_assert_uint_eq(io_rd(0x00), 0x0f000000u);
    ck_assert_uint_eq(io_rd(0x02), 0x0f000000u);
    io_wr(0x01, 0);
    ck_assert_uint_eq(io_rd(0x01), 0x00170011u);
    for (int pin = 0; pin < 24; pin++) {
        ck_assert_uint_eq(io_rd((uint8_t)(0x10 + 2 * pin)), 0x10000);
        ck_assert_uint_eq(io_rd((uint8_t)(0x11 + 2 * pin)), 0);
    }
    io_wr(0x10, 0xffffffffu);
    io_wr(0x11, 0xffffffffu);
    ck_assert_uint_eq(io_rd(0x10), 0x1afffu); /* delivery status, remote IRR: read-only */
    ck_assert_uint_eq(io_rd(0x11), 0xff000000u);
    ck_assert_uint_eq(io_rd(0x40), 0); /* beyond entry 23 */
    ioapic_mmio_write(&io, 0x00, 1, 0x11); /* IOREGSEL by a byte write, IOWIN read by bytes */
    ck_assert_uint_eq(ioapic_mmio_read(&io, 0x00, 4), 0x11);
    ck_assert_uint_eq(ioapic_mmio_read(&io, 0x10, 1), 0x00);
    ck_assert_uint_eq(ioapic_mmio_read(&io, 0x13, 1), 0xff);
}
END_TEST

/* 82093AA 2.3/3.2.4: edge-triggered pins send one message per rising
 * edge; a masked pin loses its edges; polarity; destinations. */
START_TEST(ioapic_edge)
{
    sw_enable(&la);
    sw_enable(&lb);
    io_route(2, 0x31, 0); /* fixed, physical, edge, high, dest APIC 0 */
    ioapic_set_irq(&io, 2, 1);
    ck_assert(in_irr(&la, 0x31) && !in_tmr(&la, 0x31) && !in_irr(&lb, 0x31));
    ck_assert_int_eq(ack_eoi(&la), 0x31);
    ioapic_set_irq(&io, 2, 1); /* no edge */
    ck_assert(!in_irr(&la, 0x31));
    ioapic_set_irq(&io, 2, 0);
    io_route(2, 0x10031, 0); /* masked: the edge is lost */
    ioapic_set_irq(&io, 2, 1);
    ioapic_set_irq(&io, 2, 0);
    io_route(2, 0x31, 0);
    ck_assert(!in_irr(&la, 0x31));
    io_route(3, 0x2032, 1); /* active low, to APIC 1 */
    ioapic_set_irq(&io, 3, 1);
    ck_assert(!in_irr(&lb, 0x32));
    ioapic_set_irq(&io, 3, 0);
    ck_assert(in_irr(&lb, 0x32) && !in_irr(&la, 0x32));
    wr(&lb, 0xd0, 0x04000000u);
    io_route(4, 0x833, 0x04); /* logical flat: B */
    ioapic_set_irq(&io, 4, 1);
    ck_assert(in_irr(&lb, 0x33) && !in_irr(&la, 0x33));
    io_route(5, 0x34, 7); /* no APIC 7: dropped */
    ioapic_set_irq(&io, 5, 1);
    ck_assert(!in_irr(&la, 0x34) && !in_irr(&lb, 0x34));
}
END_TEST

/* 82093AA 3.2.4 (remote IRR), SDM 10.8.5 (EOI broadcast for TMR-set
 * vectors): a level pin sends once, again after the EOI while asserted,
 * and not after it drops; unmasking an asserted pin sends. */
START_TEST(ioapic_level_remote_irr)
{
    sw_enable(&la);
    io_route(9, 0x8000 | 0x10000 | 0x59, 0); /* level, masked */
    ioapic_set_irq(&io, 9, 1);
    ck_assert(!in_irr(&la, 0x59));
    io_route(9, 0x8000 | 0x59, 0); /* unmask while asserted */
    ck_assert(in_irr(&la, 0x59) && in_tmr(&la, 0x59));
    ck_assert_uint_eq(io_rd(0x10 + 18) & 0x4000, 0x4000);
    ck_assert_int_eq(lapic_ack(&la), 0x59);
    ioapic_set_irq(&io, 9, 0);
    ioapic_set_irq(&io, 9, 1); /* remote IRR set: nothing new */
    ck_assert(!in_irr(&la, 0x59));
    wr(&la, 0xb0, 0); /* EOI: remote IRR clears, pin still asserted */
    ck_assert(in_irr(&la, 0x59));
    ck_assert_uint_eq(io_rd(0x10 + 18) & 0x4000, 0x4000);
    ck_assert_int_eq(lapic_ack(&la), 0x59);
    ioapic_set_irq(&io, 9, 0);
    wr(&la, 0xb0, 0);
    ck_assert_uint_eq(io_rd(0x10 + 18) & 0x4000, 0);
    ck_assert(!in_irr(&la, 0x59));
    /* An edge-accepted interrupt with the same vector is not broadcast. */
    ioapic_set_irq(&io, 9, 1);
    ck_assert_int_eq(lapic_ack(&la), 0x59);
    io_route(10, 0x59, 0);
    ioapic_set_irq(&io, 10, 1); /* edge, same vector: merges into IRR */
    ck_assert(in_irr(&la, 0x59) && !in_tmr(&la, 0x59));
    wr(&la, 0xb0, 0);             /* EOI of the level one (ISR), TMR now says edge... */
    ck_assert_uint_eq(io_rd(0x10 + 18) & 0x4000, 0x4000); /* ...so no broadcast */
    /* Switching the entry to edge and back clears a stuck remote IRR. */
    io_route(9, 0x59, 0);
    ck_assert_uint_eq(io_rd(0x10 + 18) & 0x4000, 0);
    ck_assert_int_eq(ack_eoi(&la), 0x59);
    io_route(9, 0x8000 | 0x59, 0);
    ck_assert(in_irr(&la, 0x59) && in_tmr(&la, 0x59));
}
END_TEST

/* 82093AA 3.2.4 delivery modes: NMI to the core, ExtINT through the
 * 8259's INTA cycle, lowest priority. */
START_TEST(ioapic_delivery_modes)
{
    sw_enable(&la);
    sw_enable(&lb);
    io_route(1, 0x400, 1); /* NMI to APIC 1 */
    ioapic_set_irq(&io, 1, 1);
    ck_assert_int_eq(cb.nmis, 1);
    ck_assert_int_eq(ca.nmis, 0);
    io_route(0, 0x700, 0); /* ExtINT to APIC 0 (8259 INTR on pin 0) */
    ioapic_set_irq(&io, 0, 1);
    ck_assert_int_eq(ca.intr, 1);
    ck_assert_int_eq(lapic_ack(&la), 0x28);
    ck_assert_int_eq(ca.extint_acks, 1);
    ck_assert_int_eq(ca.intr, 0);
    wr(&la, 0xd0, 0x01000000u);
    wr(&lb, 0xd0, 0x02000000u);
    wr(&lb, 0x80, 0x70);
    io_route(6, 0x900 | 0x61, 0x03); /* lowest priority among A and B: A (TPR 0) */
    ioapic_set_irq(&io, 6, 1);
    ck_assert(in_irr(&la, 0x61) && !in_irr(&lb, 0x61));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("apic");
    TCase *tc = tcase_create("apic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lapic_reset_state);
    tcase_add_test(tc, lapic_priority_classes);
    tcase_add_test(tc, lapic_tpr_masking);
    tcase_add_test(tc, lapic_spurious);
    tcase_add_test(tc, lapic_errors);
    tcase_add_test(tc, lapic_software_disable);
    tcase_add_test(tc, lapic_timer_divide);
    tcase_add_test(tc, lapic_timer_oneshot);
    tcase_add_test(tc, lapic_timer_periodic);
    tcase_add_test(tc, lapic_extint_virtual_wire);
    tcase_add_test(tc, lapic_lint_fixed_and_nmi);
    tcase_add_test(tc, lapic_init_ipi);
    tcase_add_test(tc, lapic_destinations);
    tcase_add_test(tc, ioapic_registers);
    tcase_add_test(tc, ioapic_edge);
    tcase_add_test(tc, ioapic_level_remote_irr);
    tcase_add_test(tc, ioapic_delivery_modes);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
