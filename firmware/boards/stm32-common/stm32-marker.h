/* The GPIO marker a power monitor sees (board.h: board_marker_on/off), on an STM32 pin.
 * level (default): the line is high for the whole measured region (PPK2 logic input, INA226
 *   bridge, a logic analyser).
 * pulse (make MARKER=pulse, chosen by the harness for rigs with an LPM01A): the line idles high
 *   and each region boundary is a low pulse of >= 1 us, MLPerf Tiny's timestamp convention: the
 *   LPM01A reports one edge kind (falling), so a region lies between two consecutive events. */
#ifndef YONO_STM32_MARKER_H
#define YONO_STM32_MARKER_H

#include "stm32-gpio.h"

static inline void stm32_marker_init(uint32_t port, uint32_t pin)
{
    gpio_mode(port, pin, GPIO_MODE_OUTPUT, 0u);
#ifdef YONO_MARKER_PULSE
    gpio_set(port, pin);
#else
    gpio_clear(port, pin);
#endif
}

static inline void stm32_marker(uint32_t port, uint32_t pin, int on)
{
#ifdef YONO_MARKER_PULSE
    (void)on;
    gpio_clear(port, pin);
    /* >= 4 cycles per iteration: >= 1 us at any clock */
    for (volatile uint32_t i = 0; i < YONO_CLOCK_HZ / 4000000u + 1u; i++) {
    }
    gpio_set(port, pin);
#else
    if (on) {
        gpio_set(port, pin);
    } else {
        gpio_clear(port, pin);
    }
#endif
}

#endif
