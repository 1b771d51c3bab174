/*
 * One virtual machine: guest memory, the vCPU, the port bus and the
 * devices of the board, wired together. Everything the machine owns hangs
 * off struct vm; there is no global state, so several VMs can share a
 * process.
 *
 * Library code here reports errors by return value with a message in
 * vm->error; only frontends print and exit.
 */
#ifndef KESTREL_VM_H
#define KESTREL_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "devices/apicbus.h"
#include "devices/clock.h"
#include "devices/debugexit.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ide.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/mc146818.h"
#include "devices/pci.h"
#include "devices/piix.h"
#include "devices/vga.h"
#include "devices/iobus.h"
#include "devices/uart16550.h"
#include "mmu/phys.h"

#define DEBUGEXIT_PORT 0xf4
#define COM1_PORT 0x3f8

#define VM_MAX_DISKS 4 /* the IDE function's four positions */
struct kvm_accel;
struct jit;

/* How the vCPU runs: the interpreter, or Linux's KVM (vm/kvm.h). */
enum vm_accel { VM_ACCEL_INTERP, VM_ACCEL_KVM, VM_ACCEL_JIT /* the interpreter plus translated code (jit/) */ };

#define PAM_SEGMENTS 13 /* 0xC0000-0xEFFFF in 16 KiB pieces, 0xF0000-0xFFFFF as one */

struct vm_config {
    uint64_t mem_size;   /* bytes of guest RAM */
    bool no_reboot;      /* a guest reset ends the run instead */
    int64_t rtc_base;    /* RTC time at start (Unix seconds); 0: the host's time */
    const char *vga_bios; /* VGA option ROM; NULL: none (direct kernel boot needs none) */
    enum clock_source clock; /* CLOCK_HOST (default) or CLOCK_ICOUNT (reproducible) */
    unsigned ns_per_insn;    /* CLOCK_ICOUNT: guest ns per instruction */
    uint64_t max_time_ns;    /* stop after this much guest time (0: never) */
    unsigned log_mask;   /* LOG_* */
    int max_block_insns; /* 0: default */
    enum vm_accel accel; /* VM_ACCEL_KVM: vm_init() opens /dev/kvm and fails if it cannot */
    unsigned jit_threshold; /* VM_ACCEL_JIT: interpreted runs before a block is translated (0: at once) */
    unsigned jit_max_insns; /* VM_ACCEL_JIT: cap on instructions per translated block (0: none) */
    unsigned jit_max_blocks; /* VM_ACCEL_JIT: decoded blocks per translation (superblocks; 0: default) */
    bool jit_stats;         /* VM_ACCEL_JIT: keep the counters translated code updates */
    bool jit_cosim;         /* VM_ACCEL_JIT: lockstep co-simulation against the interpreter */
    bool jit_no_loops;      /* VM_ACCEL_JIT: no loop translations (jit_config.no_loops) */
    bool jit_no_ret_stack;  /* VM_ACCEL_JIT: no return stack (jit_config.no_ret_stack) */
    bool jit_no_ic;         /* VM_ACCEL_JIT: no inline caches (jit_config.no_ic) */
    bool jit_perf_map;      /* VM_ACCEL_JIT: /tmp/perf-PID.map naming translated blocks */
    void (*serial_out)(void *ctx, uint8_t byte);
    void (*debugcon_out)(void *ctx, uint8_t byte); /* port 0x402 (SeaBIOS's debug log), optional */
    void (*log)(void *ctx, const char *msg);
    /* Host events: called between CPU slices with timeout 0, and with the
     * time to the next timer while the CPU is halted (-1: no timer). The
     * frontend reads its input there (vm_serial_input) and returns. */
    void (*host_poll)(void *ctx, int timeout_ms);
    void *ctx;
    /* Storage on the PIIX3 IDE (vm/pc.c setup_ide): raw disk images in
     * order, and an ISO image for the CD-ROM drive. */
    const char *disk[VM_MAX_DISKS];
    bool disk_ro[VM_MAX_DISKS];
    int ndisks;
    const char *cdrom;
    char boot;           /* 'c' (default): hard disk first; 'd': CD-ROM first */
};

enum vm_stop {
    VM_STOP_EXIT,     /* guest wrote the debug-exit port: exit_status holds the code */
    VM_STOP_POWEROFF, /* ACPI S5 */
    VM_STOP_RESET,    /* guest reset with no_reboot set */
    VM_STOP_HALTED,   /* HLT with nothing left that could wake the CPU */
    VM_STOP_SHUTDOWN, /* triple fault */
    VM_STOP_LIMIT,    /* instruction limit reached */
    VM_STOP_USER,     /* the frontend asked to stop (vm_request_stop) */
    VM_STOP_ERROR,    /* the accelerator failed (KVM): vm->error says why */
};

