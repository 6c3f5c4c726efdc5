/* cmd_collect.c - `botscope collect`: NetFlow v5/v9, IPFIX and sFlow v5 collection, from
 * captures (--read) or live UDP sockets (--listen), into NDJSON or the flow store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "collect/allow.h"
#include "collect/collector.h"
#include "collect/decoder.h"
#include "collect/offline.h"
#include "collect/out.h"
#include "collect/stats.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "proto/flowdec.h"
#include "store/store.h"

#define CMD "collect"

static const char collect_usage[] =
    "NAME\n"
    "    botscope collect - collect NetFlow v5/v9, IPFIX and sFlow v5 flow records\n"
    "\n"
    "SYNOPSIS\n"
    "    botscope collect --read FILE... (--output ndjson | --store DIR) [OPTIONS]\n"
    "    botscope collect --listen ADDR:PORT... (--store DIR | --output ndjson) [OPTIONS]\n"
    "    botscope collect (--store DIR | --output ndjson) [OPTIONS]   (listen on collect.listen)\n"
    "\n"
    "DESCRIPTION\n"
    "    Decodes flow-export datagrams and writes one flow record per line (NDJSON) or into\n"
    "    the embedded flow store. The protocol is recognised from each datagram (NetFlow v5,\n"
    "    v9, IPFIX, sFlow v5), whatever the UDP port. The exporter is the datagram's source\n"
    "    address; template, sampler and sequence state is kept per exporter address (and\n"
    "    inside it per version and observation domain / source ID).\n"
    "\n"
    "    Offline (--read): reads pcap or pcapng captures, gzip-compressed or not, '-' for\n"
    "    stdin, in the order given, with template state carried from one file to the next\n"
    "    (give template captures before data captures). IPv4 and IPv6 UDP datagrams are\n"
    "    taken from any link type libpcap reads (Ethernet, VLAN, MPLS, Linux SLL, raw IP);\n"
    "    IP fragments are reassembled (at most 64 datagrams pending, 64 KiB each, 30 s of\n"
    "    capture time). UDP datagrams that do not start like an export datagram are skipped\n"
    "    and counted as not_flow, unless they go to a flow port (2055, 2056, 4739, 6343,\n"
    "    9995, 9996) or come from an address that already sent flows: then they count as\n"
    "    that exporter's decode errors. At the end one summary line per exporter goes to\n"
    "    stderr: datagrams by version, flows, options records, templates, decode errors by\n"
    "    kind, no-template drops, sequence gaps and the flows they lost.\n"
    "\n"
    "    Live (--listen, or collect.listen): receives UDP on every listen address, IPv4 and\n"
    "    IPv6, with --threads SO_REUSEPORT sockets (one receive thread each) per address,\n"
    "    recvmmsg() batches, and the largest receive buffer allowed (SO_RCVBUFFORCE when\n"
    "    permitted, else SO_RCVBUF; the effective size is logged). Datagrams are copied into\n"
    "    bounded rings and decoded by --decode-threads threads (an exporter always goes to\n"
    "    the same one). A full ring drops and counts (queue drops); the kernel's own drops\n"
    "    are read from SO_RXQ_OVFL. Exporters outside collect.allow are dropped and counted.\n"
    "    Templates and samplers are saved to the state file every collect.state_interval and\n"
    "    on stop, and loaded on start, so data arriving right after a restart decodes. The\n"
    "    store is flushed every store.flush_interval and on stop.\n"
    "\n"
    "OPTIONS\n"
    "    -r, --read FILE...      Offline mode: captures to read (repeatable; further\n"
    "                            non-option arguments are more files).\n"
    "    -o, --output ndjson     Write records to stdout, one JSON object per line, with\n"
    "                            the keys exporter, version (5, 9, 10 or \"sflow5\"),\n"
    "                            obs_domain, src_addr, dst_addr, src_port, dst_port, proto,\n"
    "                            tcp_flags, packets, bytes (as exported, not scaled),\n"
    "                            sampling_rate (1 when unsampled or unknown), start_ms,\n"
    "                            end_ms, in_if, out_if, and when present src_as, dst_as,\n"
    "                            next_hop, vlan, tos, src_mask, dst_mask, direction.\n"
    "    -s, --store DIR         Write records into the embedded flow store at DIR\n"
    "                            (created if needed), exactly as the live collector does.\n"
    "    -l, --listen ADDR:PORT  Live mode: UDP address to receive on, e.g. 0.0.0.0:2055,\n"
    "                            [::]:4739, 127.0.0.1:6343 (repeatable; replaces\n"
    "                            collect.listen, default 0.0.0.0:2055 [::]:4739 0.0.0.0:6343).\n"
    "                            An IPv6 wildcard also receives IPv4 unless the same port is\n"
    "                            listed with an IPv4 address.\n"
    "        --threads N         Receive threads (sockets) per listen address\n"
    "                            (collect.threads, default 2; 1..64).\n"
    "        --decode-threads N  Decode threads (collect.decode_threads, default 1; 1..64).\n"
    "        --batch N           Datagrams per recvmmsg() (collect.batch, default 64).\n"
    "        --rcvbuf SIZE       Socket receive buffer, e.g. 32M (collect.rcvbuf, default 32M).\n"
    "        --queue N           Ring capacity in 2 KiB slots, all rings together\n"
    "                            (collect.queue_datagrams, default 65536 = 128 MiB).\n"
    "        --allow PREFIX      Accept only exporters in PREFIX (repeatable; replaces\n"
    "                            collect.allow; default: all).\n"
    "        --state-file FILE   Template/sampler state file (collect.state_file; default\n"
    "                            DIR/collector.state with --store DIR, else\n"
    "                            DATA_DIR/collector.state when general.data_dir exists).\n"
    "        --no-state          Neither load nor save the state file.\n"
    "        --metrics ADDR:PORT Serve Prometheus metrics at http://ADDR:PORT/metrics\n"
    "                            (collect.metrics_listen; default off).\n"
    "        --stats-interval D  Log statistics at info level every D, e.g. 10s\n"
    "                            (collect.stats_interval, default 60s; 0 off).\n"
    "        --flush-interval D  Flush the store every D (store.flush_interval, default 60s).\n"
    "        --max-time-skew D   Refuse flows that start more than D before or end more than D\n"
    "                            after their receive time (offline: the capture's packet\n"
    "                            time), counted per exporter as decode errors of kind skew\n"
    "                            (collect.max_time_skew, default 1d; 0 off, e.g. to replay\n"
    "                            old captures live).\n"
    "    -q, --quiet             Offline: no per-exporter summary on stderr; only errors.\n"
    "    -v, --verbose           More log output (repeat for debug).\n"
    "        --config FILE       Configuration file (see botscope config --defaults).\n"
    "    -h, --help              This text.\n"
    "\n"
    "EXAMPLES\n"
    "    botscope collect --read tpl.pcap data.pcap.gz --output ndjson > flows.ndjson\n"
    "    tcpdump -w - udp port 2055 | botscope collect --read - --output ndjson\n"
    "    botscope collect --read day.pcap --store /var/lib/botscope/flows\n"
    "    botscope collect --listen 0.0.0.0:2055 --listen [::]:4739 --store /srv/flows \\\n"
    "        --metrics 127.0.0.1:9469 -v\n"
    "\n"
    "EXIT STATUS\n"
    "    0  Done. Undecodable datagrams do not change the status: they are counted per\n"
    "       exporter and summarised on stderr. Live mode: stopped by SIGTERM or SIGINT.\n"
    "    1  Runtime failure: a capture could not be opened or read (named on stderr; the\n"
    "       other files are still processed), the store could not be opened or written, a\n"
    "       socket could not be bound.\n"
    "    2  Usage or configuration error (bad option, address, prefix or config file).\n"
    "\n"
    "SIGNALS\n"
    "    SIGTERM, SIGINT  Live mode stops gracefully: receiving stops after what is queued in\n"
    "                     the sockets is read, everything received is decoded, the store is\n"
    "                     flushed, the state file is saved, and the exit status is 0.\n"
    "\n"
    "FILES\n"
    "    DIR/collector.state   Templates and samplers per exporter (see --state-file).\n"
    "    DIR/                  The embedded store's segments (see botscope store).\n";

enum {
    OPT_THREADS = 256,
    OPT_DECODE_THREADS,
    OPT_BATCH,
    OPT_RCVBUF,
    OPT_QUEUE,
    OPT_ALLOW,
    OPT_STATE_FILE,
    OPT_NO_STATE,
    OPT_METRICS,
    OPT_STATS_INTERVAL,
    OPT_FLUSH_INTERVAL,
    OPT_MAX_SKEW,
    OPT_CONFIG,
};

#define MAX_ARGS 1024

struct collect_args {
    const char *reads[MAX_ARGS];
    size_t nreads;
    const char *listen[COLLECT_MAX_LISTEN];
    size_t nlisten;
    const char *allow[ALLOW_MAX];
    size_t nallow;
    const char *output;
    const char *store;
    const char *state_file;
    bool no_state;
    int verbose, quiet;
};

static int set_opt(struct config *cfg, const char *section, const char *key, const char *val)
{
    struct cfg_error err;
    if (config_set(cfg, section, key, val, &err)) {
        cli_error(CMD, "%s", err.msg);
        return BS_EXIT_USAGE;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct config *cfg, struct collect_args *a)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"store", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"decode-threads", required_argument, NULL, OPT_DECODE_THREADS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"state-file", required_argument, NULL, OPT_STATE_FILE},
        {"no-state", no_argument, NULL, OPT_NO_STATE},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
        {"flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL},
        {"max-time-skew", required_argument, NULL, OPT_MAX_SKEW},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:o:s:l:qvh", opts, NULL)) != -1) {
        rc = 0;
        switch (c) {
        case 'r':
            if (a->nreads == MAX_ARGS) {
                cli_error(CMD, "more than %d files", MAX_ARGS);
                return BS_EXIT_USAGE;
            }
            a->reads[a->nreads++] = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 's':
            a->store = optarg;
            break;
        case 'l':
            if (a->nlisten == COLLECT_MAX_LISTEN) {
                cli_error(CMD, "more than %u --listen addresses", COLLECT_MAX_LISTEN);
                return BS_EXIT_USAGE;
            }
            a->listen[a->nlisten++] = optarg;
            break;
        case OPT_THREADS:
            rc = set_opt(cfg, "collect", "threads", optarg);
            break;
        case OPT_DECODE_THREADS:
            rc = set_opt(cfg, "collect", "decode_threads", optarg);
            break;
        case OPT_BATCH:
            rc = set_opt(cfg, "collect", "batch", optarg);
            break;
        case OPT_RCVBUF:
            rc = set_opt(cfg, "collect", "rcvbuf", optarg);
            break;
        case OPT_QUEUE:
            rc = set_opt(cfg, "collect", "queue_datagrams", optarg);
            break;
        case OPT_ALLOW:
            if (a->nallow == ALLOW_MAX) {
                cli_error(CMD, "more than %u --allow prefixes", ALLOW_MAX);
                return BS_EXIT_USAGE;
            }
            a->allow[a->nallow++] = optarg;
            break;
        case OPT_STATE_FILE:
            a->state_file = optarg;
            break;
        case OPT_NO_STATE:
            a->no_state = true;
            break;
        case OPT_METRICS:
            rc = set_opt(cfg, "collect", "metrics_listen", optarg);
            break;
        case OPT_STATS_INTERVAL:
            rc = set_opt(cfg, "collect", "stats_interval", optarg);
            break;
        case OPT_FLUSH_INTERVAL:
            rc = set_opt(cfg, "store", "flush_interval", optarg);
            break;
        case OPT_MAX_SKEW:
            rc = set_opt(cfg, "collect", "max_time_skew", optarg);
            break;
        case 'q':
            a->quiet++;
            break;
        case 'v':
            a->verbose++;
            break;
        case OPT_CONFIG:
            break; /* loaded before parsing (cli_find_config) */
        case 'h':
            cli_usage(&cli_cmd_collect, stdout);
            return -1;
        default:
            fprintf(stderr, "usage: botscope collect --read FILE... (--output ndjson | --store "
                            "DIR)\n       botscope collect --listen ADDR:PORT... (--store DIR | "
                            "--output ndjson)\n(see botscope collect --help)\n");
            return BS_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    for (int i = optind; i < argc; i++) {
        if (a->nreads == 0) {
            cli_error(CMD, "unexpected argument '%s' (files are read with --read)", argv[i]);
            return BS_EXIT_USAGE;
        }
        if (a->nreads == MAX_ARGS) {
            cli_error(CMD, "more than %d files", MAX_ARGS);
            return BS_EXIT_USAGE;
        }
        a->reads[a->nreads++] = argv[i];
    }
    if (a->output && strcmp(a->output, "ndjson") != 0) {
        cli_error(CMD, "--output: unknown format '%s' (ndjson is the one format)", a->output);
        return BS_EXIT_USAGE;
    }
    if (a->output && a->store) {
        cli_error(CMD, "--output and --store exclude each other");
        return BS_EXIT_USAGE;
    }
    if (!a->output && !a->store) {
        cli_error(CMD, "say where records go: --output ndjson or --store DIR");
        return BS_EXIT_USAGE;
    }
    if (a->nreads && a->nlisten) {
        cli_error(CMD, "--read and --listen exclude each other");
        return BS_EXIT_USAGE;
    }
    return 0;
}

