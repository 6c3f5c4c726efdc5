/* engine.c - the survey's event loop (survey.h): devices in permutation order, one session
 * per device, connections over epoll, rates and the scope gate before every connect(). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "survey/module.h"
#include "survey/signs.h"
#include "survey/survey.h"
#include "survey/targets.h"
#include "survey/engine_int.h"

/* ---- connections ---- */

static void set_interest(struct sv_sess *s, uint32_t ev)
{
    if (s->fd < 0 || ev == s->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = s->host};
    epoll_ctl(s->eng->ep, s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &e);
    s->events = ev;
}

static void conn_close(struct sv_sess *s)
{
    if (s->ssl) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        /* close() drops the registration with the last reference to the socket; only a raw
         * module (libssh holds a duplicate) needs it removed first. */
        if (s->events && s->mod && s->mod->raw)
            epoll_ctl(s->eng->ep, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
    }
    s->fd = -1;
    s->events = 0;
    s->cs = C_NONE;
    s->out_len = 0;
    s->deadline_ms = s->wake_ms = 0;
    s->timed_out = false;
}

/* Writes what is queued; returns 0, or -errno when the connection failed. */
static int flush_out(struct sv_sess *s)
{
    while (s->out_len) {
        ssize_t n;
        if (s->ssl) {
            int k = SSL_write(s->ssl, s->out, (int)s->out_len);
            if (k <= 0) {
                int se = SSL_get_error(s->ssl, k);
                if (se == SSL_ERROR_WANT_WRITE || se == SSL_ERROR_WANT_READ)
                    return 0;
                return -EIO;
            }
            n = k;
        } else {
            n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL);
            if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        }
        memmove(s->out, s->out + n, s->out_len - (size_t)n);
        s->out_len -= (size_t)n;
    }
    return 0;
}

static void service_end(struct sv_sess *s)
{
    struct sv_engine *e = s->eng;
    conn_close(s);
    if (s->mod && s->st) {
        /* Identification of what the service showed, and a finding when its firmware is
         * known to be vulnerable. */
        sv_sess_identify(s);
        if (s->have_id && s->id.vulnerable) {
            /* What the device showed is its own text: keys (17 bytes) and rooms add up
             * to 747, under SV_EVIDENCE_LEN - 1. */
            const struct sv_obs *ob = &s->obs;
            struct buf b = BUF_INIT(SV_EVIDENCE_LEN - 1);
            struct jw w;
            sv_ev__open(&w, &b);
            sv_ev__str(&w, "cpe", s->id.cpe, 250);
            sv_ev__str(&w, "seen",
                       ob->banner[0]        ? ob->banner
                       : ob->http_server[0] ? ob->http_server
                       : ob->http_title[0]  ? ob->http_title
                                            : ob->tls_subject,
                       480);
            sv_sess__finding(s, SV_VULNERABLE_FIRMWARE, &w);
            buf_release(&b);
        }
        /* What the service showed (or did not show) may be a known bot's mark. */
        const struct sv_sign *g = sv_sign_match(&s->obs, s->silent);
        if (g)
            sv_sess__sign(s, g);
        if (s->mod->finish)
            s->mod->finish(s);
    }
    free(s->st);
    s->st = NULL;
    s->mod = NULL;
    (void)e;
}

static void host_next_port(struct sv_host *h)
{
    service_end(&h->s);
    h->port_idx++;
    h->reconnect = false;
}

static void apply(struct sv_sess *s, enum sv_act act)
{
    struct sv_host *h = s->host;
    struct sv_engine *e = s->eng;
    if (act == SV_ACT_WAIT) {
        if (s->cs == C_OPEN && flush_out(s) < 0)
            act = s->mod->closed ? s->mod->closed(s) : SV_ACT_DONE;
        if (act == SV_ACT_WAIT) {
            uint32_t ev = EPOLLIN | EPOLLRDHUP;
            if (s->out_len)
                ev |= EPOLLOUT;
            set_interest(s, ev);
            return;
        }
    }
    e->st->sessions++;
    sv_health_note(&e->health, SV_OUT_SESSION);
    if (act == SV_ACT_RECONNECT && s->conn_no < 64) {
        conn_close(s);
        h->reconnect = true;
        uint64_t w = sv_sess_attempt_wait(s);
        h->not_before_ms = e->now + (w ? w : e->r->policy.cred_pause_ms);
        return;
    }
    host_next_port(h);
}

