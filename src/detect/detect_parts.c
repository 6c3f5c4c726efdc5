/* detect_parts.c - the passes on several threads: the client pass's parts (one per scan
 * thread) merged in store order, and the server pass split by client. */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "core/clock.h"
#include "core/hll.h"
#include "core/log.h"

static int cmp_chunk(const void *a, const void *b)
{
    const struct dchunk *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (x->arrival > y->arrival) - (x->arrival < y->arrival);
}

/* ---- merging the client pass's parts --------------------------------------------------------
 * Serially: each part's clients join d's table (a map from its client numbers to d's) and its
 * UDP peer sets join d's. Then the threads renumber the clients of the kept records. The parts'
 * pair logs are handed to d as they are: judging reads them all together (detect_pairs_judge),
 * whichever part logged which record. */

/* Merges part q's clients into d; map[i] gets d's number of q's client i. */
static int merge_clients(struct dctx *d, const struct dctx *q, uint32_t *map)
{
    int rc = 0;
    for (size_t i = 0; i < q->ncli && !rc; i++) {
        const struct dcli *c = &q->cli[i];
        bool is_new;
        uint32_t *ix = detect_client_put(d, &c->addr, c->hc, &is_new, &rc);
        if (!ix)
            break;
        if (is_new) {
            if (d->ncli >= DCLI_IX_PAIR) {
                rc = BS_ELIMIT;
                break;
            }
            if ((rc = dgrow((void **)&d->cli, &d->cli_cap, d->ncli, sizeof *d->cli)))
                break;
            d->cli[d->ncli] = *c;
            *ix = (uint32_t)d->ncli++ | ((c->flags & DCLI_SEED) ? DCLI_IX_PAIR : 0);
        } else {
            struct dcli *g = &d->cli[*ix & ~DCLI_IX_PAIR];
            for (int k = 0; k < DSCALES; k++)
                g->win[k] |= c->win[k];
            if (c->first_ms && (!g->first_ms || c->first_ms < g->first_ms))
                g->first_ms = c->first_ms;
            if (c->last_ms > g->last_ms)
                g->last_ms = c->last_ms;
            g->telnet_syn = g->telnet_syn > UINT32_MAX - c->telnet_syn
                                ? UINT32_MAX
                                : g->telnet_syn + c->telnet_syn;
            g->udp_peers += c->udp_peers;
        }
        map[i] = *ix & ~DCLI_IX_PAIR;
    }
    return rc;
}

/* Merges part q's UDP peer sets into d: a peer both counted is uncounted once. */
static int merge_udp(struct dctx *d, const struct dctx *q, const uint32_t *map)
{
    const void *key;
    void *val;
    size_t it = 0;
    bool is_new;
    int rc = 0;
    while ((it = htab_next(&q->udp_srv, it, &key, &val))) {
        uint32_t *n = htab_put(&d->udp_srv, key, &is_new, &rc);
        if (!n)
            return rc;
        *n += *(const uint32_t *)val;
    }
    it = 0;
    while ((it = htab_next(&q->udp_seen, it, &key, &val))) {
        uint32_t who = map[*(const uint32_t *)val], *dw = htab_put(&d->udp_seen, key, &is_new, &rc);
        if (!dw)
            return rc;
        if (is_new)
            *dw = who;
        else
            d->cli[who].udp_peers--;
    }
    it = 0;
    while ((it = htab_next(&q->udp_seen_srv, it, &key, &val))) {
        struct ipaddr *dw = htab_put(&d->udp_seen_srv, key, &is_new, &rc);
        if (!dw)
            return rc;
        if (is_new) {
            *dw = *(const struct ipaddr *)val;
        } else {
            uint32_t *n = htab_find(&d->udp_srv, ((const struct ipaddr *)val)->b);
            if (n)
                (*n)--;
        }
    }
    return 0;
}

