/* sflow.c - sFlow version 5 datagram decoder (sflow.org sflow_version_5.txt).
 *
 * Layout: datagram header, then samples framed as (data_format, length, opaque data); flow
 * samples hold flow records framed the same way. data_format is enterprise << 12 | format.
 * Every read goes through a bounds-checked struct rd, and every sample and record is decoded
 * through a sub-reader limited to its own length, so a bad length can never make the decoder
 * read another sample's bytes, let alone past the datagram.
 *
 * Decisions this file makes (sflow.h leaves them open):
 *  - obs_domain is the datagram's sub-agent ID: it is what tells apart the several sampling
 *    engines behind one agent address (the same role as the v9 source ID). The sample's
 *    source ID (type, index) is not kept: for the usual per-interface sampling its index is
 *    the in_if or out_if already in the record.
 *  - Interfaces: a compact or expanded interface in format 0 is an ifIndex; the value
 *    0x3FFFFFFF ("unknown", spec section 5.2) becomes 0. Format 1 (packet discarded, value is
 *    the reason) and format 2 (sent to several interfaces, value is their count) are not
 *    interfaces and become 0 too.
 *  - bytes: frame length of the raw packet header record, else the length of the sampled
 *    IPv4/IPv6 record, else of the sampled Ethernet record, whatever their order in the
 *    sample (the counting rule of the conformance corpus). Addresses, ports, protocol and TOS
 *    come from the raw header when pkt_decode found an IP header in it, else from the
 *    sampled IPv4/IPv6 record.
 *  - vlan: the extended switch record's source VLAN (when <= 4095; agents send 0xFFFFFFFF for
 *    unknown), else the outermost tag of the raw header.
 *  - AS numbers: the extended gateway record's src_as, and dst_as = the last AS of the
 *    destination AS path (0 for an empty path). next hop: the extended router record's, else
 *    the gateway's BGP next hop.
 *  - Framing errors of the datagram (a sample whose length runs past the datagram, a sample
 *    header cut) stop decoding with BS_ETRUNC. Errors inside one sample (a record running past
 *    the sample, a record shorter than its fixed fields, fixed sample fields cut) add to
 *    res->bad_records and end that sample; a flow sample whose own fixed header was read is
 *    still emitted with the records decoded before the fault. The next sample is then decoded
 *    normally, since the sample framing is intact.
 *  - sink may be NULL (or its emit NULL): then samples are only counted.
 */
#include "proto/sflow.h"

#include <string.h>

#include "core/err.h"
#include "core/flow.h"
#include "core/rd.h"
#include "proto/pkt.h"

#define SFLOW_VERSION 5

/* Sample formats (enterprise 0). */
#define SF_FLOW_SAMPLE        1
#define SF_COUNTER_SAMPLE     2
#define SF_FLOW_SAMPLE_EXP    3
#define SF_COUNTER_SAMPLE_EXP 4
#define SF_DISCARD_SAMPLE     5

/* Flow record formats (enterprise 0). */
#define SF_REC_RAW_HEADER  1
#define SF_REC_ETHERNET    2
#define SF_REC_IPV4        3
#define SF_REC_IPV6        4
#define SF_REC_EXT_SWITCH  1001
#define SF_REC_EXT_ROUTER  1002
#define SF_REC_EXT_GATEWAY 1003

/* Raw header protocols (sFlow header_protocol enumeration). */
#define SF_HDR_ETHERNET 1
#define SF_HDR_IPV4     11
#define SF_HDR_IPV6     12

#define SF_IF_UNKNOWN 0x3FFFFFFFu

/* What one flow sample has gathered so far; which source won for each field. */
struct sample_state {
    struct flow_rec rec;
    int bytes_src;   /* 0 none, 1 Ethernet record, 2 sampled IP record, 3 raw header */
    int addr_src;    /* 0 none, 1 sampled IP record, 2 raw header */
    int vlan_switch; /* the extended switch record set rec.vlan */
    int nh_router;   /* the extended router record set rec.nexthop */
};

static uint32_t iface_value(uint32_t format, uint32_t value)
{
    if (format != 0 || value == SF_IF_UNKNOWN)
        return 0;
    return value;
}

/* Reads an sFlow address (type, then 4 or 16 bytes). Returns 0 or BS_EMALFORMED for an
 * unknown type; a cut address sets the reader's error. */
