/* store_embedded.h - the embedded store's handle, shared by store_embedded.c (open, write
 * path, staging) and store_embedded_scan.c (scan, info, check, retention). Internal to
 * bs_store; the contracts are in store.h and the layout in store_embedded.c. */
#ifndef BS_STORE_STORE_EMBEDDED_H
#define BS_STORE_STORE_EMBEDDED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "core/flow.h"
#include "core/vec.h"
#include "store/segment.h"
#include "store/statedb.h"
#include "store/store_backend.h"

#define EMB_PATH_MAX 4096
/* Segments mapped at once during a scan: bounds open mappings for very large stores. */
#define EMB_SCAN_BATCH 256
/* Distinct exporters summarised per flush for the state database (the rest are counted in the
 * next flush, which has its own table). */
#define EMB_MAX_EXPORTERS_PER_FLUSH 4096

/* Write buffers: one filling, one being written, and one more so that a writer briefly starved
 * of CPU (other jobs on the machine) does not stop the appenders at once: at 3.5 M flows/s on
 * the 2-core benchmark machine, three alternating runs each lost 9/3/12 % with three buffers
 * against 35/12/18 % with two (bench/ingest/FINDINGS.md). Buffers are allocated when first
 * needed, so the third (152 bytes a record, ~160 MB at the default batch) exists only once the
 * writer has fallen two batches behind. */
#define EMB_WRITE_BUFFERS 3
/* Writer queue slots: every buffer, plus one retry job of a flush (run_job). */
#define EMB_QUEUE (EMB_WRITE_BUFFERS + 1)

/* Sort key of one buffered record: start time, and the record's index in its buffer. */
struct emb_key {
    uint64_t t;
    uint32_t i;
};

/* A segment of the batch being written: written to its temp file, not yet renamed. */
struct emb_tmpseg {
    uint64_t pstart, seq;
    uint64_t size, records; /* for the manifest */
};

/* A batch queued to the writer: v[0..n), or v NULL to retry what a failed write left.
 * keyed: the buffer's keys (buf_keys) hold (start_ms, i) for every i < n, in order, and its
 * exporter summary (buf_exporters) covers exactly v[0..n). */
struct emb_job {
    struct flow_rec *v;
    size_t n;
    bool keyed;
    bool staged; /* written between store_begin and store_commit */
};

/* Cap on segments staged by one store_begin..store_commit (a year of 5-minute partitions is
 * ~105,000; each entry is 32 bytes). Beyond it the staged input fails with BS_ELIMIT. */
#define EMB_STAGE_MAX (1u << 22)

struct emb {
    struct store base;
    char *dir;
    int lock_fd;
    uint64_t partition_ms, retention_ms, max_size;
    unsigned scan_threads;
    struct seg_writer_opts wopts;
    size_t cap_max; /* store.batch_records */
    /* Write path (STORE_WRITE). Appenders fill one buffer of cap_max records (fill, n, under
     * amu), its key array and exporter summary (buf_keys, buf_exporters: in the same
     * allocation, 152 bytes a record plus 256 KB); a full one, or the one a flush closes,
     * is queued to the writer thread, which
     * sorts, encodes, compresses and fsyncs it while the next one fills (EMB_WRITE_BUFFERS
     * buffers in all, so memory stays bounded and an appender that gets all of them ahead of
     * the writer waits for it). */
    pthread_mutex_t amu;
    struct flow_rec *fill;
    size_t n;
    pthread_mutex_t wmu; /* guards the fields down to carry_pending */
    pthread_cond_t wcv;  /* to the writer: a job was queued, or stop */
    pthread_cond_t dcv;  /* from the writer: a buffer came free, a job was done */
    struct flow_rec *freebuf[EMB_WRITE_BUFFERS]; /* NULL entries: not allocated yet */
    size_t nfree;
    struct emb_job queue[EMB_QUEUE];
    size_t qhead, qlen;
    uint64_t submitted, completed; /* jobs */
    int werr;                      /* the last job's result: 0 when nothing is left unwritten */
    bool carry_pending;            /* a failed write left records (carry) */
    uint64_t waits, wait_ms;       /* appenders waiting for a free buffer (back-pressure) */
    bool wstop, wstarted, wsync;   /* wsync: no thread could be started, jobs run inline */
    pthread_t wthread;
    /* Owned by the writer thread (or by whoever runs jobs once it is stopped). */
    ZSTD_CCtx *cctx;
    struct flow_rec *carry; /* a write buffer holding the records a failed write left */
    size_t carry_n;
    struct vec keys_tmp; /* struct emb_key: radix sort scratch (up to 2 * cap_max) */
    struct vec order;    /* uint32_t: the batch's record indexes in time order (as keys_tmp) */
    struct seg_wscratch *wscratch;
    struct vec tmps; /* struct emb_tmpseg: segments of the batch being written (<= cap_max) */
    uint64_t seq;
    uint64_t dropped;
    struct statedb *db;
    /* Staging (store_begin..store_commit, all or nothing per input): the writer keeps the
     * temp segments it wrote here instead of committing them, and sums their exporters; the
     * committer reads them once every job is done. */
    bool staging;              /* under amu: jobs submitted now are staged */
    struct vec staged;         /* struct emb_tmpseg, at most EMB_STAGE_MAX */
    int stage_err;             /* the first write error of the staged input */
    struct exp_acc *stage_exp; /* exporter summary of what was staged */
};

