/* External read-only storage (QSPI NOR, SD, ...) for model data that does not live in the
 * MCU's flash. Implemented by boards that have such a device (e.g. stm32f746g-disco). */
#ifndef YONO_EXT_STORAGE_H
#define YONO_EXT_STORAGE_H

#include <stdint.h>

/* Returns 0 when the device answered its identification, else a negative code. */
int ext_storage_init(void);

/* Copies len bytes from device address addr into buf; 0 on success, negative on error. */
int ext_storage_read(uint32_t addr, uint8_t *buf, uint32_t len);

#endif
