/* intel.c - threat-intelligence import (ThreatFox CSV/JSON, Feodo Tracker CSV, plain lists),
 * lookup and candidate annotation (see intel.h). */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jw.h"
#include "core/vec.h"
#include "detect/dtext.h"
#include "detect/intel.h"
#include "store/statedb.h"

static const char *const format_names[INTEL_FORMAT_COUNT] = {"threatfox-csv", "threatfox-json",
                                                             "feodo-csv", "list"};
static const char *const default_source[INTEL_FORMAT_COUNT] = {"threatfox", "threatfox", "feodo",
                                                               "list"};

int intel_format_parse(const char *name)
{
    for (int i = 0; i < INTEL_FORMAT_COUNT; i++)
        if (!strcmp(name, format_names[i]))
            return i;
    return -1;
}

const char *intel_format_name(enum intel_format f)
{
    return (unsigned)f < INTEL_FORMAT_COUNT ? format_names[f] : NULL;
}

/* Cap on one indicator's stored body: a CSV line is at most INTEL_MAX_LINE bytes, but a JSON
 * feed's strings are not bounded by lines; an indicator whose fields need more (escaped) is
 * refused as malformed. */
#define INTEL_BODY_MAX (1u << 20)

/* The records of one file, built before anything is written. */
struct owned {
    char *key, *addr, *body; /* what the record of the same index points to */
};

struct irecs {
    struct vec r;   /* struct statedb_rec, at most INTEL_MAX_RECORDS */
    struct vec own; /* struct owned, one per record */
    const char *source;
    struct intel_import_stats *st;
    struct intel_error *err;
};

__attribute__((format(printf, 3, 4))) static int ierr(struct intel_error *err, unsigned long line,
                                                      const char *fmt, ...)
{
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return BS_EMALFORMED;
}

static void irecs_init(struct irecs *rs)
{
    vec_init(&rs->r, sizeof(struct statedb_rec), 64, INTEL_MAX_RECORDS);
    vec_init(&rs->own, sizeof(struct owned), 64, INTEL_MAX_RECORDS);
}

static void irecs_release(struct irecs *rs)
{
    for (size_t i = 0; i < rs->own.n; i++) {
        struct owned *o = VEC_AT(&rs->own, struct owned, i);
        free(o->key);
        free(o->addr);
        free(o->body);
    }
    vec_release(&rs->r);
    vec_release(&rs->own);
}

/* One indicator: address (and port, 0 = any) listed from first_ms to last_ms. Strings may be
 * NULL or empty (left out of the body). */
struct ind {
    struct ipaddr addr;
    uint16_t port;
    uint64_t first_ms, last_ms;
    const char *malware, *threat_type, *reference, *status;
    int confidence; /* -1: not given */
};

