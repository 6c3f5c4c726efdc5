/* fuzz_truth.c - the ground-truth loaders (simulator and c2-dev JSON, labelled Zeek TSV/CSV,
 * binetflow) on arbitrary bytes; the format is recognised from the content as in eval. */
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "detect/truth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    struct truth t;
    struct truth_error e;
    if (truth_load_mem((const char *)data, size, NULL, &t, &e) == 0) {
        /* Invariants of a loaded truth: sorted unique endpoints, sorted unique hosts. */
        for (size_t i = 1; i < t.n; i++) {
            const struct truth_endpoint *a = &t.ep[i - 1], *b = &t.ep[i];
            int c = ipaddr_cmp(&a->addr, &b->addr);
            if (c > 0 ||
                (c == 0 && (a->port > b->port || (a->port == b->port && a->proto >= b->proto))))
                abort();
        }
        for (size_t i = 1; i < t.ninfected; i++)
            if (ipaddr_cmp(&t.infected[i - 1], &t.infected[i]) >= 0)
                abort();
        for (size_t i = 0; i < t.n; i++)
            if (t.ep[i].first_ms > t.ep[i].last_ms)
                abort();
        truth_release(&t);
    }
    return 0;
}
