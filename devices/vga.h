/*
 * A standard VGA with the Bochs VBE "DISPI" extension, as QEMU's "-vga std"
 * presents it, so that SeaBIOS's vgabios-stdvga.bin drives it unchanged.
 *
 * Video memory is one 16 MiB host buffer. The four VGA planes are
 * interleaved in it (plane p of plane offset a is vram[4a + p]), the layout
 * QEMU uses: chain-4 and VBE packed-pixel modes then see vram as one linear
 * byte array, the linear framebuffer (LFB) is simply the whole buffer, and
 * mode 13h, mode X and the VBE banked window all address the same bytes.
 *
 * Pieces:
 *   vga.c         registers: ports 0x3B0-0x3DF and the DISPI ports 0x1CE/0x1CF
 *   vga_mem.c     the legacy window 0xA0000-0xBFFFF (planes, latches, write
 *                 modes), the LFB mapping with dirty tracking, the BIOS image
 *   vga_render.c  the screen as 32-bit XRGB pixels, in every mode
 *   vga_text.c    the text screen as UTF-8 (code page 437 mapped to Unicode)
 *
 * Change tracking: guest writes to video memory set bits in `dirty` (one per
 * 4 KiB page of vram): the legacy window's callbacks set them directly, and
 * the LFB is a phys device-RAM region whose first write to a clean page takes
 * the slow path and sets the bit (later writes to that page go straight to
 * the host buffer through the TLB). Register writes set `regs_changed`.
 * vga_render() redraws only when something changed, then clears the bits
 * and re-arms the LFB pages (see vga_mem.c).
 */
#ifndef KESTREL_VGA_H
#define KESTREL_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/phys.h"

#define VGA_VRAM_SIZE (16u << 20)
#define VGA_LFB_DEFAULT 0xE0000000u /* Bochs VBE's fixed LFB address, used when no PCI BAR says otherwise */
#define VGA_LFB_UNMAPPED UINT64_MAX
#define VGA_BIOS_BASE 0xC0000u
#define VGA_MEM_BASE 0xA0000u      /* legacy window */
#define VGA_MEM_SIZE 0x20000u
#define VGA_PCI_VENDOR 0x1234      /* QEMU's stdvga PCI IDs, matched by the VGA BIOS */
#define VGA_PCI_DEVICE 0x1111
#define VGA_MMIO_BAR_SIZE 0x1000   /* QEMU stdvga BAR 2: VGA ports, DISPI and QEMU extended registers */

/* Bochs VBE DISPI interface (ports 0x1CE index, 0x1CF data). */
#define VBE_DISPI_INDEX_ID 0x0
#define VBE_DISPI_INDEX_XRES 0x1
#define VBE_DISPI_INDEX_YRES 0x2
#define VBE_DISPI_INDEX_BPP 0x3
#define VBE_DISPI_INDEX_ENABLE 0x4
#define VBE_DISPI_INDEX_BANK 0x5
#define VBE_DISPI_INDEX_VIRT_WIDTH 0x6
#define VBE_DISPI_INDEX_VIRT_HEIGHT 0x7
#define VBE_DISPI_INDEX_X_OFFSET 0x8
#define VBE_DISPI_INDEX_Y_OFFSET 0x9
#define VBE_DISPI_INDEX_VIDEO_MEMORY_64K 0xa
#define VBE_DISPI_NREGS 0xa
#define VBE_DISPI_ID0 0xB0C0
#define VBE_DISPI_ID5 0xB0C5
#define VBE_DISPI_ENABLED 0x01
#define VBE_DISPI_GETCAPS 0x02
#define VBE_DISPI_8BIT_DAC 0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM 0x80
#define VBE_DISPI_MAX_XRES 16000
#define VBE_DISPI_MAX_YRES 12000
#define VBE_DISPI_MAX_BPP 32

struct vga {
    uint8_t *vram;          /* VGA_VRAM_SIZE bytes, planes interleaved (see above) */
    uint8_t *dirty;         /* one bit per 4 KiB page of vram written since the last render */
    bool regs_changed;      /* a register that may affect the picture was written */

