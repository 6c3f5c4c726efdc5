/* query.c - query engine: set up the scan, merge the threads' tables, rank into a query_result
 * (see query.h). Tables and key packing are in query_tab.c, the per-block scan in query_scan.c,
 * keys in query_keys.c, the result set in query_result.c, printing in query_print.c. */
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/hash.h"
#include "query/filter.h"
#include "query/query_int.h"
#include "query/query_sql.h"
#include "store/segment.h"

/* One result row: a group entry (counters at e[1..4]) of the packed table (key == NULL: the
 * key is e[0] packed) or of the generic table (key = its bytes). */
struct qrow {
    const uint64_t *e;
    const uint8_t *key;
};

/* Byte key of row r (unpacked into buf when packed). */
static const uint8_t *row_key(const struct qctx *c, const struct qrow *r,
                              uint8_t buf[QUERY_MAX_KEYS * 16])
{
    if (r->key)
        return r->key;
    query_unpack_key(c->q->keys, c->q->nkeys, c->gbits, r->e[0], buf);
    return buf;
}

/* Row order: the measure descending, then flows descending, then the byte key ascending (a
 * total order: keys are unique). */
static int row_cmp(const struct qctx *c, const struct qrow *ra, const struct qrow *rb)
{
    const uint64_t *x = ra->e, *y = rb->e;
    enum query_order o = c->q->order;
    unsigned f = o == QO_FLOWS ? 1 : o == QO_PACKETS ? 2 : o == QO_BYTES ? 3 : 4;
    if (x[f] != y[f])
        return x[f] > y[f] ? -1 : 1;
    if (f != 1 && x[1] != y[1])
        return x[1] > y[1] ? -1 : 1;
    if (!ra->key && !rb->key) /* packed keys order as their bytes do (big-endian fields) */
        return x[0] < y[0] ? -1 : x[0] > y[0];
    uint8_t ka[QUERY_MAX_KEYS * 16], kb[QUERY_MAX_KEYS * 16];
    return memcmp(row_key(c, ra, ka), row_key(c, rb, kb), c->klen);
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
    return row_cmp(arg, a, b);
}

/* Bounded selection of the best `cap` rows: a heap whose root is the worst row kept. */
struct topn {
    struct qrow *h;
    size_t n, cap;
};

static void topn_sift_down(const struct qctx *c, struct topn *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && row_cmp(c, &t->h[l], &t->h[w]) > 0)
            w = l;
        if (r < t->n && row_cmp(c, &t->h[r], &t->h[w]) > 0)
            w = r;
        if (w == i)
            return;
        struct qrow tmp = t->h[i];
        t->h[i] = t->h[w];
        t->h[w] = tmp;
        i = w;
    }
}

static void topn_offer(const struct qctx *c, struct topn *t, const struct qrow *r)
{
    if (t->n < t->cap) {
        size_t i = t->n++;
        t->h[i] = *r;
        while (i) {
            size_t p = (i - 1) / 2;
            if (row_cmp(c, &t->h[p], &t->h[i]) >= 0)
                break;
            struct qrow tmp = t->h[i];
            t->h[i] = t->h[p];
            t->h[p] = tmp;
            i = p;
        }
        return;
    }
    if (row_cmp(c, r, &t->h[0]) >= 0)
        return; /* not better than the worst kept */
    t->h[0] = *r;
    topn_sift_down(c, t, 0);
}

/* ---- run ------------------------------------------------------------------------------- */

/* The owner entry of packed group key after merge() (threads 0..nth-1), or NULL. */
static uint64_t *ptab_owner(struct qctx *c, unsigned nth, uint64_t key)
{
    for (unsigned u = 0; u < nth; u++) {
        uint64_t *x = ptab_find(&c->th[u].ptab, key);
        if (x)
            return x;
    }
    return NULL;
}

