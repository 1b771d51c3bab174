/*
 * The Kestrel PC board: an i440FX/PIIX machine laid out like QEMU's "pc"
 * so that unmodified SeaBIOS and Linux recognise every part of it.
 *
 *   ports   0x20/0xA0 PIC, 0x40 PIT, 0x60/0x64 8042, 0x61 speaker/PIT glue,
 *           0x70 RTC/CMOS, 0x92 fast A20, 0xB2 APM/SMI, 0x1CE VBE, 0x3B0-0x3DF
 *           VGA, 0x3F8 COM1, 0x402 debug console, 0x4D0 ELCR, 0x510 fw_cfg,
 *           0x600 ACPI PM, 0xCF8 PCI, 0xCF9 reset, 0xF4 debug exit,
 *           0x1F0-0x1F7/0x3F6 and 0x170-0x177/0x376 IDE (IRQ 14, 15)
 *   PCI     00.0 i440FX, 01.0 PIIX3 ISA, 01.1 PIIX3 IDE, 01.3 PIIX4 PM,
 *           02.0 VGA (1234:1111)
 *   memory  RAM from 0; 0xC0000-0xFFFFF shadowed per the i440FX PAM
 *           registers (ROM/open bus or RAM for reads and writes
 *           independently); the firmware ROM ending at 4 GiB
 *           0xFEC00000 IOAPIC, 0xFEE00000 local APIC (moves with IA32_APIC_BASE)
 *   IRQs    ISA IRQ n -> PIC input n and IOAPIC pin n (IRQ0 -> pin 2, as the
 *           MADT's override says); PIC INTR -> LAPIC LINT0 and IOAPIC pin 0;
 *           PCI INTx -> PIIX3 PIRQ -> ISA IRQ, and PIRQ A-D -> IOAPIC pins
 *           16-19 (active low); SCI -> ISA IRQ 9 (level, active high)
 *
 * Resets and power-off requested by devices in the middle of an
 * instruction are recorded here and carried out by vm_run() between CPU
 * slices.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include "devices/acpi.h"
#include "vm/loadfile.h"
#include "vm/vm.h"

static const struct {
    uint32_t base, size;
    uint8_t reg, shift; /* PAM register (0..6) and nibble */
} pam_seg[PAM_SEGMENTS] = {
    { 0xc0000, 0x4000, 1, 0 }, { 0xc4000, 0x4000, 1, 4 }, { 0xc8000, 0x4000, 2, 0 }, { 0xcc000, 0x4000, 2, 4 },
    { 0xd0000, 0x4000, 3, 0 }, { 0xd4000, 0x4000, 3, 4 }, { 0xd8000, 0x4000, 4, 0 }, { 0xdc000, 0x4000, 4, 4 },
    { 0xe0000, 0x4000, 5, 0 }, { 0xe4000, 0x4000, 5, 4 }, { 0xe8000, 0x4000, 6, 0 }, { 0xec000, 0x4000, 6, 4 },
    { 0xf0000, 0x10000, 0, 4 },
};

void pc_set_isa_irq(void *ctx, int irq, int level)
{
    struct vm *vm = ctx;
    pic_set_irq(&vm->pic, irq, level);
    if (irq != 2) /* IRQ2 is the 8259 cascade; pin 2 belongs to IRQ0 */
        ioapic_set_irq(&vm->ioapic, irq == 0 ? 2 : irq, level);
}

static void set_isa_irq(void *ctx, int irq, int level)
{
    pc_set_isa_irq(ctx, irq, level);
}

/* PCI INTx after the slot swizzle: the PIIX3 routes PIRQ n to an ISA IRQ,
 * and the PIRQ# wire (active low) also reaches IOAPIC pin 16 + n. */
static void route_pirq(void *ctx, int pirq, int level)
{
    struct vm *vm = ctx;
    piix_route_pirq(&vm->piix, pirq, level);
    ioapic_set_irq(&vm->ioapic, 16 + pirq, !level);
}

/* The local APIC's outputs into the CPU, and the 8259's INTA cycle. */
static void lapic_intr(void *ctx, int line, int level)
{
    struct vm *vm = ctx;
    (void)line;
    cpu_set_irq(&vm->cpu, level);
}

