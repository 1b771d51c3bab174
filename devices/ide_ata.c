/*
 * The ATA command set of a hard disk on a raw image (ATA/ATAPI-6,
 * T13/1410D; clause numbers below refer to it).
 *
 * Addresses come in three forms: CHS through the current translation
 * (INITIALIZE DEVICE PARAMETERS), LBA28 with bits 27:24 in the device
 * register, and LBA48 from the two-deep register FIFOs (6.20 "48-bit
 * Address feature set"). A range that leaves the medium fails with IDNF
 * before anything moves, with the LBA registers pointing at the first
 * missing sector. While a command runs the address registers follow the
 * last sector transferred and the count register the sectors still to
 * go, as ATA-2/3 hosts expect to see them after an error.
 *
 * A read or write is a sequence of DRQ blocks (one sector for READ/WRITE
 * SECTORS, the SET MULTIPLE MODE count for the MULTIPLE commands, and up
 * to IDE_BUF_SIZE for DMA) through the channel's block engine; interrupts
 * follow the PIO data-in/data-out and DMA protocols of clause 9.
 */
#include <errno.h>
#include <string.h>

#include "devices/ide_int.h"

enum rw_mode { RW_PIO, RW_MULT, RW_DMA };

static void ata_rw_next(struct ide_dev *d);

void ata_setup_geometry(struct ide_dev *d)
{
    /* The usual translation: 16 heads, 63 sectors, at most 16383
     * cylinders (6.2.1; the IDENTIFY words 1, 3, 6 limits). */
    uint64_t c = d->disk.sectors / (16 * 63);
    if (c > 16383)
        c = 16383;
    if (c < 1)
        c = 1;
    d->cyls = (uint16_t)c;
    d->heads = 16;
    d->secs = 63;
}

static void set_current_geometry(struct ide_dev *d, uint16_t heads, uint16_t secs)
{
    uint64_t c = d->disk.sectors / ((uint64_t)heads * secs);
    d->cur_heads = heads;
    d->cur_secs = secs;
    d->cur_cyls = (uint16_t)(c > 65535 ? 65535 : c);
}

void ata_power_on(struct ide_dev *d)
{
    set_current_geometry(d, d->heads, d->secs);
    d->mult = IDE_MAX_MULT;
    d->xfer_mode = 0;
    d->wcache = true;
    d->lookahead = true;
    d->revert = true;
    d->standby = false;
}

/* Software reset returns SET FEATURES settings to their defaults unless
 * the host disabled reverting (SET FEATURES 66h, 8.46). */
void ata_soft_reset(struct ide_dev *d)
{
    if (d->revert) {
        d->xfer_mode = 0;
        d->wcache = true;
        d->lookahead = true;
    }
}

bool ide_valid_xfer_mode(uint8_t mode)
{
    unsigned n = mode & 7;
    switch (mode >> 3) {
    case 0: return n <= 1; /* PIO default (IORDY on / off) */
    case 1: return n <= 4; /* PIO flow-control mode n */
    case 4: return n <= 2; /* multiword DMA */
    case 8: return n <= 5; /* Ultra DMA */
    }
    return false;
}

