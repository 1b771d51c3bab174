/*
 * PCI configuration mechanism #1, the i440FX/PIIX functions, fw_cfg, and
 * the ACPI tables as firmware would install them. Expected values come from
 * the PCI 2.1 spec (config mechanism, BAR sizing), Intel's 82371AB and
 * 82441FX datasheets, QEMU's fw_cfg specification, and the ACPI 1.0b spec
 * (table layouts, checksums); the table loader below is written from
 * QEMU's linker/loader description, independently of devices/acpi.c.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/acpi.h"
#include "devices/fw_cfg.h"
#include "devices/pci.h"
#include "devices/piix.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"

static uint32_t cfg_read(struct pci_bus *b, int devfn, int off, int size)
{
    pci_io_write(b, 0xcf8, 4, 0x80000000u | (uint32_t)devfn << 8 | (uint32_t)(off & 0xfc));
    return pci_io_read(b, (uint16_t)(0xcfc + (off & 3)), size);
}
static void cfg_write(struct pci_bus *b, int devfn, int off, int size, uint32_t v)
{
    pci_io_write(b, 0xcf8, 4, 0x80000000u | (uint32_t)devfn << 8 | (uint32_t)(off & 0xfc));
    pci_io_write(b, (uint16_t)(0xcfc + (off & 3)), size, v);
}

static int map_calls;
static uint32_t mapped_at[7];
static void test_map(struct pci_dev *d, int bar, uint32_t addr) { (void)d; map_calls++; mapped_at[bar] = addr; }

START_TEST(pci_config_and_bars)
{
    struct pci_bus bus;
    pci_bus_init(&bus, NULL, NULL);
    struct pci_dev d = { .map = test_map };
    ck_assert_int_eq(pci_register(&bus, &d, 0x18, 0x1234, 0x1111, 0x03000002, 0), 0);
    pci_declare_bar(&d, 0, 16 << 20, PCI_BAR_MEM, true);
    pci_declare_bar(&d, 1, 0x20, PCI_BAR_IO, false);
    ck_assert_uint_eq(cfg_read(&bus, 0x18, 0, 4), 0x11111234u);
    ck_assert_uint_eq(cfg_read(&bus, 0x18, 0x0a, 2), 0x0300);
    ck_assert_uint_eq(cfg_read(&bus, 0x20, 0, 4), 0xffffffffu); /* no device */
    cfg_write(&bus, 0x18, 0, 4, 0); /* IDs are read-only */
    ck_assert_uint_eq(cfg_read(&bus, 0x18, 0, 2), 0x1234);
    /* BAR sizing: write all ones, read back the size mask with type bits. */
    cfg_write(&bus, 0x18, 0x10, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_read(&bus, 0x18, 0x10, 4), 0xff000008u);
    cfg_write(&bus, 0x18, 0x14, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_read(&bus, 0x18, 0x14, 4), 0xffffffe1u);
    /* Not decoded until the command register enables it. */
    map_calls = 0;
    cfg_write(&bus, 0x18, 0x10, 4, 0xe0000000u);
    cfg_write(&bus, 0x18, 0x14, 4, 0xc000);
    ck_assert_int_eq(map_calls, 0);
    cfg_write(&bus, 0x18, 0x04, 2, PCI_CMD_MEM | PCI_CMD_IO);
    ck_assert_int_eq(map_calls, 2);
    ck_assert_uint_eq(mapped_at[0], 0xe0000000u);
    ck_assert_uint_eq(mapped_at[1], 0xc000);
    cfg_write(&bus, 0x18, 0x04, 2, PCI_CMD_IO);
    ck_assert_uint_eq(mapped_at[0], PCI_BAR_UNMAPPED);
    /* CONFIG_ADDRESS reads back; without bit 31 data reads float high. */
    pci_io_write(&bus, 0xcf8, 4, 0x80001810u);
    ck_assert_uint_eq(pci_io_read(&bus, 0xcf8, 4), 0x80001810u);
    pci_io_write(&bus, 0xcf8, 4, 0x00001800u);
    ck_assert_uint_eq(pci_io_read(&bus, 0xcfc, 4), 0xffffffffu);
}
END_TEST

static int isa_irq_level[16], pam_calls, powered_off, resets, a20;
static uint8_t last_pam[7];
static void h_irq(void *ctx, int irq, int level) { (void)ctx; isa_irq_level[irq] = level; }
static void h_pam(void *ctx, const uint8_t *pam) { (void)ctx; pam_calls++; memcpy(last_pam, pam, 7); }
static void h_off(void *ctx) { (void)ctx; powered_off++; }
static void h_reset(void *ctx) { (void)ctx; resets++; }
static void h_a20(void *ctx, bool on) { (void)ctx; a20 = on; }

