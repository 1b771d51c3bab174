/*
 * The VGA picture as 32-bit XRGB pixels, drawn from video memory and the
 * registers the way the CRT controller, attribute controller and DAC would
 * scan it out: text modes (font from plane 2, 8/9-dot cells, blink,
 * cursor, underline, line compare), 16-colour planar and CGA 4-colour
 * graphics with CGA row interleave, 256-colour modes (chained and mode X),
 * and the VBE packed-pixel and planar modes.
 *
 * The picture is produced at the mode's logical resolution: pixels the
 * hardware doubles (half dot clock, the 256-colour shifter, double scan,
 * repeated scan lines) are drawn once, so mode 13h is 320x200 rather than
 * the 640x400 a monitor would receive; the frontend scales. Text modes are
 * drawn at their dot resolution (720x400 for 80x25).
 *
 * Everything is redrawn when anything changed: cheap next to a frame's
 * upload to the screen, and the dirty bits say exactly when nothing did.
 */
#include "devices/vga_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_HALF_PERIOD_NS 266666666ull /* 16 frames at 60 Hz on, 16 off */
#define BLINK_HALF_PERIOD_NS 533333333ull  /* 32 frames */
#define MAX_DIM 16384u
#define BLANK_W 640u
#define BLANK_H 480u

/* A DAC entry as XRGB. */
static uint32_t dac_color(const struct vga *v, unsigned idx)
{
    const uint8_t *c = &v->palette[(idx & v->pel_mask & 0xff) * 3];
    if (v->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC)
        return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
    return (uint32_t)dac6_to_8(c[0]) << 16 | (uint32_t)dac6_to_8(c[1]) << 8 | dac6_to_8(c[2]);
}

/* The 16 colours of text and planar modes: attribute palette register,
 * then colour select bits 4-7 (AR14), then the DAC. */
static void palette16(const struct vga *v, uint32_t pal[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned x = v->ar[i];
        if (v->ar[AR_MODE] & 0x80)
            x = (v->ar[AR_COLSEL] & 0x0f) << 4 | (x & 0x0f);
        else
            x = (v->ar[AR_COLSEL] & 0x0c) << 4 | (x & 0x3f);
        pal[i] = dac_color(v, x);
    }
}

static int frame_size(struct vga_frame *f, unsigned w, unsigned h)
{
    size_t n = (size_t)w * h;
    if (n > f->capacity) {
        uint32_t *p = realloc(f->pixels, n * sizeof(uint32_t));
        if (!p)
            return -ENOMEM;
        f->pixels = p;
        f->capacity = n;
    }
    f->width = w;
    f->height = h;
    return 0;
}

void vga_frame_free(struct vga_frame *f)
{
    free(f->pixels);
    memset(f, 0, sizeof(*f));
}

/* ---- Text ---- */

struct text_geom {
    unsigned cols, rows, cw, ch; /* cells, cell size in dots (before doubling) */
    bool wide;                   /* half dot clock: every dot twice */
};

static bool text_geom(const struct vga *v, struct text_geom *g)
{
    if ((v->gr[GR_MISC] & 1) || vbe_enabled(v))
        return false;
    g->ch = (v->cr[CR_MAXSCAN] & 0x1f) + 1u;
    g->cw = (vga_sr(v, SR_CLOCK) & 1) ? 8 : 9;
    g->wide = vga_sr(v, SR_CLOCK) & 0x08;
    g->cols = v->cr[CR_HDISP] + 1u;
    g->rows = vga_vdisp(v) / g->ch;
    return g->rows > 0;
}

bool vga_text_geometry(const struct vga *v, unsigned *cols, unsigned *rows)
{
    struct text_geom g;
    if (!text_geom(v, &g))
        return false;
    *cols = g.cols;
    *rows = g.rows;
    return true;
}

