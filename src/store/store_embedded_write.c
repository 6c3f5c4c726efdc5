/* store_embedded_write.c - the embedded store's batch writing (run by its writer thread):
 * the radix sort of a batch's keys, one temp segment per partition, the manifest commit and
 * renames, the exporter summaries for the state database, staging for store_commit (see
 * store_embedded.c for the layout and the policies, store_embedded.h for the shared state). */
#include "store/store_embedded.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "core/fsutil.h"
#include "core/err.h"
#include "core/log.h"
#include "store/manifest.h"
#include "store/seglist.h"

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
int emb__segment_paths(const struct emb *e, uint64_t pstart, uint64_t seq, char day[EMB_PATH_MAX],
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
    int rc = emb__segment_paths(e, pstart, seq, day, tmp, fin);
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
size_t emb__commit_segments(struct emb *e, const struct emb_tmpseg *t, size_t k, int *rc)
{
    char day[EMB_PATH_MAX], tmp[EMB_PATH_MAX], fin[EMB_PATH_MAX], d2[EMB_PATH_MAX];
    char names[64][MANIFEST_NAME_MAX];
    struct manifest_op ops[64];
    size_t i = 0;
    while (i < k && !*rc) {
        /* One group: the segments of one day, at most 64 (one manifest append each). */
        if ((*rc = emb__segment_paths(e, t[i].pstart, t[i].seq, day, tmp, fin)))
            break;
        size_t j = i, g = 0;
        while (j < k && g < 64) {
            if (emb__segment_paths(e, t[j].pstart, t[j].seq, d2, tmp, fin) || strcmp(d2, day))
                break;
            snprintf(names[g], sizeof names[g], "%s", strrchr(fin, '/') + 1);
            ops[g] = (struct manifest_op){names[g], t[j].size, t[j].records, 0};
            g++;
            j++;
        }
        if ((*rc = manifest_append(day, ops, g)))
            break;
        for (; i < j; i++) {
            emb__segment_paths(e, t[i].pstart, t[i].seq, d2, tmp, fin);
            if (rename(tmp, fin)) {
                /* Listed but not in place: the next writer renames it (seg_reconcile). */
                *rc = -errno;
                log_err("store", "%s: rename failed after commit: %s", fin, bs_strerror(*rc));
            }
        }
        seg_fsync_dir(day);
    }
    for (size_t j = i; j < k; j++)
        if (emb__segment_paths(e, t[j].pstart, t[j].seq, day, tmp, fin) == 0)
            unlink(tmp);
    return i;
}

void emb__exp_add(struct exp_acc *a, const struct flow_rec *r)
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
            emb__exp_add(a, &r[i]);
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
size_t emb__buf_bytes(const struct emb *e)
{
    return e->cap_max * (sizeof(struct flow_rec) + sizeof(struct emb_key)) + sizeof(struct exp_acc);
}

struct emb_key *emb__buf_keys(const struct emb *e, struct flow_rec *v)
{
    return (struct emb_key *)(void *)(v + e->cap_max);
}

struct exp_acc *emb__buf_exporters(const struct emb *e, struct flow_rec *v)
{
    return (struct exp_acc *)(void *)(emb__buf_keys(e, v) + e->cap_max);
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

int emb__write_batch(struct emb *e, struct flow_rec *v, size_t *n, bool keyed, bool staged)
{
    size_t cnt = *n;
    if (!cnt)
        return 0;
    int rc = reserve_keys(e, cnt);
    if (rc)
        return rc;
    struct emb_key *keys = emb__buf_keys(e, v);
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
            rc = stage_segments(e, v, cnt, k, keyed ? emb__buf_exporters(e, v) : NULL);
        else
            stage_segments(e, v, 0, k, NULL); /* so that the abort removes them */
        if (!rc)
            *n = 0;
        return rc;
    }
    size_t committed = emb__commit_segments(e, e->tmps.data, k, &rc);
    if (committed < k)
        t_fail = VEC_AT(&e->tmps, struct emb_tmpseg, committed)->pstart;
    update_exporters(e, v, cnt, t_fail, keyed ? emb__buf_exporters(e, v) : NULL);
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
            if (!emb__segment_paths(e, tmps[i].pstart, tmps[i].seq, day, tmp, fin))
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
        emb__exp_add(a, &v[i]);
    for (size_t i = 0; i < a->n; i++)
        exp_merge(e->stage_exp, &a->v[i]);
    free(a);
    return 0;
}
