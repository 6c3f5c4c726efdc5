/* cmd_survey.c - `botscope survey`: the device survey (issue #19, docs/SURVEY.md). Parses and
 * checks every option (exit 2 names the option, file or line), loads scope, blocklists,
 * opt-outs and credentials, wires the engine's sink to the output and the state database, and
 * prints a summary on stderr. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/jw.h"
#include "core/text.h"
#include "store/statedb.h"
#include "survey/assess.h"
#include "survey/module.h"
#include "survey/out.h"
#include "survey/scope.h"
#include "survey/state.h"
#include "survey/survey.h"

#define CMD "survey"

static const char survey_usage[] =
    "usage: botscope survey --scope FILE --operator NAME [OPTIONS]\n"
    "\n"
    "Surveys the devices of an authorised scope for weak credentials, vulnerable firmware and\n"
    "signs of infection, with an evidence record for every access (docs/SURVEY.md).\n"
    "Refuses to start (exit 2) without --scope and --operator.\n"
    "\n"
    "Safety (cannot be turned off):\n"
    "  --scope FILE        addresses and prefixes (IPv4, IPv6) that may be surveyed; '#'\n"
    "                      comments. Must be given.\n"
    "  --operator NAME     who runs the survey; in every evidence record and in the HTTP\n"
    "                      User-Agent. Must be given.\n"
    "  --blocklist FILE    addresses and prefixes never to touch; wins over the scope\n"
    "                      (repeatable)\n"
    "  --opt-out FILE      opt-outs, one 'PREFIX,REQUESTED_BY,REQUESTED_AT' a line; never\n"
    "                      touched, and recorded with who asked and when (repeatable)\n"
    "  --lab               allow IANA special-purpose ranges (198.18.0.0/15, 10/8, 127/8,\n"
    "                      2001:db8::/32, ...), for test labs; refused otherwise\n"
    "\n"
    "What is tried:\n"
    "  --credentials FILE  'user:password' a line, tried in this order after the device's\n"
    "                      own defaults; stops at the first success per service\n"
    "  --ports LIST        TCP ports (default 23,2323,22,80,8080,81,443,8443,554,21,7547,\n"
    "                      37215,52869); the module follows the port, or is named:\n"
    "                      PORT/MODULE (tcp, telnet, ssh, http, https, ftp, rtsp)\n"
    "  --favicon           also fetch /favicon.ico from web servers (its hash identifies)\n"
    "  --fingerprints DIR  Recog XML fingerprints to identify devices (repeatable; the more\n"
    "                      specific first, e.g. botscope's data/fingerprints, then Recog's)\n"
    "  --kev FILE          CISA KEV catalogue JSON (vulnerability matching, local only)\n"
    "  --nvd DIR           NVD CVE JSON 2.0 records (one a file) or yearly feed files\n"
    "  --high-risk FILE    curated high-risk CVE list (botscope's data/high-risk.txt)\n"
    "                      Firmware is a finding only when one of its CVEs is high risk:\n"
    "                      in KEV, CVSS >= 9.0 network/no privileges, or curated\n"
    "  --infected FILE     the telescope's sources.ndjson: its infected_iot sources inside the\n"
    "                      scope are reported as infected\n"
    "\n"
    "Politeness (defaults are conservative; docs/SURVEY.md):\n"
    "  --rate N            new connections per second, whole run (200)\n"
    "  --rate-net N        new connections per second into one /24 or IPv6 /48 (20)\n"
    "  --rate-host N       new connections per second to one address (2)\n"
    "  --cred-pause MS     pause between two credential attempts on a service (1000)\n"
    "  --connect-timeout MS (3000)   --io-timeout MS (8000)\n"
    "  --max-time SECONDS  stop after this long; --resume continues (28800)\n"
    "  --max-sessions N    devices handled at once, one session each (1024)\n"
    "  --max-attempts N    credential pairs per service at most (10)\n"
    "  --max-error-pct N   abort when more than N% of connection attempts fail locally (50)\n"
    "  --max-reset-pct N   abort when more than N% of sessions are reset by peers (50)\n"
    "\n"
    "Run and output:\n"
    "  --source ADDR       bind connections to this local address (repeatable: round-robin\n"
    "                      per device)\n"
    "  --sweep MODE        how open ports are found: connect (default: a connect() per port),\n"
    "                      syn (raw SYN probes first, ZMap's way, then connect() only to\n"
    "                      ports that answered; needs CAP_NET_RAW, exit 1 without it),\n"
    "                      auto (syn when the process may, else connect)\n"
    "  --syn               same as --sweep syn\n"
    "  --seed N            permutation key (default: random; stored for --resume)\n"
    "  --data DIR          state database (DIR/state.db): evidence, findings (open or\n"
    "                      remediated), resume state\n"
    "  --resume            continue the unfinished run stored in --data, skipping finished\n"
    "                      devices\n"
    "  --output ndjson|csv findings on stdout (default ndjson): addr, port, service, finding\n"
    "                      (weak_credential, vulnerable_firmware, infected), vendor, product,\n"
    "                      version, cves, evidence\n"
    "  --config FILE       configuration file\n"
    "  -v, -q              more / less logging\n"
    "\n"
    "Exit status: 0 the run ended (also at --max-time or on a signal: see the summary),\n"
    "1 runtime failure or a health abort, 2 usage or configuration error.\n";

/* The signal flag of a long-running command (docs/ARCHITECTURE.md's one exception). */
static volatile sig_atomic_t survey_stop;

