/* store_embedded.c - the embedded flow store: segment files under one data directory.
 *
 * Layout under DIR:
 *   LOCK                      flock()ed by the one writer process
 *   state.db                  the state database (statedb.h), opened by writers
 *   flows/YYYY-MM-DD/         one directory per UTC day of partition start
 *     YYYYMMDDTHHMMSSZ_P_SEQ.seg   a segment: partition start, partition length P in seconds,
 *                              writer sequence number (unique, increasing)
 *     MANIFEST                 the segments committed in this day (manifest.h): readers check
 *                              the files against it and report missing, truncated and
 *                              unlisted (duplicated) segments on every read (seglist.h)
 *     .tmp.<name>              a segment being written (never read; removed on open)
 * A partition holds the records whose start_ms lies in [start, start + P); one flush writes
 * one segment per partition present in its batch, all to temp files first; then, day by day,
 * their manifest lines are appended (the commit point) and they are renamed one right after
 * the other. A writer opening the store renames what was committed and not yet renamed, so a
 * crash shows a batch whole or not at all.
 *
 * Write path: store_append copies records into a batch of store.batch_records, and writes each
 * record's sort key (start_ms, index) beside it and adds it to the batch's exporter summary
 * while the record is still in cache; a full
 * batch (or the open one, on store_flush) is queued to the store's writer thread, which sorts
 * it (a radix sort of the keys; the 136-byte records are never moved), writes one
 * segment per partition (zstd, fsync, rename) and updates the state database, while the
 * appenders fill another buffer. Three buffers at most: an appender two whole batches ahead of
 * the writer waits (back-pressure; nothing is dropped for being fast). store_flush and store_close
 * wait for everything queued before them, so a graceful stop loses nothing.
 *
 * Disk-full policy: when a write fails (ENOSPC or any I/O error) the temp file is removed,
 * segments already written from that batch stay, the records not yet written are carried by
 * the writer, and the error is logged and returned by the flush waiting for it; the next batch
 * (or the next flush) retries them. When the carried records and the next batch exceed the
 * cap (store.batch_records), the oldest carried records are dropped (counted and logged):
 * memory stays bounded and the newest data wins. If store.max_size is set, a failed write
 * first prunes by size and retries once.
 *
 * Retention: after every successful flush and in store_prune, a segment is deleted when both
 * its partition ended and its file was written more than store.retention before the wall
 * clock. Age is wall-clock time, never "the newest stored flow" (one exporter with a clock
 * ahead, or a replay next to live data, would otherwise age out everything else), and data is
 * kept at least store.retention after it was written: what a run reports as stored (an
 * imported 2011 archive, an old capture replayed) is never removed by that run, nor by any
 * run within the retention period after it. Each pass that removes anything logs a warning
 * with the segment, byte and time range counts. Then, if store.max_size is set, the oldest
 * segments go until the total fits (also logged as a warning).
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/fsutil.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "store/seglist.h"

#include "store/store_embedded.h"

/* The plain listing (no manifest check): the write path and retention. */
static int list_segments(const char *dir, struct seg_list *out, int clean_tmp)
{
    return seg_list_dir(dir, out, clean_tmp, NULL);
}

/* ---- open / close ---------------------------------------------------------------------- */

static void set_err(char errbuf[256], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char errbuf[256], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, 256, fmt, ap);
    va_end(ap);
}

/* Frees e and what it owns (the writer thread, if any, has been joined). */
static void emb_free(struct emb *e)
{
    statedb_close(e->db);
    ZSTD_freeCCtx(e->cctx);
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    for (size_t i = 0; i < e->nfree; i++)
        free(e->freebuf[i]);
    free(e->fill);
    free(e->carry);
    vec_release(&e->keys_tmp);
    vec_release(&e->order);
    vec_release(&e->tmps);
    vec_release(&e->staged);
    free(e->stage_exp);
    seg_wscratch_free(e->wscratch);
    pthread_mutex_destroy(&e->amu);
    pthread_mutex_destroy(&e->wmu);
    pthread_cond_destroy(&e->wcv);
    pthread_cond_destroy(&e->dcv);
    free(e->dir);
    free(e);
}

static bool emb_match(const char *url)
{
    return strstr(url, "://") == NULL;
}

