/*
 * Multiboot (version 1) kernel loading: find the header in the first 8 KiB,
 * load the ELF program segments (or the a.out-kludge image the header
 * describes) at their physical addresses, build the information structure
 * (memory sizes, memory map, command line, loader name) and start the
 * kernel in 32-bit protected mode as the specification says: EAX =
 * 0x2BADB002, EBX = the info structure, flat segments, paging and
 * interrupts off, A20 on.
 *
 * Everything in the file is untrusted: offsets and sizes are checked
 * against the file and against guest RAM before anything is copied.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/seg.h"
#include "vm/loadfile.h"
#include "vm/vm.h"

#define MB_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_SEARCH 8192
#define MB_FLAG_AOUT (1u << 16)
#define KERNEL_MAX (256u << 20)

/* Where the loader puts its own structures (below 640 KiB). */
#define GDT_ADDR 0x8000u
#define INFO_ADDR 0x9000u
#define STACK_TOP 0x7ff0u

struct mb_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static const struct mb_header *find_header(const uint8_t *img, size_t len, size_t *off)
{
    size_t lim = len < MB_SEARCH ? len : MB_SEARCH;
    for (size_t o = 0; o + 12 <= lim; o += 4) {
        const struct mb_header *h = (const void *)(img + o);
        uint32_t m, f, c;
        memcpy(&m, &h->magic, 4);
        memcpy(&f, &h->flags, 4);
        memcpy(&c, &h->checksum, 4);
        if (m == MB_MAGIC && (uint32_t)(m + f + c) == 0) {
            *off = o;
            return h;
        }
    }
    return NULL;
}

static bool fits_ram(struct vm *vm, uint64_t addr, uint64_t size)
{
    return addr + size >= addr && addr + size <= vm->mem.ram_size;
}

