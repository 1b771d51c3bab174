/*
 * VGA and Bochs VBE, driven through their ports and the guest memory map
 * the way a BIOS and a guest driver do. Mode register values are those of
 * SeaBIOS's VGA BIOS (vgasrc/stdvgamodes.c, which drives this device in
 * real boots); register semantics are checked against the FreeVGA
 * documentation; expected colours are the standard EGA/CGA 64-colour
 * palette (6-bit rgbRGB: a primary bit is 2/3 intensity, a secondary 1/3)
 * and code page 437 comes from glibc's iconv as the oracle.
 */
#include <check.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vga.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"

static struct vga V;
static struct phys P;
static int flushes;

static void count_flush(void *ctx)
{
    (void)ctx;
    flushes++;
}

static void setup(void)
{
    ck_assert_int_eq(phys_init(&P, 1u << 20), 0);
    ck_assert_int_eq(vga_init(&V), 0);
    ck_assert_int_eq(vga_attach(&V, &P, VGA_LFB_DEFAULT, count_flush, NULL), 0);
    flushes = 0;
}

static void teardown(void)
{
    vga_free(&V);
    phys_free(&P);
}

static void outb(uint16_t port, uint8_t val) { vga_io_write(&V, port, 1, val); }
static void outw(uint16_t port, uint16_t val) { vga_io_write(&V, port, 2, val); }
static uint8_t inb(uint16_t port) { return (uint8_t)vga_io_read(&V, port, 1); }
static void wr8(uint32_t a, uint8_t v) { phys_write(&P, a, 1, v); }
static uint8_t rd8(uint32_t a) { return (uint8_t)phys_read(&P, a, 1); }
static void dispi(uint16_t idx, uint16_t val)
{
    vga_dispi_write(&V, 0x1ce, 2, idx);
    vga_dispi_write(&V, 0x1cf, 2, val);
}
static uint16_t dispi_rd(uint16_t idx)
{
    vga_dispi_write(&V, 0x1ce, 2, idx);
    return (uint16_t)vga_dispi_read(&V, 0x1cf, 2);
}

