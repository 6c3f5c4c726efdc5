/* flowdec_state.c - flowdec_exporter_save()/flowdec_exporter_load(): the persistent part of an
 * exporter state (templates, samplers, per-domain defaults).
 *
 * Format (all integers big-endian), version 2:
 *   "BSFD" | u16 format version (2) | u16 flags (0) | u32 total length (header to CRC incl.)
 *   | 16-byte exporter address | u32 templates | u32 samplers | u32 domains
 *   | templates, most recently used first:
 *                u8 version, u8 tflags (bit 0 options, bit 1 has decoded data), u16 id,
 *                u32 domain, u16 nfields, u16 scope_n, nfields x (u16 id, u16 len, u32 pen)
 *   | samplers:  u8 version, 3 zero bytes, u32 domain, u64 sampler id, u32 rate
 *   | domains:   u8 version, 3 zero bytes, u32 domain, u32 default rate, u64 sysinit ms
 *   | u32 CRC-32C of every byte before it.
 * Version 1 is the same with u8 options (0 or 1) in place of tflags and no order; it still
 * loads. The loader checks the magic, version, length, CRC, every count against the bytes
 * present and the caps, and recompiles each template (so a blob can never install a template
 * the wire decoder would have refused). Loaded templates keep the saved recency order.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "proto/flowdec_int.h"

#define STATE_MAGIC   "BSFD"
#define STATE_VERSION 2
#define TFLAG_OPTIONS 1u
#define TFLAG_USED    2u
#define STATE_HDR     40 /* magic, version, flags, length, address, three counts */

/* CRC-32C (Castagnoli), bitwise: state blobs are small and rare. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Whether a template goes into the state: all that decoded data, and the first
 * FLOWDEC_STATE_UNUSED_MAX of the others (walking newest first); *unused counts those. */
static bool saved(const struct flowdec_tmpl *ft, uint32_t *unused)
{
    if (ft->used)
        return true;
    return (*unused)++ < FLOWDEC_STATE_UNUSED_MAX;
}

int flowdec_exporter_save(const struct flowdec_exporter *ex, struct buf *out)
{
    size_t total = STATE_HDR + 4;
    uint32_t nt = 0, ns = 0, nd = 0, unused = 0;
    for (const struct flowdec_tmpl *ft = ex->lru_newest; ft; ft = ft->older) {
        if (!saved(ft, &unused))
            continue;
        total += 12 + (size_t)ft->t.nfields * 8;
        nt++;
    }
    void *v;
    uint64_t k1, k2;
    ns = (uint32_t)tmpl_map_count(&ex->samplers);
    total += 20 * (size_t)ns;
    for (size_t i = 0; (i = tmpl_map_next(&ex->domains, i, NULL, NULL, &v));) {
        const struct flowdec_domain *d = v;
        if (d->default_rate || d->sysinit_ms) {
            total += 20;
            nd++;
        }
    }
    if (total > UINT32_MAX)
        return BS_ELIMIT;
    uint8_t *b = malloc(total);
    if (!b)
        return BS_ENOMEM;
    uint8_t *p = b;
    memcpy(p, STATE_MAGIC, 4);
    be16_put(p + 4, STATE_VERSION);
    be16_put(p + 6, 0);
    be32_put(p + 8, (uint32_t)total);
    memcpy(p + 12, ex->addr.b, 16);
    be32_put(p + 28, nt);
    be32_put(p + 32, ns);
    be32_put(p + 36, nd);
    p += STATE_HDR;
    unused = 0;
    for (const struct flowdec_tmpl *ft = ex->lru_newest; ft; ft = ft->older) {
        if (!saved(ft, &unused))
            continue;
        const struct tmpl *t = &ft->t;
        p[0] = t->version;
        p[1] = (uint8_t)((t->options ? TFLAG_OPTIONS : 0) | (ft->used ? TFLAG_USED : 0));
        be16_put(p + 2, t->id);
        be32_put(p + 4, t->domain);
        be16_put(p + 8, t->nfields);
        be16_put(p + 10, t->scope_n);
        p += 12;
        for (unsigned k = 0; k < t->nfields; k++, p += 8) {
            be16_put(p, t->fields[k].id);
            be16_put(p + 2, t->fields[k].len);
            be32_put(p + 4, t->fields[k].pen);
        }
    }
    for (size_t i = 0; (i = tmpl_map_next(&ex->samplers, i, &k1, &k2, &v));) {
        const struct flowdec_sampler *s = v;
        memset(p, 0, 4);
        p[0] = (uint8_t)(k1 >> 32);
        be32_put(p + 4, (uint32_t)k1);
        be64_put(p + 8, k2);
        be32_put(p + 16, s->rate);
        p += 20;
    }
    for (size_t i = 0; (i = tmpl_map_next(&ex->domains, i, &k1, NULL, &v));) {
        const struct flowdec_domain *d = v;
        if (!(d->default_rate || d->sysinit_ms))
            continue;
        memset(p, 0, 4);
        p[0] = (uint8_t)(k1 >> 32);
        be32_put(p + 4, (uint32_t)k1);
        be32_put(p + 8, d->default_rate);
        be64_put(p + 12, d->sysinit_ms);
        p += 20;
    }
    be32_put(p, crc32c(b, total - 4));
    int rc = buf_append(out, b, total);
    free(b);
    return rc;
}

