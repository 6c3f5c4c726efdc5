/* sweep.c - the engine's SYN sweep (engine_int.h, syn.h).
 *
 * Devices drawn from the permutation go into a table of probes (about 100 bytes each, not a
 * 10 KB session slot): one raw SYN per port, each under the same scope gate and the same
 * rate buckets (run, network, device) as a connect(). Answers are matched to their probe
 * through an address table. When every port has answered or the last probe has timed out, a
 * device without open ports is done; one with open ports waits in a queue for a session slot
 * and is surveyed by the connect() modules on those ports only, keeping its own rate bucket.
 * IPv6 devices are probed through the raw IPv6 socket; without one, or with --source, they
 * skip the probes and go to the queue with every port (connect() sweep).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "survey/engine_int.h"
#include "survey/syn.h"

/* Probes in flight: enough for the run's rate over a connect timeout plus a second, within
 * bounds (the table is allocated once). */
#define SV_PROBES_MIN 1024u
#define SV_PROBES_MAX (1u << 20)

struct sv_probe {
    uint64_t pos;
    struct ipaddr addr;
    struct sv_bucket bucket; /* the device's own rate, handed on to its session */
    uint64_t not_before_ms, deadline_ms;
    uint64_t answered, open; /* bit i: ports[i] */
    uint32_t src_idx;
    uint8_t idx; /* next port index to probe */
    bool used, local_fail, direct;
};

struct sv_sweep {
    struct sv_syn syn;
    struct sv_probe *p;
    uint64_t *due; /* per probe: when it next needs the walk (UINT64_MAX: free) */
    uint8_t *tok;  /* per probe: waits for a token of the run's bucket */
    uint32_t *free_slots;
    size_t cap, n_free, active;
    size_t unsent;   /* drawn IPv4 probes that have not sent their first SYN */
    uint32_t hwm;    /* no probe in use at or above this slot: the walk stops there */
    uint32_t *ready; /* ring of probe slots whose devices wait for a session slot */
    size_t ready_head, ready_n;
    uint32_t *amap; /* address -> probe slot + 1 (linear probing) */
    size_t amap_mask;
    uint64_t last_walk;
};

/* ---- address -> probe (linear probing, backward-shift deletion) ---- */

static size_t amap_home(const struct sv_sweep *w, const struct ipaddr *a)
{
    return (size_t)hash_bytes(a->b, sizeof a->b, w->syn.key.k0) & w->amap_mask;
}

static void amap_put(struct sv_sweep *w, uint32_t slot)
{
    size_t i = amap_home(w, &w->p[slot].addr);
    while (w->amap[i])
        i = (i + 1) & w->amap_mask;
    w->amap[i] = slot + 1;
}

static size_t amap_find(const struct sv_sweep *w, const struct ipaddr *a)
{
    for (size_t i = amap_home(w, a);; i = (i + 1) & w->amap_mask) {
        if (!w->amap[i])
            return SIZE_MAX;
        if (!memcmp(w->p[w->amap[i] - 1].addr.b, a->b, sizeof a->b))
            return i;
    }
}

static void amap_del(struct sv_sweep *w, const struct ipaddr *a)
{
    size_t i = amap_find(w, a);
    if (i == SIZE_MAX)
        return;
    /* Move later entries of the cluster back when their home is not between the hole and
     * them, so every lookup still reaches them before an empty slot. */
    for (size_t j = (i + 1) & w->amap_mask; w->amap[j]; j = (j + 1) & w->amap_mask) {
        size_t k = amap_home(w, &w->p[w->amap[j] - 1].addr);
        bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!between) {
            w->amap[i] = w->amap[j];
            i = j;
        }
    }
    w->amap[i] = 0;
}

/* ---- setup ---- */

