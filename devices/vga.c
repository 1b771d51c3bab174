/*
 * VGA registers (ports 0x3B0-0x3DF) and the Bochs VBE DISPI interface
 * (ports 0x1CE/0x1CF), with QEMU's "-vga std" behaviour where the hardware
 * leaves a choice: unused register bits read as zero, the attribute
 * controller's index/data flip-flop is reset by reading input status 1,
 * and the retrace bits of input status 1 toggle on every read so polling
 * loops terminate without a model of beam timing.
 *
 * DISPI writes are sanitised the way QEMU does it (vbe_fixup): a guest
 * cannot signal errors through this interface, so impossible geometries
 * are clamped to the nearest one that fits in video memory. Enabling a VBE
 * mode also programs the VGA registers for a matching graphics mode
 * (memory map A0000/64K, chain 4 for packed pixels), and keeps them so
 * while VBE is on, because guests and the VGA BIOS then touch the VGA
 * registers and expect the VBE picture to survive.
 */
#include "devices/vga_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Writable bits of each register (the others read back as zero). */
static const uint8_t sr_mask[8] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff };
static const uint8_t gr_mask[16] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff };

int vga_init(struct vga *v)
{
    memset(v, 0, sizeof(*v));
    /* Anonymous memory: untouched pages cost nothing and read as zero. */
    void *m = mmap(NULL, VGA_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    v->vram = m;
    v->dirty = calloc(VGA_VRAM_SIZE >> 15, 1);
    if (!v->dirty) {
        munmap(m, VGA_VRAM_SIZE);
        v->vram = NULL;
        return -ENOMEM;
    }
    v->lfb_base = VGA_LFB_UNMAPPED;
    v->lfb_region = -1;
    v->picture_seq = 1;
    vga_reset(v);
    return 0;
}

void vga_free(struct vga *v)
{
    if (v->vram)
        munmap(v->vram, VGA_VRAM_SIZE);
    free(v->dirty);
    v->vram = NULL;
    v->dirty = NULL;
}

void vga_reset(struct vga *v)
{
    v->misc = v->fcr = v->st01 = 0;
    v->sr_index = v->gr_index = v->cr_index = v->ar_index = 0;
    memset(v->sr, 0, sizeof(v->sr));
    memset(v->gr, 0, sizeof(v->gr));
    memset(v->cr, 0, sizeof(v->cr));
    memset(v->ar, 0, sizeof(v->ar));
    v->ar_flip_flop = false;
    v->latch = 0;
    v->dac_read = v->dac_write = v->dac_sub = v->dac_state = 0;
    memset(v->dac_cache, 0, sizeof(v->dac_cache));
    v->pel_mask = 0xff;
    memset(v->palette, 0, sizeof(v->palette));
    v->vbe_index = 0;
    memset(v->vbe_regs, 0, sizeof(v->vbe_regs));
    v->vbe_regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    v->vbe_line_offset = v->vbe_start = v->bank_offset = 0;
    v->regs_changed = true;
}

/* ---- Bochs VBE ---- */

/* Clamp the DISPI registers to a geometry that fits video memory and
 * derive the scan-line length and display start from them. */
static void vbe_fixup(struct vga *v)
{
    uint16_t *r = v->vbe_regs;
    if (!vbe_enabled(v))
        return;
    unsigned bits;
    switch (r[VBE_DISPI_INDEX_BPP]) {
    case 4: case 8: case 16: case 24: case 32:
        bits = r[VBE_DISPI_INDEX_BPP];
        break;
    case 15:
        bits = 16;
        break;
    default:
        bits = r[VBE_DISPI_INDEX_BPP] = 8;
        break;
    }
    r[VBE_DISPI_INDEX_XRES] &= (uint16_t)~7u;
    if (r[VBE_DISPI_INDEX_XRES] == 0)
        r[VBE_DISPI_INDEX_XRES] = 8;
    if (r[VBE_DISPI_INDEX_XRES] > VBE_DISPI_MAX_XRES)
        r[VBE_DISPI_INDEX_XRES] = VBE_DISPI_MAX_XRES;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] &= (uint16_t)~7u;
    if (r[VBE_DISPI_INDEX_VIRT_WIDTH] > VBE_DISPI_MAX_XRES)
        r[VBE_DISPI_INDEX_VIRT_WIDTH] = VBE_DISPI_MAX_XRES;
    if (r[VBE_DISPI_INDEX_VIRT_WIDTH] < r[VBE_DISPI_INDEX_XRES])
        r[VBE_DISPI_INDEX_VIRT_WIDTH] = r[VBE_DISPI_INDEX_XRES];

    uint32_t line = r[VBE_DISPI_INDEX_VIRT_WIDTH] * bits / 8;
    uint32_t maxy = VGA_VRAM_SIZE / line;
    if (r[VBE_DISPI_INDEX_YRES] == 0)
        r[VBE_DISPI_INDEX_YRES] = 1;
    if (r[VBE_DISPI_INDEX_YRES] > VBE_DISPI_MAX_YRES)
        r[VBE_DISPI_INDEX_YRES] = VBE_DISPI_MAX_YRES;
    if (r[VBE_DISPI_INDEX_YRES] > maxy)
        r[VBE_DISPI_INDEX_YRES] = (uint16_t)maxy;

    if (r[VBE_DISPI_INDEX_X_OFFSET] > VBE_DISPI_MAX_XRES)
        r[VBE_DISPI_INDEX_X_OFFSET] = VBE_DISPI_MAX_XRES;
    if (r[VBE_DISPI_INDEX_Y_OFFSET] > VBE_DISPI_MAX_YRES)
        r[VBE_DISPI_INDEX_Y_OFFSET] = VBE_DISPI_MAX_YRES;
    uint32_t start = r[VBE_DISPI_INDEX_X_OFFSET] * bits / 8 + r[VBE_DISPI_INDEX_Y_OFFSET] * line;
    if (start + r[VBE_DISPI_INDEX_YRES] * line > VGA_VRAM_SIZE) {
        r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
        start = r[VBE_DISPI_INDEX_X_OFFSET] * bits / 8;
        if (start + r[VBE_DISPI_INDEX_YRES] * line > VGA_VRAM_SIZE) {
            r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            start = 0;
        }
    }
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)(maxy > 0xffff ? 0xffff : maxy);
    v->vbe_line_offset = line;
    v->vbe_start = start;
}

