/*
 * Direct Linux boot (--kernel bzImage [--initrd FILE] [--append STR]),
 * following the 32-bit boot protocol of Documentation/arch/x86/boot.rst:
 *
 *   - the protected-mode kernel (everything after the setup sectors) is
 *     loaded at 1 MiB, the initrd as high as the kernel allows;
 *   - a zero page (struct boot_params) gets the kernel's own setup header,
 *     the command line pointer, the initrd, the e820 memory map and the
 *     ACPI RSDP address;
 *   - the CPU starts at the 32-bit entry in flat protected mode with
 *     __BOOT_CS = 0x10 and __BOOT_DS = 0x18, ESI pointing at the zero page,
 *     interrupts off, paging off.
 * There is no firmware in this path: the board's PAM segments are opened as
 * RAM and the ACPI tables are installed by running their loader script
 * here, exactly as SeaBIOS would.
 *
 * Every field read from the file is checked before it is used.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/seg.h"
#include "devices/acpi.h"
#include "vm/loadfile.h"
#include "vm/vm.h"

#define KERNEL_MAX (128u << 20)
#define INITRD_MAX (1u << 30)
#define ZERO_PAGE 0x10000u
#define CMDLINE_ADDR 0x20000u
#define CMDLINE_MAX 0x10000u
#define GDT_ADDR 0x8000u
#define KERNEL_ADDR 0x100000u
#define ACPI_AREA 0x10000u /* reserved at the top of RAM for the ACPI tables */

/* boot_params offsets */
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_LOADER_TYPE 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END 0x224
#define BP_CMDLINE_PTR 0x228
#define BP_INITRD_MAX 0x22c
#define BP_CMDLINE_SIZE 0x238
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

bool linux_is_bzimage(const uint8_t *img, size_t len)
{
    return len >= 0x270 && le16(img + BP_BOOT_FLAG) == 0xaa55 && !memcmp(img + BP_HEADER, "HdrS", 4);
}

static void e820_add(uint8_t *zp, uint64_t base, uint64_t len, uint32_t type)
{
    uint8_t n = zp[BP_E820_ENTRIES];
    uint8_t *e = zp + BP_E820_TABLE + 20u * n;
    put64(e, base);
    put64(e + 8, len);
    put32(e + 16, type);
    zp[BP_E820_ENTRIES] = (uint8_t)(n + 1);
}

