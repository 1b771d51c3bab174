/*
 * Screenshots: the renderer's picture, drawn into a frame of our own (the
 * window's frame keeps its own record of which picture it shows), through
 * the PNG encoder.
 */
#include "frontends/screenshot.h"

#include <stdio.h>
#include <string.h>

#include "frontends/png.h"

int screenshot_png(struct vga *v, uint64_t now_ns, const char *path, char *err, size_t errlen)
{
    struct vga_frame f = { 0 };
    int r = vga_render(v, now_ns, &f, true);
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot render the screen: %s", path, strerror(-r));
        return -1;
    }
    r = png_write_file(path, f.pixels, f.width, f.height, err, errlen);
    vga_frame_free(&f);
    return r;
}
