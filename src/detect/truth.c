/* truth.c - ground truth loaders: the simulator's truth.json, c2-dev's truth.json and
 * labelled flow logs (Zeek TSV/CSV with IoT-23/CTU labels, CTU-13 binetflow). See truth.h. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/htab.h"
#include "core/vec.h"
#include "detect/dtext.h"
#include "detect/truth.h"

/* ---- uniqueness while loading: core/htab tables of fixed-size keys ---- */

/* The files are the operator's own labelled data, so a fixed seed (runs stay comparable). */
#define TRUTH_SEED 0x7275746875ull

struct truth_index {
    struct htab ep;   /* endpoint key (20 bytes) -> its index in t->ep */
    struct htab host; /* infected address (16 bytes) */
    struct htab pair; /* endpoint index and client (20 bytes): a bot counted once */
};

/* The storage vecs are made on first use: a zeroed struct truth is a valid empty one. */
static int ensure_index(struct truth *t)
{
    if (!t->ep_v.esize) {
        vec_init(&t->ep_v, sizeof(struct truth_endpoint), 16, TRUTH_MAX_ENDPOINTS);
        vec_init(&t->related_v, sizeof(struct truth_endpoint), 16, TRUTH_MAX_ENDPOINTS);
        vec_init(&t->infected_v, sizeof(struct ipaddr), 16, TRUTH_MAX_HOSTS);
    }
    if (t->ix)
        return 0;
    t->ix = calloc(1, sizeof *t->ix);
    if (!t->ix)
        return BS_ENOMEM;
    htab_init(&t->ix->ep, 20, sizeof(size_t), TRUTH_MAX_ENDPOINTS, TRUTH_SEED);
    htab_init(&t->ix->host, 16, 0, TRUTH_MAX_HOSTS, TRUTH_SEED);
    htab_init(&t->ix->pair, 20, 0, TRUTH_MAX_HOSTS, TRUTH_SEED);
    return 0;
}

static void index_free(struct truth *t)
{
    if (!t->ix)
        return;
    htab_release(&t->ix->ep);
    htab_release(&t->ix->host);
    htab_release(&t->ix->pair);
    free(t->ix);
    t->ix = NULL;
}

/* Appends a zeroed element to one of the storage vecs (the caller updates its view). */
static void *push(struct vec *v, int *rc)
{
    void *e = vec_push(v, v->esize, rc);
    if (e)
        memset(e, 0, v->esize);
    return e;
}

/* ---- the truth itself ---- */

static const char *const format_names[TRUTH_FORMAT_COUNT] = {"sim", "c2dev", "zeek", "zeek-csv",
                                                             "binetflow"};

const char *truth_format_name(enum truth_format f)
{
    return (unsigned)f < TRUTH_FORMAT_COUNT ? format_names[f] : NULL;
}

void truth_release(struct truth *t)
{
    index_free(t);
    vec_release(&t->ep_v);
    vec_release(&t->related_v);
    vec_release(&t->infected_v);
    memset(t, 0, sizeof *t);
}

static void ep_key(uint8_t key[20], const struct ipaddr *a, uint16_t port, uint8_t proto)
{
    memcpy(key, a->b, 16);
    key[16] = (uint8_t)(port >> 8);
    key[17] = (uint8_t)port;
    key[18] = proto;
    key[19] = 0;
}

/* truth_add_endpoint, also giving the endpoint's index in t->ep (valid until truth_finish). */
static int add_endpoint(struct truth *t, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                        uint64_t first_ms, uint64_t last_ms, uint64_t flows, uint32_t clients,
                        size_t *index)
{
    int rc = ensure_index(t);
    if (rc)
        return rc;
    uint8_t key[20];
    ep_key(key, addr, port, proto);
    size_t i;
    bool is_new;
    size_t *at = htab_put(&t->ix->ep, key, &is_new, &rc);
    if (!at)
        return rc;
    if (is_new) {
        struct truth_endpoint *e = push(&t->ep_v, &rc);
        if (!e) {
            htab_del(&t->ix->ep, key, NULL); /* no index without its endpoint */
            return rc;
        }
        t->ep = t->ep_v.data;
        t->n = t->ep_v.n;
        *at = t->n - 1;
        e->addr = *addr;
        e->port = port;
        e->proto = proto;
        e->first_ms = first_ms;
        e->last_ms = last_ms;
    }
    i = *at;
    struct truth_endpoint *e = &t->ep[i];
    if (first_ms < e->first_ms)
        e->first_ms = first_ms;
    if (last_ms > e->last_ms)
        e->last_ms = last_ms;
    e->flows += flows;
    e->clients += clients;
    *index = i;
    return 0;
}

