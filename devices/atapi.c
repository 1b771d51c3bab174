/*
 * An ATAPI CD-ROM drive: the ATA commands a packet device answers
 * (ATA/ATAPI-6 clause 8: IDENTIFY PACKET DEVICE, PACKET, DEVICE RESET...)
 * and the packet commands of SPC/MMC that firmware, ISOLINUX and Linux's
 * sr/libata issue (MMC-3, T10/1363-D, and SPC-2 for the primary ones).
 *
 * PACKET protocol (ATA/ATAPI-6 8.24 and 9.8): the host writes features (bit 0
 * DMA), the byte count limit in LBA mid/high, and A0h; the device asks for
 * the 12-byte packet with DRQ and interrupt reason C/D=1 I/O=0 (no
 * interrupt: IDENTIFY PACKET word 0 says "DRQ within 50 us"). A PIO data
 * phase is a series of DRQ blocks of at most the byte count limit (even,
 * unless it is the last), each announced by an interrupt with I/O=1 and
 * its length in LBA mid/high; the command ends with an interrupt and
 * C/D=1 I/O=1. With DMA the bus master moves the data and only the end
 * interrupts. A failed command ends with CHK (ERR) and the sense key in
 * the error register's high nibble; REQUEST SENSE returns the details.
 *
 * Sense data follow SPC-2/MMC-3: unit attention 29h/00h after power-on
 * and 28h/00h when a disc becomes ready (at power-on too, as a drive that
 * spins up its disc), each reported once, to the first command other than
 * INQUIRY, REQUEST SENSE, GET CONFIGURATION and GET EVENT STATUS
 * NOTIFICATION, NOT READY 3Ah/01h-02h without a disc, ILLEGAL
 * REQUEST 20h/00h for unknown commands, 24h/00h for bad fields, 21h/00h
 * for addresses past the end of the disc, 53h/02h for an eject while the
 * medium is locked, and MEDIUM ERROR 11h/00h when the image cannot be
 * read. The drive reports the CD-ROM profile with one data track.
 */
#include <string.h>

#include "devices/ide_int.h"

enum { SK_NO_SENSE = 0, SK_NOT_READY = 2, SK_MEDIUM_ERROR = 3, SK_ILLEGAL_REQUEST = 5, SK_UNIT_ATTENTION = 6 };

#define ASC_READ_ERROR 0x11
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_POWER_ON_RESET 0x29
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT 0x3a
#define ASC_REMOVAL_PREVENTED 0x53
#define ASC_ILLEGAL_MODE 0x64

#define MEDIA_EVENT_NEW 2     /* GESN media event codes (MMC-3, GET EVENT STATUS NOTIFICATION, media class) */
#define MEDIA_EVENT_REMOVAL 3

#define PROFILE_CDROM 0x0008

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An address in LBA or M:S:F form (the 2-second pregap: LBA 0 is 00:02:00). */
static void put_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (!msf) {
        put32(p, lba);
        return;
    }
    uint32_t f = lba + 150;
    p[0] = 0;
    p[1] = (uint8_t)(f / (60 * 75));
    p[2] = (uint8_t)(f / 75 % 60);
    p[3] = (uint8_t)(f % 75);
}

void atapi_power_on(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    memset(a, 0, sizeof(*a));
    a->medium = d->disk.fd >= 0;
    /* As a drive that powers up with a disc: the reset, then the disc
     * becoming ready, each a unit attention; and a new-media event. */
    a->ua[a->nua++] = ASC_POWER_ON_RESET;
    if (a->medium) {
        a->ua[a->nua++] = ASC_MEDIUM_CHANGED;
        a->media_event = MEDIA_EVENT_NEW;
    }
    d->xfer_mode = 0;
}

static void ua_add(struct atapi_state *a, uint8_t asc)
{
    for (int k = 0; k < a->nua; k++)
        if (a->ua[k] == asc)
            return;
    if (a->nua < 2)
        a->ua[a->nua++] = asc;
}

/* Report (and clear) the oldest pending unit attention. */
static uint8_t ua_take(struct atapi_state *a)
{
    uint8_t asc = a->ua[0];
    a->ua[0] = a->ua[1];
    a->nua--;
    return asc;
}

/* ---- command endings ---- */

static void set_reason(struct ide_dev *d, uint8_t reason)
{
    d->nsector = reason;
}

