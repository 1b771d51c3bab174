/*
 * Lookup maps generated from cpu/opcodes.def by cpu/gen_decode.c.
 * Read-only data; the walk is in cpu/decode.c.
 */
#ifndef KESTREL_DECODE_TABLES_H
#define KESTREL_DECODE_TABLES_H

#include <stdint.h>

#define DEC_GROUP 0x8000u

struct dec_group {
    uint16_t mem[8];    /* mod != 3, by ModRM.reg */
    uint16_t reg[8];    /* mod == 3, by ModRM.reg */
    uint16_t exact[64]; /* mod == 3, by reg * 8 + rm; 0 falls back to reg[] */
};

/* [mandatory prefix: none, 66, F3, F2][map: one-byte, 0F][opcode] */
extern const uint16_t dec_map[4][2][256];
extern const struct dec_group dec_group[];

#endif