static int add_ind(struct irecs *rs, const struct ind *in, unsigned long line)
{
    if (rs->r.n >= INTEL_MAX_RECORDS) {
        ierr(rs->err, line, "more than %u indicators in one file", INTEL_MAX_RECORDS);
        return BS_ELIMIT;
    }
    /* Room in both first, so the pushes below cannot fail half way. */
    int rc = vec_reserve(&rs->r, rs->r.n + 1);
    if (!rc)
        rc = vec_reserve(&rs->own, rs->own.n + 1);
    if (rc)
        return rc;
    char a[IPADDR_STRLEN], ind[IPADDR_STRLEN + 10], key[IPADDR_STRLEN + 80];
    ipaddr_format(&in->addr, a, sizeof a);
    if (!in->port)
        snprintf(ind, sizeof ind, "%s", a);
    else if (ipaddr_is_v4(&in->addr))
        snprintf(ind, sizeof ind, "%s:%u", a, in->port);
    else
        snprintf(ind, sizeof ind, "[%s]:%u", a, in->port);
    snprintf(key, sizeof key, "%s|%s", rs->source, ind);
    /* The body: fixed members first, then what the feed gave (empty strings left out). */
    struct buf bb = BUF_INIT(INTEL_BODY_MAX);
    struct jw w;
    jw_init(&w, &bb);
    jw_obj(&w, NULL);
    jw_str(&w, "source", rs->source);
    jw_str(&w, "indicator", ind);
    jw_u64(&w, "port", in->port);
    if (in->malware && *in->malware)
        jw_str(&w, "malware", in->malware);
    if (in->threat_type && *in->threat_type)
        jw_str(&w, "threat_type", in->threat_type);
    if (in->confidence >= 0)
        jw_i64(&w, "confidence", in->confidence);
    if (in->reference && *in->reference)
        jw_str(&w, "reference", in->reference);
    if (in->status && *in->status)
        jw_str(&w, "c2_status", in->status);
    rc = jw_finish(&w);
    char *body = rc ? NULL : strdup(bb.data);
    buf_release(&bb);
    if (rc == BS_ELIMIT)
        return ierr(rs->err, line, "an indicator's fields take more than %u bytes", INTEL_BODY_MAX);
    char *k = strdup(key), *ad = strdup(a);
    if (!k || !ad || !body) {
        free(k);
        free(ad);
        free(body);
        return BS_ENOMEM;
    }
    struct owned *o = VEC_PUSH(&rs->own, struct owned, &rc);
    if (!o) { /* over the cap or out of memory: nothing was added */
        free(k);
        free(ad);
        free(body);
        return rc == BS_ELIMIT ? ierr(rs->err, line, "more indicators than a file may hold") : rc;
    }
    *o = (struct owned){k, ad, body}; /* freed with the list from here on */
    struct statedb_rec *r = VEC_PUSH(&rs->r, struct statedb_rec, &rc);
    if (!r)
        return rc == BS_ELIMIT ? ierr(rs->err, line, "more indicators than a file may hold") : rc;
    memset(r, 0, sizeof *r);
    r->kind = STATEDB_INTEL;
    r->key = k;
    r->addr = ad;
    r->body = body;
    r->first_ms = in->first_ms;
    r->last_ms = in->last_ms > in->first_ms ? in->last_ms : in->first_ms;
    r->score = in->confidence > 0 ? in->confidence : 0;
    r->status = "listed";
    rs->st->indicators++;
    return 0;
}

/* ---- CSV feeds ---- */

enum {
    F_FIRST,
    F_VALUE,
    F_TYPE,
    F_THREAT,
    F_MALWARE,
    F_FK_MALWARE,
    F_LAST,
    F_CONF,
    F_REF,
    F_IP,
    F_PORT,
    F_STATUS,
    F_LAST_ONLINE,
    F_FAMILY,
    F_N
};
#define MAX_FIELDS 64

struct csvmap {
    int col[F_N];
    int need;
};

static void map_columns(struct csvmap *m, const char *const *names, int n)
{
    static const struct {
        const char *name;
        int f;
    } map[] = {{"first_seen_utc", F_FIRST},
               {"first_seen", F_FIRST},
               {"ioc_value", F_VALUE},
               {"ioc", F_VALUE},
               {"ioc_type", F_TYPE},
               {"threat_type", F_THREAT},
               {"malware_printable", F_MALWARE},
               {"fk_malware", F_FK_MALWARE},
               {"last_seen_utc", F_LAST},
               {"confidence_level", F_CONF},
               {"reference", F_REF},
               {"dst_ip", F_IP},
               {"dst_port", F_PORT},
               {"c2_status", F_STATUS},
               {"last_online", F_LAST_ONLINE},
               {"malware", F_FAMILY}};
    for (int f = 0; f < F_N; f++)
        m->col[f] = -1;
    for (int i = 0; i < n; i++) {
        const char *s = names[i];
        while (*s == ' ' || *s == '#')
            s++;
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (!strcasecmp(s, map[k].name) && m->col[map[k].f] < 0)
                m->col[map[k].f] = i;
    }
}

static const char *col(const struct csvmap *m, char **v, int n, int f)
{
    return m->col[f] >= 0 && m->col[f] < n ? v[m->col[f]] : "";
}