static void atapi_ok(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    a->sense_key = SK_NO_SENSE, a->asc = 0, a->ascq = 0;
    set_reason(d, IR_IO | IR_COD);
    ide_cmd_done(d, true);
}

/* CHECK CONDITION: the sense data for REQUEST SENSE, the key in the
 * error register (ATA/ATAPI-6 8.24, PACKET error outputs). */
static void atapi_fail(struct ide_dev *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    struct atapi_state *a = &d->atapi;
    a->sense_key = key, a->asc = asc, a->ascq = ascq;
    set_reason(d, IR_IO | IR_COD);
    ide_cmd_error(d, (uint8_t)(key << 4));
}

static void fail_invalid_field(struct ide_dev *d)
{
    atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* ---- data phases ---- */

/* The next DRQ block (PIO) or chunk (DMA) of the data phase, or the end. */
static void atapi_next(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    if (a->left == 0) {
        atapi_ok(d);
        return;
    }
    uint32_t chunk;
    if (a->dma) {
        chunk = a->left < IDE_BUF_SIZE ? (uint32_t)a->left : IDE_BUF_SIZE;
    } else {
        /* Byte count limit (ATA/ATAPI-6 8.24): 0 is taken as FFFEh; a
         * block that is not the last must be even. */
        uint32_t limit = a->bcl;
        if (a->left <= limit)
            chunk = (uint32_t)a->left;
        else
            chunk = limit & ~1u;
    }
    uint32_t pos = 0;
    if (a->from_medium) {
        int rc = disk_read(&d->disk, a->medium_off, d->buf, chunk);
        if (rc) {
            ide_log(d, "read failed", rc);
            atapi_fail(d, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
            return;
        }
        a->medium_off += chunk;
    } else {
        pos = a->reply_off;
        a->reply_off += chunk;
    }
    a->left -= chunk;
    if (a->dma) {
        ide_data_phase(d, XFER_DMA_IN, pos, pos + chunk, atapi_next);
        return;
    }
    d->lbam = (uint8_t)chunk;
    d->lbah = (uint8_t)(chunk >> 8);
    set_reason(d, IR_IO);
    ide_data_phase(d, XFER_PIO_IN, pos, pos + chunk, atapi_next);
    ide_raise_irq(d);
}

/* Send the first `len` bytes staged in d->buf, cut to the allocation length. */
static void reply(struct ide_dev *d, uint32_t len, uint32_t alloc)
{
    struct atapi_state *a = &d->atapi;
    a->from_medium = false;
    a->reply_off = 0;
    a->left = len < alloc ? len : alloc;
    atapi_next(d);
}

static void read_medium(struct ide_dev *d, uint64_t lba, uint64_t blocks)
{
    struct atapi_state *a = &d->atapi;
    a->from_medium = true;
    a->medium_off = lba * CD_SECTOR;
    a->left = blocks * CD_SECTOR;
    atapi_next(d);
}

/* ---- the commands ---- */

static bool check_medium(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    if (a->medium)
        return true;
    atapi_fail(d, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT, a->tray_open ? 0x02 : 0x01);
    return false;
}

static uint32_t capacity(const struct ide_dev *d)
{
    return (uint32_t)d->disk.sectors; /* disk_open_iso keeps this within 32 bits */
}

static void cmd_request_sense(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    uint8_t *b = d->buf;
    memset(b, 0, 18);
    b[0] = 0x70; /* current error, fixed format */
    b[7] = 10;   /* additional sense length */
    /* The last command's sense data first; without any, a pending unit
     * attention is reported and cleared here (SPC-2 allows either). */
    if (a->sense_key == SK_NO_SENSE && a->nua) {
        b[2] = SK_UNIT_ATTENTION, b[12] = ua_take(a), b[13] = 0;
    } else {
        b[2] = a->sense_key, b[12] = a->asc, b[13] = a->ascq;
    }
    uint32_t alloc = a->cdb[4];
    a->sense_key = SK_NO_SENSE, a->asc = 0, a->ascq = 0;
    reply(d, 18, alloc);
}

static void cmd_inquiry(struct ide_dev *d)
{
    const uint8_t *c = d->atapi.cdb;
    uint8_t *b = d->buf;
    uint32_t alloc = be16(c + 3);
    if (c[1] & 0x02) { /* CmdDt */
        fail_invalid_field(d);
        return;
    }
    if (c[1] & 0x01) { /* vital product data: the list and the serial number */
        memset(b, 0, 64);
        b[0] = 0x05;
        b[1] = c[2];
        if (c[2] == 0x00) {
            b[3] = 2, b[4] = 0x00, b[5] = 0x80;
            reply(d, 6, alloc);
        } else if (c[2] == 0x80) {
            size_t n = strlen(d->serial);
            b[3] = (uint8_t)n;
            memcpy(b + 4, d->serial, n);
            reply(d, (uint32_t)(4 + n), alloc);
        } else {
            fail_invalid_field(d);
        }
        return;
    }
    if (c[2]) {
        fail_invalid_field(d);
        return;
    }
    memset(b, 0, 36);
    b[0] = 0x05;       /* CD/DVD device */
    b[1] = 0x80;       /* removable medium */
    b[2] = 0x00;       /* no SCSI version claimed, as ATAPI drives report */
    b[3] = 0x21;       /* ATAPI, response data format 1 */
    b[4] = 36 - 5;     /* additional length */
    memcpy(b + 8, "KESTREL ", 8);
    memcpy(b + 16, "CD-ROM          ", 16);
    memcpy(b + 32, "0.1 ", 4);
    reply(d, 36, alloc);
}

static void cmd_read_capacity(struct ide_dev *d)
{
    if (!check_medium(d))
        return;
    put32(d->buf, capacity(d) - 1);
    put32(d->buf + 4, CD_SECTOR);
    reply(d, 8, 8);
}

static void cmd_read(struct ide_dev *d, uint64_t lba, uint64_t blocks)
{
    if (!check_medium(d))
        return;
    if (lba > capacity(d) || blocks > capacity(d) - lba) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    if (blocks == 0) {
        atapi_ok(d);
        return;
    }
    read_medium(d, lba, blocks);
}

/* READ CD (MMC-3): user data of data sectors only. */
static void cmd_read_cd(struct ide_dev *d)
{
    const uint8_t *c = d->atapi.cdb;
    unsigned type = (c[1] >> 2) & 7, fields = c[9] & 0xf8;
    uint64_t lba = be32(c + 2), blocks = (uint32_t)c[6] << 16 | (uint32_t)c[7] << 8 | c[8];
    if (!check_medium(d))
        return;
    if (type == 1) { /* CD-DA requested from a data track */
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_ILLEGAL_MODE, 0);
        return;
    }
    if (c[10] & 7) { /* sub-channel data */
        fail_invalid_field(d);
        return;
    }
    if (fields == 0) { /* nothing requested: no transfer */
        if (lba > capacity(d) || blocks > capacity(d) - lba)
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        else
            atapi_ok(d);
        return;
    }
    if (fields != 0x10) { /* headers, sync, EDC/ECC: raw sectors are not synthesised */
        fail_invalid_field(d);
        return;
    }
    cmd_read(d, lba, blocks);
}

static uint8_t medium_type(const struct ide_dev *d)
{
    /* SFF-8020i medium type codes: 01h 120 mm data disc, 70h door
     * closed/no disc, 71h door open. */
    return d->atapi.medium ? 0x01 : d->atapi.tray_open ? 0x71 : 0x70;
}

/* Mode pages (MMC-3, mode parameters). `changeable` gives the mask of fields the
 * host may change: none. Returns the page length written at p, 0 if the
 * page does not exist. */
static uint32_t mode_page(struct ide_dev *d, uint8_t page, bool changeable, uint8_t *p)
{
    switch (page) {
    case 0x01: /* read/write error recovery */
        memset(p, 0, 12);
        p[0] = 0x01, p[1] = 0x0a;
        if (!changeable)
            p[3] = 5, p[8] = 5; /* read/write retry counts */
        return 12;
    case 0x2a: /* CD capabilities and mechanical status (MMC-1 layout, 20 bytes) */
        memset(p, 0, 20);
        p[0] = 0x2a, p[1] = 0x12;
        if (changeable)
            return 20;
        p[2] = 0x07;                 /* reads CD-R, CD-RW, method 2 */
        p[4] = 0x71;                 /* audio play, mode 2 form 1/2, multi-session */
        p[6] = (uint8_t)(0x29 | (d->atapi.locked ? 0x02 : 0)); /* tray, eject, lock (+ state) */
        put16(p + 8, 4234);          /* max speed (KB/s, 24x) */
        put16(p + 12, 512);          /* buffer size (KB) */
        put16(p + 14, 4234);         /* current speed */
        return 20;
    }
    return 0;
}

static void cmd_mode_sense(struct ide_dev *d, bool ten)
{
    const uint8_t *c = d->atapi.cdb;
    uint8_t pc = c[2] >> 6, page = c[2] & 0x3f;
    uint32_t alloc = ten ? be16(c + 7) : c[4];
    if (pc == 3) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
        return;
    }
    uint8_t *b = d->buf;
    uint32_t hdr = ten ? 8 : 4, len = hdr;
    memset(b, 0, hdr);
    if (page == 0x3f) {
        len += mode_page(d, 0x01, pc == 1, b + len);
        len += mode_page(d, 0x2a, pc == 1, b + len);
    } else {
        uint32_t n = mode_page(d, page, pc == 1, b + len);
        if (!n) {
            fail_invalid_field(d);
            return;
        }
        len += n;
    }
    if (ten) {
        put16(b, len - 2);
        b[2] = medium_type(d);
    } else {
        b[0] = (uint8_t)(len - 1);
        b[1] = medium_type(d);
    }
    reply(d, len, alloc);
}

