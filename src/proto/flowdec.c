/* flowdec.c - the dispatcher and per-exporter state (see flowdec.h). */
#include "proto/flowdec.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/config.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/rd.h"
#include "proto/flowdec_int.h"
#include "proto/sflow.h"

void flowdec_config_default(struct flowdec_config *cfg)
{
    cfg->max_templates = 4096;
    cfg->pending_bytes = 256u * 1024u;
    cfg->pending_max_age_ms = 60000;
    cfg->max_skew_ms = 0;
}

static uint32_t clamp_u32(int64_t v, uint32_t lo, uint32_t hi)
{
    if (v < (int64_t)lo)
        return lo;
    if (v > (int64_t)hi)
        return hi;
    return (uint32_t)v;
}

void flowdec_config_from(const struct config *conf, struct flowdec_config *cfg)
{
    flowdec_config_default(cfg);
    cfg->max_templates =
        clamp_u32(config_int(conf, "collect", "max_templates_per_exporter"), 1, 1u << 20);
    cfg->pending_bytes =
        clamp_u32(config_size(conf, "collect", "pending_bytes_per_exporter"), 0, 1u << 30);
    cfg->pending_max_age_ms =
        clamp_u32(config_duration_ms(conf, "collect", "pending_max_age"), 0, UINT32_MAX);
    int64_t skew = config_duration_ms(conf, "collect", "max_time_skew");
    cfg->max_skew_ms = skew > 0 ? (uint64_t)skew : 0;
}

const char *flowdec_err_name(unsigned kind)
{
    static const char *const names[FLOWDEC_ERR__COUNT] = {
        "none",   "version", "header", "trunc", "set",  "template",
        "record", "limit",   "sflow",  "value", "skew",
    };
    return kind < FLOWDEC_ERR__COUNT ? names[kind] : "unknown";
}

int flowdec_exporter_new(const struct ipaddr *addr, const struct flowdec_config *cfg,
                         struct flowdec_exporter **out)
{
    struct flowdec_exporter *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return BS_ENOMEM;
    ex->addr = *addr;
    if (cfg)
        ex->cfg = *cfg;
    else
        flowdec_config_default(&ex->cfg);
    if (ex->cfg.max_templates == 0)
        ex->cfg.max_templates = 1;
    /* Keys come from the network: seed the tables per state. */
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = hash_bytes(addr->b, 16, (uint64_t)(uintptr_t)ex);
    tmpl_map_init(&ex->tmpls, seed);
    tmpl_map_init(&ex->samplers, hash_mix64(seed + 1));
    tmpl_map_init(&ex->domains, hash_mix64(seed + 2));
    tmpl_map_init(&ex->pend_keys, hash_mix64(seed + 3));
    *out = ex;
    return 0;
}

/* Frees every value of m; the map itself is released by the caller. */
static void free_values(struct tmpl_map *m, bool templates)
{
    void *v;
    for (size_t i = 0; (i = tmpl_map_next(m, i, NULL, NULL, &v));) {
        if (templates)
            tmpl_release(&((struct flowdec_tmpl *)v)->t);
        free(v);
    }
}

void flowdec_exporter_free(struct flowdec_exporter *ex)
{
    if (!ex)
        return;
    free_values(&ex->tmpls, true);
    free_values(&ex->samplers, false);
    free_values(&ex->domains, false);
    tmpl_map_release(&ex->tmpls);
    tmpl_map_release(&ex->samplers);
    tmpl_map_release(&ex->domains);
    tmpl_map_release(&ex->pend_keys); /* values are the parked sets, freed below */
    struct flowdec_pend *p = ex->pend_head;
    while (p) {
        struct flowdec_pend *next = p->next;
        free(p);
        p = next;
    }
    free(ex);
}

const struct ipaddr *flowdec_exporter_addr(const struct flowdec_exporter *ex)
{
    return &ex->addr;
}

const struct flowdec_stats *flowdec_exporter_stats(const struct flowdec_exporter *ex)
{
    return &ex->st;
}

