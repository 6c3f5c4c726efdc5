/* gen.c - deterministic flow generator for the query benchmark. Writes the same N flows
 * (a) as NetFlow v5 datagrams over UDP to 127.0.0.1:PORT (nfcapd), paced, and (b) into a
 * botscope store through the store API. Only loopback is ever addressed.
 *
 * usage: gen N SEED PORT DATAGRAMS_PER_SEC STORE_DIR [CONFIG]   (PORT 0: store only)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "store/store.h"

static uint64_t rs;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

/* Skewed pick in [0, n): small indices much more likely (a cheap Zipf-like law). */
static uint64_t skew(uint64_t n)
{
    double u = (double)(rnd() % 1000000) / 1e6;
    return (uint64_t)((double)n * u * u * u);
}

static void gen(struct flow_rec *r, uint64_t i, uint64_t t0)
{
    memset(r, 0, sizeof *r);
    r->start_ms = t0 + i * 2 + rnd() % 2; /* ~500 flows/s of data time per ... scaled */
    r->end_ms = r->start_ms + (rnd() % 3 ? rnd() % 60000 : 0);
    static const uint16_t ports[] = {443,  80,   53,   23,  2323,  22,
                                     7547, 5555, 8080, 123, 37215, 52869};
    unsigned kind = (unsigned)(rnd() % 100);
    uint32_t cust = 0x0a000000u | (uint32_t)skew(1u << 18); /* 10.0.0.0/14 customers */
    uint32_t server = 0x5db80000u + (uint32_t)skew(20000) * 7;
    uint32_t any = (uint32_t)(rnd() % 0xdf000000u) + 0x01000000u;
    if (kind < 60) { /* customers to servers */
        ipaddr_from_v4(&r->src, cust);
        ipaddr_from_v4(&r->dst, server);
        r->dst_port = ports[skew(3)];
        r->src_port = (uint16_t)(32768 + rnd() % 28000);
    } else if (kind < 85) { /* replies */
        ipaddr_from_v4(&r->src, server);
        ipaddr_from_v4(&r->dst, cust);
        r->src_port = ports[skew(3)];
        r->dst_port = (uint16_t)(32768 + rnd() % 28000);
    } else { /* scans and bots: any source to customers on IoT ports */
        ipaddr_from_v4(&r->src, any);
        ipaddr_from_v4(&r->dst, cust);
        r->dst_port = ports[3 + skew(9)];
        r->src_port = (uint16_t)(1024 + rnd() % 64000);
    }
    unsigned p = (unsigned)(rnd() % 100);
    r->proto = p < 70 ? 6 : p < 95 ? 17 : 1;
    if (r->proto == 17 && kind < 60)
        r->dst_port = rnd() % 2 ? 53 : 123;
    if (r->proto == 1) {
        r->src_port = 0;
        r->dst_port = rnd() % 2 ? 0x0800 : 0x0000;
    }
    r->packets = 1 + skew(kind >= 85 ? 3 : 400);
    r->bytes = r->packets * (40 + skew(1460));
    static const uint8_t fl[] = {0x02, 0x12, 0x18, 0x1b, 0x10, 0x11, 0x04, 0x14};
    r->tcp_flags = r->proto == 6 ? fl[kind >= 85 ? 0 : skew(8)] : 0;
    r->tos = rnd() % 20 ? 0 : 0x20;
    r->in_if = 1 + (uint32_t)(rnd() % 4);
    r->out_if = 5 + (uint32_t)(rnd() % 2);
    r->src_as = kind >= 60 && kind < 85 ? 15169 + (uint32_t)skew(4) : 64512;
    r->dst_as = kind < 60 ? 15169 + (uint32_t)skew(4) : 64512;
    r->src_mask = 24;
    r->dst_mask = 16;
    ipaddr_from_v4(&r->exporter, 0x7f000001);
    ipaddr_from_v4(&r->nexthop, 0);
    r->sampling_rate = 1;
    r->version = 5;
    r->has = 0x1f7 & ~0x08; /* AS, nexthop, times, ifaces, masks, tos; no VLAN */
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One v5 datagram from recs[0..n) (n <= 30). */
static size_t v5(uint8_t *d, const struct flow_rec *r, size_t n, uint32_t seq)
{
    uint64_t th = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].end_ms > th)
            th = r[i].end_ms;
    th = (th / 1000 + 1) * 1000; /* header time: a whole second after the last end */
    uint32_t up = 0x80000000u;
    memset(d, 0, 24 + 48 * n);
    put16(d, 5);
    put16(d + 2, (unsigned)n);
    put32(d + 4, up);
    put32(d + 8, (uint32_t)(th / 1000));
    put32(d + 16, seq);
    for (size_t i = 0; i < n; i++) {
        uint8_t *f = d + 24 + 48 * i;
        put32(f, ipaddr_v4(&r[i].src));
        put32(f + 4, ipaddr_v4(&r[i].dst));
        put32(f + 8, 0);
        put16(f + 12, r[i].in_if);
        put16(f + 14, r[i].out_if);
        put32(f + 16, (uint32_t)r[i].packets);
        put32(f + 20, (uint32_t)r[i].bytes);
        put32(f + 24, up - (uint32_t)(th - r[i].start_ms));
        put32(f + 28, up - (uint32_t)(th - r[i].end_ms));
        put16(f + 32, r[i].src_port);
        put16(f + 34, r[i].dst_port);
        f[37] = r[i].tcp_flags;
        f[38] = r[i].proto;
        f[39] = r[i].tos;
        put16(f + 40, r[i].src_as);
        put16(f + 42, r[i].dst_as);
        f[44] = r[i].src_mask;
        f[45] = r[i].dst_mask;
    }
    return 24 + 48 * n;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: gen N SEED PORT DATAGRAMS_PER_SEC STORE_DIR [CONFIG]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[1], NULL, 10);
    rs = strtoull(argv[2], NULL, 10) | 1;
    int port = atoi(argv[3]); /* bench tool: trusted argument */
    double rate = strtod(argv[4], NULL);
    struct config cfg;
    config_init(&cfg);
    if (argc > 6) {
        struct cfg_error e;
        if (config_load(&cfg, argv[6], &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 2;
        }
    }
    char err[256];
    struct store *s;
    if (store_open(argv[5], &cfg, STORE_WRITE, &s, err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int fd = -1;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */
    if (port) {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        int sz = 8 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    struct flow_rec batch[30];
    uint8_t dg[24 + 48 * 30];
    uint64_t t0 = 1704067200000ull; /* 2024-01-01 00:00 UTC */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint32_t seq = 0;
    uint64_t sent = 0;
    double next = 0; /* seconds since start when the next group of 4 may go */
    for (uint64_t i = 0; i < n;) {
        size_t m = n - i < 30 ? (size_t)(n - i) : 30;
        for (size_t k = 0; k < m; k++)
            gen(&batch[k], i + k, t0);
        if (store_append(s, batch, m)) {
            fprintf(stderr, "store_append failed\n");
            return 1;
        }
        if (fd >= 0) {
            size_t len = v5(dg, batch, m, seq);
            seq += (uint32_t)m;
            while (sendto(fd, dg, len, 0, (struct sockaddr *)&to, sizeof to) < 0)
                usleep(100);
            sent++;
            if (sent % 4 == 0 && rate > 0) {
                /* Paced without catch-up bursts: after a stall (a store flush), the schedule
                 * restarts from now instead of sending the backlog at once. */
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                double el = (double)(now.tv_sec - start.tv_sec) +
                            (double)(now.tv_nsec - start.tv_nsec) / 1e9;
                next += 4.0 / rate;
                if (el > next + 0.002)
                    next = el;
                else if (next > el)
                    usleep((useconds_t)((next - el) * 1e6));
            }
        }
        i += m;
    }
    if (store_close(s)) {
        fprintf(stderr, "store_close failed\n");
        return 1;
    }
    config_release(&cfg);
    if (fd >= 0)
        close(fd);
    fprintf(stderr, "gen: %llu flows, %llu datagrams\n", (unsigned long long)n,
            (unsigned long long)sent);
    return 0;
}