/* One thread of the merge: its share of the kept records renumbered. */
struct mpart {
    struct dctx **parts;
    unsigned t, nth;
    uint32_t *const *maps; /* each part's client numbers in d (maps[0] unused) */
};

static void *merge_part_main(void *arg)
{
    struct mpart *m = arg;
    /* The renumbering is shared out by chunk, whichever part kept it. */
    for (unsigned u = 1; u < m->nth; u++) {
        struct dctx *q = m->parts[u];
        for (size_t i = m->t; i < q->nchunks; i += m->nth)
            for (size_t j = 0; j < q->chunks[i].n; j++)
                q->chunks[i].cl[j] = m->maps[u][q->chunks[i].cl[j]];
    }
    return NULL;
}

static size_t seed_records(const struct dctx *d)
{
    size_t n = 0;
    for (unsigned l = 0; l < d->nplog; l++)
        n += d->plog[l].n;
    return n;
}

/* Merges parts[1..nth) into parts[0] == d. */
static int merge_parts(struct dctx *d, struct dctx **parts, unsigned nth)
{
    uint32_t *maps[STORE_SCAN_MAX_THREADS] = {NULL};
    struct mpart m[STORE_SCAN_MAX_THREADS];
    pthread_t tid[STORE_SCAN_MAX_THREADS];
    bool started[STORE_SCAN_MAX_THREADS] = {false};
    int rc = 0;
    for (unsigned t = 1; t < nth && !rc; t++) {
        struct dctx *q = parts[t];
        if (!(maps[t] = malloc((q->ncli ? q->ncli : 1) * sizeof *maps[t])))
            rc = BS_ENOMEM;
        else if (!(rc = merge_clients(d, q, maps[t])))
            rc = merge_udp(d, q, maps[t]);
    }
    for (unsigned t = 0; t < nth && !rc; t++) {
        m[t] = (struct mpart){.parts = parts, .t = t, .nth = nth, .maps = maps};
        if (t && pthread_create(&tid[t], NULL, merge_part_main, &m[t]))
            rc = BS_ENOMEM;
        else
            started[t] = t > 0;
    }
    if (!rc)
        merge_part_main(&m[0]);
    for (unsigned t = 1; t < nth; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
    /* The pair logs are judged together afterwards (detect_pairs_judge). */
    d->nplog = nth;
    for (unsigned t = 1; t < nth; t++) {
        d->plog[t] = parts[t]->plog[0];
        memset(&parts[t]->plog[0], 0, sizeof parts[t]->plog[0]);
    }
    for (unsigned t = 1; t < nth && !rc; t++) {
        struct dctx *q = parts[t];
        for (size_t i = 0; i < q->nchunks && !rc; i++) {
            /* (The chunk's IPv6 addresses live in the same slabs.) */
            if (!(rc = dgrow((void **)&d->chunks, &d->chunks_cap, d->nchunks, sizeof *d->chunks)))
                d->chunks[d->nchunks++] = q->chunks[i];
        }
        q->nchunks = 0;
        for (size_t i = 0; i < q->nslabs && !rc; i++) { /* the slabs move with their chunks */
            if ((rc = dgrow((void **)&d->slabs, &d->slabs_cap, d->nslabs + 1, sizeof *d->slabs)))
                break;
            /* (Nothing is carved after the client pass: d's slab bookkeeping may go stale.) */
            d->slabs[d->nslabs++] = q->slabs[i];
            q->slabs[i] = NULL;
        }
        d->flows += q->flows;
        for (int k = 0; k < 4; k++)
            d->sampling_hist[k] += q->sampling_hist[k];
        if (q->sampling_max > d->sampling_max)
            d->sampling_max = q->sampling_max;
        if (q->t_first < d->t_first)
            d->t_first = q->t_first;
        if (q->t_last > d->t_last)
            d->t_last = q->t_last;
        hll_merge(d->hll_srv, q->hll_srv, HLL_P);
        hll_merge(d->hll_edge, q->hll_edge, HLL_P);
        d->stash_full |= q->stash_full;
    }
    for (unsigned t = 1; t < nth; t++)
        free(maps[t]);
    return rc;
}

static void part_release(struct dctx *q)
{
    detect_client_table_release(q);
    detect_pairlog_free(&q->plog[0]);
    htab_release(&q->udp_seen);
    htab_release(&q->udp_seen_srv);
    htab_release(&q->udp_srv);
    free(q->cli);
    detect_free_chunks(q);
    free(q->buf);
}

/* The client pass (with seeds given, round 0's pair pass too): several scan threads, each with
 * its own client table, seed pairs and chunks (a part), merged into d in store order
 * afterwards, so the result does not depend on the threads. */
int detect_client_pass(struct dctx *d, char errbuf[512])
{
    unsigned nth = d->cfg->threads ? d->cfg->threads : 1;
    if (nth > STORE_SCAN_MAX_THREADS)
        nth = STORE_SCAN_MAX_THREADS;
    struct dctx *parts[STORE_SCAN_MAX_THREADS] = {d};
    int rc = 0;
    for (unsigned t = 1; t < nth; t++) {
        if (!(parts[t] = calloc(1, sizeof *parts[t]))) {
            nth = t;
            rc = BS_ENOMEM;
            goto out;
        }
        *parts[t] = (struct dctx){.cfg = d->cfg,
                                  .seeds = d->seeds,
                                  .hseed = d->hseed,
                                  .hc_v4 = d->hc_v4,
                                  .owner = d,
                                  .fused = d->fused,
                                  .t_first = UINT64_MAX};
        memcpy(parts[t]->seed_v4, d->seed_v4, sizeof d->seed_v4);
        /* Same sizes and seeds as d's: the hashes agree. */
        detect_htab_empty(&parts[t]->client_ix, &d->client_ix);
        detect_htab_empty(&parts[t]->udp_seen, &d->udp_seen);
        detect_htab_empty(&parts[t]->udp_seen_srv, &d->udp_seen_srv);
        detect_htab_empty(&parts[t]->udp_srv, &d->udp_srv);
    }
    struct pass p = {.d = d, .round = 0, .clients = true, .pairs = d->fused};
    struct detect_scan_ctx x = {.parts = parts, .pass = &p};
    struct store_scan sc = {
        .t_lo = d->cfg->t_lo,
        .t_hi = d->cfg->t_hi,
        .cols = detect_cols,
        .flags = STORE_SCAN_ADDR_MIXED,
        .threads = nth,
        .on_block = detect_on_block,
        .ctx = &x,
    };
    uint64_t t0 = clock_mono_ns();
    struct clock_cpu c0 = clock_cpu_now();
    rc = store_scan(d->store, &sc, NULL);
    if (rc == 1)
        for (unsigned t = 0; t < nth && rc == 1; t++)
            rc = parts[t]->rc ? parts[t]->rc : 1;
    uint64_t t1 = clock_mono_ns();
    if (!rc)
        rc = merge_parts(d, parts, nth);
    if (!rc && d->stash_full)
        detect_free_chunks(d);
    else if (!rc && d->nchunks)
        qsort(d->chunks, d->nchunks, sizeof *d->chunks, cmp_chunk);
    uint64_t dt = clock_mono_ns() - t0;
    struct clock_cpu c1 = clock_cpu_now();
    d->features_ns += dt;
    log_debug("detect",
              "client pass%s: %.3f s on %u threads (merge %.3f s; CPU: user %.3f s, system %.3f "
              "s), %zu clients, %zu seed-pair records, %.1f MB of records kept",
              d->fused ? " with round 0's pairs" : "", (double)dt / 1e9, nth,
              (double)(clock_mono_ns() - t1) / 1e9, (double)(c1.user_ns - c0.user_ns) / 1e9,
              (double)(c1.sys_ns - c0.sys_ns) / 1e9, d->ncli, seed_records(d),
              d->stash_full ? 0.0 : (double)d->stashed / 1e6);
out:
    for (unsigned t = 1; t < nth; t++)
        if (parts[t]) {
            part_release(parts[t]);
            free(parts[t]);
        }
    if (rc == BS_ELIMIT)
        snprintf(errbuf, 512,
                 "a detection table reached its cap (%zu clients: detect.max_servers; a "
                 "thread's seed-pair records: detect.max_edges); narrow the time range",
                 d->ncli);
    else if (rc && !errbuf[0])
        snprintf(errbuf, 512, "store scan failed: %s", bs_strerror(rc));
    return rc;
}

/* ---- the server pass on several threads ---------------------------------------------------- */

/* Puts the edges from e0 on (this round's) in a canonical order: by server, first record, then
 * client address. The order the passes made them in depends on how the threads shared the
 * records; the graph's per-candidate cap and the expansion budget follow the edge order. */
struct eord {
    uint32_t server, ix;
    uint64_t first_ms;
    struct ipaddr client;
};

static int cmp_eord(const void *a, const void *b)
{
    const struct eord *x = a, *y = b;
    if (x->server != y->server)
        return x->server < y->server ? -1 : 1;
    if (x->first_ms != y->first_ms)
        return x->first_ms < y->first_ms ? -1 : 1;
    return ipaddr_cmp(&x->client, &y->client);
}

int detect_order_edges(struct dctx *d, size_t e0)
{
    size_t n = d->nedge - e0;
    if (n < 2)
        return 0;
    struct eord *o = malloc(n * sizeof *o);
    struct dedge *v = malloc(n * sizeof *v);
    uint32_t *map = malloc(n * sizeof *map);
    int rc = BS_ENOMEM;
    if (!o || !v || !map)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct dedge *e = &d->edge[e0 + i];
        o[i] = (struct eord){.server = e->server,
                             .ix = (uint32_t)i,
                             .first_ms = e->first_ms,
                             .client = d->cli[e->client].addr};
    }
    qsort(o, n, sizeof *o, cmp_eord);
    for (size_t k = 0; k < n; k++) {
        v[k] = d->edge[e0 + o[k].ix];
        map[o[k].ix] = (uint32_t)(e0 + k);
    }
    memcpy(d->edge + e0, v, n * sizeof *v);
    for (size_t i = 0; i < d->ntimes; i++)
        if (d->times[i].edge >= e0)
            d->times[i].edge = map[d->times[i].edge - e0];
    rc = 0;
out:
    free(o);
    free(v);
    free(map);
    return rc;
}

