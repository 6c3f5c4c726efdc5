/* detect_pass.c - what the passes do with each record: the client's statistics, the seed
 * pairs and UDP peers (pair pass), the selected servers' edges and services (server pass). */
#include "detect/detect_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hugemem.h"
#include "core/log.h"

/* ---- pass 1: clients and seed pairs -------------------------------------------------------- */

/* Does the record's client pair in this pass? In the client pass the initial seeds do (the
 * pass is round 0's pair pass too); after it, the seeds of the round being paired. */
static bool pair_client(const struct dctx *d, const struct pass *p, const struct drec *r)
{
    if (p->clients)
        return r->seed;
    return d->pair_bits[r->cl >> 3] & (1u << (r->cl & 7));
}

/* Is the server address a seed of the round being paired? (The server side of UDP records.)
 * A part of the client pass knows only its own clients, so it asks the seed list: an address
 * that is never a client drops out when the counts join the client table (scan_round). */
static bool is_seed_addr(const struct dctx *d, const struct pass *p, const struct ipaddr *a)
{
    if (ipaddr_is_v4(a)) { /* most are not: the round's seed_v4 filter says so first */
        uint32_t b = seed_v4_bit(ipaddr_v4(a));
        if (!((d->seed_v4[b >> 3] >> (b & 7)) & 1))
            return false;
    }
    if (p->clients)
        return detect_seeds_has(d->seeds, a);
    const uint32_t *ix = detect_client_find(d, a, client_hash(d, a));
    if (!ix)
        return false;
    uint32_t i = *ix & ~DCLI_IX_PAIR;
    return d->pair_bits[i >> 3] & (1u << (i & 7));
}

/* Counts the distinct high-port UDP peers of seeds (both sides: whichever end the orientation
 * made the client, both are peers of an overlay). The sets keep who was counted, so that the
 * parts' counts can be merged without counting a peer twice. */
static int udp_peer(struct dctx *d, const struct pass *p, const struct drec *r, bool pair)
{
    int rc = 0;
    bool is_new;
    uint64_t hcl = r->hc;
    if (pair) {
        uint64_t h = hash_mix64(hcl ^ hash_mix64(r->hs ^ 0x75));
        uint32_t *who = htab_put(&d->udp_seen, &h, &is_new, &rc);
        if (!who)
            return rc;
        if (is_new) {
            *who = r->cl;
            d->cli[r->cl].udp_peers++;
        }
    }
    if (is_seed_addr(d, p, &r->sa)) {
        uint64_t h = hash_mix64(r->hs ^ hash_mix64(hcl ^ 0x5a));
        struct ipaddr *who = htab_put(&d->udp_seen_srv, &h, &is_new, &rc);
        if (!who)
            return rc;
        if (is_new) {
            *who = r->sa;
            uint32_t *n = htab_put(&d->udp_srv, r->sa.b, &is_new, &rc);
            if (!n)
                return rc;
            (*n)++;
        }
    }
    return 0;
}

/* Logs record r of a seed pair in part d's log. */
static int log_pair(struct dctx *d, const struct drec *r)
{
    struct dpairlog *l = &d->plog[0];
    int rc;
    if (l->n >= d->cfg->max_edges)
        return BS_ELIMIT;
    uint64_t hp = hash_mix64(r->hs ^ hash_mix64(r->hc));
    struct dplog *e = detect_pairlog_next(l, hp);
    if (!e)
        return BS_ENOMEM;
    uint32_t pieces = rec_pieces(r->dur);
    *e = (struct dplog){
        .hp = hp,
        .minute = (uint32_t)(r->t / 60000),
        .sport = r->sport,
        .proto = r->proto,
        .bits = (uint8_t)((r->fwd ? (pieces > 3 ? 3 : pieces) : 0) | (pieces > 1 ? DPL_LONG : 0))};
    if (!r->v6) {
        e->sa = ipaddr_v4(&r->sa);
    } else {
        if (l->n6 >= UINT32_MAX)
            return BS_ELIMIT;
        if ((rc = dgrow((void **)&l->v6, &l->cap6, l->n6, sizeof *l->v6)))
            return rc;
        l->v6[l->n6] = r->sa;
        e->sa = (uint32_t)l->n6++;
        e->bits |= DPL_V6;
    }
    l->n++;
    return 0;
}

