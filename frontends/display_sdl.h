/*
 * `--display sdl`: an SDL2 window showing the VGA picture, with keyboard
 * and mouse input forwarded to the board. SDL is initialised only when a
 * window is opened, so kestrel runs (and its tests pass) without a
 * display; SDL_VIDEODRIVER=dummy gives a headless window for tests.
 *
 * Single-threaded: the run loop calls display_sdl_update() about 60 times
 * a second of host time, from the thread that opened the window (SDL
 * wants its events pumped there).
 */
#ifndef KESTREL_DISPLAY_SDL_H
#define KESTREL_DISPLAY_SDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/vga.h"

/* Where input goes: the board's 8042 (i8042_key / i8042_mouse). */
struct display_input {
    /* A key in scan code set 1, extended = 0xE0-prefixed. */
    void (*key)(void *ctx, bool extended, uint8_t set1_code, bool down);
    /* Relative motion: dx right, dy up, dz wheel (+1 a notch toward the user);
     * buttons bit 0 left, 1 right, 2 middle. */
    void (*mouse)(void *ctx, int dx, int dy, int dz, uint8_t buttons);
    void *ctx;
};

struct display_sdl;

/* Open the window. Returns NULL with a message in err. */
struct display_sdl *display_sdl_open(struct vga *vga, const struct display_input *in, char *err, size_t errlen);

/* Handle pending events (input, grab, resize, close) and show the picture
 * if it changed. `now_ns` drives the cursor and text blink. Returns false
 * once the user closed the window. */
bool display_sdl_update(struct display_sdl *d, uint64_t now_ns);

/* Whether the mouse is grabbed (clicking grabs, Ctrl+Alt+G releases). */
bool display_sdl_grabbed(const struct display_sdl *d);

void display_sdl_close(struct display_sdl *d);

#endif
