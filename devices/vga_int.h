/*
 * Internals shared by the VGA's files (vga.c, vga_mem.c, vga_render.c,
 * vga_text.c): register names and the effective register values while the
 * Bochs VBE extension is enabled.
 */
#ifndef KESTREL_VGA_INT_H
#define KESTREL_VGA_INT_H

#include "devices/vga.h"

/* Sequencer. */
#define SR_CLOCK 0x01   /* bit 0: 8-dot characters; bit 3: dot clock / 2; bit 5: screen off */
#define SR_MAPMASK 0x02 /* planes written */
#define SR_CHARMAP 0x03 /* font maps A (bits 5,3,2) and B (bits 4,1,0) */
#define SR_MEMMODE 0x04 /* bit 2: sequential (no odd/even); bit 3: chain 4 */
/* Graphics controller. */
#define GR_SETRESET 0x00
#define GR_ENABLE_SR 0x01
#define GR_COMPARE 0x02
#define GR_ROTATE 0x03  /* bits 0-2 rotate count, bits 3-4 function */
#define GR_READMAP 0x04
#define GR_MODE 0x05    /* bits 0-1 write mode, 3 read mode, 4 host odd/even, 5-6 shift mode */
#define GR_MISC 0x06    /* bit 0 graphics, bit 1 chain odd/even, bits 2-3 memory map */
#define GR_DONTCARE 0x07
#define GR_BITMASK 0x08
/* CRT controller. */
#define CR_HDISP 0x01
#define CR_OVERFLOW 0x07
#define CR_MAXSCAN 0x09 /* bits 0-4 scan lines per row - 1, bit 6 line compare bit 9, bit 7 double scan */
#define CR_CURSTART 0x0a
#define CR_CUREND 0x0b
#define CR_START_HI 0x0c
#define CR_START_LO 0x0d
#define CR_CURSOR_HI 0x0e
#define CR_CURSOR_LO 0x0f
#define CR_VSYNC_END 0x11 /* bit 7: CR0-7 write protect */
#define CR_VDISP 0x12
#define CR_OFFSET 0x13
#define CR_UNDERLINE 0x14 /* bit 6: doubleword addressing */
#define CR_MODE 0x17    /* bit 0 CGA row scan 0 -> MA13, bit 1 -> MA14, bit 6 byte mode */
#define CR_LINECMP 0x18
/* Attribute controller. */
#define AR_MODE 0x10    /* bit 0 graphics, 2 line graphics, 3 blink, 5 pan split, 6 8-bit, 7 P5:4 select */
#define AR_OVERSCAN 0x11
#define AR_PLANES 0x12
#define AR_PAN 0x13
#define AR_COLSEL 0x14
#define AR_PAS 0x20     /* in ar_index: palette address source, picture on */

static inline bool vbe_enabled(const struct vga *v)
{
    return v->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

/* Sequencer register as the memory and display paths see it: an enabled
 * VBE packed-pixel mode forces chain 4 with all planes, a VBE planar mode
 * full dot clock (what vbe_set_vga_regs would leave, but without changing
 * what the guest reads back). */
static inline uint8_t vga_sr(const struct vga *v, int i)
{
    uint8_t x = v->sr[i];
    if (!vbe_enabled(v))
        return x;
    bool planar = v->vbe_regs[VBE_DISPI_INDEX_BPP] == 4;
    if (i == SR_MEMMODE && !planar)
        x |= 0x08;
    else if (i == SR_MAPMASK && !planar)
        x |= 0x0f;
    else if (i == SR_CLOCK && planar)
        x &= (uint8_t)~0x08;
    return x;
}

static inline void vga_mark_dirty(struct vga *v, uint32_t vram_off, uint32_t len)
{
    for (uint32_t p = vram_off >> 12; p <= (vram_off + len - 1) >> 12 && p < (VGA_VRAM_SIZE >> 12); p++)
        v->dirty[p >> 3] |= (uint8_t)(1u << (p & 7));
}

/* The renderer consumed the dirty bits: make LFB writes report again. */
void vga_rearm_lfb(struct vga *v);

/* 6-bit DAC component to 8 bits (copy the top bits into the bottom). */
static inline uint8_t dac6_to_8(uint8_t c)
{
    c &= 0x3f;
    return (uint8_t)(c << 2 | c >> 4);
}

/* Vertical display end + 1 from CR12 and the overflow bits. */
static inline unsigned vga_vdisp(const struct vga *v)
{
    return (v->cr[CR_VDISP] | (v->cr[CR_OVERFLOW] & 0x02) << 7 | (v->cr[CR_OVERFLOW] & 0x40) << 3) + 1u;
}

#endif
