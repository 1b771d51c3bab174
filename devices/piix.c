/*
 * i440FX / PIIX3 / PIIX4-PM model (see piix.h for the map). Register
 * layouts follow Intel's 82371AB (PIIX4) and 82441FX datasheets.
 *
 * The PM I/O block is always decoded at PIIX_PM_BASE once firmware enables
 * it (PMREGMISC bit 0); firmware may move it through PMBA, which we follow
 * by reporting the address it programmed — the board registers the ports
 * at the fixed base, and accesses elsewhere are not decoded.
 */
#include "devices/piix.h"

#include <string.h>

/* PM1 status/enable bits */
#define TMR_STS 0x0001
#define PWRBTN_STS 0x0100
#define WAK_STS 0x8000
#define TMR_EN 0x0001
#define SCI_EN 0x0001
#define SLP_EN 0x2000

/* ---- interrupts ---- */

void piix_route_pirq(void *ctx, int pirq, int level)
{
    struct piix *x = ctx;
    uint8_t route = x->isa.config[0x60 + pirq];
    x->pirq_level[pirq] = level;
    if (!(route & 0x80) && x->hooks.set_isa_irq)
        x->hooks.set_isa_irq(x->hooks.ctx, route & 15, level);
}

static void update_sci(struct piix *x)
{
    int level = (x->pm1_cnt & SCI_EN) && ((x->pm1_sts & x->pm1_en) || (x->gpe_sts & x->gpe_en));
    if (level != x->sci_level) {
        x->sci_level = level;
        if (x->hooks.set_isa_irq)
            x->hooks.set_isa_irq(x->hooks.ctx, 9, level);
    }
}

/* ---- PM timer ---- */

uint32_t piix_pm_timer(const struct piix *x)
{
    return (uint32_t)ns_to_ticks(vclock_now(x->clock), PM_TIMER_HZ) & 0xffffff;
}

static void arm_tmr_overflow(struct piix *x)
{
    uint64_t ticks = ns_to_ticks(vclock_now(x->clock), PM_TIMER_HZ);
    uint64_t next = (ticks / 0x800000 + 1) * 0x800000; /* next toggle of bit 23 */
    timer_mod(&x->tmr_overflow, ticks_to_ns_ceil(next, PM_TIMER_HZ));
}

static void tmr_overflow_cb(void *opaque)
{
    struct piix *x = opaque;
    x->pm1_sts |= TMR_STS;
    update_sci(x);
    arm_tmr_overflow(x);
}

/* ---- configuration space hooks ---- */

static void host_config_write(struct pci_dev *d, unsigned off, int size, uint32_t val)
{
    struct piix *x = d->opaque;
    (void)val;
    if (off < 0x60 && off + (unsigned)size > 0x59 && x->hooks.pam_changed)
        x->hooks.pam_changed(x->hooks.ctx, &d->config[0x59]);
}

/* Level of ISA IRQ n under a PIRQ routing (OR of the PIRQs routed to it). */
static int isa_level(const struct piix *x, const uint8_t *route, int n)
{
    int level = 0;
    for (int k = 0; k < 4; k++)
        if (!(route[k] & 0x80) && (route[k] & 15) == n)
            level |= x->pirq_level[k];
    return level;
}

static void isa_config_write(struct pci_dev *d, unsigned off, int size, uint32_t val)
{
    struct piix *x = d->opaque;
    (void)val;
    if (off >= 0x64 || off + (unsigned)size <= 0x60)
        return;
    /* A PIRQ was re-routed: move asserted lines to their new ISA IRQs. */
    const uint8_t *now = &x->isa.config[0x60];
    for (int n = 0; n < 16 && x->hooks.set_isa_irq; n++) {
        int before = isa_level(x, x->pirq_route, n), after = isa_level(x, now, n);
        if (before != after)
            x->hooks.set_isa_irq(x->hooks.ctx, n, after);
    }
    memcpy(x->pirq_route, now, 4);
}

static void pm_config_write(struct pci_dev *d, unsigned off, int size, uint32_t val)
{
    struct piix *x = d->opaque;
    (void)val;
    bool touches = (off < 0x44 && off + (unsigned)size > 0x40) || (off <= 0x80 && off + (unsigned)size > 0x80);
    if (!touches)
        return;
    uint32_t base = pci_get_long(d->config + 0x40) & 0xffc0;
    x->pm_base = (d->config[0x80] & 1) ? base : 0;
}

int piix_init(struct piix *x, struct pci_bus *bus, struct vclock *clock, const struct piix_hooks *hooks)
{
    memset(x, 0, sizeof(*x));
    x->hooks = *hooks;
    x->clock = clock;
    int err;
    x->host.opaque = x->isa.opaque = x->pm.opaque = x;
    x->host.config_write = host_config_write;
    x->isa.config_write = isa_config_write;
    x->pm.config_write = pm_config_write;
    if ((err = pci_register(bus, &x->host, 0x00, 0x8086, 0x1237, 0x06000002, 0x00)))
        return err;
    for (int k = 0x59; k <= 0x5f; k++)
        x->host.wmask[k] = 0x33; /* PAM: read/write enables of two segments */
    x->host.wmask[0x72] = 0x78;  /* SMRAM control (accepted, not modelled) */
    if ((err = pci_register(bus, &x->isa, 0x08, 0x8086, 0x7000, 0x06010000, 0x80)))
        return err;
    for (int k = 0x60; k <= 0x63; k++)
        x->isa.wmask[k] = 0x8f;
    if ((err = pci_register(bus, &x->pm, 0x0b, 0x8086, 0x7113, 0x06800003, 0x00)))
        return err;
    pci_set_long(x->pm.wmask + 0x40, 0xffc0);
    x->pm.wmask[0x80] = 0x01;
    pci_set_long(x->pm.wmask + 0x90, 0xfff0); /* SMBus base (accepted; SMBus not modelled) */
    x->pm.wmask[0xd2] = 0x0f;
    pci_set_pin(&x->pm, 1);
    timer_init(&x->tmr_overflow, clock, tmr_overflow_cb, x);
    piix_reset(x);
    return 0;
}

