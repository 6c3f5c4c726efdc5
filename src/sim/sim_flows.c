/* sim_flows.c - the export side of the engine: conversations turned into unidirectional
 * flows per router, the flows' records (v9/IPFIX) and sampled packets (sFlow), the heap
 * drain (see sim_int.h). */
#include "sim/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/pktbuild.h"

/* ---------------------------------------------------------------------------------------- */
/* Export side.                                                                              */

void sim__on_datagram(void *arg, const struct sim_exporter *ex, uint64_t t_ms, const uint8_t *dg,
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
    sim__mac_of(pk.src_mac, rt->addr);
    sim__mac_of(pk.dst_mac, s->w.isp[rt->isp].collector);
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

void sim__update_deadline(struct sim *s, const struct sim_exporter *ex)
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
        sim__mac_of(pk.src_mac, srctag);
        sim__mac_of(pk.dst_mac, rt->addr);
    } else {
        sim__mac_of(pk.src_mac, rt->addr);
        sim__mac_of(pk.dst_mac, dsttag);
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
    sim__addr_info(&s->w, &f->src, &as_unused, &sm.src_mask);
    sim__addr_info(&s->w, &f->dst, &as_unused, &sm.dst_mask);
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
    sim__addr_info(&s->w, &f->src, &r.src_as, &r.src_mask);
    sim__addr_info(&s->w, &f->dst, &r.dst_as, &r.dst_mask);
    r.sport = f->sport;
    r.dport = f->dport;
    r.proto = f->proto;
    r.tcp_flags = flags;
    r.tos = f->tos;
    sim_export_add_flow(&rt->ex, now, &r);
    sim__update_deadline(s, &rt->ex);
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
        sim__pool_free(s, idx);
        return 0;
    }
    f->next_pkt = j + 1;
    return sim__heap_push(s, sparse_key(s, f), idx);
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
        sim__update_deadline(s, &rt->ex);
        uint64_t g = sim_rng_geometric(&s->sr, 1.0 / rt->ex.sampling);
        f = flow_at(s, idx);
        f->next_pkt += g;
        if (f->next_pkt >= f->pkts) {
            sim__pool_free(s, idx);
            return 0;
        }
        return sim__heap_push(s, pkt_time(f, f->next_pkt), idx);
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
        sim__pool_free(s, idx);
        return 0;
    }
    return sim__heap_push(s, first_key(s, f), idx);
}

/* Pops and processes every flow due before limit, and the exporters' deadlines. */
int sim__drain(struct sim *s, uint64_t limit)
{
    while (s->heap.n && VEC_AT(&s->heap, struct heap_item, 0)->key < limit) {
        struct heap_item it = sim__heap_pop(s);
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

static int push_dir(struct sim *s, const struct conv *c, int reverse, int64_t host, int egress)
{
    uint64_t pkts = reverse ? c->pkts_ba : c->pkts_ab;
    if (!pkts)
        return 0;
    const struct sim_host *h = &s->w.hosts[host];
    struct sim_router *rt = &s->w.routers[h->router];
    uint32_t idx;
    int rc = sim__pool_alloc(s, &idx);
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
            sim__pool_free(s, idx);
            return 0;
        }
        return sim__heap_push(s, pkt_time(f, f->next_pkt), idx);
    }
    if (pkts > 1 && (f->end_ms - f->start_ms) / (pkts - 1) > s->p->inactive_timeout_ms) {
        f->sparse = 1;
        f->next_pkt = 0;
        return sim__heap_push(s, sparse_key(s, f), idx);
    }
    return sim__heap_push(s, first_key(s, f), idx);
}

int sim__conv_emit(struct sim *s, const struct conv *c)
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

void sim__conv_init(struct conv *c, uint64_t start, uint64_t dur, const struct ipaddr *a,
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

uint16_t sim__ephemeral(struct sim *s)
{
    return (uint16_t)sim_rng_range(&s->tr, 32768, 60999);
}

void sim__v4(struct ipaddr *a, uint32_t x)
{
    ipaddr_from_v4(a, x);
}

/* External IPv6 server address for a service class. */
void sim__ext_v6(struct ipaddr *a, unsigned cls, uint32_t n)
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

int sim__dns_query(struct sim *s, uint64_t t, int64_t host, uint32_t resolver)
{
    struct conv c;
    struct ipaddr a, b;
    sim_world_host_addr(&s->w, &s->w.hosts[host], 0, &a);
    sim__v4(&b, resolver);
    sim__conv_init(&c, t, sim_rng_range(&s->tr, 5, 60), &a, host, &b,
                   sim_world_host_of(&s->w, resolver), 17, sim__ephemeral(s), 53);
    c.pkts_ab = c.pkts_ba = 1;
    c.bytes_ab = 28 + sim_rng_range(&s->tr, 30, 60);
    c.bytes_ba = 28 + sim_rng_range(&s->tr, 80, 250);
    return sim__conv_emit(s, &c);
}
