/* Unit tests for the importers (src/store/import.c, import_tcp.c): nfdump CSV, Zeek TSV, CSV
 * and JSON, Argus binetflow; the TCP flag unions per direction and the direction split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/flow.h"
#include "store/import.h"
#include "store/import_tcp.h"

enum {
    FIN = 0x01,
    SYN = 0x02,
    RST = 0x04,
    PSH = 0x08,
    ACK = 0x10,
    URG = 0x20,
    ECE = 0x40,
    CWR = 0x80
};

/* ---- importers ------------------------------------------------------------------------- */

static int line(struct import_ctx *c, const char *text, struct flow_rec out[2])
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", text);
    return import_line(c, buf, out);
}

static void test_import_nfdump_csv_header_records_and_summary(void **state)
{
    (void)state;
    struct import_ctx c;
    struct flow_rec r[2];
    import_init(&c, IMPORT_NFDUMP_CSV);
    assert_int_equal(line(&c,
                          "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,"
                          "sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,"
                          "mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,"
                          "sl,al,ra,eng,exid,tr",
                          r),
                     0);
    assert_int_equal(
        line(&c,
             "2024-01-02 03:04:05.250,2024-01-02 03:04:07.000,1.750,192.0.2.1,198.51.100.7,"
             "40000,23,TCP,...A..S.,0,0,3,180,0,0,2,3,64500,64501,24,16,0,0,0.0.0.0,"
             "0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,"
             "00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,"
             "    0.000,    0.000,    0.000,10.0.0.1,0/0,1,2024-01-02 03:05:00.000",
             r),
        1);
    assert_int_equal(r[0].start_ms, 1704164645250ull);
    assert_int_equal(r[0].end_ms, 1704164647000ull);
    assert_int_equal(r[0].dst_port, 23);
    assert_int_equal(r[0].proto, 6);
    assert_int_equal(r[0].tcp_flags, 0x12);
    assert_int_equal(r[0].packets, 3);
    assert_int_equal(r[0].bytes, 180);
    assert_int_equal(r[0].src_as, 64500);
    assert_int_equal(ipaddr_v4(&r[0].exporter), 0x0a000001);
    /* ICMP type.code */
    assert_int_equal(
        line(&c,
             "2024-01-02 03:04:05,2024-01-02 03:04:05,0.000,192.0.2.1,198.51.100.7,0,8.0,"
             "ICMP,........,0,0,1,84,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,x,x,x,x,a,a,a,"
             "a,a,a,a,a,a,a,0,0,0,127.0.0.1,0/0,1,x",
             r),
        1);
    assert_int_equal(r[0].dst_port, 0x0800);
    /* Bad lines are rejected with a reason. */
    assert_int_equal(line(&c, "2024-01-02 03:04:05,only,three", r), BS_EPARSE);
    assert_non_null(strstr(c.err, "fields"));
    /* The trailer is not data. */
    assert_int_equal(line(&c, "Summary", r), 0);
    assert_int_equal(line(&c, "flows,bytes,packets,avg_bps,avg_pps,avg_bpp", r), 0);
    assert_int_equal(line(&c, "2,299,2,0,0,149", r), 0);
}