static int emb_open(const char *url, const struct config *cfg, int flags, struct store **out,
                    char errbuf[256])
{
    int rc;
    struct emb *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    e->lock_fd = -1;
    pthread_mutex_init(&e->amu, NULL);
    pthread_mutex_init(&e->wmu, NULL);
    pthread_cond_init(&e->wcv, NULL);
    pthread_cond_init(&e->dcv, NULL);
    e->nfree = EMB_WRITE_BUFFERS; /* allocated on first use */
    if (!(e->dir = strdup(url))) {
        rc = BS_ENOMEM;
        goto out_free;
    }
    size_t dl = strlen(e->dir);
    while (dl > 1 && e->dir[dl - 1] == '/')
        e->dir[--dl] = '\0';

    /* Settings: defaults match config_keys.def. */
    int64_t partition = 300000, retention = 30LL * 86400000, max_size = 0, level = 1;
    int64_t batch = 1048576, threads = 2;
    const char *comp = "auto";
    if (cfg) {
        partition = config_duration_ms(cfg, "store", "partition");
        retention = config_duration_ms(cfg, "store", "retention");
        max_size = config_size(cfg, "store", "max_size");
        level = config_int(cfg, "store", "zstd_level");
        comp = config_str(cfg, "store", "compression");
        batch = config_int(cfg, "store", "batch_records");
        threads = config_int(cfg, "store", "scan_threads");
    }
    if (partition < 1000 || partition % 1000 || 86400000 % partition) {
        set_err(errbuf, "[store] partition: must be whole seconds dividing one day");
        rc = BS_EUSAGE;
        goto out_free;
    }
    if (strcmp(comp, "auto") && strcmp(comp, "zstd") && strcmp(comp, "lz4") &&
        strcmp(comp, "none")) {
        set_err(errbuf, "[store] compression: '%s' is not auto, zstd, lz4 or none", comp);
        rc = BS_EUSAGE;
        goto out_free;
    }
    if (level < 1 || level > 19 || batch < 1 || batch > 100000000 || threads < 1 ||
        threads > STORE_SCAN_MAX_THREADS || retention < 0 || max_size < 0) {
        set_err(errbuf,
                "[store] zstd_level (1..19), batch_records (1..1e8), scan_threads (1..%d), "
                "retention and max_size (>= 0): value out of range",
                STORE_SCAN_MAX_THREADS);
        rc = BS_EUSAGE;
        goto out_free;
    }
    e->partition_ms = (uint64_t)partition;
    e->retention_ms = (uint64_t)retention;
    e->max_size = (uint64_t)max_size;
    e->scan_threads = (unsigned)threads;
    e->cap_max = (size_t)batch;
    /* (the vecs are zero until here: emb_free releases them either way) */
    vec_init(&e->keys_tmp, sizeof(struct emb_key), 4096, 2 * e->cap_max);
    vec_init(&e->order, sizeof(uint32_t), 4096, 2 * e->cap_max);
    vec_init(&e->tmps, sizeof(struct emb_tmpseg), 16, e->cap_max);
    vec_init(&e->staged, sizeof(struct emb_tmpseg), 64, EMB_STAGE_MAX);
    e->wopts.codec = !strcmp(comp, "zstd") || !strcmp(comp, "auto") ? SEG_CODEC_ZSTD
                     : !strcmp(comp, "lz4")                         ? SEG_CODEC_LZ4
                                                                    : SEG_CODEC_NONE;
    e->wopts.auto_lz4 = !strcmp(comp, "auto");
    e->wopts.zstd_level = (int)level;

    char path[EMB_PATH_MAX];
    if (flags & STORE_WRITE) {
        snprintf(path, sizeof path, "%s/flows", e->dir);
        if ((rc = fsutil_mkdir_p(path))) {
            set_err(errbuf, "%s: %s", path, bs_strerror(rc));
            goto out_free;
        }
        snprintf(path, sizeof path, "%s/LOCK", e->dir);
        e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (e->lock_fd < 0 || flock(e->lock_fd, LOCK_EX | LOCK_NB)) {
            rc = errno == EWOULDBLOCK ? BS_EEXIST : -errno;
            set_err(errbuf, "%s: %s", path,
                    rc == BS_EEXIST ? "another writer holds the store" : bs_strerror(rc));
            goto out_free;
        }
        /* Finish what an interrupted writer committed or was removing, before its temp files
         * are cleaned, and give days from before manifests one. */
        if ((rc = seg_reconcile(e->dir))) {
            set_err(errbuf, "%s: %s", e->dir, bs_strerror(rc));
            goto out_free;
        }
        struct seg_list l;
        if ((rc = list_segments(e->dir, &l, 1))) {
            set_err(errbuf, "%s: %s", e->dir, bs_strerror(rc));
            goto out_free;
        }
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].seq >= e->seq)
                e->seq = l.v[i].seq + 1;
        seg_list_release(&l);
        if (e->wopts.codec == SEG_CODEC_ZSTD && !(e->cctx = ZSTD_createCCtx())) {
            rc = BS_ENOMEM;
            goto out_free;
        }
        snprintf(path, sizeof path, "%s/state.db", e->dir);
        char dberr[256];
        if ((rc = statedb_open(path, &e->db, dberr))) {
            set_err(errbuf, "%s", dberr);
            goto out_free;
        }
    } else {
        struct stat st;
        if (stat(e->dir, &st) || !S_ISDIR(st.st_mode)) {
            rc = errno ? -errno : -ENOTDIR;
            set_err(errbuf, "%s: %s", e->dir,
                    rc == -ENOENT ? "no such store (create it with `botscope store init`)"
                                  : bs_strerror(rc));
            goto out_free;
        }
    }
    *out = &e->base;
    return 0;
