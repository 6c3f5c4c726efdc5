/* test_detect.c - C&C detection on hand-made flows with known answers: a C&C among a vendor
 * cloud, a resolver, scan targets and a P2P overlay; orientation, beacon and binomial
 * statistics against direct computation; sampling; seed expansion; moved servers; seeds and
 * allow-list files, good and bad. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "store/statedb.h"
#include "store/store.h"

#define T0  UINT64_C(1767225600000) /* 2026-01-01 00:00 UTC */
#define MIN UINT64_C(60000)

struct flows {
    struct flow_rec *v;
    size_t n, cap;
};

static void add(struct flows *f, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                uint8_t proto, uint8_t flags, uint64_t t, uint64_t pk, uint64_t by,
                uint32_t sampling)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 4096;
        f->v = realloc(f->v, f->cap * sizeof *f->v);
        assert_non_null(f->v);
    }
    struct flow_rec *r = &f->v[f->n++];
    memset(r, 0, sizeof *r);
    assert_int_equal(ipaddr_parse(src, &r->src), 0);
    assert_int_equal(ipaddr_parse(dst, &r->dst), 0);
    r->src_port = sp;
    r->dst_port = dp;
    r->proto = proto;
    r->tcp_flags = flags;
    r->start_ms = r->end_ms = t;
    r->packets = pk;
    r->bytes = by;
    r->sampling_rate = sampling;
    r->version = 9;
}

static char *mkstore(struct flows *f)
{
    char tmpl[] = "/tmp/bs_detect_test.XXXXXX";
    char *dir = strdup(mkdtemp(tmpl));
    struct store *s;
    char err[256];
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    assert_int_equal(store_append(s, f->v, f->n), 0);
    assert_int_equal(store_close(s), 0);
    return dir;
}

/* A store of f written in `parts` flushes: several segments, so scans have several blocks. */
static char *mkstore_parts(struct flows *f, size_t parts)
{
    char tmpl[] = "/tmp/bs_detect_test.XXXXXX";
    char *dir = strdup(mkdtemp(tmpl));
    struct store *s;
    char err[256];
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    for (size_t i = 0; i < parts; i++) {
        size_t a = f->n * i / parts, b = f->n * (i + 1) / parts;
        assert_int_equal(store_append(s, f->v + a, b - a), 0);
        assert_int_equal(store_flush(s), 0);
    }
    assert_int_equal(store_close(s), 0);
    return dir;
}