static void tls_step(struct sv_sess *s)
{
    int rc = SSL_connect(s->ssl);
    if (rc == 1) {
        s->cs = C_OPEN;
        X509 *cert = SSL_get1_peer_certificate(s->ssl);
        if (cert) {
            /* RFC 2253 form (CN first, "\," escapes), as Recog's x509.subject expects. */
            BIO *b = BIO_new(BIO_s_mem());
            if (b && X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
                int n = BIO_read(b, s->obs.tls_subject, sizeof s->obs.tls_subject - 1);
                s->obs.tls_subject[n > 0 ? n : 0] = '\0';
            }
            BIO_free(b);
            X509_free(cert);
        }
        s->deadline_ms = s->eng->now + s->eng->r->policy.io_timeout_ms;
        apply(s, s->mod->start(s));
        return;
    }
    int se = SSL_get_error(s->ssl, rc);
    if (se == SSL_ERROR_WANT_READ) {
        set_interest(s, EPOLLIN);
    } else if (se == SSL_ERROR_WANT_WRITE) {
        set_interest(s, EPOLLOUT);
    } else {
        ERR_clear_error();
        sv_sess__evidence(s, "tls handshake", "failed");
        host_next_port(s->host);
    }
}

static void connected(struct sv_sess *s)
{
    struct sv_engine *e = s->eng;
    if (s->conn_no == 1) {
        e->st->open_ports++;
        if (s->host->n_open < SV_MAX_PORTS)
            s->host->open_ports[s->host->n_open++] = s->port;
        s->st = calloc(1, s->mod->state_size ? s->mod->state_size : 1);
        if (!s->st) {
            sv_engine__sink_err(e, BS_ENOMEM);
            host_next_port(s->host);
            return;
        }
        s->obs.addr = s->host->addr;
        s->obs.port = s->port;
        s->obs.service = s->mod->name;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (!getsockname(s->fd, (struct sockaddr *)&ss, &sl)) {
        if (ss.ss_family == AF_INET)
            ipaddr_from_v4(&s->host->local, ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr));
        else if (ss.ss_family == AF_INET6)
            ipaddr_from_v6(&s->host->local, ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr);
    }
    sv_sess__evidence(s, "connect", "open");
    s->deadline_ms = e->now + e->r->policy.io_timeout_ms;
    if (s->mod->tls) {
        s->ssl = e->ssl_ctx ? SSL_new(e->ssl_ctx) : NULL;
        if (!s->ssl || !SSL_set_fd(s->ssl, s->fd)) {
            host_next_port(s->host);
            return;
        }
        s->cs = C_TLS;
        tls_step(s);
        return;
    }
    s->cs = C_OPEN;
    apply(s, s->mod->start(s));
}

/* The connection attempt failed with err (errno): refused, unreachable or timed out. */
static void connect_failed(struct sv_sess *s, int err)
{
    struct sv_engine *e = s->eng;
    if (err == ECONNREFUSED) {
        e->st->refused++;
        sv_health_note(&e->health, SV_OUT_OK);
    } else if (err == ETIMEDOUT) {
        e->st->timeouts++;
        sv_health_note(&e->health, SV_OUT_OK);
    } else {
        e->st->local_errors++;
        s->host->local_fail = true;
        sv_health_note(&e->health, SV_OUT_LOCAL_ERR);
    }
    if (s->conn_no > 1)
        sv_sess__evidence(s, "connect", err == ECONNREFUSED ? "refused" : strerror(err));
    host_next_port(s->host);
}

