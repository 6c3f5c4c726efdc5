/* tel_engine.c - the telescope pipeline: time and intervals, the per-packet path, output
 * dispatch, accessors, derived per-source facts (construction: tel_engine_setup.c; see
 * tel_engine.h). */
#include "telescope/tel_engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hll.h"

static void sink_result(struct tel_engine *e, int rc)
{
    if (rc && !e->sink_err)
        e->sink_err = rc;
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

    bool has_port =
        pi->l4_ok && !(pi->anomalies & PKT_NONFIRST_FRAG) && (pi->proto == 6 || pi->proto == 17);
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

char *tel_engine_addr_text(const struct tel_engine *e, const struct ipaddr *a, char *buf,
                           size_t len)
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
    case TEL_FP_MIRAI:
        return true;
    case TEL_FP_UNICORNSCAN:
        return (v + 1) * 2 > r->syn_packets;
    default:
        return v * 2 > r->syn_packets;
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
    if (!(r->tag_union &
          (1u << TEL_TAG_TCP_SCAN | 1u << TEL_TAG_UDP_PROBE | 1u << TEL_TAG_ICMP_SCAN)))
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