/* The EGA palette entry i as 6-bit DAC components (rgbRGB). */
static void ega_rgb(unsigned i, uint8_t c[3])
{
    c[0] = (uint8_t)(((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
    c[1] = (uint8_t)(((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
    c[2] = (uint8_t)((i & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
}

/* The CGA colours as SeaBIOS's palette1 holds them (entries 0-7 the dark
 * colours with brown for 6, 16-23 the bright ones, repeated). */
static void cga_rgb(unsigned i, uint8_t c[3])
{
    unsigned k = (i & 7) | ((i & 0x10) ? 8 : 0), lo = (k & 8) ? 0x15 : 0;
    c[0] = (uint8_t)((k & 4 ? 0x2a : 0) + lo);
    c[1] = (uint8_t)((k == 6 ? 0x15 : k & 2 ? 0x2a : 0) + lo);
    c[2] = (uint8_t)((k & 1 ? 0x2a : 0) + lo);
}

/* SeaBIOS stdvgamodes.c register sets (sequencer 1-4, CRTC 0-18h,
 * attribute 0-13h, graphics 0-8). */
struct mode {
    uint8_t misc, seq[4], crtc[25], actl[20], grdc[9];
    bool cga_palette;
};
static const struct mode mode03 = {
    0x67, { 0x00, 0x03, 0x00, 0x02 },
    { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f,
      0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00,
      0x0f, 0x08 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff },
    false,
};
static const struct mode mode12 = {
    0xe3, { 0x01, 0x0f, 0x00, 0x06 },
    { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf,
      0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x01, 0x00,
      0x0f, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff },
    false,
};
static const struct mode mode13 = {
    0x63, { 0x01, 0x0f, 0x00, 0x0e },
    { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f,
      0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00,
      0x0f, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff },
    false,
};
static const struct mode mode04 = {
    0x63, { 0x09, 0x03, 0x00, 0x02 },
    { 0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f,
      0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff },
    { 0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00,
      0x03, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x0f, 0xff },
    true,
};

/* The order SeaBIOS's stdvga_set_mode programs a mode in. */
static void set_mode(const struct mode *m)
{
    outb(0x3c2, 0xc3); /* stdvga_init: colour addressing */
    outb(0x3c6, 0xff);
    outb(0x3c8, 0);
    for (unsigned i = 0; i < 256; i++) {
        uint8_t c[3];
        if (m->cga_palette)
            cga_rgb(i & 63, c);
        else
            ega_rgb(i & 63, c);
        for (int k = 0; k < 3; k++)
            outb(0x3c9, i < 64 ? c[k] : 0);
    }
    inb(0x3da);
    for (unsigned i = 0; i < 20; i++) {
        outb(0x3c0, (uint8_t)i);
        outb(0x3c0, m->actl[i]);
    }
    outb(0x3c0, 0x14);
    outb(0x3c0, 0x00);
    outb(0x3c4, 0);
    outb(0x3c5, 0x03);
    for (unsigned i = 1; i <= 4; i++) {
        outb(0x3c4, (uint8_t)i);
        outb(0x3c5, m->seq[i - 1]);
    }
    for (unsigned i = 0; i <= 8; i++) {
        outb(0x3ce, (uint8_t)i);
        outb(0x3cf, m->grdc[i]);
    }
    outw(0x3d4, 0x0011);
    for (unsigned i = 0; i <= 0x18; i++) {
        outb(0x3d4, (uint8_t)i);
        outb(0x3d5, m->crtc[i]);
    }
    outb(0x3c2, m->misc);
    outb(0x3c0, 0x20);
    inb(0x3da);
}

/* Font glyph rows used by the tests: distinct per character and row. */
static uint8_t glyph_row(unsigned ch, unsigned y)
{
    return (uint8_t)((ch * 37u) ^ (y * 0x11u) ^ 0x81u);
}

/* SeaBIOS's get_font_access / stdvga_load_font / release_font_access. */
static void load_font(void)
{
    outw(0x3c4, 0x0100);
    outw(0x3c4, 0x0402);
    outw(0x3c4, 0x0704);
    outw(0x3c4, 0x0300);
    outw(0x3ce, 0x0204);
    outw(0x3ce, 0x0005);
    outw(0x3ce, 0x0406);
    for (unsigned ch = 0; ch < 256; ch++)
        for (unsigned y = 0; y < 16; y++)
            wr8(0xa0000 + ch * 32 + y, glyph_row(ch, y));
    outw(0x3c4, 0x0100);
    outw(0x3c4, 0x0302);
    outw(0x3c4, 0x0304);
    outw(0x3c4, 0x0300);
    outw(0x3ce, (uint16_t)(((inb(0x3cc) & 1) ? 0x0e : 0x0a) << 8 | 0x06));
    outw(0x3ce, 0x0004);
    outw(0x3ce, 0x1005);
}

static uint32_t px(const struct vga_frame *f, unsigned x, unsigned y)
{
    ck_assert_uint_lt(x, f->width);
    ck_assert_uint_lt(y, f->height);
    return f->pixels[(size_t)y * f->width + x];
}

/* ---- Registers ---- */

START_TEST(attribute_flip_flop)
{
    outb(0x3c2, 0x01);
    inb(0x3da); /* reset: next 0x3C0 write is an index */
    outb(0x3c0, 0x05);
    outb(0x3c0, 0x2a); /* data for palette register 5 */
    ck_assert_uint_eq(inb(0x3c0), 0x05);
    outb(0x3c0, 0x05); /* an index again (the flip-flop toggled) */
    ck_assert_uint_eq(inb(0x3c1), 0x2a);
    outb(0x3c0, 0x07); /* data: overwrites register 5 */
    ck_assert_uint_eq(inb(0x3c1), 0x07);
    /* Reading input status 1 returns the flip-flop to the index state. */
    outb(0x3c0, 0x11);
    inb(0x3da);
    outb(0x3c0, 0x12);
    outb(0x3c0, 0x0f);
    outb(0x3c0, 0x12);
    ck_assert_uint_eq(inb(0x3c1), 0x0f);
    /* Palette registers hold 6 bits. */
    inb(0x3da);
    outb(0x3c0, 0x03);
    outb(0x3c0, 0xff);
    ck_assert_uint_eq(inb(0x3c1), 0x3f);
}
END_TEST

START_TEST(input_status_toggles)
{
    outb(0x3c2, 0x01);
    uint8_t a = inb(0x3da), b = inb(0x3da);
    /* bit 3 vertical retrace, bit 0 display disabled: a polling loop sees both states */
    ck_assert_uint_eq((a ^ b) & 0x09, 0x09);
    /* With mono addressing (misc bit 0 clear) the status is at 0x3BA and 0x3Dx is not decoded. */
    outb(0x3c2, 0x00);
    ck_assert_uint_eq(inb(0x3da), 0xff);
    a = inb(0x3ba);
    b = inb(0x3ba);
    ck_assert_uint_eq((a ^ b) & 0x08, 0x08);
    outb(0x3b4, 0x0e);
    outb(0x3b5, 0x12);
    ck_assert_uint_eq(inb(0x3b5), 0x12);
    outb(0x3c2, 0x01);
    ck_assert_uint_eq(inb(0x3b5), 0xff);
    outb(0x3d4, 0x0e);
    ck_assert_uint_eq(inb(0x3d5), 0x12); /* the same CRTC, now at 0x3D4 */
    ck_assert_uint_eq(inb(0x3cc), 0x01);
}
END_TEST

START_TEST(crtc_protect)
{
    outb(0x3c2, 0x01);
    outw(0x3d4, 0x0011);
    outw(0x3d4, 0x5501);
    outw(0x3d4, 0x0007);
    outw(0x3d4, 0x8011); /* protect CR0-CR7 */
    outw(0x3d4, 0x6601);
    outw(0x3d4, 0xff07);
    outw(0x3d4, 0x770c); /* not protected */
    outb(0x3d4, 0x01);
    ck_assert_uint_eq(inb(0x3d5), 0x55);
    outb(0x3d4, 0x07);
    ck_assert_uint_eq(inb(0x3d5), 0x10); /* only the line compare bit 8 gets through */
    outb(0x3d4, 0x0c);
    ck_assert_uint_eq(inb(0x3d5), 0x77);
    /* A word write sets the index then the data; the index reads back. */
    ck_assert_uint_eq(inb(0x3d4), 0x0c);
}
END_TEST

START_TEST(dac_indexes)
{
    outb(0x3c8, 0x10);
    ck_assert_uint_eq(inb(0x3c7) & 3, 0); /* DAC state: write mode */
    for (unsigned k = 0; k < 6; k++)
        outb(0x3c9, (uint8_t)(0x01 + k));
    ck_assert_uint_eq(inb(0x3c8), 0x12); /* write index advanced by two entries */
    outb(0x3c7, 0x10);
    ck_assert_uint_eq(inb(0x3c7) & 3, 3); /* read mode */
    for (unsigned k = 0; k < 6; k++)
        ck_assert_uint_eq(inb(0x3c9), 0x01 + k);
    /* Components are 6 bits wide. */
    outb(0x3c8, 0x20);
    outb(0x3c9, 0xff);
    outb(0x3c9, 0x40);
    outb(0x3c9, 0x3f);
    outb(0x3c7, 0x20);
    ck_assert_uint_eq(inb(0x3c9), 0x3f);
    ck_assert_uint_eq(inb(0x3c9), 0x00);
    ck_assert_uint_eq(inb(0x3c9), 0x3f);
    /* PEL mask. */
    outb(0x3c6, 0x0f);
    ck_assert_uint_eq(inb(0x3c6), 0x0f);
}
END_TEST

/* ---- Text mode 03h ---- */

START_TEST(text_mode_render)
{
    set_mode(&mode03);
    load_font();
    /* "A" white on blue at (0,0), brown-on-black box drawing 0xC4 at (1,0),
     * blinking light red on green at (2,0), 0xB3 at (3,0). */
    phys_write(&P, 0xb8000, 2, 0x1f41);
    phys_write(&P, 0xb8002, 2, 0x06c4);
    phys_write(&P, 0xb8004, 2, 0xac42);
    phys_write(&P, 0xb8006, 2, 0x07b3);
    ck_assert_uint_eq(rd8(0xb8000), 0x41);
    ck_assert_uint_eq(rd8(0xb8001), 0x1f);
    /* Cursor at row 1, column 5, lines 13-14 (SeaBIOS's shape). */
    outw(0x3d4, 0x000e);
    outw(0x3d4, (80 + 5) << 8 | 0x0f);
    phys_write(&P, 0xb8000 + 160 + 10, 2, 0x0720);

    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 720);  /* 80 cells of 9 dots */
    ck_assert_uint_eq(f.height, 400); /* 25 rows of 16 lines */
    const uint32_t white = 0xffffff, blue = 0x0000aa, brown = 0xaa5500, black = 0, lred = 0xff5555,
                   green = 0x00aa00, grey = 0xaaaaaa;
    for (unsigned y = 0; y < 16; y++) {
        uint8_t g = glyph_row('A', y);
        for (unsigned x = 0; x < 8; x++)
            ck_assert_uint_eq(px(&f, x, y), (g >> (7 - x)) & 1 ? white : blue);
        ck_assert_uint_eq(px(&f, 8, y), blue); /* 9th dot: background for letters */
        g = glyph_row(0xc4, y);
        for (unsigned x = 0; x < 8; x++)
            ck_assert_uint_eq(px(&f, 9 + x, y), (g >> (7 - x)) & 1 ? brown : black);
        /* Line graphics C0h-DFh repeat the 8th dot in the 9th (AR10 bit 2). */
        ck_assert_uint_eq(px(&f, 17, y), g & 1 ? brown : black);
        /* B3h is outside C0h-DFh: 9th dot is background. */
        ck_assert_uint_eq(px(&f, 35, y), black);
        /* Blink enabled (AR10 bit 3): bit 7 of the attribute blinks, background is 3 bits. */
        g = glyph_row('B', y);
        ck_assert_uint_eq(px(&f, 18, y), (g >> 7) & 1 ? lred : green);
    }
    /* Cursor: lines 13 and 14 of cell (5,1) in the foreground colour. */
    ck_assert_uint_eq(px(&f, 5 * 9 + 3, 16 + 13), grey);
    ck_assert_uint_eq(px(&f, 5 * 9 + 8, 16 + 14), grey);
    ck_assert_uint_eq(px(&f, 5 * 9 + 3, 16 + 12), (glyph_row(' ', 12) >> 4) & 1 ? grey : black);

    /* Nothing changed: nothing to draw. */
    ck_assert_int_eq(vga_render(&V, 1000, &f, false), 0);
    /* Half a cursor period later the cursor is off; later still the blinking character too. */
    ck_assert_int_eq(vga_render(&V, 300000000ull, &f, false), 1);
    ck_assert_uint_eq(px(&f, 5 * 9 + 3, 16 + 13), (glyph_row(' ', 13) >> 4) & 1 ? grey : black);
    ck_assert_int_eq(vga_render(&V, 600000000ull, &f, false), 1);
    for (unsigned y = 0; y < 16; y++)
        for (unsigned x = 0; x < 9; x++)
            ck_assert_uint_eq(px(&f, 18 + x, y), green);
    /* Blink off (AR10 bit 3 clear): bit 7 selects bright backgrounds instead. */
    inb(0x3da);
    outb(0x3c0, 0x10);
    outb(0x3c0, 0x04);
    outb(0x3c0, 0x20);
    ck_assert_int_eq(vga_render(&V, 600000000ull, &f, false), 1);
    ck_assert_uint_eq(px(&f, 18 + 8, 0), 0x55ff55); /* background 0xA: light green */
    vga_frame_free(&f);
}
END_TEST

START_TEST(text_dump)
{
    set_mode(&mode03);
    const char *s = "Hello, VGA \x82\xc4\xdb";
    for (unsigned i = 0; s[i]; i++)
        phys_write(&P, 0xb8000 + 160 * 2 + 2 * i, 2, 0x0700 | (uint8_t)s[i]);
    phys_write(&P, 0xb8000 + 160 * 24 + 2 * 79, 2, 0x0700 | 'Z');
    unsigned cols, rows;
    ck_assert(vga_text_geometry(&V, &cols, &rows));
    ck_assert_uint_eq(cols, 80);
    ck_assert_uint_eq(rows, 25);
    char buf[4096];
    size_t n = vga_text_dump(&V, buf, sizeof(buf));
    ck_assert_uint_eq(n, strlen(buf));
    char expect[4096] = "";
    strcat(expect, "\n\nHello, VGA \xc3\xa9\xe2\x94\x80\xe2\x96\x88\n");
    for (int r = 3; r < 24; r++)
        strcat(expect, "\n");
    for (int c = 0; c < 79; c++)
        strcat(expect, " ");
    strcat(expect, "Z\n");
    ck_assert_str_eq(buf, expect);
    /* Truncation never cuts a character and reports the full length. */
    char small[16];
    ck_assert_uint_eq(vga_text_dump(&V, small, 17 - 3), n);
    ck_assert_str_eq(small, "\n\nHello, VGA ");
    /* Start address (scrolling by a page offset) moves the dump. */
    outw(0x3d4, 0x000c);
    outw(0x3d4, 160 << 8 | 0x0d);
    vga_text_dump(&V, buf, sizeof(buf));
    ck_assert_mem_eq(buf, "Hello", 5);
    /* Cursor position. */
    outw(0x3d4, 0x000e);
    outw(0x3d4, (160 + 80 + 7) << 8 | 0x0f);
    unsigned cc, cr;
    ck_assert(vga_text_cursor(&V, &cc, &cr));
    ck_assert_uint_eq(cc, 7);
    ck_assert_uint_eq(cr, 1);
    outw(0x3d4, 0x200a); /* cursor disable bit */
    ck_assert(!vga_text_cursor(&V, &cc, &cr));
    /* Graphics mode: no text. */
    set_mode(&mode13);
    ck_assert(!vga_text_geometry(&V, &cols, &rows));
    ck_assert_uint_eq(vga_text_dump(&V, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(cp437_matches_iconv)
{
    iconv_t cd = iconv_open("UTF-8", "IBM437");
    ck_assert(cd != (iconv_t)-1);
    for (unsigned c = 0x20; c < 0x100; c++) {
        if (c == 0x7f) /* iconv: DEL; the VGA font draws a house */
            continue;
        char in[1] = { (char)c }, out[8] = { 0 };
        char *ip = in, *op = out;
        size_t il = 1, ol = sizeof(out);
        ck_assert(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
        /* decode the UTF-8 */
        unsigned char *u = (unsigned char *)out;
        unsigned cp = u[0] < 0x80 ? u[0] : u[0] < 0xe0 ? (u[0] & 0x1fu) << 6 | (u[1] & 0x3f)
                                                       : (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3f);
        ck_assert_msg(vga_cp437_to_unicode((uint8_t)c) == cp, "CP437 %#x: %#x, iconv %#x", c,
                      vga_cp437_to_unicode((uint8_t)c), cp);
    }
    iconv_close(cd);
    ck_assert_uint_eq(vga_cp437_to_unicode(0x01), 0x263a); /* the smiling face of the IBM font */
    ck_assert_uint_eq(vga_cp437_to_unicode(0x7f), 0x2302);
}
END_TEST

/* ---- Planar modes ---- */

START_TEST(planar_write_modes)
{
    set_mode(&mode12);
    const uint32_t a = 0xa0000;
    /* Write mode 2: the byte's low nibble is the colour, the bit mask picks pixels. */
    outw(0x3ce, 0x0205);
    outw(0x3ce, 0x8008);
    rd8(a); /* load latches */
    wr8(a, 0x0c);
    outw(0x3ce, 0x4008);
    rd8(a);
    wr8(a, 0x09);
    /* Write mode 0 with set/reset enabled for all planes: colour 0x0E at pixels 8-15. */
    outw(0x3ce, 0x0005);
    outw(0x3ce, 0xff08);
    outw(0x3ce, 0x0e00);
    outw(0x3ce, 0x0f01);
    wr8(a + 1, 0x00);
    outw(0x3ce, 0x0001);
    /* Write mode 0, plain data through the map mask: plane 0 only, 0xF0 -> colour 1 at pixels 16-19. */
    outw(0x3c4, 0x0102);
    wr8(a + 2, 0xf0);
    outw(0x3c4, 0x0f02);
    /* Rotate + XOR function: 0x0F rotated right by 4 = 0xF0 XORed into the latches (pixels 8-11 of colour 0xE). */
    rd8(a + 1);
    outw(0x3ce, 0x1c03); /* XOR, rotate 4 */
    wr8(a + 1, 0x0f);
    outw(0x3ce, 0x0003);
    /* Write mode 3: set/reset colour 0x05, bit mask ANDed with the (rotated) data. */
    outw(0x3ce, 0x0305);
    outw(0x3ce, 0x0500);
    outw(0x3ce, 0xff08);
    rd8(a + 3);
    wr8(a + 3, 0x81);
    /* Write mode 1: copy latches from one address to another. */
    outw(0x3ce, 0x0105);
    rd8(a + 1);
    wr8(a + 80, 0x00);
    outw(0x3ce, 0x0005);

    /* Read mode 0 from each plane. */
    outw(0x3ce, 0x0004);
    ck_assert_uint_eq(rd8(a), 0x40); /* colour 9 = 1001b: plane 0 has pixel 1 */
    outw(0x3ce, 0x0204);
    ck_assert_uint_eq(rd8(a), 0x80); /* colour 0xC = 1100b: plane 2 has pixel 0 */
    outw(0x3ce, 0x0304);
    ck_assert_uint_eq(rd8(a), 0xc0);
    /* Read mode 1: compare with colour 0x0E (all planes), then with plane 3 ignored. */
    outw(0x3ce, 0x0805);
    outw(0x3ce, 0x0e02);
    outw(0x3ce, 0x0f07);
    ck_assert_uint_eq(rd8(a + 1), 0x0f); /* pixels 12-15 kept 0xE; 8-11 were XORed to 0x1 */
    outw(0x3ce, 0x0707);                 /* colour don't care: plane 3 excluded */
    outw(0x3ce, 0x0602);
    ck_assert_uint_eq(rd8(a + 1), 0x0f);
    outw(0x3ce, 0x0005);

    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, true), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(f.height, 480);
    /* Colours through attribute palette 0x38-0x3F for 8-15 (SeaBIOS actl) and EGA DAC. */
    ck_assert_uint_eq(px(&f, 0, 0), 0xff5555);  /* 0xC light red */
    ck_assert_uint_eq(px(&f, 1, 0), 0x5555ff);  /* 9 light blue */
    ck_assert_uint_eq(px(&f, 2, 0), 0x000000);
    for (unsigned x = 8; x < 12; x++)
        ck_assert_uint_eq(px(&f, x, 0), 0x0000aa); /* 0xE ^ 0xF = 1: blue */
    for (unsigned x = 12; x < 16; x++)
        ck_assert_uint_eq(px(&f, x, 0), 0xffff55); /* 0xE yellow */
    for (unsigned x = 16; x < 24; x++)
        ck_assert_uint_eq(px(&f, x, 0), x < 20 ? 0x0000aa : 0);
    ck_assert_uint_eq(px(&f, 24, 0), 0xaa00aa); /* write mode 3: colour 5 magenta where data bit set */
    ck_assert_uint_eq(px(&f, 25, 0), 0);
    ck_assert_uint_eq(px(&f, 31, 0), 0xaa00aa);
    /* The copied byte on line 1 (80 bytes per line). */
    for (unsigned x = 0; x < 8; x++)
        ck_assert_uint_eq(px(&f, x, 1), px(&f, 8 + x, 0));
    /* Colour plane enable (AR12) masks planes out of the picture. */
    inb(0x3da);
    outb(0x3c0, 0x12);
    outb(0x3c0, 0x03);
    outb(0x3c0, 0x20);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 12, 0), 0x00aa00); /* 0xE & 3 = 2: green */
    vga_frame_free(&f);
}
END_TEST

START_TEST(split_screen_and_panning)
{
    /* FreeVGA: after the scan line equal to the line compare register the
     * display restarts at address 0; horizontal PEL panning shifts the
     * picture left by up to 7 pixels in 16-colour modes. */
    set_mode(&mode12);
    outw(0x3ce, 0x0205); /* write mode 2 */
    outw(0x3ce, 0xff08);
    wr8(0xa0000 + 0, 0x0c);        /* line 0, pixels 0-7: colour 12 */
    wr8(0xa0000 + 200 * 80, 0x09); /* line 200, pixels 0-7: colour 9 */
    outw(0x3ce, 0x0005);
    /* Start the picture at line 200 (address 200 * 80) and split after line 99. */
    outw(0x3d4, (uint16_t)(((200 * 80) >> 8) << 8 | 0x0c));
    outw(0x3d4, (uint16_t)(((200 * 80) & 0xff) << 8 | 0x0d));
    outw(0x3d4, 0x6318); /* line compare 99 (bits 8 and 9 clear) */
    outb(0x3d4, 0x07);
    uint8_t ov = inb(0x3d5);
    outb(0x3d5, ov & (uint8_t)~0x10);
    outb(0x3d4, 0x09);
    uint8_t ms = inb(0x3d5);
    outb(0x3d5, ms & (uint8_t)~0x40);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 0, 0), 0x5555ff);   /* line 200 of memory at the top */
    ck_assert_uint_eq(px(&f, 0, 99), 0);
    ck_assert_uint_eq(px(&f, 0, 100), 0xff5555); /* after the split: line 0 of memory */
    ck_assert_uint_eq(px(&f, 0, 101), 0);
    /* Panning by 3: pixel 0 shows what was pixel 3; the split part pans too
     * unless AR10 bit 5 says otherwise. */
    inb(0x3da);
    outb(0x3c0, 0x13);
    outb(0x3c0, 0x03);
    outb(0x3c0, 0x20);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 4, 0), 0x5555ff);
    ck_assert_uint_eq(px(&f, 5, 0), 0);
    ck_assert_uint_eq(px(&f, 4, 100), 0xff5555);
    inb(0x3da);
    outb(0x3c0, 0x10);
    outb(0x3c0, 0x21);
    outb(0x3c0, 0x20);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 4, 0), 0x5555ff);
    ck_assert_uint_eq(px(&f, 7, 100), 0xff5555); /* the split part is not panned */
    ck_assert_uint_eq(px(&f, 8, 100), 0);
    /* Screen off (sequencer clocking mode bit 5) blanks the picture. */
    outw(0x3c4, 0x2101);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 4, 0), 0);
    vga_frame_free(&f);
}
END_TEST