static void lapic_nmi(void *ctx)
{
    struct vm *vm = ctx;
    cpu_raise_nmi(&vm->cpu);
}

static void lapic_init_cpu(void *ctx)
{
    struct vm *vm = ctx;
    cpu_raise_init(&vm->cpu);
}

static int lapic_extint_ack(void *ctx)
{
    struct vm *vm = ctx;
    return pic_ack(&vm->pic);
}

static int setup_apics(struct vm *vm)
{
    apic_bus_init(&vm->apic_bus);
    int err = ioapic_init(&vm->ioapic, &vm->apic_bus);
    if (!err)
        err = phys_add_mmio(&vm->mem, IOAPIC_DEFAULT_BASE, IOAPIC_SIZE, &ioapic_mmio_ops, &vm->ioapic, "ioapic");
    for (int pin = 16; pin < 20; pin++)
        ioapic_set_irq(&vm->ioapic, pin, 1); /* PIRQ# idle high */
    struct lapic_hooks hooks = {
        .ctx = vm, .nmi = lapic_nmi, .init = lapic_init_cpu, .extint_ack = lapic_extint_ack,
    };
    if (!err)
        err = lapic_init(&vm->lapic, 0, true, &vm->clock, &vm->apic_bus, &vm->mem,
                         (struct irq){ lapic_intr, vm, 0 }, &hooks);
    if (err)
        vm_errorf(vm, "cannot create the APICs: %s", strerror(-err));
    return err;
}

/* PAM nibble: bit 0 reads from RAM, bit 1 writes to RAM; otherwise reads
 * see the ROM behind (firmware at 0xE0000 up, open bus below) and writes
 * are dropped. */
static void apply_pam(struct vm *vm, const uint8_t pam[7])
{
    for (int k = 0; k < PAM_SEGMENTS; k++) {
        uint8_t mode = (pam[pam_seg[k].reg] >> pam_seg[k].shift) & 3;
        uint8_t *ram = vm->mem.ram + pam_seg[k].base;
        uint8_t *rom = NULL;
        if (vm->bios_low && pam_seg[k].base >= 0xe0000)
            rom = vm->bios_low + (pam_seg[k].base - 0xe0000);
        phys_region_route(&vm->mem, vm->pam_region[k], (mode & 1) ? ram : rom, (mode & 2) ? ram : NULL);
    }
}

static void pam_changed(void *ctx, const uint8_t pam[7])
{
    apply_pam(ctx, pam);
}

static void request_reset(void *ctx)
{
    struct vm *vm = ctx;
    vm->reset_requested = true;
    cpu_request_exit(&vm->cpu);
}

static void request_poweroff(void *ctx)
{
    struct vm *vm = ctx;
    vm->poweroff_requested = true;
    cpu_request_exit(&vm->cpu);
}

/* QEMU's isa-debugcon at 0x402: firmware writes its log here, one byte at
 * a time; reads return 0xE9 so firmware can detect the port. */
static uint32_t debugcon_read(void *ctx, uint16_t port, int size)
{
    (void)ctx, (void)port, (void)size;
    return 0xe9;
}

static void debugcon_write(void *ctx, uint16_t port, int size, uint32_t val)
{
    struct vm *vm = ctx;
    (void)port, (void)size;
    if (vm->cfg.debugcon_out)
        vm->cfg.debugcon_out(vm->cfg.ctx, (uint8_t)val);
}

static void set_a20(void *ctx, bool on)
{
    struct vm *vm = ctx;
    phys_set_a20(&vm->mem, on); /* bumps the map generation: the CPU flushes at the next block */
}

static void vga_flush_tlb(void *ctx)
{
    struct vm *vm = ctx;
    cpu_tlb_flush(&vm->cpu);
}

/* The stdvga PCI function: BAR 0 is the linear framebuffer, BAR 2 the
 * MMIO view of the VGA/DISPI registers that Linux's bochs-drm uses. */
