/* cmd_simulate.c - `botscope simulate`: write a simulated world's export and darknet captures
 * and its ground truth, optionally sending the exports live over UDP to a local collector. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/ipaddr.h"
#include "sim/sim.h"

static const char simulate_usage[] =
    "usage: botscope simulate --seed N --out DIR [--scale S] [options]\n"
    "\n"
    "Builds a seeded world of ISPs, subscribers, IoT devices, botnets (Mirai-, Gafgyt- and\n"
    "Mozi-like), C&C servers that move, DDoS victims, research scanners and a darknet, and\n"
    "writes what real equipment would capture:\n"
    "  DIR/exports.pcap  NetFlow v9 (UDP 2055), IPFIX (4739) and sFlow v5 (6343) datagrams\n"
    "                    from every simulated router to its ISP's collector, in time order\n"
    "  DIR/darknet.pcap  every packet reaching the darknet prefix (Ethernet, real checksums)\n"
    "  DIR/truth.json    the ground truth: ISPs, exporters, infections, C&C servers and their\n"
    "                    address changes, DDoS attacks, vulnerable devices, scanners\n"
    "and prints one line per file with its size and counts. The same options give the same\n"
    "bytes in every file. See docs/SIMULATOR.md for the model and its sources.\n"
    "\n"
    "Options (command line overrides [simulate] in the config file):\n"
    "  --seed N             world seed (default 1)\n"
    "  --out DIR            output directory (created if missing)\n"
    "  --scale S            world size multiplier, 1..10000 (default 1: 900 households,\n"
    "                       540 IoT devices, ~300k flow records per simulated hour)\n"
    "  --duration D         simulated time span: 90s, 30m, 1h, 2d (default 1h)\n"
    "  --start TIME         world start, UTC \"YYYY-MM-DD HH:MM\" or epoch ms\n"
    "                       (default 2026-01-01 00:00)\n"
    "  --format F           v9, ipfix, sflow or mixed (default mixed: routers cycle formats)\n"
    "  --sampling N         packet sampling 1:N of the exporters (default 1; sFlow agents use\n"
    "                       simulate.sflow_sampling, 1024, when N is 1)\n"
    "  --isps N             number of ISPs, 1..13 (default 3)\n"
    "  --darknet PREFIX     IPv4 darknet prefix (default 25.240.0.0/20)\n"
    "  --send HOST:PORT     also send every export datagram over UDP to HOST:PORT, in time\n"
    "                       order; only 127.0.0.0/8 and ::1 unless --allow-remote\n"
    "  --rate N             datagrams per second when sending (default 1000; 0: no pacing)\n"
    "  --allow-remote       permit a --send destination outside loopback\n"
    "  --config FILE        configuration file\n"
    "  -q, --quiet          print nothing on success\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure (files, sockets), 2 usage or configuration\n"
    "error.\n";

enum {
    OPT_SEED = 256,
    OPT_OUT,
    OPT_SCALE,
    OPT_DURATION,
    OPT_START,
    OPT_FORMAT,
    OPT_SAMPLING,
    OPT_ISPS,
    OPT_DARKNET,
    OPT_SEND,
    OPT_RATE,
    OPT_ALLOW_REMOTE,
    OPT_CONFIG,
};

struct sender {
    int family;
    struct sockaddr_storage dst;
    socklen_t dstlen;
    int *socks; /* one per exporter (bound to its own loopback address), or one */
    unsigned nsocks;
    int per_exporter;
    uint64_t rate; /* datagrams per second, 0 = unpaced */
    uint64_t t0_ns;
    uint64_t sent;
    uint64_t errors;
};

