/* seeds.c - seed sets and the operator allow-list for detection (see detect.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/text.h"
#include "detect/detect.h"
#include "store/statedb.h"

/* Seed files are read line by line; a line longer than this is refused as not a seed file. */
#define SEED_LINE_MAX 65536

void detect_seeds_init(struct detect_seeds *s)
{
    memset(s, 0, sizeof *s);
    htab_init(&s->index, 16, sizeof(uint32_t), (size_t)1 << 30, 0x5eed5eed);
}

void detect_seeds_release(struct detect_seeds *s)
{
    htab_release(&s->index);
    free(s->v);
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i]);
    free(s->files);
    memset(s, 0, sizeof *s);
}

int detect_seeds_add(struct detect_seeds *s, const struct ipaddr *a, uint64_t seen_ms,
                     enum detect_seed_source src, uint32_t file)
{
    bool is_new;
    int rc = 0;
    uint32_t *ix = htab_put(&s->index, a->b, &is_new, &rc);
    if (!ix)
        return rc;
    if (!is_new) {
        struct detect_seed *d = &s->v[*ix];
        if (seen_ms && (!d->seen_ms || seen_ms < d->seen_ms))
            d->seen_ms = seen_ms; /* the earliest sighting, whoever reported it */
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        struct detect_seed *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return BS_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n] =
        (struct detect_seed){.addr = *a, .seen_ms = seen_ms, .source = (uint8_t)src, .file = file};
    *ix = (uint32_t)s->n++;
    return 0;
}

bool detect_seeds_has(const struct detect_seeds *s, const struct ipaddr *a)
{
    return htab_find(&s->index, a->b) != NULL;
}

/* ---- formats ------------------------------------------------------------------------ */

/* Where the value of key "key" starts in a flat JSON object line (after its colon), or NULL.
 * A key is a quoted name after '{' or ',' and before ':', with blanks around allowed: a value
 * that holds the same text (an escaped quote before it, or no colon after it) is not taken. */
static const char *json_key(const char *line, const char *key)
{
    char pat[64]; /* "key" (built by hand: snprintf for each field of each line was most of the
                   * time loading the telescope's 60,000 sources took) */
    size_t kl = strlen(key);
    if (kl + 3 > sizeof pat)
        return NULL;
    pat[0] = '"';
    memcpy(pat + 1, key, kl);
    memcpy(pat + 1 + kl, "\"", 2);
    for (const char *p = line; (p = strstr(p, pat)); p++) {
        const char *b = p, *q = p + kl + 2;
        while (b > line && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        while (*q == ' ' || *q == '\t')
            q++;
        if (b > line && (b[-1] == '{' || b[-1] == ',') && *q == ':')
            return q + 1;
    }
    return NULL;
}

/* The text of JSON key "key" in a flat object line: a string's contents or a scalar's text
 * (enough for the telescope's own sources.ndjson lines, which it writes flat, and for the
 * same lines reformatted with blanks). */
static bool json_field(const char *line, const char *key, char *out, size_t len)
{
    const char *p = json_key(line, key);
    if (!p)
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && n + 1 < len)
            out[n++] = *p++;
    } else {
        while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && n + 1 < len)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return true;
}

static const char *const addr_columns[] = {"addr",       "address",  "ip",   "src",
                                           "saddr",      "src_addr", "host", "id.orig_h",
                                           "ip_address", "srcaddr"};

/* Index of the address column of a CSV header, or -1. */
static int csv_addr_column(char *hdr)
{
    int col = 0;
    for (char *f = hdr;; col++) {
        char *end = strchr(f, ',');
        if (end)
            *end = '\0';
        char *name = text_trim(f);
        if (*name == '"') {
            name++;
            size_t l = strlen(name);
            if (l && name[l - 1] == '"')
                name[l - 1] = '\0';
        }
        for (size_t i = 0; i < sizeof addr_columns / sizeof addr_columns[0]; i++)
            if (!strcasecmp(name, addr_columns[i]))
                return col;
        if (!end)
            return -1;
        f = end + 1;
    }
}

/* Survey findings that make a device a seed: it is infected, or it logs in with a guessable
 * password (what IoT bots spread by). Vulnerable firmware alone says nothing about infection. */
static bool survey_seed_finding(const char *f)
{
    return !strcmp(f, "infected") || !strcmp(f, "weak_credentials");
}

/* Column number of `name` in a CSV header line (case-insensitive), or -1. */
static int csv_column(const char *line, const char *name)
{
    char hdr[SEED_LINE_MAX];
    snprintf(hdr, sizeof hdr, "%s", line);
    int col = 0;
    for (char *f = hdr;; col++) {
        char *end = strchr(f, ',');
        if (end)
            *end = '\0';
        char *n = text_trim(f);
        if (*n == '"') {
            n++;
            size_t l = strlen(n);
            if (l && n[l - 1] == '"')
                n[l - 1] = '\0';
        }
        if (!strcasecmp(n, name))
            return col;
        if (!end)
            return -1;
        f = end + 1;
    }
}

