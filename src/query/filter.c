/* filter.c - filter lexer, parser, block evaluator and block-skipping check (see filter.h).
 *
 * The compiled form is a tree of nodes in one array. Integer comparisons are normalised to a
 * closed range [lo, hi] plus a negation bit, so every comparison on a column is one
 * branch-free loop per column width. Evaluation over a block produces a 0/1 byte per record;
 * AND/OR/NOT combine such masks, and the right side of AND/OR is only evaluated when the left
 * side leaves something to decide.
 */
#include "query/filter.h"
#include "query/filter_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/flow_field.h"
#include "core/hash.h"
#include "store/segment.h"

/* ---- lexer ----------------------------------------------------------------------------- */

enum tok { T_END, T_WORD, T_LP, T_RP, T_LB, T_RB, T_AND, T_OR, T_NOT, T_CMP, T_COMMA };
enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct parser {
    const char *s;
    size_t pos; /* next char */
    enum tok tok;
    size_t tstart, tlen;
    enum cmp cmp;
    struct filter *f;
    struct filter_error *err;
    int depth;
    int rc;
};

static int perr(struct parser *p, size_t col0, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, size_t col0, const char *fmt, ...)
{
    if (p->rc)
        return p->rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    p->err->column = (unsigned)col0 + 1;
    p->rc = BS_EPARSE;
    return p->rc;
}

static bool word_char(char c)
{
    return c && !isspace((unsigned char)c) && !strchr("()[]!&|<>=,", c);
}

static void next(struct parser *p)
{
    const char *s = p->s;
    while (isspace((unsigned char)s[p->pos]))
        p->pos++;
    p->tstart = p->pos;
    char c = s[p->pos];
    p->tlen = 1;
    if (!c) {
        p->tok = T_END;
        p->tlen = 0;
        return;
    }
    p->pos++;
    switch (c) {
    case '(':
        p->tok = T_LP;
        return;
    case ')':
        p->tok = T_RP;
        return;
    case '[':
        p->tok = T_LB;
        return;
    case ']':
        p->tok = T_RB;
        return;
    case ',':
        p->tok = T_COMMA;
        return;
    case '&':
        if (s[p->pos] == '&') {
            p->pos++;
            p->tlen = 2;
            p->tok = T_AND;
            return;
        }
        break;
    case '|':
        if (s[p->pos] == '|') {
            p->pos++;
            p->tlen = 2;
            p->tok = T_OR;
            return;
        }
        break;
    case '!':
        if (s[p->pos] == '=') {
            p->pos++;
            p->tlen = 2;
            p->tok = T_CMP;
            p->cmp = C_NE;
            return;
        }
        p->tok = T_NOT;
        return;
    case '=':
        if (s[p->pos] == '=') {
            p->pos++;
            p->tlen = 2;
        }
        p->tok = T_CMP;
        p->cmp = C_EQ;
        return;
    case '<':
    case '>':
        p->tok = T_CMP;
        if (s[p->pos] == '=') {
            p->pos++;
            p->tlen = 2;
            p->cmp = c == '<' ? C_LE : C_GE;
        } else {
            p->cmp = c == '<' ? C_LT : C_GT;
        }
        return;
    default:
        if (word_char(c)) {
            while (word_char(s[p->pos]))
                p->pos++;
            p->tlen = p->pos - p->tstart;
            p->tok = T_WORD;
            return;
        }
    }
    /* A lone '&' or '|': report it as unexpected. */
    p->tok = T_WORD;
    p->tlen = 1;
}

static bool is_kw(const struct parser *p, const char *kw)
{
    return p->tok == T_WORD && strlen(kw) == p->tlen && !strncasecmp(p->s + p->tstart, kw, p->tlen);
}

static int unexpected(struct parser *p)
{
    if (p->tok == T_END)
        return perr(p, p->tstart, "unexpected end of filter");
    return perr(p, p->tstart, "unexpected '%.*s'", (int)(p->tlen > 40 ? 40 : p->tlen),
                p->s + p->tstart);
}

/* Copies the current word into buf (NUL-terminated). */
static int word(struct parser *p, char *buf, size_t len)
{
    if (p->tok != T_WORD)
        return unexpected(p);
    if (p->tlen >= len)
        return perr(p, p->tstart, "'%.*s' is too long", 40, p->s + p->tstart);
    memcpy(buf, p->s + p->tstart, p->tlen);
    buf[p->tlen] = '\0';
    return 0;
}

