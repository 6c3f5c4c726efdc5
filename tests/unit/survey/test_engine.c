/* Unit tests for the survey engine (engine.c) against real sockets on 127.0.0.0/8 (with the
 * lab flag): the per-host rate, the blocklist at the engine, the run-time limit, and the
 * Telnet login rule against a device that logs in like Dahua/ZTE firmware does (stop at the
 * first success, nothing sent after it, nothing but the user name and password ever). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "survey/survey.h"

/* A listener on addr:port (port 0: any); returns the fd and the port. */
static int listen_on(const char *addr, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(*port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Accepts connections until stop, recording their times. */
struct acceptor {
    int fd;
    volatile bool stop;
    unsigned n;
    uint64_t t[64];
};

static void *accept_loop(void *arg)
{
    struct acceptor *a = arg;
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!a->stop) {
        int c = accept(a->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (a->n < 64)
            a->t[a->n] = clock_mono_ms();
        a->n++;
        close(c);
    }
    return NULL;
}

struct sink_log {
    unsigned findings, evidence, done, passed_over;
    struct sv_finding last;
    char evidence_tried[16][160];
};

static int log_evidence(void *ctx, const struct sv_evidence *e)
{
    struct sink_log *l = ctx;
    if (l->evidence < 16)
        snprintf(l->evidence_tried[l->evidence], 160, "%s", e->tried);
    l->evidence++;
    return 0;
}

static int log_finding(void *ctx, const struct sv_finding *f)
{
    struct sink_log *l = ctx;
    l->findings++;
    l->last = *f;
    return 0;
}

static int log_done(void *ctx, uint64_t pos, const struct ipaddr *a, const uint16_t *open, size_t n)
{
    (void)pos;
    (void)open;
    (void)n;
    struct sink_log *l = ctx;
    if (a)
        l->done++;
    else
        l->passed_over++;
    return 0;
}

static void lab_run(struct sv_run *r, struct sv_scope *sc, struct sink_log *log, const char *scope,
                    const char *block)
{
    assert_int_equal(sv_scope_init(sc, true), 0);
    assert_int_equal(sv_scope_add(sc, false, scope), 0);
    if (block)
        assert_int_equal(sv_scope_add(sc, true, block), 0);
    assert_int_equal(sv_scope_finish(sc), 0);
    memset(r, 0, sizeof *r);
    r->policy = (struct sv_policy)SV_RATE_DEFAULTS;
    r->scope = sc;
    r->operator_name = "unit";
    r->key = 5;
    r->sink = (struct sv_sink){log_evidence, log_finding, log_done, log};
}

static void test_engine_keeps_per_host_rate(void **st)
{
    (void)st;
    uint16_t port = 0;
    struct acceptor a = {.fd = listen_on("127.0.0.1", &port)};
    pthread_t th;
    pthread_create(&th, NULL, accept_loop, &a);
    struct sv_scope sc;
    struct sink_log log = {0};
    struct sv_run r;
    lab_run(&r, &sc, &log, "127.0.0.1", NULL);
    /* Six connections to one unknown port (the plain TCP module) at 5 per second. */
    for (int i = 0; i < 6; i++)
        r.ports[i] = port;
    r.n_ports = 6;
    r.policy.rate_host = 5;
    r.policy.rate_net = 5;
    struct sv_stats s;
    uint64_t t0 = clock_mono_ms();
    assert_int_equal(sv_run(&r, &s), 0);
    uint64_t took = clock_mono_ms() - t0;
    a.stop = true;
    pthread_join(th, NULL);
    close(a.fd);
    assert_int_equal(a.n, 6);
    assert_int_equal(s.open_ports, 6);
    assert_int_equal(log.done, 1);
    assert_true(took >= 950); /* 5 gaps of 200 ms */
    for (unsigned i = 1; i < 6; i++)
        assert_true(a.t[i] - a.t[i - 1] >= 150);
    sv_scope_release(&sc);
}

static void test_engine_never_connects_to_blocked(void **st)
{
    (void)st;
    uint16_t port = 0;
    struct acceptor ok = {.fd = listen_on("127.0.0.1", &port)};
    struct acceptor blocked = {.fd = listen_on("127.0.0.2", &port)};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, accept_loop, &ok);
    pthread_create(&t2, NULL, accept_loop, &blocked);
    struct sv_scope sc;
    struct sink_log log = {0};
    struct sv_run r;
    lab_run(&r, &sc, &log, "127.0.0.0/30", "127.0.0.2");
    r.ports[0] = port;
    r.n_ports = 1;
    r.policy.rate_total = r.policy.rate_net = r.policy.rate_host = 100;
    struct sv_stats s;
    assert_int_equal(sv_run(&r, &s), 0);
    ok.stop = blocked.stop = true;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    close(ok.fd);
    close(blocked.fd);
    assert_int_equal(ok.n, 1);
    assert_int_equal(blocked.n, 0);
    assert_int_equal(s.hosts_blocked, 1);
    assert_int_equal(log.passed_over, 1);
    assert_int_equal(log.done, 3); /* .0, .1 and .3 */
    sv_scope_release(&sc);
}

/* The raw SYN sweep on loopback (needs CAP_NET_RAW; skipped without): the same open port as
 * a connect() sweep, one probe per device and port, nothing to the blocked address, and the
 * open port handed to the connect() module exactly once. */
static void test_syn_sweep_finds_what_connect_finds(void **st)
{
    (void)st;
    uint16_t port = 0;
    struct acceptor ok = {.fd = listen_on("127.0.0.1", &port)};
    struct acceptor blocked = {.fd = listen_on("127.0.0.2", &port)};
    uint16_t closed = 0;
    int cfd = listen_on("127.0.0.1", &closed);
    close(cfd); /* a port just freed: refuses */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, accept_loop, &ok);
    pthread_create(&t2, NULL, accept_loop, &blocked);
    struct sv_stats s[2];
    for (int k = 0; k < 2; k++) {
        struct sv_scope sc;
        struct sink_log log = {0};
        struct sv_run r;
        lab_run(&r, &sc, &log, "127.0.0.0/30", "127.0.0.2");
        r.ports[0] = port;
        r.ports[1] = closed;
        r.n_ports = 2;
        r.policy.rate_total = r.policy.rate_net = r.policy.rate_host = 100;
        r.policy.connect_timeout_ms = 500;
        r.sweep = k ? SV_SWEEP_SYN : SV_SWEEP_CONNECT;
        int rc = sv_run(&r, &s[k]);
        sv_scope_release(&sc);
        if (k && (rc == -EPERM || rc == -EACCES)) {
            ok.stop = blocked.stop = true;
            pthread_join(t1, NULL);
            pthread_join(t2, NULL);
            close(ok.fd);
            close(blocked.fd);
            skip();
        }
        assert_int_equal(rc, 0);
        assert_int_equal(log.done, 3);
        assert_int_equal(log.passed_over, 1);
        assert_int_equal(ok.n, (unsigned)k + 1); /* one connection per run */
        assert_int_equal(blocked.n, 0);
    }
    ok.stop = blocked.stop = true;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    close(ok.fd);
    close(blocked.fd);
    assert_true(s[1].syn_used && !s[0].syn_used);
    assert_int_equal(s[0].open_ports, 1);
    assert_int_equal(s[1].open_ports, 1);
    assert_int_equal(s[1].syn_probes, 6); /* 3 devices x 2 ports, once each */
    assert_int_equal(s[1].syn_open, 1);
    assert_int_equal(s[1].syn_open + s[1].syn_closed + s[1].timeouts, 6);
    assert_int_equal(s[1].connects, 1); /* only to the open port */
    assert_int_equal(s[0].connects, 6);
}

