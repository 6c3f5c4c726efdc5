/* test_truth.c - the ground-truth loaders: each format from hand-written bytes, the label
 * rules (C&C variants, infected hosts, inbound attackers), and malformed input with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "detect/dtext.h"
#include "detect/truth.h"

static int load(const char *s, struct truth *t, struct truth_error *e)
{
    return truth_load_mem(s, strlen(s), NULL, t, e);
}

static void assert_ep(const struct truth_endpoint *e, const char *addr, uint16_t port,
                      uint8_t proto)
{
    char a[IPADDR_STRLEN];
    ipaddr_format(&e->addr, a, sizeof a);
    assert_string_equal(a, addr);
    assert_int_equal(e->port, port);
    assert_int_equal(e->proto, proto);
}

static const char zeek_csv[] =
    "ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration,orig_bytes,"
    "resp_bytes,conn_state,local_orig,local_resp,missed_bytes,history,orig_pkts,orig_ip_bytes,"
    "resp_pkts,resp_ip_bytes,tunnel_parents,label,detailed-label\n"
    "1545403816.962094,C1,192.168.1.195,41040,198.51.100.9,80,tcp,,3.1,0,0,S0,,,0,S,3,180,0,0,,"
    "Benign,-\n"
    "1545404132.353979,C2,192.168.1.195,41041,198.51.100.9,6667,tcp,,,,,S0,,,0,S,1,60,0,0,,"
    "Malicious,C&C\n"
    "1545404200.5,C3,192.168.1.7,41042,198.51.100.9,6667,tcp,,,,,S0,,,0,S,1,60,0,0,,"
    "Malicious,C&C-HeartBeat\n"
    "1545404100.000001,C4,192.168.1.195,41043,198.51.100.9,6667,tcp,,,,,S0,,,0,S,1,60,0,0,,"
    "Malicious,C&C-FileDownload\n"
    "1545404300,C5,192.168.1.8,5,203.0.113.5,23,tcp,,,,,S0,,,0,S,1,60,0,0,,"
    "Malicious,PartOfAHorizontalPortScan\n";

static void test_truth_zeek_csv_cc_variants(void **state)
{
    (void)state;
    struct truth t;
    struct truth_error e;
    assert_int_equal(load(zeek_csv, &t, &e), 0);
    assert_int_equal(t.format, TRUTH_ZEEK_CSV);
    assert_int_equal(t.n, 1);
    assert_ep(&t.ep[0], "198.51.100.9", 6667, 6);
    /* The earliest of the three C&C flows (the fraction truncated to ms), the latest. */
    assert_int_equal(t.ep[0].first_ms, 1545404100000ull);
    assert_int_equal(t.ep[0].last_ms, 1545404200500ull);
    assert_int_equal(t.ep[0].flows, 3);
    assert_int_equal(t.ep[0].clients, 2);
    /* Infected: the C&C clients and the scanner; not the benign flow's responder. */
    assert_int_equal(t.ninfected, 3);
    truth_release(&t);
}

static const char zeek_tsv[] =
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttunnel_parents   "
    "label   detailed-label\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tset[string]   string   string\n"
    "1655157610.743948\tC1\t167.94.146.67\t27620\t147.32.83.234\t2052\ttcp\t-   Malicious   "
    "External-Attack-to-Device\n"
    "1655157611.000\tC2\t10.0.0.5\t1234\t192.0.2.44\t0\ticmp\t-   Malicious   C&C\n"
    "1655157612.000\tC3\t10.0.0.5\t1235\t192.0.2.45\t443\tudp\t-   Benign   -\n"
    "#close\t2022-06-17-00-00-07\n";

