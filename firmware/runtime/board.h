/* Board interface: the only things the runtime needs from a board (implemented in boards/). */
#ifndef YONO_BOARD_H
#define YONO_BOARD_H

#include <stdint.h>

/* Clocks, UART and the tick timer; called once from main before anything else. */
void board_init(void);

/* Blocking byte output on the host link. */
void board_putc(uint8_t c);

/* Blocking byte input from the host link (polling: faster than IRQ+WFI under QEMU). */
uint8_t board_getc(void);

/* Free-running 64-bit tick counter at TIMER_HZ; monotonic, safe to call with IRQs enabled. */
uint64_t board_ticks(void);

/* GPIO marker raised around each timed inference, for a power monitor's trigger input
 * (a no-op on boards without one). */
void board_marker_on(void);
void board_marker_off(void);

const char *board_name(void);
const char *board_core(void);

#endif
