/*
 * Kernel and firmware loaders against bad input: missing, empty, truncated,
 * oversized and garbage files, and thousands of random mutations of valid
 * Multiboot ELF and Linux bzImage images. Each load must either succeed or
 * fail with a message in vm->error; none may crash or touch memory it
 * should not (this test also runs under AddressSanitizer).
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/vm.h"
#include "tests/common/check_run.h"

static char path[64];

static void write_file(const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static struct vm *new_vm(void)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    struct vm_config cfg = { .mem_size = 64u << 20 };
    ck_assert_int_eq(vm_init(vm, &cfg), 0);
    ck_assert_int_eq(pc_finalize(vm), 0);
    return vm;
}

static void free_vm(struct vm *vm)
{
    vm_free(vm);
    free(vm);
}

/* Load must fail with a message. */
static void expect_error(int (*load)(struct vm *), const char *what)
{
    struct vm *vm = new_vm();
    int rc = load(vm);
    ck_assert_msg(rc != 0, "%s: loaded", what);
    ck_assert_msg(vm->error[0] != '\0', "%s: no error message", what);
    free_vm(vm);
}

static int load_kernel(struct vm *vm) { return vm_load_kernel(vm, path, NULL, "console=ttyS0"); }
static int load_bios(struct vm *vm) { return vm_load_bios(vm, path); }

/* A minimal valid Multiboot ELF: one PT_LOAD segment at 1 MiB holding the
 * header and `hlt`. */
static size_t make_multiboot(uint8_t *b, size_t cap)
{
    memset(b, 0, cap);
    size_t len = 0x2000;
    ck_assert(cap >= len);
    /* ELF header */
    memcpy(b, "\x7f" "ELF\x01\x01\x01", 7);
    b[16] = 2, b[18] = 3, b[20] = 1;                 /* ET_EXEC, EM_386, version */
    uint32_t entry = 0x100000 + 0x100c, phoff = 52;
    memcpy(b + 24, &entry, 4);
    memcpy(b + 28, &phoff, 4);
    b[40] = 52, b[42] = 32, b[44] = 1;               /* ehsize, phentsize, phnum */
    /* program header: PT_LOAD offset 0x1000 -> paddr 1 MiB */
    uint32_t ph[8] = { 1, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000, 5, 0x1000 };
    memcpy(b + 52, ph, sizeof(ph));
    /* multiboot header + hlt at file offset 0x1000 */
    uint32_t mb[3] = { 0x1BADB002u, 0, (uint32_t)-0x1BADB002 };
    memcpy(b + 0x1000, mb, sizeof(mb));
    b[0x100c] = 0xf4;
    return len;
}

/* A minimal bzImage: setup header with protocol 2.10, loadflags LOADED_HIGH,
 * one setup sector, then a protected-mode part of `pm` bytes. */
static size_t make_bzimage(uint8_t *b, size_t cap, size_t pm)
{
    size_t len = 2 * 512 + pm;
    ck_assert(cap >= len);
    memset(b, 0, len);
    b[0x1f1] = 1;                     /* setup_sects */
    b[0x1fe] = 0x55, b[0x1ff] = 0xaa;
    b[0x200] = 0xeb, b[0x201] = 0x66; /* jump over a 0x66-byte header */
    memcpy(b + 0x202, "HdrS", 4);
    b[0x206] = 0x0a, b[0x207] = 0x02; /* 2.10 */
    b[0x211] = 0x01;                  /* LOADED_HIGH */
    uint32_t initrd_max = 0x37ffffff, cmdline_size = 2048, init_size = (uint32_t)pm;
    memcpy(b + 0x22c, &initrd_max, 4);
    memcpy(b + 0x238, &cmdline_size, 4);
    memcpy(b + 0x260, &init_size, 4);
    memset(b + 1024, 0xf4, pm);
    return len;
}

START_TEST(missing_empty_and_oversized)
{
    strcpy(path, "/nonexistent/kestrel-kernel");
    expect_error(load_kernel, "missing kernel");
    expect_error(load_bios, "missing bios");
    snprintf(path, sizeof(path), "/tmp");
    expect_error(load_kernel, "directory");
    snprintf(path, sizeof(path), "/tmp/kestrel-loader-%d", (int)getpid());
    write_file("", 0);
    expect_error(load_kernel, "empty kernel");
    expect_error(load_bios, "empty bios");
    write_file("\xf4", 1);
    expect_error(load_kernel, "1-byte kernel");
    expect_error(load_bios, "1-byte bios");
    /* A sparse file far beyond the loaders' limits. */
    int fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1ll << 30), 0);
    close(fd);
    expect_error(load_kernel, "1 GiB kernel");
    expect_error(load_bios, "1 GiB bios");
    unlink(path);
}
END_TEST

