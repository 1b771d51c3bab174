/*
 * The workload's driver: parse "phases=a,b scale=N", run the phases in
 * order and print one line per phase,
 *
 *   checksum NAME XXXXXXXX
 *   time NAME NANOSECONDS      (wall clock; only where the platform has clocks)
 *   cputime NAME NANOSECONDS   (CPU time of the process, likewise)
 *
 * then "done". The harness (bench/run) compares the checksum lines of the
 * guest and native runs and reads the time lines of the native one.
 * Formatting is done here, not with printf, so that both builds print
 * through the same code.
 */
#include "workload.h"

static const struct phase phases[] = {
    { "int", phase_int }, { "mem", phase_mem }, { "call", phase_call }, { "str", phase_str }, { "fp", phase_fp },
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

static void put_str(const char *s)
{
    while (*s)
        plat_putc(*s++);
}

static void put_dec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v);
    while (n)
        plat_putc(buf[--n]);
}

static void put_hex32(uint32_t v)
{
    for (int k = 28; k >= 0; k -= 4)
        plat_putc("0123456789abcdef"[(v >> k) & 15]);
}

/* Does the token [s, e) equal the NUL-terminated `name`? */
static int tok_eq(const char *s, const char *e, const char *name)
{
    while (s < e && *name && *s == *name)
        s++, name++;
    return s == e && !*name;
}

static int parse_uint(const char *s, const char *e, unsigned *out)
{
    unsigned v = 0;
    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Mark the phases listed in [s, e) (comma-separated, or "all"/"none"). */
static int parse_phases(const char *s, const char *e, unsigned char *sel)
{
    for (unsigned k = 0; k < NPHASES; k++)
        sel[k] = 0;
    while (s < e) {
        const char *c = s;
        while (c < e && *c != ',')
            c++;
        if (tok_eq(s, c, "all")) {
            for (unsigned k = 0; k < NPHASES; k++)
                sel[k] = 1;
        } else if (!tok_eq(s, c, "none")) {
            unsigned k;
            for (k = 0; k < NPHASES; k++)
                if (tok_eq(s, c, phases[k].name))
                    break;
            if (k == NPHASES) {
                put_str("error: unknown phase\n");
                return -1;
            }
            sel[k] = 1;
        }
        s = c < e ? c + 1 : c;
    }
    return 0;
}

int bench_main(const char *args)
{
    unsigned char sel[NPHASES];
    unsigned scale = BENCH_DEFAULT_SCALE;
    for (unsigned k = 0; k < NPHASES; k++)
        sel[k] = 1;
    for (const char *s = args; *s;) {
        while (*s == ' ')
            s++;
        const char *e = s, *eq = 0;
        while (*e && *e != ' ') {
            if (*e == '=' && !eq)
                eq = e;
            e++;
        }
        if (eq && tok_eq(s, eq, "phases")) {
            if (parse_phases(eq + 1, e, sel))
                return 2;
        } else if (eq && tok_eq(s, eq, "scale")) {
            if (parse_uint(eq + 1, e, &scale) || scale == 0) {
                put_str("error: bad scale\n");
                return 2;
            }
        }
        s = e;
    }
    put_str("kestrel-bench scale ");
    put_dec(scale);
    plat_putc('\n');
    for (unsigned k = 0; k < NPHASES; k++) {
        if (!sel[k])
            continue;
        /* Announce the phase first: if it faults, the output says which. */
        put_str("phase ");
        put_str(phases[k].name);
        plat_putc('\n');
        uint64_t t0 = plat_time_ns(), c0 = plat_cputime_ns();
        uint32_t sum = phases[k].run(scale);
        uint64_t t1 = plat_time_ns(), c1 = plat_cputime_ns();
        put_str("checksum ");
        put_str(phases[k].name);
        plat_putc(' ');
        put_hex32(sum);
        plat_putc('\n');
        if (t1) {
            put_str("time ");
            put_str(phases[k].name);
            plat_putc(' ');
            put_dec(t1 - t0);
            put_str("\ncputime ");
            put_str(phases[k].name);
            plat_putc(' ');
            put_dec(c1 - c0);
            plat_putc('\n');
        }
    }
    put_str("done\n");
    return 0;
}
