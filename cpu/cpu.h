/*
 * The guest CPU as the architecture defines it: registers, segment caches,
 * control registers, lazy flags, x87/MMX state, and the small interfaces
 * through which it reaches the outside world (port I/O, interrupts, RAM).
 *
 * Design notes
 * - State is 64 bits wide already (16 GPRs, RIP, 64-bit segment bases) so
 *   that long mode later adds behaviour, not layout.
 * - gpr[] has one extra slot, GPR_ZERO, that always holds 0: the decoder
 *   points absent base/index registers at it so effective addresses are
 *   computed without branches.
 * - Arithmetic flags are lazy (see flags.h): lf_res/lf_aux hold the last
 *   result and a carry vector; eflags holds every other bit.
 * - cpu/ knows nothing of devices, the JIT or frontends. Port I/O and
 *   interrupt acknowledge go through `struct cpu_env` callbacks set by vm/.
 * - Exceptions unwind with longjmp to cpu_exec(); guest state is precise at
 *   the faulting instruction (see interp.c for how EIP is recovered).
 */
#ifndef KESTREL_CPU_H
#define KESTREL_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/insn.h"
#include "mmu/mmu.h"

struct insn;
struct blkcache;
struct block;

/* General-purpose register numbers (also ModRM encodings). */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, GPR_ZERO = 16, GPR_SLOTS = 17 };

/* Segment register numbers (ModRM sreg encoding), then system segments. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT, SEG_NONE = 15 };

/* EFLAGS bits. */
#define EFL_CF (1u << 0)
#define EFL_1 (1u << 1) /* reads as one */
#define EFL_PF (1u << 2)
#define EFL_AF (1u << 4)
#define EFL_ZF (1u << 6)
#define EFL_SF (1u << 7)
#define EFL_TF (1u << 8)
#define EFL_IF (1u << 9)
#define EFL_DF (1u << 10)
#define EFL_OF (1u << 11)
#define EFL_IOPL (3u << 12)
#define EFL_NT (1u << 14)
#define EFL_RF (1u << 16)
#define EFL_VM (1u << 17)
#define EFL_AC (1u << 18)
#define EFL_VIF (1u << 19)
#define EFL_VIP (1u << 20)
#define EFL_ID (1u << 21)
#define EFL_ARITH (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)

/* Control register bits. */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

/* CPUID signature presented: family 6 (P6), model 5, stepping 2 (a
 * Pentium II class CPU with MMX, PAE, PSE-36, PGE, CMOV, SYSENTER). */
#define CPU_SIGNATURE 0x00000652u

/* Exception vectors. */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6, EXC_NM = 7,
    EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16,
    EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};
#define NO_ERRCODE (-1)

/*
 * Mode word: everything that changes how code decodes or which checks
 * apply, packed so it can key translated code. Recomputed by
 * cpu_update_mode() whenever one of its inputs changes.
 */
#define MODE_CS32 (1u << 0)  /* default operand/address size 32 */
#define MODE_SS32 (1u << 1)  /* stack pointer is ESP */
#define MODE_PE (1u << 2)    /* protected mode */
#define MODE_VM86 (1u << 3)  /* virtual-8086 mode */
#define MODE_PG (1u << 4)    /* paging on */
#define MODE_CPL_SHIFT 5     /* two bits of CPL */
#define MODE_CPL_MASK (3u << MODE_CPL_SHIFT)
/* Data segment s (SEG_ES..SEG_GS) is flat: base 0, offsets 0..4 GiB-1
 * readable and writable. Translated code then skips its limit check and
 * base addition (only an access wrapping past 4 GiB can fault, and that
 * never hits the soft TLB). seg_recompute() keeps these bits current and
 * ends the running block when one changes. */
#define MODE_FLAT_SHIFT 7
#define MODE_FLAT(s) (1u << (MODE_FLAT_SHIFT + (s)))
#define MODE_FLAT_MASK (0x3fu << MODE_FLAT_SHIFT)

/* A segment register with its cached descriptor. */
struct seg {
    uint64_t base;   /* linear base */
    uint32_t limit;  /* byte-granular limit */
    uint16_t sel;    /* visible selector */
    uint16_t attr;   /* descriptor bits 40..47 and 52..55 as (type|S|DPL|P) | (AVL|L|DB|G) << 12 */
    uint32_t lo;     /* lowest valid offset (expand-down: limit + 1) */
    int64_t span_r;  /* highest valid offset - lo for reads; -1: no reads allowed */
    int64_t span_w;  /* same for writes; -1: not writable */
};

