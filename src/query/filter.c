/* filter.c - filter lexer, parser, block evaluator and block-skipping check (see filter.h).
 *
 * The compiled form is a tree of nodes in one array. Integer comparisons are normalised to a
 * closed range [lo, hi] plus a negation bit, so every comparison on a column is one
 * branch-free loop per column width. Evaluation over a block produces a 0/1 byte per record;
 * AND/OR/NOT combine such masks, and the right side of AND/OR is only evaluated when the left
 * side leaves something to decide.
 */
#include "query/filter.h"

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

enum fkind {
    FK_ANY,
    FK_AND,
    FK_OR,
    FK_NOT,
    FK_RANGE,  /* field in [lo, hi], xor neg */
    FK_INSET,  /* field in values[] */
    FK_FLAGS,  /* (tcp_flags & mask) == mask */
    FK_NET,    /* address field in prefix */
    FK_ADDRSET,/* address field in set */
    FK_FAMILY, /* src is IPv4 (lo = 1) or IPv6 (lo = 0) */
};

enum ffield {
    FF_SRC_PORT, FF_DST_PORT, FF_PROTO, FF_PACKETS, FF_BYTES, FF_SRC_AS, FF_DST_AS, FF_IN_IF,
    FF_OUT_IF, FF_SAMPLING, FF_TOS, FF_VLAN, FF_DURATION, FF_PPS, FF_BPS, FF_BPP,
    FF_SRC, FF_DST, FF_EXPORTER,
    /* having mode */
    FF_H_FLOWS, FF_H_PACKETS, FF_H_BYTES, FF_H_DISTINCT,
};

struct addrset {
    struct ipaddr *keys; /* open addressing, zero key marks empty (::/128 kept in has_zero) */
    uint32_t *keys4;     /* IPv4 members (host order), open addressing; 0 in has_zero4 */
    size_t cap, cap4, n;
    bool has_zero, has_zero4;
    struct ipprefix *pfx; /* non-host prefixes, checked linearly */
    size_t npfx;
};

struct fnode {
    uint8_t kind, field, neg;
    uint8_t flags;
    int a, b;
    uint64_t lo, hi;
    struct ipprefix pfx;
    int set;            /* index into f->sets, or into f->vals for FK_INSET */
    size_t nvals;
};

struct filter {
    struct fnode *nodes;
    size_t n;
    int root;
    bool having;
    struct addrset *sets;
    size_t nsets;
    uint64_t *vals; /* FK_INSET value lists, back to back */
    size_t nv;
    uint8_t *bitmaps; /* one 8 KiB bitmap per FK_INSET on a 16-bit field */
    size_t nbitmaps;
};

/* ---- lexer ----------------------------------------------------------------------------- */

