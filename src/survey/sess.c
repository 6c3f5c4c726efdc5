/* sess.c - what a module sees of its session (module.h), the credential order and the sink
 * helpers that turn attempts and observations into evidence and findings. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "survey/engine_int.h"
#include "survey/signs.h"

const uint16_t sv_default_ports[] = {23,   2323, 22, 80,   8080,  81,   443,
                                     8443, 554,  21, 7547, 37215, 52869};
const size_t sv_default_ports_n = sizeof sv_default_ports / sizeof sv_default_ports[0];

const char *sv_finding_name(enum sv_finding_kind k)
{
    switch (k) {
    case SV_WEAK_CREDENTIAL:
        return "weak_credential";
    case SV_VULNERABLE_FIRMWARE:
        return "vulnerable_firmware";
    case SV_INFECTED:
        return "infected";
    }
    return "?";
}

/* ---- sink helpers ---- */

void sv_engine__sink_err(struct sv_engine *e, int rc)
{
    if (rc && !e->err)
        e->err = rc;
}

void sv_sess__evidence(struct sv_sess *s, const char *tried, const char *outcome)
{
    struct sv_engine *e = s->eng;
    struct sv_evidence ev = {.operator_name = e->r->operator_name,
                             .dst = s->host->addr,
                             .port = s->port,
                             .service = s->mod ? s->mod->name : "tcp",
                             .time_ms = clock_wall_ms()};
    ev.src = s->host->local;
    snprintf(ev.tried, sizeof ev.tried, "%s", tried);
    snprintf(ev.outcome, sizeof ev.outcome, "%s", outcome);
    e->st->evidence++;
    if (e->r->sink.evidence)
        sv_engine__sink_err(e, e->r->sink.evidence(e->r->sink.ctx, &ev));
}

void sv_ev__open(struct jw *w, struct buf *b)
{
    jw_init(w, b);
    jw_obj(w, NULL);
}

void sv_ev__str(struct jw *w, const char *key, const char *s, size_t room)
{
    jw_strn(w, key, s, jw_fit(s, strlen(s), room));
}

void sv_sess__finding(struct sv_sess *s, enum sv_finding_kind k, struct jw *ev)
{
    struct sv_engine *e = s->eng;
    struct sv_finding f = {.addr = s->host->addr,
                           .port = s->port,
                           .service = s->mod ? s->mod->name : "tcp",
                           .kind = k,
                           .id = s->have_id ? &s->id : NULL,
                           .time_ms = clock_wall_ms()};
    /* The rooms given to sv_ev__str keep every object inside the field; were one not to fit
     * after all, the finding still goes out, with an empty object rather than a cut one. */
    snprintf(f.evidence, sizeof f.evidence, "%s", jw_finish(ev) ? "{}" : ev->b->data);
    e->st->findings++;
    if (e->r->sink.finding)
        sv_engine__sink_err(e, e->r->sink.finding(e->r->sink.ctx, &f));
}

/* Rooms (bytes, quotes included) of the sign's strings: with the keys (40 bytes) and the
 * braces they add up to 758, under SV_EVIDENCE_LEN - 1. The table's texts fit them whole. */
void sv_sess__sign(struct sv_sess *s, const struct sv_sign *g)
{
    struct buf b = BUF_INIT(SV_EVIDENCE_LEN - 1);
    struct jw w;
    sv_ev__open(&w, &b);
    sv_ev__str(&w, "sign", g->id, 64);
    sv_ev__str(&w, "family", g->family, 64);
    sv_ev__str(&w, "seen", g->what, 250);
    sv_ev__str(&w, "reference", g->ref, 340);
    sv_sess__evidence(s, "observe", g->id);
    sv_sess__finding(s, SV_INFECTED, &w);
    buf_release(&b);
}

/* ---- what modules use (module.h) ---- */

void *sv_sess_state(struct sv_sess *s)
{
    return s->st;
}
int sv_sess_fd(struct sv_sess *s)
{
    return s->fd;
}
uint16_t sv_sess_port(struct sv_sess *s)
{
    return s->port;
}
const struct ipaddr *sv_sess_addr(struct sv_sess *s)
{
    return &s->host->addr;
}
const char *sv_sess_operator(struct sv_sess *s)
{
    return s->eng->r->operator_name;
}
uint64_t sv_sess_now(struct sv_sess *s)
{
    return s->eng->now;
}
uint32_t sv_sess_conn_no(struct sv_sess *s)
{
    return s->conn_no;
}
const struct sv_policy *sv_sess_policy(struct sv_sess *s)
{
    return &s->eng->r->policy;
}
bool sv_sess_fetch_favicon(struct sv_sess *s)
{
    return s->eng->r->fetch_favicon;
}
bool sv_sess_timed_out(struct sv_sess *s)
{
    return s->timed_out;
}
void sv_sess_wake(struct sv_sess *s, uint64_t ms)
{
    s->wake_ms = ms ? s->eng->now + ms : 0;
}
struct sv_obs *sv_sess_obs(struct sv_sess *s)
{
    return &s->obs;
}