/* A seed's activity: the slots it was active in and its first and last record. Only seeds'
 * are read (the persistence of a seed pair is measured against its client's activity), so only
 * seeds' are kept: the client pass marks the initial seeds', each later pair pass its round's. */
static void seed_activity(struct dcli *c, const struct drec *r)
{
    mark_span(c->win, r->t, r->dur);
    if (!c->first_ms || r->t < c->first_ms)
        c->first_ms = r->t;
    if (r->t + r->dur > c->last_ms)
        c->last_ms = r->t + r->dur;
}

/* The run's statistics and the client's (client pass). Most records touch no client line: only
 * seeds' and telnet scans' do. */
static void client_record(struct dctx *d, const struct drec *r)
{
    d->flows++;
    d->sampling_hist[r->rate == 1 ? 0 : r->rate < 100 ? 1 : r->rate < 1000 ? 2 : 3]++;
    if (r->rate > d->sampling_max)
        d->sampling_max = r->rate;
    if (r->t < d->t_first)
        d->t_first = r->t;
    if (r->t > d->t_last)
        d->t_last = r->t;
    bool telnet_syn = r->fwd && r->proto == 6 && is_telnet(r->sport) && (r->flags & 0x17) == 0x02;
    if (!r->seed && !telnet_syn)
        return;
    struct dcli *c = &d->cli[r->cl];
    if (r->seed)
        seed_activity(c, r);
    if (telnet_syn && c->telnet_syn < UINT32_MAX)
        c->telnet_syn++;
}

static int pass1_record(const struct pass *p, const struct drec *r)
{
    struct dctx *d = p->d;
    int rc;
    if (p->clients)
        client_record(d, r);
    if (!p->pairs)
        return 0;
    bool pair = pair_client(d, p, r);
    if (pair && !p->clients)
        seed_activity(&d->cli[r->cl], r);
    if (r->proto == 17 && r->sport >= 1024 && r->cport >= 1024 && (rc = udp_peer(d, p, r, pair)))
        return rc;
    return pair ? log_pair(d, r) : 0;
}

static int pass1_records(const struct pass *p, const struct drec *v, size_t n)
{
    struct dctx *d = p->d;
    for (size_t j = 0; j < n + AHEAD; j++) {
        if (j < n && (p->clients ? v[j].seed : p->pairs)) /* the client's line, AHEAD early */
            __builtin_prefetch(&d->cli[v[j].cl]);
        int rc;
        if (j >= AHEAD && (rc = pass1_record(p, &v[j - AHEAD])))
            return rc;
    }
    return 0;
}

/* ---- judging the seed pairs -------------------------------------------------------------- */

struct dplog *detect_pairlog_next(struct dpairlog *l, uint64_t hp)
{
    struct dplchunk **head = &l->part[hp >> (64 - DPL_PART_BITS)], *c = *head;
    if (!c || c->n == DPL_CHUNK) {
        if (!l->nslabs || l->slab_used + sizeof *c > DPL_SLAB) {
            void *m;
            if (dgrow((void **)&l->slabs, &l->slabs_cap, l->nslabs, sizeof *l->slabs) ||
                !(m = hugemem_alloc(DPL_SLAB)))
                return NULL;
            l->slabs[l->nslabs++] = m;
            l->slab_used = 0;
        }
        c = (struct dplchunk *)((char *)l->slabs[l->nslabs - 1] + l->slab_used);
        l->slab_used += sizeof *c;
        c->next = *head;
        c->n = 0;
        *head = c;
    }
    return &c->e[c->n++];
}

void detect_pairlog_free(struct dpairlog *l)
{
    for (size_t b = 0; b < l->nslabs; b++)
        free(l->slabs[b]);
    free(l->slabs);
    free(l->v6);
    memset(l, 0, sizeof *l);
}