START_TEST(mode13_chain4)
{
    set_mode(&mode13);
    /* DAC entry 5 and 200 with 6-bit components. */
    outb(0x3c8, 5);
    outb(0x3c9, 0x3f);
    outb(0x3c9, 0x00);
    outb(0x3c9, 0x20);
    outb(0x3c8, 200);
    outb(0x3c9, 0x01);
    outb(0x3c9, 0x02);
    outb(0x3c9, 0x03);
    wr8(0xa0000 + 20 * 320 + 10, 5);
    wr8(0xa0000 + 199 * 320 + 319, 200);
    ck_assert_uint_eq(rd8(0xa0000 + 20 * 320 + 10), 5);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 320);
    ck_assert_uint_eq(f.height, 200);
    ck_assert_uint_eq(px(&f, 10, 20), 0xff0082);
    ck_assert_uint_eq(px(&f, 319, 199), 0x04080c);
    ck_assert_uint_eq(px(&f, 11, 20), 0);
    /* Chain 4: the pixel is in plane (address & 3), visible to planar reads
     * once chain 4 is off (mode X: no chain 4, byte addressing). */
    outw(0x3c4, 0x0604);
    outw(0x3d4, 0x0014);
    outw(0x3d4, 0xe317);
    outw(0x3ce, 0x0204); /* read plane 2 */
    ck_assert_uint_eq(rd8(0xa0000 + (20 * 320 + 10) / 4), 5);
    /* Mode X: planar write to plane 3 at offset 1 is pixel 7 of line 0. */
    outw(0x3c4, 0x0802);
    wr8(0xa0001, 5);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 7, 0), 0xff0082);
    /* PEL mask applies to the DAC index. */
    outb(0x3c6, 0x04);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 7, 0), 0xaa0000); /* index 5 & 4 = 4: EGA entry 4 is red */
    vga_frame_free(&f);
}
END_TEST