static void on_signal(int sig)
{
    (void)sig;
    survey_stop = 1;
}

struct out_ctx {
    bool csv;
    struct buf line;
    struct sv_state *state;
    uint64_t findings;
    int err;
};

static int out_evidence(void *ctx, const struct sv_evidence *e)
{
    struct out_ctx *o = ctx;
    return o->state ? sv_state_evidence(o->state, e) : 0;
}

static int out_finding(void *ctx, const struct sv_finding *f)
{
    struct out_ctx *o = ctx;
    buf_reset(&o->line);
    int rc = o->csv ? sv_out_csv(&o->line, f) : sv_out_ndjson(&o->line, f);
    if (!rc) {
        fwrite(o->line.data, 1, o->line.len, stdout);
        fflush(stdout);
        o->findings++;
    }
    if (o->state) {
        int r2 = sv_state_finding(o->state, f);
        if (r2)
            rc = r2;
    }
    return rc;
}

static int out_host_done(void *ctx, uint64_t pos, const struct ipaddr *a, const uint16_t *open,
                         size_t n_open)
{
    struct out_ctx *o = ctx;
    return o->state ? sv_state_host_done(o->state, pos, a, open, n_open) : 0;
}

static bool out_is_done(void *ctx, uint64_t pos)
{
    struct out_ctx *o = ctx;
    return o->state && sv_state_is_done(o->state, pos);
}

/* "23,2223/telnet,8081/http": ports, each optionally with the module that speaks to it.
 * The module names point into buf, which must outlive the run. */
static int parse_ports(char *buf, struct sv_run *r)
{
    r->n_ports = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *slash = strchr(t, '/');
        if (slash)
            *slash = '\0';
        char *end;
        long v = strtol(text_trim(t), &end, 10);
        if (*end || v < 1 || v > 65535 || r->n_ports >= SV_MAX_PORTS)
            return BS_EUSAGE;
        if (slash && !sv_module_by_name(slash + 1))
            return BS_EUSAGE;
        r->port_module[r->n_ports] = slash ? slash + 1 : NULL;
        r->ports[r->n_ports++] = (uint16_t)v;
    }
    return r->n_ports ? 0 : BS_EUSAGE;
}

static int parse_u32(const char *opt, const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v > UINT32_MAX) {
        cli_error(CMD, "--%s: '%s' is not a number", opt, s);
        return BS_EUSAGE;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Reports the telescope's infected sources inside the scope (sources.ndjson lines with
 * "infected_iot":true). */
