/* eval.c - precision, recall, F1 and detection delay of C&C candidates (see eval.h). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jw.h"
#include "core/vec.h"
#include "detect/dtext.h"
#include "detect/eval.h"

__attribute__((format(printf, 3, 4))) static int eerr(struct eval_error *err, unsigned long line,
                                                      const char *fmt, ...)
{
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return BS_EMALFORMED;
}

int eval_cands_add(struct eval_cands *cs, const struct eval_cand *c)
{
    if (!cs->v.esize)
        vec_init(&cs->v, sizeof(struct eval_cand), 64, EVAL_MAX_CANDIDATES);
    int rc;
    struct eval_cand *e = VEC_PUSH(&cs->v, struct eval_cand, &rc);
    if (!e)
        return rc;
    *e = *c;
    cs->c = cs->v.data;
    cs->n = cs->v.n;
    return 0;
}

void eval_cands_release(struct eval_cands *cs)
{
    vec_release(&cs->v);
    memset(cs, 0, sizeof *cs);
}

static int j_uint(json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return BS_EPARSE;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int cand_line(const char *line, size_t len, unsigned long lineno, struct eval_cands *cs,
                     struct eval_error *err)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return eerr(err, lineno, "not JSON: %s", je.text);
    int rc = 0;
    struct eval_cand c = {.line = lineno};
    json_t *addr = json_object_get(o, "addr"), *score = json_object_get(o, "score");
    json_t *det = json_object_get(o, "detected_ms"), *last = json_object_get(o, "last_ms");
    json_t *first = json_object_get(o, "first_ms");
    uint64_t port, proto;
    if (!json_is_object(o)) {
        rc = eerr(err, lineno, "a candidate line is a JSON object");
    } else if (!json_is_string(addr) || ipaddr_parse(json_string_value(addr), &c.addr)) {
        rc = eerr(err, lineno, "\"addr\" missing or not an address");
    } else if (j_uint(json_object_get(o, "port"), 65535, &port)) {
        rc = eerr(err, lineno, "\"port\" missing or not an integer 0..65535");
    } else if (j_uint(json_object_get(o, "proto"), 255, &proto)) {
        rc = eerr(err, lineno, "\"proto\" missing or not an integer 0..255");
    } else if (!json_is_number(score) || !isfinite(json_number_value(score))) {
        rc = eerr(err, lineno, "\"score\" missing or not a number");
    } else if ((det && !json_is_null(det) && j_uint(det, UINT64_MAX, &c.detected_ms)) ||
               (last && j_uint(last, UINT64_MAX, &c.last_ms)) ||
               (first && j_uint(first, UINT64_MAX, &c.first_ms))) {
        rc = eerr(err, lineno, "first_ms, last_ms and detected_ms must be integers (ms)");
    } else if ((!det || json_is_null(det)) && !last) {
        rc = eerr(err, lineno, "neither \"detected_ms\" nor \"last_ms\": no detection time");
    } else if (cs->n >= EVAL_MAX_CANDIDATES) {
        eerr(err, lineno, "more than %u candidates", EVAL_MAX_CANDIDATES);
        rc = BS_ELIMIT;
    }
    json_t *in = json_object_get(o, "intel");
    if (!rc && json_is_true(json_object_get(in, "listed"))) {
        json_t *fl = json_object_get(in, "first_listed_ms"), *lead = json_object_get(in, "lead_ms");
        uint64_t when = det && !json_is_null(det) ? c.detected_ms : c.last_ms;
        if (json_is_integer(fl) && json_integer_value(fl) >= 0) {
            c.listed = true;
            c.first_listed_ms = (uint64_t)json_integer_value(fl);
        } else if (json_is_integer(lead) &&
                   (json_integer_value(lead) >= 0 || (uint64_t)-json_integer_value(lead) <= when)) {
            c.listed = true;
            c.first_listed_ms = (uint64_t)((int64_t)when + json_integer_value(lead));
        } else {
            rc = eerr(err, lineno, "\"intel\" says listed without first_listed_ms or lead_ms");
        }
    }
    if (!rc) {
        c.port = (uint16_t)port;
        c.proto = (uint8_t)proto;
        c.score = json_number_value(score);
        if (!det || json_is_null(det))
            c.detected_ms = c.last_ms;
        rc = eval_cands_add(cs, &c);
    }
    json_decref(o);
    return rc;
}

static int read_lines(struct dtext_lines *l, struct eval_cands *cs, struct eval_error *err)
{
    int rc;
    while ((rc = dtext_lines_next(l)) == 1)
        if ((rc = cand_line(l->line, l->len, l->lineno, cs, err)))
            return rc;
    if (rc == BS_ELIMIT)
        return eerr(err, l->lineno + 1, "line longer than %u bytes", EVAL_MAX_LINE);
    return rc;
}

int eval_cands_read(FILE *f, struct eval_cands *cs, struct eval_error *err)
{
    struct dtext_lines l;
    dtext_lines_init_file(&l, NULL, 0, f, EVAL_MAX_LINE);
    int rc = read_lines(&l, cs, err);
    dtext_lines_release(&l);
    return rc;
}

int eval_cands_read_mem(const char *data, size_t len, struct eval_cands *cs, struct eval_error *err)
{
    struct dtext_lines l;
    dtext_lines_init_mem(&l, data, len, EVAL_MAX_LINE);
    int rc = read_lines(&l, cs, err);
    dtext_lines_release(&l);
    return rc;
}

/* ---- scoring ---- */