static void rmstore(char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void bot(char *out, int i)
{
    snprintf(out, 32, "10.0.%d.%d", i / 200, 1 + i % 200);
}

/* The world: 8 bots (seeds) keep a session to a C&C (one record a minute each way, same
 * client port), reach a vendor cloud that 40 other devices use the same way, ask a resolver
 * every minute, scan 60 random telnet targets once each, and four of them run a P2P overlay
 * among 30 external UDP nodes; 50 households browse. sampling applies to every record. */
static void world(struct flows *f, uint32_t sampling, const char *cc, uint64_t cc_from,
                  uint64_t cc_to)
{
    char a[32], b[32];
    for (int i = 0; i < 8; i++) {
        bot(a, i);
        for (uint64_t m = 0; m < 60; m++) {
            uint64_t t = T0 + m * MIN + (uint64_t)i * 937;
            if (t >= T0 + cc_from * MIN && t < T0 + cc_to * MIN) {
                add(f, a, 40000 + (uint16_t)i, cc, 1791, 6, 0x18, t, 1, 42, sampling);
                add(f, cc, 1791, a, 40000 + (uint16_t)i, 6, 0x18, t + 20, 1, 42, sampling);
            }
            add(f, a, 41000 + (uint16_t)i, "203.0.113.80", 80, 6, 0x18, t + 5000, 1, 120, sampling);
            add(f, a, 50000 + (uint16_t)m, "198.18.53.53", 53, 17, 0, t + 9000, 1, 70, sampling);
            add(f, "198.18.53.53", 53, a, 50000 + (uint16_t)m, 17, 0, t + 9010, 1, 140, sampling);
        }
        for (int k = 0; k < 60; k++) {
            snprintf(b, sizeof b, "100.%d.%d.%d", 64 + i, k, 7);
            add(f, a, 33000, b, 23, 6, 0x02, T0 + (uint64_t)k * 50000 + (uint64_t)i, 1, 40,
                sampling);
        }
        if (i < 4)
            for (int k = 0; k < 30; k++) {
                snprintf(b, sizeof b, "192.0.2.%d", 100 + k);
                for (int rep = 0; rep < 3; rep++)
                    add(f, a, 27000 + (uint16_t)i, b, 20000 + (uint16_t)k, 17, 0,
                        T0 + (uint64_t)k * 19000 + (uint64_t)rep * 1200000 + (uint64_t)i, 1, 300,
                        sampling);
            }
    }
    for (int i = 0; i < 8; i++) { /* all 8 bots ACK-flood one victim for 30 minutes */
        bot(a, i);
        for (uint64_t m = 10; m < 40; m++)
            add(f, a, 45000 + (uint16_t)i, "203.0.113.200", 27015, 6, 0x10,
                T0 + m * MIN + (uint64_t)i, 30000, 15000000, sampling);
    }
    for (int j = 0; j < 40; j++) { /* the cloud's other devices */
        snprintf(a, sizeof a, "10.1.%d.%d", j / 200, 1 + j % 200);
        for (uint64_t m = 0; m < 60; m++)
            add(f, a, 42000, "203.0.113.81", 80, 6, 0x18, T0 + m * MIN + (uint64_t)j, 1, 120,
                sampling);
    }
    for (int h = 0; h < 50; h++) { /* households: resolver, web */
        snprintf(a, sizeof a, "10.2.%d.%d", h / 200, 1 + h % 200);
        for (uint64_t m = 0; m < 60; m += 5) {
            add(f, a, 51000 + (uint16_t)m, "198.18.53.53", 53, 17, 0, T0 + m * MIN, 1, 70,
                sampling);
            add(f, a, 52000 + (uint16_t)m, "192.0.2.250", 443, 6, 0x1b, T0 + m * MIN + 300, 12,
                6000, sampling);
        }
    }
}

static void seeds8(struct detect_seeds *s)
{
    detect_seeds_init(s);
    for (int i = 0; i < 8; i++) {
        char a[32];
        struct ipaddr ip;
        bot(a, i);
        assert_int_equal(ipaddr_parse(a, &ip), 0);
        assert_int_equal(detect_seeds_add(s, &ip, T0, SEED_LIST, 0), 0);
    }
}

static int run(const char *dir, struct detect_config *cfg, const struct detect_seeds *seeds,
               struct detect_result *r)
{
    struct store *s;
    char err[512];
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    int rc = detect_run(s, cfg, seeds, NULL, r, err);
    store_close(s);
    return rc;
}

static const struct detect_candidate *find(const struct detect_result *r, const char *addr,
                                           uint16_t port)
{
    struct ipaddr a;
    assert_int_equal(ipaddr_parse(addr, &a), 0);
    for (size_t i = 0; i < r->ncand; i++)
        if (!ipaddr_cmp(&r->cand[i].addr, &a) && r->cand[i].port == port)
            return &r->cand[i];
    return NULL;
}

/* Only the C&C is reported; its score is the sum of its contributions; the evidence line
 * carries the contract keys. */
static void test_detect_finds_cc_and_nothing_benign(void **state)
{
    (void)state;
    struct flows f = {0};
    world(&f, 1, "198.51.100.9", 0, 60);
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    seeds8(&seeds);
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    struct detect_result r;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    if (r.ncand != 1) {
        for (size_t i = 0; i < r.ncand; i++) {
            char a[64];
            fprintf(stderr, "candidate %s:%u score %.3f\n",
                    ipaddr_format(&r.cand[i].addr, a, sizeof a), r.cand[i].port, r.cand[i].score);
        }
    }
    assert_int_equal(r.ncand, 1);
    const struct detect_candidate *c = find(&r, "198.51.100.9", 1791);
    assert_non_null(c);
    assert_int_equal(c->seed_clients, 8);
    assert_int_equal(c->clients, 8);
    assert_int_equal(c->proto, 6);
    assert_true(r.timing_usable);
    assert_true(c->used[DF_BEACON]);
    assert_true(c->value[DF_BEACON] > 0.9); /* one record a minute */
    assert_true(c->value[DF_LONG_SESSION] > 0.9);
    double sum = 0;
    for (int k = 0; k < DF_COUNT; k++)
        sum += c->contrib[k];
    assert_true(fabs(sum - c->score) < 0.002);
    assert_true(c->detected_ms >= c->first_ms && c->detected_ms <= c->last_ms);
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(detect_candidate_json(c, &r, NULL, &b), 0);
    static const char *const keys[] = {"\"addr\":\"198.51.100.9\"",
                                       "\"port\":1791",
                                       "\"proto\":6",
                                       "\"score\":",
                                       "\"first_ms\":",
                                       "\"last_ms\":",
                                       "\"clients\":8",
                                       "\"seed_clients\":8",
                                       "\"evidence\":{\"features\":",
                                       "\"contributions\":"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!strstr(b.data, keys[k]))
            fail_msg("missing %s in %s", keys[k], b.data);
    buf_release(&b);
    /* The benign ones were scored and pushed down for the reasons the evidence names. */
    cfg.threshold = -100;
    detect_result_release(&r);
    cfg.expand_depth = 0;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    const struct detect_candidate *cloud = find(&r, "203.0.113.80", 80);
    const struct detect_candidate *dns = find(&r, "198.18.53.53", 53);
    const struct detect_candidate *p2p = find(&r, "192.0.2.100", 20000);
    const struct detect_candidate *scan = find(&r, "100.64.0.7", 23);
    assert_non_null(cloud);
    assert_non_null(dns);
    assert_non_null(p2p);
    assert_null(scan); /* one record per pair: no repetition, never a candidate */
    /* Eight seeds, persistent: only the flood keeps it out, even at threshold -100. */
    assert_null(find(&r, "203.0.113.200", 27015));
    assert_true(cloud->contrib[DF_POPULARITY] < 0); /* its /24 service has 40 other clients */
    assert_true(dns->contrib[DF_PORT_PRIOR] < 0);
    assert_true(p2p->contrib[DF_P2P] < 0);
    for (size_t i = 0; i < r.ncand; i++)
        if (r.cand[i].port != 1791)
            assert_true(r.cand[i].score < 4.0);
    detect_result_release(&r);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* At 1:1000 per-pair timing is meaningless: the scorer says it did not use it. */
static void test_detect_sampled_flows_drop_timing_features(void **state)
{
    (void)state;
    struct flows f = {0};
    world(&f, 1000, "198.51.100.9", 0, 60);
    /* A UDP flood seen through 1:1000 sampling: four sampled packets a record (about 4,000
     * sent), where a sampled C&C record shows one. */
    for (int i = 0; i < 8; i++) {
        char a[32];
        bot(a, i);
        for (uint64_t m = 20; m < 50; m++)
            add(&f, a, 46000 + (uint16_t)i, "203.0.113.201", 27016, 17, 0,
                T0 + m * MIN + (uint64_t)i * 31, 4, 2200, 1000);
    }
    /* A flood whose sampled packets are a record each (its source port changes per packet):
     * twelve one-packet records per bot in a minute, 200 packets a second per bot when
     * multiplied out; only the rate tells it from a C&C. */
    for (int i = 0; i < 8; i++) {
        char a[32];
        bot(a, i);
        for (uint64_t k = 0; k < 12; k++)
            add(&f, a, (uint16_t)(47000 + 97 * k + (uint64_t)i), "203.0.113.202", 27017, 17, 0,
                T0 + 30 * MIN + k * 5000 + (uint64_t)i * 7, 1, 600, 1000);
    }
    for (int i = 0; i < 5; i++) {
        char a[32];
        bot(a, i);
        add(&f, a, (uint16_t)(48000 + i), "198.51.100.77", 6969, 6, 0x18,
            T0 + (uint64_t)(10 + 9 * i) * MIN, 1, 42, 1000);
    }
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    seeds8(&seeds);
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    cfg.threshold = -100;
    struct detect_result r;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    assert_null(find(&r, "203.0.113.202", 27017)); /* a flood by its rate */
    assert_int_equal(r.sampling, 1000);
    assert_false(r.timing_usable);
    const struct detect_candidate *c = find(&r, "198.51.100.9", 1791);
    assert_non_null(c);
    assert_null(find(&r, "203.0.113.201", 27016)); /* a flood victim, sampled */
    assert_false(c->used[DF_BEACON]);
    assert_false(c->used[DF_LONG_SESSION]);
    assert_true(c->used[DF_SEED_FANIN]);
    /* Five seeds, one sampled record each, on an IoT C&C port: no pair repeats, and fan-in
     * stands in for repetition, so the port prior counts. */
    const struct detect_candidate *f5 = find(&r, "198.51.100.77", 6969);
    assert_non_null(f5);
    assert_int_equal(f5->seed_clients, 5);
    assert_true(f5->contrib[DF_PORT_PRIOR] == 1.0);
    detect_result_release(&r);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* A C&C that moves: its bots follow it; the new address is linked to the old one. Only six
 * seeds are known, the other two bots come in by expansion from the confirmed server. */
static void test_detect_links_moved_server_and_expands_seeds(void **state)
{
    (void)state;
    struct flows f = {0};
    world(&f, 1, "198.51.100.9", 0, 30);
    size_t n0 = f.n;
    world(&f, 1, "198.51.100.77", 31, 60);
    /* Keep only the C&C records of the second world (the rest duplicates the first). */
    size_t w = n0;
    for (size_t i = n0; i < f.n; i++)
        if (f.v[i].dst_port == 1791 || f.v[i].src_port == 1791)
            f.v[w++] = f.v[i];
    f.n = w;
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    detect_seeds_init(&seeds);
    for (int i = 0; i < 6; i++) {
        char a[32];
        struct ipaddr ip;
        bot(a, i);
        assert_int_equal(ipaddr_parse(a, &ip), 0);
        assert_int_equal(detect_seeds_add(&seeds, &ip, 0, SEED_TELESCOPE, 0), 0);
    }
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    cfg.strong_threshold = 5.0; /* each address lived half the hour: confirm from here */
    struct detect_result r;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    const struct detect_candidate *old = find(&r, "198.51.100.9", 1791);
    const struct detect_candidate *moved = find(&r, "198.51.100.77", 1791);
    assert_non_null(old);
    assert_non_null(moved);
    assert_true(moved->has_previous);
    assert_int_equal(ipaddr_cmp(&moved->previous, &old->addr), 0);
    assert_false(old->has_previous);
    if (r.seeds_expanded != 2)
        fail_msg("expanded %llu; old %.3f moved %.3f", (unsigned long long)r.seeds_expanded,
                 old->score, moved->score);
    assert_int_equal(moved->seed_clients, 8);
    assert_int_equal(moved->seeds_by_source[SEED_EXPANSION], 2);
    assert_int_equal(moved->seeds_by_source[SEED_TELESCOPE], 6);
    /* The graph keeps every client edge of both candidates. */
    size_t edges = 0;
    for (size_t i = 0; i < r.nedges; i++)
        edges += r.edges[i].port == 1791;
    assert_int_equal(edges, 16);
    detect_result_release(&r);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* The stash's variable-width columns: the width is the bytes the largest value needs (3 and
 * 5 included), and values written in order at every width read back, the last one's spill
 * landing in the slack. */
static void test_detect_dcol_widths(void **state)
{
    (void)state;
    assert_int_equal(dcol_width(0), 0);
    assert_int_equal(dcol_width(1), 1);
    assert_int_equal(dcol_width(255), 1);
    assert_int_equal(dcol_width(256), 2);
    assert_int_equal(dcol_width(65535), 2);
    assert_int_equal(dcol_width(65536), 3);
    assert_int_equal(dcol_width(0xffffff), 3);
    assert_int_equal(dcol_width(0x1000000), 4);
    assert_int_equal(dcol_width(UINT64_C(1) << 32), 5);
    assert_int_equal(dcol_width(UINT64_MAX), 8);
    enum { N = 37 };
    for (unsigned w = 1; w <= 8; w++) {
        uint64_t max = w == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * w)) - 1, v[N];
        struct dcol c;
        dcol_init(&c, max);
        assert_int_equal(c.w, w);
        uint8_t *mem = malloc(N * w + DCOL_SLACK);
        assert_non_null(mem);
        c.v = mem;
        for (size_t i = 0; i < N; i++) {
            v[i] = i % 3 == 0 ? max : (max / (i + 2)) ^ i;
            dcol_put(&c, i, v[i]);
        }
        for (size_t i = 0; i < N; i++)
            assert_true(dcol_get(&c, i) == v[i]);
        free(mem);
    }
}

static void test_detect_orientation(void **state)
{
    (void)state;
    assert_true(detect_forward(6, 80, 40000, 0x02));   /* SYN alone: the opener */
    assert_true(detect_forward(6, 40000, 80, 0x1b));   /* service port below 1024 */
    assert_false(detect_forward(6, 80, 40000, 0x12));  /* SYN-ACK from the service */
    assert_true(detect_forward(6, 45000, 6667, 0x18)); /* ephemeral client */
    assert_false(detect_forward(6, 6667, 45000, 0x18));
    assert_true(detect_forward(6, 20000, 10000, 0x18)); /* neither: the lower port serves */
    assert_false(detect_forward(17, 123, 50000, 0));
    assert_true(detect_forward(1, 0, 0x0800, 0)); /* no ports: the sender */
    /* The branch-free form against the rule as written in detect_int.h, at every boundary. */
    static const uint16_t ports[] = {0,    1,     22,    80,    1023,  1024, 1025,
                                     6667, 32767, 32768, 32769, 40000, 65535};
    static const uint8_t protos[] = {1, 6, 17, 47, 58, 132};
    static const uint8_t flags[] = {0, 0x02, 0x12, 0x04, 0x10, 0x18, 0x1b, 0x03, 0x06, 0xc2};
    for (size_t a = 0; a < sizeof protos; a++)
        for (size_t f = 0; f < sizeof flags; f++)
            for (size_t i = 0; i < sizeof ports / sizeof *ports; i++)
                for (size_t j = 0; j < sizeof ports / sizeof *ports; j++) {
                    uint8_t pr = protos[a], fl = flags[f];
                    uint16_t sp = ports[i], dp = ports[j];
                    bool want;
                    if (pr == 6 && (fl & 0x17) == 0x02)
                        want = true;
                    else if (pr != 6 && pr != 17 && pr != 132)
                        want = true;
                    else if ((sp < 1024) != (dp < 1024))
                        want = dp < 1024;
                    else if ((sp >= 32768) != (dp >= 32768))
                        want = sp >= 32768;
                    else
                        want = dp <= sp;
                    assert_int_equal(detect_forward(pr, sp, dp, fl), want);
                }
}

/* The client table's two ways to hash an IPv4 client agree and spread addresses evenly, and
 * service hashes differ from the server key hashes of the network address. */
static void test_detect_hashes_agree(void **state)
{
    (void)state;
    struct dctx d = {.hseed = 0x1234};
    for (uint64_t seed = 1; seed < 200; seed += 37) {
        htab_init(&d.client_ix, 16, sizeof(uint32_t), 10, seed);
        d.hc_v4 = client_hash_v4_prefix(seed);
        /* Both entry points give an IPv4 client one hash. */
        for (uint32_t v4 = 0; v4 < 5000000; v4 += 4093) {
            struct ipaddr a;
            ipaddr_from_v4(&a, v4 * 2654435761u);
            assert_int_equal(client_hash(&d, &a), client_hash_v4(&d, ipaddr_v4(&a)));
        }
        /* The IPv4 table probes from the hash's low bits: consecutive addresses (a /16 of
         * clients) spread evenly over 1024 buckets (64 expected in each). */
        unsigned bucket[1024] = {0};
        for (uint32_t v4 = 0x0a000000u; v4 < 0x0a010000u; v4++)
            bucket[client_hash_v4(&d, v4) & 1023]++;
        for (unsigned k = 0; k < 1024; k++) {
            assert_true(bucket[k] >= 32);
            assert_true(bucket[k] <= 100);
        }
        htab_release(&d.client_ix);
    }
    uint8_t skey[19] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 0, 0x1a, 0x0b, 6};
    assert_true(svc_hash(&d, skey) != skey_hash(&d, skey));
    uint8_t other[19];
    memcpy(other, skey, 19);
    other[15] = 77; /* same /24 */
    assert_int_equal(svc_hash(&d, skey), svc_hash(&d, other));
    other[14] = 3; /* another /24 */
    assert_true(svc_hash(&d, skey) != svc_hash(&d, other));
}

