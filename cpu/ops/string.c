/*
 * String instructions: MOVS CMPS STOS LODS SCAS INS OUTS, byte/word/dword,
 * with REP/REPE/REPNE, 16- or 32-bit addressing (SI/DI/CX or ESI/EDI/ECX),
 * a segment override on the source, and DF choosing the direction.
 *
 * Restartable and interruptible REP: one execution runs at most
 * REP_CHUNK iterations; if the count is not exhausted it points EIP back
 * at the instruction (string instructions are A_END, always the last of
 * their block, so writing cpu->eip is safe) and the run loop re-executes
 * it after serving interrupts. With TF set the chunk is one iteration, so
 * the single-step trap comes after every iteration as on hardware.
 *
 * Precise faults: each iteration does all its memory accesses before it
 * updates (E)SI/(E)DI/(E)CX, and commits them before the next iteration,
 * so a fault leaves the registers describing exactly the iterations done.
 * INS maps its destination for writing before it reads the port, so a
 * faulting store does not swallow the port's data.
 *
 * Fast path: REP MOVS and REP STOS move runs of elements that stay inside
 * one page (of the source and of the destination), inside the segment
 * limits and clear of a 16-bit offset wrap straight through the host
 * pointers of the soft TLB, after checking every limit up front so the
 * run cannot fault; REPE/REPNE CMPS and SCAS compare such runs the same
 * way (reads only). Anything else -- a TLB miss, a code or MMIO page, a
 * page or segment boundary -- goes through the per-element path, which
 * also refills the TLB for the next run. Overlapping MOVS keeps its
 * element-by-element meaning (a forward copy onto itself replicates).
 *
 * F2 and F3 both mean REP for MOVS/STOS/LODS/INS/OUTS; for CMPS/SCAS F3 is
 * REPE (stop when ZF = 0) and F2 REPNE (stop when ZF = 1). The decoder
 * keeps only the last of the two.
 */
#include <string.h>

#include "cpu/ops/io.h"
#include "cpu/ops/ops.h"

#define REP_CHUNK 4096 /* iterations per execution */

/* Index and count registers by address size. */
static inline uint32_t sreg_get(const struct cpu *c, int r, bool a32)
{
    return a32 ? (uint32_t)c->gpr[r] : (uint16_t)c->gpr[r];
}
static inline void sreg_set(struct cpu *c, int r, uint32_t v, bool a32)
{
    if (a32)
        wr_reg32(c, r, v);
    else
        wr_reg16(c, r, (uint16_t)v);
}

static inline uint32_t rd_n(struct cpu *c, int s, uint32_t ea, int size)
{
    return size == 1 ? mem_rd8(c, s, ea) : size == 2 ? mem_rd16(c, s, ea) : mem_rd32(c, s, ea);
}
static inline void wr_n(struct cpu *c, int s, uint32_t ea, int size, uint32_t v)
{
    if (size == 1)
        mem_wr8(c, s, ea, (uint8_t)v);
    else if (size == 2)
        mem_wr16(c, s, ea, (uint16_t)v);
    else
        mem_wr32(c, s, ea, v);
}

static inline uint32_t acc_get(const struct cpu *c, int size)
{
    return size == 1 ? (uint8_t)c->gpr[R_EAX] : size == 2 ? (uint16_t)c->gpr[R_EAX] : (uint32_t)c->gpr[R_EAX];
}
static inline void acc_set(struct cpu *c, int size, uint32_t v)
{
    if (size == 1)
        *reg8(c, 0) = (uint8_t)v;
    else if (size == 2)
        wr_reg16(c, R_EAX, (uint16_t)v);
    else
        wr_reg32(c, R_EAX, v);
}

/* Flags of CMP a, b at the given size. */
static inline void cmp_flags(struct cpu *c, uint32_t a, uint32_t b, int size)
{
    uint32_t r = a - b;
    if (size == 1)
        lf_result8(c, (uint8_t)r, LF_AUX(LF_SUB_CV(a, b, r), 8));
    else if (size == 2)
        lf_result16(c, (uint16_t)r, LF_AUX(LF_SUB_CV(a, b, r), 16));
    else
        lf_result32(c, r, LF_AUX(LF_SUB_CV(a, b, r), 32));
}

enum { S_MOVS, S_CMPS, S_STOS, S_LODS, S_SCAS, S_INS, S_OUTS };

/* Is offset `off` (an element of `size` bytes) inside segment s for this
 * kind of access? The same test as mem.h's seg_lin_r/w, without faulting. */
