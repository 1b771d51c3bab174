/*
 * The PIIX3 IDE function driven through its ports the way a driver does,
 * with images in temporary files. Expected behaviour comes from the
 * specifications, cited per test: ATA/ATAPI-6 (T13/1410D rev 3b; clause 8
 * commands, clause 9 protocols), MMC-3 and SPC-2 for the packet commands,
 * and the Intel 82371AB (PIIX4) datasheet for the bus-master registers.
 * The image checks are in test_disk.c.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/ide.h"
#include "devices/iobus.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"

#define P0 0x1f0
#define C0 0x3f6
#define P1 0x170
#define C1 0x376
#define BM 0xc000

struct rig {
    struct phys mem;
    struct pci_bus bus;
    struct iobus io;
    struct ide ide;
    int irq[16];
    int edges[16];
    char path[4][64];
    int npath;
};

static void rig_irq(void *ctx, int line, int level)
{
    struct rig *r = ctx;
    if (level && !r->irq[line])
        r->edges[line]++;
    r->irq[line] = level;
}

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(phys_init(&r->mem, 4 << 20), 0);
    pci_bus_init(&r->bus, NULL, NULL);
    iobus_init(&r->io);
    ck_assert_int_eq(ide_init(&r->ide, &r->bus, &r->io, &r->mem, (struct irq){ rig_irq, r, 14 },
                              (struct irq){ rig_irq, r, 15 }),
                     0);
    struct io_handler h[4] = {
        { ide_cmd_read, ide_cmd_write, &r->ide.ch[0], "ide0" },
        { ide_ctl_read, ide_ctl_write, &r->ide.ch[0], "ide0-ctl" },
        { ide_cmd_read, ide_cmd_write, &r->ide.ch[1], "ide1" },
        { ide_ctl_read, ide_ctl_write, &r->ide.ch[1], "ide1-ctl" },
    };
    ck_assert_int_eq(iobus_register(&r->io, P0, 8, &h[0]), 0);
    ck_assert_int_eq(iobus_register(&r->io, C0, 1, &h[1]), 0);
    ck_assert_int_eq(iobus_register(&r->io, P1, 8, &h[2]), 0);
    ck_assert_int_eq(iobus_register(&r->io, C1, 1, &h[3]), 0);
    /* As firmware does: BAR 4, I/O decoding and bus mastering on. */
    pci_config_write(&r->bus, 0x09, 0x20, 4, BM);
    pci_config_write(&r->bus, 0x09, 0x04, 2, PCI_CMD_IO | PCI_CMD_MASTER);
    return r;
}

static void rig_free(struct rig *r)
{
    ide_free(&r->ide);
    phys_free(&r->mem);
    for (int k = 0; k < r->npath; k++)
        unlink(r->path[k]);
    free(r);
}

static void outb(struct rig *r, uint16_t port, uint8_t v) { iobus_out(&r->io, port, 1, v); }
static void outw(struct rig *r, uint16_t port, uint16_t v) { iobus_out(&r->io, port, 2, v); }
static void outl(struct rig *r, uint16_t port, uint32_t v) { iobus_out(&r->io, port, 4, v); }
static uint8_t inb(struct rig *r, uint16_t port) { return (uint8_t)iobus_in(&r->io, port, 1); }
static uint16_t inw(struct rig *r, uint16_t port) { return (uint16_t)iobus_in(&r->io, port, 2); }
static uint32_t inl(struct rig *r, uint16_t port) { return iobus_in(&r->io, port, 4); }

/* Byte j of sector i of the test disks; each sector starts with its LBA. */
static uint8_t pattern(uint64_t lba, unsigned j)
{
    if (j < 8)
        return (uint8_t)(lba >> (8 * j));
    return (uint8_t)(lba * 7 + j * 13 + 1);
}