/* Font map base (plane offset) for attribute bit 3 set (map A) or clear (B). */
static uint32_t font_base(const struct vga *v, bool map_a)
{
    unsigned s = v->sr[SR_CHARMAP];
    unsigned n = map_a ? ((s >> 5) & 1) | ((s >> 1) & 6) : ((s >> 4) & 1) | ((s << 1) & 6);
    return n * 8192u;
}

static void draw_text(const struct vga *v, const struct text_geom *g, uint32_t *px, unsigned stride,
                      bool cursor_on, bool blink_on)
{
    uint32_t pal[16];
    palette16(v, pal);
    unsigned start = (unsigned)v->cr[CR_START_HI] << 8 | v->cr[CR_START_LO];
    unsigned line_bytes = v->cr[CR_OFFSET] * 8u; /* vram bytes per row of cells */
    unsigned line_cmp = v->cr[CR_LINECMP] | (v->cr[CR_OVERFLOW] & 0x10) << 4 | (v->cr[CR_MAXSCAN] & 0x40) << 3;
    unsigned cursor = ((unsigned)v->cr[CR_CURSOR_HI] << 8 | v->cr[CR_CURSOR_LO]);
    bool cursor_shown = cursor_on && !(v->cr[CR_CURSTART] & 0x20);
    unsigned cur_first = v->cr[CR_CURSTART] & 0x1f, cur_last = v->cr[CR_CUREND] & 0x1f;
    if (cur_last > g->ch - 1)
        cur_last = g->ch - 1;
    unsigned underline = v->cr[CR_UNDERLINE] & 0x1f;
    bool blink_mode = v->ar[AR_MODE] & 0x08, line_gfx = v->ar[AR_MODE] & 0x04;
    unsigned dot = g->wide ? 2 : 1;
    const uint32_t vmask = VGA_VRAM_SIZE - 1;

    uint32_t row_addr = start * 4u; /* vram byte of the row's first cell */
    unsigned cell0 = start;         /* its cell address, for the cursor */
    unsigned scan = 0;
    for (unsigned r = 0; r < g->rows; r++) {
        for (unsigned c = 0; c < g->cols; c++) {
            uint32_t a = (row_addr + c * 4u) & vmask;
            uint8_t chr = v->vram[a], attr = v->vram[a + 1];
            uint32_t fg = pal[attr & 0x0f], bg;
            if (blink_mode) {
                bg = pal[(attr >> 4) & 7];
                if ((attr & 0x80) && !blink_on)
                    fg = bg;
            } else {
                bg = pal[attr >> 4];
            }
            uint32_t glyph = (font_base(v, attr & 0x08) + chr * 32u) * 4u + 2u;
            bool is_cursor = cursor_shown && cell0 + c == cursor;
            bool dup9 = line_gfx && (chr & 0xe0) == 0xc0; /* box drawing C0-DF: 9th dot repeats the 8th */
            uint32_t *cell = px + (size_t)r * g->ch * stride + (size_t)c * g->cw * dot;
            for (unsigned y = 0; y < g->ch; y++) {
                unsigned bits = v->vram[(glyph + y * 4u) & vmask] << 1;
                if (g->cw == 9 && dup9)
                    bits |= (bits >> 1) & 1;
                if (y == underline && (attr & 0x77) == 0x01) /* underline: foreground 1 on black */
                    bits = 0x1ff;
                if (is_cursor && y >= cur_first && y <= cur_last)
                    bits = 0x1ff;
                uint32_t *d = cell + (size_t)y * stride;
                for (unsigned x = 0; x < g->cw; x++) {
                    uint32_t col = (bits >> (8 - x)) & 1 ? fg : bg;
                    for (unsigned k = 0; k < dot; k++)
                        *d++ = col;
                }
            }
        }
        /* Line compare restarts the display at address 0 (split screen). */
        if (scan < line_cmp && scan + g->ch >= line_cmp) {
            row_addr = 0;
            cell0 = 0;
        } else {
            row_addr += line_bytes;
            cell0 += line_bytes / 4;
        }
        scan += g->ch;
    }
}

