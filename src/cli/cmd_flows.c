/* cmd_flows.c - `botscope flows`: query the flow store with nfdump-style options. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "query/query.h"
#include "store/store.h"

/* Longest filter text accepted from the command line (joined arguments). */
#define FLOWS_MAX_FILTER 65536
/* Longest filter file accepted with -f (address lists make long filters; longer is refused). */
#define FLOWS_MAX_FILTER_FILE (1 << 20)

static const char flows_usage[] =
    "usage: botscope flows --store DIR [-t START[-END]] [FILTER] [-A KEYS] [-s STAT]\n"
    "                      [-D KEY] [--having EXPR] [-n N] [-o table|csv|ndjson] [--count]\n"
    "                      [--threads N] [-q] [--config FILE]\n"
    "\n"
    "Lists, counts or aggregates the flows of a store, with nfdump's meanings.\n"
    "\n"
    "Options:\n"
    "  --store DIR       the flow store (default: [general] data_dir)\n"
    "  -t START[-END]    time window on flow start, inclusive: "
    "2024/01/02.03:04:05-2024/01/02.04:00:00,\n"
    "                    2024-01-02T03:04:05-2024-01-02T04:00:00, \"2024-01-02 03:04\", or ms "
    "since\n"
    "                    the epoch; END defaults to open-ended\n"
    "  -f FILE           read the filter from FILE (whole; at most 1 MiB of text, no NUL\n"
    "                    bytes; anything else, or a directory, is refused with exit 2)\n"
    "  -A KEYS           aggregate by keys, e.g. -A srcip/24,dstport (rows sorted by flows)\n"
    "  -s STAT           top-N statistic: KEY[,KEY...][/ORDER], ORDER = flows (default), packets,\n"
    "                    bytes, or distinct:KEY; e.g. -s dstport/bytes, -s dstport/distinct:srcip\n"
    "  -D KEY            also count distinct values of KEY per group (column distinct_<key>)\n"
    "  -O ORDER          order of -A rows: flows, packets, bytes, distinct\n"
    "  --having EXPR     keep groups matching EXPR over flows, packets, bytes, distinct,\n"
    "                    e.g. --having 'flows > 10 and distinct >= 3'\n"
    "  -n N              print N rows (default 10 with -s, all otherwise; 0 = all)\n"
    "  -o FMT            table (default), csv or ndjson\n"
    "  --count           print only the summary (matched flows, packets, bytes, time range)\n"
    "  --threads N       scan threads (default [store] scan_threads)\n"
    "  -q, --quiet       no summary after a table\n"
    "  --config FILE     configuration file\n"
    "\n"
    "Keys: srcip, dstip (srcip/24 masks IPv4, srcip/24/64 also IPv6, srcip6/64 IPv6 only),\n"
    "srcport, dstport, proto, exporter, nexthop, in_if, out_if, src_as, dst_as, tos, flags,\n"
    "sampling, vlan, version, or their record names (src_addr, dst_port, next_hop, tcp_flags,\n"
    "sampling_rate, ...). Output names are the record names; a\n"
    "masked address prints as a prefix (192.0.2.0/24). Distinct counts are exact (hash set),\n"
    "capped at 100M (group, value) pairs; groups are capped at 50M.\n"
    "\n"
    "Filter (nfdump/tcpdump style; and binds tighter than or):\n"
    "  proto tcp|udp|icmp|N, tcp, udp, icmp, ipv4, ipv6\n"
    "  [src|dst] host ADDR, [src|dst] ip ADDR, [src|dst] net PREFIX\n"
    "  [src|dst] ip in @FILE, [src|dst] ip in [ADDR PREFIX ...]   (FILE: one a line, # comments)\n"
    "  [src|dst] port [CMP] N, [src|dst] port in [N N ...], [src|dst] as [CMP] N\n"
    "  in if N, out if N, exporter ADDR|PREFIX, flags SA (all of F S R P A U E C; X all)\n"
    "  packets|bytes|duration|pps|bps|bpp|tos|sampling|vlan [CMP] N   (duration in ms; k/m/g)\n"
    "  FIELD [CMP] N for a number field by its record name or key name: src_port, dstport,\n"
    "                src_as, dst_as, in_if, out_if, sampling_rate, ...\n"
    "  CMP: = == != < <= > >= eq ne lt le gt ge; combine with and && or || not ! ( )\n"
    "  Without src/dst a term matches either side. Examples:\n"
    "    botscope flows --store /data 'proto tcp and dst port in [23 2323] and flags S'\n"
    "    botscope flows --store /data -s dstport/distinct:srcip -n 20 'dst net 198.51.100.0/24'\n"
    "\n"
    "Output: plain records with -o ndjson carry the keys of `botscope collect --output ndjson`;\n"
    "aggregated rows carry the keys plus flows, packets, bytes (and distinct_<key>).\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage, configuration or filter error.\n";

