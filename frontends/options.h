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
    int max_block;
    int clock_icount; /* --clock icount[:NS]: guest ns per instruction, 0 for the host clock */
    bool no_reboot;
    bool kvm;          /* --accel kvm */
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
#define DEFAULT_VGA_BIOS "/usr/share/seabios/vgabios-stdvga.bin"

int options_parse(struct options *o, int argc, char **argv);
/* "128M" -> bytes; false on malformed or out-of-range input. */
bool parse_size(const char *s, uint64_t *out);

#endif