int truth_add_endpoint(struct truth *t, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                       uint64_t first_ms, uint64_t last_ms, uint64_t flows, uint32_t clients)
{
    size_t i;
    /* first_ms <= last_ms holds for every endpoint (eval's day rows rely on it). */
    if (last_ms < first_ms)
        last_ms = first_ms;
    return add_endpoint(t, addr, port, proto, first_ms, last_ms, flows, clients, &i);
}

/* Counts client as a bot of endpoint i once. */
static int add_client(struct truth *t, size_t i, const struct ipaddr *client)
{
    uint8_t key[20];
    uint32_t i32 = (uint32_t)i;
    memcpy(key, &i32, 4);
    memcpy(key + 4, client->b, 16);
    bool is_new;
    int rc = 0;
    if (!htab_put(&t->ix->pair, key, &is_new, &rc))
        return rc;
    if (is_new)
        t->ep[i].clients++;
    return 0;
}

int truth_add_infected(struct truth *t, const struct ipaddr *addr)
{
    int rc = ensure_index(t);
    if (rc)
        return rc;
    bool is_new;
    if (!htab_put(&t->ix->host, addr->b, &is_new, &rc))
        return rc;
    if (!is_new)
        return 0;
    struct ipaddr *a = push(&t->infected_v, &rc);
    if (!a) {
        htab_del(&t->ix->host, addr->b, NULL);
        return rc;
    }
    t->infected = t->infected_v.data;
    t->ninfected = t->infected_v.n;
    *a = *addr;
    return 0;
}

int truth_add_related(struct truth *t, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                      uint64_t first_ms, uint64_t last_ms)
{
    int rc = ensure_index(t);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->nrelated; i++)
        if (!ipaddr_cmp(&t->related[i].addr, addr) && t->related[i].port == port &&
            t->related[i].proto == proto)
            return 0;
    struct truth_endpoint *e = push(&t->related_v, &rc);
    if (!e)
        return rc;
    t->related = t->related_v.data;
    t->nrelated = t->related_v.n;
    e->addr = *addr;
    e->port = port;
    e->proto = proto;
    e->first_ms = first_ms;
    e->last_ms = last_ms;
    return 0;
}

static int cmp_ep(const void *a, const void *b)
{
    const struct truth_endpoint *x = a, *y = b;
    int c = ipaddr_cmp(&x->addr, &y->addr);
    if (c)
        return c;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return (int)x->proto - (int)y->proto;
}

static int cmp_ip(const void *a, const void *b)
{
    return ipaddr_cmp(a, b);
}

void truth_finish(struct truth *t)
{
    index_free(t);
    if (t->n)
        qsort(t->ep, t->n, sizeof *t->ep, cmp_ep);
    if (t->nrelated)
        qsort(t->related, t->nrelated, sizeof *t->related, cmp_ep);
    if (t->ninfected)
        qsort(t->infected, t->ninfected, sizeof *t->infected, cmp_ip);
}

__attribute__((format(printf, 3, 4))) static int terr(struct truth_error *err, unsigned long line,
                                                      const char *fmt, ...)
{
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return BS_EMALFORMED;
}

/* ---- JSON truths ---- */

static int j_addr(json_t *v, struct ipaddr *a)
{
    return json_is_string(v) && !ipaddr_parse(json_string_value(v), a) ? 0 : BS_EPARSE;
}

static int j_u64(json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    return BS_EPARSE;
}

static int j_proto(json_t *v, uint8_t *p)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255) {
        *p = (uint8_t)json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? dtext_proto(json_string_value(v), p) : BS_EPARSE;
}

/* The earliest infection time of host a in the simulator's infections (sorted by address). */
struct bot_time {
    struct ipaddr addr;
    uint64_t first_ms;
};

