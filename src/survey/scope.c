/* scope.c - the scope, blocklist and special-purpose gate (scope.h). */
#include "survey/scope.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"

/* IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and its updates), plus
 * IPv4 multicast and the reserved 240/4, which no device survey has reason to touch. IPv4
 * entries are written in IPv4 form and stored IPv4-mapped. ::ffff:0:0/96 is not listed: it is
 * the form every IPv4 address takes here, and the IPv4 entries already cover what it means. */
static const char *const special_ranges[] = {
    "0.0.0.0/8",         "10.0.0.0/8",     "100.64.0.0/10",   "127.0.0.0/8",     "169.254.0.0/16",
    "172.16.0.0/12",     "192.0.0.0/24",   "192.0.2.0/24",    "192.31.196.0/24", "192.52.193.0/24",
    "192.88.99.0/24",    "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",   "198.51.100.0/24",
    "203.0.113.0/24",    "224.0.0.0/4",    "240.0.0.0/4",     "::/127",          "64:ff9b::/96",
    "64:ff9b:1::/48",    "100::/64",       "2001::/23",       "2001:db8::/32",   "2002::/16",
    "2620:4f:8000::/48", "3fff::/20",      "5f00::/16",       "fc00::/7",        "fe80::/10",
    "ff00::/8",
};

#define RANGES(s) ((struct sv_range *)(s)->v.data)

void sv_rangeset_init(struct sv_rangeset *s)
{
    vec_init(&s->v, sizeof(struct sv_range), 64, SV_SCOPE_MAX_LINES);
    s->sorted = false;
}

void sv_rangeset_release(struct sv_rangeset *s)
{
    vec_release(&s->v);
    sv_rangeset_init(s);
}

static void prefix_range(const struct ipprefix *p, struct sv_range *r)
{
    r->lo = p->addr;
    r->hi = p->addr;
    for (unsigned bit = p->len; bit < 128; bit++)
        r->hi.b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
}

int sv_rangeset_add(struct sv_rangeset *s, const struct ipprefix *p)
{
    int rc;
    struct sv_range *r = VEC_PUSH(&s->v, struct sv_range, &rc);
    if (!r)
        return rc;
    prefix_range(p, r);
    s->sorted = false;
    return 0;
}

static int range_cmp(const void *a, const void *b)
{
    return ipaddr_cmp(&((const struct sv_range *)a)->lo, &((const struct sv_range *)b)->lo);
}

/* a + 1 with carry; returns false when a was the last address. */
static bool addr_inc(struct ipaddr *a)
{
    for (int i = 15; i >= 0; i--)
        if (++a->b[i] != 0)
            return true;
    return false;
}

void sv_rangeset_finish(struct sv_rangeset *s)
{
    struct sv_range *r = RANGES(s);
    if (s->v.n > 1)
        qsort(r, s->v.n, sizeof *r, range_cmp);
    size_t out = 0;
    for (size_t i = 0; i < s->v.n; i++) {
        if (out > 0) {
            struct sv_range *last = &r[out - 1];
            struct ipaddr next = last->hi;
            bool more = addr_inc(&next);
            /* Overlapping or adjacent: extend the last range. */
            if (!more || ipaddr_cmp(&r[i].lo, &next) <= 0) {
                if (ipaddr_cmp(&r[i].hi, &last->hi) > 0)
                    last->hi = r[i].hi;
                continue;
            }
        }
        r[out++] = r[i];
    }
    s->v.n = out;
    s->sorted = true;
}