/* The VGA registers a VBE mode implies: graphics, memory map A0000/64K,
 * no CGA addressing, the mode's width/height/pitch, no line compare, no
 * double scan, and the 256-colour shifter for packed pixels. */
static void vbe_set_vga_regs(struct vga *v)
{
    if (!vbe_enabled(v))
        return;
    v->gr[GR_MISC] = (uint8_t)((v->gr[GR_MISC] & ~0x0c) | 0x04 | 0x01);
    v->cr[CR_MODE] |= 3;
    v->cr[CR_OFFSET] = (uint8_t)(v->vbe_line_offset >> 3);
    v->cr[CR_HDISP] = (uint8_t)((v->vbe_regs[VBE_DISPI_INDEX_XRES] >> 3) - 1);
    unsigned h = v->vbe_regs[VBE_DISPI_INDEX_YRES] - 1u;
    v->cr[CR_VDISP] = (uint8_t)h;
    v->cr[CR_OVERFLOW] = (uint8_t)((v->cr[CR_OVERFLOW] & ~0x42) | ((h >> 7) & 0x02) | ((h >> 3) & 0x40));
    v->cr[CR_LINECMP] = 0xff;
    v->cr[CR_OVERFLOW] |= 0x10;
    v->cr[CR_MAXSCAN] |= 0x40;
    unsigned shift = v->vbe_regs[VBE_DISPI_INDEX_BPP] == 4 ? 0 : 2;
    v->gr[GR_MODE] = (uint8_t)((v->gr[GR_MODE] & ~0x60) | shift << 5);
    v->cr[CR_MAXSCAN] &= (uint8_t)~0x9f;
}