enum tok { T_END, T_WORD, T_LP, T_RP, T_LB, T_RB, T_AND, T_OR, T_NOT, T_CMP, T_COMMA };
enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct parser {
    const char *s;
    size_t pos;       /* next char */
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
    case '(': p->tok = T_LP; return;
    case ')': p->tok = T_RP; return;
    case '[': p->tok = T_LB; return;
    case ']': p->tok = T_RB; return;
    case ',': p->tok = T_COMMA; return;
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
    } words[] = {{"eq", C_EQ}, {"ne", C_NE}, {"lt", C_LT}, {"le", C_LE}, {"gt", C_GT}, {"ge", C_GE}};
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
        return perr(p, p->tstart, "expected a number, got '%.*s'", (int)(p->tlen > 40 ? 40 : p->tlen), s);
    if (i < p->tlen) {
        uint64_t mul = 0;
        if (i + 1 == p->tlen) {
            switch (tolower((unsigned char)s[i])) {
            case 'k': mul = 1000; break;
            case 'm': mul = 1000000; break;
            case 'g': mul = 1000000000; break;
            }
        }
        if (!mul)
            return perr(p, p->tstart, "expected a number, got '%.*s'", (int)(p->tlen > 40 ? 40 : p->tlen), s);
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

/* The evaluator's fields that are flow fields (core/flow_field.h): their widths and columns
 * come from the field table, and `NAME [CMP] N` accepts the number ones by any of their names. */
static const struct {
    enum flow_field_id fid;
    enum ffield ff;
} field_terms[] = {
    {FLOW_F_SRC_PORT, FF_SRC_PORT},   {FLOW_F_DST_PORT, FF_DST_PORT}, {FLOW_F_PROTO, FF_PROTO},
    {FLOW_F_PACKETS, FF_PACKETS},     {FLOW_F_BYTES, FF_BYTES},       {FLOW_F_SRC_AS, FF_SRC_AS},
    {FLOW_F_DST_AS, FF_DST_AS},       {FLOW_F_IN_IF, FF_IN_IF},       {FLOW_F_OUT_IF, FF_OUT_IF},
    {FLOW_F_SAMPLING_RATE, FF_SAMPLING}, {FLOW_F_TOS, FF_TOS},        {FLOW_F_VLAN, FF_VLAN},
    {FLOW_F_SRC_ADDR, FF_SRC},        {FLOW_F_DST_ADDR, FF_DST},      {FLOW_F_EXPORTER, FF_EXPORTER},
};

/* The evaluator's field of flow field fid, or -1 when the filter cannot test it. */
static int term_of_field(enum flow_field_id fid)
{
    for (size_t i = 0; i < sizeof field_terms / sizeof field_terms[0]; i++)
        if (field_terms[i].fid == fid)
            return (int)field_terms[i].ff;
    return -1;
}

/* The flow field of evaluator field fld, or NULL for a derived one (duration, rates). */
static const struct flow_field *field_of_term(enum ffield fld)
{
    for (size_t i = 0; i < sizeof field_terms / sizeof field_terms[0]; i++)
        if (field_terms[i].ff == fld)
            return &flow_fields[field_terms[i].fid];
    return NULL;
}

static uint64_t field_max(enum ffield fld)
{
    const struct flow_field *f = field_of_term(fld);
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
    case C_EQ: nd->lo = nd->hi = v; break;
    case C_NE: nd->lo = nd->hi = v; nd->neg = 1; break;
    case C_LT:
        if (v == 0) { nd->neg = 1; } /* nothing is < 0: the full range, negated */
        else nd->hi = v - 1;
        break;
    case C_LE: nd->hi = v; break;
    case C_GT:
        if (v == UINT64_MAX) nd->neg = 1;
        else nd->lo = v + 1;
        break;
    case C_GE: nd->lo = v; break;
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

/* ---- address sets ---------------------------------------------------------------------- */

static int set_grow(struct addrset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 64;
    struct ipaddr *nk = calloc(ncap, sizeof *nk);
    if (!nk)
        return BS_ENOMEM;
    static const struct ipaddr zero;
    for (size_t i = 0; i < s->cap; i++) {
        if (!memcmp(&s->keys[i], &zero, 16))
            continue;
        size_t h = hash_bytes(&s->keys[i], 16, 0) & (ncap - 1);
        while (memcmp(&nk[h], &zero, 16))
            h = (h + 1) & (ncap - 1);
        nk[h] = s->keys[i];
    }
    free(s->keys);
    s->keys = nk;
    s->cap = ncap;
    return 0;
}

static int set_grow4(struct addrset *s)
{
    size_t ncap = s->cap4 ? s->cap4 * 2 : 64;
    uint32_t *nk = calloc(ncap, sizeof *nk);
    if (!nk)
        return BS_ENOMEM;
    for (size_t i = 0; i < s->cap4; i++) {
        if (!s->keys4[i])
            continue;
        size_t h = hash_mix64(s->keys4[i]) & (ncap - 1);
        while (nk[h])
            h = (h + 1) & (ncap - 1);
        nk[h] = s->keys4[i];
    }
    free(s->keys4);
    s->keys4 = nk;
    s->cap4 = ncap;
    return 0;
}

static bool set_has(const struct addrset *s, const struct ipaddr *a)
{
    if (ipaddr_is_zero(a))
        return s->has_zero;
    if (s->cap) {
        static const struct ipaddr zero;
        size_t h = hash_bytes(a, 16, 0) & (s->cap - 1);
        while (memcmp(&s->keys[h], &zero, 16)) {
            if (!memcmp(&s->keys[h], a, 16))
                return true;
            h = (h + 1) & (s->cap - 1);
        }
    }
    for (size_t i = 0; i < s->npfx; i++)
        if (ipprefix_contains(&s->pfx[i], a))
            return true;
    return false;
}

static bool set_has4(const struct addrset *s, uint32_t v)
{
    if (s->npfx) {
        struct ipaddr a;
        ipaddr_from_v4(&a, v);
        return set_has(s, &a);
    }
    if (!v)
        return s->has_zero4;
    if (!s->cap4)
        return false;
    size_t h = hash_mix64(v) & (s->cap4 - 1);
    while (s->keys4[h]) {
        if (s->keys4[h] == v)
            return true;
        h = (h + 1) & (s->cap4 - 1);
    }
    return false;
}

static int set_add(struct addrset *s, const struct ipprefix *pf)
{
    if (pf->len < 128) {
        if (s->npfx % 16 == 0) {
            struct ipprefix *np = realloc(s->pfx, (s->npfx + 16) * sizeof *np);
            if (!np)
                return BS_ENOMEM;
            s->pfx = np;
        }
        s->pfx[s->npfx++] = *pf;
        return 0;
    }
    const struct ipaddr *a = &pf->addr;
    if (set_has(s, a))
        return 0;
    if (ipaddr_is_zero(a)) {
        s->has_zero = true;
    } else {
        if ((s->n + 1) * 2 > s->cap && set_grow(s))
            return BS_ENOMEM;
        size_t h = hash_bytes(a, 16, 0) & (s->cap - 1);
        static const struct ipaddr zero;
        while (memcmp(&s->keys[h], &zero, 16))
            h = (h + 1) & (s->cap - 1);
        s->keys[h] = *a;
    }
    s->n++;
    if (ipaddr_is_v4(a)) {
        uint32_t v = ipaddr_v4(a);
        if (!v) {
            s->has_zero4 = true;
        } else {
            if ((s->n + 1) * 2 > s->cap4 && set_grow4(s))
                return BS_ENOMEM;
            size_t h = hash_mix64(v) & (s->cap4 - 1);
            while (s->keys4[h])
                h = (h + 1) & (s->cap4 - 1);
            s->keys4[h] = v;
        }
    }
    return 0;
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
        if ((rc = set_add(s, &pf))) {
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
    {"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17}, {"gre", 47},
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
            if (set_add(&p->f->sets[si], &pf))
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
        } hw[] = {{"flows", FF_H_FLOWS}, {"packets", FF_H_PACKETS}, {"bytes", FF_H_BYTES},
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
                        (unsigned long long)a.v), -1;
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
                            "'%c' is not a TCP flag (F S R P A U E C X)", *c), -1;
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
        fld = ff && ff->type != FLOW_FT_ADDR ? term_of_field(flow_field_id(ff)) : -1;
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

static void free_sets(struct filter *f)
{
    for (size_t i = 0; i < f->nsets; i++) {
        free(f->sets[i].keys);
        free(f->sets[i].keys4);
        free(f->sets[i].pfx);
    }
    free(f->sets);
}

void filter_free(struct filter *f)
{
    if (!f)
        return;
    free(f->nodes);
    free_sets(f);
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

/* ---- metadata -------------------------------------------------------------------------- */

static uint64_t field_cols(enum ffield fld)
{
    const struct flow_field *f = field_of_term(fld);
    if (f)
        return STORE_COLBIT(f->store_col);
    switch (fld) {
    case FF_DURATION:
        return STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS);
    case FF_PPS:
        return STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS) |
               STORE_COLBIT(STORE_COL_PACKETS);
    case FF_BPS:
        return STORE_COLBIT(STORE_COL_START_MS) | STORE_COLBIT(STORE_COL_END_MS) |
               STORE_COLBIT(STORE_COL_BYTES);
    case FF_BPP: return STORE_COLBIT(STORE_COL_PACKETS) | STORE_COLBIT(STORE_COL_BYTES);
    default: return 0;
    }
}

uint64_t filter_columns(const struct filter *f)
{
    uint64_t m = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct fnode *nd = &f->nodes[i];
        switch (nd->kind) {
        case FK_RANGE:
        case FK_INSET:
        case FK_NET:
        case FK_ADDRSET: m |= field_cols((enum ffield)nd->field); break;
        case FK_FLAGS: m |= STORE_COLBIT(STORE_COL_TCP_FLAGS); break;
        case FK_FAMILY: m |= STORE_COLBIT(STORE_COL_SRC); break;
        default: break;
        }
    }
    return m;
}

bool filter_is_any(const struct filter *f)
{
    return f->nodes[f->root].kind == FK_ANY;
}

/* Last address of prefix p (all host bits set). */
static void prefix_last(const struct ipprefix *p, struct ipaddr *out)
{
    *out = p->addr;
    for (unsigned bit = p->len; bit < 128; bit++)
        out->b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
}

static bool may_match(const struct filter *f, int ni, const struct store_block_meta *m)
{
    const struct fnode *nd = &f->nodes[ni];
    switch (nd->kind) {
    case FK_AND: return may_match(f, nd->a, m) && may_match(f, nd->b, m);
    case FK_OR: return may_match(f, nd->a, m) || may_match(f, nd->b, m);
    case FK_RANGE:
        if (nd->field == FF_SRC_PORT || nd->field == FF_DST_PORT) {
            bool src = nd->field == FF_SRC_PORT;
            uint64_t mn = src ? m->src_port_min : m->dst_port_min;
            uint64_t mx = src ? m->src_port_max : m->dst_port_max;
            if (nd->neg)
                return !(nd->lo <= mn && mx <= nd->hi); /* all inside the excluded range */
            if (nd->hi < mn || nd->lo > mx)
                return false;
            if (nd->lo == nd->hi)
                return store_block_may_contain_port(
                    m, src ? STORE_COL_SRC_PORT : STORE_COL_DST_PORT, (uint16_t)nd->lo);
        }
        return true;
    case FK_INSET:
        if (nd->field == FF_SRC_PORT || nd->field == FF_DST_PORT) {
            enum store_col c = nd->field == FF_SRC_PORT ? STORE_COL_SRC_PORT : STORE_COL_DST_PORT;
            for (size_t k = 0; k < nd->nvals; k++)
                if (store_block_may_contain_port(m, c, (uint16_t)f->vals[nd->set + (int)k]))
                    return true;
            return false;
        }
        return true;
    case FK_NET:
        if (nd->field == FF_SRC || nd->field == FF_DST) {
            bool src = nd->field == FF_SRC;
            const struct ipaddr *mn = src ? &m->src_min : &m->dst_min;
            const struct ipaddr *mx = src ? &m->src_max : &m->dst_max;
            struct ipaddr last;
            prefix_last(&nd->pfx, &last);
            if (ipaddr_cmp(&last, mn) < 0 || ipaddr_cmp(&nd->pfx.addr, mx) > 0)
                return false;
            if (nd->pfx.len == 128)
                return store_block_may_contain_addr(m, src ? STORE_COL_SRC : STORE_COL_DST,
                                                    &nd->pfx.addr);
        }
        return true;
    case FK_ADDRSET:
        if (nd->field == FF_SRC || nd->field == FF_DST) {
            const struct addrset *s = &f->sets[nd->set];
            if (s->npfx || s->has_zero || s->n > 256)
                return true;
            enum store_col c = nd->field == FF_SRC ? STORE_COL_SRC : STORE_COL_DST;
            static const struct ipaddr zero;
            for (size_t k = 0; k < s->cap; k++)
                if (memcmp(&s->keys[k], &zero, 16) &&
                    store_block_may_contain_addr(m, c, &s->keys[k]))
                    return true;
            return false;
        }
        return true;
    default: return true;
    }
}

bool filter_block_may_match(const struct filter *f, const struct store_block_meta *m)
{
    return may_match(f, f->root, m);
}

/* ---- evaluation ------------------------------------------------------------------------ */

struct filter_scratch {
    uint8_t *masks[2 * FILTER_MAX_DEPTH + 4]; /* two eval levels per nesting level */
    uint64_t *tmp;
};

struct filter_scratch *filter_scratch_new(void)
{
    return calloc(1, sizeof(struct filter_scratch));
}

void filter_scratch_free(struct filter_scratch *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < sizeof s->masks / sizeof s->masks[0]; i++)
        free(s->masks[i]);
    free(s->tmp);
    free(s);
}