static inline bool seg_ok(const struct cpu *c, int s, uint32_t off, int size, bool write)
{
    const struct seg *sg = &c->seg[s];
    return (int64_t)(uint32_t)(off - sg->lo) + size - 1 <= (write ? sg->span_w : sg->span_r);
}

/*
 * How many of the next n elements at s:off (stepping down when `down`)
 * can be reached through one host pointer with no check left to fail;
 * *host points at the first of them. 0 when the first one cannot.
 */
static uint32_t bulk_span(struct cpu *c, int s, uint32_t off, uint32_t n, int size, bool down, bool a32, bool write,
                          uint8_t **host)
{
    if (!a32) { /* the offset must not wrap at 64 KiB within the run */
        if (off + (uint32_t)size - 1 > 0xffff)
            return 0;
        uint32_t room = down ? off / (uint32_t)size + 1 : (0x10000 - off) / (uint32_t)size;
        if (n > room)
            n = room;
    }
    uint32_t lin = (uint32_t)c->seg[s].base + off, in_page = lin & 0xfff;
    if (in_page + (uint32_t)size > 0x1000)
        return 0;
    uint32_t room = down ? in_page / (uint32_t)size + 1 : (0x1000 - in_page) / (uint32_t)size;
    if (n > room)
        n = room;
    uint32_t last = down ? off - (n - 1) * (uint32_t)size : off + (n - 1) * (uint32_t)size;
    if (!seg_ok(c, s, off, size, write) || !seg_ok(c, s, last, size, write))
        return 0;
    *host = write ? tlb_hit_w(c, lin, size) : tlb_hit_r(c, lin, size);
    return *host ? n : 0;
}

/* Up to n iterations of REP MOVS/STOS through host pointers; returns how
 * many were done (0: take the per-element path for the next one). */
static uint32_t rep_bulk(struct cpu *c, const struct insn *i, int k, int size, uint32_t si, uint32_t di, uint32_t n)
{
    const bool a32 = asize32(i), down = c->eflags & EFL_DF;
    uint8_t *d, *src = NULL;
    n = bulk_span(c, SEG_ES, di, n, size, down, a32, true, &d);
    if (n && k == S_MOVS)
        n = bulk_span(c, i->seg, si, n, size, down, a32, false, &src);
    if (!n)
        return 0;
    size_t bytes = (size_t)n * (size_t)size;
    if (k == S_STOS) {
        uint32_t v = acc_get(c, size);
        uint8_t *lo = down ? d - bytes + (size_t)size : d;
        if (size == 1) {
            memset(lo, (int)v, bytes);
            return n;
        }
        /* The first eight bytes of the pattern, then the filled part
         * copied after itself, doubling: every multiple of 8 is an element
         * boundary, so each copy, and the tail, continue the pattern (a
         * page takes nine block copies, not 512 eight-byte stores). */
        uint8_t p8[8];
        for (int e = 0; e < 8; e += size)
            if (size == 2)
                st16(p8 + e, (uint16_t)v);
            else
                st32(p8 + e, v);
        size_t o = bytes < 8 ? bytes : 8;
        memcpy(lo, p8, o);
        while (o < bytes) {
            size_t chunk = o < bytes - o ? o : bytes - o;
            memcpy(lo + o, lo, chunk);
            o += chunk;
        }
        return n;
    }
    /* MOVS: one block copy unless the destination overlaps the source
     * ahead of it in the direction of the copy. */
    if (!down && (d <= src || d >= src + bytes)) {
        memmove(d, src, bytes);
    } else if (down && (d >= src || d + (size_t)size <= src - bytes + (size_t)size)) {
        memmove(d - bytes + (size_t)size, src - bytes + (size_t)size, bytes);
    } else {
        ptrdiff_t st = down ? -size : size;
        for (uint32_t e = 0; e < n; e++) {
            uint8_t tmp[4];
            memcpy(tmp, src + st * (ptrdiff_t)e, (size_t)size);
            memcpy(d + st * (ptrdiff_t)e, tmp, (size_t)size);
        }
    }
    return n;
}

/* The index of the first byte where p and q (or p and the repeated
 * 8-byte pattern `pat`, when q is NULL) differ, or n: eight bytes at a
 * time, the differing byte found in the XOR of the first unequal words. */
