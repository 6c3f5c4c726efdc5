/* cmd_intel.c - `botscope intel import|list|lookup`: public threat intelligence in the state
 * database (src/detect/intel.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/jw.h"
#include "detect/dtext.h"
#include "detect/intel.h"
#include "store/statedb.h"

static const char intel_usage[] =
    "usage: botscope intel import --format FMT FILE|- --store DIR [--source NAME]\n"
    "                             [--first-seen TIME]\n"
    "       botscope intel list   --store DIR [--source NAME] [--addr ADDR] [-o table|ndjson]\n"
    "       botscope intel lookup --store DIR ADDR[:PORT]|[ADDR6]:PORT [--detected TIME]\n"
    "\n"
    "Keeps public C&C indicators in the state database (records of kind intel, key\n"
    "\"source|indicator\"), with the time each was first listed, so that `botscope detect` can\n"
    "say for every candidate whether and when it was listed publicly and its lead time.\n"
    "\n"
    "import  reads FILE whole, checks every line, then stores all indicators in one\n"
    "        transaction: a malformed file stores nothing. Importing the same file again\n"
    "        changes nothing (records are keyed by source and indicator and keep the earliest\n"
    "        first-seen time). Rows naming no address (domains, URLs, hashes) are skipped and\n"
    "        counted.\n"
    "list    prints the stored indicators (one NDJSON object a line with -o ndjson).\n"
    "lookup  prints the intel object detect attaches to a candidate on ADDR (and PORT):\n"
    "        listed, source, first_listed_ms, lead_ms (first listing minus --detected, default\n"
    "        now: positive when found before the public listing), endpoint, indicator, malware.\n"
    "\n"
    "Formats (--format):\n"
    "  threatfox-csv   ThreatFox CSV export: first_seen_utc, ioc_id, ioc_value (ip:port),\n"
    "                  ioc_type, threat_type, fk_malware, malware_alias, malware_printable,\n"
    "                  last_seen_utc, confidence_level, reference, tags, anonymous, reporter;\n"
    "                  quoted fields, '#' comment lines (a commented header is used)\n"
    "  threatfox-json  ThreatFox JSON export: an object keyed by IOC id, each an array of\n"
    "                  objects with ioc_value, ioc_type, threat_type, malware_printable,\n"
    "                  first_seen_utc, last_seen_utc, confidence_level, reference\n"
    "  feodo-csv       Feodo Tracker CSV: first_seen_utc, dst_ip, dst_port, c2_status,\n"
    "                  last_online, malware; '#' comment lines\n"
    "  list            one address or address:port a line, '#' comments; first listed at\n"
    "                  --first-seen (default now)\n"
    "\n"
    "Options:\n"
    "  --store DIR, --data DIR  the data directory whose state database holds the records\n"
    "  --format FMT             the input format (import)\n"
    "  --source NAME            record source name (import: default threatfox, feodo or list;\n"
    "                           list: only this source)\n"
    "  --first-seen TIME        first-listed time of a plain list (YYYY-MM-DD[ HH:MM[:SS]] or ms)\n"
    "  --addr ADDR              list: only this address\n"
    "  --detected TIME          lookup: the detection time lead_ms is counted from\n"
    "  -o, --output FMT         list: table (default) or ndjson\n"
    "  --config FILE            configuration file\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error or malformed intel file (the message\n"
    "names the file and line).\n";

/* Reads f whole, up to max bytes. Returns 0, BS_ELIMIT, BS_ENOMEM or -errno. */
static int read_all(FILE *f, size_t max, char **out, size_t *outlen)
{
    size_t cap = 65536, len = 0;
    char *d = malloc(cap);
    if (!d)
        return BS_ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap >= max) {
                free(d);
                return BS_ELIMIT;
            }
            size_t nc = cap * 2 > max ? max : cap * 2;
            char *n = realloc(d, nc);
            if (!n) {
                free(d);
                return BS_ENOMEM;
            }
            d = n;
            cap = nc;
        }
        size_t got = fread(d + len, 1, cap - len, f);
        len += got;
        if (!got) {
            if (ferror(f)) {
                int e = errno ? -errno : BS_EIO;
                free(d);
                return e;
            }
            break;
        }
    }
    *out = d;
    *outlen = len;
    return 0;
}

