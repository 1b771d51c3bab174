/*
 * The display frontends: the PNG encoder (decoded back here with zlib,
 * chunk CRCs checked, the five PNG filter types undone per the PNG
 * specification), screenshots of a rendered VGA mode, the SDL key map
 * (checked against Linux's input keycodes, which for keys 1-88 are the set-1
 * make codes of an AT keyboard), and the SDL window itself on SDL's
 * headless "dummy" video driver with synthetic input events.
 */
#include <SDL.h>
#include <check.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "devices/vga.h"
#include "frontends/display_sdl.h"
#include "frontends/keymap_sdl.h"
#include "frontends/png.h"
#include "frontends/screenshot.h"
#include "tests/common/check_run.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode an 8-bit RGB PNG into XRGB pixels; fails the test on any defect. */
static uint32_t *png_decode(const uint8_t *png, size_t len, unsigned *w, unsigned *h)
{
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    ck_assert_uint_ge(len, 8);
    ck_assert_mem_eq(png, sig, 8);
    size_t pos = 8, zlen = 0;
    uint8_t *z = NULL;
    bool ihdr = false, iend = false;
    while (pos + 12 <= len && !iend) {
        uint32_t n = be32(png + pos);
        ck_assert_uint_le(pos + 12 + n, len);
        const uint8_t *type = png + pos + 4, *data = png + pos + 8;
        ck_assert_uint_eq(be32(data + n), (uint32_t)crc32(0, type, n + 4));
        if (!memcmp(type, "IHDR", 4)) {
            ck_assert_uint_eq(n, 13);
            *w = be32(data);
            *h = be32(data + 4);
            ck_assert_uint_eq(data[8], 8);  /* bit depth */
            ck_assert_uint_eq(data[9], 2);  /* RGB */
            ck_assert_uint_eq(data[10], 0);
            ck_assert_uint_eq(data[11], 0);
            ck_assert_uint_eq(data[12], 0); /* no interlace */
            ihdr = true;
        } else if (!memcmp(type, "IDAT", 4)) {
            ck_assert(ihdr);
            z = realloc(z, zlen + n);
            memcpy(z + zlen, data, n);
            zlen += n;
        } else if (!memcmp(type, "IEND", 4)) {
            iend = true;
        }
        pos += 12 + n;
    }
    ck_assert(ihdr && iend);
    ck_assert_uint_eq(pos, len);
    size_t row = (size_t)*w * 3 + 1;
    uLongf raw_len = (uLongf)(row * *h);
    uint8_t *raw = malloc(raw_len);
    ck_assert_int_eq(uncompress(raw, &raw_len, z, (uLong)zlen), Z_OK);
    ck_assert_uint_eq(raw_len, row * *h);
    free(z);
    uint32_t *px = malloc(sizeof(uint32_t) * *w * *h);
    for (unsigned y = 0; y < *h; y++) {
        uint8_t *r = raw + y * row + 1, *up = y ? raw + (y - 1) * row + 1 : NULL;
        unsigned f = r[-1];
        ck_assert_uint_le(f, 4);
        for (size_t i = 0; i < row - 1; i++) {
            int a = i >= 3 ? r[i - 3] : 0, b = up ? up[i] : 0, c = up && i >= 3 ? up[i - 3] : 0;
            int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
            r[i] = (uint8_t)(r[i] + pred);
        }
        for (unsigned x = 0; x < *w; x++)
            px[y * *w + x] = (uint32_t)r[3 * x] << 16 | (uint32_t)r[3 * x + 1] << 8 | r[3 * x + 2];
    }
    free(raw);
    return px;
}