static size_t first_diff(const uint8_t *p, const uint8_t *q, uint64_t pat, size_t n)
{
    size_t o = 0;
    for (; o + 8 <= n; o += 8) {
        uint64_t x, y = pat;
        memcpy(&x, p + o, 8);
        if (q)
            memcpy(&y, q + o, 8);
        if (x != y)
            return o + (size_t)__builtin_ctzll(x ^ y) / 8; /* little-endian: the lowest byte first */
    }
    for (; o < n; o++)
        if (p[o] != (q ? q[o] : (uint8_t)(pat >> 8 * (o & 7))))
            return o;
    return n;
}

static inline uint32_t ld_n(const uint8_t *p, int size)
{
    if (size == 1)
        return *p;
    if (size == 2)
        return ld16(p);
    return ld32(p);
}

/*
 * Up to n iterations of REPE/REPNE CMPS or SCAS through host pointers
 * (reads only, so nothing can fault once the spans are mapped). Returns
 * how many were done, the last one included when it ended the repeat
 * (*stop set); the flags are those of the last comparison. 0: take the
 * per-element path for the next one.
 */
static uint32_t rep_bulk_cmp(struct cpu *c, const struct insn *i, int k, int size, uint32_t si, uint32_t di,
                             uint32_t n, bool *stop)
{
    const bool a32 = asize32(i), down = c->eflags & EFL_DF, repe = i->pfx & P_REP;
    uint8_t *d, *src = NULL;
    n = bulk_span(c, SEG_ES, di, n, size, down, a32, false, &d);
    if (n && k == S_CMPS)
        n = bulk_span(c, i->seg, si, n, size, down, a32, false, &src);
    if (!n)
        return 0;
    const ptrdiff_t st = down ? -size : size;
    const uint32_t acc = acc_get(c, size);
    uint32_t a = 0, b = 0, e = 0;
    const uint64_t ones = size == 1 ? 0x0101010101010101ull : size == 2 ? 0x0001000100010001ull : 0x0000000100000001ull;
    if (!down && k == S_SCAS && !repe && size == 1) {
        /* REPNE SCASB forward (strlen, memchr): the host's memchr finds
         * the element that ends the repeat; the loop below compares it,
         * or the last element when there is none */
        const uint8_t *hit = memchr(d, (int)(acc & 0xff), n);
        e = hit ? (uint32_t)(hit - d) : n - 1;
    } else if (!down && repe) {
        /* REPE forward (memcmp, a run of one value): the first element
         * that differs ends the repeat; the loop below compares it (or the
         * last element, when none does), for its flags */
        size_t at = first_diff(d, k == S_CMPS ? src : NULL, acc * ones, (size_t)n * (size_t)size) / (size_t)size;
        e = at < n ? (uint32_t)at : n - 1;
    } else if (!down) {
        /* REPNE: skip eight bytes at a time while none of their elements
         * ends the repeat (none equal: the zero-element test on their
         * XOR); the loop below compares the rest, the last element always
         * (its flags are kept). */
        const uint32_t per = 8u / (uint32_t)size;
        const uint64_t tops = ones << (8 * size - 1), pat = acc * ones;
        while (e + per < n) {
            uint64_t x, y = pat;
            memcpy(&x, d + (size_t)e * (size_t)size, 8);
            if (k == S_CMPS)
                memcpy(&y, src + (size_t)e * (size_t)size, 8);
            x ^= y;
            if (((x - ones) & ~x & tops) != 0)
                break;
            e += per;
        }
    }
    while (e < n) {
        b = ld_n(d + st * (ptrdiff_t)e, size);
        a = k == S_CMPS ? ld_n(src + st * (ptrdiff_t)e, size) : acc;
        e++;
        if ((a == b) != repe)
            break;
    }
    *stop = (a == b) != repe;
    cmp_flags(c, a, b, size);
    return e;
}

/* `n` elements done in bulk: ESI (when the instruction reads a source),
 * EDI and the count move on, in registers and in the caller's copies. */
static inline void bulk_advance(struct cpu *c, bool uses_si, uint32_t n, uint32_t step, uint32_t amask, bool a32,
                                uint32_t *si, uint32_t *di, uint32_t *cx)
{
    if (uses_si) {
        *si = (*si + step * n) & amask;
        sreg_set(c, R_ESI, *si, a32);
    }
    *di = (*di + step * n) & amask;
    sreg_set(c, R_EDI, *di, a32);
    *cx = (*cx - n) & amask;
    sreg_set(c, R_ECX, *cx, a32);
}