uint16_t vga_dispi_get(struct vga *v, unsigned index)
{
    if (index < VBE_DISPI_NREGS) {
        if (v->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
            /* Capability query: the maxima instead of the current values. */
            if (index == VBE_DISPI_INDEX_XRES)
                return VBE_DISPI_MAX_XRES;
            if (index == VBE_DISPI_INDEX_YRES)
                return VBE_DISPI_MAX_YRES;
            if (index == VBE_DISPI_INDEX_BPP)
                return VBE_DISPI_MAX_BPP;
        }
        return v->vbe_regs[index];
    }
    if (index == VBE_DISPI_INDEX_VIDEO_MEMORY_64K)
        return VGA_VRAM_SIZE >> 16;
    return 0;
}

void vga_dispi_set(struct vga *v, unsigned index, uint16_t val)
{
    uint16_t *r = v->vbe_regs;
    v->regs_changed = true;
    switch (index) {
    case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5)
            r[index] = val;
        break;
    case VBE_DISPI_INDEX_XRES:
    case VBE_DISPI_INDEX_YRES:
    case VBE_DISPI_INDEX_BPP:
    case VBE_DISPI_INDEX_VIRT_WIDTH:
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        r[index] = val;
        vbe_fixup(v);
        vbe_set_vga_regs(v);
        break;
    case VBE_DISPI_INDEX_BANK:
        val &= (VGA_VRAM_SIZE >> 16) - 1;
        r[index] = val;
        v->bank_offset = (uint32_t)val << 16;
        break;
    case VBE_DISPI_INDEX_ENABLE:
        if ((val & VBE_DISPI_ENABLED) && !vbe_enabled(v)) {
            /* A new mode starts unpanned with the pitch of its width. */
            r[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
            r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
            r[VBE_DISPI_INDEX_ENABLE] |= VBE_DISPI_ENABLED;
            vbe_fixup(v);
            vbe_set_vga_regs(v);
            if (!(val & VBE_DISPI_NOCLEARMEM)) {
                uint32_t len = r[VBE_DISPI_INDEX_YRES] * v->vbe_line_offset;
                memset(v->vram, 0, len);
                vga_mark_dirty(v, 0, len);
            }
        } else if (!(val & VBE_DISPI_ENABLED)) {
            v->bank_offset = 0;
        }
        r[index] = val;
        break;
    default: /* VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only */
        break;
    }
}

uint32_t vga_dispi_read(void *opaque, uint16_t port, int size)
{
    struct vga *v = opaque;
    uint32_t x = port == 0x1ce ? v->vbe_index : vga_dispi_get(v, v->vbe_index);
    if (size == 4) /* the upper half reaches the next port: data after index */
        x |= (port == 0x1ce ? (uint32_t)vga_dispi_get(v, v->vbe_index) : 0xffffu) << 16;
    return size == 1 ? x & 0xff : x;
}

void vga_dispi_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct vga *v = opaque;
    if (port == 0x1ce) {
        v->vbe_index = (uint16_t)val;
        if (size == 4)
            vga_dispi_set(v, v->vbe_index, (uint16_t)(val >> 16));
    } else {
        vga_dispi_set(v, v->vbe_index, (uint16_t)val);
    }
}

/* ---- VGA ports ---- */

/* Ports of the monochrome (0x3Bx) or colour (0x3Dx) block not selected by
 * misc output bit 0 are not decoded. */
static bool port_off(const struct vga *v, uint16_t port)
{
    return (v->misc & 1) ? (port >= 0x3b0 && port <= 0x3bf) : (port >= 0x3d0 && port <= 0x3df);
}

uint8_t vga_port_read8(struct vga *v, uint16_t port)
{
    if (port_off(v, port))
        return 0xff;
    switch (port) {
    case 0x3c0:
        return v->ar_index;
    case 0x3c1: {
        unsigned i = v->ar_index & 0x1f;
        return i < sizeof(v->ar) ? v->ar[i] : 0;
    }
    case 0x3c2: /* input status 0 */
        return 0;
    case 0x3c4:
        return v->sr_index;
    case 0x3c5:
        return v->sr[v->sr_index];
    case 0x3c6:
        return v->pel_mask;
    case 0x3c7:
        return v->dac_state;
    case 0x3c8:
        return v->dac_write;
    case 0x3c9: {
        uint8_t x = v->palette[v->dac_read * 3 + v->dac_sub];
        if (!(v->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC))
            x &= 0x3f;
        if (++v->dac_sub == 3) {
            v->dac_sub = 0;
            v->dac_read++;
        }
        return x;
    }
    case 0x3ca:
        return v->fcr;
    case 0x3cc:
        return v->misc;
    case 0x3ce:
        return v->gr_index;
    case 0x3cf:
        return v->gr[v->gr_index];
    case 0x3b4: case 0x3d4:
        return v->cr_index;
    case 0x3b5: case 0x3d5:
        return v->cr[v->cr_index];
    case 0x3ba: case 0x3da:
        /* Display-disable and vertical-retrace toggle on every read. */
        v->st01 ^= 0x09;
        v->ar_flip_flop = false;
        return v->st01;
    default:
        return 0xff;
    }
}

