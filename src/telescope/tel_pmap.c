/* tel_pmap.c - prefix map flattened to disjoint ranges (see tel_pmap.h). */
#include "telescope/tel_pmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"

typedef unsigned __int128 u128;

struct tel_pmap_range {
    u128 lo;
    u128 hi;
    uint32_t val;
};

struct pitem {
    u128 lo;
    u128 hi;
    uint32_t val;
    uint32_t order; /* input position: later duplicates win */
};

static u128 addr_to_u128(const struct ipaddr *a)
{
    uint64_t hi, lo;
    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
    return (u128)__builtin_bswap64(hi) << 64 | __builtin_bswap64(lo);
}

#define V4_BASE ((u128)0xffffu << 32) /* ::ffff:0.0.0.0, the first v4-mapped key */

/* The IPv4 guide: guide[g] = number of ranges starting below the first address of the g-th
 * block of 2^(32 - guide_bits) IPv4 addresses (g = 0 .. 2^guide_bits), so the ranges that
 * can start at or below an address of block g, past those counted in guide[g], are
 * guide[g] .. guide[g + 1] - 1: usually none or one for a short list. */
static int build_guide(struct tel_pmap *m)
{
    if (!m->n || m->r[m->n - 1].hi < V4_BASE || m->r[0].lo > V4_BASE + 0xffffffffu)
        return 0; /* no IPv4 range: lookups of IPv4 keys take the general search */
    m->guide_bits = m->n <= 4096 ? 8 : 16;
    size_t nb = (size_t)1 << m->guide_bits;
    m->guide = malloc((nb + 1) * sizeof *m->guide);
    if (!m->guide)
        return BS_ENOMEM;
    size_t k = 0;
    for (size_t g = 0; g <= nb; g++) {
        u128 start = V4_BASE + ((u128)g << (32 - m->guide_bits));
        while (k < m->n && m->r[k].lo < start)
            k++;
        m->guide[g] = (uint32_t)k;
    }
    return 0;
}

static int pitem_cmp(const void *pa, const void *pb)
{
    const struct pitem *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi > b->hi ? -1 : 1; /* enclosing prefix first */
    return a->order < b->order ? -1 : a->order > b->order;
}

static void emit(struct tel_pmap *m, u128 lo, u128 hi, uint32_t val)
{
    struct tel_pmap_range *r = &m->r[m->n];
    if (m->n && r[-1].hi + 1 == lo && r[-1].val == val && r[-1].hi != (u128)-1) {
        r[-1].hi = hi; /* merge with an adjacent range of the same value */
        return;
    }
    r->lo = lo;
    r->hi = hi;
    r->val = val;
    m->n++;
}

int tel_pmap_build(struct tel_pmap *m, const struct tel_pmap_entry *e, size_t n)
{
    memset(m, 0, sizeof *m);
    if (n > TEL_PMAP_MAX_PREFIXES)
        return BS_ELIMIT;
    if (n == 0)
        return 0;
    struct pitem *it = malloc(n * sizeof *it);
    struct pitem *stack = malloc(n * sizeof *stack);
    m->r = malloc((2 * n + 1) * sizeof *m->r);
    if (!it || !stack || !m->r) {
        free(it);
        free(stack);
        free(m->r);
        m->r = NULL;
        return BS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        u128 lo = addr_to_u128(&e[i].pfx.addr);
        unsigned len = e[i].pfx.len > 128 ? 128 : e[i].pfx.len;
        u128 host = len == 0 ? (u128)-1 : len == 128 ? 0 : ((u128)1 << (128 - len)) - 1;
        lo &= ~host;
        it[i] = (struct pitem){lo, lo | host, e[i].val, (uint32_t)i};
    }
    qsort(it, n, sizeof *it, pitem_cmp);
    /* Sweep: prefixes are nested or disjoint, so a stack of open prefixes gives, for every
     * address, the innermost one. cur is the next address not yet emitted; done marks that
     * the end of the address space was emitted (cur would wrap). */
    size_t sp = 0;
    u128 cur = 0;
    int done = 0;
    for (size_t i = 0; i < n && !done; i++) {
        while (sp && stack[sp - 1].hi < it[i].lo) {
            struct pitem *t = &stack[--sp];
            if (cur <= t->hi) {
                emit(m, cur, t->hi, t->val);
                cur = t->hi + 1;
            }
        }
        if (sp && cur < it[i].lo)
            emit(m, cur, it[i].lo - 1, stack[sp - 1].val);
        cur = it[i].lo; /* items are sorted, so nothing at or past lo was emitted yet */
        stack[sp++] = it[i];
    }
    while (sp && !done) {
        struct pitem *t = &stack[--sp];
        if (cur <= t->hi) {
            emit(m, cur, t->hi, t->val);
            if (t->hi == (u128)-1)
                done = 1;
            else
                cur = t->hi + 1;
        }
    }
    free(it);
    free(stack);
    m->n_prefixes = n;
    int rc = build_guide(m);
    if (rc)
        tel_pmap_release(m);
    return rc;
}

