/* detect_score.c - features, scores, rules, seed expansion and address-level candidates (see
 * detect.h and docs/DETECTION.md for every weight and threshold and its reason); moved servers
 * and graph edges are in detect_graph.c. */
#include "detect/detect_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static const char *const feature_names[DF_COUNT] = {
    [DF_SEED_FANIN] = "seed_fanin",
    [DF_ENRICHMENT] = "enrichment",
    [DF_PERSISTENCE] = "persistence",
    [DF_RETRIES] = "retries",
    [DF_BEACON] = "beacon",
    [DF_LONG_SESSION] = "long_session",
    [DF_TINY_FLOWS] = "tiny_flows",
    [DF_IOT_CLIENTS] = "iot_clients",
    [DF_PORT_PRIOR] = "port_prior",
    [DF_POPULARITY] = "popularity",
    [DF_BURST] = "burst",
    [DF_SERVER_IS_BOT] = "server_is_bot",
    [DF_P2P] = "p2p",
};

const char *detect_feature_name(enum detect_feature f)
{
    return (unsigned)f < DF_COUNT ? feature_names[f] : "?";
}

/* Weights of the contributions (docs/DETECTION.md, "Features"). */
#define W_FANIN      1.0
#define W_ENRICH     0.5
#define ENRICH_CAP   8.0
#define W_PERSIST    3.0
#define W_RETRIES    1.5
#define W_BEACON     2.0
#define W_LONG       1.5
#define W_TINY       0.5
#define W_IOT        1.0
#define W_PORT_IOT   1.0
#define W_PORT_INFRA (-10.0)
#define W_POPULAR    (-1.0)
#define W_BURST      (-2.0)
#define W_FLOOD      (-8.0)
/* Mean packets per seed record from which the records are a flood (Mirai's udpplain sends
 * 200-1500 packets/s per bot; the IoT-23 Mirai C&C averages 4.4 packets per record). */
#define FLOOD_PACKETS_PER_FLOW 100.0
/* Sampled, a record's packets are the sampled ones: a stored record shows one at least, so a
 * mean of one says nothing, and the estimate (mean x rate) counts only from this mean on (a
 * C&C keep-alive session rarely gives two sampled packets in one record at 1:100 or coarser). */
#define FLOOD_SAMPLED_PACKETS 1.5
/* Sampled, a flood whose every sampled packet is a record of its own (ports that change per
 * packet) shows a mean of one: its rate gives it away instead. Estimated packets a second per
 * seed client over the server's span (at least a minute), from this many sampled seed records
 * on (fewer are too few to estimate from): floods run at hundreds of packets a second per bot
 * (as above), a C&C keep-alive at a packet a minute. */
#define FLOOD_SAMPLED_PPS     100.0
#define FLOOD_SAMPLED_RECORDS 20
#define W_BOT                 (-4.0)
#define W_P2P                 (-5.0)
/* A client with this many UDP peers on high ports (both sides) is a member of a P2P overlay
 * (Mozi-like DHT bots, BitTorrent): its peers are not C&C servers. */
#define P2P_PEERS 16
/* Strong-case rule: many seeds, few others, persistent. */
#define RULE_FANIN_SEEDS   5
#define RULE_FANIN_SHARE   0.5
#define RULE_FANIN_PERSIST 0.3

/* Ports that IoT botnets' C&C servers were seen on in the wild (Mirai and its variants'
 * published sources and reports: 23, 2323, 1791, 6969, 3778, 38241, 48101 (scan reports),
 * 1312, 666, 9506, 5555, 81; Gafgyt/IRC: 6667, 6697, 666, 1014, 6982, 8080 is too common to
 * count). A prior, not a rule: it only adds to a server contacted repeatedly. */
static const uint16_t iot_cc_ports[] = {23,  2323, 1791, 6969, 3778, 38241, 48101, 1312,
                                        666, 9506, 5555, 6667, 6697, 1014,  6982};
/* Infrastructure services that devices contact persistently and legitimately: DNS, NTP,
 * DHCP, NetBIOS, SNMP, SSDP, mDNS, LLMNR, DNS over TLS, STUN, BitTorrent DHT bootstrap. */
static const uint16_t infra_ports[] = {53,  123,  67,   68,   137, 138,  161,
                                       162, 1900, 5353, 5355, 853, 3478, 6881};