/* A temporary image of `bytes` bytes (sparse), `fill` sectors patterned. */
static const char *make_file(struct rig *r, uint64_t bytes, uint64_t fill, unsigned ssize)
{
    char *path = r->path[r->npath++];
    snprintf(path, 64, "/tmp/kestrel-ide-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)bytes), 0);
    uint8_t *s = malloc(ssize);
    for (uint64_t i = 0; i < fill; i++) {
        for (unsigned j = 0; j < ssize; j++)
            s[j] = pattern(i, j);
        ck_assert_int_eq(pwrite(fd, s, ssize, (off_t)(i * ssize)), (ssize_t)ssize);
    }
    free(s);
    close(fd);
    return path;
}

static void attach_disk(struct rig *r, int ch, int unit, uint64_t sectors, bool ro)
{
    const char *p = make_file(r, sectors * 512, sectors < 4096 ? sectors : 4096, 512);
    char err[256], warn[256];
    ck_assert_msg(!ide_attach_disk(&r->ide, ch, unit, p, ro, err, sizeof(err), warn, sizeof(warn)), "%s", err);
}

/* An ISO 9660 image: patterned sectors, a primary volume descriptor at 16
 * (ECMA-119 8.4: type 1, "CD001", version 1, volume space size both-endian
 * at 80, logical block size both-endian at 128) and the set terminator. */
static void attach_cd(struct rig *r, int ch, int unit, uint32_t sectors)
{
    const char *p = make_file(r, (uint64_t)sectors * 2048, sectors, 2048);
    uint8_t vd[2048] = { 1, 'C', 'D', '0', '0', '1', 1 };
    vd[80] = (uint8_t)sectors, vd[81] = (uint8_t)(sectors >> 8), vd[82] = (uint8_t)(sectors >> 16);
    vd[87] = (uint8_t)sectors, vd[86] = (uint8_t)(sectors >> 8), vd[85] = (uint8_t)(sectors >> 16);
    vd[129] = 0x08, vd[130] = 0x08; /* 2048 both-endian */
    int fd = open(p, O_WRONLY);
    ck_assert_int_eq(pwrite(fd, vd, sizeof(vd), 16 * 2048), 2048);
    uint8_t term[2048] = { 255, 'C', 'D', '0', '0', '1', 1 };
    ck_assert_int_eq(pwrite(fd, term, sizeof(term), 17 * 2048), 2048);
    close(fd);
    char err[256], warn[256];
    ck_assert_msg(!ide_attach_cdrom(&r->ide, ch, unit, p, err, sizeof(err), warn, sizeof(warn)), "%s", err);
}

static uint8_t cd_byte(uint64_t lba, unsigned j)
{
    return lba == 16 || lba == 17 ? 0 : pattern(lba, j); /* (callers avoid 16-17) */
}

/* Select a device and load an LBA28 command's registers, then the command. */
static void ata_cmd28(struct rig *r, uint16_t base, int dev, uint8_t feat, uint8_t count, uint32_t lba, uint8_t cmd)
{
    outb(r, base + 6, (uint8_t)(0xe0 | dev << 4 | ((lba >> 24) & 15)));
    outb(r, base + 1, feat);
    outb(r, base + 2, count);
    outb(r, base + 3, (uint8_t)lba);
    outb(r, base + 4, (uint8_t)(lba >> 8));
    outb(r, base + 5, (uint8_t)(lba >> 16));
    outb(r, base + 7, cmd);
}

/* LBA48: each register written twice, high-order byte first (6.20). */
static void ata_cmd48(struct rig *r, uint16_t base, uint16_t count, uint64_t lba, uint8_t cmd)
{
    outb(r, base + 6, 0x40);
    outb(r, base + 2, (uint8_t)(count >> 8));
    outb(r, base + 3, (uint8_t)(lba >> 24));
    outb(r, base + 4, (uint8_t)(lba >> 32));
    outb(r, base + 5, (uint8_t)(lba >> 40));
    outb(r, base + 2, (uint8_t)count);
    outb(r, base + 3, (uint8_t)lba);
    outb(r, base + 4, (uint8_t)(lba >> 8));
    outb(r, base + 5, (uint8_t)(lba >> 16));
    outb(r, base + 7, cmd);
}

static void read_words(struct rig *r, uint16_t base, uint8_t *buf, unsigned bytes)
{
    for (unsigned k = 0; k < bytes; k += 2) {
        uint16_t w = inw(r, base);
        buf[k] = (uint8_t)w;
        buf[k + 1] = (uint8_t)(w >> 8);
    }
}

static void check_sector(const uint8_t *buf, uint64_t lba)
{
    for (unsigned j = 0; j < 512; j++)
        ck_assert_msg(buf[j] == pattern(lba, j), "LBA %llu byte %u: %02x", (unsigned long long)lba, j, buf[j]);
}

static void get_string(const uint8_t *id, int word, int nwords, char *out)
{
    for (int k = 0; k < 2 * nwords; k++)
        out[k] = (char)id[2 * word + (k ^ 1)];
    out[2 * nwords] = 0;
    for (int k = 2 * nwords - 1; k >= 0 && out[k] == ' '; k--)
        out[k] = 0;
}

static uint16_t word(const uint8_t *id, int w)
{
    return (uint16_t)(id[2 * w] | id[2 * w + 1] << 8);
}

static void put_prd(struct rig *r, uint32_t prd, const uint32_t (*e)[2], int n);

/* ---- ATA ---- */

/* 9.12 signature after power-on; 8.15 IDENTIFY DEVICE through the PIO
 * data-in protocol (9.5): interrupt with DRQ, 256 words, DRQ clear after. */
START_TEST(ata_identify)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 20000, false);
    ck_assert_uint_eq(inb(r, P0 + 2), 1);
    ck_assert_uint_eq(inb(r, P0 + 3), 1);
    ck_assert_uint_eq(inb(r, P0 + 4), 0);
    ck_assert_uint_eq(inb(r, P0 + 5), 0);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRDY), ST_DRDY);
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xec);
    ck_assert_int_eq(r->irq[14], 1);
    ck_assert_uint_eq(inb(r, C0) & (ST_BSY | ST_DRQ), ST_DRQ); /* alternate status: no side effect */
    ck_assert_int_eq(r->irq[14], 1);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRQ | ST_ERR), ST_DRQ);
    ck_assert_int_eq(r->irq[14], 0); /* reading status clears INTRQ */
    uint8_t id[512];
    read_words(r, P0, id, 512);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRQ | ST_DRDY), ST_DRDY);
    ck_assert_int_eq(r->irq[14], 0);
    ck_assert_uint_eq(word(id, 0) & 0x8000, 0);           /* ATA device */
    ck_assert_uint_eq(word(id, 1), 20000 / (16 * 63));    /* default CHS */
    ck_assert_uint_eq(word(id, 3), 16);
    ck_assert_uint_eq(word(id, 6), 63);
    ck_assert_uint_eq(word(id, 47) & 0xff, 16);           /* READ/WRITE MULTIPLE maximum */
    ck_assert_uint_eq(word(id, 49) & 0x0300, 0x0300);     /* LBA and DMA */
    ck_assert_uint_eq(word(id, 53) & 7, 7);
    ck_assert_uint_eq(word(id, 60) | (uint32_t)word(id, 61) << 16, 20000);
    ck_assert_uint_eq(word(id, 63) & 7, 7);               /* MWDMA 0-2 */
    ck_assert_uint_eq(word(id, 64) & 3, 3);               /* PIO 3, 4 */
    ck_assert_uint_eq(word(id, 83) & 0xc400, 0x4400);     /* 48-bit address feature set */
    ck_assert_uint_eq(word(id, 86) & 0x0400, 0x0400);
    ck_assert_uint_eq(word(id, 88) & 0x3f, 0x3f);         /* UDMA 0-5 */
    ck_assert_uint_eq(word(id, 100) | (uint32_t)word(id, 101) << 16, 20000);
    ck_assert_uint_eq(word(id, 102) | word(id, 103), 0);
    char model[41], serial[21];
    get_string(id, 27, 20, model);
    get_string(id, 10, 10, serial);
    ck_assert_str_eq(model, "KESTREL HARDDISK");          /* ATA strings: first character in bits 15:8 */
    ck_assert_uint_gt(strlen(serial), 0);
    /* Word 255: signature A5h, and the 512 bytes sum to zero (8.15). */
    ck_assert_uint_eq(id[510], 0xa5);
    uint8_t sum = 0;
    for (int k = 0; k < 512; k++)
        sum = (uint8_t)(sum + id[k]);
    ck_assert_uint_eq(sum, 0);
    /* No device 1: its status and error read 0 while the shared registers
     * keep what was written. */
    outb(r, P0 + 6, 0xb0);
    ck_assert_uint_eq(inb(r, P0 + 7), 0);
    outb(r, P0 + 2, 0x55);
    ck_assert_uint_eq(inb(r, P0 + 2), 0x55);
    outb(r, P0 + 7, 0xec); /* ignored: nobody answers */
    ck_assert_uint_eq(inb(r, C0), 0);
    ck_assert_int_eq(r->irq[14], 0);
    rig_free(r);
}
END_TEST

/* READ SECTOR(S) (8.35), PIO data-in (9.5): an interrupt before each
 * sector, the data, no interrupt after the last; LBA28 and CHS addresses. */
START_TEST(ata_pio_read)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 4000, false);
    uint8_t buf[512];
    ata_cmd28(r, P0, 0, 0, 3, 5, 0x20);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(r->irq[14], 1);
        ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRQ | ST_ERR), ST_DRQ);
        read_words(r, P0, buf, 512);
        check_sector(buf, 5 + (unsigned)k);
    }
    ck_assert_int_eq(r->irq[14], 0);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRQ | ST_ERR), 0);
    /* 32-bit data port accesses move two words each (PIIX). */
    ata_cmd28(r, P0, 0, 0, 1, 7, 0x20);
    inb(r, P0 + 7);
    for (int k = 0; k < 512; k += 4) {
        uint32_t v = inl(r, P0);
        memcpy(buf + k, &v, 4);
    }
    check_sector(buf, 7);
    /* CHS through INITIALIZE DEVICE PARAMETERS (8.19): 4 heads, 17 sectors;
     * C/H/S 2/3/5 is LBA (2*4 + 3)*17 + 4 = 191. */
    outb(r, P0 + 2, 17);
    outb(r, P0 + 6, 0xa0 | 3);
    outb(r, P0 + 7, 0x91);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), 0);
    outb(r, P0 + 6, 0xa0 | 3);
    outb(r, P0 + 2, 1);
    outb(r, P0 + 3, 5);
    outb(r, P0 + 4, 2);
    outb(r, P0 + 5, 0);
    outb(r, P0 + 7, 0x20);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_DRQ);
    read_words(r, P0, buf, 512);
    check_sector(buf, 191);
    /* Sector number 0 does not exist in CHS: ID not found. */
    outb(r, P0 + 6, 0xa0);
    outb(r, P0 + 3, 0);
    outb(r, P0 + 7, 0x20);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_IDNF);
    /* INITIALIZE DEVICE PARAMETERS with 0 sectors per track is aborted. */
    outb(r, P0 + 2, 0);
    outb(r, P0 + 7, 0x91);
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_ABRT);
    rig_free(r);
}
END_TEST

/* WRITE SECTOR(S) (8.62), PIO data-out (9.6): the first DRQ without an
 * interrupt, an interrupt after each sector; the data reach the file;
 * FLUSH CACHE (8.12) completes. */
