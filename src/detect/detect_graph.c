/* detect_graph.c - after scoring: candidates linked to the addresses they moved from, the graph
 * edges of the candidates, and the seeds of each candidate by where they came from. */
#include "detect/detect_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Links a candidate to an earlier one on the same port whose seed clients it shares (a C&C
 * that moved keeps its bots): Jaccard overlap >= 0.5, and the earlier one's last record before
 * the later one's first (one window of slack). */
int detect_link_moves(struct dctx *d, struct detect_result *out)
{
    size_t n = out->ncand;
    if (n < 2)
        return 0;
    uint32_t **sets = calloc(n, sizeof *sets);
    size_t *lens = calloc(n, sizeof *lens);
    uint32_t *cand_of = malloc(d->nsrv * sizeof *cand_of);
    int rc = BS_ENOMEM;
    if (!sets || !lens || !cand_of)
        goto out;
    memset(cand_of, 0xff, d->nsrv * sizeof *cand_of);
    for (size_t i = 0; i < n; i++) {
        cand_of[out->cand[i].server] = (uint32_t)i;
        if (!(sets[i] = malloc((out->cand[i].seed_clients + 1) * sizeof **sets)))
            goto out;
    }
    for (size_t i = 0; i < d->nedge; i++) {
        const struct dedge *e = &d->edge[i];
        uint32_t ci = cand_of[e->server];
        if (ci == UINT32_MAX || !(d->cli[e->client].flags & DCLI_SEED))
            continue;
        if (lens[ci] < out->cand[ci].seed_clients)
            sets[ci][lens[ci]++] = e->client;
    }
    for (size_t i = 0; i < n; i++)
        qsort(sets[i], lens[i], sizeof **sets, cmp_u32);
    for (size_t b = 0; b < n; b++) {
        struct detect_candidate *cb = &out->cand[b];
        double best = 0;
        for (size_t a = 0; a < n; a++) {
            const struct detect_candidate *ca = &out->cand[a];
            if (a == b || ca->port != cb->port || ca->proto != cb->proto ||
                !ipaddr_cmp(&ca->addr, &cb->addr) || ca->last_ms > cb->first_ms + cb->window_ms ||
                ca->first_ms >= cb->first_ms)
                continue;
            size_t x = 0, y = 0, common = 0;
            while (x < lens[a] && y < lens[b]) {
                if (sets[a][x] == sets[b][y]) {
                    common++;
                    x++;
                    y++;
                } else if (sets[a][x] < sets[b][y]) {
                    x++;
                } else {
                    y++;
                }
            }
            size_t uni = lens[a] + lens[b] - common;
            double j = uni ? (double)common / (double)uni : 0.0;
            if (j >= 0.5 && j > best) {
                best = j;
                cb->has_previous = true;
                cb->previous = ca->addr;
                cb->previous_overlap = round(j * 1000.0) / 1000.0;
            }
        }
    }
    rc = 0;
out:
    if (sets)
        for (size_t i = 0; i < n; i++)
            free(sets[i]);
    free(sets);
    free(lens);
    free(cand_of);
    return rc;
}

int detect_collect_edges(struct dctx *d, struct detect_result *out)
{
    uint32_t *cand_of = malloc(d->nsrv * sizeof *cand_of);
    uint32_t *kept = calloc(out->ncand ? out->ncand : 1, sizeof *kept);
    if (!cand_of || !kept) {
        free(cand_of);
        free(kept);
        return BS_ENOMEM;
    }
    memset(cand_of, 0xff, d->nsrv * sizeof *cand_of);
    for (size_t i = 0; i < out->ncand; i++)
        cand_of[out->cand[i].server] = (uint32_t)i;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < d->nedge; i++) {
        const struct dedge *e = &d->edge[i];
        uint32_t ci = cand_of[e->server];
        if (ci == UINT32_MAX || kept[ci] >= d->cfg->graph_edges_max)
            continue;
        if (out->nedges == cap) {
            cap = cap ? 2 * cap : 256;
            struct detect_edge *v = realloc(out->edges, cap * sizeof *v);
            if (!v) {
                rc = BS_ENOMEM;
                break;
            }
            out->edges = v;
        }
        const struct dsrv *s = &d->srv[e->server];
        const struct dcli *c = &d->cli[e->client];
        out->edges[out->nedges++] = (struct detect_edge){
            .client = c->addr,
            .server = s->addr,
            .port = s->port,
            .proto = s->proto,
            .seed = (c->flags & DCLI_SEED) != 0,
            .flows = (uint64_t)e->flows + e->rev_flows,
            .first_ms = e->first_ms,
            .last_ms = e->last_ms,
        };
        kept[ci]++;
    }
    free(cand_of);
    free(kept);
    return rc;
}

void detect_count_seed_sources(const struct dctx *d, struct detect_result *out)
{
    uint32_t *cand_of = malloc(d->nsrv * sizeof *cand_of);
    if (!cand_of)
        return;
    memset(cand_of, 0xff, d->nsrv * sizeof *cand_of);
    for (size_t i = 0; i < out->ncand; i++)
        cand_of[out->cand[i].server] = (uint32_t)i;
    for (size_t i = 0; i < d->nedge; i++) {
        const struct dedge *e = &d->edge[i];
        uint32_t ci = cand_of[e->server];
        const struct dcli *c = &d->cli[e->client];
        if (ci == UINT32_MAX || !(c->flags & DCLI_SEED))
            continue;
        unsigned src = (c->flags & DCLI_EXPANDED) ? SEED_EXPANSION : SEED_SCANNER;
        if (!(c->flags & DCLI_EXPANDED) && d->seeds && d->seeds->n) {
            const uint32_t *ix = htab_find(&d->seeds->index, c->addr.b);
            if (ix)
                src = d->seeds->v[*ix].source;
        }
        out->cand[ci].seeds_by_source[src]++;
    }
    free(cand_of);
}