static bool tok_cmp(struct parser *p, enum cmp *c)
{
    if (p->tok == T_CMP) {
        *c = p->cmp;
        return true;
    }
    static const struct {
        const char *w;
        enum cmp c;
    } words[] = {{"eq", C_EQ}, {"ne", C_NE}, {"lt", C_LT},
                 {"le", C_LE}, {"gt", C_GT}, {"ge", C_GE}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (is_kw(p, words[i].w)) {
            *c = words[i].c;
            return true;
        }
    return false;
}

static int number(struct parser *p, uint64_t *out)
{
    if (p->tok != T_WORD)
        return unexpected(p);
    const char *s = p->s + p->tstart;
    size_t i = 0;
    uint64_t v = 0;
    while (i < p->tlen && isdigit((unsigned char)s[i])) {
        if (v > (UINT64_MAX - 9) / 10)
            return perr(p, p->tstart, "number '%.*s' is too large", (int)p->tlen, s);
        v = v * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0)
        return perr(p, p->tstart, "expected a number, got '%.*s'",
                    (int)(p->tlen > 40 ? 40 : p->tlen), s);
    if (i < p->tlen) {
        uint64_t mul = 0;
        if (i + 1 == p->tlen) {
            switch (tolower((unsigned char)s[i])) {
            case 'k':
                mul = 1000;
                break;
            case 'm':
                mul = 1000000;
                break;
            case 'g':
                mul = 1000000000;
                break;
            }
        }
        if (!mul)
            return perr(p, p->tstart, "expected a number, got '%.*s'",
                        (int)(p->tlen > 40 ? 40 : p->tlen), s);
        if (v > UINT64_MAX / mul)
            return perr(p, p->tstart, "number '%.*s' is too large", (int)p->tlen, s);
        v *= mul;
    }
    *out = v;
    return 0;
}

/* ---- node construction ----------------------------------------------------------------- */

static int new_node(struct parser *p, enum fkind kind)
{
    struct filter *f = p->f;
    if (f->n >= FILTER_MAX_NODES) {
        perr(p, p->tstart, "filter too long (more than %d terms)", FILTER_MAX_NODES);
        p->rc = BS_ELIMIT;
        return -1;
    }
    if (f->n % 64 == 0) {
        struct fnode *nv = realloc(f->nodes, (f->n + 64) * sizeof *nv);
        if (!nv) {
            p->rc = BS_ENOMEM;
            return -1;
        }
        f->nodes = nv;
    }
    struct fnode *nd = &f->nodes[f->n];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)kind;
    nd->a = nd->b = -1;
    nd->set = -1;
    return (int)f->n++;
}

static int binary(struct parser *p, enum fkind k, int a, int b)
{
    if (a < 0 || b < 0)
        return -1;
    int n = new_node(p, k);
    if (n >= 0) {
        p->f->nodes[n].a = a;
        p->f->nodes[n].b = b;
    }
    return n;
}

static uint64_t field_max(enum ffield fld)
{
    const struct flow_field *f = filter_field_of_term(fld);
    if (!f || f->type == FLOW_FT_ADDR || f->size >= 8)
        return UINT64_MAX;
    return (UINT64_C(1) << (8 * f->size)) - 1;
}

/* A comparison "field CMP v" as a range node (or a constant when out of the field's range). */
static int range_node(struct parser *p, enum ffield fld, enum cmp c, uint64_t v)
{
    int n = new_node(p, FK_RANGE);
    if (n < 0)
        return -1;
    struct fnode *nd = &p->f->nodes[n];
    uint64_t mx = field_max(fld);
    nd->field = (uint8_t)fld;
    nd->lo = 0;
    nd->hi = mx;
    switch (c) {
    case C_EQ:
        nd->lo = nd->hi = v;
        break;
    case C_NE:
        nd->lo = nd->hi = v;
        nd->neg = 1;
        break;
    case C_LT:
        if (v == 0) {
            nd->neg = 1;
        } /* nothing is < 0: the full range, negated */
        else
            nd->hi = v - 1;
        break;
    case C_LE:
        nd->hi = v;
        break;
    case C_GT:
        if (v == UINT64_MAX)
            nd->neg = 1;
        else
            nd->lo = v + 1;
        break;
    case C_GE:
        nd->lo = v;
        break;
    }
    if (nd->hi > mx)
        nd->hi = mx;
    if (nd->lo > mx) { /* empty: match nothing (or everything when negated) */
        nd->lo = 1;
        nd->hi = 0;
    }
    return n;
}

