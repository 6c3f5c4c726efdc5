/* dtext.c - text helpers for the truth and intel readers (see dtext.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/err.h"
#include "detect/dtext.h"

void dtext_lines_init_mem(struct dtext_lines *l, const char *data, size_t len, size_t max_line)
{
    memset(l, 0, sizeof *l);
    l->p = data;
    l->end = data + len;
    l->max_line = max_line;
}

void dtext_lines_init_file(struct dtext_lines *l, const char *head, size_t len, FILE *f,
                           size_t max_line)
{
    memset(l, 0, sizeof *l);
    l->p = head;
    l->end = head + len;
    l->f = f;
    l->max_line = max_line;
}

void dtext_lines_release(struct dtext_lines *l)
{
    free(l->line);
    l->line = NULL;
    l->cap = l->len = 0;
}

static int put_char(struct dtext_lines *l, char c)
{
    if (l->len + 1 >= l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        if (ncap > l->max_line + 2)
            ncap = l->max_line + 2;
        if (l->len + 1 >= ncap)
            return BS_ELIMIT;
        char *n = realloc(l->line, ncap);
        if (!n)
            return BS_ENOMEM;
        l->line = n;
        l->cap = ncap;
    }
    l->line[l->len++] = c;
    return 0;
}

int dtext_lines_next(struct dtext_lines *l)
{
    int rc, any = 0;
    l->len = 0;
    for (;;) {
        int c;
        if (l->p < l->end) {
            c = (unsigned char)*l->p++;
        } else if (l->f) {
            c = getc(l->f);
            if (c == EOF) {
                if (ferror(l->f))
                    return errno ? -errno : BS_EIO;
                break;
            }
        } else {
            break;
        }
        any = 1;
        if (c == '\n')
            break;
        /* A NUL inside a text line would cut every later comparison short: refuse it as
         * part of the line by mapping it to a byte no format uses. */
        if ((rc = put_char(l, c ? (char)c : '\x01')))
            return rc;
    }
    if (!any)
        return 0;
    if ((rc = put_char(l, '\0')))
        return rc;
    l->len--;
    if (l->len && l->line[l->len - 1] == '\r')
        l->line[--l->len] = '\0';
    l->lineno++;
    return 1;
}

int dtext_split(char *line, char sep, int quotes, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n >= max)
            return BS_ELIMIT;
        if (quotes) {
            char *q = p;
            while (*q == ' ')
                q++;
            if (*q == '"') {
                char *w = q + 1, *r = q + 1;
                f[n++] = w;
                for (;;) {
                    if (!*r)
                        return BS_EPARSE;
                    if (*r == '"') {
                        if (r[1] == '"') {
                            *w++ = '"';
                            r += 2;
                            continue;
                        }
                        r++;
                        break;
                    }
                    *w++ = *r++;
                }
                *w = '\0';
                while (*r == ' ')
                    r++;
                if (!*r)
                    return n;
                if (*r != sep)
                    return BS_EPARSE;
                p = r + 1;
                continue;
            }
        }
        f[n++] = p;
        char *e = strchr(p, sep);
        if (!e)
            return n;
        *e = '\0';
        p = e + 1;
    }
}

int dtext_u64(const char *s, uint64_t max, int hex, uint64_t *v)
{
    int base = 10;
    if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s || !isxdigit((unsigned char)*s))
        return BS_EPARSE;
    char *e;
    errno = 0;
    unsigned long long x = strtoull(s, &e, base);
    if (errno || *e || x > max)
        return BS_EPARSE;
    *v = x;
    return 0;
}

int dtext_secs_ms(const char *s, uint64_t *ms)
{
    uint64_t sec = 0, frac = 0;
    int nd = 0, nf = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++, nd++) {
        if (nd >= 12)
            return BS_EPARSE;
        sec = sec * 10 + (uint64_t)(*p - '0');
    }
    if (!nd)
        return BS_EPARSE;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, nf++)
            if (nf < 3)
                frac = frac * 10 + (uint64_t)(*p - '0');
    }
    if (*p)
        return BS_EPARSE;
    for (int k = nf; k < 3; k++)
        frac *= 10;
    *ms = sec * 1000u + frac;
    return 0;
}

int dtext_utc_ms(const char *s, uint64_t *ms)
{
    char tmp[40];
    size_t n = strlen(s);
    if (n >= sizeof tmp || n < 10)
        return BS_EPARSE;
    memcpy(tmp, s, n + 1);
    /* Suffixes that only say "UTC". */
    if (n > 4 && !strcasecmp(tmp + n - 4, " UTC"))
        tmp[n -= 4] = '\0';
    if (n > 1 && (tmp[n - 1] == 'Z' || tmp[n - 1] == 'z'))
        tmp[--n] = '\0';
    if (n > 10 && tmp[10] == 'T')
        tmp[10] = ' ';
    uint64_t frac = 0;
    char *dot = n > 19 ? tmp + 19 : NULL;
    if (dot && *dot == '.') {
        int nf = 0;
        for (char *q = dot + 1; *q; q++, nf++) {
            if (!isdigit((unsigned char)*q))
                return BS_EPARSE;
            if (nf < 3)
                frac = frac * 10 + (uint64_t)(*q - '0');
        }
        for (int k = nf; k < 3; k++)
            frac *= 10;
        *dot = '\0';
    }
    /* clock_parse_utc also takes a bare integer as ms; a date is required here. */
    if (!isdigit((unsigned char)tmp[0]) || (tmp[4] != '-' && tmp[4] != '/'))
        return BS_EPARSE;
    uint64_t base;
    if (clock_parse_utc(tmp, &base))
        return BS_EPARSE;
    *ms = base + frac;
    return 0;
}

int dtext_addr_port(const char *s, struct ipaddr *addr, uint16_t *port)
{
    char tmp[IPADDR_STRLEN + 8];
    size_t n = strlen(s);
    if (!n || n >= sizeof tmp)
        return BS_EPARSE;
    memcpy(tmp, s, n + 1);
    *port = 0;
    char *ps = NULL;
    char *a = tmp;
    if (tmp[0] == '[') {
        char *rb = strchr(tmp, ']');
        if (!rb)
            return BS_EPARSE;
        *rb = '\0';
        a = tmp + 1;
        if (rb[1] == ':')
            ps = rb + 2;
        else if (rb[1])
            return BS_EPARSE;
    } else {
        char *c1 = strchr(tmp, ':');
        /* One colon: IPv4 with a port. More: a bare IPv6 address. */
        if (c1 && !strchr(c1 + 1, ':')) {
            *c1 = '\0';
            ps = c1 + 1;
        }
    }
    if (ipaddr_parse(a, addr))
        return BS_EPARSE;
    if (ps) {
        uint64_t v;
        if (dtext_u64(ps, 65535, 0, &v))
            return BS_EPARSE;
        *port = (uint16_t)v;
    }
    return 0;
}

int dtext_proto(const char *s, uint8_t *proto)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = {{"tcp", 6},    {"udp", 17},   {"icmp", 1}, {"ipv6-icmp", 58},
                 {"icmp6", 58}, {"sctp", 132}, {"gre", 47}, {"esp", 50}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(s, names[i].name)) {
            *proto = names[i].num;
            return 0;
        }
    uint64_t v;
    if (dtext_u64(s, 255, 0, &v))
        return BS_EPARSE;
    *proto = (uint8_t)v;
    return 0;
}

int dtext_starts_with(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}
