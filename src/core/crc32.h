/* crc32.h - CRC-32 with the IEEE 802.3 polynomial (the checksum of zlib, gzip and PNG), as
 * the store's segment columns, footers and manifest lines carry it.
 *
 * libdeflate's, which folds with carry-less multiplication where the CPU has it: the store
 * checks every column it reads, and zlib's table-driven CRC was a tenth of a full scan
 * (bench/detect/scan_floor.c). The values are zlib's crc32(0, p, n): stores written with
 * either read with the other. */
#ifndef BS_CORE_CRC32_H
#define BS_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32 of p[0..n) (n may be 0: the result is 0). */
uint32_t crc32_ieee(const void *p, size_t n);

#endif
