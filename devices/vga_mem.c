/*
 * VGA memory: the legacy window at 0xA0000-0xBFFFF with the planar
 * read/write logic (latches, write modes 0-3, read modes 0-1, set/reset,
 * rotate and logical function, bit mask, map mask, chain 4 and odd/even),
 * the linear framebuffer as a device-RAM region of the guest memory map,
 * QEMU's stdvga BAR 2 register window, and loading of the VGA BIOS image.
 *
 * Addressing follows the interleaved layout described in vga.h: a CPU
 * offset selects a plane offset (shifted right for word/doubleword
 * addressing, as QEMU does at access time rather than in the CRTC, which
 * lets the display code read consecutive vram dwords) and the four planes
 * of that offset are the four bytes of one vram dword.
 */
#include "devices/vga_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>


/* Expand a 4-bit plane mask to a byte mask per plane. */
static uint32_t mask16(unsigned m)
{
    return (m & 1 ? 0xffu : 0) | (m & 2 ? 0xff00u : 0) | (m & 4 ? 0xff0000u : 0) | (m & 8 ? 0xff000000u : 0);
}

/* CPU offset in the window -> offset into the selected memory map, or -1
 * outside it (memory map select GR6 bits 2-3: A0000/128K, A0000/64K (plus
 * the VBE bank), B0000/32K, B8000/32K). */
static int64_t window_offset(const struct vga *v, uint32_t off)
{
    off &= 0x1ffff;
    switch ((v->gr[GR_MISC] >> 2) & 3) {
    case 0:
        return off;
    case 1:
        return off < 0x10000 ? (int64_t)off + v->bank_offset : -1;
    case 2:
        return off >= 0x10000 && off < 0x18000 ? (int64_t)off - 0x10000 : -1;
    default:
        return off >= 0x18000 ? (int64_t)off - 0x18000 : -1;
    }
}

/* Word/doubleword addressing: the CPU address of a plane byte is its
 * plane offset shifted left; undo that. Word mode only applies while
 * odd/even addressing is on (font loads use plain addressing). */
static uint32_t plane_offset(const struct vga *v, uint32_t a, bool odd_even)
{
    if (v->cr[CR_UNDERLINE] & 0x40)
        return a >> 2;
    if (odd_even && !(v->cr[CR_MODE] & 0x40))
        return a >> 1;
    return a;
}

uint8_t vga_mem_read8(struct vga *v, uint32_t offset)
{
    int64_t w = window_offset(v, offset);
    if (w < 0)
        return 0xff;
    uint32_t a = (uint32_t)w;
    uint8_t memmode = vga_sr(v, SR_MEMMODE);
    if (memmode & 0x08) { /* chain 4: CPU address bits 0-1 select the plane */
        if (a >= VGA_VRAM_SIZE)
            return 0xff;
        v->latch = *(uint32_t *)(v->vram + (a & ~3u));
        return v->vram[a];
    }
    bool odd_even = v->gr[GR_MODE] & 0x10;
    unsigned plane = odd_even ? (v->gr[GR_READMAP] & 2) | (a & 1) : v->gr[GR_READMAP] & 3;
    if (v->gr[GR_MISC] & 0x02)
        a &= ~1u;
    a = plane_offset(v, a, odd_even);
    if ((uint64_t)a * 4 >= VGA_VRAM_SIZE)
        return 0xff;
    memcpy(&v->latch, v->vram + a * 4, 4);
    if (!(v->gr[GR_MODE] & 0x08))
        return (uint8_t)(v->latch >> (8 * plane));
    /* Read mode 1: a 1 for every pixel whose colour (in the planes the
     * colour don't-care register selects) equals the colour compare. */
    uint32_t diff = (v->latch ^ mask16(v->gr[GR_COMPARE])) & mask16(v->gr[GR_DONTCARE]);
    diff |= diff >> 16;
    diff |= diff >> 8;
    return (uint8_t)~diff;
}

void vga_mem_write8(struct vga *v, uint32_t offset, uint8_t val)
{
    int64_t w = window_offset(v, offset);
    if (w < 0)
        return;
    uint32_t a = (uint32_t)w;
    uint8_t memmode = vga_sr(v, SR_MEMMODE);
    unsigned mask = vga_sr(v, SR_MAPMASK) & 0x0f;
    if (memmode & 0x08) {
        if (a < VGA_VRAM_SIZE && (mask & (1u << (a & 3)))) {
            v->vram[a] = val;
            vga_mark_dirty(v, a, 1);
        }
        return;
    }
    if (!(memmode & 0x04)) /* odd/even: even addresses to planes 0/2, odd to 1/3 */
        mask &= (a & 1) ? 0x0a : 0x05;
    if (v->gr[GR_MISC] & 0x02)
        a &= ~1u;
    a = plane_offset(v, a, !(memmode & 0x04));
    if ((uint64_t)a * 4 >= VGA_VRAM_SIZE)
        return;

    uint32_t data, bitmask;
    unsigned rot = v->gr[GR_ROTATE] & 7;
    uint8_t r = (uint8_t)((val >> rot) | (val << (8 - rot)));
    switch (v->gr[GR_MODE] & 3) {
    case 0: {
        uint32_t sr = mask16(v->gr[GR_ENABLE_SR]);
        data = ((r * 0x01010101u) & ~sr) | (mask16(v->gr[GR_SETRESET]) & sr);
        bitmask = v->gr[GR_BITMASK];
        break;
    }
    case 1: /* the latches as they are */
        data = v->latch;
        goto store;
    case 2:
        data = mask16(val & 0x0f);
        bitmask = v->gr[GR_BITMASK];
        break;
    default: /* 3: set/reset colour through the rotated data ANDed with the bit mask */
        data = mask16(v->gr[GR_SETRESET]);
        bitmask = v->gr[GR_BITMASK] & r;
        break;
    }
    switch ((v->gr[GR_ROTATE] >> 3) & 3) {
    case 1: data &= v->latch; break;
    case 2: data |= v->latch; break;
    case 3: data ^= v->latch; break;
    default: break;
    }
    bitmask *= 0x01010101u;
    data = (data & bitmask) | (v->latch & ~bitmask);
store:;
    uint32_t wm = mask16(mask), old;
    memcpy(&old, v->vram + a * 4, 4);
    old = (old & ~wm) | (data & wm);
    memcpy(v->vram + a * 4, &old, 4);
    vga_mark_dirty(v, a * 4, 4);
}

