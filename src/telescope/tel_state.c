/* tel_state.c - state-database sink (see tel_state.h). */
#include "telescope/tel_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/hll.h"
#include "core/jw.h"

#define ROWS_PER_CLOCK_CHECK 4096u

struct tel_state {
    struct statedb *db;
    enum tel_state_which which;
    uint64_t last_commit_ms;
    unsigned rows_since_check;
    uint64_t sources, victims, intervals;
    /* JSON texts of one row's list columns, reused from row to row */
    struct buf json[3];
    int err;
};

/* Cap of one list column's JSON text: 16 ports, a few dozen short names and counts. */
#define JSON_COL_MAX 4096

int tel_state_open(const char *dir, const struct config *cfg, const struct statedb_tel_run *run,
                   enum tel_state_which which, struct tel_state **out, char *err, size_t errlen)
{
    char path[4096], dberr[256];
    int rc;
    if (strstr(dir, "://")) { /* a state database URL: no local directory */
        snprintf(path, sizeof path, "%s", dir);
    } else {
        if ((rc = fsutil_mkdir_p(dir))) {
            snprintf(err, errlen, "%s: %s", dir, bs_strerror(rc));
            return rc;
        }
        if (snprintf(path, sizeof path, "%s/state.db", dir) >= (int)sizeof path) {
            snprintf(err, errlen, "%s: path too long", dir);
            return -ENAMETOOLONG;
        }
    }
    struct tel_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return BS_ENOMEM;
    }
    s->which = which;
    for (int i = 0; i < 3; i++)
        buf_init(&s->json[i], JSON_COL_MAX);
    if ((rc = statedb_open_cfg(path, cfg, &s->db, dberr))) {
        if (strncmp(dberr, path, strlen(path))) /* name the database when the error does not */
            snprintf(err, errlen, "%s: %s", path, dberr);
        else
            snprintf(err, errlen, "%s", dberr);
        for (int i = 0; i < 3; i++)
            buf_release(&s->json[i]);
        free(s);
        return rc;
    }
    if ((rc = statedb_tel_begin(s->db, run, NULL))) {
        snprintf(err, errlen, "%s: cannot start the telescope run (%s)", path, bs_strerror(rc));
        statedb_close(s->db);
        for (int i = 0; i < 3; i++)
            buf_release(&s->json[i]);
        free(s);
        return rc;
    }
    s->last_commit_ms = clock_mono_ms();
    *out = s;
    return 0;
}

/* Commits when TEL_STATE_COMMIT_MS passed since the last commit (clock read every
 * ROWS_PER_CLOCK_CHECK rows, or always when force_check). */
static int maybe_commit(struct tel_state *s, bool force_check)
{
    if (!force_check && ++s->rows_since_check < ROWS_PER_CLOCK_CHECK)
        return 0;
    s->rows_since_check = 0;
    uint64_t now = clock_mono_ms();
    if (now - s->last_commit_ms < TEL_STATE_COMMIT_MS)
        return 0;
    s->last_commit_ms = now;
    return statedb_tel_commit(s->db);
}

static int keep(struct tel_state *s, int rc)
{
    if (rc && !s->err)
        s->err = rc;
    return rc;
}

/* The list columns' JSON texts, written into b (reset first) by the JSON writer. */
static int json_ports(struct buf *b, const uint16_t *ports, unsigned n)
{
    uint16_t sp[TEL_SRC_PORTS > TEL_VICTIM_PORTS ? TEL_SRC_PORTS : TEL_VICTIM_PORTS];
    if (n > sizeof sp / sizeof sp[0])
        n = sizeof sp / sizeof sp[0];
    memcpy(sp, ports, n * sizeof *sp);
    for (unsigned i = 1; i < n; i++) {
        uint16_t v = sp[i];
        unsigned k = i;
        for (; k > 0 && sp[k - 1] > v; k--)
            sp[k] = sp[k - 1];
        sp[k] = v;
    }
    struct jw w;
    buf_reset(b);
    jw_init(&w, b);
    jw_arr(&w, NULL);
    for (unsigned i = 0; i < n; i++)
        jw_u64(&w, NULL, sp[i]);
    return jw_finish(&w);
}

static int json_names(struct buf *b, unsigned mask, const char *const *names, int n)
{
    struct jw w;
    buf_reset(b);
    jw_init(&w, b);
    jw_arr(&w, NULL);
    for (int i = 0; i < n; i++)
        if (mask & (1u << i))
            jw_str(&w, NULL, names[i]);
    return jw_finish(&w);
}

static int json_counts(struct buf *b, const uint64_t *v, const char *const *names, int n)
{
    struct jw w;
    buf_reset(b);
    jw_init(&w, b);
    jw_obj(&w, NULL);
    for (int i = 0; i < n; i++)
        jw_u64(&w, names[i], v[i]);
    return jw_finish(&w);
}

static double rate_pps(uint64_t packets, uint64_t first_ms, uint64_t last_ms)
{
    uint64_t d = last_ms - first_ms;
    if (d < 1000)
        d = 1000;
    return (double)packets * 1000.0 / (double)d;
}