static bool in_list(const uint16_t *l, size_t n, uint16_t p)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == p)
            return true;
    return false;
}

/* ---- statistics --------------------------------------------------------------------- */

double detect_binom_tail_log10(uint64_t k, uint64_t n, double p)
{
    if (k == 0 || p >= 1.0)
        return 0.0;
    if (p <= 0.0)
        return 30.0;
    /* Sum of the terms i = k..n in log space (n is a server's client count; past 5000 the
     * tail is dominated by its first terms, so the sum stops there). */
    double lp = log(p), lq = log1p(-p), acc = -INFINITY;
    uint64_t end = n < k + 5000 ? n : k + 5000;
    for (uint64_t i = k; i <= end; i++) {
        double t = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) +
                   (double)i * lp + (double)(n - i) * lq;
        double m = acc > t ? acc : t;
        acc = m + log(exp(acc - m) + exp(t - m));
    }
    double v = -acc / log(10.0);
    return v < 0 ? 0 : v > 30 ? 30 : v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t quantile(const uint64_t *s, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return s[i < n ? i : n - 1];
}

double detect_beacon_score(const uint64_t *t, size_t n)
{
    if (n < 6)
        return 0.0;
    size_t m = n - 1;
    uint64_t *d = malloc(m * sizeof *d), *dev = malloc(m * sizeof *dev);
    if (!d || !dev) {
        free(d);
        free(dev);
        return 0.0;
    }
    for (size_t i = 0; i < m; i++)
        d[i] = t[i + 1] - t[i];
    qsort(d, m, sizeof *d, cmp_u64);
    double q1 = (double)quantile(d, m, 0.25), q2 = (double)quantile(d, m, 0.5),
           q3 = (double)quantile(d, m, 0.75);
    double skew = q3 > q1 ? (q3 + q1 - 2 * q2) / (q3 - q1) : 0.0;
    for (size_t i = 0; i < m; i++)
        dev[i] = d[i] > (uint64_t)q2 ? d[i] - (uint64_t)q2 : (uint64_t)q2 - d[i];
    qsort(dev, m, sizeof *dev, cmp_u64);
    double mad = (double)quantile(dev, m, 0.5);
    free(d);
    free(dev);
    double s_skew = 1.0 - fabs(skew);
    double s_disp = q2 > 0 ? 1.0 - fmin(1.0, mad / q2) : 0.0;
    double s_count = fmin(1.0, (double)n / 10.0);
    return (s_skew + s_disp + s_count) / 3.0;
}

/* ---- per-server accumulation ------------------------------------------------------- */

struct sacc {
    uint64_t p2p_seeds, svc_others;
    uint64_t seed_clients, seed_flows, seed_tcp, seed_syn, seed_tiny, seed_runs, iot_clients;
    uint64_t seed_records; /* seed_flows counts pieces (rec_pieces), this the records */
    uint64_t seed_win[DSCALES], seed_active[DSCALES], seed_packets;
    double pers_sum[DSCALES];        /* sum over seed pairs of pair slots / client slots */
    unsigned max_pair_wins[DSCALES]; /* most slots of one seed pair */
    uint64_t max_pair_flows;         /* most records (pieces) of one seed pair */
    uint64_t seed_first, seed_cfirst, seed_clast; /* first seed record; seeds' active span */
    double beacon;
    bool has_beacon;
};

