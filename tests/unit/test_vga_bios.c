/*
 * The VGA against its real driver: Debian's SeaBIOS VGA BIOS
 * (vgabios-stdvga.bin) runs on Kestrel's CPU in real mode -- option ROM
 * initialisation, then INT 10h mode sets, teletype output, pixel writes and
 * VBE calls from a small real-mode stub (vga_bios_stub.asm) -- and the
 * picture is checked. The BIOS is the oracle for register programming; the
 * font bytes it hands out (INT 10h AX=1130h) are the oracle for glyphs;
 * colours are the IBM VGA default palettes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "devices/iobus.h"
#include "devices/vga.h"
#include "mmu/phys.h"
#include "tests/common/check_run.h"

#define STUB 0x1000

static struct phys P;
static struct iobus B;
static struct vga V;
static struct cpu C;

static uint32_t env_in(void *ctx, uint16_t port, int size) { return iobus_in(ctx, port, size); }
static void env_out(void *ctx, uint16_t port, int size, uint32_t val) { iobus_out(ctx, port, size, val); }
static int env_ack(void *ctx) { (void)ctx; return 8; }
static uint64_t env_clock(void *ctx) { (void)ctx; return C.icount; }
static void flush_tlb(void *ctx) { cpu_tlb_flush(ctx); }

static uint8_t *load(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    uint8_t *b = malloc(max);
    *len = fread(b, 1, max, f);
    fclose(f);
    return b;
}

/* Run the stub routine at STUB + 3 * n in real mode until it halts. */
static void run(unsigned n)
{
    for (int s = SEG_ES; s <= SEG_GS; s++)
        seg_load_real(&C, s, 0);
    C.gpr[R_ESP] = 0x7000;
    C.eip = STUB + 3 * n;
    C.halted = 0;
    cpu_update_mode(&C);
    cpu_tlb_flush(&C);
    enum cpu_exit r = CPU_EXIT_BUDGET;
    for (int k = 0; k < 400 && r != CPU_EXIT_HALT; k++) {
        r = cpu_exec(&C, 1u << 20);
        ck_assert_int_ne(r, CPU_EXIT_SHUTDOWN);
    }
    ck_assert_msg(r == CPU_EXIT_HALT, "routine %u did not finish (at %04x:%04x)", n, C.seg[SEG_CS].sel,
                  (unsigned)C.eip);
    /* halted inside the stub, not somewhere it jumped to */
    ck_assert_uint_eq(C.seg[SEG_CS].sel, 0);
    ck_assert(C.eip > STUB && C.eip < STUB + 0x200);
}

static uint16_t rd16(uint32_t a) { return (uint16_t)phys_read(&P, a, 2); }

static void setup(void)
{
    ck_assert_int_eq(phys_init(&P, 2u << 20), 0);
    iobus_init(&B);
    ck_assert_int_eq(vga_init(&V), 0);
    struct io_handler vga_ports = { vga_io_read, vga_io_write, &V, "vga" };
    struct io_handler dispi = { vga_dispi_read, vga_dispi_write, &V, "vbe" };
    ck_assert_int_eq(iobus_register(&B, 0x3b0, 48, &vga_ports), 0);
    ck_assert_int_eq(iobus_register(&B, 0x1ce, 3, &dispi), 0);
    struct cpu_env env = { .ctx = &B, .in = env_in, .out = env_out, .irq_ack = env_ack, .clock = env_clock };
    ck_assert_int_eq(cpu_init(&C, &P, &env), 0);
    cpu_reset(&C);
    ck_assert_int_eq(vga_attach(&V, &P, VGA_LFB_DEFAULT, flush_tlb, &C), 0);

    size_t len;
    uint8_t *rom = load("/usr/share/seabios/vgabios-stdvga.bin", VGA_BIOS_MAX + 1, &len);
    char err[128];
    ck_assert_int_eq(vga_bios_check(rom, len, err, sizeof(err)), 0);
    ck_assert_int_eq(vga_bios_install(&P, rom, len), 0);
    free(rom);
    uint8_t *stub = load(VGA_STUB_BIN, 4096, &len);
    phys_write_buf(&P, STUB, stub, len);
    free(stub);
    run(0); /* POST */
    /* The BIOS hooked INT 10h into its own segment. */
    ck_assert_uint_eq(rd16(0x10 * 4 + 2), 0xc000);
}

