#ifndef YONO_COBS_H
#define YONO_COBS_H
#include <stddef.h>
#include <stdint.h>

/* Worst-case encoded size of n raw bytes (without the 0x00 delimiter). */
#define COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/* Decode in place (output never overtakes input). Returns the decoded length or -1 if the
 * data is not valid COBS. Accepts a trailing empty block after a 0xFF block. */
int32_t cobs_decode_inplace(uint8_t *buf, size_t n);

/* Encode src and emit it byte by byte through put (no delimiter). */
void cobs_encode_stream(const uint8_t *src, size_t n, void (*put)(uint8_t));

#endif
