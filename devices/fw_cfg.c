/*
 * fw_cfg device (protocol documented in QEMU's docs/specs/fw_cfg.rst):
 * - write a 16-bit key to 0x510 to select an item and rewind it;
 * - read 0x511 byte by byte (past the end reads 0);
 * - DMA: write the guest-physical address of a FWCfgDmaAccess structure
 *   {be32 control, be32 length, be64 address} to 0x514 (high) and 0x518
 *   (low, which starts the transfer); control bits: 1 error, 2 read,
 *   4 skip, 8 select (key in bits 16-31), 16 write. Completion clears
 *   control (or leaves the error bit).
 * Guest writes to items are refused (error), as QEMU does for read-only items.
 */
#include "devices/fw_cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/phys.h"

#define DMA_ERROR 0x01
#define DMA_READ 0x02
#define DMA_SKIP 0x04
#define DMA_SELECT 0x08
#define DMA_WRITE 0x10

void fw_cfg_init(struct fw_cfg *f, struct phys *mem)
{
    memset(f, 0, sizeof(*f));
    f->mem = mem;
    fw_cfg_add_bytes(f, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_u32(f, FW_CFG_ID, 0x3); /* traditional interface and DMA */
}

void fw_cfg_free(struct fw_cfg *f)
{
    for (int k = 0; k < f->nitems; k++)
        free(f->item[k].data);
    free(f->dir);
    f->nitems = 0;
    f->dir = NULL;
}

static struct fw_cfg_item *find(struct fw_cfg *f, uint16_t key)
{
    for (int k = 0; k < f->nitems; k++)
        if (f->item[k].key == key)
            return &f->item[k];
    return NULL;
}

const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *f, const char *name)
{
    for (int k = 0; k < f->nitems; k++)
        if (f->item[k].name[0] && !strcmp(f->item[k].name, name))
            return &f->item[k];
    return NULL;
}

int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, size_t len)
{
    if (len > UINT32_MAX)
        return -EINVAL;
    struct fw_cfg_item *it = find(f, key);
    if (!it) {
        if (f->nitems == FW_CFG_MAX_ITEMS)
            return -ENOSPC;
        it = &f->item[f->nitems++];
        memset(it, 0, sizeof(*it));
        it->key = key;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    free(it->data);
    it->data = copy;
    it->len = (uint32_t)len;
    return 0;
}

int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return fw_cfg_add_bytes(f, key, b, 2);
}

int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int k = 0; k < 4; k++)
        b[k] = (uint8_t)(v >> (8 * k));
    return fw_cfg_add_bytes(f, key, b, 4);
}

int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(v >> (8 * k));
    return fw_cfg_add_bytes(f, key, b, 8);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static int rebuild_dir(struct fw_cfg *f)
{
    uint32_t len = 4 + 64 * (uint32_t)f->nfiles;
    uint8_t *dir = calloc(1, len);
    if (!dir)
        return -ENOMEM;
    put_be32(dir, (uint32_t)f->nfiles);
    uint8_t *e = dir + 4;
    for (int k = 0; k < f->nitems; k++) {
        const struct fw_cfg_item *it = &f->item[k];
        if (!it->name[0])
            continue;
        put_be32(e, it->len);
        e[4] = (uint8_t)(it->key >> 8);
        e[5] = (uint8_t)it->key;
        memcpy(e + 8, it->name, sizeof(it->name));
        e += 64;
    }
    int err = fw_cfg_add_bytes(f, FW_CFG_FILE_DIR, dir, len);
    free(dir);
    return err;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len)
{
    if (strlen(name) >= sizeof(f->item[0].name))
        return -ENAMETOOLONG;
    struct fw_cfg_item *existing = (struct fw_cfg_item *)fw_cfg_find_file(f, name);
    uint16_t key = existing ? existing->key : (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
    int err = fw_cfg_add_bytes(f, key, data, len);
    if (err)
        return err;
    if (!existing) {
        strcpy(find(f, key)->name, name);
        f->nfiles++;
    }
    return rebuild_dir(f);
}

static uint8_t read_byte(struct fw_cfg *f)
{
    const struct fw_cfg_item *it = find(f, f->selected);
    if (!it || f->offset >= it->len)
        return 0;
    return it->data[f->offset++];
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dma_transfer(struct fw_cfg *f, uint64_t desc_addr)
{
    uint8_t d[16];
    phys_read_buf(f->mem, desc_addr, d, sizeof(d));
    uint32_t control = be32_at(d), len = be32_at(d + 4);
    uint64_t addr = (uint64_t)be32_at(d + 8) << 32 | be32_at(d + 12);
    if (control & DMA_SELECT) {
        f->selected = (uint16_t)(control >> 16);
        f->offset = 0;
    }
    uint32_t result = 0;
    if (control & DMA_WRITE) {
        result = DMA_ERROR; /* every item is read-only */
    } else if (control & (DMA_READ | DMA_SKIP)) {
        const struct fw_cfg_item *it = find(f, f->selected);
        uint32_t avail = it && f->offset < it->len ? it->len - f->offset : 0;
        uint32_t n = len < avail ? len : avail;
        if (control & DMA_READ) {
            if (n)
                phys_write_buf(f->mem, addr, it->data + f->offset, n);
            /* Past the end of the item the device supplies zeros. */
            static const uint8_t zeros[256];
            for (uint32_t k = n; k < len;) {
                uint32_t chunk = len - k < sizeof(zeros) ? len - k : (uint32_t)sizeof(zeros);
                phys_write_buf(f->mem, addr + k, zeros, chunk);
                k += chunk;
            }
        }
        f->offset += n;
    }
    uint8_t out[4];
    put_be32(out, result);
    phys_write_buf(f->mem, desc_addr, out, 4);
}

uint32_t fw_cfg_io_read(void *opaque, uint16_t port, int size)
{
    struct fw_cfg *f = opaque;
    switch (port) {
    case 0x511: {
        uint32_t v = 0;
        for (int k = 0; k < size; k++)
            v |= (uint32_t)read_byte(f) << (8 * k);
        return v;
    }
    case 0x514: /* the DMA register reads back the signature "QEMU CFG" */
        return size == 4 ? 0x51454d55u : 0;
    case 0x518:
        return size == 4 ? 0x20434647u : 0;
    }
    return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static uint32_t bswap32(uint32_t v)
{
    return __builtin_bswap32(v);
}

void fw_cfg_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct fw_cfg *f = opaque;
    switch (port) {
    case 0x510:
        f->selected = (uint16_t)val;
        f->offset = 0;
        break;
    case 0x514:
        if (size == 4)
            f->dma_hi = bswap32(val);
        break;
    case 0x518:
        if (size == 4) {
            dma_transfer(f, (uint64_t)f->dma_hi << 32 | bswap32(val));
            f->dma_hi = 0;
        }
        break;
    }
}
