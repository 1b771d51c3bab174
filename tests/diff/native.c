/*
 * diff_native: the oracle side of the differential test. A 32-bit Linux
 * process that runs test sequences on the host CPU and reports the state
 * they leave.
 *
 * It maps the code and data areas of proto.h at their fixed addresses,
 * installs LDT entry 0 (base DATA_ADDR) for ES/FS, then serves requests on
 * stdin/stdout: copy the code and data in, enter the sequence with
 * diff_enter() (native_entry.S), and wait for the exception that ends it.
 * Every end is a signal (SIGTRAP for the INT3 end marker, SIGFPE for #DE,
 * SIGSEGV/SIGBUS/SIGILL for faults, SIGALRM for a runaway); the handler
 * runs on an alternate stack, so the test's stack in the data area is not
 * touched, copies the registers, EFLAGS, EIP and trap number out of the
 * signal context, and longjmps back to the request loop.
 *
 * Built with -m32 by tests/diff/diff.cmake; it is not linked with the
 * emulator and must stay plain C + libc.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "proto.h"

void diff_enter(const struct diff_state *s) __attribute__((noreturn));
void diff_enter16(const struct diff_state *s) __attribute__((noreturn));

static jmp_buf ret_jb;
static volatile sig_atomic_t in_test;
static uint16_t tls_gs; /* glibc's GS (TLS): a test may have loaded another */
static struct diff_state result;
static uint8_t altstack[64 * 1024];

static void die(const char *msg)
{
    fprintf(stderr, "diff_native: %s\n", msg);
    exit(2);
}

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    /* Before anything can touch TLS (longjmp mangles pointers with it). */
    __asm__ volatile("mov %0, %%gs" : : "r"(tls_gs));
    if (!in_test) {
        /* A fault in the runner itself: die loudly rather than lie. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    const ucontext_t *uc = ctx;
    const greg_t *g = uc->uc_mcontext.gregs;
    result.gpr[0] = (uint32_t)g[REG_EAX];
    result.gpr[1] = (uint32_t)g[REG_ECX];
    result.gpr[2] = (uint32_t)g[REG_EDX];
    result.gpr[3] = (uint32_t)g[REG_EBX];
    result.gpr[4] = (uint32_t)g[REG_UESP];
    result.gpr[5] = (uint32_t)g[REG_EBP];
    result.gpr[6] = (uint32_t)g[REG_ESI];
    result.gpr[7] = (uint32_t)g[REG_EDI];
    result.eflags = (uint32_t)g[REG_EFL];
    result.eip = (uint32_t)g[REG_EIP];
    result.vector = sig == SIGALRM ? VEC_TIMEOUT : (uint32_t)g[REG_TRAPNO];
    result.errcode = (uint32_t)g[REG_ERR];
    result.sreg[0] = (uint16_t)g[REG_ES];
    result.sreg[1] = (uint16_t)g[REG_CS];
    result.sreg[2] = (uint16_t)g[REG_SS];
    result.sreg[3] = (uint16_t)g[REG_DS];
    result.sreg[4] = (uint16_t)g[REG_FS];
    result.sreg[5] = (uint16_t)g[REG_GS];
    in_test = 0;
    longjmp(ret_jb, 1);
}

static void read_full(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(0, p, n);
        if (r == 0)
            exit(0); /* driver closed the pipe: done */
        if (r < 0)
            die("read failed");
        p += r;
        n -= (size_t)r;
    }
}

static void write_full(const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(1, p, n);
        if (r <= 0)
            die("write failed");
        p += r;
        n -= (size_t)r;
    }
}

static void setup(void)
{
    void *code = mmap((void *)CODE_ADDR, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *data = mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (void *)CODE_ADDR || data != (void *)DATA_ADDR)
        die("cannot map the code and data areas at their fixed addresses");
    memset(code, 0xcc, CODE_SIZE);

    struct user_desc d = { 0 };
    d.entry_number = LDT_SEL >> 3;
    d.base_addr = DATA_ADDR;
    d.limit = DATA_SIZE - 1;
    d.seg_32bit = 1;
    d.useable = 1;
    if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
        die("modify_ldt failed (kernel without CONFIG_MODIFY_LDT_SYSCALL?)");
    struct user_desc c16 = { 0 };
    c16.entry_number = CODE16_SEL >> 3;
    c16.base_addr = CODE_ADDR;
    c16.limit = 0xffff;
    c16.seg_32bit = 0;
    c16.contents = 2; /* code */
    c16.useable = 1;
    if (syscall(SYS_modify_ldt, 1, &c16, sizeof(c16)) != 0)
        die("modify_ldt failed for the 16-bit code segment");

    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    if (sigaltstack(&ss, NULL) != 0)
        die("sigaltstack failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    static const int sigs[] = { SIGTRAP, SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGALRM };
    for (unsigned k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
        if (sigaction(sigs[k], &sa, NULL) != 0)
            die("sigaction failed");
}

int main(void)
{
    setup();
    struct diff_hello h = { .magic = DIFF_MAGIC_HELLO };
    __asm__ volatile("mov %%cs, %0; mov %%ds, %1; mov %%ss, %2; mov %%gs, %3"
                     : "=r"(h.cs), "=r"(h.ds), "=r"(h.ss), "=r"(h.gs));
    tls_gs = h.gs;
    const uint32_t sels[LAR_COUNT] = { h.cs, h.ds, h.gs, LDT_SEL, CODE16_SEL };
    for (int k = 0; k < LAR_COUNT; k++)
        __asm__ volatile("lar %1, %0" : "=r"(h.lar[k]) : "r"(sels[k]) : "cc");
    write_full(&h, sizeof(h));

    uint8_t *code = (uint8_t *)CODE_ADDR;
    uint32_t prev_len = 0;
    for (;;) {
        struct diff_req req;
        read_full(&req, sizeof(req));
        if (req.magic != DIFF_MAGIC_REQ || req.code_len > CODE_SIZE)
            die("bad request");
        memset(code, 0xcc, prev_len);
        read_full(code, req.code_len);
        prev_len = req.code_len;
        read_full((void *)DATA_ADDR, DATA_SIZE);

        memset(&result, 0, sizeof(result));
        if (!setjmp(ret_jb)) {
            alarm(2);
            in_test = 1;
            if (req.init.flags & STATE_CODE16)
                diff_enter16(&req.init);
            diff_enter(&req.init);
        }
        alarm(0);
        struct diff_resp resp = { .magic = DIFF_MAGIC_RESP, .fin = result };
        write_full(&resp, sizeof(resp));
        write_full((void *)DATA_ADDR, DATA_SIZE);
    }
}