static int cmp_plog(const void *a, const void *b)
{
    const struct dplog *x = a, *y = b;
    return (x->hp > y->hp) - (x->hp < y->hp);
}

/* Appends the server key of logged record e to *v. */
static int append_skey(const struct dctx *d, const struct dplog *e, uint8_t (**v)[24], size_t *n,
                       size_t *cap)
{
    int rc = dgrow((void **)v, cap, *n, sizeof **v);
    if (rc)
        return rc;
    uint8_t *k = (*v)[(*n)++];
    memset(k, 0, 24);
    if (e->bits & DPL_V6) {
        memcpy(k, d->plog[e->log].v6[e->sa].b, 16);
    } else {
        struct ipaddr a;
        ipaddr_from_v4(&a, e->sa);
        memcpy(k, a.b, 16);
    }
    k[16] = (uint8_t)(e->sport >> 8);
    k[17] = (uint8_t)e->sport;
    k[18] = e->proto;
    return 0;
}

/* One thread of the judge: the partitions [p0, p1) of the logs. */
struct judge {
    const struct dctx *d;
    uint32_t p0, p1;
    uint8_t (*sel)[24], (*np)[24]; /* recurring pairs' and (sampled) every pair's server keys */
    size_t nsel, sel_cap, nnp, np_cap, npairs;
    int rc;
};

static void sort_bucket(struct dplog *v, size_t n)
{
    if (n > 48) {
        qsort(v, n, sizeof *v, cmp_plog);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* a bucket holds a handful of records: no calls */
        struct dplog e = v[i];
        size_t k = i;
        for (; k > 0 && v[k - 1].hp > e.hp; k--)
            v[k] = v[k - 1];
        v[k] = e;
    }
}

/* The pairs of one partition's records v[0..n) (tmp: room for n more): bucketed by the pair
 * hash's next 10 bits (one counting pass, one scatter), each bucket sorted by hash, so that a
 * pair's records end up side by side; each pair judged. (With 8 bits, a bucket of 10 M flows'
 * seed records held about 35, and most went to qsort: judging took 0.09 s, now 0.07.) */
static int judge_part(struct judge *j, struct dplog *v, struct dplog *tmp, size_t n)
{
    enum { SUB = 1024, SHIFT = 64 - DPL_PART_BITS - 10 };
    size_t start[SUB + 1] = {0};
    for (size_t i = 0; i < n; i++)
        start[((v[i].hp >> SHIFT) & (SUB - 1)) + 1]++;
    for (unsigned b = 1; b <= SUB; b++)
        start[b] += start[b - 1];
    for (size_t i = 0; i < n; i++)
        tmp[start[(v[i].hp >> SHIFT) & (SUB - 1)]++] = v[i];
    /* (start[b] is now where bucket b ends.) */
    const struct dctx *d = j->d;
    int rc = 0;
    for (unsigned b = 0; b < SUB && !rc; b++) {
        size_t from = b ? start[b - 1] : 0, to = start[b];
        sort_bucket(tmp + from, to - from);
        for (size_t i = from; i < to && !rc;) {
            size_t k = i;
            unsigned fwd = 0;
            bool other = false;
            for (; k < to && tmp[k].hp == tmp[i].hp; k++) {
                fwd += tmp[k].bits & DPL_FWD;
                other |= (tmp[k].bits & DPL_LONG) || tmp[k].minute != tmp[i].minute;
            }
            j->npairs++;
            if (fwd >= 3 && other)
                rc = append_skey(d, &tmp[i], &j->sel, &j->nsel, &j->sel_cap);
            if (!rc && !d->timing) /* the sampled rule counts seed clients per server */
                rc = append_skey(d, &tmp[i], &j->np, &j->nnp, &j->np_cap);
            i = k;
        }
    }
    return rc;
}

