/* seglist.c - listing the segment files of an embedded store, checked against the per-day
 * manifests, and the writer's reconciliation on open (seglist.h). */
#include "store/seglist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/manifest.h"
#include "store/segment.h"

#define SEGLIST_PATH_MAX 4096

void seg_list_release(struct seg_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int seg_parse_name(const char *name, uint64_t *start_ms, uint64_t *len_ms, uint64_t *seq)
{
    int y, mo, d, h, mi, s, n = 0;
    unsigned long long p, q;
    if (sscanf(name, "%4d%2d%2dT%2d%2d%2dZ_%llu_%llu.seg%n", &y, &mo, &d, &h, &mi, &s, &p, &q,
               &n) != 8 ||
        name[n] != '\0')
        return BS_EPARSE;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || p == 0)
        return BS_EPARSE;
    *start_ms = (uint64_t)t * 1000u;
    *len_ms = (uint64_t)p * 1000u;
    *seq = q;
    return 0;
}

int seg_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

static int cmp_seg_file(const void *a, const void *b)
{
    const struct seg_file *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(base_name(((const struct seg_file *)a)->path),
                  base_name(((const struct seg_file *)b)->path));
}

static void damage(const struct seg_damage_sink *sink, const char *path, const char *what,
                   uint64_t records)
{
    if (sink && sink->report)
        sink->report(sink->ctx, path, what, records);
}

static int exists(const char *day, const char *prefix, const char *name)
{
    char p[SEGLIST_PATH_MAX];
    struct stat st;
    return snprintf(p, sizeof p, "%s/%s%s", day, prefix, name) < (int)sizeof p && !stat(p, &st);
}

/* Checks the files v[0..*n) of one day against its manifest: fills their record counts, drops
 * (and frees) the ones not to be read, reports damage. Returns 0 or BS_ENOMEM-like errors. */
static int check_day(const char *day, struct seg_file *v, size_t *n,
                     const struct seg_damage_sink *sink)
{
    struct manifest m;
    char what[160];
    int rc = manifest_load(day, &m);
    if (rc == -ENOENT) {
        if (*n)
            damage(sink, day,
                   "no MANIFEST: its segments cannot be checked (a store from an older "
                   "botscope? any writer opening the store writes one)",
                   0);
        return 0;
    }
    if (rc == BS_ENOMEM)
        return rc;
    if (rc) {
        snprintf(what, sizeof what, "MANIFEST unreadable (%s): segments read unchecked",
                 bs_strerror(rc));
        damage(sink, day, what, 0);
        return 0;
    }
    if (m.bad_lines) {
        snprintf(what, sizeof what,
                 "MANIFEST has %u damaged lines (first: line %u): segments they named may be "
                 "reported as unlisted",
                 m.bad_lines, m.first_bad_line);
        damage(sink, day, what, 0);
    }
    /* Files present: listed with the size committed, or left out. */
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        struct seg_file *f = &v[i];
        const struct manifest_entry *e = manifest_find(&m, base_name(f->path));
        int keep = 1;
        if (!e) {
            damage(sink, f->path,
                   "segment not in the MANIFEST (a copy or duplicate?): left out of answers", 0);
            keep = 0;
        } else if (e->removed) {
            keep = 0; /* being removed by retention */
        } else if (e->size != f->size) {
            snprintf(what, sizeof what,
                     "%llu bytes, %llu committed (truncated or changed): "
                     "left out of answers",
                     (unsigned long long)f->size, (unsigned long long)e->size);
            damage(sink, f->path, what, e->records);
            keep = 0;
        } else {
            f->records = e->records;
            if (e->twice)
                damage(sink, f->path, "named twice in the MANIFEST (read once)", 0);
        }
        if (keep)
            v[w++] = *f;
        else
            free(f->path);
    }
    *n = w;
    /* Committed segments whose file is gone: missing unless being renamed right now, or
     * committed after this listing was taken. */
    if (w > 1)
        qsort(v, w, sizeof *v, cmp_by_name);
    for (size_t i = 0; i < m.n; i++) {
        const struct manifest_entry *e = &m.v[i];
        if (e->removed)
            continue;
        char name[MANIFEST_NAME_MAX];
        memcpy(name, e->name, sizeof name);
        struct seg_file key = {.path = name};
        if (bsearch(&key, v, w, sizeof *v, cmp_by_name))
            continue;
        /* the files left out above were reported already */
        if (exists(day, "", e->name) || exists(day, ".tmp.", e->name))
            continue;
        char p[SEGLIST_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", day, e->name);
        damage(sink, p, "committed segment missing", e->records);
    }
    manifest_release(&m);
    return 0;
}

static int push_file(struct seg_list *out, const struct seg_file *sf)
{
    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 64;
        struct seg_file *nv = realloc(out->v, nc * sizeof *nv);
        if (!nv)
            return BS_ENOMEM;
        out->v = nv;
        out->cap = nc;
    }
    out->v[out->n++] = *sf;
    return 0;
}