START_TEST(ata_pio_write)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 1, 4000, false); /* device 1 this time */
    ata_cmd28(r, P0, 1, 0, 2, 100, 0x30);
    ck_assert_int_eq(r->irq[14], 0);
    ck_assert_uint_eq(inb(r, C0) & (ST_BSY | ST_DRQ), ST_DRQ);
    for (int s = 0; s < 2; s++) {
        for (int k = 0; k < 256; k++)
            outw(r, P0, (uint16_t)(0xa500 + s * 256 + k));
        ck_assert_int_eq(r->irq[14], 1);
        uint8_t st = inb(r, P0 + 7);
        ck_assert_uint_eq(st & (ST_BSY | ST_DRQ | ST_ERR), s == 0 ? ST_DRQ : 0);
    }
    ata_cmd28(r, P0, 1, 0, 0, 0, 0xe7);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ | ST_DRDY), ST_DRDY);
    int fd = open(r->path[0], O_RDONLY);
    uint16_t w[512];
    ck_assert_int_eq(pread(fd, w, sizeof(w), 100 * 512), (ssize_t)sizeof(w));
    close(fd);
    for (int k = 0; k < 512; k++)
        ck_assert_uint_eq(w[k], 0xa500 + (k / 256) * 256 + k % 256);
    rig_free(r);
}
END_TEST

/* SET MULTIPLE MODE (8.49) and READ MULTIPLE (8.31): DRQ blocks of the set
 * size, the last one shorter; an unsupported size is aborted and disables
 * the MULTIPLE commands. */
START_TEST(ata_multiple)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 4000, false);
    ata_cmd28(r, P0, 0, 0, 4, 0, 0xc6);
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, 0);
    ata_cmd28(r, P0, 0, 0, 10, 40, 0xc4);
    uint8_t buf[4 * 512];
    int blocks[] = { 4, 4, 2 };
    uint64_t lba = 40;
    for (int b = 0; b < 3; b++) {
        ck_assert_int_eq(r->irq[14], 1);
        ck_assert_uint_eq(inb(r, P0 + 7) & (ST_DRQ | ST_ERR), ST_DRQ);
        read_words(r, P0, buf, (unsigned)blocks[b] * 512);
        for (int s = 0; s < blocks[b]; s++)
            check_sector(buf + 512 * s, lba++);
    }
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_DRQ, 0);
    /* WRITE MULTIPLE (8.60): 6 sectors as blocks of 4 and 2; the first
     * block without an interrupt, one after each block (9.6). */
    ata_cmd28(r, P0, 0, 0, 6, 500, 0xc5);
    ck_assert_int_eq(r->irq[14], 0);
    for (int b = 0; b < 2; b++) {
        ck_assert_uint_eq(inb(r, C0) & (ST_DRQ | ST_ERR), ST_DRQ);
        for (int k = 0; k < (b ? 2 : 4) * 256; k++)
            outw(r, P0, (uint16_t)(b * 0x1000 + k));
        ck_assert_int_eq(r->irq[14], 1);
        inb(r, P0 + 7);
    }
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_DRQ | ST_ERR), 0);
    int fd = open(r->path[0], O_RDONLY);
    uint16_t w[6 * 256];
    ck_assert_int_eq(pread(fd, w, sizeof(w), 500 * 512), (ssize_t)sizeof(w));
    close(fd);
    for (int k = 0; k < 6 * 256; k++)
        ck_assert_uint_eq(w[k], k < 1024 ? k : 0x1000 + k - 1024);
    /* IDENTIFY word 59: multiple setting valid, 4 sectors. */
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xec);
    uint8_t id[512];
    read_words(r, P0, id, 512);
    ck_assert_uint_eq(word(id, 59), 0x0104);
    ata_cmd28(r, P0, 0, 0, 3, 0, 0xc6);
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_ABRT);
    ata_cmd28(r, P0, 0, 0, 1, 0, 0xc4);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    rig_free(r);
}
END_TEST

/* 48-bit addresses (6.20, READ SECTOR(S) EXT 8.36): a sector beyond the
 * LBA28 range of a (sparse) 128 GiB + 64 KiB image; the HOB bit of device
 * control reads the older byte of each register pair; IDENTIFY words
 * 60-61 saturate at 0FFFFFFFh while 100-103 hold the whole size. */
START_TEST(ata_lba48)
{
    struct rig *r = rig_new();
    uint64_t sectors = (1ull << 28) + 128, lba = (1ull << 28) + 100;
    attach_disk(r, 1, 0, sectors, false);
    int fd = open(r->path[0], O_WRONLY);
    uint8_t s[512];
    for (unsigned j = 0; j < 512; j++)
        s[j] = pattern(lba, j);
    ck_assert_int_eq(pwrite(fd, s, 512, (off_t)(lba * 512)), 512);
    close(fd);
    ata_cmd28(r, P1, 0, 0, 0, 0, 0xec);
    uint8_t id[512];
    read_words(r, P1, id, 512);
    ck_assert_uint_eq(word(id, 60) | (uint32_t)word(id, 61) << 16, 0x0fffffff);
    uint64_t n = 0;
    for (int w = 0; w < 4; w++)
        n |= (uint64_t)word(id, 100 + w) << (16 * w);
    ck_assert_uint_eq(n, sectors);
    ata_cmd48(r, P1, 1, lba, 0x24);
    ck_assert_int_eq(r->irq[15], 1);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_DRQ | ST_ERR), ST_DRQ);
    uint8_t buf[512];
    read_words(r, P1, buf, 512);
    check_sector(buf, lba);
    /* The address registers hold the sector transferred; HOB reads bits 47:24. */
    ck_assert_uint_eq(inb(r, P1 + 3), (uint8_t)lba);
    outb(r, C1, DC_HOB);
    ck_assert_uint_eq(inb(r, P1 + 3), (uint8_t)(lba >> 24));
    ck_assert_uint_eq(inb(r, P1 + 4), (uint8_t)(lba >> 32));
    outb(r, C1, 0);
    /* Any command-block write clears HOB. */
    outb(r, C1, DC_HOB);
    outb(r, P1 + 1, 0);
    ck_assert_uint_eq(inb(r, P1 + 3), (uint8_t)lba);
    /* WRITE SECTOR(S) EXT (8.63), then READ DMA EXT (8.27) of it, READ
     * VERIFY SECTOR(S) EXT (8.38) and FLUSH CACHE EXT (8.13). */
    ata_cmd48(r, P1, 1, lba + 1, 0x34);
    for (int k = 0; k < 256; k++)
        outw(r, P1, (uint16_t)(0x4800 + k));
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_DRQ | ST_ERR), 0);
    uint32_t prd[1][2] = { { 0x8000, 512 } };
    put_prd(r, 0x7000, prd, 1);
    outl(r, BM + 8 + 4, 0x7000);
    outb(r, BM + 8 + 2, BM_ST_INTR);
    ata_cmd48(r, P1, 1, lba + 1, 0x25);
    outb(r, BM + 8, BM_CMD_WRITE | BM_CMD_START);
    ck_assert_uint_eq(inb(r, BM + 8 + 2) & (BM_ST_INTR | BM_ST_ACTIVE), BM_ST_INTR);
    outb(r, BM + 8, 0);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_DRQ | ST_ERR), 0);
    for (int k = 0; k < 256; k++)
        ck_assert_uint_eq(phys_read(&r->mem, 0x8000 + 2u * (unsigned)k, 2), 0x4800 + k);
    ata_cmd48(r, P1, 28, sectors - 28, 0x42);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_DRQ | ST_ERR), 0);
    ata_cmd48(r, P1, 0, 0, 0xea);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_DRQ | ST_ERR), 0);
    /* SEEK (obsolete in ATA-6 but still issued): in range or IDNF. */
    ata_cmd28(r, P1, 0, 0, 0, 0x0ffffff0, 0x70);
    ck_assert_uint_eq(inb(r, P1 + 7) & ST_ERR, 0);
    /* Past the end: IDNF, the LBA registers point at the first missing sector. */
    ata_cmd48(r, P1, 30, sectors - 2, 0x24);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(inb(r, P1 + 1), ER_IDNF);
    ck_assert_uint_eq(inb(r, P1 + 3), (uint8_t)sectors);
    outb(r, C1, DC_HOB);
    ck_assert_uint_eq(inb(r, P1 + 3), (uint8_t)(sectors >> 24));
    outb(r, C1, 0);
    rig_free(r);
}
END_TEST

