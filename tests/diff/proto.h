/*
 * The contract shared by the two runners of a differential test: the
 * memory layout a test sequence runs in, and the messages the driver
 * (kdiff, 64-bit, linked with the emulator) exchanges with the native
 * runner (diff_native, a 32-bit Linux process) over a pipe.
 *
 * Both sides run the same bytes at the same linear addresses:
 *   CODE_ADDR  the sequence, then an INT3 (the end marker); the rest of the
 *              code page is INT3 too, so a runaway stops at once
 *   DATA_ADDR  the scratch data area: every memory operand, the stack
 *   DS, SS     flat user data segment (base 0), CS flat user code
 *   ES, FS     an LDT data segment with base DATA_ADDR and limit
 *              DATA_SIZE - 1, so that 16-bit addressing (which only reaches
 *              offsets below 64 KiB) can reach the data area, and so that
 *              string destinations and overrides see a non-zero base
 * at CPL 3 (or, with STATE_CODE16, in a 16-bit code segment at the same
 * place: EIP values are then offsets from CODE_ADDR). A sequence ends by an exception: INT3 at the end (vector 3),
 * or a fault on the way. The native runner sees it as a signal and reads
 * the state from the signal context; the emulator delivers it through an
 * IDT whose handlers are HLT at CPL 0 on a TSS stack, so the user stack in
 * the data area is never touched by the delivery.
 *
 * All fields are fixed-size and naturally aligned so that the 32-bit and
 * 64-bit compilers lay them out the same way (checked below).
 */
#ifndef KESTREL_DIFF_PROTO_H
#define KESTREL_DIFF_PROTO_H

#define CODE_ADDR 0x00100000
#define CODE_SIZE 0x00010000
#define DATA_ADDR 0x00200000
#define DATA_SIZE 0x00004000
/* The LDT selector loaded into ES and FS (LDT entry 0, RPL 3). */
#define LDT_SEL 0x0007
/* LDT entry 1: a 16-bit code segment based at CODE_ADDR (limit 0xffff).
 * A sequence with STATE_CODE16 runs there, from offset 0, so that its
 * default operand and address sizes are 16 bits. */
#define CODE16_SEL 0x000f

#ifndef __ASSEMBLER__
#include <stdint.h>

#define DIFF_MAGIC_HELLO 0x6b646948u /* "Hidk" */
#define DIFF_MAGIC_REQ 0x6b647152u
#define DIFF_MAGIC_RESP 0x6b647352u

/* Vectors beyond the architectural ones, for runs that did not end in an
 * exception the way they should. */
#define VEC_TIMEOUT 0x100  /* did not finish in time (native) / budget (emulator) */
#define VEC_SHUTDOWN 0x101 /* emulator: triple fault */
#define VEC_LOST 0x102     /* emulator: halted somewhere unexpected */

/* Register state at the start and at the end of a sequence. */
struct diff_state {
    uint32_t gpr[8];   /* EAX ECX EDX EBX ESP EBP ESI EDI */
    uint32_t eflags;
    uint32_t eip;      /* end: EIP of the exception (after INT3, at a fault) */
    uint32_t vector;   /* end: exception vector (3 for the end marker) or VEC_* */
    uint32_t errcode;  /* end: error code of the exception, 0 if none */
    uint16_t sreg[6];  /* ES CS SS DS FS GS selectors */
    uint32_t flags;    /* init: STATE_* */
};
#define STATE_CODE16 1u /* run in the 16-bit code segment CODE16_SEL */
_Static_assert(sizeof(struct diff_state) == 64, "diff_state layout must match on 32 and 64 bits");

/* Native runner -> driver, once at start: the user selectors it runs with,
 * and their access rights as LAR reports them (type, DPL, P, AVL, D/B, G),
 * so the emulator's descriptors match bit for bit. */
enum { LAR_CS, LAR_DS, LAR_GS, LAR_LDT_DATA, LAR_LDT_CODE16, LAR_COUNT };
struct diff_hello {
    uint32_t magic;
    uint16_t cs, ds, ss, gs;
    uint32_t lar[LAR_COUNT];
};

/* Driver -> native runner: header, then code_len bytes of code, then
 * DATA_SIZE bytes of initial data. */
struct diff_req {
    uint32_t magic;
    uint32_t code_len;
    struct diff_state init;
};

/* Native runner -> driver: header, then DATA_SIZE bytes of final data. */
struct diff_resp {
    uint32_t magic;
    uint32_t reserved;
    struct diff_state fin;
};

#endif /* __ASSEMBLER__ */

#endif