static uint8_t *mask_at(struct filter_scratch *s, unsigned depth)
{
    if (depth >= sizeof s->masks / sizeof s->masks[0])
        return NULL;
    if (!s->masks[depth])
        s->masks[depth] = malloc(SEGMENT_BLOCK_MAX);
    return s->masks[depth];
}

#define RANGE_LOOP(T, col)                                                                       \
    do {                                                                                         \
        const T *v_ = (col);                                                                     \
        uint64_t lo_ = nd->lo, w_ = nd->hi - nd->lo;                                             \
        uint8_t ng_ = nd->neg;                                                                   \
        if (nd->lo > nd->hi) {                                                                   \
            memset(out, ng_, n);                                                                 \
            break;                                                                               \
        }                                                                                        \
        for (size_t i = 0; i < n; i++)                                                           \
            out[i] = (uint8_t)(((uint64_t)v_[i] - lo_ <= w_) ^ ng_);                             \
    } while (0)

static uint64_t rate(uint64_t num, uint64_t start, uint64_t end, uint64_t scale)
{
    uint64_t d = end > start ? end - start : 0;
    return d ? num * scale / d : 0;
}

static int eval_range(const struct fnode *nd, const struct store_block *b, uint8_t *out,
                      struct filter_scratch *s)
{
    size_t n = b->n;
    switch (nd->field) {
    case FF_SRC_PORT: RANGE_LOOP(uint16_t, b->src_port); return 0;
    case FF_DST_PORT: RANGE_LOOP(uint16_t, b->dst_port); return 0;
    case FF_VLAN: RANGE_LOOP(uint16_t, b->vlan); return 0;
    case FF_PROTO: RANGE_LOOP(uint8_t, b->proto); return 0;
    case FF_TOS: RANGE_LOOP(uint8_t, b->tos); return 0;
    case FF_PACKETS: RANGE_LOOP(uint64_t, b->packets); return 0;
    case FF_BYTES: RANGE_LOOP(uint64_t, b->bytes); return 0;
    case FF_SRC_AS: RANGE_LOOP(uint32_t, b->src_as); return 0;
    case FF_DST_AS: RANGE_LOOP(uint32_t, b->dst_as); return 0;
    case FF_IN_IF: RANGE_LOOP(uint32_t, b->in_if); return 0;
    case FF_OUT_IF: RANGE_LOOP(uint32_t, b->out_if); return 0;
    case FF_SAMPLING: RANGE_LOOP(uint32_t, b->sampling); return 0;
    default: break;
    }
    if (!s->tmp && !(s->tmp = malloc(SEGMENT_BLOCK_MAX * sizeof *s->tmp)))
        return BS_ENOMEM;
    uint64_t *t = s->tmp;
    for (size_t i = 0; i < n; i++) {
        switch (nd->field) {
        case FF_DURATION:
            t[i] = b->end_ms[i] > b->start_ms[i] ? b->end_ms[i] - b->start_ms[i] : 0;
            break;
        case FF_PPS: t[i] = rate(b->packets[i], b->start_ms[i], b->end_ms[i], 1000); break;
        case FF_BPS: t[i] = rate(b->bytes[i], b->start_ms[i], b->end_ms[i], 8000); break;
        case FF_BPP: t[i] = b->packets[i] ? b->bytes[i] / b->packets[i] : 0; break;
        default: t[i] = 0; break;
        }
    }
    RANGE_LOOP(uint64_t, t);
    return 0;
}