/* PRD table at `prd` with `n` entries {addr, len}; the last has EOT. */
static void put_prd(struct rig *r, uint32_t prd, const uint32_t (*e)[2], int n)
{
    for (int k = 0; k < n; k++) {
        phys_write(&r->mem, prd + 8u * (unsigned)k, 4, e[k][0]);
        phys_write(&r->mem, prd + 8u * (unsigned)k + 4, 4, (e[k][1] & 0xffff) | (k == n - 1 ? 0x80000000u : 0));
    }
}

static int code_writes;
static void code_hook(void *opaque, uint64_t paddr, unsigned len)
{
    (void)opaque, (void)paddr, (void)len;
    code_writes++;
}

/* READ DMA / WRITE DMA (8.26, 8.55) through the bus master (82371AB 2.7):
 * PRD tables in guest memory, start/stop, and the status register's
 * interrupt/active combinations for exact, longer and shorter tables. */
START_TEST(ata_dma)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 4000, false);
    struct code_hook hook = { code_hook, NULL };
    ck_assert_int_eq(phys_add_hook(&r->mem, &hook), 0);
    phys_mark_code(&r->mem, 0x20000);
    /* 8 sectors into two regions, 64 KiB entry count encoded as 0. */
    uint32_t prd1[2][2] = { { 0x10000, 1536 }, { 0x20000, 2560 } };
    put_prd(r, 0x1000, prd1, 2);
    outl(r, BM + 4, 0x1000);
    outb(r, BM + 2, BM_ST_INTR | BM_ST_ERROR); /* clear */
    outb(r, BM, BM_CMD_WRITE);
    code_writes = 0;
    ata_cmd28(r, P0, 0, 0, 8, 20, 0xc8);
    ck_assert_int_eq(r->irq[14], 0); /* nothing moves before the engine starts */
    ck_assert_uint_eq(inb(r, C0) & ST_DRQ, ST_DRQ);
    outb(r, BM, BM_CMD_WRITE | BM_CMD_START);
    ck_assert_int_eq(r->irq[14], 1);
    ck_assert_uint_eq(inb(r, BM + 2) & (BM_ST_INTR | BM_ST_ACTIVE | BM_ST_ERROR), BM_ST_INTR);
    outb(r, BM, BM_CMD_WRITE);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRQ | ST_ERR), 0);
    uint8_t buf[4096];
    phys_read_buf(&r->mem, 0x10000, buf, 1536);
    phys_read_buf(&r->mem, 0x20000, buf + 1536, 2560);
    for (int s = 0; s < 8; s++)
        check_sector(buf + 512 * s, 20 + (unsigned)s);
    ck_assert_int_gt(code_writes, 0); /* DMA into a code page invalidates it */
    outb(r, BM + 2, BM_ST_INTR);
    ck_assert_uint_eq(inb(r, BM + 2) & BM_ST_INTR, 0);

    /* WRITE DMA from memory to sectors 300..303. */
    for (int k = 0; k < 2048; k++)
        phys_write(&r->mem, 0x30000 + (unsigned)k, 1, (uint8_t)(k * 3 + 1));
    uint32_t prd2[1][2] = { { 0x30000, 2048 } };
    put_prd(r, 0x1100, prd2, 1);
    outl(r, BM + 4, 0x1100);
    outb(r, BM, 0);
    ata_cmd28(r, P0, 0, 0, 4, 300, 0xca);
    outb(r, BM, BM_CMD_START);
    ck_assert_uint_eq(inb(r, BM + 2) & (BM_ST_INTR | BM_ST_ACTIVE), BM_ST_INTR);
    outb(r, BM, 0);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_DRQ | ST_ERR), 0);
    int fd = open(r->path[0], O_RDONLY);
    ck_assert_int_eq(pread(fd, buf, 2048, 300 * 512), 2048);
    close(fd);
    for (int k = 0; k < 2048; k++)
        ck_assert_uint_eq(buf[k], (uint8_t)(k * 3 + 1));

    /* A table longer than the transfer: interrupt with active still set. */
    uint32_t prd3[1][2] = { { 0x40000, 0 } }; /* 64 KiB */
    put_prd(r, 0x1200, prd3, 1);
    outl(r, BM + 4, 0x1200);
    outb(r, BM + 2, BM_ST_INTR);
    outb(r, BM, BM_CMD_WRITE | BM_CMD_START); /* started before the command this time */
    ata_cmd28(r, P0, 0, 0, 2, 0, 0xc8);
    ck_assert_uint_eq(inb(r, BM + 2) & (BM_ST_INTR | BM_ST_ACTIVE), BM_ST_INTR | BM_ST_ACTIVE);
    outb(r, BM, BM_CMD_WRITE);
    ck_assert_uint_eq(inb(r, BM + 2) & BM_ST_ACTIVE, 0);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_DRQ | ST_ERR), 0);
    phys_read_buf(&r->mem, 0x40000, buf, 1024);
    check_sector(buf, 0);
    check_sector(buf + 512, 1);

    /* A table shorter than the transfer: no interrupt, not active, and the
     * device still waits with DRQ. */
    uint32_t prd4[1][2] = { { 0x50000, 512 } };
    put_prd(r, 0x1300, prd4, 1);
    outl(r, BM + 4, 0x1300);
    outb(r, BM + 2, BM_ST_INTR);
    inb(r, P0 + 7);
    ata_cmd28(r, P0, 0, 0, 4, 0, 0xc8);
    outb(r, BM, BM_CMD_WRITE | BM_CMD_START);
    ck_assert_uint_eq(inb(r, BM + 2) & (BM_ST_INTR | BM_ST_ACTIVE), 0);
    ck_assert_int_eq(r->irq[14], 0);
    ck_assert_uint_eq(inb(r, C0) & ST_DRQ, ST_DRQ);
    outb(r, BM, BM_CMD_WRITE);

    /* Without bus-master enable in the PCI command register nothing moves. */
    pci_config_write(&r->bus, 0x09, 0x04, 2, PCI_CMD_IO);
    phys_write(&r->mem, 0x60000, 4, 0xdeadbeef);
    uint32_t prd5[1][2] = { { 0x60000, 512 } };
    put_prd(r, 0x1400, prd5, 1);
    outl(r, BM + 4, 0x1400);
    ata_cmd28(r, P0, 0, 0, 1, 3, 0xc8);
    outb(r, BM, BM_CMD_WRITE | BM_CMD_START);
    ck_assert_uint_eq(phys_read(&r->mem, 0x60000, 4), 0xdeadbeef);
    ck_assert_uint_eq(inb(r, BM + 2) & (BM_ST_INTR | BM_ST_ACTIVE), BM_ST_ACTIVE);
    outb(r, BM, BM_CMD_WRITE);
    /* The PRD pointer is dword aligned, and registers read back. */
    outl(r, BM + 4, 0x12347);
    ck_assert_uint_eq(inl(r, BM + 4), 0x12344);
    rig_free(r);
}
END_TEST

/* Error semantics: ABRT for unknown commands (and NOP, 8.23), IDNF past
 * the end, ABRT for writes to a read-only image (file untouched), READ
 * VERIFY (8.37), CHECK POWER MODE (8.7), SET FEATURES (8.46). */