static int report_infected(const char *path, const struct sv_scope *sc, struct out_ctx *o,
                           uint64_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error(CMD, "--infected: %s: cannot open", path);
        return BS_EUSAGE;
    }
    char line[65536];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"infected_iot\":true"))
            continue;
        const char *p = strstr(line, "\"src\":\"");
        if (!p)
            continue;
        p += 7;
        char addr[IPADDR_STRLEN];
        size_t k = 0;
        while (p[k] && p[k] != '"' && k + 1 < sizeof addr) {
            addr[k] = p[k];
            k++;
        }
        addr[k] = '\0';
        struct ipaddr a;
        if (ipaddr_parse(addr, &a) || sv_scope_check(sc, &a) != SV_ALLOW)
            continue;
        struct sv_finding fd = {.addr = a,
                                .port = 0,
                                .service = "telescope",
                                .kind = SV_INFECTED,
                                .time_ms = clock_wall_ms()};
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        struct buf eb = BUF_INIT(sizeof fd.evidence - 1);
        struct jw w;
        jw_init(&w, &eb);
        jw_obj(&w, NULL);
        jw_str(&w, "source", "telescope");
        jw_strn(&w, "file", base, jw_fit(base, strlen(base), sizeof fd.evidence - 40));
        snprintf(fd.evidence, sizeof fd.evidence, "%s", jw_finish(&w) ? "{}" : eb.data);
        buf_release(&eb);
        rc = out_finding(o, &fd);
        (*n)++;
    }
    fclose(f);
    return rc;
}

/* Reports the state database's seeds (addresses believed infected, e.g. the telescope's
 * infected sources or detection's bot list) that lie inside the scope. */
struct seed_ctx {
    const struct sv_scope *sc;
    struct out_ctx *o;
    uint64_t n;
};

static int seed_cb(void *ctx, const struct statedb_rec *r)
{
    struct seed_ctx *c = ctx;
    struct ipaddr a;
    if (!r->addr || ipaddr_parse(r->addr, &a) || sv_scope_check(c->sc, &a) != SV_ALLOW)
        return 0;
    struct sv_finding fd = {
        .addr = a, .service = "telescope", .kind = SV_INFECTED, .time_ms = clock_wall_ms()};
    const char *seed = r->key ? r->key : "";
    struct buf b = BUF_INIT(sizeof fd.evidence - 1);
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w, NULL);
    jw_str(&w, "source", "state database seed");
    jw_strn(&w, "seed", seed, jw_fit(seed, strlen(seed), sizeof fd.evidence - 50));
    snprintf(fd.evidence, sizeof fd.evidence, "%s", jw_finish(&w) ? "{}" : b.data);
    buf_release(&b);
    c->n++;
    return out_finding(c->o, &fd);
}

enum {
    OPT_SCOPE = 256,
    OPT_OPERATOR,
    OPT_BLOCKLIST,
    OPT_OPTOUT,
    OPT_LAB,
    OPT_CREDS,
    OPT_PORTS,
    OPT_FAVICON,
    OPT_KEV,
    OPT_NVD,
    OPT_INFECTED,
    OPT_RATE,
    OPT_RATE_NET,
    OPT_RATE_HOST,
    OPT_CRED_PAUSE,
    OPT_CTIMEOUT,
    OPT_IOTIMEOUT,
    OPT_MAXTIME,
    OPT_MAXSESS,
    OPT_MAXATT,
    OPT_MAXERR,
    OPT_MAXRESET,
    OPT_SOURCE,
    OPT_SEED,
    OPT_DATA,
    OPT_RESUME,
    OPT_OUTPUT,
    OPT_CONFIG,
    OPT_FP,
    OPT_HIGHRISK,
    OPT_SWEEP,
    OPT_SYN,
};

static const struct option survey_opts[] = {
    {"scope", required_argument, NULL, OPT_SCOPE},
    {"operator", required_argument, NULL, OPT_OPERATOR},
    {"blocklist", required_argument, NULL, OPT_BLOCKLIST},
    {"opt-out", required_argument, NULL, OPT_OPTOUT},
    {"lab", no_argument, NULL, OPT_LAB},
    {"credentials", required_argument, NULL, OPT_CREDS},
    {"ports", required_argument, NULL, OPT_PORTS},
    {"favicon", no_argument, NULL, OPT_FAVICON},
    {"kev", required_argument, NULL, OPT_KEV},
    {"fingerprints", required_argument, NULL, OPT_FP},
    {"high-risk", required_argument, NULL, OPT_HIGHRISK},
    {"nvd", required_argument, NULL, OPT_NVD},
    {"infected", required_argument, NULL, OPT_INFECTED},
    {"rate", required_argument, NULL, OPT_RATE},
    {"rate-net", required_argument, NULL, OPT_RATE_NET},
    {"rate-host", required_argument, NULL, OPT_RATE_HOST},
    {"cred-pause", required_argument, NULL, OPT_CRED_PAUSE},
    {"connect-timeout", required_argument, NULL, OPT_CTIMEOUT},
    {"io-timeout", required_argument, NULL, OPT_IOTIMEOUT},
    {"max-time", required_argument, NULL, OPT_MAXTIME},
    {"max-sessions", required_argument, NULL, OPT_MAXSESS},
    {"max-attempts", required_argument, NULL, OPT_MAXATT},
    {"max-error-pct", required_argument, NULL, OPT_MAXERR},
    {"max-reset-pct", required_argument, NULL, OPT_MAXRESET},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"sweep", required_argument, NULL, OPT_SWEEP},
    {"syn", no_argument, NULL, OPT_SYN},
    {"seed", required_argument, NULL, OPT_SEED},
    {"data", required_argument, NULL, OPT_DATA},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

