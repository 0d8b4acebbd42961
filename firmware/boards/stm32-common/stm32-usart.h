/* STM32 U(S)ART by polling. Two register layouts: "v1" (F1/F2/F4: SR, DR, BRR, CR1) and
 * "v2" (F0/F7/L4/H7: CR1, BRR, ISR, RDR, TDR; LPUART has the same layout). */
#ifndef YONO_STM32_USART_H
#define YONO_STM32_USART_H

#include "cortex-m.h"

/* v1 */
#define USART1_SR(b) REG32((b) + 0x00u)
#define USART1_DR(b) REG32((b) + 0x04u)
#define USART1_BRR(b) REG32((b) + 0x08u)
#define USART1_CR1(b) REG32((b) + 0x0Cu)
#define USART1_SR_RXNE (1u << 5)
#define USART1_SR_TXE (1u << 7)
#define USART1_CR1_RE (1u << 2)
#define USART1_CR1_TE (1u << 3)
#define USART1_CR1_UE (1u << 13)

static inline void usart_v1_init(uint32_t base, uint32_t brr)
{
    USART1_CR1(base) = 0u;
    USART1_BRR(base) = brr;
    USART1_CR1(base) = USART1_CR1_UE | USART1_CR1_TE | USART1_CR1_RE; /* 8N1 */
}

static inline void usart_v1_putc(uint32_t base, uint8_t c)
{
    while (!(USART1_SR(base) & USART1_SR_TXE)) {
    }
    USART1_DR(base) = c;
}

static inline uint8_t usart_v1_getc(uint32_t base)
{
    while (!(USART1_SR(base) & USART1_SR_RXNE)) {
    }
    return (uint8_t)USART1_DR(base);
}

/* v2 */
#define USART2_CR1(b) REG32((b) + 0x00u)
#define USART2_BRR(b) REG32((b) + 0x0Cu)
#define USART2_ISR(b) REG32((b) + 0x1Cu)
#define USART2_ICR(b) REG32((b) + 0x20u)
#define USART2_RDR(b) REG32((b) + 0x24u)
#define USART2_TDR(b) REG32((b) + 0x28u)
#define USART2_CR1_UE (1u << 0)
#define USART2_CR1_RE (1u << 2)
#define USART2_CR1_TE (1u << 3)
#define USART2_ISR_ORE (1u << 3)
#define USART2_ISR_RXNE (1u << 5)
#define USART2_ISR_TXE (1u << 7)

static inline void usart_v2_init(uint32_t base, uint32_t brr)
{
    USART2_CR1(base) = 0u;
    USART2_BRR(base) = brr;
    USART2_CR1(base) = USART2_CR1_UE | USART2_CR1_TE | USART2_CR1_RE; /* 8N1 */
}

static inline void usart_v2_putc(uint32_t base, uint8_t c)
{
    while (!(USART2_ISR(base) & USART2_ISR_TXE)) {
    }
    USART2_TDR(base) = c;
}

static inline uint8_t usart_v2_getc(uint32_t base)
{
    for (;;) {
        const uint32_t isr = USART2_ISR(base);
        if (isr & USART2_ISR_RXNE) {
            return (uint8_t)USART2_RDR(base);
        }
        /* An overrun stops reception on v2 parts until cleared; the host re-sends the frame. */
        if (isr & USART2_ISR_ORE) {
            USART2_ICR(base) = USART2_ISR_ORE;
        }
    }
}

#endif
