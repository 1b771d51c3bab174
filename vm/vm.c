/*
 * Board wiring for the first Kestrel PC: RAM, COM1, the debug-exit port,
 * and the vCPU's hooks into them; and the run loop.
 */
#include "vm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vm_errorf(struct vm *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
    va_end(ap);
}

static uint32_t env_in(void *ctx, uint16_t port, int size)
{
    struct vm *vm = ctx;
    return iobus_in(&vm->io, port, size);
}

static void env_out(void *ctx, uint16_t port, int size, uint32_t val)
{
    struct vm *vm = ctx;
    iobus_out(&vm->io, port, size, val);
}

static uint64_t env_clock(void *ctx)
{
    struct vm *vm = ctx;
    /* Until the board has a virtual clock: 1 ns per instruction. */
    return vm->cpu.icount;
}

static void env_shutdown(void *ctx)
{
    struct vm *vm = ctx;
    vm->shutdown = true;
}

static void env_log(void *ctx, const char *msg)
{
    struct vm *vm = ctx;
    if (vm->cfg.log)
        vm->cfg.log(vm->cfg.ctx, msg);
}

static void debug_exit(void *ctx, int status)
{
    struct vm *vm = ctx;
    vm->exit_requested = true;
    vm->exit_status = status;
    cpu_request_exit(&vm->cpu);
}

static void com1_tx(void *ctx, uint8_t byte)
{
    struct vm *vm = ctx;
    if (vm->cfg.serial_out)
        vm->cfg.serial_out(vm->cfg.ctx, byte);
}

int vm_init(struct vm *vm, const struct vm_config *cfg)
{
    memset(vm, 0, sizeof(*vm));
    vm->cfg = *cfg;
    int err = phys_init(&vm->mem, cfg->mem_size);
    if (err) {
        vm_errorf(vm, "cannot allocate %llu bytes of guest memory: %s", (unsigned long long)cfg->mem_size,
                  strerror(-err));
        return err;
    }
    vm->mem.log = env_log;
    vm->mem.log_ctx = vm;
    vm->mem.log_unmapped = (cfg->log_mask & LOG_IO) != 0;

    iobus_init(&vm->io);
    vm->io.log = env_log;
    vm->io.log_ctx = vm;
    vm->io.log_unclaimed = (cfg->log_mask & LOG_IO) != 0;

    uart_init(&vm->com1, com1_tx, NULL, vm);
    struct io_handler com1 = { uart_read, uart_write, &vm->com1, "com1" };
    vm->dbgexit = (struct debugexit){ debug_exit, vm };
    struct io_handler dbg = { NULL, debugexit_write, &vm->dbgexit, "debug-exit" };
    if (iobus_register(&vm->io, COM1_PORT, 8, &com1) || iobus_register(&vm->io, DEBUGEXIT_PORT, 4, &dbg)) {
        vm_errorf(vm, "board wiring failed");
        phys_free(&vm->mem);
        return -EINVAL;
    }

    struct cpu_env env = {
        .ctx = vm, .in = env_in, .out = env_out, .clock = env_clock, .shutdown = env_shutdown, .log = env_log,
    };
    err = cpu_init(&vm->cpu, &vm->mem, &env);
    if (err) {
        vm_errorf(vm, "cannot create the CPU: %s", strerror(-err));
        phys_free(&vm->mem);
        return err;
    }
    vm->cpu.log_mask = cfg->log_mask;
    if (cfg->max_block_insns > 0)
        vm->cpu.max_block_insns = cfg->max_block_insns;
    return 0;
}

void vm_free(struct vm *vm)
{
    cpu_free(&vm->cpu);
    phys_free(&vm->mem);
}

enum vm_stop vm_run(struct vm *vm, uint64_t max_insns)
{
    const uint64_t slice = 1u << 22;
    uint64_t start = vm->cpu.icount;
    for (;;) {
        uint64_t budget = slice;
        if (max_insns) {
            uint64_t done = vm->cpu.icount - start;
            if (done >= max_insns)
                return VM_STOP_LIMIT;
            if (max_insns - done < budget)
                budget = max_insns - done;
        }
        enum cpu_exit r = cpu_exec(&vm->cpu, budget);
        if (vm->exit_requested)
            return VM_STOP_EXIT;
        if (r == CPU_EXIT_SHUTDOWN)
            return VM_STOP_SHUTDOWN;
        if (r == CPU_EXIT_HALT) {
            /* Nothing on this board raises interrupts yet: a halted CPU
             * stays halted unless an NMI is pending. */
            if (!vm->cpu.nmi_pending)
                return VM_STOP_HALTED;
        }
    }
}
