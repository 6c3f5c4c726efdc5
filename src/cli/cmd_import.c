/* cmd_import.c - `botscope import`: load nfdump CSV, Zeek conn.log or Argus binetflow files
 * into the flow store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "store/import.h"
#include "store/store.h"

/* Bad lines reported individually on stderr per file before only counting them. */
#define IMPORT_REPORT_LINES 5
/* Records handed to the store per store_append call. */
#define IMPORT_CHUNK 4096
/* Longest accepted input line; longer lines are rejected as bad. */
#define IMPORT_MAX_LINE 65536

static const char import_usage[] =
    "usage: botscope import --format nfdump-csv|zeek|binetflow FILE... --store DIR\n"
    "                       [--config FILE] [-q]\n"
    "\n"
    "Reads flow files of other tools (FILE '-' is stdin) and appends their records to the\n"
    "embedded store, as one writer (the store's LOCK is taken).\n"
    "\n"
    "Formats:\n"
    "  nfdump-csv  what `nfdump -o csv` prints (1.7 layout, header found by column name; the\n"
    "              Summary block at the end is skipped; without header the 1.7 order is\n"
    "              assumed). So: nfdump -R DIR -o csv | botscope import --format nfdump-csv -\n"
    "              --store DIR2 brings an nfdump archive over.\n"
    "  zeek        Zeek conn.log: TSV with its #fields header, JSON lines, or the same\n"
    "              columns as CSV with a 'ts,uid,...' header (IoT-23); each connection\n"
    "              becomes an orig->resp record and, if the responder sent packets, a\n"
    "              resp->orig record.\n"
    "  binetflow   Argus/CTU-13 CSV (StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,\n"
    "              State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label); split the same way\n"
    "              (SrcBytes vs the rest; packets shared by bytes unless SrcPkts/DstPkts\n"
    "              are given), Label dropped.\n"
    "TCP flags of each direction come from Zeek's history/conn_state and Argus's State\n"
    "(table in src/store/import_tcp.h).\n"
    "\n"
    "Lines that do not parse are counted; the first few are named on stderr with their line\n"
    "number, and the import goes on.\n"
    "\n"
    "Each FILE is stored all or nothing: its records become visible together once all of it\n"
    "is written. When writing fails (disk full), nothing of that file is stored, the files\n"
    "before it stay stored, the import stops, and the message says which file to rerun from.\n"
    "\n"
    "Options:\n"
    "  -f, --format FMT  input format (required)\n"
    "  --store DIR       the flow store (default: [general] data_dir)\n"
    "  --config FILE     configuration file ([store] section)\n"
    "  -q, --quiet       no summary line\n"
    "\n"
    "Exit status: 0 when every file was imported (even with bad lines), 1 when a file could\n"
    "not be read or stored or nothing was imported, 2 usage or configuration error.\n";

struct import_totals {
    uint64_t lines, records, bad;
    uint64_t old_before; /* records starting before this are older than retention */
    uint64_t old;        /* how many */
};

static void count_old(struct import_totals *tot, const struct flow_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tot->old += r[i].start_ms < tot->old_before;
}

static int import_file(const char *path, enum import_format fmt, struct store *s,
                       struct import_totals *tot)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        cli_error("import", "%s: cannot open", path);
        return BS_EXIT_FAIL;
    }
    const char *name = strcmp(path, "-") ? path : "(stdin)";
    struct import_ctx ic;
    import_init(&ic, fmt);
    char *line = malloc(IMPORT_MAX_LINE);
    struct flow_rec *chunk = malloc(IMPORT_CHUNK * sizeof *chunk);
    int rc = 0;
    /* This file's counts, added to tot only when the file is stored (all or nothing). */
    struct import_totals mine = {.old_before = tot->old_before};
    size_t n = 0;
    if (!line || !chunk) {
        rc = BS_ENOMEM;
        goto out;
    }
    if ((rc = store_begin(s)))
        goto out;
    uint64_t lineno = 0, bad = 0;
    while (fgets(line, IMPORT_MAX_LINE, f)) {
        lineno++;
        size_t len = strlen(line);
        int r;
        if (len == IMPORT_MAX_LINE - 1 && line[len - 1] != '\n') {
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            snprintf(ic.err, sizeof ic.err, "line longer than %d bytes", IMPORT_MAX_LINE);
            r = BS_EPARSE;
        } else {
            r = import_line(&ic, line, &chunk[n]);
        }
        if (r < 0) {
            if (++bad <= IMPORT_REPORT_LINES)
                fprintf(stderr, "botscope import: %s:%" PRIu64 ": %s\n", name, lineno, ic.err);
            continue;
        }
        n += (size_t)r;
        if (n + 2 > IMPORT_CHUNK) {
            if ((rc = store_append(s, chunk, n)))
                goto out;
            mine.records += n;
            count_old(&mine, chunk, n);
            n = 0;
        }
    }
    if (n) {
        if ((rc = store_append(s, chunk, n)))
            goto out;
        mine.records += n;
        count_old(&mine, chunk, n);
        n = 0;
    }
    if (ferror(f)) {
        rc = BS_EIO;
        goto out;
    }
    if ((rc = store_commit(s)))
        goto out;
    if (bad > IMPORT_REPORT_LINES)
        fprintf(stderr, "botscope import: %s: %" PRIu64 " bad lines in all\n", name, bad);
    tot->lines += lineno;
    tot->bad += bad;
    tot->records += mine.records;
    tot->old += mine.old;
