/*
 * The SDL2 window (see display_sdl.h). The VGA picture arrives at the
 * mode's own resolution; small modes (320x200, 360x400) are shown at twice
 * their size, and the window follows every mode change. The user may
 * resize the window: the picture is then scaled to fit, keeping its aspect
 * ratio, with nearest-neighbour sampling so text stays sharp.
 *
 * Input: keys go out as set-1 scan codes whenever the window has focus;
 * the mouse is only the guest's while grabbed (relative mode, pointer
 * hidden). A click grabs it; Ctrl+Alt+G releases it, and that G never
 * reaches the guest. Keys still held when the window loses focus are
 * released in the guest, so Alt+Tab leaves no stuck Alt behind.
 */
#include "frontends/display_sdl.h"

#include <SDL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/keymap_sdl.h"

#define TITLE "Kestrel"
#define TITLE_GRAB "Kestrel - Ctrl+Alt+G releases the mouse"
#define TITLE_FREE "Kestrel - click to grab the mouse"

struct display_sdl {
    struct vga *vga;
    struct display_input in;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    unsigned tex_w, tex_h;
    struct vga_frame frame;
    bool grabbed;
    bool present;         /* the window needs redrawing (new picture, exposed, resized) */
    bool swallow_g;       /* the G of Ctrl+Alt+G is down: drop its release too */
    uint8_t buttons;      /* guest's view of the mouse buttons */
    bool down[SDL_NUM_SCANCODES]; /* keys the guest saw pressed */
};

static void set_grab(struct display_sdl *d, bool on)
{
    d->grabbed = on;
    SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE);
    SDL_SetWindowGrab(d->win, on ? SDL_TRUE : SDL_FALSE);
    SDL_SetWindowTitle(d->win, on ? TITLE_GRAB : TITLE_FREE);
    if (!on && d->buttons && d->in.mouse) { /* the guest must not keep a button down */
        d->buttons = 0;
        d->in.mouse(d->in.ctx, 0, 0, 0, 0);
    }
}

struct display_sdl *display_sdl_open(struct vga *vga, const struct display_input *in, char *err, size_t errlen)
{
    /* SIGINT and SIGTERM stay kestrel's (the console frontend handles them). */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        snprintf(err, errlen, "cannot start SDL video: %s", SDL_GetError());
        return NULL;
    }
    struct display_sdl *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return NULL;
    }
    d->vga = vga;
    d->in = *in;
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
    d->win = SDL_CreateWindow(TITLE_FREE, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 640, 480,
                              SDL_WINDOW_RESIZABLE);
    if (d->win)
        d->ren = SDL_CreateRenderer(d->win, -1, 0);
    if (d->win && !d->ren) /* no accelerated renderer (or no GPU at all) */
        d->ren = SDL_CreateRenderer(d->win, -1, SDL_RENDERER_SOFTWARE);
    if (!d->win || !d->ren) {
        snprintf(err, errlen, "cannot open the window: %s", SDL_GetError());
        display_sdl_close(d);
        return NULL;
    }
    return d;
}

