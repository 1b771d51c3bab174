/*
 * What the IDE files share among themselves (not part of the device's
 * interface, which is ide.h).
 */
#ifndef KESTREL_IDE_INT_H
#define KESTREL_IDE_INT_H

#include "devices/ide.h"

/* ---- ide.c: the channel ---- */

/* Assert the device's interrupt request (seen on the line while the device
 * is selected and nIEN is clear). */
void ide_raise_irq(struct ide_dev *d);
/* Recompute the channel's INTRQ line. */
void ide_update_irq(struct ide_channel *ch);
/* Start a data phase over d->buf[pos..end): the host moves it through the
 * data port (PIO, PACKET) or the bus master does (DMA); then done() runs
 * with d->xfer back at XFER_NONE. Sets DRQ; raises no interrupt. */
void ide_data_phase(struct ide_dev *d, enum ide_xfer x, uint32_t pos, uint32_t end, void (*done)(struct ide_dev *d));
/* The current window has been moved completely: continue the command. */
void ide_end_window(struct ide_dev *d);
/* End a command: status DRDY|DSC, no data phase, optionally an interrupt. */
void ide_cmd_done(struct ide_dev *d, bool irq);
/* End a command with ERR and the given error register, and interrupt. */
void ide_cmd_error(struct ide_dev *d, uint8_t error);
/* The reset signature of the device's kind in its task file. */
void ide_set_signature(struct ide_dev *d);
/* Report a host-side problem (I/O error on an image). */
void ide_log(struct ide_dev *d, const char *what, int err);
/* Put an ATA string (two characters per word, first in the high byte)
 * into IDENTIFY words [word, word + nwords), padded with spaces. */
void ide_put_string(uint8_t *id, int word, int nwords, const char *s);
/* Store a little-endian word of an IDENTIFY block. */
static inline void ide_put_word(uint8_t *id, int word, uint16_t v)
{
    id[2 * word] = (uint8_t)v;
    id[2 * word + 1] = (uint8_t)(v >> 8);
}
/* Word 255: signature A5h and the checksum byte that makes the 512 bytes
 * sum to zero (ATA/ATAPI-6 8.15, word 255). */
void ide_identify_checksum(uint8_t *id);
/* Word 93 (hardware reset result) and the words shared by both kinds. */
void ide_identify_common(struct ide_dev *d, uint8_t *id);

/* Hardware reset of a channel and its devices. */
void ide_channel_reset(struct ide_channel *ch);

/* ---- ide_ata.c: hard disks ---- */

void ata_command(struct ide_dev *d, uint8_t cmd);
void ata_power_on(struct ide_dev *d);
void ata_soft_reset(struct ide_dev *d);
void ata_setup_geometry(struct ide_dev *d);
/* SET FEATURES 03h argument check (shared with ATAPI). */
bool ide_valid_xfer_mode(uint8_t mode);

/* ---- atapi.c: CD-ROM drives ---- */

void atapi_command(struct ide_dev *d, uint8_t cmd);
void atapi_power_on(struct ide_dev *d);

/* ---- bmdma.c: bus master ---- */

/* The device's DMA data phase is ready: run the engine if it is started. */
void bmdma_kick(struct ide_channel *ch);
/* The channel's INTRQ went high: the status register's interrupt bit. */
void bmdma_irq_edge(struct ide_channel *ch);
void bmdma_reset(struct ide *ide);

#endif
