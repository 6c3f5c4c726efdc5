/* module.h - the survey's protocol modules (ZMap's plug-in shape): one const vtable each,
 * listed in one registry (modules.c) and chosen by port.
 *
 * The engine owns connections; a module sees one service of one device through struct
 * sv_sess and answers each event with an action. Module state (state_size bytes) is zeroed
 * when the service starts and kept across the reconnections of that service, so a module can
 * try the next credential pair on a fresh connection; finish() releases what the module
 * allocated itself. Modules never touch sockets directly except a raw module (SSH: libssh
 * drives the socket it is handed, and the engine only reports readiness).
 */
#ifndef BS_SURVEY_MODULE_H
#define BS_SURVEY_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "survey/survey.h"

enum sv_act {
    SV_ACT_WAIT = 0,  /* keep the connection, wait for input or the timer */
    SV_ACT_DONE,      /* the service is finished: close, next port */
    SV_ACT_RECONNECT, /* close and connect again to the same port after the credential pause */
};

struct sv_sess; /* engine.c */

struct sv_module {
    const char *name;
    bool tls; /* the engine completes a TLS handshake before start() */
    bool raw; /* the module reads the socket itself (input() gets no bytes) */
    size_t state_size;
    enum sv_act (*start)(struct sv_sess *s);
    enum sv_act (*input)(struct sv_sess *s, const uint8_t *p, size_t n);
    /* The module's timer (sv_sess_wake) fired, or the connection was silent too long
     * (sv_sess_timed_out() tells which). */
    enum sv_act (*tick)(struct sv_sess *s);
    /* The peer closed (or reset) the connection. */
    enum sv_act (*closed)(struct sv_sess *s);
    void (*finish)(struct sv_sess *s);
};

extern const struct sv_module sv_mod_tcp, sv_mod_telnet, sv_mod_ssh, sv_mod_http, sv_mod_https,
    sv_mod_ftp, sv_mod_rtsp;

/* The registry: the module serving a port (tcp: open/closed only, for unknown ports). */
const struct sv_module *sv_module_for_port(uint16_t port);
/* Looks a module up by name; NULL when unknown. */
const struct sv_module *sv_module_by_name(const char *name);

/* ---- what the engine offers a module (engine.c) ---- */
void *sv_sess_state(struct sv_sess *s);
int sv_sess_fd(struct sv_sess *s);
uint16_t sv_sess_port(struct sv_sess *s);
const struct ipaddr *sv_sess_addr(struct sv_sess *s);
const char *sv_sess_operator(struct sv_sess *s);
uint64_t sv_sess_now(struct sv_sess *s);
uint32_t sv_sess_conn_no(struct sv_sess *s); /* 1 for the first connection of the service */
const struct sv_policy *sv_sess_policy(struct sv_sess *s);
bool sv_sess_timed_out(struct sv_sess *s);
/* True when the run asked for favicon hashes (one more request per web server). */
bool sv_sess_fetch_favicon(struct sv_sess *s);
/* Arms the module timer ms from now (0 disarms). */
void sv_sess_wake(struct sv_sess *s, uint64_t ms);
/* Queues bytes for the peer (TLS-wrapped when the module is). Returns 0 or BS_ELIMIT. */
int sv_sess_send(struct sv_sess *s, const void *p, size_t n);
/* The service's observation, filled by the module as it learns. */
struct sv_obs *sv_sess_obs(struct sv_sess *s);
/* Runs identification on the observation (once per service; later calls are no-ops) so that
 * device-specific defaults can come first. */
void sv_sess_identify(struct sv_sess *s);
/* The credential pair to try as attempt i (0-based): device defaults first, then the file,
 * within the policy's max_attempts. NULL when there is none left, or when the service has
 * already given a success (never another attempt on that service). */
const struct sv_cred *sv_sess_cred(struct sv_sess *s, uint32_t i);
/* Milliseconds to wait before the next attempt (the credential pause since the last one). */
uint64_t sv_sess_attempt_wait(struct sv_sess *s);
/* Records a credential attempt as evidence; success also records the weak_credential finding
 * (proof: what the device answered) and closes the service to further attempts. */
void sv_sess_attempt(struct sv_sess *s, const struct sv_cred *c, bool success, const char *outcome);
/* Records an evidence line about this service (tried, outcome). */
void sv_sess_evidence(struct sv_sess *s, const char *tried, const char *outcome);
/* Records an infection sign found on this service. */
void sv_sess_infected(struct sv_sess *s, const char *sign);

/* Copies src into dst (capacity cap), truncating; dst is always NUL-terminated. */
static inline void sv_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#endif
