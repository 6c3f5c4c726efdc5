/* sim.c - the traffic engine: time slices, the active-flow heap, exporters, darknet. */
#include "sim/sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/hash.h"
#include "sim/sim_export.h"
#include "core/pcapw.h"
#include "core/pktbuild.h"
#include "core/vec.h"
#include "sim/sim_rng.h"
#include "sim/sim_truth.h"
#include "sim/sim_world.h"

enum { STREAM_TRAFFIC = 2, STREAM_DARKNET = 3, STREAM_SAMPLING = 4 };

/* TCP flags */
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

/* How a packet's TCP header looks (drives options, sequence number and IP ID). */
enum pkt_style {
    STY_STACK = 0,   /* an ordinary OS stack: SYN with MSS/SACK/timestamps/window scale */
    STY_MIRAI = 1,   /* Mirai scanner: no options, sequence number = destination address */
    STY_ZMAP = 2,    /* ZMap: IP ID 54321, no options */
    STY_MASSCAN = 3, /* Masscan: IP ID = dst ^ dport ^ seq, window 1024 */
    STY_SYNACK = 4,  /* a server's SYN-ACK: MSS option */
};

/* A unidirectional flow as one router sees it, waiting in the heap until its next record
 * (v9/IPFIX) or sampled packet (sFlow) is due. */
struct flow_ent {
    union {
        uint64_t cur_ms;   /* v9/IPFIX: start of the part not yet exported */
        uint64_t next_pkt; /* sFlow: next sampled packet; sparse flows: next packet */
    };
    uint64_t start_ms;
    uint64_t end_ms;
    uint64_t pkts;  /* v9/IPFIX: packets left; sFlow: total packets */
    uint64_t bytes; /* v9/IPFIX: bytes left; sFlow: total bytes */
    struct ipaddr src;
    struct ipaddr dst;
    uint32_t seq;
    uint16_t in_if;
    uint16_t out_if;
    uint16_t sport;
    uint16_t dport;
    uint16_t router;
    uint16_t window;
    uint8_t proto;
    uint8_t flags;
    uint8_t tos;
    uint8_t ttl;
    uint8_t style;
    uint8_t parts;  /* records exported so far */
    uint8_t egress; /* leaving the subscriber (next hop: the ISP's upstream) */
    uint8_t sparse; /* v9/IPFIX: packets further apart than the inactive timeout */
};
/* AS numbers, prefix lengths and next hop are derived from the addresses when a record is
 * written, which keeps an active flow at 96 bytes. */
_Static_assert(sizeof(struct flow_ent) <= 96, "flow_ent grew: update the memory bound");

/* Caps on what grows with the world's size: active flows (96 bytes each, about 6 GB at the
 * cap) and darknet packets of one slice, far above what any --scale reaches (a run that hits
 * one fails with BS_ELIMIT rather than exhausting memory). */
#define SIM_MAX_ACTIVE_FLOWS  (1u << 26)
#define SIM_MAX_SLICE_DARKNET (1u << 26)

struct heap_item {
    uint64_t key;
    uint64_t ord;
    uint32_t idx;
};

/* One packet that reaches the darknet. */
struct dpkt {
    uint64_t t_ns;
    uint64_t ord;
    uint32_t src;
    uint32_t dst;
    uint32_t seq;
    uint32_t ack;
    uint16_t sport;
    uint16_t dport;
    uint16_t ip_id;
    uint16_t window;
    uint16_t plen; /* transport payload bytes */
    uint8_t proto;
    uint8_t flags;
    uint8_t ttl;
    uint8_t style;
    uint8_t icmp_type;
    uint8_t icmp_code;
    /* ICMP error quotation: the packet that caused it */
    uint32_t in_src;
    uint32_t in_dst;
    uint16_t in_sport;
    uint16_t in_dport;
    uint16_t in_id;
    uint8_t in_ttl;
};

enum dk_kind {
    DK_ISP_BOT,
    DK_EXT_MIRAI,
    DK_EXT_OTHER_BOT,
    DK_ZMAP,
    DK_MASSCAN,
    DK_SCANNER,
    DK_MISCONF,
    DK_BACKSCATTER,
    DK_N = SIM_DK_KINDS
};
const char *const sim_dk_kind_name[SIM_DK_KINDS] = {
    "isp_bots", "external_mirai", "external_gafgyt",  "zmap",
    "masscan",  "other_scanners", "misconfiguration", "backscatter"};

struct sim {
    struct sim_world w;
    const struct sim_params *p;
    const struct sim_output *out;
    struct sim_rng tr; /* traffic */
    struct sim_rng dr; /* darknet background */
    struct sim_rng sr; /* sampling decisions */
    struct pcapw exp_pcap;
    uint64_t exp_last_ns; /* timestamp of the last export frame written */
    struct pcapw dk_pcap;
    /* active flows */
    struct vec pool;      /* struct flow_ent, by flow number */
    struct vec free_list; /* uint32_t: free flow numbers (room for every flow: never fails) */
    struct vec heap;      /* struct heap_item */
    uint64_t ord;
    uint64_t next_deadline;
    /* darknet packets of the current slice */
    struct vec dk; /* struct dpkt */
    uint32_t *mozi_active;
    unsigned nmozi_active;
    struct sim_stats *st;
    int err;
    uint8_t frame[2048];
};

/* ---------------------------------------------------------------------------------------- */
/* Heap of active flows, ordered by (due time, insertion order): deterministic ties.        */

static int heap_less(const struct heap_item *a, const struct heap_item *b)
{
    return a->key < b->key || (a->key == b->key && a->ord < b->ord);
}