static void vga_pci_map(struct pci_dev *d, int bar, uint32_t addr)
{
    struct vm *vm = d->opaque;
    if (bar == 0) {
        vga_lfb_map(&vm->vga, addr == PCI_BAR_UNMAPPED ? VGA_LFB_UNMAPPED : addr);
    } else if (bar == 2) {
        if (vm->vga_bar2_region < 0 && addr != PCI_BAR_UNMAPPED)
            vm->vga_bar2_region = phys_add_mmio(&vm->mem, addr, VGA_MMIO_BAR_SIZE, &vga_bar2_ops, &vm->vga, "vga-mmio") < 0
                                      ? -1
                                      : vm->mem.nregions - 1;
        else if (vm->vga_bar2_region >= 0)
            phys_region_move(&vm->mem, vm->vga_bar2_region, addr, addr != PCI_BAR_UNMAPPED);
    }
}

static void ide_log_msg(void *ctx, const char *msg)
{
    struct vm *vm = ctx;
    if (vm->cfg.log)
        vm->cfg.log(vm->cfg.ctx, msg);
}

/* The PIIX3 IDE function and the images of --disk/--cdrom. Disks take
 * primary master, primary slave, secondary master unless the CD-ROM has
 * it, then secondary slave (QEMU's -hda/-hdb/-cdrom/-hdd). SeaBIOS takes
 * the boot order from fw_cfg "bootorder", device paths as its
 * bootprio_find_ata_device() builds them; the closing HALT keeps it from
 * trying the floppy and hard-disk fallbacks it adds on its own ("Booting
 * from Floppy..." on a board without one). */
static int setup_ide(struct vm *vm)
{
    int err = ide_init(&vm->ide, &vm->pci, &vm->io, &vm->mem, (struct irq){ set_isa_irq, vm, 14 },
                       (struct irq){ set_isa_irq, vm, 15 });
    if (err) {
        vm_errorf(vm, "cannot create the IDE controller");
        return err;
    }
    vm->ide.log = ide_log_msg;
    vm->ide.log_ctx = vm;
    char msg[sizeof(vm->error) - 16], warn[320];
    int pos[VM_MAX_DISKS + 1], n = 0, next = 0, cd = -1;
    for (int k = 0; k < vm->cfg.ndisks; k++, next++) {
        if (next == 2 && vm->cfg.cdrom)
            next++;
        if (next > 3) {
            vm_errorf(vm, "--disk %s: the IDE controller holds four devices", vm->cfg.disk[k]);
            return -EINVAL;
        }
        err = ide_attach_disk(&vm->ide, next / 2, next % 2, vm->cfg.disk[k], vm->cfg.disk_ro[k], msg, sizeof(msg),
                              warn, sizeof(warn));
        if (err) {
            vm_errorf(vm, "--disk %s", msg);
            return err;
        }
        if (warn[0])
            ide_log_msg(vm, warn);
        pos[n++] = next;
    }
    if (vm->cfg.cdrom) {
        err = ide_attach_cdrom(&vm->ide, 1, 0, vm->cfg.cdrom, msg, sizeof(msg), warn, sizeof(warn));
        if (err) {
            vm_errorf(vm, "--cdrom %s", msg);
            return err;
        }
        if (warn[0])
            ide_log_msg(vm, warn);
        cd = 2;
    }
    char order[320] = "";
    size_t len = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool cd_pass = (pass == 0) == (vm->cfg.boot == 'd');
        for (int k = 0; k < (cd_pass ? (cd >= 0) : n); k++) {
            int p = cd_pass ? cd : pos[k];
            len += (size_t)snprintf(order + len, sizeof(order) - len, "/pci@i0cf8/ide@1,1/drive@%d/disk@%d\n", p / 2,
                                    p % 2);
        }
    }
    snprintf(order + len, sizeof(order) - len, "HALT");
    return fw_cfg_add_file(&vm->fw_cfg, "bootorder", order, strlen(order) + 1);
}

