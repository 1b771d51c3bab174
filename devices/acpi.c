/*
 * Building the ACPI tables (ACPI 1.0b layouts: RSDP rev 0, RSDT, FADT rev 1,
 * FACS, MADT, DSDT) and the table-loader script that places them.
 *
 * Every table goes into one blob, "etc/acpi/tables"; pointers between
 * tables are written as offsets into the blob and an ADD_POINTER command
 * tells the firmware to add the blob's final address; ADD_CHECKSUM
 * commands make the firmware compute each checksum after patching.
 */
#include "devices/acpi.h"

#include <errno.h>
#include <string.h>

#include "devices/acpi/dsdt.h"
#include "devices/fw_cfg.h"
#include "mmu/phys.h"

#define TABLES_FILE "etc/acpi/tables"
#define RSDP_FILE "etc/acpi/rsdp"
#define LOADER_FILE "etc/table-loader"

#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define ZONE_HIGH 1
#define ZONE_FSEG 2

const uint8_t *acpi_dsdt(uint32_t *len)
{
    *len = sizeof(dsdt_aml_code);
    return dsdt_aml_code;
}

struct blob {
    uint8_t data[16384];
    uint32_t len;
};

struct loader {
    uint8_t cmd[32][128];
    int n;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static uint32_t blob_alloc(struct blob *b, uint32_t size, uint32_t align)
{
    b->len = (b->len + align - 1) & ~(align - 1);
    uint32_t off = b->len;
    b->len += size;
    return off;
}

static uint8_t *loader_cmd(struct loader *l, uint32_t type)
{
    uint8_t *c = l->cmd[l->n++];
    memset(c, 0, 128);
    put32(c, type);
    return c;
}

static void loader_allocate(struct loader *l, const char *file, uint32_t align, uint8_t zone)
{
    uint8_t *c = loader_cmd(l, LOADER_ALLOCATE);
    strncpy((char *)c + 4, file, 55);
    put32(c + 60, align);
    c[64] = zone;
}

/* The 4-byte field at dest_off in dest holds an offset into src: add src's address. */
static void loader_pointer(struct loader *l, const char *dest, uint32_t dest_off, const char *src)
{
    uint8_t *c = loader_cmd(l, LOADER_ADD_POINTER);
    strncpy((char *)c + 4, dest, 55);
    strncpy((char *)c + 60, src, 55);
    put32(c + 116, dest_off);
    c[120] = 4;
}

static void loader_checksum(struct loader *l, const char *file, uint32_t csum_off, uint32_t start, uint32_t len)
{
    uint8_t *c = loader_cmd(l, LOADER_ADD_CHECKSUM);
    strncpy((char *)c + 4, file, 55);
    put32(c + 60, csum_off);
    put32(c + 64, start);
    put32(c + 68, len);
}

/* Standard 36-byte table header; the checksum is left for the loader. */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "KSTREL", 6);
    memcpy(t + 16, "KESTRELP", 8);
    put32(t + 24, 1);
    memcpy(t + 28, "KSTR", 4);
    put32(t + 32, 1);
}

