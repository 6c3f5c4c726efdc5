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

void sv_sess__finding(struct sv_sess *s, enum sv_finding_kind k, const char *evidence_json)
{
    struct sv_engine *e = s->eng;
    struct sv_finding f = {.addr = s->host->addr,
                           .port = s->port,
                           .service = s->mod ? s->mod->name : "tcp",
                           .kind = k,
                           .id = s->have_id ? &s->id : NULL,
                           .time_ms = clock_wall_ms()};
    snprintf(f.evidence, sizeof f.evidence, "%s", evidence_json);
    e->st->findings++;
    if (e->r->sink.finding)
        sv_engine__sink_err(e, e->r->sink.finding(e->r->sink.ctx, &f));
}

void sv_sess__sign(struct sv_sess *s, const struct sv_sign *g)
{
    char ev[768] = "{\"sign\":";
    sv_json__str(ev, sizeof ev, g->id);
    size_t o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, ",\"family\":");
    sv_json__str(ev, sizeof ev, g->family);
    o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, ",\"seen\":");
    sv_json__str(ev, sizeof ev, g->what);
    o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, ",\"reference\":");
    sv_json__str(ev, sizeof ev, g->ref);
    o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, "}");
    sv_sess__evidence(s, "observe", g->id);
    sv_sess__finding(s, SV_INFECTED, ev);
}

/* Appends s to a JSON string literal in out (escaped, quoted, truncated to fit). */
void sv_json__str(char *out, size_t cap, const char *s)
{
    size_t o = strlen(out);
    if (o + 3 > cap)
        return;
    out[o++] = '"';
    for (; *s && o + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
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
    char ev[768] = "{\"user\":";
    sv_json__str(ev, sizeof ev, c->user);
    size_t o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, ",\"pair\":%u,\"proof\":", c->index);
    sv_json__str(ev, sizeof ev, outcome);
    o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, ",\"operator\":");
    sv_json__str(ev, sizeof ev, s->eng->r->operator_name);
    o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, "}");
    sv_sess__finding(s, SV_WEAK_CREDENTIAL, ev);
}

void sv_sess_evidence(struct sv_sess *s, const char *tried, const char *outcome)
{
    sv_sess__evidence(s, tried, outcome);
}

void sv_sess_infected(struct sv_sess *s, const char *sign)
{
    char ev[512] = "{\"sign\":";
    sv_json__str(ev, sizeof ev, sign);
    size_t o = strlen(ev);
    snprintf(ev + o, sizeof ev - o, "}");
    sv_sess__evidence(s, "observe", sign);
    sv_sess__finding(s, SV_INFECTED, ev);
}

int sv_sess_send(struct sv_sess *s, const void *p, size_t n)
{
    if (n > SV_OUT_BUF - s->out_len)
        return BS_ELIMIT;
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    return 0;
}
