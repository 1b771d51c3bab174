/*
 * Guest physical memory map: RAM at 0, ROM and MMIO regions over it, open
 * bus elsewhere. See phys.h for the contract.
 */
#include "mmu/phys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Recompute the span phys_find() answers without scanning: from 1 MiB
 * (above the legacy holes) up to the first region over RAM. Each region
 * only ever shrinks the span, so none can end up inside it; a region
 * layout it handles badly just leaves more addresses to the scan. */
static void update_plain(struct phys *p)
{
    uint64_t lo = p->ram_size < 0x100000 ? p->ram_size : 0x100000, hi = p->ram_size;
    for (int i = 1; i < p->nregions; i++) {
        const struct phys_region *r = &p->region[i];
        if (r->disabled || r->base >= hi || r->base + r->size <= lo)
            continue;
        if (r->base <= lo)
            lo = r->base + r->size;
        else
            hi = r->base;
    }
    if (lo >= hi)
        lo = hi = 0;
    p->plain_lo = lo;
    p->plain_hi = hi;
}

/*
 * Guest RAM, placed on a 2 MiB boundary and offered to the kernel for
 * transparent huge pages (as QEMU does): guest code that walks megabytes
 * of memory otherwise pays a host TLB miss on top of every soft-TLB miss.
 * Still MAP_NORESERVE: untouched guest memory costs nothing.
 */
