/* store_backend.h - the plug-in point behind store.h and statedb.h (internal to bs_store).
 *
 * A backend is one `const struct store_backend` listed in store_backends[] (store.c). It
 * provides both halves of what botscope keeps: the flow store (the function pointers below)
 * and the state database (`state`, a `struct statedb_backend`). One URL selects a backend for
 * both: store_open and statedb_open pick the first backend whose match() accepts it, so a
 * data directory gives segment files plus DIR/state.db (SQLite), and the ClickHouse backend
 * will take over flows and state together.
 *
 * Handles: a backend's flow handle embeds `struct store` as its first member and its state
 * handle embeds `struct statedb` first; store.c and statedb.c dispatch through ->be.
 */
#ifndef BS_STORE_STORE_BACKEND_H
#define BS_STORE_STORE_BACKEND_H

#include "store/statedb.h"
#include "store/store.h"

struct statedb_backend {
    /* url as given to statedb_open (already matched to this backend). */
    int (*open)(const char *url, struct statedb **out, char errbuf[256]);
    /* Optional: open with the configuration (backends that need settings such as
     * credentials, e.g. ClickHouse); statedb_open_cfg falls back to open without it. */
    int (*open_cfg)(const char *url, const struct config *cfg, struct statedb **out,
                    char errbuf[256]);
    /* Optional: statedb_open_rdonly (NULL: BS_EUNSUPPORTED). */
    int (*open_rdonly)(const char *url, const struct config *cfg, struct statedb **out,
                       char errbuf[256]);
    void (*close)(struct statedb *db);
    int (*schema_version)(struct statedb *db);
    int (*exporter_upsert)(struct statedb *db, const struct statedb_exporter *e, size_t n);
    int (*exporter_list)(struct statedb *db, int (*cb)(void *ctx, const struct statedb_exporter *e),
                         void *ctx);
    int (*tel_begin)(struct statedb *db, const struct statedb_tel_run *r, int64_t *run_id);
    int (*tel_source_put)(struct statedb *db, const struct statedb_tel_source *s);
    int (*tel_victim_put)(struct statedb *db, const struct statedb_tel_victim *v);
    int (*tel_interval_put)(struct statedb *db, const struct statedb_tel_interval *iv);
    int (*tel_commit)(struct statedb *db);
    int (*tel_end)(struct statedb *db, const struct statedb_tel_run_totals *t);
    int (*tel_source_list)(struct statedb *db, const struct statedb_tel_source_query *q,
                           int (*cb)(void *ctx, const struct statedb_tel_source_sum *s), void *ctx);
    /* Records by kind (statedb.h): the one generic interface every later component uses. */
    int (*rec_put)(struct statedb *db, const struct statedb_rec *recs, size_t n);
    int (*rec_list)(struct statedb *db, const struct statedb_rec_query *q,
                    int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx);
    int (*rec_delete)(struct statedb *db, enum statedb_kind kind, const char *key,
                      uint64_t *deleted);
};

struct statedb {
    const struct store_backend *be;
};

struct store_backend {
    const char *name;
    const struct statedb_backend *state; /* the state database half */
    /* True when url belongs to this backend (e.g. its scheme). */
    bool (*match)(const char *url);
    int (*open)(const char *url, const struct config *cfg, int flags, struct store **out,
                char errbuf[256]);
    int (*append)(struct store *s, const struct flow_rec *recs, size_t n);
    int (*flush)(struct store *s);
    int (*close)(struct store *s);
    int (*scan)(struct store *s, const struct store_scan *sc, struct store_scan_stats *st);
    int (*info)(struct store *s, struct store_info *out);
    int (*prune)(struct store *s, uint64_t now_ms, uint64_t *segs, uint64_t *bytes);
    /* Optional (NULL: BS_EUNSUPPORTED). */
    int (*check)(struct store *s, void (*report)(void *ctx, const char *path, const char *what),
                 void *ctx, struct store_check_stats *st);
    /* Optional staging (NULL: begin does nothing, commit flushes, abort does nothing). */
    int (*begin)(struct store *s);
    int (*commit)(struct store *s);
    void (*abort)(struct store *s);
    /* Optional: SQL evaluated by the backend (store_sql, including its sql == NULL probe);
     * NULL = not supported. */
    int (*sql)(struct store *s, const char *sql, int (*cb)(void *ctx, const uint8_t *p, size_t n),
               void *ctx, char errbuf[256]);
    /* Optional: store_sql_stats (NULL: BS_EUNSUPPORTED). */
    int (*sql_stats)(struct store *s, uint64_t *rows_read, uint64_t *bytes_read);
};

struct store {
    const struct store_backend *be;
    int flags;
};

/* The backend that claims url, or NULL. */
const struct store_backend *store_backend_find(const char *url);

extern const struct store_backend store_backend_embedded;
extern const struct statedb_backend statedb_backend_sqlite;
extern const struct store_backend store_backend_clickhouse;

#endif