START_TEST(piix_functions)
{
    uint64_t now = 0;
    struct vclock clk;
    vclock_init(&clk, CLOCK_ICOUNT, &now, 1);
    struct pci_bus bus;
    struct piix x;
    pci_bus_init(&bus, piix_route_pirq, &x);
    struct piix_hooks hooks = { h_pam, h_reset, h_off, h_a20, h_irq, NULL };
    ck_assert_int_eq(piix_init(&x, &bus, &clk, &hooks), 0);
    ck_assert_uint_eq(cfg_read(&bus, 0x00, 0, 4), 0x12378086u);
    ck_assert_uint_eq(cfg_read(&bus, 0x08, 0, 4), 0x70008086u);
    ck_assert_uint_eq(cfg_read(&bus, 0x0b, 0, 4), 0x71138086u);
    ck_assert_uint_eq(cfg_read(&bus, 0x08, 0x0e, 1), 0x80); /* multi-function */
    /* PAM: firmware makes 0xF0000 read/write RAM. */
    pam_calls = 0;
    cfg_write(&bus, 0x00, 0x59, 1, 0x30);
    ck_assert_int_eq(pam_calls, 1);
    ck_assert_int_eq(last_pam[0], 0x30);
    /* PIRQ routing: a device in slot 3 on INTA raises PIRQ (3+0)&3 = D. */
    cfg_write(&bus, 0x08, 0x63, 1, 0x0b);
    struct pci_dev dev = { 0 };
    pci_register(&bus, &dev, 3 << 3, 0x1af4, 0x1000, 0x02000000, 0);
    pci_set_pin(&dev, 1);
    pci_set_irq(&dev, 1);
    ck_assert_int_eq(isa_irq_level[11], 1);
    cfg_write(&bus, 0x08, 0x63, 1, 0x0a); /* re-route to IRQ 10 while asserted */
    ck_assert_int_eq(isa_irq_level[11], 0);
    ck_assert_int_eq(isa_irq_level[10], 1);
    pci_set_irq(&dev, 0);
    ck_assert_int_eq(isa_irq_level[10], 0);
    /* PM block: enable, PM timer at 3.579545 MHz, ACPI enable via SMI_CMD, S5. */
    cfg_write(&bus, 0x0b, 0x40, 4, PIIX_PM_BASE | 1);
    cfg_write(&bus, 0x0b, 0x80, 1, 1);
    now = 1000000000ull; /* one second */
    ck_assert_uint_eq(piix_pm_read(&x, PIIX_PM_BASE + 8, 4), 3579545u & 0xffffff);
    piix_io_write(&x, 0xb2, 1, 0xf1);
    ck_assert_uint_eq(piix_pm_read(&x, PIIX_PM_BASE + 4, 2) & 1, 1); /* SCI_EN */
    piix_pm_write(&x, PIIX_PM_BASE + 4, 2, (SLP_TYP_S5 << 10) | 0x2000);
    ck_assert_int_eq(powered_off, 1);
    /* PM timer overflow status raises SCI (IRQ 9) when enabled. */
    piix_pm_write(&x, PIIX_PM_BASE + 2, 2, 1);
    now = ticks_to_ns_ceil(0x800000, PM_TIMER_HZ) + 1;
    vclock_run_timers(&clk);
    ck_assert_int_eq(piix_pm_read(&x, PIIX_PM_BASE, 2) & 1, 1);
    ck_assert_int_eq(isa_irq_level[9], 1);
    piix_pm_write(&x, PIIX_PM_BASE, 2, 1); /* write 1 to clear */
    ck_assert_int_eq(isa_irq_level[9], 0);
    /* Port 0x92 A20 and fast reset; 0xCF9 reset. */
    piix_io_write(&x, 0x92, 1, 0x00);
    ck_assert_int_eq(a20, 0);
    piix_io_write(&x, 0x92, 1, 0x03);
    ck_assert_int_eq(a20, 1);
    ck_assert_int_eq(resets, 1);
    piix_io_write(&x, 0xcf9, 1, 0x06);
    ck_assert_int_eq(resets, 2);
}
END_TEST