static int either(struct parser *p, int dir, int (*mk)(struct parser *, enum ffield, void *),
                  enum ffield fsrc, enum ffield fdst, void *arg)
{
    if (dir == 1)
        return mk(p, fsrc, arg);
    if (dir == 2)
        return mk(p, fdst, arg);
    int a = mk(p, fsrc, arg);
    int b = a < 0 ? -1 : mk(p, fdst, arg);
    return binary(p, FK_OR, a, b);
}

struct cmp_arg {
    enum cmp c;
    uint64_t v;
};

static int mk_range(struct parser *p, enum ffield fld, void *arg)
{
    struct cmp_arg *a = arg;
    return range_node(p, fld, a->c, a->v);
}

static int mk_net(struct parser *p, enum ffield fld, void *arg)
{
    int n = new_node(p, FK_NET);
    if (n >= 0) {
        p->f->nodes[n].field = (uint8_t)fld;
        p->f->nodes[n].pfx = *(const struct ipprefix *)arg;
    }
    return n;
}

static int mk_set(struct parser *p, enum ffield fld, void *arg)
{
    int n = new_node(p, FK_ADDRSET);
    if (n >= 0) {
        p->f->nodes[n].field = (uint8_t)fld;
        p->f->nodes[n].set = *(const int *)arg;
    }
    return n;
}

struct inset_arg {
    int first;
    size_t n;
};

static int mk_inset(struct parser *p, enum ffield fld, void *arg)
{
    struct inset_arg *a = arg;
    int n = new_node(p, FK_INSET);
    if (n >= 0) {
        p->f->nodes[n].field = (uint8_t)fld;
        p->f->nodes[n].set = a->first;
        p->f->nodes[n].nvals = a->n;
    }
    return n;
}

static int new_set(struct parser *p)
{
    struct filter *f = p->f;
    struct addrset *ns = realloc(f->sets, (f->nsets + 1) * sizeof *ns);
    if (!ns) {
        p->rc = BS_ENOMEM;
        return -1;
    }
    f->sets = ns;
    memset(&ns[f->nsets], 0, sizeof ns[0]);
    return (int)f->nsets++;
}

static int load_set_file(struct parser *p, struct addrset *s, const char *path, size_t col)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        perr(p, col, "%s: %s", path, strerror(e));
        p->rc = -e;
        return p->rc;
    }
    char line[512];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        char *h = strchr(line, '#');
        if (h)
            *h = '\0';
        char *b = line;
        while (isspace((unsigned char)*b))
            b++;
        size_t l = strlen(b);
        while (l && isspace((unsigned char)b[l - 1]))
            b[--l] = '\0';
        if (!l)
            continue;
        struct ipprefix pf;
        if (ipprefix_parse(b, &pf)) {
            rc = perr(p, col, "%s:%u: '%.60s' is not an address or prefix", path, lineno, b);
            break;
        }
        if (s->n + s->npfx >= FILTER_SET_MAX) {
            rc = perr(p, col, "%s: more than %d entries", path, FILTER_SET_MAX);
            p->rc = rc = BS_ELIMIT;
            break;
        }
        if ((rc = filter_set_add(s, &pf))) {
            p->rc = rc;
            break;
        }
    }
    fclose(fp);
    return rc;
}

/* ---- parser ---------------------------------------------------------------------------- */

static int parse_expr(struct parser *p);

static const struct {
    const char *name;
    uint8_t num;
} proto_names[] = {
    {"icmp", 1}, {"igmp", 2}, {"tcp", 6},    {"udp", 17},       {"gre", 47},
    {"esp", 50}, {"ah", 51},  {"icmp6", 58}, {"ipv6-icmp", 58}, {"sctp", 132},
};

static int parse_proto_value(struct parser *p)
{
    for (size_t i = 0; i < sizeof proto_names / sizeof proto_names[0]; i++)
        if (is_kw(p, proto_names[i].name)) {
            next(p);
            return range_node(p, FF_PROTO, C_EQ, proto_names[i].num);
        }
    uint64_t v;
    if (number(p, &v))
        return -1;
    if (v > 255)
        return perr(p, p->tstart, "protocol %llu out of range 0..255", (unsigned long long)v), -1;
    next(p);
    return range_node(p, FF_PROTO, C_EQ, v);
}