static int heap_push(struct sim *s, uint64_t key, uint32_t idx)
{
    int rc;
    if (!VEC_PUSH(&s->heap, struct heap_item, &rc))
        return rc;
    struct heap_item *h = s->heap.data;
    size_t i = s->heap.n - 1;
    struct heap_item it = {key, s->ord++, idx};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(&it, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = it;
    if (s->heap.n > s->st->peak_active_flows)
        s->st->peak_active_flows = s->heap.n;
    return 0;
}

static struct heap_item heap_pop(struct sim *s)
{
    struct heap_item *h = s->heap.data;
    struct heap_item top = h[0];
    struct heap_item last = h[--s->heap.n];
    size_t i = 0, n = s->heap.n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct heap_item *best = &last;
        if (l < n && heap_less(&h[l], best)) {
            m = l;
            best = &h[l];
        }
        if (r < n && heap_less(&h[r], best))
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (n)
        h[i] = last;
    return top;
}

static inline struct flow_ent *flow_at(struct sim *s, uint32_t idx)
{
    return VEC_AT(&s->pool, struct flow_ent, idx);
}

static int pool_alloc(struct sim *s, uint32_t *idx)
{
    if (s->free_list.n) {
        *idx = *VEC_AT(&s->free_list, uint32_t, --s->free_list.n);
        return 0;
    }
    int rc;
    if (!VEC_PUSH(&s->pool, struct flow_ent, &rc))
        return rc;
    /* Every flow number may be free at once: the free list keeps room for all of them, so
     * pool_free never allocates. */
    if ((rc = vec_reserve(&s->free_list, s->pool.cap))) {
        s->pool.n--;
        return rc;
    }
    *idx = (uint32_t)(s->pool.n - 1);
    return 0;
}

static void pool_free(struct sim *s, uint32_t idx)
{
    *VEC_AT(&s->free_list, uint32_t, s->free_list.n++) = idx;
}

/* ---------------------------------------------------------------------------------------- */
/* Addresses, AS numbers and masks of the address plan.                                      */

static void addr_info(const struct sim_world *w, const struct ipaddr *a, uint32_t *as,
                      uint8_t *mask)
{
    if (!ipaddr_is_v4(a)) {
        if (a->b[4] >= 1 && a->b[4] <= w->nisp) {
            *as = w->isp[a->b[4] - 1].asn;
            *mask = 40;
        } else {
            *as = 64510;
            *mask = 36;
        }
        return;
    }
    uint32_t v = ipaddr_v4(a);
    unsigned b = (v >> 16) & 0xff;
    if (b >= 16 && b / 16 - 1 < w->nisp) {
        *as = w->isp[b / 16 - 1].asn;
        *mask = 12;
    } else if (b == 0) {
        *as = 64510; /* CDN */
        *mask = 16;
    } else if (b <= 3) {
        *as = 64511; /* services, hosting, research networks */
        *mask = 16;
    } else {
        *as = 65536 + ((v >> 12) & 0xf); /* RFC 5398 32-bit documentation ASNs */
        *mask = 14;
    }
}

static uint32_t darknet_base(const struct sim *s)
{
    return ipaddr_v4(&s->p->darknet.addr);
}

static uint32_t darknet_size(const struct sim *s)
{
    unsigned l = ipprefix_family_len(&s->p->darknet);
    return l >= 32 ? 1u : 1u << (32 - l);
}

static int in_darknet(const struct sim *s, uint32_t v4)
{
    uint32_t size = darknet_size(s);
    return v4 - darknet_base(s) < size;
}

/* Path length (hops) from a source to the darknet sensor: stable per source. */
static uint8_t hops_of(uint32_t addr)
{
    return (uint8_t)(6 + hash_mix64(addr * 0x9e3779b97f4a7c15ull) % 15);
}

static void mac_of(uint8_t mac[6], uint32_t tag)
{
    mac[0] = 0x02; /* locally administered */
    mac[1] = 0x42;
    mac[2] = (uint8_t)(tag >> 24);
    mac[3] = (uint8_t)(tag >> 16);
    mac[4] = (uint8_t)(tag >> 8);
    mac[5] = (uint8_t)tag;
}

/* ---------------------------------------------------------------------------------------- */
/* Export side.                                                                              */

static void on_datagram(void *arg, const struct sim_exporter *ex, uint64_t t_ms, const uint8_t *dg,
                        size_t len)
{
    struct sim *s = arg;
    const struct sim_router *rt = NULL;
    unsigned ri = 0;
    for (; ri < s->w.nrouters; ri++)
        if (&s->w.routers[ri].ex == ex) {
            rt = &s->w.routers[ri];
            break;
        }
    if (!rt)
        return;
    struct pktbuild pk;
    memset(&pk, 0, sizeof pk);
    mac_of(pk.src_mac, rt->addr);
    mac_of(pk.dst_mac, s->w.isp[rt->isp].collector);
    ipaddr_from_v4(&pk.src, rt->addr);
    ipaddr_from_v4(&pk.dst, s->w.isp[rt->isp].collector);
    pk.proto = 17;
    pk.ttl = 63;
    pk.df = 0;
    pk.ip_id = (uint16_t)ex->datagrams;
    pk.sport = rt->sport;
    pk.dport = rt->dport;
    pk.payload = dg;
    pk.payload_len = len;
    size_t n = pktbuild_frame(s->frame, sizeof s->frame, &pk);
    if (!n) {
        s->err = BS_EMALFORMED;
        return;
    }
    /* datagrams leave in time order; those of one millisecond are 1 us apart, so the
     * capture's timestamps strictly increase */
    uint64_t ts = t_ms * 1000000ull;
    if (s->exp_last_ns && ts <= s->exp_last_ns)
        ts = s->exp_last_ns + 1000;
    s->exp_last_ns = ts;
    int rc = pcapw_write(&s->exp_pcap, ts, s->frame, n);
    if (rc && !s->err)
        s->err = rc;
    s->st->export_datagrams++;
    if (s->out && s->out->datagram)
        s->out->datagram(s->out->arg, &ex->addr, ri, rt->dport, t_ms, dg, len);
}

static void update_deadline(struct sim *s, const struct sim_exporter *ex)
{
    uint64_t d = sim_export_deadline(ex);
    if (d < s->next_deadline)
        s->next_deadline = d;
}

/* Sends everything the exporters owe up to and including time t, in time order. */
static void run_deadlines(struct sim *s, uint64_t t)
{
    while (s->next_deadline <= t) {
        uint64_t best = UINT64_MAX;
        unsigned bi = 0;
        for (unsigned i = 0; i < s->w.nrouters; i++) {
            uint64_t d = sim_export_deadline(&s->w.routers[i].ex);
            if (d < best) {
                best = d;
                bi = i;
            }
        }
        if (best > t) {
            s->next_deadline = best;
            return;
        }
        sim_export_tick(&s->w.routers[bi].ex, best);
        s->next_deadline = 0; /* recompute */
        uint64_t nb = UINT64_MAX;
        for (unsigned i = 0; i < s->w.nrouters; i++) {
            uint64_t d = sim_export_deadline(&s->w.routers[i].ex);
            if (d < nb)
                nb = d;
        }
        s->next_deadline = nb;
    }
}

static uint32_t next_hop(const struct sim *s, const struct flow_ent *f)
{
    const struct sim_router *rt = &s->w.routers[f->router];
    return f->egress ? s->w.isp[rt->isp].v4_base + 254 : 0;
}

static uint8_t part_flags(const struct flow_ent *f, int first, int last)
{
    uint8_t fl = f->flags;
    if (f->proto != 6)
        return 0;
    if (!first)
        fl &= (uint8_t)~F_SYN;
    if (!last)
        fl &= (uint8_t) ~(F_FIN | F_RST);
    return fl;
}

static uint64_t first_key(const struct sim *s, const struct flow_ent *f)
{
    if (f->end_ms - f->cur_ms > s->p->active_timeout_ms)
        return f->cur_ms + s->p->active_timeout_ms;
    if (f->proto == 6 && (f->flags & (F_FIN | F_RST)))
        return f->end_ms + 100; /* a TCP flow ending in FIN/RST is exported at once */
    return f->end_ms + s->p->inactive_timeout_ms;
}

static uint64_t pkt_time(const struct flow_ent *f, uint64_t j)
{
    if (f->pkts <= 1)
        return f->start_ms;
    return f->start_ms +
           (uint64_t)((double)(f->end_ms - f->start_ms) * (double)j / (double)(f->pkts - 1));
}

/* Builds the sampled packet j of f and hands it to the sFlow agent. */
static void sflow_emit(struct sim *s, struct flow_ent *f, struct sim_router *rt, uint64_t now,
                       uint64_t j)
{
    struct pktbuild pk;
    memset(&pk, 0, sizeof pk);
    pk.src = f->src;
    pk.dst = f->dst;
    uint32_t srctag =
        ipaddr_is_v4(&f->src) ? ipaddr_v4(&f->src) : (uint32_t)hash_bytes(f->src.b, 16, 1);
    uint32_t dsttag =
        ipaddr_is_v4(&f->dst) ? ipaddr_v4(&f->dst) : (uint32_t)hash_bytes(f->dst.b, 16, 1);
    /* Upstream frames go from the subscriber's CPE to the router, downstream the reverse. */
    if (f->in_if < 1000) {
        mac_of(pk.src_mac, srctag);
        mac_of(pk.dst_mac, rt->addr);
    } else {
        mac_of(pk.src_mac, rt->addr);
        mac_of(pk.dst_mac, dsttag);
    }
    pk.proto = f->proto;
    pk.ttl = f->ttl;
    pk.tos = f->tos;
    pk.df = f->proto == 6;
    pk.ip_id = (uint16_t)(srctag + j);
    pk.sport = f->sport;
    pk.dport = f->dport;
    int v6 = !ipaddr_is_v4(&f->src);
    size_t iph = v6 ? 40 : 20;
    size_t avg = f->pkts ? (size_t)(f->bytes / f->pkts) : 64;
    static const uint8_t syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                         0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
    size_t l4h = 8;
    if (f->proto == 6) {
        uint8_t fl = part_flags(f, j == 0, j + 1 == f->pkts);
        if (f->pkts > 1 && j > 0 && j + 1 < f->pkts)
            fl = f->flags & (F_ACK | F_PSH);
        if (f->pkts == 1)
            fl = f->flags;
        pk.tcp_flags = fl ? fl : F_ACK;
        pk.window = f->window;
        if (f->style == STY_MIRAI) {
            pk.seq = ipaddr_v4(&f->dst);
        } else {
            pk.seq = f->seq + (uint32_t)(j * 1000);
            pk.ack = (pk.tcp_flags & F_ACK) ? f->seq ^ 0x5a5a5a5au : 0;
            if (pk.tcp_flags & F_SYN) {
                pk.tcp_opts = syn_opts;
                pk.tcp_opts_len = 20;
            }
        }
        l4h = 20u + pk.tcp_opts_len;
    } else if (f->proto == 1) {
        pk.icmp_type = (uint8_t)(f->dport >> 8);
        pk.icmp_code = (uint8_t)f->dport;
    }
    size_t plen = avg > iph + l4h ? avg - iph - l4h : 0;
    if (plen > 1500 - iph - l4h)
        plen = 1500 - iph - l4h;
    pk.payload_len = plen;
    size_t n = pktbuild_frame(s->frame, sizeof s->frame, &pk);
    if (!n)
        return;
    struct sim_sflow_sample sm;
    memset(&sm, 0, sizeof sm);
    sm.header_len = (uint32_t)(n < SIM_SFLOW_HEADER_BYTES ? n : SIM_SFLOW_HEADER_BYTES);
    memcpy(sm.header, s->frame, sm.header_len);
    sm.frame_len = (uint32_t)n;
    sm.in_if = f->in_if;
    sm.out_if = f->out_if;
    ipaddr_from_v4(&sm.nexthop, next_hop(s, f));
    uint32_t as_unused;
    addr_info(&s->w, &f->src, &as_unused, &sm.src_mask);
    addr_info(&s->w, &f->dst, &as_unused, &sm.dst_mask);
    sim_export_add_sample(&rt->ex, now, &sm);
    s->st->sflow_samples++;
}

/* Hands one v9/IPFIX record for [start, end] with pp packets and pb bytes (before sampling)
 * to f's router. */
static void export_record(struct sim *s, struct flow_ent *f, uint64_t now, uint64_t start,
                          uint64_t end, uint64_t pp, uint64_t pb, uint8_t flags)
{
    struct sim_router *rt = &s->w.routers[f->router];
    uint64_t sp = rt->ex.sampling > 1 ? sim_rng_binomial(&s->sr, pp, 1.0 / rt->ex.sampling) : pp;
    if (!sp)
        return; /* no packet of this part was sampled: the router never saw the flow */
    struct sim_export_rec r;
    memset(&r, 0, sizeof r);
    r.start_ms = start;
    r.end_ms = end;
    r.packets = sp;
    r.bytes = sp == pp ? pb : (uint64_t)((double)pb * (double)sp / (double)pp);
    if (r.bytes < sp * 20)
        r.bytes = sp * 20;
    r.src = f->src;
    r.dst = f->dst;
    ipaddr_from_v4(&r.nexthop, next_hop(s, f));
    if (!ipaddr_is_v4(&f->src))
        memset(&r.nexthop, 0, sizeof r.nexthop);
    r.in_if = f->in_if;
    r.out_if = f->out_if;
    addr_info(&s->w, &f->src, &r.src_as, &r.src_mask);
    addr_info(&s->w, &f->dst, &r.dst_as, &r.dst_mask);
    r.sport = f->sport;
    r.dport = f->dport;
    r.proto = f->proto;
    r.tcp_flags = flags;
    r.tos = f->tos;
    sim_export_add_flow(&rt->ex, now, &r);
    update_deadline(s, &rt->ex);
    if (rt->ex.fmt == SIM_FMT_V9)
        s->st->v9_records++;
    else
        s->st->ipfix_records++;
}

static uint64_t sparse_key(const struct sim *s, const struct flow_ent *f)
{
    uint64_t t = pkt_time(f, f->next_pkt);
    int last = f->next_pkt + 1 >= f->pkts;
    if (last && f->proto == 6 && (f->flags & (F_FIN | F_RST)))
        return t + 100;
    return t + s->p->inactive_timeout_ms;
}

/* A sparse flow (a keep-alive or heartbeat connection whose packets are further apart than the
 * inactive timeout): the router's cache entry expires after every packet, so each packet is a
 * record of its own, exported an inactive timeout later. */
static int process_sparse(struct sim *s, uint64_t now, uint32_t idx)
{
    struct flow_ent *f = flow_at(s, idx);
    uint64_t j = f->next_pkt;
    uint64_t t = pkt_time(f, j);
    int last = j + 1 >= f->pkts;
    uint64_t pb = f->bytes / f->pkts;
    if (last)
        pb = f->bytes - pb * (f->pkts - 1);
    export_record(s, f, now, t, t, 1, pb, part_flags(f, j == 0, last));
    f->parts++;
    if (last) {
        pool_free(s, idx);
        return 0;
    }
    f->next_pkt = j + 1;
    return heap_push(s, sparse_key(s, f), idx);
}

/* Handles the due flow at heap top. */
static int process_flow(struct sim *s, uint64_t now, uint32_t idx)
{
    struct flow_ent *f = flow_at(s, idx);
    struct sim_router *rt = &s->w.routers[f->router];
    run_deadlines(s, now);
    if (f->sparse)
        return process_sparse(s, now, idx);
    if (rt->ex.fmt == SIM_FMT_SFLOW) {
        sflow_emit(s, f, rt, now, f->next_pkt);
        update_deadline(s, &rt->ex);
        uint64_t g = sim_rng_geometric(&s->sr, 1.0 / rt->ex.sampling);
        f = flow_at(s, idx);
        f->next_pkt += g;
        if (f->next_pkt >= f->pkts) {
            pool_free(s, idx);
            return 0;
        }
        return heap_push(s, pkt_time(f, f->next_pkt), idx);
    }
    uint64_t part_end = f->cur_ms + s->p->active_timeout_ms;
    int last = part_end >= f->end_ms;
    if (last)
        part_end = f->end_ms;
    uint64_t pp, pb;
    if (last || f->end_ms == f->cur_ms) {
        pp = f->pkts;
        pb = f->bytes;
    } else {
        double frac = (double)(part_end - f->cur_ms) / (double)(f->end_ms - f->cur_ms);
        pp = (uint64_t)((double)f->pkts * frac + 0.5);
        pb = f->pkts ? (uint64_t)((double)f->bytes * ((double)pp / (double)f->pkts)) : 0;
    }
    if (pp)
        export_record(s, f, now, f->cur_ms, part_end, pp, pb, part_flags(f, f->parts == 0, last));
    f->parts++;
    f->pkts -= pp;
    f->bytes -= pb;
    f->cur_ms = part_end;
    if (last) {
        pool_free(s, idx);
        return 0;
    }
    return heap_push(s, first_key(s, f), idx);
}

/* Pops and processes every flow due before limit, and the exporters' deadlines. */
static int drain(struct sim *s, uint64_t limit)
{
    while (s->heap.n && VEC_AT(&s->heap, struct heap_item, 0)->key < limit) {
        struct heap_item it = heap_pop(s);
        int rc = process_flow(s, it.key, it.idx);
        if (rc)
            return rc;
        if (s->err)
            return s->err;
    }
    run_deadlines(s, limit - 1);
    return s->err;
}

/* ---------------------------------------------------------------------------------------- */
/* Conversations: a bidirectional exchange turned into unidirectional flows per router.      */

struct conv {
    uint64_t start_ms;
    uint64_t dur_ms;
    struct ipaddr a; /* initiator */
    struct ipaddr b;
    int64_t ha; /* host index or -1 */
    int64_t hb;
    uint16_t aport;
    uint16_t bport;
    uint8_t proto;
    uint8_t style; /* of the a->b direction */
    uint8_t ttl_a;
    uint8_t ttl_b;
    uint64_t pkts_ab;
    uint64_t bytes_ab;
    uint64_t pkts_ba;
    uint64_t bytes_ba;
    uint8_t flags_ab;
    uint8_t flags_ba;
    uint16_t window;
};

static int push_dir(struct sim *s, const struct conv *c, int reverse, int64_t host, int egress)
{
    uint64_t pkts = reverse ? c->pkts_ba : c->pkts_ab;
    if (!pkts)
        return 0;
    const struct sim_host *h = &s->w.hosts[host];
    struct sim_router *rt = &s->w.routers[h->router];
    uint32_t idx;
    int rc = pool_alloc(s, &idx);
    if (rc)
        return rc;
    struct flow_ent *f = flow_at(s, idx);
    memset(f, 0, sizeof *f);
    f->start_ms = f->cur_ms = c->start_ms;
    f->end_ms = c->start_ms + c->dur_ms;
    f->pkts = pkts;
    f->bytes = reverse ? c->bytes_ba : c->bytes_ab;
    if (f->end_ms > s->w.end_ms) {
        /* the capture ends first: keep the packet rate, drop the packets after the end */
        f->end_ms = s->w.end_ms > f->start_ms ? s->w.end_ms : f->start_ms;
        double keep = c->dur_ms ? (double)(f->end_ms - f->start_ms) / (double)c->dur_ms : 1.0;
        uint64_t kp = (uint64_t)((double)pkts * keep);
        if (kp < 1)
            kp = 1;
        f->bytes = (uint64_t)((double)f->bytes * (double)kp / (double)pkts);
        f->pkts = pkts = kp;
    }
    f->src = reverse ? c->b : c->a;
    f->dst = reverse ? c->a : c->b;
    f->sport = reverse ? c->bport : c->aport;
    f->dport = reverse ? c->aport : c->bport;
    if (c->proto == 1) {
        /* ICMP: dst_port carries type << 8 | code (echo request 8/0, echo reply 0/0) */
        f->sport = 0;
        f->dport = reverse ? 0 : c->bport;
    }
    f->proto = c->proto;
    f->flags = reverse ? c->flags_ba : c->flags_ab;
    f->style = reverse ? STY_STACK : c->style;
    f->ttl = reverse ? c->ttl_b : c->ttl_a;
    f->window = c->window ? c->window : 64240;
    f->seq = (uint32_t)hash_mix64(c->start_ms ^ ((uint64_t)c->aport << 32) ^ (uint64_t)reverse);
    f->router = h->router;
    uint32_t uplink = rt->uplink_if;
    f->in_if = (uint16_t)(egress ? h->ifindex : uplink);
    f->out_if = (uint16_t)(egress ? uplink : h->ifindex);
    f->egress = (uint8_t)egress;
    s->st->true_flows++;
    s->st->true_packets += pkts;
    if (rt->ex.fmt == SIM_FMT_SFLOW) {
        sim_export_account(&rt->ex, pkts, f->bytes + 14 * pkts);
        uint64_t g = sim_rng_geometric(&s->sr, 1.0 / rt->ex.sampling);
        f->next_pkt = g - 1;
        if (f->next_pkt >= f->pkts) {
            pool_free(s, idx);
            return 0;
        }
        return heap_push(s, pkt_time(f, f->next_pkt), idx);
    }
    if (pkts > 1 && (f->end_ms - f->start_ms) / (pkts - 1) > s->p->inactive_timeout_ms) {
        f->sparse = 1;
        f->next_pkt = 0;
        return heap_push(s, sparse_key(s, f), idx);
    }
    return heap_push(s, first_key(s, f), idx);
}

static int conv_emit(struct sim *s, const struct conv *c)
{
    int rc = 0;
    int same = c->ha >= 0 && c->hb >= 0 && s->w.hosts[c->ha].router == s->w.hosts[c->hb].router;
    for (int rev = 0; rev < 2 && !rc; rev++) {
        /* the sender's router sees the flow leave its subscriber, the receiver's router sees it
         * arrive (one record when both are behind the same router) */
        int64_t sender = rev ? c->hb : c->ha, receiver = rev ? c->ha : c->hb;
        if (sender >= 0)
            rc = push_dir(s, c, rev, sender, 1);
        if (!rc && receiver >= 0 && !same)
            rc = push_dir(s, c, rev, receiver, 0);
    }
    return rc;
}

static void conv_init(struct conv *c, uint64_t start, uint64_t dur, const struct ipaddr *a,
                      int64_t ha, const struct ipaddr *b, int64_t hb, uint8_t proto, uint16_t aport,
                      uint16_t bport)
{
    memset(c, 0, sizeof *c);
    c->start_ms = start;
    c->dur_ms = dur;
    c->a = *a;
    c->b = *b;
    c->ha = ha;
    c->hb = hb;
    c->proto = proto;
    c->aport = aport;
    c->bport = bport;
    c->ttl_a = 64;
    c->ttl_b = 56;
    if (proto == 6) {
        c->flags_ab = F_SYN | F_ACK | F_PSH | F_FIN;
        c->flags_ba = F_SYN | F_ACK | F_PSH | F_FIN;
    }
}

static uint16_t ephemeral(struct sim *s)
{
    return (uint16_t)sim_rng_range(&s->tr, 32768, 60999);
}

static void v4(struct ipaddr *a, uint32_t x)
{
    ipaddr_from_v4(a, x);
}

/* External IPv6 server address for a service class. */
static void ext_v6(struct ipaddr *a, unsigned cls, uint32_t n)
{
    memset(a->b, 0, 16);
    a->b[0] = 0x20;
    a->b[1] = 0x01;
    a->b[2] = 0x0d;
    a->b[3] = 0xb8;
    a->b[4] = 0xf0;
    a->b[5] = (uint8_t)cls;
    a->b[14] = (uint8_t)(n >> 8);
    a->b[15] = (uint8_t)n;
}

static int dns_query(struct sim *s, uint64_t t, int64_t host, uint32_t resolver)
{
    struct conv c;
    struct ipaddr a, b;
    sim_world_host_addr(&s->w, &s->w.hosts[host], 0, &a);
    v4(&b, resolver);
    conv_init(&c, t, sim_rng_range(&s->tr, 5, 60), &a, host, &b, sim_world_host_of(&s->w, resolver),
              17, ephemeral(s), 53);
    c.pkts_ab = c.pkts_ba = 1;
    c.bytes_ab = 28 + sim_rng_range(&s->tr, 30, 60);
    c.bytes_ba = 28 + sim_rng_range(&s->tr, 80, 250);
    return conv_emit(s, &c);
}

/* ---------------------------------------------------------------------------------------- */
/* Households: ordinary traffic with a diurnal rhythm.                                       */

/* Relative activity by local hour (residential broadband shape: trough before dawn, peak in
 * the evening); linearly interpolated. */
static double diurnal(const struct sim *s, uint64_t t)
{
    static const double f[24] = {0.55, 0.40, 0.30, 0.22, 0.18, 0.18, 0.22, 0.32,
                                 0.42, 0.48, 0.52, 0.56, 0.60, 0.60, 0.60, 0.62,
                                 0.66, 0.72, 0.80, 0.90, 0.97, 1.00, 0.92, 0.75};
    double h = fmod((double)t / 3600000.0 + s->p->tz_offset_h, 24.0);
    if (h < 0)
        h += 24;
    unsigned i = (unsigned)h;
    double fr = h - i;
    return f[i % 24] * (1 - fr) + f[(i + 1) % 24] * fr;
}

enum hh_kind {
    HH_DNS,
    HH_HTTPS,
    HH_HTTP,
    HH_QUIC,
    HH_VIDEO,
    HH_NTP,
    HH_MAIL,
    HH_UPDATE,
    HH_GAME,
    HH_PING,
    HH_N
};
static const double hh_weight[HH_N] = {36, 32, 4, 9, 0.6, 3, 3, 0.3, 0.3, 0.5};

#define HH_SESSIONS_PER_HOUR 150.0

static int household_session(struct sim *s, uint64_t t)
{
    struct sim_rng *r = &s->tr;
    int64_t hi = (int64_t)sim_rng_below(r, s->w.nhouseholds);
    const struct sim_host *h = &s->w.hosts[hi];
    unsigned k = sim_rng_weighted(r, hh_weight, HH_N);
    int v6 = h->v6 && (k == HH_DNS || k == HH_HTTPS || k == HH_QUIC || k == HH_VIDEO) &&
             sim_rng_chance(r, 0.5);
    struct ipaddr a, b;
    sim_world_host_addr(&s->w, h, v6, &a);
    struct conv c;
    double dur;
    uint32_t srv;
    switch (k) {
    case HH_DNS: {
        uint32_t res = s->w.isp[h->isp].resolver[sim_rng_below(r, 2)];
        if (v6) {
            /* the ISP's resolver on IPv6: 2001:db8:ii00::53 */
            memset(b.b, 0, 16);
            b.b[0] = 0x20;
            b.b[1] = 0x01;
            b.b[2] = 0x0d;
            b.b[3] = 0xb8;
            b.b[4] = (uint8_t)(h->isp + 1);
            b.b[15] = 0x53;
        } else {
            v4(&b, res);
        }
        conv_init(&c, t, sim_rng_range(r, 2, 40), &a, hi, &b, -1, 17, ephemeral(s), 53);
        c.pkts_ab = c.pkts_ba = 1;
        c.bytes_ab = (v6 ? 48 : 28) + sim_rng_range(r, 30, 60);
        c.bytes_ba = (v6 ? 48 : 28) + sim_rng_range(r, 80, 300);
        return conv_emit(s, &c);
    }
    case HH_HTTPS:
    case HH_HTTP:
    case HH_QUIC: {
        srv = (uint32_t)sim_rng_below(r, 2000);
        if (v6)
            ext_v6(&b, 1, srv);
        else
            v4(&b, SIM_V4(0, srv >> 8, 1 + (srv & 0xff) % 254));
        dur = sim_rng_lognormal(r, 8000, 1.2);
        uint8_t proto = k == HH_QUIC ? 17 : 6;
        conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, proto, ephemeral(s),
                  k == HH_HTTP ? 80 : 443);
        c.pkts_ba = 4 + (uint64_t)sim_rng_lognormal(r, 25, 1.3);
        c.pkts_ab = 3 + c.pkts_ba / 2;
        c.bytes_ba = c.pkts_ba * (uint64_t)sim_rng_range(r, 700, 1400);
        c.bytes_ab = c.pkts_ab * (uint64_t)sim_rng_range(r, 60, 200);
        return conv_emit(s, &c);
    }
    case HH_VIDEO:
        srv = (uint32_t)sim_rng_below(r, 500);
        if (v6)
            ext_v6(&b, 2, srv);
        else
            v4(&b, SIM_V4(0, 128 + (srv >> 8), 1 + (srv & 0xff) % 254));
        dur = sim_rng_lognormal(r, 600000, 0.8);
        if (dur < 30000)
            dur = 30000;
        if (dur > 3 * 3600000.0)
            dur = 3 * 3600000.0;
        conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, 6, ephemeral(s), 443);
        c.pkts_ba = (uint64_t)(dur / 1000.0 * (double)sim_rng_range(r, 150, 450));
        c.pkts_ab = c.pkts_ba / 3 + 3;
        c.bytes_ba = c.pkts_ba * 1400;
        c.bytes_ab = c.pkts_ab * 52;
        return conv_emit(s, &c);
    case HH_NTP:
        v4(&b, SIM_V4(1, 1, 1 + sim_rng_below(r, 8)));
        conv_init(&c, t, sim_rng_range(r, 10, 80), &a, hi, &b, -1, 17, 123, 123);
        c.pkts_ab = c.pkts_ba = 1;
        c.bytes_ab = c.bytes_ba = 76;
        return conv_emit(s, &c);
    case HH_MAIL:
        v4(&b, SIM_V4(1, 2, 1 + sim_rng_below(r, 20)));
        conv_init(&c, t, (uint64_t)sim_rng_lognormal(r, 3000, 1.0), &a, hi, &b, -1, 6, ephemeral(s),
                  sim_rng_chance(r, 0.7) ? 993 : 587);
        c.pkts_ab = 8 + sim_rng_below(r, 20);
        c.pkts_ba = 8 + sim_rng_below(r, 60);
        c.bytes_ab = c.pkts_ab * 120;
        c.bytes_ba = c.pkts_ba * 700;
        return conv_emit(s, &c);
    case HH_UPDATE:
        v4(&b, SIM_V4(1, 3, 1 + sim_rng_below(r, 50)));
        dur = sim_rng_lognormal(r, 60000, 0.9);
        conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, 6, ephemeral(s), 443);
        c.pkts_ba = (uint64_t)(sim_rng_lognormal(r, 40e6, 1.0) / 1400) + 10;
        c.pkts_ab = c.pkts_ba / 2;
        c.bytes_ba = c.pkts_ba * 1400;
        c.bytes_ab = c.pkts_ab * 52;
        return conv_emit(s, &c);
    case HH_PING:
        srv = (uint32_t)sim_rng_below(r, 2000);
        v4(&b, SIM_V4(0, srv >> 8, 1 + (srv & 0xff) % 254));
        conv_init(&c, t, 3000, &a, hi, &b, -1, 1, 0, 8 << 8);
        c.pkts_ab = c.pkts_ba = 4;
        c.bytes_ab = c.bytes_ba = 4 * 84;
        return conv_emit(s, &c);
    default: /* HH_GAME */
        v4(&b, SIM_V4(1, 4, 1 + sim_rng_below(r, 40)));
        dur = sim_rng_lognormal(r, 1200000, 0.5);
        conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, 17, ephemeral(s),
                  sim_rng_chance(r, 0.5) ? 3074 : 27015);
        c.pkts_ab = (uint64_t)(dur / 1000.0 * 30);
        c.pkts_ba = (uint64_t)(dur / 1000.0 * 30);
        c.bytes_ab = c.pkts_ab * 90;
        c.bytes_ba = c.pkts_ba * 140;
        return conv_emit(s, &c);
    }
}

