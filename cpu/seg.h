/*
 * Segment descriptors and segment-register loads with the protection
 * checks of the Intel SDM (Vol. 3, ch. 5). Far control transfers, gates
 * and task switches (cpu/ops/farctl.c, cpu/except.c, cpu/task.c) build on
 * these.
 *
 * The check functions take the vector and EXT bit to raise because the
 * same rules give #GP for an instruction (MOV SS), #TS inside a task
 * switch or an inner-stack switch, and carry EXT when an event is being
 * delivered. All of them raise before changing anything.
 */
#ifndef KESTREL_SEG_H
#define KESTREL_SEG_H

#include "cpu/cpu.h"

/* A raw 8-byte descriptor. */
struct desc {
    uint32_t lo, hi;
};

/* System descriptor types (S = 0). */
enum {
    DT_TSS16 = 1, DT_LDT = 2, DT_TSS16_BUSY = 3, DT_CALLGATE16 = 4, DT_TASKGATE = 5, DT_INTGATE16 = 6,
    DT_TRAPGATE16 = 7, DT_TSS32 = 9, DT_TSS32_BUSY = 11, DT_CALLGATE32 = 12, DT_INTGATE32 = 14,
    DT_TRAPGATE32 = 15,
};
#define DT_BUSY 2 /* busy bit inside a TSS type */

static inline uint32_t desc_base(struct desc d)
{
    return (d.lo >> 16) | ((d.hi & 0xff) << 16) | (d.hi & 0xff000000u);
}
static inline uint32_t desc_limit(struct desc d)
{
    uint32_t l = (d.lo & 0xffff) | (d.hi & 0xf0000);
    return (d.hi & (1u << 23)) ? (l << 12) | 0xfff : l;
}
/* Attribute word as kept in struct seg (see SA_* in cpu.h). */
static inline uint16_t desc_attr(struct desc d)
{
    return (uint16_t)(((d.hi >> 8) & 0xff) | ((d.hi >> 20) & 0xf) << 12);
}
static inline int desc_dpl(struct desc d) { return (d.hi >> 13) & 3; }
static inline int desc_type(struct desc d) { return (d.hi >> 8) & 0xf; }
static inline bool desc_s(struct desc d) { return d.hi & (1u << 12); }
static inline bool desc_present(struct desc d) { return d.hi & (1u << 15); }
static inline bool desc_is_code(struct desc d) { return desc_s(d) && (d.hi & (1u << 11)); }
static inline bool desc_is_data(struct desc d) { return desc_s(d) && !(d.hi & (1u << 11)); }
static inline bool desc_conforming(struct desc d) { return desc_is_code(d) && (d.hi & (1u << 10)); }
/* System descriptor of the given type (S = 0)? */
static inline bool desc_is_sys(struct desc d, int type) { return !desc_s(d) && desc_type(d) == type; }
/* Gate fields: target selector, offset (16-bit gates use the low word), parameter count. */
static inline uint16_t gate_sel(struct desc d) { return (uint16_t)(d.lo >> 16); }
static inline uint32_t gate_offset(struct desc d)
{
    return (d.lo & 0xffff) | ((desc_type(d) & 8) ? (d.hi & 0xffff0000u) : 0);
}
static inline int gate_params(struct desc d) { return d.hi & 0x1f; }

/* Error code naming a selector: index and TI, RPL replaced by EXT. */
static inline int sel_code(uint16_t sel, int ext) { return (sel & 0xfffc) | ext; }

/* Read the descriptor `sel` refers to (GDT or LDT). False when the index is
 * beyond the table limit (or the LDT is unusable). May #PF. */
bool desc_fetch(struct cpu *c, uint16_t sel, struct desc *d);
/* The same for selectors that must name the GDT (TSS, LDT): false for TI=1. */
bool desc_fetch_gdt(struct cpu *c, uint16_t sel, struct desc *d);
/* Write back the accessed bit if it is clear. */
void desc_set_accessed(struct cpu *c, uint16_t sel, struct desc *d);
/* Write back the type field (TSS busy bit). */
void desc_write_type(struct cpu *c, uint16_t sel, struct desc d);
/* Linear address of the descriptor for `sel`. */
uint32_t desc_addr(const struct cpu *c, uint16_t sel);

/* MOV/POP Sreg, LDS and friends: load with the checks of the current mode.
 * Faults (#GP/#SS/#NP with the selector as error code) leave state unchanged. */
void seg_load(struct cpu *c, int sreg, uint16_t sel);
/* Protected-mode load of DS/ES/FS/GS at the current CPL: an invalid
 * selector raises `vec` (#GP, or #TS in a task switch), a missing segment
 * #NP, both with sel_code(sel, ext). A null selector makes it unusable. */
void seg_load_data(struct cpu *c, int sreg, uint16_t sel, int vec, int ext);
/* Check a stack segment for privilege `cpl`: null raises `vec` with
 * error code `null_code`, invalid raises `vec` with sel_code(sel, ext),
 * not present #SS(sel_code(sel, ext)). Returns its descriptor. */
struct desc seg_check_stack(struct cpu *c, uint16_t sel, int cpl, int vec, int null_code, int ext);
/* LLDT and task switches: load LDTR. Null makes it unusable; anything
 * but a present LDT descriptor in the GDT raises `vec` (a missing one
 * `np_vec`) with sel_code(sel, ext). */
void seg_load_ldt(struct cpu *c, uint16_t sel, int vec, int np_vec, int ext);
/* After a return to an outer privilege level (RETF, IRET): data segment
 * registers the new CPL may not use (data or non-conforming code with
 * DPL < CPL) are made null. */
void seg_drop_inaccessible(struct cpu *c);
/* Load a segment register from a descriptor already checked by the caller. */
void seg_load_desc(struct cpu *c, int sreg, uint16_t sel, struct desc d);
/* Recompute a segment's fast-check fields for the current mode. */
void seg_recompute(struct cpu *c, int sreg);
/* Base 0, every 32-bit offset readable and writable (MODE_FLAT). */
bool seg_is_flat(const struct seg *s);
/* The same for a segment cache not (yet) in a register, e.g. a new stack. */
void seg_compute_checks(struct seg *s, int sreg, bool pm);

#endif
