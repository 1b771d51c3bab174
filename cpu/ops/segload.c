/*
 * Far-pointer loads: LES, LDS, LSS, LFS, LGS Gv, Mp. The offset and the
 * selector are both read before the segment register is loaded (with the
 * checks of the current mode, cpu/seg.c), and the general register is
 * written last, so a fault at any step changes nothing.
 */
#include "cpu/ops/ops.h"
#include "cpu/seg.h"

static void load_far(struct cpu *c, const struct insn *i, int sreg, int size)
{
    uint32_t ea = insn_ea(c, i);
    uint32_t off = size == 4 ? mem_rd32(c, i->seg, ea) : mem_rd16(c, i->seg, ea);
    uint32_t ea2 = ea + (uint32_t)size;
    uint16_t sel = mem_rd16(c, i->seg, asize32(i) ? ea2 : (ea2 & 0xffff));
    seg_load(c, sreg, sel);
    if (size == 4)
        wr_reg32(c, i->reg, off);
    else
        wr_reg16(c, i->reg, (uint16_t)off);
}

HANDLER(les_16) { load_far(c, i, SEG_ES, 2); }
HANDLER(les_32) { load_far(c, i, SEG_ES, 4); }
HANDLER(lds_16) { load_far(c, i, SEG_DS, 2); }
HANDLER(lds_32) { load_far(c, i, SEG_DS, 4); }
HANDLER(lfs_16) { load_far(c, i, SEG_FS, 2); }
HANDLER(lfs_32) { load_far(c, i, SEG_FS, 4); }
HANDLER(lgs_16) { load_far(c, i, SEG_GS, 2); }
HANDLER(lgs_32) { load_far(c, i, SEG_GS, 4); }
/* LSS may change the stack size (SS.B) the block was decoded under. Unlike
 * MOV SS and POP SS it does not open an interrupt shadow. */
HANDLER(lss_16) { load_far(c, i, SEG_SS, 2); cpu_stop(c); }
HANDLER(lss_32) { load_far(c, i, SEG_SS, 4); cpu_stop(c); }