/* ---- fw_cfg and ACPI ---- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

START_TEST(fw_cfg_interfaces)
{
    struct phys mem;
    ck_assert_int_eq(phys_init(&mem, 1 << 20), 0);
    struct fw_cfg f;
    fw_cfg_init(&f, &mem);
    fw_cfg_add_file(&f, "etc/hello", "world!", 6);
    fw_cfg_add_u64(&f, FW_CFG_RAM_SIZE, 128ull << 20);
    /* Traditional interface: signature, then the file directory. */
    fw_cfg_io_write(&f, 0x510, 2, FW_CFG_SIGNATURE);
    char sig[5] = { 0 };
    for (int k = 0; k < 4; k++)
        sig[k] = (char)fw_cfg_io_read(&f, 0x511, 1);
    ck_assert_str_eq(sig, "QEMU");
    fw_cfg_io_write(&f, 0x510, 2, FW_CFG_ID);
    ck_assert_int_eq(fw_cfg_io_read(&f, 0x511, 1) & 2, 2); /* DMA supported */
    fw_cfg_io_write(&f, 0x510, 2, FW_CFG_FILE_DIR);
    uint8_t dir[68];
    for (int k = 0; k < 68; k++)
        dir[k] = (uint8_t)fw_cfg_io_read(&f, 0x511, 1);
    ck_assert_uint_eq(be32(dir), 1);
    ck_assert_uint_eq(be32(dir + 4), 6);
    ck_assert_str_eq((char *)dir + 12, "etc/hello");
    uint16_t key = (uint16_t)(dir[8] << 8 | dir[9]);
    /* DMA: select the file and read it (plus 2 bytes past its end: zeros). */
    uint8_t desc[16] = { 0 };
    uint32_t ctl = (uint32_t)key << 16 | 0x08 | 0x02;
    desc[0] = (uint8_t)(ctl >> 24), desc[1] = (uint8_t)(ctl >> 16), desc[2] = (uint8_t)(ctl >> 8), desc[3] = (uint8_t)ctl;
    desc[7] = 8;
    desc[14] = 0x20; /* destination 0x2000 */
    memset(mem.ram + 0x2000, 0xaa, 16);
    phys_write_buf(&mem, 0x1000, desc, 16);
    fw_cfg_io_write(&f, 0x514, 4, 0);
    fw_cfg_io_write(&f, 0x518, 4, __builtin_bswap32(0x1000));
    ck_assert_int_eq(memcmp(mem.ram + 0x2000, "world!\0\0", 8), 0);
    ck_assert_uint_eq(be32(mem.ram + 0x1000), 0); /* completed without error */
    fw_cfg_free(&f);
    phys_free(&mem);
}
END_TEST

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

