/* detect_out.c - a candidate as one NDJSON line (CLI.md "Detection" keys, plus detected_ms,
 * rule and the evidence object that explains the score). */
#include <math.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jw.h"
#include "detect/detect.h"

static const char *const seed_source_names[SEED_EXPANSION + 1] = {
    [SEED_LIST] = "list",     [SEED_CSV] = "csv",         [SEED_TELESCOPE] = "telescope",
    [SEED_SURVEY] = "survey", [SEED_SCANNER] = "scanner", [SEED_EXPANSION] = "expansion",
};

/* A number as JSON with at most 3 decimals (scores and shares are read by people). */
static void num(struct buf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    double r = round(v * 1000.0) / 1000.0;
    if (r == floor(r) && fabs(r) < 1e15)
        buf_printf(b, "%.0f", r);
    else
        buf_printf(b, "%.3f", r);
}

int detect_candidate_json(const struct detect_candidate *c, const struct detect_result *r,
                          const char *intel_json, struct buf *b)
{
    struct buf ev = BUF_INIT(1 << 16);
    char tmp[IPADDR_STRLEN];
    buf_puts(&ev, "{\"features\":{");
    bool first = true;
    for (int f = 0; f < DF_COUNT; f++) {
        if (!c->used[f])
            continue;
        buf_printf(&ev, "%s\"%s\":", first ? "" : ",", detect_feature_name((enum detect_feature)f));
        num(&ev, c->value[f]);
        first = false;
    }
    buf_puts(&ev, "},\"contributions\":{");
    first = true;
    for (int f = 0; f < DF_COUNT; f++) {
        if (!c->used[f] || c->contrib[f] == 0)
            continue;
        buf_printf(&ev, "%s\"%s\":", first ? "" : ",", detect_feature_name((enum detect_feature)f));
        num(&ev, c->contrib[f]);
        first = false;
    }
    buf_puts(&ev, "},\"unused\":[");
    first = true;
    for (int f = 0; f < DF_COUNT; f++) {
        if (c->used[f])
            continue;
        buf_printf(&ev, "%s\"%s\"", first ? "" : ",", detect_feature_name((enum detect_feature)f));
        first = false;
    }
    buf_printf(&ev, "],\"rule\":\"%s\",\"round\":%u,\"seeds\":{", c->rule, c->round);
    first = true;
    for (int s = 0; s <= SEED_EXPANSION; s++) {
        if (!c->seeds_by_source[s])
            continue;
        buf_printf(&ev, "%s\"%s\":%u", first ? "" : ",", seed_source_names[s],
                   c->seeds_by_source[s]);
        first = false;
    }
    buf_printf(&ev,
               "},\"flows\":%llu,\"packets\":%llu,\"bytes\":%llu,\"sampling\":%u,"
               "\"window_ms\":%llu",
               (unsigned long long)c->flows, (unsigned long long)c->packets,
               (unsigned long long)c->bytes, r->sampling, (unsigned long long)c->window_ms);
    if (c->has_previous) {
        buf_printf(&ev, ",\"previous_addr\":\"%s\",\"previous_overlap\":",
                   ipaddr_format(&c->previous, tmp, sizeof tmp));
        num(&ev, c->previous_overlap);
    }
    int rc = buf_putc(&ev, '}');
    if (rc) {
        buf_release(&ev);
        return rc;
    }
    struct jw w;
    jw_open(&w, b);
    jw_ip(&w, "addr", &c->addr);
    jw_u64(&w, "port", c->port);
    jw_u64(&w, "proto", c->proto);
    struct buf sc = BUF_INIT(64);
    num(&sc, c->score);
    jw_raw(&w, "score", sc.data ? sc.data : "0");
    buf_release(&sc);
    jw_u64(&w, "first_ms", c->first_ms);
    jw_u64(&w, "last_ms", c->last_ms);
    jw_u64(&w, "detected_ms", c->detected_ms);
    jw_u64(&w, "clients", c->clients);
    jw_u64(&w, "seed_clients", c->seed_clients);
    jw_raw(&w, "evidence", ev.data);
    if (intel_json)
        jw_raw(&w, "intel", intel_json);
    rc = jw_close(&w);
    buf_release(&ev);
    return rc;
}
