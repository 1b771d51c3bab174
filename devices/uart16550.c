/*
 * 16550A UART model. Register map (offset from the base port):
 *   0 RBR/THR (DLL with LCR.DLAB)   1 IER (DLM with DLAB)   2 IIR/FCR
 *   3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
 * Transmission is instantaneous: THR is always empty again right after a
 * write, so LSR.THRE/TEMT read as set and a THR-empty interrupt follows
 * each write when enabled.
 */
#include "devices/uart16550.h"

#include <string.h>

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_RLS 0x04
#define IER_MS 0x08
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

void uart_init(struct uart *u, void (*tx)(void *ctx, uint8_t byte), void *ctx, struct irq irq)
{
    memset(u, 0, sizeof(*u));
    u->tx = tx;
    u->ctx = ctx;
    u->irq = irq;
    uart_reset(u);
}

void uart_reset(struct uart *u)
{
    u->ier = u->lcr = u->mcr = u->scr = u->fcr = 0;
    u->iir = 0x01;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->msr = 0xb0; /* DCD, DSR, CTS */
    u->divisor = 12; /* 9600 baud */
    u->rx_head = u->rx_count = 0;
    u->thr_irq = false;
    u->irq_level = 0;
}

static void update_irq(struct uart *u)
{
    uint8_t iir = 0x01;
    if ((u->ier & IER_RLS) && (u->lsr & LSR_OE))
        iir = 0x06;
    else if ((u->ier & IER_RDA) && u->rx_count)
        iir = 0x04;
    else if ((u->ier & IER_THRE) && u->thr_irq)
        iir = 0x02;
    else if ((u->ier & IER_MS) && (u->msr & 0x0f))
        iir = 0x00;
    u->iir = (uint8_t)(iir | ((u->fcr & 1) ? 0xc0 : 0));
    /* On a PC, OUT2 gates the UART's interrupt onto the bus. */
    int level = !(iir & 1) && (u->mcr & MCR_OUT2);
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(&u->irq, level);
    }
}

bool uart_can_receive(const struct uart *u)
{
    return u->rx_count < ((u->fcr & 1) ? UART_FIFO : 1);
}

bool uart_receive(struct uart *u, uint8_t byte)
{
    if (!uart_can_receive(u)) {
        u->lsr |= LSR_OE;
        update_irq(u);
        return false;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO] = byte;
    u->rx_count++;
    u->lsr |= LSR_DR;
    update_irq(u);
    return true;
}

static void transmit(struct uart *u, uint8_t byte)
{
    if (u->mcr & MCR_LOOP)
        uart_receive(u, byte);
    else if (u->tx)
        u->tx(u->ctx, byte);
    u->thr_irq = true;
}

uint32_t uart_read(void *opaque, uint16_t port, int size)
{
    struct uart *u = opaque;
    (void)size;
    uint8_t v = 0xff;
    switch (port & 7) {
    case 0:
        if (u->lcr & 0x80) {
            v = (uint8_t)u->divisor;
        } else {
            v = 0;
            if (u->rx_count) {
                v = u->rx[u->rx_head];
                u->rx_head = (u->rx_head + 1) % UART_FIFO;
                u->rx_count--;
            }
            if (!u->rx_count)
                u->lsr &= (uint8_t)~LSR_DR;
        }
        break;
    case 1:
        v = (u->lcr & 0x80) ? (uint8_t)(u->divisor >> 8) : u->ier;
        break;
    case 2:
        v = u->iir;
        if ((u->iir & 0x0f) == 0x02) /* reading IIR acknowledges THR empty */
            u->thr_irq = false;
        break;
    case 3:
        v = u->lcr;
        break;
    case 4:
        v = u->mcr;
        break;
    case 5:
        v = u->lsr;
        u->lsr &= (uint8_t)~LSR_OE;
        break;
    case 6:
        if (u->mcr & MCR_LOOP) /* loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
            v = (uint8_t)(((u->mcr & 0x0c) << 4) | ((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3));
        else
            v = u->msr;
        u->msr &= 0xf0;
        break;
    case 7:
        v = u->scr;
        break;
    }
    update_irq(u);
    return v;
}

void uart_write(void *opaque, uint16_t port, int size, uint32_t val)
{
    struct uart *u = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    switch (port & 7) {
    case 0:
        if (u->lcr & 0x80)
            u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
        else
            transmit(u, v);
        break;
    case 1:
        if (u->lcr & 0x80) {
            u->divisor = (uint16_t)((u->divisor & 0x00ff) | v << 8);
        } else {
            /* Enabling THRE with an empty THR raises the interrupt at once. */
            if ((v & IER_THRE) && !(u->ier & IER_THRE))
                u->thr_irq = true;
            u->ier = v & 0x0f;
        }
        break;
    case 2:
        u->fcr = v & 0xc9;
        if (v & 0x02) { /* clear receive FIFO */
            u->rx_head = u->rx_count = 0;
            u->lsr &= (uint8_t)~LSR_DR;
        }
        break;
    case 3:
        u->lcr = v;
        break;
    case 4:
        u->mcr = v & 0x1f;
        break;
    case 7:
        u->scr = v;
        break;
    }
    update_irq(u);
}
