/* detect.c - C&C detection: one scan of the store into server, client and edge tables (see
 * detect.h for the model). Scoring is in detect_score.c, output in detect_out.c. */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "store/store.h"

void detect_config_init(struct detect_config *c, const struct config *cfg)
{
    memset(c, 0, sizeof *c);
    c->t_hi = UINT64_MAX;
    c->threshold = 4.0;
    c->strong_threshold = 8.0;
    c->min_seed_clients = 1;
    c->expand_depth = 1;
    c->expand_max = 10000;
    c->max_pair_times = 2048;
    c->graph_edges_max = 1000;
    c->max_servers = 50000000;
    c->max_clients = 50000000;
    c->max_edges = 100000000;
    c->threads = 1;
    if (!cfg)
        return;
    const char *s;
    if ((s = config_str(cfg, "detect", "threshold")) && *s)
        c->threshold = strtod(s, NULL);
    if ((s = config_str(cfg, "detect", "strong_threshold")) && *s)
        c->strong_threshold = strtod(s, NULL);
    c->min_seed_clients = (uint32_t)config_int(cfg, "detect", "min_seed_clients");
    c->expand_depth = (uint32_t)config_int(cfg, "detect", "expand_depth");
    c->expand_max = (uint32_t)config_int(cfg, "detect", "expand_max");
    c->max_pair_times = (uint32_t)config_int(cfg, "detect", "max_pair_times");
    c->graph_edges_max = (uint32_t)config_int(cfg, "detect", "graph_edges");
    c->max_servers = (size_t)config_int(cfg, "detect", "max_servers");
    c->max_clients = c->max_servers;
    c->max_edges = (size_t)config_int(cfg, "detect", "max_edges");
}

/* ---- orientation ------------------------------------------------------------------------ */

static bool is_ephemeral(uint16_t p)
{
    return p >= 32768;
}

/* True when the record goes from the client to the server (src is the client). */
bool detect_forward(uint8_t proto, uint16_t sp, uint16_t dp, uint8_t flags)
{
    if (proto == 6 && (flags & 0x17) == 0x02)
        return true; /* SYN without ACK, RST, FIN or PSH: the opening side */
    if (proto != 6 && proto != 17 && proto != 132)
        return true; /* no ports: the sender is the client */
    if ((sp < 1024) != (dp < 1024))
        return dp < 1024;
    if (is_ephemeral(sp) != is_ephemeral(dp))
        return is_ephemeral(sp);
    return dp <= sp;
}

/* ---- tables ----------------------------------------------------------------------------- */

static int vec_grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 1024;
    void *p = realloc(*v, c * size);
    if (!p)
        return BS_ENOMEM;
    *v = p;
    *cap = c;
    return 0;
}

static int server_of(struct dctx *d, const struct ipaddr *a, uint16_t port, uint8_t proto,
                     uint32_t *out)
{
    uint8_t key[19];
    memcpy(key, a->b, 16);
    key[16] = (uint8_t)(port >> 8);
    key[17] = (uint8_t)port;
    key[18] = proto;
    bool is_new;
    int rc = 0;
    uint32_t *ix = htab_put(&d->server_ix, key, &is_new, &rc);
    if (!ix)
        return rc;
    if (is_new) {
        if ((rc = vec_grow((void **)&d->srv, &d->srv_cap, d->nsrv, sizeof *d->srv)))
            return rc;
        struct dsrv *s = &d->srv[d->nsrv];
        memset(s, 0, sizeof *s);
        s->addr = *a;
        s->port = port;
        s->proto = proto;
        s->first_ms = UINT64_MAX;
        *ix = (uint32_t)d->nsrv++;
        /* Its service: servers of one /24 (or /48) on one port and protocol are one service
         * to the population baseline (a cloud's or CDN's servers share their clients). */
        memcpy(key, a->b, 16);
        ipaddr_mask((struct ipaddr *)key, ipaddr_is_v4(a) ? 120 : 48);
        uint32_t *sx = htab_put(&d->svc_ix, key, &is_new, &rc);
        if (!sx)
            return rc;
        if (is_new)
            *sx = (uint32_t)d->nsvc++;
        d->srv[*ix].svc = *sx;
    }
    *out = *ix;
    return 0;
}

static int client_of(struct dctx *d, const struct ipaddr *a, uint32_t *out)
{
    bool is_new;
    int rc = 0;
    uint32_t *ix = htab_put(&d->client_ix, a->b, &is_new, &rc);
    if (!ix)
        return rc;
    if (is_new) {
        if ((rc = vec_grow((void **)&d->cli, &d->cli_cap, d->ncli, sizeof *d->cli)))
            return rc;
        struct dcli *c = &d->cli[d->ncli];
        memset(c, 0, sizeof *c);
        c->addr = *a;
        if (d->seeds && detect_seeds_has(d->seeds, a))
            c->flags |= DCLI_SEED;
        *ix = (uint32_t)d->ncli++;
    }
    *out = *ix;
    return 0;
}