/* Reads an integer config key and checks its range; prints the error. */
static int int_key(const struct config *cfg, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v = config_int(cfg, "collect", key);
    if (v < lo || v > hi) {
        cli_error(CMD, "[collect] %s: %" PRId64 " is out of range %" PRId64 "..%" PRId64, key, v,
                  lo, hi);
        return BS_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

static int open_output(const struct collect_args *a, const struct config *cfg,
                       struct collect_out *out, struct store **store)
{
    *store = NULL;
    if (a->store) {
        char eb[256] = "";
        int rc = store_open(a->store, cfg, STORE_WRITE, store, eb);
        if (rc) {
            cli_error(CMD, "cannot open store %s: %s", a->store, *eb ? eb : bs_strerror(rc));
            return BS_EXIT_FAIL;
        }
        collect_out_init(out, COLLECT_OUT_STORE, NULL, *store);
        return 0;
    }
    collect_out_init(out, COLLECT_OUT_NDJSON, stdout, NULL);
    /* Live NDJSON is for watching: each batch is flushed as it is written. */
    out->flush_each = a->nreads == 0;
    return 0;
}

static int close_output(struct collect_out *out, struct store *store)
{
    int rc = collect_out_flush(out);
    if (store) {
        int crc = store_close(store);
        if (!rc)
            rc = crc;
    }
    int werr = atomic_load(&out->err);
    if (!rc && werr)
        rc = werr;
    if (rc)
        cli_error(CMD, "writing records failed: %s (%" PRIu64 " records lost)", bs_strerror(rc),
                  atomic_load(&out->lost));
    collect_out_release(out);
    return rc ? BS_EXIT_FAIL : 0;
}

static int run_offline(const struct collect_args *a, const struct config *cfg)
{
    struct flowdec_config fcfg;
    flowdec_config_from(cfg, &fcfg);
    int64_t max_ex;
    int rc = int_key(cfg, "max_exporters", 0, INT32_MAX, &max_ex);
    if (rc)
        return rc;
    struct collect_out out;
    struct store *store;
    if ((rc = open_output(a, cfg, &out, &store)))
        return rc;
    struct decoder *d = malloc(sizeof *d);
    if (!d || decoder_init(d, &out, (size_t)max_ex, &fcfg, 0x62736377u)) {
        free(d);
        cli_error(CMD, "out of memory");
        close_output(&out, store);
        return BS_EXIT_FAIL;
    }
    struct offline off;
    offline_init(&off, d);
    int failed = 0;
    for (size_t i = 0; i < a->nreads; i++) {
        char eb[600];
        uint64_t before = off.st.frames, not_stored = off.st.files_not_stored;
        if (offline_file(&off, a->reads[i], eb, sizeof eb)) {
            /* a file damaged after some frames still counts as read (a capture cut short by
             * a killed tcpdump is common); one that gave nothing is a failure, and so is one
             * that was read but could not be stored (nothing of it was). */
            if (off.st.files_not_stored > not_stored) {
                cli_error(CMD, "%s", eb); /* says what was not stored and why */
                failed = 1;
            } else if (off.st.frames == before) {
                cli_error(CMD, "cannot read %s", eb);
                failed = 1;
            } else {
                cli_error(CMD, "warning: %s (frames before the damage were used)", eb);
            }
        }
    }
    decoder_flush(d);
    int orc = close_output(&out, store);
    if (!a->quiet) {
        size_t n = decoder_snapshot(d, NULL, 0);
        struct exporter_snap *s = calloc(n ? n : 1, sizeof *s);
        struct buf b = BUF_INIT(1u << 26);
        if (s) {
            n = decoder_snapshot(d, s, n);
            for (size_t i = 0; i < n; i++)
                stats_exporter_line(&s[i], &b);
        }
        buf_printf(&b,
                   "total: files %" PRIu64 ", frames %" PRIu64 ", export datagrams %" PRIu64
                   ", undecodable %" PRIu64 ", records %" PRIu64 ", not_flow %" PRIu64,
                   off.st.files, off.st.frames, off.st.datagrams, off.st.undecodable,
                   atomic_load(&out.records), off.st.not_flow);
        for (int k = 1; k < DGRAM_KINDS; k++)
            if (off.st.kinds[k])
                buf_printf(&b, ", %s %" PRIu64, dgram_kind_name((enum dgram_kind)k),
                           off.st.kinds[k]);
        if (off.ft.st.completed)
            buf_printf(&b, ", reassembled %" PRIu64, off.ft.st.completed);
        if (off.st.files_truncated)
            buf_printf(&b, ", files_truncated %" PRIu64, off.st.files_truncated);
        if (off.st.files_not_stored)
            buf_printf(&b, ", files_not_stored %" PRIu64 ", records_not_stored %" PRIu64,
                       off.st.files_not_stored, off.st.records_not_stored);
        if (d->exporter_limit)
            buf_printf(&b, ", exporter_limit %" PRIu64, d->exporter_limit);
        buf_putc(&b, '\n');
        fputs(b.data ? b.data : "", stderr);
        buf_release(&b);
        free(s);
    }
    offline_release(&off);
    decoder_release(d);
    free(d);
    if (orc)
        return orc;
    if (off.st.files == 0) {
        cli_error(CMD, "nothing could be read");
        return BS_EXIT_FAIL;
    }
    return failed ? BS_EXIT_FAIL : BS_EXIT_OK;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int run_live(struct collect_args *a, const struct config *cfg)
{
    struct collect_live_opts o;
    memset(&o, 0, sizeof o);
    const char *cfg_listen[COLLECT_MAX_LISTEN];
    if (a->nlisten) {
        o.listen = a->listen;
        o.nlisten = a->nlisten;
    } else {
        o.nlisten = config_list(cfg, "collect", "listen", cfg_listen, COLLECT_MAX_LISTEN);
        o.listen = cfg_listen;
        if (o.nlisten > COLLECT_MAX_LISTEN) {
            cli_error(CMD, "[collect] listen: more than %u addresses", COLLECT_MAX_LISTEN);
            return BS_EXIT_USAGE;
        }
    }
    if (o.nlisten == 0) {
        cli_error(CMD, "nothing to listen on: give --listen ADDR:PORT or [collect] listen");
        return BS_EXIT_USAGE;
    }
    int64_t v;
    int rc;
    if ((rc = int_key(cfg, "threads", 1, COLLECT_MAX_THREADS, &v)))
        return rc;
    o.threads = (unsigned)v;
    if ((rc = int_key(cfg, "decode_threads", 1, COLLECT_MAX_THREADS, &v)))
        return rc;
    o.decode_threads = (unsigned)v;
    if ((rc = int_key(cfg, "batch", 1, COLLECT_MAX_BATCH, &v)))
        return rc;
    o.batch = (unsigned)v;
    if ((rc = int_key(cfg, "queue_datagrams", 64, 1 << 24, &v)))
        return rc;
    o.queue_datagrams = (size_t)v;
    if ((rc = int_key(cfg, "max_exporters", 0, INT32_MAX, &v)))
        return rc;
    o.max_exporters = (size_t)v;
    int64_t rb = config_size(cfg, "collect", "rcvbuf");
    o.rcvbuf = rb > INT32_MAX / 2 ? INT32_MAX / 2 : (int)rb;
    flowdec_config_from(cfg, &o.fcfg);
    o.stats_interval_ms = (uint64_t)config_duration_ms(cfg, "collect", "stats_interval");
    o.flush_interval_ms = (uint64_t)config_duration_ms(cfg, "store", "flush_interval");
    o.state_interval_ms = (uint64_t)config_duration_ms(cfg, "collect", "state_interval");
    o.metrics_listen = config_str(cfg, "collect", "metrics_listen");

    const char *cfg_allow[ALLOW_MAX];
    const char *const *allow_items = a->allow;
    size_t nallow = a->nallow;
    if (!nallow) {
        nallow = config_list(cfg, "collect", "allow", cfg_allow, ALLOW_MAX);
        allow_items = cfg_allow;
    }
    struct allow_list allow;
    char eb[512];
    if (allow_list_parse(&allow, allow_items, nallow, eb, sizeof eb)) {
        cli_error(CMD, "%s: %s", a->nallow ? "--allow" : "[collect] allow", eb);
        return BS_EXIT_USAGE;
    }
    o.allow = &allow;

    char state_path[4096];
    o.state_file = NULL;
    if (!a->no_state) {
        const char *sf = a->state_file ? a->state_file : config_str(cfg, "collect", "state_file");
        if (sf && *sf) {
            o.state_file = sf;
        } else if (a->store) {
            /* DIR/collector.state, set once the store has created DIR (below) */
        } else {
            const char *dd = config_str(cfg, "general", "data_dir");
            if (dd && is_dir(dd)) {
                snprintf(state_path, sizeof state_path, "%s/collector.state", dd);
                o.state_file = state_path;
            } else {
                log_info(CMD, "no state file: general.data_dir %s does not exist", dd ? dd : "");
            }
        }
    }

    struct collect_out out;
    struct store *store;
    if ((rc = open_output(a, cfg, &out, &store))) {
        allow_list_release(&allow);
        return rc;
    }
    /* With --store the directory exists now; place the default state file there. */
    if (!a->no_state && !o.state_file && a->store && is_dir(a->store)) {
        snprintf(state_path, sizeof state_path, "%s/collector.state", a->store);
        o.state_file = state_path;
    }
    o.out = &out;
    rc = collector_run(&o, eb, sizeof eb);
    int orc = close_output(&out, store);
    allow_list_release(&allow);
    if (rc) {
        cli_error(CMD, "%s", eb);
        return rc == BS_EPARSE ? BS_EXIT_USAGE : BS_EXIT_FAIL;
    }
    return orc;
}

static int collect_run(int argc, char **argv)
{
    struct config cfg;
    int rc = cli_load_config(CMD, cli_find_config(argc, argv), &cfg);
    if (rc)
        return rc;
    struct collect_args a;
    memset(&a, 0, sizeof a);
    rc = parse_args(argc, argv, &cfg, &a);
    if (rc) {
        config_release(&cfg);
        return rc < 0 ? BS_EXIT_OK : rc;
    }
    cli_set_log_level(&cfg, a.verbose, a.quiet);
    rc = a.nreads ? run_offline(&a, &cfg) : run_live(&a, &cfg);
    config_release(&cfg);
    return rc;
}

const struct cli_cmd cli_cmd_collect = {
    .name = "collect",
    .summary = "collect NetFlow v5/v9, IPFIX and sFlow flows (captures or live UDP)",
    .usage = collect_usage,
    .run = collect_run,
};
