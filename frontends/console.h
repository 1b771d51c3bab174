/*
 * The serial console on the host terminal (--display none): COM1 output
 * is written to stdout by main.c; this file feeds stdin to COM1. When
 * stdin is a terminal it is put in raw mode, and Ctrl-A starts an escape:
 *   Ctrl-A x   quit kestrel          Ctrl-A h   help
 *   Ctrl-A d   dump the VGA text screen to stderr
 *   Ctrl-A Ctrl-A   send a Ctrl-A to the guest
 * The terminal is restored on exit, including exits by signal.
 */
#ifndef KESTREL_CONSOLE_H
#define KESTREL_CONSOLE_H

#include <stdbool.h>
#include <termios.h>

struct vm;

struct console {
    int fd;               /* input descriptor, -1 when none or at EOF */
    bool raw;             /* the terminal is in raw mode (restore on exit) */
    bool escape;          /* Ctrl-A seen */
    struct termios saved;
    struct vm *vm;
    void (*dump_screen)(void *ctx); /* Ctrl-A d, may be NULL */
    void *ctx;
};

/* Start reading stdin for the guest; `interactive` allows raw mode. */
void console_open(struct console *c, struct vm *vm, bool interactive);
void console_close(struct console *c);
/* vm_config.host_poll: wait up to timeout_ms (-1: forever) for input. */
void console_poll(struct console *c, int timeout_ms);

#endif
