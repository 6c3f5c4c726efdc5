/* fuzz_colenc.c - the column decoders (store/colenc.h) on arbitrary bytes, for a record count
 * taken from the first two bytes. The segment fuzzer reaches them only through a block's CRC,
 * which random mutations almost never keep; here every byte is the column's. Each decoder must
 * reject or decode n values, nothing past its arrays. */
#include <stdint.h>
#include <stdlib.h>

#include "store/colenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = 1 + ((size_t)data[0] << 8 | data[1]) % 4096;
    data += 2;
    size -= 2;
    uint64_t *u64 = malloc(n * sizeof *u64);
    uint32_t *u32 = malloc(n * sizeof *u32);
    uint16_t *u16 = malloc(n * sizeof *u16);
    uint8_t *u8 = malloc(n);
    struct ipaddr *a = malloc(n * sizeof *a);
    if (u64 && u32 && u16 && u8 && a) {
        (void)colenc_get_u64(data, size, n, u64);
        (void)colenc_get_u32(data, size, n, u32);
        (void)colenc_get_u16(data, size, n, u16);
        (void)colenc_get_u8(data, size, n, u8);
        (void)colenc_get_addr(data, size, n, a, u32);
    }
    free(u64);
    free(u32);
    free(u16);
    free(u8);
    free(a);
    return 0;
}
