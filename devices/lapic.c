/*
 * Local APIC (xAPIC, version 0x14), following the Intel SDM Vol. 3A
 * chapter 10 ("Advanced Programmable Interrupt Controller"); section
 * numbers below are that chapter's.
 *
 * Registers (Table 10-1) are decoded from a 4 KiB page, one register per
 * 16-byte slot. Aligned 32-bit stores are the only writes (10.4.1: other
 * widths are undefined; we ignore them); reads of any width return the
 * bytes of the register. Unimplemented slots read 0 and set ESR bit 7
 * (Illegal Register Address, 10.5.3).
 *
 * Interrupt state is the three 256-bit registers IRR, ISR, TMR. The
 * highest IRR vector is presented to the core when its priority class
 * (vector[7:4]) is above the processor priority PPR (10.8.3.1: PPR = TPR
 * if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0). The core's acknowledge
 * moves it to ISR; EOI clears the highest ISR bit and, when its TMR bit
 * says it came level-triggered, broadcasts the EOI to the IOAPICs (10.8.5).
 * An acknowledge that finds nothing above PPR returns the spurious vector
 * without touching ISR (10.9).
 *
 * LINT0/LINT1 (10.5.1): fixed (edge or level with remote IRR), NMI, INIT
 * and ExtINT. ExtINT is level-sensitive and bypasses IRR/ISR and the
 * priorities: the acknowledge becomes the 8259's INTA cycle. Following
 * QEMU and KVM, the BSP leaves RESET with LINT0 programmed as unmasked
 * ExtINT, so the 8259 reaches the core before firmware sets up virtual
 * wire mode (MP spec 3.6.2.2): SDM 10.4.7.2 distinguishes the power-up
 * state from an explicit software disable, which masks every LVT entry.
 * With IA32_APIC_BASE.EN clear the APIC is gone (10.4.3): INTR and the NMI
 * pin pass straight through, the register page is unmapped, and the state
 * returns to its power-up values.
 *
 * The timer (10.5.4) counts down at LAPIC_BUS_HZ divided per the DCR. Its
 * count is not stored but computed from the virtual clock: a reference
 * point (time, ticks elapsed) is taken when the count is loaded and moved
 * when the divider or the mode changes, and a clock timer is armed for
 * the next time the count reaches zero. Interrupts missed while the VM
 * was not running (a late timer callback) collapse into one, as repeated
 * requests of one vector do in IRR anyway.
 */
#include "devices/lapic.h"

#include <errno.h>
#include <string.h>

#include "mmu/phys.h"

#define LVT_VECTOR 0xffu
#define LVT_PENDING (1u << 12)
#define LVT_POLARITY_LOW (1u << 13)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_LEVEL (1u << 15)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define SVR_ENABLE 0x100u
#define SVR_NO_FOCUS 0x200u
#define ICR_WRITABLE 0x000ccfffu /* vector, delivery, dest mode, level, trigger, shorthand */

/* Writable bits of each LVT entry (Figure 10-8); the rest read as 0 or
 * are status bits the APIC maintains. */
static const uint32_t lvt_wmask[LVT_COUNT] = {
    [LVT_TIMER] = LVT_VECTOR | LVT_MASKED | LVT_PERIODIC,
    [LVT_PMC] = LVT_VECTOR | 0x700u | LVT_MASKED,
    [LVT_LINT0] = LVT_VECTOR | 0x700u | LVT_POLARITY_LOW | LVT_LEVEL | LVT_MASKED,
    [LVT_LINT1] = LVT_VECTOR | 0x700u | LVT_POLARITY_LOW | LVT_LEVEL | LVT_MASKED,
    [LVT_ERROR] = LVT_VECTOR | LVT_MASKED,
};

/* LVT register slot (offset >> 4) of each entry. */
static const uint8_t lvt_slot[LVT_COUNT] = { 0x32, 0x34, 0x35, 0x36, 0x37 };

static int highest(const uint32_t *r)
{
    for (int k = 7; k >= 0; k--)
        if (r[k])
            return k * 32 + 31 - __builtin_clz(r[k]);
    return -1;
}

