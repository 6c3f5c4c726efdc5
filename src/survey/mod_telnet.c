/* mod_telnet.c - the Telnet module: banner, option negotiation, and the login check as
 * NOTICE does it. Only the user name and the password are ever sent; success is judged from
 * the device's answer (a shell prompt that stays put for SETTLE_MS); after a success the
 * connection is closed at once without sending anything else. */
#include <stdio.h>
#include <string.h>

#include "survey/module.h"
#include "survey/telnet.h"

/* A shell prompt must stand still this long before it counts (a slow MOTD can end a chunk in
 * '>' or '#'). */
#define SETTLE_MS 300

enum tn_phase { TP_PROMPT = 0, TP_PAUSE, TP_SENT_USER, TP_SENT_PASS };

struct tn_state {
    struct sv_telnet t;
    enum tn_phase phase;
    uint32_t attempt;
    const struct sv_cred *cur;
    bool banner_kept, settling, pass_only;
};

static const struct sv_cred no_login = {.user = "", .pass = "", .index = 0};

static void keep_banner(struct sv_sess *s, struct tn_state *st)
{
    if (st->banner_kept)
        return;
    st->banner_kept = true;
    struct sv_obs *o = sv_sess_obs(s);
    sv_copy(o->banner, sizeof o->banner, st->t.banner);
    sv_sess_identify(s);
}

static enum sv_act send_line(struct sv_sess *s, struct tn_state *st, const char *text,
                             enum tn_phase next)
{
    char line[SV_CRED_FIELD + 4];
    size_t n = strnlen(text, SV_CRED_FIELD - 1);
    memcpy(line, text, n);
    line[n++] = '\r';
    line[n++] = '\n';
    if (sv_sess_send(s, line, n))
        return SV_ACT_DONE;
    sv_telnet_clear_line(&st->t);
    st->phase = next;
    return SV_ACT_WAIT;
}

/* The attempt in progress failed: note it and go on with the next pair on this connection
 * (the device prompts again) or a new one. */
static void failed(struct sv_sess *s, struct tn_state *st, const char *why)
{
    if (st->cur)
        sv_sess_attempt(s, st->cur, false, why);
    st->cur = NULL;
    st->attempt++;
    st->phase = TP_PROMPT;
    st->t.failure_seen = false;
}

/* A login prompt is showing: send the next user name, after the credential pause. */
static enum sv_act next_pair(struct sv_sess *s, struct tn_state *st, bool password_prompt)
{
    const struct sv_cred *c = sv_sess_cred(s, st->attempt);
    if (!c)
        return SV_ACT_DONE;
    uint64_t wait = sv_sess_attempt_wait(s);
    st->cur = c;
    st->pass_only = password_prompt;
    if (wait) {
        st->phase = TP_PAUSE;
        sv_sess_wake(s, wait);
        return SV_ACT_WAIT;
    }
    if (password_prompt)
        return send_line(s, st, c->pass, TP_SENT_PASS);
    return send_line(s, st, c->user, TP_SENT_USER);
}

static enum sv_act decide(struct sv_sess *s, struct tn_state *st)
{
    enum sv_prompt p = sv_telnet_prompt(&st->t);
    if (p != SV_PROMPT_NONE && p != SV_PROMPT_FAILED)
        keep_banner(s, st);
    if (p != SV_PROMPT_SHELL)
        st->settling = false;
    switch (st->phase) {
    case TP_PAUSE:
        return SV_ACT_WAIT;
    case TP_PROMPT:
        if (p == SV_PROMPT_LOGIN || p == SV_PROMPT_PASSWORD)
            return next_pair(s, st, p == SV_PROMPT_PASSWORD);
        if (p == SV_PROMPT_SHELL && sv_sess_conn_no(s) == 1 && st->attempt == 0 && !st->settling) {
            /* A shell before any login: no credential at all protects this device. */
            st->settling = true;
            st->cur = &no_login;
            sv_sess_wake(s, SETTLE_MS);
        }
        return SV_ACT_WAIT;
    case TP_SENT_USER:
        if (p == SV_PROMPT_PASSWORD)
            return send_line(s, st, st->cur->pass, TP_SENT_PASS);
        /* A shell without a password, or a rejected user name: as after a password. */
        __attribute__((fallthrough));
    case TP_SENT_PASS:
        if (p == SV_PROMPT_SHELL) {
            if (!st->settling) {
                st->settling = true;
                sv_sess_wake(s, SETTLE_MS);
            }
            return SV_ACT_WAIT;
        }
        if (p == SV_PROMPT_FAILED || p == SV_PROMPT_LOGIN ||
            (p == SV_PROMPT_PASSWORD && st->phase == TP_SENT_PASS)) {
            failed(s, st, "failed: login refused");
            return decide(s, st);
        }
        return SV_ACT_WAIT;
    }
    return SV_ACT_WAIT;
}

static enum sv_act tn_start(struct sv_sess *s)
{
    struct tn_state *st = sv_sess_state(s);
    sv_telnet_init(&st->t);
    st->phase = TP_PROMPT;
    st->settling = false;
    return SV_ACT_WAIT;
}

static enum sv_act tn_input(struct sv_sess *s, const uint8_t *p, size_t n)
{
    struct tn_state *st = sv_sess_state(s);
    sv_telnet_feed(&st->t, p, n);
    if (st->t.reply_len) {
        sv_sess_send(s, st->t.reply, st->t.reply_len);
        st->t.reply_len = 0;
    }
    return decide(s, st);
}

static enum sv_act tn_tick(struct sv_sess *s)
{
    struct tn_state *st = sv_sess_state(s);
    if (sv_sess_timed_out(s)) {
        keep_banner(s, st);
        if (st->phase == TP_SENT_PASS || st->phase == TP_SENT_USER)
            failed(s, st, "failed: no answer");
        return SV_ACT_DONE;
    }
    if (st->phase == TP_PAUSE) {
        if (st->pass_only)
            return send_line(s, st, st->cur->pass, TP_SENT_PASS);
        return send_line(s, st, st->cur->user, TP_SENT_USER);
    }
    if (st->settling && sv_telnet_prompt(&st->t) == SV_PROMPT_SHELL) {
        char proof[128], prompt[64];
        sv_copy(prompt, sizeof prompt, st->t.line);
        snprintf(proof, sizeof proof, "success: shell prompt '%s'", prompt);
        sv_sess_attempt(s, st->cur, true, proof);
        return SV_ACT_DONE; /* close at once: nothing more is sent */
    }
    st->settling = false;
    return SV_ACT_WAIT;
}

static enum sv_act tn_closed(struct sv_sess *s)
{
    struct tn_state *st = sv_sess_state(s);
    keep_banner(s, st);
    if (st->phase == TP_SENT_PASS || st->phase == TP_SENT_USER) {
        failed(s, st, "failed: closed by the device");
        if (sv_sess_cred(s, st->attempt))
            return SV_ACT_RECONNECT;
    }
    return SV_ACT_DONE;
}

const struct sv_module sv_mod_telnet = {
    .name = "telnet",
    .state_size = sizeof(struct tn_state),
    .start = tn_start,
    .input = tn_input,
    .tick = tn_tick,
    .closed = tn_closed,
};