#define MAX_LISTS 16

struct args {
    const char *scope, *operator_name, *creds, *kev, *nvd, *infected, *data, *output;
    const char *blocklists[MAX_LISTS], *optouts[MAX_LISTS], *fingerprints[MAX_LISTS];
    const char *high_risk;
    size_t n_block, n_optout, n_fp;
    char ports_buf[1024];
    bool lab, resume, have_seed;
    uint64_t seed;
    int verbose, quiet;
};

static int parse_args(int argc, char **argv, struct args *a, struct sv_run *r)
{
    int c;
    uint32_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vq", survey_opts, NULL)) != -1) {
        switch (c) {
        case OPT_SCOPE:
            a->scope = optarg;
            break;
        case OPT_OPERATOR:
            a->operator_name = optarg;
            break;
        case OPT_BLOCKLIST:
        case OPT_OPTOUT:
            if ((c == OPT_BLOCKLIST ? a->n_block : a->n_optout) >= MAX_LISTS) {
                cli_error(CMD, "--%s: at most %d files",
                          c == OPT_BLOCKLIST ? "blocklist" : "opt-out", MAX_LISTS);
                return BS_EUSAGE;
            }
            if (c == OPT_BLOCKLIST)
                a->blocklists[a->n_block++] = optarg;
            else
                a->optouts[a->n_optout++] = optarg;
            break;
        case OPT_LAB:
            a->lab = true;
            break;
        case OPT_CREDS:
            a->creds = optarg;
            break;
        case OPT_PORTS:
            snprintf(a->ports_buf, sizeof a->ports_buf, "%s", optarg);
            if (parse_ports(a->ports_buf, r)) {
                cli_error(CMD,
                          "--ports: '%s' is not a list of PORT[/MODULE] (ports 1..65535, at "
                          "most %d; modules tcp, telnet, ssh, http, https, ftp, rtsp)",
                          optarg, SV_MAX_PORTS);
                return BS_EUSAGE;
            }
            break;
        case OPT_FAVICON:
            r->fetch_favicon = true;
            break;
        case OPT_FP:
            if (a->n_fp >= MAX_LISTS) {
                cli_error(CMD, "--fingerprints: at most %d directories", MAX_LISTS);
                return BS_EUSAGE;
            }
            a->fingerprints[a->n_fp++] = optarg;
            break;
        case OPT_HIGHRISK:
            a->high_risk = optarg;
            break;
        case OPT_KEV:
            a->kev = optarg;
            break;
        case OPT_NVD:
            a->nvd = optarg;
            break;
        case OPT_INFECTED:
            a->infected = optarg;
            break;
        case OPT_RATE:
            if (parse_u32("rate", optarg, &r->policy.rate_total))
                return BS_EUSAGE;
            break;
        case OPT_RATE_NET:
            if (parse_u32("rate-net", optarg, &r->policy.rate_net))
                return BS_EUSAGE;
            break;
        case OPT_RATE_HOST:
            if (parse_u32("rate-host", optarg, &r->policy.rate_host))
                return BS_EUSAGE;
            break;
        case OPT_CRED_PAUSE:
            if (parse_u32("cred-pause", optarg, &r->policy.cred_pause_ms))
                return BS_EUSAGE;
            break;
        case OPT_CTIMEOUT:
            if (parse_u32("connect-timeout", optarg, &r->policy.connect_timeout_ms))
                return BS_EUSAGE;
            break;
        case OPT_IOTIMEOUT:
            if (parse_u32("io-timeout", optarg, &r->policy.io_timeout_ms))
                return BS_EUSAGE;
            break;
        case OPT_MAXTIME:
            if (parse_u32("max-time", optarg, &v))
                return BS_EUSAGE;
            r->policy.max_run_ms = (uint64_t)v * 1000;
            break;
        case OPT_MAXSESS:
            if (parse_u32("max-sessions", optarg, &r->policy.max_sessions))
                return BS_EUSAGE;
            break;
        case OPT_MAXATT:
            if (parse_u32("max-attempts", optarg, &r->policy.max_attempts))
                return BS_EUSAGE;
            break;
        case OPT_MAXERR:
            if (parse_u32("max-error-pct", optarg, &r->policy.max_error_pct))
                return BS_EUSAGE;
            break;
        case OPT_MAXRESET:
            if (parse_u32("max-reset-pct", optarg, &r->policy.max_reset_pct))
                return BS_EUSAGE;
            break;
        case OPT_SOURCE:
            if (r->n_sources >= SV_MAX_SOURCES || ipaddr_parse(optarg, &r->sources[r->n_sources])) {
                cli_error(CMD, "--source: '%s' is not an address (at most %d)", optarg,
                          SV_MAX_SOURCES);
                return BS_EUSAGE;
            }
            r->n_sources++;
            break;
        case OPT_SWEEP:
            if (!strcmp(optarg, "connect")) {
                r->sweep = SV_SWEEP_CONNECT;
            } else if (!strcmp(optarg, "syn")) {
                r->sweep = SV_SWEEP_SYN;
            } else if (!strcmp(optarg, "auto")) {
                r->sweep = SV_SWEEP_AUTO;
            } else {
                cli_error(CMD, "--sweep: '%s' is not connect, syn or auto", optarg);
                return BS_EUSAGE;
            }
            break;
        case OPT_SYN:
            r->sweep = SV_SWEEP_SYN;
            break;
        case OPT_SEED: {
            char *end;
            a->seed = strtoull(optarg, &end, 0);
            if (!*optarg || *end) {
                cli_error(CMD, "--seed: '%s' is not a number", optarg);
                return BS_EUSAGE;
            }
            a->have_seed = true;
            break;
        }
        case OPT_DATA:
            a->data = optarg;
            break;
        case OPT_RESUME:
            a->resume = true;
            break;
        case OPT_OUTPUT:
            a->output = optarg;
            break;
        case OPT_CONFIG:
            break;
        case 'v':
            a->verbose++;
            break;
        case 'q':
            a->quiet = 1;
            break;
        default:
            cli_error(CMD, "unknown option (see botscope survey --help)");
            return BS_EUSAGE;
        }
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s'", argv[optind]);
        return BS_EUSAGE;
    }
    if (!a->scope) {
        cli_error(CMD, "--scope FILE is required: the survey touches only an authorised scope");
        return BS_EUSAGE;
    }
    if (!a->operator_name || !*a->operator_name) {
        cli_error(CMD, "--operator NAME is required: every access is recorded with its operator");
        return BS_EUSAGE;
    }
    if (a->output && strcmp(a->output, "ndjson") && strcmp(a->output, "csv")) {
        cli_error(CMD, "--output: '%s' is not ndjson or csv", a->output);
        return BS_EUSAGE;
    }
    if (a->resume && !a->data) {
        cli_error(CMD, "--resume needs --data DIR (where the run's state is)");
        return BS_EUSAGE;
    }
    const char *field = NULL;
    if (sv_policy_check(&r->policy, &field)) {
        cli_error(CMD, "--%s: out of range (rates need rate-host <= rate-net <= rate; see --help)",
                  field);
        return BS_EUSAGE;
    }
    return 0;
}