int sv_sweep_init(struct sv_engine *e)
{
    if (e->r->sweep == SV_SWEEP_CONNECT)
        return 0;
    struct sv_sweep *w = calloc(1, sizeof *w);
    if (!w)
        return BS_ENOMEM;
    int rc = sv_syn_open(&w->syn);
    if (rc) {
        free(w);
        if (e->r->sweep == SV_SWEEP_SYN)
            return rc;
        log_info("survey", "raw SYN sweep not available (%s): connect() sweep", bs_strerror(rc));
        return 0;
    }
    e->sw = w;
    /* Raw packets carry whatever source they are given: every --source must be an address
     * of this machine, or answers would go to someone else. */
    for (size_t i = 0; !rc && i < e->r->n_sources; i++) {
        if (!ipaddr_is_v4(&e->r->sources[i]))
            continue;
        struct sockaddr_in me = {.sin_family = AF_INET};
        me.sin_addr.s_addr = htonl(ipaddr_v4(&e->r->sources[i]));
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) < 0)
            rc = -errno;
        if (fd >= 0)
            close(fd);
    }
    if (rc) {
        sv_sweep_release(e);
        return rc;
    }
    const struct sv_policy *pol = &e->r->policy;
    uint64_t want = (uint64_t)pol->rate_total * (pol->connect_timeout_ms + 1000) / 1000;
    w->cap = want < SV_PROBES_MIN ? SV_PROBES_MIN : want > SV_PROBES_MAX ? SV_PROBES_MAX : want;
    size_t n = 1;
    while (n < 2 * w->cap)
        n <<= 1;
    w->amap_mask = n - 1;
    w->p = calloc(w->cap, sizeof *w->p);
    w->due = malloc(w->cap * sizeof *w->due);
    w->tok = calloc(w->cap, 1);
    w->free_slots = malloc(w->cap * sizeof *w->free_slots);
    w->ready = malloc(w->cap * sizeof *w->ready);
    w->amap = calloc(n, sizeof *w->amap);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (!w->p || !w->due || !w->tok || !w->free_slots || !w->ready || !w->amap)
        rc = BS_ENOMEM;
    else if (epoll_ctl(e->ep, EPOLL_CTL_ADD, w->syn.fd, &ev) < 0 ||
             (w->syn.fd6 >= 0 && epoll_ctl(e->ep, EPOLL_CTL_ADD, w->syn.fd6, &ev) < 0))
        rc = -errno;
    if (rc) {
        sv_sweep_release(e);
        return rc;
    }
    for (size_t i = 0; i < w->cap; i++) {
        w->due[i] = UINT64_MAX;
        w->free_slots[i] = (uint32_t)(w->cap - 1 - i);
    }
    w->n_free = w->cap;
    w->last_walk = UINT64_MAX;
    e->st->syn_used = true;
    return 0;
}

void sv_sweep_release(struct sv_engine *e)
{
    struct sv_sweep *w = e->sw;
    if (!w)
        return;
    sv_syn_close(&w->syn);
    free(w->p);
    free(w->due);
    free(w->tok);
    free(w->free_slots);
    free(w->ready);
    free(w->amap);
    free(w);
    e->sw = NULL;
}

bool sv_sweep_idle(const struct sv_engine *e)
{
    return !e->sw->active;
}

/* ---- probing ---- */

static uint64_t all_ports(const struct sv_engine *e)
{
    return e->r->n_ports >= 64 ? ~0ull : (1ull << e->r->n_ports) - 1;
}

static void probe_free(struct sv_sweep *w, uint32_t slot)
{
    w->p[slot].used = false;
    w->due[slot] = UINT64_MAX;
    w->free_slots[w->n_free++] = slot;
    w->active--;
}

/* Every port answered or timed out: done without open ports, or queued for a session. */
static void probe_end(struct sv_engine *e, uint32_t slot)
{
    struct sv_sweep *w = e->sw;
    struct sv_probe *p = &w->p[slot];
    amap_del(w, &p->addr);
    /* Ports without an answer timed out: a normal outcome in a sweep, as for connect(). */
    uint64_t silent = all_ports(e) & ~p->answered;
    while (silent) {
        e->st->timeouts++;
        sv_health_note(&e->health, SV_OUT_OK);
        silent &= silent - 1;
    }
    if (p->idx == 0 && !p->direct)
        w->unsent--;
    if (!p->open) {
        sv_engine__device_done(e, p->pos, &p->addr, NULL, 0, p->local_fail);
        probe_free(w, slot);
        return;
    }
    w->due[slot] = UINT64_MAX; /* waits in the queue, not for the walk */
    w->ready[(w->ready_head + w->ready_n++) % w->cap] = slot;
}

