/* engine_int.h - the survey engine's internal types, shared by engine.c (the event loop and
 * connections) and sess.c (what modules see of a session, and the sink helpers). Not for
 * modules: they use module.h. */
#ifndef BS_SURVEY_ENGINE_INT_H
#define BS_SURVEY_ENGINE_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/jw.h"
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
struct sv_sweep;

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
    /* The service's first connection was accepted and the device sent nothing before the
     * I/O timeout (signs.h: a port a bot holds). rx counts the bytes the engine read. */
    bool silent;
    uint64_t rx;
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
    /* Swept by SYN probes (sweep.c): only the ports in syn_open (bit i: ports[i]) answered
     * SYN-ACK and are connected to. */
    bool swept;
    uint64_t syn_open;
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
    /* Per slot, compact so that the walk over thousands of slots stays in cache: when the
     * device next needs the loop (UINT64_MAX: free slot or waiting for an event only), and
     * whether it waits for a token of the run's bucket. Free slots are a stack. */
    uint64_t *due;
    uint8_t *tok;
    uint32_t *free_slots;
    size_t n_free;
    struct sv_sweep *sw; /* NULL: connect() sweep only (sweep.c) */
    int err;             /* first sink error: stops the run */
    bool stopping;
};

/* ---- shared by engine.c and sweep.c ---- */
/* Takes a token from every rate bucket (the run's, the network's, the device's bucket hb) for
 * a packet or connection to a, or sets *not_before (and *tok when the run's bucket was
 * empty) and returns false. */
bool sv_engine__take_tokens(struct sv_engine *e, struct sv_bucket *hb, const struct ipaddr *a,
                            uint64_t *not_before, uint8_t *tok);
/* The next target of the permutation that may be surveyed (not done before, not blocked, not
 * special-purpose: those are counted and reported done here); false when the permutation is
 * exhausted or *budget positions were looked at. */
bool sv_engine__draw(struct sv_engine *e, unsigned *budget, uint64_t *pos, struct ipaddr *a);
/* A device needs no more work: reports it done (with its open ports), or counts it
 * unfinished after a local failure. */
void sv_engine__device_done(struct sv_engine *e, uint64_t pos, const struct ipaddr *a,
                            const uint16_t *open, size_t n_open, bool local_fail);

/* ---- the SYN sweep (sweep.c) ---- */
/* Opens the raw socket and the probe table when r->sweep asks for them and registers the
 * socket with the epoll set (as a NULL data pointer). 0 (also when AUTO falls back), or a
 * negative error (-EPERM without CAP_NET_RAW). */
int sv_sweep_init(struct sv_engine *e);
void sv_sweep_release(struct sv_engine *e);
/* Draws devices into free probe slots and walks the probes (once per millisecond): sends the
 * SYNs the buckets allow, ends the probes whose ports all answered or timed out. */
void sv_sweep_turn(struct sv_engine *e);
/* Hands the next device with open ports (or an IPv6 device, swept by connect()) to the
 * session slot h (its address, position, source, bucket, open ports); false when none. */
bool sv_sweep_next(struct sv_engine *e, struct sv_host *h);
/* True when no device is being probed or waits for a session slot. */
bool sv_sweep_idle(const struct sv_engine *e);
/* Reads the answers waiting on the raw socket. */
void sv_sweep_recv(struct sv_engine *e);

/* The device in slot h needs the loop at its next walk (an event or an answer came). */
static inline void sv_engine__touch(struct sv_engine *e, const struct sv_host *h)
{
    e->due[h - e->hosts] = 0;
}

/* Records the first sink error (it stops the run). */
void sv_engine__sink_err(struct sv_engine *e, int rc);
/* One evidence record about s's service. */
void sv_sess__evidence(struct sv_sess *s, const char *tried, const char *outcome);
/* Starts a finding's evidence object: a writer on b, which the caller made with
 * BUF_INIT(SV_EVIDENCE_LEN - 1) and releases after sv_sess__finding. */
void sv_ev__open(struct jw *w, struct buf *b);
/* Writes s as a string member of the evidence clipped to at most room bytes, quotes included
 * (jw_fit): banners and prompts are the device's text, of any length and any bytes, and each
 * writer gives its strings rooms that add up to less than the field, so the object fits
 * whole. */
void sv_ev__str(struct jw *w, const char *key, const char *s, size_t room);
/* One finding about s's service with the evidence object written on ev (finished here). */
void sv_sess__finding(struct sv_sess *s, enum sv_finding_kind k, struct jw *ev);
/* One infection-sign finding about s's service (signs.h), with its evidence record. */
struct sv_sign;
void sv_sess__sign(struct sv_sess *s, const struct sv_sign *g);

#endif