static int csv_row_threatfox(struct irecs *rs, const struct csvmap *m, char **v, int n,
                             unsigned long line)
{
    if (m->col[F_FIRST] < 0 || m->col[F_VALUE] < 0 || m->col[F_TYPE] < 0)
        return ierr(rs->err, line, "no first_seen_utc, ioc_value or ioc_type column");
    if (n < m->need)
        return ierr(rs->err, line, "%d fields, expected %d", n, m->need);
    const char *type = col(m, v, n, F_TYPE);
    if (strcasecmp(type, "ip:port") && strcasecmp(type, "ip")) {
        rs->st->skipped++; /* domains, URLs and hashes name no address */
        return 0;
    }
    struct ind in = {.confidence = -1};
    if (dtext_addr_port(col(m, v, n, F_VALUE), &in.addr, &in.port))
        return ierr(rs->err, line, "ioc_value '%s' is not an address or address:port",
                    col(m, v, n, F_VALUE));
    if (dtext_utc_ms(col(m, v, n, F_FIRST), &in.first_ms))
        return ierr(rs->err, line, "first_seen_utc '%s' is not a UTC time", col(m, v, n, F_FIRST));
    const char *ls = col(m, v, n, F_LAST);
    if (*ls && dtext_utc_ms(ls, &in.last_ms))
        return ierr(rs->err, line, "last_seen_utc '%s' is not a UTC time", ls);
    const char *cf = col(m, v, n, F_CONF);
    uint64_t c;
    if (*cf) {
        if (dtext_u64(cf, 100, 0, &c))
            return ierr(rs->err, line, "confidence_level '%s' is not 0..100", cf);
        in.confidence = (int)c;
    }
    in.malware = *col(m, v, n, F_MALWARE) ? col(m, v, n, F_MALWARE) : col(m, v, n, F_FK_MALWARE);
    in.threat_type = col(m, v, n, F_THREAT);
    in.reference = col(m, v, n, F_REF);
    return add_ind(rs, &in, line);
}

static int csv_row_feodo(struct irecs *rs, const struct csvmap *m, char **v, int n,
                         unsigned long line)
{
    if (m->col[F_FIRST] < 0 || m->col[F_IP] < 0)
        return ierr(rs->err, line, "no first_seen_utc or dst_ip column");
    if (n < m->need)
        return ierr(rs->err, line, "%d fields, expected %d", n, m->need);
    struct ind in = {.confidence = -1, .threat_type = "botnet_cc"};
    uint16_t p0;
    if (dtext_addr_port(col(m, v, n, F_IP), &in.addr, &p0) || p0)
        return ierr(rs->err, line, "dst_ip '%s' is not an address", col(m, v, n, F_IP));
    const char *ps = col(m, v, n, F_PORT);
    uint64_t port = 0;
    if (*ps && dtext_u64(ps, 65535, 0, &port))
        return ierr(rs->err, line, "dst_port '%s' is not 0..65535", ps);
    in.port = (uint16_t)port;
    if (dtext_utc_ms(col(m, v, n, F_FIRST), &in.first_ms))
        return ierr(rs->err, line, "first_seen_utc '%s' is not a UTC time", col(m, v, n, F_FIRST));
    const char *lo = col(m, v, n, F_LAST_ONLINE);
    if (*lo && dtext_utc_ms(lo, &in.last_ms))
        return ierr(rs->err, line, "last_online '%s' is not a date", lo);
    in.malware = col(m, v, n, F_FAMILY);
    in.status = col(m, v, n, F_STATUS);
    return add_ind(rs, &in, line);
}

/* A row must reach the columns the format cannot do without; the others may be missing. */
static void set_need(struct csvmap *m, enum intel_format fmt)
{
    static const int tf[] = {F_FIRST, F_VALUE, F_TYPE}, feodo[] = {F_FIRST, F_IP};
    const int *req = fmt == INTEL_FEODO_CSV ? feodo : tf;
    size_t nreq = fmt == INTEL_FEODO_CSV ? 2 : 3;
    m->need = 0;
    for (size_t i = 0; i < nreq; i++)
        if (m->col[req[i]] + 1 > m->need)
            m->need = m->col[req[i]] + 1;
}