static int read_address(struct rd *r, struct ipaddr *a)
{
    uint32_t type = rd_u32(r);
    switch (type) {
    case 0: /* UNKNOWN: no address bytes follow */
        memset(a, 0, sizeof *a);
        return 0;
    case 1:
        ipaddr_from_v4(a, rd_u32(r));
        return 0;
    case 2: {
        uint8_t b[16];
        rd_copy(r, b, sizeof b);
        ipaddr_from_v6(a, b);
        return 0;
    }
    default:
        return BS_EMALFORMED;
    }
}

static void set_ports_icmp(struct flow_rec *rec, const struct pkt_info *pi)
{
    if (pi->proto == 1 || pi->proto == 58) {
        rec->src_port = 0;
        rec->dst_port = (uint16_t)(pi->icmp_type << 8 | pi->icmp_code);
    } else {
        rec->src_port = pi->src_port;
        rec->dst_port = pi->dst_port;
    }
}

/* Raw packet header record. Returns 0 or BS_EMALFORMED. */
static int rec_raw_header(struct rd *r, struct sample_state *st)
{
    uint32_t proto = rd_u32(r);
    uint32_t frame_len = rd_u32(r);
    (void)rd_u32(r); /* stripped */
    uint32_t hlen = rd_u32(r);
    if (rd_err(r) || hlen > rd_left(r))
        return BS_EMALFORMED;
    const uint8_t *h = rd_ptr(r);
    st->rec.bytes = frame_len;
    st->bytes_src = 3;

    enum pkt_link link;
    if (proto == SF_HDR_ETHERNET)
        link = PKT_LINK_ETHERNET;
    else if (proto == SF_HDR_IPV4)
        link = PKT_LINK_IPV4;
    else if (proto == SF_HDR_IPV6)
        link = PKT_LINK_IPV6;
    else
        return 0; /* another link layer: counted by its frame length only */
    struct pkt_info pi;
    int rc = pkt_decode(h, hlen, link, &pi);
    if (pi.vlan_count && !st->vlan_switch) {
        st->rec.vlan = pi.vlan;
        st->rec.has |= FLOW_HAS_VLAN;
    }
    (void)rc; /* a cut IP header still yields its fixed fields (ip_version set) */
    if (pi.ip_version == 0)
        return 0; /* not IP, or cut inside the fixed IP header: nothing more to take */
    struct flow_rec *rec = &st->rec;
    rec->src = pi.src;
    rec->dst = pi.dst;
    rec->proto = pi.proto;
    rec->tos = pi.tos;
    rec->has |= FLOW_HAS_TOS;
    set_ports_icmp(rec, &pi);
    rec->tcp_flags = pi.proto == 6 && pi.l4_ok ? pi.tcp_flags : 0;
    st->addr_src = 2;
    return 0;
}

/* Sampled IPv4 (v6 = 0) or IPv6 (v6 = 1) record. */
static int rec_sampled_ip(struct rd *r, struct sample_state *st, int v6)
{
    uint32_t length = rd_u32(r);
    uint32_t proto = rd_u32(r);
    struct ipaddr src, dst;
    if (v6) {
        uint8_t b[16];
        rd_copy(r, b, 16);
        ipaddr_from_v6(&src, b);
        rd_copy(r, b, 16);
        ipaddr_from_v6(&dst, b);
    } else {
        ipaddr_from_v4(&src, rd_u32(r));
        ipaddr_from_v4(&dst, rd_u32(r));
    }
    uint32_t sport = rd_u32(r);
    uint32_t dport = rd_u32(r);
    uint32_t flags = rd_u32(r);
    uint32_t tos = rd_u32(r); /* IPv4 TOS, or IPv6 priority */
    if (rd_err(r))
        return BS_EMALFORMED;
    if (st->bytes_src < 2) {
        st->rec.bytes = length;
        st->bytes_src = 2;
    }
    if (st->addr_src < 2) {
        struct flow_rec *rec = &st->rec;
        rec->src = src;
        rec->dst = dst;
        rec->proto = (uint8_t)proto;
        rec->src_port = (uint16_t)sport;
        rec->dst_port = (uint16_t)dport;
        rec->tcp_flags = (uint8_t)flags;
        rec->tos = (uint8_t)tos;
        rec->has |= FLOW_HAS_TOS;
        st->addr_src = 1;
    }
    return 0;
}