/* "in" "[" values "]" for integers. */
static int parse_int_list(struct parser *p, struct inset_arg *a, uint64_t maxv)
{
    if (p->tok != T_LB)
        return unexpected(p);
    next(p);
    struct filter *f = p->f;
    a->first = (int)f->nv;
    a->n = 0;
    while (p->tok != T_RB) {
        if (p->tok == T_COMMA) {
            next(p);
            continue;
        }
        uint64_t v;
        if (number(p, &v))
            return p->rc;
        if (v > maxv)
            return perr(p, p->tstart, "%llu out of range", (unsigned long long)v);
        if (f->nv >= FILTER_MAX_NODES * 16)
            return perr(p, p->tstart, "list too long");
        if (f->nv % 64 == 0) {
            uint64_t *nv = realloc(f->vals, (f->nv + 64) * sizeof *nv);
            if (!nv)
                return p->rc = BS_ENOMEM;
            f->vals = nv;
        }
        f->vals[f->nv++] = v;
        a->n++;
        next(p);
    }
    if (!a->n)
        return perr(p, p->tstart, "empty list");
    next(p);
    return 0;
}

static int parse_addr_in(struct parser *p, int dir)
{
    int si = new_set(p);
    if (si < 0)
        return -1;
    char buf[4096];
    if (p->tok == T_WORD && p->s[p->tstart] == '@') {
        if (word(p, buf, sizeof buf))
            return -1;
        if (load_set_file(p, &p->f->sets[si], buf + 1, p->tstart))
            return -1;
        next(p);
    } else if (p->tok == T_LB) {
        next(p);
        while (p->tok != T_RB) {
            if (p->tok == T_COMMA) {
                next(p);
                continue;
            }
            struct ipprefix pf;
            if (word(p, buf, sizeof buf))
                return -1;
            if (ipprefix_parse(buf, &pf))
                return perr(p, p->tstart, "'%s' is not an address or prefix", buf), -1;
            if (filter_set_add(&p->f->sets[si], &pf))
                return p->rc = BS_ENOMEM, -1;
            next(p);
        }
        next(p);
    } else {
        return unexpected(p), -1;
    }
    return either(p, dir, mk_set, FF_SRC, FF_DST, &si);
}

