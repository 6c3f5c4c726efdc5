/* fuzz_colenc.c - the column decoders (store/colenc.h) on arbitrary bytes, for a record count
 * taken from the first two bytes. The segment fuzzer reaches them only through a block's CRC,
 * which random mutations almost never keep; here every byte is the column's. Each decoder must
 * reject or decode n values, nothing past its arrays. */
#include <stdint.h>
#include <stdlib.h>

#include "store/colenc.h"
#include "store/store.h"

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
    struct ipaddr *a = malloc(n * sizeof *a), *v6 = malloc(n * sizeof *v6);
    uint8_t *is6 = malloc((n + 7) / 8);
    if (u64 && u32 && u16 && u8 && a && v6 && is6) {
        (void)colenc_get_u64(data, size, n, u64);
        (void)colenc_get_u32(data, size, n, u32);
        (void)colenc_get_u16(data, size, n, u16);
        (void)colenc_get_u8(data, size, n, u8);
        (void)colenc_get_addr(data, size, n, a, u32);
        size_t n6;
        if (colenc_get_mixed(data, size, n, u32, is6, v6, &n6) == 0) {
            struct store_addr_col c = {.v4 = u32, .is6 = is6, .v6 = v6, .n6 = n6};
            for (size_t i = 0; i < n; i++) /* every IPv6 row's index inside v6 */
                store_addr_get(&c, i, &a[i]);
        }
    }
    free(v6);
    free(is6);
    free(u64);
    free(u32);
    free(u16);
    free(u8);
    free(a);
    return 0;
}