static const struct store_addr_col *addr_col(const struct store_block *b, unsigned field)
{
    switch (field) {
    case FF_SRC: return &b->src;
    case FF_DST: return &b->dst;
    default: return &b->exporter;
    }
}

static void eval_net(const struct fnode *nd, const struct store_block *b, uint8_t *out)
{
    size_t n = b->n;
    const struct store_addr_col *c = addr_col(b, nd->field);
    const struct ipprefix *pf = &nd->pfx;
    if (c->v4) {
        if (pf->len >= 96 && ipaddr_is_v4(&pf->addr)) {
            unsigned l4 = pf->len - 96u;
            uint32_t mask = l4 ? (uint32_t)(0xffffffffu << (32 - l4)) : 0;
            uint32_t net = ipaddr_v4(&pf->addr) & mask;
            for (size_t i = 0; i < n; i++)
                out[i] = (c->v4[i] & mask) == net;
        } else {
            struct ipaddr probe;
            ipaddr_from_v4(&probe, 0);
            /* A shorter prefix either covers all of ::ffff:0:0/96 or none of it. */
            memset(out, pf->len < 96 && ipprefix_contains(pf, &probe), n);
        }
        return;
    }
    unsigned full = pf->len / 8, bits = pf->len % 8;
    uint8_t pm = (uint8_t)(0xff00u >> bits);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *a = c->full[i].b;
        out[i] = !memcmp(a, pf->addr.b, full) && (!bits || (a[full] & pm) == pf->addr.b[full]);
    }
}