/* Descriptor attribute bits as kept in seg.attr. */
#define SA_TYPE 0x000fu
#define SA_A 0x0001u    /* accessed */
#define SA_RW 0x0002u   /* readable code / writable data */
#define SA_CE 0x0004u   /* conforming code / expand-down data */
#define SA_CODE 0x0008u /* executable */
#define SA_S 0x0010u    /* code/data (not system) */
#define SA_DPL_SHIFT 5
#define SA_DPL 0x0060u
#define SA_P 0x0080u
#define SA_AVL 0x1000u
#define SA_L 0x2000u
#define SA_DB 0x4000u
#define SA_G 0x8000u

/* A descriptor-table register (GDTR, IDTR). */
struct dtr {
    uint64_t base;
    uint32_t limit;
};

/* 80-bit extended real as stored in an x87 register. */
struct f80 {
    uint64_t mant; /* explicit integer bit at 63 */
    uint16_t se;   /* sign << 15 | biased exponent */
};

/* x87 FPU and MMX state (MMX registers alias the mantissas). */
struct fpu {
    struct f80 st[8]; /* physical registers R0..R7 */
    uint16_t cw;      /* control word */
    uint16_t sw;      /* status word, TOP kept in `top` */
    uint16_t tw;      /* tag word, 2 bits per physical register */
    uint8_t top;      /* stack top */
    uint16_t fop;     /* last non-control opcode (11 bits) */
    uint32_t fip, fdp; /* last instruction/data pointer offsets */
    uint16_t fcs, fds; /* and their selectors */
    uint8_t ferr;      /* FERR# level last reported through cpu_env.ferr */
};

/* Hooks through which the CPU reaches the machine it is plugged into. */
struct cpu_env {
    void *ctx;
    uint32_t (*in)(void *ctx, uint16_t port, int size);
    void (*out)(void *ctx, uint16_t port, int size, uint32_t val);
    int (*irq_ack)(void *ctx);           /* INTA: vector of the pending interrupt */
    uint64_t (*clock)(void *ctx);        /* virtual time in ns, for the TSC */
    void (*shutdown)(void *ctx);         /* triple fault: the board decides */
    void (*log)(void *ctx, const char *msg);
    /* FERR# output (x87 error with CR0.NE=0; a PC routes it to IRQ13),
     * called when its level changes. May be NULL. */
    void (*ferr)(void *ctx, int level);
    /* IA32_APIC_BASE was written (cpu->apic_base holds the new value): the
     * board moves, disables or re-enables the local APIC. May be NULL. The
     * local APIC itself drives irq_line and answers irq_ack (INTA moves the
     * vector from IRR to ISR), raises NMI and INIT, and is reset by the
     * board together with the CPU. */
    void (*apic_base)(void *ctx, uint64_t val);
};

/* Why cpu_exec() returned. */
enum cpu_exit { CPU_EXIT_BUDGET, CPU_EXIT_HALT, CPU_EXIT_REQUEST, CPU_EXIT_SHUTDOWN };

/* Statistics counters: one X-macro list, see cpu/stats.def. */
struct cpu_stats {
#define STAT(name, desc) uint64_t name;
#include "cpu/stats.def"
#undef STAT
};

struct cpu {
    /* Hot state first: the interpreter and (later) the JIT address these. */
    uint64_t gpr[GPR_SLOTS]; /* GPRs; gpr[GPR_ZERO] is always 0 */
    uint64_t eip;            /* instruction pointer at block boundaries */
    uint64_t lf_res;         /* lazy flags: last result, sign-extended */
    uint64_t lf_aux;         /* lazy flags: carry vector + deltas (flags.h) */
    uint32_t eflags;         /* all EFLAGS bits except the six arithmetic ones */
    uint32_t mode;           /* MODE_* word */
    const struct insn *blk_end; /* the running block stops before this insn (cpu_stop() pulls it in) */
    int cpl;                 /* current privilege level */
    struct tlb_entry *tlb;   /* active TLB: mmu.tlb[cpl == 3] */
    uint32_t jmp_gen;        /* bumped when translations are invalidated (interp.c): not by a CR3
                              * load, which keeps global pages' (the JIT's inline caches of exits
                              * in global pages go by it, for global targets only) */
    uint32_t ctx_gen;        /* bumped whenever code at a linear address may become other code or run
                              * under another mode: a lin_gen bump, any mode-word or CS update (the
                              * JIT's return stack is only good within one generation) */
    uint32_t lin_gen;        /* bumped whenever a linear address may come to name other code: a
                              * jmp_gen bump, a CR3 load (the JIT's inline caches, whose sites
                              * imply the mode and CS, are only good within one generation) */
    const struct block *blk; /* block being executed, NULL between blocks */
    const struct insn *cur;  /* instruction being executed */