static int cmp_bot(const void *a, const void *b)
{
    return ipaddr_cmp(&((const struct bot_time *)a)->addr, &((const struct bot_time *)b)->addr);
}

static int load_sim(json_t *root, struct truth *t, struct truth_error *err)
{
    json_t *infs = json_object_get(root, "infections");
    json_t *c2s = json_object_get(root, "c2_servers");
    if (!json_is_array(c2s))
        return terr(err, 0, "simulator truth without a c2_servers array");
    size_t nb = json_is_array(infs) ? json_array_size(infs) : 0;
    struct bot_time *bots = nb ? calloc(nb, sizeof *bots) : NULL;
    if (nb && !bots)
        return BS_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < nb; i++) {
        json_t *in = json_array_get(infs, i);
        if (j_addr(json_object_get(in, "addr"), &bots[i].addr) ||
            j_u64(json_object_get(in, "first_ms"), &bots[i].first_ms)) {
            rc = terr(err, 0, "infections[%zu]: addr or first_ms missing or invalid", i);
            goto out;
        }
        if ((rc = truth_add_infected(t, &bots[i].addr)))
            goto out;
    }
    if (nb)
        qsort(bots, nb, sizeof *bots, cmp_bot);
    for (size_t c = 0; c < json_array_size(c2s); c++) {
        json_t *cc = json_array_get(c2s, c);
        uint64_t port;
        uint8_t proto;
        json_t *addrs = json_object_get(cc, "addresses");
        if (j_u64(json_object_get(cc, "port"), &port) || port > 65535 ||
            j_proto(json_object_get(cc, "proto"), &proto) || !json_is_array(addrs)) {
            rc = terr(err, 0, "c2_servers[%zu]: port, proto or addresses missing or invalid", c);
            goto out;
        }
        for (size_t k = 0; k < json_array_size(addrs); k++) {
            json_t *ad = json_array_get(addrs, k);
            struct ipaddr a;
            uint64_t first, last;
            json_t *bl = json_object_get(ad, "bots");
            if (j_addr(json_object_get(ad, "addr"), &a) ||
                j_u64(json_object_get(ad, "first_ms"), &first) ||
                j_u64(json_object_get(ad, "last_ms"), &last) || !json_is_array(bl)) {
                rc = terr(err, 0,
                          "c2_servers[%zu].addresses[%zu]: addr, first_ms, last_ms or "
                          "bots missing or invalid",
                          c, k);
                goto out;
            }
            if (first > last) {
                rc = terr(err, 0, "c2_servers[%zu].addresses[%zu]: first_ms after last_ms", c, k);
                goto out;
            }
            /* An address no bot ever contacted left no flow: nothing to detect. */
            if (!json_array_size(bl))
                continue;
            /* Its activity starts when the address is in use and a bot of it is infected. */
            uint64_t earliest_bot = UINT64_MAX;
            for (size_t b = 0; b < json_array_size(bl); b++) {
                struct bot_time key;
                if (j_addr(json_array_get(bl, b), &key.addr)) {
                    rc = terr(err, 0, "c2_servers[%zu].addresses[%zu].bots[%zu]: not an address", c,
                              k, b);
                    goto out;
                }
                const struct bot_time *hit =
                    nb ? bsearch(&key, bots, nb, sizeof *bots, cmp_bot) : NULL;
                if (hit && hit->first_ms < earliest_bot)
                    earliest_bot = hit->first_ms;
            }
            /* A bot infected only after the address was abandoned cannot have used it: the
             * address's own start stands then. */
            uint64_t start = first;
            if (earliest_bot != UINT64_MAX && earliest_bot > start && earliest_bot <= last)
                start = earliest_bot;
            if ((rc = truth_add_endpoint(t, &a, (uint16_t)port, proto, start, last, 0,
                                         (uint32_t)json_array_size(bl))))
                goto out;
        }
        /* The report server and loader serve the same botnet but are not its C&C. */
        const char *rel[] = {"report_server", "loader"};
        for (size_t r = 0; r < 2; r++) {
            json_t *o = json_object_get(cc, rel[r]);
            struct ipaddr a;
            uint64_t p;
            if (!o)
                continue;
            if (j_addr(json_object_get(o, "addr"), &a) || j_u64(json_object_get(o, "port"), &p) ||
                p > 65535) {
                rc = terr(err, 0, "c2_servers[%zu].%s: addr or port invalid", c, rel[r]);
                goto out;
            }
            if ((rc = truth_add_related(t, &a, (uint16_t)p, 6, 0, 0)))
                goto out;
        }
        t->lines++;
    }
