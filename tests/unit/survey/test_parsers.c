/* Unit tests for the survey's protocol readers (telnet.c, http.c, banner.c): hand-built bytes,
 * malformed cases, and every input fed split at every byte boundary (and byte by byte) must
 * give the same result as one call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "survey/banner.h"
#include "survey/http.h"
#include "survey/telnet.h"

/* ---- Telnet ---- */

static void tn_feed_split(struct sv_telnet *t, const uint8_t *p, size_t n, size_t cut)
{
    sv_telnet_init(t);
    sv_telnet_feed(t, p, cut);
    sv_telnet_feed(t, p + cut, n - cut);
}

static void assert_tn_same(const struct sv_telnet *a, const struct sv_telnet *b)
{
    assert_string_equal(a->banner, b->banner);
    assert_string_equal(a->line, b->line);
    assert_int_equal(a->reply_len, b->reply_len);
    assert_memory_equal(a->reply, b->reply, a->reply_len);
    assert_int_equal(a->failure_seen, b->failure_seen);
    assert_int_equal(sv_telnet_prompt(a), sv_telnet_prompt(b));
}

static const uint8_t busybox_greeting[] = {
    0xff, 0xfd, 0x01,                               /* DO ECHO */
    0xff, 0xfd, 0x1f,                               /* DO NAWS */
    0xff, 0xfb, 0x01,                               /* WILL ECHO */
    0xff, 0xfb, 0x03,                               /* WILL SGA */
    0xff, 0xfa, 0x18, 0x01, 0xff, 0xff, 0xff, 0xf0, /* SB TTYPE SEND, IAC IAC inside, IAC SE */
    '\r', '\n', 'D',  'e',  'b',  'i',  'a',  'n',  0x1b, '[', '1', ';', '3', '2', 'm', ' ', 'G',
    'N',  'U',  '\r', '\0', '\n', 'c',  'a',  'm',  ' ',  'l', 'o', 'g', 'i', 'n', ':', ' ',
};

static void test_telnet_negotiation_and_text(void **st)
{
    (void)st;
    struct sv_telnet t;
    sv_telnet_init(&t);
    sv_telnet_feed(&t, busybox_greeting, sizeof busybox_greeting);
    const uint8_t want[] = {0xff, 0xfc, 0x01, 0xff, 0xfc, 0x1f, 0xff, 0xfd, 0x01, 0xff, 0xfd, 0x03};
    assert_int_equal(t.reply_len, sizeof want);
    assert_memory_equal(t.reply, want, sizeof want);
    assert_string_equal(t.banner, "\nDebian GNU\ncam login: ");
    assert_string_equal(t.line, "cam login: ");
    assert_int_equal(sv_telnet_prompt(&t), SV_PROMPT_LOGIN);
    assert_int_equal(t.negotiations, 4);
}

static void test_telnet_every_split_gives_same_result(void **st)
{
    (void)st;
    struct sv_telnet whole, part;
    sv_telnet_init(&whole);
    sv_telnet_feed(&whole, busybox_greeting, sizeof busybox_greeting);
    for (size_t cut = 0; cut <= sizeof busybox_greeting; cut++) {
        tn_feed_split(&part, busybox_greeting, sizeof busybox_greeting, cut);
        assert_tn_same(&whole, &part);
    }
    sv_telnet_init(&part);
    for (size_t i = 0; i < sizeof busybox_greeting; i++)
        sv_telnet_feed(&part, busybox_greeting + i, 1);
    assert_tn_same(&whole, &part);
}

static enum sv_prompt prompt_of(const char *text)
{
    struct sv_telnet t;
    sv_telnet_init(&t);
    sv_telnet_feed(&t, (const uint8_t *)text, strlen(text));
    return sv_telnet_prompt(&t);
}

