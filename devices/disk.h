/*
 * Block backends of the storage devices: a raw image file seen as an array
 * of fixed-size sectors (512 bytes for hard disks, 2048 for CD-ROMs).
 *
 * Everything a user can get wrong is caught at open time with a message
 * that names the file: empty files, directories, images in another format
 * (qcow2, VMDK, VDI, VHDX, QED, LUKS), sizes beyond what the device can
 * address, ISO files without an ISO 9660 (or UDF) volume descriptor or
 * shorter than their own volume descriptor says, and images already in use
 * by another process (images are locked with flock: shared for read-only,
 * exclusive for read-write).
 *
 * A file whose size is not a multiple of the sector size is accepted: the
 * medium is rounded up to whole sectors, the missing tail reads as zeros,
 * and a guest write to that last sector extends the file to a whole
 * sector (nothing the guest wrote is dropped). disk_open_* report this
 * through their warning buffer.
 *
 * Writes go straight to the file with pwrite (no host-side cache of our
 * own); disk_flush() is fdatasync, which the devices call for FLUSH CACHE
 * and, with the write cache disabled, after every write. Accesses outside
 * the medium are refused with -EINVAL: the devices check ranges first and
 * report the guest-visible error, this is the last line of defence.
 */
#ifndef KESTREL_DISK_H
#define KESTREL_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_SECTOR 512
#define CD_SECTOR 2048
#define DISK_MAX_SECTORS ((1ull << 48) - 1) /* LBA48 */
#define CD_MAX_SECTORS 0xffffffffull        /* READ CAPACITY's 32-bit last LBA */

struct disk {
    int fd;               /* -1 when closed */
    char path[256];       /* for messages */
    uint64_t file_size;   /* bytes in the file (grows if the guest writes the padded tail) */
    uint64_t sectors;     /* medium size in sectors, file size rounded up */
    unsigned sector_size; /* DISK_SECTOR or CD_SECTOR */
    bool read_only;
};

/* Open a raw hard-disk image. Returns 0, or -errno with a message in err.
 * warn receives a note for the user (or "" when there is none). */
int disk_open_raw(struct disk *d, const char *path, bool read_only, char *err, size_t errlen, char *warn,
                  size_t warnlen);
/* Open an ISO 9660 image for a CD-ROM (always read-only). */
int disk_open_iso(struct disk *d, const char *path, char *err, size_t errlen, char *warn, size_t warnlen);
/* Close (read-write images are synced first) and drop the lock. */
void disk_close(struct disk *d);

/* Byte-addressed access within the medium (sectors * sector_size bytes).
 * Return 0 or -errno (-EINVAL outside the medium, -EROFS on a read-only
 * image, the host's errno on I/O errors). */
int disk_read(struct disk *d, uint64_t offset, void *buf, size_t len);
int disk_write(struct disk *d, uint64_t offset, const void *buf, size_t len);
int disk_flush(struct disk *d);

static inline uint64_t disk_bytes(const struct disk *d)
{
    return d->sectors * d->sector_size;
}

#endif