out:
    free(bots);
    return rc;
}

static int load_c2dev(json_t *root, const char *scenario, struct truth *t, struct truth_error *err)
{
    json_t *sc = json_object_get(root, "scenarios");
    if (!json_is_array(sc))
        return terr(err, 0, "c2-dev truth without a scenarios array");
    int matched = 0, rc;
    for (size_t s = 0; s < json_array_size(sc); s++) {
        json_t *o = json_array_get(sc, s);
        json_t *name = json_object_get(o, "name");
        if (scenario && !(json_is_string(name) && !strcmp(json_string_value(name), scenario)))
            continue;
        matched++;
        json_t *eps = json_object_get(o, "cc_endpoints");
        json_t *inf = json_object_get(o, "infected_hosts");
        if ((eps && !json_is_array(eps)) || (inf && !json_is_array(inf)))
            return terr(err, 0, "scenarios[%zu]: cc_endpoints and infected_hosts must be arrays",
                        s);
        for (size_t i = 0; i < json_array_size(inf); i++) {
            struct ipaddr a;
            if (j_addr(json_array_get(inf, i), &a))
                return terr(err, 0, "scenarios[%zu].infected_hosts[%zu]: not an address", s, i);
            if ((rc = truth_add_infected(t, &a)))
                return rc;
        }
        for (size_t i = 0; i < json_array_size(eps); i++) {
            json_t *e = json_array_get(eps, i);
            struct ipaddr a;
            uint64_t port, flows = 0;
            uint8_t proto;
            json_t *ft = json_object_get(e, "first_ts"), *lt = json_object_get(e, "last_ts");
            if (j_addr(json_object_get(e, "ip"), &a) || j_u64(json_object_get(e, "port"), &port) ||
                port > 65535 || j_proto(json_object_get(e, "proto"), &proto) ||
                !json_is_number(ft) || json_number_value(ft) < 0 ||
                (lt && (!json_is_number(lt) || json_number_value(lt) < 0)))
                return terr(err, 0,
                            "scenarios[%zu].cc_endpoints[%zu]: ip, port, proto or first_ts "
                            "missing or invalid",
                            s, i);
            uint64_t first = (uint64_t)(json_number_value(ft) * 1000.0);
            uint64_t last = lt ? (uint64_t)(json_number_value(lt) * 1000.0) : first;
            if (first > last)
                return terr(err, 0, "scenarios[%zu].cc_endpoints[%zu]: first_ts after last_ts", s,
                            i);
            j_u64(json_object_get(e, "cc_flows"), &flows);
            json_t *cl = json_object_get(e, "client_ips");
            uint32_t clients = json_is_array(cl) ? (uint32_t)json_array_size(cl) : 0;
            if ((rc =
                     truth_add_endpoint(t, &a, (uint16_t)port, proto, first, last, flows, clients)))
                return rc;
        }
        t->lines++;
    }
    if (scenario && !matched) {
        terr(err, 0, "no scenario named '%s'", scenario);
        return BS_ENOTFOUND;
    }
    return 0;
}

static int load_json(const char *data, size_t len, const char *scenario, struct truth *t,
                     struct truth_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        terr(err, (unsigned long)(je.line > 0 ? je.line : 0), "not valid JSON: %s", je.text);
        return BS_EPARSE;
    }
    int rc;
    if (!json_is_object(root)) {
        rc = terr(err, 0, "a truth file is a JSON object");
    } else if (json_object_get(root, "scenarios")) {
        t->format = TRUTH_C2DEV;
        rc = load_c2dev(root, scenario, t, err);
    } else if (json_object_get(root, "c2_servers")) {
        t->format = TRUTH_SIM;
        rc = load_sim(root, t, err);
    } else {
        terr(err, 0, "JSON without c2_servers (simulator) or scenarios (c2-dev): unknown truth");
        rc = BS_EUNSUPPORTED;
    }
    json_decref(root);
    return rc;
}

/* ---- labelled flow logs ---- */

