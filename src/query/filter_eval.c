/* filter_eval.c - the compiled filter at work: the columns it reads, block skipping from block
 * metadata, evaluation over a decoded block as byte masks, single records and aggregated rows
 * (see filter.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "query/filter_int.h"
#include "store/segment.h"

/* ---- metadata -------------------------------------------------------------------------- */

static uint64_t field_cols(enum ffield fld)
{
    const struct flow_field *f = filter_field_of_term(fld);
    if (f)
        return STORE_COLBIT(f->store_col);
    switch (fld) {
    case FF_DURATION:
        return STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS);
    case FF_PPS:
        return STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS) |
               STORE_COLBIT(STORE_COL_PACKETS);
    case FF_BPS:
        return STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS) |
               STORE_COLBIT(STORE_COL_BYTES);
    case FF_BPP:
        return STORE_COLBIT(STORE_COL_PACKETS) | STORE_COLBIT(STORE_COL_BYTES);
    default:
        return 0;
    }
}

uint64_t filter_columns(const struct filter *f)
{
    uint64_t m = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct fnode *nd = &f->nodes[i];
        switch (nd->kind) {
        case FK_RANGE:
        case FK_INSET:
        case FK_NET:
        case FK_ADDRSET:
            m |= field_cols((enum ffield)nd->field);
            break;
        case FK_FLAGS:
            m |= STORE_COLBIT(STORE_COL_TCP_FLAGS);
            break;
        case FK_FAMILY:
            m |= STORE_COLBIT(STORE_COL_SRC);
            break;
        default:
            break;
        }
    }
    return m;
}

bool filter_is_any(const struct filter *f)
{
    return f->nodes[f->root].kind == FK_ANY;
}

/* Last address of prefix p (all host bits set). */
static void prefix_last(const struct ipprefix *p, struct ipaddr *out)
{
    *out = p->addr;
    for (unsigned bit = p->len; bit < 128; bit++)
        out->b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
}

static bool may_match(const struct filter *f, int ni, const struct store_block_meta *m)
{
    const struct fnode *nd = &f->nodes[ni];
    switch (nd->kind) {
    case FK_AND:
        return may_match(f, nd->a, m) && may_match(f, nd->b, m);
    case FK_OR:
        return may_match(f, nd->a, m) || may_match(f, nd->b, m);
    case FK_RANGE:
        if (nd->field == FF_SRC_PORT || nd->field == FF_DST_PORT) {
            bool src = nd->field == FF_SRC_PORT;
            uint64_t mn = src ? m->src_port_min : m->dst_port_min;
            uint64_t mx = src ? m->src_port_max : m->dst_port_max;
            if (nd->neg)
                return !(nd->lo <= mn && mx <= nd->hi); /* all inside the excluded range */
            if (nd->hi < mn || nd->lo > mx)
                return false;
            if (nd->lo == nd->hi)
                return store_block_may_contain_port(
                    m, src ? STORE_COL_SRC_PORT : STORE_COL_DST_PORT, (uint16_t)nd->lo);
        }
        return true;
    case FK_INSET:
        if (nd->field == FF_SRC_PORT || nd->field == FF_DST_PORT) {
            enum store_col c = nd->field == FF_SRC_PORT ? STORE_COL_SRC_PORT : STORE_COL_DST_PORT;
            for (size_t k = 0; k < nd->nvals; k++)
                if (store_block_may_contain_port(m, c, (uint16_t)f->vals[nd->set + (int)k]))
                    return true;
            return false;
        }
        return true;
    case FK_NET:
        if (nd->field == FF_SRC || nd->field == FF_DST) {
            bool src = nd->field == FF_SRC;
            const struct ipaddr *mn = src ? &m->src_min : &m->dst_min;
            const struct ipaddr *mx = src ? &m->src_max : &m->dst_max;
            struct ipaddr last;
            prefix_last(&nd->pfx, &last);
            if (ipaddr_cmp(&last, mn) < 0 || ipaddr_cmp(&nd->pfx.addr, mx) > 0)
                return false;
            if (nd->pfx.len == 128)
                return store_block_may_contain_addr(m, src ? STORE_COL_SRC : STORE_COL_DST,
                                                    &nd->pfx.addr);
        }
        return true;
    case FK_ADDRSET:
        if (nd->field == FF_SRC || nd->field == FF_DST) {
            const struct addrset *s = &f->sets[nd->set];
            if (s->npfx || s->has_zero || s->n > 256)
                return true;
            enum store_col c = nd->field == FF_SRC ? STORE_COL_SRC : STORE_COL_DST;
            static const struct ipaddr zero;
            for (size_t k = 0; k < s->cap; k++)
                if (memcmp(&s->keys[k], &zero, 16) &&
                    store_block_may_contain_addr(m, c, &s->keys[k]))
                    return true;
            return false;
        }
        return true;
    default:
        return true;
    }
}