static int merge(struct qctx *c, unsigned nth)
{
    struct agg_tab *t0 = &c->th[0].tab, *d0 = &c->th[0].dset;
    int rc = 0;
    if (c->direct) {
        size_t slots = (size_t)1 << (8 * c->klen);
        for (size_t ix = 0; ix < slots; ix++) {
            uint64_t fl = 0, pk = 0, by = 0;
            for (unsigned th = 0; th < nth; th++) {
                fl += c->th[th].direct[3 * ix];
                pk += c->th[th].direct[3 * ix + 1];
                by += c->th[th].direct[3 * ix + 2];
            }
            if (!fl)
                continue;
            uint8_t key[2] = {(uint8_t)(c->klen == 2 ? ix >> 8 : ix), (uint8_t)ix};
            bool is_new;
            uint64_t *x = agg_tab_get(t0, key, hash_bytes(key, c->klen, t0->seed), &is_new, &rc);
            if (!x)
                return rc;
            x[1] = fl;
            x[2] = pk;
            x[3] = by;
        }
        return 0;
    }
    /* Packed groups are merged in place, without a table of the union: each entry of thread
     * th's table is added into the first lower table that holds its key, if any, and then
     * marked PTAB_MERGED; otherwise it stays where it is, as the group's owner. */
    struct ptab *p0 = &c->th[0].ptab;
    struct pset *s0 = &c->th[0].pset;
    for (unsigned th = 1; th < nth; th++) {
        struct ptab *p = &c->th[th].ptab;
        for (size_t i = 0; i < p->nslots; i++) {
            uint64_t *e = p->slot + i * p->words;
            if (i + QUERY_PREFETCH < p->nslots) {
                const uint64_t *f = e + QUERY_PREFETCH * p->words;
                if (f[1])
                    ptab_prefetch(p0, ptab_hash(f[0], p0->seed));
            }
            if (!e[1])
                continue;
            for (unsigned u = 0; u < th; u++) {
                uint64_t *x = ptab_find(&c->th[u].ptab, e[0]);
                if (x) { /* the first hit is the owner: lower tables lack the key */
                    x[1] += e[1];
                    x[2] += e[2];
                    x[3] += e[3];
                    e[1] |= PTAB_MERGED;
                    c->pmerged++;
                    break;
                }
            }
        }
        struct pset *ps = &c->th[th].pset;
        if ((rc = pset_reserve(s0, s0->n + ps->n)))
            return rc;
        for (size_t i = 0; i < ps->nslots; i++) {
            if (i + QUERY_PREFETCH < ps->nslots && ps->slot[i + QUERY_PREFETCH])
                pset_prefetch(s0, ptab_hash(ps->slot[i + QUERY_PREFETCH], s0->seed));
            if (ps->slot[i] && (rc = pset_add(s0, ps->slot[i])))
                return rc;
        }
        if (ps->has_zero && (rc = pset_add(s0, 0)))
            return rc;
        pset_release(ps);
    }
    for (unsigned th = 1; th < nth; th++) {
        struct agg_tab *t = &c->th[th].tab, *d = &c->th[th].dset;
        for (size_t i = 0; i < t->n; i++) {
            const uint64_t *e = agg_tab_entry(t, i);
            bool is_new;
            uint64_t *x = agg_tab_get(t0, agg_tab_key(t, e), e[0], &is_new, &rc);
            if (!x)
                return rc;
            x[1] += e[1];
            x[2] += e[2];
            x[3] += e[3];
        }
        agg_tab_release(t);
        for (size_t i = 0; i < d->n; i++) {
            const uint64_t *e = agg_tab_entry(d, i);
            bool is_new;
            if (!agg_tab_get(d0, agg_tab_key(d, e), e[0], &is_new, &rc))
                return rc;
        }
        agg_tab_release(d);
    }
    if (c->q->has_distinct) {
        /* Count each (group, value) pair into its group: packed pairs belong to packed
         * groups; a generic pair's group is packed when its addresses are IPv4. Every group
         * exists already (it counted the flow that made the pair). */
        for (size_t i = 0; i < s0->nslots + 1; i++) {
            uint64_t v;
            if (i < s0->nslots) {
                if (!(v = s0->slot[i]))
                    continue;
            } else if (s0->has_zero) {
                v = 0;
            } else {
                break;
            }
            uint64_t *x = ptab_owner(c, nth, v >> c->dbits);
            if (!x)
                return BS_ENOTFOUND; /* cannot happen: a pair's group counted its flow */
            x[4]++;
        }
        for (size_t i = 0; i < d0->n; i++) {
            const uint8_t *gk = agg_tab_key(d0, agg_tab_entry(d0, i));
            uint64_t g;
            uint64_t *x;
            if (c->packed && query_pack_bytes(c->q->keys, c->q->nkeys, gk, &g)) {
                if (!(x = ptab_owner(c, nth, g)))
                    return BS_ENOTFOUND; /* cannot happen: a pair's group counted its flow */
            } else {
                bool is_new;
                x = agg_tab_get(t0, gk, hash_bytes(gk, c->klen, t0->seed), &is_new, &rc);
            }
            if (!x)
                return rc;
            x[4]++;
        }
    }
    return 0;
}