/* One thread of the server pass: the records of its share of the clients. Its edges, times
 * and service pairs are its own (the shares are disjoint by client, so are they), and so are
 * its copies of the servers' counters; the client table and the selected servers are read
 * only. */
struct spart {
    struct dctx *d;
    struct pass p;
    int rc;
};

static void *server_part_main(void *arg)
{
    struct spart *sp = arg;
    const struct dctx *d = sp->d;
    for (size_t i = 0; i < d->nchunks && !sp->rc; i++)
        sp->rc = detect_chunk_pass(sp->d, &sp->p, &d->chunks[i]);
    return NULL;
}

static void spart_release(struct dctx *q)
{
    free(q->buf);
    htab_release(&q->edge_ix);
    htab_release(&q->svc_pairs);
    free(q->edge);
    free(q->times);
    free(q->srv);
}

/* Appends part q's edges, times and service pairs to d and adds its counters of the round's
 * servers to d's. */
static int merge_spart(struct dctx *d, const struct dctx *q, uint32_t round)
{
    int rc;
    size_t off = d->nedge;
    if ((rc = dgrow_to((void **)&d->edge, &d->edge_cap, d->nedge + q->nedge, sizeof *d->edge)) ||
        (rc = dgrow_to((void **)&d->times, &d->times_cap, d->ntimes + q->ntimes, sizeof *d->times)))
        return rc;
    if (q->nedge)
        memcpy(d->edge + off, q->edge, q->nedge * sizeof *q->edge);
    d->nedge += q->nedge;
    for (size_t i = 0; i < q->ntimes; i++)
        d->times[d->ntimes++] =
            (struct dtime){.edge = (uint32_t)(q->times[i].edge + off), .t = q->times[i].t};
    const void *key;
    size_t it = 0;
    bool is_new;
    while ((it = htab_next(&q->svc_pairs, it, &key, NULL)))
        if (!htab_put(&d->svc_pairs, key, &is_new, &rc))
            return rc;
    for (size_t i = 0; i < d->nsrv; i++) {
        struct dsrv *s = &d->srv[i];
        const struct dsrv *t = &q->srv[i];
        if (s->round != round)
            continue;
        s->flows_fwd += t->flows_fwd;
        s->flows_rev += t->flows_rev;
        s->packets += t->packets;
        s->bytes += t->bytes;
        s->clients += t->clients;
        if (t->first_ms < s->first_ms)
            s->first_ms = t->first_ms;
        if (t->last_ms > s->last_ms)
            s->last_ms = t->last_ms;
    }
    return 0;
}