START_TEST(cga_mode04)
{
    set_mode(&mode04);
    /* Even lines at B8000, odd lines at BA000 (80 bytes, four 2-bit pixels each). */
    wr8(0xb8000, 0x1b);      /* line 0 pixels 0-3: 0,1,2,3 */
    wr8(0xba000 + 1, 0xc0);  /* line 1 pixel 4: 3 */
    wr8(0xb8000 + 80, 0x80); /* line 2 pixel 0: 2 */
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 320);
    ck_assert_uint_eq(f.height, 200);
    /* Palette 1 of mode 04h (SeaBIOS actl_04: 0x00 0x13 0x15 0x17 -> EGA 0x13 cyan, 0x15 magenta, 0x17 white). */
    ck_assert_uint_eq(px(&f, 0, 0), 0x000000);
    ck_assert_uint_eq(px(&f, 1, 0), 0x55ffff);
    ck_assert_uint_eq(px(&f, 2, 0), 0xff55ff);
    ck_assert_uint_eq(px(&f, 3, 0), 0xffffff);
    ck_assert_uint_eq(px(&f, 4, 1), 0xffffff);
    ck_assert_uint_eq(px(&f, 0, 2), 0xff55ff);
    ck_assert_uint_eq(px(&f, 0, 1), 0);
    vga_frame_free(&f);
}
END_TEST

