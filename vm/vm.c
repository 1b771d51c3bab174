/*
 * One virtual machine: memory, clock, port bus, the vCPU's hooks into the
 * board (vm/pc.c), and the run loop, which interleaves CPU slices with the
 * virtual clock's timers and carries out resets and power-off.
 */
#include "vm/vm.h"
#include "vm/kvm.h"
#include "jit/jit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
    return vclock_now(&vm->clock);
}

/* INTA: the local APIC answers (and runs the 8259's cycle for ExtINT). */
static int env_irq_ack(void *ctx)
{
    struct vm *vm = ctx;
    return lapic_ack(&vm->lapic);
}

static void env_apic_base(void *ctx, uint64_t val)
{
    struct vm *vm = ctx;
    lapic_set_base(&vm->lapic, val);
}

/* The 8259's INTR: the local APIC's LINT0 (virtual wire) and IOAPIC pin 0. */
static void pic_intr(void *ctx, int line, int level)
{
    struct vm *vm = ctx;
    (void)line;
    lapic_set_lint(&vm->lapic, 0, level);
    ioapic_set_irq(&vm->ioapic, 0, level);
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

    vclock_init(&vm->clock, cfg->clock, &vm->cpu.icount, cfg->ns_per_insn ? cfg->ns_per_insn : 1);
    uart_init(&vm->com1, com1_tx, vm, (struct irq){ pc_set_isa_irq, vm, 4 });
    vm->dbgexit = (struct debugexit){ debug_exit, vm };
    err = pc_init(vm);
    if (err) {
        pc_free(vm);
        phys_free(&vm->mem);
        return err;
    }

    struct cpu_env env = {
        .ctx = vm, .in = env_in, .out = env_out, .irq_ack = env_irq_ack, .clock = env_clock,
        .shutdown = env_shutdown, .log = env_log, .apic_base = env_apic_base,
    };
    err = cpu_init(&vm->cpu, &vm->mem, &env);
    if (err) {
        vm_errorf(vm, "cannot create the CPU: %s", strerror(-err));
        pc_free(vm);
        phys_free(&vm->mem);
        return err;
    }
    vm->pic.intr = (struct irq){ pic_intr, vm, 0 };
    vm->cpu.apic_id = vm->lapic.initial_id;
    vm->cpu.log_mask = cfg->log_mask;
    if (cfg->max_block_insns > 0)
        vm->cpu.max_block_insns = cfg->max_block_insns;
    if (cfg->accel == VM_ACCEL_JIT) {
        struct jit_config jc = { .threshold = cfg->jit_threshold, .max_insns = cfg->jit_max_insns,
                                 .max_blocks = cfg->jit_max_blocks,
                                 .stats = cfg->jit_stats, .cosim = cfg->jit_cosim, .no_loops = cfg->jit_no_loops,
                                 .no_ret_stack = cfg->jit_no_ret_stack,
                                 .no_ic = cfg->jit_no_ic,
                                 .perf_map = cfg->jit_perf_map };
        char why[200];
        vm->jit = jit_new(&vm->cpu, &jc, why, sizeof(why));
        if (!vm->jit) {
            vm_errorf(vm, "--accel jit: %s", why);
            cpu_free(&vm->cpu);
            pc_free(vm);
            phys_free(&vm->mem);
            return -EINVAL;
        }
    }
    if (cfg->accel == VM_ACCEL_KVM) {
        err = kvm_accel_open(vm); /* sets vm->error */
        if (err) {
            cpu_free(&vm->cpu);
            pc_free(vm);
            phys_free(&vm->mem);
            return err;
        }
    }
    return 0;
}

void vm_free(struct vm *vm)
{
    kvm_accel_close(vm);
    jit_free(vm->jit);
    vm->jit = NULL;
    cpu_free(&vm->cpu);
    pc_free(vm);
    phys_free(&vm->mem);
}

size_t vm_serial_input(struct vm *vm, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    for (; n < len && vm->rx_count < SERIAL_RX_BUF; n++) {
        vm->rx_buf[(vm->rx_head + vm->rx_count) % SERIAL_RX_BUF] = buf[n];
        vm->rx_count++;
    }
    return n;
}

void vm_request_stop(struct vm *vm)
{
    vm->stop_requested = true;
    cpu_request_exit(&vm->cpu);
}

