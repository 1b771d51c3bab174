/*
 * The syscall-heavy workload of bench/linux.py: a static 32-bit Linux
 * program, run unchanged on the host (the native column) and inside the
 * Debian i386 guest, where each call costs a trip through the guest
 * kernel: entry (SYSENTER or INT 0x80), the kernel's own code, and for the
 * pipe phase two context switches per round trip.
 *
 *   syscall [getppid=N] [write=N] [pipe=N]      (defaults below)
 *
 * Phases, in order:
 *   getppid  N getppid() calls through syscall(2), so no libc caching
 *   write    N one-byte write()s to /dev/null
 *   pipe     N one-byte round trips between this process and a child over
 *            two pipes (parent writes, child echoes the byte back + 1)
 *
 * Output, one line per phase: `checksum NAME XXXXXXXX` (depends only on
 * N and on every call returning what POSIX says: the same parent pid each
 * time, 1 byte written, the echoed bytes) and `time NAME NANOSECONDS` (the
 * machine's CLOCK_MONOTONIC: the guest's clock inside the guest, reported
 * but not trusted by the harness), then `done`. Exit status 1 when a call
 * fails or returns something unexpected.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Same mixing as bench/workload (order-sensitive FNV-style). */
static uint32_t mix32(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;
    return (h << 13) | (h >> 19);
}

static int fail(const char *what)
{
    perror(what);
    return 1;
}

static int phase_getppid(unsigned long n, uint32_t *sum)
{
    long first = syscall(SYS_getppid);
    uint32_t h = 0x811c9dc5u;
    for (unsigned long k = 0; k < n; k++) {
        long p = syscall(SYS_getppid);
        if (p != first) {
            fprintf(stderr, "syscall: getppid changed from %ld to %ld\n", first, p);
            return 1;
        }
        h = mix32(h, (uint32_t)k ^ (p == first));
    }
    *sum = h;
    return 0;
}

static int phase_write(unsigned long n, uint32_t *sum)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        return fail("open /dev/null");
    uint32_t h = 0x811c9dc5u;
    for (unsigned long k = 0; k < n; k++) {
        char b = (char)k;
        ssize_t r = write(fd, &b, 1);
        if (r != 1) {
            close(fd);
            return fail("write /dev/null");
        }
        h = mix32(h, (uint32_t)k + (uint32_t)r);
    }
    close(fd);
    *sum = h;
    return 0;
}

static int phase_pipe(unsigned long n, uint32_t *sum)
{
    int to_child[2], to_parent[2];
    if (pipe(to_child) || pipe(to_parent))
        return fail("pipe");
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        unsigned char b;
        while (read(to_child[0], &b, 1) == 1) {
            b = (unsigned char)(b + 1);
            if (write(to_parent[1], &b, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    uint32_t h = 0x811c9dc5u;
    int rc = 0;
    for (unsigned long k = 0; k < n && !rc; k++) {
        unsigned char b = (unsigned char)(k * 7), back;
        if (write(to_child[1], &b, 1) != 1 || read(to_parent[0], &back, 1) != 1)
            rc = fail("pipe round trip");
        else if (back != (unsigned char)(b + 1)) {
            fprintf(stderr, "syscall: pipe echoed %u for %u\n", back, b);
            rc = 1;
        }
        h = mix32(h, back);
    }
    close(to_child[1]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = rc ? rc : fail("child");
    close(to_parent[0]);
    *sum = h;
    return rc;
}

static const struct {
    const char *name;
    int (*run)(unsigned long n, uint32_t *sum);
    unsigned long n; /* default count: ~0.1 s natively, seconds under emulation */
} phases[] = {
    { "getppid", phase_getppid, 200000 },
    { "write", phase_write, 200000 },
    { "pipe", phase_pipe, 20000 },
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

int main(int argc, char **argv)
{
    unsigned long n[NPHASES];
    for (unsigned k = 0; k < NPHASES; k++)
        n[k] = phases[k].n;
    for (int a = 1; a < argc; a++) {
        const char *eq = strchr(argv[a], '=');
        unsigned k;
        for (k = 0; k < NPHASES; k++)
            if (eq && (size_t)(eq - argv[a]) == strlen(phases[k].name) &&
                !strncmp(argv[a], phases[k].name, (size_t)(eq - argv[a])))
                break;
        if (k == NPHASES) {
            fprintf(stderr, "usage: syscall [getppid=N] [write=N] [pipe=N]\n");
            return 2;
        }
        n[k] = strtoul(eq + 1, NULL, 10);
    }
    for (unsigned k = 0; k < NPHASES; k++) {
        uint32_t sum = 0;
        uint64_t t0 = now_ns();
        if (phases[k].run(n[k], &sum))
            return 1;
        uint64_t t1 = now_ns();
        printf("checksum %s %08x\ntime %s %llu\n", phases[k].name, sum, phases[k].name,
               (unsigned long long)(t1 - t0));
        fflush(stdout);
    }
    printf("done\n");
    return 0;
}
