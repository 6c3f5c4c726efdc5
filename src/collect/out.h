/* out.h - where the collector puts decoded records: NDJSON on a stream, or the flow store.
 *
 * A collect_out is shared by every decode thread; collect_out_write() takes a batch of records
 * under one mutex (NDJSON lines from different threads must not interleave; for the store it
 * only copies the records into the store's batch, which a writer thread inside the store
 * sorts, compresses and fsyncs, so decoding never waits for the disk unless the store's writer
 * is a whole batch behind). Decode threads batch records (struct out_batch) so the lock is
 * taken once per OUT_BATCH records or per idle moment, not per record. collect_out_flush()
 * on a store does not take the mutex: it waits for the store's writer while decoding goes on.
 *
 * Ownership: the caller opens the store / owns the FILE and passes them in; collect_out never
 * closes them. A failed write loses its records (counted in lost; the store keeps a failed
 * flush's batch itself, store.h) and the first error is kept in err for the final report;
 * later writes are still tried, so a transient failure (disk full) does not stop collection.
 */
#ifndef BS_COLLECT_OUT_H
#define BS_COLLECT_OUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/flow.h"

struct store;

enum collect_out_kind { COLLECT_OUT_NONE, COLLECT_OUT_NDJSON, COLLECT_OUT_STORE };

struct collect_out {
    enum collect_out_kind kind;
    FILE *f;             /* NDJSON */
    struct store *store; /* store */
    pthread_mutex_t mu;
    struct buf line;          /* NDJSON formatting buffer (under mu) */
    _Atomic uint64_t records; /* records handed to the stream or the store */
    bool flush_each;          /* NDJSON: fflush after every write (set before use) */
    _Atomic uint64_t lost;    /* records whose write failed */
    _Atomic int err;          /* first error, 0 when none */
};

/* kind NONE discards (counts only). Returns 0 or -errno. */
int collect_out_init(struct collect_out *o, enum collect_out_kind kind, FILE *f,
                     struct store *store);
void collect_out_release(struct collect_out *o);
/* Thread-safe. Returns 0 or this write's error. */
int collect_out_write(struct collect_out *o, const struct flow_rec *recs, size_t n);
/* Thread-safe: fflush, or store_flush (segments become visible). Returns 0 or an error. */
int collect_out_flush(struct collect_out *o);

#define OUT_BATCH 512

/* A decode thread's batch in front of a collect_out. */
struct out_batch {
    struct collect_out *out;
    size_t n;
    struct flow_rec recs[OUT_BATCH];
};

static inline void out_batch_init(struct out_batch *b, struct collect_out *out)
{
    b->out = out;
    b->n = 0;
}
/* Writes the batched records (if any). Returns 0 or the output's error. */
int out_batch_flush(struct out_batch *b);
static inline void out_batch_add(struct out_batch *b, const struct flow_rec *r)
{
    b->recs[b->n++] = *r;
    if (b->n == OUT_BATCH)
        out_batch_flush(b);
}

#endif