/* The same over IPv6 loopback: probes from the raw IPv6 socket, answers matched without an
 * IPv6 header. */
static void test_syn_sweep_ipv6(void **st)
{
    (void)st;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        if (fd >= 0)
            close(fd);
        skip(); /* no IPv6 here */
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    struct acceptor ok = {.fd = fd};
    pthread_t t1;
    pthread_create(&t1, NULL, accept_loop, &ok);
    struct sv_scope sc;
    struct sink_log log = {0};
    struct sv_run r;
    lab_run(&r, &sc, &log, "::1", NULL);
    r.ports[0] = ntohs(sa.sin6_port);
    r.ports[1] = 9; /* closed */
    r.n_ports = 2;
    r.policy.rate_total = r.policy.rate_net = r.policy.rate_host = 100;
    r.policy.connect_timeout_ms = 500;
    r.sweep = SV_SWEEP_SYN;
    struct sv_stats s;
    int rc = sv_run(&r, &s);
    ok.stop = true;
    pthread_join(t1, NULL);
    close(fd);
    sv_scope_release(&sc);
    if (rc == -EPERM || rc == -EACCES)
        skip();
    assert_int_equal(rc, 0);
    assert_int_equal(s.syn_probes, 2);
    assert_int_equal(s.syn_open, 1);
    assert_int_equal(s.syn_closed, 1);
    assert_int_equal(s.connects, 1);
    assert_int_equal(ok.n, 1);
    assert_int_equal(log.done, 1);
}

