/*
 * The i440FX/PIIX chipset functions of the PC board (the set QEMU's "pc"
 * machine presents, which Debian's SeaBIOS knows):
 *   00:00.0  i440FX host bridge (8086:1237): PAM shadow-RAM control
 *   00:01.0  PIIX3 ISA bridge (8086:7000): PIRQ A-D routing to ISA IRQs,
 *            reset control at 0xCF9, fast A20/reset at port 0x92
 *   00:01.3  PIIX4 power management (8086:7113): ACPI PM1 event/control
 *            registers, the 3.579545 MHz PM timer, SCI on IRQ 9, sleep
 *            (S5 = power off), SMI command port 0xB2 for ACPI enable
 * IDE (00:01.1) lives in its own file.
 */
#ifndef KESTREL_PIIX_H
#define KESTREL_PIIX_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"
#include "devices/pci.h"

#define PIIX_PM_BASE 0x600 /* where firmware normally puts PMBA (QEMU's choice) */
#define PM_TIMER_HZ 3579545ull
#define ACPI_ENABLE_CMD 0xf1
#define ACPI_DISABLE_CMD 0xf0
#define SLP_TYP_S5 0 /* must match \_S5 in the DSDT */

struct piix_hooks {
    void (*pam_changed)(void *ctx, const uint8_t pam[7]); /* i440FX PAM0..PAM6 */
    void (*reset)(void *ctx);
    void (*poweroff)(void *ctx);
    void (*set_a20)(void *ctx, bool on);
    void (*set_isa_irq)(void *ctx, int irq, int level); /* PIRQ and SCI outputs */
    void *ctx;
};

struct piix {
    struct pci_dev host, isa, pm;
    struct piix_hooks hooks;
    struct vclock *clock;
    int pirq_level[4];     /* current PIRQ line levels */
    uint8_t pirq_route[4]; /* PIRQ routing last applied to the ISA lines */
    uint8_t port92;
    uint8_t rcr;           /* reset control register (0xCF9) */
    /* Power management */
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint8_t gpe_sts, gpe_en;
    uint8_t apm_cnt, apm_sts;
    uint32_t pm_base;      /* mapped PM I/O base, 0 when off */
    int sci_level;
    struct timer tmr_overflow; /* PM timer bit 23 toggles (TMR_STS) */
};

/* Set up the three functions on `bus`; returns 0 or -errno. */
int piix_init(struct piix *x, struct pci_bus *bus, struct vclock *clock, const struct piix_hooks *hooks);
void piix_reset(struct piix *x);
/* The bus's INTx router (pass to pci_bus_init). */
void piix_route_pirq(void *ctx, int pirq, int level);
/* Port handlers: 0x92, 0xCF9, 0xB2-0xB3, and the PM block (PIIX_PM_BASE, 64 ports). */
uint32_t piix_io_read(void *opaque, uint16_t port, int size);
void piix_io_write(void *opaque, uint16_t port, int size, uint32_t val);
uint32_t piix_pm_read(void *opaque, uint16_t port, int size);
void piix_pm_write(void *opaque, uint16_t port, int size, uint32_t val);
/* PM timer value now (24 bits). */
uint32_t piix_pm_timer(const struct piix *x);

#endif
