/* rate.c - token buckets and the health monitor (rate.h). */
#include "survey/rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

int sv_policy_check(const struct sv_policy *p, const char **field)
{
#define REQ(cond, name)                                                                            \
    if (!(cond)) {                                                                                 \
        *field = name;                                                                             \
        return BS_EUSAGE;                                                                          \
    }
    REQ(p->rate_total >= 1 && p->rate_total <= 1000000, "rate");
    REQ(p->rate_net >= 1 && p->rate_net <= p->rate_total, "rate-net");
    REQ(p->rate_host >= 1 && p->rate_host <= p->rate_net, "rate-host");
    REQ(p->cred_pause_ms <= 600000, "cred-pause");
    REQ(p->connect_timeout_ms >= 100 && p->connect_timeout_ms <= 120000, "connect-timeout");
    REQ(p->io_timeout_ms >= 100 && p->io_timeout_ms <= 300000, "io-timeout");
    REQ(p->max_run_ms >= 1000, "max-time");
    REQ(p->max_sessions >= 1 && p->max_sessions <= 60000, "max-sessions");
    REQ(p->max_attempts >= 1 && p->max_attempts <= 1000, "max-attempts");
    REQ(p->health_window >= 10, "health-window");
    REQ(p->max_error_pct >= 1 && p->max_error_pct <= 100, "max-error-pct");
    REQ(p->max_reset_pct >= 1 && p->max_reset_pct <= 100, "max-reset-pct");
#undef REQ
    return 0;
}

void sv_bucket_init(struct sv_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
    b->rate = rate;
    b->burst = burst ? burst : 1;
    b->milli = (uint64_t)b->burst * 1000;
    b->last_ms = now_ms;
}

static void refill(struct sv_bucket *b, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    uint64_t add = (now_ms - b->last_ms) * b->rate; /* ms x tokens/s = milli-tokens */
    uint64_t cap = (uint64_t)b->burst * 1000;
    b->milli = b->milli + add > cap ? cap : b->milli + add;
    b->last_ms = now_ms;
}

uint64_t sv_bucket_wait(struct sv_bucket *b, uint64_t now_ms)
{
    refill(b, now_ms);
    if (b->milli >= 1000)
        return 0;
    return (1000 - b->milli + b->rate - 1) / b->rate;
}

uint64_t sv_bucket_avail(struct sv_bucket *b, uint64_t now_ms)
{
    refill(b, now_ms);
    return b->milli / 1000;
}

void sv_bucket_take(struct sv_bucket *b)
{
    b->milli = b->milli >= 1000 ? b->milli - 1000 : 0;
}

int sv_netrate_init(struct sv_netrate *t, uint32_t rate, uint32_t burst, uint64_t seed)
{
    t->slot = calloc(SV_NETRATE_SLOTS, sizeof *t->slot);
    if (!t->slot)
        return BS_ENOMEM;
    t->rate = rate;
    t->burst = burst;
    t->seed = seed;
    return 0;
}

void sv_netrate_release(struct sv_netrate *t)
{
    free(t->slot);
    t->slot = NULL;
}

void sv_netrate_net(const struct ipaddr *a, struct ipaddr *net)
{
    *net = *a;
    ipaddr_mask(net, ipaddr_is_v4(a) ? 120 : 48);
}

/* Finds a's network slot, claiming a free or fully refilled one when absent. NULL: the table
 * is full of networks still being rate limited. */
static struct sv_netrate_slot *lookup(struct sv_netrate *t, const struct ipaddr *a, uint64_t now_ms)
{
    struct ipaddr net;
    sv_netrate_net(a, &net);
    uint32_t h = (uint32_t)hash_bytes(net.b, 16, t->seed) & (SV_NETRATE_SLOTS - 1);
    struct sv_netrate_slot *reuse = NULL;
    /* Probe a bounded run: the table is a rate limiter, not a directory. */
    for (uint32_t i = 0; i < 64; i++) {
        struct sv_netrate_slot *s = &t->slot[(h + i) & (SV_NETRATE_SLOTS - 1)];
        if (!s->used) {
            if (!reuse)
                reuse = s;
            continue;
        }
        if (!ipaddr_cmp(&s->net, &net))
            return s;
        if (!reuse) {
            sv_bucket_wait(&s->b, now_ms);
            if (s->b.milli >= (uint64_t)s->b.burst * 1000)
                reuse = s;
        }
    }
    if (reuse) {
        reuse->used = true;
        reuse->net = net;
        sv_bucket_init(&reuse->b, t->rate, t->burst, now_ms);
    }
    return reuse;
}

uint64_t sv_netrate_wait(struct sv_netrate *t, const struct ipaddr *a, uint64_t now_ms)
{
    struct sv_netrate_slot *s = lookup(t, a, now_ms);
    return s ? sv_bucket_wait(&s->b, now_ms) : 100;
}

void sv_netrate_take(struct sv_netrate *t, const struct ipaddr *a, uint64_t now_ms)
{
    struct sv_netrate_slot *s = lookup(t, a, now_ms);
    if (s)
        sv_bucket_take(&s->b);
}

void sv_health_init(struct sv_health *h, const struct sv_policy *p)
{
    memset(h, 0, sizeof *h);
    h->window = p->health_window;
    h->max_error_pct = p->max_error_pct;
    h->max_reset_pct = p->max_reset_pct;
}

void sv_health_note(struct sv_health *h, enum sv_outcome_kind k)
{
    h->n++;
    if (k == SV_OUT_LOCAL_ERR)
        h->errors++;
    if (k == SV_OUT_SESSION || k == SV_OUT_RESET)
        h->sessions++;
    if (k == SV_OUT_RESET)
        h->resets++;
    if (h->n < h->window)
        return;
    if ((uint64_t)h->errors * 100 > (uint64_t)h->max_error_pct * h->n) {
        h->bad = true;
        snprintf(h->why, sizeof h->why, "%u of %u connection attempts failed locally", h->errors,
                 h->n);
    } else if (h->sessions >= 10 &&
               (uint64_t)h->resets * 100 > (uint64_t)h->max_reset_pct * h->sessions) {
        h->bad = true;
        snprintf(h->why, sizeof h->why, "%u of %u sessions were reset by the peer", h->resets,
                 h->sessions);
    }
    h->n = h->errors = h->sessions = h->resets = 0;
}