static void cmd_read_toc(struct ide_dev *d)
{
    const uint8_t *c = d->atapi.cdb;
    bool msf = c[1] & 0x02;
    unsigned format = c[2] & 0x0f, track = c[6];
    uint32_t alloc = be16(c + 7);
    if (format == 0 && (c[9] >> 6)) /* SFF-8020i put the format in the control byte */
        format = c[9] >> 6;
    if (!check_medium(d))
        return;
    uint8_t *b = d->buf;
    uint32_t len = 4;
    memset(b, 0, 64);
    switch (format) {
    case 0: /* TOC: track 1 and the lead-out (MMC-3 READ TOC/PMA/ATIP, format 0000b) */
        if (track > 1 && track != 0xaa) {
            fail_invalid_field(d);
            return;
        }
        b[2] = 1, b[3] = 1;
        if (track <= 1) {
            b[len + 1] = 0x14, b[len + 2] = 1; /* ADR 1, data track; track 1 */
            put_addr(b + len + 4, 0, msf);
            len += 8;
        }
        b[len + 1] = 0x14, b[len + 2] = 0xaa;
        put_addr(b + len + 4, capacity(d), msf);
        len += 8;
        break;
    case 1: /* session information: one session starting at track 1 */
        b[2] = 1, b[3] = 1;
        b[5] = 0x14, b[6] = 1;
        put_addr(b + 8, 0, msf);
        len = 12;
        break;
    case 2: { /* full TOC: points A0h, A1h, A2h and track 1, addresses in MSF */
        static const uint8_t points[4] = { 0xa0, 0xa1, 0xa2, 0x01 };
        b[2] = 1, b[3] = 1;
        for (int k = 0; k < 4; k++, len += 11) {
            uint8_t *e = b + len;
            e[0] = 1, e[1] = 0x14, e[3] = points[k];
            if (points[k] == 0xa0)
                e[8] = 1; /* first track; disc type 00h (CD-DA or CD-ROM) */
            else if (points[k] == 0xa1)
                e[8] = 1; /* last track */
            else
                put_addr(e + 7, points[k] == 0xa2 ? capacity(d) : 0, true);
        }
        break;
    }
    default:
        fail_invalid_field(d);
        return;
    }
    put16(b, len - 2);
    reply(d, len, alloc);
}

