/*
 * Firmware images (--bios): a ROM mapped so that it ends at 4 GiB, with its
 * last 128 KiB also readable below 1 MiB through the chipset's PAM
 * segments (vm/pc.c), as on a PC. The CPU starts at the reset vector
 * F000:FFF0 (linear FFFFFFF0).
 */
#include <stdlib.h>
#include <string.h>

#include "vm/loadfile.h"
#include "vm/vm.h"

#define ROM_MAX (16u << 20)
#define ROM_LOW_MAX (128u << 10)

int vm_load_bios(struct vm *vm, const char *path)
{
    uint8_t *img;
    size_t len;
    if (load_file(path, ROM_MAX, &img, &len, vm->error, sizeof(vm->error)))
        return -1;
    if (len < 16) {
        vm_errorf(vm, "%s: firmware image too small (%zu bytes)", path, len);
        free(img);
        return -1;
    }
    /* Round up to whole pages (and at least the 128 KiB below 1 MiB),
     * padding in front so the image still ends at 4 GiB. */
    size_t size = (len + 0xfff) & ~(size_t)0xfff;
    if (size < ROM_LOW_MAX)
        size = ROM_LOW_MAX;
    uint8_t *rom = malloc(size);
    if (!rom) {
        free(img);
        vm_errorf(vm, "out of memory");
        return -1;
    }
    memset(rom, 0xff, size - len);
    memcpy(rom + (size - len), img, len);
    free(img);
    int err = phys_add_rom(&vm->mem, 0x100000000ull - size, rom, size, "bios");
    free(rom);
    if (err) {
        vm_errorf(vm, "%s: cannot map the firmware", path);
        return -1;
    }
    const struct phys_region *r = &vm->mem.region[vm->mem.nregions - 1];
    vm->bios_low = r->host + (size - ROM_LOW_MAX);
    pc_reset(vm); /* PAM to ROM, CPU to the reset vector */
    return 0;
}
