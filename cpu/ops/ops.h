/*
 * What every instruction-handler file includes: CPU state, decoded record,
 * lazy flags, memory and stack access, and a few helpers about the
 * instruction being executed.
 *
 * Handler contract (see cpu/interp.c): a handler receives the decoded
 * instruction, must not commit architectural state before its last
 * possible fault, leaves EIP alone unless it transfers control (then it
 * writes cpu->eip), and calls cpu_stop(cpu) when it changes anything that the
 * rest of the block was decoded under (mode, CS, paging).
 */
#ifndef KESTREL_OPS_H
#define KESTREL_OPS_H

#include "cpu/cpu.h"
#include "cpu/block.h"
#include "cpu/flags.h"
#include "cpu/insn.h"
#include "cpu/mem.h"
#include "cpu/stack.h"

/* Many handlers need nothing from the decoded record: `i` may go unused. */
#define HANDLER(name) void name(struct cpu *c, const struct insn *i __attribute__((unused)))

/* EIP of the executing instruction, and of the one after it. */
static inline uint32_t insn_eip(const struct cpu *c, const struct insn *i)
{
    return c->blk->eip + i->off;
}
static inline uint32_t insn_next_eip(const struct cpu *c, const struct insn *i)
{
    uint32_t next = c->blk->eip + i->off + i->len;
    return (c->mode & MODE_CS32) ? next : (next & 0xffff);
}

static inline bool osize32(const struct insn *i) { return i->pfx & P_OSIZE32; }
static inline bool asize32(const struct insn *i) { return i->pfx & P_ASIZE32; }

/* Real mode or v86: no descriptor checks. */
static inline bool real_or_v86(const struct cpu *c)
{
    return !(c->cr0 & CR0_PE) || (c->eflags & EFL_VM);
}
static inline int iopl(const struct cpu *c) { return (c->eflags & EFL_IOPL) >> 12; }

#endif