/* Identification and vulnerability data, all local files. A file that does not load is a
 * usage error naming file, line and column. */
static int load_assess(const struct args *a, struct sv_assess **out)
{
    *out = NULL;
    if (!a->n_fp && !a->kev && !a->nvd && !a->high_risk)
        return 0;
    if (!a->n_fp) {
        cli_error(CMD, "--kev/--nvd/--high-risk need --fingerprints DIR to identify devices");
        return BS_EUSAGE;
    }
    if (sv_assess_new(out))
        return BS_ENOMEM;
    struct ident_diag d;
    int rc = 0;
    const char *opt = "fingerprints";
    for (size_t i = 0; !rc && i < a->n_fp; i++)
        rc = sv_assess_load_fingerprints(*out, a->fingerprints[i], &d);
    if (!rc && a->kev && (opt = "kev"))
        rc = sv_assess_load_kev(*out, a->kev, &d);
    if (!rc && a->nvd && (opt = "nvd"))
        rc = sv_assess_load_nvd(*out, a->nvd, &d);
    if (!rc && a->high_risk && (opt = "high-risk"))
        rc = sv_assess_load_curated(*out, a->high_risk, &d);
    if (rc) {
        if (d.line)
            cli_error(CMD, "--%s: %s:%d:%d: %s", opt, d.file, d.line, d.col, d.msg);
        else
            cli_error(CMD, "--%s: %s: %s", opt, d.file[0] ? d.file : "?",
                      d.msg[0] ? d.msg : bs_strerror(rc));
        return BS_EUSAGE;
    }
    return 0;
}

