/* ext_storage on QEMU mps2 boards: a RAM region outside the firmware's memory budget (the
 * board's PSRAM, EXT_STORAGE_BASE in board.mk) that the harness fills with ext.bin when it starts
 * QEMU. The copy is the emulated stand-in for an SD/QSPI transfer: its time and energy are not
 * used as such but replaced by the rig's model of a named storage part (SPEC section 5). */
#include "ext_storage.h"

#ifdef YONO_EXT_STORAGE_BASE

int ext_storage_init(void)
{
    return 0;
}

int ext_storage_read(uint32_t addr, uint8_t *buf, uint32_t len)
{
    if (addr > YONO_EXT_STORAGE_SIZE || len > YONO_EXT_STORAGE_SIZE - addr) {
        return -1;
    }
    const uint8_t *src = (const uint8_t *)(YONO_EXT_STORAGE_BASE + addr);
    /* word copy when both ends are aligned (blobs are 512-byte aligned, the slot 4-byte) */
    if ((((uint32_t)src | (uint32_t)buf) & 3u) == 0u) {
        const uint32_t *s = (const uint32_t *)(const void *)src;
        uint32_t *d = (uint32_t *)(void *)buf;
        for (; len >= 4u; len -= 4u) {
            *d++ = *s++;
        }
        src = (const uint8_t *)s;
        buf = (uint8_t *)d;
    }
    while (len--) {
        *buf++ = *src++;
    }
    return 0;
}

#endif