/* ---- Bochs VBE ---- */

START_TEST(dispi_registers)
{
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_ID), 0xb0c5);
    dispi(VBE_DISPI_INDEX_ID, 0xb0c0);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_ID), 0xb0c0);
    dispi(VBE_DISPI_INDEX_ID, 0x1234); /* not an ID: ignored */
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_ID), 0xb0c0);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);
    ck_assert_uint_eq(vga_dispi_read(&V, 0x1ce, 2), VBE_DISPI_INDEX_VIDEO_MEMORY_64K);
    /* GETCAPS: the maxima while the bit is set. */
    dispi(VBE_DISPI_INDEX_XRES, 800);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_YRES), VBE_DISPI_MAX_YRES);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_BPP), 32);
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_XRES), 800);
    /* Enabling clamps impossible geometry: width to a multiple of 8, height to memory. */
    dispi(VBE_DISPI_INDEX_XRES, 1023);
    dispi(VBE_DISPI_INDEX_YRES, 9000);
    dispi(VBE_DISPI_INDEX_BPP, 32);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_XRES), 1016);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_YRES), (16u << 20) / (1016 * 4));
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_VIRT_WIDTH), 1016);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_VIRT_HEIGHT), (16u << 20) / (1016 * 4));
    /* An unsupported depth becomes 8. */
    dispi(VBE_DISPI_INDEX_BPP, 7);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_BPP), 8);
    /* The VGA registers follow: graphics, A0000 64K window, 256-colour shifter. */
    ck_assert_uint_eq(V.gr[6] & 0x0d, 0x05);
    ck_assert_uint_eq((V.gr[5] >> 5) & 3, 2);
}
END_TEST

