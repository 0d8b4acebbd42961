/* MPS2 board code shared by the AN386 (Cortex-M4) and AN500 (Cortex-M7) images:
 * UART0 by polling, and a 64-bit tick counter built on SysTick. */
#include "board.h"
#include "cmsdk.h"

#ifndef YONO_BOARD_NAME
#error "YONO_BOARD_NAME must come from board.mk via the Makefile"
#endif
#ifndef YONO_CORE
#error "YONO_CORE must come from board.mk via the Makefile"
#endif

#define SYSTICK_RELOAD 0xFFFFFFu

/* SysTick wraps counted by the IRQ; the low 24 bits come from SYST_CVR. */
static volatile uint32_t systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void) { systick_wraps++; }

void board_init(void)
{
    /* QEMU drops TX bytes if BAUDDIV < 16; the value is otherwise irrelevant under emulation. */
    UART_BAUDDIV = 16u;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN;
    UART_INTSTATUS = 0xFu;

    SYST_CSR = 0u;
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0u; /* any write clears the counter; it reloads on the next tick */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    __asm volatile("cpsie i" ::: "memory");
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

uint64_t board_ticks(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    uint32_t wraps = systick_wraps;
    uint32_t v = SYST_CVR;
    if (SCB_ICSR & SCB_ICSR_PENDSTSET) {
        /* A wrap happened that the IRQ has not counted yet (IRQs are masked here). Re-read:
         * if the counter has reloaded (large value) the pending wrap belongs to this reading. */
        v = SYST_CVR;
        if (v > (SYSTICK_RELOAD >> 1)) {
            wraps++;
        }
    }
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
    return ((uint64_t)wraps << 24) | (uint64_t)(SYSTICK_RELOAD - v);
}

const char *board_name(void) { return YONO_BOARD_NAME; }
const char *board_core(void) { return YONO_CORE; }
