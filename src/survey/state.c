/* state.c - evidence, findings and resume state in the state database (state.h). */
#include "survey/state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/jw.h"
#include "core/vec.h"
#include "survey/out.h"

#define RESUME_KEY "survey.resume"

struct open_finding {
    char *key; /* "addr|port|finding" */
    char *addr;
    char *body;
    uint16_t port;
    uint64_t first_ms;
    bool seen; /* found again in this run */
};

struct pending {
    struct statedb_rec rec;
    char *key, *addr, *body; /* owned */
};

struct sv_state {
    struct statedb *db;
    char *operator_name;
    uint64_t key;
    uint64_t low;    /* every position below is finished */
    struct vec done; /* uint64_t: sorted finished positions above low */
    struct vec pend; /* struct pending: records waiting for the next flush */
    uint64_t oldest_ms;
    struct vec open; /* struct open_finding, at most SV_STATE_MAX_OPEN */
    uint64_t remediated;
    int err;
};

#define DONE(st) ((uint64_t *)(st)->done.data)
#define PEND(st) ((struct pending *)(st)->pend.data)
#define OPEN(st) ((struct open_finding *)(st)->open.data)

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void pend_free(struct sv_state *st)
{
    for (size_t i = 0; i < st->pend.n; i++) {
        free(PEND(st)[i].key);
        free(PEND(st)[i].addr);
        free(PEND(st)[i].body);
    }
    st->pend.n = 0;
}

/* Queues a record; its strings are copied. */
static int pend_add(struct sv_state *st, const struct statedb_rec *r)
{
    /* Room first, counted at the end once the strings are copied. */
    int rc = vec_reserve(&st->pend, st->pend.n + 1);
    if (rc)
        return rc;
    struct pending *p = PEND(st) + st->pend.n;
    p->rec = *r;
    p->key = dup_str(r->key);
    p->addr = dup_str(r->addr);
    p->body = dup_str(r->body);
    if ((r->key && !p->key) || (r->addr && !p->addr) || (r->body && !p->body)) {
        free(p->key);
        free(p->addr);
        free(p->body);
        return BS_ENOMEM;
    }
    p->rec.key = p->key;
    p->rec.addr = p->addr;
    p->rec.body = p->body;
    p->rec.tenant = NULL;
    if (!st->pend.n)
        st->oldest_ms = clock_mono_ms();
    st->pend.n++;
    return 0;
}

static int flush(struct sv_state *st)
{
    if (!st->pend.n)
        return 0;
    struct statedb_rec *recs = malloc(st->pend.n * sizeof *recs);
    if (!recs)
        return BS_ENOMEM;
    for (size_t i = 0; i < st->pend.n; i++)
        recs[i] = PEND(st)[i].rec;
    int rc = statedb_rec_put(st->db, recs, st->pend.n);
    free(recs);
    pend_free(st);
    return rc;
}

/* The resume record's body. */
static int resume_body(struct sv_state *st, bool complete, struct buf *b)
{
    struct jw w;
    jw_init(&w, b);
    jw_obj(&w, NULL);
    jw_u64(&w, "key", st->key);
    jw_str(&w, "operator", st->operator_name);
    jw_bool(&w, "complete", complete);
    jw_u64(&w, "low", st->low);
    jw_arr(&w, "done");
    for (size_t i = 0; i < st->done.n; i++)
        jw_u64(&w, NULL, DONE(st)[i]);
    return jw_finish(&w);
}

static int queue_resume(struct sv_state *st, bool complete)
{
    struct buf b = BUF_INIT(64u << 20);
    int rc = resume_body(st, complete, &b);
    if (!rc) {
        uint64_t now = clock_wall_ms();
        struct statedb_rec r = {.kind = STATEDB_STATE,
                                .key = RESUME_KEY,
                                .first_ms = now,
                                .last_ms = now,
                                .status = complete ? "complete" : "running",
                                .body = b.data};
        rc = pend_add(st, &r);
    }
    buf_release(&b);
    return rc;
}

/* ---- loading ---- */

/* Reads an unsigned number following "name": in a JSON text we wrote ourselves. */
static bool json_u64(const char *body, const char *name, uint64_t *v)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(body, pat);
    if (!p)
        return false;
    char *end;
    *v = strtoull(p + strlen(pat), &end, 10);
    return end != p + strlen(pat);
}

