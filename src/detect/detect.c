/* detect.c - C&C detection: the passes over the store that fill the client, server and edge
 * tables (detect.h gives the model, detect_int.h the passes). Scoring is in detect_score.c,
 * output in detect_out.c. */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/hll.h"
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

#define HLL_P 14

/* Hash of a server key (address, port, protocol; 19 bytes): one multiply-mix for IPv4, the
 * byte hash for IPv6. Servers are known by it in the tables (a 64-bit hash: the chance of two
 * servers of one run sharing it is negligible, and pass 2 compares the key anyway). */
static inline uint64_t skey_hash(const struct dctx *d, const uint8_t skey[19])
{
    static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(skey, v4map, 12)) {
        uint64_t x = (uint64_t)skey[12] << 56 | (uint64_t)skey[13] << 48 |
                     (uint64_t)skey[14] << 40 | (uint64_t)skey[15] << 32 |
                     (uint64_t)skey[16] << 16 | (uint64_t)skey[17] << 8 | skey[18];
        return hash_mix64(x ^ d->hseed);
    }
    return hash_bytes(skey, 19, d->hseed);
}

/* Hash of a server key's service: its /24 (IPv4) or /48 (IPv6), port and protocol. */
static inline uint64_t svc_hash(const struct dctx *d, const uint8_t skey[19])
{
    uint8_t key[19];
    memcpy(key, skey, 19);
    struct ipaddr a;
    memcpy(a.b, key, 16);
    ipaddr_mask(&a, ipaddr_is_v4(&a) ? 120 : 48);
    memcpy(key, a.b, 16);
    return hash_mix64(skey_hash(d, key) ^ 0x9e3779b97f4a7c15ull);
}

/* The services filter: one bit per service hash's top 16 bits. */
static inline bool svc_maybe(const struct dctx *d, uint64_t hsvc)
{
    uint32_t bit = (uint32_t)(hsvc >> 48);
    return d->svc_filter[bit >> 3] & (1u << (bit & 7));
}

/* Selects the server of key skey for collection in `round` (no-op when already selected). */
static int select_server(struct dctx *d, const uint8_t skey[19], uint32_t round)
{
    bool is_new;
    int rc = 0;
    uint64_t hs = skey_hash(d, skey);
    uint32_t *ix = htab_put(&d->server_ix, &hs, &is_new, &rc);
    if (!ix)
        return rc;
    if (!is_new)
        return 0;
    if ((rc = vec_grow((void **)&d->srv, &d->srv_cap, d->nsrv, sizeof *d->srv)))
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

static int edge_of(struct dctx *d, uint32_t cl, uint32_t sv, uint32_t *out)
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
    return 0;
}

const uint64_t detect_scale_ms[DSCALES] = {60000, 600000, 3600000, 86400000};

/* The slot bits of time t at each width (constant divisors: multiplications, not divisions). */
static inline void slot_bits(uint64_t t, uint64_t bits[DSCALES])
{
    _Static_assert(DSCALES == 4, "one line per width");
    bits[0] = UINT64_C(1) << ((t / 60000) & 63);
    bits[1] = UINT64_C(1) << ((t / 600000) & 63);
    bits[2] = UINT64_C(1) << ((t / 3600000) & 63);
    bits[3] = UINT64_C(1) << ((t / 86400000) & 63);
}

static inline void mark_slots(uint64_t win[DSCALES], const uint64_t bits[DSCALES])
{
    for (int k = 0; k < DSCALES; k++)
        win[k] |= bits[k];
}

static bool is_telnet(uint16_t p)
{
    return p == 23 || p == 2323;
}

/* ---- records from the store --------------------------------------------------------------- */

/* What building a record needs ahead of time: its orientation and addresses, and the client
 * table slot, which is prefetched RING_A records ahead of the lookup. */
struct fkeys {
    struct ipaddr ca;
    uint64_t hc;
    bool fwd, skip;
};

#define RING   16
#define RING_A 8
#define AHEAD  8 /* records whose table slots the passes prefetch */