bool filter_block_may_match(const struct filter *f, const struct store_block_meta *m)
{
    return may_match(f, f->root, m);
}

/* ---- evaluation ------------------------------------------------------------------------ */

struct filter_scratch {
    uint8_t *masks[2 * FILTER_MAX_DEPTH + 4]; /* two eval levels per nesting level */
    uint64_t *tmp;
};

struct filter_scratch *filter_scratch_new(void)
{
    return calloc(1, sizeof(struct filter_scratch));
}

void filter_scratch_free(struct filter_scratch *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < sizeof s->masks / sizeof s->masks[0]; i++)
        free(s->masks[i]);
    free(s->tmp);
    free(s);
}

static uint8_t *mask_at(struct filter_scratch *s, unsigned depth)
{
    if (depth >= sizeof s->masks / sizeof s->masks[0])
        return NULL;
    if (!s->masks[depth])
        s->masks[depth] = malloc(SEGMENT_BLOCK_MAX);
    return s->masks[depth];
}

#define RANGE_LOOP(T, col)                                                                         \
    do {                                                                                           \
        const T *v_ = (col);                                                                       \
        uint64_t lo_ = nd->lo, w_ = nd->hi - nd->lo;                                               \
        uint8_t ng_ = nd->neg;                                                                     \
        if (nd->lo > nd->hi) {                                                                     \
            memset(out, ng_, n);                                                                   \
            break;                                                                                 \
        }                                                                                          \
        for (size_t i = 0; i < n; i++)                                                             \
            out[i] = (uint8_t)(((uint64_t)v_[i] - lo_ <= w_) ^ ng_);                               \
    } while (0)

static uint64_t rate(uint64_t num, uint64_t start, uint64_t end, uint64_t scale)
{
    uint64_t d = end > start ? end - start : 0;
    return d ? num * scale / d : 0;
}

static int eval_range(const struct fnode *nd, const struct store_block *b, uint8_t *out,
                      struct filter_scratch *s)
{
    size_t n = b->n;
    switch (nd->field) {
    case FF_SRC_PORT:
        RANGE_LOOP(uint16_t, b->src_port);
        return 0;
    case FF_DST_PORT:
        RANGE_LOOP(uint16_t, b->dst_port);
        return 0;
    case FF_VLAN:
        RANGE_LOOP(uint16_t, b->vlan);
        return 0;
    case FF_PROTO:
        RANGE_LOOP(uint8_t, b->proto);
        return 0;
    case FF_TOS:
        RANGE_LOOP(uint8_t, b->tos);
        return 0;
    case FF_PACKETS:
        RANGE_LOOP(uint64_t, b->packets);
        return 0;
    case FF_BYTES:
        RANGE_LOOP(uint64_t, b->bytes);
        return 0;
    case FF_SRC_AS:
        RANGE_LOOP(uint32_t, b->src_as);
        return 0;
    case FF_DST_AS:
        RANGE_LOOP(uint32_t, b->dst_as);
        return 0;
    case FF_IN_IF:
        RANGE_LOOP(uint32_t, b->in_if);
        return 0;
    case FF_OUT_IF:
        RANGE_LOOP(uint32_t, b->out_if);
        return 0;
    case FF_SAMPLING:
        RANGE_LOOP(uint32_t, b->sampling);
        return 0;
    default:
        break;
    }
    if (!s->tmp && !(s->tmp = malloc(SEGMENT_BLOCK_MAX * sizeof *s->tmp)))
        return BS_ENOMEM;
    uint64_t *t = s->tmp;
    for (size_t i = 0; i < n; i++) {
        switch (nd->field) {
        case FF_DURATION:
            t[i] = b->end_ms[i] > b->start_ms[i] ? b->end_ms[i] - b->start_ms[i] : 0;
            break;
        case FF_PPS:
            t[i] = rate(b->packets[i], b->start_ms[i], b->end_ms[i], 1000);
            break;
        case FF_BPS:
            t[i] = rate(b->bytes[i], b->start_ms[i], b->end_ms[i], 8000);
            break;
        case FF_BPP:
            t[i] = b->packets[i] ? b->bytes[i] / b->packets[i] : 0;
            break;
        default:
            t[i] = 0;
            break;
        }
    }
    RANGE_LOOP(uint64_t, t);
    return 0;
}

static const struct store_addr_col *addr_col(const struct store_block *b, unsigned field)
{
    switch (field) {
    case FF_SRC:
        return &b->src;
    case FF_DST:
        return &b->dst;
    default:
        return &b->exporter;
    }
}

