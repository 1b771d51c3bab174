/*
 * QEMU's firmware configuration device (fw_cfg), the channel through which
 * SeaBIOS learns about the machine: selector port 0x510, data port 0x511,
 * and the DMA interface at 0x514 (address register, big-endian).
 *
 * Items are numbered (FW_CFG_*) or named files listed in the file
 * directory (item 0x19). The board adds items with fw_cfg_add_*; the data
 * is copied and owned by the device.
 */
#ifndef KESTREL_FW_CFG_H
#define KESTREL_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct phys;

enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_UUID = 0x02,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_MACHINE_ID = 0x06,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_KERNEL_CMDLINE = 0x09,
    FW_CFG_INITRD_ADDR = 0x0a,
    FW_CFG_INITRD_SIZE = 0x0b,
    FW_CFG_BOOT_DEVICE = 0x0c,
    FW_CFG_NUMA = 0x0d,
    FW_CFG_BOOT_MENU = 0x0e,
    FW_CFG_MAX_CPUS = 0x0f,
    FW_CFG_KERNEL_ENTRY = 0x10,
    FW_CFG_KERNEL_DATA = 0x11,
    FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13,
    FW_CFG_CMDLINE_SIZE = 0x14,
    FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16,
    FW_CFG_SETUP_SIZE = 0x17,
    FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
    FW_CFG_ACPI_TABLES = 0x8000,
    FW_CFG_SMBIOS_ENTRIES = 0x8001,
    FW_CFG_IRQ0_OVERRIDE = 0x8002,
    FW_CFG_E820_TABLE = 0x8003,
};

#define FW_CFG_MAX_ITEMS 64

struct fw_cfg_item {
    uint16_t key;
    uint8_t *data;
    uint32_t len;
    char name[56]; /* file name, "" for numbered items */
};

struct fw_cfg {
    struct fw_cfg_item item[FW_CFG_MAX_ITEMS];
    int nitems, nfiles;
    uint16_t selected;
    uint32_t offset;     /* read position in the selected item */
    uint32_t dma_hi;     /* high half of the DMA address register */
    struct phys *mem;    /* guest memory for DMA */
    uint8_t *dir;        /* file directory image (rebuilt as files are added) */
    uint32_t dir_len;
};

void fw_cfg_init(struct fw_cfg *f, struct phys *mem);
void fw_cfg_free(struct fw_cfg *f);
/* Return 0 or -errno. */
int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, size_t len);
int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v);
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len);
/* Find an item's data (tests, board). */
const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *f, const char *name);

/* Ports 0x510-0x51B. */
uint32_t fw_cfg_io_read(void *opaque, uint16_t port, int size);
void fw_cfg_io_write(void *opaque, uint16_t port, int size, uint32_t val);

#endif
