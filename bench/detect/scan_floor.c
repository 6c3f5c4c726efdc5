/* scan_floor.c - what reading the store costs detection before it does anything: a scan of the
 * columns `botscope detect` reads (detect_cols), on the store's scan threads, touching every
 * value of every column and doing nothing else. Its CPU time is the part of detection's that
 * only a faster store (decompression, decoding) can shrink: bench/detect/speed.sh prints it
 * beside detect's own.
 *   bs-scan-floor STORE [THREADS]    (default 2, as [store] scan_threads)
 * Prints: flows, wall seconds, CPU seconds (user + system), flows per CPU second. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "detect/detect.h"
#include "store/store.h"

struct tally {
    _Atomic uint64_t flows, sum; /* (the sum keeps the reads from being optimised away) */
};

/* (As detect reads them: 4 bytes for an IPv4 row of a mixed column.) */
static uint64_t addr_sum(const struct store_addr_col *c, size_t i)
{
    if (c->v4 && !store_addr_is6(c, i))
        return c->v4[i];
    struct ipaddr a;
    store_addr_get(c, i, &a);
    return a.b[15];
}

static int on_block(void *ctx, unsigned thread, const struct store_block *b)
{
    (void)thread;
    struct tally *t = ctx;
    uint64_t s = 0;
    for (size_t i = 0; i < b->n; i++)
        s += b->start_ms[i] + b->end_ms[i] + b->packets[i] + b->bytes[i] + b->sampling[i] +
             b->src_port[i] + b->dst_port[i] + b->proto[i] + b->tcp_flags[i] +
             addr_sum(&b->src, i) + addr_sum(&b->dst, i);
    atomic_fetch_add(&t->flows, b->n);
    atomic_fetch_add(&t->sum, s);
    return 0;
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bs-scan-floor STORE [THREADS]\n");
        return 2;
    }
    struct store *st;
    char err[256];
    if (store_open(argv[1], NULL, STORE_RDONLY, &st, err)) {
        fprintf(stderr, "bs-scan-floor: %s\n", err);
        return 1;
    }
    struct tally t = {0};
    struct store_scan sc = {.t_lo = 0,
                            .t_hi = UINT64_MAX,
                            .cols = detect_cols,
                            .flags = STORE_SCAN_ADDR_MIXED,
                            .threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2,
                            .on_block = on_block,
                            .ctx = &t};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = store_scan(st, &sc, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    store_close(st);
    if (rc) {
        fprintf(stderr, "bs-scan-floor: scan failed (%d)\n", rc);
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    double cpu = seconds(ru.ru_utime) + seconds(ru.ru_stime);
    uint64_t n = atomic_load(&t.flows);
    printf("%llu %.3f %.3f %.2f\n", (unsigned long long)n, wall, cpu, (double)n / cpu / 1e6);
    fprintf(stderr, "(checksum %llu)\n", (unsigned long long)atomic_load(&t.sum));
    return 0;
}