START_TEST(png_roundtrip)
{
    const unsigned w = 37, h = 11;
    uint32_t img[37 * 11];
    for (unsigned i = 0; i < w * h; i++)
        img[i] = (i * 2654435761u) & 0xffffff; /* noise: every byte value, no runs */
    for (unsigned x = 0; x < w; x++)
        img[5 * w + x] = 0x102030; /* and a flat row */
    uint8_t *png;
    size_t len;
    ck_assert_int_eq(png_encode(img, w, h, w, &png, &len), 0);
    unsigned dw, dh;
    uint32_t *back = png_decode(png, len, &dw, &dh);
    ck_assert_uint_eq(dw, w);
    ck_assert_uint_eq(dh, h);
    ck_assert_mem_eq(back, img, sizeof(img));
    free(back);
    free(png);
    /* A sub-rectangle through the stride. */
    ck_assert_int_eq(png_encode(img + 2 * w + 3, 5, 4, w, &png, &len), 0);
    back = png_decode(png, len, &dw, &dh);
    ck_assert_uint_eq(dw, 5);
    for (unsigned y = 0; y < 4; y++)
        ck_assert_mem_eq(back + y * 5, img + (2 + y) * w + 3, 5 * sizeof(uint32_t));
    free(back);
    free(png);
    ck_assert_int_eq(png_encode(img, 0, 1, 0, &png, &len), -EINVAL);
}
END_TEST

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert(f != NULL);
    static uint8_t buf[1 << 20];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