static int load_lists(const struct args *a, struct sv_scope *sc)
{
    char err[512];
    int rc = sv_scope_load_scope(sc, a->scope, err, sizeof err);
    if (rc) {
        cli_error(CMD, "--scope: %s", err);
        return rc;
    }
    for (size_t i = 0; i < a->n_block; i++)
        if ((rc = sv_scope_load_blocklist(sc, a->blocklists[i], err, sizeof err))) {
            cli_error(CMD, "--blocklist: %s", err);
            return rc;
        }
    for (size_t i = 0; i < a->n_optout; i++)
        if ((rc = sv_scope_load_optouts(sc, a->optouts[i], err, sizeof err))) {
            cli_error(CMD, "--opt-out: %s", err);
            return rc;
        }
    if ((rc = sv_scope_finish(sc))) {
        cli_error(CMD, "--scope: %s lists no address", a->scope);
        return rc;
    }
    return 0;
}

static void summary(const struct sv_stats *s, const struct out_ctx *o)
{
    fprintf(stderr,
            "botscope survey: %" PRIu64 " devices done (%" PRIu64
            " skipped as done before, %" PRIu64 " blocked, %" PRIu64 " special-purpose, %" PRIu64
            " left unfinished by local errors), %" PRIu64 " connections (%" PRIu64
            " refused, %" PRIu64 " timed out, %" PRIu64 " local errors), %" PRIu64
            " open ports, %" PRIu64 " credential attempts (%" PRIu64 " successes), %" PRIu64
            " findings, %" PRIu64 " evidence records\n",
            s->hosts_done, s->hosts_skipped_done, s->hosts_blocked, s->hosts_special,
            s->hosts_unfinished, s->connects, s->refused, s->timeouts, s->local_errors,
            s->open_ports, s->attempts, s->successes, o->findings, s->evidence);
    if (s->syn_used)
        fprintf(stderr,
                "botscope survey: SYN sweep: %" PRIu64 " probes, %" PRIu64 " ports open, %" PRIu64
                " closed, %" PRIu64 " other packets ignored\n",
                s->syn_probes, s->syn_open, s->syn_closed, s->syn_ignored);
    if (o->state && sv_state_remediated(o->state))
        fprintf(stderr, "botscope survey: %" PRIu64 " earlier findings remediated\n",
                sv_state_remediated(o->state));
}

