/*
 * The random sequence generator: seeded and deterministic, so a seed
 * printed by a failing run regenerates the very same sequence.
 */
#ifndef KESTREL_DIFF_GEN_H
#define KESTREL_DIFF_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/diff/seq.h"

/* Instruction families (bit numbers of gen_opts.families). */
enum gen_family {
    FAM_ALU, FAM_TEST, FAM_UNARY, FAM_MULDIV, FAM_SHIFT, FAM_BCD, FAM_BITOPS, FAM_MOV, FAM_LEA, FAM_XCHG,
    FAM_CMOVSET, FAM_ATOMIC, FAM_STRING, FAM_STACK, FAM_FLAGS, FAM_BRANCH, FAM_MISC,
    FAM_X87, FAM_X87TRANS, FAM_MMX, FAM_COUNT
};
extern const char *const gen_family_names[FAM_COUNT];
/* Everything but the x87 transcendentals (F2XM1 FYL2X FYL2XP1 FPATAN FSIN
 * FCOS FSINCOS FPTAN): Kestrel computes them within an ulp of the host, not
 * bit for bit (tests/unit/test_fpu_trans.c holds them to that). */
#define GEN_DEFAULT_FAMILIES (((1u << FAM_COUNT) - 1) & ~(1u << FAM_X87TRANS))

struct gen_opts {
    int min_groups, max_groups; /* instructions under test per sequence (with their setup) */
    uint32_t families;          /* bit mask of enum gen_family */
    bool all_ops;               /* also instructions whose handler is missing (they will #UD) */
    bool faults;                /* allow operands that fault (#DE, #GP, ...): the run ends there */
    bool no_page_cross;         /* never start the sequence just before a page boundary */
    bool no_icebp;              /* never ICEBP (F1): the host's report of its #DB is wrong (kdiff.c) */
    int code16_pct;             /* percent of sequences run in a 16-bit code segment */
    uint16_t sel_cs, sel_ds, sel_ss, sel_gs; /* the native runner's selectors (0: unknown, no far
                                                transfers or segment loads) */
};

void gen_sequence(struct seq *s, uint64_t seed, const struct gen_opts *o);

#endif
