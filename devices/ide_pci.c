/*
 * The PIIX3 IDE PCI function (82371SB; register layout as in the 82371AB
 * datasheet, 2.4 "PCI configuration registers - IDE function"):
 * 8086:7010, class 01.01.80 (IDE, legacy ("compatibility") mode for both
 * channels, bus-master capable), BAR 4 the 16 bus-master ports, no PCI
 * interrupt pin (the channels use ISA IRQ 14 and 15), IDETIM at 40h/42h
 * and SIDETIM at 44h.
 *
 * The legacy ports are decoded whatever the PCI command register and the
 * IDETIM decode-enable bits say (as QEMU does); the decode-enable bits
 * come up set, as firmware leaves them, because Linux's ata_piix ignores
 * a channel whose bit is clear and a directly booted kernel has had no
 * firmware to set them. BAR 4 follows the generic PCI rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ide_int.h"
#include "devices/iobus.h"

#define IDE_DEVFN ((1 << 3) | 1)

static void ide_pci_map(struct pci_dev *pd, int bar, uint32_t addr)
{
    struct ide *ide = pd->opaque;
    if (bar != 4)
        return;
    if (ide->bm_base)
        iobus_unregister(ide->io, (uint16_t)ide->bm_base, 16);
    ide->bm_base = 0;
    if (addr == PCI_BAR_UNMAPPED)
        return;
    struct io_handler h = { bmdma_read, bmdma_write, ide, "ide-busmaster" };
    if (!iobus_register(ide->io, (uint16_t)addr, 16, &h)) /* a BAR over other ports is not decoded */
        ide->bm_base = addr;
}

int ide_init(struct ide *ide, struct pci_bus *bus, struct iobus *io, struct phys *mem, struct irq irq14,
             struct irq irq15)
{
    memset(ide, 0, sizeof(*ide));
    ide->mem = mem;
    ide->io = io;
    for (int c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        ch->ide = ide;
        ch->index = c;
        ch->irq = c ? irq15 : irq14;
        for (int u = 0; u < 2; u++) {
            ch->dev[u].ch = ch;
            ch->dev[u].unit = u;
            ch->dev[u].kind = IDE_NONE;
            ch->dev[u].disk.fd = -1;
        }
    }
    ide->pci.opaque = ide;
    ide->pci.map = ide_pci_map;
    ide->pci.name = "piix3-ide";
    int err = pci_register(bus, &ide->pci, IDE_DEVFN, 0x8086, 0x7010, 0x01018000, 0x00);
    if (err)
        return err;
    pci_declare_bar(&ide->pci, 4, 16, PCI_BAR_IO, false);
    for (int k = 0x40; k <= 0x44; k++)
        ide->pci.wmask[k] = 0xff;
    ide_reset(ide);
    return 0;
}

static int attach(struct ide *ide, int channel, int unit, enum ide_kind kind, const char *path, bool read_only,
                  char *err, size_t errlen, char *warn, size_t warnlen)
{
    if (channel < 0 || channel > 1 || unit < 0 || unit > 1) {
        snprintf(err, errlen, "%s: no IDE position %d.%d", path, channel, unit);
        return -EINVAL;
    }
    struct ide_dev *d = &ide->ch[channel].dev[unit];
    if (d->kind != IDE_NONE) {
        snprintf(err, errlen, "%s: IDE position %d.%d is taken", path, channel, unit);
        return -EBUSY;
    }
    int rc = kind == IDE_ATA ? disk_open_raw(&d->disk, path, read_only, err, errlen, warn, warnlen)
                             : disk_open_iso(&d->disk, path, err, errlen, warn, warnlen);
    if (rc)
        return rc;
    d->buf = calloc(1, IDE_BUF_SIZE);
    if (!d->buf) {
        disk_close(&d->disk);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    d->kind = kind;
    snprintf(d->serial, sizeof(d->serial), "KESTREL%07d%d%d", 0, channel, unit);
    snprintf(d->model, sizeof(d->model), "%s", kind == IDE_ATA ? "KESTREL HARDDISK" : "KESTREL CD-ROM");
    if (kind == IDE_ATA)
        ata_setup_geometry(d);
    ide_channel_reset(&ide->ch[channel]);
    return 0;
}

int ide_attach_disk(struct ide *ide, int channel, int unit, const char *path, bool read_only, char *err,
                    size_t errlen, char *warn, size_t warnlen)
{
    return attach(ide, channel, unit, IDE_ATA, path, read_only, err, errlen, warn, warnlen);
}

int ide_attach_cdrom(struct ide *ide, int channel, int unit, const char *path, char *err, size_t errlen, char *warn,
                     size_t warnlen)
{
    return attach(ide, channel, unit, IDE_ATAPI, path, true, err, errlen, warn, warnlen);
}

void ide_reset(struct ide *ide)
{
    struct pci_dev *pd = &ide->pci;
    if (pd->bus) {
        /* Back to the power-on configuration: decoding off, BAR 4 at its
         * reset value (82371AB: BMIBA 00000001h). */
        pci_config_write(pd->bus, pd->devfn, PCI_COMMAND, 2, 0);
        pci_config_write(pd->bus, pd->devfn, PCI_BAR0 + 16, 4, 0);
    }
    pci_set_word(pd->config + PCI_STATUS, 0x0280); /* medium DEVSEL, fast back-to-back */
    pci_set_word(pd->config + 0x40, 0x8000);       /* IDETIM: primary decode enabled */
    pci_set_word(pd->config + 0x42, 0x8000);       /* secondary */
    pd->config[0x44] = 0;
    bmdma_reset(ide);
    for (int c = 0; c < 2; c++)
        ide_channel_reset(&ide->ch[c]);
}

void ide_free(struct ide *ide)
{
    for (int c = 0; c < 2; c++) {
        for (int u = 0; u < 2; u++) {
            struct ide_dev *d = &ide->ch[c].dev[u];
            if (d->kind != IDE_NONE)
                disk_close(&d->disk);
            free(d->buf);
            d->buf = NULL;
            d->kind = IDE_NONE;
        }
    }
}
