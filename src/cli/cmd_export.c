/* cmd_export.c - `botscope export`: C&C candidates from the state database as a blocklist or
 * CSV, for blocking or sinkholing today (STIX and MISP come with the sharing issue). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/ipaddr.h"
#include "detect/dtext.h"
#include "store/statedb.h"

static const char export_usage[] =
    "usage: botscope export --format blocklist|csv --store DIR [--min-score X] [--since TIME]\n"
    "                       [--isp NAME]\n"
    "\n"
    "Writes the C&C candidates kept in the state database (records of kind candidate, whose\n"
    "body is the line `botscope detect` printed) to stdout:\n"
    "  blocklist  one address a line, unique, sorted, after a '#' header with the time of the\n"
    "             export, the score threshold and the count\n"
    "  csv        addr,port,proto,score,first_ms,last_ms,clients,seed_clients,listed,lead_ms\n"
    "             (highest score first; listed and lead_ms from the candidate's intel object,\n"
    "             lead_ms empty when it was never listed publicly)\n"
    "  stix, misp come with the sharing issue and are refused for now (exit 2).\n"
    "\n"
    "Options:\n"
    "  --store DIR, --data DIR  the data directory whose state database holds the candidates\n"
    "  --format FMT             blocklist or csv (required)\n"
    "  --min-score X            only candidates scoring at least X (default: all)\n"
    "  --since TIME             only candidates active at or after TIME (last_ms >= TIME;\n"
    "                           YYYY-MM-DD[ HH:MM[:SS]] or ms)\n"
    "  --isp NAME               only candidates recorded for this tenant\n"
    "  --config FILE            configuration file\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error.\n";

#define EXPORT_MAX_ROWS 10000000u

struct xrow {
    struct ipaddr addr;
    uint16_t port;
    uint8_t proto;
    bool listed, has_lead;
    double score;
    uint64_t first_ms, last_ms, clients, seed_clients;
    int64_t lead_ms;
};

struct xctx {
    struct xrow *v;
    size_t n, cap;
    uint64_t bad; /* records whose address does not parse: skipped */
};

static uint64_t body_u64(json_t *b, const char *k, uint64_t dflt)
{
    json_t *v = json_object_get(b, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
                                                            : dflt;
}

static int collect_cb(void *vctx, const struct statedb_rec *r)
{
    struct xctx *x = vctx;
    if (x->n >= EXPORT_MAX_ROWS)
        return BS_ELIMIT;
    json_t *b = json_loads(r->body ? r->body : "{}", 0, NULL);
    struct xrow row = {0};
    json_t *a = json_object_get(b, "addr");
    const char *as = json_is_string(a) ? json_string_value(a) : r->addr;
    if (!as || ipaddr_parse(as, &row.addr)) {
        x->bad++;
        json_decref(b);
        return 0;
    }
    row.port = (uint16_t)body_u64(b, "port", 0);
    row.proto = (uint8_t)body_u64(b, "proto", 0);
    json_t *s = json_object_get(b, "score");
    row.score = json_is_number(s) ? json_number_value(s) : r->score;
    row.first_ms = body_u64(b, "first_ms", r->first_ms);
    row.last_ms = body_u64(b, "last_ms", r->last_ms);
    row.clients = body_u64(b, "clients", 0);
    row.seed_clients = body_u64(b, "seed_clients", 0);
    json_t *in = json_object_get(b, "intel");
    row.listed = json_is_true(json_object_get(in, "listed"));
    json_t *lead = json_object_get(in, "lead_ms");
    if (row.listed && json_is_integer(lead)) {
        row.has_lead = true;
        row.lead_ms = (int64_t)json_integer_value(lead);
    }
    json_decref(b);
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 256;
        struct xrow *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv)
            return BS_ENOMEM;
        x->v = nv;
        x->cap = nc;
    }
    x->v[x->n++] = row;
    return 0;
}

static int cmp_addr(const void *a, const void *b)
{
    return ipaddr_cmp(&((const struct xrow *)a)->addr, &((const struct xrow *)b)->addr);
}