static int load_resume(void *ctx, const struct statedb_rec *r)
{
    struct sv_state *st = ctx;
    if (!r->body || strstr(r->body, "\"complete\":true"))
        return 1; /* nothing to resume */
    uint64_t key, low;
    if (!json_u64(r->body, "key", &key) || !json_u64(r->body, "low", &low))
        return BS_ECORRUPT;
    st->key = key;
    st->low = low;
    const char *d = strstr(r->body, "\"done\":[");
    if (!d)
        return BS_ECORRUPT;
    d += 8;
    while (*d && *d != ']') {
        char *end;
        uint64_t v = strtoull(d, &end, 10);
        if (end == d)
            return BS_ECORRUPT;
        int rc;
        uint64_t *x = VEC_PUSH(&st->done, uint64_t, &rc);
        if (!x)
            return rc;
        *x = v;
        d = *end == ',' ? end + 1 : end;
    }
    return 2; /* found */
}

static int load_open(void *ctx, const struct statedb_rec *r)
{
    struct sv_state *st = ctx;
    if (!r->key || !r->addr)
        return 0;
    int rc = vec_reserve(&st->open, st->open.n + 1); /* counted once its strings are copied */
    if (rc)
        return rc;
    struct open_finding *o = OPEN(st) + st->open.n;
    const char *bar = strchr(r->key, '|');
    o->port = bar ? (uint16_t)strtoul(bar + 1, NULL, 10) : 0;
    o->key = strdup(r->key);
    o->addr = strdup(r->addr);
    o->body = strdup(r->body ? r->body : "{}");
    o->first_ms = r->first_ms;
    o->seen = false;
    if (!o->key || !o->addr || !o->body) {
        free(o->key);
        free(o->addr);
        free(o->body);
        return BS_ENOMEM;
    }
    st->open.n++;
    return 0;
}

int sv_state_open(struct statedb *db, const char *operator_name, bool resume, uint64_t *key,
                  struct sv_state **out)
{
    struct sv_state *st = calloc(1, sizeof *st);
    if (!st)
        return BS_ENOMEM;
    st->db = db;
    vec_init(&st->done, sizeof(uint64_t), 256, SV_STATE_MAX_DONE);
    vec_init(&st->open, sizeof(struct open_finding), 64, SV_STATE_MAX_OPEN);
    /* Between flushes: a batch of evidence, a remediation per open finding, the resume. */
    vec_init(&st->pend, sizeof(struct pending), 64, SV_STATE_BATCH + SV_STATE_MAX_OPEN + 2);
    st->operator_name = strdup(operator_name);
    if (!st->operator_name) {
        free(st);
        return BS_ENOMEM;
    }
    st->key = *key;
    int rc = 0;
    if (resume) {
        struct statedb_rec_query q = {.kind = STATEDB_STATE, .key = RESUME_KEY};
        rc = statedb_rec_list(db, &q, load_resume, st);
        if (rc == 2) {
            rc = 0;
            *key = st->key;
        } else if (rc >= 0) {
            rc = BS_ENOTFOUND;
        }
    }
    if (!rc) {
        /* Findings still open, for remediation; devices finished before a resume are not
         * visited again, so theirs are left as they are. */
        struct statedb_rec_query q = {.kind = STATEDB_FINDING, .status = "open"};
        rc = statedb_rec_list(db, &q, load_open, st);
    }
    if (rc) {
        sv_state_close(st, false);
        return rc;
    }
    *out = st;
    return 0;
}

int sv_state_close(struct sv_state *st, bool complete)
{
    if (!st)
        return 0;
    int rc = st->err;
    if (!rc)
        rc = queue_resume(st, complete);
    if (!rc)
        rc = flush(st);
    pend_free(st);
    vec_release(&st->pend);
    for (size_t i = 0; i < st->open.n; i++) {
        free(OPEN(st)[i].key);
        free(OPEN(st)[i].addr);
        free(OPEN(st)[i].body);
    }
    vec_release(&st->open);
    vec_release(&st->done);
    free(st->operator_name);
    free(st);
    return rc;
}

/* ---- the sink ---- */

int sv_state_evidence(void *ctx, const struct sv_evidence *e)
{
    struct sv_state *st = ctx;
    char dst[IPADDR_STRLEN], src[IPADDR_STRLEN] = "";
    ipaddr_format(&e->dst, dst, sizeof dst);
    if (!ipaddr_is_zero(&e->src))
        ipaddr_format(&e->src, src, sizeof src);
    struct buf b = BUF_INIT(4096);
    struct jw w;
    jw_open(&w, &b);
    jw_str(&w, "component", "survey");
    jw_str(&w, "operator", e->operator_name);
    jw_str(&w, "src", src);
    jw_str(&w, "dst", dst);
    jw_u64(&w, "port", e->port);
    jw_str(&w, "service", e->service);
    jw_u64(&w, "time_ms", e->time_ms);
    jw_str(&w, "tried", e->tried);
    jw_str(&w, "outcome", e->outcome);
    int rc = jw_close(&w);
    if (!rc) {
        b.data[--b.len] = '\0'; /* no newline in a stored body */
        struct statedb_rec r = {.kind = STATEDB_EVIDENCE,
                                .addr = dst,
                                .first_ms = e->time_ms,
                                .last_ms = e->time_ms,
                                .status = "survey",
                                .body = b.data};
        rc = pend_add(st, &r);
    }
    buf_release(&b);
    if (!rc &&
        (st->pend.n >= SV_STATE_BATCH || clock_mono_ms() - st->oldest_ms >= SV_STATE_FLUSH_MS))
        rc = flush(st);
    if (rc && !st->err)
        st->err = rc;
    return rc;
}

