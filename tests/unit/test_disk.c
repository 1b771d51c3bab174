/*
 * Image backends (devices/disk.c): what is accepted, what is refused with
 * which message, and that accesses stay inside the medium. ISO facts from
 * ECMA-119 (volume descriptors from sector 16: type, "CD001", version 1;
 * PVD volume space size both-endian at bytes 80-87, logical block size
 * both-endian at 128-131; type 255 terminates the set) and ECMA-167 (a UDF
 * volume recognition sequence starts with "BEA01").
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/disk.h"
#include "tests/common/check_run.h"

static char paths[16][64];
static int npaths;

static const char *tmpfile_with(const void *data, size_t len)
{
    char *p = paths[npaths++];
    snprintf(p, 64, "/tmp/kestrel-disk-XXXXXX");
    int fd = mkstemp(p);
    ck_assert_int_ge(fd, 0);
    if (len)
        ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return p;
}

static void cleanup(void)
{
    for (int k = 0; k < npaths; k++)
        unlink(paths[k]);
    npaths = 0;
}

/* An ISO of `sectors` sectors whose PVD claims `claim` blocks. */
static uint8_t *iso_image(size_t bytes, uint32_t claim)
{
    uint8_t *img = calloc(1, bytes);
    uint8_t *vd = img + 16 * 2048;
    memcpy(vd, "\001CD001\001", 7);
    for (int k = 0; k < 4; k++) {
        vd[80 + k] = (uint8_t)(claim >> (8 * k));
        vd[87 - k] = (uint8_t)(claim >> (8 * k));
    }
    vd[129] = 0x08, vd[130] = 0x08;
    memcpy(img + 17 * 2048, "\377CD001\001", 7);
    return img;
}

static int open_raw(const char *path, bool ro, struct disk *d, char *err, char *warn)
{
    return disk_open_raw(d, path, ro, err, 256, warn, 256);
}

START_TEST(raw_refusals)
{
    struct disk d;
    char err[256], warn[256];
    ck_assert_int_eq(open_raw(tmpfile_with(NULL, 0), false, &d, err, warn), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    ck_assert_int_eq(d.fd, -1);
    ck_assert_int_eq(open_raw("/nonexistent/kestrel.img", false, &d, err, warn), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/kestrel.img"));
    ck_assert_int_eq(open_raw("/tmp", true, &d, err, warn), -EISDIR);
    ck_assert_ptr_nonnull(strstr(err, "directory"));
    uint8_t h[1024] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    ck_assert_int_eq(open_raw(tmpfile_with(h, sizeof(h)), false, &d, err, warn), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "qcow"));
    memset(h, 0, sizeof(h));
    memcpy(h, "<<< Oracle VM VirtualBox Disk Image >>>\n", 40);
    h[64] = 0x7f, h[65] = 0x10, h[66] = 0xda, h[67] = 0xbe;
    ck_assert_int_eq(open_raw(tmpfile_with(h, sizeof(h)), false, &d, err, warn), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "VDI"));
    memset(h, 0, sizeof(h));
    memcpy(h, "vhdxfile", 8);
    ck_assert_int_eq(open_raw(tmpfile_with(h, sizeof(h)), false, &d, err, warn), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "VHDX"));
    cleanup();
}
END_TEST

/* A size that is not a multiple of 512: accepted with a warning, the tail
 * reads as zeros, and a write there extends the file without losing bytes. */
START_TEST(raw_padded_tail)
{
    uint8_t data[1000];
    for (int k = 0; k < 1000; k++)
        data[k] = (uint8_t)(k * 5 + 3);
    const char *p = tmpfile_with(data, sizeof(data));
    struct disk d;
    char err[256], warn[256];
    ck_assert_int_eq(open_raw(p, false, &d, err, warn), 0);
    ck_assert_ptr_nonnull(strstr(warn, "multiple of 512"));
    ck_assert_uint_eq(d.sectors, 2);
    uint8_t s[512];
    ck_assert_int_eq(disk_read(&d, 512, s, 512), 0);
    for (int k = 0; k < 512; k++)
        ck_assert_uint_eq(s[k], k < 488 ? data[512 + k] : 0);
    memset(s, 0x77, sizeof(s));
    ck_assert_int_eq(disk_write(&d, 512, s, 512), 0);
    ck_assert_int_eq(disk_flush(&d), 0);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_size, 1024);
    /* Outside the medium: refused, nothing touched. */
    ck_assert_int_eq(disk_read(&d, 1024, s, 1), -EINVAL);
    ck_assert_int_eq(disk_write(&d, 1000, s, 100), -EINVAL);
    ck_assert_int_eq(disk_read(&d, UINT64_MAX - 10, s, 20), -EINVAL);
    disk_close(&d);
    cleanup();
}
END_TEST

/* Raw images may hold anything: garbage reads back byte for byte;
 * read-only images refuse writes; an exact size gives no warning. */