static int cmp_time(const void *a, const void *b)
{
    const struct dtime *x = a, *y = b;
    if (x->edge != y->edge)
        return x->edge < y->edge ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

static void beacons(struct dctx *d, struct sacc *acc)
{
    if (!d->ntimes)
        return;
    qsort(d->times, d->ntimes, sizeof *d->times, cmp_time);
    uint64_t *buf = malloc((d->cfg->max_pair_times + 1) * sizeof *buf);
    if (!buf)
        return;
    for (size_t i = 0; i < d->ntimes;) {
        size_t j = i, n = 0;
        for (; j < d->ntimes && d->times[j].edge == d->times[i].edge; j++)
            if (n <= d->cfg->max_pair_times)
                buf[n++] = d->times[j].t;
        const struct dedge *e = &d->edge[d->times[i].edge];
        if (n >= 6 && !(d->cli[e->client].flags & DCLI_EXPANDED)) {
            double b = detect_beacon_score(buf, n);
            struct sacc *a = &acc[e->server];
            if (!a->has_beacon || b > a->beacon)
                a->beacon = b;
            a->has_beacon = true;
        }
        i = j;
    }
    free(buf);
}

/* The seed-pair figures of the servers from index `from` on, from their edges. */
static void accumulate_edges(struct dctx *d, struct sacc *acc, size_t from)
{
    for (size_t i = 0; i < d->nedge; i++) {
        const struct dedge *e = &d->edge[i];
        if (e->server < from)
            continue;
        const struct dcli *c = &d->cli[e->client];
        struct sacc *a = &acc[e->server];
        if (c->telnet_syn >= DETECT_SCANNER_TELNET_SYN)
            a->iot_clients++;
        if (!(c->flags & DCLI_SEED))
            continue;
        a->seed_clients++;
        /* Records count as their one-minute pieces (rec_pieces): as the router with the
         * shortest common active timeout would have cut them. */
        if (e->pieces > a->max_pair_flows)
            a->max_pair_flows = e->pieces;
        if (c->udp_peers >= P2P_PEERS)
            a->p2p_seeds++;
        a->seed_flows += e->pieces;
        a->seed_records += e->flows;
        a->seed_packets += e->packets;
        if (d->srv[e->server].proto == 6)
            a->seed_tcp += e->pieces;
        a->seed_syn += e->syn_only;
        a->seed_tiny += e->tiny;
        a->seed_runs += e->port_runs;
        for (int k = 0; k < DSCALES; k++) {
            a->seed_win[k] |= e->win[k];
            a->seed_active[k] |= c->win[k];
            unsigned pw = (unsigned)__builtin_popcountll(e->win[k]);
            unsigned cw = (unsigned)__builtin_popcountll(c->win[k]);
            a->pers_sum[k] += cw ? (double)pw / (double)cw : 0.0;
            if (pw > a->max_pair_wins[k])
                a->max_pair_wins[k] = pw;
        }
        if (!a->seed_first || e->first_ms < a->seed_first)
            a->seed_first = e->first_ms;
        if (!a->seed_cfirst || c->first_ms < a->seed_cfirst)
            a->seed_cfirst = c->first_ms;
        if (c->last_ms > a->seed_clast)
            a->seed_clast = c->last_ms;
    }
}

static void accumulate(struct dctx *d, struct sacc *acc)
{
    memset(acc, 0, d->nsrv * sizeof *acc);
    /* Non-seed clients per service (distinct client-server pairs over its servers), then per
     * server. */
    uint64_t *svc = calloc(d->nsvc ? d->nsvc : 1, sizeof *svc);
    if (svc) {
        const void *key;
        size_t it = 0;
        while ((it = htab_next(&d->svc_pairs, it, &key, NULL))) {
            const struct dsvc_pair *pr = key;
            if (!(d->cli[pr->client].flags & DCLI_SEED))
                svc[pr->svc]++;
        }
        for (size_t i = 0; i < d->nsrv; i++)
            acc[i].svc_others = svc[d->srv[i].svc];
        free(svc);
    }
    accumulate_edges(d, acc, 0);
}

/* ---- scoring ----------------------------------------------------------------------- */

static bool is_bot_addr(const struct dctx *d, const struct ipaddr *a)
{
    const uint32_t *ix = detect_client_find(d, a, client_hash(d, a));
    if (!ix)
        return false;
    const struct dcli *c = &d->cli[*ix & ~DCLI_IX_PAIR];
    return (c->flags & DCLI_SEED) || c->telnet_syn >= DETECT_SCANNER_TELNET_SYN;
}

static void score_server(const struct dctx *d, uint32_t sv, const struct sacc *a, double p_seed,
                         bool timing, struct detect_candidate *c)
{
    double rate = timing ? 1.0 : (double)d->sampling_max; /* the effective sampling rate */
    const struct dsrv *s = &d->srv[sv];
    memset(c, 0, sizeof *c);
    c->addr = s->addr;
    c->port = s->port;
    c->proto = s->proto;
    c->first_ms = s->first_ms;
    c->last_ms = s->last_ms;
    c->clients = s->clients;
    c->seed_clients = a->seed_clients;
    c->flows = s->flows_fwd + s->flows_rev;
    c->packets = s->packets;
    c->bytes = s->bytes;
    c->server = sv;
    /* The slot width: the finest in which the seeds' activity spans at most 64 slots. */
    int k0 = 0;
    while (k0 < DSCALES - 1 && a->seed_clast - a->seed_cfirst > 64 * detect_scale_ms[k0])
        k0++;
    c->window_ms = detect_scale_ms[k0];
    unsigned wins = (unsigned)__builtin_popcountll(a->seed_win[k0]);
    /* Repetition: one seed pair with three records or more in two slots or more (many bots
     * touching a scan target once or twice each is not repetition). */
    bool repeated = a->max_pair_flows >= 3 && a->max_pair_wins[k0] >= 2;
    /* Sampled flows hide repetition (a pair's records are one in N): fan-in, three seed clients
     * or more, stands in for it, for the contributions it gates as for candidacy (below). */
    if (!timing && a->seed_clients >= 3)
        repeated = true;
    uint64_t others = s->clients - a->seed_clients;
    if (a->svc_others > others)
        others = a->svc_others;
    /* The seeds' share of the server's (or its service's) clients: a C&C serves bots only;
     * a vendor cloud or CDN that infected devices also use serves many others. The evidence
     * drawn from the seed pairs counts in proportion. */
    double share = (double)a->seed_clients / (double)(a->seed_clients + others);
    double *v = c->value, *k = c->contrib;
    bool *u = c->used;

    v[DF_SEED_FANIN] = log2(1.0 + (double)a->seed_clients);
    k[DF_SEED_FANIN] = W_FANIN * v[DF_SEED_FANIN] * share;
    u[DF_SEED_FANIN] = true;

    v[DF_ENRICHMENT] = detect_binom_tail_log10(a->seed_clients, s->clients, p_seed);
    /* One seed alone among a server's clients is what every seed's private destination looks
     * like: enrichment counts from the second seed on, fully from the third. */
    k[DF_ENRICHMENT] = W_ENRICH * fmin(v[DF_ENRICHMENT], ENRICH_CAP) *
                       fmin(1.0, (double)(a->seed_clients - 1) / 2.0) * share;
    u[DF_ENRICHMENT] = true;

    /* Persistence: the mean over seed pairs of the share of the client's active slots in
     * which it talked to this server. */
    v[DF_PERSISTENCE] = a->seed_clients ? a->pers_sum[k0] / (double)a->seed_clients : 0.0;
    k[DF_PERSISTENCE] = repeated ? W_PERSIST * v[DF_PERSISTENCE] * share : 0.0;
    u[DF_PERSISTENCE] = true;

    if (a->seed_tcp >= 5) {
        v[DF_RETRIES] = (double)a->seed_syn / (double)a->seed_tcp;
        k[DF_RETRIES] = W_RETRIES * v[DF_RETRIES] * share;
        u[DF_RETRIES] = timing;
    }
    if (timing && a->has_beacon) {
        v[DF_BEACON] = a->beacon;
        k[DF_BEACON] = W_BEACON * a->beacon * share;
        u[DF_BEACON] = true;
    }
    if (a->seed_flows >= 5 && s->proto == 6) { /* UDP clients keep one port anyway */
        v[DF_LONG_SESSION] = (double)a->seed_runs / (double)a->seed_flows;
        k[DF_LONG_SESSION] = W_LONG * v[DF_LONG_SESSION] * share;
        u[DF_LONG_SESSION] = timing;
    }
    if (a->seed_flows) {
        v[DF_TINY_FLOWS] = (double)a->seed_tiny / (double)a->seed_flows;
        k[DF_TINY_FLOWS] = repeated ? W_TINY * v[DF_TINY_FLOWS] * share : 0.0;
        u[DF_TINY_FLOWS] = true;
    }
    v[DF_IOT_CLIENTS] = s->clients ? (double)a->iot_clients / (double)s->clients : 0.0;
    k[DF_IOT_CLIENTS] = repeated ? W_IOT * v[DF_IOT_CLIENTS] : 0.0;
    u[DF_IOT_CLIENTS] = true;

    uint16_t port = s->proto == 6 || s->proto == 17 || s->proto == 132 ? s->port : 0;
    if (in_list(infra_ports, sizeof infra_ports / sizeof infra_ports[0], port)) {
        v[DF_PORT_PRIOR] = -1;
        k[DF_PORT_PRIOR] = W_PORT_INFRA;
    } else if (s->proto == 6 &&
               in_list(iot_cc_ports, sizeof iot_cc_ports / sizeof iot_cc_ports[0], port)) {
        v[DF_PORT_PRIOR] = 1;
        k[DF_PORT_PRIOR] = repeated ? W_PORT_IOT : 0.0;
    }
    u[DF_PORT_PRIOR] = true;

    /* Popularity of the server or of its service (same /24 or /48 and port), whichever is
     * larger (taken above): load-balanced clouds spread one population over servers. */
    v[DF_POPULARITY] = (double)others;
    k[DF_POPULARITY] = W_POPULAR * log2(1.0 + (double)others);
    u[DF_POPULARITY] = true;

    /* A DDoS target: the seeds' records are floods (many packets each, or each piece), or many
     * records crammed into few slots without persistence (records, not pieces: a session held
     * open is a piece a minute, not a burst). C&C records are a few packets each. */
    double ppf = a->seed_flows ? (double)a->seed_packets / (double)a->seed_flows : 0.0;
    v[DF_BURST] = ppf;
    c->flood = ppf * rate >= FLOOD_PACKETS_PER_FLOW && (rate == 1 || ppf >= FLOOD_SAMPLED_PACKETS);
    if (rate > 1 && a->seed_records >= FLOOD_SAMPLED_RECORDS && a->seed_clients) {
        double span_s = (double)(s->last_ms - s->first_ms) / 1000.0;
        double pps = (double)a->seed_packets * rate / (double)a->seed_clients /
                     (span_s > 60.0 ? span_s : 60.0);
        c->flood |= pps >= FLOOD_SAMPLED_PPS;
    }
    if (c->flood)
        k[DF_BURST] = W_FLOOD;
    else if (wins && (double)a->seed_records / (double)wins >= 30 && v[DF_PERSISTENCE] < 0.3)
        k[DF_BURST] = W_BURST;
    u[DF_BURST] = true;

    v[DF_SERVER_IS_BOT] = is_bot_addr(d, &s->addr);
    k[DF_SERVER_IS_BOT] = v[DF_SERVER_IS_BOT] ? W_BOT : 0.0;
    u[DF_SERVER_IS_BOT] = true;

    v[DF_P2P] = a->seed_clients ? (double)a->p2p_seeds / (double)a->seed_clients : 0.0;
    k[DF_P2P] = s->proto == 17 ? W_P2P * v[DF_P2P] : 0.0;
    u[DF_P2P] = true;

    double sum = 0;
    for (int f = 0; f < DF_COUNT; f++)
        sum += k[f];
    c->score = round(sum * 1000.0) / 1000.0;
    /* Without repetition there is nothing C&C-like to score: many bots touching one address
     * once each is a scan target. Sampled flows hide repetition, so there fan-in stands in. */
    c->repeated = repeated;
    c->rule = "score";
    if (a->seed_clients >= RULE_FANIN_SEEDS &&
        (double)a->seed_clients >= RULE_FANIN_SHARE * (double)s->clients &&
        v[DF_PERSISTENCE] >= RULE_FANIN_PERSIST && !v[DF_SERVER_IS_BOT] && v[DF_PORT_PRIOR] >= 0 &&
        k[DF_P2P] == 0 && k[DF_POPULARITY] > -2.0 && k[DF_BURST] == 0)
        c->rule = "seed_fan_in";
    /* Detection time: repetition is what the score needs, so two slot widths after the first
     * seed contact, never before the first record nor after the last. */
    uint64_t det = wins >= 2 ? a->seed_first + 2 * c->window_ms : s->last_ms;
    if (det > s->last_ms)
        det = s->last_ms;
    if (det < s->first_ms)
        det = s->first_ms;
    c->detected_ms = det;
}

static bool is_candidate(const struct dctx *d, const struct detect_candidate *c)
{
    if (c->seed_clients < d->cfg->min_seed_clients)
        return false;
    if (d->allow && detect_allow_match(d->allow, &c->addr, c->port))
        return false;
    /* A flood target is a victim, whatever else its seeds did: never a candidate. */
    return c->repeated && !c->flood &&
           (c->score >= d->cfg->threshold || strcmp(c->rule, "score") != 0);
}

static int cmp_cand(const void *a, const void *b)
{
    const struct detect_candidate *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    int r = ipaddr_cmp(&x->addr, &y->addr);
    if (r)
        return r;
    return x->port != y->port ? (x->port < y->port ? -1 : 1)
                              : (x->proto > y->proto) - (x->proto < y->proto);
}

/* Scores every server with a seed client; out->cand gets the candidates by score. */
static int score_all(struct dctx *d, struct sacc *acc, bool timing, uint32_t round,
                     struct detect_result *out)
{
    uint64_t seeds = 0;
    for (size_t i = 0; i < d->ncli; i++)
        seeds += (d->cli[i].flags & DCLI_SEED) != 0;
    out->seed_clients_seen = seeds;
    double p_seed = d->ncli ? (double)seeds / (double)d->ncli : 0.0;
    struct detect_candidate *old = out->cand;
    size_t nold = out->ncand, n = 0, cap = 0;
    struct detect_candidate *v = NULL;
    for (size_t sv = 0; sv < d->nsrv; sv++) {
        if (acc[sv].seed_clients < d->cfg->min_seed_clients || !acc[sv].seed_clients)
            continue;
        struct detect_candidate c;
        score_server(d, (uint32_t)sv, &acc[sv], p_seed, timing, &c);
        if (!is_candidate(d, &c))
            continue;
        c.round = round;
        for (size_t j = 0; j < nold; j++) /* first round it was reported in */
            if (old[j].server == c.server && old[j].round < c.round)
                c.round = old[j].round;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            struct detect_candidate *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                return BS_ENOMEM;
            }
            v = nv;
        }
        v[n++] = c;
    }
    free(old);
    if (n)
        qsort(v, n, sizeof *v, cmp_cand);
    out->cand = v;
    out->ncand = n;
    return 0;
}