static void test_truth_zeek_tsv_spaced_label_columns(void **state)
{
    (void)state;
    struct truth t;
    struct truth_error e;
    assert_int_equal(load(zeek_tsv, &t, &e), 0);
    assert_int_equal(t.format, TRUTH_ZEEK_TSV);
    assert_int_equal(t.n, 1);
    /* ICMP C&C: the endpoint is the address, with the protocol. */
    assert_ep(&t.ep[0], "192.0.2.44", 0, 1);
    /* The inbound external attacker is not an infected host of ours. */
    assert_int_equal(t.ninfected, 1);
    char a[IPADDR_STRLEN];
    assert_string_equal(ipaddr_format(&t.infected[0], a, sizeof a), "10.0.0.5");
    truth_release(&t);
}

static void test_truth_binetflow_cc_component(void **state)
{
    (void)state;
    const char *s =
        "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,"
        "SrcBytes,Label\n"
        "2011/08/10 09:46:53.047277,3.1,tcp,147.32.84.165,1027,   ->,60.190.223.75,888,"
        "SRPA_SPA,0,0,10,1000,500,flow=From-Botnet-V42-TCP-CC6-Plain-HTTP-Encrypted-Data\n"
        "2011/08/10 09:47:00.5,3.1,tcp,147.32.84.191,1027,   ->,60.190.223.75,888,"
        "SRPA_SPA,0,0,10,1000,500,flow=From-Botnet-V42-TCP-CC6-Plain-HTTP-Encrypted-Data\n"
        "2011/08/10 09:48:00,0.1,udp,147.32.84.165,1028,   <->,147.32.80.9,53,CON,0,0,2,100,"
        "50,flow=From-Botnet-V42-UDP-DNS\n"
        "2011/08/10 09:49:00,0.1,tcp,147.32.84.165,1029,   ->,192.0.2.80,80,S_,0,0,1,60,60,"
        "flow=From-Botnet-V42-TCP-Attempt-SPAM\n"
        "2011/08/10 09:50:00,0.1,tcp,147.32.84.200,1029,   ->,192.0.2.80,80,S_,0,0,1,60,60,"
        "flow=From-Normal-V42-CVUT-WebServer\n";
    struct truth t;
    struct truth_error e;
    assert_int_equal(load(s, &t, &e), 0);
    assert_int_equal(t.format, TRUTH_BINETFLOW);
    assert_int_equal(t.n, 1);
    assert_ep(&t.ep[0], "60.190.223.75", 888, 6);
    assert_int_equal(t.ep[0].first_ms, 1312969613047ull);
    assert_int_equal(t.ep[0].last_ms, 1312969620500ull);
    assert_int_equal(t.ep[0].clients, 2);
    assert_int_equal(t.ninfected, 2); /* the two From-Botnet sources, not the normal host */
    truth_release(&t);
}

static const char sim_json[] =
    "{\"generator\":\"botscope simulate\",\"simulated\":true,"
    "\"c2_servers\":[{\"id\":0,\"family\":\"mirai\",\"proto\":\"tcp\",\"port\":23,"
    "\"addresses\":["
    "{\"addr\":\"2.0.0.1\",\"first_ms\":1000,\"last_ms\":5000,\"bots\":[\"10.0.0.1\","
    "\"10.0.0.2\"]},"
    "{\"addr\":\"2.0.0.2\",\"first_ms\":5000,\"last_ms\":9000,\"bots\":[\"10.0.0.1\"]},"
    "{\"addr\":\"2.0.0.3\",\"first_ms\":9000,\"last_ms\":9500,\"bots\":[]}],"
    "\"report_server\":{\"addr\":\"2.0.0.9\",\"port\":48101},"
    "\"loader\":{\"addr\":\"2.0.0.10\",\"port\":80}}],"
    "\"infections\":[{\"addr\":\"10.0.0.1\",\"first_ms\":3000},"
    "{\"addr\":\"10.0.0.2\",\"first_ms\":2000},{\"addr\":\"10.0.0.3\",\"first_ms\":1}]}";

