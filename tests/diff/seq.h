/*
 * A test sequence: the initial state, the initial data area, and a list of
 * items, each one instruction. Branches are kept symbolic (an item index as
 * target) and resolved by seq_assemble(), so that the shrinker can drop
 * items without re-encoding anything by hand.
 *
 * Items carry the EFLAGS bits they read, write and leave undefined (from
 * op_info[] of cpu/opcodes.def, refined by the generator where the operands
 * are known). seq_flow() runs a may-be-undefined dataflow over the control
 * flow graph: it yields the flags undefined at the end (masked by the
 * comparer) and the first item that reads a flag that may be undefined
 * (the generator and the shrinker reject such sequences, because the two
 * CPUs may legitimately differ after it).
 *
 * Items are grouped: a group is an instruction under test plus the setup
 * instructions it needs (a base register loaded so a memory operand lands
 * in the data area, a divisor that cannot raise #DE, ...) or the pieces of
 * a construct (CALL, JMP over, RET). The shrinker removes whole groups
 * first, then single items.
 */
#ifndef KESTREL_DIFF_SEQ_H
#define KESTREL_DIFF_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/diff/proto.h"

#define SEQ_MAX_ITEMS 512

/* How an item's bytes end. */
enum item_kind {
    IK_PLAIN, /* complete in b[] */
    IK_REL8,  /* b[] then an 8-bit displacement to the target item */
    IK_REL32, /* b[] then a 32-bit displacement to the target item */
    IK_ABS32, /* b[] then the absolute address of the target item, plus tofs */
    IK_GAP,   /* no instruction: b[0] | b[1] << 8 bytes of INT3 (to place code across a page) */
    IK_FAR32, /* b[] then the absolute address of the target item, then the selector farsel */
    IK_REL16, /* b[] then a 16-bit displacement (16-bit code) */
    IK_FAR16, /* b[] then the target's 16-bit offset, then farsel (16-bit code) */
};

/* How control leaves an item. */
enum item_flow {
    FL_NEXT, /* falls through */
    FL_COND, /* falls through or goes to target */
    FL_JUMP, /* goes to target only (JMP, CALL, RET: target is the return point) */
};

struct item {
    uint8_t b[15];
    uint8_t len;     /* bytes in b[] */
    uint8_t kind;    /* enum item_kind */
    uint8_t flow;    /* enum item_flow */
    uint8_t setup;   /* 1: helper, not the instruction under test */
    uint8_t depth;   /* nesting of the construct it sits in (for display) */
    int8_t tofs;     /* IK_ABS32: byte offset added to the target's address */
    uint8_t invalid; /* a deliberately invalid encoding (#UD): not checked with Capstone */
    uint8_t pinned;  /* part of the frame (FPU prologue/epilogue): the shrinker keeps it */
    uint16_t farsel; /* IK_FAR32/IK_FAR16: the selector after the address */
    uint8_t cs_rel;  /* IK_ABS32: the target's offset in CS, not its linear address */
    int16_t target;  /* item index (n: the end marker); -1 when unused */
    uint16_t group;
    uint16_t op;     /* enum op_id, 0 when none */
    uint32_t fread, fwrite, fundef; /* EFLAGS bits */
};

struct seq {
    int n;
    int fpu_off; /* data offset of the FRSTOR/FNSAVE area, -1 when the sequence has no x87/MMX */
    bool code16; /* runs in the 16-bit code segment (init.flags has STATE_CODE16) */
    struct diff_state init;
    uint8_t data[DATA_SIZE];
    struct item it[SEQ_MAX_ITEMS];
};

/* Bytes an item takes in the code (with its displacement or address). */
int seq_item_size(const struct item *it);

/* Encode into code[] (capacity cap), INT3 appended. Item start addresses
 * go to addr[] when not NULL (addr[n] is the INT3). Returns the length, or
 * -1 when a branch does not reach its target. */
int seq_assemble(const struct seq *s, uint8_t *code, uint32_t cap, uint32_t *addr);

struct seq_flow {
    uint32_t undef_end; /* arithmetic flags that may be undefined at the end */
    int bad_read;       /* first item reading a maybe-undefined flag, or -1 */
};
/* undef_in, when not NULL, receives for each item k (and k = n, the end)
 * the arithmetic flags that may be undefined when it starts. */
void seq_flow(const struct seq *s, struct seq_flow *f, uint32_t *undef_in);

/* Remove items [first, first + count), retargeting branches. */
void seq_remove(struct seq *s, int first, int count);
/* Remove every item of a group. */
void seq_remove_group(struct seq *s, uint16_t group);

#endif
