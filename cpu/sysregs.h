/*
 * System-register machinery used outside the system-instruction handlers:
 * the debug-breakpoint engine (cpu/dbreak.c) that the run loop and the
 * memory slow path call while breakpoints are enabled, the reset of the
 * model-specific registers (cpu/ops/msr.c), and the control-register
 * write path (cpu/ops/sysreg.c) that LMSW, MOV CRn and task switches share.
 *
 * Breakpoints cost nothing while DR7 enables none: cpu->dbg_armed is then
 * zero, the run loop executes whole blocks and the TLB caches every page.
 * Once one is enabled, the run loop steps one instruction at a time
 * (checking instruction breakpoints before each), and pages holding a data
 * breakpoint lose their TLB read/write entries so that every access to
 * them reaches mem.c's slow path, which calls dbg_data_check().
 */
#ifndef KESTREL_SYSREGS_H
#define KESTREL_SYSREGS_H

#include "cpu/cpu.h"

/* DR6 and DR7 bits. */
#define DR6_B(n) (1u << (n)) /* breakpoint n condition met */
#define DR6_BD (1u << 13)    /* next instruction accesses a debug register (GD) */
#define DR6_BS (1u << 14)    /* single step */
#define DR6_BT (1u << 15)    /* task switch with T set */
#define DR6_FIXED 0xffff0ff0u
#define DR7_GD (1u << 13)
#define DR7_FIXED 0x00000400u
#define DR7_VALID 0xffff23ffu /* L0-3, G0-3, LE, GE, GD, R/W and LEN fields */

/* IA32_MISC_ENABLE.XD_DISABLE: hides NX from CPUID and EFER. */
#define MISC_XD_DISABLE (1ull << 34)

/* Recompute cpu->dbg_armed, dbg_data and the MMU's watched pages from DR7
 * and DR0-DR3 (after a debug-register write or a reset). */
void dbg_update(struct cpu *c);
/* Run loop, before one instruction while dbg_armed: clears RF (skipping
 * the check) or delivers #DB for a matching instruction breakpoint and
 * returns true. */
bool dbg_before_insn(struct cpu *c);
/* Run loop, after the instruction completed: the DR6 B bits of data
 * breakpoints it hit (already merged into DR6), 0 for none. */
uint32_t dbg_after_insn(struct cpu *c);
/* Memory slow path: an access of `size` bytes at linear `lin`. */
void dbg_data_check(struct cpu *c, uint32_t lin, int size, bool write);

/* Power-on/reset values of the MSRs and breakpoint state (from cpu_reset). */
void sys_reset(struct cpu *c);

/* Current time-stamp counter. */
uint64_t cpu_tsc(struct cpu *c);

/* Load CR0 / CR4 with every architectural check (#GP(0) on reserved bits,
 * PG without PE, NW without CD, failed PDPTE loads), flushing and
 * recomputing the mode as needed. Raise before changing anything. */
void cpu_write_cr0(struct cpu *c, uint32_t val);
void cpu_write_cr4(struct cpu *c, uint32_t val);
void cpu_write_cr3(struct cpu *c, uint32_t val);

#endif