static int parse_prim(struct parser *p)
{
    char buf[IPPREFIX_STRLEN + 8];
    if (p->tok != T_WORD)
        return unexpected(p), -1;
    if (p->f->having) {
        static const struct {
            const char *w;
            enum ffield f;
        } hw[] = {{"flows", FF_H_FLOWS},
                  {"packets", FF_H_PACKETS},
                  {"bytes", FF_H_BYTES},
                  {"distinct", FF_H_DISTINCT}};
        for (size_t i = 0; i < sizeof hw / sizeof hw[0]; i++) {
            if (!is_kw(p, hw[i].w))
                continue;
            next(p);
            enum cmp c = C_EQ;
            if (tok_cmp(p, &c))
                next(p);
            uint64_t v;
            if (number(p, &v))
                return -1;
            next(p);
            return range_node(p, hw[i].f, c, v);
        }
        return unexpected(p), -1;
    }
    if (is_kw(p, "any") || is_kw(p, "true")) {
        next(p);
        return new_node(p, FK_ANY);
    }
    if (is_kw(p, "proto")) {
        next(p);
        return parse_proto_value(p);
    }
    for (size_t i = 0; i < sizeof proto_names / sizeof proto_names[0]; i++)
        if (is_kw(p, proto_names[i].name))
            return parse_proto_value(p);
    if (is_kw(p, "ipv4") || is_kw(p, "inet") || is_kw(p, "ipv6") || is_kw(p, "inet6")) {
        int v4 = is_kw(p, "ipv4") || is_kw(p, "inet");
        next(p);
        int n = new_node(p, FK_FAMILY);
        if (n >= 0)
            p->f->nodes[n].lo = (uint64_t)v4;
        return n;
    }
    int dir = 0;
    if (is_kw(p, "src")) {
        dir = 1;
        next(p);
    } else if (is_kw(p, "dst")) {
        dir = 2;
        next(p);
    }
    if (is_kw(p, "host") || is_kw(p, "ip")) {
        next(p);
        if (is_kw(p, "in")) {
            next(p);
            return parse_addr_in(p, dir);
        }
        struct ipprefix pf;
        if (word(p, buf, sizeof buf))
            return -1;
        if (ipaddr_parse(buf, &pf.addr))
            return perr(p, p->tstart, "'%s' is not an IP address", buf), -1;
        pf.len = 128;
        next(p);
        return either(p, dir, mk_net, FF_SRC, FF_DST, &pf);
    }
    if (is_kw(p, "net")) {
        next(p);
        struct ipprefix pf;
        if (word(p, buf, sizeof buf))
            return -1;
        if (ipprefix_parse(buf, &pf))
            return perr(p, p->tstart, "'%s' is not a prefix", buf), -1;
        next(p);
        return either(p, dir, mk_net, FF_SRC, FF_DST, &pf);
    }
    if (is_kw(p, "port") || is_kw(p, "as")) {
        int port = is_kw(p, "port");
        next(p);
        if (is_kw(p, "in")) {
            next(p);
            struct inset_arg a;
            if (parse_int_list(p, &a, port ? 0xffff : 0xffffffffu))
                return -1;
            return either(p, dir, mk_inset, port ? FF_SRC_PORT : FF_SRC_AS,
                          port ? FF_DST_PORT : FF_DST_AS, &a);
        }
        struct cmp_arg a = {C_EQ, 0};
        if (tok_cmp(p, &a.c))
            next(p);
        if (number(p, &a.v))
            return -1;
        if (a.v > (port ? 0xffffu : 0xffffffffu))
            return perr(p, p->tstart, "%s %llu out of range", port ? "port" : "AS",
                        (unsigned long long)a.v),
                   -1;
        next(p);
        return either(p, dir, mk_range, port ? FF_SRC_PORT : FF_SRC_AS,
                      port ? FF_DST_PORT : FF_DST_AS, &a);
    }
    if (dir) /* src/dst must be followed by one of the above */
        return unexpected(p), -1;
    if (is_kw(p, "in") || is_kw(p, "out") || is_kw(p, "if")) {
        int which = is_kw(p, "in") ? 1 : is_kw(p, "out") ? 2 : 0;
        if (which) {
            next(p);
            if (!is_kw(p, "if"))
                return unexpected(p), -1;
        }
        next(p);
        struct cmp_arg a = {C_EQ, 0};
        if (tok_cmp(p, &a.c))
            next(p);
        if (number(p, &a.v))
            return -1;
        next(p);
        return either(p, which, mk_range, FF_IN_IF, FF_OUT_IF, &a);
    }
    if (is_kw(p, "exporter")) {
        next(p);
        struct ipprefix pf;
        if (word(p, buf, sizeof buf))
            return -1;
        if (ipprefix_parse(buf, &pf))
            return perr(p, p->tstart, "'%s' is not an address or prefix", buf), -1;
        next(p);
        return mk_net(p, FF_EXPORTER, &pf);
    }
    if (is_kw(p, "flags")) {
        next(p);
        if (word(p, buf, sizeof buf))
            return -1;
        uint8_t mask = 0;
        for (const char *c = buf; *c; c++) {
            const char *letters = "FSRPAUEC";
            const char *q = strchr(letters, toupper((unsigned char)*c));
            if (toupper((unsigned char)*c) == 'X')
                mask = 0xff;
            else if (q)
                mask |= (uint8_t)(1u << (q - letters));
            else
                return perr(p, p->tstart + (size_t)(c - buf),
                            "'%c' is not a TCP flag (F S R P A U E C X)", *c),
                       -1;
        }
        next(p);
        int n = new_node(p, FK_FLAGS);
        if (n >= 0)
            p->f->nodes[n].flags = mask;
        return n;
    }
    /* Derived measures, then any number field of the flow field table by its names. */
    static const struct {
        const char *w;
        enum ffield f;
    } rel[] = {{"duration", FF_DURATION}, {"pps", FF_PPS}, {"bps", FF_BPS}, {"bpp", FF_BPP}};
    int fld = -1;
    for (size_t i = 0; i < sizeof rel / sizeof rel[0] && fld < 0; i++)
        if (is_kw(p, rel[i].w))
            fld = (int)rel[i].f;
    if (fld < 0 && p->tok == T_WORD && p->tlen < sizeof buf) {
        memcpy(buf, p->s + p->tstart, p->tlen);
        buf[p->tlen] = '\0';
        const struct flow_field *ff = flow_field_by_name(buf);
        fld = ff && ff->type != FLOW_FT_ADDR ? filter_term_of_field(flow_field_id(ff)) : -1;
    }
    if (fld >= 0) {
        next(p);
        struct cmp_arg a = {C_EQ, 0};
        if (tok_cmp(p, &a.c))
            next(p);
        if (number(p, &a.v))
            return -1;
        next(p);
        return mk_range(p, (enum ffield)fld, &a);
    }
    return unexpected(p), -1;
}

