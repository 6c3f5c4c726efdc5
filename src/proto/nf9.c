/* nf9.c - NetFlow v9 export packets (RFC 3954).
 *
 * Header (20 bytes), then flowsets until the end of the datagram: 0 templates, 1 options
 * templates (scope fields are skipped by length), 2-255 reserved (skipped), >= 256 data.
 * The header count (records of all kinds) is not used for framing, because exporters disagree
 * on it; a count that no datagram of this size could hold is a FLOWDEC_ERR_HEADER error, but
 * the flowsets are still decoded. A flowset shorter than 4 bytes or running past the end stops
 * the walk with FLOWDEC_ERR_SET, except when the rest of the datagram is zero bytes (some
 * exporters pad datagrams with zeros), which is accepted silently as tshark does.
 */
#include <string.h>

#include "core/err.h"
#include "core/rd.h"
#include "proto/flowdec_int.h"

#define NF9_HDR 20

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Template flowset body. Stops at the first malformed record (its error recorded). */
static void templates(struct flowdec_ctx *c, const uint8_t *p, size_t len)
{
    struct tmpl_field f[FLOWDEC_MAX_FIELDS];
    struct rd r;
    rd_init(&r, p, len);
    while (rd_left(&r) >= 4) {
        if (all_zero(rd_ptr(&r), rd_left(&r)))
            return; /* padding */
        uint16_t tid = rd_u16(&r);
        unsigned n = rd_u16(&r);
        if (tid < 256 || n == 0) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_EMALFORMED);
            return;
        }
        if ((size_t)n * 4 > rd_left(&r)) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_ETRUNC);
            return;
        }
        if (n > FLOWDEC_MAX_FIELDS) {
            flowdec__error(c, FLOWDEC_ERR_LIMIT, BS_ELIMIT);
            rd_skip(&r, (size_t)n * 4);
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            f[i].id = rd_u16(&r);
            f[i].len = rd_u16(&r);
            f[i].pen = 0;
        }
        (void)flowdec__template_add(c, tid, f, n, 0, false);
    }
}

/* Options template flowset body: id, scope length, option length (bytes), then fields. */
static void options_templates(struct flowdec_ctx *c, const uint8_t *p, size_t len)
{
    struct tmpl_field f[FLOWDEC_MAX_FIELDS];
    struct rd r;
    rd_init(&r, p, len);
    while (rd_left(&r) >= 6) {
        if (all_zero(rd_ptr(&r), rd_left(&r)))
            return;
        uint16_t tid = rd_u16(&r);
        unsigned slen = rd_u16(&r);
        unsigned olen = rd_u16(&r);
        if (tid < 256 || slen % 4 || olen % 4 || slen + olen == 0) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_EMALFORMED);
            return;
        }
        if ((size_t)slen + olen > rd_left(&r)) {
            flowdec__error(c, FLOWDEC_ERR_TEMPLATE, BS_ETRUNC);
            return;
        }
        unsigned ns = slen / 4, n = (slen + olen) / 4;
        if (n > FLOWDEC_MAX_FIELDS) {
            flowdec__error(c, FLOWDEC_ERR_LIMIT, BS_ELIMIT);
            rd_skip(&r, (size_t)slen + olen);
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            f[i].id = rd_u16(&r);
            f[i].len = rd_u16(&r);
            f[i].pen = i < ns ? TMPL_PEN_V9_SCOPE : 0;
        }
        (void)flowdec__template_add(c, tid, f, n, ns, true);
    }
}

int nf9_decode(struct flowdec_ctx *c, const uint8_t *buf, size_t len)
{
    struct flowdec_result *res = c->res;
    res->version = FLOW_V9;
    c->version = FLOW_V9;
    if (len < NF9_HDR) {
        flowdec__error(c, FLOWDEC_ERR_HEADER, BS_ETRUNC);
        return res->err;
    }
    unsigned count = be16(buf + 2);
    c->sysuptime = be32(buf + 4);
    c->export_ms = (uint64_t)be32(buf + 8) * 1000u;
    c->has_sysuptime = 1;
    uint32_t seq = be32(buf + 12);
    c->domain = be32(buf + 16);
    res->obs_domain = c->domain;
    res->sequence = seq;
    if (count > len - NF9_HDR)
        flowdec__error(c, FLOWDEC_ERR_HEADER, BS_EMALFORMED);

    size_t off = NF9_HDR;
    while (len - off >= 4) {
        const uint8_t *s = buf + off;
        unsigned id = be16(s), slen = be16(s + 2);
        if (slen < 4 || slen > len - off) {
            if (!all_zero(s, len - off))
                flowdec__error(c, FLOWDEC_ERR_SET, slen < 4 ? BS_EMALFORMED : BS_ETRUNC);
            break;
        }
        if (id == 0)
            templates(c, s + 4, slen - 4u);
        else if (id == 1)
            options_templates(c, s + 4, slen - 4u);
        else if (id >= 256)
            flowdec__data_set(c, (uint16_t)id, s + 4, slen - 4u);
        off += slen;
    }
    flowdec__seq(c, seq, seq + 1, true);
    return res->err;
}