static int parse_time_opt(const char *opt, const char *s, uint64_t *ms)
{
    if (!dtext_utc_ms(s, ms) || !clock_parse_utc(s, ms))
        return 0;
    cli_error("intel", "%s: '%s' is not a time (YYYY-MM-DD[ HH:MM[:SS]] or ms)", opt, s);
    return BS_EXIT_USAGE;
}

static int do_import(struct statedb *db, const char *fmtname, const char *path, const char *source,
                     uint64_t first_ms)
{
    int fmt = intel_format_parse(fmtname);
    if (fmt < 0) {
        cli_error("intel",
                  "--format: '%s' is not threatfox-csv, threatfox-json, feodo-csv or "
                  "list",
                  fmtname);
        return BS_EXIT_USAGE;
    }
    int from_stdin = !strcmp(path, "-");
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error("intel", "%s: %s", path, strerror(errno));
        return errno == ENOENT ? BS_EXIT_USAGE : BS_EXIT_FAIL;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = read_all(f, INTEL_MAX_JSON_BYTES, &data, &len);
    if (!from_stdin)
        fclose(f);
    if (rc) {
        cli_error("intel", "%s: %s", path,
                  rc == BS_ELIMIT ? "larger than the intel file cap" : bs_strerror(rc));
        return rc == BS_ELIMIT ? BS_EXIT_USAGE : BS_EXIT_FAIL;
    }
    struct intel_import_stats st;
    struct intel_error err;
    rc = intel_import(db, (enum intel_format)fmt, data, len, source, first_ms, &st, &err);
    free(data);
    if (rc) {
        int usage = rc == BS_EMALFORMED || rc == BS_EPARSE || rc == BS_ELIMIT || rc == BS_EUSAGE;
        if (err.msg[0] && err.line)
            cli_error("intel", "%s: line %lu: %s (nothing imported)", path, err.line, err.msg);
        else if (err.msg[0])
            cli_error("intel", "%s: %s (nothing imported)", path, err.msg);
        else
            cli_error("intel", "%s: %s (nothing imported)", path, bs_strerror(rc));
        return usage ? BS_EXIT_USAGE : BS_EXIT_FAIL;
    }
    printf("%s: %" PRIu64 " indicators stored (%s), %" PRIu64 " without an address skipped, "
           "%" PRIu64 " lines\n",
           path, st.indicators, fmtname, st.skipped, st.lines);
    return BS_EXIT_OK;
}

struct list_ctx {
    const char *source;
    int ndjson;
    uint64_t n;
};

static int list_cb(void *vctx, const struct statedb_rec *r)
{
    struct list_ctx *c = vctx;
    json_t *b = json_loads(r->body ? r->body : "{}", 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        b = json_object();
        if (!b)
            return BS_ENOMEM;
    }
    json_t *src = json_object_get(b, "source");
    if (c->source && !(json_is_string(src) && !strcmp(json_string_value(src), c->source))) {
        json_decref(b);
        return 0;
    }
    c->n++;
    if (c->ndjson) {
        /* The record's address and times join the stored body; members sorted by key. */
        json_object_set_new(b, "addr", json_string(r->addr ? r->addr : ""));
        json_object_set_new(b, "first_ms", json_integer((json_int_t)r->first_ms));
        json_object_set_new(b, "last_ms", json_integer((json_int_t)r->last_ms));
        struct buf line = BUF_INIT(1 << 20);
        struct jw w;
        jw_open(&w, &line);
        cli_json_members(&w, b, true);
        int rc = jw_close(&w);
        if (!rc)
            fwrite(line.data, 1, line.len, stdout);
        buf_release(&line);
        if (rc) {
            json_decref(b);
            return rc;
        }
    } else {
        char f[40], l[40];
        json_t *m = json_object_get(b, "malware"), *ind = json_object_get(b, "indicator");
        clock_format_utc(r->first_ms, f, sizeof f);
        clock_format_utc(r->last_ms, l, sizeof l);
        f[19] = l[19] = '\0';
        printf("%-10s %-28s %s  %s  %s\n", json_is_string(src) ? json_string_value(src) : "-",
               json_is_string(ind) ? json_string_value(ind) : (r->key ? r->key : "-"), f, l,
               json_is_string(m) ? json_string_value(m) : "-");
    }
    json_decref(b);
    return 0;
}

