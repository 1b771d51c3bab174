/* Command-line options of the kestrel command. */
#ifndef KESTREL_OPTIONS_H
#define KESTREL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct options {
    uint64_t mem_size;
    const char *kernel, *append, *bios, *initrd;
    const char *vga_bios;   /* VGA option ROM for firmware boots */
    bool display_sdl;       /* --display sdl */
    const char *screenshot; /* --screenshot: PNG of the screen at exit */
    const char *vga_dump;   /* --vga-dump: text screen at exit */
    FILE *serial_file; /* NULL: --serial none */
    FILE *debugcon_file; /* --debugcon: port 0x402 output, NULL if off */
    unsigned log_mask;
    bool stats;
    uint64_t max_insns;
    uint64_t max_time_ns; /* --max-time: guest seconds */
    int max_block;
    int clock_icount; /* --clock icount[:NS]: guest ns per instruction, 0 for the host clock */
    bool no_reboot;
    bool kvm;          /* --accel kvm */
    bool interp;       /* --accel interp (the default is the JIT where the host has one) */
    bool jit;          /* --accel jit */
    unsigned jit_threshold; /* --jit-threshold */
    unsigned jit_max_insns; /* --jit-max-insns (0: no cap) */
    unsigned jit_max_blocks; /* --jit-max-blocks (0: the JIT's default) */
    bool cosim;        /* --cosim */
    bool jit_no_loops; /* --jit-no-loops */
    bool jit_no_ret_stack; /* --jit-no-ret-stack */
    bool jit_no_ic;        /* --jit-no-ic */
    bool perf_map;     /* --jit-perf-map */
    const char *disk[4];    /* --disk FILE[,ro], in IDE order */
    bool disk_ro[4];
    int ndisks;
    const char *cdrom;      /* --cdrom FILE.iso */
    char boot;              /* --boot c|d ('c' unless given) */
    char error[256];
};

enum { OPT_OK, OPT_ERROR, OPT_HELP, OPT_VERSION };

/* Firmware used when neither --bios nor --kernel is given (Debian's seabios package). */
#define DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"
/* Interpreted runs of a block before the JIT translates it. */
#define DEFAULT_JIT_THRESHOLD 16
#define DEFAULT_VGA_BIOS "/usr/share/seabios/vgabios-stdvga.bin"

int options_parse(struct options *o, int argc, char **argv);
/* "128M" -> bytes; false on malformed or out-of-range input. */
bool parse_size(const char *s, uint64_t *out);

#endif
