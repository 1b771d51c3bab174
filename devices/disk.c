/*
 * Raw and ISO 9660 image backends (see disk.h for the rules). The checks
 * at open time are the whole of the validation: after that every access
 * is a bounds-checked pread/pwrite on the file.
 *
 * ISO 9660 facts used here (ECMA-119, 2nd edition): the volume descriptor
 * set starts at logical sector 16; each descriptor is one 2048-byte sector
 * with its type in byte 0, "CD001" in bytes 1-5 and version 1 in byte 6;
 * type 1 is the primary volume descriptor, 255 ends the set. The PVD's
 * volume space size is a both-endian 32-bit field at bytes 80-87 and its
 * logical block size a both-endian 16-bit field at bytes 128-131. A UDF
 * image instead starts its volume recognition sequence at sector 16 with
 * "BEA01" (ECMA-167), which we accept as a CD/DVD medium too.
 */
#include "devices/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_msg(char *buf, size_t len, const char *fmt, const char *path, const char *what)
{
    if (buf && len)
        snprintf(buf, len, fmt, path, what);
}

/* pread that retries short reads and EINTR; bytes past EOF read as zeros. */
static int read_full(int fd, uint64_t off, void *buf, size_t len)
{
    uint8_t *b = buf;
    while (len) {
        ssize_t n = pread(fd, b, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0) { /* end of file: the padded tail */
            memset(b, 0, len);
            return 0;
        }
        b += n, off += (uint64_t)n, len -= (size_t)n;
    }
    return 0;
}