static void teardown(void)
{
    cpu_free(&C);
    vga_free(&V);
    phys_free(&P);
}

static uint32_t px(const struct vga_frame *f, unsigned x, unsigned y)
{
    ck_assert_uint_lt(x, f->width);
    ck_assert_uint_lt(y, f->height);
    return f->pixels[(size_t)y * f->width + x];
}

START_TEST(bios_text_mode)
{
    run(1);
    char buf[4096];
    vga_text_dump(&V, buf, sizeof(buf));
    ck_assert_msg(!strncmp(buf, "Kestrel VGA\nsecond line \xc3\xa9\n\n", 28), "screen: [%s]", buf);
    unsigned col, row;
    ck_assert(vga_text_cursor(&V, &col, &row));
    ck_assert_uint_eq(col, 10);
    ck_assert_uint_eq(row, 5);
    /* The glyphs on screen are the BIOS's own 8x16 font, grey on black. */
    uint32_t font = (uint32_t)rd16(0x502) * 16 + rd16(0x500);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 720);
    ck_assert_uint_eq(f.height, 400);
    const char *s = "Kestrel VGA";
    for (unsigned i = 0; s[i]; i++)
        for (unsigned y = 0; y < 16; y++) {
            uint8_t g = (uint8_t)phys_read(&P, font + (uint8_t)s[i] * 16u + y, 1);
            for (unsigned x = 0; x < 9; x++)
                ck_assert_uint_eq(px(&f, i * 9 + x, y), x < 8 && ((g >> (7 - x)) & 1) ? 0xaaaaaa : 0);
        }
    /* The cursor (lines 14-15 of the BIOS's default shape) under row 5, column 10. */
    ck_assert_uint_eq(px(&f, 10 * 9 + 4, 5 * 16 + 14), 0xaaaaaa);
    vga_frame_free(&f);
}
END_TEST

START_TEST(bios_mode13)
{
    run(2);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 320);
    ck_assert_uint_eq(f.height, 200);
    ck_assert_uint_eq(px(&f, 100, 50), 0xaa0000); /* default palette entry 4: red */
    ck_assert_uint_eq(px(&f, 101, 50), 0);
    ck_assert_uint_eq(V.vram[50 * 320 + 100], 4);
    vga_frame_free(&f);
}
END_TEST

START_TEST(bios_mode12)
{
    run(3);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(f.height, 480);
    ck_assert_uint_eq(px(&f, 639, 479), 0xffff55); /* colour 14: yellow */
    ck_assert_uint_eq(px(&f, 638, 479), 0);
    vga_frame_free(&f);
}
END_TEST

