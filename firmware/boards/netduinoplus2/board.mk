# Board facts for the Netduino Plus 2 (STM32F405RG, Cortex-M4) as emulated by QEMU 7.2.
# Simple `KEY := value` lines only: the harness parses this file with a regex.
# QEMU clocks the core at a fixed 168 MHz (its RCC is not emulated); SysTick runs on the
# processor clock, so under -icount shift=0 one tick = 1e9/168e6 = 5.95 instructions.
CORE := cortex-m4
CPU_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x08000000
FLASH_SIZE := 1048576
RAM_ORIGIN := 0x20000000
RAM_SIZE := 131072
STACK_SIZE := 8192
CLOCK_HZ := 168000000
TIMER := systick
TIMER_HZ := 168000000
QEMU_MACHINE := netduinoplus2
BOARD_COMMON := stm32-common
