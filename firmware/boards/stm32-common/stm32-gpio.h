/* STM32 GPIO (the same IP on F4, F7 and L4): pin mode, alternate function, output level. */
#ifndef YONO_STM32_GPIO_H
#define YONO_STM32_GPIO_H

#include "cortex-m.h"

#define GPIO_MODER(port) REG32((port) + 0x00u)
#define GPIO_OSPEEDR(port) REG32((port) + 0x08u)
#define GPIO_PUPDR(port) REG32((port) + 0x0Cu)
#define GPIO_BSRR(port) REG32((port) + 0x18u)
#define GPIO_AFR(port, pin) REG32((port) + 0x20u + 4u * ((pin) >> 3))

enum { GPIO_MODE_INPUT = 0u, GPIO_MODE_OUTPUT = 1u, GPIO_MODE_AF = 2u, GPIO_MODE_ANALOG = 3u };

static inline void gpio_mode(uint32_t port, uint32_t pin, uint32_t mode, uint32_t af)
{
    const uint32_t afshift = 4u * (pin & 7u);
    GPIO_AFR(port, pin) = (GPIO_AFR(port, pin) & ~(0xFu << afshift)) | (af << afshift);
    GPIO_OSPEEDR(port) |= 3u << (2u * pin); /* very high speed: sharp marker edges */
    GPIO_MODER(port) = (GPIO_MODER(port) & ~(3u << (2u * pin))) | (mode << (2u * pin));
}

static inline void gpio_pullup(uint32_t port, uint32_t pin)
{
    GPIO_PUPDR(port) = (GPIO_PUPDR(port) & ~(3u << (2u * pin))) | (1u << (2u * pin));
}

/* BSRR writes are atomic: no read-modify-write inside the measured window. */
static inline void gpio_set(uint32_t port, uint32_t pin) { GPIO_BSRR(port) = 1u << pin; }
static inline void gpio_clear(uint32_t port, uint32_t pin) { GPIO_BSRR(port) = 1u << (pin + 16u); }

#endif
