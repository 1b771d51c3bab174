/*
 * Execution traces for --log in_asm (each decoded block's guest code as it
 * is built, disassembled by Capstone, an independent decoder) and --log exec
 * (each block as it starts running). Only reached when a log bit is set.
 */
#include "cpu/trace.h"

#include <capstone/capstone.h>
#include <stdio.h>

#include "cpu/block.h"
#include "cpu/mem.h"

void trace_block_built(struct cpu *c, const struct block *b, const uint8_t *code)
{
    csh h;
    cs_mode mode = (b->mode & MODE_CS32) ? CS_MODE_32 : CS_MODE_16;
    if (cs_open(CS_ARCH_X86, mode, &h) != CS_ERR_OK) {
        cpu_logf(c, "in_asm: capstone unavailable");
        return;
    }
    cpu_logf(c, "in_asm: block %04x:%08x phys %#llx, %u insns, mode %#x", c->seg[SEG_CS].sel, b->eip,
             (unsigned long long)b->paddr, b->n, b->mode);
    for (unsigned k = 0; k < b->n; k++) {
        const struct insn *i = &b->insn[k];
        cs_insn *ci;
        size_t n = cs_disasm(h, code + i->off, i->len, b->eip + i->off, 1, &ci);
        char bytes[48] = "";
        for (unsigned j = 0, p = 0; j < i->len && p + 3 < sizeof(bytes); j++)
            p += (unsigned)snprintf(bytes + p, sizeof(bytes) - p, "%02x", code[i->off + j]);
        if (n == 1) {
            cpu_logf(c, "  %08x  %-30s %s %s", b->eip + i->off, bytes, ci->mnemonic, ci->op_str);
            cs_free(ci, n);
        } else {
            cpu_logf(c, "  %08x  %-30s (%s)", b->eip + i->off, bytes, op_info[i->id].name);
        }
    }
    cs_close(&h);
}

void trace_block_exec(struct cpu *c, const struct block *b)
{
    cpu_logf(c, "exec: %04x:%08x eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x esp=%08x fl=%08x",
             c->seg[SEG_CS].sel, b->eip, (uint32_t)c->gpr[R_EAX], (uint32_t)c->gpr[R_EBX],
             (uint32_t)c->gpr[R_ECX], (uint32_t)c->gpr[R_EDX], (uint32_t)c->gpr[R_ESI], (uint32_t)c->gpr[R_EDI],
             (uint32_t)c->gpr[R_EBP], (uint32_t)c->gpr[R_ESP], cpu_get_eflags(c));
}