/* The client table: IPv4 clients in their own table, IPv6 ones in the general one, every one
 * found again after the tables grew, and the cap counts both. */
static void test_detect_client_table(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    cfg.max_clients = 6000;
    struct dctx d = {.cfg = &cfg};
    htab_init(&d.client_ix, 16, sizeof(uint32_t), cfg.max_clients, 77);
    d.hc_v4 = client_hash_v4_prefix(77);
    struct ipaddr a;
    bool is_new;
    int rc = 0;
    for (uint32_t i = 0; i < 6000; i++) {
        if (i % 60 == 59) {
            uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = (uint8_t)(i >> 8), [15] = (uint8_t)i};
            ipaddr_from_v6(&a, b);
        } else {
            ipaddr_from_v4(&a, i * 2654435761u);
        }
        uint32_t *ix = detect_client_put(&d, &a, client_hash(&d, &a), &is_new, &rc);
        assert_non_null(ix);
        assert_true(is_new);
        *ix = i;
        ix = detect_client_put(&d, &a, client_hash(&d, &a), &is_new, &rc);
        assert_non_null(ix);
        assert_false(is_new);
        assert_int_equal(*ix, i);
    }
    assert_int_equal(d.client_v4.n, 5900);
    assert_int_equal(d.client_ix.n, 100);
    for (uint32_t i = 0; i < 6000; i += 7) {
        if (i % 60 == 59)
            continue;
        ipaddr_from_v4(&a, i * 2654435761u);
        const uint32_t *ix = detect_client_find(&d, &a, client_hash(&d, &a));
        assert_non_null(ix);
        assert_int_equal(*ix, i);
    }
    ipaddr_from_v4(&a, 0x0a000001u); /* not there, and no room for it */
    assert_null(detect_client_find(&d, &a, client_hash(&d, &a)));
    assert_null(detect_client_put(&d, &a, client_hash(&d, &a), &is_new, &rc));
    assert_int_equal(rc, BS_ELIMIT);
    detect_client_table_release(&d);
}

