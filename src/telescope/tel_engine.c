/* tel_engine.c - the telescope pipeline (see tel_engine.h). */
#include "telescope/tel_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/hll.h"
#include "telescope/tel_keyhash.h"
#include "telescope/tel_mmdb.h"

#define DAY_MS 86400000ull
#define FAST_V4_MAX 16
#define DROPPED_HLL_P 12

const char *const tel_builtin_bogons[] = {
    "0.0.0.0/8",       "10.0.0.0/8",      "100.64.0.0/10",   "127.0.0.0/8",
    "169.254.0.0/16",  "172.16.0.0/12",   "192.0.0.0/24",    "192.0.2.0/24",
    "192.168.0.0/16",  "198.18.0.0/15",   "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4",     "240.0.0.0/4",     /* 255.255.255.255 lies in 240/4 */
    "::/128",          "::1/128",         "100::/64",        "2001:db8::/32",
    "3fff::/20",       "fc00::/7",        "fe80::/10",       "ff00::/8",
    NULL,
};

static const uint64_t rollup_len[TEL_LEVELS] = {0, 5ull * 60 * 1000, 60ull * 60 * 1000, DAY_MS};

/* A darknet packet waiting in the batch: decoded and classified when it is queued (the
 * classification reads only the packet, so the bytes pkt_info borrows - TCP options, the
 * start of the payload - are not copied: tcp_opts is cleared in the queued copy), with its
 * address hashes and, for backscatter, its attack's hash. */
#define TEL_BATCH 16         /* ring of queued darknet packets (power of two) */
#define PREFETCH_LAG 4       /* prefetch a profile 4 packets after its index slot */
#define SKETCH_LAG 7         /* prefetch its destination sketch 3 packets after the profile */
#define PROCESS_LAG 10       /* process a packet 10 packets after it was queued */

struct pending {
    struct pkt_info pi;
    const struct tel_src *hint; /* profile prefetched for it (kept so the prefetch stays) */
    const void *hint2;          /* extension or sketch register prefetched for it */
    const struct tel_victim *vhint; /* attack prefetched for it */
    uint64_t ts;
    uint64_t victim_hash;       /* when c.victim_kind: the attack it updates */
    uint64_t src_hash, dst_hash;
    uint64_t src_key;           /* tel_src_mix() of src_hash, for the prefetch stages */
    uint32_t wirelen;
    struct tel_class c;
};

struct tel_engine {
    struct tel_opts o;
    char *bogons_path, *research_path, *pfx2as_path, *geo_path, *privacy_key;
    struct ipprefix darknet_list[TEL_MAX_DARKNET];
    size_t n_darknet;
    struct tel_pmap darknet, bogons, research, asn, geo;
    uint32_t fast_net[FAST_V4_MAX], fast_mask[FAST_V4_MAX];
    size_t n_fast;
    bool fast_only_v4;    /* darknet is IPv4 only and short: test with the fast list */
    uint64_t darknet_v4_size;
    struct tel_keyhash kh;
    char octet[256][4];   /* "0".."255", for writing IPv4 addresses (a million a day) */
    uint8_t octet_len[256];
    struct tel_src_table src;
    struct tel_victim_table vic;
    struct tel_bucket *lvl[TEL_LEVELS];
    bool lvl_on[TEL_LEVELS];
    bool started, finished;
    uint64_t day_ms;
    uint8_t dropped_hll[1u << DROPPED_HLL_P];
    bool dropped_any;
    int sink_err;
    struct tel_stats st;
    bool capture_stats;  /* live: capture counters are set (tel_engine_set_capture_stats) */
    uint64_t cap_recv0, cap_drop0, cap_ifdrop0; /* their values when the open interval began */
    struct pending batch[TEL_BATCH];
    uint64_t q_in;       /* packets queued since the ring was last drained */
};

void tel_opts_defaults(struct tel_opts *o)
{
    memset(o, 0, sizeof *o);
    o->interval_ms = 60000;
    o->fp_mask = TEL_FP_ALL;
    o->max_sources = 1000000;
    o->max_victims = 65536;
    o->victim.min_packets = 25;
    o->victim.min_duration_ms = 60000;
    o->victim.min_peak_ppm = 30;
    o->top_n = 20;
}