static void eval_net(const struct fnode *nd, const struct store_block *b, uint8_t *out)
{
    size_t n = b->n;
    const struct store_addr_col *c = addr_col(b, nd->field);
    const struct ipprefix *pf = &nd->pfx;
    if (c->v4) {
        if (pf->len >= 96 && ipaddr_is_v4(&pf->addr)) {
            unsigned l4 = pf->len - 96u;
            uint32_t mask = l4 ? (uint32_t)(0xffffffffu << (32 - l4)) : 0;
            uint32_t net = ipaddr_v4(&pf->addr) & mask;
            for (size_t i = 0; i < n; i++)
                out[i] = (c->v4[i] & mask) == net;
        } else {
            struct ipaddr probe;
            ipaddr_from_v4(&probe, 0);
            /* A shorter prefix either covers all of ::ffff:0:0/96 or none of it. */
            memset(out, pf->len < 96 && ipprefix_contains(pf, &probe), n);
        }
        return;
    }
    unsigned full = pf->len / 8, bits = pf->len % 8;
    uint8_t pm = (uint8_t)(0xff00u >> bits);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *a = c->full[i].b;
        out[i] = !memcmp(a, pf->addr.b, full) && (!bits || (a[full] & pm) == pf->addr.b[full]);
    }
}

static int eval_node(const struct filter *f, int ni, const struct store_block *b, uint8_t *out,
                     struct filter_scratch *s, unsigned depth)
{
    const struct fnode *nd = &f->nodes[ni];
    size_t n = b->n;
    int rc;
    switch (nd->kind) {
    case FK_ANY:
        memset(out, 1, n);
        return 0;
    case FK_NOT:
        if ((rc = eval_node(f, nd->a, b, out, s, depth)))
            return rc;
        for (size_t i = 0; i < n; i++)
            out[i] ^= 1;
        return 0;
    case FK_AND:
    case FK_OR: {
        if ((rc = eval_node(f, nd->a, b, out, s, depth)))
            return rc;
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += out[i];
        if (nd->kind == FK_AND ? cnt == 0 : cnt == n)
            return 0;
        uint8_t *t = mask_at(s, depth + 1);
        if (!t)
            return BS_ENOMEM;
        if ((rc = eval_node(f, nd->b, b, t, s, depth + 1)))
            return rc;
        if (nd->kind == FK_AND)
            for (size_t i = 0; i < n; i++)
                out[i] &= t[i];
        else
            for (size_t i = 0; i < n; i++)
                out[i] |= t[i];
        return 0;
    }
    case FK_RANGE:
        return eval_range(nd, b, out, s);
    case FK_INSET: {
        const uint8_t *bm = f->bitmaps + nd->lo * 8192;
        const uint16_t *v16 = nd->field == FF_SRC_PORT   ? b->src_port
                              : nd->field == FF_DST_PORT ? b->dst_port
                                                         : NULL;
        if (v16) {
            for (size_t i = 0; i < n; i++)
                out[i] = (bm[v16[i] >> 3] >> (v16[i] & 7)) & 1;
            return 0;
        }
        const uint32_t *v32 = nd->field == FF_SRC_AS ? b->src_as : b->dst_as;
        for (size_t i = 0; i < n; i++) {
            out[i] = 0;
            for (size_t k = 0; k < nd->nvals; k++)
                if (f->vals[nd->set + (int)k] == v32[i]) {
                    out[i] = 1;
                    break;
                }
        }
        return 0;
    }
    case FK_FLAGS:
        for (size_t i = 0; i < n; i++)
            out[i] = (b->tcp_flags[i] & nd->flags) == nd->flags;
        return 0;
    case FK_NET:
        eval_net(nd, b, out);
        return 0;
    case FK_ADDRSET: {
        const struct addrset *set = &f->sets[nd->set];
        const struct store_addr_col *c = addr_col(b, nd->field);
        if (c->v4)
            for (size_t i = 0; i < n; i++)
                out[i] = filter_set_has4(set, c->v4[i]);
        else
            for (size_t i = 0; i < n; i++)
                out[i] = filter_set_has(set, &c->full[i]);
        return 0;
    }
    case FK_FAMILY:
        if (b->src.v4)
            memset(out, (int)nd->lo, n);
        else
            for (size_t i = 0; i < n; i++)
                out[i] = ipaddr_is_v4(&b->src.full[i]) == (nd->lo != 0);
        return 0;
    }
    return BS_EMALFORMED;
}

long filter_eval_block(const struct filter *f, const struct store_block *b, uint8_t *sel,
                       struct filter_scratch *s)
{
    size_t n = b->n;
    long cnt = 0;
    if (filter_is_any(f)) {
        for (size_t i = 0; i < n; i++)
            cnt += sel[i];
        return cnt;
    }
    uint8_t *m = mask_at(s, 0);
    if (!m)
        return BS_ENOMEM;
    int rc = eval_node(f, f->root, b, m, s, 0);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        sel[i] &= m[i];
        cnt += sel[i];
    }
    return cnt;
}

