/* fuzz_mmdb.c - the telescope's MaxMind DB loader (through libmaxminddb) on arbitrary bytes,
 * for both fields, then lookups in what loaded. */
#include <stdint.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "telescope/tel_mmdb.h"
#include "telescope/tel_pmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 262144)
        return 0;
    char path[64], err[512];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    (void)tel_mmdb_is_mmdb(path);
    for (int f = TEL_MMDB_COUNTRY; f <= TEL_MMDB_ASN; f++) {
        struct tel_pmap m;
        memset(&m, 0, sizeof m);
        if (tel_mmdb_load(&m, path, (enum tel_mmdb_field)f, err, sizeof err) == 0) {
            struct ipaddr a;
            uint32_t v;
            ipaddr_from_v4(&a, 0xc0000201);
            (void)tel_pmap_lookup(&m, &a, &v);
            ipaddr_parse("2001:db8::1", &a);
            (void)tel_pmap_lookup(&m, &a, &v);
        }
        tel_pmap_release(&m);
    }
    close(fd);
    return 0;
}