START_TEST(raw_garbage_and_readonly)
{
    uint8_t *g = malloc(65536);
    uint32_t x = 99;
    for (int k = 0; k < 65536; k++) {
        x = x * 1664525u + 1013904223u;
        g[k] = (uint8_t)(x >> 24);
    }
    g[0] = 'X'; /* not a foreign format's magic */
    const char *p = tmpfile_with(g, 65536);
    struct disk d;
    char err[256], warn[256];
    ck_assert_int_eq(open_raw(p, true, &d, err, warn), 0);
    ck_assert_str_eq(warn, "");
    ck_assert_uint_eq(d.sectors, 128);
    uint8_t *b = malloc(65536);
    ck_assert_int_eq(disk_read(&d, 0, b, 65536), 0);
    ck_assert_int_eq(memcmp(b, g, 65536), 0);
    ck_assert_int_eq(disk_write(&d, 0, b, 512), -EROFS);
    /* Readers share; a writer is refused while they hold it, and the
     * other way round. */
    struct disk d2, d3;
    ck_assert_int_eq(open_raw(p, true, &d2, err, warn), 0);
    ck_assert_int_eq(open_raw(p, false, &d3, err, warn), -EBUSY);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    disk_close(&d);
    disk_close(&d2);
    ck_assert_int_eq(open_raw(p, false, &d3, err, warn), 0);
    ck_assert_int_eq(open_raw(p, true, &d2, err, warn), -EBUSY);
    disk_close(&d3);
    free(b);
    free(g);
    cleanup();
}
END_TEST

START_TEST(iso_checks)
{
    struct disk d;
    char err[256], warn[256];
    /* Empty, too small for the descriptor area, no descriptor at 16. */
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(NULL, 0), err, 256, warn, 256), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    uint8_t *z = calloc(1, 100 * 2048);
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(z, 10 * 1024), err, 256, warn, 256), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "too small"));
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(z, 40 * 2048), err, 256, warn, 256), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not an ISO 9660"));
    /* Garbage. */
    uint32_t x = 7;
    for (int k = 0; k < 100 * 2048; k++) {
        x = x * 1664525u + 1013904223u;
        z[k] = (uint8_t)(x >> 24);
    }
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(z, 100 * 2048), err, 256, warn, 256), -EINVAL);
    free(z);
    /* A good one: 40 sectors, PVD says 40. */
    uint8_t *img = iso_image(40 * 2048, 40);
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(img, 40 * 2048), err, 256, warn, 256), 0);
    ck_assert_str_eq(warn, "");
    ck_assert_uint_eq(d.sectors, 40);
    ck_assert_uint_eq(d.sector_size, 2048);
    ck_assert(d.read_only);
    uint8_t s[2048];
    ck_assert_int_eq(disk_read(&d, 16 * 2048, s, 2048), 0);
    ck_assert_int_eq(memcmp(s + 1, "CD001", 5), 0);
    ck_assert_int_eq(disk_write(&d, 0, s, 2048), -EROFS);
    disk_close(&d);
    /* Truncated: the PVD claims 50 sectors. */
    free(img);
    img = iso_image(40 * 2048, 50);
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(img, 40 * 2048), err, 256, warn, 256), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "truncated"));
    /* Both-endian fields that disagree. */
    img[16 * 2048 + 84] ^= 1;
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(img, 40 * 2048), err, 256, warn, 256), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed"));
    /* Not a multiple of 2048 (longer than the volume): accepted, warned. */
    free(img);
    img = iso_image(40 * 2048 + 100, 40);
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(img, 40 * 2048 + 100), err, 256, warn, 256), 0);
    ck_assert_ptr_nonnull(strstr(warn, "multiple of 2048"));
    ck_assert_uint_eq(d.sectors, 41);
    disk_close(&d);
    /* A set with no primary descriptor: only boot records, then the end. */
    free(img);
    img = iso_image(40 * 2048, 40);
    img[16 * 2048] = 0;
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(img, 40 * 2048), err, 256, warn, 256), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "primary volume descriptor"));
    /* UDF without an ISO 9660 bridge. */
    memset(img + 16 * 2048, 0, 2048);
    memcpy(img + 16 * 2048, "\000BEA01\001", 7);
    ck_assert_int_eq(disk_open_iso(&d, tmpfile_with(img, 40 * 2048), err, 256, warn, 256), 0);
    disk_close(&d);
    free(img);
    cleanup();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("disk");
    TCase *tc = tcase_create("disk");
    tcase_add_test(tc, raw_refusals);
    tcase_add_test(tc, raw_padded_tail);
    tcase_add_test(tc, raw_garbage_and_readonly);
    tcase_add_test(tc, iso_checks);
    suite_add_tcase(s, tc);
    return check_run(s, CK_FORK);
}