static void *judge_main(void *arg)
{
    struct judge *j = arg;
    const struct dctx *d = j->d;
    struct dplog *v = NULL, *tmp = NULL; /* (reused: sized for the largest partition) */
    size_t cap = 0;
    for (uint32_t p = j->p0; p < j->p1 && !j->rc; p++) {
        size_t n = 0;
        for (unsigned l = 0; l < d->nplog; l++)
            for (const struct dplchunk *c = d->plog[l].part[p]; c; c = c->next)
                n += c->n;
        if (!n)
            continue;
        if (n > cap) {
            free(v);
            free(tmp);
            cap = n + n / 4;
            v = malloc(cap * sizeof *v);
            tmp = malloc(cap * sizeof *tmp);
            if (!v || !tmp) {
                j->rc = BS_ENOMEM;
                break;
            }
        }
        size_t m = 0;
        for (unsigned l = 0; l < d->nplog; l++)
            for (const struct dplchunk *c = d->plog[l].part[p]; c; c = c->next)
                for (uint64_t i = 0; i < c->n; i++) {
                    v[m] = c->e[i];
                    v[m++].log = (uint8_t)l;
                }
        j->rc = judge_part(j, v, tmp, n);
    }
    free(v);
    free(tmp);
    return NULL;
}

/* Appends n server keys k to the list *v (length *len, capacity *cap). */
static int append_keys(uint8_t (**v)[24], size_t *len, size_t *cap, uint8_t (*k)[24], size_t n)
{
    if (!n)
        return 0;
    int rc = dgrow_to((void **)v, cap, *len + n, sizeof **v);
    if (rc)
        return rc;
    memcpy(*v + *len, k, n * sizeof *k);
    *len += n;
    return 0;
}

int detect_pairs_judge(struct dctx *d)
{
    size_t total = 0;
    for (unsigned l = 0; l < d->nplog; l++)
        total += d->plog[l].n;
    /* On the scan threads when there is much to judge, each a range of the buckets. */
    unsigned nth = d->cfg->threads ? d->cfg->threads : 1;
    if (nth > STORE_SCAN_MAX_THREADS)
        nth = STORE_SCAN_MAX_THREADS;
    if (total < 100000)
        nth = 1;
    struct judge j[STORE_SCAN_MAX_THREADS];
    pthread_t tid[STORE_SCAN_MAX_THREADS];
    bool started[STORE_SCAN_MAX_THREADS] = {false};
    int rc = 0;
    for (unsigned t = 0; t < nth; t++) {
        j[t] = (struct judge){.d = d, .p0 = t * DPL_PARTS / nth, .p1 = (t + 1) * DPL_PARTS / nth};
        if (t && !rc && pthread_create(&tid[t], NULL, judge_main, &j[t]))
            rc = BS_ENOMEM;
        else
            started[t] = t > 0 && !rc;
    }
    if (!rc)
        judge_main(&j[0]);
    d->npairs = 0;
    for (unsigned t = 0; t < nth; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        if (started[t] || !t) {
            if (!rc && !(rc = j[t].rc) &&
                !(rc = append_keys(&d->sel, &d->nsel, &d->sel_cap, j[t].sel, j[t].nsel)))
                rc = append_keys(&d->newpair, &d->nnew, &d->new_cap, j[t].np, j[t].nnp);
            d->npairs += j[t].npairs;
            free(j[t].sel);
            free(j[t].np);
        }
    }
    for (unsigned l = 0; l < d->nplog; l++)
        detect_pairlog_free(&d->plog[l]);
    d->nplog = 0;
    return rc;
}

int detect_cmp_skey(const void *a, const void *b)
{
    return memcmp(a, b, 19);
}

/* Selects the servers of the round's recurring seed pairs, in server-key order (the order of
 * the logs depends on the hash seed and on which part read what). */