void sv_sess_identify(struct sv_sess *s)
{
    if (s->identified)
        return;
    s->identified = true;
    const struct sv_assessor *a = &s->eng->r->assessor;
    if (!a->identify)
        return;
    memset(&s->id, 0, sizeof s->id);
    snprintf(s->id.cves, sizeof s->id.cves, "[]");
    if (a->identify(a->ctx, &s->obs, &s->id) != 0)
        return;
    s->have_id = true;
    if (a->default_creds)
        s->n_defaults = a->default_creds(a->ctx, &s->id, s->defaults, SV_MAX_DEFAULTS);
    if (s->n_defaults > SV_MAX_DEFAULTS)
        s->n_defaults = SV_MAX_DEFAULTS;
}

const struct sv_cred *sv_sess_cred(struct sv_sess *s, uint32_t i)
{
    if (s->succeeded || i >= s->eng->r->policy.max_attempts)
        return NULL;
    if (i < s->n_defaults)
        return &s->defaults[i];
    i -= (uint32_t)s->n_defaults;
    const struct sv_creds *c = s->eng->r->creds;
    /* Skip file pairs equal to a default already tried (device defaults came first). */
    for (size_t k = 0; c && k < c->n; k++) {
        bool dup = false;
        for (size_t d = 0; d < s->n_defaults; d++)
            dup |= !strcmp(s->defaults[d].user, c->v[k].user) &&
                   !strcmp(s->defaults[d].pass, c->v[k].pass);
        if (dup)
            continue;
        if (i-- == 0)
            return &c->v[k];
    }
    return NULL;
}

uint64_t sv_sess_attempt_wait(struct sv_sess *s)
{
    uint64_t next = s->last_attempt_ms + s->eng->r->policy.cred_pause_ms;
    return s->last_attempt_ms && next > s->eng->now ? next - s->eng->now : 0;
}

void sv_sess_attempt(struct sv_sess *s, const struct sv_cred *c, bool success, const char *outcome)
{
    s->last_attempt_ms = s->eng->now;
    s->eng->st->attempts++;
    char tried[160];
    snprintf(tried, sizeof tried, "login user=%s pair=%u%s", c->user, c->index,
             c->index ? "" : " (device default)");
    sv_sess__evidence(s, tried, outcome);
    if (!success)
        return;
    s->succeeded = true; /* sv_sess_cred() returns NULL from now on: no further attempt */
    s->eng->st->successes++;
    /* The proof is the device's text (a prompt): keys (48 bytes with the widest pair
     * number) and rooms add up to 758. */
    struct buf b = BUF_INIT(SV_EVIDENCE_LEN - 1);
    struct jw w;
    sv_ev__open(&w, &b);
    sv_ev__str(&w, "user", c->user, 160);
    jw_u64(&w, "pair", c->index);
    sv_ev__str(&w, "proof", outcome, 350);
    sv_ev__str(&w, "operator", s->eng->r->operator_name, 200);
    sv_sess__finding(s, SV_WEAK_CREDENTIAL, &w);
    buf_release(&b);
}

void sv_sess_evidence(struct sv_sess *s, const char *tried, const char *outcome)
{
    sv_sess__evidence(s, tried, outcome);
}

void sv_sess_infected(struct sv_sess *s, const char *sign)
{
    struct buf b = BUF_INIT(SV_EVIDENCE_LEN - 1);
    struct jw w;
    sv_ev__open(&w, &b);
    sv_ev__str(&w, "sign", sign, 500);
    sv_sess__evidence(s, "observe", sign);
    sv_sess__finding(s, SV_INFECTED, &w);
    buf_release(&b);
}

int sv_sess_send(struct sv_sess *s, const void *p, size_t n)
{
    if (n > SV_OUT_BUF - s->out_len)
        return BS_ELIMIT;
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    return 0;
}