static int parse_csv(struct irecs *rs, enum intel_format fmt, struct dtext_lines *l)
{
    /* Without a header line, the columns the feeds document, in their order. */
    static const char *const tf_cols[] = {
        "first_seen_utc", "ioc_id",        "ioc_value",         "ioc_type",      "threat_type",
        "fk_malware",     "malware_alias", "malware_printable", "last_seen_utc", "confidence_level",
        "reference",      "tags",          "anonymous",         "reporter"};
    static const char *const feodo_cols[] = {"first_seen_utc", "dst_ip",      "dst_port",
                                             "c2_status",      "last_online", "malware"};
    struct csvmap m;
    if (fmt == INTEL_THREATFOX_CSV)
        map_columns(&m, tf_cols, (int)(sizeof tf_cols / sizeof tf_cols[0]));
    else
        map_columns(&m, feodo_cols, (int)(sizeof feodo_cols / sizeof feodo_cols[0]));
    set_need(&m, fmt);
    int rc;
    char *v[MAX_FIELDS];
    while ((rc = dtext_lines_next(l)) == 1) {
        rs->st->lines++;
        char *s = l->line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            continue;
        int header = 0;
        if (*s == '#') {
            /* The feeds put their header in a comment: '# "first_seen_utc","dst_ip",...'. */
            if (!strstr(s, "first_seen_utc") || !strchr(s, ','))
                continue;
            s++;
            header = 1;
        }
        int n = dtext_split(s, ',', 1, v, MAX_FIELDS);
        if (n < 0)
            return ierr(rs->err, l->lineno, "the line does not split into CSV fields%s",
                        n == BS_EPARSE ? " (an unterminated quote)" : " (too many)");
        for (int i = 0; i < n; i++) {
            while (*v[i] == ' ')
                v[i]++;
        }
        if (header || !strcasecmp(v[0], "first_seen_utc")) {
            map_columns(&m, (const char *const *)v, n);
            set_need(&m, fmt);
            continue;
        }
        rc = fmt == INTEL_THREATFOX_CSV ? csv_row_threatfox(rs, &m, v, n, l->lineno)
                                        : csv_row_feodo(rs, &m, v, n, l->lineno);
        if (rc)
            return rc;
    }
    if (rc == BS_ELIMIT)
        return ierr(rs->err, l->lineno + 1, "line longer than %u bytes", INTEL_MAX_LINE);
    return rc;
}

static int parse_list(struct irecs *rs, struct dtext_lines *l, uint64_t now_ms)
{
    int rc;
    while ((rc = dtext_lines_next(l)) == 1) {
        rs->st->lines++;
        char *s = l->line;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (!n)
            continue;
        struct ind in = {.confidence = -1, .first_ms = now_ms, .last_ms = now_ms};
        if (dtext_addr_port(s, &in.addr, &in.port))
            return ierr(rs->err, l->lineno, "'%s' is not an address or address:port", s);
        if ((rc = add_ind(rs, &in, l->lineno)))
            return rc;
    }
    if (rc == BS_ELIMIT)
        return ierr(rs->err, l->lineno + 1, "line longer than %u bytes", INTEL_MAX_LINE);
    return rc;
}