static int setup_vga(struct vm *vm)
{
    int err = vga_init(&vm->vga);
    if (!err)
        err = vga_attach(&vm->vga, &vm->mem, VGA_LFB_DEFAULT, vga_flush_tlb, vm);
    if (err) {
        vm_errorf(vm, "cannot create the VGA adapter");
        return err;
    }
    vm->vga_bar2_region = -1;
    vm->vga_pci.opaque = vm;
    vm->vga_pci.map = vga_pci_map;
    err = pci_register(&vm->pci, &vm->vga_pci, 2 << 3, VGA_PCI_VENDOR, VGA_PCI_DEVICE, 0x03000002, 0);
    if (err)
        return err;
    pci_set_word(vm->vga_pci.config + PCI_SUBSYS_VENDOR, 0x1af4);
    pci_set_word(vm->vga_pci.config + PCI_SUBSYS_ID, 0x1100);
    pci_declare_bar(&vm->vga_pci, 0, VGA_VRAM_SIZE, PCI_BAR_MEM, true);
    pci_declare_bar(&vm->vga_pci, 2, VGA_MMIO_BAR_SIZE, PCI_BAR_MEM, false);
    if (!vm->cfg.vga_bios)
        return 0;
    /* SeaBIOS finds the ROM of PCI device vvvv:dddd as fw_cfg "pcivvvv,dddd.rom". */
    uint8_t *rom;
    size_t len;
    if (load_file(vm->cfg.vga_bios, VGA_BIOS_MAX, &rom, &len, vm->error, sizeof(vm->error)) ||
        vga_bios_check(rom, len, vm->error, sizeof(vm->error))) {
        return -EINVAL;
    }
    err = fw_cfg_add_file(&vm->fw_cfg, "pci1234,1111.rom", rom, len);
    free(rom);
    return err;
}

static void setup_cmos(struct vm *vm)
{
    struct rtc *r = &vm->rtc;
    uint64_t ram = vm->mem.ram_size;
    rtc_cmos_set(r, 0x0f, 0x00);     /* shutdown status: normal POST */
    rtc_cmos_set(r, 0x10, 0x00);     /* no floppy drives */
    rtc_cmos_set(r, 0x12, 0x00);     /* no legacy hard disk types */
    rtc_cmos_set(r, 0x14, 0x06);     /* equipment: FPU, PS/2 mouse, VGA */
    rtc_cmos_set(r, 0x15, 640 & 0xff);
    rtc_cmos_set(r, 0x16, 640 >> 8); /* base memory in KiB */
    uint64_t ext = ram > 0x100000 ? (ram - 0x100000) / 1024 : 0;
    if (ext > 0xffff)
        ext = 0xffff;
    rtc_cmos_set(r, 0x17, (uint8_t)ext);
    rtc_cmos_set(r, 0x18, (uint8_t)(ext >> 8));
    rtc_cmos_set(r, 0x30, (uint8_t)ext);
    rtc_cmos_set(r, 0x31, (uint8_t)(ext >> 8));
    uint64_t above16 = ram > 0x1000000 ? (ram - 0x1000000) / 65536 : 0;
    if (above16 > 0xffff)
        above16 = 0xffff;
    rtc_cmos_set(r, 0x34, (uint8_t)above16);
    rtc_cmos_set(r, 0x35, (uint8_t)(above16 >> 8));
    rtc_cmos_set(r, 0x5b, 0);
    rtc_cmos_set(r, 0x5c, 0);
    rtc_cmos_set(r, 0x5d, 0);        /* nothing above 4 GiB */
    rtc_cmos_set(r, 0x5f, 0);        /* CPUs - 1 */
    /* Boot order (SeaBIOS reads it when fw_cfg has no "bootorder"):
     * 1 floppy, 2 hard disk, 3 CD-ROM; hard disk first, then CD-ROM. */
    rtc_cmos_set(r, 0x3d, vm->cfg.boot == 'd' ? 0x23 : 0x32); /* --boot d: CD-ROM, then hard disk */
    rtc_cmos_set(r, 0x38, 0x01);     /* no third device; skip the floppy signature check */
    rtc_checksum(r);
}