START_TEST(valid_images_load)
{
    static uint8_t img[1 << 20];
    snprintf(path, sizeof(path), "/tmp/kestrel-loader-%d", (int)getpid());
    write_file(img, make_multiboot(img, sizeof(img)));
    struct vm *vm = new_vm();
    ck_assert_msg(vm_load_kernel(vm, path, NULL, "x") == 0, "multiboot: %s", vm->error);
    ck_assert_uint_eq(vm->cpu.eip, 0x10100c);
    ck_assert_uint_eq(vm->cpu.gpr[R_EAX], 0x2BADB002u);
    free_vm(vm);
    write_file(img, make_bzimage(img, sizeof(img), 4096));
    vm = new_vm();
    ck_assert_msg(vm_load_kernel(vm, path, NULL, "console=ttyS0") == 0, "bzImage: %s", vm->error);
    ck_assert_uint_eq(vm->cpu.eip, 0x100000);
    ck_assert_uint_eq(vm->cpu.gpr[R_ESI], 0x10000);
    ck_assert_uint_eq(vm->mem.ram[0x100000], 0xf4);
    free_vm(vm);
    unlink(path);
}
END_TEST

START_TEST(truncations)
{
    static uint8_t img[1 << 20];
    snprintf(path, sizeof(path), "/tmp/kestrel-loader-%d", (int)getpid());
    size_t mb = make_multiboot(img, sizeof(img));
    for (size_t len = 0; len < mb; len += 97) {
        write_file(img, len);
        struct vm *vm = new_vm();
        if (vm_load_kernel(vm, path, NULL, NULL))
            ck_assert_msg(vm->error[0], "truncated multiboot at %zu: no message", len);
        free_vm(vm);
    }
    size_t bz = make_bzimage(img, sizeof(img), 4096);
    for (size_t len = 0; len < bz; len += 61) {
        write_file(img, len);
        struct vm *vm = new_vm();
        if (vm_load_kernel(vm, path, NULL, NULL))
            ck_assert_msg(vm->error[0], "truncated bzImage at %zu: no message", len);
        free_vm(vm);
    }
    unlink(path);
}
END_TEST

/* Random byte mutations of valid images: load or clean error, never a crash. */
START_TEST(mutations)
{
    static uint8_t base[1 << 16], img[1 << 16];
    snprintf(path, sizeof(path), "/tmp/kestrel-loader-%d", (int)getpid());
    uint64_t seed = 0x6b657374726c31ull;
    const char *env = getenv("LOADER_FUZZ_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    int rounds = getenv("LOADER_FUZZ_ROUNDS") ? atoi(getenv("LOADER_FUZZ_ROUNDS")) : 400;
    printf("loader fuzz: seed %#llx, %d rounds per image kind\n", (unsigned long long)seed, rounds);
    struct vm *vm = new_vm();
    for (int kind = 0; kind < 2; kind++) {
        size_t len = kind ? make_bzimage(base, sizeof(base), 8192) : make_multiboot(base, sizeof(base));
        for (int r = 0; r < rounds; r++) {
            memcpy(img, base, len);
            int flips = 1 + (int)(seed % 16);
            for (int k = 0; k < flips; k++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                /* Aim at the headers most of the time: that is where parsing happens. */
                size_t at = (seed >> 33) % ((seed & 1) ? 0x300 : len);
                img[at] = (uint8_t)(seed >> 17);
            }
            write_file(img, len);
            free_vm(vm); /* a fresh machine each round */
            vm = new_vm();
            if (vm_load_kernel(vm, path, NULL, "console=ttyS0"))
                ck_assert_msg(vm->error[0], "kind %d round %d: failed without a message", kind, r);
        }
    }
    free_vm(vm);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loaders");
    TCase *tc = tcase_create("loaders");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, missing_empty_and_oversized);
    tcase_add_test(tc, valid_images_load);
    tcase_add_test(tc, truncations);
    tcase_add_test(tc, mutations);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