START_TEST(ata_errors)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 1000, true);
    ata_cmd28(r, P0, 0, 0, 1, 0, 0x00);
    ck_assert_int_eq(r->irq[14], 1);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRDY | ST_DRQ | ST_BSY), ST_ERR | ST_DRDY);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_ABRT);
    ata_cmd28(r, P0, 0, 0, 1, 0, 0xfe);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_ABRT);
    ata_cmd28(r, P0, 0, 0, 2, 999, 0x20); /* 999 exists, 1000 does not */
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_IDNF);
    ck_assert_uint_eq(inb(r, P0 + 3) | inb(r, P0 + 4) << 8, 1000);
    ata_cmd28(r, P0, 0, 0, 1, 999, 0x20);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_DRQ);
    ata_cmd28(r, P0, 0, 0, 1, 5, 0x30);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_ABRT);
    ata_cmd28(r, P0, 0, 0, 1, 5, 0xca);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    ata_cmd28(r, P0, 0, 0, 10, 990, 0x40);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_DRQ), 0);
    ata_cmd28(r, P0, 0, 0, 11, 990, 0x40);
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_IDNF);
    ata_cmd28(r, P0, 0, 0, 0, 999, 0x70); /* SEEK */
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, 0);
    ata_cmd28(r, P0, 0, 0, 0, 1000, 0x70);
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, ST_ERR);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_IDNF);
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xe0); /* STANDBY IMMEDIATE */
    ata_cmd28(r, P0, 0, 0, 0x42, 0, 0xe5);
    ck_assert_uint_eq(inb(r, P0 + 2), 0x00);
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xe1); /* IDLE IMMEDIATE */
    ata_cmd28(r, P0, 0, 0, 0x42, 0, 0xe5);
    ck_assert_uint_eq(inb(r, P0 + 2), 0xff);
    /* SET FEATURES: UDMA 5 is shown selected in word 88; MWDMA 3 does not exist. */
    ata_cmd28(r, P0, 0, 0x03, 0x45, 0, 0xef);
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, 0);
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xec);
    uint8_t id[512];
    read_words(r, P0, id, 512);
    ck_assert_uint_eq(word(id, 88), 0x203f);
    ck_assert_uint_eq(word(id, 63) & 0x0700, 0);
    ata_cmd28(r, P0, 0, 0x03, 0x23, 0, 0xef);
    ck_assert_uint_eq(inb(r, P0 + 1), ER_ABRT);
    ata_cmd28(r, P0, 0, 0x82, 0, 0, 0xef); /* write cache off */
    ck_assert_uint_eq(inb(r, P0 + 7) & ST_ERR, 0);
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xec);
    read_words(r, P0, id, 512);
    ck_assert_uint_eq(word(id, 85) & 0x20, 0);
    /* The file is unchanged by the refused writes. */
    int fd = open(r->path[0], O_RDONLY);
    uint8_t buf[512];
    ck_assert_int_eq(pread(fd, buf, 512, 5 * 512), 512);
    close(fd);
    check_sector(buf, 5);
    rig_free(r);
}
END_TEST

/* Software reset (9.2): SRST keeps the devices busy; releasing it leaves
 * the signatures, diagnostic code 01h, device 0 selected and no
 * interrupt. nIEN masks INTRQ; EXECUTE DEVICE DIAGNOSTIC (8.11, 9.10)
 * interrupts with code 01h. */
START_TEST(ata_reset_and_nien)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 1000, false);
    attach_cd(r, 0, 1, 64);
    ata_cmd28(r, P0, 0, 0, 1, 0, 0x20); /* a transfer in progress */
    outb(r, C0, DC_SRST);
    ck_assert_uint_eq(inb(r, C0) & ST_BSY, ST_BSY);
    outb(r, C0, 0);
    ck_assert_int_eq(r->irq[14], 0);
    ck_assert_uint_eq(inb(r, P0 + 6) & DEV_DEV, 0);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_BSY | ST_DRQ | ST_DRDY), ST_DRDY);
    ck_assert_uint_eq(inb(r, P0 + 1), 0x01);
    ck_assert_uint_eq(inb(r, P0 + 2), 1);
    ck_assert_uint_eq(inb(r, P0 + 3), 1);
    ck_assert_uint_eq(inb(r, P0 + 4) | inb(r, P0 + 5) << 8, 0x0000);
    outb(r, P0 + 6, 0xb0);
    ck_assert_uint_eq(inb(r, P0 + 7), 0x00); /* packet devices leave DRDY clear */
    ck_assert_uint_eq(inb(r, P0 + 4) | inb(r, P0 + 5) << 8, 0xeb14);
    /* nIEN: the interrupt stays pending but the line is not driven. */
    outb(r, C0, DC_NIEN);
    ata_cmd28(r, P0, 0, 0, 0, 0, 0xe1);
    ck_assert_int_eq(r->irq[14], 0);
    outb(r, C0, 0);
    ck_assert_int_eq(r->irq[14], 1);
    inb(r, P0 + 7);
    ck_assert_int_eq(r->irq[14], 0);
    outb(r, P0 + 6, 0xa0);
    outb(r, P0 + 7, 0x90);
    ck_assert_int_eq(r->irq[14], 1);
    ck_assert_uint_eq(inb(r, P0 + 1), 0x01);
    ck_assert_uint_eq(inb(r, P0 + 7) & (ST_ERR | ST_BSY), 0);
    rig_free(r);
}
END_TEST

/* ---- ATAPI ---- */

static uint8_t packet(struct rig *r, uint16_t base, int dev, const uint8_t *cdb, uint16_t bcl, bool dma)
{
    outb(r, base + 6, (uint8_t)(0xa0 | dev << 4));
    outb(r, base + 1, dma ? 1 : 0);
    outb(r, base + 4, (uint8_t)bcl);
    outb(r, base + 5, (uint8_t)(bcl >> 8));
    outb(r, base + 7, 0xa0);
    /* 9.8: DRQ with C/D=1, I/O=0 asks for the packet; no interrupt yet. */
    uint8_t st = inb(r, base + 7);
    ck_assert_uint_eq(st & (ST_BSY | ST_DRQ), ST_DRQ);
    ck_assert_uint_eq(inb(r, base + 2) & 3, IR_COD);
    for (int k = 0; k < 12; k += 2)
        outw(r, base, (uint16_t)(cdb[k] | cdb[k + 1] << 8));
    return st;
}

/* Run a PIO data-in packet command to completion: each DRQ block comes
 * with an interrupt, I/O=1 C/D=0 and its length in LBA mid/high; the end
 * is an interrupt with I/O=1 C/D=1. Returns the bytes received, or -1
 * with CHECK CONDITION (the error register in *err). */
static int packet_in(struct rig *r, uint16_t base, int dev, const uint8_t *cdb, uint16_t bcl, uint8_t *buf,
                     int max, uint8_t *err, int *blocks)
{
    int irq = base == P0 ? 14 : 15, total = 0, nblocks = 0;
    bool odd = false;
    packet(r, base, dev, cdb, bcl, false);
    for (;;) {
        ck_assert_int_eq(r->irq[irq], 1);
        uint8_t st = inb(r, base + 7);
        ck_assert_int_eq(r->irq[irq], 0);
        ck_assert_uint_eq(st & ST_BSY, 0);
        if (!(st & ST_DRQ)) {
            ck_assert_uint_eq(inb(r, base + 2) & 3, IR_IO | IR_COD);
            if (blocks)
                *blocks = nblocks;
            if (st & ST_ERR) {
                *err = inb(r, base + 1);
                return -1;
            }
            return total;
        }
        ck_assert_uint_eq(inb(r, base + 2) & 3, IR_IO);
        int n = inb(r, base + 4) | inb(r, base + 5) << 8;
        ck_assert_int_gt(n, 0);
        ck_assert_int_le(n, bcl ? bcl : 0xfffe);
        ck_assert(!odd); /* only the last block may have an odd length */
        odd = n & 1;
        ck_assert_int_le(total + n, max);
        read_words(r, base, buf + total, (unsigned)(n + 1) & ~1u);
        total += n;
        nblocks++;
    }
}

struct sense {
    uint8_t key, asc, ascq;
};

