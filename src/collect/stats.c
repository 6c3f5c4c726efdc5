/* stats.c - statistics formatting (see stats.h). */
#include "collect/stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>

#include "core/err.h"

static const char *const version_names[4] = {"v5", "v9", "ipfix", "sflow"};

int stats_exporter_line(const struct exporter_snap *s, struct buf *b)
{
    char a[IPADDR_STRLEN];
    const struct flowdec_stats *st = &s->st;
    int rc = buf_printf(b, "exporter %s: datagrams %" PRIu64, ipaddr_format(&s->addr, a, sizeof a),
                        st->datagrams);
    const char *sep = " (";
    for (int v = 0; v < 4; v++) {
        if (st->datagrams_by_version[v]) {
            rc |=
                buf_printf(b, "%s%s %" PRIu64, sep, version_names[v], st->datagrams_by_version[v]);
            sep = ", ";
        }
    }
    if (*sep == ',')
        rc |= buf_puts(b, ")");
    uint64_t errs = 0;
    for (unsigned k = 1; k < FLOWDEC_ERR__COUNT; k++)
        errs += st->errors[k];
    rc |= buf_printf(
        b, ", flows %" PRIu64 ", options %" PRIu64 ", templates %" PRIu64 ", errors %" PRIu64,
        st->flows, st->options_records, st->templates_learnt, errs);
    sep = " (";
    for (unsigned k = 1; k < FLOWDEC_ERR__COUNT; k++) {
        if (st->errors[k]) {
            rc |= buf_printf(b, "%s%s %" PRIu64, sep, flowdec_err_name(k), st->errors[k]);
            sep = ", ";
        }
    }
    if (*sep == ',')
        rc |= buf_puts(b, ")");
    rc |= buf_printf(b,
                     ", bad_datagrams %" PRIu64 ", no_template %" PRIu64 ", seq_gaps %" PRIu64
                     ", lost_flows %" PRIu64 "\n",
                     st->bad_datagrams, st->no_template_sets, st->seq_gaps, st->lost_flows);
    return rc ? BS_ELIMIT : 0;
}

int stats_prometheus_family(struct buf *b, const char *name, const char *type, const char *help)
{
    return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type) ? BS_ELIMIT : 0;
}

int stats_prometheus_sample(struct buf *b, const char *name, const char *label, uint64_t v)
{
    if (label)
        return buf_printf(b, "%s{%s} %" PRIu64 "\n", name, label, v) ? BS_ELIMIT : 0;
    return buf_printf(b, "%s %" PRIu64 "\n", name, v) ? BS_ELIMIT : 0;
}

struct stat_field {
    const char *name;
    const char *type;
    const char *help;
    size_t off;  /* offset of a uint64_t in struct flowdec_stats */
    int gauge32; /* the field is a uint32_t gauge */
};

#define F64(n, t, h, f)                                                                            \
    {                                                                                              \
        n, t, h, offsetof(struct flowdec_stats, f), 0                                              \
    }
#define F32(n, h, f)                                                                               \
    {                                                                                              \
        n, "gauge", h, offsetof(struct flowdec_stats, f), 1                                        \
    }

static const struct stat_field fields[] = {
    F64("datagrams_total", "counter", "Export datagrams decoded or attempted.", datagrams),
    F64("flows_total", "counter", "Flow records decoded.", flows),
    F64("options_records_total", "counter", "Options data records applied (not emitted).",
        options_records),
    F64("templates_learnt_total", "counter", "Template records accepted, refreshes included.",
        templates_learnt),
    F64("bad_datagrams_total", "counter", "Datagrams with at least one decode error.",
        bad_datagrams),
    F64("no_template_sets_total", "counter", "Data sets dropped because their template never came.",
        no_template_sets),
    F64("pending_sets_total", "counter", "Data sets parked until their template arrives.",
        pending_sets),
    F64("templates_evicted_total", "counter",
        "Least recently used templates dropped to make room at the template cap.",
        templates_evicted),
    F64("seq_gaps_total", "counter", "Sequence-number gaps seen.", seq_gaps),
    F64("seq_resets_total", "counter", "Backwards sequence jumps (exporter restarts).", seq_resets),
    F64("lost_flows_total", "counter",
        "Flow records lost before reaching the collector, from sequence gaps (v9: estimated).",
        lost_flows),
    F32("templates", "Templates held now.", templates_now),
    F32("samplers", "Samplers held now.", samplers_now),
    F32("pending_bytes", "Bytes of data sets parked now.", pending_now),
};

/* Longest sample line: the name and label buffers below, braces, space, 20 digits, '\n'. */
#define SAMPLE_MAX (128 + 96 + 24)

size_t stats_prometheus_exporters_max(size_t n)
{
    size_t nf = sizeof fields / sizeof fields[0], head = 0;
    for (size_t f = 0; f < nf; f++)
        head += 2 * 128 + strlen(fields[f].help) + 32;
    head += 2 * 128 + 64; /* decode_errors_total */
    return head + n * (nf + FLOWDEC_ERR__COUNT - 1) * SAMPLE_MAX;
}

int stats_prometheus_exporters(const struct exporter_snap *s, size_t n, struct buf *b)
{
    int rc = 0;
    char name[128], label[96], a[IPADDR_STRLEN];
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        snprintf(name, sizeof name, "botscope_collect_exporter_%s", fields[f].name);
        rc |= stats_prometheus_family(b, name, fields[f].type, fields[f].help);
        for (size_t i = 0; i < n; i++) {
            const char *base = (const char *)&s[i].st + fields[f].off;
            uint64_t v;
            if (fields[f].gauge32) {
                uint32_t v32;
                memcpy(&v32, base, sizeof v32);
                v = v32;
            } else {
                memcpy(&v, base, sizeof v);
            }
            snprintf(label, sizeof label, "exporter=\"%s\"",
                     ipaddr_format(&s[i].addr, a, sizeof a));
            rc |= stats_prometheus_sample(b, name, label, v);
        }
    }
    rc |= stats_prometheus_family(b, "botscope_collect_exporter_decode_errors_total", "counter",
                                  "Decode errors by kind.");
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 1; k < FLOWDEC_ERR__COUNT; k++) {
            snprintf(label, sizeof label, "exporter=\"%s\",kind=\"%s\"",
                     ipaddr_format(&s[i].addr, a, sizeof a), flowdec_err_name(k));
            rc |= stats_prometheus_sample(b, "botscope_collect_exporter_decode_errors_total", label,
                                          s[i].st.errors[k]);
        }
    }
    return rc ? BS_ELIMIT : 0;
}