static void test_import_zeek_tsv_and_json_make_both_directions(void **state)
{
    (void)state;
    struct import_ctx c;
    struct flow_rec r[2];
    import_init(&c, IMPORT_ZEEK);
    assert_int_equal(line(&c, "#separator \\x09", r), 0);
    assert_int_equal(line(&c,
                          "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
                          "proto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\t"
                          "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes",
                          r),
                     0);
    assert_int_equal(line(&c,
                          "1300475167.096535\tCx\t141.142.220.202\t5353\t224.0.0.251\t5353\t"
                          "udp\tdns\t-\t-\t-\tS0\t1\t73\t0\t0",
                          r),
                     1);
    assert_int_equal(r[0].start_ms, 1300475167097ull);
    assert_int_equal(r[0].proto, 17);
    assert_int_equal(r[0].bytes, 73);
    assert_int_equal(line(&c,
                          "1300475168.5\tCy\t10.0.0.1\t40000\t10.0.0.2\t80\ttcp\thttp\t2.5\t"
                          "100\t2000\tSF\t5\t300\t4\t2200",
                          r),
                     2);
    assert_int_equal(r[0].end_ms - r[0].start_ms, 2500);
    assert_int_equal(ipaddr_v4(&r[1].src), 0x0a000002);
    assert_int_equal(r[1].src_port, 80);
    assert_int_equal(r[1].dst_port, 40000);
    assert_int_equal(r[1].packets, 4);
    assert_int_equal(r[1].bytes, 2200);
    assert_int_equal(line(&c,
                          "1300475168.5\tCy\tnot-an-ip\t1\t10.0.0.2\t80\ttcp\t-\t-\t-\t-\t"
                          "S0\t1\t40\t0\t0",
                          r),
                     BS_EPARSE);
    import_init(&c, IMPORT_ZEEK);
    assert_int_equal(
        line(&c,
             "{\"ts\":1591367999.305988,\"uid\":\"C\",\"id.orig_h\":\"192.168.4.76\","
             "\"id.orig_p\":36844,\"id.resp_h\":\"192.168.4.1\",\"id.resp_p\":53,"
             "\"proto\":\"udp\",\"service\":\"dns\",\"tunnel_parents\":[\"a\",\"b\"],"
             "\"orig_pkts\":1,\"orig_ip_bytes\":76,\"resp_pkts\":1,\"resp_ip_bytes\":92}",
             r),
        2);
    assert_int_equal(r[0].dst_port, 53);
    assert_int_equal(r[1].bytes, 92);
    assert_int_equal(line(&c, "{\"ts\":1591367999.3,\"id.orig_h\":", r), BS_EPARSE);
}