static void test_engine_stops_at_run_time_limit(void **st)
{
    (void)st;
    /* Both sweeps: the connect() one, and the raw SYN one where root may open raw sockets. */
    for (int k = 0; k < 2; k++) {
        struct sv_scope sc;
        struct sink_log log = {0};
        struct sv_run r;
        lab_run(&r, &sc, &log, "127.0.1.0/24", NULL);
        r.ports[0] = 9; /* closed: each connection is refused at once */
        r.n_ports = 1;
        r.policy.rate_total = r.policy.rate_net = 20;
        r.policy.rate_host = 1;
        r.policy.max_run_ms = 1000;
        r.sweep = k ? SV_SWEEP_AUTO : SV_SWEEP_CONNECT;
        struct sv_stats s;
        uint64_t t0 = clock_mono_ms();
        assert_int_equal(sv_run(&r, &s), 0);
        uint64_t took = clock_mono_ms() - t0;
        assert_true(s.timed_out);
        assert_true(took < 1500);
        assert_true(s.hosts_done < 256 && s.hosts_done >= 10);
        /* burst + one second at the rate, whichever way the packets went */
        assert_true(s.connects + s.syn_probes <= 20 + 2 + 20);
        assert_int_equal(log.done, s.hosts_done); /* nothing in flight reported done */
        if (k && s.syn_used)
            assert_true(s.syn_probes >= 10 && s.connects == 0); /* port 9 never answers SYN-ACK */
        sv_scope_release(&sc);
    }
}

static void test_engine_aborts_when_connections_fail_locally(void **st)
{
    (void)st;
    struct sv_scope sc;
    struct sink_log log = {0};
    struct sv_run r;
    lab_run(&r, &sc, &log, "127.0.2.0/24", NULL);
    /* A source address this host does not have: every bind() fails (EADDRNOTAVAIL), which
     * is what a broken local network looks like to the health monitor. */
    assert_int_equal(ipaddr_parse("192.0.2.77", &r.sources[0]), 0);
    r.n_sources = 1;
    r.ports[0] = 9;
    r.n_ports = 1;
    r.policy.rate_total = r.policy.rate_net = 1000;
    r.policy.rate_host = 10;
    r.policy.health_window = 20;
    struct sv_stats s;
    assert_int_equal(sv_run(&r, &s), 0);
    assert_true(s.aborted);
    assert_non_null(strstr(s.abort_why, "failed locally"));
    assert_true(s.local_errors >= 20);
    /* Stopped early, and devices that met a local error are not "done": resume retries them. */
    assert_int_equal(s.hosts_done, 0);
    assert_int_equal(log.done, 0);
    assert_true(s.hosts_unfinished >= 10 && s.hosts_unfinished < 256);
    sv_scope_release(&sc);
}

/* A Telnet device in the style of Dahua/ZTE firmware: "Username:" / "Password:" prompts,
 * "Login incorrect" on failure, a "ZXHN H108N>" shell prompt on success. It records what the
 * client sent, and whether anything came after the successful password. */
struct fake_telnet {
    int fd;
    const char *user, *pass;
    const char *prompt; /* shown on success; NULL: "\r\nZXHN H108N>" */
    unsigned attempts;
    size_t after_success; /* bytes received after the shell prompt was shown */
    bool success;
};

static bool read_line(int c, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        unsigned char ch;
        if (recv(c, &ch, 1, 0) != 1)
            return false;
        if (ch == 255) { /* IAC x y: the client's negotiation answers */
            unsigned char skip[2];
            if (recv(c, skip, 2, MSG_WAITALL) != 2)
                return false;
            continue;
        }
        if (ch == '\n')
            break;
        if (ch != '\r' && n + 1 < cap)
            out[n++] = (char)ch;
    }
    out[n] = '\0';
    return true;
}