static int write_full(int fd, uint64_t off, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    while (len) {
        ssize_t n = pwrite(fd, b, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        b += n, off += (uint64_t)n, len -= (size_t)n;
    }
    return 0;
}

/* Images in a format other than raw, by their magic numbers. */
static const char *foreign_format(const uint8_t *h, size_t n)
{
    if (n >= 4 && !memcmp(h, "QFI\xfb", 4))
        return "a qcow/qcow2 image";
    if (n >= 4 && !memcmp(h, "QED", 4))
        return "a QED image";
    if (n >= 4 && !memcmp(h, "KDMV", 4))
        return "a VMDK sparse extent";
    if (n >= 21 && !memcmp(h, "# Disk DescriptorFile", 21))
        return "a VMDK descriptor";
    if (n >= 68 && h[64] == 0x7f && h[65] == 0x10 && h[66] == 0xda && h[67] == 0xbe)
        return "a VirtualBox VDI image";
    if (n >= 8 && !memcmp(h, "vhdxfile", 8))
        return "a VHDX image";
    if (n >= 8 && !memcmp(h, "conectix", 8))
        return "a dynamic VHD image";
    if (n >= 6 && !memcmp(h, "LUKS\xba\xbe", 6))
        return "a LUKS encrypted volume";
    return NULL;
}

/* Open, lock and size the file; common to both kinds. */
static int open_image(struct disk *d, const char *path, bool read_only, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->fd = -1;
    snprintf(d->path, sizeof(d->path), "%s", path);
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (!read_only && (e == EACCES || e == EROFS || e == EPERM))
            set_msg(err, errlen, "%s: cannot open for writing (%s); add ',ro' to attach it read-only", path,
                    strerror(e));
        else
            set_msg(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        int e = errno;
        set_msg(err, errlen, "%s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        set_msg(err, errlen, "%s: %s", path, "is a directory, not an image file");
        close(fd);
        return -EISDIR;
    }
    off_t end = lseek(fd, 0, SEEK_END); /* block devices report their size here, not in st_size */
    if (end < 0) {
        int e = errno;
        set_msg(err, errlen, "%s: cannot determine the size: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    if (end == 0) {
        set_msg(err, errlen, "%s: %s", path, "the image is empty");
        close(fd);
        return -EINVAL;
    }
    /* Two writers on one image corrupt it; readers may share. */
    if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
        int e = errno;
        if (e == EWOULDBLOCK)
            set_msg(err, errlen, "%s: %s", path,
                    read_only ? "is in use for writing (locked by another process, or attached twice)"
                              : "is in use (locked by another process, or attached twice); ',ro' shares it read-only");
        else
            set_msg(err, errlen, "%s: cannot lock: %s", path, strerror(e));
        close(fd);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    d->fd = fd;
    d->file_size = (uint64_t)end;
    d->read_only = read_only;
    return 0;
}

static void fail_close(struct disk *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

int disk_open_raw(struct disk *d, const char *path, bool read_only, char *err, size_t errlen, char *warn,
                  size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = 0;
    int rc = open_image(d, path, read_only, err, errlen);
    if (rc)
        return rc;
    uint8_t head[512];
    size_t n = d->file_size < sizeof(head) ? (size_t)d->file_size : sizeof(head);
    if ((rc = read_full(d->fd, 0, head, n))) {
        set_msg(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        fail_close(d);
        return rc;
    }
    const char *fmt = foreign_format(head, n);
    if (fmt) {
        char what[160];
        snprintf(what, sizeof(what), "is %s, not a raw disk image (convert it with 'qemu-img convert -O raw')", fmt);
        set_msg(err, errlen, "%s: %s", path, what);
        fail_close(d);
        return -EINVAL;
    }
    d->sector_size = DISK_SECTOR;
    d->sectors = (d->file_size + DISK_SECTOR - 1) / DISK_SECTOR;
    if (d->sectors > DISK_MAX_SECTORS) {
        set_msg(err, errlen, "%s: %s", path, "is larger than an ATA disk can address (2^48 sectors)");
        fail_close(d);
        return -EFBIG;
    }
    if (d->file_size % DISK_SECTOR) {
        char what[160];
        snprintf(what, sizeof(what), "size %llu is not a multiple of 512; the last sector reads as zero-padded",
                 (unsigned long long)d->file_size);
        set_msg(warn, warnlen, "%s: %s", path, what);
    }
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* Find the primary volume descriptor and check it against the file. */
static int check_iso(struct disk *d, char *err, size_t errlen, char *warn, size_t warnlen)
{
    uint8_t vd[CD_SECTOR];
    if (d->file_size < 17ull * CD_SECTOR) {
        char what[160];
        snprintf(what, sizeof(what),
                 "is too small for an ISO 9660 image (%llu bytes; the volume descriptors start at %u)",
                 (unsigned long long)d->file_size, 16 * CD_SECTOR);
        set_msg(err, errlen, "%s: %s", d->path, what);
        return -EINVAL;
    }
    for (uint64_t lba = 16; lba < 16 + 64 && (lba + 1) * CD_SECTOR <= d->file_size; lba++) {
        int rc = read_full(d->fd, lba * CD_SECTOR, vd, sizeof(vd));
        if (rc) {
            set_msg(err, errlen, "%s: cannot read: %s", d->path, strerror(-rc));
            return rc;
        }
        if (lba == 16 && !memcmp(vd + 1, "BEA01", 5))
            return 0; /* UDF volume recognition sequence: a DVD image without an ISO 9660 bridge */
        if (memcmp(vd + 1, "CD001", 5)) {
            set_msg(err, errlen, "%s: %s", d->path,
                    lba == 16 ? "is not an ISO 9660 image (no volume descriptor at sector 16)"
                              : "has a malformed ISO 9660 volume descriptor set (no terminator)");
            return -EINVAL;
        }
        if (vd[0] == 255)
            break;
        if (vd[0] != 1)
            continue;
        uint32_t blocks = le32(vd + 80), blocks_be = be32(vd + 84);
        unsigned bsize = (unsigned)(vd[128] | vd[129] << 8), bsize_be = (unsigned)(vd[131] | vd[130] << 8);
        if (blocks != blocks_be || bsize != bsize_be || (bsize != 512 && bsize != 1024 && bsize != 2048)) {
            set_msg(err, errlen, "%s: %s", d->path, "has a malformed primary volume descriptor");
            return -EINVAL;
        }
        uint64_t need = (uint64_t)blocks * bsize;
        if (need > d->file_size) {
            char what[200];
            snprintf(what, sizeof(what), "is truncated: its volume descriptor says %llu bytes, the file holds %llu",
                     (unsigned long long)need, (unsigned long long)d->file_size);
            set_msg(err, errlen, "%s: %s", d->path, what);
            return -EINVAL;
        }
        if (d->file_size % CD_SECTOR) {
            char what[160];
            snprintf(what, sizeof(what), "size %llu is not a multiple of 2048; the last sector reads as zero-padded",
                     (unsigned long long)d->file_size);
            set_msg(warn, warnlen, "%s: %s", d->path, what);
        }
        return 0;
    }
    set_msg(err, errlen, "%s: %s", d->path, "has no ISO 9660 primary volume descriptor");
    return -EINVAL;
}

int disk_open_iso(struct disk *d, const char *path, char *err, size_t errlen, char *warn, size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = 0;
    int rc = open_image(d, path, true, err, errlen);
    if (rc)
        return rc;
    d->sector_size = CD_SECTOR;
    d->sectors = (d->file_size + CD_SECTOR - 1) / CD_SECTOR;
    if (d->sectors > CD_MAX_SECTORS) {
        set_msg(err, errlen, "%s: %s", path, "is larger than a CD-ROM drive can address (2^32 sectors)");
        fail_close(d);
        return -EFBIG;
    }
    if ((rc = check_iso(d, err, errlen, warn, warnlen))) {
        fail_close(d);
        return rc;
    }
    return 0;
}

void disk_close(struct disk *d)
{
    if (d->fd >= 0) {
        if (!d->read_only)
            fdatasync(d->fd); /* what the guest wrote is on the medium when kestrel ends */
        close(d->fd);         /* also drops the lock */
    }
    d->fd = -1;
}

static bool in_medium(const struct disk *d, uint64_t offset, size_t len)
{
    return d->fd >= 0 && offset <= disk_bytes(d) && len <= disk_bytes(d) - offset;
}

int disk_read(struct disk *d, uint64_t offset, void *buf, size_t len)
{
    if (!in_medium(d, offset, len))
        return -EINVAL;
    return read_full(d->fd, offset, buf, len);
}

int disk_write(struct disk *d, uint64_t offset, const void *buf, size_t len)
{
    if (!in_medium(d, offset, len))
        return -EINVAL;
    if (d->read_only)
        return -EROFS;
    int rc = write_full(d->fd, offset, buf, len);
    if (!rc && offset + len > d->file_size)
        d->file_size = offset + len; /* the padded tail sector now exists in the file */
    return rc;
}

int disk_flush(struct disk *d)
{
    if (d->fd < 0)
        return -EBADF;
    if (d->read_only)
        return 0;
    return fdatasync(d->fd) ? -errno : 0;
}