static bool bit_test(const uint32_t *r, int v) { return (r[v >> 5] >> (v & 31)) & 1; }
static void bit_set(uint32_t *r, int v) { r[v >> 5] |= 1u << (v & 31); }
static void bit_clear(uint32_t *r, int v) { r[v >> 5] &= ~(1u << (v & 31)); }
static unsigned delivery(uint32_t lvt) { return (lvt >> 8) & 7; }

static uint8_t ppr(const struct lapic *l)
{
    int isrv = highest(l->isr);
    if (isrv < 0)
        isrv = 0;
    return (l->tpr >> 4) >= (isrv >> 4) ? l->tpr : (uint8_t)(isrv & 0xf0);
}

/* Arbitration priority (10.6.2.4). */
uint8_t lapic_apr(const struct lapic *l)
{
    int isrv = highest(l->isr), irrv = highest(l->irr);
    unsigned t = l->tpr >> 4, s = isrv < 0 ? 0 : (unsigned)isrv >> 4, r = irrv < 0 ? 0 : (unsigned)irrv >> 4;
    if (t >= r && t > s)
        return l->tpr;
    unsigned m = t > s ? t : s;
    return (uint8_t)((m > r ? m : r) << 4);
}

static bool lint_asserted(const struct lapic *l, int pin)
{
    return (l->lint[pin] != 0) != ((l->lvt[LVT_LINT0 + pin] & LVT_POLARITY_LOW) != 0);
}

static bool extint_pending(const struct lapic *l)
{
    if (l->extint_msg)
        return true;
    for (int pin = 0; pin < 2; pin++) {
        uint32_t v = l->lvt[LVT_LINT0 + pin];
        if (!(v & LVT_MASKED) && delivery(v) == APIC_DM_EXTINT && lint_asserted(l, pin))
            return true;
    }
    return false;
}

/* Recompute the INTR output. */
static void update(struct lapic *l)
{
    int level;
    if (!lapic_hw_enabled(l)) {
        level = l->lint[0] != 0;
    } else if (extint_pending(l)) {
        level = 1;
    } else {
        int v = highest(l->irr);
        level = v >= 0 && (v & 0xf0) > (ppr(l) & 0xf0);
    }
    if (level != l->intr_level) {
        l->intr_level = level;
        irq_set(&l->intr, level);
    }
}

static void accept(struct lapic *l, int vector, bool level);

/* Record an error (10.5.3) and raise the error interrupt if unmasked. */
static void error(struct lapic *l, uint8_t bits)
{
    l->esr_pending |= bits;
    uint32_t v = l->lvt[LVT_ERROR];
    if (v & LVT_MASKED)
        return;
    if ((v & LVT_VECTOR) < 16)
        l->esr_pending |= ESR_RECV_ILLEGAL; /* the error interrupt itself is illegal: no recursion */
    else
        accept(l, (int)(v & LVT_VECTOR), false);
}

/* A fixed interrupt accepted into IRR (10.8.4); vectors 0-15 are illegal
 * (10.5.2). A request for a vector already in IRR merges with it. */
static void accept(struct lapic *l, int vector, bool level)
{
    if (vector < 16) {
        error(l, ESR_RECV_ILLEGAL);
        return;
    }
    bit_set(l->irr, vector);
    if (level)
        bit_set(l->tmr, vector);
    else
        bit_clear(l->tmr, vector);
    update(l);
}

/* ---- timer ---- */

static uint64_t tick_ns(const struct lapic *l)
{
    unsigned d = (l->dcr & 3) | ((l->dcr >> 1) & 4); /* DCR bits 3, 1:0 (Figure 10-10) */
    uint64_t div = d == 7 ? 1 : 2u << d;
    return div * (NS_PER_SEC / LAPIC_BUS_HZ);
}

static uint64_t elapsed(const struct lapic *l, uint64_t now)
{
    return l->timer_ref_ticks + (now - l->timer_ref_ns) / tick_ns(l);
}

