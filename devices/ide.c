/*
 * One IDE channel as the host sees it through its ports (ATA/ATAPI-6,
 * T13/1410D, clause 7 "register description" and clause 9 "protocol"):
 *
 *   base+0  data (16-bit; a 32-bit access moves two words, as on the PIIX)
 *   base+1  error (read) / features (write)
 *   base+2  sector count / ATAPI interrupt reason
 *   base+3  LBA low, +4 LBA mid, +5 LBA high (ATAPI: byte count)
 *   base+6  device (DEV selects device 0 or 1)
 *   base+7  status (read; clears the pending interrupt) / command (write)
 *   ctl     alternate status (read, no side effect) / device control
 *           (write: nIEN, SRST, HOB)
 *
 * Writes to the command block reach both devices, as they share the cable;
 * reads come from the selected one. Like QEMU's model (which SeaBIOS and
 * Linux are known to probe correctly), an absent device reads status and
 * error as 0 while the shared registers keep what was written. Each of
 * the LBA48 registers is a two-deep FIFO; HOB in device control reads the
 * older byte (clause 7, Device Control register), and any command-block
 * write clears HOB.
 *
 * Data phases are windows of the device's buffer that either the host
 * moves through the data port or the bus master moves to/from memory; when
 * a window is used up the command's block_done() continues it, so the ATA
 * and ATAPI code describe transfers once for PIO and DMA.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/ide_int.h"

static struct ide_dev *selected(struct ide_channel *ch)
{
    return &ch->dev[(ch->select & DEV_DEV) ? 1 : 0];
}

void ide_update_irq(struct ide_channel *ch)
{
    struct ide_dev *d = selected(ch);
    int level = !(ch->dc & (DC_NIEN | DC_SRST)) && d->kind != IDE_NONE && d->intrq;
    if (level == ch->irq_level)
        return;
    ch->irq_level = level;
    if (level)
        bmdma_irq_edge(ch);
    irq_set(&ch->irq, level);
}

void ide_raise_irq(struct ide_dev *d)
{
    d->intrq = true;
    ide_update_irq(d->ch);
}

void ide_data_phase(struct ide_dev *d, enum ide_xfer x, uint32_t pos, uint32_t end, void (*done)(struct ide_dev *d))
{
    d->xfer = x;
    d->pos = pos;
    d->end = end;
    d->block_done = done;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    if (x == XFER_DMA_IN || x == XFER_DMA_OUT) {
        d->ch->dma_dev = d;
        bmdma_kick(d->ch);
    }
}

void ide_cmd_done(struct ide_dev *d, bool irq)
{
    d->xfer = XFER_NONE;
    if (d->ch->dma_dev == d)
        d->ch->dma_dev = NULL;
    d->status = ST_DRDY | ST_DSC;
    if (irq)
        ide_raise_irq(d);
}

void ide_cmd_error(struct ide_dev *d, uint8_t error)
{
    d->xfer = XFER_NONE;
    if (d->ch->dma_dev == d)
        d->ch->dma_dev = NULL;
    d->status = ST_DRDY | ST_ERR;
    d->error = error;
    ide_raise_irq(d);
}

/* Signatures after reset and diagnostics (ATA/ATAPI-6 9.12): count and LBA
 * low 01h; LBA mid/high 00h/00h for ATA, 14h/EBh for packet devices. */
void ide_set_signature(struct ide_dev *d)
{
    d->nsector = d->hob_nsector = 1;
    d->lbal = d->hob_lbal = 1;
    d->lbam = d->hob_lbam = d->kind == IDE_ATAPI ? 0x14 : 0;
    d->lbah = d->hob_lbah = d->kind == IDE_ATAPI ? 0xeb : 0;
}

void ide_log(struct ide_dev *d, const char *what, int err)
{
    struct ide *ide = d->ch->ide;
    if (!ide->log)
        return;
    char msg[512];
    snprintf(msg, sizeof(msg), "ide%d.%d (%s): %s: %s", d->ch->index, d->unit, d->disk.path, what, strerror(-err));
    ide->log(ide->log_ctx, msg);
}

void ide_put_string(uint8_t *id, int word, int nwords, const char *s)
{
    size_t len = strlen(s);
    for (int k = 0; k < 2 * nwords; k++) {
        char c = (size_t)k < len ? s[k] : ' ';
        id[2 * word + (k ^ 1)] = (uint8_t)c; /* first character in the high byte */
    }
}

