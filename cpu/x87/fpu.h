/*
 * The x87 FPU: architectural state helpers shared by the x87 and MMX
 * handlers. Arithmetic is done in software on 80-bit values (sf80.h),
 * never with the host's long double, so results are identical on every host.
 *
 * State conventions (struct fpu in cpu/cpu.h)
 * - st[] are the physical registers R0..R7; ST(i) is st[(top + i) & 7].
 * - tw holds the full two-bit tags of the physical registers. Only
 *   "empty" (3) versus "not empty" is ever consulted: when the tag word is
 *   stored (FNSTENV/FNSAVE) the tags of non-empty registers are computed
 *   from their contents (valid, zero or special), as the P6 does, so an
 *   MMX register that aliases a NaN-looking bit pattern reports "special".
 * - sw holds the status word with its TOP field zero; TOP lives in `top`.
 *   ES and B are set together whenever an unmasked exception is flagged.
 */
#ifndef KESTREL_FPU_H
#define KESTREL_FPU_H

#include "cpu/cpu.h"
#include "cpu/x87/sf80.h"

/* Power-on state (SDM Vol. 3, table 9-1): CW 0x0040, SW 0, tags 0x5555
 * (every register +0.0). INIT leaves the x87 alone. */
void fpu_reset(struct fpu *f);
/* FNINIT: CW 0x037F, SW 0, all empty, pointers cleared. */
void fpu_init(struct fpu *f);

static inline int fpu_phys(const struct fpu *f, int i) { return (f->top + i) & 7; }
static inline unsigned fpu_tag(const struct fpu *f, int phys) { return (f->tw >> (2 * phys)) & 3; }
static inline bool fpu_empty(const struct fpu *f, int i) { return fpu_tag(f, fpu_phys(f, i)) == 3; }
static inline struct f80 fpu_st(const struct fpu *f, int i) { return f->st[fpu_phys(f, i)]; }

static inline void fpu_set_tag(struct fpu *f, int phys, unsigned tag)
{
    f->tw = (uint16_t)((f->tw & ~(3u << (2 * phys))) | (tag << (2 * phys)));
}
/* Write ST(i) and mark it non-empty. */
static inline void fpu_write(struct fpu *f, int i, struct f80 v)
{
    int p = fpu_phys(f, i);
    f->st[p] = v;
    fpu_set_tag(f, p, (unsigned)sf_tag(v));
}
static inline void fpu_pop(struct fpu *f)
{
    fpu_set_tag(f, f->top, 3);
    f->top = (f->top + 1) & 7;
}
static inline void fpu_push(struct fpu *f, struct f80 v)
{
    f->top = (f->top - 1) & 7;
    fpu_write(f, 0, v);
}

/* The status word as the guest reads it (TOP merged in). */
static inline uint16_t fpu_status(const struct fpu *f)
{
    return (uint16_t)((f->sw & ~FSW_TOP) | (f->top << 11));
}
/* The tag word as FNSTENV/FNSAVE report it. */
uint16_t fpu_full_tags(const struct fpu *f);

/* Re-evaluate the FERR# output (status ES && !CR0.NE) and report a change
 * through cpu_env.ferr. The x87 handlers call it whenever ES changes;
 * whoever writes CR0 should call it too (NE may have changed). */
void fpu_update_ferr(struct cpu *c);

#endif