/* Makes the clients of confirmed candidates seeds. Returns how many were added. */
static uint64_t expand(struct dctx *d, const struct detect_result *out, uint32_t round,
                       uint64_t budget)
{
    uint8_t *confirmed = calloc(d->nsrv, 1);
    if (!confirmed)
        return 0;
    for (size_t i = 0; i < out->ncand; i++)
        if (out->cand[i].score >= d->cfg->strong_threshold)
            confirmed[out->cand[i].server] = 1;
    uint64_t added = 0;
    for (size_t i = 0; i < d->nedge && added < budget; i++) {
        const struct dedge *e = &d->edge[i];
        struct dcli *c = &d->cli[e->client];
        if (!confirmed[e->server] || (c->flags & DCLI_SEED) || !e->flows)
            continue;
        c->flags |= DCLI_SEED | DCLI_EXPANDED;
        c->seed_round = round;
        added++;
    }
    free(confirmed);
    return added;
}

/* ---- address-level candidates ------------------------------------------------------------ */

/* A C&C that serves its bots on several ports (a list they rotate through) spreads its
 * evidence over them: each endpoint alone may score below the threshold while the address as
 * a whole does not. After the rounds, each address with two scored endpoints or more (servers
 * with a seed client) gets an address-level server (port 0, protocol 0) whose edges merge each
 * client's edges to those endpoints. It is scored like any server and reported when none of
 * its endpoints is. Endpoints are selected per port, so a C&C that hops over many ports, none
 * of them recurring for a client, is not found this way (docs/DETECTION.md). */

