/* store_embedded_scan.c - the read side and the upkeep of the embedded store: scans, info,
 * the full check and retention (store_embedded.c has the layout, the write path and the
 * contracts; store_embedded.h the shared handle). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "store/manifest.h"
#include "store/segment.h"
#include "store/seglist.h"
#include "store/store_embedded.h"

/* ---- scan ------------------------------------------------------------------------------ */

struct mapped_seg {
    struct seg seg;
    void *map;
    size_t len;
    char *path;
};

struct scan_job {
    struct emb *e;
    const struct store_scan *sc;
    struct mapped_seg *segs;
    size_t nsegs;
    /* Flattened (segment, block) work list; threads take items with an atomic cursor. */
    uint32_t (*items)[2];
    size_t nitems;
    uint64_t base; /* items of the batches before this one: block seq = base + item */
    atomic_size_t next;
    atomic_int stop;
    pthread_mutex_t stats_lock;
    struct store_scan_stats *st;
    struct seg_scratch *scratch[STORE_SCAN_MAX_THREADS];
};

static void report_corrupt(const struct store_scan *sc, const char *path, unsigned block, int err)
{
    if (sc->on_corrupt) {
        sc->on_corrupt(sc->ctx, path, block, err);
        return;
    }
    if (block == UINT32_MAX)
        log_warn("store", "%s: corrupt segment footer, segment skipped: %s", path,
                 bs_strerror(err));
    else
        log_warn("store", "%s: block %u is corrupt, skipped: %s", path, block, bs_strerror(err));
}

struct scan_thread_arg {
    struct scan_job *job;
    unsigned thread;
    int rc;
};

static void *scan_worker(void *p)
{
    struct scan_thread_arg *a = p;
    struct scan_job *j = a->job;
    const struct store_scan *sc = j->sc;
    struct seg_scratch *scr = j->scratch[a->thread];
    struct store_scan_stats st = {0};
    for (;;) {
        if (atomic_load(&j->stop))
            break;
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->nitems)
            break;
        struct mapped_seg *ms = &j->segs[j->items[k][0]];
        unsigned bi = j->items[k][1];
        const struct store_block_meta *m = &ms->seg.blocks[bi].meta;
        st.blocks_total++;
        if (m->t_max < sc->t_lo || m->t_min > sc->t_hi ||
            (sc->block_pred && !sc->block_pred(sc->ctx, a->thread, m))) {
            st.blocks_skipped++;
            continue;
        }
        struct store_block b;
        int rc = seg_decode_block(&ms->seg, bi, sc->cols, sc->flags, scr, &b, &st.bytes_read);
        if (rc == BS_ENOMEM) {
            a->rc = rc;
            atomic_store(&j->stop, 1);
            break;
        }
        if (rc) {
            st.blocks_corrupt++;
            report_corrupt(sc, ms->path, bi, rc);
            continue;
        }
        st.records_scanned += b.n;
        b.seq = j->base + k;
        rc = sc->on_block(sc->ctx, a->thread, &b);
        if (rc) {
            a->rc = rc;
            atomic_store(&j->stop, 1);
            break;
        }
    }
    pthread_mutex_lock(&j->stats_lock);
    j->st->blocks_total += st.blocks_total;
    j->st->blocks_skipped += st.blocks_skipped;
    j->st->blocks_corrupt += st.blocks_corrupt;
    j->st->records_scanned += st.records_scanned;
    j->st->bytes_read += st.bytes_read;
    pthread_mutex_unlock(&j->stats_lock);
    return NULL;
}

static void unmap_segs(struct mapped_seg *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        seg_release(&v[i].seg);
        if (v[i].map)
            munmap(v[i].map, v[i].len);
        free(v[i].path);
    }
}

