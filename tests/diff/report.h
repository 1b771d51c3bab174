/*
 * Comparing the two end states of a sequence and printing divergences:
 * the sequence disassembled by Capstone, both states side by side, and
 * the bytes of the data area that differ.
 */
#ifndef KESTREL_DIFF_REPORT_H
#define KESTREL_DIFF_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <capstone/capstone.h>

#include "tests/diff/seq.h"

/* What a runner reports. */
struct run {
    struct diff_state fin;
    uint8_t data[DATA_SIZE];
};

/* EFLAGS bits compared (CF PF AF ZF SF TF IF DF OF IOPL NT AC ID); the
 * arithmetic ones the sequence leaves undefined are masked on top. */
#define CMP_EFLAGS 0x00247fd5u

struct cmp {
    uint32_t flag_mask;  /* EFLAGS bits compared */
    uint32_t gpr_diff;   /* bit per register */
    uint32_t sreg_diff;  /* bit per segment register */
    bool eflags_diff, vec_diff, eip_diff, err_diff;
    int data_diffs;      /* bytes of the data area that differ */
    int fault_item;      /* item the native run ended at (n: the end marker), -1 if none */
};

/* Compare; true when the two runs agree. addr[] from seq_assemble(). */
bool cmp_runs(const struct seq *s, const uint32_t *addr, const struct run *nat, const struct run *emu,
              struct cmp *c);

/* Disassemble the sequence (one line per item, '.' marks setup items,
 * '>' the item the native run stopped at). cs must match s->code16. */
void print_seq(FILE *f, csh cs, const struct seq *s, const uint8_t *code, const uint32_t *addr, int mark);

/* The initial state, both end states and what differs. */
void print_states(FILE *f, const struct seq *s, const struct run *nat, const struct run *emu, const struct cmp *c);

/* Name of an exception vector ("#DE", "#BP", "timeout", ...). */
const char *vec_name(uint32_t v);

/* A Capstone handle for 32-bit (or 16-bit) x86 code (false when Capstone fails). */
bool report_open(csh *cs, int mode16);

/* Capstone check of the encoding: every item decodes to exactly its own
 * length. Returns the first item that does not, or -1. */
int check_encoding(csh cs, const struct seq *s, const uint8_t *code, const uint32_t *addr);

#endif
