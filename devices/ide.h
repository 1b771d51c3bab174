/*
 * The PIIX3 IDE function (PCI 00:01.1, 8086:7010) with its two legacy
 * channels and up to two devices on each: ATA hard disks on raw images
 * and ATAPI CD-ROM drives on ISO images, plus bus-master DMA.
 *
 *   primary    ports 0x1F0-0x1F7 and 0x3F6, ISA IRQ 14
 *   secondary  ports 0x170-0x177 and 0x376, ISA IRQ 15
 *   BAR 4      bus-master registers, 16 I/O ports (8 per channel)
 *
 * The code is split by concept:
 *   ide.c      the register file of a channel (task file, status, device
 *              control), the data port, the DRQ block engine shared by PIO
 *              and DMA, resets, interrupts, and command dispatch
 *   ide_ata.c  the ATA command set of a hard disk (IDENTIFY, PIO/DMA
 *              reads and writes in CHS/LBA28/LBA48, SET FEATURES...)
 *   atapi.c    the PACKET command and the MMC commands of a CD-ROM
 *   bmdma.c    the bus-master engine (PRD tables) and the PCI function
 *   disk.c     the image files behind the devices
 *
 * Commands complete synchronously within the port access that starts them
 * (a DMA transfer within the access that both issued the command and
 * started the engine): the guest sees BSY only across a software reset.
 * This keeps runs reproducible under the icount clock.
 */
#ifndef KESTREL_IDE_H
#define KESTREL_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/disk.h"
#include "devices/irq.h"
#include "devices/pci.h"

struct phys;
struct iobus;

#define IDE_BUF_SIZE (128 * 1024) /* largest DRQ block / DMA chunk a device stages */
#define IDE_MAX_MULT 16           /* sectors per READ/WRITE MULTIPLE block we support */

/* Status register */
#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10  /* seek complete / SERV */
#define ST_DF 0x20
#define ST_DRDY 0x40
#define ST_BSY 0x80
/* Error register */
#define ER_AMNF 0x01
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC 0x40
/* Device control register */
#define DC_NIEN 0x02
#define DC_SRST 0x04
#define DC_HOB 0x80
/* Device register */
#define DEV_LBA 0x40
#define DEV_DEV 0x10
/* ATAPI interrupt reason (sector count register) */
#define IR_COD 0x01
#define IR_IO 0x02

enum ide_kind { IDE_NONE, IDE_ATA, IDE_ATAPI };

enum ide_xfer {
    XFER_NONE,
    XFER_PIO_IN,  /* device -> host through the data port */
    XFER_PIO_OUT, /* host -> device through the data port */
    XFER_PACKET,  /* host -> device: an ATAPI command packet */
    XFER_DMA_IN,  /* device -> memory through the bus master */
    XFER_DMA_OUT, /* memory -> device through the bus master */
};

struct ide_dev;

/* What a CD-ROM drive keeps beyond the task file (MMC/SPC state). */
struct atapi_state {
    uint8_t cdb[12];         /* the packet being executed */
    uint8_t sense_key, asc, ascq; /* sense data of the last command (REQUEST SENSE) */
    uint8_t ua[2];           /* pending unit attentions (ASC; ASCQ is 0), oldest first */
    int nua;
    bool medium;             /* a disc is in the tray */
    bool tray_open;
    bool locked;             /* PREVENT MEDIUM REMOVAL */
    uint8_t media_event;     /* GET EVENT STATUS NOTIFICATION media event not yet reported */
    bool from_medium;        /* data phase reads the disc (else the reply staged in buf) */
    uint64_t medium_off;     /* next disc byte of the data phase */
    uint64_t left;           /* bytes of the data phase still to go */
    uint32_t reply_off;      /* next reply byte in buf */
    bool dma;                /* data phase through the bus master (features bit 0) */
    uint32_t bcl;            /* byte count limit of the PACKET command (PIO) */
};