static void vbe_mode(unsigned w, unsigned h, unsigned bpp)
{
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    dispi(VBE_DISPI_INDEX_BPP, (uint16_t)bpp);
    dispi(VBE_DISPI_INDEX_XRES, (uint16_t)w);
    dispi(VBE_DISPI_INDEX_YRES, (uint16_t)h);
    dispi(VBE_DISPI_INDEX_BANK, 0);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    inb(0x3da);
    outb(0x3c0, 0x20);
}

START_TEST(vbe_lfb_depths)
{
    struct vga_frame f = { 0 };
    const uint64_t lfb = VGA_LFB_DEFAULT;
    /* 32 bpp: B, G, R, X in memory. */
    vbe_mode(640, 480, 32);
    phys_write(&P, lfb + (479 * 640 + 639) * 4, 4, 0x00123456);
    phys_write(&P, lfb + (10 * 640 + 3) * 4, 4, 0xff00ff00);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(f.height, 480);
    ck_assert_uint_eq(px(&f, 639, 479), 0x123456);
    ck_assert_uint_eq(px(&f, 3, 10), 0x00ff00);
    ck_assert_uint_eq(px(&f, 4, 10), 0);
    ck_assert_uint_eq(phys_read(&P, lfb + (10 * 640 + 3) * 4, 4), 0xff00ff00);
    /* 24 bpp: B, G, R. */
    vbe_mode(800, 600, 24);
    wr8(lfb + (5 * 800 + 7) * 3 + 0, 0x11);
    wr8(lfb + (5 * 800 + 7) * 3 + 1, 0x22);
    wr8(lfb + (5 * 800 + 7) * 3 + 2, 0x33);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 800);
    ck_assert_uint_eq(px(&f, 7, 5), 0x332211);
    /* 16 bpp 5:6:5 and 15 bpp 5:5:5, full intensity is 0xFF. */
    vbe_mode(320, 200, 16);
    phys_write(&P, lfb + 2 * 1, 2, 0xf800);
    phys_write(&P, lfb + 2 * 2, 2, 0x07e0);
    phys_write(&P, lfb + 2 * 3, 2, 0x001f);
    phys_write(&P, lfb + 2 * 4, 2, 0x8410); /* r 16/31, g 32/63, b 16/31 */
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 1, 0), 0xff0000);
    ck_assert_uint_eq(px(&f, 2, 0), 0x00ff00);
    ck_assert_uint_eq(px(&f, 3, 0), 0x0000ff);
    ck_assert_uint_eq(px(&f, 4, 0), 0x848284);
    vbe_mode(320, 200, 15);
    phys_write(&P, lfb + 2 * 1, 2, 0x7c00);
    phys_write(&P, lfb + 2 * 2, 2, 0x03e0);
    phys_write(&P, lfb + 2 * 3, 2, 0x001f);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 1, 0), 0xff0000);
    ck_assert_uint_eq(px(&f, 2, 0), 0x00ff00);
    ck_assert_uint_eq(px(&f, 3, 0), 0x0000ff);
    /* 8 bpp through the DAC, 6-bit then with VBE's 8-bit DAC. */
    vbe_mode(1024, 768, 8);
    outb(0x3c8, 7);
    outb(0x3c9, 0x3f);
    outb(0x3c9, 0x80);
    outb(0x3c9, 0x01);
    wr8(lfb + 767 * 1024 + 1023, 7);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 1023, 767), 0xff0004);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED | VBE_DISPI_8BIT_DAC);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 1023, 767), 0x3f8001);
    vga_frame_free(&f);
}
END_TEST