/* One probe's turn: send its next SYN when the buckets allow, or end it. */
static void probe_step(struct sv_engine *e, uint32_t slot)
{
    struct sv_sweep *w = e->sw;
    struct sv_probe *p = &w->p[slot];
    const struct sv_run *r = e->r;
    if (e->now < p->not_before_ms)
        return;
    if (p->idx < r->n_ports) {
        /* The same gate as before every connect(): a probe is a packet to the device. */
        if (sv_scope_check(r->scope, &p->addr) != SV_ALLOW) {
            p->answered = all_ports(e);
            p->open = 0;
            probe_end(e, slot);
            return;
        }
        if (!sv_engine__take_tokens(e, &p->bucket, &p->addr, &p->not_before_ms, &w->tok[slot]))
            return;
        int rc = 0;
        if (ipaddr_is_v4(&p->addr)) {
            uint32_t daddr = ipaddr_v4(&p->addr), saddr = 0;
            if (r->n_sources && ipaddr_is_v4(&r->sources[p->src_idx]))
                saddr = ipaddr_v4(&r->sources[p->src_idx]);
            else
                rc = sv_syn_source(&w->syn, daddr, &saddr);
            if (!rc)
                rc = sv_syn_send(&w->syn, saddr, daddr, r->ports[p->idx]);
        } else {
            rc = sv_syn_send6(&w->syn, p->addr.b, r->ports[p->idx]);
        }
        if (rc == -EAGAIN || rc == -ENOBUFS) {
            /* The interface queue is full: nothing was sent; try again shortly. */
            p->not_before_ms = e->now + 1;
            return;
        }
        e->st->syn_probes++;
        if (p->idx == 0)
            w->unsent--;
        if (rc) {
            /* Unreachable, no source address...: not surveyed, --resume retries it. */
            e->st->local_errors++;
            p->local_fail = true;
            p->answered |= 1ull << p->idx;
            sv_health_note(&e->health, SV_OUT_LOCAL_ERR);
        }
        p->idx++;
        p->deadline_ms = e->now + r->policy.connect_timeout_ms;
        return;
    }
    if (p->answered != all_ports(e) && e->now < p->deadline_ms)
        return;
    probe_end(e, slot);
}

void sv_sweep_turn(struct sv_engine *e)
{
    struct sv_sweep *w = e->sw;
    unsigned budget = 4096;
    /* Draw only what the run's bucket lets go out soon: the table then holds the probes
     * that wait for answers, not thousands that wait for their turn to send. */
    uint64_t room = sv_bucket_avail(&e->total, e->now) + 64;
    while (w->n_free && w->unsent < room) {
        uint32_t slot = w->free_slots[w->n_free - 1];
        struct sv_probe *p = &w->p[slot];
        if (!sv_engine__draw(e, &budget, &p->pos, &p->addr))
            break;
        w->n_free--;
        w->active++;
        w->due[slot] = 0;
        w->tok[slot] = 0;
        p->used = true;
        p->not_before_ms = p->deadline_ms = 0;
        p->answered = p->open = 0;
        p->idx = 0;
        p->local_fail = false;
        p->src_idx = e->r->n_sources ? (uint32_t)(e->src_rr++ % e->r->n_sources) : 0;
        sv_bucket_init(&p->bucket, e->r->policy.rate_host, 1, e->now);
        /* IPv6 without a raw IPv6 socket, or with --source (the kernel would pick the
         * probe's source): the connect() modules sweep every port. */
        p->direct = !ipaddr_is_v4(&p->addr) && (w->syn.fd6 < 0 || e->r->n_sources);
        if (slot >= w->hwm)
            w->hwm = slot + 1;
        if (p->direct) {
            p->open = all_ports(e);
            w->due[slot] = UINT64_MAX;
            w->ready[(w->ready_head + w->ready_n++) % w->cap] = slot;
        } else {
            w->unsent++;
            amap_put(w, slot);
        }
    }
    /* Timers and buckets count whole milliseconds: one walk per millisecond. */
    if (e->now == w->last_walk)
        return;
    w->last_walk = e->now;
    uint32_t top = 0;
    for (uint32_t i = 0; i < w->hwm; i++) {
        if (w->due[i] != UINT64_MAX)
            top = i + 1;
        if (w->due[i] > e->now || (w->tok[i] && sv_bucket_wait(&e->total, e->now)))
            continue;
        w->tok[i] = 0;
        probe_step(e, i);
        struct sv_probe *p = &w->p[i];
        if (p->used && w->due[i] != UINT64_MAX) {
            uint64_t t = p->not_before_ms;
            if (p->idx >= e->r->n_ports && p->deadline_ms > t)
                t = p->deadline_ms;
            w->due[i] = t;
            top = i + 1;
        }
    }
    w->hwm = top;
}