/* Feature descriptors of GET CONFIGURATION (MMC-3 features). */
static uint32_t feature(struct ide_dev *d, uint16_t code, uint8_t *p, bool *current)
{
    bool medium = d->atapi.medium;
    uint32_t len;
    memset(p, 0, 16);
    put16(p, code);
    switch (code) {
    case 0x0000: /* profile list: CD-ROM */
        p[2] = 0x03, p[3] = 4;
        put16(p + 4, PROFILE_CDROM);
        p[6] = medium;
        len = 8, *current = true;
        break;
    case 0x0001: /* core: ATAPI */
        p[2] = 0x03, p[3] = 4;
        put32(p + 4, 2);
        len = 8, *current = true;
        break;
    case 0x0002: /* morphing */
        p[2] = 0x03, p[3] = 4;
        len = 8, *current = true;
        break;
    case 0x0003: /* removable medium: tray, eject, lock */
        p[2] = 0x03, p[3] = 4;
        p[4] = 0x29;
        len = 8, *current = true;
        break;
    case 0x0010: /* random readable */
        p[2] = medium, p[3] = 8;
        put32(p + 4, CD_SECTOR);
        put16(p + 8, 1);
        len = 12, *current = medium;
        break;
    case 0x001e: /* CD read */
        p[2] = (uint8_t)(0x08 | medium), p[3] = 4; /* version 2 */
        len = 8, *current = medium;
        break;
    case 0x0100: /* power management */
        p[2] = 0x03, p[3] = 0;
        len = 4, *current = true;
        break;
    default:
        return 0;
    }
    return len;
}