/* Pass 2 over the kept records on nth threads, each with its share of the clients; d is the
 * first thread's context. The per-pair connection-time budget is shared out evenly. */
int detect_server_pass_parts(struct dctx *d, const struct pass *p, unsigned nth)
{
    struct dctx *parts[STORE_SCAN_MAX_THREADS] = {d};
    struct spart sp[STORE_SCAN_MAX_THREADS];
    pthread_t tid[STORE_SCAN_MAX_THREADS];
    bool started[STORE_SCAN_MAX_THREADS] = {false};
    size_t max_times = d->max_times;
    int rc = 0;
    for (unsigned t = 1; t < nth; t++) {
        struct dctx *q = malloc(sizeof *q);
        if (!q) {
            nth = t;
            rc = BS_ENOMEM;
            break;
        }
        *q = *d; /* the shared tables are read only; the part's own are replaced below */
        detect_htab_empty(&q->edge_ix, &d->edge_ix);
        detect_htab_empty(&q->svc_pairs, &d->svc_pairs);
        q->edge = NULL;
        q->nedge = q->edge_cap = 0;
        q->buf = NULL;
        q->buf_cap = 0;
        q->times = NULL;
        q->ntimes = q->times_cap = 0;
        q->max_times = max_times / nth;
        q->srv_cap = d->nsrv;
        parts[t] = q;
        if (!(q->srv = malloc((d->nsrv ? d->nsrv : 1) * sizeof *q->srv))) {
            nth = t + 1;
            rc = BS_ENOMEM;
            break;
        }
        memcpy(q->srv, d->srv, d->nsrv * sizeof *q->srv);
    }
    d->max_times = d->ntimes + max_times / nth;
    for (unsigned t = 0; t < nth && !rc; t++) {
        sp[t] = (struct spart){.d = parts[t], .p = *p};
        sp[t].p.d = parts[t];
        sp[t].p.part = t;
        sp[t].p.nparts = nth;
        if (t && pthread_create(&tid[t], NULL, server_part_main, &sp[t]))
            rc = BS_ENOMEM;
        else
            started[t] = t > 0;
    }
    if (!rc)
        server_part_main(&sp[0]);
    for (unsigned t = 1; t < nth; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
    for (unsigned t = 0; t < nth && !rc; t++)
        rc = sp[t].rc;
    for (unsigned t = 1; t < nth && !rc; t++)
        rc = merge_spart(d, parts[t], p->round);
    for (unsigned t = 1; t < nth; t++)
        if (parts[t]) {
            spart_release(parts[t]);
            free(parts[t]);
        }
    d->max_times = max_times;
    return rc;
}
