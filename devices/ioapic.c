/*
 * Intel 82093AA I/O APIC, after its datasheet (order number 290566):
 * section 3.0 for the registers, 3.2.4 for the redirection table.
 *
 *   index 0x00  IOAPICID   bits 27:24 read/write, 0 after reset
 *   index 0x01  IOAPICVER  0x00170011: version 0x11, 24 entries (max 0x17)
 *   index 0x02  IOAPICARB  bits 27:24, read-only; the arbitration ID is
 *                          loaded from the APIC ID (we never rotate it)
 *   index 0x10+2n / 0x11+2n  IOREDTBLn low / high dword
 *
 * A redirection entry: vector (7:0), delivery mode (10:8: fixed, lowest
 * priority, SMI, NMI, INIT, ExtINT), destination mode (11), delivery
 * status (12, read-only; messages go out at once, so always idle),
 * polarity (13: 1 = active low), remote IRR (14, read-only), trigger mode
 * (15: 1 = level), mask (16), destination (63:56). Entries reset masked.
 *
 * Edge-triggered pins send one message per deasserted-to-asserted
 * transition; a masked pin drops the edge (datasheet, mask bit: "not
 * delivered or held pending"). Level-triggered pins send while asserted,
 * unmasked and remote IRR is clear; sending sets remote IRR, and the EOI
 * of the entry's vector clears it (the local APICs broadcast EOIs of
 * level-triggered vectors), after which a still-asserted pin sends again.
 * Unmasking an asserted level pin sends too, since the pin is sampled,
 * not latched. Writing an entry with edge trigger clears its remote IRR:
 * the datasheet leaves remote IRR undefined for edge mode, and operating
 * systems clear a stuck remote IRR on this I/O APIC, which has no EOI
 * register, by switching the entry to edge and back (as Linux's
 * __eoi_ioapic_pin does, and QEMU and KVM honour).
 */
#include "devices/ioapic.h"

#include <string.h>

#include "mmu/phys.h"

#define RTE_VECTOR 0xffull
#define RTE_LOGICAL (1ull << 11)
#define RTE_PENDING (1ull << 12)
#define RTE_LOW (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_WRITABLE_LO 0x1afffull   /* all but delivery status and remote IRR */
#define RTE_WRITABLE_HI 0xff000000ull /* destination field */

static bool asserted(const struct ioapic *io, int pin)
{
    bool high = (io->pins >> pin) & 1;
    return high != ((io->redir[pin] & RTE_LOW) != 0);
}

static void send(struct ioapic *io, int pin)
{
    uint64_t e = io->redir[pin];
    struct apic_msg m = {
        .vector = (uint8_t)(e & RTE_VECTOR),
        .delivery = (uint8_t)((e >> 8) & 7),
        .logical = (e & RTE_LOGICAL) != 0,
        .level = (e & RTE_LEVEL) != 0,
        .assert = true,
        .dest = (uint8_t)(e >> 56),
        .shorthand = APIC_SH_NONE,
    };
    if (m.level)
        io->redir[pin] |= RTE_REMOTE_IRR;
    if (io->bus)
        apic_bus_send(io->bus, &m, NULL);
}

/* A level-triggered pin that should (re)send now. */
static void service_level(struct ioapic *io, int pin)
{
    uint64_t e = io->redir[pin];
    if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) && asserted(io, pin))
        send(io, pin);
}

void ioapic_set_irq(void *opaque, int pin, int level)
{
    struct ioapic *io = opaque;
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    bool was = asserted(io, pin);
    if (level)
        io->pins |= 1u << pin;
    else
        io->pins &= ~(1u << pin);
    uint64_t e = io->redir[pin];
    if (e & RTE_LEVEL)
        service_level(io, pin);
    else if (!was && asserted(io, pin) && !(e & RTE_MASKED))
        send(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if ((e & RTE_REMOTE_IRR) && (e & RTE_VECTOR) == vector) {
            io->redir[pin] = e & ~RTE_REMOTE_IRR;
            service_level(io, pin);
        }
    }
}

static uint32_t reg_read(const struct ioapic *io, uint8_t index)
{
    if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) {
        uint64_t e = io->redir[(index - 0x10) >> 1];
        return (index & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    switch (index) {
    case 0x00: return (uint32_t)io->id << 24;
    case 0x01: return (uint32_t)(IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
    case 0x02: return (uint32_t)io->id << 24;
    default: return 0;
    }
}

static void reg_write(struct ioapic *io, uint8_t index, uint32_t val)
{
    if (index == 0x00) {
        io->id = (uint8_t)((val >> 24) & 0xf);
        return;
    }
    if (index < 0x10 || index >= 0x10 + 2 * IOAPIC_PINS)
        return; /* version, arbitration and the unused indices are read-only */
    int pin = (index - 0x10) >> 1;
    uint64_t e = io->redir[pin];
    if (index & 1) {
        e = (e & 0xffffffffull) | (((uint64_t)val & RTE_WRITABLE_HI) << 32);
    } else {
        e = (e & ~0xffffffffull) | (e & (RTE_PENDING | RTE_REMOTE_IRR)) | (val & RTE_WRITABLE_LO);
        if (!(e & RTE_LEVEL))
            e &= ~RTE_REMOTE_IRR;
    }
    io->redir[pin] = e;
    service_level(io, pin);
}

/* IOREGSEL at 0x00, IOWIN at 0x10; any width within the dword. */
uint32_t ioapic_mmio_read(void *opaque, uint64_t offset, int size)
{
    struct ioapic *io = opaque;
    unsigned byte = offset & 0xf;
    if (byte + (unsigned)size > 4)
        return 0;
    uint32_t v;
    if ((offset & ~0xfull) == 0x00)
        v = io->sel;
    else if ((offset & ~0xfull) == 0x10)
        v = reg_read(io, io->sel);
    else
        return 0;
    v >>= 8 * byte;
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void ioapic_mmio_write(void *opaque, uint64_t offset, int size, uint32_t val)
{
    struct ioapic *io = opaque;
    if (offset == 0x00) {
        io->sel = (uint8_t)val; /* bits 7:0 select; a byte write is enough */
        return;
    }
    if (offset == 0x10 && size == 4)
        reg_write(io, io->sel, val);
}

const struct mmio_ops ioapic_mmio_ops = { ioapic_mmio_read, ioapic_mmio_write };

void ioapic_reset(struct ioapic *io)
{
    io->id = 0;
    io->sel = 0;
    for (int pin = 0; pin < IOAPIC_PINS; pin++)
        io->redir[pin] = RTE_MASKED;
}

int ioapic_init(struct ioapic *io, struct apic_bus *bus)
{
    memset(io, 0, sizeof(*io));
    io->bus = bus;
    ioapic_reset(io);
    return bus ? apic_bus_add_ioapic(bus, io) : 0;
}
