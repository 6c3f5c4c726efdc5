/* engine_int.h - the survey engine's internal types, shared by engine.c (the event loop and
 * connections) and sess.c (what modules see of a session, and the sink helpers). Not for
 * modules: they use module.h. */
#ifndef BS_SURVEY_ENGINE_INT_H
#define BS_SURVEY_ENGINE_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "survey/module.h"
#include "survey/survey.h"
#include "survey/targets.h"

/* Requests are short (the longest, a Digest GET, is under 1 KB). */
#define SV_OUT_BUF      4096
#define SV_MAX_DEFAULTS 16
#define SV_EPOLL_BATCH  256

enum conn_state { C_NONE = 0, C_CONNECTING, C_TLS, C_OPEN };

struct sv_engine;
struct sv_host;

struct sv_sess {
    struct sv_engine *eng;
    struct sv_host *host;
    const struct sv_module *mod;
    uint16_t port;
    int fd;
    SSL *ssl;
    enum conn_state cs;
    size_t out_len;
    uint32_t events; /* epoll interest now registered */
    void *st;
    uint32_t conn_no;
    uint64_t deadline_ms, wake_ms, last_attempt_ms;
    bool timed_out, succeeded, identified, have_id;
    struct sv_obs obs;
    struct sv_ident id;
    struct sv_cred defaults[SV_MAX_DEFAULTS];
    size_t n_defaults;
    uint8_t out[SV_OUT_BUF]; /* last: a new session clears everything before it */
};

struct sv_host {
    bool used;
    uint64_t pos;
    struct ipaddr addr;
    size_t src_idx;
    size_t port_idx;
    uint64_t not_before_ms;
    bool reconnect;      /* the next connection is to the same service */
    bool local_fail;     /* a connection failed on this side: not finished, resume retries it */
    struct ipaddr local; /* the source address the device sees (getsockname) */
    uint16_t open_ports[SV_MAX_PORTS];
    size_t n_open;
    struct sv_bucket bucket;
    struct sv_sess s;
};

struct sv_engine {
    const struct sv_run *r;
    struct sv_stats *st;
    int ep;
    struct sv_host *hosts;
    size_t cap, active;
    struct sv_targets tg;
    uint64_t next_pos, now, start;
    struct sv_bucket total;
    struct sv_netrate net;
    struct sv_health health;
    SSL_CTX *ssl_ctx;
    size_t src_rr;
    int err; /* first sink error: stops the run */
    bool stopping;
};

/* Records the first sink error (it stops the run). */
void sv_engine__sink_err(struct sv_engine *e, int rc);
/* One evidence record about s's service. */
void sv_sess__evidence(struct sv_sess *s, const char *tried, const char *outcome);
/* One finding about s's service with evidence_json (a JSON object text). */
void sv_sess__finding(struct sv_sess *s, enum sv_finding_kind k, const char *evidence_json);
/* Appends s to out as a JSON string literal (escaped, quoted, truncated to fit cap). */
void sv_json__str(char *out, size_t cap, const char *s);

#endif