static void finding_key(const struct ipaddr *a, uint16_t port, const char *kind, char *out,
                        size_t len)
{
    char addr[IPADDR_STRLEN];
    ipaddr_format(a, addr, sizeof addr);
    snprintf(out, len, "%s|%u|%s", addr, port, kind);
}

int sv_state_finding(void *ctx, const struct sv_finding *f)
{
    struct sv_state *st = ctx;
    char key[IPADDR_STRLEN + 40], addr[IPADDR_STRLEN];
    finding_key(&f->addr, f->port, sv_finding_name(f->kind), key, sizeof key);
    ipaddr_format(&f->addr, addr, sizeof addr);
    for (size_t i = 0; i < st->open.n; i++)
        if (!strcmp(OPEN(st)[i].key, key))
            OPEN(st)[i].seen = true;
    struct buf b = BUF_INIT(8192);
    int rc = sv_out_ndjson(&b, f);
    if (!rc) {
        b.data[--b.len] = '\0';
        struct statedb_rec r = {.kind = STATEDB_FINDING,
                                .key = key,
                                .addr = addr,
                                .first_ms = f->time_ms,
                                .last_ms = f->time_ms,
                                .score = f->kind == SV_VULNERABLE_FIRMWARE ? 2.0 : 1.0,
                                .status = "open",
                                .body = b.data};
        rc = pend_add(st, &r);
    }
    buf_release(&b);
    if (rc && !st->err)
        st->err = rc;
    return rc;
}

static void remediate(struct sv_state *st, const struct ipaddr *a, const uint16_t *open,
                      size_t n_open)
{
    char addr[IPADDR_STRLEN];
    ipaddr_format(a, addr, sizeof addr);
    uint64_t now = clock_wall_ms();
    for (size_t i = 0; i < st->open.n; i++) {
        struct open_finding *o = &OPEN(st)[i];
        if (o->seen || strcmp(o->addr, addr))
            continue;
        bool answered = false;
        for (size_t k = 0; k < n_open; k++)
            answered |= open[k] == o->port;
        if (!answered)
            continue;
        struct statedb_rec r = {.kind = STATEDB_FINDING,
                                .key = o->key,
                                .addr = o->addr,
                                .first_ms = o->first_ms,
                                .last_ms = now,
                                .score = 0,
                                .status = "remediated",
                                .body = o->body};
        if (!pend_add(st, &r)) {
            o->seen = true; /* handled */
            st->remediated++;
        }
    }
}

static int add_done(struct sv_state *st, uint64_t pos)
{
    if (pos < st->low)
        return 0;
    if (pos == st->low) {
        st->low++;
    } else {
        size_t lo = 0, hi = st->done.n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (DONE(st)[mid] < pos)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < st->done.n && DONE(st)[lo] == pos)
            return 0;
        int rc = vec_reserve(&st->done, st->done.n + 1);
        if (rc)
            return rc;
        memmove(DONE(st) + lo + 1, DONE(st) + lo, (st->done.n - lo) * sizeof(uint64_t));
        DONE(st)[lo] = pos;
        st->done.n++;
    }
    /* Advance the low-water mark over the finished positions it now meets. */
    size_t k = 0;
    while (k < st->done.n && DONE(st)[k] == st->low) {
        st->low++;
        k++;
    }
    if (k) {
        memmove(DONE(st), DONE(st) + k, (st->done.n - k) * sizeof(uint64_t));
        st->done.n -= k;
    }
    return 0;
}

int sv_state_host_done(void *ctx, uint64_t pos, const struct ipaddr *a, const uint16_t *open,
                       size_t n_open)
{
    struct sv_state *st = ctx;
    if (st->err)
        return st->err;
    int rc = add_done(st, pos);
    if (!rc && a) {
        remediate(st, a, open, n_open);
        rc = queue_resume(st, false);
        if (!rc)
            rc = flush(st);
    }
    if (rc)
        st->err = rc;
    return rc;
}

bool sv_state_is_done(void *ctx, uint64_t pos)
{
    struct sv_state *st = ctx;
    if (pos < st->low)
        return true;
    size_t lo = 0, hi = st->done.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (DONE(st)[mid] < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->done.n && DONE(st)[lo] == pos;
}

uint64_t sv_state_remediated(const struct sv_state *st)
{
    return st->remediated;
}