/* Maps and parses segment files l[0..n) into job->segs; skips vanished or corrupt files. */
static int map_segs(struct scan_job *j, const struct seg_file *l, size_t n)
{
    j->nsegs = 0;
    j->nitems = 0;
    size_t items_cap = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = open(l[i].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* pruned since listing */
        struct stat st;
        if (fstat(fd, &st) || st.st_size <= 0) {
            close(fd);
            /* (with a manifest, a size change is caught when listing) */
            j->st->segments_damaged++;
            log_warn("store", "%s: empty segment file, skipped", l[i].path);
            continue;
        }
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED)
            continue;
        struct mapped_seg *ms = &j->segs[j->nsegs];
        memset(ms, 0, sizeof *ms);
        ms->map = map;
        ms->len = (size_t)st.st_size;
        if (!(ms->path = strdup(l[i].path))) {
            munmap(map, ms->len);
            return BS_ENOMEM;
        }
        j->nsegs++;
        int rc = seg_parse(&ms->seg, map, ms->len, ms->path);
        if (rc == BS_ENOMEM)
            return rc;
        if (rc) {
            j->st->blocks_corrupt++;
            report_corrupt(j->sc, ms->path, UINT32_MAX, rc);
            continue;
        }
        j->st->segments++;
        for (uint32_t b = 0; b < ms->seg.nblocks; b++) {
            if (j->nitems == items_cap) {
                size_t nc = items_cap ? items_cap * 2 : 1024;
                void *nv = realloc(j->items, nc * sizeof *j->items);
                if (!nv)
                    return BS_ENOMEM;
                j->items = nv;
                items_cap = nc;
            }
            j->items[j->nitems][0] = (uint32_t)(j->nsegs - 1);
            j->items[j->nitems][1] = b;
            j->nitems++;
        }
    }
    return 0;
}

/* Damage found while listing: counted and logged (or told to the caller's report). */
struct damage_acc {
    uint64_t segments, records;
    void (*report)(void *ctx, const char *path, const char *what);
    void *ctx;
};

static void on_damage(void *ctx, const char *path, const char *what, uint64_t records)
{
    struct damage_acc *d = ctx;
    char msg[320];
    if (records)
        snprintf(msg, sizeof msg, "%s (%llu records missing from every answer)", what,
                 (unsigned long long)records);
    else
        snprintf(msg, sizeof msg, "%s", what);
    d->segments++;
    d->records += records;
    if (d->report)
        d->report(d->ctx, path, msg);
    else
        log_warn("store", "%s: %s", path, msg);
}

static int list_checked(const struct emb *e, struct seg_list *l, struct damage_acc *d)
{
    struct seg_damage_sink sink = {on_damage, d};
    return seg_list_dir(e->dir, l, 0, &sink);
}

int emb_scan(struct store *s, const struct store_scan *sc, struct store_scan_stats *st)
{
    struct emb *e = (struct emb *)s;
    struct seg_list l;
    struct damage_acc dmg = {0};
    int rc = list_checked(e, &l, &dmg);
    st->segments_damaged += dmg.segments;
    st->records_missing += dmg.records;
    if (rc)
        return rc;
    unsigned nth = sc->threads ? sc->threads : 1;
    if (nth > STORE_SCAN_MAX_THREADS)
        nth = STORE_SCAN_MAX_THREADS;
    struct scan_job j = {.e = e, .sc = sc, .st = st};
    pthread_mutex_init(&j.stats_lock, NULL);
    j.segs = calloc(EMB_SCAN_BATCH, sizeof *j.segs);
    if (!j.segs) {
        rc = BS_ENOMEM;
        goto out;
    }
    for (unsigned t = 0; t < nth; t++)
        if (!(j.scratch[t] = seg_scratch_new())) {
            rc = BS_ENOMEM;
            goto out;
        }
    /* Keep the segments whose partition meets [t_lo, t_hi]. */
    size_t keep = 0;
    for (size_t i = 0; i < l.n; i++) {
        struct seg_file *f = &l.v[i];
        if (f->start_ms + f->len_ms <= sc->t_lo || f->start_ms > sc->t_hi) {
            free(f->path);
            continue;
        }
        l.v[keep++] = *f;
    }
    l.n = keep;
    for (size_t i = 0; i < l.n && !rc; i += EMB_SCAN_BATCH) {
        size_t m = l.n - i < EMB_SCAN_BATCH ? l.n - i : EMB_SCAN_BATCH;
        rc = map_segs(&j, l.v + i, m);
        if (!rc && j.nitems) {
            atomic_store(&j.next, 0);
            struct scan_thread_arg args[STORE_SCAN_MAX_THREADS];
            pthread_t tid[STORE_SCAN_MAX_THREADS];
            unsigned started = 0;
            unsigned use = nth;
            if (use > j.nitems)
                use = (unsigned)j.nitems;
            for (unsigned t = 0; t < use; t++)
                args[t] = (struct scan_thread_arg){.job = &j, .thread = t};
            for (unsigned t = 1; t < use; t++) {
                if (pthread_create(&tid[t], NULL, scan_worker, &args[t]))
                    break;
                started = t;
            }
            scan_worker(&args[0]);
            for (unsigned t = 1; t <= started; t++)
                pthread_join(tid[t], NULL);
            for (unsigned t = 0; t < use && !rc; t++)
                rc = args[t].rc;
        }
        j.base += j.nitems;
        unmap_segs(j.segs, j.nsegs);
        j.nsegs = 0;
    }
out:
    for (unsigned t = 0; t < nth; t++)
        seg_scratch_free(j.scratch[t]);
    free(j.items);
    free(j.segs);
    pthread_mutex_destroy(&j.stats_lock);
    seg_list_release(&l);
    return rc;
}