enum { COL_TS, COL_ORIG, COL_RESP, COL_RPORT, COL_PROTO, COL_LABEL, COL_DETAIL, COL_N };
#define MAX_COLS 128

struct logp {
    enum truth_format fmt;
    char sep;
    int col[COL_N];
    int ncols, need; /* header columns; fields a row needs */
    int have_header;
};

/* Zeek's "#separator \x09": the separator is given as an escape. */
static int parse_separator(const char *s, char *sep)
{
    if (s[0] == '\\' && s[1] == 'x' && isxdigit((unsigned char)s[2]) &&
        isxdigit((unsigned char)s[3]) && !s[4]) {
        *sep = (char)strtoul(s + 2, NULL, 16);
        return *sep && *sep != '\n' ? 0 : BS_EPARSE;
    }
    if (s[0] && !s[1]) {
        *sep = s[0];
        return 0;
    }
    return BS_EPARSE;
}

/* IoT-23's logs end every line with "tunnel_parents   label   detailed-label" joined by three
 * spaces inside one tab-separated field; split such fields so the columns line up. */
static int expand_spaced(char **f, int n, char **out, int max)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        char *p = f[i];
        for (;;) {
            char *gap = strstr(p, "   ");
            if (m >= max)
                return BS_ELIMIT;
            out[m++] = p;
            if (!gap)
                break;
            *gap = '\0';
            p = gap + 3;
            while (*p == ' ')
                p++;
        }
    }
    return m;
}

static int set_columns(struct logp *lp, char **names, int n, unsigned long line,
                       struct truth_error *err)
{
    static const struct {
        const char *name;
        int col;
    } map[] = {
        {"ts", COL_TS},
        {"id.orig_h", COL_ORIG},
        {"id.resp_h", COL_RESP},
        {"id.resp_p", COL_RPORT},
        {"proto", COL_PROTO},
        {"label", COL_LABEL},
        {"detailed-label", COL_DETAIL},
        {"detailedlabel", COL_DETAIL},
        {"detailed_label", COL_DETAIL},
        {"StartTime", COL_TS},
        {"SrcAddr", COL_ORIG},
        {"DstAddr", COL_RESP},
        {"Dport", COL_RPORT},
    };
    for (int c = 0; c < COL_N; c++)
        lp->col[c] = -1;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (!strcasecmp(names[i], map[k].name) && lp->col[map[k].col] < 0)
                lp->col[map[k].col] = i;
    int need[COL_N] = {1, 1, 1, 1, 1, 1, lp->fmt != TRUTH_BINETFLOW};
    static const char *const what[COL_N] = {"ts",    "id.orig_h", "id.resp_h",     "id.resp_p",
                                            "proto", "label",     "detailed-label"};
    lp->need = 0;
    for (int c = 0; c < COL_N; c++) {
        if (need[c] && lp->col[c] < 0)
            return terr(err, line, "the header has no %s column (%s)", what[c],
                        c >= COL_LABEL ? "not a labelled log" : "not a flow log");
        if (lp->col[c] + 1 > lp->need)
            lp->need = lp->col[c] + 1;
    }
    lp->ncols = n;
    lp->have_header = 1;
    return 0;
}

