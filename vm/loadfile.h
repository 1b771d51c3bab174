/* Reading a guest image file whole, with a size cap and a clear error. */
#ifndef KESTREL_LOADFILE_H
#define KESTREL_LOADFILE_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 and a malloc'd buffer, or -1 with a message in err. */
int load_file(const char *path, size_t max, uint8_t **buf, size_t *len, char *err, size_t errlen);

#endif
