/*
 * Memory phase: walks over an 8 MiB array (2048 pages: the whole reach
 * of Kestrel's direct-mapped 2048-entry soft TLB, shared with everything
 * else the phase touches, and more than a typical host STLB; the TLB had
 * 512 entries when this was written), sequentially and with a
 * page-crossing stride; a quicksort of
 * 64 Ki words; and pointer chasing through a random single-cycle
 * permutation of 4 MiB, where nearly every load misses every cache and
 * TLB the emulator or the host has.
 */
#include "workload.h"

#define BIG_WORDS (2u << 20)   /* 8 MiB of uint32_t */
#define CHASE_NODES (1u << 20) /* 4 MiB of next indices */
#define SORT_WORDS (64u << 10)

static uint32_t big[BIG_WORDS];
static uint32_t sortbuf[SORT_WORDS];

static uint32_t part_walk(unsigned passes)
{
    uint32_t h = 0;
    for (uint32_t k = 0; k < BIG_WORDS; k++)
        big[k] = k * 2654435761u;
    for (unsigned p = 0; p < passes; p++) {
        /* Sequential read-modify-write: the streaming case. */
        uint32_t acc = p;
        for (uint32_t k = 0; k < BIG_WORDS; k += 4) {
            acc += big[k] ^ big[k + 3];
            big[k + 1] += acc;
        }
        h = mix32(h, acc);
        /* A stride of a page plus a cache line: a new page on every
         * access, 2048 pages per sweep, sixteen sweeps at shifted offsets. */
        for (uint32_t off = 0; off < 16; off++) {
            uint32_t a = 0;
            for (uint32_t k = off * 16 + p; k < BIG_WORDS; k += 1024 + 16)
                a = (a << 1 | a >> 31) ^ big[k];
            h = mix32(h, a);
        }
    }
    return h;
}

static void swap32(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

/* Quicksort with median-of-three pivots, insertion sort below 16
 * elements, recursing on the smaller side so the stack stays shallow. */
static void qsort32(uint32_t *a, int lo, int hi)
{
    while (hi - lo > 16) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap32(&a[mid], &a[lo]);
        if (a[hi] < a[lo])
            swap32(&a[hi], &a[lo]);
        if (a[hi] < a[mid])
            swap32(&a[hi], &a[mid]);
        uint32_t pivot = a[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j)
                swap32(&a[i++], &a[j--]);
        }
        if (j - lo < hi - i) {
            qsort32(a, lo, j);
            lo = i;
        } else {
            qsort32(a, i, hi);
            hi = j;
        }
    }
    for (int i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        int j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static uint32_t part_sort(unsigned rounds)
{
    uint32_t s = 0x7b1d3a55u, h = 0;
    for (unsigned r = 0; r < rounds; r++) {
        for (uint32_t k = 0; k < SORT_WORDS; k++)
            sortbuf[k] = xorshift32(&s) >> (r & 7);
        qsort32(sortbuf, 0, SORT_WORDS - 1);
        uint32_t bad = 0;
        for (uint32_t k = 1; k < SORT_WORDS; k++)
            bad += sortbuf[k - 1] > sortbuf[k];
        h = mix32(h, bad);
        for (uint32_t k = 0; k < SORT_WORDS; k += 257)
            h = mix32(h, sortbuf[k]);
    }
    return h;
}

static uint32_t part_chase(uint32_t nodes, unsigned steps)
{
    uint32_t *next = big, s = 0x0badc0deu;
    /* Sattolo's algorithm: a random permutation that is one cycle (the
     * index is scaled with a multiply, not reduced with a divide). */
    for (uint32_t k = 0; k < nodes; k++)
        next[k] = k;
    for (uint32_t k = nodes - 1; k > 0; k--)
        swap32(&next[k], &next[(uint32_t)(((uint64_t)xorshift32(&s) * k) >> 32)]);
    uint32_t p = 0, h = 0;
    for (unsigned k = 0; k < steps; k++) {
        p = next[p];
        h += p;
    }
    return mix32(h, p);
}

uint32_t phase_mem(unsigned scale)
{
    uint32_t h = 0;
    h = mix32(h, part_walk((scale + 1) / 2));
    h = mix32(h, part_sort(scale / 4 + 1));
    /* Small scales (the smoke test) chase through 512 KiB, not 4 MiB. */
    h = mix32(h, part_chase(scale >= 8 ? CHASE_NODES : CHASE_NODES / 8, scale * 400000));
    return h;
}