/* ---- Graphics ---- */

enum gfx_kind { GFX_PLANAR, GFX_CGA4, GFX_PAL8, GFX_RGB15, GFX_RGB16, GFX_RGB24, GFX_RGB32 };

struct gfx_geom {
    enum gfx_kind kind;
    unsigned width, height;   /* logical picture */
    unsigned lines;           /* scan lines the CRTC displays (VGA modes) */
    unsigned repeat;          /* scan lines per logical row */
};

static bool gfx_geom(const struct vga *v, struct gfx_geom *g)
{
    if (vbe_enabled(v)) {
        g->width = v->vbe_regs[VBE_DISPI_INDEX_XRES];
        g->height = g->lines = v->vbe_regs[VBE_DISPI_INDEX_YRES];
        g->repeat = 1;
        switch (v->vbe_regs[VBE_DISPI_INDEX_BPP]) {
        case 4: g->kind = GFX_PLANAR; break;
        case 15: g->kind = GFX_RGB15; break;
        case 16: g->kind = GFX_RGB16; break;
        case 24: g->kind = GFX_RGB24; break;
        case 32: g->kind = GFX_RGB32; break;
        default: g->kind = GFX_PAL8; break;
        }
        return true;
    }
    unsigned clocks = (v->cr[CR_HDISP] + 1u) * 8;
    unsigned shift = (v->gr[GR_MODE] >> 5) & 3;
    g->kind = shift == 0 ? GFX_PLANAR : shift == 1 ? GFX_CGA4 : GFX_PAL8;
    /* The 256-colour shifter spends two dot clocks on each pixel. */
    g->width = g->kind == GFX_PAL8 ? clocks / 2 : clocks;
    g->lines = vga_vdisp(v);
    unsigned dbl = v->cr[CR_MAXSCAN] >> 7;
    /* Without CGA compatibility the maximum scan line repeats each row;
     * in CGA addressing only double scan does (as QEMU renders it). */
    g->repeat = (v->cr[CR_MODE] & 1) ? ((v->cr[CR_MAXSCAN] & 0x1f) + 1u) << dbl : 1u + dbl;
    g->height = (g->lines + g->repeat - 1) / g->repeat;
    return true;
}

/* One row of 16-colour planar pixels from the vram dwords at `addr`
 * (8 pixels per dword, plane p giving bit p of the colour). */
static void row_planar(const struct vga *v, uint32_t addr, uint32_t amask, unsigned pan, const uint32_t pal[16],
                       uint32_t *d, unsigned width)
{
    unsigned enable = v->ar[AR_PLANES] & 0x0f;
    for (unsigned x = 0; x < width; x++) {
        unsigned p = x + pan;
        const uint8_t *q = v->vram + ((addr + (p >> 3) * 4u) & amask);
        unsigned bit = 7 - (p & 7);
        unsigned c = ((q[0] >> bit) & 1) | ((q[1] >> bit) & 1) << 1 | ((q[2] >> bit) & 1) << 2 |
                     ((q[3] >> bit) & 1) << 3;
        d[x] = pal[c & enable];
    }
}

/* CGA 4-colour (shift register interleave): a dword holds 8 pixels, four
 * 2-bit pixels from plane 0 then four from plane 1; planes 2 and 3 give
 * the high bits. */
static void row_cga4(const struct vga *v, uint32_t addr, uint32_t amask, unsigned pan, const uint32_t pal[16],
                     uint32_t *d, unsigned width)
{
    unsigned enable = v->ar[AR_PLANES] & 0x0f;
    for (unsigned x = 0; x < width; x++) {
        unsigned p = x + pan;
        const uint8_t *q = v->vram + ((addr + (p >> 3) * 4u) & amask);
        unsigned half = (p >> 2) & 1, sh = 6 - 2 * (p & 3);
        unsigned lo = (enable >> half) & 1 ? q[half] : 0, hi = (enable >> (half + 2)) & 1 ? q[half + 2] : 0;
        d[x] = pal[((lo >> sh) & 3) | ((hi >> sh) & 3) << 2];
    }
}

