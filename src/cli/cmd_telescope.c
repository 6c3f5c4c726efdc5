/* cmd_telescope.c - `botscope telescope`: the darknet telescope, offline (--read) or live
 * (--interface), writing intervals, source profiles, DDoS victims and provenance into a
 * directory; also writes synthetic darknet captures (--synth) for tests and benchmarks. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/tel_inputs.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/jw.h"
#include "core/log.h"
#include "telescope/tel_engine.h"
#include "telescope/tel_live.h"
#include "telescope/tel_out.h"
#include "telescope/tel_state.h"
#include "telescope/tel_synth.h"

#define CMD "telescope"

static const char telescope_usage[] =
    "NAME\n"
    "    botscope telescope - darknet telescope: scans, backscatter, infected IoT sources\n"
    "\n"
    "SYNOPSIS\n"
    "    botscope telescope --read FILE|DIR... --darknet PREFIX[,PREFIX...] --out DIR [OPTIONS]\n"
    "    botscope telescope --interface IF --darknet PREFIX[,...] --out DIR [OPTIONS]\n"
    "    botscope telescope --synth FILE --darknet PREFIX [--scenario golden|bench]\n"
    "                       [--packets N] [--sources N] [--zipf] [--seed N] [--start-ms MS]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads captures of traffic to a darknet (unused address space): pcap, pcapng, their\n"
    "    .gz forms, '-' for stdin; a directory reads its *.pcap, *.pcapng, *.cap (and .gz)\n"
    "    files in time order (first packet's timestamp, then file name). Packets whose\n"
    "    destination is outside the darknet prefixes are counted, not analysed.\n"
    "\n"
    "    Every darknet packet gets tags: tcp_scan (SYN without ACK), udp_probe, icmp_scan\n"
    "    (echo and other requests), backscatter (SYN-ACK, RST, RST-ACK, ICMP replies and\n"
    "    errors; victim = the packet's source, or for ICMP errors the quoted packet's\n"
    "    destination when the quoted source is in the darknet), fragment, bogon (source in\n"
    "    the special-purpose list: 0/8 10/8 100.64/10 127/8 169.254/16 172.16/12 192.0.0/24\n"
    "    192.0.2/24 192.168/16 198.18/15 198.51.100/24 203.0.113/24 224/4 240/4, ::/128 ::1\n"
    "    100::/64 2001:db8::/32 3fff::/20 fc00::/7 fe80::/10 ff00::/8; --bogons replaces it),\n"
    "    abnormal_flags (SYN+FIN, null, Xmas, FIN-only), misconfig (UDP from DNS/NTP/\n"
    "    NetBIOS/SNMP/SSDP/mDNS/LLMNR answer ports, BitTorrent ports 6881-6889 or DHT\n"
    "    payloads), research (source in --research-scanners), other.\n"
    "    Fingerprints of SYN scans: mirai (seq == destination address), masscan (IP ID ==\n"
    "    (dst ^ dport ^ seq) & 0xffff), zmap (IP ID 54321), nmap (window 1024/2048/3072/4096,\n"
    "    only option MSS 1460, ack 0), unicornscan (seq ^ dst ^ ports constant per scan).\n"
    "\n"
    "OUTPUT (in --out DIR; keys snake_case, times ms since the epoch, addresses as text)\n"
    "    intervals.ndjson   one line per interval (default 60 s), empty intervals included:\n"
    "                       resolution_s start_ms end_ms packets bytes unique_sources\n"
    "                       unique_destinations non_darknet_packets non_darknet_bytes\n"
    "                       undecoded_packets late_packets [capture_received\n"
    "                       capture_dropped capture_if_dropped: live only, libpcap's\n"
    "                       counters over the interval] dropped_source_packets\n"
    "                       research_packets research_share tags{NAME:packets}\n"
    "                       fingerprints{NAME:packets} tag_details[] protocols[]\n"
    "                       icmp_types[] icmp6_types[] (packets [bytes] sources\n"
    "                       destinations per tag, protocol, ICMP type)\n"
    "                       tcp_ports[] udp_ports[] (top N by packets: port packets bytes\n"
    "                       sources destinations) other_ports_packets top_ports_by_sources[]\n"
    "                       asns[] countries[] (top N: packets bytes sources destinations;\n"
    "                       with --pfx2as / --geo). Unique counts are estimates (~13 %;\n"
    "                       unique_sources/_destinations ~1.6 %).\n"
    "    intervals_5m.ndjson, intervals_1h.ndjson, intervals_1d.ndjson\n"
    "                       roll-ups with the same keys (resolution_s 300, 3600, 86400)\n"
    "    sources.ndjson     one line per source per UTC day: day_ms src packets bytes\n"
    "                       first_ms last_ms rate_pps destinations ports port_count\n"
    "                       scan_class (horizontal|vertical|strobe|light) tags fingerprints\n"
    "                       fingerprint_votes syn_packets iot_packets asn cc bogon research\n"
    "                       infected_iot\n"
    "    victims.ndjson     one line per backscatter attack meeting the thresholds: victim\n"
    "                       packets bytes first_ms last_ms duration_ms ports tcp_packets\n"
    "                       icmp_packets peak_ppm darknet_addresses observed_pps scaled_pps\n"
    "                       scaled_peak_pps (x 2^32 / IPv4 darknet size)\n"
    "    provenance.json    version, command line, configuration, darknet, inputs, counters\n"
    "    *.csv              the same, flattened, with --format csv\n"
    "\n"
    "STATE DATABASE (with --data DIR: DIR/state.db, SQLite, the file the flow store keeps;\n"
    "with --data clickhouse://HOST:PORT/DB: the same tables in that ClickHouse database)\n"
    "    telescope_sources  src day_ms first_ms last_ms packets bytes destinations\n"
    "                       port_count ports fingerprints tags (JSON arrays) scan_class\n"
    "                       syn_packets iot_packets asn cc bogon research infected_iot run_id;\n"
    "                       key (src, day_ms); infected_iot sources only unless\n"
    "                       --state-sources all\n"
    "    telescope_victims  victim first_ms last_ms packets bytes ports tcp_packets\n"
    "                       icmp_packets peak_ppm darknet_addresses observed_pps scaled_pps\n"
    "                       run_id; key (victim, first_ms)\n"
    "    telescope_intervals resolution_s start_ms end_ms packets bytes unique_sources\n"
    "                       unique_destinations non_darknet_packets late_packets\n"
    "                       dropped_source_packets research_packets tags fingerprints run_id;\n"
    "                       key (resolution_s, start_ms)\n"
    "    telescope_runs     one row per run: id started_ms finished_ms status mode version\n"
    "                       command darknet inputs packets_read darknet_packets first_ms\n"
    "                       last_ms sources victims intervals\n"
    "    Rows are replaced by key, so re-running the same input leaves the same rows.\n"
    "\n"
    "OPTIONS\n"
    "    -r, --read FILE|DIR     Offline input (repeatable; more files may follow).\n"
    "    -d, --darknet LIST      Darknet prefixes, IPv4 and IPv6, comma-separated\n"
    "                            (telescope.darknet).\n"
    "    -o, --out DIR           Output directory (created when missing).\n"
    "        --data DIR|URL      Also write the results into DIR/state.db (created when\n"
    "                            missing) or the state database of a store URL\n"
    "                            (clickhouse://HOST:PORT/DB, user and password from\n"
    "                            --config [clickhouse]; see STATE DATABASE).\n"
    "        --state-sources infected|all  Sources written to the state database\n"
    "                            (default infected: infected_iot sources only).\n"
    "    -i, --interface IF      Live capture with libpcap (immediate mode, TPACKET_V3 ring of\n"
    "                            telescope.capture_buffer); stops on SIGINT/SIGTERM.\n"
    "        --duration DUR      Live: stop after DUR (e.g. 30s).\n"
    "        --filter BPF        Live: capture filter.\n"
    "        --interval DUR      Aggregation interval (default 60s; must divide a day).\n"
    "        --bogons FILE       Special-purpose source prefixes, one a line (replaces the\n"
    "                            built-in list).\n"
    "        --research-scanners FILE  Known research scanner prefixes, one a line.\n"
    "        --pfx2as FILE       CAIDA prefix-to-AS table, or a MaxMind DB of ASNs (.mmdb,\n"
    "                            GeoLite2-ASN shape) (per-ASN counts, asn per source).\n"
    "        --geo FILE          CSV prefix,CC, or a MaxMind DB (.mmdb, GeoLite2-Country or\n"
    "                            City shape: country.iso_code, else registered_country)\n"
    "                            (per-country counts, cc per source). MaxMind DB files are\n"
    "                            known by the .mmdb extension or their metadata marker.\n"
    "        --fingerprints LIST mirai,masscan,zmap,nmap,unicornscan, 'all' or 'none'.\n"
    "        --privacy           Export addresses as keyed pseudonyms \"h:<16 hex>\"\n"
    "                            (SipHash-2-4 keyed with --privacy-key; same key, same\n"
    "                            pseudonym; not prefix-preserving).\n"
    "        --privacy-key KEY   Key text for --privacy (telescope.privacy_key).\n"
    "        --max-sources N     Source profiles kept per day (telescope.max_sources);\n"
    "                            sources beyond it are counted as dropped.\n"
    "        --top N             Rows in per-interval port/ASN/country lists (default 20).\n"
    "        --format ndjson|csv ndjson (default) or csv: also write CSV files.\n"
    "        --synth FILE        Write a synthetic darknet capture and exit (--scenario\n"
    "                            golden: ~530 packets covering every rule; bench: --packets\n"
    "                            N scan/backscatter mix from --sources addresses, uniform\n"
    "                            or --zipf heavy-tailed), deterministic for --seed.\n"
    "        --config FILE       Configuration file ([telescope] section).\n"
    "    -q, --quiet / -v        Less / more logging.\n"
    "    -h, --help              This text.\n"
    "\n"
    "infected_iot: not bogon, not research, and either the mirai fingerprint, or at least 3\n"
    "SYN packets to IoT ports (23 2323 37215 52869 7547 5555 8080 81 37777 5358 60001 8000\n"
    "8081 49152 5500 9527) reaching at least 3 darknet addresses, IoT ports being at least\n"
    "half of its SYNs, and no tool fingerprint (masscan zmap nmap unicornscan).\n"
    "Victims (Moore et al. 2006): attacks end after 5 min without backscatter; reported with\n"
    "at least telescope.backscatter_min_packets (25) packets, min_duration (60s) and a peak\n"
    "of min_peak_ppm (30) packets in a sliding 60 s window.\n"
    "\n"
    "INPUTS\n"
    "    A directory given to --read contributes its regular files named *.pcap, *.pcapng,\n"
    "    *.cap (optionally .gz), in capture-time order; anything else under such a name (a\n"
    "    FIFO, a socket, a device, a subdirectory) is skipped with a warning, so a FIFO never\n"
    "    blocks the run. A FIFO named explicitly is read like any file.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success. An input damaged after some packets is a warning (its packets before\n"
    "    the damage are used, provenance.json records the error).\n"
    "    1 runtime failure: an input could not be read at all (each is named on stderr;\n"
    "    the other inputs are still read and the outputs written, then a summary line\n"
    "    names the unreadable ones; the same rule as collect --read), or an output could\n"
    "    not be written (nothing half-written is left under the final names).\n"
    "    2 usage or configuration error.\n";

enum {
    OPT_BOGONS = 256,
    OPT_INTERVAL,
    OPT_RESEARCH,
    OPT_PFX2AS,
    OPT_GEO,
    OPT_FPS,
    OPT_PRIVACY,
    OPT_PRIVACY_KEY,
    OPT_MAX_SOURCES,
    OPT_TOP,
    OPT_FORMAT,
    OPT_SYNTH,
    OPT_SCENARIO,
    OPT_PACKETS,
    OPT_SEED,
    OPT_START,
    OPT_CONFIG,
    OPT_DURATION,
    OPT_FILTER,
    OPT_SOURCES,
    OPT_ZIPF,
    OPT_DATA,
    OPT_STATE_SOURCES,
};

static int parse_fingerprints(const char *s, unsigned *mask)
{
    *mask = 0;
    char tmp[256];
    if (snprintf(tmp, sizeof tmp, "%s", s) >= (int)sizeof tmp)
        return BS_EPARSE;
    char *save = NULL;
    for (char *t = strtok_r(tmp, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (!strcmp(t, "all")) {
            *mask = TEL_FP_ALL;
            continue;
        }
        if (!strcmp(t, "none"))
            continue;
        int f = -1;
        for (int i = 0; i < TEL_FP_COUNT; i++)
            if (!strcmp(t, tel_fp_names[i]))
                f = i;
        if (f < 0)
            return BS_EPARSE;
        *mask |= 1u << f;
    }
    return 0;
}

struct run_args {
    const char *darknet, *out, *interface, *filter, *bogons, *research, *pfx2as, *geo, *fps,
        *privacy_key, *format, *synth, *scenario, *data, *state_sources;
    int64_t interval_ms, max_sources, top, packets, seed, start_ms, duration_ms, sources;
    int privacy, zipf;
    int verbose, quiet;
};

/* Applies the configuration file's [telescope] values under the command line's. */
static void args_from_config(struct run_args *a, const struct config *cfg, char *darknet_buf,
                             size_t dlen)
{
    if (!a->darknet) {
        const char *items[TEL_MAX_DARKNET];
        size_t n = config_list(cfg, "telescope", "darknet", items, TEL_MAX_DARKNET);
        size_t off = 0;
        darknet_buf[0] = '\0';
        for (size_t i = 0; i < n && i < TEL_MAX_DARKNET && off < dlen; i++)
            off += (size_t)snprintf(darknet_buf + off, dlen - off, "%s%s", i ? "," : "", items[i]);
        if (n)
            a->darknet = darknet_buf;
    }
#define STR_DEFAULT(field, key)                                                                    \
    do {                                                                                           \
        if (!a->field) {                                                                           \
            const char *v = config_str(cfg, "telescope", key);                                     \
            if (v && *v)                                                                           \
                a->field = v;                                                                      \
        }                                                                                          \
    } while (0)
    STR_DEFAULT(out, "out");
    STR_DEFAULT(interface, "interface");
    STR_DEFAULT(bogons, "bogons");
    STR_DEFAULT(research, "research_scanners");
    STR_DEFAULT(pfx2as, "pfx2as");
    STR_DEFAULT(geo, "geo");
    STR_DEFAULT(privacy_key, "privacy_key");
#undef STR_DEFAULT
    if (a->interval_ms < 0)
        a->interval_ms = config_duration_ms(cfg, "telescope", "interval");
    if (a->max_sources < 0)
        a->max_sources = config_int(cfg, "telescope", "max_sources");
    if (a->top < 0)
        a->top = config_int(cfg, "telescope", "top_n");
    if (a->privacy < 0)
        a->privacy = config_bool(cfg, "telescope", "privacy");
}