void display_sdl_close(struct display_sdl *d)
{
    if (!d)
        return;
    if (d->tex)
        SDL_DestroyTexture(d->tex);
    if (d->ren)
        SDL_DestroyRenderer(d->ren);
    if (d->win)
        SDL_DestroyWindow(d->win);
    vga_frame_free(&d->frame);
    free(d);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

bool display_sdl_grabbed(const struct display_sdl *d)
{
    return d->grabbed;
}

static void send_key(struct display_sdl *d, SDL_Scancode sc, bool down)
{
    bool ext;
    uint8_t code;
    if (!d->in.key || !keymap_sdl_to_set1(sc, &ext, &code))
        return;
    if (!down && !d->down[sc])
        return; /* its press went elsewhere (before focus, or swallowed) */
    d->down[sc] = down;
    d->in.key(d->in.ctx, ext, code, down);
}

static void release_all_keys(struct display_sdl *d)
{
    for (int sc = 0; sc < SDL_NUM_SCANCODES; sc++)
        if (d->down[sc])
            send_key(d, (SDL_Scancode)sc, false);
}

static void on_key(struct display_sdl *d, const SDL_KeyboardEvent *k)
{
    SDL_Scancode sc = k->keysym.scancode;
    bool down = k->type == SDL_KEYDOWN;
    if (sc == SDL_SCANCODE_G && down && (k->keysym.mod & KMOD_CTRL) && (k->keysym.mod & KMOD_ALT)) {
        if (d->grabbed)
            set_grab(d, false);
        d->swallow_g = true;
        return;
    }
    if (sc == SDL_SCANCODE_G && !down && d->swallow_g) {
        d->swallow_g = false;
        return;
    }
    send_key(d, sc, down); /* auto-repeat arrives as further presses, as a keyboard's typematic does */
}

static uint8_t button_bit(uint8_t sdl_button)
{
    switch (sdl_button) {
    case SDL_BUTTON_LEFT: return 1;
    case SDL_BUTTON_RIGHT: return 2;
    case SDL_BUTTON_MIDDLE: return 4;
    default: return 0;
    }
}

static bool handle_event(struct display_sdl *d, const SDL_Event *e)
{
    switch (e->type) {
    case SDL_QUIT:
        return false;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_CLOSE)
            return false;
        if (e->window.event == SDL_WINDOWEVENT_EXPOSED || e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
            d->present = true;
        if (e->window.event == SDL_WINDOWEVENT_FOCUS_LOST) {
            release_all_keys(d);
            if (d->grabbed)
                set_grab(d, false);
        }
        break;
    case SDL_KEYDOWN:
    case SDL_KEYUP:
        on_key(d, &e->key);
        break;
    case SDL_MOUSEBUTTONDOWN:
        if (!d->grabbed) { /* this click only takes the mouse */
            set_grab(d, true);
            break;
        }
        /* fall through */
    case SDL_MOUSEBUTTONUP:
        if (d->grabbed && d->in.mouse) {
            uint8_t bit = button_bit(e->button.button);
            uint8_t b = e->type == SDL_MOUSEBUTTONDOWN ? (d->buttons | bit) : (d->buttons & ~bit);
            if (b != d->buttons) {
                d->buttons = b;
                d->in.mouse(d->in.ctx, 0, 0, 0, b);
            }
        }
        break;
    case SDL_MOUSEMOTION:
        if (d->grabbed && d->in.mouse && (e->motion.xrel || e->motion.yrel))
            d->in.mouse(d->in.ctx, e->motion.xrel, -e->motion.yrel, 0, d->buttons);
        break;
    case SDL_MOUSEWHEEL:
        if (d->grabbed && d->in.mouse && e->wheel.y) {
            int y = e->wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? -e->wheel.y : e->wheel.y;
            d->in.mouse(d->in.ctx, 0, 0, -y, d->buttons); /* SDL: +y away from the user */
        }
        break;
    default:
        break;
    }
    return true;
}

/* New picture size: a texture to match, and the window resized to it. */
static bool resize(struct display_sdl *d, unsigned w, unsigned h)
{
    if (d->tex)
        SDL_DestroyTexture(d->tex);
    d->tex = SDL_CreateTexture(d->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING, (int)w, (int)h);
    if (!d->tex)
        return false;
    d->tex_w = w;
    d->tex_h = h;
    unsigned scale = w < 640 && h < 480 ? 2 : 1;
    SDL_SetWindowSize(d->win, (int)(w * scale), (int)(h * scale));
    SDL_RenderSetLogicalSize(d->ren, (int)w, (int)h);
    return true;
}

bool display_sdl_update(struct display_sdl *d, uint64_t now_ns)
{
    SDL_Event e;
    bool open = true;
    while (open && SDL_PollEvent(&e))
        open = handle_event(d, &e);
    if (!open)
        return false;
    int r = vga_render(d->vga, now_ns, &d->frame, d->tex == NULL);
    if (r == 1) {
        if ((d->frame.width != d->tex_w || d->frame.height != d->tex_h || !d->tex) &&
            !resize(d, d->frame.width, d->frame.height))
            return true; /* keep running headless rather than fail the guest */
        SDL_UpdateTexture(d->tex, NULL, d->frame.pixels, (int)(d->frame.width * sizeof(uint32_t)));
        d->present = true;
    }
    if (d->present && d->tex) {
        SDL_SetRenderDrawColor(d->ren, 0, 0, 0, 255);
        SDL_RenderClear(d->ren);
        SDL_RenderCopy(d->ren, d->tex, NULL, NULL);
        SDL_RenderPresent(d->ren);
        d->present = false;
    }
    return true;
}