static int intel_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},      {"data", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},     {"source", required_argument, NULL, 'S'},
        {"first-seen", required_argument, NULL, 'F'}, {"addr", required_argument, NULL, 'a'},
        {"detected", required_argument, NULL, 'd'},   {"output", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'c'},     {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *fmt = NULL, *source = NULL, *addr = NULL, *output = "table";
    const char *cfgpath = NULL;
    uint64_t first_ms = clock_wall_ms(), detected_ms = clock_wall_ms();
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'S':
            source = optarg;
            break;
        case 'a':
            addr = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'F':
            if ((rc = parse_time_opt("--first-seen", optarg, &first_ms)))
                return rc;
            break;
        case 'd':
            if ((rc = parse_time_opt("--detected", optarg, &detected_ms)))
                return rc;
            break;
        default:
            cli_usage(&cli_cmd_intel, stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("intel", "expected an action: import, list or lookup");
        return BS_EXIT_USAGE;
    }
    const char *action = argv[optind++];
    int nargs = argc - optind;
    if (!strcmp(action, "import")) {
        if (!fmt || nargs != 1) {
            cli_error("intel", "import needs --format FMT and one FILE (or -)");
            return BS_EXIT_USAGE;
        }
    } else if (!strcmp(action, "list")) {
        if (nargs) {
            cli_error("intel", "list takes no file");
            return BS_EXIT_USAGE;
        }
        if (strcmp(output, "table") && strcmp(output, "ndjson")) {
            cli_error("intel", "--output: '%s' is not table or ndjson", output);
            return BS_EXIT_USAGE;
        }
    } else if (!strcmp(action, "lookup")) {
        if (nargs != 1) {
            cli_error("intel", "lookup needs one ADDR or ADDR:PORT");
            return BS_EXIT_USAGE;
        }
    } else {
        cli_error("intel", "unknown action '%s' (import, list, lookup)", action);
        return BS_EXIT_USAGE;
    }
    struct config cfg;
    if ((rc = cli_load_config("intel", cfgpath, &cfg)))
        return rc;
    cli_set_log_level(&cfg, 0, 0);
    if (!dir)
        dir = config_str(&cfg, "general", "data_dir");
    int exit_code = BS_EXIT_OK;
    struct statedb *db = NULL;
    char err[256];
    if (!strcmp(action, "import") && !strstr(dir, "://") && (rc = fsutil_mkdir_p(dir))) {
        cli_error("intel", "--store %s: %s", dir, bs_strerror(rc));
        exit_code = BS_EXIT_FAIL;
        goto out;
    }
    if ((rc = statedb_open(dir, &db, err))) {
        cli_error("intel", "--store %s: %s", dir, err);
        exit_code = rc == BS_EUSAGE || rc == BS_EUNSUPPORTED ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    if (!strcmp(action, "import")) {
        exit_code = do_import(db, fmt, argv[optind], source, first_ms);
    } else if (!strcmp(action, "list")) {
        struct statedb_rec_query q = {.kind = STATEDB_INTEL, .addr = addr};
        struct list_ctx lc = {.source = source, .ndjson = !strcmp(output, "ndjson")};
        if (!lc.ndjson)
            printf("%-10s %-28s %-19s  %-19s  %s\n", "source", "indicator", "first listed",
                   "last seen", "malware");
        if ((rc = statedb_rec_list(db, &q, list_cb, &lc))) {
            cli_error("intel", "%s", bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
        }
    } else {
        struct ipaddr a;
        uint16_t port;
        if (dtext_addr_port(argv[optind], &a, &port)) {
            cli_error("intel", "lookup: '%s' is not ADDR, ADDR:PORT or [ADDR6]:PORT", argv[optind]);
            exit_code = BS_EXIT_USAGE;
            goto out;
        }
        struct buf b = BUF_INIT(1 << 16);
        if ((rc = intel_annotate(db, &a, port, port ? 6 : 0, detected_ms, &b))) {
            cli_error("intel", "%s", bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
        } else {
            printf("%s\n", b.data);
        }
        buf_release(&b);
    }
out:
    statedb_close(db);
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_intel = {
    .name = "intel",
    .summary = "import public threat intelligence (ThreatFox, Feodo Tracker, lists)",
    .usage = intel_usage,
    .run = intel_cmd,
};
