/* nf5.c - NetFlow v5 datagrams: a 24-byte header and count (1..30) 48-byte records.
 *
 * The format has no set framing and no checksum, so the header is checked against the
 * datagram before any record is believed: count must be 1..NF5_MAX_COUNT and the datagram must
 * hold all count records; otherwise nothing is emitted (FLOWDEC_ERR_HEADER), because a
 * datagram that disagrees with its own header is damaged or not NetFlow v5 at all. Bytes after
 * the records are ignored: real exporters leave some (vflow's test capture has 6, logstash's
 * netflow5.dat a 1608-byte stale buffer), so an exact length would refuse real data. Each record is
 * then checked for what v5 makes impossible: masks above 32, more packets than bytes, and
 * First/Last after the header's sysUpTime or First after Last (modulo the 32-bit wrap: an age of
 * 2^31 ms or more is a time in the future); such records are dropped and counted
 * (FLOWDEC_ERR_VALUE). Times: First/Last are sysUpTime values, converted with the header's
 * sysUpTime and unix_secs/unix_nsecs (tmpl_uptime_to_ms() handles the 32-bit uptime wrap).
 */
#include <stdbool.h>
#include <string.h>

#include "core/err.h"
#include "core/rd.h"
#include "proto/flowdec_int.h"

#define NF5_HDR 24
#define NF5_REC 48
/* Cisco's v5 export carries at most 30 records (24 + 30 x 48 = 1464 bytes). */
#define NF5_MAX_COUNT 30

/* Whether the record's fields are possible in v5 (see the top of the file). */
static bool rec_possible(const uint8_t *p, uint32_t sysup)
{
    if (p[44] > 32 || p[45] > 32)
        return false;
    if (be32(p + 16) > be32(p + 20))
        return false;
    uint32_t age_first = sysup - be32(p + 24), age_last = sysup - be32(p + 28);
    return age_first < 0x80000000u && age_last <= age_first;
}

int nf5_decode(struct flowdec_ctx *c, const uint8_t *buf, size_t len)
{
    struct flowdec_exporter *ex = c->ex;
    struct flowdec_result *res = c->res;
    res->version = FLOW_V5;
    c->version = FLOW_V5;
    if (len < NF5_HDR) {
        flowdec__error(c, FLOWDEC_ERR_HEADER, BS_ETRUNC);
        return BS_ETRUNC;
    }
    unsigned count = be16(buf + 2);
    uint32_t sysup = be32(buf + 4);
    uint32_t secs = be32(buf + 8);
    uint32_t nsecs = be32(buf + 12);
    uint32_t seq = be32(buf + 16);
    uint32_t domain = (uint32_t)buf[20] << 8 | buf[21];
    unsigned interval = be16(buf + 22) & 0x3fff;
    uint64_t export_ms = (uint64_t)secs * 1000u + nsecs / 1000000u;
    c->domain = domain;
    c->export_ms = export_ms;
    res->obs_domain = domain;
    res->sequence = seq;

    if (count == 0 || count > NF5_MAX_COUNT || len < NF5_HDR + (size_t)count * NF5_REC) {
        int err = count == 0 || count > NF5_MAX_COUNT ? BS_EMALFORMED : BS_ETRUNC;
        flowdec__error(c, FLOWDEC_ERR_HEADER, err);
        c->records = 0;
        return err;
    }
    unsigned n = count, bad = 0;
    struct flow_rec r;
    memset(&r, 0, sizeof(r));
    r.exporter = ex->addr;
    r.version = FLOW_V5;
    r.obs_domain = domain;
    r.sampling_rate = interval ? interval : 1;
    r.has = FLOW_HAS_SRC_AS | FLOW_HAS_DST_AS | FLOW_HAS_NEXTHOP | FLOW_HAS_TIMES |
            FLOW_HAS_IFACES | FLOW_HAS_MASKS | FLOW_HAS_TOS;
    const uint8_t *p = buf + NF5_HDR;
    for (unsigned i = 0; i < n; i++, p += NF5_REC) {
        if (!rec_possible(p, sysup)) {
            bad++;
            continue;
        }
        ipaddr_from_v4(&r.src, be32(p));
        ipaddr_from_v4(&r.dst, be32(p + 4));
        ipaddr_from_v4(&r.nexthop, be32(p + 8));
        r.in_if = be16(p + 12);
        r.out_if = be16(p + 14);
        r.packets = be32(p + 16);
        r.bytes = be32(p + 20);
        r.start_ms = tmpl_uptime_to_ms(export_ms, sysup, be32(p + 24));
        r.end_ms = tmpl_uptime_to_ms(export_ms, sysup, be32(p + 28));
        if (r.start_ms > r.end_ms)
            r.start_ms = r.end_ms;
        r.src_port = be16(p + 32);
        r.dst_port = be16(p + 34);
        r.tcp_flags = p[37];
        r.proto = p[38];
        r.tos = p[39];
        r.src_as = be16(p + 40);
        r.dst_as = be16(p + 42);
        r.src_mask = p[44];
        r.dst_mask = p[45];
        c->sink->emit(c->sink->arg, &r);
    }
    res->flows = n - bad;
    ex->st.flows += n - bad;
    c->records = n;
    int rc = 0;
    if (bad) {
        flowdec__error_n(c, FLOWDEC_ERR_VALUE, BS_EMALFORMED, bad);
        rc = BS_EMALFORMED;
        c->seq_unknown = 0; /* the records were counted by the exporter all the same */
    }
    flowdec__seq(c, seq, seq + n, false);
    return rc;
}
