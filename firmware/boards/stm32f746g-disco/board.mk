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
# The 16 MiB QSPI NOR (N25Q128A, driver qspi.c, read in indirect mode) holds two regions:
# - external model storage for the int8-ext baseline: ext.bin at device offset 0, the first 4 MiB
#   (more than any image the code generator can make, as on the mps2 boards);
# - the preload region for RUN_PRELOADED / PRELOAD_CRC (SPEC sections 1 and 5): the other 12 MiB,
#   from device offset PRELOAD_EXT_OFFSET, read through the same driver. PRELOAD_BASE is where the
#   flasher writes it: the QSPI's memory-mapped address 0x90000000 + offset (OpenOCD's stmqspi
#   bank, STM32CubeProgrammer's external loader and a GDB server's memory map all use it).
# EXT_STORAGE_BASE is likewise where the flasher writes ext.bin (the firmware reads it through
# qspi.c from device offset 0; only the mps2 RAM driver reads at EXT_STORAGE_BASE).
EXT_STORAGE_BASE := 0x90000000
EXT_STORAGE_SIZE := 4194304
PRELOAD_BASE := 0x90400000
PRELOAD_SIZE := 12582912
PRELOAD_EXT_OFFSET := 4194304