/* Index of the last range whose lo <= a, or -1. */
static long find_floor(const struct sv_rangeset *s, const struct ipaddr *a)
{
    long lo = 0, hi = (long)s->v.n - 1, ans = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (ipaddr_cmp(&RANGES(s)[mid].lo, a) <= 0) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

bool sv_rangeset_contains(const struct sv_rangeset *s, const struct ipaddr *a)
{
    long i = find_floor(s, a);
    return i >= 0 && ipaddr_cmp(a, &RANGES(s)[i].hi) <= 0;
}

bool sv_rangeset_covers(const struct sv_rangeset *s, const struct ipaddr *lo,
                        const struct ipaddr *hi)
{
    long i = find_floor(s, lo);
    return i >= 0 && ipaddr_cmp(hi, &RANGES(s)[i].hi) <= 0;
}

int sv_scope_init(struct sv_scope *sc, bool lab)
{
    memset(sc, 0, sizeof *sc);
    sv_rangeset_init(&sc->allow);
    sv_rangeset_init(&sc->deny);
    sv_rangeset_init(&sc->special);
    vec_init(&sc->optouts, sizeof(struct sv_optout), 16, SV_SCOPE_MAX_LINES);
    sc->lab = lab;
    for (size_t i = 0; i < sizeof special_ranges / sizeof special_ranges[0]; i++) {
        struct ipprefix p;
        if (ipprefix_parse(special_ranges[i], &p) || sv_rangeset_add(&sc->special, &p)) {
            sv_scope_release(sc);
            return BS_ENOMEM;
        }
    }
    sv_rangeset_finish(&sc->special);
    return 0;
}

void sv_scope_release(struct sv_scope *sc)
{
    sv_rangeset_release(&sc->allow);
    sv_rangeset_release(&sc->deny);
    sv_rangeset_release(&sc->special);
    vec_release(&sc->optouts);
}

enum load_kind { LOAD_SCOPE, LOAD_BLOCK, LOAD_OPTOUT };

static int add_scope_prefix(struct sv_scope *sc, const struct ipprefix *p)
{
    if (!sc->lab) {
        struct sv_range r;
        prefix_range(p, &r);
        if (sv_rangeset_covers(&sc->special, &r.lo, &r.hi))
            return BS_EUSAGE;
    }
    return sv_rangeset_add(&sc->allow, p);
}

static int add_optout(struct sv_scope *sc, char *line, char *errbuf, size_t errlen)
{
    char *save = NULL;
    char *f[3] = {NULL, NULL, NULL};
    char *tok = strtok_r(line, ",", &save);
    for (int i = 0; i < 3 && tok; i++, tok = strtok_r(NULL, ",", &save))
        f[i] = text_trim(tok);
    if (!f[0] || !f[1] || !f[2] || !*f[1] || !*f[2] || tok) {
        snprintf(errbuf, errlen, "expected PREFIX,REQUESTED_BY,REQUESTED_AT");
        return BS_EPARSE;
    }
    struct ipprefix p;
    if (ipprefix_parse(f[0], &p)) {
        snprintf(errbuf, errlen, "'%s' is not an address or prefix", f[0]);
        return BS_EPARSE;
    }
    int rc;
    struct sv_optout *o = VEC_PUSH(&sc->optouts, struct sv_optout, &rc);
    if (!o)
        return rc;
    o->prefix = p;
    snprintf(o->requested_by, sizeof o->requested_by, "%s", f[1]);
    snprintf(o->requested_at, sizeof o->requested_at, "%s", f[2]);
    return sv_rangeset_add(&sc->deny, &p);
}

static int load_file(struct sv_scope *sc, const char *path, enum load_kind kind, char *errbuf,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char line[1024];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = text_trim(line);
        if (!*s)
            continue;
        char why[200] = "";
        if (kind == LOAD_OPTOUT) {
            rc = add_optout(sc, s, why, sizeof why);
        } else {
            struct ipprefix p;
            if (ipprefix_parse(s, &p)) {
                snprintf(why, sizeof why, "'%s' is not an address or prefix", s);
                rc = BS_EPARSE;
            } else if (kind == LOAD_SCOPE) {
                rc = add_scope_prefix(sc, &p);
                if (rc == BS_EUSAGE)
                    snprintf(why, sizeof why,
                             "%s lies in an IANA special-purpose range (allowed only with --lab)",
                             s);
            } else {
                rc = sv_rangeset_add(&sc->deny, &p);
            }
        }
        if (rc == BS_ELIMIT)
            snprintf(why, sizeof why, "more than %u entries", SV_SCOPE_MAX_LINES);
        if (rc) {
            snprintf(errbuf, errlen, "%s:%u: %s", path, lineno, why[0] ? why : bs_strerror(rc));
            break;
        }
    }
    fclose(f);
    return rc;
}

int sv_scope_load_scope(struct sv_scope *sc, const char *path, char *errbuf, size_t errlen)
{
    return load_file(sc, path, LOAD_SCOPE, errbuf, errlen);
}

int sv_scope_load_blocklist(struct sv_scope *sc, const char *path, char *errbuf, size_t errlen)
{
    return load_file(sc, path, LOAD_BLOCK, errbuf, errlen);
}

int sv_scope_load_optouts(struct sv_scope *sc, const char *path, char *errbuf, size_t errlen)
{
    return load_file(sc, path, LOAD_OPTOUT, errbuf, errlen);
}

int sv_scope_add(struct sv_scope *sc, bool deny, const char *prefix)
{
    struct ipprefix p;
    if (ipprefix_parse(prefix, &p))
        return BS_EPARSE;
    return deny ? sv_rangeset_add(&sc->deny, &p) : add_scope_prefix(sc, &p);
}

int sv_scope_finish(struct sv_scope *sc)
{
    sv_rangeset_finish(&sc->allow);
    sv_rangeset_finish(&sc->deny);
    return sv_rangeset_count(&sc->allow) ? 0 : BS_EUSAGE;
}

enum sv_verdict sv_scope_check(const struct sv_scope *sc, const struct ipaddr *a)
{
    if (sv_rangeset_contains(&sc->deny, a))
        return SV_BLOCKED;
    if (!sc->lab && sv_rangeset_contains(&sc->special, a))
        return SV_SPECIAL;
    if (!sv_rangeset_contains(&sc->allow, a))
        return SV_OUT_OF_SCOPE;
    return SV_ALLOW;
}

const char *sv_verdict_name(enum sv_verdict v)
{
    switch (v) {
    case SV_ALLOW:
        return "allow";
    case SV_BLOCKED:
        return "blocked";
    case SV_SPECIAL:
        return "special_purpose";
    case SV_OUT_OF_SCOPE:
        return "out_of_scope";
    }
    return "?";
}
