/* cmd_detect.c - `botscope detect`: C&C candidates from the flow store, seeded by infected
 * hosts; batch over a time range or follow mode; results into the state database. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/jw.h"
#include "core/log.h"
#include "detect/detect.h"
#include "detect/intel.h"
#include "store/statedb.h"
#include "store/store.h"

static const char detect_usage[] =
    "usage: botscope detect --store DIR|URL [--seeds FILE...] [-t START[-END]]\n"
    "                       [--output table|ndjson] [--threshold X] [--allow FILE]\n"
    "                       [--no-state] [--follow [--interval D] [--window D]] [--config FILE]\n"
    "\n"
    "Finds the servers that steer IoT bots (C&C) in the flow store: servers whose clients\n"
    "include seeds (hosts believed infected) and whose traffic looks like command and control\n"
    "(seed fan-in and enrichment against the whole client population, persistence over the\n"
    "range, unanswered SYN retries, beacon regularity, long low-rate sessions, IoT-like clients,\n"
    "port priors), with popular and benign services pushed down by the population baseline.\n"
    "Each candidate's score is the sum of named contributions, shown in its evidence;\n"
    "docs/DETECTION.md gives every feature and threshold.\n"
    "\n"
    "Options:\n"
    "  --store DIR|URL   the flow store (default: [general] data_dir)\n"
    "  --seeds FILE      seeds, repeatable: one address a line ('#' comments), CSV with an\n"
    "                    address column (addr, ip, src, saddr, src_addr, id.orig_h, ...), the\n"
    "                    telescope's sources.ndjson (its infected_iot sources), or a telescope\n"
    "                    state database (state.db, the directory holding it, or a\n"
    "                    clickhouse://HOST:PORT/DB URL, user and password from --config)\n"
    "  -t START[-END]    time window on flow start (as `botscope flows -t`)\n"
    "  -o, --output FMT  table (default on a terminal) or ndjson (default otherwise)\n"
    "  --threshold X     candidate score threshold (default [detect] threshold, 4.0)\n"
    "  --allow FILE      allow-list: PREFIX [PORT] a line; never reported\n"
    "  --no-state        do not write candidates, graph edges and seeds to the state database\n"
    "  --follow          re-run every --interval over the last --window of data until SIGINT\n"
    "                    or SIGTERM, keeping candidates and score history in the state database\n"
    "  --interval D      follow mode period (default [detect] interval, 5m)\n"
    "  --window D        follow mode range back from the newest flow (default 24h)\n"
    "  --config FILE     configuration file\n"
    "\n"
    "NDJSON: one candidate a line with addr, port, proto, score, first_ms, last_ms, detected_ms,\n"
    "clients, seed_clients and evidence (features, contributions, unused features, rule,\n"
    "expansion round, seeds by source, previous_addr when a C&C moved). A summary goes to\n"
    "stderr. Candidates, their score history (evidence records) and the bot-server graph\n"
    "edges go to the state database of the store (see `botscope graph`).\n"
    "\n"
    "Without --seeds, clients that scan telnet ports in the flows (as IoT bots do) are the\n"
    "seeds.\n"
    "\n"
    "Exit status: 0 ok (also with no candidate), 1 runtime failure, 2 usage error (bad\n"
    "option, unreadable or malformed seeds or allow-list, an empty store; a seeds database\n"
    "server that does not answer is 1).\n";

static volatile sig_atomic_t detect_stop;

static void on_signal(int sig)
{
    (void)sig;
    detect_stop = 1;
}

static void print_table(const struct detect_result *r, FILE *o)
{
    fprintf(o, "%-39s %5s %5s %8s %7s %5s %-23s %-23s %s\n", "addr", "port", "proto", "score",
            "clients", "seeds", "first seen", "last seen", "rule");
    for (size_t i = 0; i < r->ncand; i++) {
        const struct detect_candidate *c = &r->cand[i];
        char a[IPADDR_STRLEN], f[40], l[40];
        fprintf(o, "%-39s %5u %5u %8.3f %7" PRIu64 " %5" PRIu64 " %-23s %-23s %s\n",
                ipaddr_format(&c->addr, a, sizeof a), c->port, c->proto, c->score, c->clients,
                c->seed_clients, clock_format_utc(c->first_ms, f, sizeof f),
                clock_format_utc(c->last_ms, l, sizeof l), c->rule);
    }
}

/* Candidates, score history, edges and the run's cursor into the state database. */
static int save_state(struct statedb *db, const struct detect_result *r, char **intel,
                      struct buf *line, uint64_t now)
{
    int rc = 0;
    char key[128], addr[IPADDR_STRLEN], cl[IPADDR_STRLEN];
    for (size_t i = 0; i < r->ncand && !rc; i++) {
        const struct detect_candidate *c = &r->cand[i];
        buf_reset(line);
        if ((rc = detect_candidate_json(c, r, intel ? intel[i] : NULL, line)))
            break;
        if (line->len && line->data[line->len - 1] == '\n')
            line->data[--line->len] = '\0';
        ipaddr_format(&c->addr, addr, sizeof addr);
        snprintf(key, sizeof key, "%s|%u|%u", addr, c->port, c->proto);
        struct statedb_rec rec[2] = {
            {.kind = STATEDB_CANDIDATE,
             .key = key,
             .addr = addr,
             .first_ms = c->first_ms,
             .last_ms = c->last_ms,
             .score = c->score,
             .status = "open",
             .body = line->data},
            /* One score in the candidate's history (appended, keyed by its run time). */
            {.kind = STATEDB_EVIDENCE,
             .key = NULL,
             .addr = addr,
             .first_ms = now,
             .last_ms = now,
             .score = c->score,
             .status = key,
             .body = "{\"source\":\"detect\"}"},
        };
        rc = statedb_rec_put(db, rec, 2);
    }
    for (size_t i = 0; i < r->nedges && !rc; i++) {
        const struct detect_edge *e = &r->edges[i];
        ipaddr_format(&e->server, addr, sizeof addr);
        ipaddr_format(&e->client, cl, sizeof cl);
        snprintf(key, sizeof key, "%s|%s|%u|%u", cl, addr, e->port, e->proto);
        struct jw w;
        buf_reset(line);
        jw_init(&w, line);
        jw_obj(&w, NULL);
        jw_str(&w, "client", cl);
        jw_str(&w, "server", addr);
        jw_u64(&w, "port", e->port);
        jw_u64(&w, "proto", e->proto);
        jw_u64(&w, "flows", e->flows);
        jw_bool(&w, "seed", e->seed);
        if ((rc = jw_finish(&w)))
            break;
        struct statedb_rec rec = {.kind = STATEDB_EDGE,
                                  .key = key,
                                  .addr = addr,
                                  .first_ms = e->first_ms,
                                  .last_ms = e->last_ms,
                                  .score = (double)e->flows,
                                  .body = line->data};
        rc = statedb_rec_put(db, &rec, 1);
    }
    return rc;
}

