/* MPS2 board code shared by the AN386 (Cortex-M4) and AN500 (Cortex-M7) images: UART0 by
 * polling; the tick timer is SysTick (boards/cortex-m/timer_systick.c). */
#include "board.h"
#include "cmsdk.h"
#include "timer.h"

void board_init(void)
{
    /* QEMU drops TX bytes if BAUDDIV < 16; the value is otherwise irrelevant under emulation. */
    UART_BAUDDIV = 16u;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN;
    UART_INTSTATUS = 0xFu;
    timer_init();
}

void board_putc(uint8_t c)
{
    while (UART_STATE & UART_STATE_TXFULL) {
    }
    UART_DATA = c;
}

uint8_t board_getc(void)
{
    while (!(UART_STATE & UART_STATE_RXFULL)) {
    }
    return (uint8_t)UART_DATA;
}

/* No power monitor is ever attached to an emulated board: the marker is a no-op. */
void board_marker_on(void) {}
void board_marker_off(void) {}