static int eval_node(const struct filter *f, int ni, const struct store_block *b, uint8_t *out,
                     struct filter_scratch *s, unsigned depth)
{
    const struct fnode *nd = &f->nodes[ni];
    size_t n = b->n;
    int rc;
    switch (nd->kind) {
    case FK_ANY: memset(out, 1, n); return 0;
    case FK_NOT:
        if ((rc = eval_node(f, nd->a, b, out, s, depth)))
            return rc;
        for (size_t i = 0; i < n; i++)
            out[i] ^= 1;
        return 0;
    case FK_AND:
    case FK_OR: {
        if ((rc = eval_node(f, nd->a, b, out, s, depth)))
            return rc;
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += out[i];
        if (nd->kind == FK_AND ? cnt == 0 : cnt == n)
            return 0;
        uint8_t *t = mask_at(s, depth + 1);
        if (!t)
            return BS_ENOMEM;
        if ((rc = eval_node(f, nd->b, b, t, s, depth + 1)))
            return rc;
        if (nd->kind == FK_AND)
            for (size_t i = 0; i < n; i++)
                out[i] &= t[i];
        else
            for (size_t i = 0; i < n; i++)
                out[i] |= t[i];
        return 0;
    }
    case FK_RANGE: return eval_range(nd, b, out, s);
    case FK_INSET: {
        const uint8_t *bm = f->bitmaps + nd->lo * 8192;
        const uint16_t *v16 = nd->field == FF_SRC_PORT ? b->src_port
                              : nd->field == FF_DST_PORT ? b->dst_port
                                                         : NULL;
        if (v16) {
            for (size_t i = 0; i < n; i++)
                out[i] = (bm[v16[i] >> 3] >> (v16[i] & 7)) & 1;
            return 0;
        }
        const uint32_t *v32 = nd->field == FF_SRC_AS ? b->src_as : b->dst_as;
        for (size_t i = 0; i < n; i++) {
            out[i] = 0;
            for (size_t k = 0; k < nd->nvals; k++)
                if (f->vals[nd->set + (int)k] == v32[i]) {
                    out[i] = 1;
                    break;
                }
        }
        return 0;
    }
    case FK_FLAGS:
        for (size_t i = 0; i < n; i++)
            out[i] = (b->tcp_flags[i] & nd->flags) == nd->flags;
        return 0;
    case FK_NET: eval_net(nd, b, out); return 0;
    case FK_ADDRSET: {
        const struct addrset *set = &f->sets[nd->set];
        const struct store_addr_col *c = addr_col(b, nd->field);
        if (c->v4)
            for (size_t i = 0; i < n; i++)
                out[i] = set_has4(set, c->v4[i]);
        else
            for (size_t i = 0; i < n; i++)
                out[i] = set_has(set, &c->full[i]);
        return 0;
    }
    case FK_FAMILY:
        if (b->src.v4)
            memset(out, (int)nd->lo, n);
        else
            for (size_t i = 0; i < n; i++)
                out[i] = ipaddr_is_v4(&b->src.full[i]) == (nd->lo != 0);
        return 0;
    }
    return BS_EMALFORMED;
}

