/* stats.h - formatting the collector's per-exporter statistics: the stderr summary lines of an
 * offline run and periodic log lines, and the Prometheus text exposition (metrics endpoint).
 *
 * The numbers come from flowdec (struct flowdec_stats, per exporter); the decode thread that
 * owns an exporter copies them into exporter_snap records, which other threads format. Pure
 * formatting: no I/O, no locks.
 */
#ifndef BS_COLLECT_STATS_H
#define BS_COLLECT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ipaddr.h"
#include "proto/flowdec.h"

struct exporter_snap {
    struct ipaddr addr;
    uint64_t last_ms;
    struct flowdec_stats st;
};

/* Appends one line (ending in '\n'):
 * "exporter 192.0.2.1: datagrams 7 (ipfix 7), flows 29, options 2, templates 27, errors 0,
 *  no_template 0, seq_gaps 1, lost_flows 5"; errors list their kinds when non-zero:
 * "errors 2 (trunc 1, record 1)". Returns 0 or BS_ELIMIT. */
int stats_exporter_line(const struct exporter_snap *s, struct buf *b);

/* Appends the per-exporter metric families (HELP, TYPE, one sample per exporter) in the
 * Prometheus text format 0.0.4. Names start with botscope_collect_exporter_. */
int stats_prometheus_exporters(const struct exporter_snap *s, size_t n, struct buf *b);

/* An upper bound on the bytes stats_prometheus_exporters() appends for n exporters (every
 * name, label and value at its longest), so a response buffer can be capped by the number of
 * exporters, itself capped by collect.max_exporters, instead of by a fixed size that enough
 * exporters exceed. */
size_t stats_prometheus_exporters_max(size_t n);

/* Appends one metric family with a single unlabelled sample (or labelled, when label is
 * non-NULL: label is the raw `key="value"` text). type is "counter" or "gauge". */
int stats_prometheus_family(struct buf *b, const char *name, const char *type, const char *help);
int stats_prometheus_sample(struct buf *b, const char *name, const char *label, uint64_t v);

#endif