/* ---- ThreatFox JSON ---- */

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int json_entry(struct irecs *rs, const char *id, json_t *e)
{
    if (!json_is_object(e))
        return ierr(rs->err, 0, "ioc %s: an entry is a JSON object", id);
    rs->st->lines++;
    const char *type = jstr(e, "ioc_type");
    if (strcasecmp(type, "ip:port") && strcasecmp(type, "ip")) {
        rs->st->skipped++;
        return 0;
    }
    struct ind in = {.confidence = -1};
    const char *val = *jstr(e, "ioc_value") ? jstr(e, "ioc_value") : jstr(e, "ioc");
    if (dtext_addr_port(val, &in.addr, &in.port))
        return ierr(rs->err, 0, "ioc %s: ioc_value '%s' is not an address or address:port", id,
                    val);
    const char *fs = *jstr(e, "first_seen_utc") ? jstr(e, "first_seen_utc") : jstr(e, "first_seen");
    if (dtext_utc_ms(fs, &in.first_ms))
        return ierr(rs->err, 0, "ioc %s: first_seen_utc '%s' is not a UTC time", id, fs);
    const char *ls = *jstr(e, "last_seen_utc") ? jstr(e, "last_seen_utc") : jstr(e, "last_seen");
    if (*ls && dtext_utc_ms(ls, &in.last_ms))
        return ierr(rs->err, 0, "ioc %s: last_seen_utc '%s' is not a UTC time", id, ls);
    json_t *c = json_object_get(e, "confidence_level");
    uint64_t cv;
    if (json_is_integer(c) && json_integer_value(c) >= 0 && json_integer_value(c) <= 100)
        in.confidence = (int)json_integer_value(c);
    else if (json_is_string(c) && !dtext_u64(json_string_value(c), 100, 0, &cv))
        in.confidence = (int)cv;
    else if (c && !json_is_null(c))
        return ierr(rs->err, 0, "ioc %s: confidence_level is not 0..100", id);
    in.malware = *jstr(e, "malware_printable") ? jstr(e, "malware_printable") : jstr(e, "malware");
    in.threat_type = jstr(e, "threat_type");
    in.reference = jstr(e, "reference");
    return add_ind(rs, &in, 0);
}

static int parse_tf_json(struct irecs *rs, const char *data, size_t len)
{
    if (len > INTEL_MAX_JSON_BYTES) {
        ierr(rs->err, 0, "JSON larger than %u bytes", INTEL_MAX_JSON_BYTES);
        return BS_ELIMIT;
    }
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!root) {
        ierr(rs->err, (unsigned long)(je.line > 0 ? je.line : 0), "not valid JSON: %s", je.text);
        return BS_EPARSE;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        rc = ierr(rs->err, 1, "the ThreatFox export is a JSON object keyed by IOC id");
        goto out;
    }
    const char *id;
    json_t *v;
    json_object_foreach(root, id, v)
    {
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v) && !rc; i++)
                rc = json_entry(rs, id, json_array_get(v, i));
        } else {
            rc = json_entry(rs, id, v);
        }
        if (rc)
            break;
    }
out:
    json_decref(root);
    return rc;
}

static int parse(struct irecs *rs, enum intel_format f, const char *data, size_t len,
                 uint64_t now_ms)
{
    if ((unsigned)f >= INTEL_FORMAT_COUNT)
        return BS_EUSAGE;
    if (f == INTEL_THREATFOX_JSON)
        return parse_tf_json(rs, data, len);
    struct dtext_lines l;
    dtext_lines_init_mem(&l, data, len, INTEL_MAX_LINE);
    int rc = f == INTEL_LIST ? parse_list(rs, &l, now_ms) : parse_csv(rs, f, &l);
    dtext_lines_release(&l);
    return rc;
}

int intel_parse_only(enum intel_format f, const char *data, size_t len,
                     struct intel_import_stats *stats, struct intel_error *err)
{
    memset(stats, 0, sizeof *stats);
    memset(err, 0, sizeof *err);
    struct irecs rs = {.source = (unsigned)f < INTEL_FORMAT_COUNT ? default_source[f] : "",
                       .st = stats,
                       .err = err};
    irecs_init(&rs);
    int rc = parse(&rs, f, data, len, 0);
    irecs_release(&rs);
    return rc;
}

