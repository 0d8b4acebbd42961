/* board_ticks() on SysTick (processor clock): the timer that advances under QEMU, where the
 * DWT cycle counter reads 0. A 64-bit count from 24-bit SysTick plus wraps counted by its IRQ. */
#include "board.h"
#include "cortex-m.h"
#include "timer.h"

#define SYSTICK_RELOAD 0xFFFFFFu

static volatile uint32_t systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void) { systick_wraps++; }

void timer_init(void)
{
    SYST_CSR = 0u;
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0u; /* any write clears the counter; it reloads on the next tick */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    __asm volatile("cpsie i" ::: "memory");
}

uint64_t board_ticks(void)
{
    const uint32_t primask = irq_save();
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
    irq_restore(primask);
    return ((uint64_t)wraps << 24) | (uint64_t)(SYSTICK_RELOAD - v);
}
