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
#include <stdint.h>

#include "cpu/cpu.h"
#include "devices/clock.h"
#include "devices/debugexit.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/iobus.h"
#include "devices/uart16550.h"
#include "mmu/phys.h"

#define DEBUGEXIT_PORT 0xf4
#define COM1_PORT 0x3f8

struct vm_config {
    uint64_t mem_size;   /* bytes of guest RAM */
    enum clock_source clock; /* CLOCK_HOST (default) or CLOCK_ICOUNT (reproducible) */
    unsigned log_mask;   /* LOG_* */
    int max_block_insns; /* 0: default */
    void (*serial_out)(void *ctx, uint8_t byte);
    void (*log)(void *ctx, const char *msg);
    void *ctx;
};

enum vm_stop {
    VM_STOP_EXIT,     /* guest wrote the debug-exit port: exit_status holds the code */
    VM_STOP_HALTED,   /* HLT with nothing left that could wake the CPU */
    VM_STOP_SHUTDOWN, /* triple fault */
    VM_STOP_LIMIT,    /* instruction limit reached */
};

struct vm {
    struct phys mem;
    struct cpu cpu;
    struct iobus io;
    struct vclock clock;
    struct i8259 pic;
    struct i8254 pit;
    struct uart com1;
    struct debugexit dbgexit;
    struct vm_config cfg;
    bool exit_requested;
    int exit_status;
    bool shutdown;
    char error[256];
};

/* Create the board. Returns 0, or -errno with vm->error set. */
int vm_init(struct vm *vm, const struct vm_config *cfg);
void vm_free(struct vm *vm);

/* Loaders (vm/multiboot.c, vm/rom.c). Return 0, or -1 with vm->error set. */
int vm_load_multiboot(struct vm *vm, const char *path, const char *cmdline);
int vm_load_bios(struct vm *vm, const char *path);

/* Run until the guest stops; max_insns 0 means no limit. */
enum vm_stop vm_run(struct vm *vm, uint64_t max_insns);

void vm_errorf(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