void ide_identify_checksum(uint8_t *id)
{
    id[510] = 0xa5;
    uint8_t sum = 0;
    for (int k = 0; k < 511; k++)
        sum = (uint8_t)(sum + id[k]);
    id[511] = (uint8_t)-sum;
}

void ide_identify_common(struct ide_dev *d, uint8_t *id)
{
    ide_put_string(id, 10, 10, d->serial);
    ide_put_string(id, 23, 4, "0.1.0");
    ide_put_string(id, 27, 20, d->model);
    /* Word 93, hardware reset result (8.15): bit 14 set, bit 13 CBLID-
     * above V_IH (an 80-conductor cable); device 0 in bits 7:0, device 1
     * in bits 12:8, each with "1", "determined by jumper" (01b) and
     * "passed diagnostics"; device 0 saw PDIAG-/DASP- if device 1 exists. */
    uint16_t w93 = 0x6000;
    if (d->unit == 0)
        w93 |= 0x000b | (d->ch->dev[1].kind != IDE_NONE ? 0x0030 : 0);
    else
        w93 |= 0x0b00;
    ide_put_word(id, 93, w93);
}

/* ---- reset, diagnostics ---- */

static void abort_transfer(struct ide_dev *d)
{
    d->xfer = XFER_NONE;
    if (d->ch->dma_dev == d)
        d->ch->dma_dev = NULL;
}

/* The task file after a reset or diagnostics: signature, diagnostic code
 * 01h, and DRDY only for ATA (packet devices leave it clear, 9.12
 * "Signature and persistence"). */
static void post_reset(struct ide_dev *d)
{
    abort_transfer(d);
    ide_set_signature(d);
    d->error = 0x01;
    d->status = d->kind == IDE_ATA ? ST_DRDY | ST_DSC : 0;
    d->intrq = false;
}

/* EXECUTE DEVICE DIAGNOSTIC (8.11): accepted whatever DEV says; both
 * devices run it, device 0 reports for both and interrupts. */
static void exec_diagnostic(struct ide_channel *ch)
{
    if (ch->dev[0].kind == IDE_NONE && ch->dev[1].kind == IDE_NONE)
        return;
    for (int u = 0; u < 2; u++)
        if (ch->dev[u].kind != IDE_NONE)
            post_reset(&ch->dev[u]);
    ch->select = 0;
    if (ch->dev[0].kind != IDE_NONE)
        ide_raise_irq(&ch->dev[0]);
    else
        ide_update_irq(ch);
}

void ide_channel_reset(struct ide_channel *ch)
{
    ch->dc = 0;
    ch->select = 0;
    ch->dma_dev = NULL;
    for (int u = 0; u < 2; u++) {
        struct ide_dev *d = &ch->dev[u];
        if (d->kind == IDE_NONE)
            continue;
        post_reset(d);
        if (d->kind == IDE_ATA)
            ata_power_on(d);
        else
            atapi_power_on(d);
    }
    ide_update_irq(ch);
}

/* Device control (clause 7): SRST held high keeps both devices busy; its
 * falling edge completes the software reset (9.2, software reset protocol). */
static void write_control(struct ide_channel *ch, uint8_t v)
{
    uint8_t old = ch->dc;
    ch->dc = v;
    if ((v & DC_SRST) && !(old & DC_SRST)) {
        for (int u = 0; u < 2; u++) {
            struct ide_dev *d = &ch->dev[u];
            if (d->kind == IDE_NONE)
                continue;
            abort_transfer(d);
            d->status = ST_BSY;
            d->intrq = false;
        }
    } else if (!(v & DC_SRST) && (old & DC_SRST)) {
        for (int u = 0; u < 2; u++) {
            struct ide_dev *d = &ch->dev[u];
            if (d->kind == IDE_NONE)
                continue;
            post_reset(d);
            if (d->kind == IDE_ATA)
                ata_soft_reset(d);
        }
        ch->select = 0;
    }
    ide_update_irq(ch);
}

/* ---- command block ---- */

static void write_command(struct ide_channel *ch, uint8_t cmd)
{
    if (ch->dc & DC_SRST)
        return;
    if (cmd == 0x90) {
        exec_diagnostic(ch);
        return;
    }
    struct ide_dev *d = selected(ch);
    if (d->kind == IDE_NONE)
        return;
    /* A new command ends whatever data phase was going on and clears the
     * pending interrupt (clause 5, INTRQ: cleared by a command write). */
    abort_transfer(d);
    d->intrq = false;
    ide_update_irq(ch);
    d->error = 0;
    d->cmd = cmd;
    if (d->kind == IDE_ATA)
        ata_command(d, cmd);
    else
        atapi_command(d, cmd);
}