static int run_synth(const struct run_args *a)
{
    struct tel_synth_opts so = {0};
    so.scenario = a->scenario ? a->scenario : "golden";
    so.packets = a->packets > 0 ? (uint64_t)a->packets : 0;
    so.sources = a->sources > 0 ? (uint64_t)a->sources : 0;
    so.zipf = a->zipf != 0;
    so.seed = a->seed >= 0 ? (uint64_t)a->seed : 1;
    so.start_ms = a->start_ms >= 0 ? (uint64_t)a->start_ms : 1700000040000ull;
    struct tel_pmap_entry dk[TEL_MAX_DARKNET];
    int n = a->darknet ? tel_pmap_parse_list(a->darknet, dk, TEL_MAX_DARKNET) : 0;
    if (n <= 0) {
        cli_error(CMD, "--synth needs --darknet with an IPv4 prefix");
        return BS_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++) {
        if (ipaddr_is_v4(&dk[i].pfx.addr) && dk[i].pfx.len >= 96 && !so.dark4.len)
            so.dark4 = dk[i].pfx;
        else if (!ipaddr_is_v4(&dk[i].pfx.addr) && !so.dark6.len)
            so.dark6 = dk[i].pfx;
    }
    if (!so.dark4.len) {
        cli_error(CMD, "--synth needs an IPv4 darknet prefix");
        return BS_EXIT_USAGE;
    }
    int rc = tel_synth_write(a->synth, &so);
    if (rc == BS_EUSAGE) {
        cli_error(CMD, "--scenario: unknown scenario '%s' (golden, bench)", so.scenario);
        return BS_EXIT_USAGE;
    }
    if (rc) {
        cli_error(CMD, "%s: %s", a->synth, bs_strerror(rc));
        return BS_EXIT_FAIL;
    }
    return BS_EXIT_OK;
}