struct amember {
    struct ipaddr addr;
    uint32_t sv;
};

static int cmp_amember(const void *a, const void *b)
{
    const struct amember *x = a, *y = b;
    int r = ipaddr_cmp(&x->addr, &y->addr);
    return r ? r : (x->sv > y->sv) - (x->sv < y->sv);
}

/* Makes the address-level servers and their edges (appended after the real ones, from index
 * nreal). vmap[sv] gets the address-level server of endpoint sv, or UINT32_MAX. */
static int make_addresses(struct dctx *d, const struct sacc *acc, uint32_t *vmap)
{
    size_t nreal = d->nsrv, n = 0;
    struct amember *m = malloc((nreal ? nreal : 1) * sizeof *m);
    if (!m)
        return BS_ENOMEM;
    for (size_t sv = 0; sv < nreal; sv++) {
        vmap[sv] = UINT32_MAX;
        if (acc[sv].seed_clients)
            m[n++] = (struct amember){.addr = d->srv[sv].addr, .sv = (uint32_t)sv};
    }
    qsort(m, n, sizeof *m, cmp_amember);
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t j = i + 1;
        while (j < n && !ipaddr_cmp(&m[j].addr, &m[i].addr))
            j++;
        if (j - i >= 2) {
            if ((rc = dgrow((void **)&d->srv, &d->srv_cap, d->nsrv, sizeof *d->srv)))
                break;
            uint32_t vs = (uint32_t)d->nsrv++;
            struct dsrv *v = &d->srv[vs];
            *v = (struct dsrv){.addr = m[i].addr, .first_ms = UINT64_MAX};
            for (size_t k = i; k < j; k++) {
                const struct dsrv *s = &d->srv[m[k].sv];
                v->flows_fwd += s->flows_fwd;
                v->flows_rev += s->flows_rev;
                v->packets += s->packets;
                v->bytes += s->bytes;
                v->first_ms = s->first_ms < v->first_ms ? s->first_ms : v->first_ms;
                v->last_ms = s->last_ms > v->last_ms ? s->last_ms : v->last_ms;
                v->round = s->round > v->round ? s->round : v->round;
                v->svc = s->svc;
                vmap[m[k].sv] = vs;
            }
        }
        i = j;
    }
    free(m);
    if (rc || d->nsrv == nreal)
        return rc;
    /* Each client's edges to the endpoints of one address become one edge. */
    struct htab vix;
    htab_init(&vix, 8, sizeof(uint32_t), d->cfg->max_edges, d->hseed ^ 11);
    size_t nedge = d->nedge;
    for (size_t i = 0; i < nedge && !rc; i++) {
        uint32_t vs = vmap[d->edge[i].server];
        if (vs == UINT32_MAX)
            continue;
        uint64_t key = (uint64_t)d->edge[i].client << 32 | vs;
        bool is_new;
        uint32_t *ix = htab_put(&vix, &key, &is_new, &rc);
        if (!ix)
            break;
        if (is_new) {
            if ((rc = dgrow((void **)&d->edge, &d->edge_cap, d->nedge, sizeof *d->edge)))
                break;
            d->edge[d->nedge] =
                (struct dedge){.client = d->edge[i].client, .server = vs, .first_ms = UINT64_MAX};
            *ix = (uint32_t)d->nedge++;
            d->srv[vs].clients++;
        }
        const struct dedge *e = &d->edge[i];
        struct dedge *a = &d->edge[*ix];
        a->flows += e->flows;
        a->pieces += e->pieces;
        a->rev_flows += e->rev_flows;
        a->syn_only += e->syn_only;
        a->rst_rev += e->rst_rev;
        a->tiny += e->tiny;
        a->port_runs += e->port_runs;
        a->sampled += e->sampled;
        a->packets += e->packets;
        a->first_ms = e->first_ms < a->first_ms ? e->first_ms : a->first_ms;
        a->last_ms = e->last_ms > a->last_ms ? e->last_ms : a->last_ms;
        for (int k = 0; k < DSCALES; k++)
            a->win[k] |= e->win[k];
    }
    htab_release(&vix);
    return rc;
}