bool filter_match_rec(const struct filter *f, const struct flow_rec *r)
{
    /* One-record block: full-address columns, so every node type is exercised on the slow
     * path the same way as on a mixed-family block. */
    uint64_t end = r->end_ms, pk = r->packets, by = r->bytes, st = r->start_ms;
    uint32_t sa = r->src_as, da = r->dst_as, ii = r->in_if, oi = r->out_if, sr = r->sampling_rate;
    uint16_t sp = r->src_port, dp = r->dst_port, vl = r->vlan;
    uint8_t pr = r->proto, fl = r->tcp_flags, tos = r->tos;
    struct store_block b = {
        .n = 1,
        .start_ms = &st,
        .end_ms = &end,
        .packets = &pk,
        .bytes = &by,
        .src = {.full = &r->src},
        .dst = {.full = &r->dst},
        .exporter = {.full = &r->exporter},
        .nexthop = {.full = &r->nexthop},
        .sampling = &sr,
        .in_if = &ii,
        .out_if = &oi,
        .src_as = &sa,
        .dst_as = &da,
        .src_port = &sp,
        .dst_port = &dp,
        .vlan = &vl,
        .proto = &pr,
        .tcp_flags = &fl,
        .tos = &tos,
    };
    struct filter_scratch *s = filter_scratch_new();
    if (!s)
        return false;
    uint8_t sel = 1;
    long rc = filter_eval_block(f, &b, &sel, s);
    filter_scratch_free(s);
    return rc == 1;
}

static bool row_match(const struct filter *f, int ni, const uint64_t v[4])
{
    const struct fnode *nd = &f->nodes[ni];
    switch (nd->kind) {
    case FK_ANY:
        return true;
    case FK_NOT:
        return !row_match(f, nd->a, v);
    case FK_AND:
        return row_match(f, nd->a, v) && row_match(f, nd->b, v);
    case FK_OR:
        return row_match(f, nd->a, v) || row_match(f, nd->b, v);
    case FK_RANGE: {
        if (nd->field < FF_H_FLOWS || nd->field > FF_H_DISTINCT)
            return false;
        uint64_t x = v[nd->field - FF_H_FLOWS];
        bool in = nd->lo <= nd->hi && x >= nd->lo && x <= nd->hi;
        return in != (nd->neg != 0);
    }
    default:
        return false;
    }
}

bool filter_match_row(const struct filter *f, uint64_t flows, uint64_t packets, uint64_t bytes,
                      uint64_t distinct)
{
    uint64_t v[4] = {flows, packets, bytes, distinct};
    return row_match(f, f->root, v);
}

/* ---- the compiled tree, read-only (filter.h) -------------------------------------------- */

_Static_assert((int)FILTER_N_FAMILY == (int)FK_FAMILY && (int)FILTER_N_RANGE == (int)FK_RANGE,
               "filter_node_kind mirrors enum fkind");
_Static_assert((int)FILTER_F_H_DISTINCT == (int)FF_H_DISTINCT &&
                   (int)FILTER_F_EXPORTER == (int)FF_EXPORTER && (int)FILTER_F_BPP == (int)FF_BPP,
               "filter_field mirrors enum ffield");

int filter_root(const struct filter *f)
{
    return f->root;
}

void filter_node_get(const struct filter *f, int i, struct filter_node_view *v)
{
    const struct fnode *nd = &f->nodes[i];
    memset(v, 0, sizeof *v);
    v->kind = (enum filter_node_kind)nd->kind;
    v->field = (enum filter_field)nd->field;
    v->neg = nd->neg != 0;
    v->a = nd->a;
    v->b = nd->b;
    v->lo = nd->lo;
    v->hi = nd->hi;
    v->flags = nd->flags;
    v->pfx = nd->pfx;
    if (nd->kind == FK_INSET) {
        v->vals = f->vals + nd->set;
        v->nvals = nd->nvals;
    }
}

int filter_addrset_each(const struct filter *f, int i,
                        int (*cb)(void *ctx, const struct ipprefix *p), void *ctx)
{
    const struct addrset *s = &f->sets[f->nodes[i].set];
    static const struct ipaddr zero;
    int rc;
    struct ipprefix p = {.len = 128};
    if (s->has_zero && (rc = cb(ctx, &p)))
        return rc;
    for (size_t k = 0; k < s->cap; k++) {
        if (!memcmp(&s->keys[k], &zero, 16))
            continue;
        p.addr = s->keys[k];
        if ((rc = cb(ctx, &p)))
            return rc;
    }
    for (size_t k = 0; k < s->npfx; k++)
        if ((rc = cb(ctx, &s->pfx[k])))
            return rc;
    return 0;
}