int query_exec(struct store *s, const struct query_spec *q, struct query_result **result,
               struct query_error *err)
{
    struct query_error edummy;
    if (!err)
        err = &edummy;
    memset(err, 0, sizeof *err);
    *result = NULL;
    /* A store that evaluates SQL (ClickHouse) answers the whole query itself. */
    if (query_sql_wanted(s))
        return query_sql_exec(s, q, result, err);
    uint64_t t0 = clock_mono_ns();
    int rc;
    struct query_result *res = calloc(1, sizeof *res);
    struct qctx *c = calloc(1, sizeof *c);
    if (!c || !res) {
        free(c);
        free(res);
        return BS_ENOMEM;
    }
    query_result_init(res, q);
    struct query_stats *st = &res->stats;
    c->q = q;
    struct filter_error fe;
    if ((rc = filter_compile(q->filter, &c->filter, &fe))) {
        snprintf(err->msg, sizeof err->msg, "%s", fe.msg);
        err->column = fe.column;
        err->in_filter = true;
        goto out;
    }
    struct filter *having = NULL;
    if (q->having && (rc = filter_compile_having(q->having, &having, &fe))) {
        snprintf(err->msg, sizeof err->msg, "%s", fe.msg);
        err->column = fe.column;
        err->in_having = true;
        goto out;
    }
    if (q->order == QO_DISTINCT && !q->has_distinct) {
        snprintf(err->msg, sizeof err->msg, "ordering by distinct needs a distinct key (-D KEY)");
        rc = BS_EUSAGE;
        goto out_having;
    }
    c->time_bounded = q->t_lo > 0 || q->t_hi != UINT64_MAX;
    for (size_t k = 0; k < q->nkeys; k++) {
        c->koff[k] = c->klen;
        c->klen += query_key_size(q->keys[k].id);
    }
    c->dklen = q->has_distinct ? query_key_size(q->distinct.id) : 0;
    c->direct = q->nkeys && c->klen <= 2 && !q->has_distinct;
    for (size_t k = 0; k < q->nkeys; k++)
        c->gbits += query_key_bits(q->keys[k].id);
    c->dbits = q->has_distinct ? query_key_bits(q->distinct.id) : 0;
    c->packed = q->nkeys && !c->direct && c->gbits <= 64;
    c->pair_packed = c->packed && q->has_distinct && c->gbits + c->dbits <= 64;