static void draw_gfx(const struct vga *v, const struct gfx_geom *g, uint32_t *px, unsigned stride)
{
    uint32_t pal[256];
    if (g->kind == GFX_PLANAR || g->kind == GFX_CGA4) {
        palette16(v, pal);
    } else if (g->kind == GFX_PAL8) {
        for (unsigned i = 0; i < 256; i++)
            pal[i] = dac_color(v, i);
    }

    if (vbe_enabled(v)) {
        for (unsigned y = 0; y < g->height; y++) {
            uint32_t a = v->vbe_start + y * v->vbe_line_offset;
            const uint8_t *s = v->vram + a;
            uint32_t *d = px + (size_t)y * stride;
            switch (g->kind) {
            case GFX_PLANAR:
                row_planar(v, a, VGA_VRAM_SIZE - 1, 0, pal, d, g->width);
                break;
            case GFX_PAL8:
                for (unsigned x = 0; x < g->width; x++)
                    d[x] = pal[s[x]];
                break;
            case GFX_RGB15:
            case GFX_RGB16:
                for (unsigned x = 0; x < g->width; x++) {
                    unsigned w = s[2 * x] | s[2 * x + 1] << 8, r, gr, b = w & 0x1f;
                    if (g->kind == GFX_RGB15) {
                        r = (w >> 10) & 0x1f;
                        gr = (w >> 5) & 0x1f;
                        gr = gr << 3 | gr >> 2;
                    } else {
                        r = w >> 11;
                        gr = (w >> 5) & 0x3f;
                        gr = gr << 2 | gr >> 4;
                    }
                    d[x] = (r << 3 | r >> 2) << 16 | gr << 8 | (b << 3 | b >> 2);
                }
                break;
            case GFX_RGB24:
                for (unsigned x = 0; x < g->width; x++)
                    d[x] = (uint32_t)s[3 * x + 2] << 16 | s[3 * x + 1] << 8 | s[3 * x];
                break;
            default:
                for (unsigned x = 0; x < g->width; x++)
                    d[x] = (uint32_t)s[4 * x + 2] << 16 | s[4 * x + 1] << 8 | s[4 * x];
                break;
            }
        }
        return;
    }

    /* VGA modes: walk the CRTC's scan lines, drawing the first of each
     * group of repeated lines. Addresses wrap at the VGA's 256 KiB. */
    const uint32_t amask = 0x3ffff;
    uint32_t line_bytes = v->cr[CR_OFFSET] * 8u;
    uint32_t addr_row = ((uint32_t)v->cr[CR_START_HI] << 8 | v->cr[CR_START_LO]) * 4u;
    unsigned line_cmp = v->cr[CR_LINECMP] | (v->cr[CR_OVERFLOW] & 0x10) << 4 | (v->cr[CR_MAXSCAN] & 0x40) << 3;
    unsigned pan = v->ar[AR_PAN] & 7;
    if (g->kind == GFX_PAL8)
        pan = (pan >> 1) & 3; /* 256 colours pan in pixel pairs' units */
    uint8_t mode = v->cr[CR_MODE];
    unsigned row = 0, out = 0, run = 0;
    for (unsigned y = 0; y < g->lines && out < g->height; y++) {
        uint32_t a = addr_row;
        if (!(mode & 1)) { /* CGA: row scan bit 0 replaces address bit 13 (vram bit 14, or 15 in byte mode) */
            unsigned sh = 14 + ((mode >> 6) & 1);
            a = (a & ~(1u << sh)) | (row & 1) << sh;
        }
        if (!(mode & 2)) /* Hercules: row scan bit 1 replaces address bit 14 */
            a = (a & ~0x8000u) | (row & 2) << 14;
        if (run == 0) {
            uint32_t *d = px + (size_t)out * stride;
            if (g->kind == GFX_PLANAR) {
                row_planar(v, a, amask, pan, pal, d, g->width);
            } else if (g->kind == GFX_CGA4) {
                row_cga4(v, a, amask, pan, pal, d, g->width);
            } else {
                for (unsigned x = 0; x < g->width; x++)
                    d[x] = pal[v->vram[(a + x + pan) & amask]];
            }
            out++;
        }
        if (++run == g->repeat) {
            run = 0;
            unsigned m = (mode & 3) ^ 3; /* CGA/Hercules rows share an address line */
            if ((row & m) == m)
                addr_row += line_bytes;
            row++;
        }
        if (y == line_cmp) {
            addr_row = 0;
            if (v->ar[AR_MODE] & 0x20)
                pan = 0;
        }
    }
    for (; out < g->height; out++) /* a short last row group */
        memset(px + (size_t)out * stride, 0, g->width * sizeof(uint32_t));
}