static int parse_format(const char *s, enum sim_format *f)
{
    if (!strcmp(s, "v9"))
        *f = SIM_FORMAT_V9;
    else if (!strcmp(s, "ipfix"))
        *f = SIM_FORMAT_IPFIX;
    else if (!strcmp(s, "sflow"))
        *f = SIM_FORMAT_SFLOW;
    else if (!strcmp(s, "mixed"))
        *f = SIM_FORMAT_MIXED;
    else
        return BS_EPARSE;
    return 0;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    int64_t v;
    if (config_parse_int(s, &v) || v < 0 || (uint64_t)v > max)
        return BS_EPARSE;
    *out = (uint64_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return BS_EPARSE;
    *out = v;
    return 0;
}

/* HOST:PORT or [V6]:PORT, numeric addresses only. */
static int parse_hostport(const char *s, struct ipaddr *a, uint16_t *port)
{
    char host[64];
    const char *colon;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
            return BS_EPARSE;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return BS_EPARSE;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    uint64_t p;
    if (parse_uint(colon + 1, 65535, &p) || p == 0 || ipaddr_parse(host, a))
        return BS_EPARSE;
    *port = (uint16_t)p;
    return 0;
}

static int is_loopback(const struct ipaddr *a)
{
    static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (ipaddr_is_v4(a))
        return (ipaddr_v4(a) >> 24) == 127;
    return !memcmp(a->b, v6lo, 16);
}

static void sender_close(struct sender *sd)
{
    for (unsigned i = 0; i < sd->nsocks; i++)
        if (sd->socks[i] >= 0)
            close(sd->socks[i]);
    free(sd->socks);
    sd->socks = NULL;
    sd->nsocks = 0;
}

/* Prepares the destination. Towards an IPv4 loopback collector, each exporter sends from its
 * own address 127.0.1.(i+1) (sockets opened on first use) so that the collector tells the
 * exporters apart as it would in a network; otherwise all share one socket. */
static int sender_open(struct sender *sd, const struct ipaddr *a, uint16_t port)
{
    memset(&sd->dst, 0, sizeof sd->dst);
    if (ipaddr_is_v4(a)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&sd->dst;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, a->b + 12, 4);
        sd->dstlen = sizeof *sin;
        sd->family = AF_INET;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sd->dst;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, a->b, 16);
        sd->dstlen = sizeof *sin6;
        sd->family = AF_INET6;
    }
    sd->per_exporter = ipaddr_is_v4(a) && is_loopback(a);
    sd->nsocks = sd->per_exporter ? 254 : 1;
    sd->socks = malloc(sd->nsocks * sizeof *sd->socks);
    if (!sd->socks)
        return BS_ENOMEM;
    for (unsigned i = 0; i < sd->nsocks; i++)
        sd->socks[i] = -1;
    int fd = socket(sd->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    sd->socks[0] = fd;
    if (sd->per_exporter) {
        struct sockaddr_in src = {0};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | 1u);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
            return -errno;
    }
    return 0;
}

static int sender_sock(struct sender *sd, unsigned exporter_index)
{
    if (!sd->per_exporter)
        return sd->socks[0];
    unsigned i = exporter_index % sd->nsocks;
    if (sd->socks[i] >= 0)
        return sd->socks[i];
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | (i + 1));
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
        close(fd);
        return -1;
    }
    sd->socks[i] = fd;
    return fd;
}

static void send_datagram(void *arg, const struct ipaddr *exporter, unsigned exporter_index,
                          uint16_t dst_port, uint64_t t_ms, const uint8_t *p, size_t n)
{
    struct sender *sd = arg;
    (void)exporter;
    (void)dst_port;
    (void)t_ms;
    if (sd->rate) {
        uint64_t due = sd->t0_ns + sd->sent * 1000000000ull / sd->rate;
        uint64_t now = clock_mono_ns();
        if (due > now) {
            struct timespec ts = {(time_t)((due - now) / 1000000000ull),
                                  (long)((due - now) % 1000000000ull)};
            while (nanosleep(&ts, &ts) && errno == EINTR)
                ;
        }
    }
    int fd = sender_sock(sd, exporter_index);
    if (fd < 0 || sendto(fd, p, n, 0, (const struct sockaddr *)&sd->dst, sd->dstlen) < 0)
        sd->errors++;
    sd->sent++;
}

static int mkdir_p(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return -ENOTDIR;
    }
    return -errno;
}

