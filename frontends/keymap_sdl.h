/* SDL scancodes to PC scan code set 1 (see keymap_sdl.c). */
#ifndef KESTREL_KEYMAP_SDL_H
#define KESTREL_KEYMAP_SDL_H

#include <stdbool.h>
#include <stdint.h>

/* The set-1 make code of an SDL_Scancode; false for keys a PC keyboard
 * does not have (and for Pause, whose E1 sequence has no make/break form). */
bool keymap_sdl_to_set1(int sdl_scancode, bool *extended, uint8_t *code);

#endif
