/*
 * Protected-mode scaffolding shared by the pm_* guest tests: our own GDT,
 * IDT (every vector to a stub that records the fault and resumes), TSS
 * with an I/O bitmap, fault capture around single instructions, and calls
 * into ring 3.
 *
 * Fault capture: PM_TRY runs a few instructions between the local labels
 * 8: and 9:. The IDT stub records vector, error code, CS:EIP and EFLAGS of
 * a fault, and resumes at 9:. pm_report() then prints one line saying
 * whether the saved EIP was the instruction at 8: ("at insn"), the one at
 * 9: ("after"), or elsewhere. These lines are what the .expected files
 * hold, and what the QEMU cross-check compares.
 */
#ifndef PM_LIB_H
#define PM_LIB_H

#include "rt.h"

/* Fixed GDT layout. */
#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1b /* index 3, RPL 3 */
#define UDATA 0x23 /* index 4, RPL 3 */
#define TSS_SEL 0x28
#define KCODE16 0x30
#define KDATA16 0x38
#define GDT_FIRST_FREE 8 /* tests use entries 8..GDT_ENTRIES-1 */
#define GDT_ENTRIES 64

/* Descriptor types (S = 1 segments add 0x10 via PM_S). */
#define T_DATA_RO 0x0
#define T_DATA_RW 0x2
#define T_DATA_RO_ED 0x4
#define T_DATA_RW_ED 0x6
#define T_CODE_XO 0x8
#define T_CODE_RX 0xa
#define T_CODE_XO_C 0xc
#define T_CODE_RX_C 0xe
#define T_TSS16 0x1
#define T_LDT 0x2
#define T_TSS16_BUSY 0x3
#define T_CALLGATE16 0x4
#define T_TASKGATE 0x5
#define T_INTGATE16 0x6
#define T_TRAPGATE16 0x7
#define T_TSS32 0x9
#define T_TSS32_BUSY 0xb
#define T_CALLGATE32 0xc
#define T_INTGATE32 0xe
#define T_TRAPGATE32 0xf

/* Descriptor flags for pm_desc. */
#define D_S 0x01   /* code/data */
#define D_NP 0x02  /* not present */
#define D_DB 0x04  /* 32-bit */
#define D_G 0x08   /* 4K granularity */

#define PM_USER_EXIT 0x55534552u /* "USER": eax for int 0x80 leaving ring 3 */

struct pm_frame {
    uint32_t gs, fs, es, ds;                         /* pushed by the stub (low words valid) */
    uint32_t edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax; /* pushal */
    uint32_t vector, err;                            /* stub: err is 0 when the CPU pushed none */
    uint32_t eip, cs, eflags;                        /* CPU frame */
    uint32_t esp, ss;                                /* only after a privilege change */
    uint32_t v86_es, v86_ds, v86_fs, v86_gs;         /* only from v86 mode */
};

struct tss32 {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap;
} __attribute__((packed));

struct tss16 {
    uint16_t link, sp0, ss0, sp1, ss1, sp2, ss2;
    uint16_t ip, flags, ax, cx, dx, bx, sp, bp, si, di;
    uint16_t es, cs, ss, ds, ldt;
} __attribute__((packed));

/* The main TSS with a full I/O bitmap (+ the terminating 0xff byte). */
struct pm_tss {
    struct tss32 t;
    uint8_t iomap[8192 + 1];
} __attribute__((packed));

extern uint64_t pm_gdt[GDT_ENTRIES];
extern uint64_t pm_idt[256];
extern struct pm_tss pm_tss;
extern uint8_t pm_kstack_top[], pm_istack_top[], pm_ustack_top[];

/* Fault record and capture state (see top). */
struct pm_fault {
    int count;       /* faults taken since pm_clear() */
    uint32_t vector, err, eip, cs, eflags;
};
extern volatile struct pm_fault pm_fault;
extern volatile uint32_t pm_resume, pm_at, pm_next;
/* A test's own trap handling: return nonzero when it handled the trap
 * (then the stub returns through whatever the frame now says). */