int intel_import(struct statedb *db, enum intel_format f, const char *data, size_t len,
                 const char *source, uint64_t now_ms, struct intel_import_stats *stats,
                 struct intel_error *err)
{
    memset(stats, 0, sizeof *stats);
    memset(err, 0, sizeof *err);
    if ((unsigned)f >= INTEL_FORMAT_COUNT)
        return BS_EUSAGE;
    if (source && (!*source || strchr(source, '|') || strlen(source) >= 32)) {
        ierr(err, 0, "a source name is 1..31 characters without '|'");
        return BS_EUSAGE;
    }
    struct irecs rs = {.source = source ? source : default_source[f], .st = stats, .err = err};
    irecs_init(&rs);
    int rc = parse(&rs, f, data, len, now_ms);
    /* All or nothing: one transaction for the whole file, only once every line parsed. */
    if (!rc && rs.r.n)
        rc = statedb_rec_put(db, rs.r.data, rs.r.n);
    irecs_release(&rs);
    return rc;
}

/* ---- lookup and annotation ---- */

struct lookup_ctx {
    uint16_t port;
    struct intel_hit *out;
};

static int lookup_cb(void *vctx, const struct statedb_rec *r)
{
    struct lookup_ctx *c = vctx;
    json_t *b = json_loads(r->body ? r->body : "{}", 0, NULL);
    json_t *pv = b ? json_object_get(b, "port") : NULL;
    uint64_t port =
        json_is_integer(pv) && json_integer_value(pv) > 0 ? (uint64_t)json_integer_value(pv) : 0;
    if (!c->port || !port || port == c->port)
        c->out->endpoint = true;
    if (!c->out->listed || r->first_ms < c->out->first_listed_ms) {
        c->out->listed = true;
        c->out->first_listed_ms = r->first_ms;
        const char *src = b ? jstr(b, "source") : "";
        const char *ind = b ? jstr(b, "indicator") : "";
        const char *mal = b ? jstr(b, "malware") : "";
        /* Older or foreign records without a body: the key still says source|indicator. */
        const char *bar = r->key ? strchr(r->key, '|') : NULL;
        if (!*src && bar)
            snprintf(c->out->source, sizeof c->out->source, "%.*s", (int)(bar - r->key), r->key);
        else
            snprintf(c->out->source, sizeof c->out->source, "%s", src);
        snprintf(c->out->indicator, sizeof c->out->indicator, "%s",
                 *ind  ? ind
                 : bar ? bar + 1
                       : "");
        snprintf(c->out->malware, sizeof c->out->malware, "%s", mal);
    }
    json_decref(b);
    return 0;
}

int intel_lookup(struct statedb *db, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                 struct intel_hit *out)
{
    (void)proto; /* none of the feeds names a protocol (see intel.h) */
    memset(out, 0, sizeof *out);
    char a[IPADDR_STRLEN];
    ipaddr_format(addr, a, sizeof a);
    struct statedb_rec_query q = {.kind = STATEDB_INTEL, .addr = a};
    struct lookup_ctx c = {.port = port, .out = out};
    int rc = statedb_rec_list(db, &q, lookup_cb, &c);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int intel_json(const struct intel_hit *hit, uint64_t detected_ms, struct buf *b)
{
    if (!hit->listed) {
        struct jw w;
        jw_init(&w, b);
        jw_obj(&w, NULL);
        jw_bool(&w, "listed", false);
        return jw_finish(&w);
    }
    struct jw w;
    jw_init(&w, b);
    jw_obj(&w, NULL);
    jw_bool(&w, "listed", true);
    jw_str(&w, "source", hit->source);
    jw_u64(&w, "first_listed_ms", hit->first_listed_ms);
    jw_i64(&w, "lead_ms", (int64_t)hit->first_listed_ms - (int64_t)detected_ms);
    jw_bool(&w, "endpoint", hit->endpoint);
    jw_str(&w, "indicator", hit->indicator);
    if (hit->malware[0])
        jw_str(&w, "malware", hit->malware);
    return jw_finish(&w);
}

int intel_annotate(struct statedb *db, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                   uint64_t detected_ms, struct buf *b)
{
    struct intel_hit hit;
    int rc = intel_lookup(db, addr, port, proto, &hit);
    return rc ? rc : intel_json(&hit, detected_ms, b);
}
