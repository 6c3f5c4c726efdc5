/* sim_export.c - NetFlow v9, IPFIX and sFlow v5 datagram encoders with exporter state. */
#include "sim/sim_export.h"
#include "core/rd.h"

#include <string.h>

/* One template field: information element ID and length on the wire. */
struct tfield {
    uint16_t id;
    uint16_t len;
};

/* Field IDs shared by v9 (RFC 3954 section 8) and IPFIX (IANA IPFIX registry); 21/22 are the
 * v9 sysUptime-relative times, 152/153 the IPFIX absolute milliseconds. */
static const struct tfield v9_v4[] = {
    {1, 8},  {2, 8}, {22, 4}, {21, 4}, {8, 4}, {12, 4}, {15, 4}, {7, 2},  {11, 2}, {10, 4},
    {14, 4}, {4, 1}, {6, 1},  {5, 1},  {9, 1}, {13, 1}, {16, 4}, {17, 4}, {61, 1},
};
static const struct tfield v9_v6[] = {
    {1, 8},  {2, 8}, {22, 4}, {21, 4}, {27, 16}, {28, 16}, {62, 16}, {7, 2},  {11, 2}, {10, 4},
    {14, 4}, {4, 1}, {6, 1},  {5, 1},  {29, 1},  {30, 1},  {16, 4},  {17, 4}, {61, 1},
};
static const struct tfield ipfix_v4[] = {
    {1, 8},  {2, 8}, {152, 8}, {153, 8}, {8, 4}, {12, 4}, {15, 4}, {7, 2},  {11, 2}, {10, 4},
    {14, 4}, {4, 1}, {6, 2},   {5, 1},   {9, 1}, {13, 1}, {16, 4}, {17, 4}, {61, 1},
};
static const struct tfield ipfix_v6[] = {
    {1, 8},  {2, 8}, {152, 8}, {153, 8}, {27, 16}, {28, 16}, {62, 16}, {7, 2},  {11, 2}, {10, 4},
    {14, 4}, {4, 1}, {6, 2},   {5, 1},   {29, 1},  {30, 1},  {16, 4},  {17, 4}, {61, 1},
};
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static size_t rec_len(const struct tfield *f, size_t n)
{
    size_t l = 0;
    for (size_t i = 0; i < n; i++)
        l += f[i].len;
    return l;
}

static inline size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static inline size_t set_size(size_t body)
{
    return body ? 4 + pad4(body) : 0;
}

