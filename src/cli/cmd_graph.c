/* cmd_graph.c - `botscope graph`: the bot-server graph that detection keeps in the state
 * database, as NDJSON edges or Graphviz DOT. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/ipaddr.h"
#include "core/jw.h"
#include "store/statedb.h"

static const char graph_usage[] =
    "usage: botscope graph --store DIR|URL [--output ndjson|dot] [--min-flows N]\n"
    "                      [--config FILE]\n"
    "\n"
    "Writes the bot-server graph kept by `botscope detect` (clients of C&C candidates and the\n"
    "candidates they talk to) to stdout.\n"
    "\n"
    "Options:\n"
    "  --store DIR|URL   the store whose state database holds the graph\n"
    "  --output FMT      ndjson (default): one edge a line with client, server, port, proto,\n"
    "                    flows, seed, first_ms, last_ms; dot: a Graphviz digraph (seeds red,\n"
    "                    servers as boxes labelled ADDR:PORT)\n"
    "  --min-flows N     only edges with at least N flows\n"
    "  --config FILE     configuration file\n"
    "\n"
    "Exit status: 0 ok (also for an empty graph), 1 runtime failure, 2 usage error.\n";

struct gctx {
    bool dot;
    uint64_t min_flows, n;
    struct buf line;
};

/* One edge as an NDJSON line: the stored body's members, then its first and last times. */
static int edge_ndjson(struct gctx *g, json_t *body, const struct statedb_rec *r)
{
    struct jw w;
    buf_reset(&g->line);
    jw_open(&w, &g->line);
    /* The stored members (times kept apart by the record, not in the body). */
    json_object_del(body, "first_ms");
    json_object_del(body, "last_ms");
    cli_json_members(&w, body, false);
    jw_u64(&w, "first_ms", r->first_ms);
    jw_u64(&w, "last_ms", r->last_ms);
    int rc = jw_close(&w);
    if (!rc && fwrite(g->line.data, 1, g->line.len, stdout) != g->line.len)
        rc = -EIO;
    return rc;
}

/* One edge in DOT: the client (red when a seed), the server key as a box, the flow count. The
 * names are addresses checked by parsing, so no DOT quoting is needed. */
static int edge_dot(const json_t *body, uint64_t flows)
{
    const char *cl = json_string_value(json_object_get(body, "client"));
    const char *sv = json_string_value(json_object_get(body, "server"));
    const json_t *port = json_object_get(body, "port"), *proto = json_object_get(body, "proto");
    struct ipaddr a;
    if (!cl || !sv || ipaddr_parse(cl, &a) || ipaddr_parse(sv, &a) || !json_is_integer(port) ||
        !json_is_integer(proto))
        return BS_ECORRUPT;
    json_int_t p = json_integer_value(port), pr = json_integer_value(proto);
    printf("  \"%s\" [shape=ellipse%s];\n", cl,
           json_is_true(json_object_get(body, "seed")) ? ",color=red" : "");
    printf("  \"%s:%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "\" [shape=box];\n", sv, p, pr);
    printf("  \"%s\" -> \"%s:%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "\" [label=\"%" PRIu64
           "\"];\n",
           cl, sv, p, pr, flows);
    return 0;
}

static int edge_cb(void *ctx, const struct statedb_rec *r)
{
    struct gctx *g = ctx;
    if ((uint64_t)r->score < g->min_flows)
        return 0;
    g->n++;
    json_t *body = json_loads(r->body ? r->body : "", 0, NULL);
    int rc = !json_is_object(body) ? BS_ECORRUPT
             : g->dot              ? edge_dot(body, (uint64_t)r->score)
                                   : edge_ndjson(g, body, r);
    json_decref(body);
    return rc;
}

static int graph_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 'S'},
        {"output", required_argument, NULL, 'o'},
        {"min-flows", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "graph";
    struct config cfg;
    int ex = cli_load_config(cmd, cli_find_config(argc, argv), &cfg);
    if (ex)
        return ex;
    const char *url = config_str(&cfg, "general", "data_dir");
    struct gctx g = {.line = BUF_INIT(1 << 20)};
    int c;
    optind = 1;
    ex = BS_EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            url = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "ndjson") && strcmp(optarg, "dot")) {
                cli_error(cmd, "--output: expected ndjson or dot, not \"%s\"", optarg);
                goto out;
            }
            g.dot = !strcmp(optarg, "dot");
            break;
        case 'm': {
            int64_t v;
            if (config_parse_int(optarg, &v) || v < 0) {
                cli_error(cmd, "--min-flows: expected a count, not \"%s\"", optarg);
                goto out;
            }
            g.min_flows = (uint64_t)v;
            break;
        }
        case 'c':
            break;
        case 'h':
            cli_usage(&cli_cmd_graph, stdout);
            ex = BS_EXIT_OK;
            goto out;
        default:
            cli_usage(&cli_cmd_graph, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument \"%s\"", argv[optind]);
        goto out;
    }
    struct statedb *db;
    char err[256];
    int rc = statedb_open(url, &db, err);
    if (rc) {
        cli_error(cmd, "%s", err);
        ex = rc == BS_EUSAGE || rc == BS_EUNSUPPORTED ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    if (g.dot)
        printf("digraph botscope {\n  rankdir=LR;\n");
    struct statedb_rec_query q = {.kind = STATEDB_EDGE};
    rc = statedb_rec_list(db, &q, edge_cb, &g);
    if (g.dot)
        printf("}\n");
    statedb_close(db);
    if (rc) {
        cli_error(cmd, "reading the graph: %s", bs_strerror(rc));
        ex = BS_EXIT_FAIL;
        goto out;
    }
    fprintf(stderr, "graph: %" PRIu64 " edges\n", g.n);
    ex = BS_EXIT_OK;
out:
    buf_release(&g.line);
    config_release(&cfg);
    return ex;
}

const struct cli_cmd cli_cmd_graph = {
    .name = "graph",
    .summary = "write the bot-server graph kept by detect (NDJSON or DOT)",
    .usage = graph_usage,
    .run = graph_main,
};
