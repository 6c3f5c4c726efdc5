/* tel_agg.c - interval buckets (see tel_agg.h). */
#include "telescope/tel_agg.h"

#include <stddef.h>
#include <string.h>

#include "core/hash.h"
#include "core/hll.h"

#define GROUP_MASK (TEL_AGG_GROUPS - 1)
#define GROUP_FILL (TEL_AGG_GROUPS * 3 / 4) /* keep probes short */

void tel_bucket_init(struct tel_bucket *b, uint64_t start_ms, uint64_t len_ms)
{
    memset(b, 0, sizeof *b);
    b->start_ms = start_ms;
    b->len_ms = len_ms;
}

/* Marks a port that has packets but no slot (tel_bucket_add does the same inline). Only a
 * bucket whose slots are all taken marks ports (tel_bucket_add when no slot is free;
 * tel_bucket_merge from a source whose 2048 slots were full, after giving each of those
 * ports a slot or filling the destination's), and slots are freed only by a reset, so a
 * marked port never gets a slot later. */
static inline void mark_untracked(struct tel_bucket *b, unsigned udp, uint16_t port)
{
    uint64_t *w = &b->port_untracked[udp][port >> 6], bit = 1ull << (port & 63);
    b->nuntracked += (*w & bit) == 0;
    *w |= bit;
}

static bool ports_dense(const struct tel_bucket *b, uint32_t mark)
{
    return b->nuntracked > mark;
}

/* Runs body with port set to every port of protocol u (0 TCP, 1 UDP) marked untracked in b,
 * in port order; `continue` in body moves to the next port. */
#define FOR_UNTRACKED(b, u, port, ...)                                                             \
    for (uint32_t w_ = 0; w_ < 65536 / 64; w_++)                                                   \
        for (uint64_t x_ = (b)->port_untracked[u][w_]; x_; x_ &= x_ - 1) {                         \
            uint16_t port = (uint16_t)(w_ * 64 + (uint32_t)__builtin_ctzll(x_));                   \
            __VA_ARGS__                                                                            \
        }

static void clear_groups(struct tel_group *g)
{
    for (size_t i = 0; i < TEL_AGG_GROUPS; i++)
        if (g[i].packets)
            memset(&g[i], 0, sizeof g[i]);
}

void tel_bucket_reset(struct tel_bucket *b, uint64_t start_ms, uint64_t len_ms)
{
    /* Clear what was used rather than the whole 1.5 MB: the port arrays at the slots' and the
     * untracked ports, the slots in use, the sketch rows whose counts are non-zero, the
     * ASN/country entries in use. */
    for (uint32_t i = 0; i < b->nslots; i++) {
        b->port_packets[b->slots[i].is_udp][b->slots[i].port] = 0;
        b->port_slot_of[b->slots[i].is_udp][b->slots[i].port] = 0;
        memset(&b->slots[i], 0, sizeof b->slots[i]); /* fixed size: inline stores */
    }
    for (unsigned u = 0; u < 2; u++) {
        for (uint32_t w = 0; w < 65536 / 64; w++) {
            uint64_t x = b->port_untracked[u][w];
            if (!x)
                continue;
            b->port_untracked[u][w] = 0;
            for (; x; x &= x - 1)
                b->port_packets[u][w * 64 + (uint32_t)__builtin_ctzll(x)] = 0;
        }
    }
    for (int i = 0; i < TEL_TAG_COUNT; i++)
        if (b->tag_packets[i])
            memset(&b->tag_uniq[i], 0, sizeof b->tag_uniq[i]);
    for (int i = 0; i < 256; i++) {
        if (b->proto_packets[i])
            memset(&b->proto_uniq[i], 0, sizeof b->proto_uniq[i]);
        if (b->icmp_types[i])
            memset(&b->icmp_uniq[i], 0, sizeof b->icmp_uniq[i]);
        if (b->icmp6_types[i])
            memset(&b->icmp6_uniq[i], 0, sizeof b->icmp6_uniq[i]);
    }
    if (b->nasn)
        clear_groups(b->asn);
    if (b->ncc)
        clear_groups(b->cc);
    bool sketched = b->packets != 0; /* the sketches only see darknet packets */
    memset(b, 0, offsetof(struct tel_bucket, tag_uniq));
    b->nslots = b->nuntracked = b->nasn = b->ncc = 0;
    if (sketched) {
        memset(b->hll_src, 0, sizeof b->hll_src);
        memset(b->hll_dst, 0, sizeof b->hll_dst);
    }
    b->start_ms = start_ms;
    b->len_ms = len_ms;
}

