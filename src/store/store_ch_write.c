/* store_ch_write.c - the ClickHouse writer: insert units, bounded queue, on-disk spool,
 * one writer thread, and inserts that land exactly once (see store_ch.h).
 *
 * Insert units. Appended records are encoded as RowBinary rows into open units, one per UTC
 * day (at most CH_OPEN_DAYS open at once), each with a random 64-bit id stored in every row's
 * `unit` column. A unit is closed at unit_records rows or by a flush. One unit = one day = one
 * partition, sent as one INSERT whose rows fit in one block (ch_insert raises
 * max_insert_block_size above the cap), so ClickHouse 18.16 writes it as exactly one part,
 * renamed into the table atomically: after any failure the unit is either wholly in the table
 * or wholly absent. That is what makes retries safe without the deduplication of replicated
 * tables (18.16 has it only there, and it needs ZooKeeper).
 *
 * Exactly once. A unit whose insert failed in any way (refused, reset, timed out: the last
 * may still have landed) goes to the spool. Before a spooled unit is sent, the writer waits
 * until no query with the unit's query_id ("bs-<id>") runs on the server (a timed-out insert
 * may still be running), then counts the rows of that unit in its day's partition: all of
 * them means it landed (the file is deleted), none means it is sent again; anything else
 * cannot happen with single-part inserts and is kept aside as *.bad and reported.
 *
 * Back-pressure without blocking. store_append only encodes into memory. A closed unit goes
 * to the in-memory queue (queue_units deep); when that is full (server slow or down) the
 * appending thread compresses it into the spool instead, so receiving never waits on the
 * network, only on a local file write when the server has fallen behind. Past spool_max
 * bytes units are refused (BS_ELIMIT, counted as lost by the collector) rather than filling
 * the disk. While the server is down the writer moves queued units to the spool, pings with
 * a backoff (100 ms doubling to 5 s), and drains the spool (oldest first) once it answers.
 * The spool survives restarts: the next writer opening the same spool directory sends it.
 *
 * Flush. store_flush closes the open units and waits until every unit closed before it is
 * in ClickHouse or in the spool (durable either way): at most one request timeout, never the
 * server's whole downtime. Close waits up to close_wait_ms for the spool to drain.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define ZLIB_CONST /* next_in is const */
#include <zlib.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "store/store_ch.h"

#define CH_OPEN_DAYS 4
#define CH_UNIT_MAX  1000000
#define SPOOL_MAGIC  "BSCHSP1"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

struct unit {
    uint64_t id, day, n;
    uint8_t *rows; /* n * CH_ROW_BYTES */
    size_t cap;
    struct unit *next;
};

struct ch_writer {
    struct ch_writer_cfg cfg;
    struct ch_conn conn; /* the writer thread's */
    char db[CH_DB_MAX + 1];
    int lock_fd;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t wake, settled_cv;
    struct unit *open[CH_OPEN_DAYS];
    struct unit *qhead, *qtail;
    size_t qlen;
    uint64_t closed, settled; /* units closed / sent or spooled */
    uint64_t spool_seq, spool_files, spool_bytes;
    bool down, stopping;
    int err; /* first unreportable error (a spool write that failed) */
};

/* ---- encoding ----------------------------------------------------------------------- */

static inline uint8_t *put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + bytes;
}

void ch_row_encode(const struct flow_rec *r, uint64_t unit, uint8_t *p)
{
    p = put_le(p, r->start_ms, 8);
    p = put_le(p, r->end_ms, 8);
    p = put_le(p, r->packets, 8);
    p = put_le(p, r->bytes, 8);
    memcpy(p, r->src.b, 16);
    memcpy(p + 16, r->dst.b, 16);
    memcpy(p + 32, r->exporter.b, 16);
    memcpy(p + 48, r->nexthop.b, 16);
    p += 64;
    p = put_le(p, r->sampling_rate, 4);
    p = put_le(p, r->obs_domain, 4);
    p = put_le(p, r->in_if, 4);
    p = put_le(p, r->out_if, 4);
    p = put_le(p, r->src_as, 4);
    p = put_le(p, r->dst_as, 4);
    p = put_le(p, r->src_port, 2);
    p = put_le(p, r->dst_port, 2);
    p = put_le(p, r->vlan, 2);
    p = put_le(p, r->has, 2);
    *p++ = r->proto;
    *p++ = r->tcp_flags;
    *p++ = r->tos;
    *p++ = r->version;
    *p++ = r->direction;
    *p++ = r->src_mask;
    *p++ = r->dst_mask;
    put_le(p, unit, 8);
}

