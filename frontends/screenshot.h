/* Saving the VGA picture as a PNG file (`--screenshot FILE.png`). */
#ifndef KESTREL_SCREENSHOT_H
#define KESTREL_SCREENSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "devices/vga.h"

/* Render the current picture (at `now_ns` for blink phases) and write it
 * to `path`. Returns 0, or -1 with a message in err. */
int screenshot_png(struct vga *v, uint64_t now_ns, const char *path, char *err, size_t errlen);

#endif