    struct seg seg[SEG_COUNT];
    struct dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint64_t efer;
    uint32_t dr[8];
    /* Conditions cpu_exec() must look at between blocks, packed so that
     * one load of `events` tells whether any is set. */
    union {
        struct {
            uint8_t halted;       /* HLT executed, waiting for an interrupt */
            uint8_t inhibit_irq;  /* interrupts inhibited for one instruction (STI, MOV SS) */
            uint8_t irq_line;     /* INTR asserted by the interrupt controller */
            uint8_t nmi_pending;
            uint8_t dbg_armed;    /* a DR7 breakpoint is enabled: run one instruction at a time (cpu/sysregs.h) */
            uint8_t exit_request; /* ask cpu_exec() to return at the next block boundary */
            uint8_t init_pending; /* INIT signal (local APIC): cpu_init_signal() at the next boundary */
            uint8_t interp_next;  /* interpret the next block, native code or not (the JIT's
                                   * loop entry declined the state it found: jit/x64/loop.c) */
        };
        uint64_t events;
    };
    uint8_t dbg_data;     /* an enabled data breakpoint: the memory slow path checks accesses */
    uint32_t dbg_hits;    /* DR6 B0-B3 of data breakpoints hit by the current instruction */
    /* Called by the memory slow paths (cpu/mem.c) before each physical
     * access they make; NULL: none. The JIT's co-simulation journals writes
     * with it (and turns off TLB write entries so that every write is seen). */
    void (*access_hook)(void *ctx, uint64_t paddr, int size, bool write);
    void *access_ctx;

    /* Model-specific registers we keep. */
    uint32_t sysenter_cs;
    uint32_t sysenter_esp, sysenter_eip;
    uint64_t tsc_offset;
    uint64_t apic_base;
    uint8_t apic_id;         /* initial APIC ID (CPUID.1:EBX[31:24]), set by the board */
    uint64_t pat;
    uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
    uint64_t misc_enable;
    uint64_t perfevtsel[2], perfctr[2]; /* P6 performance-monitoring MSRs (counters do not count) */

    struct fpu fpu;

    /* Exception in flight (set by cpu_fault before unwinding). */
    int exc_vector;
    int exc_code;        /* error code or NO_ERRCODE */
    int deliv_vector;    /* exception being delivered, -1 if none (#DF rules) */
    uint8_t intr_taken;  /* an event was delivered during this instruction (TF rules) */
    uint8_t nmi_blocked; /* NMI handler running: further NMIs wait for IRET */
    uint64_t run_end;    /* icount at which cpu_exec() returns */
    uint64_t exec_end;   /* translated code leaves once icount reaches it: run_end,
                          * or 0 while an event is pending (cpu_event()) */
    jmp_buf jb;          /* unwind target inside cpu_exec() */

    struct mmu mmu;             /* TLBs and paging control */
    struct {                    /* the last CS:EIP no block could be built at (an insn crossing a page) */
        uint32_t lin, eip, mode, jmp_gen;
        uint64_t paddr;
    } uncached;
    struct phys *mem;           /* guest physical memory */
    struct blkcache *cache;     /* decoded-block cache */
    struct block *scratch;      /* one-instruction block for code that cannot be cached */
    struct cpu_env env;
    const struct cpu_accel *accel; /* JIT hooks (cpu/accel.h), NULL: interpret everything */
    uint8_t bounce[16];         /* read-modify-write bounce buffer (mem.c) */
    uint64_t bounce_pa[2];      /* physical address of each part */
    int bounce_split;           /* bytes in the first part */
    int bounce_size;

    uint64_t icount;     /* guest instructions retired */
    unsigned log_mask;   /* LOG_* bits */
    int max_block_insns; /* cap on decoded block length (1 for bisecting) */
    struct cpu_stats stats;

