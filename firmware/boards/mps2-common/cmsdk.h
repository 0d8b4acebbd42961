/* Registers of the Arm MPS2 FPGA images (AN385/AN386/AN500); Cortex-M system registers are in cortex-m.h. */
#ifndef YONO_CMSDK_H
#define YONO_CMSDK_H

#include "cortex-m.h"

/* CMSDK APB UART0 (QEMU: -serial #0) */
#define UART0_BASE 0x40004000u
#define UART_DATA REG32(UART0_BASE + 0x00u)
#define UART_STATE REG32(UART0_BASE + 0x04u)
#define UART_CTRL REG32(UART0_BASE + 0x08u)
#define UART_INTSTATUS REG32(UART0_BASE + 0x0Cu)
#define UART_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_STATE_TXFULL (1u << 0)
#define UART_STATE_RXFULL (1u << 1)
#define UART_CTRL_TXEN (1u << 0)
#define UART_CTRL_RXEN (1u << 1)
#define UART_CTRL_RXIE (1u << 3)
#define UART_INT_RX (1u << 1)
#define UART0_RX_IRQ 0u /* QEMU hw/arm/mps2.c and the AN385/386/500 documents: UART0 RX is IRQ 0 */

#endif
