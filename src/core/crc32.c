/* crc32.c - CRC-32 (see crc32.h). */
#include "core/crc32.h"

#include <libdeflate.h>

uint32_t crc32_ieee(const void *p, size_t n)
{
    return libdeflate_crc32(0, p, n);
}