static double beacon_of(const uint64_t *t, size_t n)
{
    return detect_beacon_score(t, n);
}

static void test_detect_beacon_and_binomial(void **state)
{
    (void)state;
    uint64_t t[64];
    for (int i = 0; i < 64; i++)
        t[i] = (uint64_t)i * 60000;
    assert_true(fabs(beacon_of(t, 64) - 1.0) < 1e-9); /* perfectly regular */
    assert_true(beacon_of(t, 5) == 0.0);              /* too few */
    uint64_t x = 88172645463325252ull, acc = 0;
    for (int i = 0; i < 64; i++) { /* a Poisson process: exponential gaps, mean 5 min */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = ((double)(x >> 11) + 0.5) / 9007199254740992.0;
        acc += (uint64_t)(-log(u) * 300000.0);
        t[i] = acc;
    }
    assert_true(beacon_of(t, 64) < 0.8);
    /* The binomial tail against direct summation. */
    const uint64_t ns[] = {1, 5, 20, 60};
    const double ps[] = {0.01, 0.1, 0.5};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++)
            for (uint64_t k = 1; k <= ns[a]; k++) {
                double sum = 0;
                for (uint64_t i = k; i <= ns[a]; i++)
                    sum += exp(lgamma((double)ns[a] + 1) - lgamma((double)i + 1) -
                               lgamma((double)(ns[a] - i) + 1)) *
                           pow(ps[b], (double)i) * pow(1 - ps[b], (double)(ns[a] - i));
                double want = fmin(30.0, -log10(sum));
                assert_true(fabs(detect_binom_tail_log10(k, ns[a], ps[b]) - want) < 1e-6);
            }
    assert_true(detect_binom_tail_log10(0, 10, 0.1) == 0.0);
}

static char *write_tmp(const char *text)
{
    char tmpl[] = "/tmp/bs_seeds.XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return strdup(tmpl);
}