static struct sense request_sense(struct rig *r, uint16_t base, int dev)
{
    uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 }, buf[64], err = 0;
    int n = packet_in(r, base, dev, cdb, 64, buf, sizeof(buf), &err, NULL);
    ck_assert_int_eq(n, 18);
    ck_assert_uint_eq(buf[0] & 0x7f, 0x70); /* SPC-2: current error, fixed format */
    ck_assert_uint_eq(buf[7], 10);
    return (struct sense){ (uint8_t)(buf[2] & 15), buf[12], buf[13] };
}

/* Expect CHECK CONDITION with this sense (key also in error bits 7:4). */
static void expect_check(struct rig *r, uint16_t base, int dev, const uint8_t *cdb, uint8_t key, uint8_t asc,
                         uint8_t ascq)
{
    uint8_t buf[256], err = 0;
    ck_assert_int_eq(packet_in(r, base, dev, cdb, 256, buf, sizeof(buf), &err, NULL), -1);
    ck_assert_uint_eq(err >> 4, key);
    struct sense s = request_sense(r, base, dev);
    ck_assert_uint_eq(s.key, key);
    ck_assert_uint_eq(s.asc, asc);
    ck_assert_uint_eq(s.ascq, ascq);
}

/* After power-on: the reset, then the disc becoming ready (SPC-2 unit
 * attention, reported to TEST UNIT READY one at a time). */
static void clear_ua(struct rig *r)
{
    uint8_t tur[12] = { 0x00 };
    expect_check(r, P1, 0, tur, 6, 0x29, 0x00);
    expect_check(r, P1, 0, tur, 6, 0x28, 0x00);
}

static int good(struct rig *r, const uint8_t *cdb, uint8_t *buf, int max, uint16_t bcl)
{
    uint8_t err = 0;
    int n = packet_in(r, P1, 0, cdb, bcl, buf, max, &err, NULL);
    ck_assert_msg(n >= 0, "command %02x failed, error %02x", cdb[0], err);
    return n;
}

/* Signature, IDENTIFY DEVICE refused with the signature, IDENTIFY PACKET
 * DEVICE (8.16), the unit attention after power-on (SPC-2: reported once,
 * not to INQUIRY), INQUIRY, READ CAPACITY. */
START_TEST(atapi_identify_and_sense)
{
    struct rig *r = rig_new();
    attach_cd(r, 1, 0, 300);
    ck_assert_uint_eq(inb(r, P1 + 4) | inb(r, P1 + 5) << 8, 0xeb14);
    ata_cmd28(r, P1, 0, 0, 0, 0, 0xec);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_ERR | ST_DRQ), ST_ERR);
    ck_assert_uint_eq(inb(r, P1 + 1), ER_ABRT);
    ck_assert_uint_eq(inb(r, P1 + 4) | inb(r, P1 + 5) << 8, 0xeb14);
    ata_cmd28(r, P1, 0, 0, 0, 0, 0xa1);
    ck_assert_int_eq(r->irq[15], 1);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_ERR | ST_DRQ), ST_DRQ);
    uint8_t id[512];
    read_words(r, P1, id, 512);
    ck_assert_uint_eq(word(id, 0), 0x85c0); /* ATAPI, CD-ROM set, removable, 12-byte packets */
    ck_assert_uint_eq(word(id, 49) & 0x0300, 0x0300);
    ck_assert_uint_eq(word(id, 82) & 0x0010, 0x0010); /* PACKET feature set */
    char model[41];
    get_string(id, 27, 20, model);
    ck_assert_str_eq(model, "KESTREL CD-ROM");
    uint8_t sum = 0;
    for (int k = 0; k < 512; k++)
        sum = (uint8_t)(sum + id[k]);
    ck_assert_uint_eq(sum, 0);

    uint8_t buf[256];
    uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
    ck_assert_int_eq(good(r, inquiry, buf, sizeof(buf), 256), 36);
    ck_assert_uint_eq(buf[0], 0x05); /* CD/DVD */
    ck_assert_uint_eq(buf[1], 0x80); /* removable */
    ck_assert_int_eq(memcmp(buf + 8, "KESTREL ", 8), 0);
    uint8_t tur[12] = { 0x00 };
    expect_check(r, P1, 0, tur, 6, 0x29, 0x00); /* power on, reset */
    expect_check(r, P1, 0, tur, 6, 0x28, 0x00); /* not ready to ready: the disc */
    ck_assert_int_eq(good(r, tur, buf, sizeof(buf), 256), 0);
    struct sense s = request_sense(r, P1, 0);
    ck_assert_uint_eq(s.key, 0);
    uint8_t cap[12] = { 0x25 };
    ck_assert_int_eq(good(r, cap, buf, sizeof(buf), 256), 8);
    ck_assert_uint_eq((uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], 299);
    ck_assert_uint_eq((uint32_t)buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], 2048);
    /* The allocation length cuts the reply. */
    inquiry[4] = 5;
    ck_assert_int_eq(good(r, inquiry, buf, sizeof(buf), 256), 5);
    uint8_t bad[12] = { 0xff };
    expect_check(r, P1, 0, bad, 5, 0x20, 0x00); /* invalid command operation code */
    rig_free(r);
}
END_TEST

static void check_cd_sector(const uint8_t *buf, uint64_t lba)
{
    for (unsigned j = 0; j < 2048; j++)
        ck_assert_msg(buf[j] == cd_byte(lba, j), "LBA %llu byte %u", (unsigned long long)lba, j);
}

/* READ(10)/READ(12) (MMC-3) by PIO: DRQ blocks no longer than the byte
 * count limit, even unless last (ATA/ATAPI-6 8.24); past the end: ILLEGAL
 * REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE. */
START_TEST(atapi_read_pio)
{
    struct rig *r = rig_new();
    attach_cd(r, 1, 0, 300);
    uint8_t buf[8 * 2048], err;
    clear_ua(r);
    uint8_t rd10[12] = { 0x28, 0, 0, 0, 0, 20, 0, 0, 3 };
    int blocks;
    ck_assert_int_eq(packet_in(r, P1, 0, rd10, 2048, buf, sizeof(buf), &err, &blocks), 3 * 2048);
    ck_assert_int_eq(blocks, 3);
    for (int k = 0; k < 3; k++)
        check_cd_sector(buf + 2048 * k, 20 + (unsigned)k);
    /* Odd limit 0x801: blocks of 0x800. Limit 0x1000: two sectors each. */
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(packet_in(r, P1, 0, rd10, 0x801, buf, sizeof(buf), &err, &blocks), 3 * 2048);
    ck_assert_int_eq(blocks, 3);
    for (int k = 0; k < 3; k++)
        check_cd_sector(buf + 2048 * k, 20 + (unsigned)k);
    ck_assert_int_eq(packet_in(r, P1, 0, rd10, 0x1000, buf, sizeof(buf), &err, &blocks), 3 * 2048);
    ck_assert_int_eq(blocks, 2);
    check_cd_sector(buf + 2 * 2048, 22);
    /* A limit of 1000 bytes splits sectors. */
    ck_assert_int_eq(packet_in(r, P1, 0, rd10, 1000, buf, sizeof(buf), &err, &blocks), 3 * 2048);
    ck_assert_int_eq(blocks, 7);
    for (int k = 0; k < 3; k++)
        check_cd_sector(buf + 2048 * k, 20 + (unsigned)k);
    uint8_t rd12[12] = { 0xa8, 0, 0, 0, 1, 0x2a, 0, 0, 0, 2 }; /* LBA 298, 2 blocks: the last two */
    ck_assert_int_eq(good(r, rd12, buf, sizeof(buf), 0xfffe), 2 * 2048);
    check_cd_sector(buf, 298);
    check_cd_sector(buf + 2048, 299);
    rd12[9] = 3;
    expect_check(r, P1, 0, rd12, 5, 0x21, 0);
    uint8_t zero[12] = { 0x28, 0, 0, 0, 0, 20 }; /* no blocks: nothing to transfer */
    ck_assert_int_eq(good(r, zero, buf, sizeof(buf), 2048), 0);
    rig_free(r);
}
END_TEST

