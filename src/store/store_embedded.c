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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "core/fsutil.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "store/manifest.h"
#include "store/segment.h"
#include "store/seglist.h"
#include "store/statedb.h"
#include "store/store_backend.h"

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
    const char *comp = "zstd";
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
    if (strcmp(comp, "zstd") && strcmp(comp, "lz4") && strcmp(comp, "none")) {
        set_err(errbuf, "[store] compression: '%s' is not zstd, lz4 or none", comp);
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
    e->wopts.codec = !strcmp(comp, "zstd")  ? SEG_CODEC_ZSTD
                     : !strcmp(comp, "lz4") ? SEG_CODEC_LZ4
                                            : SEG_CODEC_NONE;
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

/* ---- write path ------------------------------------------------------------------------ */

static int cmp_key(const void *a, const void *b)
{
    const struct emb_key *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts keys[0..n) by t, stably (LSD radix sort on t - min, EMB_RADIX_BITS per pass, only
 * over the digits that vary), using tmp[0..n) as scratch. Records of one batch span seconds to
 * minutes, so two passes usually do; an import spanning years takes four or five. */
#define EMB_RADIX_BITS   11
#define EMB_RADIX_PASSES 6 /* 6 x 11 bits >= 64 */
static void sort_keys(struct emb_key *keys, struct emb_key *tmp, size_t n)
{
    if (n < 2)
        return;
    uint64_t lo = keys[0].t, hi = keys[0].t;
    bool sorted = true;
    for (size_t i = 1; i < n; i++) {
        if (keys[i].t < lo)
            lo = keys[i].t;
        if (keys[i].t > hi)
            hi = keys[i].t;
        if (keys[i].t < keys[i - 1].t)
            sorted = false;
    }
    if (sorted)
        return;
    enum { B = 1u << EMB_RADIX_BITS };
    _Static_assert(EMB_RADIX_BITS * EMB_RADIX_PASSES >= 64, "radix passes cover 64 bits");
    unsigned passes = 0;
    for (uint64_t r = hi - lo; r; r >>= EMB_RADIX_BITS)
        passes++;
    size_t *cnt = calloc((size_t)passes * B, sizeof *cnt);
    if (!cnt) { /* no memory for the counts: a comparison sort in place, slower */
        qsort(keys, n, sizeof *keys, cmp_key);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t d = keys[i].t - lo;
        for (unsigned p = 0; p < passes; p++)
            cnt[(size_t)p * B + ((d >> (p * EMB_RADIX_BITS)) & (B - 1))]++;
    }
    struct emb_key *src = keys, *dst = tmp;
    for (unsigned p = 0; p < passes; p++) {
        size_t *c = cnt + (size_t)p * B, sum = 0;
        bool one = false;
        for (unsigned b = 0; b < B; b++) {
            if (c[b] == n)
                one = true; /* every key has this digit: the pass would change nothing */
            size_t k = c[b];
            c[b] = sum;
            sum += k;
        }
        if (one)
            continue;
        unsigned sh = p * EMB_RADIX_BITS;
        for (size_t i = 0; i < n; i++)
            dst[c[((src[i].t - lo) >> sh) & (B - 1)]++] = src[i];
        struct emb_key *x = src;
        src = dst;
        dst = x;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
    free(cnt);
}

/* Paths of the segment of partition pstart with sequence number seq: its day directory, its
 * temp name while written, its final name. */
static int segment_paths(const struct emb *e, uint64_t pstart, uint64_t seq, char day[EMB_PATH_MAX],
                         char tmp[EMB_PATH_MAX], char fin[EMB_PATH_MAX])
{
    char name[128];
    time_t t = (time_t)(pstart / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(day, EMB_PATH_MAX, "%s/flows/%04d-%02d-%02d", e->dir, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    snprintf(name, sizeof name, "%04d%02d%02dT%02d%02d%02dZ_%llu_%08llu.seg", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned long long)(e->partition_ms / 1000), (unsigned long long)seq);
    if (snprintf(tmp, EMB_PATH_MAX, "%s/.tmp.%s", day, name) >= EMB_PATH_MAX ||
        snprintf(fin, EMB_PATH_MAX, "%s/%s", day, name) >= EMB_PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* Writes recs[order[0..n)] (one partition starting at pstart, ascending start_ms) to the
 * segment's temp file and fsyncs it; the caller renames it (commit_segments). On failure the
 * temp file is removed. */
static int write_temp_segment(struct emb *e, uint64_t pstart, uint64_t seq,
                              const struct flow_rec *recs, const uint32_t *order, size_t n,
                              uint64_t *size)
{
    char day[EMB_PATH_MAX], tmp[EMB_PATH_MAX], fin[EMB_PATH_MAX];
    int rc = segment_paths(e, pstart, seq, day, tmp, fin);
    if (rc || (rc = fsutil_mkdir_p(day)))
        return rc;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        rc = -errno;
        close(fd);
        unlink(tmp);
        return rc;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    uint64_t bytes = 0;
    if (!e->wscratch && !(e->wscratch = seg_wscratch_new()))
        rc = BS_ENOMEM;
    else
        rc = seg_write_ordered(f, recs, order, n, &e->wopts, e->cctx, e->wscratch, &bytes);
    if (!rc && fsync(fd))
        rc = -errno;
    if (fclose(f) && !rc)
        rc = errno ? -errno : BS_EIO;
    if (rc)
        unlink(tmp);
    *size = bytes;
    return rc;
}

/* Commits the temp segments t[0..k) (time order), one day directory at a time: their lines
 * are appended to the day's manifest (the commit point, manifest.h), then they are renamed to
 * their final names one right after the other and the directory is fsynced. Returns how many
 * were committed; on a failure the temp files not committed are removed and *rc set. */
static size_t commit_segments(struct emb *e, const struct emb_tmpseg *t, size_t k, int *rc)
{
    char day[EMB_PATH_MAX], tmp[EMB_PATH_MAX], fin[EMB_PATH_MAX], d2[EMB_PATH_MAX];
    char names[64][MANIFEST_NAME_MAX];
    struct manifest_op ops[64];
    size_t i = 0;
    while (i < k && !*rc) {
        /* One group: the segments of one day, at most 64 (one manifest append each). */
        if ((*rc = segment_paths(e, t[i].pstart, t[i].seq, day, tmp, fin)))
            break;
        size_t j = i, g = 0;
        while (j < k && g < 64) {
            if (segment_paths(e, t[j].pstart, t[j].seq, d2, tmp, fin) || strcmp(d2, day))
                break;
            snprintf(names[g], sizeof names[g], "%s", strrchr(fin, '/') + 1);
            ops[g] = (struct manifest_op){names[g], t[j].size, t[j].records, 0};
            g++;
            j++;
        }
        if ((*rc = manifest_append(day, ops, g)))
            break;
        for (; i < j; i++) {
            segment_paths(e, t[i].pstart, t[i].seq, d2, tmp, fin);
            if (rename(tmp, fin)) {
                /* Listed but not in place: the next writer renames it (seg_reconcile). */
                *rc = -errno;
                log_err("store", "%s: rename failed after commit: %s", fin, bs_strerror(*rc));
            }
        }
        seg_fsync_dir(day);
    }
    for (size_t j = i; j < k; j++)
        if (segment_paths(e, t[j].pstart, t[j].seq, day, tmp, fin) == 0)
            unlink(tmp);
    return i;
}

struct exp_acc {
    struct statedb_exporter v[EMB_MAX_EXPORTERS_PER_FLUSH];
    size_t n, last;
};

static void exp_add(struct exp_acc *a, const struct flow_rec *r)
{
    /* Records of one exporter tend to come in runs: try the last one used first. */
    size_t i = a->last;
    if (i >= a->n || ipaddr_cmp(&a->v[i].addr, &r->exporter))
        for (i = 0; i < a->n; i++)
            if (!ipaddr_cmp(&a->v[i].addr, &r->exporter))
                break;
    a->last = i;
    if (i == a->n) {
        if (a->n == EMB_MAX_EXPORTERS_PER_FLUSH)
            return;
        memset(&a->v[i], 0, sizeof a->v[i]);
        a->v[i].addr = r->exporter;
        a->v[i].first_ms = r->start_ms;
        a->v[i].last_ms = r->end_ms > r->start_ms ? r->end_ms : r->start_ms;
        a->n++;
    }
    struct statedb_exporter *x = &a->v[i];
    if (r->start_ms < x->first_ms)
        x->first_ms = r->start_ms;
    if (r->end_ms > x->last_ms)
        x->last_ms = r->end_ms;
    if (r->start_ms > x->last_ms)
        x->last_ms = r->start_ms;
    x->flows++;
    x->packets += r->packets;
    x->bytes += r->bytes;
    x->sampling_rate = r->sampling_rate;
    x->version = r->version;
}

/* Exporter statistics of the records of r[0..n) that start before t_end (the ones written)
 * into the state database. When the whole batch was written and the appenders summarised it
 * (pre: the buffer's exp_acc, built in arrival order as the records came), that summary is
 * used as it is; otherwise one sequential pass in arrival order, where runs of one exporter
 * are long, rather than per segment in time order. Both give the same summary. */
static void update_exporters(struct emb *e, const struct flow_rec *r, size_t n, uint64_t t_end,
                             const struct exp_acc *pre)
{
    if (!e->db || !n)
        return;
    if (pre && t_end == UINT64_MAX) {
        if (pre->n && statedb_exporter_upsert(e->db, pre->v, pre->n))
            log_warn("store", "%s/state.db: could not update exporter statistics", e->dir);
        return;
    }
    struct exp_acc *a = malloc(sizeof *a);
    if (!a)
        return;
    a->n = a->last = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].start_ms < t_end)
            exp_add(a, &r[i]);
    if (!a->n) {
        free(a);
        return;
    }
    if (statedb_exporter_upsert(e->db, a->v, a->n))
        log_warn("store", "%s/state.db: could not update exporter statistics", e->dir);
    free(a);
}

/* A write buffer is one allocation: cap_max records, their cap_max sort keys, and the
 * exporter summary of the records appended (filled by store_append while each record is in
 * cache, so the writer needs no pass over the whole batch for either). */
static size_t buf_bytes(const struct emb *e)
{
    return e->cap_max * (sizeof(struct flow_rec) + sizeof(struct emb_key)) + sizeof(struct exp_acc);
}

static struct emb_key *buf_keys(const struct emb *e, struct flow_rec *v)
{
    return (struct emb_key *)(void *)(v + e->cap_max);
}

static struct exp_acc *buf_exporters(const struct emb *e, struct flow_rec *v)
{
    return (struct exp_acc *)(void *)(buf_keys(e, v) + e->cap_max);
}

/* Makes sure the writer's sort scratch holds n keys. */
static int reserve_keys(struct emb *e, size_t n)
{
    int rc = vec_reserve(&e->keys_tmp, n);
    return rc ? rc : vec_reserve(&e->order, n);
}

/* Writes the batch v[0..*n) as one segment per partition (writer thread). The records are
 * never moved to be sorted: their (start_ms, index) key array (buf_keys; filled by the
 * appenders when keyed, else here) is sorted and each segment gathers its records through it. Every
 * segment is written to a temp file first; they are renamed together at the end. On failure the
 * segments before the failed partition are still committed, the records not written (those of the
 * failed partition and later ones) are moved to the front of v, in arrival order, and *n says how
 * many. */
static int stage_segments(struct emb *e, const struct flow_rec *v, size_t cnt, size_t k,
                          const struct exp_acc *pre);

static int write_batch(struct emb *e, struct flow_rec *v, size_t *n, bool keyed, bool staged)
{
    size_t cnt = *n;
    if (!cnt)
        return 0;
    int rc = reserve_keys(e, cnt);
    if (rc)
        return rc;
    struct emb_key *keys = buf_keys(e, v);
    if (!keyed)
        for (size_t i = 0; i < cnt; i++)
            keys[i] = (struct emb_key){v[i].start_ms, (uint32_t)i};
    sort_keys(keys, e->keys_tmp.data, cnt);
    uint32_t *order = e->order.data;
    for (size_t i = 0; i < cnt; i++)
        order[i] = keys[i].i;
    /* One temp segment per partition, then all renamed together (commit_segments). */
    size_t done = 0, k = 0;
    uint64_t t_fail = UINT64_MAX; /* records from this start time on are not written */
    while (done < cnt) {
        uint64_t pstart = keys[done].t / e->partition_ms * e->partition_ms;
        size_t end = done + 1;
        while (end < cnt && keys[end].t < pstart + e->partition_ms)
            end++;
        if ((rc = vec_reserve(&e->tmps, k + 1))) {
            t_fail = pstart;
            break;
        }
        e->tmps.n = k + 1;
        struct emb_tmpseg *ts = VEC_AT(&e->tmps, struct emb_tmpseg, k);
        *ts = (struct emb_tmpseg){pstart, e->seq++, 0, end - done};
        if ((rc = write_temp_segment(e, pstart, ts->seq, v, order + done, end - done, &ts->size))) {
            t_fail = pstart;
            break;
        }
        k++;
        done = end;
    }
    if (staged) {
        /* Nothing becomes visible before store_commit; a failure fails the whole input. */
        if (!rc)
            rc = stage_segments(e, v, cnt, k, keyed ? buf_exporters(e, v) : NULL);
        else
            stage_segments(e, v, 0, k, NULL); /* so that the abort removes them */
        if (!rc)
            *n = 0;
        return rc;
    }
    size_t committed = commit_segments(e, e->tmps.data, k, &rc);
    if (committed < k)
        t_fail = VEC_AT(&e->tmps, struct emb_tmpseg, committed)->pstart;
    update_exporters(e, v, cnt, t_fail, keyed ? buf_exporters(e, v) : NULL);
    if (t_fail == UINT64_MAX) {
        *n = 0;
        return 0;
    }
    /* Partitions are committed in time order: exactly the records from t_fail on are left. */
    size_t left = 0;
    for (size_t i = 0; i < cnt; i++)
        if (v[i].start_ms >= t_fail) {
            if (left != i)
                v[left] = v[i];
            left++;
        }
    *n = left;
    return rc;
}

/* Adds one exporter's summary x to a. */
static void exp_merge(struct exp_acc *a, const struct statedb_exporter *x)
{
    size_t i = 0;
    while (i < a->n && ipaddr_cmp(&a->v[i].addr, &x->addr))
        i++;
    if (i == a->n) {
        if (a->n == EMB_MAX_EXPORTERS_PER_FLUSH)
            return;
        a->v[a->n++] = *x;
        return;
    }
    struct statedb_exporter *y = &a->v[i];
    if (x->first_ms < y->first_ms)
        y->first_ms = x->first_ms;
    if (x->last_ms > y->last_ms)
        y->last_ms = x->last_ms;
    y->flows += x->flows;
    y->packets += x->packets;
    y->bytes += x->bytes;
    y->sampling_rate = x->sampling_rate;
    y->version = x->version;
}

/* Staging: keeps the temp segments e->tmps[0..k) for store_commit, and adds the exporters of
 * v[0..cnt) (pre: their summary, when the appenders made one) to the staged summary. */
static int stage_segments(struct emb *e, const struct flow_rec *v, size_t cnt, size_t k,
                          const struct exp_acc *pre)
{
    const struct emb_tmpseg *tmps = e->tmps.data;
    int rc = vec_reserve(&e->staged, e->staged.n + k);
    if (rc) {
        /* cannot keep track of them: remove them now */
        for (size_t i = 0; i < k; i++) {
            char day[EMB_PATH_MAX], tmp[EMB_PATH_MAX], fin[EMB_PATH_MAX];
            if (!segment_paths(e, tmps[i].pstart, tmps[i].seq, day, tmp, fin))
                unlink(tmp);
        }
        return rc;
    }
    memcpy(VEC_AT(&e->staged, struct emb_tmpseg, e->staged.n), tmps, k * sizeof *tmps);
    e->staged.n += k;
    if (!cnt || !e->db)
        return 0;
    if (!e->stage_exp && !(e->stage_exp = calloc(1, sizeof *e->stage_exp)))
        return BS_ENOMEM;
    if (pre) {
        for (size_t i = 0; i < pre->n; i++)
            exp_merge(e->stage_exp, &pre->v[i]);
        return 0;
    }
    struct exp_acc *a = malloc(sizeof *a);
    if (!a)
        return BS_ENOMEM;
    a->n = a->last = 0;
    for (size_t i = 0; i < cnt; i++)
        exp_add(a, &v[i]);
    for (size_t i = 0; i < a->n; i++)
        exp_merge(e->stage_exp, &a->v[i]);
    free(a);
    return 0;
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
    if (!b && !(b = malloc(buf_bytes(e)))) {
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
        if (v && !rc && (rc = write_batch(e, v, &n, keyed, true))) {
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
    int rc = write_batch(e, v, &n, keyed, false);
    if (rc && e->max_size) {
        uint64_t a, b;
        emb_prune_impl(e, clock_wall_ms(), 1, &a, &b);
        /* the keys were sorted, and a partial write moved the records left */
        rc = write_batch(e, v, &n, false, false);
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
        if (!segment_paths(e, st[i].pstart, st[i].seq, day, tmp, fin))
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
        size_t done = commit_segments(e, e->staged.data, e->staged.n, &rc);
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
            struct exp_acc *x = buf_exporters(e, e->fill);
            x->n = x->last = 0;
        }
        size_t take = e->cap_max - e->n < n ? e->cap_max - e->n : n;
        memcpy(e->fill + e->n, recs, take * sizeof *recs);
        /* the sort keys, from the caller's records (in cache): saves the writer a pass over
         * the whole batch */
        struct emb_key *k = buf_keys(e, e->fill) + e->n;
        struct exp_acc *x = buf_exporters(e, e->fill);
        for (size_t i = 0; i < take; i++) {
            k[i] = (struct emb_key){recs[i].start_ms, (uint32_t)(e->n + i)};
            exp_add(x, &recs[i]);
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
