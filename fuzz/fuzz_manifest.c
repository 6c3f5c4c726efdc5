/* fuzz_manifest.c - the store's day manifest parser (src/store/manifest.c) on arbitrary text:
 * a stranger's store directory is input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest m;
    if (manifest_parse((const char *)data, size, &m))
        return 0;
    /* One entry per name, sorted, each findable. */
    for (size_t i = 0; i < m.n; i++) {
        if (i && strcmp(m.v[i - 1].name, m.v[i].name) >= 0)
            abort();
        if (manifest_find(&m, m.v[i].name) != &m.v[i])
            abort();
    }
    manifest_release(&m);
    return 0;
}