static socklen_t to_sockaddr(const struct ipaddr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ipaddr_is_v4(a)) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, a->b + 12, 4);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    memcpy(&in6->sin6_addr, a->b, 16);
    return sizeof *in6;
}

/* Starts the host's next connection. The scope gate is asked here, before every socket. */
static void conn_open(struct sv_host *h)
{
    struct sv_engine *e = h->s.eng;
    struct sv_sess *s = &h->s;
    if (sv_scope_check(e->r->scope, &h->addr) != SV_ALLOW) {
        h->port_idx = e->r->n_ports; /* never reached: targets are checked when drawn */
        return;
    }
    if (!h->reconnect) {
        s->port = e->r->ports[h->port_idx];
        const char *name = e->r->port_module[h->port_idx];
        s->mod = name ? sv_module_by_name(name) : NULL;
        if (!s->mod)
            s->mod = sv_module_for_port(s->port);
        s->conn_no = 0;
        s->succeeded = s->identified = s->have_id = s->silent = false;
        s->rx = 0;
        s->n_defaults = 0;
        s->last_attempt_ms = 0;
        memset(&s->obs, 0, sizeof s->obs);
    }
    h->reconnect = false;
    s->conn_no++;
    e->st->connects++;
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(&h->addr, s->port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        s->fd = -1;
        connect_failed(s, errno);
        return;
    }
    s->fd = fd;
    if (e->r->n_sources) {
        struct sockaddr_storage src;
        socklen_t srl = to_sockaddr(&e->r->sources[h->src_idx], 0, &src);
        if (src.ss_family != ss.ss_family || bind(fd, (struct sockaddr *)&src, srl) < 0) {
            int err = src.ss_family != ss.ss_family ? EAFNOSUPPORT : errno;
            conn_close(s);
            connect_failed(s, err);
            return;
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
        connected(s);
        return;
    }
    if (errno != EINPROGRESS) {
        int err = errno;
        conn_close(s);
        connect_failed(s, err);
        return;
    }
    s->cs = C_CONNECTING;
    s->deadline_ms = e->now + e->r->policy.connect_timeout_ms;
    set_interest(s, EPOLLOUT);
}

static void on_event(struct sv_host *h, uint32_t ev)
{
    struct sv_sess *s = &h->s;
    struct sv_engine *e = s->eng;
    if (s->cs == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (!err && (ev & (EPOLLERR | EPOLLHUP)))
            err = ECONNREFUSED;
        if (err) {
            conn_close(s);
            connect_failed(s, err);
        } else {
            connected(s);
        }
        return;
    }
    if (s->cs == C_TLS) {
        tls_step(s);
        return;
    }
    if (s->cs != C_OPEN)
        return;
    if (ev & EPOLLOUT) {
        if (flush_out(s) < 0) {
            apply(s, SV_ACT_DONE);
            return;
        }
        if (!s->out_len)
            set_interest(s, EPOLLIN | EPOLLRDHUP);
    }
    if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    s->deadline_ms = e->now + e->r->policy.io_timeout_ms;
    if (s->mod->raw) {
        apply(s, s->mod->input(s, NULL, 0));
        return;
    }
    uint8_t buf[16384];
    for (int rounds = 0; rounds < 8 && s->cs == C_OPEN; rounds++) {
        ssize_t n;
        int err = 0;
        if (s->ssl) {
            int k = SSL_read(s->ssl, buf, sizeof buf);
            n = k;
            if (k <= 0) {
                int se = SSL_get_error(s->ssl, k);
                if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
                    return;
                ERR_clear_error();
                n = 0;
            }
        } else {
            n = recv(s->fd, buf, sizeof buf, 0);
            err = errno;
        }
        if (n < 0 && (err == EAGAIN || err == EINTR))
            return;
        if (n <= 0) {
            if (n < 0 && err == ECONNRESET) {
                e->st->resets++;
                sv_health_note(&e->health, SV_OUT_RESET);
            }
            apply(s, s->mod->closed ? s->mod->closed(s) : SV_ACT_DONE);
            return;
        }
        s->rx += (uint64_t)n;
        enum sv_act act = s->mod->input(s, buf, (size_t)n);
        if (act != SV_ACT_WAIT || s->cs != C_OPEN) {
            apply(s, act);
            return;
        }
        apply(s, act); /* flush what the module queued */
        if ((size_t)n < sizeof buf)
            return;
    }
}

/* ---- hosts ---- */

void sv_engine__device_done(struct sv_engine *e, uint64_t pos, const struct ipaddr *a,
                            const uint16_t *open, size_t n_open, bool local_fail)
{
    if (local_fail) {
        /* Something on this side failed: the device was not really surveyed. */
        e->st->hosts_unfinished++;
        return;
    }
    if (log_get_level() >= LOG_INFO) {
        char t[IPADDR_STRLEN];
        log_info("survey", "device %s done (%zu open ports)", ipaddr_format(a, t, sizeof t),
                 n_open);
    }
    if (e->r->sink.host_done)
        sv_engine__sink_err(e, e->r->sink.host_done(e->r->sink.ctx, pos, a, open, n_open));
    e->st->hosts_done++;
}

static void host_finish(struct sv_host *h)
{
    struct sv_engine *e = h->s.eng;
    sv_engine__device_done(e, h->pos, &h->addr, h->open_ports, h->n_open, h->local_fail);
    h->used = false;
    e->active--;
    e->free_slots[e->n_free++] = (uint32_t)(h - e->hosts);
}

bool sv_engine__take_tokens(struct sv_engine *e, struct sv_bucket *hb, const struct ipaddr *a,
                            uint64_t *not_before, uint8_t *tok)
{
    /* The run's bucket first: when it is empty no device may start a connection, and the
     * per-network table is not consulted for each of thousands of waiting devices. */
    uint64_t wt = sv_bucket_wait(&e->total, e->now);
    if (wt) {
        *not_before = e->now + wt;
        *tok = 1;
        return false;
    }
    uint64_t w = sv_bucket_wait(hb, e->now);
    if (!w)
        w = sv_netrate_wait(&e->net, a, e->now);
    if (w) {
        *not_before = e->now + w;
        return false;
    }
    sv_bucket_take(hb);
    sv_netrate_take(&e->net, a, e->now);
    sv_bucket_take(&e->total);
    return true;
}

/* An idle host whose pause is over: probe it (SYN sweep), finish it, or start its next
 * connection when every rate allows one now. */
static void host_step(struct sv_host *h)
{
    struct sv_engine *e = h->s.eng;
    if (h->s.cs != C_NONE || e->now < h->not_before_ms)
        return;
    if (h->swept) /* only the ports that answered SYN-ACK */
        while (h->port_idx < e->r->n_ports && !(h->syn_open >> h->port_idx & 1))
            h->port_idx++;
    if (h->port_idx >= e->r->n_ports) {
        host_finish(h);
        return;
    }
    if (sv_engine__take_tokens(e, &h->bucket, &h->addr, &h->not_before_ms, &e->tok[h - e->hosts]))
        conn_open(h);
}

static void timers(struct sv_host *h)
{
    struct sv_sess *s = &h->s;
    struct sv_engine *e = s->eng;
    if (s->cs == C_NONE)
        return;
    if (s->deadline_ms && e->now >= s->deadline_ms) {
        if (s->cs == C_CONNECTING) {
            conn_close(s);
            connect_failed(s, ETIMEDOUT);
            return;
        }
        if (s->cs == C_TLS) {
            sv_sess__evidence(s, "tls handshake", "timed out");
            host_next_port(h);
            return;
        }
        s->timed_out = true;
        s->deadline_ms = 0;
        /* Nothing at all from the device on its first connection (for a raw module: no
         * identification either). */
        if (s->conn_no == 1 && !s->rx && !(s->mod->raw && s->obs.banner[0]))
            s->silent = true;
        apply(s, s->mod->tick ? s->mod->tick(s) : SV_ACT_DONE);
        return;
    }
    if (s->cs == C_OPEN && s->wake_ms && e->now >= s->wake_ms) {
        s->wake_ms = 0;
        apply(s, s->mod->tick ? s->mod->tick(s) : SV_ACT_DONE);
    }
}

/* When the device in h's slot next needs the loop, judged from its timers: a connection's
 * deadline and module timer, an idle device's pause, a probe's wait for answers. */
static uint64_t host_due(const struct sv_engine *e, const struct sv_host *h)
{
    if (!h->used)
        return UINT64_MAX;
    const struct sv_sess *s = &h->s;
    if (s->cs == C_NONE)
        return h->not_before_ms;
    uint64_t t = s->deadline_ms ? s->deadline_ms : UINT64_MAX;
    if (s->cs == C_OPEN && s->wake_ms && s->wake_ms < t)
        t = s->wake_ms;
    return t;
}

bool sv_engine__draw(struct sv_engine *e, unsigned *budget, uint64_t *pos, struct ipaddr *a)
{
    while (!e->stopping && e->next_pos < e->tg.total && *budget) {
        uint64_t p = e->next_pos++;
        (*budget)--;
        if (e->r->done && e->r->done(e->r->done_ctx, p)) {
            e->st->hosts_skipped_done++;
            continue;
        }
        sv_targets_at(&e->tg, p, a);
        enum sv_verdict v = sv_scope_check(e->r->scope, a);
        if (v != SV_ALLOW) {
            if (v == SV_BLOCKED)
                e->st->hosts_blocked++;
            else
                e->st->hosts_special++;
            if (e->r->sink.host_done)
                sv_engine__sink_err(e, e->r->sink.host_done(e->r->sink.ctx, p, NULL, NULL, 0));
            continue;
        }
        *pos = p;
        return true;
    }
    return false;
}

/* Fills free session slots: from the permutation, or with the SYN sweep from the devices
 * whose probes found open ports. */
static void fill(struct sv_engine *e)
{
    unsigned budget = 4096;
    while (!e->stopping && e->active < e->cap) {
        uint32_t slot = e->free_slots[e->n_free - 1];
        struct sv_host *h = &e->hosts[slot];
        memset(h, 0, offsetof(struct sv_host, s));
        if (e->sw) {
            if (!sv_sweep_next(e, h))
                return;
        } else {
            if (!sv_engine__draw(e, &budget, &h->pos, &h->addr))
                return;
            h->src_idx = e->r->n_sources ? e->src_rr++ % e->r->n_sources : 0;
            sv_bucket_init(&h->bucket, e->r->policy.rate_host, 1, e->now);
        }
        e->n_free--;
        e->due[slot] = 0;
        e->tok[slot] = 0;
        h->used = true;
        memset(&h->s, 0, offsetof(struct sv_sess, out));
        h->s.eng = e;
        h->s.host = h;
        h->s.fd = -1;
        e->active++;
    }
}

static SSL_CTX *make_ssl_ctx(void)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (!c)
        return NULL;
    /* Devices run old TLS stacks: accept what they offer. Nothing is verified; the
     * certificate is an observation, not a trust decision. */
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
    SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
    return c;
}