static int edge_of(struct dctx *d, uint32_t cl, uint32_t sv, uint32_t *out, bool *is_new_out)
{
    uint64_t key = (uint64_t)cl << 32 | sv;
    bool is_new;
    int rc = 0;
    uint32_t *ix = htab_put(&d->edge_ix, &key, &is_new, &rc);
    if (!ix)
        return rc;
    if (is_new) {
        if ((rc = vec_grow((void **)&d->edge, &d->edge_cap, d->nedge, sizeof *d->edge)))
            return rc;
        struct dedge *e = &d->edge[d->nedge];
        memset(e, 0, sizeof *e);
        e->client = cl;
        e->server = sv;
        e->first_ms = UINT64_MAX;
        *ix = (uint32_t)d->nedge++;
        d->srv[sv].clients++;
    }
    *out = *ix;
    *is_new_out = is_new;
    return 0;
}

const uint64_t detect_scale_ms[DSCALES] = {60000, 600000, 3600000, 86400000};

static inline void mark_slots(uint64_t win[DSCALES], uint64_t t)
{
    for (int k = 0; k < DSCALES; k++)
        win[k] |= UINT64_C(1) << ((t / detect_scale_ms[k]) & 63);
}

/* ---- the scan --------------------------------------------------------------------------- */

static bool is_telnet(uint16_t p)
{
    return p == 23 || p == 2323;
}

static int add_flow(struct dctx *d, const struct store_block *b, size_t i)
{
    uint8_t proto = b->proto[i], flags = b->tcp_flags[i];
    uint16_t sp = b->src_port[i], dp = b->dst_port[i];
    struct ipaddr src, dst;
    if (b->src.v4)
        ipaddr_from_v4(&src, b->src.v4[i]);
    else
        src = b->src.full[i];
    if (b->dst.v4)
        ipaddr_from_v4(&dst, b->dst.v4[i]);
    else
        dst = b->dst.full[i];
    bool fwd = detect_forward(proto, sp, dp, flags);
    const struct ipaddr *ca = fwd ? &src : &dst, *sa = fwd ? &dst : &src;
    uint16_t cport = fwd ? sp : dp, sport = fwd ? dp : sp;
    if (proto != 6 && proto != 17 && proto != 132)
        sport = cport = 0;
    uint32_t sv, cl, ed;
    bool new_edge = false;
    int rc;
    if ((rc = server_of(d, sa, sport, proto, &sv)) || (rc = client_of(d, ca, &cl)) ||
        (rc = edge_of(d, cl, sv, &ed, &new_edge)))
        return rc;
    if (new_edge && proto == 17 && sport >= 1024 && cport >= 1024) {
        /* Both ends of a high-port UDP exchange are peers of an overlay, whichever of them
         * the orientation made the client. */
        d->cli[cl].udp_peers++;
        const uint32_t *sx = htab_find(&d->client_ix, sa->b);
        if (sx)
            d->cli[*sx].udp_peers++;
    }
    uint64_t t = b->start_ms[i], pk = b->packets[i], by = b->bytes[i];
    uint32_t rate = b->sampling[i] ? b->sampling[i] : 1;
    struct dsrv *s = &d->srv[sv];
    struct dcli *c = &d->cli[cl];
    struct dedge *e = &d->edge[ed];
    s->packets += pk;
    s->bytes += by;
    if (t < s->first_ms)
        s->first_ms = t;
    if (t > s->last_ms)
        s->last_ms = t;
    if (t < e->first_ms)
        e->first_ms = t;
    if (t > e->last_ms)
        e->last_ms = t;
    mark_slots(c->win, t);
    mark_slots(e->win, t);
    if (!c->first_ms || t < c->first_ms)
        c->first_ms = t;
    if (t > c->last_ms)
        c->last_ms = t;
    if (rate > 1)
        e->sampled++;
    if (!fwd) {
        s->flows_rev++;
        e->rev_flows++;
        if (proto == 6 && (flags & 0x04))
            e->rst_rev++;
        return 0;
    }
    s->flows_fwd++;
    e->flows++;
    e->packets += pk;
    if (pk <= 3 && by <= 120 * pk)
        e->tiny++;
    if (proto == 6 && (flags & 0x17) == 0x02)
        e->syn_only++;
    if (proto == 6 && is_telnet(sport) && (flags & 0x17) == 0x02 && c->telnet_syn < UINT32_MAX)
        c->telnet_syn++;
    /* A record that continues the client port of the pair's previous record a minute or more
     * later is part of one long session (a keep-alive connection split by the exporter). */
    if (e->flows > 1 && cport == e->last_cport &&
        (t > e->last_t ? t - e->last_t : e->last_t - t) >= 60000)
        e->port_runs++;
    e->last_cport = cport;
    e->last_t = t;
    /* Connection times of seed pairs, unsampled only, for the beacon score. */
    if ((c->flags & DCLI_SEED) && rate == 1 && e->ntimes < d->cfg->max_pair_times &&
        d->ntimes < d->max_times) {
        if ((rc = vec_grow((void **)&d->times, &d->times_cap, d->ntimes, sizeof *d->times)))
            return rc;
        d->times[d->ntimes++] = (struct dtime){.edge = ed, .t = t};
        e->ntimes++;
    }
    return 0;
}

