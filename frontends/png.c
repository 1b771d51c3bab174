/*
 * PNG encoder (see png.h). The "Sub" filter stores each byte minus the
 * same colour component of the pixel to its left, which turns the flat
 * areas of a screen into runs of zeros that deflate well.
 */
#include "frontends/png.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* One chunk: length, type, data, CRC-32 of type and data. */
static uint8_t *put_chunk(uint8_t *p, const char type[4], const uint8_t *data, size_t len)
{
    p = put32(p, (uint32_t)len);
    uint8_t *crc_start = p;
    memcpy(p, type, 4);
    p += 4;
    if (len)
        memcpy(p, data, len);
    p += len;
    uLong crc = crc32(0L, crc_start, (uInt)(len + 4));
    return put32(p, (uint32_t)crc);
}

int png_encode(const uint32_t *px, unsigned w, unsigned h, size_t stride, uint8_t **out, size_t *len)
{
    if (w == 0 || h == 0 || w > (1u << 24) || h > (1u << 24))
        return -EINVAL;
    size_t row = (size_t)w * 3 + 1;
    size_t raw_len = row * h;
    uint8_t *raw = malloc(raw_len);
    if (!raw)
        return -ENOMEM;
    for (unsigned y = 0; y < h; y++) {
        uint8_t *r = raw + y * row;
        const uint32_t *s = px + (size_t)y * stride;
        uint32_t left = 0;
        r[0] = 1; /* filter: Sub */
        for (unsigned x = 0; x < w; x++) {
            uint32_t c = s[x];
            r[1 + 3 * x] = (uint8_t)((c >> 16) - (left >> 16));
            r[2 + 3 * x] = (uint8_t)((c >> 8) - (left >> 8));
            r[3 + 3 * x] = (uint8_t)(c - left);
            left = c;
        }
    }
    uLongf zlen = compressBound((uLong)raw_len);
    size_t total = 8 + 25 + 12 + zlen + 12;
    uint8_t *png = malloc(total), *z = malloc(zlen);
    if (!png || !z || compress2(z, &zlen, raw, (uLong)raw_len, 6) != Z_OK) {
        free(raw);
        free(png);
        free(z);
        return -ENOMEM;
    }
    free(raw);

    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    uint8_t ihdr[13];
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8] = 8;  /* bits per sample */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    uint8_t *p = png;
    memcpy(p, sig, 8);
    p += 8;
    p = put_chunk(p, "IHDR", ihdr, sizeof(ihdr));
    p = put_chunk(p, "IDAT", z, zlen);
    p = put_chunk(p, "IEND", NULL, 0);
    free(z);
    *out = png;
    *len = (size_t)(p - png);
    return 0;
}

int png_write_file(const char *path, const uint32_t *px, unsigned w, unsigned h, char *err, size_t errlen)
{
    uint8_t *png;
    size_t len;
    int e = png_encode(px, w, h, w, &png, &len);
    if (e) {
        snprintf(err, errlen, "%s: cannot encode the screen: %s", path, strerror(-e));
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(png);
        return -1;
    }
    size_t n = fwrite(png, 1, len, f);
    free(png);
    int rc = fclose(f);
    if (n != len || rc != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}
