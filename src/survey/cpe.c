/* cpe.c - CPE 2.3 formatted strings: parse to a canonical form, format, compare. */
#include "survey/cpe.h"

#include <string.h>

#include "core/err.h"

static bool cpe_bare(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c >= 0x80;
}

static char cpe_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

void cpe_init(struct cpe *c)
{
    for (int a = 0; a < CPE_NATTR; a++) {
        c->kind[a] = CPE_ANY;
        c->val[a][0] = '\0';
    }
}

/* Appends one byte to out (cap CPE_VALUE_MAX - 1). */
static int cpe_put(char *out, size_t *n, char ch)
{
    if (*n + 1 >= CPE_VALUE_MAX)
        return BS_ELIMIT;
    out[(*n)++] = ch;
    out[*n] = '\0';
    return 0;
}

/* Canonicalises one formatted-string attribute s[0..len) into c's attribute a. */
static int cpe_canon(struct cpe *c, enum cpe_attr a, const char *s, size_t len)
{
    char *out = c->val[a];
    size_t n = 0;
    out[0] = '\0';
    if (len == 0 || (len == 1 && s[0] == '*')) {
        c->kind[a] = CPE_ANY;
        return 0;
    }
    if (len == 1 && s[0] == '-') {
        c->kind[a] = CPE_NA;
        return 0;
    }
    c->kind[a] = CPE_VALUE;
    bool literal_seen = false, trailing_wild = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        int rc;
        if (ch < 0x20 || ch == 0x7f)
            return BS_EPARSE;
        if (ch == '\\') {
            if (++i == len)
                return BS_EPARSE;
            ch = (unsigned char)s[i];
            if (ch < 0x20 || ch == 0x7f)
                return BS_EPARSE;
            if (trailing_wild)
                return BS_EPARSE;
            if (cpe_bare(ch) && !(len == 2 && ch == '-'))
                rc = cpe_put(out, &n, cpe_lower((char)ch));
            else if ((rc = cpe_put(out, &n, '\\')) == 0)
                rc = cpe_put(out, &n, (char)ch);
            literal_seen = true;
        } else if (ch == '*' || ch == '?') {
            /* Wildcards only at the start or the end of a value. */
            if (literal_seen)
                trailing_wild = true;
            rc = cpe_put(out, &n, (char)ch);
        } else {
            if (trailing_wild)
                return BS_EPARSE;
            if (cpe_bare(ch))
                rc = cpe_put(out, &n, cpe_lower((char)ch));
            else if ((rc = cpe_put(out, &n, '\\')) == 0)
                rc = cpe_put(out, &n, (char)ch);
            literal_seen = true;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int cpe_hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    h = cpe_lower(h);
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    return -1;
}

/* One component of a CPE 2.2 URI (percent-encoded; %01 is "?" and %02 is "*"). */
static int cpe_uri_comp(struct cpe *c, enum cpe_attr a, const char *s, size_t len)
{
    char tmp[CPE_VALUE_MAX * 2];
    size_t n = 0;
    if (len == 1 && s[0] == '-') {
        c->kind[a] = CPE_NA;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (n + 3 > sizeof(tmp))
            return BS_ELIMIT;
        if (ch == '%') {
            int hi = i + 2 < len ? cpe_hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? cpe_hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return BS_EPARSE;
            int v = hi * 16 + lo;
            i += 2;
            if (v == 1 || v == 2) {
                tmp[n++] = v == 1 ? '?' : '*';
                continue;
            }
            ch = (char)v;
        }
        if (!cpe_bare((unsigned char)ch))
            tmp[n++] = '\\';
        tmp[n++] = ch;
    }
    return cpe_canon(c, a, tmp, n);
}

/* A CPE 2.2 URI, "cpe:/a:vendor:product:version:update:edition:language", the form Recog's
 * *.cpe23 params use. An edition starting with "~" packs the five extended attributes. */
static int cpe_parse_uri(struct cpe *c, const char *s, size_t len)
{
    static const enum cpe_attr order[] = {CPE_PART,   CPE_VENDOR,  CPE_PRODUCT, CPE_VERSION,
                                          CPE_UPDATE, CPE_EDITION, CPE_LANGUAGE};
    static const enum cpe_attr packed[] = {CPE_EDITION, CPE_SW_EDITION, CPE_TARGET_SW,
                                           CPE_TARGET_HW, CPE_OTHER};
    size_t i = 5, start = 5, k = 0;
    int rc;
    for (;; i++) {
        if (i < len && s[i] != ':')
            continue;
        if (k == sizeof(order) / sizeof(order[0]))
            return BS_EPARSE;
        const char *f = s + start;
        size_t fl = i - start;
        if (order[k] == CPE_EDITION && fl > 0 && f[0] == '~') {
            size_t ps = 1, pk = 0;
            for (size_t j = 1; j <= fl; j++) {
                if (j < fl && f[j] != '~')
                    continue;
                if (pk == 5)
                    return BS_EPARSE;
                if ((rc = cpe_uri_comp(c, packed[pk++], f + ps, j - ps)) != 0)
                    return rc;
                ps = j + 1;
            }
        } else if ((rc = cpe_uri_comp(c, order[k], f, fl)) != 0) {
            return rc;
        }
        k++;
        if (i >= len)
            break;
        start = i + 1;
    }
    return 0;
}

int cpe_parse(struct cpe *c, const char *s, size_t len)
{
    static const char prefix[] = "cpe:2.3:";
    cpe_init(c);
    if (len >= 5 && cpe_lower(s[0]) == 'c' && cpe_lower(s[1]) == 'p' && cpe_lower(s[2]) == 'e' &&
        s[3] == ':' && s[4] == '/') {
        int rc = cpe_parse_uri(c, s, len);
        if (rc == 0 && c->kind[CPE_PART] == CPE_VALUE && strcmp(c->val[CPE_PART], "a") != 0 &&
            strcmp(c->val[CPE_PART], "o") != 0 && strcmp(c->val[CPE_PART], "h") != 0)
            rc = BS_EPARSE;
        if (rc)
            cpe_init(c);
        return rc;
    }
    if (len < sizeof(prefix) - 1)
        return BS_EPARSE;
    for (size_t i = 0; i < sizeof(prefix) - 1; i++)
        if (cpe_lower(s[i]) != prefix[i])
            return BS_EPARSE;
    size_t i = sizeof(prefix) - 1, start = i;
    int a = 0, rc = 0;
    for (;; i++) {
        if (i == len || (s[i] == ':')) {
            if (a == CPE_NATTR) {
                rc = BS_EPARSE;
                goto fail;
            }
            if ((rc = cpe_canon(c, (enum cpe_attr)a, s + start, i - start)) != 0)
                goto fail;
            a++;
            if (i == len)
                break;
            start = i + 1;
        } else if (s[i] == '\\' && i + 1 < len) {
            i++;
        }
    }
    if (c->kind[CPE_PART] == CPE_VALUE && strcmp(c->val[CPE_PART], "a") != 0 &&
        strcmp(c->val[CPE_PART], "o") != 0 && strcmp(c->val[CPE_PART], "h") != 0) {
        rc = BS_EPARSE;
        goto fail;
    }
    return 0;
fail:
    cpe_init(c);
    return rc;
}

int cpe_format(const struct cpe *c, char *buf, size_t size)
{
    size_t n = 0;
    const char *pre = "cpe:2.3";
    size_t pl = strlen(pre);
    if (size < pl + 1)
        return BS_ELIMIT;
    memcpy(buf, pre, pl);
    n = pl;
    for (int a = 0; a < CPE_NATTR; a++) {
        const char *v = c->kind[a] == CPE_ANY ? "*" : c->kind[a] == CPE_NA ? "-" : c->val[a];
        size_t vl = strlen(v);
        if (n + 1 + vl + 1 > size)
            return BS_ELIMIT;
        buf[n++] = ':';
        memcpy(buf + n, v, vl);
        n += vl;
    }
    buf[n] = '\0';
    return (int)n;
}

int cpe_get(const struct cpe *c, enum cpe_attr a, char *buf, size_t size)
{
    const char *v = c->kind[a] == CPE_ANY ? "*" : c->kind[a] == CPE_NA ? "-" : c->val[a];
    size_t n = 0;
    for (; *v; v++) {
        if (*v == '\\' && v[1])
            v++;
        if (n + 1 >= size)
            return BS_ELIMIT;
        buf[n++] = *v;
    }
    if (size == 0)
        return BS_ELIMIT;
    buf[n] = '\0';
    return (int)n;
}

int cpe_set(struct cpe *c, enum cpe_attr a, const char *text)
{
    if (!text[0] || strcmp(text, "*") == 0) {
        c->kind[a] = CPE_ANY;
        c->val[a][0] = '\0';
        return 0;
    }
    if (strcmp(text, "-") == 0) {
        c->kind[a] = CPE_NA;
        c->val[a][0] = '\0';
        return 0;
    }
    char tmp[CPE_VALUE_MAX];
    size_t n = 0;
    tmp[0] = '\0';
    for (const char *p = text; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        int rc;
        if (ch < 0x20 || ch == 0x7f)
            return BS_EPARSE;
        if (cpe_bare(ch))
            rc = cpe_put(tmp, &n, cpe_lower((char)ch));
        else if ((rc = cpe_put(tmp, &n, '\\')) == 0)
            rc = cpe_put(tmp, &n, (char)ch);
        if (rc)
            return rc;
    }
    c->kind[a] = CPE_VALUE;
    memcpy(c->val[a], tmp, n + 1);
    return 0;
}

/* Length in bytes of the character unit at s (a quoted pair counts as one character). */
static size_t cpe_unit(const char *s)
{
    return (s[0] == '\\' && s[1]) ? 2 : 1;
}

static bool cpe_has_wild(const char *v)
{
    for (; *v; v += cpe_unit(v))
        if (*v == '*' || *v == '?')
            return true;
    return false;
}

/* Does the wildcard value pat (wildcards only at its ends) cover the literal value lit? */
static bool cpe_wild_match(const char *pat, const char *lit)
{
    size_t lead_q = 0, trail_q = 0;
    bool lead_star = false, trail_star = false;
    const char *p = pat;
    while (*p == '*' || *p == '?') {
        if (*p == '*')
            lead_star = true;
        else
            lead_q++;
        p++;
    }
    const char *mid = p;
    const char *end = p;
    for (const char *q = p; *q; q += cpe_unit(q))
        if (*q != '*' && *q != '?')
            end = q + cpe_unit(q);
    for (const char *q = end; *q; q++) {
        if (*q == '*')
            trail_star = true;
        else
            trail_q++;
    }
    size_t mid_len = (size_t)(end - mid);
    /* Offsets of every unit boundary of lit. */
    size_t units = 0;
    for (const char *q = lit; *q; q += cpe_unit(q))
        units++;
    const char *start = lit;
    for (size_t s = 0; s <= units; s++) {
        if (s >= lead_q && (lead_star || s == lead_q)) {
            if (strncmp(start, mid, mid_len) == 0) {
                const char *after = start + mid_len;
                size_t rest = 0;
                const char *q0 = start;
                while (q0 < after && *q0)
                    q0 += cpe_unit(q0);
                bool aligned = q0 == after; /* mid must not end inside a quoted pair */
                for (const char *q = after; *q; q += cpe_unit(q))
                    rest++;
                if (aligned && (trail_star ? rest >= trail_q : rest == trail_q))
                    return true;
            }
        }
        if (!*start)
            break;
        start += cpe_unit(start);
    }
    return false;
}

enum cpe_rel cpe_compare_attr(const struct cpe *source, const struct cpe *target, enum cpe_attr a)
{
    enum cpe_kind sk = source->kind[a], tk = target->kind[a];
    if (sk == CPE_ANY)
        return tk == CPE_ANY ? CPE_EQUAL : CPE_SUPERSET;
    if (sk == CPE_NA)
        return tk == CPE_ANY ? CPE_SUBSET : tk == CPE_NA ? CPE_EQUAL : CPE_DISJOINT;
    if (tk == CPE_ANY)
        return CPE_SUBSET;
    if (tk == CPE_NA)
        return CPE_DISJOINT;
    const char *sv = source->val[a], *tv = target->val[a];
    bool sw = cpe_has_wild(sv), tw = cpe_has_wild(tv);
    if (sw && tw)
        return strcmp(sv, tv) == 0 ? CPE_EQUAL : CPE_DISJOINT;
    if (sw)
        return cpe_wild_match(sv, tv) ? CPE_SUPERSET : CPE_DISJOINT;
    if (tw)
        return cpe_wild_match(tv, sv) ? CPE_SUBSET : CPE_DISJOINT;
    return strcmp(sv, tv) == 0 ? CPE_EQUAL : CPE_DISJOINT;
}

bool cpe_match(const struct cpe *pattern, const struct cpe *target)
{
    for (int a = 0; a < CPE_NATTR; a++) {
        enum cpe_rel r = cpe_compare_attr(pattern, target, (enum cpe_attr)a);
        if (r != CPE_EQUAL && r != CPE_SUPERSET)
            return false;
    }
    return true;
}
