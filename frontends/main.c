/*
 * The kestrel command: parse options, build the VM, load the guest, run
 * it, and turn how it stopped into an exit status. The only place in
 * Kestrel that prints to the user and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontends/console.h"
#include "frontends/options.h"
#include "vm/vm.h"

#define KESTREL_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kestrel [options] [--kernel FILE | --bios FILE]\n"
            "\n"
            "Machine:\n"
            "  --accel interp         how to run the CPU (interp: the interpreter)\n"
            "  --mem SIZE             guest RAM, e.g. 128M (default), 1G; suffixes K M G\n"
            "Guest:\n"
            "  --kernel FILE          Linux bzImage (boot protocol 2.06+) or Multiboot (v1) kernel,\n"
            "                         started directly in 32-bit protected mode\n"
            "  --initrd FILE          initial ramdisk for a Linux kernel\n"
            "  --append STR           kernel command line\n"
            "  --bios FILE            raw firmware image, mapped below 4 GiB and 1 MiB; starts at F000:FFF0\n"
            "                         (default: " DEFAULT_BIOS ")\n"
            "Devices:\n"
            "  --serial stdio|file:PATH|none   where COM1 output goes (default stdio)\n"
            "  --no-reboot            exit when the guest resets instead of restarting it\n"
            "  --clock host|icount    guest time from the host clock (default) or from the\n"
            "                         instruction count (1 ns each: reproducible runs)\n"
            "Debugging:\n"
            "  --debugcon stderr|file:PATH    port 0x402 output (SeaBIOS's debug log)\n"
            "  --log LIST             comma-separated: in_asm,exec,int,io,unimpl,mmu\n"
            "  --stats                print execution counters on exit\n"
            "  --max-insns N          stop after N guest instructions (exit status 3)\n"
            "  --max-block N          cap decoded blocks at N instructions (1 for bisecting)\n"
            "  --help, --version\n"
            "\n"
            "Exit status: the guest's (v << 1) | 1 after it writes v to port 0xf4;\n"
            "0 when it powers off (ACPI S5), resets under --no-reboot, or halts for good;\n"
            "2 on a usage or load error; 3 on the instruction limit; 4 on a triple fault\n"
            "under --no-reboot.\n");
}

/* What the VM's callbacks need: options (sinks) and the console. */
struct frontend {
    struct options *o;
    struct console con;
};

static void serial_out(void *ctx, uint8_t byte)
{
    FILE *f = ((struct frontend *)ctx)->o->serial_file;
    if (f) {
        fputc(byte, f);
        if (byte == '\n' || f != stdout)
            fflush(f);
    }
}

static void debugcon_out(void *ctx, uint8_t byte)
{
    FILE *f = ((struct frontend *)ctx)->o->debugcon_file;
    if (f)
        fputc(byte, f);
}

static void log_msg(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "kestrel: %s\n", msg);
}

static void host_poll(void *ctx, int timeout_ms)
{
    struct frontend *fe = ctx;
    console_poll(&fe->con, timeout_ms);
}

static void print_stats(const struct vm *vm, double secs)
{
    const struct cpu_stats *s = &vm->cpu.stats;
    fprintf(stderr, "kestrel: stats after %.3f s\n", secs);
    fprintf(stderr, "  %-22s %" PRIu64 "\n", "insns", vm->cpu.icount);
#define STAT(name, desc) fprintf(stderr, "  %-22s %" PRIu64 "   (%s)\n", #name, s->name, desc);
#include "cpu/stats.def"
#undef STAT
    if (secs > 0)
        fprintf(stderr, "  %-22s %.1f\n", "MIPS", (double)vm->cpu.icount / secs / 1e6);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = options_parse(&o, argc, argv);
    if (rc == OPT_HELP) {
        usage(stdout);
        return 0;
    }
    if (rc == OPT_VERSION) {
        printf("kestrel %s\n", KESTREL_VERSION);
        return 0;
    }
    if (rc != OPT_OK) {
        fprintf(stderr, "kestrel: %s\n", o.error);
        fprintf(stderr, "Try 'kestrel --help'.\n");
        return 2;
    }

    struct frontend fe = { .o = &o };
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        fprintf(stderr, "kestrel: out of memory\n");
        return 2;
    }
    struct vm_config cfg = {
        .mem_size = o.mem_size,
        .clock = o.clock_icount ? CLOCK_ICOUNT : CLOCK_HOST,
        .no_reboot = o.no_reboot,
        .log_mask = o.log_mask,
        .max_block_insns = o.max_block,
        .serial_out = serial_out,
        .debugcon_out = debugcon_out,
        .log = log_msg,
        .host_poll = host_poll,
        .ctx = &fe,
    };
    if (vm_init(vm, &cfg)) {
        fprintf(stderr, "kestrel: %s\n", vm->error);
        return 2;
    }
    /* The ACPI tables must exist before a direct kernel boot installs them. */
    int err = pc_finalize(vm);
    if (!err)
        err = o.kernel ? vm_load_kernel(vm, o.kernel, o.initrd, o.append) : vm_load_bios(vm, o.bios);
    if (err) {
        fprintf(stderr, "kestrel: %s\n", vm->error);
        vm_free(vm);
        return 2;
    }

    /* Guest input comes from stdin when COM1 goes to the terminal. */
    console_open(&fe.con, vm, o.serial_file == stdout);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum vm_stop stop = vm_run(vm, o.max_insns);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    console_close(&fe.con);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (o.serial_file && o.serial_file != stdout)
        fclose(o.serial_file);
    else
        fflush(stdout);
    if (o.stats)
        print_stats(vm, secs);

    int status;
    switch (stop) {
    case VM_STOP_EXIT:
        status = vm->exit_status;
        break;
    case VM_STOP_POWEROFF:
    case VM_STOP_RESET:
    case VM_STOP_USER:
        status = 0;
        break;
    case VM_STOP_HALTED:
        if (!(vm->cpu.eflags & EFL_IF))
            fprintf(stderr, "kestrel: guest halted with interrupts disabled at %04x:%08x\n",
                    vm->cpu.seg[SEG_CS].sel, (uint32_t)vm->cpu.eip);
        status = 0;
        break;
    case VM_STOP_LIMIT:
        fprintf(stderr, "kestrel: instruction limit reached at %04x:%08x\n", vm->cpu.seg[SEG_CS].sel,
                (uint32_t)vm->cpu.eip);
        status = 3;
        break;
    default:
        fprintf(stderr, "kestrel: triple fault at %04x:%08x, machine shut down\n", vm->cpu.seg[SEG_CS].sel,
                (uint32_t)vm->cpu.eip);
        status = 4;
        break;
    }
    vm_free(vm);
    free(vm);
    return status;
}
