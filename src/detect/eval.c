/* eval.c - precision, recall, F1 and detection delay of C&C candidates (see eval.h). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
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

void eval_cands_release(struct eval_cands *cs)
{
    free(cs->c);
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
    if (!rc) {
        c.port = (uint16_t)port;
        c.proto = (uint8_t)proto;
        c.score = json_number_value(score);
        if (!det || json_is_null(det))
            c.detected_ms = c.last_ms;
        if (cs->n == cs->cap) {
            size_t nc = cs->cap ? cs->cap * 2 : 64;
            struct eval_cand *n = realloc(cs->c, nc * sizeof *n);
            if (!n) {
                rc = BS_ENOMEM;
                goto out;
            }
            cs->c = n;
            cs->cap = nc;
        }
        cs->c[cs->n++] = c;
    }
out:
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

static json_t *j_ep(const struct ipaddr *a, uint16_t port, uint8_t proto)
{
    char s[IPADDR_STRLEN];
    ipaddr_format(a, s, sizeof s);
    return json_pack("{s:s,s:I,s:I}", "addr", s, "port", (json_int_t)port, "proto",
                     (json_int_t)proto);
}

static json_t *j_cand(const struct eval_cand *c)
{
    json_t *o = j_ep(&c->addr, c->port, c->proto);
    if (o) {
        json_object_set_new(o, "score", json_real(c->score));
        json_object_set_new(o, "detected_ms", json_integer((json_int_t)c->detected_ms));
    }
    return o;
}

int eval_json(const struct truth *t, const struct eval_result *r, const struct eval_opts *o,
              struct buf *b)
{
    json_t *root = json_object(), *tp = json_array(), *fp = json_array(), *rel = json_array();
    json_t *miss = json_array(), *found = json_array(), *days = json_array();
    int rc = BS_ENOMEM;
    if (!root || !tp || !fp || !rel || !miss || !found || !days)
        goto out;
    json_object_set_new(root, "truth_format", json_string(truth_format_name(t->format)));
    json_object_set_new(root, "min_score",
                        isfinite(o->min_score) ? json_real(o->min_score) : json_null());
    json_object_set_new(root, "strict", json_boolean(o->strict));
    json_object_set_new(root, "precision", json_real(r->precision));
    json_object_set_new(root, "recall", json_real(r->recall));
    json_object_set_new(root, "f1", json_real(r->f1));
    json_object_set_new(root, "candidates", json_integer((json_int_t)r->nu));
    json_object_set_new(root, "tp", json_integer((json_int_t)r->tp));
    json_object_set_new(root, "fp", json_integer((json_int_t)r->fp));
    json_object_set_new(root, "related_count", json_integer((json_int_t)r->related));
    json_object_set_new(root, "endpoints", json_integer((json_int_t)r->endpoints));
    json_object_set_new(root, "found", json_integer((json_int_t)r->nfound));
    json_object_set_new(root, "missed_count", json_integer((json_int_t)(r->endpoints - r->nfound)));
    json_object_set_new(root, "infected_hosts", json_integer((json_int_t)t->ninfected));
    json_object_set_new(root, "hosts",
                        json_pack("{s:f,s:f,s:f,s:I,s:I,s:I,s:I}", "precision", r->host_precision,
                                  "recall", r->host_recall, "f1", r->host_f1, "truth",
                                  (json_int_t)r->hosts, "found", (json_int_t)r->hosts_found,
                                  "candidates", (json_int_t)r->cand_hosts, "right",
                                  (json_int_t)r->cand_hosts_tp));
    json_t *delay =
        r->ndelay ? json_pack("{s:I,s:I,s:I}", "count", (json_int_t)r->ndelay, "median_ms",
                              (json_int_t)r->delay_median_ms, "max_ms", (json_int_t)r->delay_max_ms)
                  : json_pack("{s:i,s:n,s:n}", "count", 0, "median_ms", "max_ms");
    json_object_set_new(root, "delay", delay);
    for (size_t i = 0; i < r->nu; i++)
        json_array_append_new(r->cls[i] == EVAL_TP   ? tp
                              : r->cls[i] == EVAL_FP ? fp
                                                     : rel,
                              j_cand(&r->u[i]));
    for (size_t k = 0; k < t->n; k++) {
        const struct truth_endpoint *e = &t->ep[k];
        json_t *x = j_ep(&e->addr, e->port, e->proto);
        if (!x)
            goto out;
        json_object_set_new(x, "first_ms", json_integer((json_int_t)e->first_ms));
        json_object_set_new(x, "last_ms", json_integer((json_int_t)e->last_ms));
        if (r->found[k]) {
            json_object_set_new(x, "detected_ms", json_integer((json_int_t)r->detected_ms[k]));
            json_object_set_new(x, "delay_ms",
                                json_integer((json_int_t)(r->detected_ms[k] - e->first_ms)));
            json_array_append_new(found, x);
        } else {
            json_array_append_new(miss, x);
        }
    }
    for (size_t k = 0; k < r->ndays; k++) {
        const struct eval_day *d = &r->days[k];
        json_array_append_new(
            days,
            json_pack("{s:I,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I}", "day_ms", (json_int_t)d->day_ms,
                      "precision", d->precision, "recall", d->recall, "f1", d->f1, "candidates",
                      (json_int_t)d->candidates, "tp", (json_int_t)d->tp, "fp", (json_int_t)d->fp,
                      "active", (json_int_t)d->active, "found", (json_int_t)d->found));
    }
    json_object_set_new(root, "days_truncated", json_boolean(r->days_truncated));
    json_object_set(root, "days", days);
    json_object_set(root, "found_endpoints", found);
    json_object_set(root, "true_positives", tp);
    json_object_set(root, "false_positives", fp);
    json_object_set(root, "related", rel);
    json_object_set(root, "missed", miss);
    char *s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (!s)
        goto out;
    rc = buf_puts(b, s);
    if (!rc)
        rc = buf_putc(b, '\n');
    free(s);
out:
    json_decref(days);
    json_decref(found);
    json_decref(miss);
    json_decref(rel);
    json_decref(fp);
    json_decref(tp);
    json_decref(root);
    return rc;
}