bool sv_sweep_next(struct sv_engine *e, struct sv_host *h)
{
    struct sv_sweep *w = e->sw;
    if (!w->ready_n)
        return false;
    uint32_t slot = w->ready[w->ready_head];
    w->ready_head = (w->ready_head + 1) % w->cap;
    w->ready_n--;
    const struct sv_probe *p = &w->p[slot];
    h->pos = p->pos;
    h->addr = p->addr;
    h->src_idx = p->src_idx;
    h->bucket = p->bucket;
    h->not_before_ms = p->not_before_ms;
    h->local_fail = p->local_fail;
    h->swept = !p->direct;
    h->syn_open = p->open;
    probe_free(w, slot);
    return true;
}

/* One parsed answer: marks the port of the probe at that address. */
static void answer(struct sv_engine *e, enum sv_syn_answer ans, const struct ipaddr *a,
                   uint16_t port)
{
    struct sv_sweep *w = e->sw;
    size_t m = ans ? amap_find(w, a) : SIZE_MAX;
    if (m == SIZE_MAX) {
        e->st->syn_ignored++;
        return;
    }
    uint32_t slot = w->amap[m] - 1;
    struct sv_probe *p = &w->p[slot];
    size_t k = 0;
    while (k < p->idx && (e->r->ports[k] != port || (p->answered >> k & 1)))
        k++;
    if (k == p->idx) {
        e->st->syn_ignored++; /* a duplicate, or a port not probed yet */
        return;
    }
    p->answered |= 1ull << k;
    w->due[slot] = 0;
    sv_health_note(&e->health, SV_OUT_OK);
    if (ans == SV_SYN_OPEN) {
        p->open |= 1ull << k;
        e->st->syn_open++;
    } else {
        e->st->syn_closed++;
        e->st->refused++;
    }
}

void sv_sweep_recv(struct sv_engine *e)
{
    struct sv_sweep *w = e->sw;
    uint8_t buf[2048];
    struct ipaddr a;
    uint16_t port;
    /* Bounded per turn so that a flood of answers cannot starve the sessions. */
    for (int i = 0; i < 8192; i++) {
        ssize_t n = recv(w->syn.fd, buf, sizeof buf, 0);
        if (n < 0)
            break;
        /* Parsed first: port is an argument of answer() by value. */
        enum sv_syn_answer ans = sv_syn_parse(&w->syn.key, e->r->scope, buf, (size_t)n, &a, &port);
        answer(e, ans, &a, port);
    }
    for (int i = 0; w->syn.fd6 >= 0 && i < 8192; i++) {
        struct sockaddr_in6 from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(w->syn.fd6, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            break;
        if (fl < sizeof from || from.sin6_family != AF_INET6) {
            e->st->syn_ignored++;
            continue;
        }
        enum sv_syn_answer ans = sv_syn_parse6(&w->syn.key, e->r->scope, from.sin6_addr.s6_addr,
                                               buf, (size_t)n, &a, &port);
        answer(e, ans, &a, port);
    }
}