int sv_run(const struct sv_run *r, struct sv_stats *st)
{
    memset(st, 0, sizeof *st);
    struct sv_engine e = {.r = r, .st = st, .ep = -1};
    int rc = sv_targets_init(&e.tg, &r->scope->allow, r->key);
    if (rc)
        return rc;
    rc = BS_ENOMEM;
    e.cap = r->policy.max_sessions;
    e.hosts = calloc(e.cap, sizeof *e.hosts);
    e.due = malloc(e.cap * sizeof *e.due);
    e.tok = calloc(e.cap, 1);
    e.free_slots = malloc(e.cap * sizeof *e.free_slots);
    if (!e.hosts || !e.due || !e.tok || !e.free_slots)
        goto out_hosts;
    for (size_t i = 0; i < e.cap; i++) {
        e.due[i] = UINT64_MAX;
        e.free_slots[i] = (uint32_t)(e.cap - 1 - i); /* slot 0 first */
    }
    e.n_free = e.cap;
    e.now = e.start = clock_mono_ms();
    if (sv_netrate_init(&e.net, r->policy.rate_net, 1, r->key))
        goto out_hosts;
    uint32_t burst = r->policy.rate_total / 10 ? r->policy.rate_total / 10 : 1;
    sv_bucket_init(&e.total, r->policy.rate_total, burst, e.now);
    sv_health_init(&e.health, &r->policy);
    e.ssl_ctx = make_ssl_ctx();
    e.ep = epoll_create1(EPOLL_CLOEXEC);
    if (e.ep < 0) {
        rc = -errno;
        goto out_ssl;
    }
    rc = sv_sweep_init(&e);
    if (rc)
        goto out_ep;
    struct epoll_event evs[SV_EPOLL_BATCH];
    uint64_t last_walk = UINT64_MAX;
    for (;;) {
        e.now = clock_mono_ms();
        if (!e.stopping) {
            if (r->stop && *r->stop) {
                st->interrupted = e.stopping = true;
            } else if (e.now - e.start >= r->policy.max_run_ms) {
                st->timed_out = e.stopping = true;
            } else if (sv_health_bad(&e.health)) {
                st->aborted = e.stopping = true;
                snprintf(st->abort_why, sizeof st->abort_why, "%s", e.health.why);
            } else if (e.err) {
                e.stopping = true;
            }
        }
        if (e.stopping) {
            /* Devices in flight are left unfinished (not "done"), so a resumed run
             * handles them again from their first port. */
            for (size_t i = 0; i < e.cap; i++)
                if (e.hosts[i].used) {
                    service_end(&e.hosts[i].s);
                    e.hosts[i].used = false;
                }
            e.active = 0;
            break;
        }
        if (e.sw)
            sv_sweep_turn(&e);
        fill(&e);
        if (!e.active && e.next_pos >= e.tg.total && (!e.sw || sv_sweep_idle(&e)))
            break;
        /* Timers and buckets count whole milliseconds: one walk over the devices per
         * millisecond is enough, however many events arrive in it (tens of thousands of
         * slots walked on every one of a sweep's answers cost more than the answers). */
        if (e.now != last_walk) {
            last_walk = e.now;
            for (size_t i = 0; i < e.cap; i++) {
                if (e.due[i] > e.now || (e.tok[i] && sv_bucket_wait(&e.total, e.now)))
                    continue;
                struct sv_host *h = &e.hosts[i];
                e.tok[i] = 0;
                timers(h);
                if (h->used)
                    host_step(h);
                e.due[i] = host_due(&e, h);
            }
        }
        bool busy = e.active || (e.sw && !sv_sweep_idle(&e));
        int n = epoll_wait(e.ep, evs, SV_EPOLL_BATCH, busy ? 1 : 0);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            goto out_ep;
        }
        e.now = clock_mono_ms();
        for (int i = 0; i < n; i++) {
            struct sv_host *h = evs[i].data.ptr;
            if (!h) {
                sv_sweep_recv(&e);
                continue;
            }
            if (h->used && h->s.fd >= 0) {
                on_event(h, evs[i].events);
                sv_engine__touch(&e, h);
            }
        }
    }
    rc = e.err;
out_ep:
    for (size_t i = 0; i < e.cap; i++)
        if (e.hosts[i].used)
            service_end(&e.hosts[i].s);
    sv_sweep_release(&e);
    close(e.ep);
out_ssl:
    if (e.ssl_ctx)
        SSL_CTX_free(e.ssl_ctx);
    sv_netrate_release(&e.net);
out_hosts:
    free(e.free_slots);
    free(e.tok);
    free(e.due);
    free(e.hosts);
    sv_targets_release(&e.tg);
    return rc;
}
