/* detect.c - C&C detection: configuration, orientation, the selected servers and their edges,
 * and the passes and rounds run in order (detect.h gives the model, detect_int.h the passes
 * and the files that do them). Scoring is in detect_score.c, output in detect_out.c. */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/hll.h"
#include "core/hugemem.h"
#include "core/log.h"
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
    c->stash_bytes = (uint64_t)4 << 30;
    c->threads = 2;
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
    c->stash_bytes = (uint64_t)config_size(cfg, "detect", "stash");
    c->threads = (unsigned)config_int(cfg, "store", "scan_threads");
}

/* ---- orientation ------------------------------------------------------------------------ */

/* Selects the server of key skey for collection in `round` (no-op when already selected). */
int detect_select_server(struct dctx *d, const uint8_t skey[19], uint32_t round)
{
    bool is_new;
    int rc = 0;
    uint64_t hs = skey_hash(d, skey);
    uint32_t *ix = htab_put(&d->server_ix, &hs, &is_new, &rc);
    if (!ix)
        return rc;
    if (!is_new)
        return 0;
    if ((rc = dgrow((void **)&d->srv, &d->srv_cap, d->nsrv, sizeof *d->srv)))
        return rc;
    struct dsrv *s = &d->srv[d->nsrv];
    memset(s, 0, sizeof *s);
    memcpy(s->addr.b, skey, 16);
    s->port = (uint16_t)(skey[16] << 8 | skey[17]);
    s->proto = skey[18];
    s->first_ms = UINT64_MAX;
    s->round = round;
    *ix = (uint32_t)d->nsrv++;
    /* Its service: servers of one /24 (or /48) on one port and protocol are one service to the
     * population baseline (a cloud's or CDN's servers share their clients). A service first
     * tracked now has its pairs collected in this round's pass 2. */
    uint64_t hsvc = svc_hash(d, skey);
    struct dsvc *sv = htab_put(&d->svc_ix, &hsvc, &is_new, &rc);
    if (!sv)
        return rc;
    if (is_new) {
        sv->no = (uint32_t)d->nsvc++;
        sv->round = round;
        uint32_t bit = (uint32_t)(hsvc >> 48);
        d->svc_filter[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    }
    s->svc = sv->no;
    return 0;
}

int detect_edge_of(struct dctx *d, uint32_t cl, uint32_t sv, uint64_t h, uint32_t *out,
                   bool *is_new)
{
    int rc = 0;
    uint32_t *ix = htab_put_h(&d->edge_ix, &h, h, is_new, &rc);
    if (!ix)
        return rc;
    if (*is_new) {
        if ((rc = dgrow((void **)&d->edge, &d->edge_cap, d->nedge, sizeof *d->edge)))
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
    return 0;
}

/* ---- the client table ---------------------------------------------------------------------- */

static int dcmap_grow(const struct dctx *d, struct dcmap *m)
{
    size_t ns = m->nslots ? m->nslots * 2 : 1024;
    struct dcmap_slot *v = hugemem_alloc(ns * sizeof *v);
    if (!v)
        return BS_ENOMEM;
    memset(v, 0xff, ns * sizeof *v);
    struct dcmap old = *m;
    m->slot = v;
    m->nslots = ns;
    for (size_t i = 0; i < old.nslots; i++)
        if (old.slot[i].val != UINT32_MAX)
            *dcmap_slot_of(m, old.slot[i].key, client_hash_v4(d, old.slot[i].key)) = old.slot[i];
    free(old.slot);
    return 0;
}

uint32_t *detect_client_find(const struct dctx *d, const struct ipaddr *a, uint64_t h)
{
    if (ipaddr_is_v4(a))
        return dcmap_find(&d->client_v4, ipaddr_v4(a), h);
    return htab_find_h(&d->client_ix, a->b, h);
}

uint32_t *detect_client_put(struct dctx *d, const struct ipaddr *a, uint64_t h, bool *is_new,
                            int *rc)
{
    *is_new = false;
    if (!ipaddr_is_v4(a)) {
        uint32_t *ix = htab_find_h(&d->client_ix, a->b, h);
        if (ix)
            return ix;
        if (d->client_v4.n + d->client_ix.n >= d->cfg->max_clients) {
            *rc = BS_ELIMIT;
            return NULL;
        }
        return htab_put_h(&d->client_ix, a->b, h, is_new, rc);
    }
    struct dcmap *m = &d->client_v4;
    uint32_t v4 = ipaddr_v4(a), *ix = dcmap_find(m, v4, h);
    if (ix)
        return ix;
    if (m->n + d->client_ix.n >= d->cfg->max_clients) {
        *rc = BS_ELIMIT;
        return NULL;
    }
    if ((m->n + 1) * 2 > m->nslots && (*rc = dcmap_grow(d, m)))
        return NULL;
    struct dcmap_slot *s = dcmap_slot_of(m, v4, h);
    *s = (struct dcmap_slot){.key = v4, .val = 0};
    m->n++;
    *is_new = true;
    return &s->val;
}

void detect_client_table_release(struct dctx *d)
{
    htab_release(&d->client_ix);
    free(d->client_v4.slot);
    memset(&d->client_v4, 0, sizeof d->client_v4);
}

const uint64_t detect_scale_ms[DSCALES] = {60000, 600000, 3600000, 86400000};

const uint64_t detect_cols = STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS) |
                             STORE_COLBIT(STORE_COL_PACKETS) | STORE_COLBIT(STORE_COL_BYTES) |
                             STORE_COLBIT(STORE_COL_SRC) | STORE_COLBIT(STORE_COL_DST) |
                             STORE_COLBIT(STORE_COL_SRC_PORT) | STORE_COLBIT(STORE_COL_DST_PORT) |
                             STORE_COLBIT(STORE_COL_PROTO) | STORE_COLBIT(STORE_COL_TCP_FLAGS) |
                             STORE_COLBIT(STORE_COL_SAMPLING);

/* A pass after the client pass: over the kept records, or the store when they did not fit. */
static int run_pass(struct dctx *d, const struct pass *p, char errbuf[512])
{
    uint64_t t0 = clock_mono_ns();
    struct clock_cpu c0 = clock_cpu_now();
    size_t e0 = d->nedge;
    unsigned nth = d->cfg->threads ? d->cfg->threads : 1;
    if (nth > STORE_SCAN_MAX_THREADS)
        nth = STORE_SCAN_MAX_THREADS;
    int rc = 0;
    if (!d->stash_full && !p->pairs && nth > 1) {
        rc = detect_server_pass_parts(d, p, nth);
    } else if (!d->stash_full) {
        for (size_t i = 0; i < d->nchunks && !rc; i++)
            rc = detect_chunk_pass(d, p, &d->chunks[i]);
    } else {
        struct dctx *parts[1] = {d};
        struct detect_scan_ctx x = {.parts = parts, .pass = p};
        struct store_scan sc = {
            .t_lo = d->cfg->t_lo,
            .t_hi = d->cfg->t_hi,
            .cols = detect_cols,
            .flags = STORE_SCAN_ADDR_MIXED,
            .threads = 1, /* store order: per-pair sessions follow time */
            .on_block = detect_on_block,
            .ctx = &x,
        };
        d->rc = 0;
        rc = store_scan(d->store, &sc, NULL);
        if (rc == 1)
            rc = d->rc;
    }
    if (!rc && !p->pairs) {
        /* The edges of this round are complete: no later pass looks them up by key. */
        htab_release(&d->edge_ix);
        rc = detect_order_edges(d, e0);
    }
    uint64_t dt = clock_mono_ns() - t0;
    struct clock_cpu c1 = clock_cpu_now();
    double us = (double)(c1.user_ns - c0.user_ns) / 1e9, ss = (double)(c1.sys_ns - c0.sys_ns) / 1e9;
    d->features_ns += dt;
    if (p->pairs)
        log_debug("detect",
                  "round %u pair pass over %s: %.3f s (CPU: user %.3f s, system %.3f s), %zu "
                  "seed-pair records",
                  p->round, d->stash_full ? "the store" : "the records", (double)dt / 1e9, us, ss,
                  d->plog[0].n);
    else
        log_debug("detect",
                  "round %u server pass over %s: %.3f s (CPU: user %.3f s, system %.3f s), %zu "
                  "servers, %zu edges, %zu service pairs",
                  p->round, d->stash_full ? "the store" : "the records", (double)dt / 1e9, us, ss,
                  d->nsrv, d->nedge, d->svc_pairs.n);
    if (rc == BS_ELIMIT)
        snprintf(errbuf, 512,
                 "a detection table reached its cap (%zu clients, %zu servers, %zu edges: "
                 "detect.max_servers, detect.max_edges); narrow the time range",
                 d->ncli, d->nsrv, d->nedge);
    else if (rc && !errbuf[0])
        snprintf(errbuf, 512, "store scan failed: %s", bs_strerror(rc));
    return rc;
}

/* The sampled rule (three seed clients or more, see detect_score.c): selects the servers that
 * have as many new seed pairs. Only when per-pair timing is unusable. */
static int select_by_fanin(struct dctx *d, uint32_t round)
{
    if (d->timing || d->nnew < 3)
        return 0;
    qsort(d->newpair, d->nnew, sizeof *d->newpair, detect_cmp_skey);
    for (size_t i = 0; i < d->nnew;) {
        size_t j = i + 1;
        while (j < d->nnew && !memcmp(d->newpair[j], d->newpair[i], 19))
            j++;
        int rc;
        if (j - i >= 3 && (rc = detect_select_server(d, d->newpair[i], round)))
            return rc;
        i = j;
    }
    return 0;
}

/* Prepares pass 1 of round: an empty pair log and the round's seeds in pair_bits. */
static int reset_pairs(struct dctx *d, uint32_t round)
{
    for (unsigned l = 0; l < STORE_SCAN_MAX_THREADS; l++)
        detect_pairlog_free(&d->plog[l]);
    d->nplog = 1;
    memset(d->svc_filter, 0, sizeof d->svc_filter);
    free(d->pair_bits);
    if (!(d->pair_bits = calloc(d->ncli / 8 + 1, 1)))
        return BS_ENOMEM;
    memset(d->seed_v4, 0, sizeof d->seed_v4);
    for (size_t i = 0; i < d->ncli; i++) {
        const struct dcli *c = &d->cli[i];
        if (!(c->flags & DCLI_SEED) || c->seed_round != round)
            continue;
        d->pair_bits[i >> 3] |= (uint8_t)(1u << (i & 7));
        seed_v4_add(d, &c->addr);
    }
    return 0;
}

/* Passes 1 (pairs of the round's seeds; round 0's ran in the client pass when fused) and 2
 * (the servers they select). */
static int scan_round(struct dctx *d, uint32_t round, char errbuf[512])
{
    int rc;
    if (round || !d->fused) {
        if ((rc = reset_pairs(d, round)))
            return rc;
        struct pass p1 = {.d = d, .round = round, .clients = false, .pairs = true};
        if ((rc = run_pass(d, &p1, errbuf)))
            return rc;
    }
    size_t selected_before = d->nsrv;
    if ((rc = detect_select_pairs(d, round)) || (rc = select_by_fanin(d, round))) {
        if (rc == BS_ELIMIT)
            snprintf(errbuf, 512, "the server table reached its cap (%zu: detect.max_servers)",
                     d->nsrv);
        return rc;
    }
    /* The seeds' peer counts as the server side join their client entries. */
    const void *key;
    void *val;
    size_t it = 0;
    while ((it = htab_next(&d->udp_srv, it, &key, &val))) {
        const uint32_t *ix = detect_client_find(d, key, client_hash(d, key));
        if (ix)
            d->cli[*ix & ~DCLI_IX_PAIR].udp_peers += *(uint32_t *)val;
    }
    htab_release(&d->udp_srv);
    if (d->nsrv == selected_before)
        return 0; /* no server (and so no service) to collect in this round */
    struct pass p2 = {.d = d, .round = round, .clients = false, .pairs = false};
    return run_pass(d, &p2, errbuf);
}

int detect_scan_round(struct dctx *d, uint32_t round, char errbuf[512])
{
    return scan_round(d, round, errbuf);
}

static void dctx_release(struct dctx *d)
{
    htab_release(&d->server_ix);
    detect_client_table_release(d);
    htab_release(&d->edge_ix);
    htab_release(&d->svc_ix);
    htab_release(&d->svc_pairs);
    for (unsigned l = 0; l < STORE_SCAN_MAX_THREADS; l++)
        detect_pairlog_free(&d->plog[l]);
    free(d->pair_bits);
    detect_free_chunks(d);
    free(d->buf);
    htab_release(&d->udp_seen);
    htab_release(&d->udp_seen_srv);
    htab_release(&d->udp_srv);
    free(d->srv);
    free(d->cli);
    free(d->edge);
    free(d->times);
    free(d->newpair);
    free(d->sel);
}

int detect_run(struct store *s, const struct detect_config *cfg, const struct detect_seeds *seeds,
               const struct detect_allow *allow, struct detect_result *out, char errbuf[512])
{
    memset(out, 0, sizeof *out);
    errbuf[0] = '\0';
    struct dctx *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(errbuf, 512, "out of memory");
        return BS_ENOMEM;
    }
    *d = (struct dctx){
        .cfg = cfg, .seeds = seeds, .allow = allow, .store = s, .t_first = UINT64_MAX};
    /* Seeded with the clock: the tables are keyed by addresses strangers choose. */
    uint64_t seed = hash_mix64(clock_mono_ns() ^ (uint64_t)(uintptr_t)d);
    d->hseed = seed ^ 5;
    htab_init_prehashed(&d->server_ix, sizeof(uint32_t), cfg->max_servers);
    htab_init(&d->client_ix, 16, sizeof(uint32_t), cfg->max_clients, seed ^ 1);
    d->hc_v4 = client_hash_v4_prefix(seed ^ 1);
    htab_init_prehashed(&d->edge_ix, sizeof(uint32_t), cfg->max_edges);
    htab_init_prehashed(&d->svc_ix, sizeof(struct dsvc), cfg->max_servers);
    htab_init(&d->svc_pairs, sizeof(struct dsvc_pair), 0, cfg->max_edges, seed ^ 4);
    htab_init_prehashed(&d->udp_seen, sizeof(uint32_t), cfg->max_edges); /* (pair hashes) */
    htab_init_prehashed(&d->udp_seen_srv, sizeof(struct ipaddr), cfg->max_edges);
    htab_init(&d->udp_srv, 16, sizeof(uint32_t), cfg->max_clients, seed ^ 8);
    d->max_times = (size_t)64 << 20;
    d->stash_max = cfg->stash_bytes > SIZE_MAX ? SIZE_MAX : (size_t)cfg->stash_bytes;
    /* With seeds given, the client pass can pair them as it goes (without, the seeds are the
     * scanners the client pass finds). */
    d->fused = seeds && seeds->n;
    for (size_t i = 0; d->fused && i < seeds->n; i++) /* (round 0's seed_v4) */
        seed_v4_add(d, &seeds->v[i].addr);
    int rc;
    uint64_t t_start = clock_mono_ns();
    if ((rc = detect_client_pass(d, errbuf)))
        goto out;
    d->timing = d->sampling_hist[0] * 2 >= d->flows;
    if (!seeds || !seeds->n) {
        /* Without seeds, the flows supply them: clients scanning telnet as IoT bots do. */
        out->seeds_from_flows = true;
        for (size_t i = 0; i < d->ncli; i++)
            if (d->cli[i].telnet_syn >= DETECT_SCANNER_TELNET_SYN)
                d->cli[i].flags |= DCLI_SEED;
    }
    rc = scan_round(d, 0, errbuf);
    if (rc)
        goto out;
    out->servers = hll_estimate(d->hll_srv, HLL_P);
    out->edges_total = hll_estimate(d->hll_edge, HLL_P);
    rc = detect_score(d, out, errbuf);
    /* Feature extraction is every pass and judging (expansion rounds too); scoring the rest. */
    out->features_ns = d->features_ns;
    uint64_t total = clock_mono_ns() - t_start;
    out->score_ns = total > d->features_ns ? total - d->features_ns : 0;
out:
    dctx_release(d);
    free(d);
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