int acpi_build(struct fw_cfg *f, const struct acpi_config *cfg)
{
    static const char *T = TABLES_FILE;
    struct blob *b = &(struct blob){ .len = 0 };
    struct loader *l = &(struct loader){ .n = 0 };
    memset(b->data, 0, sizeof(b->data));
    loader_allocate(l, RSDP_FILE, 16, ZONE_FSEG);
    loader_allocate(l, T, 64, ZONE_HIGH);

    /* FACS: no checksum, 64-byte aligned. */
    uint32_t facs = blob_alloc(b, 64, 64);
    memcpy(b->data + facs, "FACS", 4);
    put32(b->data + facs + 4, 64);

    uint32_t dsdt = blob_alloc(b, sizeof(dsdt_aml_code), 4);
    memcpy(b->data + dsdt, dsdt_aml_code, sizeof(dsdt_aml_code));
    b->data[dsdt + 9] = 0; /* recomputed by the loader like every other table */
    loader_checksum(l, T, dsdt + 9, dsdt, sizeof(dsdt_aml_code));

    /* FADT (ACPI 1.0, 116 bytes). */
    uint32_t fadt = blob_alloc(b, 116, 4);
    uint8_t *p = b->data + fadt;
    header(p, "FACP", 116, 1);
    put32(p + 36, facs);
    loader_pointer(l, T, fadt + 36, T);
    put32(p + 40, dsdt);
    loader_pointer(l, T, fadt + 40, T);
    p[44] = 0; /* INT_MODEL (reserved in 1.0b) */
    put16(p + 46, cfg->sci_irq);
    put32(p + 48, 0xb2);        /* SMI_CMD */
    p[52] = 0xf1;               /* ACPI_ENABLE */
    p[53] = 0xf0;               /* ACPI_DISABLE */
    put32(p + 56, cfg->pm_base);        /* PM1a_EVT_BLK */
    put32(p + 64, cfg->pm_base + 4);    /* PM1a_CNT_BLK */
    put32(p + 76, cfg->pm_base + 8);    /* PM_TMR_BLK */
    put32(p + 80, cfg->pm_base + 0x0c); /* GPE0_BLK */
    p[88] = 4;                  /* PM1_EVT_LEN */
    p[89] = 2;                  /* PM1_CNT_LEN */
    p[91] = 4;                  /* PM_TM_LEN */
    p[92] = 4;                  /* GPE0_BLK_LEN */
    put16(p + 96, 0xfff);       /* P_LVL2_LAT: C2 not supported */
    put16(p + 98, 0xffff);      /* P_LVL3_LAT: C3 not supported */
    p[108] = 0x32;              /* CENTURY: the CMOS register holding it */
    /* Flags: WBINVD works, C1 supported, power/sleep buttons absent (as
     * control methods), RTC wake not used. */
    put32(p + 112, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5));
    loader_checksum(l, T, fadt + 9, fadt, 116);

    uint32_t tables[4], ntables = 0;
    tables[ntables++] = fadt;

    if (cfg->apic) {
        /* MADT (ACPI 1.0b 5.2.8): one Processor Local APIC per CPU, the
         * IOAPIC with GSI base 0, the two ISA overrides, and LINT1 of
         * every CPU as the NMI input (Local APIC NMI, processor 0xFF). */
        uint32_t len = 44 + 8 * (uint32_t)cfg->ncpus + 12 + 10 + 10 + 6;
        uint32_t madt = blob_alloc(b, len, 4);
        p = b->data + madt;
        header(p, "APIC", len, 1);
        put32(p + 36, cfg->lapic_addr);
        put32(p + 40, 1); /* PCAT_COMPAT: the 8259s exist */
        uint8_t *e = p + 44;
        for (int k = 0; k < cfg->ncpus; k++, e += 8) {
            e[0] = 0, e[1] = 8, e[2] = (uint8_t)k, e[3] = (uint8_t)k;
            put32(e + 4, 1);
        }
        e[0] = 1, e[1] = 12, e[2] = cfg->ioapic_id;
        put32(e + 4, cfg->ioapic_addr);
        put32(e + 8, 0);
        e += 12;
        /* ISA IRQ 0 arrives at IOAPIC pin 2; the SCI is level, active high. */
        e[0] = 2, e[1] = 10, e[2] = 0, e[3] = 0;
        put32(e + 4, 2);
        put16(e + 8, 0);
        e += 10;
        e[0] = 2, e[1] = 10, e[2] = 0, e[3] = cfg->sci_irq;
        put32(e + 4, cfg->sci_irq);
        put16(e + 8, 0x000d);
        e += 10;
        e[0] = 4, e[1] = 6, e[2] = 0xff; /* all processors; flags 0: conforms to the bus */
        put16(e + 3, 0);
        e[5] = 1; /* LINT1 */
        loader_checksum(l, T, madt + 9, madt, len);
        tables[ntables++] = madt;
    }

    uint32_t rlen = 36 + 4 * ntables;
    uint32_t rsdt = blob_alloc(b, rlen, 4);
    p = b->data + rsdt;
    header(p, "RSDT", rlen, 1);
    for (uint32_t k = 0; k < ntables; k++) {
        put32(p + 36 + 4 * k, tables[k]);
        loader_pointer(l, T, rsdt + 36 + 4 * k, T);
    }
    loader_checksum(l, T, rsdt + 9, rsdt, rlen);

    uint8_t rsdp[20] = { 0 };
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "KSTREL", 6);
    rsdp[15] = 0; /* revision 0: ACPI 1.0 */
    put32(rsdp + 16, rsdt);
    loader_pointer(l, RSDP_FILE, 16, T);
    loader_checksum(l, RSDP_FILE, 8, 0, 20);

    if (b->len > sizeof(b->data))
        return -ENOSPC;
    int err = fw_cfg_add_file(f, T, b->data, b->len);
    if (!err)
        err = fw_cfg_add_file(f, RSDP_FILE, rsdp, sizeof(rsdp));
    if (!err)
        err = fw_cfg_add_file(f, LOADER_FILE, l->cmd, 128u * (uint32_t)l->n);
    return err;
}