static void test_telnet_prompt_styles(void **st)
{
    (void)st;
    /* Logins as devices print them. */
    assert_int_equal(prompt_of("\r\nBusyBox v1.35.0\r\nrouter login: "), SV_PROMPT_LOGIN);
    assert_int_equal(prompt_of("Username:"), SV_PROMPT_LOGIN);
    assert_int_equal(prompt_of("User Name:"), SV_PROMPT_LOGIN);
    assert_int_equal(prompt_of("Login: "), SV_PROMPT_LOGIN);
    assert_int_equal(prompt_of("\r\nWelcome Visiting Huawei Home Gateway\r\nLogin:"),
                     SV_PROMPT_LOGIN);
    assert_int_equal(prompt_of("Password: "), SV_PROMPT_PASSWORD);
    assert_int_equal(prompt_of("Login Password:"), SV_PROMPT_PASSWORD);
    /* Shells. */
    assert_int_equal(prompt_of("\r\n~ # "), SV_PROMPT_SHELL);
    assert_int_equal(prompt_of("\r\n$ "), SV_PROMPT_SHELL);
    assert_int_equal(prompt_of("\r\nWAP>"), SV_PROMPT_SHELL);
    assert_int_equal(prompt_of("\r\nZXHN H108N V2.5>"), SV_PROMPT_SHELL);
    assert_int_equal(prompt_of("\r\n[root@dvr /]# "), SV_PROMPT_SHELL);
    /* Failures, on the same line or a line before the next prompt. */
    assert_int_equal(prompt_of("\r\nLogin incorrect\r\n"), SV_PROMPT_FAILED);
    assert_int_equal(prompt_of("\r\nLogin incorrect\r\ncam login: "), SV_PROMPT_FAILED);
    assert_int_equal(prompt_of("\r\n% Access denied\r\n\r\nUsername:"), SV_PROMPT_FAILED);
    assert_int_equal(prompt_of("User or password error!\r\n"), SV_PROMPT_FAILED);
    /* Text that is none of these. */
    assert_int_equal(prompt_of("Welcome to the device"), SV_PROMPT_NONE);
    assert_int_equal(prompt_of(""), SV_PROMPT_NONE);
    char longline[200];
    memset(longline, 'x', sizeof longline - 2);
    longline[sizeof longline - 2] = '#';
    longline[sizeof longline - 1] = '\0';
    assert_int_equal(prompt_of(longline), SV_PROMPT_NONE); /* too long for a prompt */
}

static void test_telnet_failure_cleared_after_answer(void **st)
{
    (void)st;
    struct sv_telnet t;
    sv_telnet_init(&t);
    const char *a = "Login incorrect\r\nlogin: ";
    sv_telnet_feed(&t, (const uint8_t *)a, strlen(a));
    assert_int_equal(sv_telnet_prompt(&t), SV_PROMPT_FAILED);
    sv_telnet_clear_line(&t);
    const char *b = "login: ";
    sv_telnet_feed(&t, (const uint8_t *)b, strlen(b));
    assert_int_equal(sv_telnet_prompt(&t), SV_PROMPT_LOGIN);
}

static void test_telnet_malformed_and_caps(void **st)
{
    (void)st;
    struct sv_telnet t;
    sv_telnet_init(&t);
    /* An unterminated subnegotiation swallows what follows; a truncated IAC waits. */
    const uint8_t sb[] = {0xff, 0xfa, 0x18, 'l', 'o', 'g', 'i', 'n', ':'};
    sv_telnet_feed(&t, sb, sizeof sb);
    assert_int_equal(t.banner_len, 0);
    sv_telnet_init(&t);
    const uint8_t trunc[] = {'a', 0xff};
    sv_telnet_feed(&t, trunc, sizeof trunc);
    assert_string_equal(t.line, "a");
    const uint8_t rest[] = {0xff, 'b'}; /* IAC IAC = data byte 255 */
    sv_telnet_feed(&t, rest, sizeof rest);
    assert_int_equal(t.line_len, 3);
    /* A flood of DOs fills the reply queue and is counted, never overflowed. */
    sv_telnet_init(&t);
    uint8_t flood[300];
    for (size_t i = 0; i < 100; i++) {
        flood[3 * i] = 0xff;
        flood[3 * i + 1] = 0xfd;
        flood[3 * i + 2] = (uint8_t)i;
    }
    sv_telnet_feed(&t, flood, sizeof flood);
    assert_int_equal(t.reply_len, SV_TELNET_REPLY);
    assert_int_equal(t.anomalies, 100 - SV_TELNET_REPLY / 3);
    /* An endless line keeps its tail, where a prompt would be. */
    sv_telnet_init(&t);
    for (int i = 0; i < 1000; i++)
        sv_telnet_feed(&t, (const uint8_t *)"y", 1);
    sv_telnet_feed(&t, (const uint8_t *)"login:", 6);
    assert_int_equal(t.line_len, SV_TELNET_LINE);
    assert_int_equal(sv_telnet_prompt(&t), SV_PROMPT_LOGIN);
}