    /* General registers. */
    uint8_t misc;           /* miscellaneous output (0x3C2 write, 0x3CC read) */
    uint8_t fcr;            /* feature control */
    uint8_t st01;           /* input status 1: retrace bits toggle on each read */
    /* Sequencer, graphics controller, CRT controller, attribute controller. */
    uint8_t sr_index, sr[8];
    uint8_t gr_index, gr[16];
    uint8_t cr_index, cr[256];
    uint8_t ar_index;       /* bits 0-4 index, bit 5 palette address source (0 blanks the screen) */
    uint8_t ar[21];
    bool ar_flip_flop;      /* next 0x3C0 write is data (true) or index (false) */
    uint32_t latch;         /* the four plane latches, plane p in bits 8p..8p+7 */
    /* DAC. */
    uint8_t dac_read, dac_write; /* palette entry the next data read / write goes to */
    uint8_t dac_sub;        /* component (0 red, 1 green, 2 blue) of the current entry */
    uint8_t dac_state;      /* 0x3C7 read: 3 after a read index was set, 0 after a write index */
    uint8_t dac_cache[3];   /* components written so far for the current entry */
    uint8_t pel_mask;       /* 0x3C6 */
    uint8_t palette[768];   /* as written: 6 significant bits, or 8 with VBE's 8-bit DAC */

    /* Bochs VBE. */
    uint16_t vbe_index;
    uint16_t vbe_regs[VBE_DISPI_NREGS];
    uint32_t vbe_line_offset; /* bytes per scan line of the enabled VBE mode */
    uint32_t vbe_start;       /* byte offset of the displayed picture in vram */
    uint32_t bank_offset;     /* byte offset of the 64 KiB window at 0xA0000 (VBE BANK) */

    /* Linear framebuffer mapping (vga_mem.c). */
    struct phys *phys;      /* guest memory map the LFB and window live in */
    uint64_t lfb_base;      /* VGA_LFB_UNMAPPED when not mapped */
    int lfb_region;         /* its phys region index, -1 before the first mapping */
    void (*flush_tlb)(void *ctx); /* board: drop cached TLB write entries (all vCPUs) */
    void *flush_ctx;

    /* Renderer state (vga_render.c). */
    uint64_t picture_seq;    /* bumped whenever the picture may have changed */
    unsigned last_w, last_h; /* size of the last picture rendered */
    int last_phase;          /* blink phases drawn in it (bit 0 cursor, bit 1 characters) */
    bool last_blank;
};

/* Allocate video memory and reset. Returns 0 or -errno. */
int vga_init(struct vga *v);
void vga_free(struct vga *v);
/* Power-on state: registers cleared, VBE off; video memory is kept. */
void vga_reset(struct vga *v);

/*
 * Port handlers. Register ports 0x3B0..0x3DF (48 ports) with vga_io_read/
 * vga_io_write and 0x1CE..0x1D0 (3 ports) with vga_dispi_read/write; word
 * and dword accesses are split as the hardware does (an OUTW to 0x3C4 sets
 * the index then the data).
 */
uint32_t vga_io_read(void *opaque, uint16_t port, int size);
void vga_io_write(void *opaque, uint16_t port, int size, uint32_t val);
uint32_t vga_dispi_read(void *opaque, uint16_t port, int size);
void vga_dispi_write(void *opaque, uint16_t port, int size, uint32_t val);

/* One byte of a VGA port / one DISPI register (for the BAR 2 MMIO view). */
uint8_t vga_port_read8(struct vga *v, uint16_t port);
void vga_port_write8(struct vga *v, uint16_t port, uint8_t val);
uint16_t vga_dispi_get(struct vga *v, unsigned index);
void vga_dispi_set(struct vga *v, unsigned index, uint16_t val);

/* The legacy window, for phys_add_mmio(VGA_MEM_BASE, VGA_MEM_SIZE, &vga_mem_ops, v). */
extern const struct mmio_ops vga_mem_ops;
uint8_t vga_mem_read8(struct vga *v, uint32_t offset);
void vga_mem_write8(struct vga *v, uint32_t offset, uint8_t val);
/* QEMU stdvga BAR 2 (VGA_MMIO_BAR_SIZE): 0x400 VGA ports 0x3C0-0x3DF, 0x500
 * DISPI registers (16-bit, index * 2), 0x600 QEMU extended registers. */