static bool known_version(unsigned v)
{
    return v == FLOW_V9 || v == FLOW_IPFIX;
}

int flowdec_exporter_load(const uint8_t *blob, size_t len, const struct flowdec_config *cfg,
                          size_t *used, struct flowdec_exporter **out)
{
    struct flowdec_exporter *ex = NULL;
    struct tmpl_field *fields = NULL;
    int rc;
    if (len < STATE_HDR + 4)
        return BS_ETRUNC;
    if (memcmp(blob, STATE_MAGIC, 4) != 0)
        return BS_ECORRUPT;
    unsigned fmt = be16(blob + 4);
    if (fmt != 1 && fmt != STATE_VERSION)
        return BS_EVERSION;
    size_t total = be32(blob + 8);
    if (total < STATE_HDR + 4)
        return BS_ECORRUPT;
    if (total > len)
        return BS_ETRUNC;
    if (be16(blob + 6) != 0 || crc32c(blob, total - 4) != be32(blob + total - 4))
        return BS_ECORRUPT;

    struct ipaddr addr;
    memcpy(addr.b, blob + 12, 16);
    rc = flowdec_exporter_new(&addr, cfg, &ex);
    if (rc)
        return rc;
    fields = malloc(FLOWDEC_MAX_FIELDS * sizeof(*fields));
    if (!fields) {
        rc = BS_ENOMEM;
        goto fail_free_ex;
    }
    uint32_t nt = be32(blob + 28), ns = be32(blob + 32), nd = be32(blob + 36);
    struct rd r;
    rd_init(&r, blob + STATE_HDR, total - STATE_HDR - 4);
    for (uint32_t i = 0; i < nt; i++) {
        unsigned version = rd_u8(&r);
        unsigned tflags = rd_u8(&r);
        uint16_t id = rd_u16(&r);
        uint32_t domain = rd_u32(&r);
        unsigned n = rd_u16(&r);
        unsigned scope_n = rd_u16(&r);
        if (rd_err(&r)) {
            rc = BS_ECORRUPT;
            goto fail_free_fields;
        }
        if (!known_version(version) || tflags > (fmt == 1 ? 1u : 3u) || id < 256 || n == 0 ||
            n > FLOWDEC_MAX_FIELDS || scope_n > n || (size_t)n * 8 > rd_left(&r)) {
            rc = BS_ECORRUPT;
            goto fail_free_fields;
        }
        for (unsigned k = 0; k < n; k++) {
            fields[k].id = rd_u16(&r);
            fields[k].len = rd_u16(&r);
            fields[k].pen = rd_u32(&r);
        }
        struct tmpl t;
        rc = tmpl_compile(&t, version, domain, id, (tflags & TFLAG_OPTIONS) != 0, fields, n,
                          scope_n);
        if (rc) {
            rc = rc == BS_ENOMEM ? rc : BS_ECORRUPT;
            goto fail_free_fields;
        }
        rc = flowdec__template_store(ex, &t, true, (tflags & TFLAG_USED) != 0);
        if (rc == BS_ELIMIT) {
            tmpl_release(&t); /* a smaller cap than when saved: keep what fits */
            continue;
        }
        if (rc) {
            tmpl_release(&t);
            goto fail_free_fields;
        }
    }
    for (uint32_t i = 0; i < ns; i++) {
        unsigned version = rd_u8(&r);
        rd_skip(&r, 3);
        uint32_t domain = rd_u32(&r);
        uint64_t id = rd_u64(&r);
        uint32_t rate = rd_u32(&r);
        if (rd_err(&r) || !known_version(version) || rate == 0) {
            rc = BS_ECORRUPT;
            goto fail_free_fields;
        }
        rc = flowdec__sampler_set(ex, version, domain, id, rate);
        if (rc == BS_ENOMEM)
            goto fail_free_fields;
    }
    for (uint32_t i = 0; i < nd; i++) {
        unsigned version = rd_u8(&r);
        rd_skip(&r, 3);
        uint32_t domain = rd_u32(&r);
        uint32_t rate = rd_u32(&r);
        uint64_t sysinit = rd_u64(&r);
        if (rd_err(&r) || !known_version(version)) {
            rc = BS_ECORRUPT;
            goto fail_free_fields;
        }
        struct flowdec_domain *d = flowdec__domain(ex, version, domain);
        if (d) {
            d->default_rate = rate;
            d->sysinit_ms = sysinit;
        }
    }
    if (rd_left(&r) != 0) {
        rc = BS_ECORRUPT;
        goto fail_free_fields;
    }
    free(fields);
    ex->st.samplers_refused = 0;
    ex->st.domains_untracked = 0;
    if (used)
        *used = total;
    *out = ex;
    return 0;

fail_free_fields:
    free(fields);
fail_free_ex:
    flowdec_exporter_free(ex);
    return rc;
}