struct ide_dev {
    enum ide_kind kind;
    struct disk disk;
    struct ide_channel *ch;
    int unit;                /* 0 master (device 0), 1 slave (device 1) */
    /* Task file. Writes reach both devices of a channel, as on the cable. */
    uint8_t feature, nsector, lbal, lbam, lbah;
    uint8_t hob_feature, hob_nsector, hob_lbal, hob_lbam, hob_lbah; /* the previous writes (LBA48) */
    uint8_t status, error;
    bool intrq;              /* interrupt pending (cleared by reading status) */
    /* Current data phase: the host (PIO) or the bus master (DMA) moves
     * buf[pos..end); block_done then prepares the next block or ends. */
    enum ide_xfer xfer;
    uint8_t *buf;            /* IDE_BUF_SIZE bytes, present devices only */
    uint32_t pos, end;
    void (*block_done)(struct ide_dev *d);
    /* Command in progress */
    uint8_t cmd;
    uint64_t lba;            /* next sector */
    uint32_t count;          /* sectors left */
    uint32_t block;          /* sectors per PIO DRQ block */
    bool lba48;              /* the command uses 48-bit addresses */
    bool dma;                /* the command's data phase goes through the bus master */
    /* ATA settings */
    uint16_t cyls, heads, secs;             /* default CHS geometry */
    uint16_t cur_cyls, cur_heads, cur_secs; /* INITIALIZE DEVICE PARAMETERS */
    uint8_t mult;            /* READ/WRITE MULTIPLE block size, 0: disabled */
    uint8_t xfer_mode;       /* SET FEATURES 03h: transfer mode selected */
    bool wcache, lookahead, revert; /* write cache, read look-ahead, revert to defaults on SRST */
    bool standby;            /* power mode (CHECK POWER MODE) */
    char serial[21], model[41];
    struct atapi_state atapi;
};

/* Bus-master IDE registers of one channel (82371AB datasheet 2.7). */
#define BM_CMD_START 0x01
#define BM_CMD_WRITE 0x08 /* bus master writes memory (a device read) */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INTR 0x04
#define BM_ST_DMA0 0x20   /* drive 0 DMA capable (set by firmware) */
#define BM_ST_DMA1 0x40

struct bmdma {
    uint8_t cmd, status;
    uint32_t prdt;           /* PRD table address register */
    uint32_t next_prd;       /* address of the next descriptor to fetch */
    uint32_t addr, len;      /* what is left of the current descriptor */
    bool eot;                /* the current descriptor is the table's last */
    bool running;            /* inside the transfer loop (no re-entry) */
};

struct ide_channel {
    struct ide_dev dev[2];
    struct ide *ide;
    int index;               /* 0 primary, 1 secondary */
    uint8_t dc;              /* device control */
    uint8_t select;          /* device register (DEV picks the device that answers) */
    int irq_level;           /* INTRQ as driven on the ISA line */
    struct irq irq;
    struct bmdma bm;
    struct ide_dev *dma_dev; /* device with a DMA data phase pending */
};

struct ide {
    struct pci_dev pci;
    struct ide_channel ch[2];
    struct phys *mem;        /* guest memory for DMA */
    struct iobus *io;        /* where BAR 4 is mapped */
    uint32_t bm_base;        /* BAR 4 as decoded, 0 when not */
    void (*log)(void *ctx, const char *msg); /* host I/O errors; optional */
    void *log_ctx;
};

/* Register the PCI function at 00:01.1 and the legacy ports on `io`;
 * irq14/irq15 are the channels' lines. Returns 0 or -errno. */
int ide_init(struct ide *ide, struct pci_bus *bus, struct iobus *io, struct phys *mem, struct irq irq14,
             struct irq irq15);
/* Attach an image to channel 0/1, unit 0/1 before the machine starts.
 * Returns 0, or -errno with a message in err; warn as in disk_open_*. */
int ide_attach_disk(struct ide *ide, int channel, int unit, const char *path, bool read_only, char *err,
                    size_t errlen, char *warn, size_t warnlen);
int ide_attach_cdrom(struct ide *ide, int channel, int unit, const char *path, char *err, size_t errlen, char *warn,
                     size_t warnlen);
/* Power-on / hardware reset of the function and all devices. */
void ide_reset(struct ide *ide);
void ide_free(struct ide *ide);

/* Port handlers; opaque is the struct ide_channel. */
uint32_t ide_cmd_read(void *opaque, uint16_t port, int size);
void ide_cmd_write(void *opaque, uint16_t port, int size, uint32_t val);
uint32_t ide_ctl_read(void *opaque, uint16_t port, int size);
void ide_ctl_write(void *opaque, uint16_t port, int size, uint32_t val);
/* Bus-master registers; opaque is the struct ide. */
uint32_t bmdma_read(void *opaque, uint16_t port, int size);
void bmdma_write(void *opaque, uint16_t port, int size, uint32_t val);

#endif