static void flow_orient(const struct dctx *d, const struct store_block *b, size_t i,
                        struct fkeys *k, struct drec *r)
{
    uint64_t t = b->start_ms[i];
    k->skip = t < d->cfg->t_lo || t > d->cfg->t_hi;
    if (k->skip)
        return;
    uint8_t proto = b->proto[i];
    uint16_t sp = b->src_port[i], dp = b->dst_port[i];
    bool fwd = detect_forward(proto, sp, dp, b->tcp_flags[i]);
    const struct store_addr_col *cc = fwd ? &b->src : &b->dst, *sc = fwd ? &b->dst : &b->src;
    if (cc->v4)
        ipaddr_from_v4(&k->ca, cc->v4[i]);
    else
        k->ca = cc->full[i];
    if (sc->v4)
        ipaddr_from_v4(&r->sa, sc->v4[i]);
    else
        r->sa = sc->full[i];
    k->fwd = r->fwd = fwd;
    r->t = t;
    r->packets = b->packets[i];
    r->bytes = b->bytes[i];
    r->rate = b->sampling[i] ? b->sampling[i] : 1;
    r->proto = proto;
    r->flags = b->tcp_flags[i];
    r->cport = fwd ? sp : dp;
    r->sport = fwd ? dp : sp;
    if (proto != 6 && proto != 17 && proto != 132)
        r->sport = r->cport = 0;
    uint8_t skey[19];
    memcpy(skey, r->sa.b, 16);
    skey[16] = (uint8_t)(r->sport >> 8);
    skey[17] = (uint8_t)r->sport;
    skey[18] = proto;
    r->hs = skey_hash(d, skey);
    r->hsvc = svc_hash(d, skey);
    k->hc = htab_hash(&d->client_ix, k->ca.b);
}

/* The block's records into out[] (skipping those outside the time range): with `clients`, new
 * clients enter the table; otherwise a client the first pass did not see is skipped. */
static int block_records(struct dctx *d, const struct store_block *b, bool clients,
                         struct drec *out, size_t *nout)
{
    struct fkeys ring[RING];
    size_t n = b->n, m = 0;
    for (size_t j = 0; j < n + RING_A; j++) {
        if (j < n) {
            struct fkeys *k = &ring[j % RING];
            flow_orient(d, b, j, k, &out[j]);
            if (!k->skip)
                htab_prefetch(&d->client_ix, k->hc);
        }
        if (j < RING_A)
            continue;
        size_t i = j - RING_A;
        const struct fkeys *k = &ring[i % RING];
        if (k->skip)
            continue;
        struct drec *r = &out[m];
        if (m != i)
            *r = out[i];
        bool is_new;
        int rc = 0;
        uint32_t *ix;
        if (clients) {
            if (!(ix = htab_put_h(&d->client_ix, k->ca.b, k->hc, &is_new, &rc)))
                return rc;
            if (is_new) {
                if (d->ncli >= DCLI_IX_PAIR)
                    return BS_ELIMIT;
                if ((rc = vec_grow((void **)&d->cli, &d->cli_cap, d->ncli, sizeof *d->cli)))
                    return rc;
                struct dcli *c = &d->cli[d->ncli];
                memset(c, 0, sizeof *c);
                c->addr = k->ca;
                c->hc = k->hc;
                *ix = (uint32_t)d->ncli++;
                if (d->seeds && detect_seeds_has(d->seeds, &k->ca)) {
                    c->flags |= DCLI_SEED;
                    *ix |= DCLI_IX_PAIR;
                }
            }
        } else if (!(ix = htab_find(&d->client_ix, k->ca.b))) {
            continue; /* not seen by the first pass: the store changed under us */
        }
        r->cl = *ix & ~DCLI_IX_PAIR;
        r->seed = (*ix & DCLI_IX_PAIR) != 0;
        if (clients) { /* population estimates (client addresses: parts number them apart) */
            hll_add(d->hll_srv, HLL_P, r->hs);
            hll_add(d->hll_edge, HLL_P, hash_mix64(r->hs ^ k->hc));
        }
        m++;
    }
    *nout = m;
    return 0;
}

/* ---- pass 1: clients and seed pairs -------------------------------------------------------- */