static struct tel_port_slot *port_slot(struct tel_bucket *b, unsigned udp, uint16_t port)
{
    uint16_t s = b->port_slot_of[udp][port];
    if (s)
        return &b->slots[s - 1];
    if (b->nslots >= TEL_AGG_PORT_SLOTS)
        return NULL;
    struct tel_port_slot *ps = &b->slots[b->nslots++];
    ps->port = port;
    ps->is_udp = (uint8_t)udp;
    b->port_slot_of[udp][port] = (uint16_t)b->nslots;
    return ps;
}

/* The ASN and country groups are not core/htab on purpose: each is a fixed array of
 * TEL_AGG_GROUPS inline in the bucket (allocated once for the run, never on the packet path),
 * filled to at most 3/4 (overflow counted, not grown), cleared in place at each interval and
 * merged array to array into the roll-ups; htab allocates and grows. */
static struct tel_group *group(struct tel_group *g, uint32_t *n, uint32_t key)
{
    size_t s = (size_t)hash_mix64(key) & GROUP_MASK;
    while (g[s].packets) {
        if (g[s].key == key)
            return &g[s];
        s = (s + 1) & GROUP_MASK;
    }
    if (*n >= GROUP_FILL)
        return NULL;
    (*n)++;
    g[s].key = key;
    return &g[s];
}

/* A precision-TEL_AGG_PORT_P HyperLogLog update, split as hll_add() computes it: the
 * register and rank of a hash are the same for every such sketch a packet updates (tags,
 * protocol, ICMP type, port, ASN, country), so they are computed once per packet. */
struct hll6 {
    uint32_t idx;
    uint8_t rank;
};

static inline struct hll6 hll6_of(uint64_t hash)
{
    uint64_t rest = hash << TEL_AGG_PORT_P;
    /* rest's low TEL_AGG_PORT_P bits are zero, so setting the highest of them changes the
     * count of leading zeros only for rest == 0, where it gives the maximum rank 64-p+1 */
    struct hll6 h = {(uint32_t)(hash >> (64 - TEL_AGG_PORT_P)),
                     (uint8_t)(__builtin_clzll(rest | (1ull << (TEL_AGG_PORT_P - 1))) + 1)};
    return h;
}

/* Stores unconditionally (the maximum): whether a random hash raises a register is
 * unpredictable, and a mispredicted branch costs more than the store to a cached line. */
static inline void hll6_put(uint8_t *reg, struct hll6 h)
{
    uint8_t r = reg[h.idx];
    reg[h.idx] = h.rank > r ? h.rank : r;
}

static inline void uniq_put(struct tel_uniq *u, struct hll6 s, struct hll6 d)
{
    hll6_put(u->hll_src, s);
    hll6_put(u->hll_dst, d);
}

/* One packet into an ASN or country row (counted as overflow when the table is full). */
static inline void group_add(struct tel_bucket *b, struct tel_group *g, uint32_t *n, uint32_t key,
                             uint64_t bytes, struct hll6 s6, struct hll6 d6)
{
    struct tel_group *r = group(g, n, key);
    if (!r) {
        b->group_overflow_packets++;
        return;
    }
    r->packets++;
    r->bytes += bytes;
    hll6_put(r->hll_src, s6);
    hll6_put(r->hll_dst, d6);
}

