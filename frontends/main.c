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
#include "frontends/display_sdl.h"
#include "frontends/screenshot.h"
#include "frontends/options.h"
#include "jit/jit.h"
#include "vm/kvm.h"
#include "vm/vm.h"

#define KESTREL_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kestrel [options] [--kernel FILE | --bios FILE]\n"
            "\n"
            "Machine:\n"
            "  --accel interp|jit|kvm how to run the CPU (interp: the interpreter; jit: the interpreter\n"
            "                         plus translation of hot blocks to host code, the default where\n"
            "                         the host has a JIT backend; kvm: Linux's /dev/kvm, same\n"
            "                         devices; no --clock icount or --max-insns)\n"
            "  --jit-threshold N      runs of a block before it is translated (default %d; 0: at once)\n"
            "  --jit-max-insns N      translate at most N instructions per block (1 for bisecting)\n"
            "  --jit-max-blocks N     decoded blocks one translation may span past not-taken\n"
            "                         conditional branches (superblocks; default 4, 1: none)\n"
            "  --jit-no-loops         no loop translations (a block that jumps to its own start\n"
            "                         then chains to itself instead of keeping registers in host\n"
            "                         registers round the loop)\n"
            "  --jit-no-ret-stack     guest CALL and RET as jumps through the jump cache, not as\n"
            "                         host CALL and RET (whose returns the host predicts)\n"
            "  --jit-no-ic            no inline caches: indirect jumps and jumps to another page\n"
            "                         look their target up in the jump cache every time\n"
            "  --mem SIZE             guest RAM, e.g. 128M (default), 1G; suffixes K M G\n"
            "Guest:\n"
            "  --kernel FILE          Linux bzImage (boot protocol 2.06+) or Multiboot (v1) kernel,\n"
            "                         started directly in 32-bit protected mode\n"
            "  --initrd FILE          initial ramdisk for a Linux kernel\n"
            "  --append STR           kernel command line\n"
            "  --bios FILE            raw firmware image, mapped below 4 GiB and 1 MiB; starts at F000:FFF0\n"
            "                         (default: " DEFAULT_BIOS ")\n"
            "Storage (PIIX3 IDE):\n"
            "  --disk FILE[,ro]       raw disk image (repeatable: primary master, primary slave,\n"
            "                         secondary master unless --cdrom, secondary slave)\n"
            "  --cdrom FILE.iso       ISO 9660 image in an ATAPI CD-ROM drive (secondary master)\n"
            "  --boot c|d             boot from the hard disk (default) or the CD-ROM first\n"
            "Display:\n"
            "  --display none|sdl     no window (serial console on the terminal; default) or an\n"
            "                         SDL2 window showing the VGA (Ctrl+Alt+G releases the mouse)\n"
            "  --screenshot FILE.png  save the screen as PNG when kestrel exits\n"
            "  --vga-dump FILE        save the VGA text screen as UTF-8 when kestrel exits\n"
            "  --vga-bios FILE        VGA option ROM for firmware boots (default: " DEFAULT_VGA_BIOS ")\n"
            "Devices:\n"
            "  --serial stdio|file:PATH|none   where COM1 output goes (default stdio)\n"
            "  --no-reboot            exit when the guest resets instead of restarting it\n"
            "  --clock host|icount[:NS]  guest time from the host clock (default) or from the\n"
            "                         instruction count, NS ns each (default 1): reproducible runs\n"
            "Debugging:\n"
            "  --debugcon stderr|file:PATH    port 0x402 output (SeaBIOS's debug log)\n"
            "  --log LIST             comma-separated: in_asm,exec,int,io,unimpl,mmu,ir,ir_opt,out_asm\n"
            "  --cosim                run every translated block against the interpreter too and\n"
            "                         report the first difference (implies --accel jit)\n"
            "  --jit-perf-map         name translated blocks for perf (/tmp/perf-PID.map)\n"
            "  --stats                print execution counters on exit\n"
            "  --max-insns N          stop after N guest instructions (exit status 3)\n"
            "  --max-time SECS        stop after SECS of guest time (exit status 3)\n"
            "  --max-block N          cap decoded blocks at N instructions (1 for bisecting)\n"
            "  --help, --version\n"
            "\n"
            "Exit status: the guest's (v << 1) | 1 after it writes v to port 0xf4;\n"
            "0 when it powers off (ACPI S5), resets under --no-reboot, or halts for good;\n"
            "2 on a usage or load error (or /dev/kvm unusable); 3 on the instruction limit;\n"
            "4 on a triple fault under --no-reboot; 5 when KVM fails to run the guest.\n",
            DEFAULT_JIT_THRESHOLD);
}

