/* query_result.c - the query engine's result set (see query.h): rows with their group keys,
 * filled by the engine or by a backend that answers a query itself, put in one order. */
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void query_result_init(struct query_result *r, const struct query_spec *q)
{
    memset(r, 0, sizeof *r);
    r->nkeys = q->nkeys;
    memcpy(r->keys, q->keys, q->nkeys * sizeof q->keys[0]);
    for (size_t k = 0; k < q->nkeys; k++) {
        r->koff[k] = r->klen;
        r->klen += query_key_size(q->keys[k].id);
    }
    r->has_distinct = q->has_distinct;
    r->distinct = q->distinct;
    r->order = q->order;
    r->limit = q->limit;
}

int query_result_push(struct query_result *r, const uint8_t *key, uint64_t flows, uint64_t packets,
                      uint64_t bytes, uint64_t distinct)
{
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct query_row *rows = realloc(r->rows, cap * sizeof *rows);
        if (!rows)
            return BS_ENOMEM;
        r->rows = rows;
        uint8_t *km = realloc(r->keymem, cap * (r->klen ? r->klen : 1));
        if (!km)
            return BS_ENOMEM;
        r->keymem = km;
        r->cap = cap;
    }
    memcpy(r->keymem + r->nrows * r->klen, key, r->klen);
    /* key is resolved by query_result_finish: keymem may still move. */
    r->rows[r->nrows++] = (struct query_row){
        .key = NULL, .flows = flows, .packets = packets, .bytes = bytes, .distinct = distinct};
    return 0;
}

static uint64_t measure(const struct query_row *x, enum query_order o)
{
    switch (o) {
    case QO_PACKETS:
        return x->packets;
    case QO_BYTES:
        return x->bytes;
    case QO_DISTINCT:
        return x->distinct;
    case QO_FLOWS:
        break;
    }
    return x->flows;
}

static int row_order(const void *a, const void *b, void *arg)
{
    const struct query_result *r = arg;
    const struct query_row *x = a, *y = b;
    uint64_t mx = measure(x, r->order), my = measure(y, r->order);
    if (mx != my)
        return mx > my ? -1 : 1;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    return memcmp(x->key, y->key, r->klen);
}

void query_result_finish(struct query_result *r)
{
    for (size_t i = 0; i < r->nrows; i++)
        r->rows[i].key = r->keymem + i * r->klen;
    if (!r->sorted)
        qsort_r(r->rows, r->nrows, sizeof *r->rows, row_order, r);
    r->sorted = true;
    if (r->limit && r->nrows > r->limit)
        r->nrows = r->limit;
}

void query_result_release(struct query_result *r)
{
    free(r->rows);
    free(r->keymem);
    r->rows = NULL;
    r->keymem = NULL;
    r->nrows = r->cap = 0;
}

void query_result_free(struct query_result *r)
{
    if (!r)
        return;
    query_result_release(r);
    free(r);
}

void query_row_addr(const struct query_result *r, const struct query_row *row, size_t k,
                    struct ipaddr *out)
{
    memcpy(out->b, row->key + r->koff[k], 16);
}

uint64_t query_row_num(const struct query_result *r, const struct query_row *row, size_t k)
{
    const uint8_t *p = row->key + r->koff[k];
    uint64_t v = 0;
    for (size_t j = 0, n = query_key_size(r->keys[k].id); j < n; j++)
        v = v << 8 | p[j];
    return v;
}