void tel_bucket_add(struct tel_bucket *b, const struct tel_agg_pkt *p)
{
    struct hll6 s6 = hll6_of(p->src_hash), d6 = hll6_of(p->dst_hash);
    const uint64_t bytes = p->bytes;
    b->packets++;
    b->bytes += bytes;
    for (uint32_t t = p->tags; t; t &= t - 1) {
        unsigned i = (unsigned)__builtin_ctz(t);
        b->tag_packets[i]++;
        b->tag_bytes[i] += bytes;
        uniq_put(&b->tag_uniq[i], s6, d6);
    }
    for (uint32_t f = p->fps; f; f &= f - 1)
        b->fp_packets[__builtin_ctz(f)]++;
    if (p->tags & (1u << TEL_TAG_RESEARCH))
        b->research_packets++;
    b->proto_packets[p->proto]++;
    b->proto_bytes[p->proto] += bytes;
    uniq_put(&b->proto_uniq[p->proto], s6, d6);
    if (p->has_icmp) {
        struct tel_uniq *u;
        if (p->ip_version == 6) {
            b->icmp6_types[p->icmp_type]++;
            u = &b->icmp6_uniq[p->icmp_type];
        } else {
            b->icmp_types[p->icmp_type]++;
            u = &b->icmp_uniq[p->icmp_type];
        }
        uniq_put(u, s6, d6);
    }
    hll_add(b->hll_src, TEL_AGG_HLL_P, p->src_hash);
    hll_add(b->hll_dst, TEL_AGG_HLL_P, p->dst_hash);
    if (p->has_port) {
        unsigned udp = p->is_udp ? 1 : 0;
        uint32_t before = b->port_packets[udp][p->dst_port]++;
        struct tel_port_slot *ps = port_slot(b, udp, p->dst_port);
        if (ps) {
            ps->bytes += bytes;
            hll6_put(ps->hll_src, s6);
            hll6_put(ps->hll_dst, d6);
        } else { /* a port without a slot: marked when its first packet comes */
            b->port_slots_full_packets++;
            b->nuntracked += before == 0;
            b->port_untracked[udp][p->dst_port >> 6] |= 1ull << (p->dst_port & 63);
        }
    }
    if (p->has_asn)
        group_add(b, b->asn, &b->nasn, p->asn, bytes, s6, d6);
    if (p->has_cc)
        group_add(b, b->cc, &b->ncc, p->cc, bytes, s6, d6);
}

static void uniq_merge(struct tel_uniq *dst, const struct tel_uniq *src)
{
    hll_merge(dst->hll_src, src->hll_src, TEL_AGG_PORT_P);
    hll_merge(dst->hll_dst, src->hll_dst, TEL_AGG_PORT_P);
}

static void merge_groups(struct tel_group *dst, uint32_t *ndst, const struct tel_group *src,
                         uint32_t nsrc, uint64_t *overflow)
{
    if (!nsrc)
        return;
    for (size_t i = 0; i < TEL_AGG_GROUPS; i++) {
        if (!src[i].packets)
            continue;
        struct tel_group *g = group(dst, ndst, src[i].key);
        if (!g) {
            *overflow += src[i].packets;
            continue;
        }
        g->packets += src[i].packets;
        g->bytes += src[i].bytes;
        hll_merge(g->hll_src, src[i].hll_src, TEL_AGG_PORT_P);
        hll_merge(g->hll_dst, src[i].hll_dst, TEL_AGG_PORT_P);
    }
}

