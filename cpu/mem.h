/*
 * Guest memory accesses from instruction handlers: segment check, soft-TLB
 * probe, host load/store. Everything unusual (TLB miss, page crossing,
 * MMIO, code pages, faults) goes out of line to cpu/mem.c.
 *
 * Segment check: each segment cache holds lo/span_r/span_w so that one
 * compare covers limit, expand-down and access rights: an access of `size`
 * bytes at offset ea is allowed when (ea - lo) + size - 1 <= span, computed
 * in 64 bits; span -1 forbids every access of that kind (null selector,
 * read of an execute-only segment, write to a read-only one).
 *
 * Read-modify-write instructions use mem_rmw*(), which checks write access
 * once (so a read-only page faults with W=1 before anything changes, as on
 * hardware) and hands back a host pointer or a bounce buffer.
 */
#ifndef KESTREL_MEM_H
#define KESTREL_MEM_H

#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

_Noreturn void seg_fault(struct cpu *c, int s, uint32_t ea, int size, int write);
uint64_t mem_read_slow(struct cpu *c, uint32_t lin, int size);
void mem_write_slow(struct cpu *c, uint32_t lin, int size, uint64_t val);
uint8_t *mem_rmw_slow(struct cpu *c, uint32_t lin, int size);
void mem_rmw_flush(struct cpu *c);

/* Accesses by linear address at an explicit privilege (user = CPL 3 rules),
 * always through the walker: stack switches, descriptor tables, TSS, IDT. */
uint64_t mem_read_as(struct cpu *c, uint32_t lin, int size, bool user);
void mem_write_as(struct cpu *c, uint32_t lin, int size, uint64_t val, bool user);
/* Implicit supervisor accesses (descriptor tables, TSS, IDT) ignore CPL. */
static inline uint64_t mem_sys_read(struct cpu *c, uint32_t lin, int size) { return mem_read_as(c, lin, size, false); }
static inline void mem_sys_write(struct cpu *c, uint32_t lin, int size, uint64_t val) { mem_write_as(c, lin, size, val, false); }

/* Code fetch: host pointer to the page holding `lin` (NULL for MMIO/open
 * bus) and its physical address. Raises #PF on a failed fetch. */
uint8_t *mem_fetch_page(struct cpu *c, uint32_t lin, uint64_t *paddr);

/* Effective address of the instruction's memory operand. */
static inline uint32_t insn_ea(const struct cpu *c, const struct insn *i)
{
    uint32_t ea = (uint32_t)c->gpr[i->rm] + ((uint32_t)c->gpr[i->index] << i->scale) + i->disp;
    return (i->pfx & P_ASIZE32) ? ea : (ea & 0xffff);
}

static inline uint32_t seg_lin_r(struct cpu *c, int s, uint32_t ea, int size)
{
    const struct seg *sg = &c->seg[s];
    if (unlikely((int64_t)(uint32_t)(ea - sg->lo) + size - 1 > sg->span_r))
        seg_fault(c, s, ea, size, 0);
    return (uint32_t)(sg->base + ea);
}

static inline uint32_t seg_lin_w(struct cpu *c, int s, uint32_t ea, int size)
{
    const struct seg *sg = &c->seg[s];
    if (unlikely((int64_t)(uint32_t)(ea - sg->lo) + size - 1 > sg->span_w))
        seg_fault(c, s, ea, size, 1);
    return (uint32_t)(sg->base + ea);
}

static inline uint8_t *tlb_hit_r(struct cpu *c, uint32_t lin, int size)
{
    struct tlb_entry *e = tlb_entry_for(c->tlb, lin);
    if (likely(e->tag_r == (uint64_t)((lin + (uint32_t)size - 1) & ~0xfffu)))
        return (uint8_t *)(e->addend + lin);
    return NULL;
}

static inline uint8_t *tlb_hit_w(struct cpu *c, uint32_t lin, int size)
{
    struct tlb_entry *e = tlb_entry_for(c->tlb, lin);
    if (likely(e->tag_w == (uint64_t)((lin + (uint32_t)size - 1) & ~0xfffu)))
        return (uint8_t *)(e->addend + lin);
    return NULL;
}

/* Reads and writes by linear address (after segmentation). */
#define DEF_LIN(bits, type)                                                                                            \
    static inline type lin_rd##bits(struct cpu *c, uint32_t lin)                                                      \
    {                                                                                                                  \
        uint8_t *p = tlb_hit_r(c, lin, bits / 8);                                                                      \
        if (likely(p)) {                                                                                               \
            type v;                                                                                                    \
            memcpy(&v, p, sizeof(v));                                                                                  \
            return v;                                                                                                  \
        }                                                                                                              \
        return (type)mem_read_slow(c, lin, bits / 8);                                                                  \
    }                                                                                                                  \
    static inline void lin_wr##bits(struct cpu *c, uint32_t lin, type v)                                               \
    {                                                                                                                  \
        uint8_t *p = tlb_hit_w(c, lin, bits / 8);                                                                      \
        if (likely(p))                                                                                                 \
            memcpy(p, &v, sizeof(v));                                                                                  \
        else                                                                                                           \
            mem_write_slow(c, lin, bits / 8, v);                                                                       \
    }                                                                                                                  \
    static inline type mem_rd##bits(struct cpu *c, int s, uint32_t ea)                                                 \
    {                                                                                                                  \
        return lin_rd##bits(c, seg_lin_r(c, s, ea, bits / 8));                                                         \
    }                                                                                                                  \
    static inline void mem_wr##bits(struct cpu *c, int s, uint32_t ea, type v)                                         \
    {                                                                                                                  \
        lin_wr##bits(c, seg_lin_w(c, s, ea, bits / 8), v);                                                             \
    }
DEF_LIN(8, uint8_t)
DEF_LIN(16, uint16_t)
DEF_LIN(32, uint32_t)
DEF_LIN(64, uint64_t)
#undef DEF_LIN

/* Read-modify-write: map for writing, then read and write through the pointer.
 * Call mem_rmw_done() after the last write through it. */
static inline uint8_t *mem_rmw(struct cpu *c, int s, uint32_t ea, int size)
{
    uint32_t lin = seg_lin_w(c, s, ea, size);
    uint8_t *p = tlb_hit_w(c, lin, size);
    return likely(p) ? p : mem_rmw_slow(c, lin, size);
}
static inline void mem_rmw_done(struct cpu *c, const uint8_t *p)
{
    if (unlikely(p == c->bounce))
        mem_rmw_flush(c);
}

/* Operand-size register access helpers. */
static inline uint8_t *reg8(struct cpu *c, uint8_t off) { return (uint8_t *)c->gpr + off; }
static inline uint16_t rd_reg16(const struct cpu *c, int r) { return (uint16_t)c->gpr[r]; }
static inline uint32_t rd_reg32(const struct cpu *c, int r) { return (uint32_t)c->gpr[r]; }
static inline void wr_reg16(struct cpu *c, int r, uint16_t v) { memcpy(&c->gpr[r], &v, 2); }
static inline void wr_reg32(struct cpu *c, int r, uint32_t v) { c->gpr[r] = v; }

static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

#endif