/* ---- info / prune ---------------------------------------------------------------------- */

int emb_info(struct store *s, struct store_info *out)
{
    struct emb *e = (struct emb *)s;
    struct seg_list l;
    struct damage_acc dmg = {0};
    int rc = list_checked(e, &l, &dmg);
    if (rc)
        return rc;
    out->segments_damaged = dmg.segments;
    out->records_missing = dmg.records;
    for (size_t i = 0; i < l.n; i++) {
        int fd = open(l.v[i].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        size_t len = (size_t)l.v[i].size;
        void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
        close(fd);
        if (map == MAP_FAILED) {
            if (!len) {
                log_warn("store", "%s: empty segment file", l.v[i].path);
                out->segments_damaged++;
            }
            continue;
        }
        struct seg sg;
        if (!seg_parse(&sg, map, len, l.v[i].path)) {
            out->segments++;
            out->bytes += len;
            out->blocks += sg.nblocks;
            for (uint32_t b = 0; b < sg.nblocks; b++) {
                const struct store_block_meta *m = &sg.blocks[b].meta;
                out->records += m->n;
                if (!out->t_min || m->t_min < out->t_min)
                    out->t_min = m->t_min;
                if (m->t_max > out->t_max)
                    out->t_max = m->t_max;
            }
            seg_release(&sg);
        } else {
            log_warn("store", "%s: corrupt segment footer", l.v[i].path);
            out->segments_damaged++;
            out->records_missing += l.v[i].records;
        }
        munmap(map, len);
    }
    seg_list_release(&l);
    return 0;
}

static void check_report(void (*report)(void *, const char *, const char *), void *ctx,
                         const char *path, const char *what)
{
    if (report)
        report(ctx, path, what);
    else
        log_warn("store", "%s: %s", path, what);
}

int emb_check(struct store *s, void (*report)(void *ctx, const char *path, const char *what),
              void *ctx, struct store_check_stats *st)
{
    struct emb *e = (struct emb *)s;
    struct seg_list l;
    struct damage_acc dmg = {.report = report, .ctx = ctx};
    int rc = list_checked(e, &l, &dmg);
    if (rc)
        return rc;
    st->segments_damaged = dmg.segments;
    st->records_missing = dmg.records;
    struct seg_scratch *sc = seg_scratch_new();
    if (!sc) {
        seg_list_release(&l);
        return BS_ENOMEM;
    }
    char what[160];
    for (size_t i = 0; i < l.n && !rc; i++) {
        struct seg_file *f = &l.v[i];
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        size_t len = (size_t)f->size;
        void *map = fd >= 0 && len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
        if (fd >= 0)
            close(fd);
        struct seg sg;
        int prc = map == MAP_FAILED ? BS_ETRUNC : seg_parse(&sg, map, len, f->path);
        if (prc == BS_ENOMEM) {
            rc = prc;
        } else if (prc) {
            st->segments_damaged++;
            st->records_missing += f->records;
            snprintf(what, sizeof what, "%s: no block can be read",
                     map == MAP_FAILED ? "empty or unreadable segment" : "corrupt segment footer");
            check_report(report, ctx, f->path, what);
        } else {
            st->segments++;
            for (uint32_t b = 0; b < sg.nblocks && !rc; b++) {
                struct store_block blk;
                int brc = seg_decode_block(&sg, b, STORE_COLS_ALL, 0, sc, &blk, NULL);
                st->blocks++;
                if (brc == BS_ENOMEM) {
                    rc = brc;
                } else if (brc) {
                    st->blocks_corrupt++;
                    st->records_missing += sg.blocks[b].meta.n;
                    snprintf(what, sizeof what, "block %u is corrupt (%s): %u records", b,
                             bs_strerror(brc), sg.blocks[b].meta.n);
                    check_report(report, ctx, f->path, what);
                } else {
                    st->records += blk.n;
                }
            }
            seg_release(&sg);
        }
        if (map != MAP_FAILED)
            munmap(map, len);
    }
    seg_scratch_free(sc);
    seg_list_release(&l);
    return rc;
}

static void remove_empty_day_dirs(const char *dir)
{
    char path[EMB_PATH_MAX];
    snprintf(path, sizeof path, "%s/flows", dir);
    DIR *top = opendir(path);
    if (!top)
        return;
    struct dirent *de;
    while ((de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        char day[EMB_PATH_MAX];
        snprintf(day, sizeof day, "%s/flows/%s", dir, de->d_name);
        rmdir(day); /* fails (as wanted) unless empty */
    }
    closedir(top);
}

/* What one prune pass removed for one reason, for its warning. */
struct prune_tally {
    uint64_t segs, bytes, t_lo, t_hi;
};

static void tally(struct prune_tally *t, const struct seg_file *f)
{
    if (!t->segs || f->start_ms < t->t_lo)
        t->t_lo = f->start_ms;
    if (f->start_ms + f->len_ms > t->t_hi)
        t->t_hi = f->start_ms + f->len_ms;
    t->segs++;
    t->bytes += f->size;
}

static void warn_tally(const struct emb *e, const struct prune_tally *t, const char *why)
{
    char a[40], b[40];
    if (t->segs)
        log_warn("store", "%s: %s removed %llu segments (%llu bytes) of flows from %s to %s",
                 e->dir, why, (unsigned long long)t->segs, (unsigned long long)t->bytes,
                 clock_format_utc(t->t_lo, a, sizeof a), clock_format_utc(t->t_hi, b, sizeof b));
}

int emb_prune_impl(struct emb *e, uint64_t now_ms, int size_only, uint64_t *segs, uint64_t *bytes)
{
    struct seg_list l;
    *segs = *bytes = 0;
    int rc = seg_list_dir(e->dir, &l, 0, NULL);
    if (rc)
        return rc;
    uint64_t total = 0;
    for (size_t i = 0; i < l.n; i++)
        total += l.v[i].size;
    /* Older than this by both partition end and write time: removed (see the file comment). */
    uint64_t cut = e->retention_ms && now_ms > e->retention_ms ? now_ms - e->retention_ms : 0;
    struct prune_tally by_age = {0}, by_size = {0};
    /* Which go, and why: 1 age, 2 size. */
    uint8_t *why_del = calloc(l.n ? l.n : 1, 1);
    if (!why_del) {
        seg_list_release(&l);
        return BS_ENOMEM;
    }
    for (size_t i = 0; i < l.n; i++) {
        struct seg_file *f = &l.v[i];
        int age = !size_only && cut && f->start_ms + f->len_ms <= cut && f->mtime_ms <= cut;
        /* oldest first; the newest segment is never removed by size */
        int size = !age && e->max_size && total > e->max_size && i + 1 < l.n;
        if (age || size) {
            why_del[i] = age ? 1 : 2;
            total -= f->size;
        }
    }
    /* Each day's removals are written to its manifest first, then the files go. */
    for (size_t i = 0; i < l.n;) {
        if (!why_del[i]) {
            i++;
            continue;
        }
        const char *slash = strrchr(l.v[i].path, '/');
        size_t dl = (size_t)(slash - l.v[i].path);
        char day[EMB_PATH_MAX];
        snprintf(day, sizeof day, "%.*s", (int)dl, l.v[i].path);
        struct manifest_op ops[64];
        size_t j = i, g = 0;
        while (j < l.n && g < 64 && !strncmp(l.v[j].path, day, dl) && l.v[j].path[dl] == '/') {
            if (why_del[j])
                ops[g++] = (struct manifest_op){l.v[j].path + dl + 1, 0, 0, 1};
            j++;
        }
        if ((rc = manifest_append(day, ops, g))) {
            log_err("store",
                    "%s: cannot record removals in its manifest (%s); nothing removed "
                    "there",
                    day, bs_strerror(rc));
            i = j;
            continue;
        }
        for (; i < j; i++) {
            struct seg_file *f = &l.v[i];
            if (!why_del[i] || unlink(f->path))
                continue;
            (*segs)++;
            *bytes += f->size;
            tally(why_del[i] == 1 ? &by_age : &by_size, f);
            log_info("store", "pruned %s", f->path);
        }
    }
    free(why_del);
    char why[64];
    snprintf(why, sizeof why, "retention (%llu s)", (unsigned long long)(e->retention_ms / 1000));
    warn_tally(e, &by_age, why);
    warn_tally(e, &by_size, "max_size");
    if (*segs)
        remove_empty_day_dirs(e->dir);
    seg_list_release(&l);
    return 0;
}

int emb_prune(struct store *s, uint64_t now_ms, uint64_t *segs, uint64_t *bytes)
{
    return emb_prune_impl((struct emb *)s, now_ms, 0, segs, bytes);
}