/* ---- Executing the loader script (direct boot, no firmware) ---- */

struct placed {
    const char *name;
    uint32_t addr, len;
};

static struct placed *placed_find(struct placed *p, int n, const uint8_t *name)
{
    for (int k = 0; k < n; k++)
        if (!strncmp(p[k].name, (const char *)name, 56))
            return &p[k];
    return NULL;
}

uint32_t acpi_install(const struct fw_cfg *f, struct phys *mem, uint32_t fseg_addr, uint32_t high_addr,
                      uint32_t *high_len)
{
    const struct fw_cfg_item *script = fw_cfg_find_file(f, LOADER_FILE);
    if (!script)
        return 0;
    struct placed files[8];
    int n = 0;
    uint32_t fseg = fseg_addr, high = high_addr, rsdp = 0;
    for (uint32_t off = 0; off + 128 <= script->len; off += 128) {
        const uint8_t *c = script->data + off;
        uint32_t type = c[0] | (uint32_t)c[1] << 8;
        if (type == LOADER_ALLOCATE && n < 8) {
            const struct fw_cfg_item *it = fw_cfg_find_file(f, (const char *)c + 4);
            if (!it)
                return 0;
            uint32_t align = c[60] | (uint32_t)c[61] << 8, *next = c[64] == ZONE_FSEG ? &fseg : &high;
            if (align < 1)
                align = 1;
            *next = (*next + align - 1) & ~(align - 1);
            files[n] = (struct placed){ it->name, *next, it->len };
            phys_write_buf(mem, *next, it->data, it->len);
            if (c[64] == ZONE_FSEG)
                rsdp = *next;
            *next += it->len;
            n++;
        } else if (type == LOADER_ADD_POINTER) {
            struct placed *d = placed_find(files, n, c + 4), *src = placed_find(files, n, c + 60);
            uint32_t at = c[116] | (uint32_t)c[117] << 8 | (uint32_t)c[118] << 16 | (uint32_t)c[119] << 24;
            if (!d || !src || at + 4 > d->len)
                return 0;
            uint32_t v = (uint32_t)phys_read(mem, d->addr + at, 4);
            phys_write(mem, d->addr + at, 4, v + src->addr);
        } else if (type == LOADER_ADD_CHECKSUM) {
            struct placed *d = placed_find(files, n, c + 4);
            uint32_t cs = c[60] | (uint32_t)c[61] << 8 | (uint32_t)c[62] << 16 | (uint32_t)c[63] << 24;
            uint32_t start = c[64] | (uint32_t)c[65] << 8 | (uint32_t)c[66] << 16 | (uint32_t)c[67] << 24;
            uint32_t len = c[68] | (uint32_t)c[69] << 8 | (uint32_t)c[70] << 16 | (uint32_t)c[71] << 24;
            if (!d || cs >= d->len || start > d->len || len > d->len - start)
                return 0;
            phys_write(mem, d->addr + cs, 1, 0);
            uint8_t sum = 0;
            for (uint32_t k = 0; k < len; k++)
                sum = (uint8_t)(sum + phys_read(mem, d->addr + start + k, 1));
            phys_write(mem, d->addr + cs, 1, (uint8_t)-sum);
        }
    }
    *high_len = high - high_addr;
    return rsdp;
}
