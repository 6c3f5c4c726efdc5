/* nf5.c - NetFlow v5 datagrams: a 24-byte header and up to count 48-byte records.
 *
 * Records are decoded as far as the datagram holds them: a count larger than the datagram
 * (corrupt or hostile header) is a FLOWDEC_ERR_HEADER error after the records that fit are
 * emitted, which is what tshark does; bytes after the announced records are ignored.
 * Times: First/Last are sysUpTime values, converted with the header's sysUpTime and
 * unix_secs/unix_nsecs (tmpl_uptime_to_ms() handles the 32-bit uptime wrap).
 */
#include <string.h>

#include "core/err.h"
#include "core/rd.h"
#include "proto/flowdec_int.h"

#define NF5_HDR 24
#define NF5_REC 48

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

    size_t fit = (len - NF5_HDR) / NF5_REC;
    unsigned n = count <= fit ? count : (unsigned)fit;
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
    res->flows = n;
    ex->st.flows += n;
    c->records = n;
    int rc = 0;
    if (n < count) {
        flowdec__error(c, FLOWDEC_ERR_HEADER, BS_ETRUNC);
        rc = BS_ETRUNC;
    }
    flowdec__seq(c, seq, seq + n, false);
    return rc;
}