static int setup_fw_cfg(struct vm *vm)
{
    struct fw_cfg *f = &vm->fw_cfg;
    uint64_t ram = vm->mem.ram_size;
    int err = fw_cfg_add_u64(f, FW_CFG_RAM_SIZE, ram);
    err = err ? err : fw_cfg_add_u16(f, FW_CFG_NB_CPUS, 1);
    err = err ? err : fw_cfg_add_u16(f, FW_CFG_MAX_CPUS, 1);
    err = err ? err : fw_cfg_add_u16(f, FW_CFG_NOGRAPHIC, 0);
    err = err ? err : fw_cfg_add_u16(f, FW_CFG_BOOT_MENU, 0);
    err = err ? err : fw_cfg_add_u32(f, FW_CFG_IRQ0_OVERRIDE, 1);
    uint8_t uuid[16] = { 0x4b, 0x45, 0x53, 0x54, 0x52, 0x45, 0x4c, 0x00 };
    err = err ? err : fw_cfg_add_bytes(f, FW_CFG_UUID, uuid, sizeof(uuid));
    /* The RAM map; firmware adds its own reservations below 1 MiB. */
    uint8_t e820[20] = { 0 };
    for (int k = 0; k < 8; k++)
        e820[8 + k] = (uint8_t)(ram >> (8 * k));
    e820[16] = 1; /* E820_RAM */
    err = err ? err : fw_cfg_add_file(f, "etc/e820", e820, sizeof(e820));
    /* SeaBIOS mirrors its screen to COM1 ("sercon"): the serial console sees the BIOS. */
    uint8_t sercon[2] = { 0xf8, 0x03 };
    err = err ? err : fw_cfg_add_file(f, "etc/sercon-port", sercon, sizeof(sercon));
    return err;
}