static int simulate_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, OPT_SEED},
        {"out", required_argument, NULL, OPT_OUT},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"start", required_argument, NULL, OPT_START},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"sampling", required_argument, NULL, OPT_SAMPLING},
        {"isps", required_argument, NULL, OPT_ISPS},
        {"darknet", required_argument, NULL, OPT_DARKNET},
        {"send", required_argument, NULL, OPT_SEND},
        {"rate", required_argument, NULL, OPT_RATE},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *me = "simulate";
    struct config cfg;
    int rc = cli_load_config(me, cli_find_config(argc, argv), &cfg);
    if (rc)
        return rc;
    int exit_code = BS_EXIT_USAGE;
    struct sim_params p;
    sim_params_default(&p);
    struct sender sd;
    memset(&sd, 0, sizeof sd);
    sd.rate = 1000;

    /* Configuration file values first. */
    const char *bad = NULL;
    int64_t v;
    p.seed = (uint64_t)config_int(&cfg, "simulate", "seed");
    v = config_int(&cfg, "simulate", "scale");
    p.scale = v > 0 && v <= SIM_MAX_SCALE ? (unsigned)v : 0;
    p.duration_ms = (uint64_t)config_duration_ms(&cfg, "simulate", "duration");
    v = config_int(&cfg, "simulate", "sampling");
    p.sampling = v > 0 && v <= SIM_MAX_SAMPLING ? (unsigned)v : 0;
    v = config_int(&cfg, "simulate", "sflow_sampling");
    p.sflow_sampling = v > 0 && v <= SIM_MAX_SAMPLING ? (unsigned)v : 0;
    v = config_int(&cfg, "simulate", "isps");
    p.isps = v > 0 && v <= SIM_MAX_ISPS ? (unsigned)v : 0;
    v = config_int(&cfg, "simulate", "routers_per_isp");
    p.routers_per_isp = v >= 0 && v <= SIM_MAX_ROUTERS_PER_ISP ? (unsigned)v : 9999;
    p.active_timeout_ms = (uint64_t)config_duration_ms(&cfg, "simulate", "active_timeout");
    p.inactive_timeout_ms = (uint64_t)config_duration_ms(&cfg, "simulate", "inactive_timeout");
    v = config_int(&cfg, "simulate", "template_refresh");
    p.template_every = v > 0 && v < 1000000 ? (unsigned)v : 0;
    p.darknet_interval_ms = (uint64_t)config_duration_ms(&cfg, "simulate", "darknet_interval");
    if (clock_parse_utc(config_str(&cfg, "simulate", "start"), &p.start_ms))
        bad = "[simulate] start: expected YYYY-MM-DD HH:MM or epoch ms";
    else if (parse_format(config_str(&cfg, "simulate", "format"), &p.format))
        bad = "[simulate] format: expected v9, ipfix, sflow or mixed";
    else if (ipprefix_parse(config_str(&cfg, "simulate", "darknet"), &p.darknet))
        bad = "[simulate] darknet: expected an IPv4 prefix";
    else if (parse_double(config_str(&cfg, "simulate", "darknet_share"), &p.darknet_share))
        bad = "[simulate] darknet_share: expected a decimal number";
    else if (parse_double(config_str(&cfg, "simulate", "scan_pps"), &p.scan_pps))
        bad = "[simulate] scan_pps: expected a decimal number";
    if (bad) {
        cli_error(me, "%s%s%s", cfg.path ? cfg.path : "", cfg.path ? ": " : "", bad);
        goto out;
    }

    const char *out_dir = NULL, *send_to = NULL;
    int allow_remote = 0, quiet = 0, c;
    uint64_t u;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SEED:
            if (parse_uint(optarg, INT64_MAX, &u)) {
                cli_error(me, "--seed: expected a non-negative integer, got '%s'", optarg);
                goto out;
            }
            p.seed = u;
            break;
        case OPT_OUT:
            out_dir = optarg;
            break;
        case OPT_SCALE:
            if (parse_uint(optarg, SIM_MAX_SCALE, &u) || !u) {
                cli_error(me, "--scale: expected 1..%u, got '%s'", SIM_MAX_SCALE, optarg);
                goto out;
            }
            p.scale = (unsigned)u;
            break;
        case OPT_DURATION: {
            int64_t ms;
            if (config_parse_duration_ms(optarg, &ms) || ms <= 0) {
                cli_error(me, "--duration: expected a duration such as 90s, 30m, 1h, got '%s'",
                          optarg);
                goto out;
            }
            p.duration_ms = (uint64_t)ms;
            break;
        }
        case OPT_START:
            if (clock_parse_utc(optarg, &p.start_ms)) {
                cli_error(me, "--start: expected \"YYYY-MM-DD HH:MM\" or epoch ms, got '%s'",
                          optarg);
                goto out;
            }
            break;
        case OPT_FORMAT:
            if (parse_format(optarg, &p.format)) {
                cli_error(me, "--format: expected v9, ipfix, sflow or mixed, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_SAMPLING:
            if (parse_uint(optarg, SIM_MAX_SAMPLING, &u) || !u) {
                cli_error(me, "--sampling: expected 1..%u, got '%s'", SIM_MAX_SAMPLING, optarg);
                goto out;
            }
            p.sampling = (unsigned)u;
            break;
        case OPT_ISPS:
            if (parse_uint(optarg, SIM_MAX_ISPS, &u) || !u) {
                cli_error(me, "--isps: expected 1..%u, got '%s'", SIM_MAX_ISPS, optarg);
                goto out;
            }
            p.isps = (unsigned)u;
            break;
        case OPT_DARKNET:
            if (ipprefix_parse(optarg, &p.darknet)) {
                cli_error(me, "--darknet: expected an IPv4 prefix, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_SEND:
            send_to = optarg;
            break;
        case OPT_RATE:
            if (parse_uint(optarg, 100000000, &u)) {
                cli_error(me, "--rate: expected datagrams per second, got '%s'", optarg);
                goto out;
            }
            sd.rate = u;
            break;
        case OPT_ALLOW_REMOTE:
            allow_remote = 1;
            break;
        case OPT_CONFIG:
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            cli_usage(&cli_cmd_simulate, stdout);
            exit_code = BS_EXIT_OK;
            goto out;
        default:
            cli_usage(&cli_cmd_simulate, stderr);
            goto out;
        }
    }
    if (optind < argc) {
        cli_error(me, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!out_dir) {
        cli_error(me, "--out DIR is required");
        goto out;
    }
    char msg[128];
    if (sim_params_check(&p, msg, sizeof msg)) {
        cli_error(me, "%s", msg);
        goto out;
    }
    struct ipaddr dst;
    uint16_t dport = 0;
    if (send_to) {
        if (parse_hostport(send_to, &dst, &dport)) {
            cli_error(me,
                      "--send: expected HOST:PORT or [V6]:PORT with a numeric address, "
                      "got '%s'",
                      send_to);
            goto out;
        }
        if (!is_loopback(&dst) && !allow_remote) {
            cli_error(me,
                      "--send: %s is outside 127.0.0.0/8 and ::1; add --allow-remote to "
                      "send there",
                      send_to);
            goto out;
        }
    }
    exit_code = BS_EXIT_FAIL;
    rc = mkdir_p(out_dir);
    if (rc) {
        cli_error(me, "%s: %s", out_dir, bs_strerror(rc));
        goto out;
    }
    p.out_dir = out_dir;
    struct sim_output output = {NULL, NULL};
    if (send_to) {
        rc = sender_open(&sd, &dst, dport);
        if (rc) {
            cli_error(me, "--send %s: %s", send_to, bs_strerror(rc));
            goto out;
        }
        output.datagram = send_datagram;
        output.arg = &sd;
        sd.t0_ns = clock_mono_ns();
    }
    struct sim_stats st;
    uint64_t t0 = clock_mono_ns();
    rc = sim_run(&p, send_to ? &output : NULL, &st);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    if (rc) {
        cli_error(me, "%s: %s", out_dir, bs_strerror(rc));
        goto out;
    }
    if (!quiet) {
        printf("%s/truth.json: %" PRIu64 " bytes, %u isps, %u exporters, %u subscribers, "
               "%u iot devices (%u vulnerable), %u infections, %u c2 servers, %u ddos attacks\n",
               out_dir, st.truth_bytes, p.isps, st.exporters, st.subscribers, st.devices,
               st.vulnerable, st.infections, st.c2_servers, st.attacks);
        printf("%s/exports.pcap: %" PRIu64 " bytes, %" PRIu64 " datagrams, %" PRIu64
               " flow records (v9 %" PRIu64 ", ipfix %" PRIu64 ", sflow samples %" PRIu64 ")\n",
               out_dir, st.export_bytes, st.export_datagrams, st.flow_records, st.v9_records,
               st.ipfix_records, st.sflow_samples);
        printf("%s/darknet.pcap: %" PRIu64 " bytes, %" PRIu64 " packets\n", out_dir,
               st.darknet_bytes, st.darknet_packets);
        printf("generated in %.2f s: %.0f flow records/s, %.0f darknet packets/s, "
               "%.0f simulated flows/s (%" PRIu64 " flows, %" PRIu64 " packets), "
               "peak %zu active flows\n",
               secs, (double)st.flow_records / secs, (double)st.darknet_packets / secs,
               (double)st.true_flows / secs, st.true_flows, st.true_packets, st.peak_active_flows);
        if (send_to)
            printf("sent %" PRIu64 " datagrams to %s (%" PRIu64 " send errors)\n", sd.sent, send_to,
                   sd.errors);
    }
    exit_code = sd.errors ? BS_EXIT_FAIL : BS_EXIT_OK;
out:
    sender_close(&sd);
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_simulate = {
    .name = "simulate",
    .summary = "write a simulated world: export and darknet captures plus ground truth",
    .usage = simulate_usage,
    .run = simulate_run,
};