static int parse_factor(struct parser *p)
{
    if (++p->depth > FILTER_MAX_DEPTH)
        return perr(p, p->tstart, "filter nested too deeply"), -1;
    int n;
    if (p->tok == T_NOT || is_kw(p, "not")) {
        next(p);
        int a = parse_factor(p);
        n = a < 0 ? -1 : new_node(p, FK_NOT);
        if (n >= 0)
            p->f->nodes[n].a = a;
    } else if (p->tok == T_LP) {
        next(p);
        n = parse_expr(p);
        if (n >= 0 && p->tok != T_RP)
            n = (unexpected(p), -1);
        if (n >= 0)
            next(p);
    } else {
        n = parse_prim(p);
    }
    p->depth--;
    return n;
}

static int parse_term(struct parser *p)
{
    int a = parse_factor(p);
    while (a >= 0 && (p->tok == T_AND || is_kw(p, "and"))) {
        next(p);
        a = binary(p, FK_AND, a, parse_factor(p));
    }
    return a;
}

static int parse_expr(struct parser *p)
{
    int a = parse_term(p);
    while (a >= 0 && (p->tok == T_OR || is_kw(p, "or"))) {
        next(p);
        a = binary(p, FK_OR, a, parse_term(p));
    }
    return a;
}

void filter_free(struct filter *f)
{
    if (!f)
        return;
    free(f->nodes);
    filter_sets_free(f);
    free(f->vals);
    free(f->bitmaps);
    free(f);
}

/* Builds 16-bit bitmaps for FK_INSET nodes on ports/vlan/proto/tos for O(1) tests. */
static int build_bitmaps(struct filter *f)
{
    size_t nb = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->nodes[i].kind == FK_INSET)
            nb++;
    if (!nb)
        return 0;
    f->bitmaps = calloc(nb, 8192);
    if (!f->bitmaps)
        return BS_ENOMEM;
    nb = 0;
    for (size_t i = 0; i < f->n; i++) {
        struct fnode *nd = &f->nodes[i];
        if (nd->kind != FK_INSET)
            continue;
        nd->lo = nb; /* bitmap index; only meaningful for 16-bit fields */
        uint8_t *bm = f->bitmaps + nb * 8192;
        for (size_t k = 0; k < nd->nvals; k++) {
            uint64_t v = f->vals[nd->set + (int)k];
            if (v <= 0xffff)
                bm[v >> 3] |= (uint8_t)(1u << (v & 7));
        }
        nb++;
    }
    f->nbitmaps = nb;
    return 0;
}

static int compile(const char *text, struct filter **out, struct filter_error *err, bool having)
{
    struct filter_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    struct filter *f = calloc(1, sizeof *f);
    if (!f)
        return BS_ENOMEM;
    f->having = having;
    struct parser p = {.s = text ? text : "", .f = f, .err = err};
    next(&p);
    if (p.tok == T_END) {
        f->root = new_node(&p, FK_ANY);
    } else {
        f->root = parse_expr(&p);
        if (f->root >= 0 && p.tok != T_END)
            unexpected(&p);
    }
    if (!p.rc && f->root < 0)
        p.rc = BS_EPARSE;
    if (!p.rc && build_bitmaps(f))
        p.rc = BS_ENOMEM;
    if (p.rc) {
        if (p.rc == BS_ENOMEM && !err->msg[0])
            snprintf(err->msg, sizeof err->msg, "out of memory");
        filter_free(f);
        return p.rc;
    }
    *out = f;
    return 0;
}

int filter_compile(const char *text, struct filter **out, struct filter_error *err)
{
    return compile(text, out, err, false);
}

int filter_compile_having(const char *text, struct filter **out, struct filter_error *err)
{
    return compile(text, out, err, true);
}
