/* fuzz_pfxtable.c - the telescope's prefix table loaders (plain prefix list, CAIDA pfx2as,
 * geo CSV) on the same arbitrary bytes, then lookups in what loaded. */
#include <stdint.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "telescope/tel_pmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct tel_pmap *m)
{
    struct ipaddr a;
    uint32_t v;
    ipaddr_from_v4(&a, 0xc0000201);
    (void)tel_pmap_lookup(m, &a, &v);
    ipaddr_from_v4(&a, 0);
    (void)tel_pmap_lookup(m, &a, &v);
    ipaddr_parse("2001:db8::1", &a);
    (void)tel_pmap_lookup(m, &a, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char path[64], err[512];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    int (*const loaders[])(struct tel_pmap *, const char *, char *, size_t) = {
        tel_pmap_load_prefixes, tel_pmap_load_pfx2as, tel_pmap_load_geo_csv};
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++) {
        struct tel_pmap m;
        memset(&m, 0, sizeof m);
        if (loaders[i](&m, path, err, sizeof err) == 0)
            probe(&m);
        tel_pmap_release(&m);
    }
    close(fd);
    return 0;
}