static int rec_ext_gateway(struct rd *r, struct sample_state *st)
{
    struct ipaddr nh;
    if (read_address(r, &nh) != 0)
        return BS_EMALFORMED;
    (void)rd_u32(r); /* router's own AS */
    uint32_t src_as = rd_u32(r);
    (void)rd_u32(r); /* src peer AS */
    uint32_t segments = rd_u32(r);
    uint32_t dst_as = 0;
    /* Each segment is at least 8 bytes, so the loop ends with the record's bytes. */
    for (uint32_t i = 0; i < segments && !rd_err(r); i++) {
        (void)rd_u32(r); /* segment type: set or sequence */
        uint32_t n = rd_u32(r);
        if (n > rd_left(r) / 4) {
            r->err = BS_EMALFORMED;
            break;
        }
        if (n > 0) {
            rd_skip(r, ((size_t)n - 1) * 4);
            dst_as = rd_u32(r);
        }
    }
    /* communities and local_pref follow; nothing botscope keeps. */
    if (rd_err(r))
        return BS_EMALFORMED;
    struct flow_rec *rec = &st->rec;
    rec->src_as = src_as;
    rec->dst_as = dst_as;
    rec->has |= FLOW_HAS_SRC_AS | FLOW_HAS_DST_AS;
    if (!st->nh_router && !ipaddr_is_zero(&nh)) {
        rec->nexthop = nh;
        rec->has |= FLOW_HAS_NEXTHOP;
    }
    return 0;
}

/* Decodes the flow records of one flow sample. r is limited to the sample. */
static void flow_records(struct rd *r, uint32_t nrec, struct sample_state *st,
                         struct sflow_result *res)
{
    for (uint32_t i = 0; i < nrec; i++) {
        uint32_t tag = rd_u32(r);
        uint32_t rlen = rd_u32(r);
        if (rd_err(r) || rlen > rd_left(r)) {
            res->bad_records++; /* a record header or body runs past the sample */
            return;
        }
        struct rd rr = rd_sub(r, rlen);
        int rc = 0;
        if (tag >> 12 != 0) /* other enterprise: skipped by its length */
            continue;
        switch (tag & 0xfff) {
        case SF_REC_RAW_HEADER:
            rc = rec_raw_header(&rr, st);
            break;
        case SF_REC_ETHERNET: {
            uint32_t length = rd_u32(&rr);
            rd_skip(&rr, 8 + 8 + 4); /* two MACs padded to 8, EtherType */
            if (rd_err(&rr))
                rc = BS_EMALFORMED;
            else if (st->bytes_src < 1) {
                st->rec.bytes = length;
                st->bytes_src = 1;
            }
            break;
        }
        case SF_REC_IPV4:
            rc = rec_sampled_ip(&rr, st, 0);
            break;
        case SF_REC_IPV6:
            rc = rec_sampled_ip(&rr, st, 1);
            break;
        case SF_REC_EXT_SWITCH: {
            uint32_t src_vlan = rd_u32(&rr);
            rd_skip(&rr, 12); /* src priority, dst VLAN, dst priority */
            if (rd_err(&rr)) {
                rc = BS_EMALFORMED;
                break;
            }
            if (src_vlan <= 4095) { /* agents send 0xFFFFFFFF when they do not know */
                st->rec.vlan = (uint16_t)src_vlan;
                st->rec.has |= FLOW_HAS_VLAN;
                st->vlan_switch = 1;
            }
            break;
        }
        case SF_REC_EXT_ROUTER: {
            struct ipaddr nh;
            rc = read_address(&rr, &nh);
            uint32_t sm = rd_u32(&rr);
            uint32_t dm = rd_u32(&rr);
            if (rc != 0 || rd_err(&rr)) {
                rc = BS_EMALFORMED;
                break;
            }
            struct flow_rec *rec = &st->rec;
            rec->nexthop = nh;
            rec->src_mask = (uint8_t)(sm > 128 ? 0 : sm);
            rec->dst_mask = (uint8_t)(dm > 128 ? 0 : dm);
            rec->has |= FLOW_HAS_NEXTHOP | FLOW_HAS_MASKS;
            st->nh_router = 1;
            break;
        }
        case SF_REC_EXT_GATEWAY:
            rc = rec_ext_gateway(&rr, st);
            break;
        default: /* extended user, URL, MPLS, NAT, ...: skipped by length */
            break;
        }
        if (rc != 0) {
            res->bad_records++;
            return;
        }
    }
}