static int gen_households(struct sim *s, uint64_t t0, uint64_t t1)
{
    double mean = (double)s->w.nhouseholds * HH_SESSIONS_PER_HOUR * diurnal(s, (t0 + t1) / 2) *
                  (double)(t1 - t0) / 3600000.0;
    uint64_t n = sim_rng_poisson(&s->tr, mean);
    for (uint64_t i = 0; i < n; i++) {
        int rc = household_session(s, t0 + sim_rng_below(&s->tr, t1 - t0));
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* IoT devices: vendor-cloud heartbeat sessions and NTP (a periodic hard negative for C&C).  */

static int gen_devices(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    for (unsigned d = 0; d < s->w.ndevices; d++) {
        struct sim_device *dv = &s->w.devices[d];
        const struct sim_model *m = &sim_world_models[dv->model];
        int64_t hi = dv->host;
        const struct sim_host *h = &s->w.hosts[hi];
        struct ipaddr a, b;
        sim_world_host_addr(&s->w, h, 0, &a);
        while (dv->next_cloud_ms < t1) {
            uint64_t st = dv->next_cloud_ms;
            double dur = sim_rng_exp(r, 2 * 3600000.0);
            if (dur < 60000)
                dur = 60000;
            int rc = dns_query(s, st, hi, s->w.isp[h->isp].resolver[0]);
            if (rc)
                return rc;
            v4(&b, SIM_V4(1, 5, 1 + (dv->model * 16 + sim_rng_below(r, 4)) % 254));
            struct conv c;
            conv_init(&c, st + 30, (uint64_t)dur, &a, hi, &b, -1, 6, ephemeral(s), m->cloud_port);
            uint64_t beats = (uint64_t)(dur / 1000.0 / m->heartbeat_s);
            c.pkts_ab = 1 + beats;
            c.pkts_ba = 1 + beats;
            c.bytes_ab = c.pkts_ab * 40 + beats * 64 + 600;
            c.bytes_ba = c.pkts_ba * 40 + beats * 32 + 3000;
            rc = conv_emit(s, &c);
            if (rc)
                return rc;
            dv->next_cloud_ms = st + (uint64_t)dur + sim_rng_range(r, 1000, 30000);
        }
        while (dv->next_ntp_ms < t1) {
            v4(&b, SIM_V4(1, 1, 1 + sim_rng_below(r, 8)));
            struct conv c;
            conv_init(&c, dv->next_ntp_ms, 30, &a, hi, &b, -1, 17, 123, 123);
            c.pkts_ab = c.pkts_ba = 1;
            c.bytes_ab = c.bytes_ba = 76;
            int rc = conv_emit(s, &c);
            if (rc)
                return rc;
            dv->next_ntp_ms += 3600000 + sim_rng_below(r, 600000);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Darknet packets.                                                                          */

static struct dpkt *dk_add(struct sim *s, uint64_t t_ns, enum dk_kind kind)
{
    int rc;
    struct dpkt *d = VEC_PUSH(&s->dk, struct dpkt, &rc);
    if (!d) {
        s->err = rc;
        return NULL;
    }
    memset(d, 0, sizeof *d);
    d->t_ns = t_ns;
    d->ord = s->ord++;
    s->st->darknet_kind[kind]++;
    return d;
}

static int cmp_dpkt(const void *a, const void *b)
{
    const struct dpkt *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static const uint8_t linux_syn_opts[20] = {2,    4,    0x05, 0xb4, 4, 2, 8, 10, 0x12, 0x34,
                                           0x56, 0x78, 0,    0,    0, 0, 1, 3,  3,    7};
static const uint8_t mss_opt[4] = {2, 4, 0x05, 0xb4};

/* A well-formed request of the protocol on dport (what misconfigured clients send): DNS query,
 * NTP client request, SSDP M-SEARCH, BitTorrent DHT ping, NetBIOS status query, SNMP get.
 * Returns the payload length (0 for an unknown port). */
static size_t misconf_payload(uint8_t *b, size_t cap, uint16_t dport, uint32_t salt)
{
    static const char ssdp[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                               "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    static const char dht[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    static const uint8_t snmp[] = {0x30, 0x29, 0x02, 0x01, 0x00, 0x04, 0x06, 'p',  'u',  'b',  'l',
                                   'i',  'c',  0xa0, 0x1c, 0x02, 0x04, 0,    0,    0,    0,    0x02,
                                   0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
                                   0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00};
    static const char *const names[] = {"\3www\7example\3com", "\4time\7example\3net",
                                        "\6update\7example\3org"};
    size_t n = 0;
    if (cap < 128)
        return 0;
    switch (dport) {
    case 53: {
        const char *q = names[salt % 3];
        size_t ql = strlen(q) + 1;
        b[0] = (uint8_t)(salt >> 8);
        b[1] = (uint8_t)salt;
        b[2] = 0x01; /* RD */
        b[3] = 0;
        b[4] = 0;
        b[5] = 1; /* one question */
        memset(b + 6, 0, 6);
        memcpy(b + 12, q, ql);
        n = 12 + ql;
        b[n++] = 0;
        b[n++] = 1; /* A */
        b[n++] = 0;
        b[n++] = 1; /* IN */
        return n;
    }
    case 123:
        memset(b, 0, 48);
        b[0] = 0x23; /* version 4, mode 3 (client) */
        for (int i = 0; i < 8; i++)
            b[40 + i] = (uint8_t)(salt >> (i % 4 * 8));
        return 48;
    case 1900:
        memcpy(b, ssdp, sizeof ssdp - 1);
        return sizeof ssdp - 1;
    case 6881:
        memcpy(b, dht, sizeof dht - 1);
        return sizeof dht - 1;
    case 137:
        b[0] = (uint8_t)(salt >> 8);
        b[1] = (uint8_t)salt;
        b[2] = 0x00;
        b[3] = 0x10;
        b[4] = 0;
        b[5] = 1;
        memset(b + 6, 0, 6);
        b[12] = 0x20;
        b[13] = 'C';
        b[14] = 'K';
        memset(b + 15, 'A', 30);
        b[45] = 0;
        b[46] = 0x00;
        b[47] = 0x21; /* NBSTAT */
        b[48] = 0x00;
        b[49] = 0x01;
        return 50;
    case 161:
        memcpy(b, snmp, sizeof snmp);
        b[17] = (uint8_t)(salt >> 24) & 0x7f;
        b[18] = (uint8_t)(salt >> 16);
        b[19] = (uint8_t)(salt >> 8);
        b[20] = (uint8_t)salt;
        return sizeof snmp;
    default:
        return 0;
    }
}

static int dk_write(struct sim *s)
{
    if (!s->dk.n)
        return 0;
    qsort(s->dk.data, s->dk.n, sizeof(struct dpkt), cmp_dpkt);
    static const uint8_t sensor_mac[6] = {0x02, 0x42, 0xdd, 0x00, 0x00, 0x01};
    static const uint8_t gw_mac[6] = {0x02, 0x42, 0xdd, 0x00, 0x00, 0xfe};
    for (size_t i = 0; i < s->dk.n; i++) {
        const struct dpkt *d = VEC_AT(&s->dk, struct dpkt, i);
        struct pktbuild pk;
        uint8_t quote[64];
        memset(&pk, 0, sizeof pk);
        memcpy(pk.src_mac, gw_mac, 6);
        memcpy(pk.dst_mac, sensor_mac, 6);
        v4(&pk.src, d->src);
        v4(&pk.dst, d->dst);
        pk.proto = d->proto;
        pk.ttl = d->ttl;
        pk.ip_id = d->ip_id;
        pk.sport = d->sport;
        pk.dport = d->dport;
        pk.seq = d->seq;
        pk.ack = d->ack;
        pk.tcp_flags = d->flags;
        pk.window = d->window;
        pk.payload_len = d->plen;
        uint8_t pay[256];
        if (d->proto == 17) {
            pk.payload = pay;
            pk.payload_len = misconf_payload(pay, sizeof pay, d->dport, d->seq);
        }
        if (d->proto == 6) {
            if (d->style == STY_STACK && (d->flags & F_SYN)) {
                pk.tcp_opts = linux_syn_opts;
                pk.tcp_opts_len = sizeof linux_syn_opts;
                pk.df = 1;
            } else if (d->style == STY_SYNACK) {
                pk.tcp_opts = mss_opt;
                pk.tcp_opts_len = sizeof mss_opt;
                pk.df = 1;
            }
        } else if (d->proto == 1 && d->icmp_type == 8) {
            /* echo request of a ping sweep: identifier and sequence number, zero payload */
            pk.icmp_type = 8;
            pk.icmp_rest = d->seq;
            pk.payload = NULL;
        } else if (d->proto == 1) {
            /* ICMP error: quote the IP header and first 8 bytes of the packet that caused it */
            struct pktbuild in;
            memset(&in, 0, sizeof in);
            v4(&in.src, d->in_src);
            v4(&in.dst, d->in_dst);
            in.proto = 17;
            in.ttl = d->in_ttl;
            in.ip_id = d->in_id;
            in.sport = d->in_sport;
            in.dport = d->in_dport;
            in.payload_len = 512;
            uint8_t full[600];
            size_t n = pktbuild_ip(full, sizeof full, &in);
            if (n < 28)
                return BS_EMALFORMED;
            memcpy(quote, full, 28);
            pk.icmp_type = d->icmp_type;
            pk.icmp_code = d->icmp_code;
            pk.payload = quote;
            pk.payload_len = 28;
        }
        size_t n = pktbuild_frame(s->frame, sizeof s->frame, &pk);
        if (!n)
            return BS_EMALFORMED;
        int rc = pcapw_write(&s->dk_pcap, d->t_ns, s->frame, n);
        if (rc)
            return rc;
    }
    s->st->darknet_packets += s->dk.n;
    s->dk.n = 0;
    return 0;
}

static uint32_t darknet_random(struct sim *s, struct sim_rng *r)
{
    return darknet_base(s) + (uint32_t)sim_rng_below(r, darknet_size(s));
}

/* A scan probe from an ISP bot: a flow at the bot's router and, when the target is in the
 * darknet, a packet in the darknet capture. */
static int bot_probe(struct sim *s, const struct sim_infection *in, uint64_t t, uint16_t dport,
                     int mirai_style, uint32_t target)
{
    struct sim_rng *r = &s->tr;
    const struct sim_device *dv = &s->w.devices[in->device];
    int64_t hi = dv->host;
    uint32_t src = s->w.hosts[hi].v4;
    uint32_t dst = target;
    if (!dst) {
        if (sim_rng_chance(r, s->p->darknet_share))
            dst = darknet_random(s, r);
        else
            dst = (SIM_NET8 << 24) | (uint32_t)sim_rng_below(r, 1u << 24);
    }
    uint16_t sport = mirai_style ? in->scan_sport : ephemeral(s);
    if (in_darknet(s, dst)) {
        struct dpkt *d = dk_add(s, t * 1000000ull + sim_rng_below(r, 1000000), DK_ISP_BOT);
        if (!d)
            return s->err;
        d->src = src;
        d->dst = dst;
        d->proto = 6;
        d->sport = sport;
        d->dport = dport;
        d->flags = F_SYN;
        d->ttl = (uint8_t)(64 - hops_of(src));
        d->ip_id = (uint16_t)sim_rng_next(r);
        if (mirai_style) {
            d->style = STY_MIRAI;
            d->seq = dst;
            d->window = in->scan_window;
        } else {
            d->style = STY_STACK;
            d->seq = (uint32_t)sim_rng_next(r);
            d->window = 29200;
        }
    }
    struct conv c;
    struct ipaddr a, b;
    v4(&a, src);
    v4(&b, dst);
    conv_init(&c, t, 0, &a, hi, &b, sim_world_host_of(&s->w, dst), 6, sport, dport);
    c.pkts_ab = 1;
    c.bytes_ab = mirai_style ? 40 : 60;
    c.flags_ab = F_SYN;
    c.style = mirai_style ? STY_MIRAI : STY_STACK;
    c.window = mirai_style ? in->scan_window : 29200;
    return conv_emit(s, &c);
}

/* A short TCP exchange (telnet brute force, report, download, exploit). */
static int tcp_exchange(struct sim *s, uint64_t t, uint64_t dur, uint32_t src, uint32_t dst,
                        uint16_t dport, uint64_t pab, uint64_t bab, uint64_t pba, uint64_t bba)
{
    struct conv c;
    struct ipaddr a, b;
    v4(&a, src);
    v4(&b, dst);
    conv_init(&c, t, dur, &a, sim_world_host_of(&s->w, src), &b, sim_world_host_of(&s->w, dst), 6,
              ephemeral(s), dport);
    c.pkts_ab = pab;
    c.bytes_ab = bab;
    c.pkts_ba = pba;
    c.bytes_ba = bba;
    return conv_emit(s, &c);
}

/* ---------------------------------------------------------------------------------------- */
/* Bots.                                                                                     */

static const uint16_t mozi_scan_ports[] = {23, 2323, 80, 8080, 7547, 37215, 52869, 5555, 8443};

static int bot_c2_sessions(struct sim *s, struct sim_infection *in, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    struct sim_c2 *cc = &s->w.c2[in->c2];
    const struct sim_device *dv = &s->w.devices[in->device];
    int64_t hi = dv->host;
    const struct sim_host *h = &s->w.hosts[hi];
    while (in->next_c2_ms < t1 && in->next_c2_ms < in->end_ms && in->next_c2_ms < s->w.end_ms) {
        uint64_t st = in->next_c2_ms;
        unsigned ai = sim_world_c2_addr_index(cc, st);
        uint64_t change = ai + 1 < cc->naddr ? cc->from[ai + 1] : SIM_NO_END;
        uint64_t end = st + (uint64_t)sim_rng_exp(r, 3 * 3600000.0);
        int moved = 0;
        if (change < end) {
            end = change;
            moved = 1;
        }
        if (in->end_ms < end)
            end = in->end_ms;
        if (end <= st + 200)
            end = st + 200;
        /* Mirai resolves its C&C name before each connection (8.8.8.8 in the source; the
         * simulated public resolver here) */
        int rc = dns_query(s, st, hi, SIM_V4(1, 8, 8));
        if (rc)
            return rc;
        struct conv c;
        struct ipaddr a, b;
        sim_world_host_addr(&s->w, h, 0, &a);
        v4(&b, cc->addr[ai]);
        conv_init(&c, st + 40, end - st - 40, &a, hi, &b, -1, 6, ephemeral(s), cc->port);
        /* the connection's opening, then one keep-alive exchange per period: each direction
         * carries beats + 1 packets spread evenly, so its packets are keepalive_s apart */
        uint64_t beats = (end - st) / (cc->keepalive_s * 1000ull);
        c.pkts_ab = 1 + beats;
        c.pkts_ba = 1 + beats;
        uint64_t pay = in->family == FAM_MIRAI ? 2 : 5; /* Mirai: 2-byte ping; Gafgyt PING/PONG */
        c.bytes_ab = c.pkts_ab * 40 + beats * pay + 4 * 40 + 32; /* + handshake and login */
        c.bytes_ba = c.pkts_ba * 40 + beats * pay + 3 * 40;
        rc = conv_emit(s, &c);
        if (rc)
            return rc;
        in->c2_mask |= (uint8_t)(1u << ai);
        in->next_c2_ms =
            end + (moved ? sim_rng_range(r, 10000, 300000) : sim_rng_range(r, 1000, 60000));
    }
    return 0;
}

static int gen_bots(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    s->nmozi_active = 0;
    for (unsigned i = 0; i < s->w.ninf; i++) {
        const struct sim_infection *in = &s->w.inf[i];
        if (in->family == FAM_MOZI && in->start_ms < t1 && in->end_ms > t0)
            s->mozi_active[s->nmozi_active++] = i;
    }
    for (unsigned i = 0; i < s->w.ninf; i++) {
        struct sim_infection *in = &s->w.inf[i];
        uint64_t a = in->start_ms > t0 ? in->start_ms : t0;
        uint64_t b = in->end_ms < t1 ? in->end_ms : t1;
        if (a >= b)
            continue;
        double secs = (double)(b - a) / 1000.0;
        int rc = 0;
        const struct sim_device *dv = &s->w.devices[in->device];
        int64_t hi = dv->host;
        if (in->family == FAM_MIRAI) {
            uint64_t n = sim_rng_poisson(r, s->p->scan_pps * secs);
            for (uint64_t k = 0; k < n && !rc; k++)
                /* scanner.c: port 23 nine times in ten, 2323 otherwise */
                rc = bot_probe(s, in, a + sim_rng_below(r, b - a),
                               sim_rng_chance(r, 0.9) ? 23 : 2323, 1, 0);
            uint64_t rep = sim_rng_poisson(r, secs / 600.0);
            const struct sim_c2 *cc = &s->w.c2[in->c2];
            for (uint64_t k = 0; k < rep && !rc; k++) {
                uint64_t t = a + sim_rng_below(r, b - a);
                rc = dns_query(s, t, hi, SIM_V4(1, 8, 8));
                if (!rc)
                    rc = tcp_exchange(s, t + 30, 400, s->w.hosts[hi].v4, cc->report_addr, 48101, 5,
                                      5 * 40 + 24, 3, 120);
            }
        } else if (in->family == FAM_GAFGYT) {
            uint64_t n = sim_rng_poisson(r, 0.3 * s->p->scan_pps * secs);
            for (uint64_t k = 0; k < n && !rc; k++)
                rc = bot_probe(s, in, a + sim_rng_below(r, b - a), sim_rng_chance(r, 0.8) ? 23 : 22,
                               0, 0);
        } else {
            uint64_t n = sim_rng_poisson(r, 0.3 * s->p->scan_pps * secs);
            for (uint64_t k = 0; k < n && !rc; k++)
                rc = bot_probe(s, in, a + sim_rng_below(r, b - a),
                               mozi_scan_ports[sim_rng_below(r, 9)], 0, 0);
            /* DHT traffic: UDP exchanges with other Mozi nodes, no central server */
            uint64_t x = sim_rng_poisson(r, secs / 20.0);
            for (uint64_t k = 0; k < x && !rc; k++) {
                uint64_t t = a + sim_rng_below(r, b - a);
                double u = sim_rng_unit(r);
                uint32_t peer;
                uint16_t pport;
                if (u < 0.4 && s->nmozi_active > 1) {
                    const struct sim_infection *o =
                        &s->w.inf[s->mozi_active[sim_rng_below(r, s->nmozi_active)]];
                    if (o == in || !sim_world_inf_active(o, t))
                        continue;
                    peer = s->w.hosts[s->w.devices[o->device].host].v4;
                    pport = o->p2p_port;
                } else if (u < 0.9 && s->w.nmozi_nodes) {
                    peer = s->w.mozi_nodes[sim_rng_below(r, s->w.nmozi_nodes)];
                    pport = (uint16_t)(1024 + hash_mix64(peer) % 64511);
                } else {
                    peer = SIM_V4(1, 6, 1 + sim_rng_below(r, 8)); /* DHT bootstrap nodes */
                    pport = 6881;
                }
                struct conv c;
                struct ipaddr pa, pb;
                sim_world_host_addr(&s->w, &s->w.hosts[hi], 0, &pa);
                v4(&pb, peer);
                conv_init(&c, t, sim_rng_range(r, 20, 400), &pa, hi, &pb,
                          sim_world_host_of(&s->w, peer), 17, in->p2p_port, pport);
                c.pkts_ab = 1;
                c.pkts_ba = sim_rng_chance(r, 0.8);
                c.bytes_ab = 28 + sim_rng_range(r, 90, 420);
                c.bytes_ba = c.pkts_ba ? 28 + sim_rng_range(r, 90, 420) : 0;
                rc = conv_emit(s, &c);
            }
        }
        if (!rc && in->family != FAM_MOZI)
            rc = bot_c2_sessions(s, in, t1);
        if (rc)
            return rc;
    }
    return 0;
}

/* The flows that lead to an infection: a probe and a telnet brute force by the spreading bot,
 * its report, the loader's login and the new bot's download (Mirai, Gafgyt); an exploit
 * request and a download from the infecting peer (Mozi). */
static int gen_chains(struct sim *s, uint64_t t0, uint64_t t1)
{
    for (unsigned i = 0; i < s->w.ninf; i++) {
        const struct sim_infection *in = &s->w.inf[i];
        if (in->vector == VEC_INITIAL)
            continue;
        uint64_t c0 = in->start_ms - 60000;
        if (c0 < t0 || c0 >= t1)
            continue;
        const struct sim_device *dv = &s->w.devices[in->device];
        uint32_t dev = s->w.hosts[dv->host].v4;
        uint32_t spreader;
        if (in->infected_by >= 0)
            spreader = s->w.hosts[s->w.devices[s->w.inf[in->infected_by].device].host].v4;
        else
            spreader =
                s->w.nextbots ? s->w.extbots[hash_mix64(i) % s->w.nextbots].addr : SIM_V4(4, 0, 1);
        int rc;
        if (in->family == FAM_MOZI || in->vector == VEC_EXPLOIT) {
            uint16_t port = mozi_scan_ports[2 + hash_mix64(i) % 7];
            rc = tcp_exchange(s, c0, 800, spreader, dev, port, 5, 5 * 40 + 400, 4, 4 * 40 + 200);
            if (!rc)
                rc = tcp_exchange(s, in->start_ms - 20000, 15000, dev, spreader,
                                  (uint16_t)(1024 + hash_mix64(spreader) % 60000), 60, 60 * 52, 110,
                                  110 * 1400);
            if (rc)
                return rc;
            continue;
        }
        const struct sim_c2 *cc = &s->w.c2[in->c2];
        if (in->infected_by >= 0 && in->family == FAM_MIRAI) {
            rc = bot_probe(s, &s->w.inf[in->infected_by], c0, 23, 1, dev);
            if (rc)
                return rc;
        }
        rc = tcp_exchange(s, c0 + 2000, 20000, spreader, dev, 23, 40, 40 * 48, 35, 35 * 60);
        if (!rc && cc->report_addr && in->infected_by >= 0)
            rc = tcp_exchange(s, c0 + 23000, 400, spreader, cc->report_addr, 48101, 5, 224, 3, 120);
        if (!rc)
            rc = tcp_exchange(s, c0 + 35000, 12000, cc->loader_addr, dev, 23, 30, 30 * 80, 25,
                              25 * 70);
        if (!rc)
            rc = tcp_exchange(s, c0 + 50000, 6000, dev, cc->loader_addr, 80, 40, 40 * 52, 60,
                              60 * 1400);
        if (rc)
            return rc;
    }
    return 0;
}

static int gen_attacks(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    for (unsigned k = 0; k < s->w.natk; k++) {
        struct sim_attack *at = &s->w.atk[k];
        if (at->type == ATK_UDP_PLAIN) {
            if (at->start_ms < t0 || at->start_ms >= t1)
                continue;
            /* every bot of the ordering C&C floods the victim (non-spoofed UDP, fixed port) */
            for (unsigned i = 0; i < s->w.ninf; i++) {
                struct sim_infection *in = &s->w.inf[i];
                uint64_t st, en;
                if (!sim_world_attack_bot(&s->w, at, in, &st, &en))
                    continue;
                int64_t hi = s->w.devices[in->device].host;
                struct conv c;
                struct ipaddr a, b;
                sim_world_host_addr(&s->w, &s->w.hosts[hi], 0, &a);
                v4(&b, at->victim);
                conv_init(&c, st, en - st, &a, hi, &b, sim_world_host_of(&s->w, at->victim), 17,
                          ephemeral(s), at->port);
                c.pkts_ab = (uint64_t)((double)(en - st) / 1000.0 * at->bot_pps);
                c.bytes_ab = c.pkts_ab * (20 + 8 + 512);
                int rc = conv_emit(s, &c);
                if (rc)
                    return rc;
                at->bots++;
                in->attacked = 1;
            }
            continue;
        }
        uint64_t a = at->start_ms > t0 ? at->start_ms : t0;
        uint64_t b = at->end_ms < t1 ? at->end_ms : t1;
        if (a >= b)
            continue;
        /* backscatter: the victim answers spoofed sources, some of which are darknet addresses */
        uint64_t n = sim_rng_poisson(r, at->backscatter_pps * (double)(b - a) / 1000.0);
        uint8_t ttl = (uint8_t)(at->ttl - hops_of(at->victim));
        for (uint64_t i = 0; i < n; i++) {
            struct dpkt *d =
                dk_add(s, a * 1000000ull + sim_rng_below(r, (b - a) * 1000000ull), DK_BACKSCATTER);
            if (!d)
                return s->err;
            d->src = at->victim;
            d->dst = darknet_random(s, r);
            d->ttl = ttl;
            d->ip_id = (uint16_t)sim_rng_next(r);
            if (at->type == ATK_SYN_SPOOFED) {
                d->proto = 6;
                d->sport = at->port;
                d->dport = (uint16_t)sim_rng_range(r, 1024, 65535);
                d->ack = (uint32_t)sim_rng_next(r);
                int open = at->port == 80 || at->port == 443 || at->port == 22;
                if (open && !sim_rng_chance(r, 0.1)) {
                    d->flags = F_SYN | F_ACK;
                    d->seq = (uint32_t)sim_rng_next(r);
                    d->window = 65160;
                    d->style = STY_SYNACK;
                } else {
                    d->flags = F_RST | F_ACK;
                    d->seq = 0;
                    d->window = 0;
                }
            } else {
                d->proto = 1;
                d->icmp_type = 3; /* destination unreachable */
                d->icmp_code = 3; /* port unreachable */
                d->in_src = d->dst;
                d->in_dst = at->victim;
                d->in_sport = (uint16_t)sim_rng_range(r, 1024, 65535);
                d->in_dport = at->port;
                d->in_id = (uint16_t)sim_rng_next(r);
                d->in_ttl = (uint8_t)sim_rng_range(r, 40, 60);
            }
        }
    }
    return 0;
}

/* Background darknet traffic from the rest of the Internet. */
static int gen_darknet_bg(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->dr;
    double rate = (double)darknet_size(s) / ((double)s->p->darknet_interval_ms / 1000.0);
    uint64_t n = sim_rng_poisson(r, rate * (double)(t1 - t0) / 1000.0);
    static const double cat_w[4] = {0.45, 0.30, 0.15, 0.10};
    double sw[64];
    unsigned nsc = s->w.nscanners < 64 ? s->w.nscanners : 64;
    double swsum = 0;
    for (unsigned i = 0; i < nsc; i++) {
        const struct sim_scanner *sc = &s->w.scanners[i];
        sw[i] = sc->start_ms < t1 && sc->end_ms > t0 ? sc->weight : 0;
        swsum += sw[i];
    }
    static const uint16_t other_ports[] = {22, 23, 80, 443, 445, 3389, 8080, 5900, 1433, 3306};
    static const uint16_t udp_ports[] = {53, 123, 1900, 6881, 137, 161};
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t_ns = t0 * 1000000ull + sim_rng_below(r, (t1 - t0) * 1000000ull);
        unsigned cat = sim_rng_weighted(r, cat_w, 4);
        if (cat == 1 && swsum <= 0)
            cat = 2;
        uint32_t dst = darknet_random(s, r);
        struct dpkt *d;
        if (cat == 0 && s->w.nextbots) {
            const struct sim_extbot *eb = &s->w.extbots[sim_rng_below(r, s->w.nextbots)];
            d = dk_add(s, t_ns, eb->family == FAM_MIRAI ? DK_EXT_MIRAI : DK_EXT_OTHER_BOT);
            if (!d)
                return s->err;
            d->src = eb->addr;
            d->dst = dst;
            d->proto = 6;
            d->flags = F_SYN;
            d->ttl = (uint8_t)(64 - hops_of(eb->addr));
            d->ip_id = (uint16_t)sim_rng_next(r);
            if (eb->family == FAM_MIRAI) {
                d->style = STY_MIRAI;
                d->sport = eb->sport;
                d->dport = sim_rng_chance(r, 0.9) ? 23 : 2323;
                d->seq = dst;
                d->window = eb->window;
            } else {
                d->style = STY_STACK;
                d->sport = (uint16_t)sim_rng_range(r, 32768, 60999);
                d->dport = sim_rng_chance(r, 0.8) ? 23 : 22;
                d->seq = (uint32_t)sim_rng_next(r);
                d->window = 29200;
            }
        } else if (cat == 1) {
            const struct sim_scanner *sc = &s->w.scanners[sim_rng_weighted(r, sw, nsc)];
            d = dk_add(s, t_ns, sc->tool == 0 ? DK_ZMAP : DK_MASSCAN);
            if (!d)
                return s->err;
            d->src = sc->addr;
            d->dst = dst;
            d->proto = 6;
            d->flags = F_SYN;
            d->ttl = (uint8_t)(255 - hops_of(sc->addr));
            d->dport = sc->ports[sim_rng_below(r, sc->nports)];
            d->seq = (uint32_t)sim_rng_next(r);
            if (sc->tool == 0) {
                d->style = STY_ZMAP;
                d->ip_id = 54321;
                d->window = 65535;
                d->sport = (uint16_t)(sc->sport + sim_rng_below(r, 64));
            } else {
                d->style = STY_MASSCAN;
                d->sport = sc->sport;
                d->window = 1024;
                d->ip_id = (uint16_t)((dst ^ d->dport ^ d->seq) & 0xffff);
            }
        } else if (cat == 2 || cat == 0) {
            d = dk_add(s, t_ns, DK_SCANNER);
            if (!d)
                return s->err;
            d->src = SIM_V4(4, 0, 0) + (uint32_t)sim_rng_below(r, 1u << 18);
            d->dst = dst;
            if (sim_rng_chance(r, 0.2)) {
                /* ping sweep: ICMP echo request */
                d->proto = 1;
                d->icmp_type = 8;
                d->ttl = (uint8_t)((sim_rng_chance(r, 0.7) ? 64 : 128) - hops_of(d->src));
                d->ip_id = (uint16_t)sim_rng_next(r);
                d->seq = (uint32_t)sim_rng_next(r);
                d->plen = (uint16_t)(sim_rng_chance(r, 0.5) ? 56 : 0);
                continue;
            }
            d->proto = 6;
            d->flags = F_SYN;
            d->style = STY_STACK;
            d->ttl = (uint8_t)((sim_rng_chance(r, 0.7) ? 64 : 128) - hops_of(d->src));
            d->ip_id = (uint16_t)sim_rng_next(r);
            d->sport = (uint16_t)sim_rng_range(r, 32768, 60999);
            d->dport = other_ports[sim_rng_below(r, 10)];
            d->seq = (uint32_t)sim_rng_next(r);
            d->window = 64240;
        } else {
            d = dk_add(s, t_ns, DK_MISCONF);
            if (!d)
                return s->err;
            d->src = SIM_V4(4, 0, 0) + (uint32_t)sim_rng_below(r, 1u << 18);
            d->dst = dst;
            d->proto = 17;
            d->ttl = (uint8_t)((sim_rng_chance(r, 0.7) ? 64 : 128) - hops_of(d->src));
            d->ip_id = (uint16_t)sim_rng_next(r);
            d->dport = udp_ports[sim_rng_below(r, 6)];
            d->sport = d->dport == 123 ? 123 : (uint16_t)sim_rng_range(r, 32768, 60999);
            d->seq = (uint32_t)sim_rng_next(r); /* salt of the payload */
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

void sim_params_default(struct sim_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->scale = 1;
    p->start_ms = 1767225600000ull; /* 2026-01-01 00:00:00 UTC */
    p->duration_ms = 3600000;
    p->format = SIM_FORMAT_MIXED;
    p->isps = 3;
    p->routers_per_isp = 0;
    p->sampling = 1;
    p->sflow_sampling = 1024;
    p->active_timeout_ms = 60000;
    p->inactive_timeout_ms = 15000;
    p->template_every = 20;
    ipprefix_parse("25.240.0.0/20", &p->darknet);
    p->darknet_interval_ms = 60000;
    p->darknet_share = 0.02;
    p->scan_pps = 0.5;
    p->tz_offset_h = 9;
    p->out_dir = ".";
}

/* A darknet must be dark: not inside the service blocks (25.0.0.0/13) nor an ISP's /12. */
static int darknet_overlaps_world(const struct sim_params *p)
{
    if (!ipaddr_is_v4(&p->darknet.addr))
        return 0;
    unsigned l = ipprefix_family_len(&p->darknet);
    uint64_t lo = ipaddr_v4(&p->darknet.addr);
    uint64_t hi = lo + (l >= 32 ? 1ull : 1ull << (32 - l)); /* exclusive */
    uint64_t used_lo[2] = {SIM_V4(0, 0, 0), SIM_V4(16, 0, 0)};
    uint64_t used_hi[2] = {SIM_V4(8, 0, 0), SIM_V4(16, 0, 0) + ((uint64_t)p->isps << 20)};
    for (int i = 0; i < 2; i++)
        if (lo < used_hi[i] && used_lo[i] < hi)
            return 1;
    return 0;
}

int sim_params_check(const struct sim_params *p, char *msg, size_t msglen)
{
    const char *bad = NULL;
    if (p->scale < 1 || p->scale > SIM_MAX_SCALE)
        bad = "scale must be 1..10000";
    else if (p->duration_ms < 1000 || p->duration_ms > 366ull * 86400000)
        bad = "duration must be 1s..366d";
    else if (p->isps < 1 || p->isps > SIM_MAX_ISPS)
        bad = "isps must be 1..13";
    else if (p->routers_per_isp > SIM_MAX_ROUTERS_PER_ISP)
        bad = "routers_per_isp must be 0..64";
    else if (p->sampling < 1 || p->sampling > SIM_MAX_SAMPLING)
        bad = "sampling must be 1..65536";
    else if (p->sflow_sampling < 1 || p->sflow_sampling > SIM_MAX_SAMPLING)
        bad = "sflow_sampling must be 1..65536";
    else if (p->active_timeout_ms < 1000 || p->inactive_timeout_ms < 1000)
        bad = "timeouts must be at least 1s";
    else if (p->template_every < 1)
        bad = "template_refresh must be at least 1";
    else if (!ipaddr_is_v4(&p->darknet.addr) || ipprefix_family_len(&p->darknet) < 8 ||
             ipprefix_family_len(&p->darknet) > 30)
        bad = "darknet must be an IPv4 prefix /8../30";
    else if (darknet_overlaps_world(p))
        bad = "darknet overlaps the simulated ISPs or services (use e.g. 25.240.0.0/12 space)";
    else if (p->darknet_interval_ms < 10)
        bad = "darknet_interval must be at least 10ms";
    else if (p->darknet_share < 0 || p->darknet_share > 1)
        bad = "darknet_share must be 0..1";
    else if (p->scan_pps < 0 || p->scan_pps > 10000)
        bad = "scan_pps must be 0..10000";
    else if (p->format != SIM_FORMAT_MIXED && p->format != SIM_FORMAT_V9 &&
             p->format != SIM_FORMAT_IPFIX && p->format != SIM_FORMAT_SFLOW)
        bad = "format must be v9, ipfix, sflow or mixed";
    if (bad) {
        snprintf(msg, msglen, "%s", bad);
        return BS_EUSAGE;
    }
    return 0;
}

static int join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? BS_ELIMIT : 0;
}

int sim_run(const struct sim_params *p, const struct sim_output *out, struct sim_stats *st)
{
    struct sim *s = calloc(1, sizeof *s);
    if (!s)
        return BS_ENOMEM;
    memset(st, 0, sizeof *st);
    s->p = p;
    s->out = out;
    s->st = st;
    s->next_deadline = UINT64_MAX;
    vec_init(&s->pool, sizeof(struct flow_ent), 4096, SIM_MAX_ACTIVE_FLOWS);
    vec_init(&s->free_list, sizeof(uint32_t), 4096, SIM_MAX_ACTIVE_FLOWS);
    vec_init(&s->heap, sizeof(struct heap_item), 4096, SIM_MAX_ACTIVE_FLOWS);
    vec_init(&s->dk, sizeof(struct dpkt), 8192, SIM_MAX_SLICE_DARKNET);
    char path[4096];
    int rc = sim_world_build(&s->w, p);
    if (rc)
        goto out_free;
    sim_rng_init(&s->tr, p->seed, STREAM_TRAFFIC);
    sim_rng_init(&s->dr, p->seed, STREAM_DARKNET);
    sim_rng_init(&s->sr, p->seed, STREAM_SAMPLING);
    s->mozi_active = calloc(s->w.ninf ? s->w.ninf : 1, sizeof *s->mozi_active);
    if (!s->mozi_active) {
        rc = BS_ENOMEM;
        goto out_world;
    }
    for (unsigned i = 0; i < s->w.nrouters; i++) {
        struct sim_router *rt = &s->w.routers[i];
        rt->ex.emit = on_datagram;
        rt->ex.emit_arg = s;
        sim_export_start(&rt->ex, p->start_ms);
        update_deadline(s, &rt->ex);
    }
    /* Both captures are written under temporary names and renamed only when the whole
     * world was generated: a failed run leaves no cut capture behind. */
    static const struct pcapw_opts popts = {.linktype = PCAPW_LINKTYPE_ETHERNET, .atomic = true};
    if ((rc = join(path, sizeof path, p->out_dir, "exports.pcap")) ||
        (rc = pcapw_open(&s->exp_pcap, path, &popts)))
        goto out_exp;
    if ((rc = join(path, sizeof path, p->out_dir, "darknet.pcap")) ||
        (rc = pcapw_open(&s->dk_pcap, path, &popts)))
        goto out_dk;

    uint64_t end = s->w.end_ms;
    for (uint64_t t0 = p->start_ms; t0 < end; t0 += SIM_SLICE_MS) {
        uint64_t t1 = t0 + SIM_SLICE_MS < end ? t0 + SIM_SLICE_MS : end;
        if ((rc = gen_households(s, t0, t1)) || (rc = gen_devices(s, t0, t1)) ||
            (rc = gen_chains(s, t0, t1)) || (rc = gen_bots(s, t0, t1)) ||
            (rc = gen_attacks(s, t0, t1)) || (rc = gen_darknet_bg(s, t0, t1)) || (rc = s->err))
            goto out_dk;
        if ((rc = drain(s, t1)) || (rc = dk_write(s)))
            goto out_dk;
    }
    /* Let the last flows expire and the exporters send what they hold. */
    uint64_t final = end + p->inactive_timeout_ms + p->active_timeout_ms + 2 * SIM_EXPORT_HOLD_MS;
    if ((rc = drain(s, final)))
        goto out_dk;
    for (unsigned i = 0; i < s->w.nrouters; i++)
        sim_export_flush(&s->w.routers[i].ex, final);
    rc = s->err;
    st->flow_records = st->v9_records + st->ipfix_records + st->sflow_samples;
    st->exporters = s->w.nrouters;
    st->subscribers = s->w.nhouseholds;
    st->devices = s->w.ndevices;
    st->infections = s->w.ninf;
    st->c2_servers = s->w.nc2;
    st->attacks = s->w.natk;
out_dk:
    if (rc)
        pcapw_abort(&s->dk_pcap);
    else
        rc = pcapw_close(&s->dk_pcap);
    st->darknet_bytes = s->dk_pcap.bytes;
out_exp:
    if (rc)
        pcapw_abort(&s->exp_pcap);
    else
        rc = pcapw_close(&s->exp_pcap);
    st->export_bytes = s->exp_pcap.bytes;
    if (!rc) {
        for (unsigned i = 0; i < s->w.ndevices; i++) {
            const struct sim_device *dv = &s->w.devices[i];
            if (dv->cred || ((sim_world_models[dv->model].vuln_fw_mask >> dv->fw) & 1))
                st->vulnerable++;
        }
        rc = join(path, sizeof path, p->out_dir, "truth.json");
        if (!rc)
            rc = sim_truth_write(&s->w, path, st);
        struct stat sb;
        if (!rc && stat(path, &sb) == 0)
            st->truth_bytes = (uint64_t)sb.st_size;
    }
out_world:
    free(s->mozi_active);
    sim_world_release(&s->w);
out_free:
    vec_release(&s->pool);
    vec_release(&s->free_list);
    vec_release(&s->heap);
    vec_release(&s->dk);
    free(s);
    return rc;
}