static int survey_run(int argc, char **argv)
{
    struct config cfg;
    int ex = cli_load_config(CMD, cli_find_config(argc, argv), &cfg);
    if (ex)
        return ex;
    struct args a = {0};
    struct sv_run r = {.policy = SV_RATE_DEFAULTS};
    memcpy(r.ports, sv_default_ports, sv_default_ports_n * sizeof r.ports[0]);
    r.n_ports = sv_default_ports_n;
    ex = BS_EXIT_USAGE;
    struct sv_scope sc;
    struct sv_creds creds = {0};
    struct statedb *db = NULL;
    struct out_ctx o = {.line = BUF_INIT(1u << 20)};
    struct sv_assess *assess = NULL;
    if (parse_args(argc, argv, &a, &r))
        goto out_cfg;
    /* From here on a signal stops the run cleanly (also while data files load). */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cli_set_log_level(&cfg, a.verbose, a.quiet);
    if (sv_scope_init(&sc, a.lab)) {
        ex = BS_EXIT_FAIL;
        goto out_cfg;
    }
    if (load_lists(&a, &sc))
        goto out_scope;
    if (a.creds) {
        char err[512];
        if (sv_creds_load(&creds, a.creds, err, sizeof err)) {
            cli_error(CMD, "--credentials: %s", err);
            goto out_scope;
        }
    }
    if (load_assess(&a, &assess))
        goto out_assess;
    ex = BS_EXIT_FAIL;
    uint64_t key = a.seed;
    if (!a.have_seed && getrandom(&key, sizeof key, 0) != sizeof key)
        key = clock_wall_ms() ^ 0x5eed5eed5eedull;
    if (a.data) {
        char err[256];
        if (statedb_open(a.data, &db, err)) {
            cli_error(CMD, "--data: %s", err);
            goto out_assess;
        }
        int rc = sv_state_open(db, a.operator_name, a.resume, &key, &o.state);
        if (rc == BS_ENOTFOUND) {
            cli_error(CMD, "--resume: %s holds no unfinished survey run", a.data);
            ex = BS_EXIT_USAGE;
            goto out_db;
        }
        if (rc) {
            cli_error(CMD, "--data: %s", bs_strerror(rc));
            goto out_db;
        }
    }
    o.csv = a.output && !strcmp(a.output, "csv");
    if (o.csv) {
        sv_out_csv_header(&o.line);
        fwrite(o.line.data, 1, o.line.len, stdout);
    }
    r.scope = &sc;
    r.operator_name = a.operator_name;
    if (assess)
        r.assessor = (struct sv_assessor){sv_assess_identify, sv_assess_default_creds, assess};
    r.creds = &creds;
    r.key = key;
    r.sink = (struct sv_sink){out_evidence, out_finding, out_host_done, &o};
    r.done = out_is_done;
    r.done_ctx = &o;
    r.stop = &survey_stop;
    uint64_t n_inf = 0;
    if (a.infected && report_infected(a.infected, &sc, &o, &n_inf)) {
        ex = BS_EXIT_USAGE;
        goto out_state;
    }
    if (db && !a.resume) {
        struct seed_ctx sctx = {&sc, &o, 0};
        struct statedb_rec_query q = {.kind = STATEDB_SEED};
        if (statedb_rec_list(db, &q, seed_cb, &sctx) < 0) {
            cli_error(CMD, "--data: cannot read the seeds");
            goto out_state;
        }
    }
    struct sv_stats st;
    int rc = sv_run(&r, &st);
    summary(&st, &o);
    if (rc == -EPERM || rc == -EACCES) {
        cli_error(CMD,
                  "--sweep syn: a raw socket needs CAP_NET_RAW (%s); use --sweep connect "
                  "or auto",
                  bs_strerror(rc));
    } else if (rc == -EADDRNOTAVAIL && r.sweep != SV_SWEEP_CONNECT) {
        cli_error(CMD, "--source: not an address of this machine (the SYN sweep's packets would "
                       "carry it)");
    } else if (rc) {
        cli_error(CMD, "%s", bs_strerror(rc));
    } else if (st.aborted) {
        cli_error(CMD, "aborted: %s (resume with --resume once the cause is understood)",
                  st.abort_why);
    } else {
        if (st.timed_out)
            fprintf(stderr, "botscope survey: stopped at --max-time; continue with --resume\n");
        if (st.interrupted)
            fprintf(stderr, "botscope survey: stopped by a signal; continue with --resume\n");
        ex = BS_EXIT_OK;
    }
    if (o.state) {
        int rc2 = sv_state_close(o.state, !rc && !st.aborted && !st.timed_out && !st.interrupted);
        o.state = NULL;
        if (rc2) {
            cli_error(CMD, "--data: %s", bs_strerror(rc2));
            ex = BS_EXIT_FAIL;
        }
    }
out_state:
    if (o.state)
        sv_state_close(o.state, false);
out_db:
    statedb_close(db);
out_assess:
    sv_assess_free(assess);
    sv_creds_release(&creds);
out_scope:
    sv_scope_release(&sc);
out_cfg:
    buf_release(&o.line);
    config_release(&cfg);
    return ex;
}

const struct cli_cmd cli_cmd_survey = {
    .name = "survey",
    .summary = "survey an authorised scope for weak, vulnerable or infected devices",
    .usage = survey_usage,
    .run = survey_run,
};