static uint32_t count_at(const struct lapic *l, uint64_t e)
{
    if (!l->initial_count)
        return 0;
    if (l->lvt[LVT_TIMER] & LVT_PERIODIC)
        return (uint32_t)(l->initial_count - e % l->initial_count);
    return e >= l->initial_count ? 0 : (uint32_t)(l->initial_count - e);
}

uint32_t lapic_timer_count(struct lapic *l)
{
    return count_at(l, elapsed(l, vclock_now(l->clock)));
}

/* Arm the clock timer for the next time the count reaches zero. */
static void timer_arm(struct lapic *l, uint64_t now)
{
    uint64_t e = elapsed(l, now), n = l->initial_count, next;
    if (!n) {
        timer_del(&l->timer);
        return;
    }
    if (l->lvt[LVT_TIMER] & LVT_PERIODIC) {
        next = (e / n + 1) * n;
    } else if (e < n) {
        next = n;
    } else {
        timer_del(&l->timer);
        return;
    }
    timer_mod(&l->timer, l->timer_ref_ns + (next - l->timer_ref_ticks) * tick_ns(l));
}

static void timer_fire(void *opaque)
{
    struct lapic *l = opaque;
    uint32_t v = l->lvt[LVT_TIMER];
    if (!(v & LVT_MASKED))
        accept(l, (int)(v & LVT_VECTOR), false);
    timer_arm(l, vclock_now(l->clock));
}

/* Move the reference point to now, keeping the count where it is; called
 * before the divider or the mode changes. `e` is in the current cycle. */
static void timer_rebase(struct lapic *l, uint64_t now, uint64_t e)
{
    l->timer_ref_ns = now;
    l->timer_ref_ticks = e;
}

static void timer_set_mode(struct lapic *l, uint32_t new_lvt)
{
    uint64_t now = vclock_now(l->clock), e = elapsed(l, now), n = l->initial_count;
    if (n)
        e = (l->lvt[LVT_TIMER] & LVT_PERIODIC) ? e % n : (e < n ? e : n);
    timer_rebase(l, now, e);
    l->lvt[LVT_TIMER] = new_lvt;
    timer_arm(l, now);
}

/* ---- reset ---- */

/* Registers as after power-up (10.4.7.1), INIT (10.4.7.3) or a global
 * disable (10.4.3); the APIC ID and IA32_APIC_BASE are the callers'. */
static void regs_reset(struct lapic *l)
{
    l->tpr = 0;
    l->ldr = 0;
    l->dfr_model = 0xf;
    l->svr = 0xff;
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->esr = l->esr_pending = 0;
    l->icr_lo = l->icr_hi = 0;
    for (int k = 0; k < LVT_COUNT; k++)
        l->lvt[k] = LVT_MASKED;
    if (l->base & APIC_BASE_BSP)
        l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8; /* see the top of the file */
    l->dcr = 0;
    l->initial_count = 0;
    l->timer_ref_ns = l->timer_ref_ticks = 0;
    timer_del(&l->timer);
    l->extint_msg = false;
    update(l);
}

static void map_page(struct lapic *l)
{
    if (l->mem && l->region >= 0)
        phys_region_move(l->mem, l->region, l->base & APIC_BASE_ADDR, lapic_hw_enabled(l));
}

void lapic_reset(struct lapic *l)
{
    l->base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (l->base & APIC_BASE_BSP);
    l->id = l->initial_id;
    regs_reset(l);
    map_page(l);
}

void lapic_set_base(struct lapic *l, uint64_t val)
{
    bool was = lapic_hw_enabled(l);
    l->base = val;
    if (was && !lapic_hw_enabled(l))
        regs_reset(l);
    map_page(l);
    update(l);
}

static void init_signal(struct lapic *l)
{
    regs_reset(l);
    if (l->hooks.init)
        l->hooks.init(l->hooks.ctx);
}

/* ---- local interrupt pins ---- */