bool eval_match(const struct eval_cand *c, const struct truth_endpoint *e)
{
    if (ipaddr_cmp(&c->addr, &e->addr))
        return false;
    if ((c->port == 0 && c->proto == 0) || (e->port == 0 && e->proto == 0))
        return true;
    return c->port == e->port && c->proto == e->proto;
}

static int cmp_cand(const void *a, const void *b)
{
    const struct eval_cand *x = a, *y = b;
    int c = ipaddr_cmp(&x->addr, &y->addr);
    if (c)
        return c;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    if (x->proto != y->proto)
        return x->proto < y->proto ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* First index of ep[0..n) (sorted by address) whose address is >= a. */
static size_t lower_addr(const struct truth_endpoint *ep, size_t n, const struct ipaddr *a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ipaddr_cmp(&ep[mid].addr, a) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index of u[0..n) (sorted by address) whose address is >= a. */
static size_t lower_cand(const struct eval_cand *u, size_t n, const struct ipaddr *a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ipaddr_cmp(&u[mid].addr, a) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void prf(size_t tp, size_t claimed, size_t found, size_t total, double *p, double *r,
                double *f)
{
    *p = claimed ? (double)tp / (double)claimed : 1.0;
    *r = total ? (double)found / (double)total : 1.0;
    *f = *p + *r > 0 ? 2.0 * *p * *r / (*p + *r) : 0.0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void eval_result_release(struct eval_result *r)
{
    free(r->u);
    free(r->cls);
    free(r->found);
    free(r->detected_ms);
    free(r->days);
    memset(r, 0, sizeof *r);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Index of day d (a day number) in the sorted days, or r->ndays when it has no row. */
static size_t day_index(const struct eval_result *r, uint64_t d)
{
    size_t lo = 0, hi = r->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->days[mid].day_ms / EVAL_DAY_MS < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->ndays && r->days[lo].day_ms / EVAL_DAY_MS == d ? lo : r->ndays;
}

/* Rows only for the days that have a candidate or an active endpoint (a stray timestamp must
 * not make thousands of empty rows), at most EVAL_MAX_DAYS of them. */
static int do_days(const struct truth *t, struct eval_result *r)
{
    const size_t max_gather = (size_t)EVAL_MAX_DAYS * 16;
    uint64_t *d = malloc(max_gather * sizeof *d);
    if (!d)
        return BS_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < r->nu && n < max_gather; i++)
        if (r->cls[i] != EVAL_RELATED)
            d[n++] = r->u[i].detected_ms / EVAL_DAY_MS;
    for (size_t i = 0; i < t->n && n < max_gather; i++) {
        uint64_t a = t->ep[i].first_ms / EVAL_DAY_MS, b = t->ep[i].last_ms / EVAL_DAY_MS;
        for (uint64_t k = a; (k <= b || k == a) && n < max_gather; k++)
            d[n++] = k;
    }
    if (n == max_gather)
        r->days_truncated = true;
    if (n)
        qsort(d, n, sizeof *d, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || d[i] != d[m - 1])
            d[m++] = d[i];
    if (m > EVAL_MAX_DAYS) {
        m = EVAL_MAX_DAYS;
        r->days_truncated = true;
    }
    if (m && !(r->days = calloc(m, sizeof *r->days))) {
        free(d);
        return BS_ENOMEM;
    }
    r->ndays = m;
    for (size_t k = 0; k < m; k++)
        r->days[k].day_ms = d[k] * EVAL_DAY_MS;
    free(d);
    for (size_t i = 0; i < r->nu; i++) {
        if (r->cls[i] == EVAL_RELATED)
            continue;
        size_t k = day_index(r, r->u[i].detected_ms / EVAL_DAY_MS);
        if (k == r->ndays)
            continue;
        r->days[k].candidates++;
        if (r->cls[i] == EVAL_TP)
            r->days[k].tp++;
        else
            r->days[k].fp++;
    }
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a = t->ep[i].first_ms / EVAL_DAY_MS, b = t->ep[i].last_ms / EVAL_DAY_MS;
        for (size_t k = day_index(r, a); k < r->ndays; k++) {
            uint64_t day = r->days[k].day_ms / EVAL_DAY_MS;
            if (day > b && day > a)
                break;
            struct eval_day *dy = &r->days[k];
            dy->active++;
            if (r->found[i] && r->detected_ms[i] < (day + 1) * EVAL_DAY_MS)
                dy->found++;
        }
    }
    for (size_t k = 0; k < r->ndays; k++) {
        struct eval_day *dy = &r->days[k];
        prf(dy->tp, dy->candidates, dy->found, dy->active, &dy->precision, &dy->recall, &dy->f1);
    }
    return 0;
}

int eval_run(const struct truth *t, const struct eval_cands *cands, const struct eval_opts *o,
             struct eval_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = BS_ENOMEM;
    int64_t *delays = NULL;
    size_t n = 0;
    if (cands->n && !(r->u = malloc(cands->n * sizeof *r->u)))
        goto fail;
    for (size_t i = 0; i < cands->n; i++)
        if (cands->c[i].score >= o->min_score)
            r->u[n++] = cands->c[i];
    if (n)
        qsort(r->u, n, sizeof *r->u, cmp_cand);
    /* Merge lines of the same server: earliest detection, highest score. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct eval_cand *c = &r->u[i];
        struct eval_cand *prev = m ? &r->u[m - 1] : NULL;
        if (prev && !ipaddr_cmp(&prev->addr, &c->addr) && prev->port == c->port &&
            prev->proto == c->proto) {
            if (c->detected_ms < prev->detected_ms)
                prev->detected_ms = c->detected_ms;
            if (c->score > prev->score)
                prev->score = c->score;
            if (c->first_ms && (!prev->first_ms || c->first_ms < prev->first_ms))
                prev->first_ms = c->first_ms;
            if (c->last_ms > prev->last_ms)
                prev->last_ms = c->last_ms;
            if (c->listed && (!prev->listed || c->first_listed_ms < prev->first_listed_ms)) {
                prev->listed = true;
                prev->first_listed_ms = c->first_listed_ms;
            }
            continue;
        }
        r->u[m++] = *c;
    }
    r->nu = m;
    r->endpoints = t->n;
    if ((m && !(r->cls = calloc(m, sizeof *r->cls))) ||
        (t->n && (!(r->found = calloc(t->n, sizeof *r->found)) ||
                  !(r->detected_ms = calloc(t->n, sizeof *r->detected_ms)))))
        goto fail;
    for (size_t i = 0; i < m; i++) {
        const struct eval_cand *c = &r->u[i];
        bool hit = false;
        for (size_t k = lower_addr(t->ep, t->n, &c->addr);
             k < t->n && !ipaddr_cmp(&t->ep[k].addr, &c->addr); k++) {
            if (!eval_match(c, &t->ep[k]))
                continue;
            hit = true;
            if (!r->found[k] || c->detected_ms < r->detected_ms[k])
                r->detected_ms[k] = c->detected_ms;
            r->found[k] = true;
        }
        bool rel = false;
        if (!hit && !o->strict)
            for (size_t k = lower_addr(t->related, t->nrelated, &c->addr);
                 k < t->nrelated && !ipaddr_cmp(&t->related[k].addr, &c->addr); k++)
                rel = rel || eval_match(c, &t->related[k]);
        r->cls[i] = hit ? EVAL_TP : rel ? EVAL_RELATED : EVAL_FP;
        if (hit)
            r->tp++;
        else if (rel)
            r->related++;
        else
            r->fp++;
    }
    if (t->n && !(delays = malloc(t->n * sizeof *delays)))
        goto fail;
    for (size_t k = 0; k < t->n; k++) {
        if (!r->found[k])
            continue;
        r->nfound++;
        delays[r->ndelay++] = (int64_t)(r->detected_ms[k] - t->ep[k].first_ms);
    }
    prf(r->tp, r->tp + r->fp, r->nfound, t->n, &r->precision, &r->recall, &r->f1);
    if (r->ndelay) {
        qsort(delays, r->ndelay, sizeof *delays, cmp_i64);
        size_t h = r->ndelay / 2;
        r->delay_median_ms =
            r->ndelay % 2 ? delays[h] : delays[h - 1] + (delays[h] - delays[h - 1]) / 2;
        r->delay_max_ms = delays[r->ndelay - 1];
    }
    /* Lead over public listing, true positives only (a listed false positive says nothing
     * about being early). The delay array is free again: reuse it. */
    size_t nlead = 0;
    int64_t *leads = m ? malloc(m * sizeof *leads) : NULL;
    if (m && !leads)
        goto fail;
    for (size_t i = 0; i < m; i++) {
        if (r->cls[i] != EVAL_TP)
            continue;
        if (!r->u[i].listed) {
            r->tp_unlisted++;
            continue;
        }
        int64_t lead = (int64_t)(r->u[i].first_listed_ms - r->u[i].detected_ms);
        leads[nlead++] = lead;
        if (lead > 0)
            r->tp_listed_after++;
        else
            r->tp_listed_before++;
    }
    if (nlead) {
        qsort(leads, nlead, sizeof *leads, cmp_i64);
        size_t h = nlead / 2;
        r->lead_median_ms = nlead % 2 ? leads[h] : leads[h - 1] + (leads[h] - leads[h - 1]) / 2;
    }
    free(leads);
    /* By address: distinct truth addresses found, distinct candidate addresses right. */
    for (size_t k = 0; k < t->n; k++) {
        if (k && !ipaddr_cmp(&t->ep[k].addr, &t->ep[k - 1].addr))
            continue;
        r->hosts++;
        bool f = false;
        for (size_t j = k; j < t->n && !ipaddr_cmp(&t->ep[j].addr, &t->ep[k].addr); j++)
            f = f || r->found[j];
        /* An address is also found when a candidate names another port of it. */
        if (!f) {
            size_t i = lower_cand(r->u, m, &t->ep[k].addr);
            f = i < m && !ipaddr_cmp(&r->u[i].addr, &t->ep[k].addr);
        }
        r->hosts_found += f;
    }
    for (size_t i = 0; i < m; i++) {
        if (i && !ipaddr_cmp(&r->u[i].addr, &r->u[i - 1].addr))
            continue;
        bool related_only = true, right = false;
        for (size_t j = i; j < m && !ipaddr_cmp(&r->u[j].addr, &r->u[i].addr); j++)
            related_only = related_only && r->cls[j] == EVAL_RELATED;
        size_t k = lower_addr(t->ep, t->n, &r->u[i].addr);
        right = k < t->n && !ipaddr_cmp(&t->ep[k].addr, &r->u[i].addr);
        if (related_only && !right)
            continue;
        r->cand_hosts++;
        r->cand_hosts_tp += right;
    }
    prf(r->cand_hosts_tp, r->cand_hosts, r->hosts_found, r->hosts, &r->host_precision,
        &r->host_recall, &r->host_f1);
    if ((rc = do_days(t, r)))
        goto fail;
    free(delays);
    return 0;
fail:
    free(delays);
    eval_result_release(r);
    return rc;
}

/* ---- JSON ---- */

static void j_ep(struct jw *w, const struct ipaddr *a, uint16_t port, uint8_t proto)
{
    jw_obj(w, NULL);
    jw_ip(w, "addr", a);
    jw_u64(w, "port", port);
    jw_u64(w, "proto", proto);
}

/* The candidates of one class, each with its score and detection time. */
static void j_cands(struct jw *w, const char *key, const struct eval_result *r, enum eval_class cls)
{
    jw_arr(w, key);
    for (size_t i = 0; i < r->nu; i++) {
        if (r->cls[i] != cls)
            continue;
        const struct eval_cand *c = &r->u[i];
        j_ep(w, &c->addr, c->port, c->proto);
        jw_dbl(w, "score", c->score);
        jw_i64(w, "detected_ms", (int64_t)c->detected_ms);
        jw_end(w);
    }
    jw_end(w);
}

/* The truth's endpoints found (with detection time and delay) or missed. */
static void j_endpoints(struct jw *w, const char *key, const struct truth *t,
                        const struct eval_result *r, bool found)
{
    jw_arr(w, key);
    for (size_t k = 0; k < t->n; k++) {
        const struct truth_endpoint *e = &t->ep[k];
        if (r->found[k] != found)
            continue;
        j_ep(w, &e->addr, e->port, e->proto);
        jw_i64(w, "first_ms", (int64_t)e->first_ms);
        jw_i64(w, "last_ms", (int64_t)e->last_ms);
        if (found) {
            jw_i64(w, "detected_ms", (int64_t)r->detected_ms[k]);
            jw_i64(w, "delay_ms", (int64_t)(r->detected_ms[k] - e->first_ms));
        }
        jw_end(w);
    }
    jw_end(w);
}

int eval_json(const struct truth *t, const struct eval_result *r, const struct eval_opts *o,
              struct buf *b)
{
    struct jw w;
    jw_init(&w, b);
    jw_obj(&w, NULL);
    jw_str(&w, "truth_format", truth_format_name(t->format));
    jw_dbl(&w, "min_score", o->min_score); /* null when not set (not finite) */
    jw_bool(&w, "strict", o->strict);
    jw_dbl(&w, "precision", r->precision);
    jw_dbl(&w, "recall", r->recall);
    jw_dbl(&w, "f1", r->f1);
    jw_i64(&w, "candidates", (int64_t)r->nu);
    jw_i64(&w, "tp", (int64_t)r->tp);
    jw_i64(&w, "fp", (int64_t)r->fp);
    jw_i64(&w, "related_count", (int64_t)r->related);
    jw_i64(&w, "endpoints", (int64_t)r->endpoints);
    jw_i64(&w, "found", (int64_t)r->nfound);
    jw_i64(&w, "missed_count", (int64_t)(r->endpoints - r->nfound));
    jw_i64(&w, "infected_hosts", (int64_t)t->ninfected);
    jw_obj(&w, "hosts");
    jw_dbl(&w, "precision", r->host_precision);
    jw_dbl(&w, "recall", r->host_recall);
    jw_dbl(&w, "f1", r->host_f1);
    jw_i64(&w, "truth", (int64_t)r->hosts);
    jw_i64(&w, "found", (int64_t)r->hosts_found);
    jw_i64(&w, "candidates", (int64_t)r->cand_hosts);
    jw_i64(&w, "right", (int64_t)r->cand_hosts_tp);
    jw_end(&w);
    jw_obj(&w, "delay");
    jw_i64(&w, "count", (int64_t)r->ndelay);
    if (r->ndelay) {
        jw_i64(&w, "median_ms", (int64_t)r->delay_median_ms);
        jw_i64(&w, "max_ms", (int64_t)r->delay_max_ms);
    } else {
        jw_null(&w, "median_ms");
        jw_null(&w, "max_ms");
    }
    jw_end(&w);
    jw_obj(&w, "public_listing");
    jw_i64(&w, "listed_after_detection", (int64_t)r->tp_listed_after);
    jw_i64(&w, "listed_before_detection", (int64_t)r->tp_listed_before);
    jw_i64(&w, "not_listed", (int64_t)r->tp_unlisted);
    if (r->tp_listed_after + r->tp_listed_before)
        jw_i64(&w, "median_lead_ms", (int64_t)r->lead_median_ms);
    else
        jw_null(&w, "median_lead_ms");
    jw_end(&w);
    jw_bool(&w, "days_truncated", r->days_truncated);
    jw_arr(&w, "days");
    for (size_t k = 0; k < r->ndays; k++) {
        const struct eval_day *d = &r->days[k];
        jw_obj(&w, NULL);
        jw_i64(&w, "day_ms", (int64_t)d->day_ms);
        jw_dbl(&w, "precision", d->precision);
        jw_dbl(&w, "recall", d->recall);
        jw_dbl(&w, "f1", d->f1);
        jw_i64(&w, "candidates", (int64_t)d->candidates);
        jw_i64(&w, "tp", (int64_t)d->tp);
        jw_i64(&w, "fp", (int64_t)d->fp);
        jw_i64(&w, "active", (int64_t)d->active);
        jw_i64(&w, "found", (int64_t)d->found);
        jw_end(&w);
    }
    jw_end(&w);
    j_endpoints(&w, "found_endpoints", t, r, true);
    j_cands(&w, "true_positives", r, EVAL_TP);
    j_cands(&w, "false_positives", r, EVAL_FP);
    j_cands(&w, "related", r, EVAL_RELATED);
    j_endpoints(&w, "missed", t, r, false);
    return jw_close(&w);
}
