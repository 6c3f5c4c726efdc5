/* query_scan.c - the query engine's per-block work, run by the scan threads: time window,
 * filter masks, then counting the selected rows into the thread's own tables (see query_int.h). */
#include <stdlib.h>
#include <string.h>

#include "core/flow.h"
#include "core/hash.h"
#include "query/query_int.h"

static inline void put_addr_key(uint8_t *dst, const struct store_addr_col *c, size_t i,
                                const struct query_key *k)
{
    struct ipaddr a;
    if (c->v4) {
        uint32_t v = c->v4[i];
        if (k->v4len < 32)
            v &= k->v4len ? (uint32_t)(0xffffffffu << (32 - k->v4len)) : 0;
        ipaddr_from_v4(&a, v);
    } else {
        a = c->full[i];
        if (ipaddr_is_v4(&a)) {
            if (k->v4len < 32)
                ipaddr_mask(&a, 96u + k->v4len);
        } else if (k->v6len < 128) {
            ipaddr_mask(&a, k->v6len);
        }
    }
    memcpy(dst, a.b, 16);
}

void query_put_key(uint8_t *dst, const struct store_block *b, size_t i, const struct query_key *k)
{
    switch (k->id) {
    case QK_SRCIP:
        put_addr_key(dst, &b->src, i, k);
        return;
    case QK_DSTIP:
        put_addr_key(dst, &b->dst, i, k);
        return;
    case QK_EXPORTER:
        put_addr_key(dst, &b->exporter, i, k);
        return;
    case QK_NEXTHOP:
        put_addr_key(dst, &b->nexthop, i, k);
        return;
    case QK_SRCPORT:
        query_put_be(dst, b->src_port[i], 2);
        return;
    case QK_DSTPORT:
        query_put_be(dst, b->dst_port[i], 2);
        return;
    case QK_VLAN:
        query_put_be(dst, b->vlan[i], 2);
        return;
    case QK_PROTO:
        dst[0] = b->proto[i];
        return;
    case QK_TOS:
        dst[0] = b->tos[i];
        return;
    case QK_FLAGS:
        dst[0] = b->tcp_flags[i];
        return;
    case QK_VERSION:
        dst[0] = b->version[i];
        return;
    case QK_IN_IF:
        query_put_be(dst, b->in_if[i], 4);
        return;
    case QK_OUT_IF:
        query_put_be(dst, b->out_if[i], 4);
        return;
    case QK_SRC_AS:
        query_put_be(dst, b->src_as[i], 4);
        return;
    case QK_DST_AS:
        query_put_be(dst, b->dst_as[i], 4);
        return;
    case QK_SAMPLING:
        query_put_be(dst, b->sampling[i], 4);
        return;
    }
}

/* Aggregates row i through the generic byte-key tables. */
static int agg_row_generic(struct qctx *c, struct qthread *t, const struct store_block *b, size_t i)
{
    const struct query_spec *q = c->q;
    uint8_t *kb = t->keybuf;
    for (size_t k = 0; k < q->nkeys; k++)
        query_put_key(kb + c->koff[k], b, i, &q->keys[k]);
    uint64_t h = hash_bytes(kb, c->klen, t->tab.seed);
    bool is_new;
    int rc = 0;
    uint64_t *e = agg_tab_get(&t->tab, kb, h, &is_new, &rc);
    if (!e)
        return rc;
    e[1]++;
    e[2] += b->packets[i];
    e[3] += b->bytes[i];
    if (q->has_distinct) {
        query_put_key(kb + c->klen, b, i, &q->distinct);
        uint64_t h2 = hash_bytes(kb, c->klen + c->dklen, t->dset.seed);
        if (!agg_tab_get(&t->dset, kb, h2, &is_new, &rc))
            return rc;
    }
    return 0;
}

/* Aggregates the selected rows of b with packed keys: the keys of the whole block are packed
 * column by column first, then each row costs one probe of the inline table (rows with an
 * IPv6 key address go to the generic table). */