/* Act on a LINT input or its LVT entry; `rising`: it was asserted just now. */
static void lint_eval(struct lapic *l, int pin, bool rising)
{
    uint32_t *v = &l->lvt[LVT_LINT0 + pin];
    if (*v & LVT_MASKED) {
        update(l);
        return;
    }
    switch (delivery(*v)) {
    case APIC_DM_FIXED:
        if (*v & LVT_LEVEL) {
            if (lint_asserted(l, pin) && !(*v & LVT_REMOTE_IRR)) {
                *v |= LVT_REMOTE_IRR; /* until the EOI of its vector */
                accept(l, (int)(*v & LVT_VECTOR), true);
            }
        } else if (rising) {
            accept(l, (int)(*v & LVT_VECTOR), false);
        }
        break;
    case APIC_DM_NMI:
        if (rising && l->hooks.nmi)
            l->hooks.nmi(l->hooks.ctx);
        break;
    case APIC_DM_INIT:
        if (rising)
            init_signal(l);
        break;
    default: /* ExtINT is a level seen by update(); SMI: no SMM here */
        break;
    }
    update(l);
}

void lapic_set_lint(void *opaque, int pin, int level)
{
    struct lapic *l = opaque;
    if (pin < 0 || pin > 1)
        return;
    bool raw_was = l->lint[pin], was = lint_asserted(l, pin);
    l->lint[pin] = level != 0;
    if (!lapic_hw_enabled(l)) {
        /* No APIC: LINT0 is INTR, LINT1 is NMI (edge). */
        if (pin == 1 && level && !raw_was && l->hooks.nmi)
            l->hooks.nmi(l->hooks.ctx);
        update(l);
        return;
    }
    lint_eval(l, pin, lint_asserted(l, pin) && !was);
}

/* ---- core interface ---- */

int lapic_ack(struct lapic *l)
{
    if (!lapic_hw_enabled(l) || extint_pending(l)) {
        l->extint_msg = false;
        int v = l->hooks.extint_ack ? l->hooks.extint_ack(l->hooks.ctx) : -1;
        update(l);
        return v;
    }
    int v = highest(l->irr);
    if (v < 0 || (v & 0xf0) <= (ppr(l) & 0xf0))
        return l->svr & 0xff; /* spurious: nothing to service any more (10.9) */
    bit_clear(l->irr, v);
    bit_set(l->isr, v);
    update(l);
    return v;
}

static void eoi(struct lapic *l)
{
    int v = highest(l->isr);
    if (v < 0)
        return;
    bit_clear(l->isr, v);
    if (bit_test(l->tmr, v)) {
        for (int pin = 0; pin < 2; pin++) {
            uint32_t *e = &l->lvt[LVT_LINT0 + pin];
            if ((*e & LVT_REMOTE_IRR) && (*e & LVT_VECTOR) == (uint32_t)v) {
                *e &= ~LVT_REMOTE_IRR;
                lint_eval(l, pin, false); /* still asserted: again */
            }
        }
        if (l->bus)
            apic_bus_eoi(l->bus, (uint8_t)v);
    }
    update(l);
}

/* ---- messages from the bus ---- */

bool lapic_match(const struct lapic *l, uint8_t dest, bool logical)
{
    if (!logical)
        return dest == 0xff || dest == l->id; /* 10.6.2.1 */
    if (dest == 0xff)
        return true; /* broadcast in either logical model */
    if (l->dfr_model == 0xf)
        return (l->ldr & dest) != 0; /* flat (10.6.2.2) */
    if ((dest >> 4) != 0xf && (dest >> 4) != (l->ldr >> 4))
        return false; /* cluster: ID in bits 7:4, member mask in bits 3:0 */
    return (dest & l->ldr & 0xf) != 0;
}