static char *dup_opt(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void sink_result(struct tel_engine *e, int rc)
{
    if (rc && !e->sink_err)
        e->sink_err = rc;
}

static uint32_t v4_mask(unsigned len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

struct v4blk {
    uint64_t start, size;
};

static int v4blk_cmp(const void *pa, const void *pb)
{
    const struct v4blk *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->size > b->size ? -1 : a->size < b->size; /* enclosing block first */
}

/* IPv4 addresses covered by the darknet, nested or repeated prefixes counted once (prefixes
 * are nested or disjoint, so after sorting a block either lies in the last counted one or
 * starts past its end). */
static uint64_t darknet_v4_size(const struct tel_pmap_entry *d, size_t n)
{
    struct v4blk blk[TEL_MAX_DARKNET];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ipprefix *p = &d[i].pfx;
        if (!ipaddr_is_v4(&p->addr) || p->len < 96)
            continue;
        unsigned len = p->len - 96u;
        blk[k].start = ipaddr_v4(&p->addr) & v4_mask(len);
        blk[k].size = 1ull << (32 - len);
        k++;
    }
    qsort(blk, k, sizeof *blk, v4blk_cmp);
    uint64_t total = 0, end = 0;
    for (size_t i = 0; i < k; i++) {
        if (blk[i].start + blk[i].size <= end)
            continue;
        total += blk[i].size;
        end = blk[i].start + blk[i].size;
    }
    return total;
}

static int load_bogons(struct tel_engine *e, char *err, size_t errlen)
{
    if (e->bogons_path)
        return tel_pmap_load_prefixes(&e->bogons, e->bogons_path, err, errlen);
    struct tel_pmap_entry ent[32];
    size_t n = 0;
    for (const char *const *p = tel_builtin_bogons; *p && n < 32; p++, n++) {
        if (ipprefix_parse(*p, &ent[n].pfx))
            return BS_EPARSE;
        ent[n].val = 1;
    }
    return tel_pmap_build(&e->bogons, ent, n);
}

/* A bucket (~1.5 MB) on its own 2 MB-aligned block, marked for a transparent huge page: the
 * per-packet updates land at random ports in its 768 KB of port arrays, which on 4 KB pages
 * cost a TLB miss on most packets. The advice may be refused (it is only advice). Free with
 * free(). */
#define BUCKET_ALIGN ((size_t)2 << 20)
static struct tel_bucket *bucket_alloc(void)
{
    void *p = NULL;
    size_t size = (sizeof(struct tel_bucket) + BUCKET_ALIGN - 1) & ~(BUCKET_ALIGN - 1);
    if (posix_memalign(&p, BUCKET_ALIGN, size))
        return NULL;
    (void)madvise(p, size, MADV_HUGEPAGE);
    return p;
}

int tel_engine_new(const struct tel_opts *o, struct tel_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "out of memory");
    if (!o->n_darknet || o->n_darknet > TEL_MAX_DARKNET) {
        snprintf(err, errlen, "the darknet needs 1 to %d prefixes", TEL_MAX_DARKNET);
        return BS_EUSAGE;
    }
    if (o->interval_ms < 1000 || o->interval_ms > DAY_MS || DAY_MS % o->interval_ms) {
        snprintf(err, errlen, "interval must be between 1 s and 1 day and divide a day");
        return BS_EUSAGE;
    }
    if (o->privacy && (!o->privacy_key || !*o->privacy_key)) {
        snprintf(err, errlen, "privacy mode needs a key (--privacy-key or telescope.privacy_key)");
        return BS_EUSAGE;
    }
    struct tel_engine *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    int rc = BS_ENOMEM;
    e->o = *o;
    e->bogons_path = dup_opt(o->bogons_path);
    e->research_path = dup_opt(o->research_path);
    e->pfx2as_path = dup_opt(o->pfx2as_path);
    e->geo_path = dup_opt(o->geo_path);
    e->privacy_key = dup_opt(o->privacy_key);
    if ((o->bogons_path && *o->bogons_path && !e->bogons_path) ||
        (o->research_path && *o->research_path && !e->research_path) ||
        (o->pfx2as_path && *o->pfx2as_path && !e->pfx2as_path) ||
        (o->geo_path && *o->geo_path && !e->geo_path) ||
        (o->privacy_key && *o->privacy_key && !e->privacy_key))
        goto fail;
    e->o.bogons_path = e->bogons_path;
    e->o.research_path = e->research_path;
    e->o.pfx2as_path = e->pfx2as_path;
    e->o.geo_path = e->geo_path;
    e->o.privacy_key = e->privacy_key;
    e->o.darknet = NULL;
    e->n_darknet = o->n_darknet;
    for (size_t i = 0; i < o->n_darknet; i++)
        e->darknet_list[i] = o->darknet[i].pfx;
    if ((rc = tel_pmap_build(&e->darknet, o->darknet, o->n_darknet)))
        goto fail;
    /* Fast path: a short IPv4-only darknet is tested with masks, no search. */
    e->fast_only_v4 = o->n_darknet <= FAST_V4_MAX;
    for (size_t i = 0; i < o->n_darknet && e->fast_only_v4; i++) {
        const struct ipprefix *p = &o->darknet[i].pfx;
        if (!ipaddr_is_v4(&p->addr) || p->len < 96) {
            e->fast_only_v4 = false;
            break;
        }
        unsigned len = p->len - 96;
        e->fast_mask[e->n_fast] = v4_mask(len);
        e->fast_net[e->n_fast] = ipaddr_v4(&p->addr) & v4_mask(len);
        e->n_fast++;
    }
    e->darknet_v4_size = darknet_v4_size(o->darknet, o->n_darknet);
    if ((rc = load_bogons(e, err, errlen)))
        goto fail;
    if (e->research_path && (rc = tel_pmap_load_prefixes(&e->research, e->research_path, err, errlen)))
        goto fail;
    if (e->pfx2as_path &&
        (rc = tel_mmdb_is_mmdb(e->pfx2as_path)
                  ? tel_mmdb_load(&e->asn, e->pfx2as_path, TEL_MMDB_ASN, err, errlen)
                  : tel_pmap_load_pfx2as(&e->asn, e->pfx2as_path, err, errlen)))
        goto fail;
    if (e->geo_path &&
        (rc = tel_mmdb_is_mmdb(e->geo_path)
                  ? tel_mmdb_load(&e->geo, e->geo_path, TEL_MMDB_COUNTRY, err, errlen)
                  : tel_pmap_load_geo_csv(&e->geo, e->geo_path, err, errlen)))
        goto fail;
    snprintf(err, errlen, "out of memory");
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)e;
    if ((rc = tel_src_init(&e->src, o->max_sources, seed)))
        goto fail;
    if ((rc = tel_victim_init(&e->vic, o->max_victims, hash_mix64(seed))))
        goto fail;
    rc = BS_ENOMEM;
    for (int i = 0; i < TEL_LEVELS; i++) {
        uint64_t len = i == 0 ? o->interval_ms : rollup_len[i];
        e->lvl_on[i] = i == 0 || (len > o->interval_ms && len % o->interval_ms == 0);
        if (!e->lvl_on[i])
            continue;
        e->lvl[i] = bucket_alloc();
        if (!e->lvl[i])
            goto fail;
        tel_bucket_init(e->lvl[i], 0, len);
    }
    if (o->privacy)
        tel_keyhash_init(&e->kh, e->privacy_key);
    for (unsigned v = 0; v < 256; v++) {
        char t[8] = {0};
        int n = snprintf(t, sizeof t, "%u", v);
        memcpy(e->octet[v], t, 4); /* the digits, then the terminator */
        e->octet_len[v] = (uint8_t)n;
    }
    *err = '\0';
    *out = e;
    return 0;
