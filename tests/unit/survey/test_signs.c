/* Unit tests for the curated infection signs (signs.c): which observations match, which do
 * not (clean banners, other ports and services, a device that answered), and the table's
 * own consistency (every sign named, explained and referenced, ids unique). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "survey/signs.h"

static struct sv_obs obs(const char *service, uint16_t port)
{
    struct sv_obs o;
    memset(&o, 0, sizeof o);
    o.service = service;
    o.port = port;
    return o;
}

static const char *match_id(const struct sv_obs *o, bool silent)
{
    const struct sv_sign *g = sv_sign_match(o, silent);
    return g ? g->id : "";
}

static void test_text(void **st)
{
    (void)st;
    struct sv_obs o = obs("telnet", 23);
    snprintf(o.banner, sizeof o.banner,
             "\r\nTelnet has been closed to avoid further infection "
             "of this device. Please disable telnet.");
    assert_string_equal(match_id(&o, false), "wifatch-telnet-notice");
    /* Any case, any port and service, also in a page title. */
    o = obs("http", 8080);
    snprintf(o.http_title, sizeof o.http_title,
             "TELNET HAS BEEN CLOSED TO AVOID FURTHER INFECTION");
    assert_string_equal(match_id(&o, false), "wifatch-telnet-notice");
    /* Clean devices: a busybox banner, a camera page, a prefix of the notice only. */
    o = obs("telnet", 23);
    snprintf(o.banner, sizeof o.banner, "Welcome to HiLinux (BusyBox v1.35.0) camera");
    assert_string_equal(match_id(&o, false), "");
    o = obs("http", 80);
    snprintf(o.http_title, sizeof o.http_title, "IP Camera");
    snprintf(o.http_server, sizeof o.http_server, "Boa/0.94.14rc21");
    assert_string_equal(match_id(&o, false), "");
    o = obs("telnet", 23);
    snprintf(o.banner, sizeof o.banner, "Telnet has been closed");
    assert_string_equal(match_id(&o, false), "");
}

static void test_silent(void **st)
{
    (void)st;
    struct sv_obs o = obs("telnet", 23);
    assert_string_equal(match_id(&o, true), "mirai-killer-telnet");
    assert_string_equal(match_id(&o, false), ""); /* it answered */
    o = obs("ssh", 22);
    assert_string_equal(match_id(&o, true), "mirai-killer-ssh");
    o = obs("http", 80);
    assert_string_equal(match_id(&o, true), "mirai-killer-http");
    /* Only the ports the killer binds, with the module that speaks there. */
    o = obs("telnet", 2323);
    assert_string_equal(match_id(&o, true), "");
    o = obs("http", 8080);
    assert_string_equal(match_id(&o, true), "");
    o = obs("tcp", 23);
    assert_string_equal(match_id(&o, true), "");
    o = obs("https", 443);
    assert_string_equal(match_id(&o, true), "");
    o = obs(NULL, 23);
    assert_string_equal(match_id(&o, true), "");
}

static void test_table(void **st)
{
    (void)st;
    size_t n;
    const struct sv_sign *t = sv_signs(&n);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].id && *t[i].id && t[i].family && *t[i].family);
        assert_true(t[i].what && *t[i].what && t[i].ref && *t[i].ref);
        if (t[i].kind == SV_SIGN_TEXT)
            assert_true(t[i].needle && strlen(t[i].needle) >= 20); /* specific enough */
        else
            assert_true(t[i].port && t[i].service);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(t[i].id, t[j].id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
