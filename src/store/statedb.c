/* statedb.c - state database dispatch (see statedb.h, store_backend.h). */
#include "store/statedb.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/store_backend.h"

int statedb_open(const char *url, struct statedb **out, char errbuf[256])
{
    return statedb_open_cfg(url, NULL, out, errbuf);
}

int statedb_open_cfg(const char *url, const struct config *cfg, struct statedb **out,
                     char errbuf[256])
{
    errbuf[0] = '\0';
    *out = NULL;
    if (!url || !*url) {
        snprintf(errbuf, 256, "no state database given (--data DIR or URL)");
        return BS_EUSAGE;
    }
    const struct store_backend *be = store_backend_find(url);
    if (!be || !be->state) {
        snprintf(errbuf, 256, "%s: no state database backend for this URL", url);
        return BS_EUNSUPPORTED;
    }
    int rc = be->state->open_cfg ? be->state->open_cfg(url, cfg, out, errbuf)
                                 : be->state->open(url, out, errbuf);
    if (!rc)
        (*out)->be = be;
    return rc;
}

int statedb_open_rdonly(const char *url, const struct config *cfg, struct statedb **out,
                        char errbuf[256])
{
    errbuf[0] = '\0';
    *out = NULL;
    if (!url || !*url) {
        snprintf(errbuf, 256, "no state database given");
        return BS_EUSAGE;
    }
    const struct store_backend *be = store_backend_find(url);
    if (!be || !be->state || !be->state->open_rdonly) {
        snprintf(errbuf, 256, "%s: no state database backend for this URL", url);
        return BS_EUNSUPPORTED;
    }
    int rc = be->state->open_rdonly(url, cfg, out, errbuf);
    if (!rc)
        (*out)->be = be;
    return rc;
}

void statedb_close(struct statedb *db)
{
    if (db)
        db->be->state->close(db);
}

const char *statedb_backend_name(const struct statedb *db)
{
    return db->be->name;
}

int statedb_schema_version(struct statedb *db)
{
    return db->be->state->schema_version(db);
}

int statedb_exporter_upsert(struct statedb *db, const struct statedb_exporter *e, size_t n)
{
    return db->be->state->exporter_upsert(db, e, n);
}

int statedb_exporter_list(struct statedb *db,
                          int (*cb)(void *ctx, const struct statedb_exporter *e), void *ctx)
{
    return db->be->state->exporter_list(db, cb, ctx);
}

int statedb_tel_begin(struct statedb *db, const struct statedb_tel_run *r, int64_t *run_id)
{
    return db->be->state->tel_begin(db, r, run_id);
}

int statedb_tel_source_put(struct statedb *db, const struct statedb_tel_source *s)
{
    return db->be->state->tel_source_put(db, s);
}

int statedb_tel_victim_put(struct statedb *db, const struct statedb_tel_victim *v)
{
    return db->be->state->tel_victim_put(db, v);
}

int statedb_tel_interval_put(struct statedb *db, const struct statedb_tel_interval *iv)
{
    return db->be->state->tel_interval_put(db, iv);
}

int statedb_tel_commit(struct statedb *db)
{
    return db->be->state->tel_commit(db);
}

int statedb_tel_end(struct statedb *db, const struct statedb_tel_run_totals *t)
{
    return db->be->state->tel_end(db, t);
}

int statedb_tel_source_list(struct statedb *db, const struct statedb_tel_source_query *q,
                            int (*cb)(void *ctx, const struct statedb_tel_source_sum *s), void *ctx)
{
    return db->be->state->tel_source_list ? db->be->state->tel_source_list(db, q, cb, ctx)
                                          : BS_EUNSUPPORTED;
}

/* ---- records by kind ---- */

static const char *const statedb_kind_names[STATEDB_KIND_COUNT] = {
    [STATEDB_SEED] = "seed",   [STATEDB_CANDIDATE] = "candidate", [STATEDB_EVIDENCE] = "evidence",
    [STATEDB_EDGE] = "edge",   [STATEDB_FINDING] = "finding",     [STATEDB_INTEL] = "intel",
    [STATEDB_STATE] = "state",
};

const char *statedb_kind_name(enum statedb_kind kind)
{
    return (unsigned)kind < STATEDB_KIND_COUNT ? statedb_kind_names[kind] : NULL;
}

int statedb_kind_parse(const char *name)
{
    for (int k = 0; k < STATEDB_KIND_COUNT; k++)
        if (!strcmp(name, statedb_kind_names[k]))
            return k;
    return -1;
}

static int rec_unsupported(const struct statedb *db)
{
    return db->be->state->rec_put ? 0 : BS_EUNSUPPORTED;
}

int statedb_rec_put(struct statedb *db, const struct statedb_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!statedb_kind_name(recs[i].kind))
            return BS_EUSAGE;
    int rc = rec_unsupported(db);
    return rc ? rc : db->be->state->rec_put(db, recs, n);
}

int statedb_rec_list(struct statedb *db, const struct statedb_rec_query *q,
                     int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx)
{
    if (!statedb_kind_name(q->kind))
        return BS_EUSAGE;
    int rc = rec_unsupported(db);
    return rc ? rc : db->be->state->rec_list(db, q, cb, ctx);
}

int statedb_rec_delete(struct statedb *db, enum statedb_kind kind, const char *key,
                       uint64_t *deleted)
{
    if (deleted)
        *deleted = 0;
    if (!statedb_kind_name(kind))
        return BS_EUSAGE;
    int rc = rec_unsupported(db);
    return rc ? rc : db->be->state->rec_delete(db, kind, key, deleted);
}