void piix_reset(struct piix *x)
{
    memset(&x->host.config[0x59], 0, 7);
    x->host.config[0x72] = 0x02;
    for (int k = 0x60; k <= 0x63; k++)
        x->isa.config[k] = 0x80;
    memset(x->pirq_route, 0x80, sizeof(x->pirq_route));
    pci_set_long(x->pm.config + 0x40, 1); /* I/O space indicator */
    x->pm.config[0x80] = 0;
    /* DEVACTB.APMC_EN already set: there is no SMM, so firmware must not try
     * to relocate an SMI handler (SeaBIOS checks this bit, as on QEMU
     * without SMM). */
    x->pm.config[0x5b] = 0x02;
    x->pm_base = 0;
    x->port92 = 0x02;
    x->rcr = 0;
    x->pm1_sts = x->pm1_en = x->pm1_cnt = 0;
    x->gpe_sts = x->gpe_en = 0;
    x->apm_cnt = x->apm_sts = 0;
    x->sci_level = 0;
    memset(x->pirq_level, 0, sizeof(x->pirq_level));
    if (x->hooks.pam_changed)
        x->hooks.pam_changed(x->hooks.ctx, &x->host.config[0x59]);
    arm_tmr_overflow(x);
}

/* ---- ports 0x92, 0xCF9, 0xB2/0xB3 ---- */

uint32_t piix_io_read(void *opaque, uint16_t port, int size)
{
    struct piix *x = opaque;
    (void)size;
    switch (port) {
    case 0x92: return x->port92;
    case 0xcf9: return x->rcr;
    case 0xb2: return x->apm_cnt;
    case 0xb3: return x->apm_sts;
    }
    return 0xff;
}

void piix_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct piix *x = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    switch (port) {
    case 0x92:
        if ((x->port92 ^ v) & 0x02 && x->hooks.set_a20)
            x->hooks.set_a20(x->hooks.ctx, v & 0x02);
        x->port92 = v & 0x02;
        if ((v & 0x01) && x->hooks.reset)
            x->hooks.reset(x->hooks.ctx);
        break;
    case 0xcf9:
        /* Bit 2 (RST_CPU) performs the reset selected by bit 1 (hard/soft). */
        x->rcr = v & 0x02;
        if ((v & 0x04) && x->hooks.reset)
            x->hooks.reset(x->hooks.ctx);
        break;
    case 0xb2:
        x->apm_cnt = v;
        if (v == ACPI_ENABLE_CMD)
            x->pm1_cnt |= SCI_EN;
        else if (v == ACPI_DISABLE_CMD)
            x->pm1_cnt &= (uint16_t)~SCI_EN;
        update_sci(x);
        break;
    case 0xb3:
        x->apm_sts = v;
        break;
    }
}

/* ---- PM I/O block ---- */

uint32_t piix_pm_read(void *opaque, uint16_t port, int size)
{
    struct piix *x = opaque;
    if (!x->pm_base)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    unsigned off = (port - PIIX_PM_BASE) & 0x3f;
    uint32_t v;
    switch (off & ~1u) {
    case 0x00: v = x->pm1_sts; break;
    case 0x02: v = x->pm1_en; break;
    case 0x04: v = x->pm1_cnt; break;
    case 0x08: case 0x0a: v = piix_pm_timer(x); break;
    case 0x0c: v = x->gpe_sts | (uint32_t)x->gpe_en << 16; break;
    default: v = 0; break;
    }
    if (off >= 0x08 && off < 0x0c)
        v >>= 8 * (off - 0x08);
    else if (off & 1)
        v >>= 8;
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void piix_pm_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct piix *x = opaque;
    if (!x->pm_base)
        return;
    unsigned off = (port - PIIX_PM_BASE) & 0x3f;
    if (size == 4 && off == 0) { /* PM1_STS and PM1_EN together */
        piix_pm_write(x, port, 2, val & 0xffff);
        piix_pm_write(x, (uint16_t)(port + 2), 2, val >> 16);
        return;
    }
    uint16_t v = (uint16_t)(size == 1 ? (off & 1 ? val << 8 : val) : val);
    switch (off & ~1u) {
    case 0x00:
        x->pm1_sts &= (uint16_t)~v; /* write 1 to clear */
        break;
    case 0x02:
        x->pm1_en = v;
        break;
    case 0x04:
        x->pm1_cnt = (uint16_t)((x->pm1_cnt & SCI_EN) | (v & ~SCI_EN & ~SLP_EN));
        if (v & SLP_EN) {
            int typ = (v >> 10) & 7;
            if (typ == SLP_TYP_S5 && x->hooks.poweroff)
                x->hooks.poweroff(x->hooks.ctx);
            x->pm1_sts |= WAK_STS; /* other sleep states wake at once */
        }
        break;
    case 0x0c:
        if (off == 0x0c)
            x->gpe_sts &= (uint8_t)~val;
        else if (off == 0x0e)
            x->gpe_en = (uint8_t)val;
        break;
    }
    update_sci(x);
}