#define SERIAL_RX_BUF 4096

struct vm {
    struct phys mem;
    struct cpu cpu;
    struct iobus io;
    struct vclock clock;
    struct i8259 pic;
    struct apic_bus apic_bus;     /* messages between the IOAPIC and the local APIC(s) */
    struct lapic lapic;           /* the CPU's local APIC */
    struct ioapic ioapic;         /* 82093AA at 0xFEC00000 */
    struct i8254 pit;
    struct rtc rtc;
    struct i8042 kbc;
    struct pci_bus pci;
    struct piix piix;
    struct fw_cfg fw_cfg;
    struct vga vga;
    struct ide ide;               /* 00:01.1 PIIX3 IDE: disks and CD-ROM */
    struct pci_dev vga_pci;       /* 00:02.0, QEMU's stdvga IDs (1234:1111) */
    int vga_bar2_region;          /* phys region of the VGA's MMIO BAR, -1 until mapped */
    struct uart com1;
    struct debugexit dbgexit;
    int pam_region[PAM_SEGMENTS]; /* phys region index of each PAM segment */
    uint8_t *bios_low;            /* the firmware's last 128 KiB (read side of PAM at 0xE0000) */
    struct vm_config cfg;
    bool exit_requested;
    int exit_status;
    bool shutdown;                /* triple fault */
    bool reset_requested;
    bool poweroff_requested;
    bool stop_requested;
    uint8_t rx_buf[SERIAL_RX_BUF]; /* host input waiting for room in COM1's receive FIFO */
    int rx_head, rx_count;
    uint64_t resets;
    char error[256];
    struct kvm_accel *kvm;        /* --accel kvm (vm/kvm.h); NULL: the interpreter runs the CPU */
    struct jit *jit;              /* --accel jit (jit/jit.h), attached to the CPU; NULL otherwise */
};

/* Create the board. Returns 0, or -errno with vm->error set. */
int vm_init(struct vm *vm, const struct vm_config *cfg);
void vm_free(struct vm *vm);

/* The PC board (vm/pc.c): devices, chipset, firmware interface. */
int pc_init(struct vm *vm);
void pc_free(struct vm *vm);
void pc_reset(struct vm *vm);
/* Finish the firmware interface once everything is loaded (fw_cfg tables). */
int pc_finalize(struct vm *vm);
/* An ISA interrupt line (struct irq compatible, opaque = vm): IRQ n goes
 * to 8259 input n and IOAPIC pin n (IRQ0 to pin 2). Devices on the ISA
 * bus take (struct irq){ pc_set_isa_irq, vm, n }. */
void pc_set_isa_irq(void *vm, int irq, int level);

/* Loaders (vm/multiboot.c, vm/linuxboot.c, vm/rom.c). Return 0, or -1 with
 * vm->error set. vm_load_kernel() tells a bzImage from a multiboot kernel. */
int vm_load_kernel(struct vm *vm, const char *path, const char *initrd, const char *cmdline);
int vm_load_multiboot(struct vm *vm, const char *path, uint8_t *img, size_t len, const char *cmdline);
bool linux_is_bzimage(const uint8_t *img, size_t len);
int vm_load_linux(struct vm *vm, const char *path, const uint8_t *img, size_t len, const char *initrd,
                  const char *cmdline);
int vm_load_bios(struct vm *vm, const char *path);

/* Run until the guest stops; max_insns 0 means no limit. vm->cfg.max_time_ns
 * (guest time, 0: none) also ends the run with VM_STOP_LIMIT, which is what
 * stops a guest halted forever under the icount clock. */
enum vm_stop vm_run(struct vm *vm, uint64_t max_insns);

/* Host input for COM1 (queued; fed to the UART as its FIFO drains).
 * Returns the number of bytes accepted. */
size_t vm_serial_input(struct vm *vm, const uint8_t *buf, size_t len);
/* Ask vm_run() to return VM_STOP_USER at the next slice boundary. */
void vm_request_stop(struct vm *vm);

/* For accelerators with their own run loop (vm/kvm/): serve host events
 * (the frontend's poll when `poll`, else only queued COM1 input), and
 * idle while the CPU is halted until `deadline` or host input, as
 * vm_run() does. */
void vm_serve_host(struct vm *vm, bool poll);
void vm_idle(struct vm *vm, uint64_t deadline);

void vm_errorf(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