fail:
    tel_engine_free(e);
    return rc;
}

void tel_engine_free(struct tel_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < TEL_LEVELS; i++)
        free(e->lvl[i]);
    tel_src_release(&e->src);
    tel_victim_release(&e->vic);
    tel_pmap_release(&e->darknet);
    tel_pmap_release(&e->bogons);
    tel_pmap_release(&e->research);
    tel_pmap_release(&e->asn);
    tel_pmap_release(&e->geo);
    free(e->bogons_path);
    free(e->research_path);
    free(e->pfx2as_path);
    free(e->geo_path);
    free(e->privacy_key);
    free(e);
}

/* ---- output dispatch ---- */

/* The base bucket takes the capture counters accumulated since the previous one closed. */
static void stamp_capture(struct tel_engine *e)
{
    if (!e->capture_stats)
        return;
    struct tel_bucket *b = e->lvl[0];
    b->capture_received = e->st.pcap_received - e->cap_recv0;
    b->capture_dropped = e->st.pcap_dropped - e->cap_drop0;
    b->capture_if_dropped = e->st.pcap_if_dropped - e->cap_ifdrop0;
    e->cap_recv0 = e->st.pcap_received;
    e->cap_drop0 = e->st.pcap_dropped;
    e->cap_ifdrop0 = e->st.pcap_if_dropped;
}

static void emit_bucket(struct tel_engine *e, int level)
{
    const struct tel_bucket *b = e->lvl[level];
    for (size_t i = 0; i < e->o.n_sinks; i++)
        if (e->o.sinks[i].ops->interval)
            sink_result(e, e->o.sinks[i].ops->interval(e->o.sinks[i].state, e, b,
                                                        (uint32_t)(b->len_ms / 1000)));
    e->st.intervals_written[level]++;
}

static int emit_victim(void *arg, const struct tel_victim *v)
{
    struct tel_engine *e = arg;
    if (!tel_victim_qualifies(v, &e->o.victim)) {
        e->st.attacks_below_threshold++;
        return 0;
    }
    for (size_t i = 0; i < e->o.n_sinks; i++)
        if (e->o.sinks[i].ops->victim)
            sink_result(e, e->o.sinks[i].ops->victim(e->o.sinks[i].state, e, v));
    e->st.victims_written++;
    return 0;
}

