/* decode_bench.c - single-core decode throughput of flowdec_decode() for NetFlow v5, v9, IPFIX
 * and sFlow v5 on synthetic datagrams built in memory (nothing is sent anywhere).
 *
 * v9 and IPFIX use a Cisco-like 20-field template (fixed lengths) and 30 records per datagram;
 * v5 has 30 records; sFlow has 10 flow samples with a 54-byte raw Ethernet/IPv4/TCP header.
 * Usage: decode_bench [SECONDS_PER_CASE] (default 2). Build with -DCMAKE_BUILD_TYPE=Release
 * and without sanitizers for meaningful numbers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "proto/flowdec.h"

struct wb {
    uint8_t b[4096];
    size_t n;
};

static void w8(struct wb *w, unsigned v)
{
    w->b[w->n++] = (uint8_t)v;
}
static void w16(struct wb *w, unsigned v)
{
    w8(w, v >> 8);
    w8(w, v & 0xff);
}
static void w32(struct wb *w, uint32_t v)
{
    w16(w, v >> 16);
    w16(w, v & 0xffff);
}
static void w64(struct wb *w, uint64_t v)
{
    w32(w, (uint32_t)(v >> 32));
    w32(w, (uint32_t)v);
}
static void wpatch16(struct wb *w, size_t at, unsigned v)
{
    w->b[at] = (uint8_t)(v >> 8);
    w->b[at + 1] = (uint8_t)v;
}

#define NREC 30
#define SECS 1700000000u

/* (id, length) of the v9 template: 20 fields, 47 bytes per record */
static const uint16_t v9_fields[][2] = {
    {1, 4},  {2, 4},  {4, 1},  {5, 1},  {6, 1},  {7, 2},  {8, 4},  {9, 1},  {10, 2}, {11, 2},
    {12, 4}, {13, 1}, {14, 2}, {15, 4}, {16, 2}, {17, 2}, {21, 4}, {22, 4}, {61, 1}, {60, 1},
};
/* IPFIX: 64-bit counters and absolute millisecond times */
static const uint16_t ipfix_fields[][2] = {
    {1, 8},  {2, 8},  {4, 1},  {5, 1},  {6, 1},  {7, 2},  {8, 4},   {9, 1},   {10, 4}, {11, 2},
    {12, 4}, {13, 1}, {14, 4}, {15, 4}, {16, 4}, {17, 4}, {152, 8}, {153, 8}, {61, 1}, {60, 1},
};
#define NFIELDS 20

static void put_field(struct wb *w, unsigned id, unsigned len, unsigned i)
{
    switch (id) {
    case 8:
        w32(w, 0x0a000000u + i);
        return;
    case 12:
        w32(w, 0xc0a80000u + (i * 7919u & 0xffff));
        return;
    case 4:
        w8(w, 6);
        return;
    case 152:
        w64(w, (uint64_t)SECS * 1000 - 5000 + i);
        return;
    case 153:
        w64(w, (uint64_t)SECS * 1000 - 100 + i);
        return;
    case 21:
        w32(w, 99000 + i);
        return;
    case 22:
        w32(w, 90000 + i);
        return;
    default:
        for (unsigned k = 0; k < len; k++)
            w8(w, k + 1 == len ? (id + i) & 0xff : 0);
    }
}

static void build_v5(struct wb *w)
{
    w->n = 0;
    w16(w, 5), w16(w, NREC), w32(w, 100000), w32(w, SECS), w32(w, 0), w32(w, 1);
    w8(w, 0), w8(w, 0), w16(w, 0);
    for (unsigned i = 0; i < NREC; i++) {
        w32(w, 0x0a000000u + i), w32(w, 0xc0a80001u), w32(w, 0x0a0000feu);
        w16(w, 1), w16(w, 2), w32(w, 10 + i), w32(w, 1500 + i), w32(w, 90000), w32(w, 99000);
        w16(w, 1024 + i), w16(w, 443), w8(w, 0), w8(w, 0x18), w8(w, 6), w8(w, 0);
        w16(w, 64500), w16(w, 64501), w8(w, 24), w8(w, 24), w16(w, 0);
    }
}

static void build_v9(struct wb *tpl, struct wb *data)
{
    tpl->n = 0;
    w16(tpl, 9), w16(tpl, 1), w32(tpl, 100000), w32(tpl, SECS), w32(tpl, 0), w32(tpl, 0);
    w16(tpl, 0), w16(tpl, 4 + 4 + 4 * NFIELDS), w16(tpl, 256), w16(tpl, NFIELDS);
    for (unsigned f = 0; f < NFIELDS; f++)
        w16(tpl, v9_fields[f][0]), w16(tpl, v9_fields[f][1]);
    data->n = 0;
    w16(data, 9), w16(data, NREC), w32(data, 100000), w32(data, SECS), w32(data, 1);
    w32(data, 0);
    size_t at = data->n;
    w16(data, 256), w16(data, 0);
    for (unsigned i = 0; i < NREC; i++)
        for (unsigned f = 0; f < NFIELDS; f++)
            put_field(data, v9_fields[f][0], v9_fields[f][1], i);
    while ((data->n - at) % 4)
        w8(data, 0);
    wpatch16(data, at + 2, (unsigned)(data->n - at));
}