    /* Scratch memory of the accelerator's translated code, reached from
     * the CPU pointer: the x86-64 backend keeps its spill slots and save
     * area here (jit/x64/x64.h), which leaves the host stack to its return
     * stack. Nothing else reads or writes it. */
    uint64_t accel_frame[96] __attribute__((aligned(64)));
};

/* Log mask bits (shared with vm/ and frontends/). */
#define LOG_IN_ASM (1u << 0)
#define LOG_EXEC (1u << 1)
#define LOG_INT (1u << 2)
#define LOG_IO (1u << 3)
#define LOG_UNIMPL (1u << 4)
#define LOG_MMU (1u << 5)
#define LOG_IR (1u << 6)      /* JIT: IR of each translated block */
#define LOG_IR_OPT (1u << 7)  /* JIT: the IR after optimisation */
#define LOG_OUT_ASM (1u << 8) /* JIT: host code of each translated block */

/* Lifecycle. cpu_init wires memory and hooks; returns 0 or -errno. */
int cpu_init(struct cpu *cpu, struct phys *mem, const struct cpu_env *env);
void cpu_free(struct cpu *cpu);
void cpu_reset(struct cpu *cpu);
/* INIT: like RESET, but the MSRs, MTRRs, x87 state and CR0.CD/NW are
 * kept (SDM Vol. 3A 9.1). The local APIC resets itself. */
void cpu_init_signal(struct cpu *cpu);

/* Run up to about `budget` instructions. */
enum cpu_exit cpu_exec(struct cpu *cpu, uint64_t budget);

/* Interrupt inputs, called by the board. */
void cpu_set_irq(struct cpu *cpu, int level);
void cpu_raise_nmi(struct cpu *cpu);
void cpu_raise_init(struct cpu *cpu);
void cpu_request_exit(struct cpu *cpu);

/* Drop cached translations: all of them (CR3/CR0/CR4 writes, A20), or
 * one linear page (INVLPG). Covers the TLB and the block jump cache. */
void cpu_tlb_flush(struct cpu *cpu);
void cpu_tlb_flush_page(struct cpu *cpu, uint32_t lin);

/* Invalidate every jump-cache entry at once (interp.c). */
void cpu_jmp_flush(struct cpu *cpu);
/* Bump cpu->ctx_gen: code at a linear address may run under another mode
 * (or CS) from now on. */
void cpu_ctx_bump(struct cpu *cpu);
/* Bump cpu->lin_gen (and ctx_gen): a linear address may name other code
 * from now on. When lin_gen (or jmp_gen) wraps, the accelerator's
 * lin_wrap() drops whatever it keyed by them (an old key would match
 * again). */
void cpu_lin_bump(struct cpu *cpu);

/* Full EFLAGS, materialising the lazy bits. */
uint32_t cpu_get_eflags(const struct cpu *cpu);
/* Write EFLAGS bits selected by mask (no privilege checks). */
void cpu_set_eflags(struct cpu *cpu, uint32_t val, uint32_t mask);

/* Leave the running block after the current instruction (something the
 * rest of the block was decoded under changed, or an event wants service).
 * Harmless outside a block: the next block resets blk_end. */
static inline void cpu_stop(struct cpu *cpu)
{
    cpu->blk_end = cpu->cur + 1;
}

/* A byte of cpu->events was set: translated code leaves at its next block
 * entry or loop back edge, where it checks the budget (exec_end) alone.
 * The run loop re-arms exec_end once the events are all clear. (The JIT
 * sets interp_next only on its way back to the run loop, which looks at
 * the events itself.) */
static inline void cpu_event(struct cpu *cpu)
{
    cpu->exec_end = 0;
}

/* Raise a guest exception: unwinds to cpu_exec(). */
_Noreturn void cpu_fault(struct cpu *cpu, int vector, int errcode);

/* Recompute cpu->mode and the derived pointers after CR0/CS/SS/EFLAGS.VM change. */
void cpu_update_mode(struct cpu *cpu);

/* Mode setup used by loaders: flat 32-bit protected mode, paging off. */
void cpu_set_flat32(struct cpu *cpu);

/* Load a segment register with real-mode/v86 semantics (base = sel << 4). */
void seg_load_real(struct cpu *cpu, int sreg, uint16_t sel);
/* Load a segment register from descriptor parts, computing the fast-check fields. */
void seg_set_cache(struct cpu *cpu, int sreg, uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr);

/* Log through env.log (printf-like). */
void cpu_logf(struct cpu *cpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