/* IDENTIFY DEVICE (8.15). */
static void ata_identify(struct ide_dev *d)
{
    uint8_t *id = d->buf;
    memset(id, 0, 512);
    uint64_t n = d->disk.sectors;
    ide_put_word(id, 0, 0x0040); /* ATA device, fixed */
    ide_put_word(id, 1, d->cyls);
    ide_put_word(id, 3, d->heads);
    ide_put_word(id, 6, d->secs);
    ide_identify_common(d, id);
    ide_put_word(id, 47, 0x8000 | IDE_MAX_MULT);
    ide_put_word(id, 48, 0x0001); /* doubleword data-port I/O (ATA-3 word 48) */
    ide_put_word(id, 49, 0x0f00); /* IORDY supported/disableable, LBA, DMA */
    ide_put_word(id, 50, 0x4000);
    ide_put_word(id, 51, 0x0200); /* obsolete PIO timing mode 2 */
    ide_put_word(id, 53, 0x0007); /* words 54-58, 64-70 and 88 are valid */
    ide_put_word(id, 54, d->cur_cyls);
    ide_put_word(id, 55, d->cur_heads);
    ide_put_word(id, 56, d->cur_secs);
    uint32_t cur = (uint32_t)d->cur_cyls * d->cur_heads * d->cur_secs;
    ide_put_word(id, 57, (uint16_t)cur);
    ide_put_word(id, 58, (uint16_t)(cur >> 16));
    ide_put_word(id, 59, (uint16_t)(0x0100 | d->mult));
    uint32_t lba28 = n > 0x0fffffff ? 0x0fffffff : (uint32_t)n;
    ide_put_word(id, 60, (uint16_t)lba28);
    ide_put_word(id, 61, (uint16_t)(lba28 >> 16));
    unsigned kind = d->xfer_mode >> 3, mode = d->xfer_mode & 7;
    ide_put_word(id, 63, (uint16_t)(0x0007 | (kind == 4 ? 0x100 << mode : 0)));
    ide_put_word(id, 64, 0x0003); /* PIO 3 and 4 */
    for (int w = 65; w <= 68; w++)
        ide_put_word(id, w, 120); /* ns: cycle times of MWDMA 2 and PIO 4 */
    ide_put_word(id, 80, 0x007e); /* ATA-1 .. ATA/ATAPI-6 */
    /* Supported: NOP, look-ahead, write cache, power management; FLUSH
     * CACHE (EXT) and 48-bit addresses. Enabled likewise. */
    ide_put_word(id, 82, 0x4068);
    ide_put_word(id, 83, 0x7400);
    ide_put_word(id, 84, 0x4000);
    ide_put_word(id, 85, (uint16_t)(0x4008 | (d->lookahead ? 0x40 : 0) | (d->wcache ? 0x20 : 0)));
    ide_put_word(id, 86, 0x3400);
    ide_put_word(id, 87, 0x4000);
    ide_put_word(id, 88, (uint16_t)(0x003f | (kind == 8 ? 0x100 << mode : 0)));
    for (int w = 0; w < 4; w++)
        ide_put_word(id, 100 + w, (uint16_t)(n >> (16 * w)));
    ide_identify_checksum(id);
}

static void pio_in_done(struct ide_dev *d)
{
    ide_cmd_done(d, false); /* the data-in protocol's last block has no interrupt after it */
}

/* ---- addresses ---- */

static uint32_t sector_count(const struct ide_dev *d)
{
    if (d->lba48) {
        uint32_t n = (uint32_t)d->hob_nsector << 8 | d->nsector;
        return n ? n : 65536;
    }
    return d->nsector ? d->nsector : 256;
}

/* The address in the task file; false for an impossible CHS address. */
static bool get_address(const struct ide_dev *d, uint64_t *lba)
{
    uint8_t sel = d->ch->select;
    if (d->lba48) {
        *lba = (uint64_t)d->hob_lbah << 40 | (uint64_t)d->hob_lbam << 32 | (uint64_t)d->hob_lbal << 24 |
               (uint64_t)d->lbah << 16 | (uint64_t)d->lbam << 8 | d->lbal;
    } else if (sel & DEV_LBA) {
        *lba = (uint64_t)(sel & 0x0f) << 24 | (uint64_t)d->lbah << 16 | (uint64_t)d->lbam << 8 | d->lbal;
    } else {
        unsigned cyl = (unsigned)d->lbah << 8 | d->lbam, head = sel & 0x0f, sect = d->lbal;
        if (sect == 0 || sect > d->cur_secs || head >= d->cur_heads)
            return false;
        *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + sect - 1;
    }
    return true;
}

/* Put an address back into the task file in the command's own form. */
static void set_address(struct ide_dev *d, uint64_t lba)
{
    uint8_t *sel = &d->ch->select;
    if (d->lba48) {
        d->lbal = (uint8_t)lba, d->lbam = (uint8_t)(lba >> 8), d->lbah = (uint8_t)(lba >> 16);
        d->hob_lbal = (uint8_t)(lba >> 24), d->hob_lbam = (uint8_t)(lba >> 32), d->hob_lbah = (uint8_t)(lba >> 40);
    } else if (*sel & DEV_LBA) {
        d->lbal = (uint8_t)lba, d->lbam = (uint8_t)(lba >> 8), d->lbah = (uint8_t)(lba >> 16);
        *sel = (uint8_t)((*sel & 0xf0) | ((lba >> 24) & 0x0f));
    } else {
        uint64_t track = lba / d->cur_secs;
        uint64_t cyl = track / d->cur_heads;
        d->lbal = (uint8_t)(lba % d->cur_secs + 1);
        d->lbam = (uint8_t)cyl, d->lbah = (uint8_t)(cyl >> 8);
        *sel = (uint8_t)((*sel & 0xf0) | (track % d->cur_heads));
    }
}

static void set_count(struct ide_dev *d, uint32_t left)
{
    d->nsector = (uint8_t)left;
    if (d->lba48)
        d->hob_nsector = (uint8_t)(left >> 8);
}

/* Validate the range of a media access; on failure IDNF is posted with
 * the address of the first sector that does not exist. */