static void flush_day(struct tel_engine *e)
{
    uint32_t *order = tel_src_order(&e->src);
    if (!order)
        sink_result(e, BS_ENOMEM);
    /* Profiles are visited in address order, which is random in memory: each is prefetched
     * 16 ahead, and what reading it touches besides (sketch, extension) 8 ahead, once its
     * own lines are in. */
    for (size_t k = 0; order && k < e->src.n; k++) {
        if (k + 16 < e->src.n) {
            const char *p = (const char *)&e->src.ent[order[k + 16]];
            for (size_t off = 0; off < sizeof(struct tel_src); off += 64)
                __builtin_prefetch(p + off);
        }
        if (k + 8 < e->src.n)
            tel_src_prefetch_read(&e->src, &e->src.ent[order[k + 8]]);
        struct tel_src_rec r;
        tel_src_read(&e->src, &e->src.ent[order[k]], e->day_ms, &r);
        tel_src_derive(&r);
        for (size_t i = 0; i < e->o.n_sinks; i++)
            if (e->o.sinks[i].ops->source)
                sink_result(e, e->o.sinks[i].ops->source(e->o.sinks[i].state, e, &r));
        e->st.sources_written++;
    }
    free(order);
    e->st.dst_sketches_exhausted += e->src.sketch_exhausted;
    e->src.sketch_exhausted = 0;
    tel_src_clear(&e->src);
    if (e->dropped_any) {
        e->st.dropped_sources += hll_estimate(e->dropped_hll, DROPPED_HLL_P);
        memset(e->dropped_hll, 0, sizeof e->dropped_hll);
        e->dropped_any = false;
    }
}

/* ---- time ---- */

static void start_at(struct tel_engine *e, uint64_t ts)
{
    for (int i = 0; i < TEL_LEVELS; i++)
        if (e->lvl_on[i])
            tel_bucket_reset(e->lvl[i], ts - ts % e->lvl[i]->len_ms, e->lvl[i]->len_ms);
}

/* Closes the base interval: emit it, merge it into the roll-ups (emitting those that end
 * with it), expire idle attacks, and open the next interval. */
static void close_base(struct tel_engine *e)
{
    struct tel_bucket *b = e->lvl[0];
    uint64_t end = b->start_ms + b->len_ms;
    stamp_capture(e);
    emit_bucket(e, 0);
    for (int i = 1; i < TEL_LEVELS; i++) {
        if (!e->lvl_on[i])
            continue;
        struct tel_bucket *r = e->lvl[i];
        tel_bucket_merge(r, b);
        if (end >= r->start_ms + r->len_ms) {
            emit_bucket(e, i);
            tel_bucket_reset(r, r->start_ms + r->len_ms, r->len_ms);
        }
    }
    sink_result(e, tel_victim_expire(&e->vic, end, emit_victim, e));
    tel_bucket_reset(b, end, b->len_ms);
}

static void advance(struct tel_engine *e, uint64_t ts)
{
    struct tel_bucket *b = e->lvl[0];
    if (ts >= b->start_ms + b->len_ms) {
        uint64_t n = (ts - b->start_ms) / b->len_ms;
        if (n > TEL_MAX_EMPTY_INTERVALS) {
            close_base(e);
            for (int i = 1; i < TEL_LEVELS; i++)
                if (e->lvl_on[i] && e->lvl[i]->packets)
                    emit_bucket(e, i);
            start_at(e, ts);
            e->st.time_jumps++;
        } else {
            while (ts >= b->start_ms + b->len_ms)
                close_base(e);
        }
    }
    if (ts >= e->day_ms + DAY_MS) {
        flush_day(e);
        e->day_ms = ts - ts % DAY_MS;
    }
}

static void begin(struct tel_engine *e, uint64_t ts)
{
    e->started = true;
    e->st.first_ms = ts;
    e->day_ms = ts - ts % DAY_MS;
    start_at(e, ts);
}

/* ---- per packet ---- */

static bool in_darknet(const struct tel_engine *e, const struct pkt_info *pi)
{
    if (e->fast_only_v4) {
        if (pi->ip_version != 4)
            return false;
        uint32_t d = ipaddr_v4(&pi->dst);
        for (size_t i = 0; i < e->n_fast; i++)
            if ((d & e->fast_mask[i]) == e->fast_net[i])
                return true;
        return false;
    }
    return tel_pmap_lookup(&e->darknet, &pi->dst, NULL);
}