static int on_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct dctx *d = ctx;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t t = b->start_ms[i];
        if (t < d->cfg->t_lo || t > d->cfg->t_hi)
            continue;
        d->flows++;
        uint32_t r = b->sampling[i] ? b->sampling[i] : 1;
        d->sampling_hist[r == 1 ? 0 : r < 100 ? 1 : r < 1000 ? 2 : 3]++;
        if (r > d->sampling_max)
            d->sampling_max = r;
        if (t < d->t_first)
            d->t_first = t;
        if (t > d->t_last)
            d->t_last = t;
        int rc = add_flow(d, b, i);
        if (rc) {
            d->rc = rc;
            return 1;
        }
    }
    return 0;
}

static const uint64_t detect_cols =
    STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_PACKETS) |
    STORE_COLBIT(STORE_COL_BYTES) | STORE_COLBIT(STORE_COL_SRC) | STORE_COLBIT(STORE_COL_DST) |
    STORE_COLBIT(STORE_COL_SRC_PORT) | STORE_COLBIT(STORE_COL_DST_PORT) |
    STORE_COLBIT(STORE_COL_PROTO) | STORE_COLBIT(STORE_COL_TCP_FLAGS) |
    STORE_COLBIT(STORE_COL_SAMPLING);

static void dctx_release(struct dctx *d)
{
    htab_release(&d->server_ix);
    htab_release(&d->client_ix);
    htab_release(&d->edge_ix);
    htab_release(&d->svc_ix);
    free(d->srv);
    free(d->cli);
    free(d->edge);
    free(d->times);
}

int detect_run(struct store *s, const struct detect_config *cfg, const struct detect_seeds *seeds,
               const struct detect_allow *allow, struct detect_result *out, char errbuf[512])
{
    memset(out, 0, sizeof *out);
    errbuf[0] = '\0';
    struct dctx d = {.cfg = cfg, .seeds = seeds, .allow = allow, .t_first = UINT64_MAX};
    /* Seeded with the clock: the tables are keyed by addresses strangers choose. */
    uint64_t seed = hash_mix64(clock_mono_ns() ^ (uint64_t)(uintptr_t)&d);
    htab_init(&d.server_ix, 19, sizeof(uint32_t), cfg->max_servers, seed);
    htab_init(&d.client_ix, 16, sizeof(uint32_t), cfg->max_clients, seed ^ 1);
    htab_init(&d.edge_ix, 8, sizeof(uint32_t), cfg->max_edges, seed ^ 2);
    htab_init(&d.svc_ix, 19, sizeof(uint32_t), cfg->max_servers, seed ^ 3);
    d.max_times = (size_t)64 << 20;
    int rc;
    uint64_t t_start = clock_mono_ns();
    struct store_scan sc = {
        .t_lo = cfg->t_lo,
        .t_hi = cfg->t_hi,
        .cols = detect_cols,
        .threads = 1, /* one pass in store order: per-pair sessions follow time */
        .on_block = on_block,
        .ctx = &d,
    };
    rc = store_scan(s, &sc, NULL);
    if (rc == 1)
        rc = d.rc;
    if (rc) {
        if (rc == BS_ELIMIT)
            snprintf(errbuf, 512,
                     "a detection table reached its cap (%zu servers, %zu edges: "
                     "detect.max_servers, detect.max_edges); narrow the time range",
                     d.nsrv, d.nedge);
        else if (!errbuf[0])
            snprintf(errbuf, 512, "store scan failed: %s", bs_strerror(rc));
        goto out;
    }
    out->scan_ns = clock_mono_ns() - t_start;
    t_start = clock_mono_ns();
    rc = detect_score(&d, out, errbuf);
    out->score_ns = clock_mono_ns() - t_start;
out:
    dctx_release(&d);
    if (rc)
        detect_result_release(out);
    return rc;
}

void detect_result_release(struct detect_result *r)
{
    free(r->cand);
    free(r->edges);
    r->cand = NULL;
    r->edges = NULL;
    r->ncand = r->nedges = 0;
}
