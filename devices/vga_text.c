/*
 * The text screen as characters: the cells the CRTC would display (same
 * start address, row pitch and line compare as the renderer), with code
 * page 437 -- the VGA's ROM font -- mapped to Unicode and encoded as
 * UTF-8. Used by tests and by a terminal frontend; attributes are dropped.
 */
#include "devices/vga_int.h"

#include <string.h>

/* CP437 with the glyphs of the control range (0x01-0x1F, 0x7F) as the IBM
 * font draws them; 0x00 is blank. */
static const uint16_t cp437[256] = {
    0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
    0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
    0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
    0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
    0x0020, 0x0021, 0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027,
    0x0028, 0x0029, 0x002a, 0x002b, 0x002c, 0x002d, 0x002e, 0x002f,
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
    0x0038, 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f,
    0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    0x0048, 0x0049, 0x004a, 0x004b, 0x004c, 0x004d, 0x004e, 0x004f,
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    0x0058, 0x0059, 0x005a, 0x005b, 0x005c, 0x005d, 0x005e, 0x005f,
    0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
    0x0068, 0x0069, 0x006a, 0x006b, 0x006c, 0x006d, 0x006e, 0x006f,
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    0x0078, 0x0079, 0x007a, 0x007b, 0x007c, 0x007d, 0x007e, 0x2302,
    0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
    0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
    0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
    0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
    0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
    0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
    0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
    0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
    0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
    0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
    0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
    0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
    0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
    0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

uint16_t vga_cp437_to_unicode(uint8_t c)
{
    return cp437[c];
}

/* Cell address (plane offset) of row r's first cell, following line compare. */
static unsigned row_address(const struct vga *v, unsigned r, unsigned ch)
{
    unsigned start = (unsigned)v->cr[CR_START_HI] << 8 | v->cr[CR_START_LO];
    unsigned pitch = v->cr[CR_OFFSET] * 2u;
    unsigned line_cmp = v->cr[CR_LINECMP] | (v->cr[CR_OVERFLOW] & 0x10) << 4 | (v->cr[CR_MAXSCAN] & 0x40) << 3;
    unsigned a = start;
    for (unsigned k = 0; k < r; k++)
        a = (k * ch < line_cmp && (k + 1) * ch >= line_cmp) ? 0 : a + pitch;
    return a;
}

bool vga_text_cursor(const struct vga *v, unsigned *col, unsigned *row)
{
    unsigned cols, rows;
    if (!vga_text_geometry(v, &cols, &rows) || (v->cr[CR_CURSTART] & 0x20))
        return false;
    unsigned ch = (v->cr[CR_MAXSCAN] & 0x1f) + 1u;
    unsigned cursor = (unsigned)v->cr[CR_CURSOR_HI] << 8 | v->cr[CR_CURSOR_LO];
    for (unsigned r = 0; r < rows; r++) {
        unsigned a = row_address(v, r, ch);
        if (cursor >= a && cursor < a + cols) {
            *col = cursor - a;
            *row = r;
            return true;
        }
    }
    return false;
}

/* Output that stops at the first character not fitting whole, like snprintf
 * but never cutting a UTF-8 sequence. */
struct out {
    char *buf;
    size_t size;   /* bytes available, including the terminating NUL */
    size_t n;      /* length of the full dump so far */
    size_t stored; /* bytes stored in buf */
};

static void put_utf8(struct out *o, uint16_t u)
{
    char tmp[3];
    size_t len;
    if (u < 0x80) {
        tmp[0] = (char)u;
        len = 1;
    } else if (u < 0x800) {
        tmp[0] = (char)(0xc0 | u >> 6);
        tmp[1] = (char)(0x80 | (u & 0x3f));
        len = 2;
    } else {
        tmp[0] = (char)(0xe0 | u >> 12);
        tmp[1] = (char)(0x80 | ((u >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (u & 0x3f));
        len = 3;
    }
    if (o->stored == o->n && o->n + len < o->size) {
        memcpy(o->buf + o->n, tmp, len);
        o->stored += len;
    }
    o->n += len;
}

size_t vga_text_dump(const struct vga *v, char *buf, size_t size)
{
    unsigned cols, rows;
    struct out o = { buf, size, 0, 0 };
    if (vga_text_geometry(v, &cols, &rows)) {
        unsigned ch = (v->cr[CR_MAXSCAN] & 0x1f) + 1u;
        for (unsigned r = 0; r < rows; r++) {
            unsigned a = row_address(v, r, ch);
            unsigned len = cols;
            while (len > 0) { /* drop trailing blanks (NUL and space) */
                uint8_t c = v->vram[((a + len - 1) * 4u) & (VGA_VRAM_SIZE - 1)];
                if (c != 0 && c != ' ')
                    break;
                len--;
            }
            for (unsigned c = 0; c < len; c++)
                put_utf8(&o, cp437[v->vram[((a + c) * 4u) & (VGA_VRAM_SIZE - 1)]]);
            put_utf8(&o, '\n');
        }
    }
    if (size > 0)
        buf[o.stored] = '\0';
    return o.n;
}