START_TEST(acpi_tables_install)
{
    struct phys mem;
    ck_assert_int_eq(phys_init(&mem, 2 << 20), 0);
    struct fw_cfg f;
    fw_cfg_init(&f, &mem);
    struct acpi_config cfg = { .pm_base = 0x600, .sci_irq = 9, .apic = true, .lapic_addr = 0xfee00000u,
                               .ioapic_addr = 0xfec00000u, .ncpus = 1 };
    ck_assert_int_eq(acpi_build(&f, &cfg), 0);
    /* Run the table loader the way firmware does: allocate each file,
     * add file addresses to pointer fields, then fill checksums. */
    const struct fw_cfg_item *loader = fw_cfg_find_file(&f, "etc/table-loader");
    ck_assert_ptr_nonnull(loader);
    struct { char name[56]; uint8_t *at; uint32_t addr; } files[4];
    int nfiles = 0;
    uint32_t next_high = 0x100000, next_fseg = 0xf0000;
    for (uint32_t off = 0; off < loader->len; off += 128) {
        const uint8_t *c = loader->data + off;
        uint32_t type = c[0] | c[1] << 8;
        if (type == 1) {
            const struct fw_cfg_item *it = fw_cfg_find_file(&f, (const char *)c + 4);
            ck_assert_ptr_nonnull(it);
            uint32_t *next = c[64] == 2 ? &next_fseg : &next_high;
            strcpy(files[nfiles].name, (const char *)c + 4);
            files[nfiles].addr = *next;
            files[nfiles].at = mem.ram + *next;
            memcpy(files[nfiles].at, it->data, it->len);
            *next += (it->len + 63) & ~63u;
            nfiles++;
        }
    }
    for (uint32_t off = 0; off < loader->len; off += 128) {
        const uint8_t *c = loader->data + off;
        if (c[0] != 2)
            continue;
        int d = -1, s = -1;
        for (int k = 0; k < nfiles; k++) {
            if (!strcmp(files[k].name, (const char *)c + 4)) d = k;
            if (!strcmp(files[k].name, (const char *)c + 60)) s = k;
        }
        ck_assert(d >= 0 && s >= 0);
        uint32_t at = c[116] | c[117] << 8 | c[118] << 16 | (uint32_t)c[119] << 24, v;
        memcpy(&v, files[d].at + at, 4);
        v += files[s].addr;
        memcpy(files[d].at + at, &v, 4);
    }
    for (uint32_t off = 0; off < loader->len; off += 128) {
        const uint8_t *c = loader->data + off;
        if (c[0] != 3)
            continue;
        int d = -1;
        for (int k = 0; k < nfiles; k++)
            if (!strcmp(files[k].name, (const char *)c + 4)) d = k;
        uint32_t cs, start, len;
        memcpy(&cs, c + 60, 4), memcpy(&start, c + 64, 4), memcpy(&len, c + 68, 4);
        files[d].at[cs] = 0;
        files[d].at[cs] = (uint8_t)-sum8(files[d].at + start, len);
    }
    /* Now walk from the RSDP like an OS. */
    uint8_t *rsdp = NULL;
    for (uint32_t a = 0xf0000; a < 0x100000; a += 16)
        if (!memcmp(mem.ram + a, "RSD PTR ", 8)) { rsdp = mem.ram + a; break; }
    ck_assert_ptr_nonnull(rsdp);
    ck_assert_int_eq(sum8(rsdp, 20), 0);
    uint32_t rsdt_addr;
    memcpy(&rsdt_addr, rsdp + 16, 4);
    uint8_t *rsdt = mem.ram + rsdt_addr;
    ck_assert_int_eq(memcmp(rsdt, "RSDT", 4), 0);
    uint32_t rlen;
    memcpy(&rlen, rsdt + 4, 4);
    ck_assert_int_eq(sum8(rsdt, rlen), 0);
    int seen_fadt = 0, seen_madt = 0;
    for (uint32_t k = 36; k < rlen; k += 4) {
        uint32_t ta, tl;
        memcpy(&ta, rsdt + k, 4);
        uint8_t *t = mem.ram + ta;
        memcpy(&tl, t + 4, 4);
        ck_assert_int_eq(sum8(t, tl), 0);
        if (!memcmp(t, "FACP", 4)) {
            seen_fadt = 1;
            uint32_t dsdt_addr, pm1a, tmr, smi;
            memcpy(&dsdt_addr, t + 40, 4), memcpy(&pm1a, t + 56, 4), memcpy(&tmr, t + 76, 4), memcpy(&smi, t + 48, 4);
            ck_assert_uint_eq(pm1a, 0x600);
            ck_assert_uint_eq(tmr, 0x608);
            ck_assert_uint_eq(smi, 0xb2);
            ck_assert_int_eq(t[46], 9);
            uint8_t *dsdt = mem.ram + dsdt_addr;
            uint32_t dl;
            memcpy(&dl, dsdt + 4, 4);
            ck_assert_int_eq(memcmp(dsdt, "DSDT", 4), 0);
            ck_assert_int_eq(sum8(dsdt, dl), 0);
            /* \_S5 is a NameOp (0x08) followed by the name. */
            int found = 0;
            for (uint32_t j = 36; j + 5 < dl; j++)
                if (!memcmp(dsdt + j, "_S5_", 4) && (dsdt[j - 1] == 0x08 || dsdt[j - 1] == '\\'))
                    found = 1;
            ck_assert_int_eq(found, 1);
            uint32_t facs;
            memcpy(&facs, t + 36, 4);
            ck_assert_int_eq(memcmp(mem.ram + facs, "FACS", 4), 0);
            ck_assert_int_eq(facs & 63, 0);
        }
        if (!memcmp(t, "APIC", 4)) {
            seen_madt = 1;
            uint32_t lapic;
            memcpy(&lapic, t + 36, 4);
            ck_assert_uint_eq(lapic, 0xfee00000u);
        }
    }
    ck_assert_int_eq(seen_fadt, 1);
    ck_assert_int_eq(seen_madt, 1);
    fw_cfg_free(&f);
    phys_free(&mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chipset");
    TCase *tc = tcase_create("chipset");
    tcase_add_test(tc, pci_config_and_bars);
    tcase_add_test(tc, piix_functions);
    tcase_add_test(tc, fw_cfg_interfaces);
    tcase_add_test(tc, acpi_tables_install);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
