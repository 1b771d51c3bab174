/*
 * Bus-master IDE (Intel 82371AB PIIX4 datasheet, 2.7 "Bus Master IDE I/O
 * registers", and 3.x "Bus master IDE function"; the PIIX3 is the same):
 * per channel, at BAR 4 + 0 (primary) / + 8 (secondary):
 *
 *   +0  command: bit 0 start/stop, bit 3 direction (1: write to memory)
 *   +2  status: bit 0 active (RO), bit 1 error and bit 2 interrupt
 *       (write 1 to clear), bits 5/6 drive 0/1 DMA capable (R/W)
 *   +4  physical region descriptor table address (dword aligned)
 *
 * A PRD is 8 bytes: a memory address (bit 0 ignored), a byte count in
 * bits 15:1 of the next word (0 means 64 KiB), and end-of-table in bit 31
 * of the second dword. Once started, the engine walks the table and moves
 * whatever the device's DMA data phase offers; memory is reached through
 * phys_read_buf/phys_write_buf, so writes into pages holding decoded code
 * invalidate it like CPU stores do.
 *
 * How a transfer ends is what the status register tells the driver
 * (datasheet table "Interrupt/Active bit interaction"):
 *   interrupt=1 active=0  the device finished and the table was used up
 *   interrupt=1 active=1  the device finished before the table ended
 *   interrupt=0 active=0  the table ended before the device's data did
 *                         (the device keeps waiting with DRQ set)
 * Without the PCI command register's bus-master enable nothing moves.
 */
#include <string.h>

#include "devices/ide_int.h"
#include "mmu/phys.h"

static void fetch_prd(struct ide_channel *ch)
{
    struct bmdma *bm = &ch->bm;
    uint8_t e[8];
    phys_read_buf(ch->ide->mem, bm->next_prd, e, sizeof(e));
    bm->addr = ((uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24) & ~1u;
    uint32_t count = ((uint32_t)e[4] | (uint32_t)e[5] << 8) & 0xfffe;
    bm->len = count ? count : 0x10000;
    bm->eot = e[7] & 0x80;
    bm->next_prd += 8;
}

void bmdma_kick(struct ide_channel *ch)
{
    struct bmdma *bm = &ch->bm;
    if (bm->running || !(bm->cmd & BM_CMD_START) || !(bm->status & BM_ST_ACTIVE))
        return;
    if (!(pci_get_word(ch->ide->pci.config + PCI_COMMAND) & PCI_CMD_MASTER))
        return;
    bm->running = true;
    bool moved = false;
    for (;;) {
        struct ide_dev *d = ch->dma_dev;
        if (!d || (d->xfer != XFER_DMA_IN && d->xfer != XFER_DMA_OUT))
            break; /* nothing (more) to move: wait for a command */
        if (bm->len == 0) {
            if (bm->eot) {
                bm->status &= (uint8_t)~BM_ST_ACTIVE; /* the table ran out first */
                break;
            }
            fetch_prd(ch);
        }
        uint32_t n = d->end - d->pos;
        if (n > bm->len)
            n = bm->len;
        if (d->xfer == XFER_DMA_IN)
            phys_write_buf(ch->ide->mem, bm->addr, d->buf + d->pos, n);
        else
            phys_read_buf(ch->ide->mem, bm->addr, d->buf + d->pos, n);
        bm->addr += n;
        bm->len -= n;
        d->pos += n;
        moved = true;
        if (d->pos >= d->end)
            ide_end_window(d); /* the device refills, or finishes and interrupts */
    }
    if (moved && !ch->dma_dev && bm->len == 0 && bm->eot)
        bm->status &= (uint8_t)~BM_ST_ACTIVE; /* finished exactly at the end of the table */
    bm->running = false;
}

void bmdma_irq_edge(struct ide_channel *ch)
{
    ch->bm.status |= BM_ST_INTR;
}

void bmdma_reset(struct ide *ide)
{
    for (int c = 0; c < 2; c++) {
        struct bmdma *bm = &ide->ch[c].bm;
        memset(bm, 0, sizeof(*bm));
    }
}

static uint8_t read8(struct ide *ide, unsigned off)
{
    struct bmdma *bm = &ide->ch[(off >> 3) & 1].bm;
    switch (off & 7) {
    case 0: return bm->cmd;
    case 2: return bm->status;
    case 4: case 5: case 6: case 7: return (uint8_t)(bm->prdt >> (8 * (off & 3)));
    }
    return 0;
}

static void write8(struct ide *ide, unsigned off, uint8_t v)
{
    struct ide_channel *ch = &ide->ch[(off >> 3) & 1];
    struct bmdma *bm = &ch->bm;
    switch (off & 7) {
    case 0: {
        uint8_t old = bm->cmd;
        /* The direction may not change while the engine runs. */
        bm->cmd = (uint8_t)((v & BM_CMD_START) | ((old & BM_CMD_START) ? (old & BM_CMD_WRITE) : (v & BM_CMD_WRITE)));
        if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
            bm->status |= BM_ST_ACTIVE;
            bm->next_prd = bm->prdt;
            bm->len = 0;
            bm->eot = false;
            bmdma_kick(ch);
        } else if (!(v & BM_CMD_START) && (old & BM_CMD_START)) {
            bm->status &= (uint8_t)~BM_ST_ACTIVE; /* stopped: whatever was left is abandoned */
        }
        break;
    }
    case 2:
        bm->status = (uint8_t)((bm->status & ~(BM_ST_DMA0 | BM_ST_DMA1)) | (v & (BM_ST_DMA0 | BM_ST_DMA1)));
        bm->status &= (uint8_t)~(v & (BM_ST_ERROR | BM_ST_INTR));
        break;
    case 4: case 5: case 6: case 7: {
        unsigned sh = 8 * (off & 3);
        bm->prdt = ((bm->prdt & ~(0xffu << sh)) | (uint32_t)v << sh) & ~3u;
        break;
    }
    }
}

uint32_t bmdma_read(void *opaque, uint16_t port, int size)
{
    struct ide *ide = opaque;
    unsigned off = (unsigned)(port - ide->bm_base) & 15;
    uint32_t v = 0;
    for (int k = 0; k < size; k++)
        v |= (uint32_t)read8(ide, (off + (unsigned)k) & 15) << (8 * k);
    return v;
}

void bmdma_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct ide *ide = opaque;
    unsigned off = (unsigned)(port - ide->bm_base) & 15;
    /* Bytes from the highest down, so that a dword write to the command
     * register's dword starts the engine with its other bytes in place. */
    for (int k = size - 1; k >= 0; k--)
        write8(ide, (off + (unsigned)k) & 15, (uint8_t)(val >> (8 * k)));
}
