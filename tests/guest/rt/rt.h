/*
 * A tiny runtime for guest test programs: COM1 output, printf, exit
 * through the debug-exit port, port I/O and a few system-register helpers.
 * Built freestanding with gcc -m32; see tests/guest/README.md.
 */
#ifndef KESTREL_GUEST_RT_H
#define KESTREL_GUEST_RT_H

#include <stdarg.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

void rt_putc(char c);
void rt_puts(const char *s);
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char *fmt, va_list ap);
__attribute__((noreturn)) void rt_exit(int code);

void *memset(void *d, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n);
int memcmp(const void *a, const void *b, unsigned n);

/* Check helper: prints "ok NAME" or "FAIL NAME: ..." and counts failures. */
extern int rt_failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            rt_printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                             \
            rt_printf(__VA_ARGS__);                                                                                    \
            rt_putc('\n');                                                                                             \
            rt_failures++;                                                                                             \
        }                                                                                                              \
    } while (0)

#endif
