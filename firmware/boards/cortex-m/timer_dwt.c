/* board_ticks() on the DWT cycle counter: core cycles, the figure real boards report.
 * CYCCNT is 32 bits (wraps every ~20 s at 216 MHz); the high word is kept in software and a
 * SysTick IRQ every 2^24 cycles reads the counter so that no wrap is ever missed. */
#include "board.h"
#include "cortex-m.h"
#include "timer.h"

static uint32_t dwt_last;
static uint32_t dwt_high;

void SysTick_Handler(void);
void SysTick_Handler(void) { (void)board_ticks(); }

void timer_init(void)
{
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = 0xC5ACCE55u; /* unlock on Cortex-M7; ignored elsewhere */
    DWT_CYCCNT = 0u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    SYST_CSR = 0u;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    __asm volatile("cpsie i" ::: "memory");
}

uint64_t board_ticks(void)
{
    const uint32_t primask = irq_save();
    const uint32_t now = DWT_CYCCNT;
    if (now < dwt_last) {
        dwt_high++;
    }
    dwt_last = now;
    const uint64_t t = ((uint64_t)dwt_high << 32) | now;
    irq_restore(primask);
    return t;
}