static int run_once(struct store *s, const struct detect_config *dc,
                    const struct detect_seeds *seeds, const struct detect_allow *allow,
                    struct statedb *db, bool ndjson, const char *cmd)
{
    struct detect_result r;
    char err[512];
    int rc = detect_run(s, dc, seeds, allow, &r, err);
    if (rc) {
        cli_error(cmd, "%s", err);
        return BS_EXIT_FAIL;
    }
    struct buf line = BUF_INIT(1 << 20);
    /* Public listings (botscope intel import) of each candidate: whether, when, lead time. */
    char **intel = db && r.ncand ? calloc(r.ncand, sizeof *intel) : NULL;
    for (size_t i = 0; intel && i < r.ncand; i++) {
        const struct detect_candidate *c = &r.cand[i];
        buf_reset(&line);
        if (!intel_annotate(db, &c->addr, c->port, c->proto, c->detected_ms, &line))
            intel[i] = strdup(line.data ? line.data : "{}");
    }
    if (ndjson) {
        for (size_t i = 0; i < r.ncand; i++) {
            buf_reset(&line);
            if (!detect_candidate_json(&r.cand[i], &r, intel ? intel[i] : NULL, &line))
                fwrite(line.data, 1, line.len, stdout);
        }
    } else {
        print_table(&r, stdout);
    }
    fflush(stdout);
    fprintf(stderr,
            "detect: %" PRIu64 " flows, %" PRIu64 " servers, %" PRIu64 " edges, %" PRIu64
            " clients (%" PRIu64 " seeds seen, %" PRIu64
            " added by expansion), %zu candidates; sampling 1:%u%s; "
            "features %.3fs, score %.3fs\n",
            r.flows, r.servers, r.edges_total, r.clients, r.seed_clients_seen, r.seeds_expanded,
            r.ncand, r.sampling, r.timing_usable ? "" : " (per-pair timing not used)",
            (double)r.features_ns / 1e9, (double)r.score_ns / 1e9);
    if (r.seeds_from_flows)
        fprintf(stderr, "detect: no seeds given: clients scanning telnet ports in the flows "
                        "were used as seeds (no beacon score)\n");
    int ex = BS_EXIT_OK;
    if (db && (rc = save_state(db, &r, intel, &line, clock_wall_ms()))) {
        cli_error(cmd, "cannot write the state database: %s", bs_strerror(rc));
        ex = BS_EXIT_FAIL;
    }
    for (size_t i = 0; intel && i < r.ncand; i++)
        free(intel[i]);
    free(intel);
    buf_release(&line);
    detect_result_release(&r);
    return ex;
}