static uint8_t read_reg(struct ide_channel *ch, unsigned reg)
{
    struct ide_dev *d = selected(ch);
    bool hob = ch->dc & DC_HOB;
    bool absent = d->kind == IDE_NONE;
    switch (reg) {
    case 1: return absent ? 0 : d->error;
    case 2: return hob ? d->hob_nsector : d->nsector;
    case 3: return hob ? d->hob_lbal : d->lbal;
    case 4: return hob ? d->hob_lbam : d->lbam;
    case 5: return hob ? d->hob_lbah : d->lbah;
    case 6: return ch->select;
    case 7:
        if (absent)
            return 0;
        d->intrq = false;
        ide_update_irq(ch);
        return d->status;
    }
    return 0xff;
}

static void write_reg(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    ch->dc &= (uint8_t)~DC_HOB;
    if (reg == 6) {
        ch->select = v;
        ide_update_irq(ch); /* INTRQ follows the selected device */
        return;
    }
    if (reg == 7) {
        write_command(ch, v);
        return;
    }
    for (int u = 0; u < 2; u++) {
        struct ide_dev *d = &ch->dev[u];
        switch (reg) {
        case 1: d->hob_feature = d->feature, d->feature = v; break;
        case 2: d->hob_nsector = d->nsector, d->nsector = v; break;
        case 3: d->hob_lbal = d->lbal, d->lbal = v; break;
        case 4: d->hob_lbam = d->lbam, d->lbam = v; break;
        case 5: d->hob_lbah = d->lbah, d->lbah = v; break;
        }
    }
}

/* ---- data port ---- */

void ide_end_window(struct ide_dev *d)
{
    void (*done)(struct ide_dev *) = d->block_done;
    d->xfer = XFER_NONE;
    d->status &= (uint8_t)~ST_DRQ;
    if (done)
        done(d);
}

static uint16_t data_in(struct ide_channel *ch)
{
    struct ide_dev *d = selected(ch);
    if (d->xfer != XFER_PIO_IN)
        return 0xffff;
    uint16_t v = d->buf[d->pos];
    if (d->pos + 1 < d->end) /* an odd-length ATAPI transfer ends with a pad byte */
        v |= (uint16_t)(d->buf[d->pos + 1] << 8);
    d->pos += 2;
    if (d->pos >= d->end)
        ide_end_window(d);
    return v;
}

static void data_out(struct ide_channel *ch, uint16_t v)
{
    struct ide_dev *d = selected(ch);
    if (d->xfer != XFER_PIO_OUT && d->xfer != XFER_PACKET)
        return;
    d->buf[d->pos] = (uint8_t)v;
    if (d->pos + 1 < d->end)
        d->buf[d->pos + 1] = (uint8_t)(v >> 8);
    d->pos += 2;
    if (d->pos >= d->end)
        ide_end_window(d);
}

uint32_t ide_cmd_read(void *opaque, uint16_t port, int size)
{
    struct ide_channel *ch = opaque;
    unsigned reg = port & 7;
    if (reg == 0) {
        uint32_t v = data_in(ch);
        if (size == 4)
            v |= (uint32_t)data_in(ch) << 16;
        return size == 1 ? v & 0xff : v;
    }
    uint32_t v = 0;
    for (int k = 0; k < size; k++) /* a wide access to the byte registers */
        v |= (uint32_t)(reg + (unsigned)k < 8 ? read_reg(ch, reg + (unsigned)k) : 0xff) << (8 * k);
    return v;
}

void ide_cmd_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct ide_channel *ch = opaque;
    unsigned reg = port & 7;
    if (reg == 0) {
        data_out(ch, (uint16_t)val);
        if (size == 4)
            data_out(ch, (uint16_t)(val >> 16));
        return;
    }
    for (int k = 0; k < size && reg + (unsigned)k < 8; k++)
        write_reg(ch, reg + (unsigned)k, (uint8_t)(val >> (8 * k)));
}

uint32_t ide_ctl_read(void *opaque, uint16_t port, int size)
{
    struct ide_channel *ch = opaque;
    (void)port;
    struct ide_dev *d = selected(ch);
    uint32_t v = d->kind == IDE_NONE ? 0 : d->status;
    return size == 1 ? v : v | (size == 2 ? 0xff00 : 0xffffff00u);
}

void ide_ctl_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    (void)port, (void)size;
    write_control(opaque, (uint8_t)val);
}