uint32_t detect_pair_merge(uint32_t a, uint32_t b)
{
    uint32_t n = (a & PS_COUNT) + (b & PS_COUNT);
    bool other = ((a | b) & PS_OTHER) || (a & ~0xfu) != (b & ~0xfu);
    return (a & ~0xfu) | (other ? PS_OTHER : 0) | (n > 3 ? 3 : n);
}

struct pass {
    struct dctx *d;
    uint32_t round;  /* seeds and servers of this round */
    bool clients;    /* the client pass: fill the client table and keep the records */
    bool pairs;      /* track seed pairs (the client pass does when d->fused); else pass 2 */
    unsigned part;   /* pass 2 on several threads: this thread's share of the clients */
    unsigned nparts; /* (0 or 1: every client) */
};

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
    if (p->clients)
        return detect_seeds_has(d->seeds, a);
    const uint32_t *ix = htab_find(&d->client_ix, a->b);
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
    uint64_t hcl = d->cli[r->cl].hc;
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

static inline uint64_t pair_hash(const struct dctx *d, const struct drec *r)
{
    return hash_mix64(r->hs ^ hash_mix64(d->cli[r->cl].hc));
}

static inline void skey_of(const struct drec *r, uint8_t skey[24])
{
    memset(skey, 0, 24);
    memcpy(skey, r->sa.b, 16);
    skey[16] = (uint8_t)(r->sport >> 8);
    skey[17] = (uint8_t)r->sport;
    skey[18] = r->proto;
}

/* The client's statistics (client pass). */
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
    struct dcli *c = &d->cli[r->cl];
    uint64_t bits[DSCALES];
    slot_bits(r->t, bits);
    mark_slots(c->win, bits);
    if (!c->first_ms || r->t < c->first_ms)
        c->first_ms = r->t;
    if (r->t > c->last_ms)
        c->last_ms = r->t;
    if (r->fwd && r->proto == 6 && is_telnet(r->sport) && (r->flags & 0x17) == 0x02 &&
        c->telnet_syn < UINT32_MAX)
        c->telnet_syn++;
}

static int pass1_record(const struct pass *p, const struct drec *r, uint64_t hp, uint64_t hq)
{
    struct dctx *d = p->d;
    int rc;
    if (p->clients)
        client_record(d, r);
    if (!p->pairs)
        return 0;
    bool pair = pair_client(d, p, r);
    if (r->proto == 17 && r->sport >= 1024 && r->cport >= 1024 && (rc = udp_peer(d, p, r, pair)))
        return rc;
    if (!pair)
        return 0;
    bool is_new;
    rc = 0;
    struct dpair *st = htab_put_h(&d->pairs, &hp, hq, &is_new, &rc);
    if (!st)
        return rc;
    uint64_t minute = r->t / 60000;
    if (is_new) {
        /* The server of each new pair is listed: the pair's key for selection, and the
         * sampled rule counts seed clients per server. */
        if (d->nnew >= UINT32_MAX)
            return BS_ELIMIT;
        if ((rc = vec_grow((void **)&d->newpair, &d->new_cap, d->nnew, sizeof *d->newpair)))
            return rc;
        skey_of(r, d->newpair[d->nnew]);
        st->st = PS_MINUTE(minute);
        st->np = (uint32_t)d->nnew++;
    } else if ((st->st & ~0xfu) != PS_MINUTE(minute)) {
        st->st |= PS_OTHER;
    }
    if (r->fwd && (st->st & PS_COUNT) < 3)
        st->st++;
    return 0;
}