/* READ(12) by DMA: features bit 0, the bus master moves the data, only
 * the completion interrupts. */
START_TEST(atapi_read_dma)
{
    struct rig *r = rig_new();
    attach_cd(r, 1, 0, 300);
    clear_ua(r);
    uint32_t prd[2][2] = { { 0x100000, 4096 }, { 0x200000, 0 } }; /* 4 KiB + 64 KiB */
    put_prd(r, 0x1000, prd, 2);
    outl(r, BM + 8 + 4, 0x1000);
    outb(r, BM + 8 + 2, BM_ST_INTR);
    outb(r, BM + 8, BM_CMD_WRITE);
    uint8_t rd12[12] = { 0xa8, 0, 0, 0, 0, 100, 0, 0, 0, 34 }; /* 68 KiB */
    packet(r, P1, 0, rd12, 0, true);
    ck_assert_int_eq(r->irq[15], 0);
    outb(r, BM + 8, BM_CMD_WRITE | BM_CMD_START);
    ck_assert_int_eq(r->irq[15], 1);
    ck_assert_uint_eq(inb(r, BM + 8 + 2) & (BM_ST_INTR | BM_ST_ACTIVE), BM_ST_INTR);
    outb(r, BM + 8, BM_CMD_WRITE);
    ck_assert_uint_eq(inb(r, P1 + 7) & (ST_ERR | ST_DRQ), 0);
    ck_assert_uint_eq(inb(r, P1 + 2) & 3, IR_IO | IR_COD);
    uint8_t *buf = malloc(34 * 2048);
    phys_read_buf(&r->mem, 0x100000, buf, 4096);
    phys_read_buf(&r->mem, 0x200000, buf + 4096, 32 * 2048);
    for (int k = 0; k < 34; k++)
        check_cd_sector(buf + 2048 * k, 100 + (unsigned)k);
    free(buf);
    /* A reply by DMA: INQUIRY into a larger table keeps the engine active. */
    uint32_t prd2[1][2] = { { 0x300000, 512 } };
    put_prd(r, 0x1100, prd2, 1);
    outl(r, BM + 8 + 4, 0x1100);
    outb(r, BM + 8 + 2, BM_ST_INTR);
    outb(r, BM + 8, BM_CMD_WRITE | BM_CMD_START);
    uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
    packet(r, P1, 0, inquiry, 0, true);
    ck_assert_uint_eq(inb(r, BM + 8 + 2) & (BM_ST_INTR | BM_ST_ACTIVE), BM_ST_INTR | BM_ST_ACTIVE);
    outb(r, BM + 8, BM_CMD_WRITE);
    ck_assert_uint_eq(phys_read(&r->mem, 0x300000, 1), 0x05);
    rig_free(r);
}
END_TEST

/* READ TOC/PMA/ATIP (MMC-3): format 0 in LBA and MSF (LBA + 150 frames,
 * 75 per second), the lead-out at the capacity; format 1 (sessions);
 * an invalid format: ILLEGAL REQUEST, INVALID FIELD IN CDB. */
START_TEST(atapi_toc)
{
    struct rig *r = rig_new();
    attach_cd(r, 1, 0, 300);
    uint8_t buf[256];
    clear_ua(r);
    uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };
    ck_assert_int_eq(good(r, toc, buf, sizeof(buf), 256), 20);
    ck_assert_uint_eq(buf[0] << 8 | buf[1], 18); /* data length excludes itself */
    ck_assert_uint_eq(buf[2], 1);
    ck_assert_uint_eq(buf[3], 1);
    ck_assert_uint_eq(buf[5], 0x14); /* ADR 1, data track */
    ck_assert_uint_eq(buf[6], 1);
    ck_assert_uint_eq((uint32_t)buf[8] << 24 | buf[9] << 16 | buf[10] << 8 | buf[11], 0);
    ck_assert_uint_eq(buf[14], 0xaa);
    ck_assert_uint_eq((uint32_t)buf[16] << 24 | buf[17] << 16 | buf[18] << 8 | buf[19], 300);
    toc[1] = 0x02; /* MSF */
    ck_assert_int_eq(good(r, toc, buf, sizeof(buf), 256), 20);
    ck_assert_uint_eq(buf[9], 0);
    ck_assert_uint_eq(buf[10], 2);
    ck_assert_uint_eq(buf[11], 0);
    /* 300 + 150 = 450 frames = 0:06:00 */
    ck_assert_uint_eq(buf[17], 0);
    ck_assert_uint_eq(buf[18], 6);
    ck_assert_uint_eq(buf[19], 0);
    toc[6] = 0xaa; /* from the lead-out: one descriptor */
    ck_assert_int_eq(good(r, toc, buf, sizeof(buf), 256), 12);
    toc[6] = 2;
    expect_check(r, P1, 0, toc, 5, 0x24, 0);
    uint8_t sess[12] = { 0x43, 0, 1, 0, 0, 0, 0, 0, 12 };
    ck_assert_int_eq(good(r, sess, buf, sizeof(buf), 256), 12);
    ck_assert_uint_eq(buf[1], 10);
    ck_assert_uint_eq(buf[2], 1);
    ck_assert_uint_eq(buf[3], 1);
    ck_assert_uint_eq(buf[6], 1);
    uint8_t bad[12] = { 0x43, 0, 7, 0, 0, 0, 0, 0, 12 };
    expect_check(r, P1, 0, bad, 5, 0x24, 0);
    rig_free(r);
}
END_TEST

/* MODE SENSE(10), GET CONFIGURATION, GET EVENT STATUS NOTIFICATION, READ
 * DISC INFORMATION, MECHANISM STATUS, SET CD SPEED (MMC-3). */
START_TEST(atapi_mmc_queries)
{
    struct rig *r = rig_new();
    attach_cd(r, 1, 0, 300);
    uint8_t buf[512];
    /* GET CONFIGURATION and GESN are exempt from the unit attention. */
    uint8_t conf[12] = { 0x46, 0, 0, 0, 0, 0, 0, 1, 0 };
    int n = good(r, conf, buf, sizeof(buf), 512);
    ck_assert_int_ge(n, 8);
    ck_assert_uint_eq((uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], (uint32_t)n - 4);
    ck_assert_uint_eq(buf[6] << 8 | buf[7], 0x0008); /* current profile CD-ROM */
    ck_assert_uint_eq(buf[8] << 8 | buf[9], 0x0000);  /* profile list first */
    ck_assert_uint_eq(buf[12] << 8 | buf[13], 0x0008);
    ck_assert_uint_eq(buf[14] & 1, 1);                /* current */
    uint8_t one[12] = { 0x46, 2, 0, 3, 0, 0, 0, 1, 0 }; /* RT=2: feature 0003h only */
    ck_assert_int_eq(good(r, one, buf, sizeof(buf), 512), 16);
    ck_assert_uint_eq(buf[8] << 8 | buf[9], 0x0003);
    uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    ck_assert_int_eq(good(r, gesn, buf, sizeof(buf), 512), 8);
    ck_assert_uint_eq(buf[2], 0x04);           /* media class */
    ck_assert_uint_eq(buf[4] & 15, 2);         /* new media: the disc spun up at power-on */
    ck_assert_uint_eq(buf[3] & 0x10, 0x10);    /* supported */
    ck_assert_uint_eq(buf[5] & 0x03, 0x02);    /* media present, tray closed */
    gesn[1] = 0;                               /* asynchronous: not supported */
    uint8_t err;
    ck_assert_int_eq(packet_in(r, P1, 0, gesn, 512, buf, sizeof(buf), &err, NULL), -1);
    struct sense s = request_sense(r, P1, 0);   /* the failed command's sense first */
    ck_assert_uint_eq(s.key, 5);
    ck_assert_uint_eq(s.asc, 0x24);
    s = request_sense(r, P1, 0);                /* then the pending unit attentions */
    ck_assert_uint_eq(s.key, 6);
    ck_assert_uint_eq(s.asc, 0x29);
    s = request_sense(r, P1, 0);
    ck_assert_uint_eq(s.key, 6);
    ck_assert_uint_eq(s.asc, 0x28);
    uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 1, 0 };
    n = good(r, ms, buf, sizeof(buf), 512);
    ck_assert_int_eq(n, 8 + 20);
    ck_assert_uint_eq(buf[0] << 8 | buf[1], (uint32_t)n - 2);
    ck_assert_uint_eq(buf[8] & 0x3f, 0x2a);
    ck_assert_uint_eq(buf[9], 0x12);
    ck_assert_uint_eq(buf[14] & 0x08, 0x08);   /* eject supported */
    ms[2] = 0x01;
    ck_assert_int_eq(good(r, ms, buf, sizeof(buf), 512), 8 + 12);
    ck_assert_uint_eq(buf[8], 0x01);
    ck_assert_uint_eq(buf[9], 0x0a);
    ms[2] = 0x3f;
    ck_assert_int_eq(good(r, ms, buf, sizeof(buf), 512), 8 + 12 + 20);
    ms[2] = 0xc0 | 0x2a; /* saved values */
    expect_check(r, P1, 0, ms, 5, 0x39, 0);
    ms[2] = 0x05;        /* no such page */
    expect_check(r, P1, 0, ms, 5, 0x24, 0);
    uint8_t di[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };
    ck_assert_int_eq(good(r, di, buf, sizeof(buf), 512), 34);
    ck_assert_uint_eq(buf[1], 32);
    ck_assert_uint_eq(buf[2] & 3, 2);          /* finalized */
    uint8_t mech[12] = { 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
    ck_assert_int_eq(good(r, mech, buf, sizeof(buf), 512), 8);
    uint8_t speed[12] = { 0xbb, 0, 0xff, 0xff };
    ck_assert_int_eq(good(r, speed, buf, sizeof(buf), 512), 0);
    rig_free(r);
}
END_TEST