static bool check_range(struct ide_dev *d, uint64_t *lba, uint32_t *count)
{
    if (!get_address(d, lba)) {
        ide_cmd_error(d, ER_IDNF);
        return false;
    }
    *count = sector_count(d);
    uint64_t n = d->disk.sectors;
    if (*lba >= n || *count > n - *lba) {
        set_address(d, *lba >= n ? *lba : n);
        ide_cmd_error(d, ER_IDNF);
        return false;
    }
    return true;
}

/* ---- reads and writes ---- */

static void io_error(struct ide_dev *d, bool write, int err)
{
    ide_log(d, write ? "write failed" : "read failed", err);
    set_address(d, d->lba);
    ide_cmd_error(d, write ? ER_ABRT : ER_UNC);
}

static void start_block(struct ide_dev *d, bool write)
{
    uint32_t n = d->count < d->block ? d->count : d->block;
    enum ide_xfer x = d->dma ? (write ? XFER_DMA_OUT : XFER_DMA_IN) : (write ? XFER_PIO_OUT : XFER_PIO_IN);
    if (!write) {
        int rc = disk_read(&d->disk, d->lba * DISK_SECTOR, d->buf, (size_t)n * DISK_SECTOR);
        if (rc) {
            io_error(d, false, rc);
            return;
        }
        set_address(d, d->lba + n - 1);
        d->lba += n;
        d->count -= n;
        set_count(d, d->count);
    }
    ide_data_phase(d, x, 0, n * DISK_SECTOR, ata_rw_next);
}

/* block_done of reads and writes: store what the host sent, then the
 * next block or the end of the command. */
static void ata_rw_next(struct ide_dev *d)
{
    bool write = d->cmd == 0x30 || d->cmd == 0x31 || d->cmd == 0x34 || d->cmd == 0xc5 || d->cmd == 0x39 ||
                 d->cmd == 0xca || d->cmd == 0xcb || d->cmd == 0x35;
    if (write) {
        uint32_t n = d->end / DISK_SECTOR;
        int rc = disk_write(&d->disk, d->lba * DISK_SECTOR, d->buf, (size_t)n * DISK_SECTOR);
        if (!rc && !d->wcache)
            rc = disk_flush(&d->disk); /* write-through while the cache is off */
        if (rc) {
            io_error(d, true, rc);
            return;
        }
        set_address(d, d->lba + n - 1);
        d->lba += n;
        d->count -= n;
        set_count(d, d->count);
    }
    if (d->count == 0) {
        /* PIO data-in ends silently after the last block; PIO data-out and
         * DMA end with the completion interrupt (9.5, 9.6, 9.7). */
        ide_cmd_done(d, write || d->dma);
        return;
    }
    start_block(d, write);
    if (!d->dma && d->xfer != XFER_NONE)
        ide_raise_irq(d); /* the next DRQ block is ready */
}

static void ata_rw(struct ide_dev *d, bool lba48, enum rw_mode mode, bool write)
{
    d->lba48 = lba48;
    d->dma = mode == RW_DMA;
    if (mode == RW_MULT && !d->mult) {
        ide_cmd_error(d, ER_ABRT); /* multiple mode is disabled (8.31) */
        return;
    }
    uint64_t lba;
    uint32_t count;
    if (!check_range(d, &lba, &count))
        return;
    if (write && d->disk.read_only) {
        ide_cmd_error(d, ER_ABRT);
        return;
    }
    d->lba = lba;
    d->count = count;
    d->block = mode == RW_MULT ? d->mult : mode == RW_PIO ? 1 : IDE_BUF_SIZE / DISK_SECTOR;
    d->standby = false;
    start_block(d, write);
    /* PIO data-in announces each block; the first block of a PIO write
     * is requested without an interrupt (9.6). */
    if (!write && !d->dma && d->xfer != XFER_NONE)
        ide_raise_irq(d);
}

static void ata_verify(struct ide_dev *d, bool lba48)
{
    d->lba48 = lba48;
    uint64_t lba;
    uint32_t count;
    if (!check_range(d, &lba, &count))
        return;
    set_address(d, lba + count - 1);
    set_count(d, 0);
    ide_cmd_done(d, true);
}

static void ata_flush(struct ide_dev *d)
{
    int rc = disk_flush(&d->disk);
    if (rc) {
        ide_log(d, "flush failed", rc);
        ide_cmd_error(d, ER_ABRT);
        return;
    }
    ide_cmd_done(d, true);
}

/* ---- settings ---- */