static void test_import_binetflow_icmp_hex_ports_and_split(void **state)
{
    (void)state;
    struct import_ctx c;
    struct flow_rec r[2];
    import_init(&c, IMPORT_BINETFLOW);
    assert_int_equal(line(&c,
                          "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,"
                          "dTos,TotPkts,TotBytes,SrcBytes,Label",
                          r),
                     0);
    /* SYN answered by RST+ACK: 4 packets, 156 of 276 bytes from the source. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:46:59.607825,1.026539,tcp,94.44.127.113,1577,   ->,"
                          "147.32.84.59,6881,S_RA,0,0,4,276,156,flow=Background",
                          r),
                     2);
    assert_int_equal(r[0].start_ms, 1312969619607ull);
    assert_int_equal(r[0].end_ms - r[0].start_ms, 1027);
    assert_int_equal(ipaddr_v4(&r[0].src), 0x5e2c7f71);
    assert_int_equal(r[0].packets, 2);
    assert_int_equal(r[0].bytes, 156);
    assert_int_equal(r[0].tcp_flags, SYN);
    assert_int_equal(ipaddr_v4(&r[1].src), 0x9320543b);
    assert_int_equal(r[1].src_port, 6881);
    assert_int_equal(r[1].dst_port, 1577);
    assert_int_equal(r[1].packets, 2);
    assert_int_equal(r[1].bytes, 120);
    assert_int_equal(r[1].tcp_flags, RST | ACK);
    assert_int_equal(r[1].start_ms, r[0].start_ms);
    /* ICMP: type in Sport, code in Dport; all bytes from SrcAddr, so one record from it, even
     * though Dir says the destination began. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00.1,0,icmp,147.32.84.165,0x0008,  <-,"
                          "147.32.80.9,0x0000,ECO,0,,1,98,98,flow=From-Botnet",
                          r),
                     1);
    assert_int_equal(r[0].proto, 1);
    assert_int_equal(r[0].dst_port, 0x0800);
    assert_int_equal(r[0].src_port, 0);
    assert_int_equal(ipaddr_v4(&r[0].src), 0x932054a5);
    assert_int_equal(r[0].tcp_flags, 0);
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00.1,0,tcp,1.2.3.4,99999,->,5.6.7.8,1,S,0,0,1,"
                          "1,1,x",
                          r),
                     BS_EPARSE);
}

/* ---- TCP flags from Zeek and Argus states ------------------------------------------------ */

static void test_import_zeek_history_letters_map_to_each_side(void **state)
{
    (void)state;
    static const struct {
        const char *history;
        uint8_t orig, resp;
    } cases[] = {
        {"S", SYN, 0},
        {"Sr", SYN, RST | ACK}, /* REJ: the RST answering a SYN carries ACK */
        {"Srr", SYN, RST | ACK},
        {"ShR", SYN | RST, SYN | ACK}, /* orig RST after SYN+ACK: no ACK added */
        {"ShAdDaf", SYN | ACK | PSH, SYN | ACK | PSH | FIN},
        {"ShADadfF", SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN},
        {"ShAdfDr", SYN | ACK | PSH, SYN | ACK | PSH | FIN | RST},
        {"ShADadtcfF", SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN},
        {"D", ACK | PSH, 0},
        {"Dd", ACK | PSH, ACK | PSH},
        {"h", 0, SYN | ACK},
        {"C", 0, 0}, /* bad checksums only: nothing trusted */
        {"^hADd", ACK | PSH, SYN | ACK | PSH},
        {"SW", SYN | ACK, 0},
        {"SwGg", SYN | ACK, ACK},
        {"I", FIN | RST, 0},
        {"Q", SYN, 0},
        {"Tt", ACK | PSH, ACK | PSH},
        {"Sx", SYN, 0}, /* unknown letters add nothing */
        {"r", 0, RST},  /* a RST with no SYN before it: no ACK invented */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t o = 0xff, r = 0xff;
        /* A history overrides the state; S1 would say SYN+ACK on both sides. */
        assert_int_equal(import_zeek_flags("S1", cases[i].history, 10, 10, &o, &r), 0);
        if (o != cases[i].orig || r != cases[i].resp)
            fail_msg("history %s: orig 0x%02x resp 0x%02x, want 0x%02x 0x%02x", cases[i].history, o,
                     r, cases[i].orig, cases[i].resp);
    }
    uint8_t o = 0xff, r = 0xff;
    assert_int_equal(import_zeek_flags("S0", "S1", 0, 0, &o, &r), BS_EPARSE);
    assert_int_equal(o, 0);
    assert_int_equal(r, 0);
    assert_int_equal(import_zeek_flags("S0", "S h", 0, 0, &o, &r), BS_EPARSE);
}

static void test_import_zeek_conn_state_without_history(void **state)
{
    (void)state;
    static const struct {
        const char *st;
        uint8_t orig, resp;
    } cases[] = {
        {"S0", SYN, 0},
        {"REJ", SYN, RST | ACK},
        {"S1", SYN | ACK, SYN | ACK},
        {"SF", SYN | ACK | FIN, SYN | ACK | FIN},
        {"S2", SYN | ACK | FIN, SYN | ACK},
        {"S3", SYN | ACK, SYN | ACK | FIN},
        {"RSTO", SYN | ACK | RST, SYN | ACK},
        {"RSTR", SYN | ACK, SYN | ACK | RST},
        {"RSTOS0", SYN | RST, 0},
        {"RSTRH", 0, SYN | ACK | RST},
        {"SH", SYN | FIN, 0},
        {"SHR", 0, SYN | ACK | FIN},
        {"OTH", ACK, ACK},
        {"NOPE", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static const char *const none[] = {NULL, "", "-", "(empty)"};
        for (size_t h = 0; h < 4; h++) {
            uint8_t o = 0xff, r = 0xff;
            assert_int_equal(import_zeek_flags(cases[i].st, none[h], 0, 0, &o, &r), 0);
            if (o != cases[i].orig || r != cases[i].resp)
                fail_msg("state %s: orig 0x%02x resp 0x%02x", cases[i].st, o, r);
        }
    }
    /* Payload adds PSH (and ACK) on the side that sent it, never flags on a silent side. */
    uint8_t o, r;
    assert_int_equal(import_zeek_flags("SF", NULL, 100, 0, &o, &r), 0);
    assert_int_equal(o, SYN | ACK | FIN | PSH);
    assert_int_equal(r, SYN | ACK | FIN);
    assert_int_equal(import_zeek_flags("S0", NULL, 0, 100, &o, &r), 0);
    assert_int_equal(o, SYN);
    assert_int_equal(r, 0);
    assert_int_equal(import_zeek_flags(NULL, NULL, 5, 5, &o, &r), 0);
    assert_int_equal(o | r, 0);
}

static void test_import_argus_states_map_to_each_side(void **state)
{
    (void)state;
    static const struct {
        const char *st;
        uint8_t src, dst;
    } cases[] = {
        {"S_", SYN, 0},
        {"S_RA", SYN, RST | ACK},
        {"S_SA", SYN, SYN | ACK},
        {"FSPA_FSPA", FIN | SYN | PSH | ACK, FIN | SYN | PSH | ACK},
        {"SPA_SPA", SYN | PSH | ACK, SYN | PSH | ACK},
        {"_FA", 0, FIN | ACK},
        {"_", 0, 0},
        {"SEC_RA", SYN | ECE | CWR, RST | ACK},
        {"FRPAU_FA", FIN | RST | PSH | ACK | URG, FIN | ACK},
        {"REQ", SYN, 0},
        {"ACC", SYN, SYN | ACK},
        {"CON", ACK, ACK},
        {"CLO", FIN | ACK, FIN | ACK},
        {"FIN", FIN | ACK, 0},
        {"RST", RST, 0},
        {"INT", 0, 0},
        {"ECO", 0, 0},
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t s = 0xff, d = 0xff;
        assert_int_equal(import_argus_flags(cases[i].st, &s, &d), 0);
        if (s != cases[i].src || d != cases[i].dst)
            fail_msg("state %s: src 0x%02x dst 0x%02x", cases[i].st, s, d);
    }
    static const char *const bad_states[] = {"S_X", "S_A_R", "s_ra", "S _RA", "SA_1"};
    for (size_t i = 0; i < sizeof bad_states / sizeof bad_states[0]; i++) {
        uint8_t s = 0xff, d = 0xff;
        assert_int_equal(import_argus_flags(bad_states[i], &s, &d), BS_EPARSE);
        assert_int_equal(s | d, 0);
    }
    uint8_t s, d;
    assert_int_equal(import_argus_flags(NULL, &s, &d), 0);
    assert_int_equal(s | d, 0);
}

/* ---- the direction split ----------------------------------------------------------------- */

#define IOT23_HEADER                                                                               \
    "ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration,orig_bytes,"            \
    "resp_bytes,conn_state,local_orig,local_resp,missed_bytes,history,orig_pkts,"                  \
    "orig_ip_bytes,resp_pkts,resp_ip_bytes,tunnel_parents,label,detailed-label"

static void test_import_zeek_csv_rows_split_with_flags(void **state)
{
    (void)state;
    struct import_ctx c;
    struct flow_rec r[2];
    import_init(&c, IMPORT_ZEEK);
    /* A row before the header has no columns to go by. */
    assert_int_equal(line(&c,
                          "1545403816.962094,C,192.168.1.195,41040,185.244.25.235,6667,tcp,,"
                          ",,,S0,,,0,S,1,60,0,0,,Benign,-",
                          r),
                     BS_EPARSE);
    assert_int_equal(line(&c, IOT23_HEADER, r), 0);
    /* S0: SYN only, unanswered: one record, flags SYN; empty fields are unset. */
    assert_int_equal(line(&c,
                          "1545404132.353979,C1,192.168.1.195,41040,185.244.25.235,6667,tcp,"
                          ",3.139211,0,0,S0,,,0,S,3,180,0,0,,Malicious,C&C",
                          r),
                     1);
    assert_int_equal(r[0].proto, 6);
    assert_int_equal(r[0].dst_port, 6667);
    assert_int_equal(r[0].packets, 3);
    assert_int_equal(r[0].bytes, 180);
    assert_int_equal(r[0].tcp_flags, SYN);
    assert_int_equal(r[0].start_ms, 1545404132354ull);
    assert_int_equal(r[0].end_ms - r[0].start_ms, 3139);
    /* S3 with history: both directions, each with its own counts and flags. */
    assert_int_equal(line(&c,
                          "1545404140.1,C2,192.168.1.195,41050,185.244.25.235,6667,tcp,irc,"
                          "100.5,149,1280,S3,,,0,ShAdDaf,10,700,8,1700,,Malicious,C&C",
                          r),
                     2);
    assert_int_equal(r[0].tcp_flags, SYN | ACK | PSH);
    assert_int_equal(r[0].packets, 10);
    assert_int_equal(r[0].bytes, 700);
    assert_int_equal(ipaddr_v4(&r[1].src), 0xb9f419eb);
    assert_int_equal(r[1].src_port, 6667);
    assert_int_equal(r[1].dst_port, 41050);
    assert_int_equal(r[1].packets, 8);
    assert_int_equal(r[1].bytes, 1700);
    assert_int_equal(r[1].tcp_flags, SYN | ACK | PSH | FIN);
    /* Bad checksums only (OTH, "C", no packets): the connection still counts once. */
    assert_int_equal(line(&c,
                          "1545404141,C3,192.168.1.195,0,10.0.0.9,80,tcp,,,,,OTH,,,0,C,0,0,"
                          "0,0,,Malicious,DDoS",
                          r),
                     1);
    assert_int_equal(r[0].packets, 0);
    assert_int_equal(r[0].tcp_flags, 0);
    assert_int_equal(ipaddr_v4(&r[0].src), 0xc0a801c3);
    /* Only the responder sent packets (SYN+ACK seen, no SYN): its record only. */
    assert_int_equal(line(&c,
                          "1545404142,C4,10.0.0.1,40000,10.0.0.2,443,tcp,,,,,OTH,,,0,h,0,0,"
                          "1,44,,Benign,-",
                          r),
                     1);
    assert_int_equal(ipaddr_v4(&r[0].src), 0x0a000002);
    assert_int_equal(r[0].src_port, 443);
    assert_int_equal(r[0].packets, 1);
    assert_int_equal(r[0].tcp_flags, SYN | ACK);
    /* UDP: Zeek's S0 and history letters are not TCP flags. */
    assert_int_equal(line(&c,
                          "1537522897.732295,C5,192.168.2.1,5353,224.0.0.251,5353,udp,dns,,,"
                          ",S0,,,0,D,1,391,0,0,,benign,-",
                          r),
                     1);
    assert_int_equal(r[0].proto, 17);
    assert_int_equal(r[0].tcp_flags, 0);
    /* IPv6 addresses and a wrong field count. */
    assert_int_equal(line(&c,
                          "1537522897.7,C6,fe80::1,5353,ff02::fb,5353,udp,dns,,,,S0,,,0,D,1,"
                          "411,0,0,,benign,-",
                          r),
                     1);
    assert_int_equal(line(&c, "1537522897.7,C7,10.0.0.1,1,10.0.0.2,2,tcp", r), BS_EPARSE);
    /* A history with a character Zeek never writes makes the line bad, with a reason. */
    assert_int_equal(line(&c,
                          "1545404142,C8,10.0.0.1,40000,10.0.0.2,443,tcp,,,,,SF,,,0,Sh4,1,"
                          "60,1,60,,Benign,-",
                          r),
                     BS_EPARSE);
    assert_non_null(strstr(c.err, "history"));
    /* A #fields header switches back to tabs. */
    assert_int_equal(line(&c,
                          "#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
                          "conn_state\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes",
                          r),
                     0);
    assert_int_equal(line(&c,
                          "1655157610.7\t167.94.146.67\t27620\t147.32.83.234\t2052\ttcp\tREJ"
                          "\t1\t44\t1\t40",
                          r),
                     2);
    assert_int_equal(r[0].tcp_flags, SYN);
    assert_int_equal(r[1].tcp_flags, RST | ACK);
}

static void test_import_binetflow_split_rules(void **state)
{
    (void)state;
    struct import_ctx c;
    struct flow_rec r[2];
    import_init(&c, IMPORT_BINETFLOW);
    /* No header: the CTU-13 column order is assumed. One packet with bytes on both sides
     * cannot be split and stays whole. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,0,tcp,10.0.0.1,1000,->,10.0.0.2,80,S_RA,0,0,"
                          "1,100,60,x",
                          r),
                     1);
    assert_int_equal(r[0].packets, 1);
    assert_int_equal(r[0].bytes, 100);
    assert_int_equal(r[0].tcp_flags, SYN);
    /* Packets shared by bytes: 10 packets, 1000 of 10000 bytes from the source -> 1 and 9. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,<->,10.0.0.2,80,"
                          "FSPA_FSPA,0,0,10,10000,1000,x",
                          r),
                     2);
    assert_int_equal(r[0].packets, 1);
    assert_int_equal(r[0].bytes, 1000);
    assert_int_equal(r[1].packets, 9);
    assert_int_equal(r[1].bytes, 9000);
    assert_int_equal(r[0].tcp_flags, FIN | SYN | PSH | ACK);
    /* Dir "<-": the destination's record first; both keep their own counters. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,  <-,10.0.0.2,80,SA_S,0,0,"
                          "2,120,60,x",
                          r),
                     2);
    assert_int_equal(ipaddr_v4(&r[0].src), 0x0a000002);
    assert_int_equal(r[0].tcp_flags, SYN);
    assert_int_equal(r[0].packets, 1);
    assert_int_equal(r[0].bytes, 60);
    assert_int_equal(ipaddr_v4(&r[1].src), 0x0a000001);
    assert_int_equal(r[1].tcp_flags, SYN | ACK);
    /* Only the destination sent bytes. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,->,10.0.0.2,80,_RA,0,0,"
                          "1,54,0,x",
                          r),
                     1);
    assert_int_equal(ipaddr_v4(&r[0].src), 0x0a000002);
    assert_int_equal(r[0].tcp_flags, RST | ACK);
    /* Inconsistent counts and states are bad lines, with a reason. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,->,10.0.0.2,80,S_,0,0,"
                          "1,54,60,x",
                          r),
                     BS_EPARSE);
    assert_non_null(strstr(c.err, "SrcBytes"));
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,->,10.0.0.2,80,S_Z,0,0,"
                          "1,60,60,x",
                          r),
                     BS_EPARSE);
    assert_non_null(strstr(c.err, "state"));
    /* UDP: State says nothing about TCP flags, whatever it is. */
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,udp,10.0.0.1,1000,<->,10.0.0.2,53,S_RA,0,0,"
                          "2,200,80,x",
                          r),
                     2);
    assert_int_equal(r[0].tcp_flags | r[1].tcp_flags, 0);

    /* Per-side packet and byte columns are used as given. */
    import_init(&c, IMPORT_BINETFLOW);
    assert_int_equal(line(&c,
                          "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,"
                          "TotPkts,TotBytes,SrcPkts,DstPkts,SrcBytes,DstBytes",
                          r),
                     0);
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,->,10.0.0.2,80,SPA_SPA,"
                          "10,10000,7,3,1000,9000",
                          r),
                     2);
    assert_int_equal(r[0].packets, 7);
    assert_int_equal(r[1].packets, 3);
    assert_int_equal(r[1].bytes, 9000);
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,->,10.0.0.2,80,SPA_SPA,"
                          "10,10000,11,,1000,9000",
                          r),
                     BS_EPARSE);

    /* Without per-side columns: one record, totals and both sides' flags, reversed by "<-". */
    import_init(&c, IMPORT_BINETFLOW);
    assert_int_equal(line(&c,
                          "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,"
                          "TotPkts,TotBytes",
                          r),
                     0);
    assert_int_equal(line(&c,
                          "2011/08/10 09:47:00,1,tcp,10.0.0.1,1000,  <-,10.0.0.2,80,S_RA,"
                          "2,114",
                          r),
                     1);
    assert_int_equal(ipaddr_v4(&r[0].src), 0x0a000002);
    assert_int_equal(r[0].src_port, 80);
    assert_int_equal(r[0].packets, 2);
    assert_int_equal(r[0].tcp_flags, SYN | RST | ACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_nfdump_csv_header_records_and_summary),
        cmocka_unit_test(test_import_zeek_tsv_and_json_make_both_directions),
        cmocka_unit_test(test_import_binetflow_icmp_hex_ports_and_split),
        cmocka_unit_test(test_import_zeek_history_letters_map_to_each_side),
        cmocka_unit_test(test_import_zeek_conn_state_without_history),
        cmocka_unit_test(test_import_argus_states_map_to_each_side),
        cmocka_unit_test(test_import_zeek_csv_rows_split_with_flags),
        cmocka_unit_test(test_import_binetflow_split_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