void tel_bucket_merge(struct tel_bucket *dst, const struct tel_bucket *src)
{
    dst->packets += src->packets;
    dst->bytes += src->bytes;
    dst->non_darknet_packets += src->non_darknet_packets;
    dst->non_darknet_bytes += src->non_darknet_bytes;
    dst->undecoded_packets += src->undecoded_packets;
    dst->research_packets += src->research_packets;
    dst->dropped_sources += src->dropped_sources;
    dst->port_slots_full_packets += src->port_slots_full_packets;
    dst->group_overflow_packets += src->group_overflow_packets;
    dst->late_packets += src->late_packets;
    dst->capture_received += src->capture_received;
    dst->capture_dropped += src->capture_dropped;
    dst->capture_if_dropped += src->capture_if_dropped;
    for (int i = 0; i < TEL_TAG_COUNT; i++) {
        if (!src->tag_packets[i])
            continue;
        dst->tag_packets[i] += src->tag_packets[i];
        dst->tag_bytes[i] += src->tag_bytes[i];
        uniq_merge(&dst->tag_uniq[i], &src->tag_uniq[i]);
    }
    for (int i = 0; i < TEL_FP_COUNT; i++)
        dst->fp_packets[i] += src->fp_packets[i];
    for (int i = 0; i < 256; i++) {
        if (src->proto_packets[i]) {
            dst->proto_packets[i] += src->proto_packets[i];
            dst->proto_bytes[i] += src->proto_bytes[i];
            uniq_merge(&dst->proto_uniq[i], &src->proto_uniq[i]);
        }
        if (src->icmp_types[i]) {
            dst->icmp_types[i] += src->icmp_types[i];
            uniq_merge(&dst->icmp_uniq[i], &src->icmp_uniq[i]);
        }
        if (src->icmp6_types[i]) {
            dst->icmp6_types[i] += src->icmp6_types[i];
            uniq_merge(&dst->icmp6_uniq[i], &src->icmp6_uniq[i]);
        }
    }
    bool dense = ports_dense(src, TEL_AGG_DENSE_MERGE);
    if (dense) /* every counter, slot ports included (the slot loop then adds none) */
        for (unsigned u = 0; u < 2; u++)
            for (size_t p = 0; p < 65536; p++)
                dst->port_packets[u][p] += src->port_packets[u][p];
    for (uint32_t i = 0; i < src->nslots; i++) {
        const struct tel_port_slot *s = &src->slots[i];
        uint32_t c = src->port_packets[s->is_udp][s->port];
        if (!dense)
            dst->port_packets[s->is_udp][s->port] += c;
        struct tel_port_slot *d = port_slot(dst, s->is_udp, s->port);
        if (!d) {
            dst->port_slots_full_packets += c;
            mark_untracked(dst, s->is_udp, s->port);
            continue;
        }
        d->bytes += s->bytes;
        hll_merge(d->hll_src, s->hll_src, TEL_AGG_PORT_P);
        hll_merge(d->hll_dst, s->hll_dst, TEL_AGG_PORT_P);
    }
    if (dense) {
        /* src's marks a word at a time, then the ports with a slot in dst unmarked (src had
         * all its slots taken, so dst has too: see mark_untracked) and the marks counted */
        for (unsigned u = 0; u < 2; u++)
            for (uint32_t w = 0; w < 65536 / 64; w++)
                dst->port_untracked[u][w] |= src->port_untracked[u][w];
        for (uint32_t i = 0; i < dst->nslots; i++) {
            const struct tel_port_slot *d = &dst->slots[i];
            dst->port_untracked[d->is_udp][d->port >> 6] &= ~(1ull << (d->port & 63));
        }
        uint32_t n = 0;
        for (unsigned u = 0; u < 2; u++)
            for (uint32_t w = 0; w < 65536 / 64; w++)
                n += (uint32_t)__builtin_popcountll(dst->port_untracked[u][w]);
        dst->nuntracked = n;
    } else {
        for (unsigned u = 0; u < 2; u++) {
            FOR_UNTRACKED(src, u, port, {
                dst->port_packets[u][port] += src->port_packets[u][port];
                if (!dst->port_slot_of[u][port])
                    mark_untracked(dst, u, port);
            })
        }
    }
    merge_groups(dst->asn, &dst->nasn, src->asn, src->nasn, &dst->group_overflow_packets);
    merge_groups(dst->cc, &dst->ncc, src->cc, src->ncc, &dst->group_overflow_packets);
    if (src->packets) { /* only darknet packets reach the sketches: an empty interval's are zero */
        hll_merge(dst->hll_src, src->hll_src, TEL_AGG_HLL_P);
        hll_merge(dst->hll_dst, src->hll_dst, TEL_AGG_HLL_P);
    }
}

/* Row a ranks before row b. */
static bool row_before(const struct tel_port_row *a, const struct tel_port_row *b, bool by_sources)
{
    uint64_t ka = by_sources ? a->sources : a->packets;
    uint64_t kb = by_sources ? b->sources : b->packets;
    if (ka != kb)
        return ka > kb;
    if (by_sources && a->packets != b->packets)
        return a->packets > b->packets;
    if (a->is_udp != b->is_udp)
        return a->is_udp < b->is_udp;
    return a->port < b->port;
}

static void insert_row(struct tel_port_row *out, size_t *n, size_t max,
                       const struct tel_port_row *r, bool by_sources)
{
    if (*n == max && !row_before(r, &out[max - 1], by_sources))
        return;
    size_t i = *n < max ? (*n)++ : max - 1;
    while (i > 0 && row_before(r, &out[i - 1], by_sources)) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *r;
}

