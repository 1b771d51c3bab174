/* The smallest guest: prints over COM1 and computes a checksum the host
 * also knows, exercising calls, loops, memory and the runtime's printf. */
#include "rt.h"

static unsigned fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(uint32_t magic, uint32_t info)
{
    (void)info;
    rt_printf("hello from a kestrel guest\n");
    CHECK(magic == 0x2BADB002, "multiboot magic %x", magic);
    unsigned sum = 0;
    for (unsigned i = 0; i < 1000; i++)
        sum += i * i;
    rt_printf("sum=%u fib(20)=%u\n", sum, fib(20));
    CHECK(sum == 332833500u, "sum %u", sum);
    CHECK(fib(20) == 6765, "fib");
    return rt_failures;
}