/* gzip (level 1: the wire is loopback or a LAN; CPU matters more than bytes). Returns 0 and a
 * malloc'd *out, or BS_ENOMEM / BS_EIO. */
static int gz(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return BS_ENOMEM;
    size_t cap = deflateBound(&z, (uLong)len);
    uint8_t *o = malloc(cap);
    if (!o) {
        deflateEnd(&z);
        return BS_ENOMEM;
    }
    z.next_in = (z_const Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(o);
        return BS_EIO;
    }
    *out = o;
    return 0;
}

static void unit_free(struct unit *u)
{
    if (u) {
        free(u->rows);
        free(u);
    }
}

static struct unit *unit_new(uint64_t day, size_t cap)
{
    struct unit *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->day = day;
    u->cap = cap < 1024 ? cap : 1024;
    u->rows = malloc(u->cap * CH_ROW_BYTES);
    if (!u->rows || getrandom(&u->id, sizeof u->id, 0) != (ssize_t)sizeof u->id) {
        unit_free(u);
        return NULL;
    }
    return u;
}

/* ---- spool -------------------------------------------------------------------------- */

/* File: magic[8], id, day, n, gzip length (little-endian u64 each), gzip'd RowBinary rows.
 * Written to a temporary name, fsynced, renamed: a spool file is whole or absent. */
static int spool_write(struct ch_writer *w, uint64_t id, uint64_t day, uint64_t n, const uint8_t *z,
                       size_t zl)
{
    if (w->spool_bytes + zl > w->cfg.spool_max) {
        log_err("clickhouse",
                "spool %s is full (%" PRIu64 " bytes, [clickhouse] spool_max): "
                "%" PRIu64 " flows dropped",
                w->cfg.spool_dir, w->spool_bytes, n);
        return BS_ELIMIT;
    }
    char tmp[1400], path[1380];
    uint64_t seq = ++w->spool_seq;
    snprintf(path, sizeof path, "%s/%020" PRIu64 "-%016" PRIx64 ".spool", w->cfg.spool_dir, seq,
             id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    uint8_t hdr[40];
    memcpy(hdr, SPOOL_MAGIC, 8);
    put_le(put_le(put_le(put_le(hdr + 8, id, 8), day, 8), n, 8), zl, 8);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr || write(fd, z, zl) != (ssize_t)zl ||
        fsync(fd))
        rc = errno ? -errno : -EIO;
    close(fd);
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    w->spool_files++;
    w->spool_bytes += zl;
    return 0;
}

static int spool_unit(struct ch_writer *w, struct unit *u)
{
    uint8_t *z;
    size_t zl;
    int rc = gz(u->rows, u->n * CH_ROW_BYTES, &z, &zl);
    if (!rc) {
        rc = spool_write(w, u->id, u->day, u->n, z, zl);
        free(z);
    }
    return rc;
}

/* Oldest spool file name (lowest sequence) into name; false when none. */
static bool spool_oldest(const char *dir, char name[256])
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 7 || l >= 256 || strcmp(e->d_name + l - 6, ".spool"))
            continue;
        if (!found || strcmp(e->d_name, name) < 0) {
            memcpy(name, e->d_name, l + 1);
            found = true;
        }
    }
    closedir(d);
    return found;
}

static uint64_t get_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- sending ------------------------------------------------------------------------ */

static int send_unit(struct ch_writer *w, uint64_t id, const uint8_t *z, size_t zl)
{
    char sql[256], qid[40];
    snprintf(sql, sizeof sql, "INSERT INTO %s.flows FORMAT RowBinary", w->db);
    snprintf(qid, sizeof qid, "bs-%016" PRIx64, id);
    return ch_insert(&w->conn, sql, qid, z, zl);
}

