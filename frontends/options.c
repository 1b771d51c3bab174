#include "frontends/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"

bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    uint64_t mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    case '\0': mul = 1ull << 20; break; /* a bare number means MiB, as in QEMU */
    default: return false;
    }
    if (*end == 'B' || *end == 'b' || *end == 'i')
        end++;
    if (*end || v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

static bool parse_log(const char *s, unsigned *mask, char *err, size_t errlen)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "in_asm", LOG_IN_ASM }, { "exec", LOG_EXEC }, { "int", LOG_INT },
        { "io", LOG_IO },         { "unimpl", LOG_UNIMPL }, { "mmu", LOG_MMU },
        { "ir", LOG_IR },         { "ir_opt", LOG_IR_OPT }, { "out_asm", LOG_OUT_ASM },
    };
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t k;
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
            if (!strcmp(t, names[k].name))
                break;
        if (k == sizeof(names) / sizeof(names[0])) {
            snprintf(err, errlen, "--log: unknown item '%s'", t);
            return false;
        }
        *mask |= names[k].bit;
    }
    return true;
}

int options_parse(struct options *o, int argc, char **argv)
{
    enum { O_ACCEL = 256, O_MEM, O_KERNEL, O_APPEND, O_BIOS, O_SERIAL, O_LOG, O_STATS, O_MAXI, O_MAXB, O_CLOCK, O_NOREBOOT, O_INITRD, O_DEBUGCON, O_DISPLAY, O_SCREENSHOT, O_VGADUMP, O_VGABIOS, O_MAXTIME,
           O_DISK, O_CDROM, O_BOOT, O_HELP, O_VER, O_JIT_THRESHOLD, O_JIT_MAX, O_JIT_BLOCKS, O_COSIM, O_PERF_MAP, O_NO_LOOPS,
           O_NO_RET_STACK, O_NO_IC };
    static const struct option longopts[] = {
        { "accel", required_argument, 0, O_ACCEL }, { "mem", required_argument, 0, O_MEM },
        { "kernel", required_argument, 0, O_KERNEL }, { "append", required_argument, 0, O_APPEND },
        { "bios", required_argument, 0, O_BIOS }, { "serial", required_argument, 0, O_SERIAL },
        { "log", required_argument, 0, O_LOG }, { "stats", no_argument, 0, O_STATS },
        { "max-insns", required_argument, 0, O_MAXI }, { "max-block", required_argument, 0, O_MAXB },
        { "clock", required_argument, 0, O_CLOCK }, { "no-reboot", no_argument, 0, O_NOREBOOT },
        { "initrd", required_argument, 0, O_INITRD }, { "debugcon", required_argument, 0, O_DEBUGCON },
        { "display", required_argument, 0, O_DISPLAY }, { "screenshot", required_argument, 0, O_SCREENSHOT },
        { "vga-dump", required_argument, 0, O_VGADUMP }, { "vga-bios", required_argument, 0, O_VGABIOS },
        { "max-time", required_argument, 0, O_MAXTIME },
        { "disk", required_argument, 0, O_DISK }, { "cdrom", required_argument, 0, O_CDROM },
        { "boot", required_argument, 0, O_BOOT },
        { "jit-threshold", required_argument, 0, O_JIT_THRESHOLD },
        { "jit-max-insns", required_argument, 0, O_JIT_MAX },
        { "jit-max-blocks", required_argument, 0, O_JIT_BLOCKS }, { "cosim", no_argument, 0, O_COSIM },
        { "jit-perf-map", no_argument, 0, O_PERF_MAP }, { "jit-no-loops", no_argument, 0, O_NO_LOOPS },
        { "jit-no-ret-stack", no_argument, 0, O_NO_RET_STACK },
        { "jit-no-ic", no_argument, 0, O_NO_IC },
        { "help", no_argument, 0, O_HELP }, { "version", no_argument, 0, O_VER }, { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->mem_size = 128ull << 20;
    o->jit_threshold = DEFAULT_JIT_THRESHOLD;
    o->serial_file = stdout;
    o->boot = 'c';
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case O_ACCEL:
            o->kvm = !strcmp(optarg, "kvm");
            o->interp = !strcmp(optarg, "interp");
            o->jit = !strcmp(optarg, "jit");
            if (!o->interp && !o->kvm && !o->jit) {
                snprintf(o->error, sizeof(o->error), "--accel %s: not available (this build has: interp, jit, kvm)", optarg);
                return OPT_ERROR;
            }
            break;
        case O_MEM:
            if (!parse_size(optarg, &o->mem_size) || o->mem_size < (1u << 20) || o->mem_size > (3ull << 30)) {
                snprintf(o->error, sizeof(o->error), "--mem %s: expected a size from 1M to 3G", optarg);
                return OPT_ERROR;
            }
            break;
        case O_KERNEL: o->kernel = optarg; break;
        case O_APPEND: o->append = optarg; break;
        case O_BIOS: o->bios = optarg; break;
        case O_SERIAL:
            if (!strcmp(optarg, "stdio")) {
                o->serial_file = stdout;
            } else if (!strcmp(optarg, "none")) {
                o->serial_file = NULL;
            } else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
                o->serial_file = fopen(optarg + 5, "wb");
                if (!o->serial_file) {
                    snprintf(o->error, sizeof(o->error), "--serial %s: %s", optarg, strerror(errno));
                    return OPT_ERROR;
                }
            } else {
                snprintf(o->error, sizeof(o->error), "--serial %s: expected stdio, file:PATH or none", optarg);
                return OPT_ERROR;
            }
            break;
        case O_LOG:
            if (!parse_log(optarg, &o->log_mask, o->error, sizeof(o->error)))
                return OPT_ERROR;
            break;
        case O_STATS: o->stats = true; break;
        case O_MAXI:
            o->max_insns = strtoull(optarg, &end, 0);
            if (*end || !o->max_insns) {
                snprintf(o->error, sizeof(o->error), "--max-insns %s: expected a positive number", optarg);
                return OPT_ERROR;
            }
            break;
        case O_MAXTIME: {
            double secs = strtod(optarg, &end);
            if (*end || !(secs > 0) || secs > 1e6) {
                snprintf(o->error, sizeof(o->error), "--max-time %s: expected guest seconds (> 0)", optarg);
                return OPT_ERROR;
            }
            o->max_time_ns = (uint64_t)(secs * 1e9);
            break;
        }
        case O_MAXB:
            o->max_block = (int)strtol(optarg, &end, 0);
            if (*end || o->max_block < 1 || o->max_block > 1024) {
                snprintf(o->error, sizeof(o->error), "--max-block %s: expected 1..1024", optarg);
                return OPT_ERROR;
            }
            break;
        case O_CLOCK:
            if (!strcmp(optarg, "host")) {
                o->clock_icount = 0;
            } else if (!strcmp(optarg, "icount")) {
                o->clock_icount = 1;
            } else if (!strncmp(optarg, "icount:", 7) && (o->clock_icount = (int)strtol(optarg + 7, &end, 10)) > 0 &&
                       !*end && o->clock_icount <= 1000) {
                /* ns per instruction */
            } else {
                snprintf(o->error, sizeof(o->error), "--clock %s: expected host, icount or icount:NS", optarg);
                return OPT_ERROR;
            }
            break;
        case O_NOREBOOT: o->no_reboot = true; break;
        case O_INITRD: o->initrd = optarg; break;
        case O_DEBUGCON:
            if (!strcmp(optarg, "stderr")) {
                o->debugcon_file = stderr;
            } else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
                o->debugcon_file = fopen(optarg + 5, "wb");
                if (!o->debugcon_file) {
                    snprintf(o->error, sizeof(o->error), "--debugcon %s: %s", optarg, strerror(errno));
                    return OPT_ERROR;
                }
            } else {
                snprintf(o->error, sizeof(o->error), "--debugcon %s: expected stderr or file:PATH", optarg);
                return OPT_ERROR;
            }
            break;
        case O_DISPLAY:
            if (!strcmp(optarg, "sdl")) {
                o->display_sdl = true;
            } else if (!strcmp(optarg, "none")) {
                o->display_sdl = false;
            } else {
                snprintf(o->error, sizeof(o->error), "--display %s: expected none or sdl", optarg);
                return OPT_ERROR;
            }
            break;
        case O_SCREENSHOT: o->screenshot = optarg; break;
        case O_VGADUMP: o->vga_dump = optarg; break;
        case O_VGABIOS: o->vga_bios = optarg; break;
        case O_DISK: {
            /* FILE or FILE,ro / FILE,rw (the suffix is cut off in place). */
            size_t n = strlen(optarg);
            bool ro = n > 3 && !strcmp(optarg + n - 3, ",ro");
            if (ro || (n > 3 && !strcmp(optarg + n - 3, ",rw")))
                optarg[n - 3] = 0;
            if (!*optarg || o->ndisks == 4) {
                snprintf(o->error, sizeof(o->error), "--disk %s: %s", optarg,
                         *optarg ? "at most four disks (three with --cdrom)" : "expected FILE[,ro]");
                return OPT_ERROR;
            }
            o->disk_ro[o->ndisks] = ro;
            o->disk[o->ndisks++] = optarg;
            break;
        }
        case O_CDROM: o->cdrom = optarg; break;
        case O_BOOT:
            if ((optarg[0] != 'c' && optarg[0] != 'd') || optarg[1]) {
                snprintf(o->error, sizeof(o->error), "--boot %s: expected c (hard disk) or d (CD-ROM)", optarg);
                return OPT_ERROR;
            }
            o->boot = optarg[0];
            break;
        case O_JIT_BLOCKS: {
            unsigned long v = strtoul(optarg, &end, 0);
            if (*end || !*optarg || v < 1 || v > 4) {
                snprintf(o->error, sizeof(o->error), "--jit-max-blocks %s: expected a number from 1 to 4", optarg);
                return OPT_ERROR;
            }
            o->jit_max_blocks = (unsigned)v;
            break;
        }
        case O_JIT_THRESHOLD:
        case O_JIT_MAX: {
            unsigned long v = strtoul(optarg, &end, 0);
            if (*end || !*optarg || v > 1000000) {
                snprintf(o->error, sizeof(o->error), "--%s %s: expected a number from 0 to 1000000",
                         ch == O_JIT_MAX ? "jit-max-insns" : "jit-threshold", optarg);
                return OPT_ERROR;
            }
            if (ch == O_JIT_MAX)
                o->jit_max_insns = (unsigned)v;
            else
                o->jit_threshold = (unsigned)v;
            break;
        }
        case O_COSIM: o->cosim = true; break;
        case O_NO_LOOPS: o->jit_no_loops = true; break;
        case O_NO_RET_STACK: o->jit_no_ret_stack = true; break;
        case O_NO_IC: o->jit_no_ic = true; break;
        case O_PERF_MAP: o->perf_map = true; break;
        case O_HELP: return OPT_HELP;
        case O_VER: return OPT_VERSION;
        default:
            snprintf(o->error, sizeof(o->error), "unknown or incomplete option '%s'", argv[optind - 1]);
            return OPT_ERROR;
        }
    }
    if (optind < argc) {
        snprintf(o->error, sizeof(o->error), "unexpected argument '%s'", argv[optind]);
        return OPT_ERROR;
    }
    if (o->kernel && o->bios) {
        snprintf(o->error, sizeof(o->error), "--kernel and --bios exclude each other");
        return OPT_ERROR;
    }
    if (!o->kernel && !o->bios)
        o->bios = DEFAULT_BIOS;
    if (o->bios && !o->vga_bios)
        o->vga_bios = DEFAULT_VGA_BIOS;
    if (o->ndisks + (o->cdrom != NULL) > 4) {
        snprintf(o->error, sizeof(o->error), "--disk: at most three disks with --cdrom (the IDE has four places)");
        return OPT_ERROR;
    }
    if (o->boot == 'd' && !o->cdrom) {
        snprintf(o->error, sizeof(o->error), "--boot d: no --cdrom to boot from");
        return OPT_ERROR;
    }
    if (o->kvm && (o->clock_icount || o->max_insns)) {
        snprintf(o->error, sizeof(o->error), "%s needs an instruction count, which --accel kvm does not keep",
                 o->max_insns ? "--max-insns" : "--clock icount");
        return OPT_ERROR;
    }
    if (o->cosim && (o->interp || o->kvm)) {
        snprintf(o->error, sizeof(o->error), "--cosim compares the JIT with the interpreter: it needs --accel jit");
        return OPT_ERROR;
    }
    if ((o->append || o->initrd) && !o->kernel) {
        snprintf(o->error, sizeof(o->error), "--append and --initrd need --kernel");
        return OPT_ERROR;
    }
    return OPT_OK;
}