/* Reads the filter file whole into *out (NUL-terminated, line breaks and tabs as spaces).
 * Refused, with the reason in why: what cannot be opened or read (a directory), more than
 * FLOWS_MAX_FILTER_FILE bytes, a NUL byte (the text after it would be lost). */
static int read_filter_file(const char *path, char **out, char *why, size_t whylen)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    int rc = 0;
    while (b) {
        if (n == cap) {
            if (cap > FLOWS_MAX_FILTER_FILE) {
                snprintf(why, whylen, "longer than %d bytes", FLOWS_MAX_FILTER_FILE);
                rc = -1;
                break;
            }
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb)
                break;
            b = nb;
            cap *= 2;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f)) {
                snprintf(why, whylen, "%s", strerror(errno ? errno : EIO));
                rc = -1;
            }
            break;
        }
    }
    fclose(f);
    if (!b) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (!rc && n > FLOWS_MAX_FILTER_FILE) {
        snprintf(why, whylen, "longer than %d bytes", FLOWS_MAX_FILTER_FILE);
        rc = -1;
    }
    const char *nul = rc ? NULL : memchr(b, '\0', n);
    if (nul) {
        snprintf(why, whylen, "NUL byte at offset %zu (not a text file?)", (size_t)(nul - b));
        rc = -1;
    }
    if (rc) {
        free(b);
        return rc;
    }
    b[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (b[i] == '\n' || b[i] == '\r' || b[i] == '\t')
            b[i] = ' ';
    *out = b;
    return 0;
}

static void print_caret(const char *what, const char *text, unsigned column)
{
    if (!column)
        return;
    fprintf(stderr, "  %s\n  %*s^\n", text, (int)column - 1, "");
    (void)what;
}

