/*
 * A minimal PNG writer for screenshots: 8-bit RGB, no interlace, every
 * scan line with filter "Sub", one zlib-compressed IDAT chunk (PNG
 * specification, ISO/IEC 15948). zlib supplies deflate and the CRC-32.
 */
#ifndef KESTREL_PNG_H
#define KESTREL_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encode w x h pixels 0x00RRGGBB (rows `stride` pixels apart) into a
 * malloc'd PNG image. Returns 0 or -errno (-EINVAL for an empty picture). */
int png_encode(const uint32_t *px, unsigned w, unsigned h, size_t stride, uint8_t **out, size_t *len);

/* Encode and write to `path`. Returns 0, or -1 with a message in err. */
int png_write_file(const char *path, const uint32_t *px, unsigned w, unsigned h, char *err, size_t errlen);

#endif
