/* ipfix.c - IPFIX messages (RFC 7011), with RFC 5103 reverse elements skipped.
 *
 * Header (16 bytes) with the message length: bytes after it are ignored (tshark decodes such
 * datagrams too), except that the last set may end past it inside the datagram; a length past
 * the datagram or under 16 is FLOWDEC_ERR_HEADER and nothing is decoded. Sets: 2 templates,
 * 3 options templates, 4-255 reserved (skipped), >= 256 data. A template record with field count 0
 * withdraws its template; ID 2 (in set 2) or 3 (in set 3) withdraws all data or options templates
 * of the domain. Enterprise elements (bit 15 + PEN, including PEN 29305 reverse counters) are
 * skipped by length, so reverse counters never add to the forward packets/bytes; a biflow gives one
 * record with its forward direction only.
 */
#include <string.h>

#include "core/err.h"
#include "core/rd.h"
#include "proto/flowdec_int.h"

#define IPFIX_HDR 16

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Reads n field specifiers; returns 0 or BS_ETRUNC. */
static int read_fields(struct rd *r, struct tmpl_field *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = rd_u16(r);
        f[i].len = rd_u16(r);
        f[i].pen = 0;
        if (id & 0x8000)
            f[i].pen = rd_u32(r);
        f[i].id = id & 0x7fff;
        if (f[i].pen == 0 && (id & 0x8000))
            f[i].pen = TMPL_PEN_V9_SCOPE; /* enterprise 0 with bit set: not IANA, skip */
    }
    return rd_err(r);
}

static void template_set(struct flowdec_ctx *c, const uint8_t *p, size_t len, bool options)
{
    struct tmpl_field f[FLOWDEC_MAX_FIELDS];
    struct rd r;
    rd_init(&r, p, len);
    while (rd_left(&r) >= 4) {
        if (all_zero(rd_ptr(&r), rd_left(&r)))
            return; /* padding */
        uint16_t tid = rd_u16(&r);
        unsigned n = rd_u16(&r);
        if (n == 0) {
            if (tid == (options ? 3 : 2))
                flowdec__template_withdraw_all(c, options);
            else if (tid >= 256)
                flowdec__template_withdraw(c, tid);
            else {
                flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_EMALFORMED);
                return;
            }
            continue;
        }
        unsigned scope = 0;
        if (options) {
            scope = rd_u16(&r);
            if (rd_err(&r)) {
                flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_ETRUNC);
                return;
            }
            if (scope == 0 || scope > n) {
                flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_EMALFORMED);
                return;
            }
        }
        if (tid < 256) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_EMALFORMED);
            return;
        }
        if ((size_t)n * 4 > rd_left(&r)) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_ETRUNC);
            return;
        }
        if (n > FLOWDEC_MAX_FIELDS) {
            /* Walk past it to keep the set framing, then refuse it. */
            struct tmpl_field one;
            for (unsigned i = 0; i < n && !rd_err(&r); i++)
                (void)read_fields(&r, &one, 1);
            if (rd_err(&r)) {
                flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_ETRUNC);
                return;
            }
            flowdec__error(c, FLOWDEC_ERR_LIMIT, BS_ELIMIT);
            continue;
        }
        if (read_fields(&r, f, n)) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_ETRUNC);
            return;
        }
        (void)flowdec__template_add(c, tid, f, n, scope, options);
    }
}

int ipfix_decode(struct flowdec_ctx *c, const uint8_t *buf, size_t len)
{
    struct flowdec_result *res = c->res;
    res->version = FLOW_IPFIX;
    c->version = FLOW_IPFIX;
    if (len < IPFIX_HDR) {
        flowdec__error(c, FLOWDEC_ERR_HEADER, BS_ETRUNC);
        return res->err;
    }
    size_t mlen = be16(buf + 2);
    c->export_ms = (uint64_t)be32(buf + 4) * 1000u;
    uint32_t seq = be32(buf + 8);
    c->domain = be32(buf + 12);
    res->obs_domain = c->domain;
    res->sequence = seq;
    if (mlen < IPFIX_HDR || mlen > len) {
        flowdec__error(c, FLOWDEC_ERR_HEADER, mlen > len ? BS_ETRUNC : BS_EMALFORMED);
        return res->err;
    }
    size_t off = IPFIX_HDR;
    while (off < mlen) {
        if (mlen - off < 4) {
            flowdec__error(c, FLOWDEC_ERR_SET, BS_ETRUNC);
            break;
        }
        const uint8_t *s = buf + off;
        unsigned id = be16(s), slen = be16(s + 2);
        /* A set may end past the message length when the datagram holds it (one exporter
         * sends length 290 for 292 bytes; tshark decodes it as a "partial flow"). */
        if (slen < 4 || slen > len - off) {
            flowdec__error(c, FLOWDEC_ERR_SET, slen < 4 ? BS_EMALFORMED : BS_ETRUNC);
            break;
        }
        if (id == 2 || id == 3)
            template_set(c, s + 4, slen - 4u, id == 3);
        else if (id >= 256)
            flowdec__data_set(c, (uint16_t)id, s + 4, slen - 4u);
        off += slen;
    }
    flowdec__seq(c, seq, seq + c->records, false);
    return res->err;
}