/* store_embedded_write.c: batch writing, run by the writer thread (or inline once it is
 * stopped). */

/* The exporters of a batch, summed for the state database (at most
 * EMB_MAX_EXPORTERS_PER_FLUSH; the rest are counted in the next flush). */
struct exp_acc {
    struct statedb_exporter v[EMB_MAX_EXPORTERS_PER_FLUSH];
    size_t n, last;
};
/* Adds record r to the summary a. */
void emb__exp_add(struct exp_acc *a, const struct flow_rec *r);
/* A write buffer is one allocation: cap_max records, their cap_max sort keys, and the
 * exporter summary of the records appended (filled by store_append while each record is in
 * cache, so the writer needs no pass over the whole batch for either). buf_bytes is its size,
 * buf_keys and buf_exporters the parts after the records of buffer v. */
size_t emb__buf_bytes(const struct emb *e);
struct emb_key *emb__buf_keys(const struct emb *e, struct flow_rec *v);
struct exp_acc *emb__buf_exporters(const struct emb *e, struct flow_rec *v);
/* Paths of the segment of partition pstart with sequence number seq: its day directory, its
 * temp name while written, its final name. Returns 0 or -ENAMETOOLONG. */
int emb__segment_paths(const struct emb *e, uint64_t pstart, uint64_t seq, char day[EMB_PATH_MAX],
                       char tmp[EMB_PATH_MAX], char fin[EMB_PATH_MAX]);
/* Commits the temp segments t[0..k) (time order), one day directory at a time: their lines
 * are appended to the day's manifest (the commit point, manifest.h), then they are renamed to
 * their final names one right after the other and the directory is fsynced. Returns how many
 * were committed; on a failure the temp files not committed are removed and *rc set. */
size_t emb__commit_segments(struct emb *e, const struct emb_tmpseg *t, size_t k, int *rc);
/* Writes the batch v[0..*n) as one segment per partition (see the comment at its definition
 * for the failure contract: *n is left as the count of records not written, moved to the
 * front of v). staged: keep the segments for store_commit instead of committing them. */
int emb__write_batch(struct emb *e, struct flow_rec *v, size_t *n, bool keyed, bool staged);

/* store_embedded_scan.c: the backend operations of the read side, and retention (also run by
 * the writer after each write). size_only: only store.max_size (a failed write makes room). */
int emb_scan(struct store *s, const struct store_scan *sc, struct store_scan_stats *st);
int emb_info(struct store *s, struct store_info *out);
int emb_check(struct store *s, void (*report)(void *ctx, const char *path, const char *what),
              void *ctx, struct store_check_stats *st);
int emb_prune(struct store *s, uint64_t now_ms, uint64_t *segs, uint64_t *bytes);
int emb_prune_impl(struct emb *e, uint64_t now_ms, int size_only, uint64_t *segs, uint64_t *bytes);

#endif
