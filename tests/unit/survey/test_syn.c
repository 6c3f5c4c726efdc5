/* Unit tests for the SYN sweep's packets (syn.c): SipHash-2-4 against the reference vector,
 * the SYN the sweep sends (fields, checksum, cookie), and the answer parser on hand-built
 * bytes: a real SYN-ACK and reset are accepted, forged or stray packets (wrong cookie, wrong
 * ports, another key, a source outside the scope or blocklisted, plain SYN/ACK/RST, fragments,
 * bad headers, every truncation) are ignored, and IP options do not confuse it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "core/ipaddr.h"
#include "survey/scope.h"
#include "survey/syn.h"

static const struct sv_syn_key KEY = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

#define US     0xc6120001u /* 198.18.0.1 */
#define DEVICE 0xc6120102u /* 198.18.1.2 */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void test_siphash_vector(void **st)
{
    (void)st;
    /* The SipHash paper's appendix: key 00..0f, message 00..0e. */
    uint8_t m[15];
    for (int i = 0; i < 15; i++)
        m[i] = (uint8_t)i;
    assert_true(sv_siphash(&KEY, m, sizeof m) == 0xa129ca6149be45e5ull);
    /* The empty message of the reference test vectors. */
    assert_true(sv_siphash(&KEY, m, 0) == 0x726fdb47dd0e0e31ull);
}

/* Folds the ones' complement sum of the pseudo header and the TCP segment: 0 when valid. */
static uint16_t tcp_verify(const uint8_t *ip, size_t tcp_len)
{
    uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2)
        sum += be16(ip + i);
    sum += 6 + (uint32_t)tcp_len; /* protocol and TCP length */
    const uint8_t *t = ip + 20;
    for (size_t i = 0; i + 1 < tcp_len; i += 2)
        sum += be16(t + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void test_build(void **st)
{
    (void)st;
    uint8_t p[SV_SYN_PKT_LEN];
    sv_syn_build(&KEY, US, DEVICE, 23, p);
    assert_int_equal(p[0], 0x45);
    assert_int_equal(be16(p + 2), SV_SYN_PKT_LEN);
    assert_int_equal(p[9], 6);
    assert_true(be32(p + 12) == US);
    assert_true(be32(p + 16) == DEVICE);
    const uint8_t *t = p + 20;
    uint16_t sport = be16(t);
    assert_true(sport >= SV_SYN_SPORT_BASE && sport < SV_SYN_SPORT_BASE + SV_SYN_SPORT_RANGE);
    assert_int_equal(sport, sv_syn_sport(&KEY, DEVICE, 23));
    assert_int_equal(be16(t + 2), 23);
    assert_true(be32(t + 4) == sv_syn_cookie(&KEY, US, DEVICE, sport, 23));
    assert_true(be32(t + 8) == 0);
    assert_int_equal(t[12] >> 4, 6);
    assert_int_equal(t[13], 0x02); /* SYN only */
    assert_int_equal(t[20], 2);    /* MSS option */
    assert_int_equal(be16(t + 22), 1460);
    assert_int_equal(tcp_verify(p, 24), 0);
    /* The cookie depends on every element of the 4-tuple and on the key. */
    uint32_t c = sv_syn_cookie(&KEY, US, DEVICE, sport, 23);
    assert_true(c != sv_syn_cookie(&KEY, US + 1, DEVICE, sport, 23));
    assert_true(c != sv_syn_cookie(&KEY, US, DEVICE + 1, sport, 23));
    assert_true(c != sv_syn_cookie(&KEY, US, DEVICE, sport + 1, 23));
    assert_true(c != sv_syn_cookie(&KEY, US, DEVICE, sport, 24));
    struct sv_syn_key other = {KEY.k0 ^ 1, KEY.k1};
    assert_true(c != sv_syn_cookie(&other, US, DEVICE, sport, 23));
}

/* The device's answer to our SYN to DEVICE:dport, flags as given, with ihl_words of IP header
 * (options filled with NOPs). Returns its length. */
static size_t answer(uint8_t *b, uint16_t dport, uint8_t flags, unsigned ihl_words)
{
    memset(b, 0, 128);
    uint8_t probe[SV_SYN_PKT_LEN];
    sv_syn_build(&KEY, US, DEVICE, dport, probe);
    size_t ihl = ihl_words * 4, len = ihl + 20;
    b[0] = (uint8_t)(0x40 | ihl_words);
    put16(b + 2, (uint16_t)len);
    b[6] = 0x40; /* DF: not a fragment */
    b[8] = 64;
    b[9] = 6;
    put32(b + 12, DEVICE);
    put32(b + 16, US);
    memset(b + 20, 1, ihl - 20); /* IP options: NOP */
    uint8_t *t = b + ihl;
    put16(t, dport);
    put16(t + 2, be16(probe + 20)); /* back to our source port */
    put32(t + 4, 0x12345678);
    put32(t + 8, be32(probe + 24) + 1);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 29200);
    return len;
}