/* Decodes one flow sample (expanded or not) and emits its record. */
static void flow_sample(struct rd *r, int expanded, const struct ipaddr *exporter, uint64_t recv_ms,
                        const struct flow_sink *sink, struct sflow_result *res)
{
    struct sample_state st;
    memset(&st, 0, sizeof st);
    uint32_t in_fmt, in_val, out_fmt, out_val;
    (void)rd_u32(r);              /* sample sequence number */
    rd_skip(r, expanded ? 8 : 4); /* source ID (type, index) */
    uint32_t rate = rd_u32(r);
    (void)rd_u32(r); /* sample pool */
    uint32_t drops = rd_u32(r);
    if (expanded) {
        in_fmt = rd_u32(r);
        in_val = rd_u32(r);
        out_fmt = rd_u32(r);
        out_val = rd_u32(r);
    } else {
        uint32_t in = rd_u32(r), out = rd_u32(r);
        in_fmt = in >> 30;
        in_val = in & 0x3fffffff;
        out_fmt = out >> 30;
        out_val = out & 0x3fffffff;
    }
    uint32_t nrec = rd_u32(r);
    if (rd_err(r)) {
        res->bad_records++; /* the sample is shorter than its fixed fields */
        return;
    }
    res->sample_drops += drops;

    struct flow_rec *rec = &st.rec;
    rec->version = FLOW_SFLOW5;
    rec->direction = FLOW_DIR_UNKNOWN;
    rec->exporter = *exporter;
    rec->obs_domain = res->sub_agent;
    rec->packets = 1;
    rec->sampling_rate = rate ? rate : 1;
    rec->in_if = iface_value(in_fmt, in_val);
    rec->out_if = iface_value(out_fmt, out_val);
    rec->has |= FLOW_HAS_IFACES;
    rec->start_ms = recv_ms;
    rec->end_ms = recv_ms;

    flow_records(r, nrec, &st, res);

    res->flow_samples++;
    if (sink && sink->emit)
        sink->emit(sink->arg, rec);
}

bool sflow_probe(const uint8_t *buf, size_t len)
{
    return len >= 8 && be32(buf) == SFLOW_VERSION && be32(buf + 4) <= 2;
}

int sflow_decode(const uint8_t *buf, size_t len, const struct ipaddr *exporter, uint64_t recv_ms,
                 const struct flow_sink *sink, struct sflow_result *res)
{
    static const struct ipaddr no_exporter;
    memset(res, 0, sizeof *res);
    if (!exporter)
        exporter = &no_exporter;
    struct rd r;
    rd_init(&r, buf, len);
    uint32_t version = rd_u32(&r);
    if (rd_err(&r))
        return BS_ETRUNC;
    if (version != SFLOW_VERSION)
        return BS_EVERSION;
    if (read_address(&r, &res->agent) != 0)
        return BS_EMALFORMED;
    res->sub_agent = rd_u32(&r);
    res->seq = rd_u32(&r);
    res->uptime_ms = rd_u32(&r);
    res->samples = rd_u32(&r);
    if (rd_err(&r))
        return BS_ETRUNC;

    /* Every sample takes at least its 8-byte header, so a huge announced count ends with the
     * datagram's bytes. Bytes after the announced samples are ignored. */
    for (uint32_t i = 0; i < res->samples; i++) {
        uint32_t tag = rd_u32(&r);
        uint32_t slen = rd_u32(&r);
        if (rd_err(&r) || slen > rd_left(&r))
            return BS_ETRUNC;
        struct rd s = rd_sub(&r, slen);
        if (tag >> 12 != 0) {
            res->other_samples++;
            continue;
        }
        switch (tag & 0xfff) {
        case SF_FLOW_SAMPLE:
            flow_sample(&s, 0, exporter, recv_ms, sink, res);
            break;
        case SF_FLOW_SAMPLE_EXP:
            flow_sample(&s, 1, exporter, recv_ms, sink, res);
            break;
        case SF_COUNTER_SAMPLE:
        case SF_COUNTER_SAMPLE_EXP:
            res->counter_samples++;
            break;
        case SF_DISCARD_SAMPLE:
            res->discard_samples++;
            break;
        default:
            res->other_samples++;
            break;
        }
    }
    return 0;
}