static void ata_set_features(struct ide_dev *d)
{
    switch (d->feature) {
    case 0x02: d->wcache = true; break;
    case 0x82:
        /* Turning the cache off writes it back first. */
        if (disk_flush(&d->disk)) {
            ide_cmd_error(d, ER_ABRT);
            return;
        }
        d->wcache = false;
        break;
    case 0x03:
        if (!ide_valid_xfer_mode(d->nsector)) {
            ide_cmd_error(d, ER_ABRT);
            return;
        }
        d->xfer_mode = d->nsector;
        break;
    case 0xaa: d->lookahead = true; break;
    case 0x55: d->lookahead = false; break;
    case 0x66: d->revert = false; break;
    case 0xcc: d->revert = true; break;
    default:
        ide_cmd_error(d, ER_ABRT);
        return;
    }
    ide_cmd_done(d, true);
}

/* SET MULTIPLE MODE (8.49): a power of two up to the maximum, or 0 to
 * disable; anything else is aborted and disables multiple mode. */
static void ata_set_multiple(struct ide_dev *d)
{
    uint8_t n = d->nsector;
    if (n > IDE_MAX_MULT || (n & (n - 1))) {
        d->mult = 0;
        ide_cmd_error(d, ER_ABRT);
        return;
    }
    d->mult = n;
    ide_cmd_done(d, true);
}

/* INITIALIZE DEVICE PARAMETERS (8.19): sectors per track from the count
 * register, heads from the device register. */
static void ata_init_params(struct ide_dev *d)
{
    if (d->nsector == 0) {
        ide_cmd_error(d, ER_ABRT);
        return;
    }
    set_current_geometry(d, (uint16_t)((d->ch->select & 0x0f) + 1), d->nsector);
    ide_cmd_done(d, true);
}

static void ata_seek(struct ide_dev *d)
{
    d->lba48 = false;
    uint64_t lba;
    if (!get_address(d, &lba) || lba >= d->disk.sectors) {
        ide_cmd_error(d, ER_IDNF);
        return;
    }
    ide_cmd_done(d, true);
}

void ata_command(struct ide_dev *d, uint8_t cmd)
{
    d->lba48 = false;
    d->dma = false;
    switch (cmd) {
    case 0xec:
        ata_identify(d);
        ide_data_phase(d, XFER_PIO_IN, 0, 512, pio_in_done);
        ide_raise_irq(d);
        break;
    case 0x20: case 0x21: ata_rw(d, false, RW_PIO, false); break;
    case 0x24: ata_rw(d, true, RW_PIO, false); break;
    case 0x30: case 0x31: ata_rw(d, false, RW_PIO, true); break;
    case 0x34: ata_rw(d, true, RW_PIO, true); break;
    case 0xc4: ata_rw(d, false, RW_MULT, false); break;
    case 0x29: ata_rw(d, true, RW_MULT, false); break;
    case 0xc5: ata_rw(d, false, RW_MULT, true); break;
    case 0x39: ata_rw(d, true, RW_MULT, true); break;
    case 0xc8: case 0xc9: ata_rw(d, false, RW_DMA, false); break;
    case 0x25: ata_rw(d, true, RW_DMA, false); break;
    case 0xca: case 0xcb: ata_rw(d, false, RW_DMA, true); break;
    case 0x35: ata_rw(d, true, RW_DMA, true); break;
    case 0x40: case 0x41: ata_verify(d, false); break;
    case 0x42: ata_verify(d, true); break;
    case 0xe7: case 0xea: ata_flush(d); break;
    case 0xef: ata_set_features(d); break;
    case 0xc6: ata_set_multiple(d); break;
    case 0x91: ata_init_params(d); break;
    case 0xe0: case 0xe2: case 0xe6: /* STANDBY (IMMEDIATE); SLEEP is kept as standby */
    case 0x94: case 0x96: case 0x99:
        d->standby = true;
        ide_cmd_done(d, true);
        break;
    case 0xe1: case 0xe3: case 0x95: case 0x97: /* IDLE (IMMEDIATE) */
        d->standby = false;
        ide_cmd_done(d, true);
        break;
    case 0xe5: case 0x98: /* CHECK POWER MODE (8.7): FFh active/idle, 00h standby */
        d->nsector = d->standby ? 0x00 : 0xff;
        ide_cmd_done(d, true);
        break;
    default:
        if (cmd >= 0x70 && cmd <= 0x7f) { /* SEEK */
            ata_seek(d);
        } else if (cmd >= 0x10 && cmd <= 0x1f) { /* RECALIBRATE (obsolete, still issued by old BIOSes) */
            ide_cmd_done(d, true);
        } else {
            ide_cmd_error(d, ER_ABRT); /* NOP and commands this drive lacks: aborted, as ATA specifies */
        }
        break;
    }
}