struct lab {
    struct sv_scope sc;
};

static int lab_setup(void **st)
{
    static struct lab l;
    assert_int_equal(sv_scope_init(&l.sc, true), 0);
    assert_int_equal(sv_scope_add(&l.sc, false, "198.18.1.0/28"), 0);
    assert_int_equal(sv_scope_add(&l.sc, true, "198.18.1.9"), 0);
    assert_int_equal(sv_scope_finish(&l.sc), 0);
    *st = &l;
    return 0;
}

static int lab_teardown(void **st)
{
    struct lab *l = *st;
    sv_scope_release(&l->sc);
    return 0;
}

static enum sv_syn_answer parse(const struct sv_scope *sc, const uint8_t *b, size_t n,
                                struct ipaddr *a, uint16_t *port)
{
    return sv_syn_parse(&KEY, sc, b, n, a, port);
}

static void test_parse_valid(void **st)
{
    struct lab *l = *st;
    uint8_t b[128];
    struct ipaddr a;
    uint16_t port = 0;
    size_t n = answer(b, 23, 0x12, 5);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_OPEN);
    assert_true(ipaddr_is_v4(&a) && ipaddr_v4(&a) == DEVICE);
    assert_int_equal(port, 23);
    /* Trailing bytes past the IP total length (Ethernet padding) are not a problem. */
    assert_int_equal(parse(&l->sc, b, n + 6, &a, &port), SV_SYN_OPEN);
    n = answer(b, 2323, 0x14, 5); /* RST+ACK: refused */
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_CLOSED);
    assert_int_equal(port, 2323);
    /* IP options move the TCP header; the parser follows the header length. */
    n = answer(b, 80, 0x12, 7);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_OPEN);
    assert_int_equal(port, 80);
    /* SYN+ACK with ECE/PSH bits set is still an open port. */
    n = answer(b, 80, 0x12 | 0x40 | 0x08, 5);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_OPEN);
}

static void test_parse_forged(void **st)
{
    struct lab *l = *st;
    uint8_t b[128];
    struct ipaddr a;
    uint16_t port;
    size_t n = answer(b, 23, 0x12, 5);
    uint8_t *t = b + 20;
    /* Wrong cookie: the acknowledgement is off by one either way, or zero. */
    uint32_t ack = be32(t + 8);
    put32(t + 8, ack + 1);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put32(t + 8, ack - 1);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put32(t + 8, 0);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put32(t + 8, ack);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_OPEN);
    /* Another run's key. */
    struct sv_syn_key other = {KEY.k0, KEY.k1 ^ 0x100};
    assert_int_equal(sv_syn_parse(&other, &l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    /* Wrong ports: another device port, or another of our source ports. */
    put16(t, 24);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put16(t, 23);
    uint16_t ours = be16(t + 2);
    put16(t + 2, ours == SV_SYN_SPORT_BASE ? ours + 1 : ours - 1);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put16(t + 2, ours);
    /* Another source or destination address: the cookie covers both. */
    put32(b + 12, DEVICE + 1);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put32(b + 12, DEVICE);
    put32(b + 16, US + 1);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    put32(b + 16, US);
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_OPEN);
    /* Flags that do not answer a SYN: bare SYN, bare ACK, RST without ACK, SYN+ACK+RST. */
    static const uint8_t bad_flags[] = {0x02, 0x10, 0x04, 0x16, 0x01, 0x00};
    for (size_t i = 0; i < sizeof bad_flags; i++) {
        t[13] = bad_flags[i];
        assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    }
}