extern int (*volatile pm_hook)(struct pm_frame *f);

uint64_t pm_desc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl, unsigned flags);
uint64_t pm_gate(uint16_t sel, uint32_t off, unsigned type, unsigned dpl, unsigned params, int present);
void pm_set_idt(int vec, uint64_t gate);
/* Default IDT entry for a vector: 32-bit interrupt gate to its stub. */
uint64_t pm_default_gate(int vec);
uint32_t pm_stub_addr(int vec);
void pm_init(void);
void pm_clear(void);
/* Print "name: ok" or "name: #XX(err) at insn|after|<eip>" (with CS when
 * it is not KCODE) and return the vector (-1: no fault). */
int pm_report(const char *name);
/* Allow or deny ports [port, port+n) in the main TSS's I/O bitmap. */
void pm_io_allow(uint16_t port, int n, int allow);

/* Run fn at ring 3 (CS UCODE, DS/ES/FS/GS/SS UDATA) with the given EFLAGS
 * and return its result; fn returns through int 0x80 (gate DPL 3). */
uint32_t pm_user_call(uint32_t (*fn)(void), uint32_t eflags);
/* Jump to ring-0 code that leaves through int 0x80 as above (for tests
 * that build their own transition to ring 3). */
uint32_t pm_kernel_call(void (*fn)(void));
/* From a trap hook at ring 0: abandon the interrupted context and return
 * `result` from the pm_user_call/pm_kernel_call (or v86 entry) that
 * saved the kernel context. */
void pm_user_exit(uint32_t result) __attribute__((noreturn));
extern uint32_t pm_kernel_esp;
/* Scratch for tests whose instructions under test leave ESP moved when
 * they fault: save before label 8, restore after label 9. */
extern volatile uint32_t pm_saved_esp;

static inline void pm_lgdt(void *base, uint16_t limit)
{
    struct { uint16_t l; uint32_t b; } __attribute__((packed)) d = { limit, (uint32_t)base };
    __asm__ volatile("lgdt %0" : : "m"(d));
}
static inline void pm_lidt(void *base, uint16_t limit)
{
    struct { uint16_t l; uint32_t b; } __attribute__((packed)) d = { limit, (uint32_t)base };
    __asm__ volatile("lidt %0" : : "m"(d));
}
static inline uint32_t pm_eflags(void)
{
    uint32_t f;
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    return f;
}
static inline uint16_t pm_sel(uint16_t index, int rpl) { return (uint16_t)(index << 3 | rpl); }
/* Reset ES, FS, GS to the flat kernel data segment after experiments. */
static inline void pm_flat_esfsgs(void)
{
    __asm__ volatile("mov %0, %%es; mov %0, %%fs; mov %0, %%gs" : : "r"(KDATA));
}

/* Run instructions with fault capture: the instruction under test follows
 * label 8, execution resumes at label 9 after a fault. */
#define PM_TRYB(name, before, insns, after, ...)                                                                      \
    do {                                                                                                               \
        pm_clear();                                                                                                    \
        __asm__ volatile("movl $8f, pm_at\n\tmovl $9f, pm_next\n\tmovl $9f, pm_resume\n\t" before                      \
                         "\n8:\n\t" insns "\n9:\n\t" after "\n\tmovl $0, pm_resume" __VA_ARGS__);                   \
        pm_report(name);                                                                                               \
    } while (0)
/* Variants without set-up before label 8 and/or clean-up after label 9.
 * Operands are required (at least ": : : \"memory\""), so the asm is
 * always extended asm and %% means %. */
#define PM_TRYX(name, insns, after, ...) PM_TRYB(name, "", insns, after, __VA_ARGS__)
#define PM_TRY(name, insns, ...) PM_TRYB(name, "", insns, "", __VA_ARGS__)

#endif
