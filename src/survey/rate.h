/* rate.h - the survey's politeness: token buckets for new connections (overall, per /24 and
 * per host), the pause between credential attempts, the run-time limit, and the health monitor
 * that aborts a run when error or reset rates say something is wrong.
 *
 * Defaults (SV_RATE_DEFAULTS) are deliberately conservative; every one is an option of
 * `botscope survey` and documented in docs/SURVEY.md. Buckets count in thousandths of a
 * connection so that integer arithmetic over milliseconds is exact enough; a bucket starts
 * full (its burst) so the first connection never waits.
 *
 * No allocation except sv_netrate (a fixed table sized at init, freed by release).
 */
#ifndef BS_SURVEY_RATE_H
#define BS_SURVEY_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct sv_policy {
    uint32_t rate_total;    /* new connections per second, whole run */
    uint32_t rate_net;      /* new connections per second into one /24 (IPv6: /48) */
    uint32_t rate_host;     /* new connections per second to one address */
    uint32_t cred_pause_ms; /* pause between two credential attempts on one service */
    uint32_t connect_timeout_ms;
    uint32_t io_timeout_ms; /* silence allowed inside a session */
    uint64_t max_run_ms;    /* the run stops (resumably) after this long */
    uint32_t max_sessions;  /* devices handled at the same time */
    uint32_t max_attempts;  /* credential pairs tried per service at most */
    /* Health: over a window of at least health_window outcomes, abort when local network
     * errors (unreachable, no buffers) exceed max_error_pct, or when established sessions
     * reset by the peer exceed max_reset_pct. */
    uint32_t health_window;
    uint32_t max_error_pct;
    uint32_t max_reset_pct;
};

#define SV_RATE_DEFAULTS                                                                           \
    {                                                                                              \
        .rate_total = 200, .rate_net = 20, .rate_host = 2, .cred_pause_ms = 1000,                  \
        .connect_timeout_ms = 3000, .io_timeout_ms = 8000, .max_run_ms = 8ull * 3600 * 1000,       \
        .max_sessions = 1024, .max_attempts = 10, .health_window = 200, .max_error_pct = 50,       \
        .max_reset_pct = 50,                                                                       \
    }

/* Checks that every field is in its sane range; returns 0 or BS_EUSAGE with the field named in
 * *field. */
int sv_policy_check(const struct sv_policy *p, const char **field);

struct sv_bucket {
    uint64_t last_ms;
    uint64_t milli; /* tokens x 1000 */
    uint32_t rate;  /* tokens per second */
    uint32_t burst; /* capacity in tokens */
};

void sv_bucket_init(struct sv_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);
/* Milliseconds until one token is available (0: available now). Does not take it. */
uint64_t sv_bucket_wait(struct sv_bucket *b, uint64_t now_ms);
/* Whole tokens available now. */
uint64_t sv_bucket_avail(struct sv_bucket *b, uint64_t now_ms);
/* Takes one token; the caller checked sv_bucket_wait() == 0. */
void sv_bucket_take(struct sv_bucket *b);

/* Per-network buckets: an open-addressing table of SV_NETRATE_SLOTS networks. A bucket that
 * has refilled to its burst is indistinguishable from a new one, so such entries are reused
 * when the table is full; if none is reusable the caller waits (never exceeds a rate). */
#define SV_NETRATE_SLOTS 8192u
struct sv_netrate {
    struct sv_netrate_slot {
        struct ipaddr net;
        struct sv_bucket b;
        bool used;
    } * slot;
    uint32_t rate, burst;
    uint64_t seed;
};

int sv_netrate_init(struct sv_netrate *t, uint32_t rate, uint32_t burst, uint64_t seed);
void sv_netrate_release(struct sv_netrate *t);
/* The network of a: its /24 (IPv4) or /48 (IPv6). */
void sv_netrate_net(const struct ipaddr *a, struct ipaddr *net);
/* Milliseconds until a connection into a's network is allowed (0: now). */
uint64_t sv_netrate_wait(struct sv_netrate *t, const struct ipaddr *a, uint64_t now_ms);
/* Takes a token for a's network; the caller checked sv_netrate_wait() == 0. */
void sv_netrate_take(struct sv_netrate *t, const struct ipaddr *a, uint64_t now_ms);

enum sv_outcome_kind {
    SV_OUT_OK,        /* connected, or refused/timed out (a normal answer in a sweep) */
    SV_OUT_LOCAL_ERR, /* EHOSTUNREACH, ENETUNREACH, ENOBUFS, EADDRNOTAVAIL... */
    SV_OUT_SESSION,   /* an established session ended normally */
    SV_OUT_RESET,     /* an established session was reset by the peer */
};

/* Counts outcomes in consecutive windows; sv_health_bad() says whether the last complete
 * window broke a limit. */
struct sv_health {
    uint32_t window, max_error_pct, max_reset_pct;
    uint32_t n, errors, sessions, resets;
    bool bad;
    char why[96];
};

void sv_health_init(struct sv_health *h, const struct sv_policy *p);
void sv_health_note(struct sv_health *h, enum sv_outcome_kind k);
static inline bool sv_health_bad(const struct sv_health *h)
{
    return h->bad;
}

#endif