/* ---- Frame ---- */

static bool take_dirty(struct vga *v)
{
    bool any = false;
    for (unsigned i = 0; i < (VGA_VRAM_SIZE >> 15); i += 8) {
        uint64_t w;
        memcpy(&w, v->dirty + i, 8);
        if (w) {
            any = true;
            memset(v->dirty + i, 0, 8);
        }
    }
    if (any)
        vga_rearm_lfb(v);
    return any;
}

int vga_render(struct vga *v, uint64_t now_ns, struct vga_frame *f, bool force)
{
    struct text_geom tg;
    struct gfx_geom gg;
    bool blank = !(v->ar_index & AR_PAS) || (vga_sr(v, SR_CLOCK) & 0x20);
    bool text = !blank && text_geom(v, &tg);
    bool gfx = !blank && !text && (v->gr[GR_MISC] & 1 || vbe_enabled(v)) && gfx_geom(v, &gg);
    unsigned w, h;
    if (text) {
        w = tg.cols * tg.cw * (tg.wide ? 2 : 1);
        h = tg.rows * tg.ch;
    } else if (gfx) {
        w = gg.width;
        h = gg.height;
    } else {
        w = h = 0;
    }
    if (w == 0 || h == 0 || w > MAX_DIM || h > MAX_DIM) { /* off, or registers mid-change */
        text = gfx = false;
        blank = true;
        w = v->last_w ? v->last_w : BLANK_W;
        h = v->last_h ? v->last_h : BLANK_H;
    }
    bool cursor_on = (now_ns / CURSOR_HALF_PERIOD_NS) % 2 == 0;
    bool blink_on = (now_ns / BLINK_HALF_PERIOD_NS) % 2 == 0;
    int phase = text ? (cursor_on ? 1 : 0) | (blink_on ? 2 : 0) : 0;

    /* Anything that may have changed the picture starts a new picture
     * sequence number; a frame already holding the current one is kept. */
    bool dirty = take_dirty(v);
    if (dirty || v->regs_changed || w != v->last_w || h != v->last_h || phase != v->last_phase ||
        blank != v->last_blank) {
        v->picture_seq++;
        v->regs_changed = false;
        v->last_w = w;
        v->last_h = h;
        v->last_phase = phase;
        v->last_blank = blank;
    }
    if (!force && f->seq == v->picture_seq && f->width == w && f->height == h)
        return 0;
    if (frame_size(f, w, h))
        return -ENOMEM;
    f->seq = v->picture_seq;
    if (text)
        draw_text(v, &tg, f->pixels, w, cursor_on, blink_on);
    else if (gfx)
        draw_gfx(v, &gg, f->pixels, w);
    else
        memset(f->pixels, 0, (size_t)w * h * sizeof(uint32_t));
    return 1;
}
