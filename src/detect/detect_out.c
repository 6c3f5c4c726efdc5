/* detect_out.c - a candidate as one NDJSON line (CLI.md "Detection" keys, plus detected_ms,
 * rule and the evidence object that explains the score). */
#include <math.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/jw.h"
#include "detect/detect.h"

static const char *const seed_source_names[SEED_EXPANSION + 1] = {
    [SEED_LIST] = "list",     [SEED_CSV] = "csv",         [SEED_TELESCOPE] = "telescope",
    [SEED_SURVEY] = "survey", [SEED_SCANNER] = "scanner", [SEED_EXPANSION] = "expansion",
};

/* A number with at most 3 decimals (scores and shares are read by people), as JSON text. */
static void num(struct jw *w, const char *key, double v)
{
    if (!isfinite(v))
        v = 0;
    double r = round(v * 1000.0) / 1000.0;
    char t[64];
    if (r == floor(r) && fabs(r) < 1e15)
        snprintf(t, sizeof t, "%.0f", r);
    else
        snprintf(t, sizeof t, "%.3f", r);
    jw_raw(w, key, t);
}

int detect_candidate_json(const struct detect_candidate *c, const struct detect_result *r,
                          const char *intel_json, struct buf *b)
{
    struct jw w;
    jw_open(&w, b);
    jw_ip(&w, "addr", &c->addr);
    jw_u64(&w, "port", c->port);
    jw_u64(&w, "proto", c->proto);
    num(&w, "score", c->score);
    jw_u64(&w, "first_ms", c->first_ms);
    jw_u64(&w, "last_ms", c->last_ms);
    jw_u64(&w, "detected_ms", c->detected_ms);
    jw_u64(&w, "clients", c->clients);
    jw_u64(&w, "seed_clients", c->seed_clients);
    jw_obj(&w, "evidence");
    jw_obj(&w, "features");
    for (int f = 0; f < DF_COUNT; f++)
        if (c->used[f])
            num(&w, detect_feature_name((enum detect_feature)f), c->value[f]);
    jw_end(&w);
    jw_obj(&w, "contributions");
    for (int f = 0; f < DF_COUNT; f++)
        if (c->used[f] && c->contrib[f] != 0)
            num(&w, detect_feature_name((enum detect_feature)f), c->contrib[f]);
    jw_end(&w);
    jw_arr(&w, "unused");
    for (int f = 0; f < DF_COUNT; f++)
        if (!c->used[f])
            jw_str(&w, NULL, detect_feature_name((enum detect_feature)f));
    jw_end(&w);
    jw_str(&w, "rule", c->rule);
    jw_u64(&w, "round", c->round);
    jw_obj(&w, "seeds");
    for (int s = 0; s <= SEED_EXPANSION; s++)
        if (c->seeds_by_source[s])
            jw_u64(&w, seed_source_names[s], c->seeds_by_source[s]);
    jw_end(&w);
    jw_u64(&w, "flows", c->flows);
    jw_u64(&w, "packets", c->packets);
    jw_u64(&w, "bytes", c->bytes);
    jw_u64(&w, "sampling", r->sampling);
    jw_u64(&w, "window_ms", c->window_ms);
    if (c->endpoints)
        jw_u64(&w, "endpoints", c->endpoints);
    if (c->has_previous) {
        jw_ip(&w, "previous_addr", &c->previous);
        num(&w, "previous_overlap", c->previous_overlap);
    }
    jw_end(&w);
    if (intel_json)
        jw_raw(&w, "intel", intel_json);
    return jw_close(&w);
}