static int flows_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 'S'},
        {"config", required_argument, NULL, 'c'},
        {"having", required_argument, NULL, 'H'},
        {"count", no_argument, NULL, 'C'},
        {"threads", required_argument, NULL, 'T'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    struct query_spec q;
    query_spec_init(&q);
    struct query_error qe;
    memset(&qe, 0, sizeof qe);
    const char *dir = NULL, *cfgpath = NULL, *filter_file = NULL, *agg = NULL, *stat = NULL;
    const char *dkey = NULL, *order = NULL;
    long limit = -1, threads = 0;
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:f:A:s:D:O:n:o:q", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            dir = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 't':
            if (clock_parse_window(optarg, &q.t_lo, &q.t_hi)) {
                cli_error("flows",
                          "-t '%s': expected START[-END] (e.g. "
                          "2024/01/02.03:04:05-2024/01/02.04:00:00)",
                          optarg);
                return BS_EXIT_USAGE;
            }
            break;
        case 'f':
            filter_file = optarg;
            break;
        case 'A':
            agg = optarg;
            break;
        case 's':
            stat = optarg;
            break;
        case 'D':
            dkey = optarg;
            break;
        case 'O':
            order = optarg;
            break;
        case 'H':
            q.having = optarg;
            break;
        case 'C':
            q.count_only = true;
            break;
        case 'q':
            q.summary = false;
            break;
        case 'n':
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 0) {
                cli_error("flows", "-n '%s': expected a count", optarg);
                return BS_EXIT_USAGE;
            }
            break;
        case 'T':
            threads = strtol(optarg, &end, 10);
            if (*end || threads < 1 || threads > STORE_SCAN_MAX_THREADS) {
                cli_error("flows", "--threads '%s': expected 1..%d", optarg,
                          STORE_SCAN_MAX_THREADS);
                return BS_EXIT_USAGE;
            }
            break;
        case 'o':
            if (!strcmp(optarg, "table"))
                q.format = QF_TABLE;
            else if (!strcmp(optarg, "csv"))
                q.format = QF_CSV;
            else if (!strcmp(optarg, "ndjson") || !strcmp(optarg, "json"))
                q.format = QF_NDJSON;
            else {
                cli_error("flows", "-o '%s': expected table, csv or ndjson", optarg);
                return BS_EXIT_USAGE;
            }
            break;
        default:
            cli_usage(&cli_cmd_flows, stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (agg && stat) {
        cli_error("flows", "-A and -s cannot be combined (use -A KEYS -O ORDER)");
        return BS_EXIT_USAGE;
    }
    if (agg && query_parse_keys(agg, q.keys, QUERY_MAX_KEYS, &q.nkeys, &qe)) {
        cli_error("flows", "-A: %s", qe.msg);
        return BS_EXIT_USAGE;
    }
    if (stat && query_parse_stat(stat, &q, &qe)) {
        cli_error("flows", "-s: %s", qe.msg);
        return BS_EXIT_USAGE;
    }
    if (dkey) {
        if (query_parse_key(dkey, &q.distinct, &qe)) {
            cli_error("flows", "-D: %s", qe.msg);
            return BS_EXIT_USAGE;
        }
        q.has_distinct = true;
    }
    if (order) {
        if (!strcmp(order, "flows"))
            q.order = QO_FLOWS;
        else if (!strcmp(order, "packets"))
            q.order = QO_PACKETS;
        else if (!strcmp(order, "bytes"))
            q.order = QO_BYTES;
        else if (!strcmp(order, "distinct"))
            q.order = QO_DISTINCT;
        else {
            cli_error("flows", "-O '%s': expected flows, packets, bytes or distinct", order);
            return BS_EXIT_USAGE;
        }
    }
    if ((q.has_distinct || q.having) && !q.nkeys) {
        cli_error("flows", "-D and --having need -A or -s");
        return BS_EXIT_USAGE;
    }
    if (q.order == QO_DISTINCT && !q.has_distinct) {
        cli_error("flows", "ordering by distinct needs -D KEY (or -s KEY/distinct:KEY)");
        return BS_EXIT_USAGE;
    }
    q.limit = limit >= 0 ? (size_t)limit : stat ? 10 : 0;

    /* The filter: the remaining words, or -f FILE. */
    char *ftext = NULL;
    if (filter_file) {
        if (optind < argc) {
            cli_error("flows", "give the filter either as arguments or with -f, not both");
            return BS_EXIT_USAGE;
        }
        char why[128];
        if (read_filter_file(filter_file, &ftext, why, sizeof why)) {
            cli_error("flows", "-f %s: %s", filter_file, why);
            return BS_EXIT_USAGE;
        }
    } else {
        size_t len = 1;
        for (int i = optind; i < argc; i++)
            len += strlen(argv[i]) + 1;
        if (len > FLOWS_MAX_FILTER) {
            cli_error("flows", "filter longer than %d bytes", FLOWS_MAX_FILTER);
            return BS_EXIT_USAGE;
        }
        ftext = calloc(1, len);
        if (!ftext)
            return BS_EXIT_FAIL;
        size_t off = 0; /* bounded: len counted above */
        for (int i = optind; i < argc; i++) {
            if (i > optind)
                ftext[off++] = ' ';
            size_t l = strlen(argv[i]);
            memcpy(ftext + off, argv[i], l);
            off += l;
        }
        ftext[off] = '\0';
    }
    q.filter = ftext;

    struct config cfg;
    int rc = cli_load_config("flows", cfgpath, &cfg);
    if (rc) {
        free(ftext);
        return rc;
    }
    cli_set_log_level(&cfg, 0, 0);
    if (!dir)
        dir = config_str(&cfg, "general", "data_dir");
    q.threads = threads ? (unsigned)threads : (unsigned)config_int(&cfg, "store", "scan_threads");
    int exit_code = BS_EXIT_OK;
    char err[256];
    struct store *s = NULL;
    if ((rc = store_open(dir, &cfg, STORE_RDONLY, &s, err))) {
        cli_error("flows", "%s", err);
        exit_code = rc == BS_EUSAGE ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    struct query_stats st;
    rc = query_run(s, &q, &st, &qe);
    fflush(stdout);
    if (rc) {
        if (qe.in_filter) {
            cli_error("flows", "filter: %s%s%u", qe.msg, qe.column ? " at column " : "", qe.column);
            print_caret("filter", ftext, qe.column);
            exit_code = BS_EXIT_USAGE;
        } else if (qe.in_having) {
            cli_error("flows", "--having: %s at column %u", qe.msg, qe.column);
            print_caret("having", q.having, qe.column);
            exit_code = BS_EXIT_USAGE;
        } else {
            cli_error("flows", "%s", qe.msg[0] ? qe.msg : bs_strerror(rc));
            exit_code = rc == BS_EUSAGE ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        }
    } else {
        if (st.scan.blocks_corrupt)
            cli_error("flows", "%llu corrupt blocks skipped (see the warnings above)",
                      (unsigned long long)st.scan.blocks_corrupt);
        if (st.scan.segments_damaged)
            cli_error("flows",
                      "%llu damaged segments: %llu records missing from this answer (see the "
                      "warnings above; `botscope store check` lists all damage)",
                      (unsigned long long)st.scan.segments_damaged,
                      (unsigned long long)st.scan.records_missing);
    }
out:
    if (s)
        store_close(s);
    config_release(&cfg);
    free(ftext);
    return exit_code;
}

const struct cli_cmd cli_cmd_flows = {
    .name = "flows",
    .summary = "query the flow store (filter, aggregate, top N; nfdump style)",
    .usage = flows_usage,
    .run = flows_run,
};
