/* Resets the machine the way the multiboot command line names: "kbc" (8042
 * command 0xFE), "cf9" (PIIX reset control), "p92" (fast reset through port
 * 0x92) or "triple" (a triple fault: no IDT). Kestrel is run with
 * --no-reboot, so a reset ends it with status 0 and a triple fault with 4. */
#include "rt.h"

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int main(uint32_t magic, uint32_t info)
{
    (void)magic;
    const char *cmd = (const char *)((const uint32_t *)info)[4];
    rt_printf("reset via %s\n", cmd);
    if (streq(cmd, "kbc")) {
        while (inb(0x64) & 2)
            ;
        outb(0x64, 0xfe);
    } else if (streq(cmd, "cf9")) {
        outb(0xcf9, 0x02);
        outb(0xcf9, 0x06);
    } else if (streq(cmd, "p92")) {
        outb(0x92, inb(0x92) | 1);
    } else if (streq(cmd, "triple")) {
        static const struct __attribute__((packed)) { uint16_t limit; uint32_t base; } null_idt = { 0, 0 };
        __asm__ volatile("lidt %0; int3" : : "m"(null_idt));
    }
    for (;;)
        __asm__ volatile("pause");
}