static void *fake_telnet_loop(void *arg)
{
    struct fake_telnet *f = arg;
    int c = accept(f->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    const unsigned char will_echo[] = {255, 251, 1, 255, 253, 24};
    send(c, will_echo, sizeof will_echo, 0);
    send(c, "\r\nWelcome to ZXHN H108N\r\nUsername:", 34, 0);
    char user[64], pass[64];
    while (read_line(c, user, sizeof user)) {
        send(c, "Password:", 9, 0);
        if (!read_line(c, pass, sizeof pass))
            break;
        f->attempts++;
        if (!strcmp(user, f->user) && !strcmp(pass, f->pass)) {
            f->success = true;
            const char *prompt = f->prompt ? f->prompt : "\r\nZXHN H108N>";
            send(c, prompt, strlen(prompt), 0);
            char buf[256];
            ssize_t n;
            while ((n = recv(c, buf, sizeof buf, 0)) > 0)
                f->after_success += (size_t)n;
            break;
        }
        send(c, "\r\nLogin incorrect\r\nUsername:", 28, 0);
    }
    close(c);
    return NULL;
}

static void test_telnet_stops_at_first_success_and_sends_nothing_after(void **st)
{
    (void)st;
    uint16_t port = 0;
    struct fake_telnet f = {.fd = listen_on("127.0.0.1", &port), .user = "admin", .pass = "admin"};
    pthread_t th;
    pthread_create(&th, NULL, fake_telnet_loop, &f);
    struct sv_cred pairs[] = {{"root", "root", 1}, {"admin", "admin", 2}, {"root", "xc3511", 3}};
    struct sv_creds creds = {pairs, 3};
    struct sv_scope sc;
    struct sink_log log = {0};
    struct sv_run r;
    lab_run(&r, &sc, &log, "127.0.0.1", NULL);
    r.creds = &creds;
    r.policy.cred_pause_ms = 50;
    r.ports[0] = port;
    r.port_module[0] = "telnet"; /* a random port: name the module */
    r.n_ports = 1;
    struct sv_stats s;
    assert_int_equal(sv_run(&r, &s), 0);
    pthread_join(th, NULL);
    close(f.fd);
    assert_true(f.success);
    assert_int_equal(f.attempts, 2);      /* root:root, then admin:admin; never root:xc3511 */
    assert_int_equal(f.after_success, 0); /* closed at once after the prompt */
    assert_int_equal(log.findings, 1);
    assert_int_equal(log.last.kind, SV_WEAK_CREDENTIAL);
    assert_non_null(strstr(log.last.evidence, "\"pair\":2"));
    assert_non_null(strstr(log.last.evidence, "ZXHN H108N>"));
    assert_int_equal(s.attempts, 2);
    assert_int_equal(s.successes, 1);
    sv_scope_release(&sc);
}

/* The device's text reaches the finding's evidence as valid JSON whatever its bytes: a shell
 * prompt with control characters, a quote, a backslash, bytes that are not UTF-8 and a
 * well-formed euro sign; and an operator name far longer than the evidence field is clipped
 * so the object still fits whole. */
static void test_hostile_prompt_gives_valid_evidence(void **st)
{
    (void)st;
    uint16_t port = 0;
    struct fake_telnet f = {.fd = listen_on("127.0.0.1", &port),
                            .user = "root",
                            .pass = "root",
                            .prompt = "\r\n\x01\x07\"q\\\xfe\xc3(\xe2\x82\xac>"};
    pthread_t th;
    pthread_create(&th, NULL, fake_telnet_loop, &f);
    struct sv_cred pairs[] = {{"root", "root", 1}};
    struct sv_creds creds = {pairs, 1};
    struct sv_scope sc;
    struct sink_log log = {0};
    struct sv_run r;
    lab_run(&r, &sc, &log, "127.0.0.1", NULL);
    char op[1001];
    memset(op, 1, sizeof op - 1);
    op[sizeof op - 1] = '\0';
    r.operator_name = op;
    r.creds = &creds;
    r.ports[0] = port;
    r.port_module[0] = "telnet";
    r.n_ports = 1;
    struct sv_stats s;
    assert_int_equal(sv_run(&r, &s), 0);
    pthread_join(th, NULL);
    close(f.fd);
    assert_int_equal(log.findings, 1);
    assert_int_equal(log.last.kind, SV_WEAK_CREDENTIAL);
    assert_true(strlen(log.last.evidence) < SV_EVIDENCE_LEN);
    json_error_t e;
    json_t *ev = json_loads(log.last.evidence, 0, &e);
    if (!ev)
        fail_msg("evidence is not JSON (%s): %s", e.text, log.last.evidence);
    /* each malformed byte is one U+FFFD; the euro sign and the control bytes are kept */
    assert_string_equal(json_string_value(json_object_get(ev, "proof")),
                        "success: shell prompt '\x01\x07\"q\\\xef\xbf\xbd\xef\xbf\xbd("
                        "\xe2\x82\xac>'");
    assert_string_equal(json_string_value(json_object_get(ev, "user")), "root");
    assert_int_equal(json_integer_value(json_object_get(ev, "pair")), 1);
    const char *o = json_string_value(json_object_get(ev, "operator"));
    assert_non_null(o);
    assert_true(strlen(o) >= 30 && strlen(o) < 40); /* \u0001 is 6 bytes: a 200-byte room */
    assert_int_equal(strspn(o, "\x01"), strlen(o));
    json_decref(ev);
    sv_scope_release(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_keeps_per_host_rate),
        cmocka_unit_test(test_engine_never_connects_to_blocked),
        cmocka_unit_test(test_syn_sweep_finds_what_connect_finds),
        cmocka_unit_test(test_syn_sweep_ipv6),
        cmocka_unit_test(test_engine_stops_at_run_time_limit),
        cmocka_unit_test(test_engine_aborts_when_connections_fail_locally),
        cmocka_unit_test(test_telnet_stops_at_first_success_and_sends_nothing_after),
        cmocka_unit_test(test_hostile_prompt_gives_valid_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
