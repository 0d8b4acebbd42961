/* STM32F4 registers used by the board code (RM0090). */
#ifndef YONO_STM32F4_H
#define YONO_STM32F4_H

#include "cortex-m.h"

#define RCC_BASE 0x40023800u
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_APB2ENR_USART1EN (1u << 4)

#define GPIOA_BASE 0x40020000u
#define USART1_BASE 0x40011000u

#endif
