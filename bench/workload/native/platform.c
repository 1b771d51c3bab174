/*
 * Platform glue for the benchmark as a native 32-bit Linux program: the
 * arguments are joined into the same "key=value ..." string the guest gets
 * on its Multiboot command line, output goes to stdout, and each phase is
 * timed with CLOCK_MONOTONIC and CLOCK_PROCESS_CPUTIME_ID (the guest is
 * timed from outside instead).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../workload.h"

void plat_putc(char c)
{
    putchar(c);
}

uint64_t plat_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t plat_cputime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    char args[1024] = "";
    size_t n = 0;
    for (int k = 1; k < argc; k++) {
        size_t len = strlen(argv[k]);
        if (n + len + 2 > sizeof(args)) {
            fprintf(stderr, "workload: arguments too long\n");
            return 2;
        }
        memcpy(args + n, argv[k], len);
        n += len;
        args[n++] = ' ';
        args[n] = 0;
    }
    int rc = bench_main(args);
    fflush(stdout);
    return rc;
}
