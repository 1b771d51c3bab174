/*
 * PCI bus 0 with configuration mechanism #1 (ports 0xCF8/0xCFC-0xCFF).
 *
 * A device is a 256-byte configuration space with per-byte masks of
 * writable and write-1-to-clear bits, up to six BARs plus an expansion ROM
 * BAR, and an INTx pin. The bus applies the generic semantics (read-only
 * IDs, BAR sizing by writing all ones, the command register's I/O and
 * memory enables) and calls the device's map() hook whenever a BAR's
 * effective address changes, so the device can (re)register its ports or
 * MMIO regions. INTx lines go to the board's router (PIIX PIRQ).
 */
#ifndef KESTREL_PCI_H
#define KESTREL_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_CMD_IO 0x0001
#define PCI_CMD_MEM 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_CMD_INTX_DISABLE 0x0400

#define PCI_BAR_IO 1
#define PCI_BAR_MEM 2
#define PCI_BAR_ROM 6 /* index of the expansion ROM BAR */
#define PCI_BAR_UNMAPPED UINT32_MAX

struct pci_dev;

struct pci_bar {
    uint32_t size;  /* power of two, 0 if unused */
    uint8_t type;   /* PCI_BAR_IO or PCI_BAR_MEM */
    bool prefetch;
    uint32_t mapped; /* address the device currently decodes, or PCI_BAR_UNMAPPED */
};

struct pci_dev {
    uint8_t config[256];
    uint8_t wmask[256];   /* bits the guest may write */
    uint8_t w1c[256];     /* bits cleared by writing 1 (status) */
    struct pci_bar bar[7];
    uint8_t devfn;        /* slot << 3 | function */
    const char *name;
    /* Device hooks, all optional. */
    void (*map)(struct pci_dev *d, int bar, uint32_t addr); /* addr PCI_BAR_UNMAPPED: stop decoding */
    void (*config_write)(struct pci_dev *d, unsigned off, int size, uint32_t val); /* after the generic write */
    void *opaque;
    struct pci_bus *bus;
    int irq_input;        /* the device's interrupt request */
    int irq_level;        /* INTx as driven on the bus (request and not disabled) */
};

struct pci_bus {
    uint32_t cf8;                    /* CONFIG_ADDRESS */
    struct pci_dev *dev[256];        /* by devfn */
    /* INTx router: pin 0..3 (INTA..INTD) of a device, already swizzled to
     * the bus's PIRQ number by slot. */
    void (*route)(void *ctx, int pirq, int level);
    void *route_ctx;
    int pirq_count[4];               /* devices asserting each PIRQ (shared, level) */
};

void pci_bus_init(struct pci_bus *b, void (*route)(void *ctx, int pirq, int level), void *ctx);
/* Register a device at devfn with IDs and class; returns 0 or -errno. */
int pci_register(struct pci_bus *b, struct pci_dev *d, uint8_t devfn, uint16_t vendor, uint16_t device,
                 uint32_t class_rev, uint8_t header_type);
/* Declare BAR n (0..5, or PCI_BAR_ROM) of `size` bytes. */
void pci_declare_bar(struct pci_dev *d, int n, uint32_t size, uint8_t type, bool prefetch);
/* Interrupt pin (1 = INTA .. 4 = INTD), and setting its level. */
void pci_set_pin(struct pci_dev *d, int pin);
void pci_set_irq(struct pci_dev *d, int level);

/* Port handlers for 0xCF8-0xCFF. */
uint32_t pci_io_read(void *opaque, uint16_t port, int size);
void pci_io_write(void *opaque, uint16_t port, int size, uint32_t val);
/* Direct config access (firmware tables, tests). */
uint32_t pci_config_read(struct pci_bus *b, uint8_t devfn, unsigned off, int size);
void pci_config_write(struct pci_bus *b, uint8_t devfn, unsigned off, int size, uint32_t val);

/* Little-endian helpers for config space setup. */
static inline void pci_set_word(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void pci_set_long(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}
static inline uint16_t pci_get_word(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t pci_get_long(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