bool tel_pmap_lookup(const struct tel_pmap *m, const struct ipaddr *a, uint32_t *val)
{
    if (!m->n)
        return false;
    u128 k = addr_to_u128(a);
    /* lo = the first range with r.lo > k, by a search without data-dependent branches (the
     * keys are random source addresses: a branching search mispredicts about half its steps).
     * Invariant: that range lies in [b, b + len]. An IPv4 key searches only the ranges that
     * start in its guide block. */
    const struct tel_pmap_range *b = m->r;
    size_t len = m->n;
    if (m->guide && ipaddr_is_v4(a)) {
        uint32_t g = ipaddr_v4(a) >> (32 - m->guide_bits);
        b = m->r + m->guide[g];
        len = m->guide[g + 1] - m->guide[g];
        if (!len) { /* nothing starts in the block: the range before it decides */
            if (!m->guide[g])
                return false;
            const struct tel_pmap_range *r = b - 1;
            if (k > r->hi)
                return false;
            if (val)
                *val = r->val;
            return true;
        }
    }
    while (len > 1) {
        size_t half = len / 2;
        b = b[half].lo <= k ? b + half : b;
        len -= half;
    }
    size_t lo = (size_t)(b - m->r) + (b->lo <= k);
    if (lo == 0)
        return false;
    const struct tel_pmap_range *r = &m->r[lo - 1];
    if (k > r->hi)
        return false;
    if (val)
        *val = r->val;
    return true;
}

void tel_pmap_release(struct tel_pmap *m)
{
    free(m->r);
    free(m->guide);
    memset(m, 0, sizeof *m);
}

void tel_pmap_list_init(struct tel_pmap_list *l)
{
    vec_init(&l->v, sizeof(struct tel_pmap_entry), 256, TEL_PMAP_MAX_PREFIXES);
}

void tel_pmap_list_release(struct tel_pmap_list *l)
{
    vec_release(&l->v);
}

int tel_pmap_list_push(struct tel_pmap_list *l, const struct ipprefix *p, uint32_t val)
{
    int rc = 0;
    struct tel_pmap_entry *e = VEC_PUSH(&l->v, struct tel_pmap_entry, &rc);
    if (!e)
        return rc;
    e->pfx = *p;
    e->val = val;
    return 0;
}

enum load_kind { LOAD_PREFIXES, LOAD_PFX2AS, LOAD_GEO };

