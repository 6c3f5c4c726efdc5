/* cmd_store.c - `botscope store init|info|check|prune`: create, describe, verify and trim a
 * flow store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "store/statedb.h"
#include "store/store.h"

static const char store_usage[] =
    "usage: botscope store init  --store DIR|URL [--config FILE]\n"
    "       botscope store info  --store DIR|URL [--config FILE]\n"
    "       botscope store check --store DIR|URL [--config FILE]\n"
    "       botscope store prune --store DIR|URL [--config FILE]\n"
    "\n"
    "init   creates the store (DIR/flows, DIR/state.db) or migrates its state database to the\n"
    "       current schema; safe to run again. A ClickHouse URL (clickhouse://HOST:PORT/DB,\n"
    "       user and password in the [clickhouse] section of --config) gets its database,\n"
    "       tables and views created or migrated the same way (docs/CLICKHOUSE.md).\n"
    "info   prints segments, blocks, records, bytes on disk, bytes per flow, the time range,\n"
    "       the damage found in the day manifests and segment footers (exit 1 when any)\n"
    "       and the exporters known to the state database.\n"
    "check  reads and verifies everything: each day's MANIFEST against the segment files\n"
    "       (missing, truncated or changed, unlisted or duplicated segments), each segment\n"
    "       footer and each block's columns (CRC). Prints every problem on a 'damaged:'\n"
    "       line and a summary; exit 1 when anything is damaged. On a ClickHouse URL: the\n"
    "       schema version and objects, insert units found in two parts (inserted twice)\n"
    "       and units the writer's spool set aside (docs/CLICKHOUSE.md).\n"
    "prune  applies [store] retention and max_size now: a segment goes when its partition\n"
    "       ended and its file was written more than retention ago (wall clock), so data\n"
    "       is kept at least retention after it was stored; then the oldest segments go\n"
    "       while the store is above max_size. What is removed is logged as a warning.\n"
    "\n"
    "Options:\n"
    "  --store DIR|URL   the flow store (default: [general] data_dir)\n"
    "  --config FILE     configuration file ([store] section)\n"
    "\n"
    "Layout of DIR: flows/YYYY-MM-DD/*.seg immutable columnar segments (one per partition and\n"
    "flush), flows/YYYY-MM-DD/MANIFEST (the segments committed there), state.db (SQLite,\n"
    "WAL), LOCK (held by the one writer).\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n";

static int print_exporter(void *ctx, const struct statedb_exporter *e)
{
    char a[IPADDR_STRLEN], f[40], l[40];
    ipaddr_format(&e->addr, a, sizeof a);
    printf("  exporter %-39s flows %" PRIu64 " packets %" PRIu64 " bytes %" PRIu64
           " first %s last %s\n",
           a, e->flows, e->packets, e->bytes, clock_format_utc(e->first_ms, f, sizeof f),
           clock_format_utc(e->last_ms, l, sizeof l));
    return 0;
}

static void check_report(void *ctx, const char *path, const char *what)
{
    (void)ctx;
    printf("damaged: %s: %s\n", path, what);
}

static int store_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *cfgpath = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        default:
            cli_usage(&cli_cmd_store, stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("store", "expected one action: init, info, check or prune");
        cli_usage(&cli_cmd_store, stderr);
        return BS_EXIT_USAGE;
    }
    const char *action = argv[optind];
    if (strcmp(action, "init") && strcmp(action, "info") && strcmp(action, "prune") &&
        strcmp(action, "check")) {
        cli_error("store", "unknown action '%s' (init, info, check, prune)", action);
        return BS_EXIT_USAGE;
    }
    struct config cfg;
    int rc = cli_load_config("store", cfgpath, &cfg);
    if (rc)
        return rc;
    cli_set_log_level(&cfg, 0, 0);
    if (!dir)
        dir = config_str(&cfg, "general", "data_dir");
    int exit_code = BS_EXIT_OK;
    char err[256];
    struct store *s = NULL;
    int write = !strcmp(action, "init") || !strcmp(action, "prune");
    if ((rc = store_open(dir, &cfg, write ? STORE_WRITE : STORE_RDONLY, &s, err))) {
        cli_error("store", "%s", err);
        exit_code = rc == BS_EUSAGE ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    if (!strcmp(action, "init")) {
        /* The state database is the other half of the same backend: same URL. */
        struct statedb *db;
        if ((rc = statedb_open_cfg(dir, &cfg, &db, err))) {
            cli_error("store", "%s", err);
            exit_code = BS_EXIT_FAIL;
            goto out;
        }
        printf("%s: %s store ready (state schema %d)\n", dir, store_backend_name(s),
               statedb_schema_version(db));
        statedb_close(db);
    } else if (!strcmp(action, "info")) {
        struct store_info in;
        if ((rc = store_get_info(s, &in))) {
            cli_error("store", "%s: %s", dir, bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
            goto out;
        }
        char a[40], b[40];
        printf("store:          %s (%s)\n", dir, store_backend_name(s));
        printf("segments:       %" PRIu64 "\n", in.segments);
        printf("blocks:         %" PRIu64 "\n", in.blocks);
        printf("records:        %" PRIu64 "\n", in.records);
        printf("bytes:          %" PRIu64 "\n", in.bytes);
        printf("bytes per flow: %.2f\n", in.records ? (double)in.bytes / (double)in.records : 0.0);
        if (in.records)
            printf("time range:     %s - %s\n", clock_format_utc(in.t_min, a, sizeof a),
                   clock_format_utc(in.t_max, b, sizeof b));
        printf("damage:         %" PRIu64 " segments, %" PRIu64 " records missing%s\n",
               in.segments_damaged, in.records_missing,
               in.segments_damaged ? " (see the warnings; `botscope store check` for blocks)" : "");
        if (in.segments_damaged)
            exit_code = BS_EXIT_FAIL;
        char path[4200];
        snprintf(path, sizeof path, "%s/state.db", dir);
        FILE *probe = strcmp(store_backend_name(s), "embedded") ? NULL : fopen(path, "r");
        if (probe || strcmp(store_backend_name(s), "embedded")) {
            if (probe)
                fclose(probe);
            struct statedb *db;
            if (!statedb_open_cfg(dir, &cfg, &db, err)) {
                printf("state schema:   %d\n", statedb_schema_version(db));
                if (statedb_exporter_list(db, print_exporter, NULL)) {
                    cli_error("store", "%s: cannot list the exporters", path);
                    exit_code = BS_EXIT_FAIL;
                }
                statedb_close(db);
            } else {
                /* issue 21: a state.db that is not a database dropped this section silently */
                cli_error("store", "%s", err);
                exit_code = BS_EXIT_FAIL;
            }
        }
    } else if (!strcmp(action, "check")) {
        struct store_check_stats cs;
        if ((rc = store_check(s, check_report, NULL, &cs))) {
            cli_error("store", "%s: %s", dir, bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
            goto out;
        }
        printf("checked %" PRIu64 " segments, %" PRIu64 " blocks, %" PRIu64 " records: %" PRIu64
               " damaged segments, %" PRIu64 " corrupt blocks, %" PRIu64 " records missing\n",
               cs.segments, cs.blocks, cs.records, cs.segments_damaged, cs.blocks_corrupt,
               cs.records_missing);
        if (cs.segments_damaged || cs.blocks_corrupt)
            exit_code = BS_EXIT_FAIL;
    } else {
        uint64_t segs = 0, bytes = 0;
        if ((rc = store_prune(s, clock_wall_ms(), &segs, &bytes))) {
            cli_error("store", "%s: %s", dir, bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
            goto out;
        }
        printf("pruned %" PRIu64 " segments, %" PRIu64 " bytes\n", segs, bytes);
    }
out:
    if (s && store_close(s) && exit_code == BS_EXIT_OK)
        exit_code = BS_EXIT_FAIL;
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_store = {
    .name = "store",
    .summary = "create, describe, check and prune a flow store",
    .usage = store_usage,
    .run = store_run,
};
