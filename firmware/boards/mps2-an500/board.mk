# Board facts for the Arm MPS2 AN500 FPGA image (Cortex-M7) as emulated by QEMU.
# Simple `KEY := value` lines only: the harness parses this file with a regex.
# QEMU maps 4 MiB of each memory; the budgets model an STM32F746-class MCU.
CORE := cortex-m7
CPU_FLAGS := -mcpu=cortex-m7 -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x00000000
FLASH_SIZE := 1048576
RAM_ORIGIN := 0x20000000
RAM_SIZE := 327680
STACK_SIZE := 8192
CLOCK_HZ := 25000000
TIMER := systick
TIMER_HZ := 25000000
QEMU_MACHINE := mps2-an500
BOARD_COMMON := mps2-common
# QEMU's 16 MiB PSRAM at 0x60000000, outside the budgets above, is the only memory big enough for
# both of these (SPEC sections 1 and 5):
# - external model storage for the int8-ext baseline, filled by the harness with ext.bin (driver
#   boards/mps2-common/ext_storage_ram.c): the first 4 MiB, more than any image the code generator
#   can make (at most 12 models, each blob fits the SRAM slot, i.e. < RAM_SIZE);
# - the preload region for RUN_PRELOADED: the other 12 MiB, filled with test inputs (Fashion-MNIST's
#   test split alone is 7,840,000 B).
EXT_STORAGE_BASE := 0x60000000
EXT_STORAGE_SIZE := 4194304
PRELOAD_BASE := 0x60400000
PRELOAD_SIZE := 12582912
