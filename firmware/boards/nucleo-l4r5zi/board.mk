# Board facts for the NUCLEO-L4R5ZI (STM32L4R5ZI, Cortex-M4 at 120 MHz), the MLPerf Tiny
# reference board. Simple `KEY := value` lines only: the harness parses this file with a regex.
# Flash: 2 MiB; SRAM1+2+3 = 640 KiB, contiguous from 0x20000000. Timing: DWT cycle counter.
CORE := cortex-m4
CPU_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x08000000
FLASH_SIZE := 2097152
RAM_ORIGIN := 0x20000000
RAM_SIZE := 655360
STACK_SIZE := 8192
CLOCK_HZ := 120000000
TIMER := dwt
TIMER_HZ := 120000000
BOARD_COMMON := stm32-common
