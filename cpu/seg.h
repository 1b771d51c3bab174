/*
 * Segment descriptors and segment-register loads with the protection
 * checks of the Intel SDM (Vol. 3, ch. 5). Far control transfers, gates
 * and task switches build on these (cpu/farctl.c, cpu/task.c).
 */
#ifndef KESTREL_SEG_H
#define KESTREL_SEG_H

#include "cpu/cpu.h"

/* A raw 8-byte descriptor. */
struct desc {
    uint32_t lo, hi;
};

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

/* Read the descriptor `sel` refers to (GDT or LDT). False when the index is
 * beyond the table limit (or the LDT is unusable). May #PF. */
bool desc_fetch(struct cpu *c, uint16_t sel, struct desc *d);
/* Write back the accessed bit if it is clear. */
void desc_set_accessed(struct cpu *c, uint16_t sel, struct desc *d);
/* Linear address of the descriptor for `sel`. */
uint32_t desc_addr(const struct cpu *c, uint16_t sel);

/* MOV/POP Sreg, LDS and friends: load with the checks of the current mode.
 * Faults (#GP/#SS/#NP with the selector as error code) leave state unchanged. */
void seg_load(struct cpu *c, int sreg, uint16_t sel);
/* Load a segment register from a descriptor already checked by the caller. */
void seg_load_desc(struct cpu *c, int sreg, uint16_t sel, struct desc d);
/* Recompute a segment's fast-check fields for the current mode. */
void seg_recompute(struct cpu *c, int sreg);
/* The same for a segment cache not (yet) in a register, e.g. a new stack. */
void seg_compute_checks(struct seg *s, int sreg, bool pm);

#endif