static void put_uint(uint8_t *p, uint64_t v, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

static const struct tfield *fields_of(const struct sim_exporter *ex, int v6, size_t *n)
{
    if (ex->fmt == SIM_FMT_V9) {
        *n = v6 ? NFIELDS(v9_v6) : NFIELDS(v9_v4);
        return v6 ? v9_v6 : v9_v4;
    }
    *n = v6 ? NFIELDS(ipfix_v6) : NFIELDS(ipfix_v4);
    return v6 ? ipfix_v6 : ipfix_v4;
}

static uint32_t uptime(const struct sim_exporter *ex, uint64_t t_ms)
{
    return (uint32_t)(t_ms - ex->boot_ms); /* wraps after 49.7 days, as routers' counters do */
}

static void put_field(uint8_t *p, const struct tfield *f, const struct sim_exporter *ex,
                      const struct sim_export_rec *r)
{
    switch (f->id) {
    case 1:
        put_uint(p, r->bytes, f->len);
        break;
    case 2:
        put_uint(p, r->packets, f->len);
        break;
    case 4:
        *p = r->proto;
        break;
    case 5:
        *p = r->tos;
        break;
    case 6:
        put_uint(p, r->tcp_flags, f->len);
        break;
    case 7:
        be16_put(p, r->sport);
        break;
    case 8:
        memcpy(p, r->src.b + 12, 4);
        break;
    case 9:
    case 29:
        *p = r->src_mask;
        break;
    case 10:
        put_uint(p, r->in_if, f->len);
        break;
    case 11:
        be16_put(p, r->dport);
        break;
    case 12:
        memcpy(p, r->dst.b + 12, 4);
        break;
    case 13:
    case 30:
        *p = r->dst_mask;
        break;
    case 14:
        put_uint(p, r->out_if, f->len);
        break;
    case 15:
        memcpy(p, r->nexthop.b + 12, 4);
        break;
    case 16:
        be32_put(p, r->src_as);
        break;
    case 17:
        be32_put(p, r->dst_as);
        break;
    case 21:
        be32_put(p, uptime(ex, r->end_ms));
        break;
    case 22:
        be32_put(p, uptime(ex, r->start_ms));
        break;
    case 27:
        memcpy(p, r->src.b, 16);
        break;
    case 28:
        memcpy(p, r->dst.b, 16);
        break;
    case 61:
        *p = 0;
        break; /* ingress */
    case 62:
        memcpy(p, r->nexthop.b, 16);
        break;
    case 152:
        be64_put(p, r->start_ms);
        break;
    case 153:
        be64_put(p, r->end_ms);
        break;
    default:
        memset(p, 0, f->len);
        break;
    }
}

/* Writes a template record (id, count, fields) at p; returns its length. */
static size_t put_template(uint8_t *p, uint16_t id, const struct tfield *f, size_t n)
{
    be16_put(p, id);
    be16_put(p + 2, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        be16_put(p + 4 + 4 * i, f[i].id);
        be16_put(p + 6 + 4 * i, f[i].len);
    }
    return 4 + 4 * n;
}

/* Templates go out in the first datagram, then after template_every datagrams or
 * SIM_TEMPLATE_TIMEOUT_MS, whichever comes first (Cisco's "refresh-rate" and "timeout-rate"). */
static int templates_due(const struct sim_exporter *ex, uint64_t now_ms)
{
    unsigned every = ex->template_every ? ex->template_every : 1;
    return ex->datagrams == 0 || ex->datagrams - ex->tmpl_datagram >= every ||
           now_ms >= ex->tmpl_ms + SIM_TEMPLATE_TIMEOUT_MS;
}

/* Bytes the templates, options template and options data take in a datagram. */
static size_t templates_size(const struct sim_exporter *ex)
{
    size_t n4, n6;
    fields_of(ex, 0, &n4);
    fields_of(ex, 1, &n6);
    size_t t = 4 + (4 + 4 * n4) + (4 + 4 * n6);
    if (ex->sampling > 1) {
        /* options template: v9 6-byte header + 3 fields; IPFIX 6-byte header + 3 fields */
        t += set_size(6 + 12);
        t += set_size(9);
    }
    return t;
}

static size_t header_size(const struct sim_exporter *ex)
{
    return ex->fmt == SIM_FMT_V9 ? 20 : ex->fmt == SIM_FMT_IPFIX ? 16 : 28;
}

static void emit_flow_datagram(struct sim_exporter *ex, uint64_t now_ms)
{
    uint8_t *o = ex->out;
    size_t off = header_size(ex);
    unsigned count = 0, data_recs = 0;
    int v9 = ex->fmt == SIM_FMT_V9;
    if (templates_due(ex, now_ms)) {
        ex->tmpl_datagram = ex->datagrams;
        ex->tmpl_ms = now_ms;
        size_t n4, n6;
        const struct tfield *f4 = fields_of(ex, 0, &n4), *f6 = fields_of(ex, 1, &n6);
        size_t start = off;
        off += 4;
        off += put_template(o + off, SIM_TMPL_V4, f4, n4);
        off += put_template(o + off, SIM_TMPL_V6, f6, n6);
        be16_put(o + start, v9 ? 0 : 2);
        be16_put(o + start + 2, (uint16_t)(off - start));
        count += 2;
        if (ex->sampling > 1) {
            /* Options template announcing the sampling interval (IE 34) and algorithm (IE 35),
             * scoped to the whole system (v9 scope type 1) or the observation domain (IPFIX
             * IE 149). */
            start = off;
            memset(o + off, 0, set_size(18));
            be16_put(o + off, v9 ? 1 : 3);
            be16_put(o + off + 2, (uint16_t)set_size(18));
            be16_put(o + off + 4, SIM_TMPL_OPTIONS);
            if (v9) {
                be16_put(o + off + 6, 4);  /* scope length in bytes */
                be16_put(o + off + 8, 8);  /* option fields length in bytes */
                be16_put(o + off + 10, 1); /* scope: System */
            } else {
                be16_put(o + off + 6, 3); /* field count */
                be16_put(o + off + 8, 1); /* scope field count */
                be16_put(o + off + 10, 149);
            }
            be16_put(o + off + 12, 4);
            be16_put(o + off + 14, 34);
            be16_put(o + off + 16, 4);
            be16_put(o + off + 18, 35);
            be16_put(o + off + 20, 1);
            off += set_size(18);
            memset(o + off, 0, set_size(9));
            be16_put(o + off, SIM_TMPL_OPTIONS);
            be16_put(o + off + 2, (uint16_t)set_size(9));
            if (v9)
                memcpy(o + off + 4, ex->addr.b + 12, 4);
            else
                be32_put(o + off + 4, ex->source_id);
            be32_put(o + off + 8, ex->sampling);
            o[off + 12] = 2; /* random 1-out-of-N sampling */
            off += set_size(9);
            count += 2;
            data_recs += 1;
        }
    }
    size_t n4, n6;
    const struct tfield *f4 = fields_of(ex, 0, &n4), *f6 = fields_of(ex, 1, &n6);
    size_t r4 = rec_len(f4, n4), r6 = rec_len(f6, n6);
    const uint8_t *bodies[2] = {ex->set4, ex->set6};
    size_t lens[2] = {ex->len4, ex->len6};
    size_t rls[2] = {r4, r6};
    for (int i = 0; i < 2; i++) {
        if (!lens[i])
            continue;
        size_t sz = set_size(lens[i]);
        memset(o + off, 0, sz);
        be16_put(o + off, i ? SIM_TMPL_V6 : SIM_TMPL_V4);
        be16_put(o + off + 2, (uint16_t)sz);
        memcpy(o + off + 4, bodies[i], lens[i]);
        off += sz;
        count += (unsigned)(lens[i] / rls[i]);
        data_recs += (unsigned)(lens[i] / rls[i]);
    }
    if (v9) {
        be16_put(o, 9);
        be16_put(o + 2, (uint16_t)count);
        be32_put(o + 4, uptime(ex, now_ms));
        be32_put(o + 8, (uint32_t)(now_ms / 1000));
        be32_put(o + 12, ex->seq);
        be32_put(o + 16, ex->source_id);
        ex->seq++;
    } else {
        be16_put(o, 10);
        be16_put(o + 2, (uint16_t)off);
        be32_put(o + 4, (uint32_t)(now_ms / 1000));
        be32_put(o + 8, ex->seq);
        be32_put(o + 12, ex->source_id);
        ex->seq += data_recs;
    }
    ex->data_records += ex->nrec;
    ex->datagrams++;
    ex->nrec = 0;
    ex->len4 = ex->len6 = 0;
    ex->emit(ex->emit_arg, ex, now_ms, o, off);
}

static void emit_sflow_datagram(struct sim_exporter *ex, uint64_t now_ms, const uint8_t *samples,
                                size_t len, unsigned nsamples)
{
    uint8_t *o = ex->out;
    be32_put(o, 5);
    be32_put(o + 4, 1); /* agent address type IPv4 */
    memcpy(o + 8, ex->addr.b + 12, 4);
    be32_put(o + 12, ex->source_id);
    be32_put(o + 16, ++ex->seq);
    be32_put(o + 20, uptime(ex, now_ms));
    be32_put(o + 24, nsamples);
    memcpy(o + 28, samples, len);
    ex->datagrams++;
    ex->emit(ex->emit_arg, ex, now_ms, o, 28 + len);
}

static void sflow_flush(struct sim_exporter *ex, uint64_t now_ms)
{
    if (!ex->nrec)
        return;
    ex->data_records += ex->nrec;
    unsigned n = ex->nrec;
    ex->nrec = 0;
    size_t len = ex->len4;
    ex->len4 = 0;
    emit_sflow_datagram(ex, now_ms, ex->set4, len, n);
}

/* A counters sample (format 2) with one generic interface record (format 1), sent in its
 * own datagram after any buffered flow samples. */
static void sflow_counters(struct sim_exporter *ex, uint64_t now_ms)
{
    uint8_t c[8 + 12 + 8 + 88];
    memset(c, 0, sizeof c);
    be32_put(c, 2);
    be32_put(c + 4, 12 + 8 + 88);
    be32_put(c + 8, ++ex->counter_seq);
    be32_put(c + 12, ex->uplink_if);
    be32_put(c + 16, 1);
    be32_put(c + 20, 1);
    be32_put(c + 24, 88);
    uint8_t *g = c + 28;
    be32_put(g, ex->uplink_if);
    be32_put(g + 4, 6);              /* ethernetCsmacd */
    be64_put(g + 8, 10000000000ull); /* 10 Gbit/s */
    be32_put(g + 16, 1);             /* full duplex */
    be32_put(g + 20, 3);             /* admin up, oper up */
    be64_put(g + 24, ex->if_octets); /* ifInOctets */
    be32_put(g + 32, (uint32_t)ex->if_pkts);
    be64_put(g + 56, ex->if_octets / 2); /* ifOutOctets: the model counts one direction */
    be32_put(g + 64, (uint32_t)(ex->if_pkts / 2));
    sflow_flush(ex, now_ms);
    emit_sflow_datagram(ex, now_ms, c, sizeof c, 1);
}

void sim_export_start(struct sim_exporter *ex, uint64_t now_ms)
{
    ex->seq = ex->sample_seq = ex->counter_seq = 0;
    ex->sample_pool = ex->if_octets = ex->if_pkts = 0;
    ex->datagrams = ex->data_records = 0;
    ex->tmpl_ms = now_ms;
    ex->tmpl_datagram = 0;
    ex->nrec = 0;
    ex->len4 = ex->len6 = 0;
    if (ex->sampling < 1)
        ex->sampling = 1;
    ex->next_counter_ms = now_ms + SIM_SFLOW_COUNTER_MS;
}

void sim_export_add_flow(struct sim_exporter *ex, uint64_t now_ms, const struct sim_export_rec *rec)
{
    int v6 = !(ipaddr_is_v4(&rec->src) && ipaddr_is_v4(&rec->dst));
    size_t n;
    const struct tfield *f = fields_of(ex, v6, &n);
    size_t rl = rec_len(f, n);
    size_t l4 = ex->len4 + (v6 ? 0 : rl), l6 = ex->len6 + (v6 ? rl : 0);
    size_t need = header_size(ex) + (templates_due(ex, now_ms) ? templates_size(ex) : 0) +
                  set_size(l4) + set_size(l6);
    if (ex->nrec && need > SIM_EXPORT_MTU)
        emit_flow_datagram(ex, now_ms);
    if (!ex->nrec)
        ex->first_ms = now_ms;
    uint8_t *p = v6 ? ex->set6 + ex->len6 : ex->set4 + ex->len4;
    for (size_t i = 0; i < n; i++) {
        put_field(p, &f[i], ex, rec);
        p += f[i].len;
    }
    if (v6)
        ex->len6 += rl;
    else
        ex->len4 += rl;
    ex->nrec++;
}

void sim_export_account(struct sim_exporter *ex, uint64_t pkts, uint64_t bytes)
{
    ex->sample_pool += pkts;
    ex->if_pkts += pkts;
    ex->if_octets += bytes;
}

void sim_export_add_sample(struct sim_exporter *ex, uint64_t now_ms,
                           const struct sim_sflow_sample *s)
{
    int nh6 = !ipaddr_is_v4(&s->nexthop);
    size_t hl = s->header_len > SIM_SFLOW_HEADER_BYTES ? SIM_SFLOW_HEADER_BYTES : s->header_len;
    size_t raw = 16 + pad4(hl);
    size_t rt = nh6 ? 28 : 16;
    size_t len = 8 + 32 + 8 + raw + 8 + rt;
    if (ex->nrec && 28 + ex->len4 + len > SIM_EXPORT_MTU)
        sflow_flush(ex, now_ms);
    if (!ex->nrec)
        ex->first_ms = now_ms;
    uint8_t *p = ex->set4 + ex->len4;
    memset(p, 0, len);
    be32_put(p, 1); /* flow sample, enterprise 0 */
    be32_put(p + 4, (uint32_t)(len - 8));
    be32_put(p + 8, ++ex->sample_seq);
    be32_put(p + 12, s->in_if); /* source ID: type 0 (ifIndex) << 24 | index */
    be32_put(p + 16, ex->sampling);
    be32_put(p + 20, (uint32_t)ex->sample_pool);
    be32_put(p + 24, 0); /* drops */
    be32_put(p + 28, s->in_if);
    be32_put(p + 32, s->out_if);
    be32_put(p + 36, 2); /* records */
    uint8_t *r = p + 40;
    be32_put(r, 1); /* raw packet header */
    be32_put(r + 4, (uint32_t)raw);
    be32_put(r + 8, 1);                 /* header protocol: Ethernet */
    be32_put(r + 12, s->frame_len + 4); /* frame length on the wire, with the 4-byte FCS */
    be32_put(r + 16, 4);                /* stripped: the FCS */
    be32_put(r + 20, (uint32_t)hl);
    memcpy(r + 24, s->header, hl);
    r += 8 + raw;
    be32_put(r, 1002); /* extended router data */
    be32_put(r + 4, (uint32_t)rt);
    if (nh6) {
        be32_put(r + 8, 2);
        memcpy(r + 12, s->nexthop.b, 16);
        be32_put(r + 28, s->src_mask);
        be32_put(r + 32, s->dst_mask);
    } else {
        be32_put(r + 8, 1);
        memcpy(r + 12, s->nexthop.b + 12, 4);
        be32_put(r + 16, s->src_mask);
        be32_put(r + 20, s->dst_mask);
    }
    ex->len4 += len;
    ex->nrec++;
}

uint64_t sim_export_deadline(const struct sim_exporter *ex)
{
    uint64_t d = UINT64_MAX;
    if (ex->nrec)
        d = ex->first_ms + SIM_EXPORT_HOLD_MS;
    if (ex->fmt == SIM_FMT_SFLOW && ex->next_counter_ms < d)
        d = ex->next_counter_ms;
    return d;
}

void sim_export_flush(struct sim_exporter *ex, uint64_t now_ms)
{
    if (!ex->nrec)
        return;
    if (ex->fmt == SIM_FMT_SFLOW)
        sflow_flush(ex, now_ms);
    else
        emit_flow_datagram(ex, now_ms);
}

void sim_export_tick(struct sim_exporter *ex, uint64_t now_ms)
{
    if (ex->nrec && now_ms >= ex->first_ms + SIM_EXPORT_HOLD_MS)
        sim_export_flush(ex, ex->first_ms + SIM_EXPORT_HOLD_MS);
    if (ex->fmt == SIM_FMT_SFLOW && now_ms >= ex->next_counter_ms) {
        uint64_t t = ex->next_counter_ms;
        ex->next_counter_ms += SIM_SFLOW_COUNTER_MS;
        sflow_counters(ex, t);
    }
}