static void cmd_get_configuration(struct ide_dev *d)
{
    static const uint16_t codes[] = { 0x0000, 0x0001, 0x0002, 0x0003, 0x0010, 0x001e, 0x0100 };
    const uint8_t *c = d->atapi.cdb;
    unsigned rt = c[1] & 3;
    uint16_t start = be16(c + 2);
    uint32_t alloc = be16(c + 7);
    if (rt == 3) {
        fail_invalid_field(d);
        return;
    }
    uint8_t *b = d->buf;
    memset(b, 0, 8);
    put16(b + 6, d->atapi.medium ? PROFILE_CDROM : 0);
    uint32_t len = 8;
    for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
        if (codes[k] < start || (rt == 2 && codes[k] != start))
            continue;
        bool current = false;
        uint32_t n = feature(d, codes[k], b + len, &current);
        if (rt == 1 && !current)
            continue;
        len += n;
    }
    put32(b, len - 4);
    reply(d, len, alloc);
}

/* GET EVENT STATUS NOTIFICATION (MMC-3), polled; media class only. */
static void cmd_get_event_status(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    const uint8_t *c = a->cdb;
    uint32_t alloc = be16(c + 7);
    if (!(c[1] & 1)) { /* asynchronous operation is not supported */
        fail_invalid_field(d);
        return;
    }
    uint8_t *b = d->buf;
    memset(b, 0, 8);
    b[3] = 0x10; /* supported classes: media */
    uint32_t len = 4;
    if (c[4] & 0x10) {
        b[2] = 0x04; /* media class */
        b[4] = a->media_event;
        b[5] = (uint8_t)((a->medium ? 0x02 : 0) | (a->tray_open ? 0x01 : 0));
        len = 8;
        a->media_event = 0;
    } else {
        b[2] = 0x80; /* no event available of the requested classes */
    }
    put16(b, len - 2);
    reply(d, len, alloc);
}

/* READ DISC INFORMATION (MMC-3): a finalized single-session disc. */
static void cmd_read_disc_info(struct ide_dev *d)
{
    const uint8_t *c = d->atapi.cdb;
    if (c[1] & 7) {
        fail_invalid_field(d);
        return;
    }
    if (!check_medium(d))
        return;
    uint8_t *b = d->buf;
    memset(b, 0, 34);
    put16(b, 32);
    b[2] = 0x0e;    /* last session complete, disc finalized */
    b[3] = 1;       /* first track */
    b[4] = 1;       /* sessions */
    b[5] = 1, b[6] = 1; /* first and last track of the last session */
    b[7] = 0x20;    /* unrestricted use */
    b[8] = 0x00;    /* CD-DA or CD-ROM */
    put32(b + 16, 0xffffffff); /* no lead-in/lead-out start for a finalized disc */
    put32(b + 20, 0xffffffff);
    reply(d, 34, be16(c + 7));
}

/* READ TRACK INFORMATION (MMC-3): track 1 is the whole disc. */
static void cmd_read_track_info(struct ide_dev *d)
{
    const uint8_t *c = d->atapi.cdb;
    uint32_t n = be32(c + 2);
    if (!check_medium(d))
        return;
    bool ok;
    switch (c[1] & 3) {
    case 0: ok = n < capacity(d); break; /* an LBA in the track */
    case 1: ok = n == 1; break;          /* track number */
    case 2: ok = n == 1; break;          /* session number */
    default: ok = false; break;
    }
    if (!ok) {
        fail_invalid_field(d);
        return;
    }
    uint8_t *b = d->buf;
    memset(b, 0, 36);
    put16(b, 34);
    b[2] = 1, b[3] = 1;  /* track 1, session 1 */
    b[5] = 0x04;         /* data track, recorded uninterrupted */
    b[6] = 0x01;         /* data mode 1 */
    put32(b + 24, capacity(d));
    reply(d, 36, be16(c + 7));
}

