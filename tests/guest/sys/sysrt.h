/*
 * Scaffolding for the sys_* guest tests (system instructions and paging):
 * a GDT in the SYSENTER layout, a TSS for ring-3 -> ring-0 interrupts, an
 * IDT whose exception stubs record faults (with CR2) and resume, and calls
 * into ring 3 through SYSEXIT that come back through SYSENTER.
 *
 * Kept apart from tests/guest/pm/ (the protected-mode tests' scaffolding)
 * so that the two areas can change their tests independently; the fault
 * line format is the same.
 *
 * Fault capture: TRY(name, insns, operands) runs instructions between
 * local labels 8: and 9:. A fault records vector, error code, EIP, CS and
 * CR2 and resumes at 9:; sys_report() prints one line,
 *   "name: ok"  or  "name: #PF(0007) cr2=00401000 at insn"
 * where "at insn" means the saved EIP is label 8 (the first instruction),
 * "after" label 9, else the EIP. These lines make up the .expected files
 * and are what the QEMU cross-check compares.
 */
#ifndef SYS_RT_H
#define SYS_RT_H

#include "rt.h"

/* GDT, in the order SYSENTER/SYSEXIT expect from IA32_SYSENTER_CS = KCODE. */
#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1b
#define UDATA 0x23
#define TSS_SEL 0x28

struct sys_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax; /* pushal */
    uint32_t vector, err;                                  /* err 0 when the CPU pushed none */
    uint32_t eip, cs, eflags;
    uint32_t esp, ss; /* only from ring 3 */
};

struct sys_fault {
    int count;
    uint32_t vector, err, eip, cs, eflags, cr2, dr6;
};
extern volatile struct sys_fault sys_fault;
extern volatile uint32_t sys_resume, sys_at, sys_next;
/* A test's own trap handling: return nonzero when handled (the stub then
 * returns through the frame, e.g. to restart the faulting instruction). */
extern int (*volatile sys_hook)(struct sys_frame *f);

extern uint8_t sys_kstack_top[], sys_ustack_top[];
extern char sys_sysenter_entry[]; /* IA32_SYSENTER_EIP as set by sys_init */

/* GDT, IDT, TSS, IOPL 3 (ring 3 may print), SYSENTER MSRs. */
void sys_init(void);
void sys_clear(void);
int sys_report(const char *name);

/* Run fn(arg) at ring 3 (entered with SYSEXIT, returns with SYSENTER). */
uint32_t sys_user_call(uint32_t (*fn)(uint32_t), uint32_t arg);

/* Register and MSR access. */
#define DEF_CR(n)                                                                                                      \
    static inline uint32_t read_cr##n(void)                                                                           \
    {                                                                                                                  \
        uint32_t v;                                                                                                    \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                                             \
        return v;                                                                                                      \
    }                                                                                                                  \
    static inline void write_cr##n(uint32_t v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEF_CR(0)
DEF_CR(2)
DEF_CR(3)
DEF_CR(4)
#undef DEF_CR
#define DEF_DR(n)                                                                                                      \
    static inline uint32_t read_dr##n(void)                                                                           \
    {                                                                                                                  \
        uint32_t v;                                                                                                    \
        __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));                                                             \
        return v;                                                                                                      \
    }                                                                                                                  \
    static inline void write_dr##n(uint32_t v) { __asm__ volatile("mov %0, %%dr" #n : : "r"(v) : "memory"); }
DEF_DR(0)
DEF_DR(1)
DEF_DR(2)
DEF_DR(3)
DEF_DR(6)
DEF_DR(7)
#undef DEF_DR

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}
static inline void invlpg(const volatile void *p) { __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory"); }
static inline uint32_t read_eflags(void)
{
    uint32_t f;
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    return f;
}
static inline uint16_t read_cs(void)
{
    uint16_t v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v));
    return v;
}
static inline uint16_t read_ss(void)
{
    uint16_t v;
    __asm__ volatile("mov %%ss, %0" : "=r"(v));
    return v;
}

/* Fault capture around instructions (see top). Operands are required
 * (at least ": : : \"memory\""), so the asm is always extended asm. */
#define TRY(name, insns, ...)                                                                                          \
    do {                                                                                                               \
        sys_clear();                                                                                                   \
        __asm__ volatile("movl $8f, sys_at\n\tmovl $9f, sys_next\n\tmovl $9f, sys_resume\n"                            \
                         "8:\n\t" insns "\n9:\n\tmovl $0, sys_resume" __VA_ARGS__);                                    \
        sys_report(name);                                                                                              \
    } while (0)

#endif
