/*
 * Port I/O: IN and OUT, and the permission check they share with INS and
 * OUTS. In protected mode with CPL > IOPL, and always in v86 mode, every
 * port of the access must be allowed by the TSS I/O bitmap (a 32-bit TSS
 * is required; bitmap bits beyond the TSS limit deny).
 */
#include "cpu/ops/ops.h"
#include "cpu/ops/io.h"

void io_check(struct cpu *c, uint16_t port, int size)
{
    if (!(c->cr0 & CR0_PE))
        return;
    if (!(c->eflags & EFL_VM) && c->cpl <= iopl(c))
        return;
    const struct seg *tr = &c->seg[SEG_TR];
    int type = tr->attr & SA_TYPE;
    if ((type != 9 && type != 11) || tr->limit < 0x67)
        cpu_fault(c, EXC_GP, 0);
    uint32_t base = (uint16_t)mem_sys_read(c, (uint32_t)tr->base + 0x66, 2);
    uint32_t at = base + port / 8;
    if (at + 1 > tr->limit)
        cpu_fault(c, EXC_GP, 0);
    uint32_t bits = (uint32_t)mem_sys_read(c, (uint32_t)tr->base + at, 2);
    uint32_t mask = ((1u << size) - 1) << (port & 7);
    if (bits & mask)
        cpu_fault(c, EXC_GP, 0);
}

uint32_t io_in(struct cpu *c, uint16_t port, int size)
{
    uint32_t v = c->env.in ? c->env.in(c->env.ctx, port, size) : 0xffffffffu;
    if (size < 4)
        v &= (1u << (8 * size)) - 1;
    return v;
}

void io_out(struct cpu *c, uint16_t port, int size, uint32_t val)
{
    if (c->env.out)
        c->env.out(c->env.ctx, port, size, val);
}

HANDLER(in_ALIb) { io_check(c, (uint8_t)i->imm, 1); *reg8(c, 0) = (uint8_t)io_in(c, (uint8_t)i->imm, 1); }
HANDLER(in_eAXIb_16) { io_check(c, (uint8_t)i->imm, 2); wr_reg16(c, R_EAX, (uint16_t)io_in(c, (uint8_t)i->imm, 2)); }
HANDLER(in_eAXIb_32) { io_check(c, (uint8_t)i->imm, 4); wr_reg32(c, R_EAX, io_in(c, (uint8_t)i->imm, 4)); }
HANDLER(in_ALDX)
{
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    (void)i;
    io_check(c, port, 1);
    *reg8(c, 0) = (uint8_t)io_in(c, port, 1);
}
HANDLER(in_eAXDX_16)
{
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    (void)i;
    io_check(c, port, 2);
    wr_reg16(c, R_EAX, (uint16_t)io_in(c, port, 2));
}
HANDLER(in_eAXDX_32)
{
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    (void)i;
    io_check(c, port, 4);
    wr_reg32(c, R_EAX, io_in(c, port, 4));
}
HANDLER(out_IbAL) { io_check(c, (uint8_t)i->imm, 1); io_out(c, (uint8_t)i->imm, 1, (uint8_t)c->gpr[R_EAX]); }
HANDLER(out_IbeAX_16) { io_check(c, (uint8_t)i->imm, 2); io_out(c, (uint8_t)i->imm, 2, (uint16_t)c->gpr[R_EAX]); }
HANDLER(out_IbeAX_32) { io_check(c, (uint8_t)i->imm, 4); io_out(c, (uint8_t)i->imm, 4, (uint32_t)c->gpr[R_EAX]); }
HANDLER(out_DXAL)
{
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    (void)i;
    io_check(c, port, 1);
    io_out(c, port, 1, (uint8_t)c->gpr[R_EAX]);
}
HANDLER(out_DXeAX_16)
{
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    (void)i;
    io_check(c, port, 2);
    io_out(c, port, 2, (uint16_t)c->gpr[R_EAX]);
}
HANDLER(out_DXeAX_32)
{
    uint16_t port = (uint16_t)c->gpr[R_EDX];
    (void)i;
    io_check(c, port, 4);
    io_out(c, port, 4, (uint32_t)c->gpr[R_EAX]);
}