static int pass1_records(const struct pass *p, const struct drec *v, size_t n)
{
    struct dctx *d = p->d;
    uint64_t hp[2 * AHEAD], hq[2 * AHEAD]; /* record j's at j % (2 * AHEAD) */
    for (size_t j = 0; j < n + AHEAD; j++) {
        if (j < n) { /* the client's record and the pair's slot, AHEAD records early */
            const struct drec *r = &v[j];
            if (p->clients)
                __builtin_prefetch(&d->cli[r->cl]);
            if (p->pairs && pair_client(d, p, r)) {
                size_t x = j % (2 * AHEAD);
                hp[x] = pair_hash(d, r);
                hq[x] = htab_hash(&d->pairs, &hp[x]);
                htab_prefetch(&d->pairs, hq[x]);
            }
        }
        if (j >= AHEAD) {
            size_t i = j - AHEAD;
            int rc = pass1_record(p, &v[i], hp[i % (2 * AHEAD)], hq[i % (2 * AHEAD)]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int cmp_skey(const void *a, const void *b)
{
    return memcmp(a, b, 19);
}

/* Selects the servers of the round's recurring seed pairs, in server-key order (the pair
 * table's order depends on its hash seed, and parts see the records in no fixed order). */
static int select_pairs(struct dctx *d, uint32_t round)
{
    uint8_t(*sel)[24] = NULL;
    size_t n = 0, cap = 0;
    const void *key;
    void *val;
    size_t it = 0;
    int rc = 0;
    while ((it = htab_next(&d->pairs, it, &key, &val))) {
        const struct dpair *st = val;
        if (!PS_RECURS(st->st))
            continue;
        if ((rc = vec_grow((void **)&sel, &cap, n, sizeof *sel)))
            goto out;
        memcpy(sel[n++], d->newpair[st->np], sizeof *sel);
    }
    qsort(sel, n, sizeof *sel, cmp_skey);
    for (size_t i = 0; i < n && !rc; i++)
        if (!i || memcmp(sel[i], sel[i - 1], 19))
            rc = select_server(d, sel[i], round);
out:
    free(sel);
    return rc;
}

/* ---- pass 2: the selected servers' records ------------------------------------------------- */

static int collect_record(struct dctx *d, uint32_t round, const struct drec *r, uint32_t sv)
{
    uint32_t ed, cl = r->cl;
    int rc;
    if ((rc = edge_of(d, cl, sv, &ed)))
        return rc;
    uint64_t t = r->t, pk = r->packets, by = r->bytes;
    struct dsrv *s = &d->srv[sv];
    const struct dcli *c = &d->cli[cl];
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
    uint64_t bits[DSCALES];
    slot_bits(t, bits);
    mark_slots(e->win, bits);
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
        if ((rc = vec_grow((void **)&d->times, &d->times_cap, d->ntimes + 1, sizeof *d->times)))
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
    const uint32_t *ix = htab_find(&d->server_ix, &r->hs);
    if (!ix)
        return UINT32_MAX;
    const struct dsrv *s = &d->srv[*ix];
    if (s->round != round || s->port != r->sport || s->proto != r->proto ||
        ipaddr_cmp(&s->addr, &r->sa))
        return UINT32_MAX;
    return *ix;
}

/* A distinct client-server pair of a service tracked in this round (popularity). */
static int service_pair(struct dctx *d, uint32_t round, const struct drec *r)
{
    const struct dsvc *s = htab_find(&d->svc_ix, &r->hsvc);
    if (!s || s->round != round)
        return 0;
    struct dsvc_pair pr = {.client = r->cl, .svc = s->no, .server_hash = r->hs};
    bool is_new;
    int rc = 0;
    return htab_put(&d->svc_pairs, &pr, &is_new, &rc) ? 0 : rc;
}

static int pass2_records(const struct pass *p, const struct drec *v, size_t n)
{
    struct dctx *d = p->d;
    uint32_t sv[2 * AHEAD]; /* record j's at j % (2 * AHEAD) */
    for (size_t j = 0; j < n + AHEAD; j++) {
        if (j < n) { /* selected? then the edge's slot, AHEAD records early */
            const struct drec *r = &v[j];
            size_t x = j % (2 * AHEAD);
            sv[x] = UINT32_MAX;
            if (svc_maybe(d, r->hsvc)) {
                sv[x] = selected(d, p->round, r);
                if (sv[x] != UINT32_MAX) {
                    uint64_t key = (uint64_t)r->cl << 32 | sv[x];
                    htab_prefetch(&d->edge_ix, htab_hash(&d->edge_ix, &key));
                }
            }
        }
        if (j < AHEAD)
            continue;
        size_t i = j - AHEAD;
        const struct drec *r = &v[i];
        if (!svc_maybe(d, r->hsvc))
            continue;
        int rc;
        uint32_t s = sv[i % (2 * AHEAD)];
        if (s != UINT32_MAX && (rc = collect_record(d, p->round, r, s)))
            return rc;
        if ((rc = service_pair(d, p->round, r)))
            return rc;
    }
    return 0;
}

static int pass_records(const struct pass *p, const struct drec *v, size_t n)
{
    return p->clients || p->pairs ? pass1_records(p, v, n) : pass2_records(p, v, n);
}

/* ---- running the passes ------------------------------------------------------------------- */

static const uint64_t detect_cols =
    STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_PACKETS) |
    STORE_COLBIT(STORE_COL_BYTES) | STORE_COLBIT(STORE_COL_SRC) | STORE_COLBIT(STORE_COL_DST) |
    STORE_COLBIT(STORE_COL_SRC_PORT) | STORE_COLBIT(STORE_COL_DST_PORT) |
    STORE_COLBIT(STORE_COL_PROTO) | STORE_COLBIT(STORE_COL_TCP_FLAGS) |
    STORE_COLBIT(STORE_COL_SAMPLING);

static void free_chunks(struct dctx *d)
{
    for (size_t i = 0; i < d->nslabs; i++)
        free(d->slabs[i]);
    free(d->slabs);
    d->slabs = NULL;
    d->nslabs = d->slabs_cap = 0;
    free(d->chunks);
    d->chunks = NULL;
    d->nchunks = d->chunks_cap = 0;
}

#define STASH_SLAB ((size_t)64 << 20)
#define STASH_PAGE ((size_t)2 << 20)

/* Chunks are carved from 64 MiB slabs in 2 MiB pages where the kernel allows: a few hundred
 * megabytes of records in 4 KiB pages took a page fault every 4 KiB, a fifth of the run. */
static struct drec *slab_alloc(struct dctx *d, size_t bytes)
{
    bytes = (bytes + 63) & ~(size_t)63;
    if (!d->nslabs || d->slab_used + bytes > d->slab_size) {
        size_t size =
            bytes > STASH_SLAB ? (bytes + STASH_PAGE - 1) & ~(STASH_PAGE - 1) : STASH_SLAB;
        if (vec_grow((void **)&d->slabs, &d->slabs_cap, d->nslabs, sizeof *d->slabs))
            return NULL;
        void *m = aligned_alloc(STASH_PAGE, size);
        if (!m)
            return NULL;
        (void)madvise(m, size, MADV_HUGEPAGE);
        d->slabs[d->nslabs++] = m;
        d->slab_used = 0;
        d->slab_size = size;
    }
    struct drec *v = (struct drec *)((char *)d->slabs[d->nslabs - 1] + d->slab_used);
    d->slab_used += bytes;
    return v;
}

/* A chunk for n records of block seq in part d's stash, or NULL when the stash is over its
 * budget (every part then stops keeping records; later passes read the store). */
static struct drec *stash_chunk(struct dctx *d, uint64_t seq, size_t n)
{
    struct dctx *o = d->owner ? d->owner : d;
    if (o->stash_full || d->stash_full)
        return NULL;
    if (atomic_fetch_add(&o->stashed, n) + n > o->stash_max ||
        vec_grow((void **)&d->chunks, &d->chunks_cap, d->nchunks, sizeof *d->chunks)) {
        d->stash_full = true;
        return NULL;
    }
    struct drec *v = slab_alloc(d, (n ? n : 1) * sizeof *v);
    if (!v) {
        d->stash_full = true;
        return NULL;
    }
    d->chunks[d->nchunks++] =
        (struct dchunk){.seq = seq, .arrival = atomic_fetch_add(&o->arrival, 1), .v = v, .n = 0};
    return v;
}

/* The scan callbacks' context: the parts (one per scan thread) of the client pass, or the one
 * context of a later pass that reads the store. */
struct scan_ctx {
    struct dctx **parts;
    const struct pass *pass;
};

static int on_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct scan_ctx *x = ctx;
    struct dctx *d = x->parts[thread];
    struct pass p = *x->pass;
    p.d = d;
    struct drec *v = p.clients ? stash_chunk(d, b->seq, b->n) : NULL;
    if (!v) {
        if (b->n > d->buf_cap) {
            struct drec *nb = realloc(d->buf, b->n * sizeof *nb);
            if (!nb) {
                d->rc = BS_ENOMEM;
                return 1;
            }
            d->buf = nb;
            d->buf_cap = b->n;
        }
        v = d->buf;
    }
    size_t n;
    int rc = block_records(d, b, p.clients, v, &n);
    if (!rc && v != d->buf)
        d->chunks[d->nchunks - 1].n = n;
    if (!rc)
        rc = pass_records(&p, v, n);
    if (rc) {
        d->rc = rc;
        return 1;
    }
    return 0;
}

static int cmp_chunk(const void *a, const void *b)
{
    const struct dchunk *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (x->arrival > y->arrival) - (x->arrival < y->arrival);
}

/* Merges part q's seed pairs and UDP peer sets into d (round 0's pair pass in the client
 * pass): a pair both saw gets the combined state, a peer both counted is uncounted once. The
 * clients are merged already (map: q's client index -> d's). */
static int merge_pairs(struct dctx *d, struct dctx *q, const uint32_t *map)
{
    const void *key;
    void *val;
    size_t it = 0;
    bool is_new;
    int rc = 0;
    while ((it = htab_next(&q->pairs, it, &key, &val))) {
        const struct dpair *qp = val;
        struct dpair *dp = htab_put(&d->pairs, key, &is_new, &rc);
        if (!dp)
            return rc;
        if (is_new) {
            if (d->nnew >= UINT32_MAX)
                return BS_ELIMIT;
            if ((rc = vec_grow((void **)&d->newpair, &d->new_cap, d->nnew, sizeof *d->newpair)))
                return rc;
            memcpy(d->newpair[d->nnew], q->newpair[qp->np], sizeof *d->newpair);
            *dp = (struct dpair){.st = qp->st, .np = (uint32_t)d->nnew++};
            continue;
        }
        dp->st = detect_pair_merge(dp->st, qp->st);
    }
    it = 0;
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

/* Merges the client-pass part q into d: its clients (remapping the records it kept), its
 * chunks and its counters. */
static int merge_part(struct dctx *d, struct dctx *q)
{
    uint32_t *map = malloc((q->ncli ? q->ncli : 1) * sizeof *map);
    if (!map)
        return BS_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < q->ncli && !rc; i++) {
        const struct dcli *c = &q->cli[i];
        bool is_new;
        uint32_t *ix = htab_put(&d->client_ix, c->addr.b, &is_new, &rc);
        if (!ix)
            break;
        if (is_new) {
            if (d->ncli >= DCLI_IX_PAIR) {
                rc = BS_ELIMIT;
                break;
            }
            if ((rc = vec_grow((void **)&d->cli, &d->cli_cap, d->ncli, sizeof *d->cli)))
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
    if (!rc)
        rc = merge_pairs(d, q, map);
    for (size_t i = 0; i < q->nchunks && !rc; i++) {
        struct dchunk *ch = &q->chunks[i];
        for (size_t j = 0; j < ch->n; j++)
            ch->v[j].cl = map[ch->v[j].cl];
        if ((rc = vec_grow((void **)&d->chunks, &d->chunks_cap, d->nchunks, sizeof *d->chunks)))
            break;
        d->chunks[d->nchunks++] = *ch;
    }
    q->nchunks = 0;
    for (size_t i = 0; i < q->nslabs && !rc; i++) { /* the slabs move with their chunks */
        if ((rc = vec_grow((void **)&d->slabs, &d->slabs_cap, d->nslabs + 1, sizeof *d->slabs)))
            break;
        /* (Nothing is carved after the client pass: d's slab bookkeeping may go stale.) */
        d->slabs[d->nslabs++] = q->slabs[i];
        q->slabs[i] = NULL;
    }
    free(map);
    if (rc)
        return rc;
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
    return 0;
}

static void part_release(struct dctx *q)
{
    htab_release(&q->client_ix);
    htab_release(&q->pairs);
    htab_release(&q->udp_seen);
    htab_release(&q->udp_seen_srv);
    htab_release(&q->udp_srv);
    free(q->newpair);
    free(q->cli);
    free_chunks(q);
    free(q->buf);
}

/* An empty table with src's sizes, cap and seed. */
static void empty_like(struct htab *dst, const struct htab *src)
{
    *dst = *src;
    dst->ctrl = NULL;
    dst->ent = NULL;
    dst->nslots = dst->n = 0;
}

/* The client pass (with seeds given, round 0's pair pass too): several scan threads, each with its
 * own client table and chunks (a part), merged into d in store order afterwards. The pairs and
 * everything after read the merged records, so the result does not depend on the threads. */
static int client_pass(struct dctx *d, char errbuf[512])
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
                                  .owner = d,
                                  .fused = d->fused,
                                  .t_first = UINT64_MAX};
        /* Same sizes and seeds as d's: the hashes agree. */
        empty_like(&parts[t]->client_ix, &d->client_ix);
        empty_like(&parts[t]->pairs, &d->pairs);
        empty_like(&parts[t]->udp_seen, &d->udp_seen);
        empty_like(&parts[t]->udp_seen_srv, &d->udp_seen_srv);
        empty_like(&parts[t]->udp_srv, &d->udp_srv);
    }
    struct pass p = {.d = d, .round = 0, .clients = true, .pairs = d->fused};
    struct scan_ctx x = {.parts = parts, .pass = &p};
    struct store_scan sc = {
        .t_lo = d->cfg->t_lo,
        .t_hi = d->cfg->t_hi,
        .cols = detect_cols,
        .threads = nth,
        .on_block = on_block,
        .ctx = &x,
    };
    uint64_t t0 = clock_mono_ns();
    rc = store_scan(d->store, &sc, NULL);
    if (rc == 1)
        for (unsigned t = 0; t < nth && rc == 1; t++)
            rc = parts[t]->rc ? parts[t]->rc : 1;
    for (unsigned t = 1; t < nth && !rc; t++)
        rc = merge_part(d, parts[t]);
    if (!rc && d->stash_full)
        free_chunks(d);
    else if (!rc)
        qsort(d->chunks, d->nchunks, sizeof *d->chunks, cmp_chunk);
    uint64_t dt = clock_mono_ns() - t0;
    d->scan_ns += dt;
    log_debug("detect", "client pass%s: %.3f s on %u threads, %zu clients, %zu seed pairs",
              d->fused ? " with round 0's pairs" : "", (double)dt / 1e9, nth, d->ncli, d->pairs.n);
out:
    for (unsigned t = 1; t < nth; t++)
        if (parts[t]) {
            part_release(parts[t]);
            free(parts[t]);
        }
    if (rc == BS_ELIMIT)
        snprintf(errbuf, 512, "the client table reached its cap (%zu clients: detect.max_servers)",
                 d->ncli);
    else if (rc && !errbuf[0])
        snprintf(errbuf, 512, "store scan failed: %s", bs_strerror(rc));
    return rc;
}

/* A pass after the client pass: over the kept records, or the store when they did not fit. */
static int run_pass(struct dctx *d, const struct pass *p, char errbuf[512])
{
    uint64_t t0 = clock_mono_ns();
    int rc = 0;
    if (!d->stash_full) {
        for (size_t i = 0; i < d->nchunks && !rc; i++)
            rc = pass_records(p, d->chunks[i].v, d->chunks[i].n);
    } else {
        struct dctx *parts[1] = {d};
        struct scan_ctx x = {.parts = parts, .pass = p};
        struct store_scan sc = {
            .t_lo = d->cfg->t_lo,
            .t_hi = d->cfg->t_hi,
            .cols = detect_cols,
            .threads = 1, /* store order: per-pair sessions follow time */
            .on_block = on_block,
            .ctx = &x,
        };
        d->rc = 0;
        rc = store_scan(d->store, &sc, NULL);
        if (rc == 1)
            rc = d->rc;
    }
    uint64_t dt = clock_mono_ns() - t0;
    d->scan_ns += dt;
    log_debug("detect", "round %u %s pass over %s: %.3f s, %zu seed pairs, %zu servers, %zu edges",
              p->round, p->pairs ? "pair" : "server", d->stash_full ? "the store" : "the records",
              (double)dt / 1e9, d->pairs.n, d->nsrv, d->nedge);
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
    qsort(d->newpair, d->nnew, sizeof *d->newpair, cmp_skey);
    for (size_t i = 0; i < d->nnew;) {
        size_t j = i + 1;
        while (j < d->nnew && !memcmp(d->newpair[j], d->newpair[i], 19))
            j++;
        int rc;
        if (j - i >= 3 && (rc = select_server(d, d->newpair[i], round)))
            return rc;
        i = j;
    }
    return 0;
}

/* Prepares pass 1 of round: an empty pair table and the round's seeds in pair_bits. */
static int reset_pairs(struct dctx *d, uint32_t round)
{
    htab_release(&d->pairs);
    memset(d->svc_filter, 0, sizeof d->svc_filter);
    free(d->pair_bits);
    if (!(d->pair_bits = calloc(d->ncli / 8 + 1, 1)))
        return BS_ENOMEM;
    for (size_t i = 0; i < d->ncli; i++) {
        const struct dcli *c = &d->cli[i];
        if ((c->flags & DCLI_SEED) && c->seed_round == round)
            d->pair_bits[i >> 3] |= (uint8_t)(1u << (i & 7));
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
    if ((rc = select_pairs(d, round)) || (rc = select_by_fanin(d, round))) {
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
        const uint32_t *ix = htab_find(&d->client_ix, key);
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
    htab_release(&d->client_ix);
    htab_release(&d->edge_ix);
    htab_release(&d->svc_ix);
    htab_release(&d->svc_pairs);
    htab_release(&d->pairs);
    free(d->pair_bits);
    free_chunks(d);
    free(d->buf);
    htab_release(&d->udp_seen);
    htab_release(&d->udp_seen_srv);
    htab_release(&d->udp_srv);
    free(d->srv);
    free(d->cli);
    free(d->edge);
    free(d->times);
    free(d->newpair);
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
    htab_init(&d->server_ix, 8, sizeof(uint32_t), cfg->max_servers, seed);
    htab_init(&d->client_ix, 16, sizeof(uint32_t), cfg->max_clients, seed ^ 1);
    htab_init(&d->edge_ix, 8, sizeof(uint32_t), cfg->max_edges, seed ^ 2);
    htab_init(&d->svc_ix, 8, sizeof(struct dsvc), cfg->max_servers, seed ^ 3);
    htab_init(&d->svc_pairs, sizeof(struct dsvc_pair), 0, cfg->max_edges, seed ^ 4);
    /* Pair hashes are already uniform: the table rehashes them with its own seed anyway. */
    htab_init(&d->pairs, 8, sizeof(struct dpair), cfg->max_edges, seed ^ 6);
    htab_init(&d->udp_seen, 8, sizeof(uint32_t), cfg->max_edges, seed ^ 7);
    htab_init(&d->udp_seen_srv, 8, sizeof(struct ipaddr), cfg->max_edges, seed ^ 9);
    htab_init(&d->udp_srv, 16, sizeof(uint32_t), cfg->max_clients, seed ^ 8);
    d->max_times = (size_t)64 << 20;
    d->stash_max = cfg->stash_bytes / sizeof(struct drec);
    /* With seeds given, the client pass can pair them as it goes (without, the seeds are the
     * scanners the client pass finds). */
    d->fused = seeds && seeds->n;
    int rc;
    uint64_t t_start = clock_mono_ns();
    if ((rc = client_pass(d, errbuf)))
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
    /* Feature extraction is every pass (expansion rounds scan too); scoring the rest. */
    out->scan_ns = d->scan_ns;
    uint64_t total = clock_mono_ns() - t_start;
    out->score_ns = total > d->scan_ns ? total - d->scan_ns : 0;
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