/* Opens the state-database sink of --data, with the run's provenance (command line,
 * darknet, inputs as given). Returns 0, or the error after reporting it. */
static int open_state(const struct run_args *a, const struct config *cfg,
                      const struct tel_inputs *inputs, int argc, char **argv,
                      enum tel_state_which which, struct tel_state **state)
{
    struct buf cmd = BUF_INIT(1u << 20), in = BUF_INIT(16u << 20);
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++)
        rc = buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
    struct jw w;
    jw_init(&w, &in);
    jw_arr(&w, NULL);
    if (a->interface)
        jw_str(&w, NULL, a->interface);
    for (size_t i = 0; i < inputs->v.n; i++)
        jw_str(&w, NULL, tel_inputs_at(inputs, i));
    int jrc = jw_finish(&w);
    rc = rc ? rc : jrc;
    if (rc) {
        cli_error(CMD, "command line too long for the state database");
    } else {
        struct statedb_tel_run run = {
            .started_ms = clock_wall_ms(),
            .mode = a->interface ? "live" : "offline",
            .version = BS_VERSION,
            .command = cmd.data,
            .darknet = a->darknet,
            .inputs = in.data,
        };
        char err[512];
        if ((rc = tel_state_open(a->data, cfg, &run, which, state, err, sizeof err)))
            cli_error(CMD, "--data: %s", err);
    }
    buf_release(&cmd);
    buf_release(&in);
    return rc;
}