static int detect_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 'S'},  {"seeds", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'}, {"threshold", required_argument, NULL, 'T'},
        {"allow", required_argument, NULL, 'a'},  {"no-state", no_argument, NULL, 'N'},
        {"follow", no_argument, NULL, 'F'},       {"interval", required_argument, NULL, 'I'},
        {"window", required_argument, NULL, 'W'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *cmd = "detect";
    struct config cfg;
    int ex = cli_load_config(cmd, cli_find_config(argc, argv), &cfg);
    if (ex)
        return ex;
    struct detect_config dc;
    cli_set_log_level(&cfg, 0, 0);
    detect_config_init(&dc, &cfg);
    const char *store_url = config_str(&cfg, "general", "data_dir");
    const char *allow_path = config_str(&cfg, "detect", "allow");
    const char *seed_paths[64];
    size_t nseeds = 0;
    int fmt = isatty(STDOUT_FILENO) ? 0 : 1; /* 0 table, 1 ndjson */
    bool follow = false, no_state = false;
    int64_t interval = config_duration_ms(&cfg, "detect", "interval");
    int64_t window = config_duration_ms(&cfg, "detect", "window");
    struct detect_seeds seeds;
    detect_seeds_init(&seeds);
    struct detect_allow allow = {0};
    struct store *s = NULL;
    struct statedb *db = NULL;
    int c;
    optind = 1;
    ex = BS_EXIT_USAGE;
    while ((c = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            store_url = optarg;
            break;
        case 's':
            if (nseeds == sizeof seed_paths / sizeof seed_paths[0]) {
                cli_error(cmd, "at most 64 --seeds files");
                goto out;
            }
            seed_paths[nseeds++] = optarg;
            break;
        case 'o':
            if (!strcmp(optarg, "table"))
                fmt = 0;
            else if (!strcmp(optarg, "ndjson"))
                fmt = 1;
            else {
                cli_error(cmd, "--output: expected table or ndjson, not \"%s\"", optarg);
                goto out;
            }
            break;
        case 'T': {
            char *end;
            errno = 0;
            dc.threshold = strtod(optarg, &end);
            if (errno || end == optarg || *end) {
                cli_error(cmd, "--threshold: expected a number, not \"%s\"", optarg);
                goto out;
            }
            break;
        }
        case 'a':
            allow_path = optarg;
            break;
        case 'N':
            no_state = true;
            break;
        case 'F':
            follow = true;
            break;
        case 'I':
        case 'W':
            if (config_parse_duration_ms(optarg, c == 'I' ? &interval : &window) ||
                (c == 'I' ? interval : window) <= 0) {
                cli_error(cmd, "--%s: expected a duration such as 5m, not \"%s\"",
                          c == 'I' ? "interval" : "window", optarg);
                goto out;
            }
            break;
        case 't':
            if (clock_parse_window(optarg, &dc.t_lo, &dc.t_hi)) {
                cli_error(cmd, "-t: cannot parse time window \"%s\"", optarg);
                goto out;
            }
            break;
        case 'c':
            break;
        case 'h':
            cli_usage(&cli_cmd_detect, stdout);
            ex = BS_EXIT_OK;
            goto out;
        default:
            cli_usage(&cli_cmd_detect, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument \"%s\"", argv[optind]);
        goto out;
    }
    char err[512];
    for (size_t i = 0; i < nseeds; i++) {
        int rc = detect_seeds_load_cfg(&seeds, seed_paths[i], &cfg, err);
        if (rc) {
            cli_error(cmd, "--seeds: %s", err);
            /* A state database server that does not answer or fails is a runtime failure. */
            if (rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == BS_EIO)
                ex = BS_EXIT_FAIL;
            goto out;
        }
    }
    if (allow_path && *allow_path && detect_allow_load(&allow, allow_path, err)) {
        cli_error(cmd, "--allow: %s", err);
        goto out;
    }
    char serr[256];
    int rc = store_open(store_url, &cfg, STORE_RDONLY, &s, serr);
    if (rc) {
        cli_error(cmd, "%s", serr);
        ex = rc == BS_EUSAGE || rc == BS_EUNSUPPORTED ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    struct store_info info;
    if ((rc = store_get_info(s, &info))) {
        cli_error(cmd, "%s: %s", store_url, bs_strerror(rc));
        ex = BS_EXIT_FAIL;
        goto out;
    }
    if (!info.records && !follow) {
        cli_error(cmd, "%s: the store holds no flows", store_url);
        ex = BS_EXIT_USAGE;
        goto out;
    }
    if (!no_state && (rc = statedb_open(store_url, &db, serr))) {
        cli_error(cmd, "state database: %s", serr);
        ex = BS_EXIT_FAIL;
        goto out;
    }
    if (!follow) {
        ex = run_once(s, &dc, &seeds, &allow, db, fmt == 1, cmd);
        goto out;
    }
    /* Follow mode: each round covers the last `window` of data up to the newest flow; the
     * store is reopened every round so segments written meanwhile are seen. */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ex = BS_EXIT_OK;
    while (!detect_stop) {
        store_close(s);
        s = NULL;
        if ((rc = store_open(store_url, &cfg, STORE_RDONLY, &s, serr)) ||
            (rc = store_get_info(s, &info))) {
            cli_error(cmd, "%s", rc ? serr : bs_strerror(rc));
            ex = BS_EXIT_FAIL;
            break;
        }
        if (info.records) {
            struct detect_config round = dc;
            round.t_hi = info.t_max;
            round.t_lo = info.t_max > (uint64_t)window ? info.t_max - (uint64_t)window : 0;
            if (dc.t_lo > round.t_lo)
                round.t_lo = dc.t_lo;
            if ((ex = run_once(s, &round, &seeds, &allow, db, fmt == 1, cmd)))
                break;
            if (db) {
                struct buf body = BUF_INIT(256);
                struct jw w;
                jw_init(&w, &body);
                jw_obj(&w, NULL);
                jw_u64(&w, "t_lo", round.t_lo);
                jw_u64(&w, "t_hi", round.t_hi);
                /* As before, the rounds go on when the cursor cannot be kept. */
                if (!jw_finish(&w)) {
                    struct statedb_rec cur = {.kind = STATEDB_STATE,
                                              .key = "detect.follow",
                                              .first_ms = round.t_lo,
                                              .last_ms = round.t_hi,
                                              .body = body.data};
                    statedb_rec_put(db, &cur, 1);
                }
                buf_release(&body);
            }
        }
        for (int64_t slept = 0; slept < interval && !detect_stop; slept += 100)
            usleep(100000);
    }
out:
    statedb_close(db);
    if (s)
        store_close(s);
    detect_allow_release(&allow);
    detect_seeds_release(&seeds);
    config_release(&cfg);
    return ex;
}

const struct cli_cmd cli_cmd_detect = {
    .name = "detect",
    .summary = "find C&C server candidates in the flow store, seeded by infected hosts",
    .usage = detect_usage,
    .run = detect_main,
};
