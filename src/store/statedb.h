/* statedb.h - the state database: everything that is not a flow.
 *
 * The state database is the second half of a store backend (store_backend.h): the same URL
 * that names a flow store names its state database, and the same registry chooses the
 * backend, so the ClickHouse backend replaces both at once. Callers use only the functions
 * below (nobody opens state.db with sqlite3 directly). The backend for a data directory is
 * SQLite in WAL mode, at <data_dir>/state.db next to the embedded flow store
 * (statedb_sqlite.c); a clickhouse:// URL has the same tables in ClickHouse
 * (store_clickhouse.c, store_ch_records.c, store_ch_tel.c; docs/CLICKHOUSE.md). Tables: exporters
 * (address, first/last seen, flow/packet/byte counts), the schema for later components: findings,
 * candidates, notifications; and (version 2) the telescope's results: telescope_runs,
 * telescope_sources, telescope_victims, telescope_intervals (see statedb_tel_begin); and
 * (version 3) one `records` table for every later kind of result (statedb_rec_put: seeds,
 * candidates, evidence, graph edges, findings, intel, component state), which replaces the
 * never-used findings and candidates tables of version 1. A schema_version table records the
 * applied migration; opening applies any missing migration in one transaction each, so an older
 * file is upgraded in place and a newer file (unknown version) is refused with BS_EVERSION.
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
#define STATEDB_SCHEMA_VERSION 3

/* Opens (creating and migrating) the state database named by url: a data directory (its
 * state.db), the path of a database file, or a backend URL such as "clickhouse://HOST:PORT/DB"
 * (user and password: statedb_open_cfg). Returns 0 or a negative error (BS_EUSAGE for an
 * empty or malformed url, BS_EIO with errbuf naming the backend's error, BS_EVERSION for a
 * newer schema, -ECONNREFUSED/-ETIMEDOUT for a server that does not answer); errbuf is always
 * NUL-terminated. */
int statedb_open(const char *url, struct statedb **out, char errbuf[256]);
/* statedb_open with the configuration: a ClickHouse URL takes its user and password from
 * the [clickhouse] section (cfg may be NULL: defaults). */
struct config;
int statedb_open_cfg(const char *url, const struct config *cfg, struct statedb **out,
                     char errbuf[256]);
/* Opens an existing state database for reading only: nothing is created, migrated or
 * written (readers such as detection's seeds must not turn a file or a database they were
 * pointed at into a state database). Returns 0, BS_ENOTFOUND (no such file or ClickHouse
 * database), BS_EPARSE (it exists but is not a botscope state database: no schema_version),
 * BS_EVERSION (newer schema), or the backend's error (-ECONNREFUSED/-ETIMEDOUT: server down;
 * BS_EIO); errbuf says which (for BS_EPARSE: what is missing). The list functions of an older
 * schema that lacks their table return BS_ENOTFOUND; writes through the handle fail. */