out_free:
    emb_free(e);
    return rc;
}

/* Takes a write buffer of cap_max records from the free list, waiting while the writer holds
 * all the others (back-pressure: the appender blocks until a batch is written; upstream queues,
 * such as the collector's rings, are the buffer). Called with amu held. */
static struct flow_rec *take_buffer(struct emb *e)
{
    pthread_mutex_lock(&e->wmu);
    if (!e->nfree) { /* counted: a writer slower than the input shows here */
        uint64_t t0 = clock_mono_ms();
        while (!e->nfree)
            pthread_cond_wait(&e->dcv, &e->wmu);
        e->waits++;
        e->wait_ms += clock_mono_ms() - t0;
    }
    struct flow_rec *b = e->freebuf[--e->nfree];
    pthread_mutex_unlock(&e->wmu);
    if (!b && !(b = malloc(emb__buf_bytes(e)))) {
        pthread_mutex_lock(&e->wmu);
        e->freebuf[e->nfree++] = NULL; /* the slot stays, allocation is retried later */
        pthread_mutex_unlock(&e->wmu);
    }
    return b;
}

static void give_buffer(struct emb *e, struct flow_rec *b)
{
    pthread_mutex_lock(&e->wmu);
    e->freebuf[e->nfree++] = b;
    pthread_cond_broadcast(&e->dcv);
    pthread_mutex_unlock(&e->wmu);
}

/* One job of the writer: the batch v[0..n) (v NULL: only a retry of the records a failed
 * write left), keyed as struct emb_job says. Returns 0 when nothing is left unwritten, else
 * the write's error. */