/* READ SUB-CHANNEL (MMC-3): no audio ever plays. */
static void cmd_read_subchannel(struct ide_dev *d)
{
    const uint8_t *c = d->atapi.cdb;
    uint8_t *b = d->buf;
    uint32_t len = 4;
    memset(b, 0, 24);
    b[1] = 0x15; /* no current audio status */
    if (c[2] & 0x40) {
        unsigned format = c[3];
        if (format < 1 || format > 3) {
            fail_invalid_field(d);
            return;
        }
        b[4] = (uint8_t)format;
        if (format == 1) {
            if (!check_medium(d))
                return;
            b[5] = 0x14, b[6] = 1, b[7] = 1;
            put_addr(b + 8, 0, c[1] & 0x02);
            put_addr(b + 12, 0, c[1] & 0x02);
            len = 16;
        } else {
            len = 24; /* MCN/ISRC: not valid */
        }
    }
    put16(b + 2, len - 4);
    reply(d, len, be16(c + 7));
}

static void cmd_mechanism_status(struct ide_dev *d)
{
    uint8_t *b = d->buf;
    memset(b, 0, 8);
    b[1] = d->atapi.tray_open ? 0x10 : 0; /* mechanism idle, door open bit */
    reply(d, 8, be16(d->atapi.cdb + 8));
}

/* START STOP UNIT (MMC-3): LoEj with Start=0 opens the tray, with
 * Start=1 closes it (and the image is back in the drive). */
static void cmd_start_stop(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    uint8_t v = a->cdb[4];
    if ((v >> 4) == 0 && (v & 0x02)) {
        if (!(v & 0x01)) {
            if (a->locked) {
                atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
                return;
            }
            if (!a->tray_open) {
                a->tray_open = true;
                if (a->medium)
                    a->media_event = MEDIA_EVENT_REMOVAL;
                a->medium = false;
            }
        } else if (a->tray_open) {
            a->tray_open = false;
            if (d->disk.fd >= 0) {
                a->medium = true;
                a->media_event = MEDIA_EVENT_NEW;
                ua_add(a, ASC_MEDIUM_CHANGED);
            }
        }
    }
    atapi_ok(d);
}

static void atapi_packet(struct ide_dev *d)
{
    struct atapi_state *a = &d->atapi;
    memcpy(a->cdb, d->buf, sizeof(a->cdb));
    const uint8_t *c = a->cdb;
    uint8_t op = c[0];
    /* Unit attention goes to the first command that is not exempt (SPC-2
     * unit attention condition; MMC-3 exempts GET CONFIGURATION and GET
     * EVENT STATUS NOTIFICATION as well). */
    if (a->nua && op != 0x12 && op != 0x03 && op != 0x46 && op != 0x4a) {
        atapi_fail(d, SK_UNIT_ATTENTION, ua_take(a), 0);
        return;
    }
    switch (op) {
    case 0x00: /* TEST UNIT READY */
        if (check_medium(d))
            atapi_ok(d);
        break;
    case 0x03: cmd_request_sense(d); break;
    case 0x12: cmd_inquiry(d); break;
    case 0x1a: cmd_mode_sense(d, false); break;
    case 0x5a: cmd_mode_sense(d, true); break;
    case 0x1b: cmd_start_stop(d); break;
    case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL */
        a->locked = c[4] & 1;
        atapi_ok(d);
        break;
    case 0x25: cmd_read_capacity(d); break;
    case 0x28: cmd_read(d, be32(c + 2), be16(c + 7)); break;
    case 0xa8: cmd_read(d, be32(c + 2), be32(c + 6)); break;
    case 0xbe: cmd_read_cd(d); break;
    case 0x2b: /* SEEK(10) */
        if (!check_medium(d))
            break;
        if (be32(c + 2) >= capacity(d))
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        else
            atapi_ok(d);
        break;
    case 0x42: cmd_read_subchannel(d); break;
    case 0x43: cmd_read_toc(d); break;
    case 0x46: cmd_get_configuration(d); break;
    case 0x4a: cmd_get_event_status(d); break;
    case 0x51: cmd_read_disc_info(d); break;
    case 0x52: cmd_read_track_info(d); break;
    case 0xbb: atapi_ok(d); break; /* SET CD SPEED: any speed is fine */
    case 0xbd: cmd_mechanism_status(d); break;
    default:
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        break;
    }
}

