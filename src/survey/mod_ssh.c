/* mod_ssh.c - SSH: the identification string and the authentication banner, and the password
 * check through libssh. libssh runs non-blocking on a duplicate of the engine's socket (it
 * closes its own copy), driven by readiness events and a short timer. Success is the server's
 * SSH_MSG_USERAUTH_SUCCESS; no channel is ever opened, so no command can run. A new
 * connection is made when the next pair has another user name (servers refuse a change of
 * user within one connection). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "survey/module.h"

#define POLL_MS 20

enum ssh_phase { SP_CONNECT = 0, SP_NONE_AUTH, SP_PAUSE, SP_AUTH };

struct ssh_state {
    ssh_session ss;
    enum ssh_phase phase;
    uint32_t attempt;
    const struct sv_cred *cur;
    char conn_user[SV_CRED_FIELD]; /* the user name this connection started with */
};

static void drop_session(struct ssh_state *st)
{
    if (st->ss) {
        ssh_disconnect(st->ss);
        ssh_free(st->ss);
        st->ss = NULL;
    }
}

static enum sv_act step(struct sv_sess *s);

static enum sv_act ssh_start(struct sv_sess *s)
{
    struct ssh_state *st = sv_sess_state(s);
    drop_session(st);
    st->ss = ssh_new();
    int fd = dup(sv_sess_fd(s));
    if (!st->ss || fd < 0) {
        if (fd >= 0)
            close(fd);
        return SV_ACT_DONE;
    }
    char host[IPADDR_STRLEN];
    ipaddr_format(sv_sess_addr(s), host, sizeof host);
    int no = 0;
    long timeout = (long)sv_sess_policy(s)->io_timeout_ms / 1000 + 1;
    ssh_options_set(st->ss, SSH_OPTIONS_FD, &fd);
    ssh_options_set(st->ss, SSH_OPTIONS_HOST, host);
    ssh_options_set(st->ss, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(st->ss, SSH_OPTIONS_TIMEOUT, &timeout);
    const struct sv_cred *c = sv_sess_cred(s, st->attempt);
    snprintf(st->conn_user, sizeof st->conn_user, "%s", c ? c->user : "root");
    ssh_options_set(st->ss, SSH_OPTIONS_USER, st->conn_user);
    ssh_set_blocking(st->ss, 0);
    st->phase = SP_CONNECT;
    return step(s);
}

static enum sv_act attempt_next(struct sv_sess *s, struct ssh_state *st)
{
    st->cur = sv_sess_cred(s, st->attempt);
    if (!st->cur)
        return SV_ACT_DONE;
    if (strcmp(st->cur->user, st->conn_user))
        return SV_ACT_RECONNECT;
    uint64_t wait = sv_sess_attempt_wait(s);
    st->phase = wait ? SP_PAUSE : SP_AUTH;
    sv_sess_wake(s, wait ? wait : 1);
    return SV_ACT_WAIT;
}

static enum sv_act step(struct sv_sess *s)
{
    struct ssh_state *st = sv_sess_state(s);
    struct sv_obs *o = sv_sess_obs(s);
    int rc;
    switch (st->phase) {
    case SP_CONNECT:
        rc = ssh_connect(st->ss);
        if (rc == SSH_AGAIN) {
            sv_sess_wake(s, POLL_MS);
            return SV_ACT_WAIT;
        }
        if (rc != SSH_OK) {
            sv_sess_evidence(s, "ssh handshake", "failed");
            return SV_ACT_DONE;
        }
        if (!o->banner[0]) {
            const char *id = ssh_get_serverbanner(st->ss);
            snprintf(o->banner, sizeof o->banner, "%s", id ? id : "");
            sv_sess_evidence(s, "ssh handshake", o->banner);
        }
        st->phase = SP_NONE_AUTH;
        __attribute__((fallthrough));
    case SP_NONE_AUTH:
        /* The "none" method asks for nothing and brings the server's pre-login banner. */
        rc = ssh_userauth_none(st->ss, NULL);
        if (rc == SSH_AUTH_AGAIN) {
            sv_sess_wake(s, POLL_MS);
            return SV_ACT_WAIT;
        }
        if (rc == SSH_AUTH_ERROR)
            return SV_ACT_DONE;
        if (!o->ssh_banner[0]) {
            char *b = ssh_get_issue_banner(st->ss);
            if (b) {
                snprintf(o->ssh_banner, sizeof o->ssh_banner, "%s", b);
                ssh_string_free_char(b);
            }
        }
        sv_sess_identify(s);
        if (rc == SSH_AUTH_SUCCESS) {
            static const struct sv_cred none = {.user = "", .pass = "", .index = 0};
            sv_sess_attempt(s, &none, true, "success: no authentication required");
            return SV_ACT_DONE;
        }
        return attempt_next(s, st);
    case SP_PAUSE:
        return SV_ACT_WAIT;
    case SP_AUTH:
        rc = ssh_userauth_password(st->ss, st->cur->user, st->cur->pass);
        if (rc == SSH_AUTH_AGAIN) {
            sv_sess_wake(s, POLL_MS);
            return SV_ACT_WAIT;
        }
        if (rc == SSH_AUTH_SUCCESS) {
            sv_sess_attempt(s, st->cur, true, "success: password accepted");
            return SV_ACT_DONE;
        }
        sv_sess_attempt(s, st->cur, false,
                        rc == SSH_AUTH_ERROR ? "failed: connection error" : "failed: denied");
        st->attempt++;
        if (rc == SSH_AUTH_ERROR)
            return sv_sess_cred(s, st->attempt) ? SV_ACT_RECONNECT : SV_ACT_DONE;
        return attempt_next(s, st);
    }
    return SV_ACT_DONE;
}

static enum sv_act ssh_input(struct sv_sess *s, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    struct ssh_state *st = sv_sess_state(s);
    if (st->phase == SP_PAUSE)
        return SV_ACT_WAIT;
    return step(s);
}

static enum sv_act ssh_tick(struct sv_sess *s)
{
    struct ssh_state *st = sv_sess_state(s);
    if (sv_sess_timed_out(s)) {
        if (st->phase == SP_AUTH && st->cur)
            sv_sess_attempt(s, st->cur, false, "failed: no answer");
        return SV_ACT_DONE;
    }
    if (st->phase == SP_PAUSE)
        st->phase = SP_AUTH;
    return step(s);
}

static enum sv_act ssh_closed(struct sv_sess *s)
{
    return ssh_input(s, NULL, 0);
}

static void ssh_finish(struct sv_sess *s)
{
    drop_session(sv_sess_state(s));
}

const struct sv_module sv_mod_ssh = {
    .name = "ssh",
    .raw = true,
    .state_size = sizeof(struct ssh_state),
    .start = ssh_start,
    .input = ssh_input,
    .tick = ssh_tick,
    .closed = ssh_closed,
    .finish = ssh_finish,
};
