# Board facts for the STM32F746G-DISCO (STM32F746NG, Cortex-M7 at 216 MHz).
# Simple `KEY := value` lines only: the harness parses this file with a regex.
# Flash: 1 MiB on the AXIM bus; SRAM: DTCM 64 KiB + SRAM1 240 KiB + SRAM2 16 KiB, contiguous
# from 0x20000000. Timing: DWT cycle counter at the core clock. No QEMU machine.
CORE := cortex-m7
CPU_FLAGS := -mcpu=cortex-m7 -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x08000000
FLASH_SIZE := 1048576
RAM_ORIGIN := 0x20000000
RAM_SIZE := 327680
STACK_SIZE := 8192
CLOCK_HZ := 216000000
TIMER := dwt
TIMER_HZ := 216000000
BOARD_COMMON := stm32-common
# External model storage for the int8-ext baseline: the 16 MiB QSPI NOR (N25Q128A, driver qspi.c).
# ext.bin must be written to it at offset 0 by the flasher (not automated yet).
EXT_STORAGE_SIZE := 16777216