/* What the VM's callbacks need: options (sinks), the console, the window. */
struct frontend {
    struct options *o;
    struct console con;
    struct vm *vm;
    struct display_sdl *sdl;
    uint64_t last_frame_ns; /* host time of the last window refresh */
};

static void serial_out(void *ctx, uint8_t byte)
{
    FILE *f = ((struct frontend *)ctx)->o->serial_file;
    if (f) {
        fputc(byte, f);
        fflush(f); /* even on stdout: a prompt or an echoed key ends no line */
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

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void host_poll(void *ctx, int timeout_ms)
{
    struct frontend *fe = ctx;
    if (fe->sdl && (timeout_ms < 0 || timeout_ms > 16))
        timeout_ms = 16; /* the window needs events and refreshes while the guest idles */
    console_poll(&fe->con, timeout_ms);
    if (fe->sdl) {
        uint64_t now = host_ns();
        if (now - fe->last_frame_ns >= 16000000ull) {
            fe->last_frame_ns = now;
            if (!display_sdl_update(fe->sdl, vclock_now(&fe->vm->clock)))
                vm_request_stop(fe->vm);
        }
    }
}

static void key_in(void *ctx, bool extended, uint8_t code, bool down)
{
    struct frontend *fe = ctx;
    i8042_key(&fe->vm->kbc, extended, code, down);
}

static void mouse_in(void *ctx, int dx, int dy, int dz, uint8_t buttons)
{
    struct frontend *fe = ctx;
    i8042_mouse(&fe->vm->kbc, dx, dy, dz, buttons);
}

static void dump_screen(void *ctx)
{
    struct frontend *fe = ctx;
    char buf[16384];
    size_t n = vga_text_dump(&fe->vm->vga, buf, sizeof(buf));
    fprintf(stderr, "\r\n--- VGA text screen ---\r\n");
    for (size_t k = 0; k < n; k++) {
        if (buf[k] == '\n')
            fputc('\r', stderr);
        fputc(buf[k], stderr);
    }
    fprintf(stderr, "--- end ---\r\n");
}

static int save_vga_dump(struct vm *vm, const char *path)
{
    char buf[16384];
    size_t n = vga_text_dump(&vm->vga, buf, sizeof(buf));
    FILE *f = fopen(path, "w");
    if (!f || fwrite(buf, 1, n, f) != n) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* --accel kvm: exits by reason; guest instructions only when the host's
 * PMU counts guest mode (software KVM such as PVM has none). */
static void print_kvm_stats(const struct vm *vm, double secs)
{
    uint64_t insns;
    bool have_insns;
    const struct kvm_stats *s = kvm_accel_stats(vm, &insns, &have_insns);
    fprintf(stderr, "kestrel: stats after %.3f s (--accel kvm)\n", secs);
    if (have_insns)
        fprintf(stderr, "  %-22s %" PRIu64 "   (guest instructions, host PMU)\n", "insns", insns);
    else
        fprintf(stderr, "  %-22s n/a   (the host PMU does not count guest instructions)\n", "insns");
#define KVM_STAT(name, desc) fprintf(stderr, "  %-22s %" PRIu64 "   (%s)\n", "kvm_" #name, s->name, desc);
#include "vm/kvm/stats.def"
#undef KVM_STAT
    if (have_insns && insns)
        fprintf(stderr, "  %-22s %.3f\n", "exits_per_kinsn", (double)s->exits * 1000.0 / (double)insns);
    if (secs > 0)
        fprintf(stderr, "  %-22s %.0f\n", "exits_per_sec", (double)s->exits / secs);
    if (have_insns && secs > 0)
        fprintf(stderr, "  %-22s %.1f\n", "MIPS", (double)insns / secs / 1e6);
}

static void print_stats(const struct vm *vm, double secs)
{
    if (vm->kvm) {
        print_kvm_stats(vm, secs);
        return;
    }
    const struct cpu_stats *s = &vm->cpu.stats;
    fprintf(stderr, "kestrel: stats after %.3f s\n", secs);
    fprintf(stderr, "  %-22s %" PRIu64 "\n", "insns", vm->cpu.icount);
#define STAT(name, desc) fprintf(stderr, "  %-22s %" PRIu64 "   (%s)\n", #name, s->name, desc);
#include "cpu/stats.def"
#undef STAT
    if (vm->jit) {
        const struct jit_stats *js = jit_get_stats(vm->jit);
#define STAT(name, desc) fprintf(stderr, "  %-22s %" PRIu64 "   (%s)\n", #name, js->name, desc);
#include "jit/stats.def"
#undef STAT
        if (js->jit_blocks)
            fprintf(stderr, "  %-22s %.1f\n", "jit_avg_block_insns", (double)js->jit_block_insns / (double)js->jit_blocks);
        if (vm->cpu.icount)
            fprintf(stderr, "  %-22s %.1f%%\n", "jit_insns_share",
                    100.0 * (double)js->jit_insns_run / (double)vm->cpu.icount);
        if (vm->cfg.jit_cosim)
            fprintf(stderr, "  %-22s %" PRIu64 " checked, %" PRIu64 " diverged\n", "cosim_blocks",
                    jit_cosim_checked(vm->jit), jit_cosim_diverged(vm->jit));
    }
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
        .ns_per_insn = (unsigned)o.clock_icount,
        .no_reboot = o.no_reboot,
        .log_mask = o.log_mask,
        .max_block_insns = o.max_block,
        .accel = o.kvm ? VM_ACCEL_KVM
                 : o.interp || (!o.jit && !o.cosim && !jit_available()) ? VM_ACCEL_INTERP
                                                                        : VM_ACCEL_JIT,
        .jit_threshold = o.jit_threshold,
        .jit_max_insns = o.jit_max_insns,
        .jit_max_blocks = o.jit_max_blocks,
        .jit_stats = o.stats,
        .jit_cosim = o.cosim,
        .jit_no_loops = o.jit_no_loops,
        .jit_no_ret_stack = o.jit_no_ret_stack,
        .jit_no_ic = o.jit_no_ic,
        .jit_perf_map = o.perf_map,
        .vga_bios = o.vga_bios,
        .max_time_ns = o.max_time_ns,
        .serial_out = serial_out,
        .debugcon_out = debugcon_out,
        .log = log_msg,
        .host_poll = host_poll,
        .ctx = &fe,
        .ndisks = o.ndisks,
        .cdrom = o.cdrom,
        .boot = o.boot,
    };
    for (int k = 0; k < o.ndisks; k++) {
        cfg.disk[k] = o.disk[k];
        cfg.disk_ro[k] = o.disk_ro[k];
    }
    if (vm_init(vm, &cfg)) {
        fprintf(stderr, "kestrel: %s\n", vm->error);
        free(vm);
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

    fe.vm = vm;
    if (o.display_sdl) {
        char err[256];
        struct display_input in = { key_in, mouse_in, &fe };
        fe.sdl = display_sdl_open(&vm->vga, &in, err, sizeof(err));
        if (!fe.sdl) {
            fprintf(stderr, "kestrel: --display sdl: %s\n", err);
            vm_free(vm);
            return 2;
        }
    }
    /* Guest input comes from stdin when COM1 goes to the terminal. */
    console_open(&fe.con, vm, o.serial_file == stdout);
    fe.con.dump_screen = dump_screen;
    fe.con.ctx = &fe;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum vm_stop stop = vm_run(vm, o.max_insns);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    console_close(&fe.con);
    if (fe.sdl)
        display_sdl_close(fe.sdl);
    if (o.vga_dump && save_vga_dump(vm, o.vga_dump))
        fprintf(stderr, "kestrel: --vga-dump %s: cannot write\n", o.vga_dump);
    if (o.screenshot) {
        char err[256];
        if (screenshot_png(&vm->vga, vclock_now(&vm->clock), o.screenshot, err, sizeof(err)))
            fprintf(stderr, "kestrel: --screenshot: %s\n", err);
    }
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
    case VM_STOP_ERROR:
        fprintf(stderr, "kestrel: %s\n", vm->error);
        status = 5;
        break;
    case VM_STOP_LIMIT:
        fprintf(stderr, "kestrel: instruction or time limit reached at %04x:%08x\n", vm->cpu.seg[SEG_CS].sel,
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
