/* store.c - backend registry and dispatch (see store.h, store_backend.h). */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/segment.h"
#include "store/store_backend.h"

/* The registry: ClickHouse is listed first so that its scheme wins over the catch-all
 * directory backend. */
static const struct store_backend *const store_backends[] = {
    &store_backend_clickhouse,
    &store_backend_embedded,
};

int store_open(const char *url, const struct config *cfg, int flags, struct store **out,
               char errbuf[256])
{
    errbuf[0] = '\0';
    *out = NULL;
    if (!url || !*url) {
        snprintf(errbuf, 256, "no store given (--store DIR or URL)");
        return BS_EUSAGE;
    }
    const struct store_backend *be = store_backend_find(url);
    if (!be) {
        snprintf(errbuf, 256, "%s: no store backend for this URL", url);
        return BS_EUNSUPPORTED;
    }
    int rc = be->open(url, cfg, flags, out, errbuf);
    if (!rc) {
        (*out)->be = be;
        (*out)->flags = flags;
    }
    return rc;
}

const struct store_backend *store_backend_find(const char *url)
{
    for (size_t i = 0; i < sizeof store_backends / sizeof store_backends[0]; i++)
        if (store_backends[i]->match(url))
            return store_backends[i];
    return NULL;
}

int store_append(struct store *s, const struct flow_rec *recs, size_t n)
{
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    return s->be->append(s, recs, n);
}

int store_flush(struct store *s)
{
    if (!(s->flags & STORE_WRITE))
        return 0;
    return s->be->flush(s);
}

int store_close(struct store *s)
{
    if (!s)
        return 0;
    return s->be->close(s);
}

int store_scan(struct store *s, const struct store_scan *sc, struct store_scan_stats *st)
{
    struct store_scan_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    return s->be->scan(s, sc, st);
}

int store_get_info(struct store *s, struct store_info *out)
{
    memset(out, 0, sizeof *out);
    return s->be->info(s, out);
}

int store_prune(struct store *s, uint64_t now_ms, uint64_t *segs, uint64_t *bytes)
{
    uint64_t a = 0, b = 0;
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    int rc = s->be->prune(s, now_ms, &a, &b);
    if (segs)
        *segs = a;
    if (bytes)
        *bytes = b;
    return rc;
}

int store_begin(struct store *s)
{
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    return s->be->begin ? s->be->begin(s) : 0;
}

int store_commit(struct store *s)
{
    if (!(s->flags & STORE_WRITE))
        return BS_EUSAGE;
    return s->be->commit ? s->be->commit(s) : store_flush(s);
}

void store_abort(struct store *s)
{
    if ((s->flags & STORE_WRITE) && s->be->abort)
        s->be->abort(s);
}

int store_check(struct store *s, void (*report)(void *ctx, const char *path, const char *what),
                void *ctx, struct store_check_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!s->be->check)
        return BS_EUNSUPPORTED;
    return s->be->check(s, report, ctx, st);
}

int store_sql(struct store *s, const char *sql, int (*cb)(void *ctx, const uint8_t *p, size_t n),
              void *ctx, char errbuf[256])
{
    errbuf[0] = '\0';
    if (!s->be->sql) {
        snprintf(errbuf, 256, "the %s store does not evaluate SQL", s->be->name);
        return BS_EUNSUPPORTED;
    }
    return s->be->sql(s, sql, cb, ctx, errbuf);
}

int store_sql_stats(struct store *s, uint64_t *rows_read, uint64_t *bytes_read)
{
    *rows_read = *bytes_read = 0;
    return s->be->sql_stats ? s->be->sql_stats(s, rows_read, bytes_read) : BS_EUNSUPPORTED;
}

const char *store_backend_name(const struct store *s)
{
    return s->be->name;
}

void store_block_record(const struct store_block *b, size_t i, struct flow_rec *r)
{
    memset(r, 0, sizeof *r);
#define GET(f, col)                                                                                \
    if (b->col)                                                                                    \
    r->f = b->col[i]
    GET(start_ms, start_ms);
    GET(end_ms, end_ms);
    GET(packets, packets);
    GET(bytes, bytes);
    GET(sampling_rate, sampling);
    GET(obs_domain, obs_domain);
    GET(in_if, in_if);
    GET(out_if, out_if);
    GET(src_as, src_as);
    GET(dst_as, dst_as);
    GET(src_port, src_port);
    GET(dst_port, dst_port);
    GET(vlan, vlan);
    GET(has, has);
    GET(proto, proto);
    GET(tcp_flags, tcp_flags);
    GET(tos, tos);
    GET(version, version);
    GET(direction, direction);
    GET(src_mask, src_mask);
    GET(dst_mask, dst_mask);
#undef GET
#define ADDR(f)                                                                                    \
    if (b->f.v4 || b->f.full)                                                                      \
    store_addr_get(&b->f, i, &r->f)
    ADDR(src);
    ADDR(dst);
    ADDR(exporter);
    ADDR(nexthop);
#undef ADDR
}

static int skip_index(enum store_col col)
{
    switch (col) {
    case STORE_COL_SRC:
        return 0;
    case STORE_COL_DST:
        return 1;
    case STORE_COL_SRC_PORT:
        return 2;
    case STORE_COL_DST_PORT:
        return 3;
    default:
        return -1;
    }
}

bool store_block_may_contain_addr(const struct store_block_meta *m, enum store_col col,
                                  const struct ipaddr *a)
{
    int k = skip_index(col);
    if (k < 0 || k > 1)
        return true;
    const struct ipaddr *mn = k ? &m->dst_min : &m->src_min, *mx = k ? &m->dst_max : &m->src_max;
    if (ipaddr_cmp(a, mn) < 0 || ipaddr_cmp(a, mx) > 0)
        return false;
    if (!m->skip)
        return true;
    return seg_skip_may_contain(&((const struct seg_skipref *)m->skip)[k], a->b, 16);
}

bool store_block_may_contain_port(const struct store_block_meta *m, enum store_col col,
                                  uint16_t port)
{
    int k = skip_index(col);
    if (k < 2)
        return true;
    uint16_t mn = k == 2 ? m->src_port_min : m->dst_port_min;
    uint16_t mx = k == 2 ? m->src_port_max : m->dst_port_max;
    if (port < mn || port > mx)
        return false;
    if (!m->skip)
        return true;
    uint8_t be[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    return seg_skip_may_contain(&((const struct seg_skipref *)m->skip)[k], be, 2);
}