static int agg_block_packed(struct qctx *c, struct qthread *t, const struct store_block *b,
                            const uint8_t *sel)
{
    const struct query_spec *q = c->q;
    size_t n = b->n;
    uint64_t *kb = t->kb;
    uint8_t *wide = t->wide;
    memset(kb, 0, n * sizeof *kb);
    memset(wide, 0, n);
    for (size_t k = 0; k < q->nkeys; k++)
        query_pack_column(&q->keys[k], b, n, kb, wide);
    /* Hashes first, so that the probe of row i + QUERY_PREFETCH can be prefetched while row
     * i is counted (the tables are far larger than the caches). */
    uint64_t *hv = t->hv, *dv = t->dv, *dh = t->dh;
    uint64_t seed = t->ptab.seed;
    for (size_t i = 0; i < n; i++)
        hv[i] = ptab_hash(kb[i], seed);
    if (c->pair_packed) {
        memset(dv, 0, n * sizeof *dv);
        memset(t->dwide, 0, n);
        query_pack_column(&q->distinct, b, n, dv, t->dwide);
        uint64_t dseed = t->pset.seed;
        for (size_t i = 0; i < n; i++) {
            dv[i] |= kb[i] << c->dbits; /* the pair */
            dh[i] = ptab_hash(dv[i], dseed);
        }
    }
    const uint64_t *pk = b->packets, *by = b->bytes;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + QUERY_PREFETCH < n) {
            ptab_prefetch(&t->ptab, hv[i + QUERY_PREFETCH]);
            if (c->pair_packed)
                pset_prefetch(&t->pset, dh[i + QUERY_PREFETCH]);
        }
        if (!sel[i])
            continue;
        if (wide[i]) {
            if ((rc = agg_row_generic(c, t, b, i)))
                return rc;
            continue;
        }
        uint64_t *e = ptab_get_h(&t->ptab, kb[i], hv[i], &rc);
        if (!e)
            return rc;
        e[1]++;
        e[2] += pk[i];
        e[3] += by[i];
        if (!q->has_distinct)
            continue;
        if (c->pair_packed && !t->dwide[i]) {
            if ((rc = pset_add_h(&t->pset, dv[i], dh[i])))
                return rc;
        } else {
            /* The value (or the pair) does not pack: the pair goes to the generic set with
             * the group's byte key; merge() finds the group in the packed table again. */
            uint8_t *kbuf = t->keybuf;
            bool is_new;
            for (size_t k = 0; k < q->nkeys; k++)
                query_put_key(kbuf + c->koff[k], b, i, &q->keys[k]);
            query_put_key(kbuf + c->klen, b, i, &q->distinct);
            uint64_t h2 = hash_bytes(kbuf, c->klen + c->dklen, t->dset.seed);
            if (!agg_tab_get(&t->dset, kbuf, h2, &is_new, &rc))
                return rc;
        }
    }
    return 0;
}

bool query_scan_pred(void *ctx, unsigned thread, const struct store_block_meta *m)
{
    struct qctx *c = ctx;
    return filter_block_may_match(c->filter, m);
}

int query_scan_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct qctx *c = ctx;
    const struct query_spec *q = c->q;
    struct qthread *t = &c->th[thread];
    size_t n = b->n;
    uint8_t *sel = t->sel;
    if (c->time_bounded) {
        for (size_t i = 0; i < n; i++)
            sel[i] = b->start_ms[i] >= q->t_lo && b->start_ms[i] <= q->t_hi;
    } else {
        memset(sel, 1, n);
    }
    long cnt = filter_eval_block(c->filter, b, sel, t->fs);
    if (cnt < 0)
        return t->rc = (int)cnt;
    if (cnt == 0)
        return 0;
    if (!q->nkeys && !q->count_only) { /* plain listing: single thread, in scan order */
        for (size_t i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            struct flow_rec r;
            store_block_record(b, i, &r);
            t->matched++;
            t->packets += r.packets;
            t->bytes += r.bytes;
            if (r.start_ms < t->t_first)
                t->t_first = r.start_ms;
            if (r.start_ms > t->t_last)
                t->t_last = r.start_ms;
            if (q->on_record && q->on_record(q->record_ctx, &r))
                return 1;
            if (q->limit && ++c->listed >= q->limit)
                return 1;
        }
        return 0;
    }
    uint64_t pk = 0, by = 0, tf = t->t_first, tl = t->t_last;
    for (size_t i = 0; i < n; i++) {
        if (!sel[i])
            continue;
        pk += b->packets[i];
        by += b->bytes[i];
    }
    if (c->need_times) {
        for (size_t i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            if (b->start_ms[i] < tf)
                tf = b->start_ms[i];
            if (b->start_ms[i] > tl)
                tl = b->start_ms[i];
        }
    }
    t->matched += (uint64_t)cnt;
    t->packets += pk;
    t->bytes += by;
    t->t_first = tf;
    t->t_last = tl;
    if (q->count_only)
        return 0;
    uint8_t *kb = t->keybuf;
    if (c->direct) {
        uint64_t *d = t->direct;
        const uint16_t *p16 = NULL;
        if (q->nkeys == 1 && q->keys[0].id == QK_DSTPORT)
            p16 = b->dst_port;
        else if (q->nkeys == 1 && q->keys[0].id == QK_SRCPORT)
            p16 = b->src_port;
        for (size_t i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            size_t ix;
            if (p16) {
                ix = p16[i];
            } else {
                for (size_t k = 0; k < q->nkeys; k++)
                    query_put_key(kb + c->koff[k], b, i, &q->keys[k]);
                ix = c->klen == 2 ? (size_t)kb[0] << 8 | kb[1] : c->klen == 1 ? kb[0] : 0;
            }
            d[3 * ix]++;
            d[3 * ix + 1] += b->packets[i];
            d[3 * ix + 2] += b->bytes[i];
        }
        return 0;
    }
    if (c->packed)
        return t->rc = agg_block_packed(c, t, b, sel);
    for (size_t i = 0; i < n; i++) {
        if (!sel[i])
            continue;
        int rc = agg_row_generic(c, t, b, i);
        if (rc)
            return t->rc = rc;
    }
    return 0;
}