long filter_eval_block(const struct filter *f, const struct store_block *b, uint8_t *sel,
                       struct filter_scratch *s)
{
    size_t n = b->n;
    long cnt = 0;
    if (filter_is_any(f)) {
        for (size_t i = 0; i < n; i++)
            cnt += sel[i];
        return cnt;
    }
    uint8_t *m = mask_at(s, 0);
    if (!m)
        return BS_ENOMEM;
    int rc = eval_node(f, f->root, b, m, s, 0);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        sel[i] &= m[i];
        cnt += sel[i];
    }
    return cnt;
}

bool filter_match_rec(const struct filter *f, const struct flow_rec *r)
{
    /* One-record block: full-address columns, so every node type is exercised on the slow
     * path the same way as on a mixed-family block. */
    uint64_t end = r->end_ms, pk = r->packets, by = r->bytes, st = r->start_ms;
    uint32_t sa = r->src_as, da = r->dst_as, ii = r->in_if, oi = r->out_if, sr = r->sampling_rate;
    uint16_t sp = r->src_port, dp = r->dst_port, vl = r->vlan;
    uint8_t pr = r->proto, fl = r->tcp_flags, tos = r->tos;
    struct store_block b = {
        .n = 1, .start_ms = &st, .end_ms = &end, .packets = &pk, .bytes = &by,
        .src = {NULL, &r->src}, .dst = {NULL, &r->dst}, .exporter = {NULL, &r->exporter},
        .nexthop = {NULL, &r->nexthop}, .sampling = &sr, .in_if = &ii, .out_if = &oi,
        .src_as = &sa, .dst_as = &da, .src_port = &sp, .dst_port = &dp, .vlan = &vl,
        .proto = &pr, .tcp_flags = &fl, .tos = &tos,
    };
    struct filter_scratch *s = filter_scratch_new();
    if (!s)
        return false;
    uint8_t sel = 1;
    long rc = filter_eval_block(f, &b, &sel, s);
    filter_scratch_free(s);
    return rc == 1;
}