int pc_init(struct vm *vm)
{
    int err = setup_apics(vm);
    if (err)
        return err;
    pic_init(&vm->pic, (struct irq){ NULL, NULL, 0 });
    pit_init(&vm->pit, &vm->clock, (struct irq){ pc_set_isa_irq, vm, 0 });
    int64_t base = vm->cfg.rtc_base ? vm->cfg.rtc_base : (int64_t)time(NULL);
    rtc_init(&vm->rtc, &vm->clock, (struct irq){ pc_set_isa_irq, vm, 8 }, base);
    i8042_init(&vm->kbc, (struct irq){ pc_set_isa_irq, vm, 1 }, (struct irq){ pc_set_isa_irq, vm, 12 }, set_a20,
               request_reset, vm);
    fw_cfg_init(&vm->fw_cfg, &vm->mem);
    pci_bus_init(&vm->pci, route_pirq, vm);

    /* PAM segments start as ROM/open bus; the firmware image fills the ROM side later. */
    if (vm->mem.ram_size < 0x100000) {
        vm_errorf(vm, "the PC needs at least 1 MiB of RAM");
        return -EINVAL;
    }
    for (int k = 0; k < PAM_SEGMENTS; k++) {
        int idx = phys_add_routed(&vm->mem, pam_seg[k].base, pam_seg[k].size, NULL, NULL, "pam");
        if (idx < 0) {
            vm_errorf(vm, "cannot map the shadow RAM segments");
            return idx;
        }
        vm->pam_region[k] = idx;
    }
    struct piix_hooks hooks = {
        .pam_changed = pam_changed, .reset = request_reset, .poweroff = request_poweroff,
        .set_a20 = set_a20, .set_isa_irq = set_isa_irq, .ctx = vm,
    };
    err = piix_init(&vm->piix, &vm->pci, &vm->clock, &hooks);
    if (err) {
        vm_errorf(vm, "cannot create the chipset");
        return err;
    }
    err = setup_ide(vm);
    if (err)
        return err;

    const struct { uint16_t port; unsigned n; struct io_handler h; } ports[] = {
        { 0x20, 2, { pic_io_read, pic_io_write, &vm->pic, "pic-master" } },
        { 0xa0, 2, { pic_io_read, pic_io_write, &vm->pic, "pic-slave" } },
        { 0x4d0, 2, { pic_io_read, pic_io_write, &vm->pic, "elcr" } },
        { 0x40, 4, { pit_io_read, pit_io_write, &vm->pit, "pit" } },
        { 0x61, 1, { pit_port61_read, pit_port61_write, &vm->pit, "port61" } },
        { 0x60, 1, { i8042_io_read, i8042_io_write, &vm->kbc, "kbc-data" } },
        { 0x64, 1, { i8042_io_read, i8042_io_write, &vm->kbc, "kbc-cmd" } },
        { 0x70, 2, { rtc_io_read, rtc_io_write, &vm->rtc, "rtc" } },
        { 0x92, 1, { piix_io_read, piix_io_write, &vm->piix, "port92" } },
        { 0xb2, 2, { piix_io_read, piix_io_write, &vm->piix, "apm" } },
        { 0xcf8, 1, { pci_io_read, pci_io_write, &vm->pci, "pci-addr" } },
        { 0xcf9, 1, { piix_io_read, piix_io_write, &vm->piix, "reset-control" } },
        { 0xcfc, 4, { pci_io_read, pci_io_write, &vm->pci, "pci-data" } },
        { 0x510, 12, { fw_cfg_io_read, fw_cfg_io_write, &vm->fw_cfg, "fw_cfg" } },
        { PIIX_PM_BASE, 64, { piix_pm_read, piix_pm_write, &vm->piix, "acpi-pm" } },
        { COM1_PORT, 8, { uart_read, uart_write, &vm->com1, "com1" } },
        { DEBUGEXIT_PORT, 4, { NULL, debugexit_write, &vm->dbgexit, "debug-exit" } },
        { 0x402, 1, { debugcon_read, debugcon_write, vm, "debugcon" } },
        { 0x3b0, 48, { vga_io_read, vga_io_write, &vm->vga, "vga" } },
        { 0x1ce, 3, { vga_dispi_read, vga_dispi_write, &vm->vga, "vbe" } },
        { 0x1f0, 8, { ide_cmd_read, ide_cmd_write, &vm->ide.ch[0], "ide0" } },
        { 0x3f6, 1, { ide_ctl_read, ide_ctl_write, &vm->ide.ch[0], "ide0-ctl" } },
        { 0x170, 8, { ide_cmd_read, ide_cmd_write, &vm->ide.ch[1], "ide1" } },
        { 0x376, 1, { ide_ctl_read, ide_ctl_write, &vm->ide.ch[1], "ide1-ctl" } },
    };
    for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
        if (iobus_register(&vm->io, ports[k].port, ports[k].n, &ports[k].h)) {
            vm_errorf(vm, "board wiring failed at port %#x", ports[k].port);
            return -EINVAL;
        }
    }
    setup_cmos(vm);
    err = setup_vga(vm);
    if (err)
        return err;
    err = setup_fw_cfg(vm);
    if (err) {
        vm_errorf(vm, "cannot fill the firmware configuration: %s", strerror(-err));
        return err;
    }
    return 0;
}

int pc_finalize(struct vm *vm)
{
    struct acpi_config acpi = { .pm_base = PIIX_PM_BASE, .sci_irq = 9, .apic = true, .ncpus = 1,
                                .lapic_addr = LAPIC_DEFAULT_BASE, .ioapic_addr = IOAPIC_DEFAULT_BASE,
                                .ioapic_id = 0 };
    int err = acpi_build(&vm->fw_cfg, &acpi);
    if (err)
        vm_errorf(vm, "cannot build the ACPI tables: %s", strerror(-err));
    return err;
}

void pc_free(struct vm *vm)
{
    vga_free(&vm->vga);
    ide_free(&vm->ide);
    fw_cfg_free(&vm->fw_cfg);
}

void pc_reset(struct vm *vm)
{
    vm->resets++;
    phys_set_a20(&vm->mem, true);
    pic_reset(&vm->pic);
    ioapic_reset(&vm->ioapic);
    lapic_reset(&vm->lapic);
    pit_reset(&vm->pit);
    rtc_reset(&vm->rtc);
    i8042_reset(&vm->kbc);
    uart_reset(&vm->com1);
    vga_reset(&vm->vga);
    ide_reset(&vm->ide);
    piix_reset(&vm->piix); /* PAM back to ROM: the firmware runs from its image again */
    vm->fw_cfg.selected = 0;
    vm->fw_cfg.offset = 0;
    cpu_reset(&vm->cpu);
}