extern const struct mmio_ops vga_bar2_ops;

/*
 * Attach to a memory map: register the legacy window and map the LFB at
 * `lfb_base` (VGA_LFB_DEFAULT before PCI exists; VGA_LFB_UNMAPPED for none).
 * `flush_tlb` is called after the LFB's dirty pages are re-armed so vCPUs
 * drop write entries cached for them (cpu_tlb_flush() on each); NULL makes
 * the VGA bump phys->gen instead, which is correct but also flushes decoded
 * code. Returns 0 or -errno.
 */
int vga_attach(struct vga *v, struct phys *p, uint64_t lfb_base, void (*flush_tlb)(void *ctx), void *ctx);
/* Move the LFB (PCI BAR 0 programmed), or unmap it with VGA_LFB_UNMAPPED. */
int vga_lfb_map(struct vga *v, uint64_t base);

/*
 * The VGA BIOS option ROM (Debian: /usr/share/seabios/vgabios-stdvga.bin).
 * The board reads the file (at most VGA_BIOS_MAX bytes) and checks it with
 * vga_bios_check() (0x55AA signature, length byte within the image), then
 * hands it to SeaBIOS the way QEMU does: as the fw_cfg file
 * "vgaroms/vgabios-stdvga.bin", or as the expansion ROM BAR of a PCI VGA
 * function 1234:1111. SeaBIOS built for QEMU (bios-256k.bin) clears
 * 0xC0000 and deploys the ROM there itself, in shadow RAM, because the VGA
 * BIOS writes into its own segment during POST (it records there that
 * DISPI exists). Without a PCI function it falls back to the LFB at
 * VGA_LFB_DEFAULT. vga_bios_install() copies the image into guest RAM at
 * 0xC0000 for boards or tests that run the ROM without SeaBIOS.
 * Return 0, or -1 with a message in err / -errno.
 */
#define VGA_BIOS_MAX (128u << 10)
int vga_bios_check(const uint8_t *image, size_t len, char *err, size_t errlen);
int vga_bios_install(struct phys *p, const uint8_t *image, size_t len);

/* Rendering (vga_render.c). */
struct vga_frame {
    uint32_t *pixels;  /* 0x00RRGGBB, row-major, width * height */
    unsigned width, height;
    size_t capacity;   /* pixels allocated */
    uint64_t seq;      /* picture_seq of the content (0: none yet) */
};
/*
 * Draw the current picture into `f` (grown as needed) at the mode's own
 * resolution: 720x400 for 80x25 text with 9-dot characters, 640x480 for mode
 * 12h, 320x200 for mode 13h, the VBE resolution for VBE modes. `now_ns`
 * drives the cursor and character blink. Returns 1 when `f` was redrawn, 0
 * when it already holds the current picture (and `force` is false), or
 * -ENOMEM. Several frames (a window, a screenshot) may be kept up to date
 * independently: each remembers which picture it holds.
 */
int vga_render(struct vga *v, uint64_t now_ns, struct vga_frame *f, bool force);
void vga_frame_free(struct vga_frame *f);

/* Text screen (vga_text.c). */
/* Text-mode geometry; false in graphics modes. */
bool vga_text_geometry(const struct vga *v, unsigned *cols, unsigned *rows);
/* Cursor cell, false when hidden or in a graphics mode. */
bool vga_text_cursor(const struct vga *v, unsigned *col, unsigned *row);
/*
 * The text screen as UTF-8, one line per row ending in '\n', trailing blanks
 * removed. Writes at most `size` bytes (NUL-terminated when size > 0) and
 * returns the length the full dump needs, like snprintf; 0 in graphics modes.
 */
size_t vga_text_dump(const struct vga *v, char *buf, size_t size);
/* Code page 437 -> Unicode. */
uint16_t vga_cp437_to_unicode(uint8_t c);

#endif
