/* store_bench.c - bs-store-bench: the embedded store's append path alone, no network.
 *
 * Appends N synthetic flow records (the same shape as bs-ingest-sender's: IPv4 in
 * 198.18.0.0/15, start times spread over 50 s behind a clock advancing at --rate flows per
 * second) to a fresh store in chunks of 512 (the collector's OUT_BATCH), then closes it, and
 * prints one JSON line: wall time of the appends alone (what the decode thread waits for), of
 * the whole run including the final flush, and the process CPU time, per million flows.
 *
 * usage: bs-store-bench DIR [--flows N] [--rate R] [--set KEY=VALUE]...
 * KEY is a [store] key (batch_records, zstd_level, compression, ...).
 * DIR must not exist or be empty (it becomes the store).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/config.h"
#include "core/err.h"
#include "core/flow.h"
#include "store/store.h"

#define CHUNK 512

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void v4(struct ipaddr *a, uint32_t x)
{
    memset(a, 0, sizeof *a);
    a->b[10] = 0xff;
    a->b[11] = 0xff;
    a->b[12] = (uint8_t)(x >> 24);
    a->b[13] = (uint8_t)(x >> 16);
    a->b[14] = (uint8_t)(x >> 8);
    a->b[15] = (uint8_t)x;
}

static void make_rec(struct flow_rec *r, uint64_t *rng, uint64_t now_ms)
{
    static const uint8_t protos[8] = {6, 6, 6, 6, 17, 17, 17, 1};
    uint64_t a = splitmix64(rng), b = splitmix64(rng), c = splitmix64(rng);
    memset(r, 0, sizeof *r);
    r->proto = protos[c & 7];
    r->packets = 1 + (c >> 8) % 64;
    r->bytes = r->packets * (40 + (c >> 16) % 1461);
    r->start_ms = now_ms - 60000 + (c >> 32) % 50000;
    r->end_ms = r->start_ms + (c >> 48) % 10000;
    v4(&r->src, 0xC6120000u | (uint32_t)(a & 0x1FFFF));
    v4(&r->dst, 0xC6120000u | (uint32_t)((a >> 17) & 0x1FFFF));
    v4(&r->exporter, 0x7f000001u + (uint32_t)(b & 3));
    v4(&r->nexthop, 0xC6130001u);
    r->src_port = r->proto == 1 ? 0 : (uint16_t)(1024 + (a >> 34) % 64000);
    r->dst_port = r->proto == 1 ? 0x0800 : (uint16_t)((b & 3) ? 23 + (b >> 2) % 8000 : 443);
    r->tcp_flags = r->proto == 6 ? (uint8_t)(0x02 | ((b >> 8) & 0x1B)) : 0;
    r->in_if = (uint32_t)(1 + (b >> 16) % 48);
    r->out_if = (uint32_t)(1 + (b >> 24) % 48);
    r->src_as = (uint32_t)(64496 + (b >> 32) % 1000);
    r->dst_as = (uint32_t)(64496 + (b >> 42) % 1000);
    r->src_mask = r->dst_mask = 24;
    r->direction = (uint8_t)((b >> 52) & 1);
    r->vlan = (uint16_t)((b >> 53) % 4095);
    r->sampling_rate = 1;
    r->version = 9;
    r->has = FLOW_HAS_SRC_AS | FLOW_HAS_DST_AS | FLOW_HAS_NEXTHOP | FLOW_HAS_VLAN | FLOW_HAS_TIMES |
             FLOW_HAS_IFACES | FLOW_HAS_MASKS | FLOW_HAS_TOS;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bs-store-bench DIR [--flows N] [--rate R] [--set KEY=VALUE]...\n");
        return 2;
    }
    const char *dir = argv[1];
    uint64_t flows = 4000000, rate = 1000000;
    struct config cfg;
    struct cfg_error cerr;
    if (config_init(&cfg))
        return 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--flows"))
            flows = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            rate = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--set")) {
            char kv[256];
            snprintf(kv, sizeof kv, "%s", argv[i + 1]);
            char *eq = strchr(kv, '=');
            if (!eq) {
                fprintf(stderr, "bs-store-bench: --set KEY=VALUE\n");
                return 2;
            }
            *eq = '\0';
            if (config_set(&cfg, "store", kv, eq + 1, &cerr)) {
                fprintf(stderr, "bs-store-bench: %s\n", cerr.msg);
                return 2;
            }
        } else {
            fprintf(stderr, "bs-store-bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    char err[256];
    struct store *s;
    int rc = store_open(dir, &cfg, STORE_WRITE, &s, err);
    if (rc) {
        fprintf(stderr, "bs-store-bench: %s\n", err);
        return 1;
    }
    struct flow_rec *chunk = malloc(CHUNK * sizeof *chunk);
    if (!chunk)
        return 1;
    uint64_t rng = 42, t0_ms = 1700000000000ull;
    double c0 = cpu_s(), w0 = now_s(), worst = 0;
    for (uint64_t done = 0; done < flows && !rc; done += CHUNK) {
        size_t n = flows - done < CHUNK ? (size_t)(flows - done) : CHUNK;
        uint64_t now_ms = t0_ms + done * 1000 / rate;
        for (size_t i = 0; i < n; i++)
            make_rec(&chunk[i], &rng, now_ms);
        double a = now_s();
        rc = store_append(s, chunk, n);
        double d = now_s() - a;
        if (d > worst)
            worst = d;
    }
    double w1 = now_s();
    int crc = store_close(s);
    double w2 = now_s(), c2 = cpu_s();
    printf("{\"flows\":%llu,\"append_wall_s\":%.3f,\"worst_append_s\":%.3f,\"total_wall_s\":%.3f,"
           "\"cpu_s\":%.3f,\"cpu_s_per_1m\":%.3f,\"rc\":%d}\n",
           (unsigned long long)flows, w1 - w0, worst, w2 - w0, c2 - c0,
           (c2 - c0) / ((double)flows / 1e6), rc ? rc : crc);
    free(chunk);
    config_release(&cfg);
    return rc || crc ? 1 : 0;
}