void lapic_deliver(struct lapic *l, const struct apic_msg *m)
{
    if (!lapic_hw_enabled(l))
        return;
    switch (m->delivery) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        /* Software-disabled: only INIT, NMI, SMI and SIPI are taken (10.4.7.2). */
        if (lapic_sw_enabled(l))
            accept(l, m->vector, m->level);
        break;
    case APIC_DM_NMI:
        if (l->hooks.nmi)
            l->hooks.nmi(l->hooks.ctx);
        break;
    case APIC_DM_INIT:
        if (m->assert)
            init_signal(l);
        break;
    case APIC_DM_STARTUP:
        if (l->hooks.startup)
            l->hooks.startup(l->hooks.ctx, m->vector);
        break;
    case APIC_DM_EXTINT:
        l->extint_msg = true;
        update(l);
        break;
    default: /* SMI: no SMM */
        break;
    }
}

/* ---- registers ---- */

static void send_ipi(struct lapic *l)
{
    uint32_t lo = l->icr_lo;
    struct apic_msg m = {
        .vector = (uint8_t)lo,
        .delivery = (uint8_t)((lo >> 8) & 7),
        .logical = (lo >> 11) & 1,
        .assert = (lo >> 14) & 1,
        .dest = (uint8_t)(l->icr_hi >> 24),
        .shorthand = (uint8_t)((lo >> 18) & 3),
    };
    switch (m.delivery) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (m.vector < 16)
            error(l, ESR_SEND_ILLEGAL); /* receivers flag it too */
        break;
    case APIC_DM_INIT:
        if (!m.assert && ((lo >> 15) & 1))
            return; /* INIT level de-assert: only synchronises arbitration IDs */
        break;
    case 3:
    case APIC_DM_EXTINT:
        return; /* remote read (P6 only) and ExtINT: not valid from the ICR */
    default:
        break;
    }
    /* IPIs are edge-triggered: the trigger bit only qualifies INIT (10.6.1). */
    if (l->bus)
        apic_bus_send(l->bus, &m, l);
    else if (m.shorthand == APIC_SH_SELF || m.shorthand == APIC_SH_ALL ||
             (m.shorthand == APIC_SH_NONE && lapic_match(l, m.dest, m.logical)))
        lapic_deliver(l, &m);
}

static void svr_write(struct lapic *l, uint32_t val)
{
    bool was = lapic_sw_enabled(l);
    l->svr = (uint16_t)(val & (0xff | SVR_ENABLE | SVR_NO_FOCUS));
    if (was && !lapic_sw_enabled(l))
        for (int k = 0; k < LVT_COUNT; k++)
            l->lvt[k] |= LVT_MASKED;
    update(l);
}

static void lvt_write(struct lapic *l, int n, uint32_t val)
{
    uint32_t v = val & lvt_wmask[n];
    if (!lapic_sw_enabled(l))
        v |= LVT_MASKED; /* cannot be unmasked while software-disabled (10.4.7.2) */
    if (n == LVT_TIMER) {
        if ((v ^ l->lvt[n]) & LVT_PERIODIC)
            timer_set_mode(l, v);
        else
            l->lvt[n] = v;
        return;
    }
    l->lvt[n] = v | (l->lvt[n] & LVT_REMOTE_IRR);
    if (n == LVT_LINT0 || n == LVT_LINT1)
        lint_eval(l, n - LVT_LINT0, false);
    else
        update(l);
}

static int lvt_index(unsigned slot)
{
    for (int k = 0; k < LVT_COUNT; k++)
        if (lvt_slot[k] == slot)
            return k;
    return -1;
}

static uint32_t reg_read(struct lapic *l, unsigned slot)
{
    if (slot >= 0x10 && slot < 0x28) {
        const uint32_t *r = slot < 0x18 ? l->isr : slot < 0x20 ? l->tmr : l->irr;
        return r[slot & 7];
    }
    int n = lvt_index(slot);
    if (n >= 0)
        return l->lvt[n];
    switch (slot) {
    case 0x02: return (uint32_t)l->id << 24;
    case 0x03: return LAPIC_VERSION;
    case 0x08: return l->tpr;
    case 0x09: return lapic_apr(l);
    case 0x0a: return ppr(l);
    case 0x0b: return 0; /* EOI: write-only */
    case 0x0c: return 0; /* remote read register: no remote read ever completes */
    case 0x0d: return (uint32_t)l->ldr << 24;
    case 0x0e: return (uint32_t)l->dfr_model << 28 | 0x0fffffffu;
    case 0x0f: return l->svr;
    case 0x28: return l->esr;
    case 0x30: return l->icr_lo; /* delivery status 0: every IPI is sent at once */
    case 0x31: return l->icr_hi;
    case 0x38: return l->initial_count;
    case 0x39: return lapic_timer_count(l);
    case 0x3e: return l->dcr;
    default:
        error(l, ESR_ILLEGAL_REG);
        return 0;
    }
}