/* Answers with a valid cookie from sources the scope does not allow. */
static void test_parse_scope(void **st)
{
    struct lab *l = *st;
    uint8_t b[128];
    struct ipaddr a;
    uint16_t port;
    static const uint32_t bad[] = {0xc6120109u /* blocklisted .9 */,
                                   0xc6120110u /* .16: just outside */,
                                   0x08080808u /* elsewhere */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t probe[SV_SYN_PKT_LEN];
        sv_syn_build(&KEY, US, bad[i], 23, probe);
        size_t n = answer(b, 23, 0x12, 5);
        put32(b + 12, bad[i]);
        put16(b + 22, be16(probe + 20));
        put32(b + 28, be32(probe + 24) + 1);
        /* Without the scope the packet is a valid answer: only the gate refuses it. */
        assert_int_equal(sv_syn_parse(&KEY, NULL, b, n, &a, &port), SV_SYN_OPEN);
        assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_IGNORE);
    }
}

static void test_parse_malformed(void **st)
{
    struct lab *l = *st;
    uint8_t b[128];
    struct ipaddr a;
    uint16_t port;
    size_t n = answer(b, 23, 0x12, 5);
    /* Every truncation is ignored (the reader never runs past n: ASan checks). */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(parse(&l->sc, b, k, &a, &port), SV_SYN_IGNORE);
    uint8_t c[128];
    /* IP version 6 in the first nibble. */
    memcpy(c, b, n);
    c[0] = 0x65;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    /* Header length below 5 words, or past the packet. */
    memcpy(c, b, n);
    c[0] = 0x44;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    c[0] = 0x4f;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    /* Total length shorter than the headers, or longer than what arrived. */
    memcpy(c, b, n);
    put16(c + 2, 39);
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    put16(c + 2, (uint16_t)(n + 1));
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    /* Fragments: more-fragments set, or an offset. */
    memcpy(c, b, n);
    c[6] = 0x20;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    c[6] = 0x00;
    c[7] = 0x01;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    /* Not TCP. */
    memcpy(c, b, n);
    c[9] = 17;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    /* TCP data offset below 5 words, or past the segment. */
    memcpy(c, b, n);
    c[32] = 4 << 4;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    c[32] = 6 << 4;
    assert_int_equal(parse(&l->sc, c, n, &a, &port), SV_SYN_IGNORE);
    /* The unchanged packet still parses after all of that (nothing sticky). */
    assert_int_equal(parse(&l->sc, b, n, &a, &port), SV_SYN_OPEN);
}

/* ---- IPv6: the segment the kernel completes, and answers read without an IPv6 header ---- */