START_TEST(bios_vbe_lfb)
{
    run(4);
    ck_assert_uint_eq(rd16(0x500), 0x004f);
    ck_assert_uint_eq(phys_read(&P, 0x600, 4), 0x41534556); /* "VESA" */
    ck_assert_uint_ge(rd16(0x604), 0x0200);                 /* VBE 2.0 or later */
    ck_assert_uint_eq(rd16(0x612) * 64u * 1024u, VGA_VRAM_SIZE); /* total memory in 64 KiB blocks */
    ck_assert_uint_eq(rd16(0x502), 0x004f);
    ck_assert_uint_eq(rd16(0x800 + 0x12), 640);
    ck_assert_uint_eq(rd16(0x800 + 0x14), 480);
    ck_assert_uint_eq(phys_read(&P, 0x800 + 0x19, 1), 24);
    ck_assert_uint_eq(phys_read(&P, 0x800 + 0x28, 4), VGA_LFB_DEFAULT); /* PhysBasePtr */
    ck_assert_uint_eq(rd16(0x504), 0x004f);
    ck_assert_uint_eq(vga_dispi_get(&V, VBE_DISPI_INDEX_XRES), 640);
    ck_assert_uint_eq(vga_dispi_get(&V, VBE_DISPI_INDEX_YRES), 480);
    ck_assert_uint_eq(vga_dispi_get(&V, VBE_DISPI_INDEX_BPP), 24);
    ck_assert(vga_dispi_get(&V, VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_LFB_ENABLED);
    /* A guest write through the LFB shows up. */
    unsigned pitch = rd16(0x800 + 0x10);
    ck_assert_uint_eq(pitch, 640 * 3);
    phys_write(&P, VGA_LFB_DEFAULT + 479 * pitch + 639 * 3, 2, 0x3456);
    phys_write(&P, VGA_LFB_DEFAULT + 479 * pitch + 639 * 3 + 2, 1, 0x12);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(f.height, 480);
    ck_assert_uint_eq(px(&f, 639, 479), 0x123456);
    vga_frame_free(&f);
}
END_TEST

START_TEST(bios_vbe_banked)
{
    run(5);
    ck_assert_uint_eq(rd16(0x500), 0x004f);
    ck_assert_uint_eq(vga_dispi_get(&V, VBE_DISPI_INDEX_BPP), 8);
    ck_assert(!(vga_dispi_get(&V, VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_LFB_ENABLED));
    ck_assert_uint_eq(rd16(0x502), 0x004f);
    ck_assert_uint_eq(rd16(0x504), 0x004f);
    ck_assert_uint_eq(rd16(0x506), 4);
    ck_assert_uint_eq(vga_dispi_get(&V, VBE_DISPI_INDEX_BANK), 4);
    ck_assert_uint_eq(V.vram[479 * 640 + 639], 0x20);
    struct vga_frame f = { 0 };
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(f.height, 480);
    ck_assert_uint_eq(px(&f, 639, 479), 0x0000ff); /* default palette entry 20h: blue */
    vga_frame_free(&f);
}
END_TEST

START_TEST(bios_cga_ega)
{
    struct vga_frame f = { 0 };
    run(6);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 640);
    ck_assert_uint_eq(f.height, 200);
    ck_assert_uint_eq(px(&f, 639, 199), 0xffffff);
    ck_assert_uint_eq(px(&f, 638, 199), 0);
    ck_assert_uint_eq(px(&f, 639, 198), 0);
    run(7);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 320);
    ck_assert_uint_eq(f.height, 200);
    ck_assert_uint_eq(px(&f, 319, 199), 0xff5555); /* colour 12: light red */
    ck_assert_uint_eq(px(&f, 318, 199), 0);
    run(8);
    unsigned cols, rows;
    ck_assert(vga_text_geometry(&V, &cols, &rows));
    ck_assert_uint_eq(cols, 40);
    ck_assert_uint_eq(rows, 25);
    char buf[2048];
    vga_text_dump(&V, buf, sizeof(buf));
    ck_assert_mem_eq(buf, "Hi\n\n", 4);
    ck_assert_int_eq(vga_render(&V, 0, &f, false), 1);
    ck_assert_uint_eq(f.width, 720); /* 40 cells of 9 dots, each dot doubled */
    ck_assert_uint_eq(f.height, 400);
    vga_frame_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vga_bios");
    TCase *tc = tcase_create("seabios-vgabios");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bios_text_mode);
    tcase_add_test(tc, bios_mode13);
    tcase_add_test(tc, bios_mode12);
    tcase_add_test(tc, bios_vbe_lfb);
    tcase_add_test(tc, bios_vbe_banked);
    tcase_add_test(tc, bios_cga_ega);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