static void fill_row(const struct tel_bucket *b, unsigned udp, uint16_t port,
                     struct tel_port_row *r)
{
    memset(r, 0, sizeof *r);
    r->is_udp = (uint8_t)udp;
    r->port = port;
    r->packets = b->port_packets[udp][port];
    uint16_t s = b->port_slot_of[udp][port];
    if (s) {
        const struct tel_port_slot *ps = &b->slots[s - 1];
        r->bytes = ps->bytes;
        r->sources = hll_estimate(ps->hll_src, TEL_AGG_PORT_P);
        r->destinations = hll_estimate(ps->hll_dst, TEL_AGG_PORT_P);
        r->tracked = true;
    }
}

size_t tel_bucket_top_ports(const struct tel_bucket *b, int only_udp, bool by_sources,
                            struct tel_port_row *out, size_t max)
{
    size_t n = 0;
    if (!max || !b->packets)
        return 0;
    if (by_sources) {
        /* Rank on the source estimate alone; the other columns only for the rows kept. */
        for (uint32_t i = 0; i < b->nslots; i++) {
            const struct tel_port_slot *ps = &b->slots[i];
            if (only_udp >= 0 && ps->is_udp != only_udp)
                continue;
            struct tel_port_row r = {.is_udp = ps->is_udp,
                                     .port = ps->port,
                                     .packets = b->port_packets[ps->is_udp][ps->port],
                                     .sources = hll_estimate(ps->hll_src, TEL_AGG_PORT_P)};
            insert_row(out, &n, max, &r, true);
        }
        for (size_t i = 0; i < n; i++)
            fill_row(b, out[i].is_udp, out[i].port, &out[i]);
        return n;
    }
    if (ports_dense(b, TEL_AGG_DENSE_SCAN)) {
        for (unsigned u = 0; u < 2; u++) {
            if (only_udp >= 0 && (int)u != only_udp)
                continue;
            for (uint32_t p = 0; p < 65536; p++) {
                uint32_t c = b->port_packets[u][p];
                /* ports are visited in (protocol, port) order, so a later port with the same
                 * count as the last row kept never displaces it */
                if (!c || (n == max && c <= out[max - 1].packets))
                    continue;
                struct tel_port_row r = {.is_udp = (uint8_t)u, .port = (uint16_t)p, .packets = c};
                insert_row(out, &n, max, &r, false);
            }
        }
        for (size_t i = 0; i < n; i++)
            fill_row(b, out[i].is_udp, out[i].port, &out[i]);
        return n;
    }
    /* The ports with packets are the slots' ports and the untracked ones; insert_row() ranks
     * by a total order, so the order they are visited in does not matter. */
    for (uint32_t i = 0; i < b->nslots; i++) {
        const struct tel_port_slot *ps = &b->slots[i];
        if (only_udp >= 0 && ps->is_udp != only_udp)
            continue;
        uint32_t c = b->port_packets[ps->is_udp][ps->port];
        if (!c || (n == max && c < out[max - 1].packets))
            continue;
        struct tel_port_row r = {.is_udp = ps->is_udp, .port = ps->port, .packets = c};
        insert_row(out, &n, max, &r, false);
    }
    for (unsigned u = 0; u < 2; u++) {
        if (only_udp >= 0 && (int)u != only_udp)
            continue;
        FOR_UNTRACKED(b, u, port, {
            uint32_t c = b->port_packets[u][port];
            if (n == max && c < out[max - 1].packets)
                continue;
            struct tel_port_row r = {.is_udp = (uint8_t)u, .port = port, .packets = c};
            insert_row(out, &n, max, &r, false);
        })
    }
    for (size_t i = 0; i < n; i++) /* the other columns for the rows kept only */
        fill_row(b, out[i].is_udp, out[i].port, &out[i]);
    return n;
}

uint64_t tel_bucket_port_total(const struct tel_bucket *b)
{
    uint64_t sum = 0;
    if (ports_dense(b, TEL_AGG_DENSE_MERGE)) { /* a vectorised sum, as in a merge */
        for (unsigned u = 0; u < 2; u++)
            for (size_t p = 0; p < 65536; p++)
                sum += b->port_packets[u][p];
        return sum;
    }
    for (uint32_t i = 0; i < b->nslots; i++)
        sum += b->port_packets[b->slots[i].is_udp][b->slots[i].port];
    for (unsigned u = 0; u < 2; u++)
        FOR_UNTRACKED(b, u, port, { sum += b->port_packets[u][port]; })
    return sum;
}