static int list_day(const char *day, struct seg_list *out, int clean_tmp,
                    const struct seg_damage_sink *sink)
{
    DIR *dd = opendir(day);
    if (!dd)
        return 0;
    size_t first = out->n;
    int rc = 0;
    struct dirent *fe;
    while (!rc && (fe = readdir(dd))) {
        char fp[SEGLIST_PATH_MAX];
        if (snprintf(fp, sizeof fp, "%s/%s", day, fe->d_name) >= (int)sizeof fp)
            continue;
        if (!strncmp(fe->d_name, ".tmp.", 5)) {
            if (clean_tmp) {
                log_warn("store", "removing incomplete file %s left by an interrupted writer", fp);
                unlink(fp);
            }
            continue;
        }
        struct seg_file sf = {0};
        if (seg_parse_name(fe->d_name, &sf.start_ms, &sf.len_ms, &sf.seq))
            continue;
        struct stat st;
        if (stat(fp, &st) || !S_ISREG(st.st_mode))
            continue;
        sf.size = (uint64_t)st.st_size;
        sf.mtime_ms = (uint64_t)st.st_mtim.tv_sec * 1000u + (uint64_t)st.st_mtim.tv_nsec / 1000000u;
        if (!(sf.path = strdup(fp)))
            rc = BS_ENOMEM;
        else if ((rc = push_file(out, &sf)))
            free(sf.path);
    }
    closedir(dd);
    if (!rc && sink) {
        size_t k = out->n - first;
        rc = check_day(day, out->v + first, &k, sink);
        out->n = first + k;
    }
    return rc;
}

int seg_list_dir(const char *dir, struct seg_list *out, int clean_tmp,
                 const struct seg_damage_sink *sink)
{
    char path[SEGLIST_PATH_MAX];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/flows", dir);
    DIR *top = opendir(path);
    if (!top)
        return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        char day[SEGLIST_PATH_MAX];
        if (snprintf(day, sizeof day, "%s/flows/%s", dir, de->d_name) >= (int)sizeof day)
            continue;
        rc = list_day(day, out, clean_tmp, sink);
    }
    closedir(top);
    if (rc) {
        seg_list_release(out);
        return rc;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_seg_file);
    return 0;
}

/* Records in the segment file at path, from its footer (0 when it cannot be read). */
static uint64_t footer_records(const char *path, uint64_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return 0;
    uint64_t n = 0;
    struct seg sg;
    if (!seg_parse(&sg, map, (size_t)size, path)) {
        for (uint32_t b = 0; b < sg.nblocks; b++)
            n += sg.blocks[b].meta.n;
        seg_release(&sg);
    }
    munmap(map, (size_t)size);
    return n;
}

/* A day without manifest: one listing everything there (the store predates manifests). */
static int write_legacy_manifest(const char *day)
{
    struct seg_list l = {0};
    int rc = list_day(day, &l, 0, NULL);
    if (rc || !l.n) {
        seg_list_release(&l);
        return rc;
    }
    struct manifest_op *ops = calloc(l.n, sizeof *ops);
    if (!ops) {
        seg_list_release(&l);
        return BS_ENOMEM;
    }
    for (size_t i = 0; i < l.n; i++)
        ops[i] = (struct manifest_op){base_name(l.v[i].path), l.v[i].size,
                                      footer_records(l.v[i].path, l.v[i].size), 0};
    rc = manifest_append(day, ops, l.n);
    if (!rc)
        log_warn("store", "%s: wrote a MANIFEST for its %zu segments (written before manifests)",
                 day, l.n);
    free(ops);
    seg_list_release(&l);
    return rc;
}

static int reconcile_day(const char *day)
{
    struct manifest m;
    int rc = manifest_load(day, &m);
    if (rc == -ENOENT)
        return write_legacy_manifest(day);
    if (rc) {
        log_warn("store", "%s/%s: %s; left as it is (see `botscope store check`)", day,
                 MANIFEST_FILE, bs_strerror(rc));
        return 0;
    }
    size_t removed = 0;
    for (size_t i = 0; i < m.n; i++) {
        struct manifest_entry *e = &m.v[i];
        char fin[SEGLIST_PATH_MAX], tmp[SEGLIST_PATH_MAX];
        if (snprintf(fin, sizeof fin, "%s/%s", day, e->name) >= (int)sizeof fin ||
            snprintf(tmp, sizeof tmp, "%s/.tmp.%s", day, e->name) >= (int)sizeof tmp)
            continue;
        struct stat st;
        if (e->removed) {
            removed++;
            if (!unlink(fin))
                log_info("store", "finished removing %s", fin);
            continue;
        }
        if (stat(fin, &st) && !stat(tmp, &st) && (uint64_t)st.st_size == e->size) {
            if (!rename(tmp, fin))
                log_warn("store", "%s: committed before an interruption; renamed into place", fin);
        }
    }
    if (removed && !m.bad_lines)
        rc = manifest_rewrite(day, &m);
    manifest_release(&m);
    return rc;
}

int seg_reconcile(const char *dir)
{
    char path[SEGLIST_PATH_MAX];
    snprintf(path, sizeof path, "%s/flows", dir);
    DIR *top = opendir(path);
    if (!top)
        return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        char day[SEGLIST_PATH_MAX];
        if (snprintf(day, sizeof day, "%s/flows/%s", dir, de->d_name) >= (int)sizeof day)
            continue;
        struct stat st;
        if (stat(day, &st) || !S_ISDIR(st.st_mode))
            continue;
        rc = reconcile_day(day);
    }
    closedir(top);
    return rc;
}
