/*
 * The opcode table's rows as data (op_info), the operand kinds (opk_info),
 * and the interpreter's dispatch table (op_handlers), all expanded from
 * cpu/opcodes.def and cpu/operands.def.
 *
 * Handlers are declared weak here so the table can list an instruction
 * before its handler exists (a 64-bit variant, say): a missing handler
 * leaves a NULL slot, which the block builder turns into a logged #UD, and
 * tests/unit/test_optable.c fails the build's test run if any 16/32-bit
 * slot is NULL. All handler objects are linked in whole (CMake object
 * library), so weak references always see the definitions that exist.
 */
#include <stdio.h>
#include <string.h>

#include "cpu/opcode.h"
#include "cpu/opcode_rows.h"

const struct opk_info opk_info[OPK_COUNT] = {
#define OPK(name, src, size) { #name, src, size },
#include "cpu/operands.def"
#undef OPK
};

const struct op_info op_info[OP_COUNT] = {
    [OP_INVALID] = { "INVALID", "(bad)", 0, 0, 0, 0, 0, { 0, 0, 0 }, 0, 0, 0, 0 },
#define OP(name, map, opc, ext, pfx, mn, o1, o2, o3, attr, fr, fw, fu, kind, stem)                                     \
    [OP_##name] = { #name, mn, map, opc, ext, pfx, KIND_##kind, { OPK_##o1, OPK_##o2, OPK_##o3 }, attr, fr, fw, fu },
#include "cpu/opcodes.def"
#undef OP
};

/* Weak declarations of every handler variant the table names. */
#define DECL_H1(s) extern insn_fn s __attribute__((weak));
#define DECL_HS(s) extern insn_fn s##_16 __attribute__((weak)), s##_32 __attribute__((weak)), s##_64 __attribute__((weak));
#define DECL_HRM(s) extern insn_fn s##_r __attribute__((weak)), s##_m __attribute__((weak));
#define DECL_HSRM(s)                                                                                                   \
    extern insn_fn s##_r16 __attribute__((weak)), s##_r32 __attribute__((weak)), s##_r64 __attribute__((weak)),         \
        s##_m16 __attribute__((weak)), s##_m32 __attribute__((weak)), s##_m64 __attribute__((weak));
#define OP(name, map, opc, ext, pfx, mn, o1, o2, o3, attr, fr, fw, fu, kind, stem) DECL_##kind(stem)
#include "cpu/opcodes.def"
#undef OP

#define VARS_H1(s) { s, s, s, s, s, s }
#define VARS_HS(s) { s##_16, s##_32, s##_64, s##_16, s##_32, s##_64 }
#define VARS_HRM(s) { s##_r, s##_r, s##_r, s##_m, s##_m, s##_m }
#define VARS_HSRM(s) { s##_r16, s##_r32, s##_r64, s##_m16, s##_m32, s##_m64 }

insn_fn *const op_handlers[OP_COUNT][VAR_COUNT] = {
    [OP_INVALID] = { 0 },
#define OP(name, map, opc, ext, pfx, mn, o1, o2, o3, attr, fr, fw, fu, kind, stem) [OP_##name] = VARS_##kind(stem),
#include "cpu/opcodes.def"
#undef OP
};

const char *op_mnemonic(enum op_id id, int osize32, int asize32, char *buf, unsigned len)
{
    const char *mn = op_info[id].mnemonic;
    const char *bar = strchr(mn, '|');
    if (!bar) {
        snprintf(buf, len, "%s", mn);
        return buf;
    }
    int second = (op_info[id].attr & A_ASZMN) ? asize32 : osize32;
    if (second)
        snprintf(buf, len, "%s", bar + 1);
    else
        snprintf(buf, len, "%.*s", (int)(bar - mn), mn);
    return buf;
}