static uint32_t mem_read(void *opaque, uint64_t offset, int size)
{
    uint32_t x = 0;
    for (int k = 0; k < size; k++)
        x |= (uint32_t)vga_mem_read8(opaque, (uint32_t)offset + k) << (8 * k);
    return x;
}

static void mem_write(void *opaque, uint64_t offset, int size, uint32_t val)
{
    for (int k = 0; k < size; k++)
        vga_mem_write8(opaque, (uint32_t)offset + k, (uint8_t)(val >> (8 * k)));
}

const struct mmio_ops vga_mem_ops = { mem_read, mem_write };

/* ---- QEMU stdvga BAR 2 ---- */

#define BAR2_VGA 0x400
#define BAR2_DISPI 0x500
#define BAR2_QEXT 0x600

static uint32_t bar2_read(void *opaque, uint64_t off, int size)
{
    struct vga *v = opaque;
    if (off >= BAR2_VGA && off + size <= BAR2_VGA + 0x20) {
        uint32_t x = 0;
        for (int k = 0; k < size; k++)
            x |= (uint32_t)vga_port_read8(v, (uint16_t)(0x3c0 + off - BAR2_VGA + k)) << (8 * k);
        return x;
    }
    if (off >= BAR2_DISPI && off < BAR2_DISPI + 0x20)
        return vga_dispi_get(v, (unsigned)(off - BAR2_DISPI) / 2);
    if (off == BAR2_QEXT) /* size of the extended register block */
        return 8;
    if (off == BAR2_QEXT + 4) /* framebuffer byte order: little endian */
        return 0x1e1e1e1e;
    return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void bar2_write(void *opaque, uint64_t off, int size, uint32_t val)
{
    struct vga *v = opaque;
    if (off >= BAR2_VGA && off + size <= BAR2_VGA + 0x20) {
        for (int k = 0; k < size; k++)
            vga_port_write8(v, (uint16_t)(0x3c0 + off - BAR2_VGA + k), (uint8_t)(val >> (8 * k)));
    } else if (off >= BAR2_DISPI && off < BAR2_DISPI + 0x20) {
        vga_dispi_set(v, (unsigned)(off - BAR2_DISPI) / 2, (uint16_t)val);
    }
}

const struct mmio_ops vga_bar2_ops = { bar2_read, bar2_write };

/* ---- Attaching to the memory map; the LFB ---- */

int vga_attach(struct vga *v, struct phys *p, uint64_t lfb_base, void (*flush_tlb)(void *ctx), void *ctx)
{
    v->phys = p;
    v->flush_tlb = flush_tlb;
    v->flush_ctx = ctx;
    int err = phys_add_mmio(p, VGA_MEM_BASE, VGA_MEM_SIZE, &vga_mem_ops, v, "vga-window");
    if (err)
        return err;
    return vga_lfb_map(v, lfb_base);
}

int vga_lfb_map(struct vga *v, uint64_t base)
{
    if (!v->phys || base == v->lfb_base)
        return 0;
    bool on = base != VGA_LFB_UNMAPPED;
    if (v->lfb_region < 0) { /* first mapping: add the region once, move it afterwards */
        if (!on)
            return 0;
        int idx = phys_add_devram(v->phys, base, VGA_VRAM_SIZE, v->vram, v->dirty, "vga-lfb");
        if (idx < 0)
            return idx;
        v->lfb_region = idx;
    } else {
        int err = phys_region_move(v->phys, v->lfb_region, on ? base : v->phys->region[v->lfb_region].base, on);
        if (err)
            return err;
    }
    v->lfb_base = base;
    return 0;
}

/* After the renderer consumed the dirty bits: pages written through the
 * LFB must take the slow path again on their next write, so drop the TLB
 * write entries that were cached once they were dirty. */
void vga_rearm_lfb(struct vga *v)
{
    if (!v->phys || v->lfb_base == VGA_LFB_UNMAPPED)
        return;
    if (v->flush_tlb)
        v->flush_tlb(v->flush_ctx);
    else
        v->phys->gen++;
}

/* ---- The VGA BIOS ---- */

int vga_bios_check(const uint8_t *image, size_t len, char *err, size_t errlen)
{
    /* An option ROM: 55 AA, then its length in 512-byte blocks. */
    if (len > VGA_BIOS_MAX) {
        snprintf(err, errlen, "VGA BIOS too large (%zu bytes, at most %u)", len, VGA_BIOS_MAX);
        return -1;
    }
    if (len < 3 || image[0] != 0x55 || image[1] != 0xaa || image[2] == 0 || (size_t)image[2] * 512 > len) {
        snprintf(err, errlen, "not a VGA option ROM (bad signature or size)");
        return -1;
    }
    return 0;
}

int vga_bios_install(struct phys *p, const uint8_t *image, size_t len)
{
    if (len > VGA_BIOS_MAX)
        return -EINVAL;
    phys_write_buf(p, VGA_BIOS_BASE, image, len);
    return 0;
}
