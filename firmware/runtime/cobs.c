/* Consistent Overhead Byte Stuffing. */
#include "cobs.h"

int32_t cobs_decode_inplace(uint8_t *buf, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        const uint8_t code = buf[r++];
        if (code == 0u || (size_t)(code - 1u) > n - r) {
            return -1;
        }
        for (uint8_t k = (uint8_t)(code - 1u); k > 0u; k--) {
            const uint8_t b = buf[r++];
            if (b == 0u) {
                return -1;
            }
            buf[w++] = b;
        }
        /* a block shorter than 254 data bytes stands for a zero, except at the very end */
        if (code != 0xFFu && r < n) {
            buf[w++] = 0u;
        }
    }
    return (int32_t)w;
}

void cobs_encode_stream(const uint8_t *src, size_t n, void (*put)(uint8_t))
{
    size_t i = 0;
    for (;;) {
        size_t run = 0;
        while (run < 254u && i + run < n && src[i + run] != 0u) {
            run++;
        }
        put((uint8_t)(run + 1u));
        for (size_t k = 0; k < run; k++) {
            put(src[i + k]);
        }
        i += run;
        if (i >= n) {
            return;
        }
        if (run < 254u) {
            i++; /* the zero that ended this block is implied by its code */
        }
    }
}