START_TEST(vbe_banks_and_panning)
{
    struct vga_frame f = { 0 };
    vbe_mode(640, 480, 8);
    outb(0x3c8, 1);
    outb(0x3c9, 0x3f);
    outb(0x3c9, 0x3f);
    outb(0x3c9, 0x3f);
    /* The 64 KiB window at A0000 shows vram from BANK * 64 KiB. */
    dispi(VBE_DISPI_INDEX_BANK, 2);
    wr8(0xa0000 + 0x10, 1); /* vram 0x20010 = pixel (0x20010 % 640, 0x20010 / 640) */
    ck_assert_uint_eq(rd8(0xa0000 + 0x10), 1);
    ck_assert_uint_eq(rd8(VGA_LFB_DEFAULT + 0x20010), 1);
    ck_assert_uint_eq(rd8(0xb0000), 0xff); /* outside the 64K window */
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(px(&f, 0x20010 % 640, 0x20010 / 640), 0xffffff);
    /* Virtual width and Y offset: a 1024-pixel-wide buffer panned down 3 lines. */
    dispi(VBE_DISPI_INDEX_VIRT_WIDTH, 1024);
    dispi(VBE_DISPI_INDEX_Y_OFFSET, 3);
    dispi(VBE_DISPI_INDEX_X_OFFSET, 8);
    wr8(VGA_LFB_DEFAULT + 3 * 1024 + 8, 1);
    wr8(VGA_LFB_DEFAULT + 4 * 1024 + 8 + 639, 1);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(px(&f, 0, 0), 0xffffff);
    ck_assert_uint_eq(px(&f, 639, 1), 0xffffff);
    ck_assert_uint_eq(px(&f, 1, 0), 0);
    /* Disabling VBE turns the bank off and the VGA takes over again. */
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    set_mode(&mode03);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 720);
    vga_frame_free(&f);
}
END_TEST

START_TEST(vbe_planar_4bpp)
{
    /* SeaBIOS sets planar VBE modes as mode 6Ah plus DISPI at 4 bpp. */
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    set_mode(&mode12);
    dispi(VBE_DISPI_INDEX_BPP, 4);
    dispi(VBE_DISPI_INDEX_XRES, 1024);
    dispi(VBE_DISPI_INDEX_YRES, 768);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    outb(0x3c0, 0x20);
    outw(0x3ce, 0x0205);
    outw(0x3ce, 0x0108);
    /* The last pixel's byte is at 767 * 128 + 127 = 0x17FFF: bank 1, offset 0x7FFF. */
    dispi(VBE_DISPI_INDEX_BANK, 1);
    rd8(0xa0000 + 0x7fff);
    wr8(0xa0000 + 0x7fff, 0x0f); /* white */
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 1024);
    ck_assert_uint_eq(f.height, 768);
    ck_assert_uint_eq(px(&f, 1023, 767), 0xffffff);
    ck_assert_uint_eq(px(&f, 1022, 767), 0);
    vga_frame_free(&f);
}
END_TEST

START_TEST(lfb_dirty_tracking)
{
    struct vga_frame f = { 0 };
    vbe_mode(640, 480, 32);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 0);
    /* A clean page is not directly writable: the first write takes the slow path. */
    bool w;
    uint8_t *host = phys_page_ptr(&P, VGA_LFB_DEFAULT + 0x5000, &w);
    ck_assert_ptr_eq(host, V.vram + 0x5000);
    ck_assert(!w);
    phys_write(&P, VGA_LFB_DEFAULT + 0x5004, 4, 0x00abcdef);
    host = phys_page_ptr(&P, VGA_LFB_DEFAULT + 0x5000, &w);
    ck_assert(w); /* dirty now: the TLB may cache a write entry */
    /* A write through that host pointer (what a TLB hit does) is seen by the next render. */
    memcpy(host + 8, &(uint32_t){ 0x00fedcba }, 4);
    int before = flushes;
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_int_eq(flushes, before + 1); /* re-armed: cached write entries dropped */
    ck_assert_uint_eq(px(&f, (0x5004 / 4) % 640, (0x5004 / 4) / 640), 0xabcdef);
    ck_assert_uint_eq(px(&f, (0x5008 / 4) % 640, (0x5008 / 4) / 640), 0xfedcba);
    phys_page_ptr(&P, VGA_LFB_DEFAULT + 0x5000, &w);
    ck_assert(!w);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 0);
    /* A write straddling two pages dirties both. */
    phys_write(&P, VGA_LFB_DEFAULT + 0x6ffe, 4, 0x12345678);
    phys_page_ptr(&P, VGA_LFB_DEFAULT + 0x7000, &w);
    ck_assert(w);
    /* Legacy-window and register writes count as changes too. */
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    wr8(0xa0000, 1);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    outb(0x3c8, 0);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_int_eq(vga_render(&V, 0, &f, true), 1); /* forced */
    vga_frame_free(&f);
}
END_TEST