/*
 * One string instruction of kind `k` and element size `size`. Written as
 * a single routine so each kind shares the REP machinery; `k` and `size`
 * are constants at every call site, so it specialises when inlined.
 */
static inline void string_op(struct cpu *c, const struct insn *i, int k, int size)
{
    const bool a32 = asize32(i);
    const bool rep = i->pfx & (P_REP | P_REPNE);
    const uint32_t step = (c->eflags & EFL_DF) ? (uint32_t)-size : (uint32_t)size;
    const uint32_t amask = a32 ? 0xffffffffu : 0xffffu;
    const bool uses_si = k == S_MOVS || k == S_CMPS || k == S_LODS || k == S_OUTS;
    const bool uses_di = k != S_LODS && k != S_OUTS;
    uint32_t si = sreg_get(c, R_ESI, a32), di = sreg_get(c, R_EDI, a32);
    uint32_t cx = rep ? sreg_get(c, R_ECX, a32) : 1;
    unsigned budget = (c->eflags & EFL_TF) ? 1 : REP_CHUNK;
    uint16_t port = (uint16_t)c->gpr[R_EDX];

    while (cx) {
        if (budget == 0) {
            c->eip = insn_eip(c, i); /* more to do: run this instruction again */
            return;
        }
        if (rep && (k == S_MOVS || k == S_STOS) && budget > 1) {
            uint32_t n = rep_bulk(c, i, k, size, si, di, cx < budget ? cx : budget);
            if (n) {
                budget -= n;
                bulk_advance(c, uses_si, n, step, amask, a32, &si, &di, &cx);
                continue;
            }
        }
        if (rep && (k == S_CMPS || k == S_SCAS) && budget > 1) {
            bool stop = false;
            uint32_t n = rep_bulk_cmp(c, i, k, size, si, di, cx < budget ? cx : budget, &stop);
            if (n) {
                budget -= n;
                bulk_advance(c, uses_si, n, step, amask, a32, &si, &di, &cx);
                if (stop)
                    return;
                continue;
            }
        }
        budget--;
        bool stop = false;
        switch (k) {
        case S_MOVS:
            wr_n(c, SEG_ES, di, size, rd_n(c, i->seg, si, size));
            break;
        case S_CMPS: {
            uint32_t a = rd_n(c, i->seg, si, size), b = rd_n(c, SEG_ES, di, size);
            cmp_flags(c, a, b, size);
            break;
        }
        case S_STOS:
            wr_n(c, SEG_ES, di, size, acc_get(c, size));
            break;
        case S_LODS:
            acc_set(c, size, rd_n(c, i->seg, si, size));
            break;
        case S_SCAS:
            cmp_flags(c, acc_get(c, size), rd_n(c, SEG_ES, di, size), size);
            break;
        case S_INS: {
            io_check(c, port, size);
            uint8_t *p = mem_rmw(c, SEG_ES, di, size);
            uint32_t v = io_in(c, port, size);
            if (size == 1)
                *p = (uint8_t)v;
            else if (size == 2)
                st16(p, (uint16_t)v);
            else
                st32(p, v);
            mem_rmw_done(c, p);
            break;
        }
        default: /* S_OUTS */
            io_check(c, port, size);
            io_out(c, port, size, rd_n(c, i->seg, si, size));
            break;
        }
        if (uses_si) {
            si = (si + step) & amask;
            sreg_set(c, R_ESI, si, a32);
        }
        if (uses_di) {
            di = (di + step) & amask;
            sreg_set(c, R_EDI, di, a32);
        }
        if (!rep)
            return;
        cx = (cx - 1) & amask;
        sreg_set(c, R_ECX, cx, a32);
        if (k == S_CMPS || k == S_SCAS)
            stop = (i->pfx & P_REP) ? !lf_zf(c) : lf_zf(c);
        if (stop)
            return;
    }
}

#define STRING_HANDLERS(name, k)                                                                                       \
    HANDLER(name##b) { string_op(c, i, k, 1); }                                                                        \
    HANDLER(name##v_16) { string_op(c, i, k, 2); }                                                                     \
    HANDLER(name##v_32) { string_op(c, i, k, 4); }

STRING_HANDLERS(movs, S_MOVS)
STRING_HANDLERS(cmps, S_CMPS)
STRING_HANDLERS(stos, S_STOS)
STRING_HANDLERS(lods, S_LODS)
STRING_HANDLERS(scas, S_SCAS)
STRING_HANDLERS(ins, S_INS)
STRING_HANDLERS(outs, S_OUTS)