/* ---- ATA commands of a packet device ---- */

/* IDENTIFY PACKET DEVICE (ATA/ATAPI-6 8.16). */
static void atapi_identify(struct ide_dev *d)
{
    uint8_t *id = d->buf;
    memset(id, 0, 512);
    /* ATAPI, CD-ROM command set, removable, DRQ within 50 us, 12-byte packets */
    ide_put_word(id, 0, 0x85c0);
    ide_identify_common(d, id);
    ide_put_word(id, 49, 0x0f00); /* IORDY, LBA, DMA */
    ide_put_word(id, 50, 0x4000);
    ide_put_word(id, 51, 0x0200);
    ide_put_word(id, 53, 0x0006); /* words 64-70 and 88 valid */
    unsigned kind = d->xfer_mode >> 3, mode = d->xfer_mode & 7;
    ide_put_word(id, 63, (uint16_t)(0x0007 | (kind == 4 ? 0x100 << mode : 0)));
    ide_put_word(id, 64, 0x0003);
    for (int w = 65; w <= 68; w++)
        ide_put_word(id, w, 120);
    ide_put_word(id, 80, 0x007e);
    ide_put_word(id, 82, 0x4218); /* NOP, DEVICE RESET, PACKET, power management */
    ide_put_word(id, 83, 0x4000);
    ide_put_word(id, 84, 0x4000);
    ide_put_word(id, 85, 0x4218);
    ide_put_word(id, 87, 0x4000);
    ide_put_word(id, 88, (uint16_t)(0x003f | (kind == 8 ? 0x100 << mode : 0)));
    ide_identify_checksum(id);
}

static void pio_in_done(struct ide_dev *d)
{
    ide_cmd_done(d, false);
}

void atapi_command(struct ide_dev *d, uint8_t cmd)
{
    struct atapi_state *a = &d->atapi;
    switch (cmd) {
    case 0xa0: /* PACKET */
        if (d->feature & 0x02) { /* overlap is not supported */
            ide_cmd_error(d, ER_ABRT);
            return;
        }
        a->dma = d->feature & 0x01;
        a->bcl = (uint32_t)d->lbah << 8 | d->lbam;
        if (a->bcl == 0 || a->bcl == 0xffff)
            a->bcl = 0xfffe;
        set_reason(d, IR_COD);
        ide_data_phase(d, XFER_PACKET, 0, 12, atapi_packet);
        break;
    case 0xa1:
        atapi_identify(d);
        ide_data_phase(d, XFER_PIO_IN, 0, 512, pio_in_done);
        ide_raise_irq(d);
        break;
    case 0x08: /* DEVICE RESET (8.9, 9.11): signature, no interrupt */
        ide_set_signature(d);
        d->error = 0x01;
        d->status = 0;
        break;
    case 0xef: /* SET FEATURES */
        if (d->feature == 0x03 && ide_valid_xfer_mode(d->nsector)) {
            d->xfer_mode = d->nsector;
            ide_cmd_done(d, true);
        } else if (d->feature == 0x66 || d->feature == 0xcc || d->feature == 0x02 || d->feature == 0x82) {
            ide_cmd_done(d, true);
        } else {
            ide_cmd_error(d, ER_ABRT);
        }
        break;
    case 0xe5: case 0x98: /* CHECK POWER MODE */
        d->nsector = 0xff;
        ide_cmd_done(d, true);
        break;
    case 0xe0: case 0xe1: case 0xe6: case 0x94: case 0x95: case 0x99: /* STANDBY/IDLE IMMEDIATE, SLEEP */
        ide_cmd_done(d, true);
        break;
    case 0xec:
        /* IDENTIFY DEVICE to a packet device: aborted, with the signature
         * so the host can tell what answered (8.15). */
        ide_set_signature(d);
        ide_cmd_error(d, ER_ABRT);
        break;
    default:
        ide_cmd_error(d, ER_ABRT);
        break;
    }
}