static void reg_write(struct lapic *l, unsigned slot, uint32_t val)
{
    int n = lvt_index(slot);
    if (n >= 0) {
        lvt_write(l, n, val);
        return;
    }
    if ((slot >= 0x10 && slot < 0x28) || slot == 0x03 || slot == 0x09 || slot == 0x0a || slot == 0x0c ||
        slot == 0x39)
        return; /* read-only */
    switch (slot) {
    case 0x02: l->id = (uint8_t)(val >> 24); break;
    case 0x08:
        l->tpr = (uint8_t)val;
        update(l);
        break;
    case 0x0b: eoi(l); break;
    case 0x0d: l->ldr = (uint8_t)(val >> 24); break;
    case 0x0e: l->dfr_model = (uint8_t)(val >> 28); break;
    case 0x0f: svr_write(l, val); break;
    case 0x28: /* latch the errors seen since the last write, start afresh */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case 0x30:
        l->icr_lo = val & ICR_WRITABLE;
        send_ipi(l);
        break;
    case 0x31: l->icr_hi = val & 0xff000000u; break;
    case 0x38: {
        uint64_t now = vclock_now(l->clock);
        l->initial_count = val;
        timer_rebase(l, now, 0);
        timer_arm(l, now);
        break;
    }
    case 0x3e: {
        uint64_t now = vclock_now(l->clock), e = elapsed(l, now);
        if (l->initial_count && (l->lvt[LVT_TIMER] & LVT_PERIODIC))
            e %= l->initial_count;
        timer_rebase(l, now, e);
        l->dcr = val & 0xb;
        timer_arm(l, now);
        break;
    }
    default:
        error(l, ESR_ILLEGAL_REG);
        break;
    }
}

uint32_t lapic_mmio_read(void *opaque, uint64_t offset, int size)
{
    struct lapic *l = opaque;
    unsigned byte = offset & 0xf;
    if (byte + (unsigned)size > 4)
        return 0; /* bytes 4-15 of a slot hold nothing */
    uint32_t v = reg_read(l, (unsigned)(offset >> 4) & 0xff) >> (8 * byte);
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void lapic_mmio_write(void *opaque, uint64_t offset, int size, uint32_t val)
{
    struct lapic *l = opaque;
    if (size != 4 || (offset & 0xf))
        return;
    reg_write(l, (unsigned)(offset >> 4) & 0xff, val);
}

const struct mmio_ops lapic_mmio_ops = { lapic_mmio_read, lapic_mmio_write };

int lapic_init(struct lapic *l, uint8_t id, bool bsp, struct vclock *clock, struct apic_bus *bus, struct phys *mem,
               struct irq intr, const struct lapic_hooks *hooks)
{
    memset(l, 0, sizeof(*l));
    l->initial_id = id;
    l->base = bsp ? APIC_BASE_BSP : 0;
    l->clock = clock;
    l->bus = bus;
    l->intr = intr;
    if (hooks)
        l->hooks = *hooks;
    l->region = -1;
    timer_init(&l->timer, clock, timer_fire, l);
    if (bus) {
        int err = apic_bus_add_lapic(bus, l);
        if (err)
            return err;
    }
    if (mem) {
        int err = phys_add_mmio(mem, LAPIC_DEFAULT_BASE, LAPIC_SIZE, &lapic_mmio_ops, l, "lapic");
        if (err)
            return err;
        l->mem = mem;
        l->region = mem->nregions - 1;
    }
    lapic_reset(l);
    return 0;
}