    /* Columns: the filter's, the keys', packets and bytes; start_ms only when a time window,
     * the summary or the listing needs it. */
    c->need_times =
        c->time_bounded || q->count_only || !q->nkeys || (q->summary && q->format == QF_TABLE);
    uint64_t cols =
        filter_columns(c->filter) | STORE_COLBIT(STORE_COL_PACKETS) | STORE_COLBIT(STORE_COL_BYTES);
    if (c->need_times)
        cols |= STORE_COLBIT(STORE_COL_START_MS);
    for (size_t k = 0; k < q->nkeys; k++)
        cols |= query_key_cols(q->keys[k].id);
    if (q->has_distinct)
        cols |= query_key_cols(q->distinct.id);
    if (!q->nkeys && !q->count_only)
        cols = STORE_COLS_ALL;
    /* Unpredictable enough for a table seed: the clock and where the context lives. */
    uint64_t seed = hash_mix64(clock_mono_ns() ^ (uint64_t)(uintptr_t)c);
    unsigned nth = q->threads ? q->threads : 1;
    if (nth > STORE_SCAN_MAX_THREADS)
        nth = STORE_SCAN_MAX_THREADS;
    if (!q->nkeys && !q->count_only)
        nth = 1; /* records are printed in scan order */
    for (unsigned t = 0; t < nth; t++) {
        struct qthread *th = &c->th[t];
        th->fs = filter_scratch_new();
        th->sel = malloc(SEGMENT_BLOCK_MAX);
        th->keybuf = malloc(QUERY_MAX_KEYS * 16 + 16 + 16);
        th->t_first = UINT64_MAX;
        agg_tab_init(&th->tab, c->klen, true, q->max_groups);
        agg_tab_init(&th->dset, c->klen + c->dklen, false, q->max_distinct);
        if (c->direct)
            th->direct = calloc((size_t)3 << (8 * c->klen), sizeof *th->direct);
        ptab_init(&th->ptab, q->has_distinct ? 5 : 4, q->max_groups, ptab_seed(seed, t));
        th->pset.max = q->max_distinct;
        th->pset.seed = ptab_seed(seed, t);
        if (c->packed) {
            th->kb = malloc(SEGMENT_BLOCK_MAX * sizeof *th->kb);
            th->hv = malloc(SEGMENT_BLOCK_MAX * sizeof *th->hv);
            th->wide = malloc(SEGMENT_BLOCK_MAX);
        }
        if (c->pair_packed) {
            th->dv = malloc(SEGMENT_BLOCK_MAX * sizeof *th->dv);
            th->dh = malloc(SEGMENT_BLOCK_MAX * sizeof *th->dh);
            th->dwide = malloc(SEGMENT_BLOCK_MAX);
        }
        if (!th->fs || !th->sel || !th->keybuf || (c->direct && !th->direct) ||
            (c->packed && (!th->kb || !th->hv || !th->wide)) ||
            (c->pair_packed && (!th->dv || !th->dh || !th->dwide))) {
            rc = BS_ENOMEM;
            goto out_threads;
        }
    }
    struct store_scan sc = {
        .t_lo = q->t_lo,
        .t_hi = q->t_hi,
        .cols = cols,
        .threads = nth,
        .block_pred = query_scan_pred,
        .on_block = query_scan_block,
        .ctx = c,
    };
    rc = store_scan(s, &sc, &st->scan);
    if (rc == 1)
        rc = 0; /* listing limit reached */
    for (unsigned t = 0; t < nth && !rc; t++)
        rc = c->th[t].rc;
    if (rc) {
        if (rc == BS_ELIMIT)
            snprintf(err->msg, sizeof err->msg,
                     "aggregation exceeds its cap (%zu groups, %zu distinct pairs); narrow the "
                     "filter or time window",
                     q->max_groups, q->max_distinct);
        goto out_threads;
    }
    st->t_first = UINT64_MAX;
    for (unsigned t = 0; t < nth; t++) {
        st->matched += c->th[t].matched;
        st->packets += c->th[t].packets;
        st->bytes += c->th[t].bytes;
        if (c->th[t].t_first < st->t_first)
            st->t_first = c->th[t].t_first;
        if (c->th[t].t_last > st->t_last)
            st->t_last = c->th[t].t_last;
    }
    if (!c->need_times)
        st->t_first = st->t_last = 0;
    if (q->nkeys && !q->count_only) {
        if ((rc = merge(c, nth))) {
            if (rc == BS_ELIMIT)
                snprintf(err->msg, sizeof err->msg, "aggregation exceeds its cap");
            goto out_threads;
        }
        struct agg_tab *t = &c->th[0].tab;
        st->groups = t->n;
        for (unsigned th = 0; th < nth; th++)
            st->groups += c->th[th].ptab.n;
        st->groups -= c->pmerged;
        if (st->groups > q->max_groups) {
            rc = BS_ELIMIT;
            snprintf(err->msg, sizeof err->msg, "aggregation exceeds its cap");
            goto out_threads;
        }
        /* Rows passing --having: all of them sorted, or the best `limit` by a bounded heap
         * (no sort of every group for a top N). Packed groups are those of every thread's
         * table not merged into a lower one. */
        bool top = q->limit && q->limit < st->groups;
        size_t cap = top ? q->limit : (size_t)st->groups;
        struct topn sel = {.h = malloc((cap ? cap : 1) * sizeof *sel.h), .cap = cap};
        if (!sel.h) {
            rc = BS_ENOMEM;
            goto out_threads;
        }
        for (unsigned th = 0; th <= nth; th++) {
            const struct ptab *p = th < nth ? &c->th[th].ptab : NULL;
            size_t end = p ? p->nslots : t->n;
            for (size_t i = 0; i < end; i++) {
                struct qrow r;
                if (p) {
                    r.e = p->slot + i * p->words;
                    r.key = NULL;
                    if (!r.e[1] || (r.e[1] & PTAB_MERGED))
                        continue;
                } else {
                    r.e = agg_tab_entry(t, i);
                    r.key = agg_tab_key(t, r.e);
                }
                if (having &&
                    !filter_match_row(having, r.e[1], r.e[2], r.e[3], q->has_distinct ? r.e[4] : 0))
                    continue;
                if (top)
                    topn_offer(c, &sel, &r);
                else if (sel.n < sel.cap) /* always: cap counts every group */
                    sel.h[sel.n++] = r;
            }
        }
        qsort_r(sel.h, sel.n, sizeof *sel.h, cmp_rows, c);
        size_t nr = sel.n;
        if (q->limit && nr > q->limit)
            nr = q->limit;
        /* The rows are in result order already: pushed as they are, no second sort. */
        uint8_t kbuf[QUERY_MAX_KEYS * 16];
        for (size_t i = 0; i < nr && !rc; i++) {
            const uint64_t *e = sel.h[i].e;
            rc = query_result_push(res, row_key(c, &sel.h[i], kbuf), e[1], e[2], e[3],
                                   q->has_distinct ? e[4] : 0);
        }
        free(sel.h);
        if (rc)
            goto out_threads;
        res->sorted = true; /* in result order: finish only resolves the key pointers */
        query_result_finish(res);
    }
    st->wall_ns = clock_mono_ns() - t0;
out_threads:
    for (unsigned t = 0; t < STORE_SCAN_MAX_THREADS; t++) {
        filter_scratch_free(c->th[t].fs);
        free(c->th[t].sel);
        free(c->th[t].keybuf);
        free(c->th[t].direct);
        agg_tab_release(&c->th[t].tab);
        agg_tab_release(&c->th[t].dset);
        ptab_release(&c->th[t].ptab);
        pset_release(&c->th[t].pset);
        free(c->th[t].kb);
        free(c->th[t].hv);
        free(c->th[t].dh);
        free(c->th[t].wide);
        free(c->th[t].dv);
        free(c->th[t].dwide);
    }
out_having:
    filter_free(having);
out:
    filter_free(c->filter);
    free(c);
    if (rc)
        query_result_free(res);
    else
        *result = res;
    return rc;
}