static char *csv_field(char *line, int col)
{
    char *f = line;
    for (int i = 0; i < col; i++) {
        f = strchr(f, ',');
        if (!f)
            return NULL;
        f++;
    }
    char *end = strchr(f, ',');
    if (end)
        *end = '\0';
    f = text_trim(f);
    if (*f == '"') {
        f++;
        size_t l = strlen(f);
        if (l && f[l - 1] == '"')
            f[l - 1] = '\0';
    }
    return f;
}

static int add_file_name(struct detect_seeds *s, const char *path, uint32_t *ix)
{
    char **v = realloc(s->files, (s->nfiles + 1) * sizeof *v);
    if (!v)
        return BS_ENOMEM;
    s->files = v;
    if (!(v[s->nfiles] = strdup(path)))
        return BS_ENOMEM;
    *ix = (uint32_t)s->nfiles++;
    return 0;
}

/* Seeds from a botscope state database (statedb.h, any backend): the telescope's infected
 * IoT sources and the survey's open findings of infected or weak-credential devices
 * (whichever the database holds). Opened read-only: a file or database given as seeds is
 * never created, migrated or written. */
struct seed_ctx {
    struct detect_seeds *s;
    uint32_t file;
    struct finding_addr {
        char *addr;
        uint64_t first_ms;
    } * v; /* findings' addresses, gathered then added in address order, one per address */
    size_t n, cap;
};

static int seed_tel_source(void *ctx, const struct statedb_tel_source_sum *r)
{
    struct seed_ctx *c = ctx;
    struct ipaddr ip;
    if (ipaddr_parse(r->src, &ip)) {
        c->s->skipped++;
        return 0;
    }
    return detect_seeds_add(c->s, &ip, r->first_ms, SEED_TELESCOPE, c->file);
}

/* A finding key is "addr|port|finding" (statedb.h's STATEDB_FINDING). */
static bool key_ends_with(const char *key, const char *tail)
{
    size_t k = strlen(key), t = strlen(tail);
    return k > t && key[k - t - 1] == '|' && !strcmp(key + k - t, tail);
}

