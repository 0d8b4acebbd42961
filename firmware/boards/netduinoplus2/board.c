/* Netduino Plus 2 (STM32F405) under QEMU: USART1 (QEMU serial0) by polling, SysTick timer.
 * No clock set-up: QEMU 7.2 does not emulate the RCC (its RDY bits read 0, so a PLL start-up
 * loop would hang) and runs the core at 168 MHz. The RCC/GPIO writes below are what a real
 * F405 needs and are ignored by QEMU. */
#include "board.h"
#include "stm32-gpio.h"
#include "stm32-marker.h"
#include "stm32-usart.h"
#include "stm32f4.h"
#include "timer.h"

#define APB2_HZ 84000000u /* 168 MHz / 2 */
#define MARKER_PIN 8u     /* PA8 */

void board_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    gpio_mode(GPIOA_BASE, 9u, GPIO_MODE_AF, 7u);  /* USART1_TX */
    gpio_mode(GPIOA_BASE, 10u, GPIO_MODE_AF, 7u); /* USART1_RX */
    stm32_marker_init(GPIOA_BASE, MARKER_PIN);
    usart_v1_init(USART1_BASE, (APB2_HZ + 57600u) / 115200u);
    timer_init();
}

void board_putc(uint8_t c) { usart_v1_putc(USART1_BASE, c); }
uint8_t board_getc(void) { return usart_v1_getc(USART1_BASE); }
void board_marker_on(void) { stm32_marker(GPIOA_BASE, MARKER_PIN, 1); }
void board_marker_off(void) { stm32_marker(GPIOA_BASE, MARKER_PIN, 0); }