/* A VBE 32-bpp mode with a few pixels: what the screenshot must show. */
static void vbe_picture(struct vga *v)
{
    vga_dispi_set(v, VBE_DISPI_INDEX_XRES, 64);
    vga_dispi_set(v, VBE_DISPI_INDEX_YRES, 48);
    vga_dispi_set(v, VBE_DISPI_INDEX_BPP, 32);
    vga_dispi_set(v, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    vga_port_write8(v, 0x3c0, 0x20);
    for (unsigned y = 0; y < 48; y++)
        for (unsigned x = 0; x < 64; x++) {
            uint32_t c = (x * 4) << 16 | (y * 5) << 8 | ((x ^ y) & 0xff);
            memcpy(v->vram + (y * 64 + x) * 4, &c, 4);
        }
}

START_TEST(screenshot_file)
{
    struct vga v;
    ck_assert_int_eq(vga_init(&v), 0);
    vbe_picture(&v);
    char path[] = "/tmp/kestrel-shot-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char err[256];
    ck_assert_int_eq(screenshot_png(&v, 0, path, err, sizeof(err)), 0);
    size_t len;
    uint8_t *png = read_all(path, &len);
    unsigned w, h;
    uint32_t *px = png_decode(png, len, &w, &h);
    ck_assert_uint_eq(w, 64);
    ck_assert_uint_eq(h, 48);
    for (unsigned y = 0; y < 48; y++)
        for (unsigned x = 0; x < 64; x++)
            ck_assert_uint_eq(px[y * 64 + x], (x * 4) << 16 | (y * 5) << 8 | ((x ^ y) & 0xff));
    free(px);
    unlink(path);
    ck_assert_int_eq(screenshot_png(&v, 0, "/nonexistent-dir/x.png", err, sizeof(err)), -1);
    ck_assert(strstr(err, "/nonexistent-dir/x.png") != NULL);
    vga_free(&v);
}
END_TEST

START_TEST(frames_independent)
{
    /* A screenshot between two window refreshes must not make the window
     * miss a change: each frame knows which picture it holds. */
    struct vga v;
    ck_assert_int_eq(vga_init(&v), 0);
    vbe_picture(&v);
    struct vga_frame win = { 0 }, shot = { 0 };
    ck_assert_int_eq(vga_render(&v, 0, &win, false), 1);
    ck_assert_int_eq(vga_render(&v, 0, &win, false), 0);
    vga_port_write8(&v, 0x3c8, 0); /* a change */
    ck_assert_int_eq(vga_render(&v, 0, &shot, false), 1);
    ck_assert_int_eq(vga_render(&v, 0, &win, false), 1);
    ck_assert_int_eq(vga_render(&v, 0, &win, false), 0);
    ck_assert_int_eq(vga_render(&v, 0, &shot, false), 0);
    vga_frame_free(&win);
    vga_frame_free(&shot);
    vga_free(&v);
}
END_TEST

START_TEST(keymap_set1)
{
    /* Linux keycodes 1-88 are the AT keyboard's set-1 make codes. */
    static const struct { int sdl, linux_key; } same[] = {
        { SDL_SCANCODE_ESCAPE, KEY_ESC }, { SDL_SCANCODE_1, KEY_1 }, { SDL_SCANCODE_0, KEY_0 },
        { SDL_SCANCODE_MINUS, KEY_MINUS }, { SDL_SCANCODE_EQUALS, KEY_EQUAL }, { SDL_SCANCODE_BACKSPACE, KEY_BACKSPACE },
        { SDL_SCANCODE_TAB, KEY_TAB }, { SDL_SCANCODE_Q, KEY_Q }, { SDL_SCANCODE_P, KEY_P },
        { SDL_SCANCODE_LEFTBRACKET, KEY_LEFTBRACE }, { SDL_SCANCODE_RIGHTBRACKET, KEY_RIGHTBRACE },
        { SDL_SCANCODE_RETURN, KEY_ENTER }, { SDL_SCANCODE_LCTRL, KEY_LEFTCTRL }, { SDL_SCANCODE_A, KEY_A },
        { SDL_SCANCODE_L, KEY_L }, { SDL_SCANCODE_SEMICOLON, KEY_SEMICOLON }, { SDL_SCANCODE_APOSTROPHE, KEY_APOSTROPHE },
        { SDL_SCANCODE_GRAVE, KEY_GRAVE }, { SDL_SCANCODE_LSHIFT, KEY_LEFTSHIFT }, { SDL_SCANCODE_BACKSLASH, KEY_BACKSLASH },
        { SDL_SCANCODE_Z, KEY_Z }, { SDL_SCANCODE_M, KEY_M }, { SDL_SCANCODE_COMMA, KEY_COMMA },
        { SDL_SCANCODE_PERIOD, KEY_DOT }, { SDL_SCANCODE_SLASH, KEY_SLASH }, { SDL_SCANCODE_RSHIFT, KEY_RIGHTSHIFT },
        { SDL_SCANCODE_KP_MULTIPLY, KEY_KPASTERISK }, { SDL_SCANCODE_LALT, KEY_LEFTALT }, { SDL_SCANCODE_SPACE, KEY_SPACE },
        { SDL_SCANCODE_CAPSLOCK, KEY_CAPSLOCK }, { SDL_SCANCODE_F1, KEY_F1 }, { SDL_SCANCODE_F10, KEY_F10 },
        { SDL_SCANCODE_NUMLOCKCLEAR, KEY_NUMLOCK }, { SDL_SCANCODE_SCROLLLOCK, KEY_SCROLLLOCK },
        { SDL_SCANCODE_KP_7, KEY_KP7 }, { SDL_SCANCODE_KP_MINUS, KEY_KPMINUS }, { SDL_SCANCODE_KP_5, KEY_KP5 },
        { SDL_SCANCODE_KP_PLUS, KEY_KPPLUS }, { SDL_SCANCODE_KP_3, KEY_KP3 }, { SDL_SCANCODE_KP_0, KEY_KP0 },
        { SDL_SCANCODE_KP_PERIOD, KEY_KPDOT }, { SDL_SCANCODE_NONUSBACKSLASH, KEY_102ND },
        { SDL_SCANCODE_F11, KEY_F11 }, { SDL_SCANCODE_F12, KEY_F12 },
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        bool ext = true;
        uint8_t code = 0;
        ck_assert(keymap_sdl_to_set1(same[i].sdl, &ext, &code));
        ck_assert(!ext);
        ck_assert_uint_eq(code, same[i].linux_key);
    }
    /* The E0-prefixed keys of the 101/104-key board (Microsoft's keyboard scan code specification). */
    static const struct { int sdl; uint8_t code; } ext[] = {
        { SDL_SCANCODE_KP_ENTER, 0x1c }, { SDL_SCANCODE_RCTRL, 0x1d }, { SDL_SCANCODE_KP_DIVIDE, 0x35 },
        { SDL_SCANCODE_RALT, 0x38 }, { SDL_SCANCODE_HOME, 0x47 }, { SDL_SCANCODE_UP, 0x48 },
        { SDL_SCANCODE_PAGEUP, 0x49 }, { SDL_SCANCODE_LEFT, 0x4b }, { SDL_SCANCODE_RIGHT, 0x4d },
        { SDL_SCANCODE_END, 0x4f }, { SDL_SCANCODE_DOWN, 0x50 }, { SDL_SCANCODE_PAGEDOWN, 0x51 },
        { SDL_SCANCODE_INSERT, 0x52 }, { SDL_SCANCODE_DELETE, 0x53 }, { SDL_SCANCODE_LGUI, 0x5b },
        { SDL_SCANCODE_RGUI, 0x5c }, { SDL_SCANCODE_APPLICATION, 0x5d },
    };
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        bool e = false;
        uint8_t code = 0;
        ck_assert(keymap_sdl_to_set1(ext[i].sdl, &e, &code));
        ck_assert(e);
        ck_assert_uint_eq(code, ext[i].code);
    }
    bool e;
    uint8_t code;
    ck_assert(!keymap_sdl_to_set1(SDL_SCANCODE_UNKNOWN, &e, &code));
    ck_assert(!keymap_sdl_to_set1(-1, &e, &code));
    ck_assert(!keymap_sdl_to_set1(SDL_NUM_SCANCODES, &e, &code));
}
END_TEST