/* How many rows of unit id are in the table, once no insert of it runs any more. */
static int landed_rows(struct ch_writer *w, uint64_t id, uint64_t day, uint64_t *rows)
{
    char sql[512];
    int rc;
    uint64_t running = 1;
    for (int i = 0; running; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count() FROM system.processes WHERE query_id = 'bs-%016" PRIx64 "'", id);
        if ((rc = ch_exec_u64(&w->conn, sql, &running)))
            return rc;
        if (running && i >= 600)
            return -ETIMEDOUT;
        if (running)
            sleep_ms(100);
    }
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s.flows WHERE intDiv(start_ms, 86400000) = %" PRIu64
             " AND unit = %" PRIu64,
             w->db, day, id);
    return ch_exec_u64(&w->conn, sql, rows);
}

/* Sends the oldest spool file. Returns 0 (sent, found landed, or set aside), or a transport
 * error (the file stays). */
static int drain_one(struct ch_writer *w, const char *name)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", w->cfg.spool_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    uint8_t hdr[40];
    uint8_t *z = NULL;
    int rc = 0;
    if (fread(hdr, 1, 40, f) != 40 || memcmp(hdr, SPOOL_MAGIC, 8)) {
        rc = BS_ECORRUPT;
    } else {
        uint64_t zl = get_le(hdr + 32);
        if (zl > (1u << 30) || !(z = malloc(zl ? zl : 1)) || fread(z, 1, zl, f) != zl)
            rc = BS_ECORRUPT;
    }
    fclose(f);
    uint64_t id = get_le(hdr + 8), day = get_le(hdr + 16), n = get_le(hdr + 24),
             zl = get_le(hdr + 32), rows = 0;
    if (!rc && !(rc = landed_rows(w, id, day, &rows))) {
        if (rows == 0)
            rc = send_unit(w, id, z, zl);
        else if (rows != n)
            rc = BS_ECORRUPT;
        else
            log_info("clickhouse", "unit %016" PRIx64 " had landed before (%" PRIu64 " flows)", id,
                     n);
    }
    free(z);
    if (rc == BS_ECORRUPT) {
        char bad[1310];
        snprintf(bad, sizeof bad, "%s.bad", path);
        log_err("clickhouse", "%s: unit found partly in the table or file damaged; kept as %s",
                path, bad);
        rename(path, bad);
    } else if (rc) {
        return rc;
    } else {
        unlink(path);
    }
    pthread_mutex_lock(&w->mu);
    w->spool_files--;
    w->spool_bytes = w->spool_bytes > zl ? w->spool_bytes - zl : 0;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void *writer_main(void *arg)
{
    struct ch_writer *w = arg;
    unsigned backoff = 100, retry = 100; /* ping backoff; pause after a refused retry */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->qhead && !w->spool_files && !w->stopping)
            pthread_cond_wait(&w->wake, &w->mu);
        if (w->stopping && !w->qhead && (!w->spool_files || w->down))
            break;
        if (w->down) {
            /* Everything queued goes to disk while the server is away. */
            while (w->qhead) {
                struct unit *u = w->qhead;
                w->qhead = u->next;
                if (!w->qhead)
                    w->qtail = NULL; /* else the next close_unit links to a freed unit */
                w->qlen--;
                int rc = spool_unit(w, u);
                if (rc && !w->err)
                    w->err = rc;
                unit_free(u);
                w->settled++;
            }
            pthread_cond_broadcast(&w->settled_cv);
            pthread_mutex_unlock(&w->mu);
            bool up = ch_ping(&w->conn);
            if (!up) {
                sleep_ms(backoff);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            }
            pthread_mutex_lock(&w->mu);
            if (up) {
                log_info("clickhouse", "%s answers again; sending the spool", w->conn.base);
                w->down = false;
                backoff = 100;
            }
            continue;
        }
        if (w->spool_files) {
            char name[256];
            pthread_mutex_unlock(&w->mu);
            int rc = spool_oldest(w->cfg.spool_dir, name) ? drain_one(w, name) : 0;
            pthread_mutex_lock(&w->mu);
            if (rc) {
                log_warn("clickhouse", "sending the spool: %s", w->conn.err);
                w->down = true;
                /* A server that answers /ping but refuses the insert (a dropped table, a
                 * full disk) is retried with the same backoff, not in a tight loop. */
                pthread_mutex_unlock(&w->mu);
                sleep_ms(retry);
                retry = retry * 2 > 5000 ? 5000 : retry * 2;
                pthread_mutex_lock(&w->mu);
            } else {
                retry = 100;
                if (!spool_oldest(w->cfg.spool_dir, name))
                    w->spool_files = 0; /* recount: files set aside are no longer counted */
            }
            pthread_cond_broadcast(&w->settled_cv);
            continue;
        }
        struct unit *u = w->qhead;
        w->qhead = u->next;
        if (!w->qhead)
            w->qtail = NULL;
        w->qlen--;
        pthread_mutex_unlock(&w->mu);
        uint8_t *z = NULL;
        size_t zl = 0;
        int rc = gz(u->rows, u->n * CH_ROW_BYTES, &z, &zl);
        if (!rc)
            rc = send_unit(w, u->id, z, zl);
        pthread_mutex_lock(&w->mu);
        if (rc) {
            log_warn("clickhouse", "insert of %" PRIu64 " flows failed (%s); spooled", u->n,
                     w->conn.err);
            int src = z ? spool_write(w, u->id, u->day, u->n, z, zl) : spool_unit(w, u);
            if (src && !w->err)
                w->err = src;
            w->down = true;
        }
        free(z);
        unit_free(u);
        w->settled++;
        pthread_cond_broadcast(&w->settled_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- appending (any thread, under mu) ------------------------------------------------- */

static int close_unit(struct ch_writer *w, int slot)
{
    struct unit *u = w->open[slot];
    w->open[slot] = NULL;
    if (!u || u->n == 0) {
        unit_free(u);
        return 0;
    }
    w->closed++;
    if (w->qlen < w->cfg.queue_units && !w->down) {
        u->next = NULL;
        if (w->qtail)
            w->qtail->next = u;
        else
            w->qhead = u;
        w->qtail = u;
        w->qlen++;
        pthread_cond_signal(&w->wake);
        return 0;
    }
    /* The server is behind or away: this thread writes the unit to disk itself. */
    int rc = spool_unit(w, u);
    unit_free(u);
    w->settled++;
    pthread_cond_signal(&w->wake);
    return rc;
}

int ch_writer_append(struct ch_writer *w, const struct flow_rec *recs, size_t n)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n && !rc; i++) {
        uint64_t day = recs[i].start_ms / 86400000u;
        int slot = -1, oldest = 0;
        for (int k = 0; k < CH_OPEN_DAYS; k++) {
            if (w->open[k] && w->open[k]->day == day)
                slot = k;
            if (!w->open[k] || (w->open[oldest] && w->open[k]->day < w->open[oldest]->day))
                oldest = k;
        }
        if (slot < 0) {
            if (w->open[oldest] && (rc = close_unit(w, oldest)))
                break;
            if (!(w->open[oldest] = unit_new(day, w->cfg.unit_records))) {
                rc = BS_ENOMEM;
                break;
            }
            slot = oldest;
        }
        struct unit *u = w->open[slot];
        if (u->n == u->cap) {
            size_t nc = u->cap * 2 > w->cfg.unit_records ? w->cfg.unit_records : u->cap * 2;
            uint8_t *nr = realloc(u->rows, nc * CH_ROW_BYTES);
            if (!nr) {
                rc = BS_ENOMEM;
                break;
            }
            u->rows = nr;
            u->cap = nc;
        }
        ch_row_encode(&recs[i], u->id, u->rows + u->n * CH_ROW_BYTES);
        if (++u->n == w->cfg.unit_records)
            rc = close_unit(w, slot);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int ch_writer_flush(struct ch_writer *w)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    for (int k = 0; k < CH_OPEN_DAYS; k++) {
        int r = close_unit(w, k);
        if (r && !rc)
            rc = r;
    }
    uint64_t target = w->closed;
    while (w->settled < target)
        pthread_cond_wait(&w->settled_cv, &w->mu);
    if (!rc && w->err) {
        rc = w->err;
        w->err = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int ch_writer_open(const struct ch_writer_cfg *wc, struct ch_writer **out, char errbuf[256])
{
    *out = NULL;
    struct ch_writer *w = calloc(1, sizeof *w);
    if (!w)
        return BS_ENOMEM;
    w->cfg = *wc;
    w->lock_fd = -1;
    snprintf(w->db, sizeof w->db, "%s", wc->target.db);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->settled_cv, NULL);
    int rc = fsutil_mkdir_p(w->cfg.spool_dir);
    char path[1300];
    if (rc) {
        snprintf(errbuf, 256, "spool directory %.180s: %s", w->cfg.spool_dir, bs_strerror(rc));
        goto fail;
    }
    /* One writer per spool: two would send (and delete) each other's files. */
    snprintf(path, sizeof path, "%s/LOCK", w->cfg.spool_dir);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->lock_fd < 0 || flock(w->lock_fd, LOCK_EX | LOCK_NB)) {
        rc = -errno;
        snprintf(errbuf, 256, "spool directory %.150s is in use by another writer (%s)",
                 w->cfg.spool_dir, bs_strerror(rc));
        goto fail;
    }
    /* Files left by an earlier run (and their sequence numbers, so new ones sort after). */
    DIR *d = opendir(w->cfg.spool_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 6 && !strcmp(e->d_name + l - 6, ".spool")) {
            uint64_t seq = strtoull(e->d_name, NULL, 10);
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", w->cfg.spool_dir, e->d_name);
            if (!stat(path, &st))
                w->spool_bytes += (uint64_t)st.st_size;
            w->spool_files++;
            if (seq > w->spool_seq)
                w->spool_seq = seq;
        } else if (l > 4 && !strcmp(e->d_name + l - 4, ".tmp")) {
            snprintf(path, sizeof path, "%s/%s", w->cfg.spool_dir, e->d_name);
            unlink(path); /* a spool write cut short: its unit was never acknowledged */
        }
    }
    if (d)
        closedir(d);
    if (w->spool_files)
        log_info("clickhouse", "%" PRIu64 " units left in %s from an earlier run will be sent",
                 w->spool_files, w->cfg.spool_dir);
    if ((rc = ch_conn_init(&w->conn, &wc->target, wc->cfg)))
        goto fail;
    /* The writer thread takes no signals: a process that waits for SIGTERM in one thread
     * (the collector blocks it and waits) must not have it delivered here, where the
     * default action would end the process. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        rc = -rc;
        snprintf(errbuf, 256, "writer thread: %s", bs_strerror(rc));
        goto fail;
    }
    w->thread_started = true;
    *out = w;
    return 0;
fail:
    ch_conn_release(&w->conn);
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->settled_cv);
    free(w);
    return rc;
}

int ch_writer_close(struct ch_writer *w)
{
    if (!w)
        return 0;
    int rc = ch_writer_flush(w);
    uint64_t deadline = clock_mono_ms() + w->cfg.close_wait_ms;
    pthread_mutex_lock(&w->mu);
    while (w->spool_files && clock_mono_ms() < deadline) {
        pthread_mutex_unlock(&w->mu);
        sleep_ms(50);
        pthread_mutex_lock(&w->mu);
    }
    uint64_t left = w->spool_files;
    w->stopping = true;
    w->down = true; /* stop after the current request; what is left stays spooled */
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    if (left) {
        log_err("clickhouse",
                "%" PRIu64 " units (flows not yet in ClickHouse) stay in %s; the "
                "next writer on this spool sends them",
                left, w->cfg.spool_dir);
        if (!rc)
            rc = BS_EIO;
    }
    ch_conn_release(&w->conn);
    close(w->lock_fd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->settled_cv);
    free(w);
    return rc;
}