/* PREVENT ALLOW MEDIUM REMOVAL and START STOP UNIT (MMC-3): a locked tray
 * refuses to eject (53h/02h); an open tray is NOT READY, MEDIUM NOT
 * PRESENT - TRAY OPEN; closing it brings the unit attention NOT READY TO
 * READY CHANGE (28h) and a new-media event. */
START_TEST(atapi_tray)
{
    struct rig *r = rig_new();
    attach_cd(r, 1, 0, 300);
    uint8_t buf[64], tur[12] = { 0x00 };
    clear_ua(r);
    uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 }, eject[12] = { 0x1b, 0, 0, 0, 0x02 }, load[12] = { 0x1b, 0, 0, 0, 0x03 };
    good(r, lock, buf, sizeof(buf), 64);
    expect_check(r, P1, 0, eject, 5, 0x53, 0x02);
    lock[4] = 0;
    good(r, lock, buf, sizeof(buf), 64);
    good(r, eject, buf, sizeof(buf), 64);
    expect_check(r, P1, 0, tur, 2, 0x3a, 0x02);
    uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    good(r, gesn, buf, sizeof(buf), 64);
    ck_assert_uint_eq(buf[4] & 15, 3);         /* media removal */
    ck_assert_uint_eq(buf[5] & 3, 1);          /* tray open, no medium */
    uint8_t rd10[12] = { 0x28, 0, 0, 0, 0, 20, 0, 0, 1 };
    expect_check(r, P1, 0, rd10, 2, 0x3a, 0x02);
    good(r, load, buf, sizeof(buf), 64);
    good(r, gesn, buf, sizeof(buf), 64);
    ck_assert_uint_eq(buf[4] & 15, 2);         /* new media */
    ck_assert_uint_eq(buf[5] & 3, 2);
    expect_check(r, P1, 0, tur, 6, 0x28, 0);
    ck_assert_int_eq(good(r, tur, buf, sizeof(buf), 64), 0);
    rig_free(r);
}
END_TEST

static uint32_t rnd(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* Nothing a driver writes may crash the device: random register and data
 * traffic with random PRD tables (some pointing past RAM) on a disk and a
 * CD-ROM. Runs under ASan/UBSan too. */
START_TEST(random_traffic)
{
    struct rig *r = rig_new();
    attach_disk(r, 0, 0, 2000, false);
    attach_cd(r, 1, 0, 100);
    uint32_t seed = 12345;
#define RND() rnd(&seed)
    static const uint8_t cmds[] = { 0x20, 0x24, 0x30, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0x25, 0x35, 0x40, 0xe7,
                                    0xef, 0x91, 0xec, 0xa1, 0xa0, 0x08, 0x90, 0xe5, 0x70, 0x29, 0x39 };
    static const uint8_t ops[] = { 0x00, 0x03, 0x12, 0x1a, 0x5a, 0x1b, 0x1e, 0x25, 0x28, 0xa8, 0xbe, 0x2b,
                                   0x42, 0x43, 0x46, 0x4a, 0x51, 0x52, 0xbb, 0xbd, 0xff };
    for (int it = 0; it < 200000; it++) {
        unsigned what = RND() % 16;
        uint16_t base = (RND() & 1) ? P1 : P0, ctl = base == P0 ? C0 : C1;
        switch (what) {
        case 0: outb(r, base + 7, cmds[RND() % sizeof(cmds)]); break;
        case 1: outb(r, (uint16_t)(base + 1 + RND() % 6), (uint8_t)RND()); break;
        case 2: inb(r, (uint16_t)(base + RND() % 8)); break;
        case 3: case 4: inw(r, base); break;
        case 5: case 6: outw(r, base, (uint16_t)RND()); break;
        case 7: outb(r, ctl, (uint8_t)(RND() & 0x86)); break;
        case 8: {
            uint8_t cdb[12];
            for (int k = 0; k < 12; k++)
                cdb[k] = (uint8_t)RND();
            cdb[0] = ops[RND() % sizeof(ops)];
            for (int k = 0; k < 12; k += 2)
                outw(r, base, (uint16_t)(cdb[k] | cdb[k + 1] << 8));
            break;
        }
        case 9: {
            uint32_t at = (RND() % 0x3f0) * 0x1000;
            uint32_t addr = RND() << 8, len = RND();
            phys_write(&r->mem, at, 4, addr | (RND() & 0xff));
            phys_write(&r->mem, at + 4, 4, len | (RND() & 1u) << 31);
            outl(r, (uint16_t)(BM + (base == P1 ? 8 : 0) + 4), at);
            break;
        }
        case 10: outb(r, (uint16_t)(BM + (base == P1 ? 8 : 0)), (uint8_t)RND()); break;
        case 11: outb(r, (uint16_t)(BM + (base == P1 ? 8 : 0) + 2), (uint8_t)RND()); break;
        case 12: inl(r, base); break;
        case 13: outb(r, base + 6, (uint8_t)(RND() & 0xff)); break;
        case 14:
            outb(r, base + 4, (uint8_t)RND());
            outb(r, base + 5, (uint8_t)RND());
            break;
        default: inb(r, ctl); break;
        }
    }
#undef RND
    rig_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ide");
    TCase *tc = tcase_create("ide");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ata_identify);
    tcase_add_test(tc, ata_pio_read);
    tcase_add_test(tc, ata_pio_write);
    tcase_add_test(tc, ata_multiple);
    tcase_add_test(tc, ata_lba48);
    tcase_add_test(tc, ata_dma);
    tcase_add_test(tc, ata_errors);
    tcase_add_test(tc, ata_reset_and_nien);
    tcase_add_test(tc, atapi_identify_and_sense);
    tcase_add_test(tc, atapi_read_pio);
    tcase_add_test(tc, atapi_read_dma);
    tcase_add_test(tc, atapi_toc);
    tcase_add_test(tc, atapi_mmc_queries);
    tcase_add_test(tc, atapi_tray);
    tcase_add_test(tc, random_traffic);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