int vm_load_linux(struct vm *vm, const char *path, const uint8_t *img, size_t len, const char *initrd_path,
                  const char *cmdline)
{
    uint16_t version = le16(img + BP_VERSION);
    if (version < 0x0206) {
        vm_errorf(vm, "%s: Linux boot protocol %x.%02x is too old (2.06 or later needed)", path, version >> 8,
                  version & 0xff);
        return -1;
    }
    if (!(img[BP_LOADFLAGS] & LOADED_HIGH)) {
        vm_errorf(vm, "%s: not a bzImage (zImage kernels are not supported)", path);
        return -1;
    }
    unsigned setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
    size_t kernel_off = (setup_sects + 1) * 512u;
    if (kernel_off >= len) {
        vm_errorf(vm, "%s: truncated kernel (setup claims %zu bytes of %zu)", path, kernel_off, len);
        return -1;
    }
    size_t kernel_len = len - kernel_off;
    uint64_t ram = vm->mem.ram_size;
    uint32_t init_size = le32(img + BP_INIT_SIZE);
    if (init_size < kernel_len)
        init_size = (uint32_t)kernel_len;
    uint64_t top = ram - ACPI_AREA; /* usable RAM ends here */
    if (ram < 32u << 20 || KERNEL_ADDR + (uint64_t)init_size > top) {
        vm_errorf(vm, "%s: the kernel needs %u bytes above 1 MiB; give the guest more memory", path, init_size);
        return -1;
    }

    /* The initrd goes as high as allowed, page aligned, above the kernel's working area. */
    uint32_t initrd_addr = 0, initrd_len = 0;
    if (initrd_path) {
        uint8_t *rd;
        size_t rdlen;
        if (load_file(initrd_path, INITRD_MAX, &rd, &rdlen, vm->error, sizeof(vm->error)))
            return -1;
        uint64_t max = le32(img + BP_INITRD_MAX);
        uint64_t limit = top < max + 1 ? top : max + 1;
        uint64_t at = (limit - rdlen) & ~0xfffull;
        if (rdlen > limit || at < KERNEL_ADDR + init_size) {
            vm_errorf(vm, "%s: initrd of %zu bytes does not fit in guest memory", initrd_path, rdlen);
            free(rd);
            return -1;
        }
        phys_write_buf(&vm->mem, at, rd, rdlen);
        free(rd);
        initrd_addr = (uint32_t)at;
        initrd_len = (uint32_t)rdlen;
    }

    phys_write_buf(&vm->mem, KERNEL_ADDR, img + kernel_off, kernel_len);

    /* No firmware: do what it would have done. Open the shadow segments as
     * RAM, and enable the ACPI PM I/O block where the FADT says it is. */
    for (unsigned reg = 0x59; reg <= 0x5f; reg++)
        pci_config_write(&vm->pci, 0, reg, 1, reg == 0x59 ? 0x30 : 0x33);
    pci_config_write(&vm->pci, vm->piix.pm.devfn, 0x40, 4, PIIX_PM_BASE | 1);
    pci_config_write(&vm->pci, vm->piix.pm.devfn, 0x80, 1, 1);
    uint32_t acpi_len = 0;
    uint32_t rsdp = acpi_install(&vm->fw_cfg, &vm->mem, 0xf0000, (uint32_t)top, &acpi_len);
    if (!rsdp || acpi_len > ACPI_AREA) {
        vm_errorf(vm, "cannot install the ACPI tables");
        return -1;
    }

    /* Zero page: the kernel's setup header, then what the loader fills in. */
    uint8_t zp[4096];
    memset(zp, 0, sizeof(zp));
    size_t hdr_end = BP_HEADER + img[BP_JUMP + 1];
    if (hdr_end > sizeof(zp) || hdr_end > len)
        hdr_end = 0x268;
    memcpy(zp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
    zp[BP_LOADER_TYPE] = 0xff; /* no assigned loader ID */
    zp[BP_LOADFLAGS] = (uint8_t)(zp[BP_LOADFLAGS] | CAN_USE_HEAP);
    zp[BP_HEAP_END] = 0x00;
    zp[BP_HEAP_END + 1] = 0xfe;
    uint32_t cmdline_size = le32(img + BP_CMDLINE_SIZE);
    const char *cl = cmdline ? cmdline : "";
    size_t cllen = strlen(cl);
    if (cllen > cmdline_size || cllen >= CMDLINE_MAX) {
        vm_errorf(vm, "kernel command line too long (%zu bytes, the kernel takes %u)", cllen, cmdline_size);
        return -1;
    }
    phys_write_buf(&vm->mem, CMDLINE_ADDR, cl, cllen + 1);
    put32(zp + BP_CMDLINE_PTR, CMDLINE_ADDR);
    put32(zp + BP_RAMDISK_IMAGE, initrd_addr);
    put32(zp + BP_RAMDISK_SIZE, initrd_len);
    put64(zp + BP_ACPI_RSDP, rsdp);
    e820_add(zp, 0, 0x9fc00, 1);
    e820_add(zp, 0x9fc00, 0x400, 2);
    e820_add(zp, 0xf0000, 0x10000, 2);
    e820_add(zp, KERNEL_ADDR, top - KERNEL_ADDR, 1);
    e820_add(zp, top, ACPI_AREA, 3);
    phys_write_buf(&vm->mem, ZERO_PAGE, zp, sizeof(zp));

    /* GDT with the boot protocol's selectors: 0x10 code, 0x18 data. */
    static const uint32_t gdt[8] = { 0, 0, 0, 0, 0x0000ffff, 0x00cf9b00, 0x0000ffff, 0x00cf9300 };
    phys_write_buf(&vm->mem, GDT_ADDR, gdt, sizeof(gdt));

    struct cpu *c = &vm->cpu;
    cpu_reset(c);
    cpu_set_flat32(c);
    const uint16_t code = SA_P | SA_S | SA_CODE | SA_RW | SA_A | SA_DB | SA_G;
    const uint16_t data = SA_P | SA_S | SA_RW | SA_A | SA_DB | SA_G;
    seg_set_cache(c, SEG_CS, 0x10, 0, 0xffffffffu, code);
    for (int s = SEG_ES; s <= SEG_GS; s++)
        if (s != SEG_CS)
            seg_set_cache(c, s, 0x18, 0, 0xffffffffu, data);
    c->gdtr = (struct dtr){ GDT_ADDR, sizeof(gdt) - 1 };
    c->idtr = (struct dtr){ 0, 0 };
    memset(c->gpr, 0, sizeof(c->gpr));
    c->gpr[R_ESI] = ZERO_PAGE;
    c->eip = KERNEL_ADDR; /* code32_start: where we loaded the protected-mode kernel */
    return 0;
}