static int export_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},  {"data", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'}, {"min-score", required_argument, NULL, 'm'},
        {"since", required_argument, NULL, 'S'},  {"isp", required_argument, NULL, 'i'},
        {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *fmt = NULL, *isp = NULL, *cfgpath = NULL;
    double min_score = 0;
    bool has_min = false;
    uint64_t since = 0;
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'i':
            isp = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'm': {
            char *e;
            errno = 0;
            min_score = strtod(optarg, &e);
            if (errno || *e || e == optarg || !isfinite(min_score)) {
                cli_error("export", "--min-score: '%s' is not a number", optarg);
                return BS_EXIT_USAGE;
            }
            has_min = true;
            break;
        }
        case 'S':
            if (dtext_utc_ms(optarg, &since) && clock_parse_utc(optarg, &since)) {
                cli_error("export", "--since: '%s' is not a time (YYYY-MM-DD[ HH:MM[:SS]] or ms)",
                          optarg);
                return BS_EXIT_USAGE;
            }
            break;
        default:
            cli_usage(&cli_cmd_export, stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("export", "unexpected argument '%s'", argv[optind]);
        return BS_EXIT_USAGE;
    }
    if (!fmt) {
        cli_error("export", "--format is required (blocklist or csv)");
        return BS_EXIT_USAGE;
    }
    if (!strcmp(fmt, "stix") || !strcmp(fmt, "misp")) {
        cli_error("export",
                  "--format %s: not yet (STIX and MISP export come with the sharing "
                  "work); use blocklist or csv",
                  fmt);
        return BS_EXIT_USAGE;
    }
    if (strcmp(fmt, "blocklist") && strcmp(fmt, "csv")) {
        cli_error("export", "--format: '%s' is not blocklist or csv", fmt);
        return BS_EXIT_USAGE;
    }
    struct config cfg;
    if ((rc = cli_load_config("export", cfgpath, &cfg)))
        return rc;
    cli_set_log_level(&cfg, 0, 0);
    if (!dir)
        dir = config_str(&cfg, "general", "data_dir");
    int exit_code = BS_EXIT_OK;
    struct statedb *db = NULL;
    struct xctx x = {0};
    char err[256];
    if ((rc = statedb_open(dir, &db, err))) {
        cli_error("export", "--store %s: %s", dir, err);
        exit_code = rc == BS_EUSAGE || rc == BS_EUNSUPPORTED ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    /* Every record meeting [since, now and later]: still active at or after --since. */
    struct statedb_rec_query q = {.kind = STATEDB_CANDIDATE,
                                  .tenant = isp,
                                  .t_lo = since,
                                  .min_score = min_score,
                                  .has_min_score = has_min,
                                  .by_score = true};
    if ((rc = statedb_rec_list(db, &q, collect_cb, &x))) {
        cli_error("export", "%s",
                  rc == BS_ELIMIT ? "more candidates than the export cap" : bs_strerror(rc));
        exit_code = BS_EXIT_FAIL;
        goto out;
    }
    char now[40];
    clock_format_utc(clock_wall_ms(), now, sizeof now);
    now[19] = '\0';
    if (!strcmp(fmt, "blocklist")) {
        if (x.n)
            qsort(x.v, x.n, sizeof *x.v, cmp_addr);
        size_t uniq = 0;
        for (size_t i = 0; i < x.n; i++)
            uniq += !i || ipaddr_cmp(&x.v[i].addr, &x.v[i - 1].addr);
        printf("# botscope C&C blocklist, generated %s UTC\n", now);
        if (has_min)
            printf("# candidates with score >= %g", min_score);
        else
            printf("# all candidates");
        if (since) {
            char s[40];
            clock_format_utc(since, s, sizeof s);
            s[19] = '\0';
            printf(", active since %s UTC", s);
        }
        printf("; %zu addresses\n", uniq);
        for (size_t i = 0; i < x.n; i++) {
            if (i && !ipaddr_cmp(&x.v[i].addr, &x.v[i - 1].addr))
                continue;
            char a[IPADDR_STRLEN];
            printf("%s\n", ipaddr_format(&x.v[i].addr, a, sizeof a));
        }
    } else {
        printf("addr,port,proto,score,first_ms,last_ms,clients,seed_clients,listed,lead_ms\n");
        for (size_t i = 0; i < x.n; i++) {
            const struct xrow *w = &x.v[i];
            char a[IPADDR_STRLEN], lead[32] = "";
            if (w->has_lead)
                snprintf(lead, sizeof lead, "%" PRId64, w->lead_ms);
            printf("%s,%u,%u,%g,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s,%s\n",
                   ipaddr_format(&w->addr, a, sizeof a), w->port, w->proto, w->score, w->first_ms,
                   w->last_ms, w->clients, w->seed_clients, w->listed ? "true" : "false", lead);
        }
    }
    if (x.bad)
        cli_error("export", "%" PRIu64 " candidate records without a valid address skipped", x.bad);
    if (fflush(stdout)) {
        cli_error("export", "writing: %s", strerror(errno));
        exit_code = BS_EXIT_FAIL;
    }
out:
    free(x.v);
    statedb_close(db);
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_export = {
    .name = "export",
    .summary = "write C&C candidates as a blocklist or CSV (for blocking or sinkholing)",
    .usage = export_usage,
    .run = export_cmd,
};