static int st_interval(void *state, const struct tel_engine *e, const struct tel_bucket *b,
                       uint32_t resolution_s)
{
    (void)e;
    struct tel_state *s = state;
    int rc = json_counts(&s->json[0], b->tag_packets, tel_tag_names, TEL_TAG_COUNT);
    if (!rc)
        rc = json_counts(&s->json[1], b->fp_packets, tel_fp_names, TEL_FP_COUNT);
    if (rc)
        return keep(s, rc);
    struct statedb_tel_interval iv = {
        .resolution_s = resolution_s,
        .start_ms = b->start_ms,
        .end_ms = b->start_ms + b->len_ms,
        .packets = b->packets,
        .bytes = b->bytes,
        .unique_sources = b->packets ? hll_estimate(b->hll_src, TEL_AGG_HLL_P) : 0,
        .unique_destinations = b->packets ? hll_estimate(b->hll_dst, TEL_AGG_HLL_P) : 0,
        .non_darknet_packets = b->non_darknet_packets,
        .late_packets = b->late_packets,
        .dropped_source_packets = b->dropped_sources,
        .research_packets = b->research_packets,
        .tags = s->json[0].data,
        .fingerprints = s->json[1].data,
    };
    rc = statedb_tel_interval_put(s->db, &iv);
    if (!rc)
        s->intervals++;
    if (!rc)
        rc = maybe_commit(s, true);
    return keep(s, rc);
}

static int st_source(void *state, const struct tel_engine *e, const struct tel_src_rec *src)
{
    struct tel_state *s = state;
    if (s->which == TEL_STATE_INFECTED_SOURCES && !src->infected_iot)
        return 0;
    char addr[IPADDR_STRLEN];
    char cc[3] = {(char)(src->cc >> 8), (char)(src->cc & 0xff), 0};
    tel_engine_addr_text(e, &src->addr, addr, sizeof addr);
    int rc = json_ports(&s->json[0], src->ports, src->nports);
    if (!rc)
        rc = json_names(&s->json[1], src->fps_listed, tel_fp_names, TEL_FP_COUNT);
    if (!rc)
        rc = json_names(&s->json[2], src->tag_union, tel_tag_names, TEL_TAG_COUNT);
    if (rc)
        return keep(s, rc);
    struct statedb_tel_source r = {
        .src = addr,
        .day_ms = src->day_ms,
        .first_ms = src->first_ms,
        .last_ms = src->last_ms,
        .packets = src->packets,
        .bytes = src->bytes,
        .destinations = src->destinations,
        .port_count = src->port_count,
        .syn_packets = src->syn_packets,
        .iot_packets = src->iot_packets,
        .ports = s->json[0].data,
        .fingerprints = s->json[1].data,
        .tags = s->json[2].data,
        .scan_class = src->scan_class,
        .asn = (src->flags & TEL_SRC_HAS_ASN) ? (int64_t)src->asn : -1,
        .cc = (src->flags & TEL_SRC_HAS_CC) ? cc : NULL,
        .bogon = (src->flags & TEL_SRC_BOGON) != 0,
        .research = (src->flags & TEL_SRC_RESEARCH) != 0,
        .infected_iot = src->infected_iot,
    };
    rc = statedb_tel_source_put(s->db, &r);
    if (!rc)
        s->sources++;
    if (!rc)
        rc = maybe_commit(s, false);
    return keep(s, rc);
}

static int st_victim(void *state, const struct tel_engine *e, const struct tel_victim *v)
{
    struct tel_state *s = state;
    char addr[IPADDR_STRLEN];
    tel_engine_addr_text(e, &v->addr, addr, sizeof addr);
    int rc = json_ports(&s->json[0], v->ports, v->nports);
    if (rc)
        return keep(s, rc);
    uint64_t dsize = tel_engine_darknet_v4_size(e);
    double observed = rate_pps(v->packets, v->first_ms, v->last_ms);
    struct statedb_tel_victim r = {
        .victim = addr,
        .first_ms = v->first_ms,
        .last_ms = v->last_ms,
        .packets = v->packets,
        .bytes = v->bytes,
        .tcp_packets = v->tcp_packets,
        .icmp_packets = v->icmp_packets,
        .peak_ppm = v->peak_ppm,
        .darknet_addresses = hll_estimate(v->hll_dark, TEL_VICTIM_HLL_P),
        .ports = s->json[0].data,
        .observed_pps = observed,
        .scaled_pps =
            dsize && ipaddr_is_v4(&v->addr) ? observed * 4294967296.0 / (double)dsize : -1.0,
    };
    rc = statedb_tel_victim_put(s->db, &r);
    if (!rc)
        s->victims++;
    if (!rc)
        rc = maybe_commit(s, false);
    return keep(s, rc);
}

const struct tel_sink_ops tel_state_sink_ops = {
    .name = "state",
    .interval = st_interval,
    .source = st_source,
    .victim = st_victim,
};

int tel_state_close(struct tel_state *s, const struct tel_engine *e, bool ok)
{
    if (!s)
        return 0;
    struct statedb_tel_run_totals t = {.sources = s->sources,
                                       .victims = s->victims,
                                       .intervals = s->intervals,
                                       .ok = ok && e && !s->err};
    if (e) {
        const struct tel_stats *st = tel_engine_stats_const(e);
        t.packets_read = st->packets_read;
        t.darknet_packets = st->darknet_packets;
        t.first_ms = st->first_ms;
        t.last_ms = st->last_ms;
    }
    int rc = statedb_tel_end(s->db, &t);
    statedb_close(s->db);
    int first = s->err ? s->err : rc;
    for (int i = 0; i < 3; i++)
        buf_release(&s->json[i]);
    free(s);
    return first;
}