/* Move queued host input into COM1 as its receive FIFO has room. */
static void feed_serial(struct vm *vm)
{
    while (vm->rx_count && uart_can_receive(&vm->com1)) {
        uart_receive(&vm->com1, vm->rx_buf[vm->rx_head]);
        vm->rx_head = (vm->rx_head + 1) % SERIAL_RX_BUF;
        vm->rx_count--;
    }
}

static void poll_host(struct vm *vm, int timeout_ms)
{
    if (vm->cfg.host_poll)
        vm->cfg.host_poll(vm->cfg.ctx, timeout_ms);
    feed_serial(vm);
}

/* While halted: sleep until the next timer or host input (host clock), or
 * jump straight to the timer (icount clock, after a look at host input). */
static void wait_for_deadline(struct vm *vm, uint64_t deadline)
{
    if (vm->clock.source == CLOCK_ICOUNT) {
        poll_host(vm, 0);
        if (!vm->cpu.irq_line && deadline != UINT64_MAX)
            vclock_warp(&vm->clock, deadline);
        return;
    }
    uint64_t now = vclock_now(&vm->clock);
    if (deadline != UINT64_MAX && deadline <= now)
        return;
    if (vm->cfg.host_poll) {
        int ms = deadline == UINT64_MAX ? -1 : (int)((deadline - now + 999999) / 1000000);
        poll_host(vm, ms);
        return;
    }
    uint64_t ns = deadline - now;
    struct timespec ts = { (time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC) };
    nanosleep(&ts, NULL);
}

void vm_serve_host(struct vm *vm, bool poll)
{
    if (poll)
        poll_host(vm, 0);
    else if (vm->rx_count)
        feed_serial(vm);
}

void vm_idle(struct vm *vm, uint64_t deadline)
{
    wait_for_deadline(vm, deadline);
}

enum vm_stop vm_run(struct vm *vm, uint64_t max_insns)
{
    if (vm->kvm)
        return kvm_accel_run(vm); /* no instruction count: max_insns is refused with --accel kvm */
    /* CPU slices are short so timers fire close to their deadline: about
     * 0.1-0.5 ms of guest time at the interpreter's speed. */
    const uint64_t slice = 1u << 16;
    uint64_t start = vm->cpu.icount;
    unsigned slices = 0;
    for (;;) {
        if ((++slices & 15) == 0)
            poll_host(vm, 0);
        else if (vm->rx_count)
            feed_serial(vm);
        if (vm->stop_requested) {
            vm->stop_requested = false;
            return VM_STOP_USER;
        }
        if (vm->cfg.max_time_ns && vclock_now(&vm->clock) >= vm->cfg.max_time_ns)
            return VM_STOP_LIMIT;
        vclock_run_timers(&vm->clock);
        uint64_t budget = slice;
        if (vm->clock.source == CLOCK_ICOUNT) {
            /* Stop exactly at the next deadline: runs are reproducible. */
            uint64_t now = vclock_now(&vm->clock), next = vclock_next_deadline(&vm->clock);
            if (next != UINT64_MAX) {
                uint64_t n = next > now ? (next - now + vm->clock.ns_per_insn - 1) / vm->clock.ns_per_insn : 1;
                if (n < budget)
                    budget = n;
            }
        }
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
        if (vm->stop_requested) {
            vm->stop_requested = false;
            return VM_STOP_USER;
        }
        if (vm->poweroff_requested)
            return VM_STOP_POWEROFF;
        if (r == CPU_EXIT_SHUTDOWN || vm->reset_requested) {
            /* A triple fault resets a PC, as does a guest reset request;
             * without firmware there is nothing to restart. */
            bool triple = r == CPU_EXIT_SHUTDOWN;
            vm->reset_requested = false;
            vm->shutdown = false;
            if (vm->cfg.no_reboot || !vm->bios_low)
                return triple ? VM_STOP_SHUTDOWN : VM_STOP_RESET;
            pc_reset(vm);
            continue;
        }
        if (r == CPU_EXIT_HALT) {
            uint64_t next = vclock_next_deadline(&vm->clock);
            /* Halted with interrupts off (and no NMI), or with nothing that
             * could ever raise one: the guest has stopped for good. */
            bool can_wake = (vm->cpu.eflags & EFL_IF) && (next != UINT64_MAX || vm->cfg.host_poll);
            if (!vm->cpu.nmi_pending && !can_wake)
                return VM_STOP_HALTED;
            wait_for_deadline(vm, next);
        }
    }
}