/* Scores the address-level servers; those that are candidates while none of their endpoints
 * is join out->cand. *acc is grown to the new server count. */
static int score_addresses(struct dctx *d, struct sacc **accp, struct detect_result *out)
{
    size_t nreal = d->nsrv;
    uint32_t *vmap = malloc((nreal ? nreal : 1) * sizeof *vmap);
    if (!vmap)
        return BS_ENOMEM;
    int rc = make_addresses(d, *accp, vmap);
    if (rc || d->nsrv == nreal)
        goto out;
    rc = BS_ENOMEM;
    struct sacc *acc = realloc(*accp, d->nsrv * sizeof *acc);
    if (!acc)
        goto out;
    *accp = acc;
    memset(acc + nreal, 0, (d->nsrv - nreal) * sizeof *acc);
    accumulate_edges(d, acc, nreal);
    uint8_t *reported = calloc(d->nsrv, 1);
    if (!reported)
        goto out;
    for (size_t i = 0; i < out->ncand; i++)
        reported[out->cand[i].server] = 1;
    for (size_t sv = 0; sv < nreal; sv++) { /* popularity and beacon: the endpoints' highest */
        uint32_t vs = vmap[sv];
        if (vs == UINT32_MAX)
            continue;
        struct sacc *a = &acc[vs];
        if (acc[sv].svc_others > a->svc_others)
            a->svc_others = acc[sv].svc_others;
        if (acc[sv].has_beacon && (!a->has_beacon || acc[sv].beacon > a->beacon)) {
            a->beacon = acc[sv].beacon;
            a->has_beacon = true;
        }
        reported[vs] |= reported[sv];
    }
    double p_seed = d->ncli ? (double)out->seed_clients_seen / (double)d->ncli : 0.0;
    size_t cap = out->ncand;
    rc = 0;
    for (size_t vs = nreal; vs < d->nsrv && !rc; vs++) {
        if (reported[vs] || acc[vs].seed_clients < d->cfg->min_seed_clients ||
            !acc[vs].seed_clients)
            continue;
        struct detect_candidate c;
        score_server(d, (uint32_t)vs, &acc[vs], p_seed, out->timing_usable, &c);
        if (!is_candidate(d, &c))
            continue;
        c.round = d->srv[vs].round;
        for (size_t sv = 0; sv < nreal; sv++)
            c.endpoints += vmap[sv] == vs;
        if (out->ncand == cap) {
            cap = cap ? 2 * cap : 16;
            struct detect_candidate *nv = realloc(out->cand, cap * sizeof *nv);
            if (!nv) {
                rc = BS_ENOMEM;
                break;
            }
            out->cand = nv;
        }
        out->cand[out->ncand++] = c;
    }
    free(reported);
    if (!rc && out->ncand)
        qsort(out->cand, out->ncand, sizeof *out->cand, cmp_cand);
out:
    free(vmap);
    return rc;
}