/* ---- HTTP ---- */

static const char resp_chunked[] =
    "HTTP/1.1 401 Unauthorized\r\n"
    "Server: Boa/0.94.14rc21\r\n"
    "WWW-Authenticate: Digest realm=\"IPCam\", nonce=\"abc123\", qop=\"auth\"\r\n"
    "WWW-Authenticate: Basic realm=\"IP Camera\"\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "1a;ext=1\r\n<html><head><title>  Web \r\n"
    "c\r\n   Service\n</t\r\n"
    "0\r\n"
    "X-Trailer: 1\r\n"
    "\r\n";

static void assert_http_same(const struct sv_http *a, const struct sv_http *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->code, b->code);
    assert_string_equal(a->server, b->server);
    assert_string_equal(a->auth_basic, b->auth_basic);
    assert_string_equal(a->auth_digest, b->auth_digest);
    assert_int_equal(a->body_len, b->body_len);
    assert_memory_equal(a->body, b->body, a->body_len);
}

static void test_http_chunked_401_with_challenges(void **st)
{
    (void)st;
    static struct sv_http h;
    sv_http_init(&h, false);
    assert_int_equal(sv_http_feed(&h, (const uint8_t *)resp_chunked, strlen(resp_chunked)),
                     SV_HTTP_DONE);
    assert_int_equal(h.code, 401);
    assert_string_equal(h.proto, "HTTP/1.1");
    assert_string_equal(h.server, "Boa/0.94.14rc21");
    assert_string_equal(h.auth_basic, "realm=\"IP Camera\"");
    char v[64];
    assert_true(sv_http_auth_param(h.auth_digest, "realm", v, sizeof v));
    assert_string_equal(v, "IPCam");
    assert_true(sv_http_auth_param(h.auth_digest, "qop", v, sizeof v));
    assert_string_equal(v, "auth");
    assert_false(sv_http_auth_param(h.auth_digest, "opaque", v, sizeof v));
    char title[64];
    sv_http_title(&h, title, sizeof title);
    assert_string_equal(title, "Web Service");
}

static void test_http_every_split_gives_same_result(void **st)
{
    (void)st;
    static struct sv_http whole, part;
    const uint8_t *p = (const uint8_t *)resp_chunked;
    size_t n = strlen(resp_chunked);
    sv_http_init(&whole, false);
    sv_http_feed(&whole, p, n);
    for (size_t cut = 0; cut <= n; cut++) {
        sv_http_init(&part, false);
        sv_http_feed(&part, p, cut);
        sv_http_feed(&part, p + cut, n - cut);
        assert_http_same(&whole, &part);
    }
    sv_http_init(&part, false);
    for (size_t i = 0; i < n; i++)
        sv_http_feed(&part, p + i, 1);
    assert_http_same(&whole, &part);
}

static void test_http_length_eof_and_rtsp(void **st)
{
    (void)st;
    static struct sv_http h;
    const char *a = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    sv_http_init(&h, false);
    assert_int_equal(sv_http_feed(&h, (const uint8_t *)a, strlen(a)), SV_HTTP_DONE);
    assert_int_equal(h.body_len, 5);
    const char *b = "HTTP/1.0 200 OK\nServer: lighttpd/1.4.69\n\n<title>x</title>";
    sv_http_init(&h, false);
    assert_int_equal(sv_http_feed(&h, (const uint8_t *)b, strlen(b)), SV_HTTP_MORE);
    assert_int_equal(sv_http_eof(&h), SV_HTTP_DONE);
    assert_string_equal(h.server, "lighttpd/1.4.69");
    const char *c = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Hikvision-Webs\r\n\r\n";
    sv_http_init(&h, false);
    assert_int_equal(sv_http_feed(&h, (const uint8_t *)c, strlen(c)), SV_HTTP_DONE);
    assert_string_equal(h.proto, "RTSP/1.0");
    const char *d = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    sv_http_init(&h, false);
    assert_int_equal(sv_http_feed(&h, (const uint8_t *)d, strlen(d)), SV_HTTP_DONE);
    assert_int_equal(h.code, 204);
}

