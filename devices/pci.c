/*
 * PCI configuration mechanism #1 and generic configuration-space rules.
 *
 * CONFIG_ADDRESS (0xCF8, dword accesses only) selects bus/device/function/
 * register when bit 31 is set; CONFIG_DATA (0xCFC-0xCFF) then reads and
 * writes that register at any byte offset. Only bus 0 exists; absent
 * functions read as all ones.
 */
#include "devices/pci.h"

#include <errno.h>
#include <string.h>

void pci_bus_init(struct pci_bus *b, void (*route)(void *ctx, int pirq, int level), void *ctx)
{
    memset(b, 0, sizeof(*b));
    b->route = route;
    b->route_ctx = ctx;
}

int pci_register(struct pci_bus *b, struct pci_dev *d, uint8_t devfn, uint16_t vendor, uint16_t device,
                 uint32_t class_rev, uint8_t header_type)
{
    if (b->dev[devfn])
        return -EBUSY;
    d->devfn = devfn;
    d->bus = b;
    for (int k = 0; k < 7; k++)
        d->bar[k].mapped = PCI_BAR_UNMAPPED;
    pci_set_word(d->config + PCI_VENDOR_ID, vendor);
    pci_set_word(d->config + PCI_DEVICE_ID, device);
    pci_set_long(d->config + PCI_REVISION, class_rev); /* revision, prog-if, subclass, class */
    d->config[PCI_HEADER_TYPE] = header_type;
    /* Command: I/O, memory, bus master, SERR, INTx disable are writable. */
    d->wmask[PCI_COMMAND] = 0x07;
    d->wmask[PCI_COMMAND + 1] = 0x05;
    d->w1c[PCI_STATUS + 1] = 0xf9; /* error bits */
    d->wmask[0x0c] = 0xff;         /* cache line size */
    d->wmask[0x0d] = 0xff;         /* latency timer */
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    b->dev[devfn] = d;
    return 0;
}

void pci_declare_bar(struct pci_dev *d, int n, uint32_t size, uint8_t type, bool prefetch)
{
    unsigned off = n == PCI_BAR_ROM ? PCI_ROM_ADDRESS : PCI_BAR0 + 4u * (unsigned)n;
    d->bar[n] = (struct pci_bar){ size, type, prefetch, PCI_BAR_UNMAPPED };
    uint32_t mask = ~(size - 1);
    if (n == PCI_BAR_ROM)
        mask |= 1; /* ROM enable bit */
    else if (type == PCI_BAR_IO)
        mask &= ~3u;
    else
        mask &= ~15u;
    pci_set_long(d->wmask + off, mask);
    uint32_t low = n == PCI_BAR_ROM ? 0 : type == PCI_BAR_IO ? 1 : (prefetch ? 8 : 0);
    pci_set_long(d->config + off, low);
}

void pci_set_pin(struct pci_dev *d, int pin)
{
    d->config[PCI_INTERRUPT_PIN] = (uint8_t)pin;
}

void pci_set_irq(struct pci_dev *d, int level)
{
    int pin = d->config[PCI_INTERRUPT_PIN];
    if (!pin)
        return;
    d->irq_input = level != 0;
    /* Interrupt status (status bit 3) shows the device's request even when
     * INTx is disabled in the command register. */
    d->config[PCI_STATUS] = (uint8_t)((d->config[PCI_STATUS] & ~0x08) | (level ? 0x08 : 0));
    if (pci_get_word(d->config + PCI_COMMAND) & PCI_CMD_INTX_DISABLE)
        level = 0;
    level = level != 0;
    if (level == d->irq_level)
        return;
    d->irq_level = level;
    struct pci_bus *b = d->bus;
    int pirq = ((d->devfn >> 3) + pin - 1) & 3; /* standard swizzle */
    b->pirq_count[pirq] += level ? 1 : -1;
    if (b->route)
        b->route(b->route_ctx, pirq, b->pirq_count[pirq] > 0);
}

/* Recompute where each BAR decodes and tell the device about changes. */
static void update_mappings(struct pci_dev *d)
{
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    for (int n = 0; n < 7; n++) {
        struct pci_bar *bar = &d->bar[n];
        if (!bar->size)
            continue;
        unsigned off = n == PCI_BAR_ROM ? PCI_ROM_ADDRESS : PCI_BAR0 + 4u * (unsigned)n;
        uint32_t v = pci_get_long(d->config + off);
        uint32_t addr;
        if (bar->type == PCI_BAR_IO) {
            addr = v & ~3u;
            if (!(cmd & PCI_CMD_IO) || addr == 0 || addr + bar->size > 0x10000)
                addr = PCI_BAR_UNMAPPED;
        } else {
            addr = v & ~(bar->size - 1) & ~15u;
            if (!(cmd & PCI_CMD_MEM) || addr == 0 || (n == PCI_BAR_ROM && !(v & 1)) || addr + bar->size < addr)
                addr = PCI_BAR_UNMAPPED;
        }
        if (addr != bar->mapped) {
            bar->mapped = addr;
            if (d->map)
                d->map(d, n, addr);
        }
    }
}

uint32_t pci_config_read(struct pci_bus *b, uint8_t devfn, unsigned off, int size)
{
    struct pci_dev *d = b->dev[devfn];
    if (!d || off + (unsigned)size > 256)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    uint32_t v = 0;
    for (int k = 0; k < size; k++)
        v |= (uint32_t)d->config[off + (unsigned)k] << (8 * k);
    return v;
}

static bool overlaps(unsigned off, int size, unsigned start, unsigned len)
{
    return off < start + len && start < off + (unsigned)size;
}

void pci_config_write(struct pci_bus *b, uint8_t devfn, unsigned off, int size, uint32_t val)
{
    struct pci_dev *d = b->dev[devfn];
    if (!d || off + (unsigned)size > 256)
        return;
    for (int k = 0; k < size; k++) {
        unsigned o = off + (unsigned)k;
        uint8_t byte = (uint8_t)(val >> (8 * k));
        d->config[o] = (uint8_t)((d->config[o] & ~d->wmask[o]) | (byte & d->wmask[o]));
        d->config[o] &= (uint8_t)~(byte & d->w1c[o]);
    }
    if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BAR0, 24) ||
        overlaps(off, size, PCI_ROM_ADDRESS, 4))
        update_mappings(d);
    if (overlaps(off, size, PCI_COMMAND + 1, 1))
        pci_set_irq(d, d->irq_input); /* INTx disable may have changed */
    if (d->config_write)
        d->config_write(d, off, size, val);
}

uint32_t pci_io_read(void *opaque, uint16_t port, int size)
{
    struct pci_bus *b = opaque;
    if (port == 0xcf8 && size == 4)
        return b->cf8;
    if (port < 0xcfc)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    uint32_t a = b->cf8;
    if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return pci_config_read(b, (uint8_t)(a >> 8), (a & 0xfc) + (port & 3u), size);
}

void pci_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct pci_bus *b = opaque;
    if (port == 0xcf8) {
        if (size == 4)
            b->cf8 = val & 0x80fffffcu;
        return;
    }
    if (port < 0xcfc)
        return;
    uint32_t a = b->cf8;
    if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0)
        return;
    pci_config_write(b, (uint8_t)(a >> 8), (a & 0xfc) + (port & 3u), size, val);
}
