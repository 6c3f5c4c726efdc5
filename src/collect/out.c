/* out.c - the collector's record output (see out.h). */
#include "collect/out.h"

#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "store/store.h"

/* NDJSON formatting buffer cap: one batch of lines (a line is < 1 KiB). */
#define OUT_LINE_MAX (4u << 20)

int collect_out_init(struct collect_out *o, enum collect_out_kind kind, FILE *f,
                     struct store *store)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->f = f;
    o->store = store;
    buf_init(&o->line, OUT_LINE_MAX);
    atomic_init(&o->records, 0);
    atomic_init(&o->err, 0);
    atomic_init(&o->lost, 0);
    int rc = pthread_mutex_init(&o->mu, NULL);
    return rc ? -rc : 0;
}

void collect_out_release(struct collect_out *o)
{
    buf_release(&o->line);
    pthread_mutex_destroy(&o->mu);
}

static int write_ndjson(struct collect_out *o, const struct flow_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = flow_to_ndjson(&recs[i], &o->line);
        if (rc == BS_ELIMIT && o->line.len) { /* buffer full: write it out and retry */
            if (fwrite(o->line.data, 1, o->line.len, o->f) != o->line.len)
                return errno ? -errno : BS_EIO;
            buf_reset(&o->line);
            rc = flow_to_ndjson(&recs[i], &o->line);
        }
        if (rc)
            return rc;
    }
    if (o->line.len && fwrite(o->line.data, 1, o->line.len, o->f) != o->line.len)
        return errno ? -errno : BS_EIO;
    buf_reset(&o->line);
    return 0;
}

int collect_out_write(struct collect_out *o, const struct flow_rec *recs, size_t n)
{
    int rc = 0;
    if (n == 0)
        return 0;
    pthread_mutex_lock(&o->mu);
    switch (o->kind) {
    case COLLECT_OUT_NDJSON:
        rc = write_ndjson(o, recs, n);
        if (!rc && o->flush_each && fflush(o->f))
            rc = errno ? -errno : BS_EIO;
        break;
    case COLLECT_OUT_STORE:
        rc = store_append(o->store, recs, n);
        break;
    case COLLECT_OUT_NONE:
        break;
    }
    pthread_mutex_unlock(&o->mu);
    if (rc) {
        int zero = 0;
        atomic_compare_exchange_strong(&o->err, &zero, rc);
        atomic_fetch_add(&o->lost, n);
        return rc;
    }
    atomic_fetch_add(&o->records, n);
    return 0;
}

int collect_out_flush(struct collect_out *o)
{
    int rc = 0;
    if (o->kind == COLLECT_OUT_STORE) {
        /* Not under mu: the store serialises store_append and store_flush itself, and a
         * flush waits for its batch to be written while the decode threads go on. */
        rc = store_flush(o->store);
    } else {
        pthread_mutex_lock(&o->mu);
        if (o->kind == COLLECT_OUT_NDJSON && fflush(o->f))
            rc = errno ? -errno : BS_EIO;
        pthread_mutex_unlock(&o->mu);
    }
    if (rc) {
        int zero = 0;
        atomic_compare_exchange_strong(&o->err, &zero, rc);
    }
    return rc;
}

int out_batch_flush(struct out_batch *b)
{
    if (b->n == 0)
        return 0;
    int rc = collect_out_write(b->out, b->recs, b->n);
    b->n = 0;
    return rc;
}