static void build_ipfix(struct wb *tpl, struct wb *data)
{
    tpl->n = 0;
    w16(tpl, 10), w16(tpl, 0), w32(tpl, SECS), w32(tpl, 0), w32(tpl, 0);
    w16(tpl, 2), w16(tpl, 4 + 4 + 4 * NFIELDS), w16(tpl, 256), w16(tpl, NFIELDS);
    for (unsigned f = 0; f < NFIELDS; f++)
        w16(tpl, ipfix_fields[f][0]), w16(tpl, ipfix_fields[f][1]);
    wpatch16(tpl, 2, (unsigned)tpl->n);
    data->n = 0;
    w16(data, 10), w16(data, 0), w32(data, SECS), w32(data, 0), w32(data, 0);
    size_t at = data->n;
    w16(data, 256), w16(data, 0);
    for (unsigned i = 0; i < NREC; i++)
        for (unsigned f = 0; f < NFIELDS; f++)
            put_field(data, ipfix_fields[f][0], ipfix_fields[f][1], i);
    wpatch16(data, at + 2, (unsigned)(data->n - at));
    wpatch16(data, 2, (unsigned)data->n);
}

#define NSFLOW 10

static void build_sflow(struct wb *w)
{
    w->n = 0;
    w32(w, 5), w32(w, 1), w32(w, 0x7f000001u), w32(w, 0), w32(w, 1), w32(w, 100000);
    w32(w, NSFLOW);
    for (unsigned i = 0; i < NSFLOW; i++) {
        /* flow sample (enterprise 0, format 1) with one raw packet header record */
        w32(w, 1);
        size_t len_at = w->n;
        w32(w, 0);
        size_t start = w->n;
        w32(w, i), w32(w, 3), w32(w, 1024), w32(w, 1024 * i), w32(w, 0), w32(w, 3), w32(w, 4);
        w32(w, 1);
        w32(w, 1), w32(w, 16 + 56); /* raw packet header, record length */
        w32(w, 1), w32(w, 1514), w32(w, 4), w32(w, 54);
        /* Ethernet */
        for (int k = 0; k < 12; k++)
            w8(w, k);
        w16(w, 0x0800);
        /* IPv4 */
        w8(w, 0x45), w8(w, 0), w16(w, 1500), w16(w, 0), w16(w, 0x4000), w8(w, 64), w8(w, 6);
        w16(w, 0), w32(w, 0x0a000000u + i), w32(w, 0xc0a80001u);
        /* TCP */
        w16(w, 1024 + i), w16(w, 443), w32(w, 1), w32(w, 0), w8(w, 0x50), w8(w, 0x18);
        w16(w, 1000), w16(w, 0), w16(w, 0);
        w16(w, 0); /* pad 54 -> 56 */
        uint32_t l = (uint32_t)(w->n - start);
        w->b[len_at] = (uint8_t)(l >> 24), w->b[len_at + 1] = (uint8_t)(l >> 16);
        w->b[len_at + 2] = (uint8_t)(l >> 8), w->b[len_at + 3] = (uint8_t)l;
    }
}

static void sum_emit(void *arg, const struct flow_rec *r)
{
    uint64_t *s = arg;
    *s += r->packets ^ r->src_port;
}

static void run(const char *name, const struct wb *tpl, const struct wb *data, double secs)
{
    struct flowdec_exporter *ex = NULL;
    struct ipaddr a;
    uint64_t sum = 0;
    struct flow_sink sink = {sum_emit, &sum};
    struct flowdec_result res;
    ipaddr_from_v4(&a, 0x7f000001u);
    if (flowdec_exporter_new(&a, NULL, &ex) != 0)
        exit(1);
    if (tpl)
        (void)flowdec_decode(ex, tpl->b, tpl->n, 1, &sink, &res);
    int rc = flowdec_decode(ex, data->b, data->n, 1, &sink, &res);
    if (rc != 0 || res.flows == 0) {
        printf("%-6s decode failed: %d (%u flows)\n", name, rc, res.flows);
        flowdec_exporter_free(ex);
        return;
    }
    uint32_t per = res.flows;
    uint64_t dgrams = 0;
    uint64_t t0 = clock_mono_ns(), t1;
    uint64_t budget = (uint64_t)(secs * 1e9);
    do {
        for (int i = 0; i < 1000; i++)
            (void)flowdec_decode(ex, data->b, data->n, 1, &sink, &res);
        dgrams += 1000;
        t1 = clock_mono_ns();
    } while (t1 - t0 < budget);
    double el = (double)(t1 - t0) / 1e9;
    printf("%-6s %4zu B/datagram %3u flows/datagram  %10.0f datagrams/s  %6.2f M flows/s  "
           "(%.1f ns/flow, checksum %llu)\n",
           name, data->n, per, (double)dgrams / el, (double)dgrams * per / el / 1e6,
           el * 1e9 / ((double)dgrams * per), (unsigned long long)(sum & 0xffff));
    flowdec_exporter_free(ex);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 2.0;
    if (!(secs > 0))
        secs = 2.0;
    static struct wb tpl, data;
    build_v5(&data);
    run("v5", NULL, &data, secs);
    build_v9(&tpl, &data);
    run("v9", &tpl, &data, secs);
    build_ipfix(&tpl, &data);
    run("ipfix", &tpl, &data, secs);
    build_sflow(&data);
    run("sflow", NULL, &data, secs);
    return 0;
}