static int load_elf(struct vm *vm, const char *path, uint8_t *img, size_t len, uint32_t *entry, uint64_t *hi)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        vm_errorf(vm, "libelf initialisation failed");
        return -1;
    }
    Elf *e = elf_memory((char *)img, len);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        vm_errorf(vm, "%s: not an ELF file and no a.out-kludge multiboot header", path);
        if (e)
            elf_end(e);
        return -1;
    }
    int rc = -1;
    GElf_Ehdr eh;
    size_t nph;
    if (!gelf_getehdr(e, &eh) || gelf_getclass(e) != ELFCLASS32 || eh.e_machine != EM_386) {
        vm_errorf(vm, "%s: not a 32-bit x86 ELF file", path);
        goto out;
    }
    if (elf_getphdrnum(e, &nph) || nph == 0) {
        vm_errorf(vm, "%s: ELF file has no program headers", path);
        goto out;
    }
    int loaded = 0;
    for (size_t k = 0; k < nph; k++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)k, &ph)) {
            vm_errorf(vm, "%s: malformed program header %zu", path, k);
            goto out;
        }
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset) {
            vm_errorf(vm, "%s: segment %zu lies outside the file", path, k);
            goto out;
        }
        if (!fits_ram(vm, ph.p_paddr, ph.p_memsz) || ph.p_paddr < 0x10000) {
            vm_errorf(vm, "%s: segment %zu at %#llx (+%#llx) does not fit guest RAM above 64 KiB", path, k,
                      (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
            goto out;
        }
        phys_write_buf(&vm->mem, ph.p_paddr, img + ph.p_offset, ph.p_filesz);
        memset(vm->mem.ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        if (ph.p_paddr + ph.p_memsz > *hi)
            *hi = ph.p_paddr + ph.p_memsz;
        loaded++;
    }
    if (!loaded) {
        vm_errorf(vm, "%s: ELF file has no loadable segments", path);
        goto out;
    }
    *entry = (uint32_t)eh.e_entry;
    rc = 0;
out:
    elf_end(e);
    return rc;
}

static int load_aout(struct vm *vm, const char *path, const uint8_t *img, size_t len, size_t hoff,
                     const struct mb_header *hp, uint32_t *entry, uint64_t *hi)
{
    struct mb_header h;
    memcpy(&h, hp, sizeof(h) <= len - hoff ? sizeof(h) : len - hoff);
    if (len - hoff < sizeof(h) || h.load_addr > h.header_addr) {
        vm_errorf(vm, "%s: malformed multiboot address fields", path);
        return -1;
    }
    uint64_t file_off = hoff - (h.header_addr - h.load_addr);
    if (hoff < h.header_addr - h.load_addr) {
        vm_errorf(vm, "%s: multiboot load address precedes the file", path);
        return -1;
    }
    uint64_t load_end = h.load_end_addr ? h.load_end_addr : h.load_addr + (len - file_off);
    uint64_t bss_end = h.bss_end_addr ? h.bss_end_addr : load_end;
    if (load_end < h.load_addr || bss_end < load_end || file_off + (load_end - h.load_addr) > len ||
        !fits_ram(vm, h.load_addr, bss_end - h.load_addr) || h.load_addr < 0x10000) {
        vm_errorf(vm, "%s: multiboot image does not fit the file or guest RAM", path);
        return -1;
    }
    phys_write_buf(&vm->mem, h.load_addr, img + file_off, load_end - h.load_addr);
    memset(vm->mem.ram + load_end, 0, bss_end - load_end);
    *entry = h.entry_addr;
    *hi = bss_end;
    return 0;
}

static void put32(struct vm *vm, uint64_t addr, uint32_t v)
{
    phys_write(&vm->mem, addr, 4, v);
}

int vm_load_kernel(struct vm *vm, const char *path, const char *initrd, const char *cmdline)
{
    uint8_t *img;
    size_t len;
    if (load_file(path, KERNEL_MAX, &img, &len, vm->error, sizeof(vm->error)))
        return -1;
    int rc;
    if (linux_is_bzimage(img, len)) {
        rc = vm_load_linux(vm, path, img, len, initrd, cmdline);
    } else if (initrd) {
        vm_errorf(vm, "%s: --initrd needs a Linux bzImage kernel", path);
        rc = -1;
    } else {
        rc = vm_load_multiboot(vm, path, img, len, cmdline);
    }
    free(img);
    return rc;
}

int vm_load_multiboot(struct vm *vm, const char *path, uint8_t *img, size_t len, const char *cmdline)
{
    size_t hoff;
    const struct mb_header *h = find_header(img, len, &hoff);
    if (!h) {
        vm_errorf(vm, "%s: neither a Linux bzImage nor a multiboot kernel (no header in the first 8 KiB)", path);
        return -1;
    }
    uint32_t flags;
    memcpy(&flags, &h->flags, 4);
    if (flags & 0xfff8u) {
        vm_errorf(vm, "%s: multiboot header requires unsupported features (flags %#x)", path, flags);
        return -1;
    }
    uint32_t entry = 0;
    uint64_t hi = 0; /* end of the loaded image (segments start at or above 64 KiB, clear of our area) */
    int rc = (flags & MB_FLAG_AOUT) ? load_aout(vm, path, img, len, hoff, h, &entry, &hi)
                                    : load_elf(vm, path, img, len, &entry, &hi);
    if (rc)
        return -1;
    if (entry >= vm->mem.ram_size) {
        vm_errorf(vm, "%s: entry point %#x is outside guest RAM", path, entry);
        return -1;
    }
    if (vm->mem.ram_size < 0x200000) {
        vm_errorf(vm, "multiboot needs at least 2 MiB of guest memory");
        return -1;
    }

    /* Information structure, command line, loader name and memory map. */
    uint64_t ram = vm->mem.ram_size;
    uint32_t info = INFO_ADDR, p = INFO_ADDR + 0x100;
    for (uint32_t k = 0; k < 0x1000; k += 4)
        put32(vm, info + k, 0);
    const char *cl = cmdline ? cmdline : "";
    size_t cllen = strlen(cl);
    if (cllen > 0x800)
        cllen = 0x800;
    uint32_t cl_addr = p;
    phys_write_buf(&vm->mem, cl_addr, cl, cllen);
    phys_write(&vm->mem, cl_addr + cllen, 1, 0);
    p += (uint32_t)((cllen + 16) & ~15u);
    static const char name[] = "Kestrel";
    uint32_t name_addr = p;
    phys_write_buf(&vm->mem, name_addr, name, sizeof(name));
    p += 16;
    uint32_t mmap_addr = p;
    struct { uint64_t base, len; uint32_t type; } map[] = {
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x100000, ram - 0x100000, 1 },
    };
    for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
        put32(vm, p, 20);
        put32(vm, p + 4, (uint32_t)map[k].base);
        put32(vm, p + 8, (uint32_t)(map[k].base >> 32));
        put32(vm, p + 12, (uint32_t)map[k].len);
        put32(vm, p + 16, (uint32_t)(map[k].len >> 32));
        put32(vm, p + 20, map[k].type);
        p += 24;
    }
    uint64_t upper_kb = (ram - 0x100000) / 1024;
    put32(vm, info + 0, (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9));
    put32(vm, info + 4, 639);
    put32(vm, info + 8, (uint32_t)(upper_kb > 0xffffffffu ? 0xffffffffu : upper_kb));
    put32(vm, info + 16, cl_addr);
    put32(vm, info + 44, p - mmap_addr);
    put32(vm, info + 48, mmap_addr);
    put32(vm, info + 64, name_addr);

    /* A flat GDT (null, code 0x08, data 0x10) so segment reloads behave. */
    put32(vm, GDT_ADDR + 0, 0);
    put32(vm, GDT_ADDR + 4, 0);
    put32(vm, GDT_ADDR + 8, 0x0000ffff);
    put32(vm, GDT_ADDR + 12, 0x00cf9b00);
    put32(vm, GDT_ADDR + 16, 0x0000ffff);
    put32(vm, GDT_ADDR + 20, 0x00cf9300);

    struct cpu *c = &vm->cpu;
    cpu_reset(c);
    phys_set_a20(&vm->mem, true);
    cpu_set_flat32(c);
    c->gdtr = (struct dtr){ GDT_ADDR, 23 };
    c->idtr = (struct dtr){ 0, 0x3ff };
    c->gpr[R_EAX] = MB_BOOT_MAGIC;
    c->gpr[R_EBX] = info;
    c->gpr[R_ESP] = STACK_TOP;
    c->eip = entry;
    return 0;
}
