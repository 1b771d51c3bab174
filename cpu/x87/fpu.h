/*
 * The x87 FPU: architectural state helpers shared by the x87 and MMX
 * handlers. Arithmetic is done in software on 80-bit values (sf80.h),
 * never with the host's long double, so results are identical on every host.
 *
 * State conventions (struct fpu in cpu/cpu.h)
 * - st[] are the physical registers R0..R7; ST(i) is st[(top + i) & 7].
 * - tw is not the architectural tag word: bit i (0..7) is set when ST(i)
 *   is empty, and bits 8..15 are zero. Kept relative to TOP, "ST(0) and
 *   ST(i) are present" is one test, and a push or pop is a shift; an
 *   instruction that moves TOP without a push or pop rotates it. Only
 *   empty versus not empty is kept: when the tag word is stored
 *   (FNSTENV/FNSAVE, fpu_full_tags) the tags of non-empty registers are
 *   computed from their contents (valid, zero or special), as the P6
 *   does, so an MMX register that aliases a NaN-looking bit pattern
 *   reports "special", and a result is committed without classifying it.
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
/* ST(i) empty; i may be -1 (ST(7), the slot a push fills). */
static inline bool fpu_empty(const struct fpu *f, int i) { return (f->tw >> (i & 7)) & 1; }
/* Physical register p empty. */
static inline bool fpu_phys_empty(const struct fpu *f, int p) { return fpu_empty(f, p - f->top); }
static inline struct f80 fpu_st(const struct fpu *f, int i) { return f->st[fpu_phys(f, i)]; }

/* Mark ST(i) empty (FFREE). */
static inline void fpu_free_st(struct fpu *f, int i) { f->tw |= (uint16_t)(1u << (i & 7)); }
/*
 * Store an extended value field by field. A struct assignment copies the
 * 16 bytes (padding included) with one vector load and store; when the
 * source was just written field by field (a computed result) or the
 * destination is read back field by field by the next instruction, the
 * store buffer cannot forward across the differing sizes and every x87
 * instruction stalls for a dozen cycles. Every write of st[] goes
 * through here.
 */
static inline void f80_put(struct f80 *d, struct f80 v)
{
    d->mant = v.mant;
    d->se = v.se;
}

/* Write ST(i) and mark it non-empty. */
static inline void fpu_write(struct fpu *f, int i, struct f80 v)
{
    f80_put(&f->st[fpu_phys(f, i)], v);
    f->tw &= (uint16_t)~(1u << (i & 7));
}
/* Mark ST(0) empty and move TOP up: the empty slot becomes ST(7). */
static inline void fpu_pop(struct fpu *f)
{
    f->tw = (uint16_t)((f->tw >> 1) | 0x80);
    f->top = (f->top + 1) & 7;
}
/* Move TOP down (ST(7) becomes ST(0)) and write the new ST(0). */
static inline void fpu_push(struct fpu *f, struct f80 v)
{
    f->tw = (uint16_t)((f->tw << 1) & 0xfe);
    f->top = (f->top - 1) & 7;
    f80_put(&f->st[f->top], v);
}
/* FINCSTP / FDECSTP: TOP moves, the registers keep their tags. */
static inline void fpu_rotate_up(struct fpu *f)
{
    f->tw = (uint16_t)((f->tw >> 1) | ((f->tw & 1) << 7));
    f->top = (f->top + 1) & 7;
}
static inline void fpu_rotate_down(struct fpu *f)
{
    f->tw = (uint16_t)(((f->tw << 1) | (f->tw >> 7)) & 0xff);
    f->top = (f->top - 1) & 7;
}
/* Set TOP and the physical tags at once (FLDENV, FRSTOR): a tag 3 in the
 * architectural tag word `tags` means empty. */
void fpu_set_tags(struct fpu *f, int top, uint16_t tags);
/* The MMX view: TOP 0 and every register valid (MMX instructions), or
 * every register empty (EMMS). */
static inline void fpu_mmx_touch(struct fpu *f)
{
    f->top = 0;
    f->tw = 0;
}
static inline void fpu_mmx_emms(struct fpu *f)
{
    f->top = 0;
    f->tw = 0xff;
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
