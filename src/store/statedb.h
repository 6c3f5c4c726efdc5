/* statedb.h - the state database: everything that is not a flow.
 *
 * The state database is the second half of a store backend (store_backend.h): the same URL
 * that names a flow store names its state database, and the same registry chooses the
 * backend, so the ClickHouse backend (a later issue) replaces both at once. Callers use only
 * the functions below. Today's backend for a data directory is SQLite in WAL mode, at
 * <data_dir>/state.db next to the embedded flow store (statedb_sqlite.c). Tables: exporters (address,
 * first/last seen, flow/packet/byte counts), the schema for later components: findings,
 * candidates, notifications; and (version 2) the telescope's results: telescope_runs,
 * telescope_sources, telescope_victims, telescope_intervals (see statedb_tel_begin). A schema_version table records the applied migration; opening
 * applies any missing migration in one transaction each, so an older file is upgraded in place
 * and a newer file (unknown version) is refused with BS_EVERSION.
 *
 * Ownership: statedb_open allocates the handle, statedb_close frees it. One handle per thread
 * (SQLite's own locking lets several processes share the file: WAL readers never block the
 * writer). Strings passed in are copied by SQLite.
 */
#ifndef BS_STORE_STATEDB_H
#define BS_STORE_STATEDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct statedb; /* opaque handle */

/* The schema version this build creates and understands. */
#define STATEDB_SCHEMA_VERSION 2

/* Opens (creating and migrating) the state database named by url: a data directory (its
 * state.db), the path of a database file, or a backend URL such as "clickhouse://HOST:PORT/DB"
 * (refused with BS_EUNSUPPORTED until that backend exists). Returns 0 or a negative error
 * (BS_EUSAGE for an empty url, BS_EIO with errbuf naming the SQLite error, BS_EVERSION for a
 * newer schema); errbuf is always NUL-terminated. */
int statedb_open(const char *url, struct statedb **out, char errbuf[256]);
/* statedb_open with the configuration: a ClickHouse URL takes its user and password from
 * the [clickhouse] section (cfg may be NULL: defaults). */
struct config;
int statedb_open_cfg(const char *url, const struct config *cfg, struct statedb **out,
                     char errbuf[256]);
/* Closes db (NULL is ignored); a telescope run left open is ended as failed. */
void statedb_close(struct statedb *db);
/* "embedded", "clickhouse": the backend that holds db. */
const char *statedb_backend_name(const struct statedb *db);
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

/* ---- telescope results (schema version 2) ----
 * A telescope run writes through one handle: statedb_tel_begin() inserts a telescope_runs row
 * (status 'running') and opens a transaction; the put functions upsert rows tagged with that
 * run; statedb_tel_commit() commits what was put so far (and starts a new transaction: a live
 * run calls it now and then so readers see progress); statedb_tel_end() records the totals
 * and status and commits. Upserts replace the row with the same key, so re-running the same
 * input leaves the same rows (only a new telescope_runs row is added):
 *   telescope_sources    key (src, day_ms)          one source address per UTC day
 *   telescope_victims    key (victim, first_ms)     one backscatter attack
 *   telescope_intervals  key (resolution_s, start_ms)
 * A later run covering part of a day replaces that day's rows (they are not summed).
 * List columns (ports, fingerprints, tags) hold JSON arrays as text (json_each works on
 * them); addresses are text, or "h:<hex>" pseudonyms in privacy mode. Strings are borrowed
 * for the call. Functions return 0 or BS_EIO (-EINVAL outside begin/end). */
struct statedb_tel_run {
    uint64_t started_ms;
    const char *mode;      /* "offline" or "live" */
    const char *version;   /* botscope version */
    const char *command;   /* command line */
    const char *darknet;   /* prefix list */
    const char *inputs;    /* JSON array of input names, or the interface */
};

struct statedb_tel_run_totals {
    uint64_t packets_read, darknet_packets, first_ms, last_ms;
    uint64_t sources, victims, intervals; /* rows put by this run */
    bool ok;                              /* status 'ok' or 'failed' */
};

struct statedb_tel_source {
    const char *src;
    uint64_t day_ms, first_ms, last_ms, packets, bytes;
    uint64_t destinations, port_count, syn_packets, iot_packets;
    const char *ports;        /* JSON array, e.g. "[23,2323]" */
    const char *fingerprints; /* JSON array of names */
    const char *tags;         /* JSON array of names */
    const char *scan_class;
    int64_t asn;              /* < 0: unknown (NULL) */
    const char *cc;           /* NULL: unknown */
    bool bogon, research, infected_iot;
};

struct statedb_tel_victim {
    const char *victim;
    uint64_t first_ms, last_ms, packets, bytes, tcp_packets, icmp_packets;
    uint64_t peak_ppm, darknet_addresses;
    const char *ports;        /* JSON array */
    double observed_pps;
    double scaled_pps;        /* < 0: not scalable (NULL) */
};

struct statedb_tel_interval {
    uint32_t resolution_s;
    uint64_t start_ms, end_ms, packets, bytes, unique_sources, unique_destinations;
    uint64_t non_darknet_packets, late_packets, dropped_source_packets, research_packets;
    const char *tags;         /* JSON object {name: packets} */
    const char *fingerprints; /* JSON object {name: packets} */
};

int statedb_tel_begin(struct statedb *db, const struct statedb_tel_run *r, int64_t *run_id);
int statedb_tel_source_put(struct statedb *db, const struct statedb_tel_source *s);
int statedb_tel_victim_put(struct statedb *db, const struct statedb_tel_victim *v);
int statedb_tel_interval_put(struct statedb *db, const struct statedb_tel_interval *iv);
int statedb_tel_commit(struct statedb *db);
/* Records t (when not NULL) and commits; with t == NULL or !t->ok the run is marked
 * 'failed' but the rows put so far are kept. Always leaves no transaction open. */
int statedb_tel_end(struct statedb *db, const struct statedb_tel_run_totals *t);

#endif
