#include "frontends/console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vm/vm.h"

/* The one terminal a process has: restoring it from a signal handler
 * needs to find the saved state, so a pointer to it is kept here. It is
 * written once, when raw mode starts. */
static struct termios *restore_on_signal;

static void restore_and_die(int sig)
{
    if (restore_on_signal)
        tcsetattr(STDIN_FILENO, TCSANOW, restore_on_signal);
    signal(sig, SIG_DFL);
    raise(sig);
}

void console_open(struct console *c, struct vm *vm, bool interactive)
{
    memset(c, 0, sizeof(*c));
    c->vm = vm;
    c->fd = STDIN_FILENO;
    if (interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved) == 0) {
        struct termios t = c->saved;
        cfmakeraw(&t);
        t.c_oflag |= OPOST | ONLCR; /* keep our own messages readable */
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
            c->raw = true;
            restore_on_signal = &c->saved;
            signal(SIGTERM, restore_and_die);
            signal(SIGHUP, restore_and_die);
            fprintf(stderr, "kestrel: serial console on this terminal; Ctrl-A x quits, Ctrl-A h helps\r\n");
        }
    }
}

void console_close(struct console *c)
{
    if (c->raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
        c->raw = false;
        restore_on_signal = NULL;
    }
}

static void help(void)
{
    fprintf(stderr, "\r\nkestrel console escapes:\r\n"
                    "  Ctrl-A x        quit\r\n"
                    "  Ctrl-A d        dump the VGA text screen\r\n"
                    "  Ctrl-A Ctrl-A   send Ctrl-A\r\n"
                    "  Ctrl-A h        this help\r\n");
}

static void handle(struct console *c, const uint8_t *buf, size_t n)
{
    uint8_t out[512];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        if (c->raw && c->escape) {
            c->escape = false;
            switch (b) {
            case 'x': case 'X':
                vm_request_stop(c->vm);
                return;
            case 'h': case 'H': case '?':
                help();
                continue;
            case 'd': case 'D':
                if (c->dump_screen)
                    c->dump_screen(c->ctx);
                continue;
            case 0x01:
                break; /* a literal Ctrl-A */
            default:
                continue;
            }
        } else if (c->raw && b == 0x01) {
            c->escape = true;
            continue;
        }
        out[k++] = b;
    }
    vm_serial_input(c->vm, out, k);
}

void console_poll(struct console *c, int timeout_ms)
{
    if (c->fd < 0) {
        if (timeout_ms > 0) {
            struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };
            nanosleep(&ts, NULL);
        } else if (timeout_ms < 0) {
            pause();
        }
        return;
    }
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    size_t room = SERIAL_RX_BUF - (size_t)c->vm->rx_count;
    if (room == 0)
        return;
    uint8_t buf[512];
    ssize_t n = read(c->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
    if (n > 0)
        handle(c, buf, (size_t)n);
    else if (n == 0 || (errno != EINTR && errno != EAGAIN))
        c->fd = -1; /* EOF: the guest keeps running without input */
}
