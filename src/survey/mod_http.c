/* mod_http.c - HTTP and HTTPS: the front page (status, Server, title, authentication realm),
 * optionally the favicon hash, and the Basic/Digest credential check on a 401 page. One
 * request per connection (Connection: close); success is a 2xx answer to the authenticated
 * request, nothing else. RTSP's OPTIONS request is answered in the same syntax and lives here
 * too. */
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "survey/http.h"
#include "survey/module.h"

enum hp_phase { HP_PROBE = 0, HP_FAVICON, HP_AUTH };

struct hp_state {
    struct sv_http h;
    enum hp_phase phase;
    uint32_t attempt;
    const struct sv_cred *cur;
    char challenge[SV_HTTP_FIELD];
    bool digest;
};

static void host_header(struct sv_sess *s, char *out, size_t len)
{
    char a[IPADDR_STRLEN];
    ipaddr_format(sv_sess_addr(s), a, sizeof a);
    if (ipaddr_is_v4(sv_sess_addr(s)))
        snprintf(out, len, "%s:%u", a, sv_sess_port(s));
    else
        snprintf(out, len, "[%s]:%u", a, sv_sess_port(s));
}

static enum sv_act send_request(struct sv_sess *s, const char *path, const char *auth)
{
    char host[IPADDR_STRLEN + 10], req[2048];
    host_header(s, host, sizeof host);
    /* The User-Agent names the survey and its operator, so a device owner reading logs knows
     * who looked. */
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: botscope-survey/" BS_VERSION
                     " (operator: %s)\r\nAccept: */*\r\n%sConnection: close\r\n\r\n",
                     path, host, sv_sess_operator(s), auth ? auth : "");
    if (n < 0 || (size_t)n >= sizeof req || sv_sess_send(s, req, (size_t)n))
        return SV_ACT_DONE;
    return SV_ACT_WAIT;
}

static enum sv_act hp_start(struct sv_sess *s)
{
    struct hp_state *st = sv_sess_state(s);
    sv_http_init(&st->h, false);
    if (st->phase == HP_FAVICON)
        return send_request(s, "/favicon.ico", NULL);
    if (st->phase == HP_AUTH) {
        char auth[1024];
        uint64_t rnd = hash_mix64(sv_sess_now(s) ^ st->attempt);
        char cnonce[20];
        snprintf(cnonce, sizeof cnonce, "%016llx", (unsigned long long)rnd);
        int rc = st->digest ? sv_http_digest_header(st->challenge, "GET", "/", st->cur->user,
                                                    st->cur->pass, cnonce, auth, sizeof auth)
                            : sv_http_basic_header(st->cur->user, st->cur->pass, auth, sizeof auth);
        if (rc) {
            sv_sess_evidence(s, "login", "unsupported challenge");
            return SV_ACT_DONE;
        }
        return send_request(s, "/", auth);
    }
    return send_request(s, "/", NULL);
}

/* Prepares the next credential attempt, or ends the service. */
static enum sv_act next_attempt(struct sv_sess *s, struct hp_state *st)
{
    st->cur = sv_sess_cred(s, st->attempt);
    if (!st->cur)
        return SV_ACT_DONE;
    st->phase = HP_AUTH;
    return SV_ACT_RECONNECT;
}

static void keep_challenge(struct hp_state *st)
{
    /* Digest is preferred: the password never crosses the wire. */
    if (st->h.auth_digest[0]) {
        snprintf(st->challenge, sizeof st->challenge, "%s", st->h.auth_digest);
        st->digest = true;
    } else if (st->h.auth_basic[0]) {
        snprintf(st->challenge, sizeof st->challenge, "%s", st->h.auth_basic);
        st->digest = false;
    }
}

static enum sv_act after_probe(struct sv_sess *s, struct hp_state *st)
{
    sv_sess_identify(s);
    if (st->challenge[0])
        return next_attempt(s, st);
    return SV_ACT_DONE;
}

static enum sv_act response(struct sv_sess *s, struct hp_state *st)
{
    struct sv_obs *o = sv_sess_obs(s);
    if (st->h.status != SV_HTTP_DONE) {
        if (st->phase == HP_PROBE)
            sv_sess_evidence(s, "GET /", "not an HTTP answer");
        return st->phase == HP_FAVICON ? after_probe(s, st) : SV_ACT_DONE;
    }
    char outcome[160];
    switch (st->phase) {
    case HP_PROBE:
        o->http_status = st->h.code;
        sv_copy(o->http_server, sizeof o->http_server, st->h.server);
        sv_http_title(&st->h, o->http_title, sizeof o->http_title);
        if (st->h.code == 401) {
            keep_challenge(st);
            snprintf(o->http_auth, sizeof o->http_auth, "%s",
                     st->digest         ? "digest"
                     : st->challenge[0] ? "basic"
                                        : "");
            sv_http_auth_param(st->challenge, "realm", o->http_realm, sizeof o->http_realm);
            if (st->challenge[0])
                snprintf(o->http_wwwauth, sizeof o->http_wwwauth, "%s %s",
                         st->digest ? "Digest" : "Basic", st->challenge);
        }
        snprintf(outcome, sizeof outcome, "HTTP %d", st->h.code);
        sv_sess_evidence(s, "GET /", outcome);
        break;
    case HP_FAVICON:
        if (st->h.code == 200 && st->h.body_len && !st->h.body_truncated) {
            o->has_favicon = true;
            o->favicon_hash = sv_favicon_hash(st->h.body, st->h.body_len);
            sv_md5_hex(st->h.body, st->h.body_len, o->favicon_md5);
        }
        return after_probe(s, st);
    case HP_AUTH:
        if (st->h.code >= 200 && st->h.code < 300) {
            snprintf(outcome, sizeof outcome, "success: HTTP %d after %s authentication",
                     st->h.code, st->digest ? "Digest" : "Basic");
            sv_sess_attempt(s, st->cur, true, outcome);
            return SV_ACT_DONE;
        }
        snprintf(outcome, sizeof outcome, "failed: HTTP %d", st->h.code);
        sv_sess_attempt(s, st->cur, false, outcome);
        if (st->h.code != 401)
            return SV_ACT_DONE; /* not the answer of a wrong password: stop here */
        keep_challenge(st);     /* a fresh nonce for the next attempt */
        st->attempt++;
        return next_attempt(s, st);
    }
    /* After the probe. */
    return SV_ACT_DONE;
}