START_TEST(lfb_remap)
{
    phys_write(&P, VGA_LFB_DEFAULT + 16, 4, 0xcafef00d);
    ck_assert_int_eq(vga_lfb_map(&V, 0xfd000000), 0);
    ck_assert_uint_eq(phys_read(&P, 0xfd000000 + 16, 4), 0xcafef00d);
    ck_assert_uint_eq(phys_read(&P, VGA_LFB_DEFAULT + 16, 4), 0xffffffff); /* open bus */
    ck_assert_int_eq(vga_lfb_map(&V, VGA_LFB_UNMAPPED), 0);
    ck_assert_uint_eq(phys_read(&P, 0xfd000000 + 16, 4), 0xffffffff);
    ck_assert_int_eq(vga_lfb_map(&V, VGA_LFB_DEFAULT), 0);
    ck_assert_uint_eq(phys_read(&P, VGA_LFB_DEFAULT + 16, 4), 0xcafef00d);
    int n = P.nregions;
    ck_assert_int_eq(vga_lfb_map(&V, 0xfc000000), 0);
    ck_assert_int_eq(P.nregions, n); /* moved, not added */
}
END_TEST

START_TEST(bar2_mmio)
{
    /* QEMU's stdvga BAR 2: DISPI at 0x500 (index * 2), VGA ports at 0x400 + port - 0x3C0. */
    ck_assert_uint_eq(vga_bar2_ops.read(&V, 0x500, 2), 0xb0c5);
    ck_assert_uint_eq(vga_bar2_ops.read(&V, 0x500 + 2 * VBE_DISPI_INDEX_VIDEO_MEMORY_64K, 2), 256);
    vga_bar2_ops.write(&V, 0x500 + 2 * VBE_DISPI_INDEX_XRES, 2, 800);
    ck_assert_uint_eq(dispi_rd(VBE_DISPI_INDEX_XRES), 800);
    vga_bar2_ops.write(&V, 0x400 + 0x3c2 - 0x3c0, 1, 0x01);
    ck_assert_uint_eq(inb(0x3cc), 0x01);
    vga_bar2_ops.write(&V, 0x400 + 0x3d4 - 0x3c0, 2, 0x340e);
    outb(0x3d4, 0x0e);
    ck_assert_uint_eq(inb(0x3d5), 0x34);
    ck_assert_uint_eq(vga_bar2_ops.read(&V, 0x604, 4), 0x1e1e1e1e); /* little-endian framebuffer */
}
END_TEST

START_TEST(blank_screen)
{
    set_mode(&mode03);
    struct vga_frame f = { 0 };
    vga_render(&V, 0, &f, false);
    /* Palette address source clear: the attribute controller outputs nothing. */
    inb(0x3da);
    outb(0x3c0, 0x00);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 720); /* keeps the last size */
    for (size_t i = 0; i < (size_t)f.width * f.height; i++)
        ck_assert_uint_eq(f.pixels[i], 0);
    vga_frame_free(&f);
}
END_TEST

START_TEST(bios_image)
{
    /* Debian's SeaBIOS VGA BIOS: an option ROM whose PCI data structure
     * names QEMU's stdvga (1234:1111), which this device presents. */
    FILE *fp = fopen("/usr/share/seabios/vgabios-stdvga.bin", "rb");
    ck_assert_msg(fp != NULL, "seabios package (scripts/deps.sh) not installed");
    static uint8_t img[VGA_BIOS_MAX + 1];
    size_t n = fread(img, 1, sizeof(img), fp);
    fclose(fp);
    char err[128];
    ck_assert_int_eq(vga_bios_check(img, n, err, sizeof(err)), 0);
    unsigned pcir = img[0x18] | img[0x19] << 8;
    ck_assert_mem_eq(img + pcir, "PCIR", 4);
    ck_assert_uint_eq(img[pcir + 4] | img[pcir + 5] << 8, VGA_PCI_VENDOR);
    ck_assert_uint_eq(img[pcir + 6] | img[pcir + 7] << 8, VGA_PCI_DEVICE);
    ck_assert_int_eq(vga_bios_install(&P, img, n), 0);
    ck_assert_uint_eq(rd8(0xc0000), 0x55);
    ck_assert_uint_eq(rd8(0xc0001), 0xaa);
    /* Broken images are refused. */
    img[1] = 0;
    ck_assert_int_eq(vga_bios_check(img, n, err, sizeof(err)), -1);
    img[1] = 0xaa;
    ck_assert_int_eq(vga_bios_check(img, 100, err, sizeof(err)), -1); /* shorter than its length byte */
    ck_assert_int_eq(vga_bios_check(img, VGA_BIOS_MAX + 1, err, sizeof(err)), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vga");
    TCase *tc = tcase_create("vga");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, attribute_flip_flop);
    tcase_add_test(tc, input_status_toggles);
    tcase_add_test(tc, crtc_protect);
    tcase_add_test(tc, dac_indexes);
    tcase_add_test(tc, text_mode_render);
    tcase_add_test(tc, text_dump);
    tcase_add_test(tc, cp437_matches_iconv);
    tcase_add_test(tc, planar_write_modes);
    tcase_add_test(tc, split_screen_and_panning);
    tcase_add_test(tc, mode13_chain4);
    tcase_add_test(tc, cga_mode04);
    tcase_add_test(tc, dispi_registers);
    tcase_add_test(tc, vbe_lfb_depths);
    tcase_add_test(tc, vbe_banks_and_panning);
    tcase_add_test(tc, vbe_planar_4bpp);
    tcase_add_test(tc, lfb_dirty_tracking);
    tcase_add_test(tc, lfb_remap);
    tcase_add_test(tc, bar2_mmio);
    tcase_add_test(tc, blank_screen);
    tcase_add_test(tc, bios_image);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