static bool row_match(const struct filter *f, int ni, const uint64_t v[4])
{
    const struct fnode *nd = &f->nodes[ni];
    switch (nd->kind) {
    case FK_ANY: return true;
    case FK_NOT: return !row_match(f, nd->a, v);
    case FK_AND: return row_match(f, nd->a, v) && row_match(f, nd->b, v);
    case FK_OR: return row_match(f, nd->a, v) || row_match(f, nd->b, v);
    case FK_RANGE: {
        if (nd->field < FF_H_FLOWS || nd->field > FF_H_DISTINCT)
            return false;
        uint64_t x = v[nd->field - FF_H_FLOWS];
        bool in = nd->lo <= nd->hi && x >= nd->lo && x <= nd->hi;
        return in != (nd->neg != 0);
    }
    default: return false;
    }
}

bool filter_match_row(const struct filter *f, uint64_t flows, uint64_t packets, uint64_t bytes,
                      uint64_t distinct)
{
    uint64_t v[4] = {flows, packets, bytes, distinct};
    return row_match(f, f->root, v);
}

/* ---- the compiled tree, read-only (filter.h) -------------------------------------------- */

_Static_assert((int)FILTER_N_FAMILY == (int)FK_FAMILY && (int)FILTER_N_RANGE == (int)FK_RANGE,
               "filter_node_kind mirrors enum fkind");
_Static_assert((int)FILTER_F_H_DISTINCT == (int)FF_H_DISTINCT &&
                   (int)FILTER_F_EXPORTER == (int)FF_EXPORTER && (int)FILTER_F_BPP == (int)FF_BPP,
               "filter_field mirrors enum ffield");

int filter_root(const struct filter *f)
{
    return f->root;
}

void filter_node_get(const struct filter *f, int i, struct filter_node_view *v)
{
    const struct fnode *nd = &f->nodes[i];
    memset(v, 0, sizeof *v);
    v->kind = (enum filter_node_kind)nd->kind;
    v->field = (enum filter_field)nd->field;
    v->neg = nd->neg != 0;
    v->a = nd->a;
    v->b = nd->b;
    v->lo = nd->lo;
    v->hi = nd->hi;
    v->flags = nd->flags;
    v->pfx = nd->pfx;
    if (nd->kind == FK_INSET) {
        v->vals = f->vals + nd->set;
        v->nvals = nd->nvals;
    }
}

int filter_addrset_each(const struct filter *f, int i,
                        int (*cb)(void *ctx, const struct ipprefix *p), void *ctx)
{
    const struct addrset *s = &f->sets[f->nodes[i].set];
    static const struct ipaddr zero;
    int rc;
    struct ipprefix p = {.len = 128};
    if (s->has_zero && (rc = cb(ctx, &p)))
        return rc;
    for (size_t k = 0; k < s->cap; k++) {
        if (!memcmp(&s->keys[k], &zero, 16))
            continue;
        p.addr = s->keys[k];
        if ((rc = cb(ctx, &p)))
            return rc;
    }
    for (size_t k = 0; k < s->npfx; k++)
        if ((rc = cb(ctx, &s->pfx[k])))
            return rc;
    return 0;
}