static void test_http_malformed(void **st)
{
    (void)st;
    static struct sv_http h;
    const char *bad[] = {
        "SSH-2.0-dropbear\r\n",                                        /* not HTTP */
        "HTTP/1.1 2x0 OK\r\n\r\n",                                     /* bad code */
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",              /* bad length */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", /* bad chunk size */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sv_http_init(&h, false);
        assert_int_equal(sv_http_feed(&h, (const uint8_t *)bad[i], strlen(bad[i])),
                         SV_HTTP_MALFORMED);
    }
    /* Cut short inside the headers or a counted body. */
    const char *cut = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    sv_http_init(&h, false);
    sv_http_feed(&h, (const uint8_t *)cut, strlen(cut));
    assert_int_equal(sv_http_eof(&h), SV_HTTP_MALFORMED);
    /* Too many header lines. */
    sv_http_init(&h, false);
    sv_http_feed(&h, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17);
    for (int i = 0; i <= SV_HTTP_HEADERS; i++)
        sv_http_feed(&h, (const uint8_t *)"X-A: b\r\n", 8);
    assert_int_equal(h.status, SV_HTTP_MALFORMED);
    /* An over-long line is truncated and counted; the body is capped. */
    sv_http_init(&h, false);
    sv_http_feed(&h, (const uint8_t *)"HTTP/1.1 200 OK\r\nX-Long: ", 25);
    for (int i = 0; i < 5000; i++)
        sv_http_feed(&h, (const uint8_t *)"a", 1);
    sv_http_feed(&h, (const uint8_t *)"\r\n\r\n", 4);
    assert_int_equal(h.anomalies, 1);
    static uint8_t big[SV_HTTP_BODY + 100];
    memset(big, 'b', sizeof big);
    sv_http_feed(&h, big, sizeof big);
    assert_int_equal(sv_http_eof(&h), SV_HTTP_DONE);
    assert_int_equal(h.body_len, SV_HTTP_BODY);
    assert_true(h.body_truncated);
}