out:
    if (rc) {
        store_abort(s);
        cli_error("import",
                  "%s: %s: nothing of this file was stored (%" PRIu64 " records read); the "
                  "files before it are stored, so rerun the import with this file and the "
                  "ones after it",
                  name, bs_strerror(rc), mine.records + n);
    }
    free(line);
    free(chunk);
    if (f != stdin)
        fclose(f);
    return rc ? BS_EXIT_FAIL : 0;
}

static int import_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"store", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *cfgpath = NULL, *fmtname = NULL;
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmtname = optarg;
            break;
        case 's':
            dir = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            cli_usage(&cli_cmd_import, stderr);
            return BS_EXIT_USAGE;
        }
    }
    enum import_format fmt;
    if (!fmtname || import_format_parse(fmtname, &fmt)) {
        cli_error("import", "--format: expected nfdump-csv, zeek or binetflow");
        return BS_EXIT_USAGE;
    }
    if (optind >= argc) {
        cli_error("import", "no input FILE (use - for stdin)");
        return BS_EXIT_USAGE;
    }
    struct config cfg;
    int rc = cli_load_config("import", cfgpath, &cfg);
    if (rc)
        return rc;
    cli_set_log_level(&cfg, 0, quiet);
    if (!dir)
        dir = config_str(&cfg, "general", "data_dir");
    char err[256];
    struct store *s;
    if ((rc = store_open(dir, &cfg, STORE_WRITE, &s, err))) {
        cli_error("import", "%s", err);
        config_release(&cfg);
        return rc == BS_EUSAGE ? BS_EXIT_USAGE : BS_EXIT_FAIL;
    }
    struct import_totals tot = {0};
    int64_t retention = config_duration_ms(&cfg, "store", "retention");
    uint64_t now = clock_wall_ms();
    if (retention > 0 && (uint64_t)retention < now)
        tot.old_before = now - (uint64_t)retention;
    int exit_code = BS_EXIT_OK;
    for (int i = optind; i < argc && exit_code == BS_EXIT_OK; i++)
        exit_code = import_file(argv[i], fmt, s, &tot);
    if ((rc = store_close(s))) {
        cli_error("import", "%s: flush failed: %s", dir, bs_strerror(rc));
        exit_code = BS_EXIT_FAIL;
    }
    if (!quiet)
        fprintf(stderr,
                "botscope import: %" PRIu64 " records from %" PRIu64 " lines (%" PRIu64 " bad)\n",
                tot.records, tot.lines, tot.bad);
    if (!quiet && tot.old) {
        char until[40];
        fprintf(stderr,
                "botscope import: note: %" PRIu64 " records are older than [store] retention; "
                "they are kept until at least %s (retention counts from when data was "
                "written too); set retention = 0 to keep them for good\n",
                tot.old, clock_format_utc(now + (uint64_t)retention, until, sizeof until));
    }
    if (exit_code == BS_EXIT_OK && tot.records == 0) {
        cli_error("import", "nothing imported");
        exit_code = BS_EXIT_FAIL;
    }
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_import = {
    .name = "import",
    .summary = "import nfdump CSV, Zeek conn.log or Argus binetflow files into a store",
    .usage = import_usage,
    .run = import_run,
};