static void src_lookup_flags(const struct tel_engine *e, const struct ipaddr *a, uint8_t *flags,
                             uint32_t *asn, uint16_t *cc)
{
    *flags = 0;
    *asn = 0;
    *cc = 0;
    if (tel_pmap_lookup(&e->bogons, a, NULL))
        *flags |= TEL_SRC_BOGON;
    if (e->research.n && tel_pmap_lookup(&e->research, a, NULL))
        *flags |= TEL_SRC_RESEARCH;
    uint32_t v;
    if (e->asn.n && tel_pmap_lookup(&e->asn, a, &v)) {
        *flags |= TEL_SRC_HAS_ASN;
        *asn = v;
    }
    if (e->geo.n && tel_pmap_lookup(&e->geo, a, &v)) {
        *flags |= TEL_SRC_HAS_CC;
        *cc = (uint16_t)v;
    }
}

/* The hash of the attack a backscatter packet updates (c->victim_kind set). */
static uint64_t victim_hash_of(const struct pkt_info *pi, const struct tel_class *c,
                               uint64_t src_hash)
{
    return c->victim_kind == TEL_VICTIM_SRC ? src_hash : tel_addr_hash(&pi->inner_dst);
}

/* One darknet packet (in_darknet already true), classified in p->c (tel_classify; the
 * profile may add the unicornscan vote), p->victim_hash as victim_hash_of() when
 * p->c.victim_kind, p->hint NULL or the profile the pipeline prefetched. */
static void process_dark(struct tel_engine *e, const struct pending *p)
{
    const uint64_t ts = p->ts, src_hash = p->src_hash, dst_hash = p->dst_hash;
    const struct pkt_info *pi = &p->pi;
    const uint32_t wirelen = p->wirelen;
    struct tel_bucket *b = e->lvl[0];
    uint32_t bytes = pi->ip_len ? pi->ip_len : wirelen;
    e->st.darknet_packets++;
    e->st.darknet_bytes += bytes;
    const struct tel_class *c = &p->c;
    uint32_t tags = c->tags, fps = c->fps; /* the profile adds to these */

    bool created;
    struct tel_src *s = tel_src_get_hinted(&e->src, &pi->src, src_hash, p->hint, &created);
    uint8_t flags;
    uint32_t asn;
    uint16_t cc;
    if (s) {
        if (created) {
            src_lookup_flags(e, &pi->src, &s->flags, &s->asn, &s->cc);
            s->first_off = s->last_off = tel_src_time_off(ts, e->day_ms);
            size_t mem = tel_src_memory(&e->src);
            if (mem > e->st.peak_source_memory)
                e->st.peak_source_memory = mem;
        }
        flags = s->flags;
        asn = (flags & TEL_SRC_HAS_ASN) ? s->asn : 0;
        cc = (flags & TEL_SRC_HAS_CC) ? s->cc : 0;
    } else {
        src_lookup_flags(e, &pi->src, &flags, &asn, &cc);
        b->dropped_sources++;
        e->st.dropped_source_packets++;
        hll_add(e->dropped_hll, DROPPED_HLL_P, src_hash);
        e->dropped_any = true;
    }
    if (flags & TEL_SRC_BOGON)
        tags |= 1u << TEL_TAG_BOGON;
    if (flags & TEL_SRC_RESEARCH)
        tags |= 1u << TEL_TAG_RESEARCH;

    bool has_port = pi->l4_ok && !(pi->anomalies & PKT_NONFIRST_FRAG) &&
                    (pi->proto == 6 || pi->proto == 17);
    bool syn_scan = tags & (1u << TEL_TAG_TCP_SCAN);
    if (s) {
        if (c->uni_ok) {
            uint32_t dst4 = ipaddr_v4(&pi->dst);
            if (s->uni_have && s->uni_key == c->uni_key &&
                (s->uni_last_dst != dst4 || s->uni_last_dport != pi->dst_port))
                fps |= 1u << TEL_FP_UNICORNSCAN;
            s->uni_key = c->uni_key;
            s->uni_last_dst = dst4;
            s->uni_last_dport = pi->dst_port;
            s->uni_have = 1;
        }
        s->packets++;
        s->bytes += bytes;
        int32_t off = tel_src_time_off(ts, e->day_ms);
        if (off < s->first_off)
            s->first_off = off;
        if (off > s->last_off)
            s->last_off = off;
        s->tag_union |= (uint16_t)tags;
        tel_src_add_dst(&e->src, s, dst_hash);
        if (has_port)
            tel_src_add_port(&e->src, s, pi->dst_port);
        /* Added without branches: SYN scan or not alternates unpredictably in a mix. */
        s->syn_packets += syn_scan;
        s->iot_packets += syn_scan & tel_is_iot_port(pi->dst_port);
        for (uint32_t f = fps; f; f &= f - 1)
            s->fp_votes[__builtin_ctz(f)]++;
    }

    if (c->victim_kind) {
        const struct ipaddr *victim = &pi->src;
        bool ok = true;
        if (c->victim_kind == TEL_VICTIM_INNER) {
            victim = &pi->inner_dst;
            ok = tel_pmap_lookup(&e->darknet, &pi->inner_src, NULL);
        }
        if (ok && !tel_victim_add(&e->vic, victim, p->victim_hash, ts, bytes, c->victim_port,
                                  pi->proto == 1 || pi->proto == 58, dst_hash))
            e->st.dropped_victim_packets++;
        size_t mem = tel_victim_memory(&e->vic);
        if (mem > e->st.peak_victim_memory)
            e->st.peak_victim_memory = mem;
    }

    struct tel_agg_pkt ap = {
        .bytes = bytes,
        .tags = (uint16_t)tags,
        .fps = (uint8_t)fps,
        .proto = pi->proto,
        .ip_version = pi->ip_version,
        .has_port = has_port,
        .is_udp = pi->proto == 17,
        .has_icmp = pi->l4_ok && (pi->proto == 1 || pi->proto == 58),
        .icmp_type = pi->icmp_type,
        .has_asn = (flags & TEL_SRC_HAS_ASN) != 0,
        .has_cc = (flags & TEL_SRC_HAS_CC) != 0,
        .dst_port = pi->dst_port,
        .asn = asn,
        .cc = cc,
        .src_hash = src_hash,
        .dst_hash = dst_hash,
    };
    tel_bucket_add(b, &ap);
}