static enum sv_act probe_done(struct sv_sess *s, struct hp_state *st, bool want_favicon)
{
    enum sv_act a = response(s, st);
    if (st->phase == HP_PROBE && st->h.status == SV_HTTP_DONE) {
        if (want_favicon) {
            st->phase = HP_FAVICON;
            return SV_ACT_RECONNECT;
        }
        return after_probe(s, st);
    }
    return a;
}

static bool favicon_wanted(struct sv_sess *s)
{
    return sv_sess_fetch_favicon(s);
}

static enum sv_act hp_input(struct sv_sess *s, const uint8_t *p, size_t n)
{
    struct hp_state *st = sv_sess_state(s);
    if (sv_http_feed(&st->h, p, n) == SV_HTTP_MORE)
        return SV_ACT_WAIT;
    return probe_done(s, st, favicon_wanted(s));
}

static enum sv_act hp_closed(struct sv_sess *s)
{
    struct hp_state *st = sv_sess_state(s);
    sv_http_eof(&st->h);
    return probe_done(s, st, favicon_wanted(s));
}

static enum sv_act hp_tick(struct sv_sess *s)
{
    struct hp_state *st = sv_sess_state(s);
    if (st->phase == HP_AUTH && st->cur)
        sv_sess_attempt(s, st->cur, false, "failed: no answer");
    return SV_ACT_DONE;
}

const struct sv_module sv_mod_http = {
    .name = "http",
    .state_size = sizeof(struct hp_state),
    .start = hp_start,
    .input = hp_input,
    .tick = hp_tick,
    .closed = hp_closed,
};

const struct sv_module sv_mod_https = {
    .name = "https",
    .tls = true,
    .state_size = sizeof(struct hp_state),
    .start = hp_start,
    .input = hp_input,
    .tick = hp_tick,
    .closed = hp_closed,
};

/* ---- RTSP: OPTIONS, for the Server header ---- */

static enum sv_act rtsp_start(struct sv_sess *s)
{
    struct hp_state *st = sv_sess_state(s);
    sv_http_init(&st->h, false);
    char a[IPADDR_STRLEN], req[512];
    ipaddr_format(sv_sess_addr(s), a, sizeof a);
    int n =
        snprintf(req, sizeof req,
                 "OPTIONS rtsp://%s%s%s:%u/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: "
                 "botscope-survey/" BS_VERSION " (operator: %s)\r\n\r\n",
                 ipaddr_is_v4(sv_sess_addr(s)) ? "" : "[", a,
                 ipaddr_is_v4(sv_sess_addr(s)) ? "" : "]", sv_sess_port(s), sv_sess_operator(s));
    if (n < 0 || (size_t)n >= sizeof req || sv_sess_send(s, req, (size_t)n))
        return SV_ACT_DONE;
    return SV_ACT_WAIT;
}

static enum sv_act rtsp_result(struct sv_sess *s, struct hp_state *st)
{
    struct sv_obs *o = sv_sess_obs(s);
    if (st->h.status == SV_HTTP_DONE) {
        snprintf(o->banner, sizeof o->banner, "%s %d", st->h.proto, st->h.code);
        sv_copy(o->http_server, sizeof o->http_server, st->h.server);
        o->http_status = st->h.code;
        sv_sess_evidence(s, "OPTIONS", o->banner);
    } else {
        sv_sess_evidence(s, "OPTIONS", "not an RTSP answer");
    }
    return SV_ACT_DONE;
}

static enum sv_act rtsp_input(struct sv_sess *s, const uint8_t *p, size_t n)
{
    struct hp_state *st = sv_sess_state(s);
    if (sv_http_feed(&st->h, p, n) == SV_HTTP_MORE)
        return SV_ACT_WAIT;
    return rtsp_result(s, st);
}

static enum sv_act rtsp_closed(struct sv_sess *s)
{
    struct hp_state *st = sv_sess_state(s);
    sv_http_eof(&st->h);
    return rtsp_result(s, st);
}

const struct sv_module sv_mod_rtsp = {
    .name = "rtsp",
    .state_size = sizeof(struct hp_state),
    .start = rtsp_start,
    .input = rtsp_input,
    .closed = rtsp_closed,
};