int detect_select_pairs(struct dctx *d, uint32_t round)
{
    uint64_t t0 = clock_mono_ns();
    int rc = detect_pairs_judge(d);
    uint64_t dt = clock_mono_ns() - t0;
    d->features_ns += dt;
    log_debug("detect", "round %u: %zu seed pairs judged in %.3f s, %zu recur", round, d->npairs,
              (double)dt / 1e9, d->nsel);
    if (rc)
        goto out;
    if (d->nsel)
        qsort(d->sel, d->nsel, sizeof *d->sel, detect_cmp_skey);
    for (size_t i = 0; i < d->nsel && !rc; i++)
        if (!i || memcmp(d->sel[i], d->sel[i - 1], 19))
            rc = detect_select_server(d, d->sel[i], round);
out:
    free(d->sel);
    d->sel = NULL;
    d->nsel = d->sel_cap = 0;
    return rc;
}

/* ---- pass 2: the selected servers' records ------------------------------------------------- */

/* Record r of selected server sv into the server and its edge ed. */
static int collect_record(struct dctx *d, uint32_t round, const struct drec *r, uint32_t sv,
                          uint32_t ed)
{
    uint32_t cl = r->cl;
    int rc;
    uint64_t t = r->t, end = t + r->dur, pk = r->packets, by = r->bytes;
    struct dsrv *s = &d->srv[sv];
    const struct dcli *c = &d->cli[cl];
    struct dedge *e = &d->edge[ed];
    s->packets += pk;
    s->bytes += by;
    if (t < s->first_ms)
        s->first_ms = t;
    if (end > s->last_ms)
        s->last_ms = end;
    if (t < e->first_ms)
        e->first_ms = t;
    if (end > e->last_ms)
        e->last_ms = end;
    mark_span(e->win, t, r->dur);
    if (r->rate > 1)
        e->sampled++;
    if (!r->fwd) {
        s->flows_rev++;
        e->rev_flows++;
        if (r->proto == 6 && (r->flags & 0x04))
            e->rst_rev++;
        return 0;
    }
    s->flows_fwd++;
    e->flows++;
    e->packets += pk;
    /* A long record is a long session by itself: the pieces after its first continue it, as
     * the records of one client port would. */
    uint32_t pieces = rec_pieces(r->dur);
    e->pieces = e->pieces > UINT32_MAX - pieces ? UINT32_MAX : e->pieces + pieces;
    e->port_runs =
        e->port_runs > UINT32_MAX - (pieces - 1) ? UINT32_MAX : e->port_runs + pieces - 1;
    if (pk <= 3 && by <= 120 * pk)
        e->tiny++;
    if (r->proto == 6 && (r->flags & 0x17) == 0x02)
        e->syn_only++;
    /* A record that continues the client port of the pair's previous record a minute or more
     * later is part of one long session (a keep-alive connection split by the exporter). */
    if (e->flows > 1 && r->cport == e->last_cport &&
        (t > e->last_t ? t - e->last_t : e->last_t - t) >= 60000)
        e->port_runs++;
    e->last_cport = r->cport;
    e->last_t = t;
    /* Connection times of the initial seeds' pairs, unsampled only, for the beacon score. A
     * pair's first time is its first_ms: times are stored from its second record on, when
     * the first is stored too. */
    if (round == 0 && (c->flags & DCLI_SEED) && r->rate == 1 && e->flows >= 2 &&
        e->ntimes < d->cfg->max_pair_times && d->ntimes + 2 <= d->max_times) {
        if ((rc = dgrow((void **)&d->times, &d->times_cap, d->ntimes + 1, sizeof *d->times)))
            return rc;
        if (e->flows == 2 && !e->sampled) {
            d->times[d->ntimes++] = (struct dtime){.edge = ed, .t = e->first_ms};
            e->ntimes++;
        }
        d->times[d->ntimes++] = (struct dtime){.edge = ed, .t = t};
        e->ntimes++;
    }
    return 0;
}

/* The selected server of r in this round, or UINT32_MAX. */
static uint32_t selected(const struct dctx *d, uint32_t round, const struct drec *r)
{
    const uint32_t *ix = htab_find_prehashed(&d->server_ix, r->hs);
    if (!ix)
        return UINT32_MAX;
    const struct dsrv *s = &d->srv[*ix];
    if (s->round != round || s->port != r->sport || s->proto != r->proto ||
        ipaddr_cmp(&s->addr, &r->sa))
        return UINT32_MAX;
    return *ix;
}

