/* NUCLEO-L4R5ZI: MSI 4 MHz -> PLL 120 MHz (range 1 boost), LPUART1 on the ST-Link virtual COM
 * port (PG7 TX, PG8 RX, port G powered from VDDIO2), GPIO marker on PF13 (Arduino D7), DWT. */
#include "board.h"
#include "stm32-gpio.h"
#include "stm32-marker.h"
#include "stm32-usart.h"
#include "stm32l4.h"
#include "timer.h"

#define HCLK_HZ 120000000u
#define MARKER_PORT GPIO_BASE(PORT_F)
#define MARKER_PIN 13u

static void clock_120mhz(void)
{
    RCC_APB1ENR1 |= RCC_APB1ENR1_PWREN;
    PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_RANGE1;
    while (PWR_SR2 & PWR_SR2_VOSF) {
    }
    PWR_CR5 &= ~PWR_CR5_R1MODE; /* range 1 boost: needed above 80 MHz */
    FLASH_ACR = 5u | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN; /* 5 WS at 120 MHz */
    while ((FLASH_ACR & 0xFu) != 5u) {
    }
    while (!(RCC_CR & RCC_CR_MSIRDY)) {
    }
    /* VCO = MSI 4 MHz / M1 * N60 = 240 MHz; SYSCLK = VCO / R2 = 120 MHz. */
    RCC_PLLCFGR = RCC_PLLCFGR_SRC_MSI | (0u << 4) | (60u << 8) | RCC_PLLCFGR_PLLREN | (0u << 25);
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    /* RM0432 6.2.7: pass through AHB / 2 for at least 1 us when jumping above 80 MHz. */
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_HPRE_MASK) | RCC_CFGR_HPRE_DIV2;
    RCC_CFGR = (RCC_CFGR & ~3u) | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
    for (volatile uint32_t i = 0; i < 200u; i++) {
    }
    RCC_CFGR &= ~RCC_CFGR_HPRE_MASK;
}

void board_init(void)
{
    clock_120mhz();
    PWR_CR2 |= PWR_CR2_IOSV; /* PG2..PG15 are supplied by VDDIO2, isolated until declared valid */
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIO(PORT_F) | RCC_AHB2ENR_GPIO(PORT_G);
    RCC_APB1ENR2 |= RCC_APB1ENR2_LPUART1EN; /* kernel clock: PCLK1 (CCIPR reset value) */
    gpio_mode(GPIO_BASE(PORT_G), 7u, GPIO_MODE_AF, 8u); /* LPUART1_TX */
    gpio_mode(GPIO_BASE(PORT_G), 8u, GPIO_MODE_AF, 8u); /* LPUART1_RX */
    stm32_marker_init(MARKER_PORT, MARKER_PIN);
    /* LPUART: BRR = 256 * f / baud (= 266667 at 120 MHz, 115200 Bd) */
    usart_v2_init(LPUART1_BASE, (uint32_t)((256ull * HCLK_HZ + 57600u) / 115200u));
    timer_init();
}

void board_putc(uint8_t c) { usart_v2_putc(LPUART1_BASE, c); }
uint8_t board_getc(void) { return usart_v2_getc(LPUART1_BASE); }
void board_marker_on(void) { stm32_marker(MARKER_PORT, MARKER_PIN, 1); }
void board_marker_off(void) { stm32_marker(MARKER_PORT, MARKER_PIN, 0); }