static void count_non_darknet(struct tel_engine *e, const struct pkt_info *pi, uint32_t wirelen)
{
    uint32_t bytes = pi->ip_len ? pi->ip_len : wirelen;
    e->lvl[0]->non_darknet_packets++;
    e->lvl[0]->non_darknet_bytes += bytes;
    e->st.non_darknet_packets++;
    e->st.non_darknet_bytes += bytes;
}

/* Queued darknet packets go through a software pipeline so that the cache misses of a
 * large source table overlap instead of adding up: when packet k is queued its index slot is
 * prefetched; when packet k + PREFETCH_LAG is queued, k's profile lines (found through the now
 * cached slot); at k + SKETCH_LAG its extension and the sketch register it will update (found
 * through the now cached profile); at k + PROCESS_LAG it is processed. Each queued packet
 * advances every stage by exactly one packet (no loops, no per-stage counters). The ring is
 * drained (flush_batch) before time advances (an interval closes), on finish and before any
 * packet that bypasses the queue; the next packet then starts an empty pipeline. */
static void stage_profile(struct tel_engine *e, struct pending *p)
{
    p->hint = tel_src_prefetch_entry(&e->src, p->src_key);
    if (p->c.victim_kind)
        p->vhint = tel_victim_prefetch_entry(&e->vic, p->victim_hash, p->ts, p->dst_hash);
    /* The interval's per-port counters (without a branch: for a packet without ports
     * dst_port is 0 and the prefetch is wasted, not wrong). */
    unsigned udp = p->pi.proto == 17;
    __builtin_prefetch(&e->lvl[0]->port_packets[udp][p->pi.dst_port]);
    __builtin_prefetch(&e->lvl[0]->port_slot_of[udp][p->pi.dst_port]);
}

static void pipeline_push(struct tel_engine *e)
{
    uint64_t n = ++e->q_in;
    if (n > PREFETCH_LAG)
        stage_profile(e, &e->batch[(n - 1 - PREFETCH_LAG) % TEL_BATCH]);
    if (n > SKETCH_LAG) {
        struct pending *p = &e->batch[(n - 1 - SKETCH_LAG) % TEL_BATCH];
        p->hint2 = tel_src_prefetch_more(&e->src, p->hint, p->dst_hash);
    }
    if (n > PROCESS_LAG)
        process_dark(e, &e->batch[(n - 1 - PROCESS_LAG) % TEL_BATCH]);
}

/* Processes what is still queued, in order (packets whose profile stage has not run yet
 * have no hint and are looked up in full), and empties the ring. */
static void flush_batch(struct tel_engine *e)
{
    uint64_t n = e->q_in;
    for (uint64_t k = n > PROCESS_LAG ? n - PROCESS_LAG : 0; k < n; k++)
        process_dark(e, &e->batch[k % TEL_BATCH]);
    e->q_in = 0;
}

static int take_err(struct tel_engine *e)
{
    int rc = e->sink_err;
    e->sink_err = 0;
    return rc;
}

static void note_time(struct tel_engine *e, uint64_t ts)
{
    if (!e->started)
        begin(e, ts);
    if (ts < e->lvl[0]->start_ms) {
        e->lvl[0]->late_packets++;
        e->st.late_packets++;
    } else {
        advance(e, ts);
    }
    if (ts > e->st.last_ms)
        e->st.last_ms = ts;
}

