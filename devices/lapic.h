/*
 * The local APIC of Kestrel's P6-class CPU, in its xAPIC form (version
 * 0x14, five LVT entries: timer, performance counters, LINT0, LINT1,
 * error; no thermal sensor entry). Memory-mapped at the address in
 * IA32_APIC_BASE (default 0xFEE00000, 4 KiB). See lapic.c for the rules.
 *
 * How it meets the CPU (which knows nothing of devices):
 *   - INTR: the APIC drives the core's maskable-interrupt input through
 *     `intr` (the board connects it to cpu_set_irq). It is high while an
 *     ExtINT is pending or the highest IRR vector outranks the PPR.
 *   - INTA: the core's acknowledge (cpu_env.irq_ack) calls lapic_ack(),
 *     which moves that vector from IRR to ISR and returns it, or runs the
 *     8259's acknowledge cycle for an ExtINT (hooks.extint_ack).
 *   - NMI and INIT go to the core through hooks (cpu_raise_nmi,
 *     cpu_raise_init).
 *   - IA32_APIC_BASE lives in the CPU (an MSR); the board forwards writes
 *     (cpu_env.apic_base) to lapic_set_base(), which moves or unmaps the
 *     register page. With the APIC globally disabled the 8259's INTR and
 *     the NMI pin reach the core directly, as on a CPU without an APIC.
 */
#ifndef KESTREL_LAPIC_H
#define KESTREL_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/apicbus.h"
#include "devices/clock.h"
#include "devices/irq.h"

struct phys;
struct mmio_ops;

#define LAPIC_DEFAULT_BASE 0xfee00000u
#define LAPIC_SIZE 0x1000u
#define LAPIC_VERSION 0x00040014u /* xAPIC, max LVT entry 4 */
#define LAPIC_BUS_HZ 100000000ull  /* timer input: a 100 MHz front-side bus */

/* IA32_APIC_BASE bits. */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_ADDR 0x0000000ffffff000ull

/* LVT entries, in register order (0x320, 0x340, 0x350, 0x360, 0x370). */
enum { LVT_TIMER, LVT_PMC, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/* ESR bits (SDM Vol. 3A 10.5.3). */
#define ESR_SEND_ILLEGAL 0x20
#define ESR_RECV_ILLEGAL 0x40
#define ESR_ILLEGAL_REG 0x80

struct lapic_hooks {
    void *ctx;
    void (*nmi)(void *ctx);              /* NMI to the core */
    void (*init)(void *ctx);             /* INIT to the core (the APIC has reset itself) */
    void (*startup)(void *ctx, uint8_t vector); /* SIPI; NULL: a BSP never waits for one */
    int (*extint_ack)(void *ctx);        /* INTA cycle on the 8259: its vector */
};

struct lapic {
    uint64_t base;            /* IA32_APIC_BASE as last written (address | EN | BSP) */
    uint8_t id;               /* APIC ID (register bits 31:24) */
    uint8_t initial_id;       /* ID after RESET (CPUID.1:EBX[31:24]) */
    uint8_t tpr;              /* task priority */
    uint8_t ldr;              /* logical destination (bits 31:24) */
    uint8_t dfr_model;        /* DFR bits 31:28: 0xF flat, 0x0 cluster */
    uint16_t svr;             /* spurious vector (7:0), APIC enable (8), focus check off (9) */
    uint32_t irr[8], isr[8], tmr[8]; /* 256-bit request, in-service and trigger-mode registers */
    uint8_t esr;              /* errors as of the last ESR write (what reads see) */
    uint8_t esr_pending;      /* errors detected since */
    uint32_t icr_lo, icr_hi;  /* interrupt command register */
    uint32_t lvt[LVT_COUNT];  /* local vector table */
    uint32_t dcr;             /* timer divide configuration */
    uint32_t initial_count;   /* timer initial count; 0: stopped */
    uint64_t timer_ref_ns;    /* timer: virtual time of the reference point... */
    uint64_t timer_ref_ticks; /* ...and the count-down ticks already elapsed at it */
    uint8_t lint[2];          /* LINT0/LINT1 input levels as driven by the board */
    bool extint_msg;          /* an ExtINT message from the bus waits for INTA */
    int intr_level;           /* INTR output as last driven */
    struct irq intr;          /* INTR output to the core */
    struct lapic_hooks hooks;
    struct timer timer;       /* next count-down zero */
    struct vclock *clock;
    struct apic_bus *bus;
    struct phys *mem;         /* where the register page is mapped (NULL: not mapped, tests) */
    int region;               /* its phys region index, -1 if none */
};

extern const struct mmio_ops lapic_mmio_ops;

/* Set up a local APIC with APIC ID `id` and register it on `bus`; maps
 * its register page in `mem` unless mem is NULL. `bsp` says whether it
 * belongs to the bootstrap processor. Returns 0 or -errno. Then RESET. */
int lapic_init(struct lapic *l, uint8_t id, bool bsp, struct vclock *clock, struct apic_bus *bus, struct phys *mem,
               struct irq intr, const struct lapic_hooks *hooks);
/* Hardware RESET: IA32_APIC_BASE back to its default, registers to their
 * power-up values (SDM 10.4.7.1). */
void lapic_reset(struct lapic *l);
/* IA32_APIC_BASE was written (the CPU checked reserved bits). */
void lapic_set_base(struct lapic *l, uint64_t val);
static inline bool lapic_hw_enabled(const struct lapic *l) { return (l->base & APIC_BASE_EN) != 0; }
static inline bool lapic_sw_enabled(const struct lapic *l) { return (l->svr & 0x100) != 0; }

/* LINT0 (pin 0: the 8259's INTR) and LINT1 (pin 1: NMI) input levels;
 * struct irq compatible. */
void lapic_set_lint(void *opaque, int pin, int level);
/* Interrupt acknowledge by the core: the vector to deliver. */
int lapic_ack(struct lapic *l);

/* Register access (the MMIO callbacks; `offset` within the 4 KiB page). */
uint32_t lapic_mmio_read(void *opaque, uint64_t offset, int size);
void lapic_mmio_write(void *opaque, uint64_t offset, int size, uint32_t val);

/* Timer current-count register now (for tests and the register read). */
uint32_t lapic_timer_count(struct lapic *l);

/* Used by the APIC bus (apicbus.c). */
bool lapic_match(const struct lapic *l, uint8_t dest, bool logical);
uint8_t lapic_apr(const struct lapic *l);
void lapic_deliver(struct lapic *l, const struct apic_msg *m);

#endif