static int run_job(struct emb *e, struct flow_rec *v, size_t n, bool keyed, bool staged)
{
    if (staged) {
        /* All or nothing: after a failure the rest of the input is only discarded. */
        int rc = e->stage_err;
        if (v && !rc && (rc = emb__write_batch(e, v, &n, keyed, true))) {
            e->stage_err = rc;
            log_err("store", "%s: write failed (%s): nothing of this input will be stored", e->dir,
                    bs_strerror(rc));
        }
        if (v)
            give_buffer(e, v);
        return rc;
    }
    if (e->carry) {
        keyed = false; /* carried records have no keys (a failed write moved them) */
        if (!v) {
            v = e->carry;
            n = e->carry_n;
        } else {
            /* Disk-full policy: carried records go after the new batch up to the cap; the
             * oldest carried ones are dropped beyond it. */
            size_t keep = e->carry_n;
            if (n + keep > e->cap_max) {
                size_t drop = n + keep - e->cap_max;
                keep -= drop;
                e->dropped += drop;
                log_err("store",
                        "%s: batch full and flush failing: dropped %zu oldest records "
                        "(%llu in total)",
                        e->dir, drop, (unsigned long long)e->dropped);
            }
            memcpy(v + n, e->carry + (e->carry_n - keep), keep * sizeof *v);
            n += keep;
            give_buffer(e, e->carry);
        }
        e->carry = NULL;
        e->carry_n = 0;
    }
    if (!v)
        return 0;
    int rc = emb__write_batch(e, v, &n, keyed, false);
    if (rc && e->max_size) {
        uint64_t a, b;
        emb_prune_impl(e, clock_wall_ms(), 1, &a, &b);
        /* the keys were sorted, and a partial write moved the records left */
        rc = emb__write_batch(e, v, &n, false, false);
    }
    if (rc) {
        log_err("store", "%s: flush failed, %zu records kept for the next try: %s", e->dir, n,
                bs_strerror(rc));
        e->carry = v;
        e->carry_n = n;
        return rc;
    }
    give_buffer(e, v);
    if (e->retention_ms || e->max_size) {
        uint64_t a, b;
        emb_prune_impl(e, clock_wall_ms(), 0, &a, &b);
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct emb *e = arg;
    pthread_mutex_lock(&e->wmu);
    for (;;) {
        while (!e->qlen && !e->wstop)
            pthread_cond_wait(&e->wcv, &e->wmu);
        if (!e->qlen)
            break;
        struct emb_job j = e->queue[e->qhead];
        e->qhead = (e->qhead + 1) % EMB_WRITE_BUFFERS;
        e->qlen--;
        pthread_mutex_unlock(&e->wmu);
        int rc = run_job(e, j.v, j.n, j.keyed, j.staged);
        pthread_mutex_lock(&e->wmu);
        e->werr = rc;
        e->carry_pending = e->carry != NULL;
        e->completed++;
        pthread_cond_broadcast(&e->dcv);
    }
    pthread_mutex_unlock(&e->wmu);
    return NULL;
}

/* Queues a job for the writer (starting it on first use). Called with amu held. */
static int submit(struct emb *e, struct flow_rec *v, size_t n, bool keyed)
{
    if (!e->wstarted && !e->wsync) {
        int rc = pthread_create(&e->wthread, NULL, writer_main, e);
        if (rc) {
            log_warn("store", "%s: cannot start the writer thread (%s): writing inline", e->dir,
                     strerror(rc));
            e->wsync = true;
        } else {
            e->wstarted = true;
        }
    }
    if (e->wsync) { /* the appender writes, as if the writer had done it at once */
        int rc = run_job(e, v, n, keyed, e->staging);
        pthread_mutex_lock(&e->wmu);
        e->werr = rc;
        e->carry_pending = e->carry != NULL;
        e->submitted++;
        e->completed++;
        pthread_mutex_unlock(&e->wmu);
        return 0;
    }
    pthread_mutex_lock(&e->wmu);
    /* Cannot overflow: at most EMB_WRITE_BUFFERS buffers exist, and a flush queues an empty
     * retry job (v NULL) only when the queue is empty (EMB_QUEUE counts one). */
    e->queue[(e->qhead + e->qlen) % EMB_WRITE_BUFFERS] = (struct emb_job){v, n, keyed, e->staging};
    e->qlen++;
    e->submitted++;
    pthread_cond_signal(&e->wcv);
    pthread_mutex_unlock(&e->wmu);
    return 0;
}

static int emb_flush(struct store *s)
{
    struct emb *e = (struct emb *)s;
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    int rc = 0;
    pthread_mutex_lock(&e->amu);
    if (e->fill && e->n) {
        rc = submit(e, e->fill, e->n, true);
        if (!rc) {
            e->fill = NULL;
            e->n = 0;
        }
    } else {
        pthread_mutex_lock(&e->wmu);
        bool retry = e->carry_pending && !e->qlen;
        pthread_mutex_unlock(&e->wmu);
        if (retry)
            rc = submit(e, NULL, 0, false);
    }
    pthread_mutex_lock(&e->wmu);
    uint64_t target = e->submitted;
    pthread_mutex_unlock(&e->wmu);
    pthread_mutex_unlock(&e->amu);
    if (rc)
        return rc;
    /* Wait without amu: appends go on into the next buffer meanwhile. */
    pthread_mutex_lock(&e->wmu);
    while (e->completed < target)
        pthread_cond_wait(&e->dcv, &e->wmu);
    rc = e->werr;
    pthread_mutex_unlock(&e->wmu);
    return rc;
}

/* Removes the staged temp segments and forgets the staged input. Writer idle. */
static void drop_staged(struct emb *e)
{
    char day[EMB_PATH_MAX], tmp[EMB_PATH_MAX], fin[EMB_PATH_MAX];
    const struct emb_tmpseg *st = e->staged.data;
    for (size_t i = 0; i < e->staged.n; i++)
        if (!emb__segment_paths(e, st[i].pstart, st[i].seq, day, tmp, fin))
            unlink(tmp);
    e->staged.n = 0;
    e->stage_err = 0;
    if (e->stage_exp)
        e->stage_exp->n = e->stage_exp->last = 0;
}

static int emb_begin(struct store *s)
{
    struct emb *e = (struct emb *)s;
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    int rc = emb_flush(s); /* what came before is not part of this input */
    if (rc)
        return rc;
    pthread_mutex_lock(&e->amu);
    e->staging = true;
    e->staged.n = 0;
    e->stage_err = 0;
    if (e->stage_exp)
        e->stage_exp->n = e->stage_exp->last = 0;
    pthread_mutex_unlock(&e->amu);
    return 0;
}

/* Ends staging: waits for every staged job, then commits the staged segments (ok) or removes
 * them. Returns the input's first write error (nothing of it is visible then), or 0. */
static int end_staging(struct emb *e, bool ok)
{
    int rc = emb_flush(&e->base);
    pthread_mutex_lock(&e->amu);
    pthread_mutex_lock(&e->wmu);
    /* The writer is idle: every job submitted was completed by emb_flush. */
    if (!rc)
        rc = e->stage_err;
    e->werr = 0;
    pthread_mutex_unlock(&e->wmu);
    e->staging = false;
    if (!ok || rc) {
        drop_staged(e);
    } else {
        size_t done = emb__commit_segments(e, e->staged.data, e->staged.n, &rc);
        if (done < e->staged.n)
            log_err("store",
                    "%s: commit of an input failed after %zu of %zu segments (%s): "
                    "`botscope store info` shows what is stored",
                    e->dir, done, e->staged.n, bs_strerror(rc));
        if (e->db && e->stage_exp && e->stage_exp->n &&
            statedb_exporter_upsert(e->db, e->stage_exp->v, e->stage_exp->n))
            log_warn("store", "%s/state.db: could not update exporter statistics", e->dir);
        e->staged.n = 0;
        if (e->stage_exp)
            e->stage_exp->n = e->stage_exp->last = 0;
    }
    pthread_mutex_unlock(&e->amu);
    if (ok && !rc && (e->retention_ms || e->max_size)) {
        uint64_t a, b;
        emb_prune_impl(e, clock_wall_ms(), 0, &a, &b);
    }
    return rc;
}

static int emb_commit(struct store *s)
{
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    return end_staging((struct emb *)s, true);
}

static void emb_abort(struct store *s)
{
    if (s->flags & STORE_WRITE)
        end_staging((struct emb *)s, false);
}

static int emb_append(struct store *s, const struct flow_rec *recs, size_t n)
{
    struct emb *e = (struct emb *)s;
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    int rc = 0;
    pthread_mutex_lock(&e->amu);
    while (n) {
        if (!e->fill) {
            if (!(e->fill = take_buffer(e))) {
                rc = BS_ENOMEM;
                break;
            }
            struct exp_acc *x = emb__buf_exporters(e, e->fill);
            x->n = x->last = 0;
        }
        size_t take = e->cap_max - e->n < n ? e->cap_max - e->n : n;
        memcpy(e->fill + e->n, recs, take * sizeof *recs);
        /* the sort keys, from the caller's records (in cache): saves the writer a pass over
         * the whole batch */
        struct emb_key *k = emb__buf_keys(e, e->fill) + e->n;
        struct exp_acc *x = emb__buf_exporters(e, e->fill);
        for (size_t i = 0; i < take; i++) {
            k[i] = (struct emb_key){recs[i].start_ms, (uint32_t)(e->n + i)};
            emb__exp_add(x, &recs[i]);
        }
        e->n += take;
        recs += take;
        n -= take;
        if (e->n == e->cap_max) {
            if ((rc = submit(e, e->fill, e->n, true)))
                break;
            e->fill = NULL;
            e->n = 0;
        }
    }
    pthread_mutex_unlock(&e->amu);
    return rc;
}

static int emb_close(struct store *s)
{
    struct emb *e = (struct emb *)s;
    int rc = 0;
    if (s->flags & STORE_WRITE) {
        if (e->staging) /* closed without store_commit: the input is not stored */
            end_staging(e, false);
        rc = emb_flush(s);
        if (e->wstarted) {
            pthread_mutex_lock(&e->wmu);
            e->wstop = true;
            pthread_cond_signal(&e->wcv);
            pthread_mutex_unlock(&e->wmu);
            pthread_join(e->wthread, NULL);
        }
        if (e->n || e->carry_n)
            log_err("store", "%s: %zu records could not be written", e->dir, e->n + e->carry_n);
        if (e->completed)
            log_info("store",
                     "%s: %llu batches written; appenders waited for the writer %llu "
                     "times, %llu ms in all",
                     e->dir, (unsigned long long)e->completed, (unsigned long long)e->waits,
                     (unsigned long long)e->wait_ms);
    }
    emb_free(e);
    return rc;
}

const struct store_backend store_backend_embedded = {
    .name = "embedded",
    .state = &statedb_backend_sqlite,
    .match = emb_match,
    .open = emb_open,
    .append = emb_append,
    .flush = emb_flush,
    .close = emb_close,
    .scan = emb_scan,
    .info = emb_info,
    .prune = emb_prune,
    .check = emb_check,
    .begin = emb_begin,
    .commit = emb_commit,
    .abort = emb_abort,
};