int tel_engine_decoded(struct tel_engine *e, uint64_t ts_ms, const struct pkt_info *pi,
                       const uint8_t *pkt, uint32_t wirelen)
{
    if (e->finished)
        return BS_EUSAGE;
    flush_batch(e);
    e->st.packets_read++;
    e->st.bytes_read += wirelen;
    note_time(e, ts_ms);
    if (!in_darknet(e, pi)) {
        count_non_darknet(e, pi, wirelen);
        return take_err(e);
    }
    const uint8_t *payload = NULL;
    size_t plen = 0;
    if (pkt && pi->payload_off < pi->caplen) {
        payload = pkt + pi->payload_off;
        plen = pi->caplen - pi->payload_off;
    }
    struct pending q = {.pi = *pi, .ts = ts_ms, .wirelen = wirelen};
    tel_classify(pi, payload, plen, e->o.fp_mask, &q.c);
    q.src_hash = tel_addr_hash(&pi->src);
    q.dst_hash = tel_addr_hash(&pi->dst);
    q.victim_hash = q.c.victim_kind ? victim_hash_of(pi, &q.c, q.src_hash) : 0;
    process_dark(e, &q);
    return take_err(e);
}

static bool needs_advance(const struct tel_engine *e, uint64_t ts)
{
    const struct tel_bucket *b = e->lvl[0];
    return e->started && (ts >= b->start_ms + b->len_ms || ts >= e->day_ms + DAY_MS);
}

int tel_engine_packet(struct tel_engine *e, uint64_t ts_us, const uint8_t *data, uint32_t caplen,
                      uint32_t wirelen, enum pkt_link link)
{
    if (e->finished)
        return BS_EUSAGE;
    uint64_t ts = ts_us / 1000;
    e->st.packets_read++;
    e->st.bytes_read += wirelen;
    if (e->started && ts >= e->lvl[0]->start_ms && !needs_advance(e, ts)) {
        if (ts > e->st.last_ms) /* the common case: inside the open interval */
            e->st.last_ms = ts;
    } else {
        if (needs_advance(e, ts))
            flush_batch(e); /* queued packets belong to the interval that is closing */
        note_time(e, ts);
    }
    struct pending *p = &e->batch[e->q_in % TEL_BATCH];
    if (pkt_decode(data, caplen, link, &p->pi) != 0 || p->pi.ip_version == 0) {
        e->lvl[0]->undecoded_packets++;
        e->st.undecoded_packets++;
        return take_err(e);
    }
    if (!in_darknet(e, &p->pi)) {
        count_non_darknet(e, &p->pi, wirelen);
        return take_err(e);
    }
    const uint8_t *payload = NULL;
    size_t plen = 0;
    if (p->pi.payload_off < caplen) {
        payload = data + p->pi.payload_off;
        plen = caplen - p->pi.payload_off;
    }
    tel_classify(&p->pi, payload, plen, e->o.fp_mask, &p->c);
    p->pi.tcp_opts = NULL; /* borrowed from data, which the queued copy outlives */
    p->pi.tcp_opts_len = 0;
    p->ts = ts;
    p->wirelen = wirelen;
    p->src_hash = tel_addr_hash(&p->pi.src);
    p->dst_hash = tel_addr_hash(&p->pi.dst);
    p->hint = NULL; /* until the profile stage runs */
    p->src_key = tel_src_mix(&e->src, p->src_hash);
    tel_src_prefetch_slot(&e->src, p->src_key);
    /* Backscatter: its attack is prefetched too. */
    if (p->c.victim_kind) {
        p->victim_hash = victim_hash_of(&p->pi, &p->c, p->src_hash);
        tel_victim_prefetch_slot(&e->vic, p->victim_hash);
    }
    pipeline_push(e);
    return take_err(e);
}

int tel_engine_tick(struct tel_engine *e, uint64_t now_ms)
{
    if (e->started && !e->finished && now_ms >= e->lvl[0]->start_ms) {
        if (needs_advance(e, now_ms))
            flush_batch(e);
        advance(e, now_ms);
    }
    return take_err(e);
}

int tel_engine_finish(struct tel_engine *e)
{
    if (e->finished)
        return 0;
    flush_batch(e);
    e->finished = true;
    if (e->started) {
        stamp_capture(e);
        emit_bucket(e, 0);
        for (int i = 1; i < TEL_LEVELS; i++) {
            if (!e->lvl_on[i])
                continue;
            tel_bucket_merge(e->lvl[i], e->lvl[0]);
            emit_bucket(e, i);
        }
        flush_day(e);
    }
    sink_result(e, tel_victim_expire(&e->vic, UINT64_MAX, emit_victim, e));
    return take_err(e);
}