static void test_truth_sim_addresses_and_first_activity(void **state)
{
    (void)state;
    struct truth t;
    struct truth_error e;
    assert_int_equal(load(sim_json, &t, &e), 0);
    assert_int_equal(t.format, TRUTH_SIM);
    /* The address no bot used is left out: it left no flow to find. */
    assert_int_equal(t.n, 2);
    assert_ep(&t.ep[0], "2.0.0.1", 23, 6);
    /* In use from 1000, but its earliest bot was infected at 2000. */
    assert_int_equal(t.ep[0].first_ms, 2000);
    assert_int_equal(t.ep[0].clients, 2);
    assert_ep(&t.ep[1], "2.0.0.2", 23, 6);
    assert_int_equal(t.ep[1].first_ms, 5000);
    assert_int_equal(t.nrelated, 2);
    assert_int_equal(t.ninfected, 3);
    truth_release(&t);
}

static const char c2dev_json[] =
    "{\"scenarios\":[{\"name\":\"a\",\"cc_endpoints\":[{\"ip\":\"185.244.25.235\",\"port\":6667,"
    "\"proto\":\"tcp\",\"first_ts\":1545404132.353979,\"last_ts\":1545490213.942227,"
    "\"cc_flows\":6706,\"client_ips\":[\"192.168.1.195\"]}],"
    "\"infected_hosts\":[\"192.168.1.195\"]},"
    "{\"name\":\"b\",\"cc_endpoints\":[],\"infected_hosts\":[]}]}";

static void test_truth_c2dev_scenarios(void **state)
{
    (void)state;
    struct truth t;
    struct truth_error e;
    assert_int_equal(load(c2dev_json, &t, &e), 0);
    assert_int_equal(t.format, TRUTH_C2DEV);
    assert_int_equal(t.n, 1);
    assert_ep(&t.ep[0], "185.244.25.235", 6667, 6);
    assert_int_equal(t.ep[0].first_ms, 1545404132353ull);
    assert_int_equal(t.ep[0].flows, 6706);
    truth_release(&t);
    assert_int_equal(truth_load_mem(c2dev_json, strlen(c2dev_json), "b", &t, &e), 0);
    assert_int_equal(t.n, 0);
    truth_release(&t);
    assert_int_equal(truth_load_mem(c2dev_json, strlen(c2dev_json), "nope", &t, &e), BS_ENOTFOUND);
    assert_non_null(strstr(e.msg, "nope"));
}

struct bad_case {
    const char *in;
    int rc;
    unsigned long line;
    const char *words;
};

static void test_truth_malformed_names_line(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"hello world\n", BS_EUNSUPPORTED, 1, "unknown truth format"},
        {"", BS_EUNSUPPORTED, 1, "unknown"},
        {"{\"x\":1}", BS_EUNSUPPORTED, 0, "unknown truth"},
        {"{\"c2_servers\":[", BS_EPARSE, 1, "not valid JSON"},
        {"{\"c2_servers\":[{\"port\":99999,\"proto\":\"tcp\",\"addresses\":[]}]}", BS_EMALFORMED, 0,
         "c2_servers[0]"},
        {"ts,id.orig_h,id.resp_h,id.resp_p,proto,label,detailed-label\n"
         "1.0,10.0.0.1,192.0.2.1,80,tcp,Malicious,C&C\n"
         "2.0,10.0.0.1,192.0.2.1\n",
         BS_EMALFORMED, 3, "fields"},
        {"ts,id.orig_h,id.resp_h,id.resp_p,proto,label,detailed-label\n"
         "1.0,10.0.0.1,not-an-ip,80,tcp,Malicious,C&C\n",
         BS_EMALFORMED, 2, "not-an-ip"},
        {"ts,id.orig_h,id.resp_h,id.resp_p,proto,label,detailed-label\n"
         "x1.0,10.0.0.1,192.0.2.1,80,tcp,Malicious,C&C\n",
         BS_EMALFORMED, 2, "time"},
        {"ts,id.orig_h,id.resp_h,id.resp_p,proto,label,detailed-label\n"
         "1.0,10.0.0.1,192.0.2.1,70000,tcp,Malicious,C&C\n",
         BS_EMALFORMED, 2, "port"},
        {"ts,id.orig_h,id.resp_h,id.resp_p,proto\n1,10.0.0.1,192.0.2.1,80,tcp\n", BS_EMALFORMED, 1,
         "label"},
        {"#separator \\x09\n1.0\t10.0.0.1\n", BS_EMALFORMED, 2, "before the #fields"},
        {"#separator \\x0\n", BS_EMALFORMED, 1, "separator"},
        {"StartTime,Proto,SrcAddr,DstAddr,Dport,Label\n"
         "2011/08/10 09:46:53,tcp,147.32.84.165,60.190.223.75,888,\"flow=From-Botnet-CC\n",
         BS_EMALFORMED, 2, "split"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct truth t;
        struct truth_error e;
        int rc = load(cases[i].in, &t, &e);
        if (rc != cases[i].rc || e.line != cases[i].line || !strstr(e.msg, cases[i].words))
            fail_msg("case %zu: rc %d line %lu msg '%s'", i, rc, e.line, e.msg);
        assert_null(t.ep);
    }
}

