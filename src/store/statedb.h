/* statedb.h - the state database: everything that is not a flow, in SQLite (WAL mode).
 *
 * Lives at <data_dir>/state.db next to the embedded flow store. Tables: exporters (address,
 * first/last seen, flow/packet/byte counts), and the schema for later components: findings,
 * candidates, notifications. A schema_version table records the applied migration; opening
 * applies any missing migration in one transaction each, so an older file is upgraded in place
 * and a newer file (unknown version) is refused with BS_EVERSION.
 *
 * Ownership: statedb_open allocates the handle, statedb_close frees it. One handle per thread
 * (SQLite's own locking lets several processes share the file: WAL readers never block the
 * writer). Strings passed in are copied by SQLite.
 */
#ifndef BS_STORE_STATEDB_H
#define BS_STORE_STATEDB_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct statedb; /* opaque handle */

/* The schema version this build creates and understands. */
#define STATEDB_SCHEMA_VERSION 1

/* Opens (creating and migrating) the database file at path. Returns 0 or a negative error
 * (BS_EIO with errbuf naming the SQLite error, BS_EVERSION for a newer schema). */
int statedb_open(const char *path, struct statedb **out, char errbuf[256]);
void statedb_close(struct statedb *db);
/* Returns the schema version stored in the file (>= 1 once open). */
int statedb_schema_version(struct statedb *db);

struct statedb_exporter {
    struct ipaddr addr;
    uint64_t first_ms, last_ms; /* first and last flow time seen from it */
    uint64_t flows, packets, bytes;
    uint32_t sampling_rate;     /* last seen */
    uint8_t version;            /* last seen enum flow_version */
};

/* Adds e[0..n) in one transaction: counts are added, the time range widened, sampling rate and
 * version replaced. Returns 0 or BS_EIO. */
int statedb_exporter_upsert(struct statedb *db, const struct statedb_exporter *e, size_t n);
/* Calls cb for every exporter in address order; a non-zero return stops and is returned. */
int statedb_exporter_list(struct statedb *db,
                          int (*cb)(void *ctx, const struct statedb_exporter *e), void *ctx);

#endif