static int seed_finding(void *ctx, const struct statedb_rec *r)
{
    struct seed_ctx *c = ctx;
    if (!r->key ||
        !(key_ends_with(r->key, "infected") || key_ends_with(r->key, "weak_credentials")))
        return 0;
    if (!r->addr) {
        c->s->skipped++;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct finding_addr *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return BS_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    if (!(c->v[c->n].addr = strdup(r->addr)))
        return BS_ENOMEM;
    c->v[c->n++].first_ms = r->first_ms;
    return 0;
}

static int finding_cmp(const void *a, const void *b)
{
    const struct finding_addr *x = a, *y = b;
    int d = strcmp(x->addr, y->addr);
    return d ? d : (x->first_ms > y->first_ms) - (x->first_ms < y->first_ms);
}

/* Adds the gathered findings as the database's GROUP BY addr gave them before: in address
 * text order, once per address, with its earliest first_ms. */
static int add_findings(struct seed_ctx *c)
{
    if (c->n) /* c->v is NULL when there are none, which qsort may not be given */
        qsort(c->v, c->n, sizeof *c->v, finding_cmp);
    for (size_t i = 0; i < c->n; i++) {
        if (i && !strcmp(c->v[i].addr, c->v[i - 1].addr))
            continue; /* sorted by time within an address: the first is the earliest */
        struct ipaddr ip;
        if (ipaddr_parse(c->v[i].addr, &ip)) {
            c->s->skipped++;
            continue;
        }
        int rc = detect_seeds_add(c->s, &ip, c->v[i].first_ms, SEED_SURVEY, c->file);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_statedb(struct detect_seeds *s, const char *path, const struct config *cfg,
                        uint32_t file, char errbuf[512])
{
    struct statedb *db = NULL;
    char dberr[256];
    bool url = strstr(path, "://") != NULL;
    int rc = statedb_open_rdonly(path, cfg, &db, dberr);
    if (rc == BS_EPARSE) {
        snprintf(errbuf, 512,
                 "%s: not a botscope state database (no telescope sources, no findings: %s)", path,
                 dberr);
        return rc;
    }
    if (rc) {
        if (url)
            snprintf(errbuf, 512, "%s", dberr);
        else
            snprintf(errbuf, 512, "%s: not a state database (%s)", path, dberr);
        return url ? rc : BS_EPARSE;
    }
    struct seed_ctx c = {.s = s, .file = file};
    size_t tables = 0;
    /* Pseudonymised sources ("h:...", privacy mode) cannot seed: left out by the reader. */
    struct statedb_tel_source_query tq = {.infected_only = true, .addresses_only = true};
    rc = statedb_tel_source_list(db, &tq, seed_tel_source, &c);
    if (rc == BS_ENOTFOUND) /* a database without that table (an older schema) */
        rc = 0;
    else if (!rc)
        tables++;
    if (!rc) {
        struct statedb_rec_query fq = {.kind = STATEDB_FINDING, .status = "open"};
        rc = statedb_rec_list(db, &fq, seed_finding, &c);
        if (rc == BS_ENOTFOUND)
            rc = 0;
        else if (!rc && (rc = add_findings(&c)) == 0)
            tables++;
    }
    if (rc) {
        snprintf(errbuf, 512, "%s: reading the state database: %s", path, bs_strerror(rc));
    } else if (!tables) {
        snprintf(errbuf, 512,
                 "%s: not a botscope state database (no telescope sources, no findings: schema "
                 "version %d)",
                 path, statedb_schema_version(db));
        rc = BS_EPARSE;
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].addr);
    free(c.v);
    statedb_close(db);
    return rc;
}

int detect_seeds_load(struct detect_seeds *s, const char *path, char errbuf[512])
{
    return detect_seeds_load_cfg(s, path, NULL, errbuf);
}

int detect_seeds_load_cfg(struct detect_seeds *s, const char *path, const struct config *cfg,
                          char errbuf[512])
{
    errbuf[0] = '\0';
    char dbpath[4096];
    struct stat sb;
    if (strstr(path, "://")) { /* a state database URL (clickhouse://HOST:PORT/DB) */
        uint32_t file;
        int rc = add_file_name(s, path, &file);
        return rc ? rc : load_statedb(s, path, cfg, file, errbuf);
    }
    if (stat(path, &sb)) {
        snprintf(errbuf, 512, "%s: %s", path, strerror(errno));
        return -errno;
    }
    uint32_t file;
    int rc = add_file_name(s, path, &file);
    if (rc)
        return rc;
    if (S_ISDIR(sb.st_mode)) {
        snprintf(dbpath, sizeof dbpath, "%s/state.db", path);
        if (stat(dbpath, &sb)) {
            snprintf(errbuf, 512, "%s: a directory without a state.db", path);
            return BS_EPARSE;
        }
        return load_statedb(s, dbpath, cfg, file, errbuf);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, 512, "%s: %s", path, strerror(errno));
        return -errno;
    }
    char magic[16] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    if (got == 16 && !memcmp(magic, "SQLite format 3", 16)) {
        fclose(f);
        return load_statedb(s, path, cfg, file, errbuf);
    }
    rewind(f);
    char *line = malloc(SEED_LINE_MAX);
    if (!line) {
        fclose(f);
        return BS_ENOMEM;
    }
    enum { FMT_UNKNOWN, FMT_LIST, FMT_CSV, FMT_NDJSON } fmt = FMT_UNKNOWN;
    int col = -1, fcol = -1; /* address column; a survey CSV's finding column */
    uint64_t lineno = 0, added = 0;
    while (fgets(line, SEED_LINE_MAX, f)) {
        lineno++;
        size_t l = strlen(line);
        if (l == SEED_LINE_MAX - 1 && line[l - 1] != '\n') {
            snprintf(errbuf, 512, "%s:%" PRIu64 ": line longer than %d bytes", path, lineno,
                     SEED_LINE_MAX - 1);
            rc = BS_EPARSE;
            break;
        }
        char *t = line;
        if (lineno == 1 && !memcmp(t, "\xef\xbb\xbf", 3))
            t += 3; /* a UTF-8 byte order mark */
        t = text_trim(t);
        if (!*t || *t == '#')
            continue;
        if (fmt == FMT_UNKNOWN) {
            if (*t == '{') {
                fmt = FMT_NDJSON;
            } else if (strchr(t, ',')) {
                char hdr[SEED_LINE_MAX];
                snprintf(hdr, sizeof hdr, "%s", t);
                if ((col = csv_addr_column(hdr)) < 0) {
                    snprintf(errbuf, 512,
                             "%s:%" PRIu64 ": a CSV seeds file needs a header with an address "
                             "column (addr, ip, src, saddr, src_addr, id.orig_h, ...)",
                             path, lineno);
                    rc = BS_EPARSE;
                    break;
                }
                fmt = FMT_CSV;
                fcol = csv_column(t, "finding");
                continue;
            } else {
                fmt = FMT_LIST;
            }
        }
        struct ipaddr a;
        uint64_t seen = 0;
        if (fmt == FMT_NDJSON) {
            char src[64], inf[16], first[32], finding[32];
            if (*t == '{' && json_field(t, "finding", finding, sizeof finding) &&
                json_field(t, "addr", src, sizeof src)) {
                /* A survey finding line (botscope survey -o ndjson). */
                if (!survey_seed_finding(finding))
                    continue;
                if (ipaddr_parse(src, &a)) {
                    s->skipped++;
                    continue;
                }
                if (json_field(t, "time_ms", first, sizeof first))
                    seen = strtoull(first, NULL, 10);
                if ((rc = detect_seeds_add(s, &a, seen, SEED_SURVEY, file)))
                    break;
                added++;
                continue;
            }
            if (*t != '{' || !json_field(t, "src", src, sizeof src)) {
                snprintf(errbuf, 512,
                         "%s:%" PRIu64 ": not a telescope source or survey finding line (no "
                         "\"src\", no \"finding\")",
                         path, lineno);
                rc = BS_EPARSE;
                break;
            }
            if (!json_field(t, "infected_iot", inf, sizeof inf) || strcmp(inf, "true"))
                continue; /* only the telescope's infected IoT sources seed */
            if (ipaddr_parse(src, &a)) {
                s->skipped++;
                continue;
            }
            if (json_field(t, "first_ms", first, sizeof first))
                seen = strtoull(first, NULL, 10);
        } else if (fmt == FMT_CSV) {
            if (fcol >= 0) { /* the survey's CSV: its seed findings only */
                char copy[SEED_LINE_MAX];
                snprintf(copy, sizeof copy, "%s", t);
                char *v = csv_field(copy, fcol);
                if (!v || !survey_seed_finding(text_trim(v)))
                    continue;
            }
            char *v = csv_field(t, col);
            if (!v || ipaddr_parse(v, &a)) {
                s->skipped++;
                continue;
            }
        } else {
            char *sp = t + strcspn(t, " \t#");
            *sp = '\0';
            if (ipaddr_parse(t, &a)) {
                snprintf(errbuf, 512, "%s:%" PRIu64 ": \"%.64s\" is not an address", path, lineno,
                         t);
                rc = BS_EPARSE;
                break;
            }
        }
        if ((rc = detect_seeds_add(s, &a, seen,
                                   fmt == FMT_NDJSON ? SEED_TELESCOPE
                                   : fcol >= 0       ? SEED_SURVEY
                                   : fmt == FMT_CSV  ? SEED_CSV
                                                     : SEED_LIST,
                                   file)))
            break;
        added++;
    }
    if (!rc && ferror(f)) {
        snprintf(errbuf, 512, "%s: read error", path);
        rc = BS_EIO;
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- allow-list --------------------------------------------------------------------- */

int detect_allow_load(struct detect_allow *a, const char *path, char errbuf[512])
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errbuf, 512, "%s: %s", path, strerror(errno));
        return -errno;
    }
    char line[512];
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *h = strchr(line, '#');
        if (h)
            *h = '\0';
        char *t = text_trim(line);
        if (!*t)
            continue;
        char *port = t + strcspn(t, " \t");
        if (*port) {
            *port++ = '\0';
            port = text_trim(port);
        }
        struct ipprefix p;
        char *end = NULL;
        unsigned long pv = *port ? strtoul(port, &end, 10) : 0;
        if (ipprefix_parse(t, &p) || (*port && (*end || pv > 65535))) {
            snprintf(errbuf, 512, "%s:%u: expected PREFIX [PORT]", path, lineno);
            rc = BS_EPARSE;
            break;
        }
        if (a->n == cap) {
            cap = cap ? 2 * cap : 64;
            struct ipprefix *np = realloc(a->pfx, cap * sizeof *np);
            if (!np) {
                rc = BS_ENOMEM;
                break;
            }
            a->pfx = np;
            uint16_t *pp = realloc(a->port, cap * sizeof *pp);
            if (!pp) {
                rc = BS_ENOMEM;
                break;
            }
            a->port = pp;
        }
        a->pfx[a->n] = p;
        a->port[a->n++] = (uint16_t)pv;
    }
    fclose(f);
    if (rc)
        detect_allow_release(a);
    return rc;
}

bool detect_allow_match(const struct detect_allow *a, const struct ipaddr *addr, uint16_t port)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->port[i] && a->port[i] != port)
            continue;
        struct ipaddr m = *addr;
        ipaddr_mask(&m, a->pfx[i].len);
        if (!ipaddr_cmp(&m, &a->pfx[i].addr))
            return true;
    }
    return false;
}

void detect_allow_release(struct detect_allow *a)
{
    free(a->pfx);
    free(a->port);
    memset(a, 0, sizeof *a);
}