static void test_detect_seed_files_and_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        size_t n;
        const char *err;
    } cases[] = {
        {"# bots\n192.0.2.1\n\n2001:db8::7  # v6\n192.0.2.1\n", 0, 2, NULL},
        {"\xef\xbb\xbfsrc_addr,label\n192.0.2.1,bot\n192.0.2.2,bot\nnot-an-ip,x\n", 0, 2, NULL},
        {"{\"src\":\"192.0.2.9\",\"first_ms\":5,\"infected_iot\":true}\n"
         "{\"src\":\"192.0.2.10\",\"first_ms\":6,\"infected_iot\":false}\n",
         0, 1, NULL},
        /* The survey's NDJSON and CSV: infected and weak-credential devices seed. */
        {"{\"addr\":\"192.0.2.20\",\"port\":23,\"finding\":\"weak_credentials\","
         "\"time_ms\":7}\n"
         "{\"addr\":\"192.0.2.21\",\"port\":80,\"finding\":\"vulnerable_firmware\"}\n"
         "{\"addr\":\"192.0.2.22\",\"port\":23,\"finding\":\"infected\"}\n",
         0, 2, NULL},
        {"addr,port,service,finding,vendor\n192.0.2.20,23,telnet,weak_credentials,x\n"
         "192.0.2.21,80,http,vulnerable_firmware,y\n192.0.2.22,23,telnet,infected,\n",
         0, 2, NULL},
        {"192.0.2.1\nhello\n", BS_EPARSE, 1, ":2:"},
        {"a,b\n1,2\n", BS_EPARSE, 0, "address column"},
        {"{\"dst\":\"192.0.2.9\"}\n", BS_EPARSE, 0, ":1:"},
        /* Reformatted with blanks around the colons; a value holding a key's text (escaped
         * quotes, no colon after) is not the key. */
        {"{ \"src\" : \"192.0.2.40\" , \"first_ms\" :\t8, \"infected_iot\" : true }\n"
         "{\"note\":\"\\\"src\\\":\\\"192.0.2.99\\\" infected_iot\",\"src\":\"192.0.2.41\","
         "\"infected_iot\":true}\n"
         "{\"tags\":[\"src\"],\"src\":\"192.0.2.42\",\"infected_iot\":false}\n",
         0, 2, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = write_tmp(cases[i].text);
        struct detect_seeds s;
        detect_seeds_init(&s);
        char err[512];
        int rc = detect_seeds_load(&s, p, err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d (%s)", i, rc, err);
        assert_int_equal(s.n, cases[i].n);
        if (cases[i].err)
            assert_non_null(strstr(err, cases[i].err));
        if (i == 2)
            assert_int_equal(s.v[0].seen_ms, 5);
        if (i == 3 || i == 4) {
            assert_int_equal(s.v[0].source, SEED_SURVEY);
            assert_int_equal(s.v[1].source, SEED_SURVEY);
            struct ipaddr want;
            ipaddr_parse("192.0.2.22", &want);
            assert_int_equal(ipaddr_cmp(&s.v[1].addr, &want), 0);
        }
        if (i == 3)
            assert_int_equal(s.v[0].seen_ms, 7);
        if (i == 8) {
            struct ipaddr a0, a1;
            ipaddr_parse("192.0.2.40", &a0);
            ipaddr_parse("192.0.2.41", &a1);
            assert_int_equal(ipaddr_cmp(&s.v[0].addr, &a0), 0);
            assert_int_equal(s.v[0].seen_ms, 8);
            assert_int_equal(ipaddr_cmp(&s.v[1].addr, &a1), 0);
        }
        detect_seeds_release(&s);
        unlink(p);
        free(p);
    }
    /* A state database: the survey's open findings of infected or weak devices. */
    char dbdir[] = "/tmp/bs_detect_seeddb.XXXXXX";
    assert_non_null(mkdtemp(dbdir));
    char dbpath[64];
    snprintf(dbpath, sizeof dbpath, "%s/state.db", dbdir);
    struct statedb *db;
    char dberr[256];
    assert_int_equal(statedb_open(dbpath, &db, dberr), 0);
    struct statedb_rec recs[] = {
        {.kind = STATEDB_FINDING,
         .key = "192.0.2.30|23|weak_credentials",
         .addr = "192.0.2.30",
         .first_ms = 11,
         .last_ms = 11,
         .status = "open",
         .body = "{}"},
        {.kind = STATEDB_FINDING,
         .key = "192.0.2.31|80|vulnerable_firmware",
         .addr = "192.0.2.31",
         .first_ms = 12,
         .last_ms = 12,
         .status = "open",
         .body = "{}"},
        {.kind = STATEDB_FINDING,
         .key = "192.0.2.32|23|infected",
         .addr = "192.0.2.32",
         .first_ms = 13,
         .last_ms = 13,
         .status = "remediated",
         .body = "{}"},
    };
    assert_int_equal(statedb_rec_put(db, recs, 3), 0);
    statedb_close(db);
    struct detect_seeds s;
    detect_seeds_init(&s);
    char err[512];
    assert_int_equal(detect_seeds_load(&s, dbdir, err), 0);
    assert_int_equal(s.n, 1); /* not the firmware finding, not the remediated one */
    assert_int_equal(s.v[0].source, SEED_SURVEY);
    assert_int_equal(s.v[0].seen_ms, 11);
    detect_seeds_release(&s);
    unlink(dbpath);
    rmdir(dbdir);
    detect_seeds_init(&s);
    assert_true(detect_seeds_load(&s, "/nonexistent/seeds", err) < 0);
    assert_non_null(strstr(err, "/nonexistent/seeds"));
    detect_seeds_release(&s);

    char *p = write_tmp("198.51.100.0/24 1791\n# x\n2001:db8::/32\n");
    struct detect_allow a;
    assert_int_equal(detect_allow_load(&a, p, err), 0);
    struct ipaddr ip;
    ipaddr_parse("198.51.100.9", &ip);
    assert_true(detect_allow_match(&a, &ip, 1791));
    assert_false(detect_allow_match(&a, &ip, 1792));
    ipaddr_parse("2001:db8::1", &ip);
    assert_true(detect_allow_match(&a, &ip, 5));
    detect_allow_release(&a);
    unlink(p);
    free(p);
    p = write_tmp("198.51.100.0/24 99999\n");
    assert_int_equal(detect_allow_load(&a, p, err), BS_EPARSE);
    assert_non_null(strstr(err, ":1:"));
    unlink(p);
    free(p);
}

/* The allow-list takes a candidate out. */
static void test_detect_allow_list_removes_candidate(void **state)
{
    (void)state;
    struct flows f = {0};
    world(&f, 1, "198.51.100.9", 0, 60);
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    seeds8(&seeds);
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    struct detect_allow allow = {0};
    char *p = write_tmp("198.51.100.9\n");
    char err[512];
    assert_int_equal(detect_allow_load(&allow, p, err), 0);
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    struct detect_result r;
    assert_int_equal(detect_run(s, &cfg, &seeds, &allow, &r, err), 0);
    assert_int_equal(r.ncand, 0);
    detect_result_release(&r);
    store_close(s);
    detect_allow_release(&allow);
    unlink(p);
    free(p);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* Later passes read the records the client pass kept (the stash) or, past detect.stash, the
 * store again: both give the same candidates, scores, expansion and graph edges (in the same
 * order), also when the stash fills mid-pass, with one thread or two (the client pass's parts
 * merge their clients, seed pairs and UDP peers; the server pass's parts their edges), with
 * seeds given (round 0's pairs in the client pass) and without. */
static void same_result(const struct detect_result *a, const struct detect_result *b)
{
    assert_int_equal(a->ncand, b->ncand);
    assert_int_equal(a->seeds_expanded, b->seeds_expanded);
    assert_int_equal(a->nedges, b->nedges);
    for (size_t i = 0; i < a->ncand; i++) {
        const struct detect_candidate *x = &a->cand[i], *y = &b->cand[i];
        assert_int_equal(ipaddr_cmp(&x->addr, &y->addr), 0);
        assert_int_equal(x->port, y->port);
        assert_true(x->score == y->score);
        assert_int_equal(x->clients, y->clients);
        assert_int_equal(x->seed_clients, y->seed_clients);
        assert_int_equal(x->flows, y->flows);
        assert_int_equal(x->bytes, y->bytes);
        assert_int_equal(x->packets, y->packets);
        assert_int_equal(x->round, y->round);
        for (int f = 0; f < DF_COUNT; f++)
            assert_true(x->value[f] == y->value[f]);
    }
    for (size_t i = 0; i < a->nedges; i++) {
        const struct detect_edge *x = &a->edges[i], *y = &b->edges[i];
        assert_int_equal(ipaddr_cmp(&x->client, &y->client), 0);
        assert_int_equal(ipaddr_cmp(&x->server, &y->server), 0);
        assert_int_equal(x->port, y->port);
        assert_int_equal(x->seed, y->seed);
        assert_int_equal(x->flows, y->flows);
        assert_int_equal(x->first_ms, y->first_ms);
        assert_int_equal(x->last_ms, y->last_ms);
    }
}

/* A C&C that two bots reach on one of eight ports at random each minute: each endpoint alone
 * stays under the threshold, the address (port 0, protocol 0) merging them does not. */
static void test_detect_address_level(void **state)
{
    (void)state;
    struct flows f = {0};
    world(&f, 1, "198.51.100.9", 0, 60);
    char a[32];
    uint32_t x = 12345;
    for (int i = 0; i < 2; i++) { /* two more seeds, not telnet scanners themselves */
        snprintf(a, sizeof a, "10.0.9.%d", 1 + i);
        for (uint64_t m = 0; m < 60; m++) {
            x = x * 1103515245u + 12345u; /* the port of each connection, at random */
            uint16_t port = (uint16_t)(7000 + (x >> 16) % 8);
            uint64_t t = T0 + m * MIN + 30000 + (uint64_t)i * 101;
            add(&f, a, (uint16_t)(43000 + m), "198.51.100.50", port, 6, 0x1b, t, 4, 240, 1);
            add(&f, "198.51.100.50", port, a, (uint16_t)(43000 + m), 6, 0x1b, t + 15, 3, 180, 1);
        }
    }
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    seeds8(&seeds);
    for (int i = 0; i < 2; i++) {
        struct ipaddr ip;
        snprintf(a, sizeof a, "10.0.9.%d", 1 + i);
        assert_int_equal(ipaddr_parse(a, &ip), 0);
        assert_int_equal(detect_seeds_add(&seeds, &ip, T0, SEED_LIST, 0), 0);
    }
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    cfg.expand_depth = 0;
    struct detect_result r;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    for (uint16_t p = 7000; p < 7008; p++)
        assert_null(find(&r, "198.51.100.50", p));
    const struct detect_candidate *c = find(&r, "198.51.100.50", 0);
    assert_non_null(c);
    assert_int_equal(c->proto, 0);
    assert_int_equal(c->endpoints, 8);
    assert_int_equal(c->seed_clients, 2);
    assert_int_equal(c->flows, 2 * 60 * 2);
    assert_true(c->score >= cfg.threshold);
    assert_true(c->value[DF_PERSISTENCE] > 0.9); /* every active minute, on one port or another */
    assert_non_null(find(&r, "198.51.100.9", 1791)); /* the one-port C&C as before */
    assert_null(find(&r, "198.51.100.9", 0));        /* one endpoint: no address level */
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(detect_candidate_json(c, &r, NULL, &b), 0);
    assert_non_null(strstr(b.data, "\"port\":0,\"proto\":0"));
    assert_non_null(strstr(b.data, "\"endpoints\":8"));
    buf_release(&b);
    /* Its graph edges are the merged ones, on port 0. */
    size_t edges = 0;
    for (size_t i = 0; i < r.nedges; i++)
        if (r.edges[i].port == 0 && r.edges[i].proto == 0)
            edges++;
    assert_int_equal(edges, 2);
    detect_result_release(&r);
    /* An endpoint that is a candidate on its own keeps the address level out. */
    cfg.threshold = 0.5;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    assert_non_null(find(&r, "198.51.100.50", 7000));
    assert_null(find(&r, "198.51.100.50", 0));
    detect_result_release(&r);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* Two bots each hold one TCP session to a server for most of the hour, logged as one record
 * each way (as Zeek and Argus log it, or an exporter with a long active timeout): the records
 * count as the one-minute pieces a router would have cut, so the pair recurs, persists, is a long
 * session and is no flood (120 packets over 58 pieces). The same records without their
 * duration are one connection each and select nothing. */
static void test_detect_long_records(void **state)
{
    (void)state;
    for (int with_dur = 1; with_dur >= 0; with_dur--) {
        struct flows f = {0};
        world(&f, 1, "198.51.100.9", 0, 60);
        char a[32];
        for (int i = 0; i < 2; i++) {
            snprintf(a, sizeof a, "10.0.9.%d", 1 + i);
            uint64_t t = T0 + MIN + (uint64_t)i * 7000;
            add(&f, a, 43000, "198.51.100.60", 8443, 6, 0x1b, t, 120, 120 * 60, 1);
            add(&f, "198.51.100.60", 8443, a, 43000, 6, 0x1b, t + 30, 110, 110 * 80, 1);
            if (with_dur) {
                f.v[f.n - 2].end_ms = t + 58 * MIN;
                f.v[f.n - 1].end_ms = t + 58 * MIN;
            }
            /* and something else every few minutes, so that the client is active */
            for (uint64_t m = 0; m < 60; m += 5)
                add(&f, a, (uint16_t)(50000 + m), "198.18.53.53", 53, 17, 0, T0 + m * MIN + 100, 1,
                    70, 1);
        }
        char *dir = mkstore(&f);
        struct detect_seeds seeds;
        seeds8(&seeds);
        for (int i = 0; i < 2; i++) {
            struct ipaddr ip;
            snprintf(a, sizeof a, "10.0.9.%d", 1 + i);
            assert_int_equal(ipaddr_parse(a, &ip), 0);
            assert_int_equal(detect_seeds_add(&seeds, &ip, T0, SEED_LIST, 0), 0);
        }
        struct detect_config cfg;
        detect_config_init(&cfg, NULL);
        cfg.expand_depth = 0;
        struct detect_result r;
        assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
        assert_non_null(find(&r, "198.51.100.9", 1791)); /* the world's C&C as before */
        const struct detect_candidate *c = find(&r, "198.51.100.60", 8443);
        if (!with_dur) {
            assert_null(c);
        } else {
            assert_non_null(c);
            assert_int_equal(c->seed_clients, 2);
            assert_int_equal(c->flows, 4);                            /* records, as stored */
            assert_int_equal(c->last_ms, T0 + MIN + 7000 + 58 * MIN); /* the session's end */
            assert_false(c->flood);
            assert_true(c->value[DF_BURST] < 3.0); /* packets per piece */
            assert_true(c->value[DF_PERSISTENCE] > 0.9);
            assert_true(c->value[DF_LONG_SESSION] > 0.9);
            assert_true(c->score >= cfg.threshold);
        }
        detect_result_release(&r);
        detect_seeds_release(&seeds);
        free(f.v);
        rmstore(dir);
    }
}

/* A bot active for a day holds a C&C session on an IRC port open for seven of its hours, logged
 * as one record: 420 pieces in 7 hourly slots, a third of its active time. It is found, and the
 * burst rule (records crammed into slots) does not take the pieces for a burst. */
static void test_detect_long_record_is_no_burst(void **state)
{
    (void)state;
    struct flows f = {0};
    const uint64_t H = 60 * MIN;
    for (uint64_t h = 0; h < 24; h++)
        add(&f, "10.0.9.1", (uint16_t)(50000 + h), "198.18.53.53", 53, 17, 0, T0 + h * H + 500, 1,
            70, 1);
    add(&f, "10.0.9.1", 43000, "198.51.100.66", 6667, 6, 0x1b, T0 + 2 * H, 900, 60000, 1);
    f.v[f.n - 1].end_ms = T0 + 9 * H - 1;
    add(&f, "198.51.100.66", 6667, "10.0.9.1", 43000, 6, 0x1b, T0 + 2 * H + 20, 800, 50000, 1);
    f.v[f.n - 1].end_ms = T0 + 9 * H - 1;
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    detect_seeds_init(&seeds);
    struct ipaddr ip;
    assert_int_equal(ipaddr_parse("10.0.9.1", &ip), 0);
    assert_int_equal(detect_seeds_add(&seeds, &ip, T0, SEED_LIST, 0), 0);
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    struct detect_result r;
    assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
    const struct detect_candidate *c = find(&r, "198.51.100.66", 6667);
    assert_non_null(c);
    assert_int_equal(c->window_ms, H);
    assert_true(c->value[DF_PERSISTENCE] < 0.3);
    assert_true(c->contrib[DF_BURST] == 0.0);
    assert_true(c->value[DF_LONG_SESSION] > 0.9);
    detect_result_release(&r);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* Past detect.max_edges seed-pair records in a thread's log, the run stops with BS_ELIMIT and
 * a message naming the setting, on one thread or two. */
static void test_detect_pair_log_cap(void **state)
{
    (void)state;
    struct flows f = {0};
    world(&f, 1, "198.51.100.9", 0, 60);
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    seeds8(&seeds);
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    cfg.max_edges = 50;
    for (unsigned th = 1; th <= 2; th++) {
        cfg.threads = th;
        struct store *s;
        char err[512];
        assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
        struct detect_result r;
        assert_int_equal(detect_run(s, &cfg, &seeds, NULL, &r, err), BS_ELIMIT);
        assert_non_null(strstr(err, "detect.max_edges"));
        store_close(s);
    }
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* IPv6 bots: eight seeds keep a session to an IPv6 C&C (a record a minute each way) and scan
 * IPv6 targets once each; their resolver is popular. The C&C is found with its eight seed
 * clients and nothing else, the same on one thread and two, kept or read from the store. */
static void test_detect_ipv6_clients(void **state)
{
    (void)state;
    struct flows f = {0};
    char a[64], b[64];
    for (int i = 0; i < 8; i++) {
        snprintf(a, sizeof a, "2001:db8:b::%x", 0x10 + i);
        for (uint64_t m = 0; m < 60; m++) {
            uint64_t t = T0 + m * MIN + (uint64_t)i * 937;
            add(&f, a, (uint16_t)(40000 + i), "2001:db8:c::9", 1791, 6, 0x18, t, 1, 62, 1);
            add(&f, "2001:db8:c::9", 1791, a, (uint16_t)(40000 + i), 6, 0x18, t + 20, 1, 62, 1);
            add(&f, a, (uint16_t)(50000 + m), "2001:db8:53::53", 53, 17, 0, t + 9000, 1, 90, 1);
        }
        for (int k = 0; k < 40; k++) {
            snprintf(b, sizeof b, "2001:db8:%x::%x", 0x100 + i, k + 1);
            add(&f, a, 33000, b, 23, 6, 0x02, T0 + (uint64_t)k * 60000 + (uint64_t)i, 1, 60, 1);
        }
    }
    for (int h = 0; h < 40; h++) { /* households use the resolver too */
        snprintf(a, sizeof a, "2001:db8:d::%x", h + 1);
        for (uint64_t m = 0; m < 60; m += 5)
            add(&f, a, (uint16_t)(51000 + m), "2001:db8:53::53", 53, 17, 0, T0 + m * MIN, 1, 90, 1);
    }
    char *dir = mkstore_parts(&f, 5);
    struct detect_seeds seeds;
    detect_seeds_init(&seeds);
    for (int i = 0; i < 8; i++) {
        struct ipaddr ip;
        snprintf(a, sizeof a, "2001:db8:b::%x", 0x10 + i);
        assert_int_equal(ipaddr_parse(a, &ip), 0);
        assert_int_equal(detect_seeds_add(&seeds, &ip, T0, SEED_LIST, 0), 0);
    }
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    struct detect_result r[3];
    for (int v = 0; v < 3; v++) {
        cfg.threads = v == 0 ? 1 : 2;
        cfg.stash_bytes = v == 2 ? 0 : (uint64_t)1 << 30;
        assert_int_equal(run(dir, &cfg, &seeds, &r[v]), 0);
        assert_int_equal(r[v].ncand, 1);
        const struct detect_candidate *c = find(&r[v], "2001:db8:c::9", 1791);
        assert_non_null(c);
        assert_int_equal(c->seed_clients, 8);
        assert_int_equal(c->clients, 8);
        assert_true(c->score >= cfg.threshold);
    }
    same_result(&r[0], &r[1]);
    same_result(&r[0], &r[2]);
    for (int v = 0; v < 3; v++)
        detect_result_release(&r[v]);
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

/* Seeds whose pairs never recur (one scan probe each) and a store of one block: no server is
 * selected, nothing is kept but one chunk, and the run ends cleanly with no candidate. */
static void test_detect_nothing_recurs(void **state)
{
    (void)state;
    struct flows f = {0};
    char a[32];
    for (int i = 0; i < 8; i++) {
        bot(a, i);
        add(&f, a, 33000, "100.64.9.9", 23, 6, 0x02, T0 + (uint64_t)i, 1, 40, 1);
    }
    char *dir = mkstore(&f);
    struct detect_seeds seeds;
    seeds8(&seeds);
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    for (unsigned th = 1; th <= 2; th++) {
        cfg.threads = th;
        struct detect_result r;
        assert_int_equal(run(dir, &cfg, &seeds, &r), 0);
        assert_int_equal(r.ncand, 0);
        assert_int_equal(r.flows, 8);
        detect_result_release(&r);
        assert_int_equal(run(dir, &cfg, NULL, &r), 0); /* seeds from the flows: none scans 10x */
        assert_int_equal(r.ncand, 0);
        detect_result_release(&r);
    }
    detect_seeds_release(&seeds);
    free(f.v);
    rmstore(dir);
}

static void log_rec(struct dctx *d, unsigned l, uint64_t hp, uint32_t sa, uint16_t port,
                    uint32_t minute, uint8_t bits)
{
    struct dpairlog *g = &d->plog[l];
    struct dplog *e = detect_pairlog_next(g, hp);
    assert_non_null(e);
    g->n++;
    *e = (struct dplog){
        .hp = hp, .sa = sa, .sport = port, .proto = 6, .minute = minute, .bits = bits};
}

/* The pair logs of two parts judged together, as one part logging every record would be: a
 * pair recurs with three records (pieces) from the client in two minutes or more, whichever
 * log holds them; each distinct pair is listed once for the sampled rule. */
static void test_detect_pairs_judge(void **state)
{
    (void)state;
    struct detect_config cfg;
    detect_config_init(&cfg, NULL);
    struct dctx *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->cfg = &cfg;
    d->nplog = 2;
    /* A: one record in minute 5 (log 0), two in minute 6 (log 1): recurs. */
    log_rec(d, 0, 0xa000000000000001u, 0x0a000001, 1, 5, 1);
    log_rec(d, 1, 0xa000000000000001u, 0x0a000001, 1, 6, 1);
    log_rec(d, 1, 0xa000000000000001u, 0x0a000001, 1, 6, 1);
    /* B: three records, all in minute 5, over both logs: no. */
    log_rec(d, 0, 0xb000000000000002u, 0x0a000002, 2, 5, 1);
    log_rec(d, 1, 0xb000000000000002u, 0x0a000002, 2, 5, 1);
    log_rec(d, 0, 0xb000000000000002u, 0x0a000002, 2, 5, 1);
    /* C: two records in two minutes: no. Same top bits as A (one bucket, sorted). */
    log_rec(d, 1, 0xa000000000000003u, 0x0a000003, 3, 5, 1);
    log_rec(d, 0, 0xa000000000000003u, 0x0a000003, 3, 7, 1);
    /* D: one long record of three pieces or more: recurs. */
    log_rec(d, 1, 0x0000000000000004u, 0x0a000004, 4, 9, 3 | DPL_LONG);
    /* E: the server's records only, in three minutes: no. */
    log_rec(d, 0, 0x5000000000000005u, 0x0a000005, 5, 1, 0);
    log_rec(d, 0, 0x5000000000000005u, 0x0a000005, 5, 2, 0);
    log_rec(d, 1, 0x5000000000000005u, 0x0a000005, 5, 3, 0);
    /* F: an IPv6 server (in each log's address list), records in minutes 20 to 22. */
    struct ipaddr v6;
    assert_int_equal(ipaddr_parse("2001:db8::77", &v6), 0);
    for (unsigned l = 0; l < 2; l++) {
        assert_int_equal(dgrow((void **)&d->plog[l].v6, &d->plog[l].cap6, 0, sizeof v6), 0);
        d->plog[l].v6[d->plog[l].n6++] = v6;
    }
    for (uint32_t m = 20; m < 23; m++)
        log_rec(d, m == 21 ? 0 : 1, 0xf000000000000006u, 0, 6, m, 1 | DPL_V6);
    d->timing = false;
    assert_int_equal(detect_pairs_judge(d), 0);
    assert_int_equal(d->npairs, 6);
    assert_int_equal(d->nnew, 6);
    assert_int_equal(d->nsel, 3);
    qsort(d->sel, d->nsel, sizeof *d->sel, detect_cmp_skey);
    uint16_t ports[3];
    for (size_t i = 0; i < 3; i++)
        ports[i] = (uint16_t)(d->sel[i][16] << 8 | d->sel[i][17]);
    /* (v4-mapped keys start with ten zero bytes: they sort before 2001:db8::77) */
    assert_int_equal(ports[0], 1);
    assert_int_equal(ports[1], 4);
    assert_int_equal(ports[2], 6);
    assert_memory_equal(d->sel[2], v6.b, 16);
    struct ipaddr a;
    ipaddr_from_v4(&a, 0x0a000001);
    assert_memory_equal(d->sel[0], a.b, 16);
    assert_int_equal(d->nplog, 0);
    assert_null(d->plog[0].slabs);
    assert_null(d->plog[1].v6);
    /* Unsampled, the distinct pairs are not listed. */
    free(d->newpair);
    d->newpair = NULL;
    d->nnew = d->new_cap = 0;
    d->nplog = 1;
    log_rec(d, 0, 1, 0x0a000001, 1, 5, 3 | DPL_LONG);
    d->timing = true;
    assert_int_equal(detect_pairs_judge(d), 0);
    assert_int_equal(d->nnew, 0);
    assert_int_equal(d->nsel, 4);
    free(d->sel);
    d->sel = NULL;
    d->nsel = d->sel_cap = 0;
    /* Enough records for the judge to share the partitions out over two threads, and for log 0
     * to take two slabs: the same pairs recur as on one thread. Every 97th pair has three records
     * in two minutes. */
    size_t nsel[2], npairs[2];
    uint8_t(*sel[2])[24];
    for (unsigned th = 1; th <= 2; th++) {
        cfg.threads = th;
        d->nplog = 2;
        for (uint32_t i = 0; i < 400000; i++) {
            uint64_t hp = hash_mix64(i + 1);
            log_rec(d, i % 4 == 3, hp, 0x0b000000 + i, 80, 100, 1);
            if (i % 97 == 0) {
                log_rec(d, 0, hp, 0x0b000000 + i, 80, 101, 1);
                log_rec(d, 1, hp, 0x0b000000 + i, 80, 101, 1);
            }
        }
        /* (log 0 spans slabs, each partition's records several chunks) */
        assert_true(d->plog[0].nslabs >= 2);
        for (unsigned p = 0; p < DPL_PARTS; p += 51)
            assert_non_null(d->plog[0].part[p]->next);
        assert_int_equal(detect_pairs_judge(d), 0);
        qsort(d->sel, d->nsel, sizeof *d->sel, detect_cmp_skey);
        nsel[th - 1] = d->nsel;
        npairs[th - 1] = d->npairs;
        sel[th - 1] = d->sel;
        d->sel = NULL;
        d->nsel = d->sel_cap = 0;
    }
    assert_int_equal(npairs[0], 400000);
    assert_int_equal(npairs[1], 400000);
    assert_int_equal(nsel[0], (400000 + 96) / 97);
    assert_int_equal(nsel[1], nsel[0]);
    assert_memory_equal(sel[0], sel[1], nsel[0] * sizeof *sel[0]);
    free(sel[0]);
    free(sel[1]);
    free(d);
}

static void test_detect_stash_and_store_passes_agree(void **state)
{
    (void)state;
    for (int w = 0; w < 6; w++) {
        bool sampled = w & 1, seeded = !(w & 2), v6 = w >= 4;
        struct flows f = {0};
        /* Worlds 4 and 5: the C&C is an IPv6 server (kept records hold an index into their
         * chunk's IPv6 addresses) and one record has 2^32 packets or more (its block keeps
         * packets 8 bytes wide, and every pass must count it whole). */
        world(&f, sampled ? 100 : 1, v6 ? "2001:db8::9" : "198.51.100.9", 0, 30);
        world(&f, sampled ? 100 : 1, v6 ? "2001:db8:1::77" : "198.51.100.77", 31, 60);
        if (v6)
            add(&f, "10.1.0.1", 42000, "203.0.113.80", 80, 6, 0x18, T0 + 7 * MIN,
                UINT64_C(5000000000), UINT64_C(600000000000), sampled ? 100 : 1);
        /* A long session (kept records carry durations) and, in worlds 2 and 3, a record 60
         * days later in the last block (its block's times span more than 32 bits of
         * milliseconds: they are kept 8 bytes wide). */
        add(&f, "10.0.0.1", 43001, "198.51.100.60", 8443, 6, 0x1b, T0 + 2 * MIN, 200, 12000,
            sampled ? 100 : 1);
        f.v[f.n - 1].end_ms = T0 + 50 * MIN;
        if (w == 2 || w == 3)
            add(&f, "10.1.0.2", 42000, "203.0.113.80", 80, 6, 0x18, T0 + 60 * 24 * 60 * MIN, 1, 60,
                sampled ? 100 : 1);
        char *dir = mkstore_parts(&f, 7);
        struct detect_seeds seeds;
        seeds8(&seeds);
        const struct detect_seeds *sp = seeded ? &seeds : NULL;
        struct detect_config cfg;
        detect_config_init(&cfg, NULL);
        cfg.strong_threshold = 5.0;
        /* Every scored server, so that the benign ones' features (popularity, UDP peers)
         * are compared too. */
        cfg.threshold = -100;
        struct detect_result r0, r1, r2, r3;
        cfg.threads = 2;
        assert_int_equal(run(dir, &cfg, sp, &r0), 0);
        assert_true(r0.ncand >= 3);
        if (v6 && seeded && !sampled) {
            const struct detect_candidate *cc = find(&r0, "2001:db8::9", 1791);
            assert_non_null(cc);
            assert_true(cc->score >= 4.0);
            const struct detect_candidate *cloud = find(&r0, "203.0.113.80", 80);
            assert_non_null(cloud);
            assert_true(cloud->packets > UINT32_MAX);
        }
        if (seeded) { /* the overlay's seeds have their peers counted once across parts */
            const struct detect_candidate *p2p = find(&r0, "192.0.2.100", 20000);
            assert_non_null(p2p);
            assert_true(p2p->value[DF_P2P] > 0);
        }
        cfg.stash_bytes = 0; /* every pass reads the store */
        assert_int_equal(run(dir, &cfg, sp, &r1), 0);
        cfg.stash_bytes = 72 * 1000; /* full after the first block or so */
        assert_int_equal(run(dir, &cfg, sp, &r2), 0);
        cfg.threads = 1; /* one thread: the same records in the same order */
        cfg.stash_bytes = (uint64_t)1 << 30;
        assert_int_equal(run(dir, &cfg, sp, &r3), 0);
        same_result(&r0, &r1);
        same_result(&r0, &r2);
        same_result(&r0, &r3);
        detect_result_release(&r0);
        detect_result_release(&r1);
        detect_result_release(&r2);
        detect_result_release(&r3);
        detect_seeds_release(&seeds);
        free(f.v);
        rmstore(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_finds_cc_and_nothing_benign),
        cmocka_unit_test(test_detect_sampled_flows_drop_timing_features),
        cmocka_unit_test(test_detect_links_moved_server_and_expands_seeds),
        cmocka_unit_test(test_detect_orientation),
        cmocka_unit_test(test_detect_dcol_widths),
        cmocka_unit_test(test_detect_hashes_agree),
        cmocka_unit_test(test_detect_client_table),
        cmocka_unit_test(test_detect_beacon_and_binomial),
        cmocka_unit_test(test_detect_seed_files_and_errors),
        cmocka_unit_test(test_detect_allow_list_removes_candidate),
        cmocka_unit_test(test_detect_address_level),
        cmocka_unit_test(test_detect_nothing_recurs),
        cmocka_unit_test(test_detect_ipv6_clients),
        cmocka_unit_test(test_detect_long_records),
        cmocka_unit_test(test_detect_pair_log_cap),
        cmocka_unit_test(test_detect_long_record_is_no_burst),
        cmocka_unit_test(test_detect_pairs_judge),
        cmocka_unit_test(test_detect_stash_and_store_passes_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
