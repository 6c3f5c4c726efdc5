/* store_clickhouse.c - placeholder registry entry for "clickhouse://HOST:PORT/DB" stores.
 * The backend itself is a later issue; until then opening such a URL fails with a clear
 * message instead of being mistaken for a directory name. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/store_backend.h"

static bool ch_match(const char *url)
{
    return !strncmp(url, "clickhouse://", 13);
}

static int ch_open(const char *url, const struct config *cfg, int flags, struct store **out,
                   char errbuf[256])
{
    snprintf(errbuf, 256, "%s: the ClickHouse backend is not built yet", url);
    return BS_EUNSUPPORTED;
}

const struct store_backend store_backend_clickhouse = {
    .name = "clickhouse",
    .match = ch_match,
    .open = ch_open,
};