/* Parses one non-empty, non-comment line. Returns 0, 1 (skip: header) or BS_EPARSE. */
static int parse_line(enum load_kind kind, char *line, unsigned lineno, struct ipprefix *p,
                      uint32_t *val)
{
    char *save = NULL;
    switch (kind) {
    case LOAD_PREFIXES:
        *val = 1;
        return ipprefix_parse(line, p) ? BS_EPARSE : 0;
    case LOAD_PFX2AS: {
        char *addr = strtok_r(line, " \t", &save);
        char *len = strtok_r(NULL, " \t", &save);
        char *asn = strtok_r(NULL, " \t", &save);
        if (!addr || !len || !asn)
            return BS_EPARSE;
        char pfx[IPPREFIX_STRLEN + 8];
        if ((size_t)snprintf(pfx, sizeof pfx, "%s/%s", addr, len) >= sizeof pfx)
            return BS_EPARSE;
        if (ipprefix_parse(pfx, p))
            return BS_EPARSE;
        char *end;
        errno = 0;
        unsigned long v = strtoul(asn, &end, 10);
        if (end == asn || errno || v > UINT32_MAX || (*end && *end != '_' && *end != ','))
            return BS_EPARSE;
        *val = (uint32_t)v;
        return 0;
    }
    case LOAD_GEO: {
        char *pf = strtok_r(line, ",", &save);
        char *cc = strtok_r(NULL, ",", &save);
        if (!pf || !cc)
            return lineno == 1 ? 1 : BS_EPARSE;
        pf = text_trim(pf);
        cc = text_trim(cc);
        if (ipprefix_parse(pf, p))
            return lineno == 1 ? 1 : BS_EPARSE;
        if (strlen(cc) != 2 || !isalpha((unsigned char)cc[0]) || !isalpha((unsigned char)cc[1]))
            return BS_EPARSE;
        *val =
            (uint32_t)toupper((unsigned char)cc[0]) << 8 | (uint32_t)toupper((unsigned char)cc[1]);
        return 0;
    }
    }
    return BS_EPARSE;
}

static int load_file(struct tel_pmap *m, const char *path, enum load_kind kind, char *errbuf,
                     size_t errlen)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = -errno;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    struct tel_pmap_list l;
    tel_pmap_list_init(&l);
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
        struct ipprefix p;
        uint32_t val;
        int pr = parse_line(kind, s, lineno, &p, &val);
        if (pr == 1)
            continue;
        if (pr) {
            snprintf(errbuf, errlen, "%s:%u: cannot parse a prefix line", path, lineno);
            rc = BS_EPARSE;
            goto out_free;
        }
        rc = tel_pmap_list_push(&l, &p, val);
        if (rc) {
            snprintf(errbuf, errlen, "%s:%u: %s", path, lineno, bs_strerror(rc));
            goto out_free;
        }
    }
    if (ferror(f)) {
        snprintf(errbuf, errlen, "%s: read error", path);
        rc = BS_EIO;
        goto out_free;
    }
    rc = tel_pmap_build(m, l.v.data, l.v.n);
    if (rc)
        snprintf(errbuf, errlen, "%s: %s", path, bs_strerror(rc));
out_free:
    tel_pmap_list_release(&l);
    fclose(f);
    return rc;
}

int tel_pmap_load_prefixes(struct tel_pmap *m, const char *path, char *errbuf, size_t errlen)
{
    return load_file(m, path, LOAD_PREFIXES, errbuf, errlen);
}

int tel_pmap_load_pfx2as(struct tel_pmap *m, const char *path, char *errbuf, size_t errlen)
{
    return load_file(m, path, LOAD_PFX2AS, errbuf, errlen);
}

int tel_pmap_load_geo_csv(struct tel_pmap *m, const char *path, char *errbuf, size_t errlen)
{
    return load_file(m, path, LOAD_GEO, errbuf, errlen);
}

int tel_pmap_parse_list(const char *s, struct tel_pmap_entry *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        while (*s == ',' || isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, ", \t\n");
        char tok[IPPREFIX_STRLEN + 4];
        if (len >= sizeof tok)
            return BS_EPARSE;
        memcpy(tok, s, len);
        tok[len] = '\0';
        if (n >= max)
            return BS_ELIMIT;
        if (ipprefix_parse(tok, &out[n].pfx))
            return BS_EPARSE;
        out[n].val = 1;
        n++;
        s += len;
    }
    return (int)n;
}