static int telescope_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},
        {"darknet", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"interface", required_argument, NULL, 'i'},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"bogons", required_argument, NULL, OPT_BOGONS},
        {"research-scanners", required_argument, NULL, OPT_RESEARCH},
        {"pfx2as", required_argument, NULL, OPT_PFX2AS},
        {"geo", required_argument, NULL, OPT_GEO},
        {"fingerprints", required_argument, NULL, OPT_FPS},
        {"privacy", no_argument, NULL, OPT_PRIVACY},
        {"privacy-key", required_argument, NULL, OPT_PRIVACY_KEY},
        {"max-sources", required_argument, NULL, OPT_MAX_SOURCES},
        {"top", required_argument, NULL, OPT_TOP},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"synth", required_argument, NULL, OPT_SYNTH},
        {"scenario", required_argument, NULL, OPT_SCENARIO},
        {"packets", required_argument, NULL, OPT_PACKETS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"start-ms", required_argument, NULL, OPT_START},
        {"sources", required_argument, NULL, OPT_SOURCES},
        {"zipf", no_argument, NULL, OPT_ZIPF},
        {"data", required_argument, NULL, OPT_DATA},
        {"state-sources", required_argument, NULL, OPT_STATE_SOURCES},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run_args a = {0};
    a.interval_ms = a.max_sources = a.top = a.packets = a.seed = a.start_ms = a.sources = -1;
    a.duration_ms = 0;
    a.privacy = -1;
    struct tel_inputs inputs;
    tel_inputs_init(&inputs);
    struct config cfg;
    int exit_code = BS_EXIT_USAGE;
    int rc = cli_load_config(CMD, cli_find_config(argc, argv), &cfg);
    if (rc)
        return rc;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "r:d:o:i:qvh", opts, NULL)) != -1) {
        int64_t v;
        switch (c) {
        case 'r':
            if (tel_inputs_add(&inputs, optarg)) {
                cli_error(CMD, "too many inputs");
                goto out;
            }
            break;
        case 'd':
            a.darknet = optarg;
            break;
        case 'o':
            a.out = optarg;
            break;
        case 'i':
            a.interface = optarg;
            break;
        case OPT_FILTER:
            a.filter = optarg;
            break;
        case OPT_DURATION:
        case OPT_INTERVAL:
            if (config_parse_duration_ms(optarg, &v) || v <= 0) {
                cli_error(CMD, "--%s: bad duration '%s'",
                          c == OPT_INTERVAL ? "interval" : "duration", optarg);
                goto out;
            }
            if (c == OPT_INTERVAL)
                a.interval_ms = v;
            else
                a.duration_ms = v;
            break;
        case OPT_BOGONS:
            a.bogons = optarg;
            break;
        case OPT_RESEARCH:
            a.research = optarg;
            break;
        case OPT_PFX2AS:
            a.pfx2as = optarg;
            break;
        case OPT_GEO:
            a.geo = optarg;
            break;
        case OPT_FPS:
            a.fps = optarg;
            break;
        case OPT_PRIVACY:
            a.privacy = 1;
            break;
        case OPT_ZIPF:
            a.zipf = 1;
            break;
        case OPT_PRIVACY_KEY:
            a.privacy_key = optarg;
            break;
        case OPT_FORMAT:
            a.format = optarg;
            break;
        case OPT_SYNTH:
            a.synth = optarg;
            break;
        case OPT_SCENARIO:
            a.scenario = optarg;
            break;
        case OPT_DATA:
            /* A directory (its state.db) or a state database URL such as
             * clickhouse://HOST:PORT/DB (tel_state_open tells them apart; a URL never becomes
             * a local directory). --data holds nothing else: --out has the files. */
            if (!*optarg) {
                cli_error(CMD, "--data: empty (a directory or a clickhouse:// URL)");
                goto out; /* exit_code is still BS_EXIT_USAGE */
            }
            a.data = optarg;
            break;
        case OPT_STATE_SOURCES:
            a.state_sources = optarg;
            break;
        case OPT_CONFIG:
            break;
        case OPT_MAX_SOURCES:
        case OPT_TOP:
        case OPT_PACKETS:
        case OPT_SEED:
        case OPT_START:
        case OPT_SOURCES:
            if (config_parse_int(optarg, &v) || v < 0) {
                cli_error(CMD, "bad number '%s'", optarg);
                goto out;
            }
            if (c == OPT_MAX_SOURCES)
                a.max_sources = v;
            else if (c == OPT_TOP)
                a.top = v;
            else if (c == OPT_PACKETS)
                a.packets = v;
            else if (c == OPT_SEED)
                a.seed = v;
            else if (c == OPT_SOURCES)
                a.sources = v;
            else
                a.start_ms = v;
            break;
        case 'q':
            a.quiet = 1;
            break;
        case 'v':
            a.verbose++;
            break;
        case 'h':
            cli_usage(&cli_cmd_telescope, stdout);
            exit_code = BS_EXIT_OK;
            goto out;
        default:
            cli_usage(&cli_cmd_telescope, stderr);
            goto out;
        }
    }
    for (int i = optind; i < argc; i++)
        if (tel_inputs_add(&inputs, argv[i])) {
            cli_error(CMD, "too many inputs");
            goto out;
        }
    cli_set_log_level(&cfg, a.verbose, a.quiet);
    char darknet_buf[TEL_MAX_DARKNET * (IPPREFIX_STRLEN + 1)];
    args_from_config(&a, &cfg, darknet_buf, sizeof darknet_buf);

    if (a.synth) {
        exit_code = run_synth(&a);
        goto out;
    }
    if (!a.darknet) {
        cli_error(CMD, "--darknet is required (or telescope.darknet in the configuration)");
        goto out;
    }
    if (!a.out) {
        cli_error(CMD, "--out DIR is required");
        goto out;
    }
    if (!inputs.v.n && !a.interface) {
        cli_error(CMD, "give --read FILE... or --interface IF");
        goto out;
    }
    if (inputs.v.n && a.interface) {
        cli_error(CMD, "--read and --interface exclude each other");
        goto out;
    }
    bool csv = false;
    if (a.format && !strcmp(a.format, "csv"))
        csv = true;
    else if (a.format && strcmp(a.format, "ndjson")) {
        cli_error(CMD, "--format: '%s' is not ndjson or csv", a.format);
        goto out;
    }
    enum tel_state_which which = TEL_STATE_INFECTED_SOURCES;
    if (a.state_sources && !strcmp(a.state_sources, "all"))
        which = TEL_STATE_ALL_SOURCES;
    else if (a.state_sources && strcmp(a.state_sources, "infected")) {
        cli_error(CMD, "--state-sources: '%s' is not infected or all", a.state_sources);
        goto out;
    }
    struct tel_pmap_entry darknet[TEL_MAX_DARKNET];
    int nd = tel_pmap_parse_list(a.darknet, darknet, TEL_MAX_DARKNET);
    if (nd <= 0) {
        cli_error(CMD, "--darknet: cannot parse '%s' as a prefix list", a.darknet);
        goto out;
    }
    struct tel_opts o;
    tel_opts_defaults(&o);
    o.darknet = darknet;
    o.n_darknet = (size_t)nd;
    o.interval_ms = (uint64_t)a.interval_ms;
    o.bogons_path = a.bogons;
    o.research_path = a.research;
    o.pfx2as_path = a.pfx2as;
    o.geo_path = a.geo;
    o.max_sources = (size_t)a.max_sources;
    o.max_victims = (size_t)config_int(&cfg, "telescope", "max_victims");
    o.top_n = (unsigned)(a.top > 1000 ? 1000 : a.top);
    o.privacy = a.privacy > 0;
    o.privacy_key = a.privacy_key;
    o.victim.min_packets = (uint64_t)config_int(&cfg, "telescope", "backscatter_min_packets");
    o.victim.min_duration_ms =
        (uint64_t)config_duration_ms(&cfg, "telescope", "backscatter_min_duration");
    o.victim.min_peak_ppm = (uint32_t)config_int(&cfg, "telescope", "backscatter_min_peak_ppm");
    if (a.fps) {
        if (parse_fingerprints(a.fps, &o.fp_mask)) {
            cli_error(CMD, "--fingerprints: unknown name in '%s'", a.fps);
            goto out;
        }
    } else {
        const char *items[TEL_FP_COUNT + 4];
        size_t n = config_list(&cfg, "telescope", "fingerprints", items, TEL_FP_COUNT + 4);
        o.fp_mask = 0;
        for (size_t i = 0; i < n && i < TEL_FP_COUNT + 4; i++) {
            unsigned m;
            if (parse_fingerprints(items[i], &m)) {
                cli_error(CMD, "telescope.fingerprints: unknown name '%s'", items[i]);
                goto out;
            }
            o.fp_mask |= m;
        }
    }
    bool levels[TEL_LEVELS] = {true, false, false, false};
    static const uint64_t lens[TEL_LEVELS] = {0, 300000, 3600000, 86400000};
    for (int i = 1; i < TEL_LEVELS; i++)
        levels[i] = lens[i] > o.interval_ms && lens[i] % o.interval_ms == 0;

    char err[512];
    struct tel_out *out = NULL;
    if (tel_out_open(a.out, csv, levels, &out, err, sizeof err)) {
        cli_error(CMD, "%s", err);
        exit_code = BS_EXIT_FAIL;
        goto out;
    }
    o.sinks[0] = (struct tel_sink){&tel_out_sink_ops, out};
    o.n_sinks = 1;
    struct tel_state *state = NULL;
    if (a.data) {
        if ((rc = open_state(&a, &cfg, &inputs, argc, argv, which, &state))) {
            tel_out_abort(out);
            exit_code = rc == BS_EUSAGE ? BS_EXIT_USAGE : BS_EXIT_FAIL;
            goto out;
        }
        o.sinks[o.n_sinks++] = (struct tel_sink){&tel_state_sink_ops, state};
    }
    struct tel_engine *e = NULL;
    rc = tel_engine_new(&o, &e, err, sizeof err);
    if (rc) {
        cli_error(CMD, "%s", err);
        tel_out_abort(out);
        tel_state_close(state, NULL, false);
        exit_code = rc == BS_ENOMEM ? BS_EXIT_FAIL : BS_EXIT_USAGE;
        goto out;
    }
    struct tel_input_info *info = calloc(inputs.v.n ? inputs.v.n : 1, sizeof *info);
    if (!info) {
        cli_error(CMD, "out of memory");
        tel_engine_free(e);
        tel_out_abort(out);
        tel_state_close(state, NULL, false);
        exit_code = BS_EXIT_FAIL;
        goto out;
    }
    exit_code = BS_EXIT_OK;
    int unreadable = 0; /* inputs that gave nothing: exit 1 once the outputs are complete */
    /* Expand directories (in time order) before reading. */
    struct tel_inputs expanded;
    tel_inputs_init(&expanded);
    for (size_t i = 0; i < inputs.v.n && exit_code == BS_EXIT_OK; i++) {
        struct stat st;
        if (strcmp(tel_inputs_at(&inputs, i), "-") && stat(tel_inputs_at(&inputs, i), &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            if (tel_inputs_add_directory(&expanded, tel_inputs_at(&inputs, i)))
                exit_code = BS_EXIT_FAIL;
        } else if (tel_inputs_add(&expanded, tel_inputs_at(&inputs, i))) {
            exit_code = BS_EXIT_FAIL;
        }
    }
    if (exit_code == BS_EXIT_OK && inputs.v.n) {
        struct tel_input_info *ni = realloc(info, (expanded.v.n ? expanded.v.n : 1) * sizeof *ni);
        if (!ni) {
            exit_code = BS_EXIT_FAIL;
        } else {
            info = ni;
            memset(info, 0, (expanded.v.n ? expanded.v.n : 1) * sizeof *info);
            /* One rule with collect --read: an input that gives nothing is a failure of
             * the run (exit 1) once the others have been read and the outputs written. */
            int failures = tel_inputs_read(e, &expanded, info);
            if (failures < 0)
                exit_code = BS_EXIT_FAIL;
            unreadable = failures > 0 ? failures : 0;
            if (expanded.v.n && (size_t)unreadable == expanded.v.n) {
                /* Nothing was read: no outputs, so a previous run's stay in place. */
                tel_inputs_report_unreadable(&expanded, info, unreadable);
                unreadable = 0;
                exit_code = BS_EXIT_FAIL;
            }
        }
    } else if (exit_code == BS_EXIT_OK) {
        struct tel_live_opts lo = {
            .interface = a.interface,
            .buffer_bytes = (uint64_t)config_size(&cfg, "telescope", "capture_buffer"),
            .duration_ms = (uint64_t)a.duration_ms,
            .filter = a.filter,
        };
        if (tel_live_run(e, &lo, err, sizeof err)) {
            cli_error(CMD, "%s", err);
            exit_code = BS_EXIT_FAIL;
        }
    }
    /* Outputs become final only when everything, provenance.json included, is written. */
    rc = tel_engine_finish(e);
    if (rc)
        exit_code = BS_EXIT_FAIL;
    if (!rc && (rc = tel_out_close(out)) != 0)
        exit_code = BS_EXIT_FAIL;
    if (rc)
        cli_error(CMD, "writing the outputs in %s: %s", a.out, bs_strerror(rc));
    int src = tel_state_close(state, e, exit_code == BS_EXIT_OK);
    if (src) {
        cli_error(CMD,
                  strstr(a.data, "://") ? "writing the state database %s: %s"
                                        : "writing %s/state.db: %s",
                  a.data, bs_strerror(src));
        exit_code = BS_EXIT_FAIL;
    }
    if (exit_code == BS_EXIT_OK) {
        rc = tel_out_provenance(a.out, e, a.interface ? "live" : "offline", info, expanded.v.n,
                                a.interface, argc, argv, csv);
        if (rc) {
            cli_error(CMD, "writing %s/provenance.json: %s", a.out, bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
        }
    }
    if (exit_code == BS_EXIT_OK) {
        rc = tel_out_commit(out);
        if (rc) {
            cli_error(CMD, "renaming the outputs in %s into place: %s", a.out, bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
        }
    } else {
        tel_out_abort(out);
        cli_error(CMD, "no output written to %s: its files are left as they were", a.out);
    }
    if (unreadable) {
        tel_inputs_report_unreadable(&expanded, info, unreadable);
        exit_code = BS_EXIT_FAIL;
    }
    const struct tel_stats *st = tel_engine_stats_const(e);
    log_info(CMD,
             "%" PRIu64 " packets, %" PRIu64 " to the darknet, %" PRIu64 " sources, %" PRIu64
             " victims",
             st->packets_read, st->darknet_packets, st->sources_written, st->victims_written);
    free(info);
    tel_inputs_free(&expanded);
    tel_engine_free(e);
out:
    tel_inputs_free(&inputs);
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_telescope = {
    .name = "telescope",
    .summary = "darknet telescope: scans, fingerprints, infected IoT sources, DDoS victims",
    .usage = telescope_usage,
    .run = telescope_run,
};