void tel_engine_reset(struct tel_engine *e)
{
    tel_src_clear(&e->src);
    e->src.sketch_exhausted = 0;
    tel_victim_clear(&e->vic);
    /* The buckets are reset by the first packet after this (begin), as after creation. */
    e->started = e->finished = false;
    e->day_ms = 0;
    memset(e->dropped_hll, 0, sizeof e->dropped_hll);
    e->dropped_any = false;
    e->sink_err = 0;
    memset(&e->st, 0, sizeof e->st);
    e->capture_stats = false;
    e->cap_recv0 = e->cap_drop0 = e->cap_ifdrop0 = 0;
    e->q_in = 0;
}

struct tel_stats *tel_engine_stats(struct tel_engine *e)
{
    return &e->st;
}

void tel_engine_set_capture_stats(struct tel_engine *e, uint64_t received, uint64_t dropped,
                                  uint64_t if_dropped)
{
    e->capture_stats = true;
    e->st.pcap_received = received;
    e->st.pcap_dropped = dropped;
    e->st.pcap_if_dropped = if_dropped;
}

bool tel_engine_has_capture_stats(const struct tel_engine *e)
{
    return e->capture_stats;
}

const struct tel_stats *tel_engine_stats_const(const struct tel_engine *e)
{
    return &e->st;
}

const struct tel_opts *tel_engine_opts(const struct tel_engine *e)
{
    return &e->o;
}

uint64_t tel_engine_darknet_v4_size(const struct tel_engine *e)
{
    return e->darknet_v4_size;
}

size_t tel_engine_darknet_count(const struct tel_engine *e)
{
    return e->n_darknet;
}

const struct ipprefix *tel_engine_darknet(const struct tel_engine *e, size_t i)
{
    return i < e->n_darknet ? &e->darknet_list[i] : NULL;
}

const char *tel_engine_bogon_source(const struct tel_engine *e)
{
    return e->bogons_path ? e->bogons_path : "builtin";
}

char *tel_engine_addr_text(const struct tel_engine *e, const struct ipaddr *a, char *buf, size_t len)
{
    if (e->o.privacy) {
        char tmp[TEL_KEYHASH_STRLEN];
        tel_keyhash_format(&e->kh, a, tmp);
        snprintf(buf, len, "%s", tmp);
        return buf;
    }
    if (ipaddr_is_v4(a) && len >= 20) { /* fast path: a million sources a day are written */
        char *p = buf; /* 4 bytes copied an octet, the pointer moved past its digits */
        for (int i = 12; i < 15; i++) {
            memcpy(p, e->octet[a->b[i]], 4);
            p += e->octet_len[a->b[i]];
            *p++ = '.';
        }
        memcpy(p, e->octet[a->b[15]], 4); /* with its terminator */
        return buf;
    }
    return ipaddr_format(a, buf, len);
}

/* ---- derived per-source facts ---- */

bool tel_src_fp_listed(const struct tel_src_rec *r, enum tel_fp fp)
{
    uint64_t v = r->fp_votes[fp];
    if (!v)
        return false;
    switch (fp) {
    case TEL_FP_MIRAI: return true;
    case TEL_FP_UNICORNSCAN: return (v + 1) * 2 > r->syn_packets;
    default: return v * 2 > r->syn_packets;
    }
}

static bool infected_given(const struct tel_src_rec *r)
{
    if (r->flags & (TEL_SRC_BOGON | TEL_SRC_RESEARCH))
        return false;
    if (r->fps_listed & (1u << TEL_FP_MIRAI))
        return true;
    if (r->fps_listed & ~(1u << TEL_FP_MIRAI))
        return false; /* a tool scanner */
    return r->iot_packets >= TEL_IOT_MIN_PACKETS && r->destinations >= TEL_IOT_MIN_DESTINATIONS &&
           (uint64_t)r->iot_packets * 2 >= r->syn_packets;
}

static const char *scan_class_given(const struct tel_src_rec *r)
{
    if (!(r->tag_union & (1u << TEL_TAG_TCP_SCAN | 1u << TEL_TAG_UDP_PROBE | 1u << TEL_TAG_ICMP_SCAN)))
        return "none";
    bool many_dst = r->destinations >= TEL_SCAN_MANY;
    bool many_port = r->port_count >= TEL_SCAN_MANY;
    if (many_dst && many_port)
        return "strobe";
    if (many_dst)
        return "horizontal";
    if (many_port)
        return "vertical";
    return "light";
}

void tel_src_derive(struct tel_src_rec *r)
{
    r->fps_listed = 0;
    for (int f = 0; f < TEL_FP_COUNT; f++)
        if (tel_src_fp_listed(r, (enum tel_fp)f))
            r->fps_listed |= 1u << f;
    r->scan_class = scan_class_given(r);
    r->infected_iot = infected_given(r);
}