void flowdec__error(struct flowdec_ctx *c, unsigned kind, int err)
{
    if (kind >= FLOWDEC_ERR__COUNT)
        kind = FLOWDEC_ERR_HEADER;
    c->ex->st.errors[kind]++;
    c->seq_unknown = 1;
    if (c->res->errors++ == 0) {
        c->res->err_kind = (uint8_t)kind;
        c->res->err = err;
    }
}

void flowdec__error_n(struct flowdec_ctx *c, unsigned kind, int err, uint32_t n)
{
    if (!n)
        return;
    flowdec__error(c, kind, err);
    c->ex->st.errors[kind < FLOWDEC_ERR__COUNT ? kind : FLOWDEC_ERR_HEADER] += n - 1;
    c->res->errors += n - 1;
}

struct flowdec_domain *flowdec__domain(struct flowdec_exporter *ex, unsigned version,
                                       uint32_t domain)
{
    uint64_t k1 = flowdec__k1(version, domain);
    struct flowdec_domain *d = tmpl_map_get(&ex->domains, k1, 0);
    if (d)
        return d;
    if (tmpl_map_count(&ex->domains) >= FLOWDEC_MAX_DOMAINS) {
        ex->st.domains_untracked++;
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    void *old;
    if (tmpl_map_put(&ex->domains, k1, 0, d, &old) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

int flowdec__sampler_set(struct flowdec_exporter *ex, unsigned version, uint32_t domain,
                         uint64_t id, uint32_t rate)
{
    uint64_t k1 = flowdec__k1(version, domain);
    struct flowdec_sampler *s = tmpl_map_get(&ex->samplers, k1, id);
    if (s) {
        s->rate = rate;
        return 0;
    }
    if (tmpl_map_count(&ex->samplers) >= FLOWDEC_MAX_SAMPLERS) {
        ex->st.samplers_refused++;
        return BS_ELIMIT;
    }
    s = malloc(sizeof(*s));
    if (!s)
        return BS_ENOMEM;
    s->rate = rate;
    void *old;
    if (tmpl_map_put(&ex->samplers, k1, id, s, &old) != 0) {
        free(s);
        return BS_ENOMEM;
    }
    ex->st.samplers_now = (uint32_t)tmpl_map_count(&ex->samplers);
    return 0;
}

/* ---- options records: samplers and domain defaults ---- */

struct opt_apply {
    struct flowdec_exporter *ex;
    unsigned version;
    uint32_t domain;
};

static void apply_options(void *arg, const struct tmpl_samp *s)
{
    struct opt_apply *a = arg;
    uint32_t rate = tmpl_samp_rate(s);
    if (rate && s->has_sampler_id) {
        (void)flowdec__sampler_set(a->ex, a->version, a->domain, s->sampler_id, rate);
    } else if (rate || s->has_sysinit) {
        struct flowdec_domain *d = flowdec__domain(a->ex, a->version, a->domain);
        if (d && rate)
            d->default_rate = rate;
        if (d && s->has_sysinit)
            d->sysinit_ms = s->sysinit_ms;
    }
}

struct samp_lookup {
    struct flowdec_exporter *ex;
    uint64_t k1;
};

static uint32_t lookup_sampler(void *arg, uint64_t id)
{
    struct samp_lookup *l = arg;
    struct flowdec_sampler *s = tmpl_map_get(&l->ex->samplers, l->k1, id);
    return s ? s->rate : 0;
}

/* Decodes a data set whose template t is known. */
static void decode_with(struct flowdec_ctx *c, const struct tmpl *t, const uint8_t *p, size_t len)
{
    struct flowdec_exporter *ex = c->ex;
    uint32_t n = 0;
    int rc;
    if (t->options) {
        struct opt_apply a = {ex, c->version, c->domain};
        rc = tmpl_decode_options(t, p, len, apply_options, &a, &n);
        c->res->options_records += n;
        ex->st.options_records += n;
    } else {
        struct flowdec_domain *d = flowdec__domain(ex, c->version, c->domain);
        struct samp_lookup l = {ex, flowdec__k1(c->version, c->domain)};
        struct tmpl_env env;
        memset(&env, 0, sizeof(env));
        env.base.exporter = ex->addr;
        env.base.version = c->version;
        env.base.obs_domain = c->domain;
        env.export_ms = c->export_ms;
        env.sysuptime = c->sysuptime;
        env.has_sysuptime = c->has_sysuptime;
        env.boot_ms = d ? d->sysinit_ms : 0;
        env.default_rate = d && d->default_rate ? d->default_rate : 1;
        env.sampler_rate = lookup_sampler;
        env.sampler_arg = &l;
        rc = tmpl_decode_data(t, p, len, &env, c->sink, &n);
        c->res->flows += n;
        ex->st.flows += n;
    }
    c->records += n;
    if (rc)
        flowdec__error(c, FLOWDEC_ERR_RECORD, rc);
}

/* ---- parked data sets ---- */

/* Unlinks e from the global FIFO and releases its budget (e stays allocated). */
static void pend_unlink(struct flowdec_exporter *ex, struct flowdec_pend *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        ex->pend_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        ex->pend_tail = e->prev;
    ex->pend_bytes -= e->len + FLOWDEC_PENDING_OVERHEAD;
    ex->st.pending_now = (uint32_t)ex->pend_bytes;
}

/* Drops the oldest parked set (counted as no_template). The oldest of all is also the oldest
 * of its key's chain, so it is that chain's head. */
static void pend_drop_head(struct flowdec_exporter *ex, struct flowdec_result *res)
{
    struct flowdec_pend *p = ex->pend_head;
    uint64_t k1 = flowdec__k1(p->version, p->domain);
    struct flowdec_pend *nh = p->knext;
    void *old;
    if (nh) {
        nh->ktail = p->ktail;
        (void)tmpl_map_put(&ex->pend_keys, k1, p->tid, nh, &old); /* replaces: no allocation */
    } else {
        (void)tmpl_map_del(&ex->pend_keys, k1, p->tid);
    }
    pend_unlink(ex, p);
    ex->st.no_template_sets++;
    ex->st.no_template_bytes += p->len;
    if (res)
        res->dropped_sets++;
    free(p);
}

static void expire(struct flowdec_exporter *ex, uint64_t now_ms, struct flowdec_result *res)
{
    while (ex->pend_head && ex->pend_head->recv_ms + ex->cfg.pending_max_age_ms < now_ms)
        pend_drop_head(ex, res);
}

void flowdec_exporter_expire(struct flowdec_exporter *ex, uint64_t now_ms)
{
    expire(ex, now_ms, NULL);
}

static void drop_now(struct flowdec_ctx *c, size_t len)
{
    c->ex->st.no_template_sets++;
    c->ex->st.no_template_bytes += len;
    c->res->dropped_sets++;
}

static void park(struct flowdec_ctx *c, uint16_t tid, const uint8_t *p, size_t len)
{
    struct flowdec_exporter *ex = c->ex;
    size_t cost = len + FLOWDEC_PENDING_OVERHEAD;
    c->seq_unknown = 1;
    if (cost > ex->cfg.pending_bytes) {
        drop_now(c, len);
        return;
    }
    while (ex->pend_head && ex->pend_bytes + cost > ex->cfg.pending_bytes)
        pend_drop_head(ex, c->res);
    struct flowdec_pend *e = malloc(sizeof(*e) + len);
    if (!e) {
        drop_now(c, len);
        return;
    }
    memset(e, 0, sizeof(*e));
    e->recv_ms = c->recv_ms;
    e->export_ms = c->export_ms;
    e->sysuptime = c->sysuptime;
    e->domain = c->domain;
    e->len = (uint32_t)len;
    e->tid = tid;
    e->version = c->version;
    e->has_sysuptime = c->has_sysuptime;
    memcpy(e->data, p, len);
    uint64_t k1 = flowdec__k1(c->version, c->domain);
    struct flowdec_pend *head = tmpl_map_get(&ex->pend_keys, k1, tid);
    if (head) {
        head->ktail->knext = e;
        head->ktail = e;
    } else {
        void *old;
        e->ktail = e;
        if (tmpl_map_put(&ex->pend_keys, k1, tid, e, &old) != 0) {
            free(e);
            drop_now(c, len);
            return;
        }
    }
    e->prev = ex->pend_tail;
    if (ex->pend_tail)
        ex->pend_tail->next = e;
    else
        ex->pend_head = e;
    ex->pend_tail = e;
    ex->pend_bytes += cost;
    ex->st.pending_sets++;
    ex->st.pending_now = (uint32_t)ex->pend_bytes;
    c->res->pending_sets++;
}

/* Decodes the parked sets of template t (just learnt) in arrival order. */
static void unpark(struct flowdec_ctx *c, const struct tmpl *t)
{
    struct flowdec_exporter *ex = c->ex;
    uint64_t k1 = flowdec__k1(t->version, t->domain);
    struct flowdec_pend *e = tmpl_map_del(&ex->pend_keys, k1, t->id);
    while (e) {
        struct flowdec_pend *next = e->knext;
        pend_unlink(ex, e);
        struct flowdec_ctx late = *c;
        late.export_ms = e->export_ms;
        late.sysuptime = e->sysuptime;
        late.has_sysuptime = e->has_sysuptime;
        decode_with(&late, t, e->data, e->len);
        ex->st.pending_decoded++;
        c->res->pending_decoded++;
        free(e);
        e = next;
    }
}

/* ---- templates and their recency list ---- */

static void lru_unlink(struct flowdec_exporter *ex, struct flowdec_tmpl *ft)
{
    if (ft->newer)
        ft->newer->older = ft->older;
    else
        ex->lru_newest = ft->older;
    if (ft->older)
        ft->older->newer = ft->newer;
    else
        ex->lru_oldest = ft->newer;
    ft->newer = ft->older = NULL;
}

static void lru_link_newest(struct flowdec_exporter *ex, struct flowdec_tmpl *ft)
{
    ft->newer = NULL;
    ft->older = ex->lru_newest;
    if (ex->lru_newest)
        ex->lru_newest->newer = ft;
    else
        ex->lru_oldest = ft;
    ex->lru_newest = ft;
}

static void lru_link_oldest(struct flowdec_exporter *ex, struct flowdec_tmpl *ft)
{
    ft->older = NULL;
    ft->newer = ex->lru_oldest;
    if (ex->lru_oldest)
        ex->lru_oldest->older = ft;
    else
        ex->lru_newest = ft;
    ex->lru_oldest = ft;
}

/* Unlinks, unmaps and frees a stored template. */
static void template_drop(struct flowdec_exporter *ex, struct flowdec_tmpl *ft)
{
    lru_unlink(ex, ft);
    (void)tmpl_map_del(&ex->tmpls, flowdec__k1(ft->t.version, ft->t.domain), ft->t.id);
    tmpl_release(&ft->t);
    free(ft);
    ex->st.templates_now = (uint32_t)tmpl_map_count(&ex->tmpls);
}

void flowdec__data_set(struct flowdec_ctx *c, uint16_t tid, const uint8_t *p, size_t len)
{
    struct flowdec_tmpl *ft = tmpl_map_get(&c->ex->tmpls, flowdec__k1(c->version, c->domain), tid);
    if (ft) {
        if (c->ex->lru_newest != ft) {
            lru_unlink(c->ex, ft);
            lru_link_newest(c->ex, ft);
        }
        ft->used = 1;
        decode_with(c, &ft->t, p, len);
    } else {
        park(c, tid, p, len);
    }
}

int flowdec__template_store(struct flowdec_exporter *ex, struct tmpl *t, bool from_state, bool used)
{
    uint64_t k1 = flowdec__k1(t->version, t->domain);
    struct flowdec_tmpl *old = tmpl_map_get(&ex->tmpls, k1, t->id);
    if (!old && tmpl_map_count(&ex->tmpls) >= ex->cfg.max_templates) {
        if (from_state || !ex->lru_oldest)
            return BS_ELIMIT;
        template_drop(ex, ex->lru_oldest);
        ex->st.templates_evicted++;
    }
    struct flowdec_tmpl *nt = calloc(1, sizeof(*nt));
    if (!nt)
        return BS_ENOMEM;
    nt->t = *t;
    /* A refreshed template keeps the knowledge that its ID carries data. */
    nt->used = used || (old && old->used);
    void *replaced;
    if (tmpl_map_put(&ex->tmpls, k1, t->id, nt, &replaced) != 0) {
        free(nt);
        return BS_ENOMEM;
    }
    if (replaced) {
        struct flowdec_tmpl *r = replaced;
        lru_unlink(ex, r);
        tmpl_release(&r->t);
        free(r);
    }
    if (from_state)
        lru_link_oldest(ex, nt);
    else
        lru_link_newest(ex, nt);
    ex->st.templates_now = (uint32_t)tmpl_map_count(&ex->tmpls);
    return 0;
}

int flowdec__template_add(struct flowdec_ctx *c, uint16_t tid, const struct tmpl_field *f,
                          unsigned n, unsigned scope_n, bool options)
{
    struct tmpl t;
    int rc = tmpl_compile(&t, c->version, c->domain, tid, options, f, n, scope_n);
    if (rc) {
        flowdec__error(c, rc == BS_ELIMIT ? FLOWDEC_ERR_LIMIT : FLOWDEC_ERR_TEMPLATE, rc);
        return rc;
    }
    rc = flowdec__template_store(c->ex, &t, false, false);
    if (rc) {
        tmpl_release(&t);
        flowdec__error(c, FLOWDEC_ERR_LIMIT, rc);
        return rc;
    }
    c->ex->st.templates_learnt++;
    c->res->templates++;
    if (c->ex->pend_head) {
        struct flowdec_tmpl *st =
            tmpl_map_get(&c->ex->tmpls, flowdec__k1(c->version, c->domain), tid);
        if (st && tmpl_map_get(&c->ex->pend_keys, flowdec__k1(c->version, c->domain), tid)) {
            st->used = 1;
            unpark(c, &st->t);
        }
    }
    return 0;
}

void flowdec__template_withdraw(struct flowdec_ctx *c, uint16_t tid)
{
    struct flowdec_tmpl *ft = tmpl_map_get(&c->ex->tmpls, flowdec__k1(c->version, c->domain), tid);
    if (ft)
        template_drop(c->ex, ft);
    c->ex->st.templates_withdrawn++;
    c->res->withdrawals++;
    c->ex->st.templates_now = (uint32_t)tmpl_map_count(&c->ex->tmpls);
}

void flowdec__template_withdraw_all(struct flowdec_ctx *c, bool options)
{
    struct tmpl_map *m = &c->ex->tmpls;
    uint64_t k1 = flowdec__k1(c->version, c->domain);
    /* Collect the IDs first (deletion moves entries), then delete: O(cap + n). */
    uint16_t *ids = tmpl_map_count(m) ? malloc(tmpl_map_count(m) * sizeof(*ids)) : NULL;
    size_t n = 0;
    uint64_t ik1;
    void *v;
    for (size_t i = 0; ids && (i = tmpl_map_next(m, i, &ik1, NULL, &v));) {
        const struct flowdec_tmpl *ft = v;
        if (ik1 == k1 && (ft->t.options != 0) == options)
            ids[n++] = ft->t.id;
    }
    for (size_t i = 0; i < n; i++) {
        struct flowdec_tmpl *ft = tmpl_map_get(m, k1, ids[i]);
        if (ft)
            template_drop(c->ex, ft);
    }
    free(ids);
    c->ex->st.templates_withdrawn++;
    c->res->withdrawals++;
    c->ex->st.templates_now = (uint32_t)tmpl_map_count(m);
}

/* ---- sequence numbers ---- */

void flowdec__seq(struct flowdec_ctx *c, uint32_t seq, uint32_t next, bool lost_is_packets)
{
    struct flowdec_stats *st = &c->ex->st;
    struct flowdec_domain *d = flowdec__domain(c->ex, c->version, c->domain);
    if (!d)
        return;
    if (d->seq_valid && seq != d->next_seq) {
        uint32_t gap = seq - d->next_seq;
        if (gap < 0x80000000u) {
            st->seq_gaps++;
            if (lost_is_packets) {
                st->lost_packets += gap;
                uint64_t mean = d->datagrams ? d->records / d->datagrams : 0;
                st->lost_flows += (uint64_t)gap * mean;
            } else {
                st->lost_flows += gap;
            }
        } else {
            st->seq_resets++;
        }
    }
    d->datagrams++;
    d->records += c->records;
    d->next_seq = next;
    d->seq_valid = !c->seq_unknown || lost_is_packets;
}

/* ---- dispatcher ---- */

struct sflow_count {
    const struct flow_sink *sink;
    uint32_t n;
};

static void sflow_count_emit(void *arg, const struct flow_rec *r)
{
    struct sflow_count *sc = arg;
    sc->n++;
    sc->sink->emit(sc->sink->arg, r);
}

static int decode_sflow(struct flowdec_ctx *c, const uint8_t *buf, size_t len)
{
    struct sflow_result sr;
    struct sflow_count sc = {c->sink, 0};
    struct flow_sink counting = {sflow_count_emit, &sc};
    memset(&sr, 0, sizeof(sr));
    c->res->version = FLOW_SFLOW5;
    c->ex->st.datagrams_by_version[3]++;
    int rc = sflow_decode(buf, len, &c->ex->addr, c->recv_ms, &counting, &sr);
    c->res->obs_domain = sr.sub_agent;
    c->res->sequence = sr.seq;
    c->res->flows = sc.n;
    c->ex->st.flows += sc.n;
    if (rc)
        flowdec__error(c, FLOWDEC_ERR_SFLOW, rc);
    return rc;
}

/* ---- record checks common to every version ---- */

struct check_sink {
    const struct flow_sink *out;
    uint64_t recv_ms, max_skew_ms;
    uint32_t invalid, skewed;
};

static bool rec_possible(const struct flow_rec *r)
{
    if (r->has & FLOW_HAS_MASKS) {
        unsigned max = ipaddr_is_v4(&r->src) ? 32 : 128;
        if (r->src_mask > max || r->dst_mask > max)
            return false;
    }
    return !(r->bytes && r->packets > r->bytes);
}

static void check_emit(void *arg, const struct flow_rec *r)
{
    struct check_sink *k = arg;
    if (!rec_possible(r)) {
        k->invalid++;
        return;
    }
    if (k->max_skew_ms &&
        (r->end_ms > k->recv_ms + k->max_skew_ms || r->start_ms + k->max_skew_ms < k->recv_ms)) {
        k->skewed++;
        return;
    }
    k->out->emit(k->out->arg, r);
}

int flowdec_decode(struct flowdec_exporter *ex, const uint8_t *buf, size_t len, uint64_t recv_ms,
                   const struct flow_sink *sink, struct flowdec_result *res)
{
    struct check_sink ck = {.out = sink, .recv_ms = recv_ms, .max_skew_ms = ex->cfg.max_skew_ms};
    const struct flow_sink checked = {.emit = check_emit, .arg = &ck};
    struct flowdec_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    struct flowdec_ctx c;
    memset(&c, 0, sizeof(c));
    c.ex = ex;
    c.sink = &checked;
    c.res = res;
    c.recv_ms = recv_ms;
    ex->st.datagrams++;
    if (ex->pend_head)
        expire(ex, recv_ms, res);

    int rc;
    unsigned v16 = len >= 2 ? be16(buf) : 0;
    if (len >= 4 && be32(buf) == 5) {
        rc = decode_sflow(&c, buf, len);
    } else if (v16 == 5) {
        ex->st.datagrams_by_version[0]++;
        rc = nf5_decode(&c, buf, len);
    } else if (v16 == 9) {
        ex->st.datagrams_by_version[1]++;
        rc = nf9_decode(&c, buf, len);
    } else if (v16 == 10) {
        ex->st.datagrams_by_version[2]++;
        rc = ipfix_decode(&c, buf, len);
    } else {
        flowdec__error(&c, FLOWDEC_ERR_VERSION, BS_EVERSION);
        rc = BS_EVERSION;
    }
    (void)rc;
    /* Refused records were counted as decoded by the version decoders: take them back. */
    uint32_t refused = ck.invalid + ck.skewed;
    res->flows -= refused;
    ex->st.flows -= refused;
    flowdec__error_n(&c, FLOWDEC_ERR_VALUE, BS_EMALFORMED, ck.invalid);
    flowdec__error_n(&c, FLOWDEC_ERR_SKEW, BS_ELIMIT, ck.skewed);
    if (res->errors)
        ex->st.bad_datagrams++;
    return res->err;
}
