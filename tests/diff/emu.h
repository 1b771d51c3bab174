/*
 * The emulator side of a differential test: runs a sequence on Kestrel's
 * interpreter in the memory layout of proto.h and reports the same state
 * the native runner does.
 */
#ifndef KESTREL_DIFF_EMU_H
#define KESTREL_DIFF_EMU_H

#include "tests/diff/proto.h"

struct emu;

/* Build a machine whose user selectors match the native runner's. NULL on error. */
struct emu *emu_new(const struct diff_hello *sel);
void emu_free(struct emu *e);

/* Run code[0..len) (which ends in INT3) from state `init` with data area
 * `data` (DATA_SIZE bytes, replaced by the final contents); `fin` receives
 * the state at the exception that ended the run. `max_block` caps the
 * decoded block length (0: the interpreter's default). */
void emu_run(struct emu *e, const uint8_t *code, uint32_t len, const struct diff_state *init, uint8_t *data,
             struct diff_state *fin, int max_block);

#endif
