/* cmd_graph.c - `botscope graph`: the bot-server graph that detection keeps in the state
 * database, as NDJSON edges or Graphviz DOT. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"
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
};

/* The value of a string field of the flat edge body the detector writes. */
static void field(const char *body, const char *key, char *out, size_t len)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(body, pat);
    size_t n = 0;
    if (p) {
        p += strlen(pat);
        if (*p == '"')
            p++;
        while (*p && *p != '"' && *p != ',' && *p != '}' && n + 1 < len)
            out[n++] = *p++;
    }
    out[n] = '\0';
}

static int edge_cb(void *ctx, const struct statedb_rec *r)
{
    struct gctx *g = ctx;
    if ((uint64_t)r->score < g->min_flows)
        return 0;
    g->n++;
    if (!g->dot) {
        size_t l = strlen(r->body);
        printf("%.*s,\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64 "}\n",
               (int)(l && r->body[l - 1] == '}' ? l - 1 : l), r->body, r->first_ms, r->last_ms);
        return 0;
    }
    char cl[64], sv[64], port[8], proto[8], seed[8];
    field(r->body, "client", cl, sizeof cl);
    field(r->body, "server", sv, sizeof sv);
    field(r->body, "port", port, sizeof port);
    field(r->body, "proto", proto, sizeof proto);
    field(r->body, "seed", seed, sizeof seed);
    printf("  \"%s\" [shape=ellipse%s];\n", cl, !strcmp(seed, "true") ? ",color=red" : "");
    printf("  \"%s:%s/%s\" [shape=box];\n", sv, port, proto);
    printf("  \"%s\" -> \"%s:%s/%s\" [label=\"%" PRIu64 "\"];\n", cl, sv, port, proto,
           (uint64_t)r->score);
    return 0;
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
    struct gctx g = {0};
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
    config_release(&cfg);
    return ex;
}

const struct cli_cmd cli_cmd_graph = {
    .name = "graph",
    .summary = "write the bot-server graph kept by detect (NDJSON or DOT)",
    .usage = graph_usage,
    .run = graph_main,
};
