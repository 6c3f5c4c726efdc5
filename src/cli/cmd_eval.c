/* cmd_eval.c - `botscope eval`: precision, recall, F1 and detection delay of C&C candidates
 * against a ground truth (src/detect/eval.h has the matching rules). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "detect/eval.h"
#include "detect/truth.h"

static const char eval_usage[] =
    "usage: botscope eval --truth FILE [--candidates FILE|-] [--output table|json]\n"
    "                     [--min-score X] [--scenario NAME] [--strict] [--allow-empty]\n"
    "\n"
    "Compares C&C candidates (NDJSON as `botscope detect --output ndjson` writes them; stdin\n"
    "when --candidates is not given or is -) with a ground truth and prints precision, recall\n"
    "and F1, overall, by address and per UTC day, and the detection delay of every C&C found\n"
    "(the candidate's detected_ms, or last_ms, minus the C&C's first activity in the truth).\n"
    "\n"
    "Truth formats, recognised from the file: the simulator's truth.json, the c2-dev datasets'\n"
    "truth.json (all scenarios, or --scenario NAME), a Zeek conn.log with IoT-23/CTU labels\n"
    "(TSV with #fields, or the same columns as CSV as IoT-23 ships them; a detailed label\n"
    "starting with C&C marks the responder), and a CTU-13 binetflow (a From-Botnet label with\n"
    "a CC component marks the destination).\n"
    "\n"
    "Matching: a candidate matches a truth endpoint with the same address, port and protocol;\n"
    "port 0 with proto 0 is an address-level candidate and matches every endpoint of its\n"
    "address. Lines of the same endpoint are merged (earliest detection, highest score).\n"
    "Precision is over candidates, recall over truth endpoints. Candidates that hit only\n"
    "related infrastructure (the simulator's loaders and report servers) count as neither\n"
    "right nor wrong, unless --strict.\n"
    "\n"
    "Options:\n"
    "  --truth FILE          the ground truth (required)\n"
    "  --candidates FILE|-   candidate NDJSON (default: stdin)\n"
    "  -o, --output FMT      table (default) or json (one object: precision, recall, f1 at\n"
    "                        the top level; hosts, delay, days, true_positives,\n"
    "                        false_positives, related, missed, found_endpoints)\n"
    "  --min-score X         ignore candidates scoring below X (default: all)\n"
    "  --scenario NAME       one scenario of a c2-dev truth.json\n"
    "  --strict              related infrastructure counts as a false positive\n"
    "  --allow-empty         accept an empty candidate input (a detector that found nothing);\n"
    "                        otherwise it is refused as a likely mistake\n"
    "  --config FILE         configuration file\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error or malformed truth or candidates\n"
    "(the message names the file and line).\n";

static void fmt_dur(int64_t ms, char *buf, size_t len)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t a = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    uint64_t s = a / 1000;
    if (s >= 86400)
        snprintf(buf, len, "%s%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m", sign, s / 86400,
                 s % 86400 / 3600, s % 3600 / 60);
    else if (s >= 3600)
        snprintf(buf, len, "%s%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", sign, s / 3600,
                 s % 3600 / 60, s % 60);
    else
        snprintf(buf, len, "%s%" PRIu64 "m%02" PRIu64 ".%03" PRIu64 "s", sign, s / 60, s % 60,
                 a % 1000);
}

static void ep_text(const struct ipaddr *a, uint16_t port, uint8_t proto, char *buf, size_t len)
{
    char s[IPADDR_STRLEN];
    ipaddr_format(a, s, sizeof s);
    if (!port && !proto)
        snprintf(buf, len, "%s (any port)", s);
    else if (ipaddr_is_v4(a))
        snprintf(buf, len, "%s:%u/%u", s, port, proto);
    else
        snprintf(buf, len, "[%s]:%u/%u", s, port, proto);
}

static void print_table(const char *truth_path, const struct truth *t, const struct eval_result *r,
                        const struct eval_opts *o)
{
    char a[80], b[40], c[40];
    printf("truth       %s (%s): %zu C&C endpoints, %zu infected hosts\n", truth_path,
           truth_format_name(t->format), t->n, t->ninfected);
    char ms[40] = "all scores";
    if (isfinite(o->min_score))
        snprintf(ms, sizeof ms, "score >= %g", o->min_score);
    printf("candidates  %zu after merging (%s): %zu right, %zu wrong, %zu related%s\n", r->nu, ms,
           r->tp, r->fp, r->related, o->strict ? " (strict)" : "");
    printf("\n%-12s %9s %9s %9s\n", "", "precision", "recall", "f1");
    printf("%-12s %9.3f %9.3f %9.3f   (%zu of %zu endpoints found)\n", "endpoints", r->precision,
           r->recall, r->f1, r->nfound, r->endpoints);
    printf("%-12s %9.3f %9.3f %9.3f   (%zu of %zu addresses found)\n", "addresses",
           r->host_precision, r->host_recall, r->host_f1, r->hosts_found, r->hosts);
    if (r->ndelay) {
        fmt_dur(r->delay_median_ms, b, sizeof b);
        fmt_dur(r->delay_max_ms, c, sizeof c);
        printf("\ndetection delay  median %s  max %s  (%zu found)\n", b, c, r->ndelay);
    }
    if (r->ndays) {
        printf("\n%-10s %10s %4s %4s %7s %6s %9s %9s %9s\n", "day (UTC)", "candidates", "tp", "fp",
               "active", "found", "precision", "recall", "f1");
        for (size_t k = 0; k < r->ndays; k++) {
            const struct eval_day *d = &r->days[k];
            if (!d->candidates && !d->active)
                continue;
            clock_format_utc(d->day_ms, b, sizeof b);
            b[10] = '\0';
            printf("%-10s %10zu %4zu %4zu %7zu %6zu %9.3f %9.3f %9.3f\n", b, d->candidates, d->tp,
                   d->fp, d->active, d->found, d->precision, d->recall, d->f1);
        }
        if (r->days_truncated)
            printf("(more than %u days: the rest is not shown)\n", EVAL_MAX_DAYS);
    }
    int head = 0;
    for (size_t k = 0; k < t->n; k++) {
        const struct truth_endpoint *e = &t->ep[k];
        if (!head++)
            printf("\nC&C endpoints\n");
        ep_text(&e->addr, e->port, e->proto, a, sizeof a);
        clock_format_utc(e->first_ms, b, sizeof b);
        if (r->found[k]) {
            fmt_dur((int64_t)(r->detected_ms[k] - e->first_ms), c, sizeof c);
            printf("  found   %-40s first %s  delay %s\n", a, b, c);
        } else {
            printf("  MISSED  %-40s first %s\n", a, b);
        }
    }
    head = 0;
    for (size_t i = 0; i < r->nu; i++) {
        if (r->cls[i] == EVAL_TP)
            continue;
        if (!head++)
            printf("\ncandidates that are not C&C\n");
        ep_text(&r->u[i].addr, r->u[i].port, r->u[i].proto, a, sizeof a);
        clock_format_utc(r->u[i].detected_ms, b, sizeof b);
        printf("  %-7s %-40s score %8.2f  detected %s\n",
               r->cls[i] == EVAL_FP ? "wrong" : "related", a, r->u[i].score, b);
    }
}

static int eval_run_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        {"truth", required_argument, NULL, 't'},
        {"candidates", required_argument, NULL, 'C'},
        {"output", required_argument, NULL, 'o'},
        {"min-score", required_argument, NULL, 'm'},
        {"scenario", required_argument, NULL, 's'},
        {"strict", no_argument, NULL, 'S'},
        {"allow-empty", no_argument, NULL, 'E'},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *truth_path = NULL, *cand_path = "-", *output = "table", *scenario = NULL;
    const char *cfgpath = NULL;
    struct eval_opts eo = {.min_score = -INFINITY};
    bool allow_empty = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            truth_path = optarg;
            break;
        case 'C':
            cand_path = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 's':
            scenario = optarg;
            break;
        case 'S':
            eo.strict = true;
            break;
        case 'E':
            allow_empty = true;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'm': {
            char *e;
            errno = 0;
            eo.min_score = strtod(optarg, &e);
            if (errno || *e || e == optarg || !isfinite(eo.min_score)) {
                cli_error("eval", "--min-score: '%s' is not a number", optarg);
                return BS_EXIT_USAGE;
            }
            break;
        }
        default:
            cli_usage(&cli_cmd_eval, stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("eval", "unexpected argument '%s'", argv[optind]);
        return BS_EXIT_USAGE;
    }
    if (!truth_path) {
        cli_error("eval", "--truth FILE is required");
        return BS_EXIT_USAGE;
    }
    if (strcmp(output, "table") && strcmp(output, "json")) {
        cli_error("eval", "--output: '%s' is not table or json", output);
        return BS_EXIT_USAGE;
    }
    struct config cfg;
    int rc = cli_load_config("eval", cfgpath, &cfg);
    if (rc)
        return rc;
    cli_set_log_level(&cfg, 0, 0);

    int exit_code = BS_EXIT_OK;
    struct truth t = {0};
    struct eval_cands cs = {0};
    struct eval_result r = {0};
    struct buf out = BUF_INIT(1u << 30);
    FILE *cf = NULL;
    struct truth_error terr;
    if ((rc = truth_load(truth_path, NULL, scenario, &t, &terr))) {
        if (rc == BS_ENOMEM || (rc < 0 && rc > -4096 && rc != -ENOENT && rc != -EISDIR))
            exit_code = BS_EXIT_FAIL;
        else
            exit_code = BS_EXIT_USAGE;
        if (terr.msg[0] && terr.line)
            cli_error("eval", "%s: line %lu: %s", truth_path, terr.line, terr.msg);
        else if (terr.msg[0])
            cli_error("eval", "%s: %s", truth_path, terr.msg);
        else
            cli_error("eval", "%s: %s", truth_path, bs_strerror(rc));
        goto out;
    }
    int from_stdin = !strcmp(cand_path, "-");
    const char *cname = from_stdin ? "(stdin)" : cand_path;
    if (!(cf = from_stdin ? stdin : fopen(cand_path, "r"))) {
        cli_error("eval", "%s: %s", cand_path, strerror(errno));
        exit_code = errno == ENOENT ? BS_EXIT_USAGE : BS_EXIT_FAIL;
        goto out;
    }
    struct eval_error eerr = {0};
    if ((rc = eval_cands_read(cf, &cs, &eerr))) {
        exit_code = rc == BS_ENOMEM || (rc < 0 && rc > -4096) ? BS_EXIT_FAIL : BS_EXIT_USAGE;
        if (eerr.msg[0])
            cli_error("eval", "%s: line %lu: %s", cname, eerr.line, eerr.msg);
        else
            cli_error("eval", "%s: %s", cname, bs_strerror(rc));
        goto out;
    }
    if (!cs.n && !allow_empty) {
        cli_error("eval",
                  "%s: no candidate lines (give --allow-empty if the detector really "
                  "found nothing)",
                  cname);
        exit_code = BS_EXIT_USAGE;
        goto out;
    }
    if ((rc = eval_run(&t, &cs, &eo, &r))) {
        cli_error("eval", "%s", bs_strerror(rc));
        exit_code = BS_EXIT_FAIL;
        goto out;
    }
    if (!strcmp(output, "json")) {
        if ((rc = eval_json(&t, &r, &eo, &out))) {
            cli_error("eval", "%s", bs_strerror(rc));
            exit_code = BS_EXIT_FAIL;
            goto out;
        }
        fwrite(out.data, 1, out.len, stdout);
    } else {
        print_table(truth_path, &t, &r, &eo);
    }
    if (fflush(stdout)) {
        cli_error("eval", "writing the result: %s", strerror(errno));
        exit_code = BS_EXIT_FAIL;
    }
out:
    if (cf && cf != stdin)
        fclose(cf);
    buf_release(&out);
    eval_result_release(&r);
    eval_cands_release(&cs);
    truth_release(&t);
    config_release(&cfg);
    return exit_code;
}

const struct cli_cmd cli_cmd_eval = {
    .name = "eval",
    .summary = "score C&C candidates against a ground truth (precision, recall, delay)",
    .usage = eval_usage,
    .run = eval_run_cmd,
};