/* ---- The window, on SDL's dummy video driver ---- */

static struct { bool ext; uint8_t code; bool down; } keys[32];
static int nkeys;
static struct { int dx, dy, dz; uint8_t b; } moves[32];
static int nmoves;

static void on_key(void *ctx, bool ext, uint8_t code, bool down)
{
    (void)ctx;
    if (nkeys < 32) {
        keys[nkeys].ext = ext;
        keys[nkeys].code = code;
        keys[nkeys].down = down;
        nkeys++;
    }
}

static void on_mouse(void *ctx, int dx, int dy, int dz, uint8_t b)
{
    (void)ctx;
    if (nmoves < 32) {
        moves[nmoves].dx = dx;
        moves[nmoves].dy = dy;
        moves[nmoves].dz = dz;
        moves[nmoves].b = b;
        nmoves++;
    }
}

static void push_key(SDL_Scancode sc, bool down, Uint16 mod)
{
    SDL_Event e = { 0 };
    e.type = down ? SDL_KEYDOWN : SDL_KEYUP;
    e.key.state = down ? SDL_PRESSED : SDL_RELEASED;
    e.key.keysym.scancode = sc;
    e.key.keysym.mod = mod;
    ck_assert_int_eq(SDL_PushEvent(&e), 1);
}

static void push_button(Uint8 button, bool down)
{
    SDL_Event e = { 0 };
    e.type = down ? SDL_MOUSEBUTTONDOWN : SDL_MOUSEBUTTONUP;
    e.button.button = button;
    e.button.state = down ? SDL_PRESSED : SDL_RELEASED;
    ck_assert_int_eq(SDL_PushEvent(&e), 1);
}