static void test_http_basic_and_digest_headers(void **st)
{
    (void)st;
    char out[1024];
    assert_int_equal(sv_http_basic_header("admin", "admin", out, sizeof out), 0);
    assert_string_equal(out, "Authorization: Basic YWRtaW46YWRtaW4=\r\n");
    /* RFC 2617 3.5's example: Mufasa / Circle Of Life. */
    const char *ch = "realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
                     "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                     "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    assert_int_equal(sv_http_digest_header(ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
                                           "0a4f113b", out, sizeof out),
                     0);
    assert_non_null(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\""));
    assert_non_null(strstr(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    assert_int_equal(
        sv_http_digest_header("nonce=\"x\"", "GET", "/", "a", "b", "c", out, sizeof out),
        BS_EPARSE);
    assert_int_equal(sv_http_digest_header("realm=\"r\", nonce=\"x\", algorithm=SHA-256", "GET",
                                           "/", "a", "b", "c", out, sizeof out),
                     BS_EUNSUPPORTED);
    char small[10];
    assert_int_equal(sv_http_basic_header("admin", "admin", small, sizeof small), BS_ELIMIT);
}

static void test_mmh3_and_favicon_hash(void **st)
{
    (void)st;
    assert_int_equal(sv_mmh3_32("", 0, 0), 0);
    assert_int_equal((int32_t)sv_mmh3_32("foo", 3, 0), -156908512);
    assert_int_equal(sv_mmh3_32("Hello, world!", 13, 1234), 0xfaf6cdb3u);
    /* favicon: base64 "AAEC\n" of {0,1,2}, hashed as text. */
    const uint8_t ico[] = {0, 1, 2};
    assert_int_equal(sv_favicon_hash(ico, 3), (int32_t)sv_mmh3_32("AAEC\n", 5, 0));
    char b64[8];
    assert_int_equal(sv_base64((const uint8_t *)"ab", 2, b64, sizeof b64), 4);
    assert_string_equal(b64, "YWI=");
}

/* ---- banners ---- */

static void test_banner_ftp_ssh_every_split(void **st)
{
    (void)st;
    const char *ftp = "220-Welcome\r\n220-to the camera\r\n220 GNU Inetutils FTP 2.4 ready.\r\n";
    const char *ssh = "Not yet\r\nSSH-2.0-dropbear_2022.83\r\n";
    struct sv_banner w, b;
    sv_banner_init(&w, SV_BANNER_FTP);
    assert_true(sv_banner_feed(&w, (const uint8_t *)ftp, strlen(ftp)));
    assert_false(w.malformed);
    assert_int_equal(w.code, 220);
    assert_string_equal(w.ident, "220 GNU Inetutils FTP 2.4 ready.");
    for (size_t cut = 0; cut <= strlen(ftp); cut++) {
        sv_banner_init(&b, SV_BANNER_FTP);
        sv_banner_feed(&b, (const uint8_t *)ftp, cut);
        sv_banner_feed(&b, (const uint8_t *)ftp + cut, strlen(ftp) - cut);
        assert_string_equal(b.ident, w.ident);
        assert_string_equal(b.text, w.text);
    }
    sv_banner_init(&w, SV_BANNER_SSH);
    assert_true(sv_banner_feed(&w, (const uint8_t *)ssh, strlen(ssh)));
    assert_string_equal(w.ident, "SSH-2.0-dropbear_2022.83");
    for (size_t cut = 0; cut <= strlen(ssh); cut++) {
        sv_banner_init(&b, SV_BANNER_SSH);
        sv_banner_feed(&b, (const uint8_t *)ssh, cut);
        sv_banner_feed(&b, (const uint8_t *)ssh + cut, strlen(ssh) - cut);
        assert_string_equal(b.ident, w.ident);
    }
}

static void test_banner_malformed(void **st)
{
    (void)st;
    struct sv_banner b;
    sv_banner_init(&b, SV_BANNER_FTP);
    assert_true(sv_banner_feed(&b, (const uint8_t *)"hello\r\n", 7));
    assert_true(b.malformed);
    sv_banner_init(&b, SV_BANNER_FTP);
    assert_true(sv_banner_feed(&b, (const uint8_t *)"220xready\r\n", 11));
    assert_true(b.malformed);
    sv_banner_init(&b, SV_BANNER_SSH);
    for (int i = 0; i < SV_BANNER_MAX_LINES; i++)
        sv_banner_feed(&b, (const uint8_t *)"junk\n", 5);
    assert_true(b.complete && b.malformed);
    sv_banner_init(&b, SV_BANNER_LINE1);
    for (int i = 0; i < 1000; i++)
        sv_banner_feed(&b, (const uint8_t *)"z", 1);
    assert_true(sv_banner_feed(&b, (const uint8_t *)"\n", 1));
    assert_int_equal(strlen(b.ident), SV_BANNER_LINE);
    assert_int_equal(b.anomalies, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telnet_negotiation_and_text),
        cmocka_unit_test(test_telnet_every_split_gives_same_result),
        cmocka_unit_test(test_telnet_prompt_styles),
        cmocka_unit_test(test_telnet_failure_cleared_after_answer),
        cmocka_unit_test(test_telnet_malformed_and_caps),
        cmocka_unit_test(test_http_chunked_401_with_challenges),
        cmocka_unit_test(test_http_every_split_gives_same_result),
        cmocka_unit_test(test_http_length_eof_and_rtsp),
        cmocka_unit_test(test_http_malformed),
        cmocka_unit_test(test_http_basic_and_digest_headers),
        cmocka_unit_test(test_mmh3_and_favicon_hash),
        cmocka_unit_test(test_banner_ftp_ssh_every_split),
        cmocka_unit_test(test_banner_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