int detect_score(struct dctx *d, struct detect_result *out, char errbuf[512])
{
    out->flows = d->flows;
    out->clients = d->ncli;
    out->t_first = d->flows ? d->t_first : 0;
    out->t_last = d->t_last;
    /* The effective sampling rate: 1 when most records are unsampled, else the coarsest rate
     * seen (per-pair timing is then meaningless and not used). */
    out->sampling = d->timing ? 1 : d->sampling_max;
    out->timing_usable = d->timing;
    struct sacc *acc = malloc((d->nsrv ? d->nsrv : 1) * sizeof *acc);
    double *bk = NULL;
    bool *hb = NULL;
    int rc = BS_ENOMEM;
    if (!acc)
        goto out;
    accumulate(d, acc);
    beacons(d, acc);
    rc = score_all(d, acc, out->timing_usable, 0, out);
    uint64_t budget = d->cfg->expand_max;
    for (uint32_t round = 1; !rc && round <= d->cfg->expand_depth && budget; round++) {
        uint64_t added = expand(d, out, round, budget);
        if (!added)
            break;
        budget -= added;
        out->seeds_expanded += added;
        /* Beacon scores stay those of the initial seeds: times were kept for them only. */
        size_t nold = d->nsrv;
        rc = BS_ENOMEM;
        if (!(bk = malloc((nold ? nold : 1) * sizeof *bk)) ||
            !(hb = malloc((nold ? nold : 1) * sizeof *hb)))
            goto out;
        for (size_t i = 0; i < nold; i++) {
            bk[i] = acc[i].beacon;
            hb[i] = acc[i].has_beacon;
        }
        /* The new seeds' own servers: passes 1 and 2 for them. */
        if ((rc = detect_scan_round(d, round, errbuf)))
            goto out;
        rc = BS_ENOMEM;
        struct sacc *na = realloc(acc, (d->nsrv ? d->nsrv : 1) * sizeof *acc);
        if (!na)
            goto out;
        acc = na;
        accumulate(d, acc);
        for (size_t i = 0; i < nold; i++) {
            acc[i].beacon = bk[i];
            acc[i].has_beacon = hb[i];
        }
        free(bk);
        free(hb);
        bk = NULL;
        hb = NULL;
        rc = score_all(d, acc, out->timing_usable, round, out);
    }
    if (!rc)
        rc = score_addresses(d, &acc, out);
    if (!rc)
        rc = detect_link_moves(d, out);
    if (!rc)
        rc = detect_collect_edges(d, out);
    if (!rc)
        detect_count_seed_sources(d, out);
out:
    free(acc);
    free(bk);
    free(hb);
    if (rc && !errbuf[0])
        snprintf(errbuf, 512, "out of memory while scoring (%zu servers)", d->nsrv);
    return rc;
}