START_TEST(sdl_window)
{
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    struct vga v;
    ck_assert_int_eq(vga_init(&v), 0);
    vbe_picture(&v);
    struct display_input in = { on_key, on_mouse, NULL };
    char err[256];
    struct display_sdl *d = display_sdl_open(&v, &in, err, sizeof(err));
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert(display_sdl_update(d, 0));

    /* Keys: A, then right Ctrl (extended), with their releases. */
    nkeys = 0;
    push_key(SDL_SCANCODE_A, true, 0);
    push_key(SDL_SCANCODE_A, false, 0);
    push_key(SDL_SCANCODE_RCTRL, true, 0);
    push_key(SDL_SCANCODE_RCTRL, false, 0);
    ck_assert(display_sdl_update(d, 0));
    ck_assert_int_eq(nkeys, 4);
    ck_assert(!keys[0].ext && keys[0].code == 0x1e && keys[0].down);
    ck_assert(!keys[1].ext && keys[1].code == 0x1e && !keys[1].down);
    ck_assert(keys[2].ext && keys[2].code == 0x1d && keys[2].down);
    ck_assert(keys[3].ext && !keys[3].down);

    /* The mouse is not the guest's until a click grabs it; that click stays ours. */
    nmoves = 0;
    ck_assert(!display_sdl_grabbed(d));
    push_button(SDL_BUTTON_LEFT, true);
    push_button(SDL_BUTTON_LEFT, false);
    ck_assert(display_sdl_update(d, 0));
    ck_assert(display_sdl_grabbed(d));
    ck_assert_int_eq(nmoves, 0);
    push_button(SDL_BUTTON_RIGHT, true);
    SDL_Event e = { 0 };
    e.type = SDL_MOUSEMOTION;
    e.motion.xrel = 5;
    e.motion.yrel = 3; /* SDL: down; PS/2: up is positive */
    SDL_PushEvent(&e);
    memset(&e, 0, sizeof(e));
    e.type = SDL_MOUSEWHEEL;
    e.wheel.y = 1; /* away from the user */
    SDL_PushEvent(&e);
    push_button(SDL_BUTTON_RIGHT, false);
    ck_assert(display_sdl_update(d, 0));
    ck_assert_int_eq(nmoves, 4);
    ck_assert_uint_eq(moves[0].b, 2);
    ck_assert(moves[1].dx == 5 && moves[1].dy == -3 && moves[1].b == 2);
    ck_assert(moves[2].dz == -1);
    ck_assert_uint_eq(moves[3].b, 0);

    /* Ctrl+Alt+G releases the mouse; the guest sees Ctrl and Alt but never that G. */
    nkeys = 0;
    push_key(SDL_SCANCODE_LCTRL, true, KMOD_LCTRL);
    push_key(SDL_SCANCODE_LALT, true, KMOD_LCTRL | KMOD_LALT);
    push_key(SDL_SCANCODE_G, true, KMOD_LCTRL | KMOD_LALT);
    push_key(SDL_SCANCODE_G, false, KMOD_LCTRL | KMOD_LALT);
    ck_assert(display_sdl_update(d, 0));
    ck_assert(!display_sdl_grabbed(d));
    ck_assert_int_eq(nkeys, 2);
    ck_assert_uint_eq(keys[0].code, 0x1d);
    ck_assert_uint_eq(keys[1].code, 0x38);
    /* Losing focus releases the keys still held in the guest. */
    memset(&e, 0, sizeof(e));
    e.type = SDL_WINDOWEVENT;
    e.window.event = SDL_WINDOWEVENT_FOCUS_LOST;
    SDL_PushEvent(&e);
    ck_assert(display_sdl_update(d, 0));
    ck_assert_int_eq(nkeys, 4);
    ck_assert(!keys[2].down && !keys[3].down);

    /* Closing the window ends the session. */
    memset(&e, 0, sizeof(e));
    e.type = SDL_QUIT;
    SDL_PushEvent(&e);
    ck_assert(!display_sdl_update(d, 0));
    display_sdl_close(d);
    vga_free(&v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vga_frontends");
    TCase *tc = tcase_create("frontends");
    tcase_add_test(tc, png_roundtrip);
    tcase_add_test(tc, screenshot_file);
    tcase_add_test(tc, frames_independent);
    tcase_add_test(tc, keymap_set1);
    tcase_add_test(tc, sdl_window);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
