/*
 * Guest physical memory: one host mapping for RAM, plus a short list of
 * ROM and MMIO regions. The soft TLB caches host pointers into RAM/ROM;
 * everything else goes through phys_read/phys_write, which dispatch MMIO
 * to the region's callbacks and treat unmapped addresses as open bus
 * (reads return all ones, writes are dropped).
 *
 * Per-page flags mark RAM pages that hold decoded or translated code: the
 * TLB never caches a write entry for them, so every guest write to such a
 * page reaches phys_write(), which calls the code-write hooks (the block
 * caches invalidate what they hold for that page). DMA takes the same path.
 */
#ifndef KESTREL_PHYS_H
#define KESTREL_PHYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum phys_kind { PHYS_RAM = 1, PHYS_ROM, PHYS_MMIO, PHYS_DEVRAM };

struct mmio_ops {
    uint32_t (*read)(void *opaque, uint64_t offset, int size);
    void (*write)(void *opaque, uint64_t offset, int size, uint32_t val);
};

struct phys_region {
    uint64_t base, size;
    enum phys_kind kind;
    uint8_t *host;               /* memory this region owns (ROM copy), freed with the map */
    uint8_t *host_r;             /* where reads go (RAM/ROM kinds); NULL: open bus */
    uint8_t *host_w;             /* where writes go; NULL: dropped (ROM) */
    const struct mmio_ops *ops;  /* MMIO callbacks */
    void *opaque;
    const char *name;
    uint8_t *dirty;              /* DEVRAM: one bit per 4 KiB page written (see phys_add_devram) */
    bool disabled;               /* not decoded (a PCI BAR switched off): phys_find skips it */
};

/* Page flag bits (phys.page_flags[], one byte per RAM page). */
#define PG_CODE 0x01 /* decoded/translated code lives here */

/* Someone who caches derived data about RAM contents (block caches). */
struct code_hook {
    void (*write)(void *opaque, uint64_t paddr, unsigned len);
    void *opaque;
};

#define PHYS_MAX_REGIONS 32
#define PHYS_MAX_HOOKS 4

struct phys {
    uint8_t *ram;          /* host mapping of guest RAM, from physical 0 */
    uint64_t ram_size;     /* bytes, multiple of 4 KiB */
    uint8_t *page_flags;   /* one byte per RAM page */
    uint64_t a20_mask;     /* ~0, or ~(1 << 20) with the A20 gate closed */
    unsigned log_unmapped; /* log accesses to open bus */
    struct phys_region region[PHYS_MAX_REGIONS];
    int nregions;
    struct code_hook hook[PHYS_MAX_HOOKS];
    int nhooks;
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;
    uint64_t gen;          /* bumped when the map or A20 changes: TLBs must flush */
    uint64_t plain_lo, plain_hi; /* RAM no other region overlaps (phys_find's fast path); may be empty */
};

int phys_init(struct phys *p, uint64_t ram_size);
void phys_free(struct phys *p);

/* Map regions. RAM always starts at 0; these add ROM/MMIO above or below it
 * (a later region shadows RAM where they overlap). Return 0 or -errno. */
int phys_add_rom(struct phys *p, uint64_t base, const void *data, uint64_t size, const char *name);
int phys_add_mmio(struct phys *p, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *opaque,
                  const char *name);
int phys_add_hook(struct phys *p, const struct code_hook *h);
/* A region whose reads and writes may go to different backings (PAM
 * shadowing: ROM read / RAM write and so on). Returns the region index
 * (>= 0) or -errno; phys_region_route() changes the backings later. */
int phys_add_routed(struct phys *p, uint64_t base, uint64_t size, uint8_t *host_r, uint8_t *host_w, const char *name);
void phys_region_route(struct phys *p, int idx, uint8_t *host_r, uint8_t *host_w);
/* Device memory (a framebuffer): a host buffer the device owns, which the
 * guest reads and writes like RAM. Writes set the page's bit in `dirty`;
 * a write entry is cached in the TLB only once the page's bit is set, so
 * after the device clears bits it must drop the vCPUs' TLB write entries
 * (cpu_tlb_flush, or gen++) to hear of the next write. Returns the region
 * index (>= 0) or -errno. */
int phys_add_devram(struct phys *p, uint64_t base, uint64_t size, uint8_t *host, uint8_t *dirty, const char *name);
/* Move a region to `base` (keeping its precedence), or stop decoding it
 * with enabled = false (PCI BAR reprogramming). Returns 0 or -EINVAL. */
int phys_region_move(struct phys *p, int idx, uint64_t base, bool enabled);

/* The region an address falls in (NULL: open bus); RAM is region 0. */
const struct phys_region *phys_find(const struct phys *p, uint64_t addr);

/* Load or store `size` (1, 2, 4, 8; other sizes byte by byte) bytes of a
 * guest value through a host pointer. A memcpy of a size known only at run
 * time is a library call; one per fixed size is a single move. */
static inline uint64_t host_ld(const uint8_t *p, int size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
    default: { uint64_t v = 0; memcpy(&v, p, (size_t)size); return v; }
    }
}

static inline void host_st(uint8_t *p, int size, uint64_t val)
{
    switch (size) {
    case 1: *p = (uint8_t)val; break;
    case 2: { uint16_t v = (uint16_t)val; memcpy(p, &v, 2); break; }
    case 4: { uint32_t v = (uint32_t)val; memcpy(p, &v, 4); break; }
    case 8: memcpy(p, &val, 8); break;
    default: memcpy(p, &val, (size_t)size); break;
    }
}

/* Host pointer to the page containing `addr` when it is RAM or ROM, else NULL.
 * `*writable` says whether guest writes may go straight to it. */
uint8_t *phys_page_ptr(struct phys *p, uint64_t addr, bool *writable);

/* Byte-exact access with MMIO dispatch; sizes 1, 2, 4 (8 is split). */
uint64_t phys_read(struct phys *p, uint64_t addr, int size);
void phys_write(struct phys *p, uint64_t addr, int size, uint64_t val);
/* Bulk copies (DMA, loaders). */
void phys_read_buf(struct phys *p, uint64_t addr, void *buf, size_t len);
void phys_write_buf(struct phys *p, uint64_t addr, const void *buf, size_t len);

/* Code tracking: mark a RAM page as holding code / notify writes. */
static inline bool phys_is_code(const struct phys *p, uint64_t addr)
{
    return addr < p->ram_size && (p->page_flags[addr >> 12] & PG_CODE);
}
void phys_mark_code(struct phys *p, uint64_t addr);
void phys_clear_code(struct phys *p, uint64_t addr);
void phys_notify_write(struct phys *p, uint64_t addr, unsigned len);

void phys_set_a20(struct phys *p, bool enabled);

#endif