/* What the server pass learns of a record before collecting it, in three steps a few records
 * apart, each prefetching what the next touches: whether it is this thread's and selected (the
 * edge's slot and the service pair's slot are prefetched), then its edge (the edge itself is
 * prefetched), then the record is collected. Edges are made in record order, as one step would
 * make them. */
struct ahead2 {
    uint32_t sv, ed;     /* selected server and its edge, or UINT32_MAX */
    uint64_t he, hp;     /* hashes of the edge's key and of the service pair (hp: see below) */
    struct dsvc_pair pr; /* the service pair, when svc_tracked */
    bool mine, svc_tracked, edge_new;
};

static void pass2_look(const struct pass *p, const struct drec *r, struct ahead2 *a)
{
    struct dctx *d = p->d;
    a->sv = a->ed = UINT32_MAX;
    a->svc_tracked = false;
    a->mine = svc_maybe(d, r->hsvc) && my_client(p, r->cl);
    if (!a->mine)
        return;
    if ((a->sv = selected(d, p->round, r)) != UINT32_MAX) {
        a->he = detect_edge_key(d, r->cl, a->sv);
        htab_prefetch(&d->edge_ix, a->he);
    }
    /* A distinct client-server pair of a service tracked in this round (popularity). For a
     * selected server the pair is new exactly when its edge is (both are made in this pass
     * only: a server is selected in one round, and its service is tracked in that round or
     * was before it), so most of its records never look the pair up; its hash is made only
     * then (hp is made here only for the other servers of the service). */
    const struct dsvc *s = htab_find_prehashed(&d->svc_ix, r->hsvc);
    if (s && s->round == p->round) {
        a->pr = (struct dsvc_pair){.client = r->cl, .svc = s->no, .server_hash = r->hs};
        a->svc_tracked = true;
        if (a->sv == UINT32_MAX) {
            a->hp = htab_hash(&d->svc_pairs, &a->pr);
            htab_prefetch(&d->svc_pairs, a->hp);
        }
    }
}

static int pass2_records(const struct pass *p, const struct drec *v, size_t n)
{
    enum { STEP = AHEAD / 2, RING2 = 2 * AHEAD }; /* record j's steps at j % RING2 */
    struct dctx *d = p->d;
    struct ahead2 ring[RING2];
    int rc;
    for (size_t j = 0; j < n + 2 * STEP; j++) {
        if (j < n)
            pass2_look(p, &v[j], &ring[j % RING2]);
        if (j >= STEP && j - STEP < n) { /* the edge, made when new, then prefetched */
            struct ahead2 *a = &ring[(j - STEP) % RING2];
            if (a->sv != UINT32_MAX) {
                if ((rc = detect_edge_of(d, v[j - STEP].cl, a->sv, a->he, &a->ed, &a->edge_new)))
                    return rc;
                __builtin_prefetch(&d->edge[a->ed]);
                __builtin_prefetch(&d->cli[v[j - STEP].cl]);
            }
        }
        if (j < 2 * STEP)
            continue;
        size_t i = j - 2 * STEP;
        const struct ahead2 *a = &ring[i % RING2];
        if (!a->mine)
            continue;
        if (a->sv != UINT32_MAX && (rc = collect_record(d, p->round, &v[i], a->sv, a->ed)))
            return rc;
        if (!a->svc_tracked || (a->sv != UINT32_MAX && !a->edge_new))
            continue;
        bool is_new;
        uint64_t hp = a->sv == UINT32_MAX ? a->hp : htab_hash(&d->svc_pairs, &a->pr);
        rc = 0;
        if (!htab_put_h(&d->svc_pairs, &a->pr, hp, &is_new, &rc))
            return rc;
    }
    return 0;
}

int detect_pass_records(const struct pass *p, const struct drec *v, size_t n)
{
    return p->clients || p->pairs ? pass1_records(p, v, n) : pass2_records(p, v, n);
}
