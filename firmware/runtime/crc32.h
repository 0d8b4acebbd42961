#ifndef YONO_CRC32_H
#define YONO_CRC32_H
#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3 / zlib): reflected poly 0xEDB88320, init and final xor 0xFFFFFFFF. */
uint32_t crc32_ieee(const uint8_t *p, size_t n);

/* The same CRC over data in pieces: crc = crc32_update(0, a, na); crc = crc32_update(crc, b, nb). */
uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n);

#endif
