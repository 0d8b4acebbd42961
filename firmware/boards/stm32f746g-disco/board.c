/* STM32F746G-DISCO: 25 MHz HSE -> PLL 216 MHz (over-drive), caches and ART on, USART1 on the
 * ST-Link virtual COM port (PA9 TX, PB7 RX), GPIO marker on PI3 (Arduino D7), DWT timer. */
#include "board.h"
#include "stm32-gpio.h"
#include "stm32-marker.h"
#include "stm32-usart.h"
#include "stm32f7.h"
#include "timer.h"

#define APB2_HZ 108000000u
#define MARKER_PORT GPIO_BASE(PORT_I)
#define MARKER_PIN 3u

static void clock_216mhz(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    PWR_CR1 |= PWR_CR1_VOS_SCALE1;
    RCC_CR |= RCC_CR_HSEON;
    while (!(RCC_CR & RCC_CR_HSERDY)) {
    }
    /* VCO = 25 MHz / M25 * N432 = 432 MHz; SYSCLK = VCO / P2 = 216 MHz; 48 MHz domain / Q9. */
    RCC_PLLCFGR = 25u | (432u << 6) | (0u << 16) | RCC_PLLCFGR_SRC_HSE | (9u << 24);
    RCC_CR |= RCC_CR_PLLON;
    /* 216 MHz needs over-drive, enabled while the PLL locks (RM0385 5.1.4). */
    PWR_CR1 |= PWR_CR1_ODEN;
    while (!(PWR_CSR1 & PWR_CSR1_ODRDY)) {
    }
    PWR_CR1 |= PWR_CR1_ODSWEN;
    while (!(PWR_CSR1 & PWR_CSR1_ODSWRDY)) {
    }
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    FLASH_ACR = 7u | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN; /* 7 wait states at 2.7-3.6 V */
    while ((FLASH_ACR & 0xFu) != 7u) {
    }
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2 | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
}

/* L1 caches: weights are read from flash on the AXIM bus, which the D-cache serves. */
static void caches_on(void)
{
    dsb_isb();
    SCB_ICIALLU = 0u;
    dsb_isb();
    SCB_CCR |= SCB_CCR_IC;
    SCB_CSSELR = 0u; /* level 1 data cache */
    dsb_isb();
    const uint32_t ccsidr = SCB_CCSIDR;
    const uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    const uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t s = 0; s < sets; s++) {
        for (uint32_t w = 0; w < ways; w++) {
            SCB_DCISW = (s << 5) | (w << 30); /* 32-byte lines, 4 ways on the F7 */
        }
    }
    dsb_isb();
    SCB_CCR |= SCB_CCR_DC;
    dsb_isb();
}

void board_init(void)
{
    clock_216mhz();
    caches_on();
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIO(PORT_A) | RCC_AHB1ENR_GPIO(PORT_B) | RCC_AHB1ENR_GPIO(PORT_I);
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    gpio_mode(GPIO_BASE(PORT_A), 9u, GPIO_MODE_AF, 7u); /* USART1_TX */
    gpio_mode(GPIO_BASE(PORT_B), 7u, GPIO_MODE_AF, 7u); /* USART1_RX */
    gpio_pullup(GPIO_BASE(PORT_B), 7u);
    stm32_marker_init(MARKER_PORT, MARKER_PIN);
    usart_v2_init(USART1_BASE, (APB2_HZ + 57600u) / 115200u);
    timer_init();
}

void board_putc(uint8_t c) { usart_v2_putc(USART1_BASE, c); }
uint8_t board_getc(void) { return usart_v2_getc(USART1_BASE); }
void board_marker_on(void) { stm32_marker(MARKER_PORT, MARKER_PIN, 1); }
void board_marker_off(void) { stm32_marker(MARKER_PORT, MARKER_PIN, 0); }
