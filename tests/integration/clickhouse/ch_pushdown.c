/* ch_pushdown.c - test driver of the SQL pushdown (src/query/query_sql.c) until `botscope
 * flows` prints ClickHouse's rows itself: runs one aggregation or totals query through
 * query_sql_run on a clickhouse:// store and prints it as `botscope flows -o csv` (rows) or
 * `--count -o ndjson` (totals, without records_scanned) prints it, so ch_pushdown.sh compares
 * the two stores' answers byte for byte.
 *
 * usage: ch_pushdown --store URL --config FILE [--window LO-HI (epoch ms)] [-A KEYS | -s STAT]
 *                    [-D KEY] [-n N] [--having EXPR] [--count] [--sql] [FILTER]
 * --sql prints the generated SELECT instead of running it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/ipaddr.h"
#include "query/query_sql.h"
#include "store/store.h"

static void key_text(const struct query_key *k, const uint8_t *p, char *out, size_t len)
{
    if (k->id == QK_SRCIP || k->id == QK_DSTIP || k->id == QK_EXPORTER || k->id == QK_NEXTHOP) {
        struct ipaddr a;
        memcpy(a.b, p, 16);
        bool v4 = ipaddr_is_v4(&a);
        if ((v4 && k->v4len < 32) || (!v4 && k->v6len < 128)) {
            struct ipprefix pf = {a, (uint8_t)(v4 ? 96 + k->v4len : k->v6len)};
            ipprefix_format(&pf, out, len);
        } else {
            ipaddr_format(&a, out, len);
        }
        return;
    }
    unsigned w = k->id == QK_SRCPORT || k->id == QK_DSTPORT || k->id == QK_VLAN ? 2
                 : k->id == QK_PROTO || k->id == QK_TOS || k->id == QK_FLAGS || k->id == QK_VERSION
                     ? 1
                     : 4;
    uint64_t v = 0;
    for (unsigned j = 0; j < w; j++)
        v = v << 8 | p[j];
    if (k->id == QK_VERSION)
        snprintf(out, len, "%s", flow_version_name((unsigned)v));
    else
        snprintf(out, len, "%" PRIu64, v);
}

static unsigned key_width(const struct query_key *k)
{
    switch (k->id) {
    case QK_SRCIP:
    case QK_DSTIP:
    case QK_EXPORTER:
    case QK_NEXTHOP:
        return 16;
    case QK_SRCPORT:
    case QK_DSTPORT:
    case QK_VLAN:
        return 2;
    case QK_PROTO:
    case QK_TOS:
    case QK_FLAGS:
    case QK_VERSION:
        return 1;
    default:
        return 4;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 'S'},
        {"config", required_argument, NULL, 'c'},
        {"window", required_argument, NULL, 'w'},
        {"having", required_argument, NULL, 'H'},
        {"count", no_argument, NULL, 'C'},
        {"sql", no_argument, NULL, 'Q'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *cfgpath = NULL;
    bool count = false, show_sql = false;
    struct query_spec q;
    query_spec_init(&q);
    struct query_error qe;
    memset(&qe, 0, sizeof qe);
    int c;
    while ((c = getopt_long(argc, argv, "A:s:D:n:", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'S':
            url = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'w': {
            char *end;
            q.t_lo = strtoull(optarg, &end, 10);
            q.t_hi = *end == '-' ? strtoull(end + 1, NULL, 10) : UINT64_MAX;
            break;
        }
        case 'H':
            q.having = optarg;
            break;
        case 'C':
            count = true;
            break;
        case 'Q':
            show_sql = true;
            break;
        case 'A':
            rc = query_parse_keys(optarg, q.keys, QUERY_MAX_KEYS, &q.nkeys, &qe);
            break;
        case 's':
            rc = query_parse_stat(optarg, &q, &qe);
            break;
        case 'D':
            rc = query_parse_key(optarg, &q.distinct, &qe);
            q.has_distinct = true;
            break;
        case 'n':
            q.limit = strtoull(optarg, NULL, 10);
            break;
        default:
            return 2;
        }
        if (rc) {
            fprintf(stderr, "ch_pushdown: %s\n", qe.msg);
            return 2;
        }
    }
    if (optind < argc)
        q.filter = argv[optind];
    if (!url)
        return 2;
    if (show_sql) {
        struct buf sql = BUF_INIT(QUERY_SQL_MAX);
        int rc = count ? query_sql_totals(&q, "{flows}", &sql, &qe)
                       : query_sql_aggregate(&q, "{flows}", &sql, &qe);
        if (rc) {
            fprintf(stderr, "ch_pushdown: %s\n", qe.msg);
            return 2;
        }
        puts(sql.data);
        buf_release(&sql);
        return 0;
    }
    struct config cfg;
    struct cfg_error ce;
    config_init(&cfg);
    if (cfgpath && config_load(&cfg, cfgpath, &ce)) {
        fprintf(stderr, "ch_pushdown: %s\n", ce.msg);
        return 2;
    }
    struct store *s;
    char eb[256];
    int rc = store_open(url, &cfg, STORE_RDONLY, &s, eb);
    if (rc) {
        fprintf(stderr, "ch_pushdown: %s\n", eb);
        config_release(&cfg);
        return 1;
    }
    struct query_sql_result r;
    rc = count ? query_sql_run_totals(s, &q, &r, &qe) : query_sql_run(s, &q, &r, &qe);
    if (rc) {
        fprintf(stderr, "ch_pushdown: %s (%s)\n", qe.msg, bs_strerror(rc));
    } else if (count) {
        printf("{\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
               ",\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64 "}\n",
               r.flows, r.packets, r.bytes, r.t_first, r.t_last);
    } else {
        for (size_t k = 0; k < q.nkeys; k++)
            printf("%s,", query_key_name(&q.keys[k]));
        printf("flows,packets,bytes");
        if (q.has_distinct)
            printf(",distinct_%s", query_key_name(&q.distinct));
        putchar('\n');
        for (size_t i = 0; i < r.n; i++) {
            const uint8_t *key = r.keys + i * r.klen;
            for (size_t k = 0; k < q.nkeys; k++) {
                char txt[64];
                key_text(&q.keys[k], key, txt, sizeof txt);
                printf("%s,", txt);
                key += key_width(&q.keys[k]);
            }
            const uint64_t *e = r.counts + 4 * i;
            printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64, e[0], e[1], e[2]);
            if (q.has_distinct)
                printf(",%" PRIu64, e[3]);
            putchar('\n');
        }
    }
    query_sql_result_release(&r);
    store_close(s);
    config_release(&cfg);
    return rc ? 1 : 0;
}