static void test_truth_line_cap(void **state)
{
    (void)state;
    static char big[TRUTH_MAX_LINE + 200];
    const char *h = "ts,id.orig_h,id.resp_h,id.resp_p,proto,label,detailed-label\n";
    size_t n = strlen(h);
    memcpy(big, h, n);
    memset(big + n, 'a', sizeof big - n - 1);
    struct truth t;
    struct truth_error e;
    assert_int_equal(truth_load_mem(big, sizeof big - 1, NULL, &t, &e), BS_EMALFORMED);
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(e.msg, "longer"));
}

static void test_dtext_split_quotes(void **state)
{
    (void)state;
    char line[] = "\"2023-01-01 00:00:00\", \"1.2.3.4:80\", \"a \"\"b\"\"\",x,";
    char *f[8];
    assert_int_equal(dtext_split(line, ',', 1, f, 8), 5);
    assert_string_equal(f[0], "2023-01-01 00:00:00");
    assert_string_equal(f[1], "1.2.3.4:80");
    assert_string_equal(f[2], "a \"b\"");
    assert_string_equal(f[3], "x");
    assert_string_equal(f[4], "");
    char bad[] = "\"open, x";
    assert_int_equal(dtext_split(bad, ',', 1, f, 8), BS_EPARSE);
    uint64_t ms;
    assert_int_equal(dtext_utc_ms("2018-12-21 14:55:32 UTC", &ms), 0);
    assert_int_equal(ms, 1545404132000ull);
    assert_int_equal(dtext_utc_ms("2018-12-21T14:55:32.353Z", &ms), 0);
    assert_int_equal(ms, 1545404132353ull);
    assert_int_equal(dtext_utc_ms("1545404132353", &ms), BS_EPARSE);
    struct ipaddr a;
    uint16_t p;
    assert_int_equal(dtext_addr_port("[2001:db8::1]:443", &a, &p), 0);
    assert_int_equal(p, 443);
    assert_int_equal(dtext_addr_port("2001:db8::1", &a, &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(dtext_addr_port("1.2.3.4:65536", &a, &p), BS_EPARSE);
    assert_int_equal(dtext_addr_port("1.2.3.4:", &a, &p), BS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truth_zeek_csv_cc_variants),
        cmocka_unit_test(test_truth_zeek_tsv_spaced_label_columns),
        cmocka_unit_test(test_truth_binetflow_cc_component),
        cmocka_unit_test(test_truth_sim_addresses_and_first_activity),
        cmocka_unit_test(test_truth_c2dev_scenarios),
        cmocka_unit_test(test_truth_malformed_names_line),
        cmocka_unit_test(test_truth_line_cap),
        cmocka_unit_test(test_dtext_split_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
