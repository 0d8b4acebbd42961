/* ext_storage on the F746G-DISCO's 16 MiB QSPI NOR (Micron N25Q128A) through the QUADSPI
 * peripheral in indirect mode: Quad Output Fast Read (0x6B, 1-1-4 lines, 8 dummy cycles) at
 * 108 MHz (AHB 216 MHz / 2). Pins: CLK PB2 AF9, NCS PB6 AF10, IO0 PD11, IO1 PD12, IO2 PE2,
 * IO3 PD13 (AF9). */
#include "ext_storage.h"
#include "stm32-gpio.h"
#include "stm32f7.h"

#define QSPI_CR REG32(QUADSPI_BASE + 0x00u)
#define QSPI_DCR REG32(QUADSPI_BASE + 0x04u)
#define QSPI_SR REG32(QUADSPI_BASE + 0x08u)
#define QSPI_FCR REG32(QUADSPI_BASE + 0x0Cu)
#define QSPI_DLR REG32(QUADSPI_BASE + 0x10u)
#define QSPI_CCR REG32(QUADSPI_BASE + 0x14u)
#define QSPI_AR REG32(QUADSPI_BASE + 0x18u)
#define QSPI_DR8 (*(volatile uint8_t *)(uintptr_t)(QUADSPI_BASE + 0x20u))

#define SR_TCF (1u << 1)
#define SR_FTF (1u << 2)
#define SR_BUSY (1u << 5)
#define FCR_CTCF (1u << 1)

#define CCR_IMODE_1 (1u << 8)
#define CCR_ADMODE_1 (1u << 10)
#define CCR_ADSIZE_24 (2u << 12)
#define CCR_DCYC(n) ((uint32_t)(n) << 18)
#define CCR_DMODE_1 (1u << 24)
#define CCR_DMODE_4 (3u << 24)
#define CCR_FMODE_READ (1u << 26)

#define FLASH_BYTES (16u * 1024u * 1024u)
#define CMD_READ_ID 0x9Fu
#define CMD_QUAD_OUT_READ 0x6Bu
#define POLL_LIMIT 1000000u

static void ext_storage_pins(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIO(PORT_B) | RCC_AHB1ENR_GPIO(PORT_D) | RCC_AHB1ENR_GPIO(PORT_E);
    RCC_AHB3ENR |= RCC_AHB3ENR_QSPIEN;
    gpio_mode(GPIO_BASE(PORT_B), 2u, GPIO_MODE_AF, 9u);
    gpio_mode(GPIO_BASE(PORT_B), 6u, GPIO_MODE_AF, 10u);
    gpio_mode(GPIO_BASE(PORT_D), 11u, GPIO_MODE_AF, 9u);
    gpio_mode(GPIO_BASE(PORT_D), 12u, GPIO_MODE_AF, 9u);
    gpio_mode(GPIO_BASE(PORT_E), 2u, GPIO_MODE_AF, 9u);
    gpio_mode(GPIO_BASE(PORT_D), 13u, GPIO_MODE_AF, 9u);
}

static int wait_not_busy(void)
{
    for (uint32_t i = 0; i < POLL_LIMIT; i++) {
        if (!(QSPI_SR & SR_BUSY)) {
            return 0;
        }
    }
    return -1;
}

/* One indirect-mode read: writing AR (or CCR when there is no address) starts the transfer. */
static int indirect_read(uint32_t ccr, int has_addr, uint32_t addr, uint8_t *buf, uint32_t len)
{
    if (wait_not_busy() != 0) {
        return -2;
    }
    QSPI_DLR = len - 1u;
    QSPI_CCR = ccr | CCR_FMODE_READ;
    if (has_addr) {
        QSPI_AR = addr;
    }
    for (uint32_t i = 0; i < len; i++) {
        uint32_t n = 0;
        while (!(QSPI_SR & (SR_FTF | SR_TCF))) {
            if (++n == POLL_LIMIT) {
                return -3;
            }
        }
        buf[i] = QSPI_DR8;
    }
    for (uint32_t n = 0; !(QSPI_SR & SR_TCF); n++) {
        if (n == POLL_LIMIT) {
            return -3;
        }
    }
    QSPI_FCR = FCR_CTCF;
    return 0;
}

int ext_storage_init(void)
{
    ext_storage_pins();
    QSPI_CR = 0u;
    /* FSIZE = log2(16 MiB) - 1; CS high >= 2 cycles between commands (tSHSL 50 ns at 108 MHz). */
    QSPI_DCR = (23u << 16) | (5u << 8);
    QSPI_CR = (1u << 24) | (3u << 8) | 1u; /* prescaler 1 (clock / 2), FIFO threshold 4, EN */
    uint8_t id[3];
    const int rc = indirect_read(CMD_READ_ID | CCR_IMODE_1 | CCR_DMODE_1, 0, 0u, id, 3u);
    if (rc != 0) {
        return rc;
    }
    /* Micron, serial NOR, 128 Mbit */
    return (id[0] == 0x20u && id[1] == 0xBAu && id[2] == 0x18u) ? 0 : -1;
}

int ext_storage_read(uint32_t addr, uint8_t *buf, uint32_t len)
{
    if (len == 0u) {
        return 0;
    }
    if (addr >= FLASH_BYTES || len > FLASH_BYTES - addr) {
        return -4;
    }
    const uint32_t ccr = CMD_QUAD_OUT_READ | CCR_IMODE_1 | CCR_ADMODE_1 | CCR_ADSIZE_24 | CCR_DCYC(8) |
                         CCR_DMODE_4;
    return indirect_read(ccr, 1, addr, buf, len);
}
