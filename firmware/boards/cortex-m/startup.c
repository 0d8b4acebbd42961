/* Cortex-M startup: vector table, .data copy, .bss zero, then main(). No libc. */
#include <stdint.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);

void Reset_Handler(void)
{
    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    (void)main();
    for (;;) {
    }
}

/* Unexpected exceptions park the core; the host notices by a reply timeout. */
void Default_Handler(void)
{
    for (;;) {
    }
}

#define WEAK_HANDLER(name)                                                                         \
    void name(void) __attribute__((weak, alias("Default_Handler")))
WEAK_HANDLER(NMI_Handler);
WEAK_HANDLER(HardFault_Handler);
WEAK_HANDLER(MemManage_Handler);
WEAK_HANDLER(BusFault_Handler);
WEAK_HANDLER(UsageFault_Handler);
WEAK_HANDLER(SVC_Handler);
WEAK_HANDLER(DebugMon_Handler);
WEAK_HANDLER(PendSV_Handler);
WEAK_HANDLER(SysTick_Handler);
/* External interrupt 0: a board that enables it defines it (MPS2: UART0 RX, to sleep while waiting) */
WEAK_HANDLER(IRQ0_Handler);

typedef union {
    void (*handler)(void);
    const void *stack_top;
} vector_t;

#define N_EXTERNAL_IRQS 32

__attribute__((section(".isr_vector"), used)) const vector_t yono_vectors[16 + N_EXTERNAL_IRQS] = {
    [0] = {.stack_top = &_estack},
    [1] = {.handler = Reset_Handler},
    [2] = {.handler = NMI_Handler},
    [3] = {.handler = HardFault_Handler},
    [4] = {.handler = MemManage_Handler},
    [5] = {.handler = BusFault_Handler},
    [6] = {.handler = UsageFault_Handler},
    [11] = {.handler = SVC_Handler},
    [12] = {.handler = DebugMon_Handler},
    [14] = {.handler = PendSV_Handler},
    [15] = {.handler = SysTick_Handler},
    [16] = {.handler = IRQ0_Handler},
    [17 ... 16 + N_EXTERNAL_IRQS - 1] = {.handler = Default_Handler},
};
