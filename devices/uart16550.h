/*
 * A 16550A UART: divisor latch, line control, 16-byte FIFOs in both
 * directions, the four interrupt sources with their priorities, modem
 * control loopback, and the scratch register. Output bytes go to a sink
 * callback; input arrives through uart_receive().
 */
#ifndef KESTREL_UART16550_H
#define KESTREL_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

#define UART_FIFO 16

struct uart {
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    uint8_t rx[UART_FIFO];
    int rx_head, rx_count;
    bool thr_irq;  /* THR-empty interrupt pending (cleared by IIR read or write) */
    int irq_level; /* current output level */
    void (*tx)(void *ctx, uint8_t byte);
    void *ctx;
    struct irq irq;
};

void uart_init(struct uart *u, void (*tx)(void *ctx, uint8_t byte), void *ctx, struct irq irq);
void uart_reset(struct uart *u);
uint32_t uart_read(void *opaque, uint16_t port, int size);
void uart_write(void *opaque, uint16_t port, int size, uint32_t val);
/* Offer a received byte; false if the FIFO is full. */
bool uart_receive(struct uart *u, uint8_t byte);
bool uart_can_receive(const struct uart *u);

#endif