static int is_cc_token(const char *label)
{
    /* Argus labels: "flow=From-Botnet-V42-TCP-CC107-IRC-Not-Encrypted": a component CC or
     * CC<digits> names C&C traffic. */
    const char *p = label;
    while (*p) {
        const char *e = strchr(p, '-');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= 2 && p[0] == 'C' && p[1] == 'C') {
            size_t k = 2;
            while (k < n && p[k] >= '0' && p[k] <= '9')
                k++;
            if (k == n)
                return 1;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int log_row(struct logp *lp, char **v, int n, unsigned long line, struct truth *t,
                   struct truth_error *err)
{
    if (n < lp->need)
        return terr(err, line, "%d fields, the header names %d", n, lp->ncols);
    const char *label = v[lp->col[COL_LABEL]];
    int cc, infected;
    if (lp->fmt == TRUTH_BINETFLOW) {
        int botnet = strstr(label, "From-Botnet") != NULL;
        cc = botnet && is_cc_token(label);
        infected = botnet;
    } else {
        const char *d = v[lp->col[COL_DETAIL]];
        while (*d == ' ')
            d++;
        cc = dtext_starts_with(d, "C&C");
        infected = cc || (!strcasecmp(label, "Malicious") && !strstr(d, "External"));
    }
    if (!infected)
        return 0;
    struct ipaddr orig;
    if (ipaddr_parse(v[lp->col[COL_ORIG]], &orig))
        return terr(err, line, "originator '%s' is not an address", v[lp->col[COL_ORIG]]);
    int rc = truth_add_infected(t, &orig);
    if (rc || !cc)
        return rc;
    struct ipaddr resp;
    uint64_t ts, port = 0;
    uint8_t proto;
    const char *ps = v[lp->col[COL_RPORT]];
    if (ipaddr_parse(v[lp->col[COL_RESP]], &resp))
        return terr(err, line, "responder '%s' is not an address", v[lp->col[COL_RESP]]);
    if ((lp->fmt == TRUTH_BINETFLOW ? dtext_utc_ms(v[lp->col[COL_TS]], &ts)
                                    : dtext_secs_ms(v[lp->col[COL_TS]], &ts)))
        return terr(err, line, "time '%s' does not parse", v[lp->col[COL_TS]]);
    if (dtext_proto(v[lp->col[COL_PROTO]], &proto))
        return terr(err, line, "protocol '%s' unknown", v[lp->col[COL_PROTO]]);
    if (*ps && strcmp(ps, "-") && dtext_u64(ps, 65535, 1, &port))
        return terr(err, line, "port '%s' is not a number 0..65535", ps);
    /* ICMP "ports" are type and code: the endpoint is the address. */
    if (proto == 1 || proto == 58)
        port = 0;
    size_t idx;
    if ((rc = add_endpoint(t, &resp, (uint16_t)port, proto, ts, ts, 1, 0, &idx)))
        return rc;
    return add_client(t, idx, &orig);
}

static int log_line(struct logp *lp, char *line, unsigned long lineno, struct truth *t,
                    struct truth_error *err)
{
    char *f[MAX_COLS], *g[MAX_COLS];
    if (!*line)
        return 0;
    if (lp->fmt == TRUTH_ZEEK_TSV && line[0] == '#') {
        if (!strncmp(line, "#separator ", 11)) {
            if (parse_separator(line + 11, &lp->sep))
                return terr(err, lineno, "bad #separator");
        } else if (!strncmp(line, "#fields", 7) && line[7]) {
            int n = dtext_split(line + 8, lp->sep, 0, f, MAX_COLS);
            if (n < 0 || (n = expand_spaced(f, n, g, MAX_COLS)) < 0)
                return terr(err, lineno, "more than %d columns", MAX_COLS);
            return set_columns(lp, g, n, lineno, err);
        }
        return 0;
    }
    if (lp->fmt != TRUTH_ZEEK_TSV && !lp->have_header) {
        int n = dtext_split(line, ',', 1, f, MAX_COLS);
        if (n < 0)
            return terr(err, lineno, "the header does not split into columns");
        return set_columns(lp, f, n, lineno, err);
    }
    if (!lp->have_header)
        return terr(err, lineno, "a data line before the #fields header");
    int n = dtext_split(line, lp->sep, lp->fmt != TRUTH_ZEEK_TSV, f, MAX_COLS);
    if (n < 0)
        return terr(err, lineno, "the line does not split into columns (quote or count)");
    if (lp->fmt == TRUTH_ZEEK_TSV) {
        if ((n = expand_spaced(f, n, g, MAX_COLS)) < 0)
            return terr(err, lineno, "more than %d columns", MAX_COLS);
        return log_row(lp, g, n, lineno, t, err);
    }
    return log_row(lp, f, n, lineno, t, err);
}

static int load_log(struct dtext_lines *l, enum truth_format fmt, struct truth *t,
                    struct truth_error *err)
{
    struct logp lp = {.fmt = fmt, .sep = fmt == TRUTH_ZEEK_TSV ? '\t' : ','};
    int rc;
    while ((rc = dtext_lines_next(l)) == 1) {
        t->lines++;
        if ((rc = log_line(&lp, l->line, l->lineno, t, err))) {
            if (rc == BS_ELIMIT)
                terr(err, l->lineno, "more than the %u endpoints or %u hosts a truth may hold",
                     TRUTH_MAX_ENDPOINTS, TRUTH_MAX_HOSTS);
            return rc;
        }
    }
    if (rc == BS_ELIMIT)
        return terr(err, l->lineno + 1, "line longer than %u bytes", TRUTH_MAX_LINE);
    if (rc < 0)
        return rc;
    if (!lp.have_header)
        return terr(err, 0, "no header line: not a labelled flow log");
    return 0;
}

int truth_detect_format(const char *head, size_t len)
{
    size_t i = 0;
    while (i < len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    if (i < len && head[i] == '{')
        return TRUTH_SIM; /* a JSON truth; which one is decided from its keys */
    const char *p = head + i;
    size_t rest = len - i;
    const char *nl = memchr(p, '\n', rest);
    size_t l1 = nl ? (size_t)(nl - p) : rest;
    if (rest >= 7 && (!strncmp(p, "#separ", 6) || !strncmp(p, "#fields", 7)))
        return TRUTH_ZEEK_TSV;
    if (l1 >= 9 && !strncasecmp(p, "StartTime", 9))
        return TRUTH_BINETFLOW;
    if (memchr(p, ',', l1)) {
        for (size_t k = 0; k + 9 <= l1; k++)
            if (!memcmp(p + k, "id.orig_h", 9))
                return TRUTH_ZEEK_CSV;
    }
    return -1;
}

static int load_any(const char *head, size_t hlen, FILE *f, const char *scenario, struct truth *t,
                    struct truth_error *err)
{
    (void)scenario; /* scenarios exist only in c2-dev's JSON */
    int fmt = truth_detect_format(head, hlen);
    if (fmt < 0) {
        terr(err, 1,
             "unknown truth format (expected the simulator's or c2-dev's truth.json, a "
             "labelled Zeek conn log as TSV or CSV, or a CTU-13 binetflow)");
        return BS_EUNSUPPORTED;
    }
    t->format = (enum truth_format)fmt;
    struct dtext_lines l;
    dtext_lines_init_file(&l, head, hlen, f, TRUTH_MAX_LINE);
    int rc = load_log(&l, t->format, t, err);
    dtext_lines_release(&l);
    return rc;
}

int truth_load_mem(const char *data, size_t len, const char *scenario, struct truth *t,
                   struct truth_error *err)
{
    memset(t, 0, sizeof *t);
    memset(err, 0, sizeof *err);
    int rc;
    if (truth_detect_format(data, len) == TRUTH_SIM)
        rc = load_json(data, len, scenario, t, err);
    else
        rc = load_any(data, len, NULL, scenario, t, err);
    if (rc) {
        truth_release(t);
        return rc;
    }
    truth_finish(t);
    return 0;
}

int truth_load(const char *path, FILE *f, const char *scenario, struct truth *t,
               struct truth_error *err)
{
    memset(t, 0, sizeof *t);
    memset(err, 0, sizeof *err);
    FILE *own = NULL;
    int rc;
    if (!f) {
        if (!(own = fopen(path, "rb")))
            return -errno;
        f = own;
    }
    char head[4096];
    size_t hlen = fread(head, 1, sizeof head, f);
    if (ferror(f)) {
        rc = errno ? -errno : BS_EIO;
        goto out;
    }
    if (truth_detect_format(head, hlen) == TRUTH_SIM) {
        /* JSON is parsed whole: read the rest, up to the buffer's cap. */
        struct buf b = BUF_INIT(TRUTH_MAX_JSON_BYTES);
        char chunk[16384];
        size_t got;
        rc = buf_append(&b, head, hlen);
        while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
            rc = buf_append(&b, chunk, got);
        if (rc == BS_ELIMIT)
            terr(err, 0, "JSON truth larger than %u bytes", TRUTH_MAX_JSON_BYTES);
        else if (!rc && ferror(f))
            rc = errno ? -errno : BS_EIO;
        if (!rc)
            rc = load_json(b.data, b.len, scenario, t, err);
        buf_release(&b);
    } else {
        rc = load_any(head, hlen, f, scenario, t, err);
    }
out:
    if (own)
        fclose(own);
    if (rc) {
        truth_release(t);
        return rc;
    }
    truth_finish(t);
    return 0;
}