int statedb_open_rdonly(const char *url, const struct config *cfg, struct statedb **out,
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
    uint32_t sampling_rate; /* last seen */
    uint8_t version;        /* last seen enum flow_version */
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
 * On ClickHouse (store_ch_tel.c) puts are batched and a commit sends one INSERT per table:
 * each is atomic, the three together are not one transaction.
 * List columns (ports, fingerprints, tags) hold JSON arrays as text (json_each works on
 * them); addresses are text, or "h:<hex>" pseudonyms in privacy mode. Strings are borrowed
 * for the call. Functions return 0 or BS_EIO (-EINVAL outside begin/end). */
struct statedb_tel_run {
    uint64_t started_ms;
    const char *mode;    /* "offline" or "live" */
    const char *version; /* botscope version */
    const char *command; /* command line */
    const char *darknet; /* prefix list */
    const char *inputs;  /* JSON array of input names, or the interface */
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
    int64_t asn;    /* < 0: unknown (NULL) */
    const char *cc; /* NULL: unknown */
    bool bogon, research, infected_iot;
};

struct statedb_tel_victim {
    const char *victim;
    uint64_t first_ms, last_ms, packets, bytes, tcp_packets, icmp_packets;
    uint64_t peak_ppm, darknet_addresses;
    const char *ports; /* JSON array */
    double observed_pps;
    double scaled_pps; /* < 0: not scalable (NULL) */
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

/* The telescope's sources summed over days, one per address: what detection's seed set
 * needs (statedb_tel_source_list). */
struct statedb_tel_source_query {
    bool infected_only;  /* only rows with infected_iot */
    bool addresses_only; /* leave out "h:<hex>" pseudonyms (privacy mode: cannot seed) */
    uint64_t t_lo, t_hi; /* rows whose [first_ms, last_ms] meets [t_lo, t_hi]; t_hi 0 = no bound */
};

struct statedb_tel_source_sum {
    const char *src;            /* as stored: address text (or a pseudonym) */
    uint64_t first_ms, last_ms; /* min first_ms, max last_ms of the selected rows */
    uint64_t days;              /* selected rows (UTC days) */
};

/* Calls cb once per source address that q selects, in address-text order (byte order), with
 * the row borrowed for the call; a non-zero return stops and is returned. BS_ENOTFOUND for
 * a database opened read-only whose schema predates the telescope's tables. */
int statedb_tel_source_list(struct statedb *db, const struct statedb_tel_source_query *q,
                            int (*cb)(void *ctx, const struct statedb_tel_source_sum *s),
                            void *ctx);

/* ---- records by kind (schema version 3) ----
 * Every result after the telescope (C&C detection, the survey, threat intelligence, and what
 * notification and the dashboard will add) is a record of one kind. A record has the columns
 * every consumer filters on (kind, key, tenant, addr, times, score, status) and a JSON object
 * `body` with the kind's own fields, so a new feature adds a kind and a body layout, not a
 * method per backend. The kinds and what their key and body hold are listed in
 * statedb_kind_name()'s table (statedb.c) and docs/ARCHITECTURE.md.
 *
 * Identity: (kind, key) is unique. statedb_rec_put upserts by it: first_ms becomes the minimum
 * of the stored and the new value, last_ms the maximum, and every other column is replaced
 * (body replaced whole). A record with key NULL is appended (a log entry such as one survey
 * access or one score in a candidate's history); the backend gives it a unique key "#<id>".
 *
 * Strings are borrowed for the call. Records passed to callbacks are borrowed for the call
 * only. Functions return 0, a callback's non-zero value, or a negative error (BS_EIO,
 * BS_EUSAGE for an unknown kind). */
enum statedb_kind {
    STATEDB_SEED,      /* an address believed infected; key "addr|source"; body: provenance */
    STATEDB_CANDIDATE, /* a C&C candidate; key "addr|port|proto"; body: the detect line */
    STATEDB_EVIDENCE,  /* one observation or access backing a candidate or finding (appended) */
    STATEDB_EDGE,      /* bot-server graph edge; key "client|server|port|proto"; body: counts */
    STATEDB_FINDING,   /* a survey finding; key "addr|port|finding"; status open/remediated */
    STATEDB_INTEL,     /* a public indicator; key "source|indicator"; first_ms = first listed */
    STATEDB_STATE,     /* a component's own state (follow cursor, survey resume); key = name */
    STATEDB_KIND_COUNT
};

struct statedb_rec {
    enum statedb_kind kind;
    const char *key;    /* unique within the kind; NULL on put = append */
    const char *tenant; /* owning ISP or other tenant; NULL = none */
    const char *addr;   /* the address the record is about, as text; NULL = none */
    uint64_t first_ms, last_ms;
    double score;       /* kind-specific rank (candidate score, finding severity); 0 if none */
    const char *status; /* kind-specific state ("open", "remediated", ...); NULL = none */
    const char *body;   /* JSON object text; NULL = "{}" */
};

/* A selection for statedb_rec_list; zero fields select everything of the kind. */
struct statedb_rec_query {
    enum statedb_kind kind;
    const char *key;    /* exact key */
    const char *tenant; /* exact tenant */
    const char *addr;   /* exact address text */
    const char *status; /* exact status */
    uint64_t t_lo,
        t_hi;         /* records whose [first_ms, last_ms] meets [t_lo, t_hi]; t_hi 0 = no bound */
    double min_score; /* score >= min_score when has_min_score */
    bool has_min_score;
    bool by_score;  /* order by score descending (then key), else by key */
    uint64_t limit; /* 0 = all */
};

/* "seed", "candidate", ... for a kind; NULL when out of range. */
const char *statedb_kind_name(enum statedb_kind kind);
/* The kind named name, or -1. */
int statedb_kind_parse(const char *name);

/* Upserts (or appends, key NULL) recs[0..n) in one transaction: all or none. */
int statedb_rec_put(struct statedb *db, const struct statedb_rec *recs, size_t n);
/* Calls cb for each record that q selects, in the order q asks for. */
int statedb_rec_list(struct statedb *db, const struct statedb_rec_query *q,
                     int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx);
/* Deletes the records of kind whose key equals key (key NULL: every record of the kind).
 * *deleted (may be NULL) gets the count. */
int statedb_rec_delete(struct statedb *db, enum statedb_kind kind, const char *key,
                       uint64_t *deleted);

#endif