#define HUGE_ALIGN (2ull << 20)
static void *map_ram(uint64_t size)
{
    uint64_t span = size + HUGE_ALIGN;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *ram = (uint8_t *)(((uintptr_t)m + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
    if (ram > m)
        munmap(m, (size_t)(ram - m));
    if (ram + size < m + span)
        munmap(ram + size, (size_t)(m + span - (ram + size)));
#ifdef MADV_HUGEPAGE
    madvise(ram, size, MADV_HUGEPAGE); /* advice only: ignore failure */
#endif
    return ram;
}

int phys_init(struct phys *p, uint64_t ram_size)
{
    memset(p, 0, sizeof(*p));
    ram_size = (ram_size + 0xfff) & ~0xfffull;
    if (ram_size == 0 || ram_size > (1ull << 36))
        return -EINVAL;
    void *ram = map_ram(ram_size);
    if (!ram)
        return -errno;
    p->page_flags = calloc(ram_size >> 12, 1);
    if (!p->page_flags) {
        munmap(ram, ram_size);
        return -ENOMEM;
    }
    p->ram = ram;
    p->ram_size = ram_size;
    p->a20_mask = ~0ull;
    p->region[0] = (struct phys_region){
        .base = 0, .size = ram_size, .kind = PHYS_RAM, .host_r = ram, .host_w = ram, .name = "ram"
    };
    p->nregions = 1;
    update_plain(p);
    return 0;
}

void phys_free(struct phys *p)
{
    if (p->ram)
        munmap(p->ram, p->ram_size);
    for (int i = 1; i < p->nregions; i++)
        if (p->region[i].kind == PHYS_ROM)
            free(p->region[i].host);
    free(p->page_flags);
    memset(p, 0, sizeof(*p));
}

static int add_region(struct phys *p, const struct phys_region *r)
{
    if (p->nregions == PHYS_MAX_REGIONS)
        return -ENOSPC;
    if (r->size == 0 || (r->base & 0xfff) || (r->size & 0xfff) || r->base + r->size < r->base)
        return -EINVAL;
    p->region[p->nregions++] = *r;
    update_plain(p);
    p->gen++;
    return 0;
}

int phys_add_rom(struct phys *p, uint64_t base, const void *data, uint64_t size, const char *name)
{
    uint64_t alloc = (size + 0xfff) & ~0xfffull;
    void *mem = NULL; /* page-aligned: an accelerator (KVM) maps it as guest memory */
    if (posix_memalign(&mem, 0x1000, alloc))
        return -ENOMEM;
    uint8_t *copy = mem;
    memset(copy, 0xff, alloc);
    memcpy(copy, data, size);
    struct phys_region r = { .base = base, .size = alloc, .kind = PHYS_ROM, .host = copy, .host_r = copy, .name = name };
    int err = add_region(p, &r);
    if (err)
        free(copy);
    return err;
}

int phys_add_mmio(struct phys *p, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *opaque,
                  const char *name)
{
    struct phys_region r = {
        .base = base, .size = size, .kind = PHYS_MMIO, .ops = ops, .opaque = opaque, .name = name
    };
    return add_region(p, &r);
}

int phys_add_routed(struct phys *p, uint64_t base, uint64_t size, uint8_t *host_r, uint8_t *host_w, const char *name)
{
    struct phys_region r = { .base = base, .size = size, .kind = PHYS_RAM, .host_r = host_r, .host_w = host_w,
                             .name = name };
    int err = add_region(p, &r);
    return err ? err : p->nregions - 1;
}

void phys_region_route(struct phys *p, int idx, uint8_t *host_r, uint8_t *host_w)
{
    struct phys_region *r = &p->region[idx];
    if (r->host_r == host_r && r->host_w == host_w)
        return;
    r->host_r = host_r;
    r->host_w = host_w;
    p->gen++; /* TLBs and decoded blocks made under the old routing are stale */
}

int phys_add_devram(struct phys *p, uint64_t base, uint64_t size, uint8_t *host, uint8_t *dirty, const char *name)
{
    struct phys_region r = { .base = base, .size = size, .kind = PHYS_DEVRAM, .host_r = host, .host_w = host,
                             .dirty = dirty, .name = name };
    int err = add_region(p, &r);
    return err ? err : p->nregions - 1;
}

int phys_region_move(struct phys *p, int idx, uint64_t base, bool enabled)
{
    if (idx <= 0 || idx >= p->nregions || (base & 0xfff) || base + p->region[idx].size < base)
        return -EINVAL;
    p->region[idx].base = base;
    p->region[idx].disabled = !enabled;
    update_plain(p);
    p->gen++;
    return 0;
}

int phys_add_hook(struct phys *p, const struct code_hook *h)
{
    if (p->nhooks == PHYS_MAX_HOOKS)
        return -ENOSPC;
    p->hook[p->nhooks++] = *h;
    return 0;
}

const struct phys_region *phys_find(const struct phys *p, uint64_t addr)
{
    /* Most accesses (page walks, RAM not in the TLB) land in plain RAM. */
    if (addr - p->plain_lo < p->plain_hi - p->plain_lo)
        return &p->region[0];
    /* Later regions shadow earlier ones (ROM/MMIO over RAM). */
    for (int i = p->nregions - 1; i >= 0; i--) {
        const struct phys_region *r = &p->region[i];
        if (addr - r->base < r->size && !r->disabled)
            return r;
    }
    return NULL;
}

/* RAM offset of a backing pointer, or -1 if it is not guest RAM. */
static int64_t ram_offset(const struct phys *p, const uint8_t *host)
{
    return host >= p->ram && host < p->ram + p->ram_size ? host - p->ram : -1;
}

uint8_t *phys_page_ptr(struct phys *p, uint64_t addr, bool *writable)
{
    const struct phys_region *r = phys_find(p, addr);
    *writable = false;
    if (!r || r->kind == PHYS_MMIO || !r->host_r)
        return NULL;
    uint64_t off = (addr - r->base) & ~0xfffull;
    if (r->kind == PHYS_DEVRAM) {
        /* Direct writes only once the page is known dirty: the first one
         * takes the slow path and sets the bit. */
        *writable = (r->dirty[off >> 15] >> ((off >> 12) & 7)) & 1;
    } else if (r->host_w == r->host_r) {
        int64_t ra = ram_offset(p, r->host_w + off);
        *writable = ra >= 0 && !(p->page_flags[ra >> 12] & PG_CODE);
    }
    return r->host_r + off;
}

static void log_open_bus(struct phys *p, const char *what, uint64_t addr, int size, uint64_t val)
{
    if (!p->log_unmapped || !p->log)
        return;
    char msg[96];
    snprintf(msg, sizeof(msg), "phys: %s of %d bytes at unmapped %#llx (value %#llx)", what, size,
             (unsigned long long)addr, (unsigned long long)val);
    p->log(p->log_ctx, msg);
}

static uint64_t read_one(struct phys *p, uint64_t addr, int size)
{
    const struct phys_region *r = phys_find(p, addr);
    if (r && addr + size - r->base <= r->size) {
        if (r->kind == PHYS_MMIO)
            return r->ops->read(r->opaque, addr - r->base, size);
        if (!r->host_r)
            return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        return host_ld(r->host_r + (addr - r->base), size);
    }
    if (r) { /* straddles a region end: split into bytes */
        uint64_t v = 0;
        for (int i = 0; i < size; i++)
            v |= read_one(p, addr + i, 1) << (8 * i);
        return v;
    }
    log_open_bus(p, "read", addr, size, 0);
    return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

uint64_t phys_read(struct phys *p, uint64_t addr, int size)
{
    addr &= p->a20_mask;
    if (size == 8)
        return read_one(p, addr, 4) | read_one(p, addr + 4, 4) << 32;
    return read_one(p, addr, size);
}

void phys_notify_write(struct phys *p, uint64_t addr, unsigned len)
{
    for (int i = 0; i < p->nhooks; i++)
        p->hook[i].write(p->hook[i].opaque, addr, len);
}

static void write_one(struct phys *p, uint64_t addr, int size, uint64_t val)
{
    const struct phys_region *r = phys_find(p, addr);
    if (r && addr + size - r->base <= r->size) {
        if (r->kind == PHYS_MMIO) {
            r->ops->write(r->opaque, addr - r->base, size, (uint32_t)val);
        } else if (r->host_w) { /* no write backing (ROM): writes are ignored */
            uint8_t *dst = r->host_w + (addr - r->base);
            if (r->kind == PHYS_DEVRAM) /* the pages of the first and last byte */
                for (uint64_t off = addr - r->base; off <= addr - r->base + size - 1; off = (off | 0xfff) + 1)
                    r->dirty[off >> 15] |= (uint8_t)(1u << ((off >> 12) & 7));
            int64_t ra = ram_offset(p, dst);
            if (ra >= 0 && (p->page_flags[ra >> 12] & PG_CODE))
                phys_notify_write(p, (uint64_t)ra, size);
            host_st(dst, size, val);
        }
        return;
    }
    if (r) {
        for (int i = 0; i < size; i++)
            write_one(p, addr + i, 1, val >> (8 * i));
        return;
    }
    log_open_bus(p, "write", addr, size, val);
}

void phys_write(struct phys *p, uint64_t addr, int size, uint64_t val)
{
    addr &= p->a20_mask;
    if (size == 8) {
        write_one(p, addr, 4, (uint32_t)val);
        write_one(p, addr + 4, 4, val >> 32);
        return;
    }
    write_one(p, addr, size, val);
}

void phys_read_buf(struct phys *p, uint64_t addr, void *buf, size_t len)
{
    uint8_t *b = buf;
    while (len) {
        uint64_t a = addr & p->a20_mask;
        size_t chunk = 0x1000 - (a & 0xfff);
        if (chunk > len)
            chunk = len;
        const struct phys_region *r = phys_find(p, a);
        if (r && r->kind != PHYS_MMIO && r->host_r && a + chunk - r->base <= r->size) {
            memcpy(b, r->host_r + (a - r->base), chunk);
        } else {
            for (size_t i = 0; i < chunk; i++)
                b[i] = (uint8_t)phys_read(p, addr + i, 1);
        }
        b += chunk, addr += chunk, len -= chunk;
    }
}

void phys_write_buf(struct phys *p, uint64_t addr, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    while (len) {
        uint64_t a = addr & p->a20_mask;
        size_t chunk = 0x1000 - (a & 0xfff);
        if (chunk > len)
            chunk = len;
        const struct phys_region *r = phys_find(p, a);
        if (r && r->kind == PHYS_RAM && r == &p->region[0] && a + chunk - r->base <= r->size) {
            if (p->page_flags[a >> 12] & PG_CODE)
                phys_notify_write(p, a, chunk);
            memcpy(r->host_w + (a - r->base), b, chunk);
        } else {
            for (size_t i = 0; i < chunk; i++)
                phys_write(p, addr + i, 1, b[i]);
        }
        b += chunk, addr += chunk, len -= chunk;
    }
}

void phys_mark_code(struct phys *p, uint64_t addr)
{
    if (addr < p->ram_size)
        p->page_flags[addr >> 12] |= PG_CODE;
}

void phys_clear_code(struct phys *p, uint64_t addr)
{
    if (addr < p->ram_size)
        p->page_flags[addr >> 12] &= (uint8_t)~PG_CODE;
}

void phys_set_a20(struct phys *p, bool enabled)
{
    uint64_t mask = enabled ? ~0ull : ~(1ull << 20);
    if (mask != p->a20_mask) {
        p->a20_mask = mask;
        p->gen++;
    }
}