static void ar_write(struct vga *v, uint8_t val)
{
    if (!v->ar_flip_flop) {
        v->ar_index = val & 0x3f;
    } else {
        unsigned i = v->ar_index & 0x1f;
        if (i < 0x10)
            v->ar[i] = val & 0x3f;
        else if (i == AR_MODE)
            v->ar[i] = val & (uint8_t)~0x10;
        else if (i == AR_OVERSCAN)
            v->ar[i] = val;
        else if (i == AR_PLANES)
            v->ar[i] = val & 0x3f;
        else if (i == AR_PAN || i == AR_COLSEL)
            v->ar[i] = val & 0x0f;
    }
    v->ar_flip_flop = !v->ar_flip_flop;
}

void vga_port_write8(struct vga *v, uint16_t port, uint8_t val)
{
    if (port_off(v, port))
        return;
    v->regs_changed = true;
    switch (port) {
    case 0x3c0:
        ar_write(v, val);
        break;
    case 0x3c2:
        v->misc = val & (uint8_t)~0x10;
        break;
    case 0x3c4:
        v->sr_index = val & 7;
        break;
    case 0x3c5:
        v->sr[v->sr_index] = val & sr_mask[v->sr_index];
        break;
    case 0x3c6:
        v->pel_mask = val;
        break;
    case 0x3c7:
        v->dac_read = val;
        v->dac_sub = 0;
        v->dac_state = 3;
        break;
    case 0x3c8:
        v->dac_write = val;
        v->dac_sub = 0;
        v->dac_state = 0;
        break;
    case 0x3c9:
        v->dac_cache[v->dac_sub] = val;
        if (++v->dac_sub == 3) {
            memcpy(&v->palette[v->dac_write * 3], v->dac_cache, 3);
            v->dac_sub = 0;
            v->dac_write++;
        }
        break;
    case 0x3ce:
        v->gr_index = val & 0x0f;
        break;
    case 0x3cf:
        v->gr[v->gr_index] = val & gr_mask[v->gr_index];
        vbe_set_vga_regs(v);
        break;
    case 0x3b4: case 0x3d4:
        v->cr_index = val;
        break;
    case 0x3b5: case 0x3d5:
        /* CR11 bit 7 write-protects CR0-CR7, except CR7's line compare bit. */
        if ((v->cr[CR_VSYNC_END] & 0x80) && v->cr_index <= CR_OVERFLOW) {
            if (v->cr_index == CR_OVERFLOW)
                v->cr[CR_OVERFLOW] = (uint8_t)((v->cr[CR_OVERFLOW] & ~0x10) | (val & 0x10));
        } else {
            v->cr[v->cr_index] = val;
        }
        vbe_set_vga_regs(v);
        break;
    case 0x3ba: case 0x3da:
        v->fcr = val & 0x0b;
        break;
    default:
        break;
    }
}

uint32_t vga_io_read(void *opaque, uint16_t port, int size)
{
    struct vga *v = opaque;
    uint32_t x = 0;
    for (int k = 0; k < size; k++) {
        uint16_t p = (uint16_t)(port + k);
        x |= (uint32_t)(p >= 0x3b0 && p <= 0x3df ? vga_port_read8(v, p) : 0xff) << (8 * k);
    }
    return x;
}

void vga_io_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct vga *v = opaque;
    for (int k = 0; k < size; k++) {
        uint16_t p = (uint16_t)(port + k);
        if (p >= 0x3b0 && p <= 0x3df)
            vga_port_write8(v, p, (uint8_t)(val >> (8 * k)));
    }
}
