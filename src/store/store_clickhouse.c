/* store_clickhouse.c - placeholder registry entry for "clickhouse://HOST:PORT/DB" stores.
 * The backend itself (flows and state, both halves of store_backend.h) is a later issue;
 * until then opening such a URL, as a flow store or as a state database, fails with a clear
 * message instead of being mistaken for a directory or file name. */
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

static int ch_state_open(const char *url, struct statedb **out, char errbuf[256])
{
    (void)out;
    snprintf(errbuf, 256, "%s: the ClickHouse backend is not built yet", url);
    return BS_EUNSUPPORTED;
}

static const struct statedb_backend ch_state = {
    .open = ch_state_open,
};

const struct store_backend store_backend_clickhouse = {
    .name = "clickhouse",
    .state = &ch_state,
    .match = ch_match,
    .open = ch_open,
};