static const uint8_t DEV6[16] = {0xfd, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static void test_build6(void **st)
{
    (void)st;
    uint8_t t[SV_SYN_TCP_LEN];
    sv_syn_build6(&KEY, DEV6, 22, t);
    uint16_t sport = be16(t);
    assert_int_equal(sport, sv_syn_sport6(&KEY, DEV6, 22));
    assert_true(sport >= SV_SYN_SPORT_BASE && sport < SV_SYN_SPORT_BASE + SV_SYN_SPORT_RANGE);
    assert_int_equal(be16(t + 2), 22);
    assert_true(be32(t + 4) == sv_syn_cookie6(&KEY, DEV6, sport, 22));
    assert_int_equal(t[13], 0x02);
    assert_int_equal(be16(t + 16), 0); /* the kernel's (IPV6_CHECKSUM) */
    uint8_t other[16];
    memcpy(other, DEV6, 16);
    other[15] ^= 1;
    assert_true(sv_syn_cookie6(&KEY, DEV6, sport, 22) != sv_syn_cookie6(&KEY, other, sport, 22));
}

/* The device's answer to our SYN to DEV6:dport: a bare TCP header. */
static size_t answer6(uint8_t *t, uint16_t dport, uint8_t flags)
{
    memset(t, 0, 64);
    uint8_t probe[SV_SYN_TCP_LEN];
    sv_syn_build6(&KEY, DEV6, dport, probe);
    put16(t, dport);
    put16(t + 2, be16(probe));
    put32(t + 4, 0x9abcdef0);
    put32(t + 8, be32(probe + 4) + 1);
    t[12] = 5 << 4;
    t[13] = flags;
    return 20;
}

static void test_parse6(void **st)
{
    (void)st;
    struct sv_scope sc;
    assert_int_equal(sv_scope_init(&sc, true), 0);
    assert_int_equal(sv_scope_add(&sc, false, "fd00:18::/64"), 0);
    assert_int_equal(sv_scope_add(&sc, true, "fd00:18::9"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    uint8_t t[64];
    struct ipaddr a;
    uint16_t port;
    size_t n = answer6(t, 22, 0x12);
    assert_int_equal(sv_syn_parse6(&KEY, &sc, DEV6, t, n, &a, &port), SV_SYN_OPEN);
    assert_false(ipaddr_is_v4(&a));
    assert_memory_equal(a.b, DEV6, 16);
    assert_int_equal(port, 22);
    n = answer6(t, 23, 0x14);
    assert_int_equal(sv_syn_parse6(&KEY, &sc, DEV6, t, n, &a, &port), SV_SYN_CLOSED);
    /* Every truncation, a wrong cookie, a wrong port, another source. */
    n = answer6(t, 22, 0x12);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(sv_syn_parse6(&KEY, &sc, DEV6, t, k, &a, &port), SV_SYN_IGNORE);
    put32(t + 8, be32(t + 8) + 1);
    assert_int_equal(sv_syn_parse6(&KEY, &sc, DEV6, t, n, &a, &port), SV_SYN_IGNORE);
    n = answer6(t, 22, 0x12);
    put16(t, 2222);
    assert_int_equal(sv_syn_parse6(&KEY, &sc, DEV6, t, n, &a, &port), SV_SYN_IGNORE);
    n = answer6(t, 22, 0x12);
    uint8_t other[16];
    memcpy(other, DEV6, 16);
    other[15] = 3;
    assert_int_equal(sv_syn_parse6(&KEY, &sc, other, t, n, &a, &port), SV_SYN_IGNORE);
    /* A valid cookie from the blocklisted address or from outside the scope. */
    static const uint8_t bad[2][16] = {{0xfd, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
                                       {0xfd, 0, 0, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
    for (int i = 0; i < 2; i++) {
        uint8_t probe[SV_SYN_TCP_LEN];
        sv_syn_build6(&KEY, bad[i], 22, probe);
        put16(t + 2, be16(probe));
        put32(t + 8, be32(probe + 4) + 1);
        assert_int_equal(sv_syn_parse6(&KEY, NULL, bad[i], t, n, &a, &port), SV_SYN_OPEN);
        assert_int_equal(sv_syn_parse6(&KEY, &sc, bad[i], t, n, &a, &port), SV_SYN_IGNORE);
    }
    sv_scope_release(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vector),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_build6),
        cmocka_unit_test(test_parse6),
        cmocka_unit_test_setup_teardown(test_parse_valid, lab_setup, lab_teardown),
        cmocka_unit_test_setup_teardown(test_parse_forged, lab_setup, lab_teardown),
        cmocka_unit_test_setup_teardown(test_parse_scope, lab_setup, lab_teardown),
        cmocka_unit_test_setup_teardown(test_parse_malformed, lab_setup, lab_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
