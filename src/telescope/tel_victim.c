/* tel_victim.c - backscatter attack table (see tel_victim.h). */
#include "telescope/tel_victim.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/hll.h"
#include "telescope/tel_src.h"

#define INITIAL_VICTIMS 256u

static size_t index_for(size_t n)
{
    size_t c = 16;
    while (c < n * 2)
        c <<= 1;
    return c;
}

int tel_victim_init(struct tel_victim_table *t, size_t max_victims, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->max = max_victims ? max_victims : 1;
    t->seed = seed;
    t->ent_cap = t->max < INITIAL_VICTIMS ? t->max : INITIAL_VICTIMS;
    t->index_cap = index_for(t->ent_cap);
    t->ent = malloc(t->ent_cap * sizeof *t->ent);
    t->index = calloc(t->index_cap, sizeof *t->index);
    if (!t->ent || !t->index) {
        tel_victim_release(t);
        return BS_ENOMEM;
    }
    return 0;
}

void tel_victim_release(struct tel_victim_table *t)
{
    free(t->ent);
    free(t->index);
    memset(t, 0, sizeof *t);
}

void tel_victim_clear(struct tel_victim_table *t)
{
    memset(t->index, 0, t->index_cap * sizeof *t->index);
    t->n = 0;
    t->dropped = 0;
}

static inline size_t slot_of(const struct tel_victim_table *t, uint64_t h)
{
    return tel_victim_slot(t, h);
}

static void reindex(struct tel_victim_table *t)
{
    memset(t->index, 0, t->index_cap * sizeof *t->index);
    for (size_t i = 0; i < t->n; i++) {
        size_t s = slot_of(t, tel_addr_hash(&t->ent[i].addr));
        while (t->index[s])
            s = (s + 1) & (t->index_cap - 1);
        t->index[s] = (uint32_t)(i + 1);
    }
}

static int grow(struct tel_victim_table *t)
{
    size_t nc = t->ent_cap * 2;
    if (nc > t->max)
        nc = t->max;
    struct tel_victim *ne = realloc(t->ent, nc * sizeof *ne);
    if (!ne)
        return BS_ENOMEM;
    t->ent = ne;
    t->ent_cap = nc;
    size_t ic = index_for(nc);
    if (ic != t->index_cap) {
        uint32_t *ni = calloc(ic, sizeof *ni);
        if (!ni)
            return BS_ENOMEM;
        free(t->index);
        t->index = ni;
        t->index_cap = ic;
        reindex(t);
    }
    return 0;
}

#define WIN_ALL ((1ull << TEL_VICTIM_WINDOW_S) - 1)

/* Bits of the n ring seconds from index a on (a < 60, n < 60), wrapping past 59. */
static inline uint64_t ring_mask(unsigned a, unsigned n)
{
    uint64_t m = (1ull << n) - 1;
    return ((m << a) | (m >> (TEL_VICTIM_WINDOW_S - a))) & WIN_ALL;
}

/* Counts a packet of second sec in the sliding window and raises the peak. The window ends
 * at the newest packet's second, last_ms / 1000 (last_ms is the maximum timestamp, so its
 * second is the maximum second); call before last_ms takes the packet. Moving forward to sec
 * empties the seconds last + 1 .. sec (the oldest ones of the ring); only those of them that
 * held packets (win_nz) are visited, so each second with packets is cleared once. */
static void window_add(struct tel_victim *v, uint64_t sec)
{
    unsigned i = (unsigned)(sec % TEL_VICTIM_WINDOW_S);
    uint64_t last = v->last_ms / 1000;
    if (v->packets != 0 && sec > last) {
        uint64_t gap = sec - last;
        uint64_t drop = v->win_nz;
        if (gap < TEL_VICTIM_WINDOW_S) {
            /* the range ends at i: it starts gap - 1 seconds before, modulo 60 */
            unsigned a = i + TEL_VICTIM_WINDOW_S + 1 - (unsigned)gap;
            if (a >= TEL_VICTIM_WINDOW_S)
                a -= TEL_VICTIM_WINDOW_S;
            drop &= ring_mask(a, (unsigned)gap);
        }
        v->win_nz &= ~drop;
        for (; drop; drop &= drop - 1) {
            unsigned k = (unsigned)__builtin_ctzll(drop);
            v->window_sum -= v->win[k];
            v->win[k] = 0;
        }
    } else if (last - sec >= TEL_VICTIM_WINDOW_S) {
        return; /* older than the window: counted in packets, not in the peak */
    }
    v->win[i]++;
    v->win_nz |= 1ull << i;
    v->window_sum++;
    if (v->window_sum > v->peak_ppm)
        v->peak_ppm = v->window_sum;
}

/* Address equality as two 8-byte compares (no memcmp call on the probe path). */
static inline bool addr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

struct tel_victim *tel_victim_add(struct tel_victim_table *t, const struct ipaddr *victim,
                                  uint64_t victim_hash, uint64_t ts_ms, uint32_t bytes,
                                  uint16_t port, bool is_icmp, uint64_t dark_hash)
{
    size_t s = slot_of(t, victim_hash);
    struct tel_victim *v = NULL;
    for (;;) {
        uint32_t e = t->index[s];
        if (!e)
            break;
        if (addr_eq(&t->ent[e - 1].addr, victim)) {
            v = &t->ent[e - 1];
            break;
        }
        s = (s + 1) & (t->index_cap - 1);
    }
    if (!v) {
        if (t->n >= t->max) {
            t->dropped++;
            return NULL;
        }
        if (t->n == t->ent_cap) {
            if (grow(t)) {
                t->dropped++;
                return NULL;
            }
            s = slot_of(t, victim_hash);
            while (t->index[s])
                s = (s + 1) & (t->index_cap - 1);
        }
        v = &t->ent[t->n];
        memset(v, 0, sizeof *v);
        v->addr = *victim;
        v->first_ms = ts_ms;
        v->last_ms = ts_ms;
        t->index[s] = (uint32_t)(++t->n);
    }
    window_add(v, ts_ms / 1000);
    v->packets++;
    v->bytes += bytes;
    if (ts_ms < v->first_ms)
        v->first_ms = ts_ms;
    if (ts_ms > v->last_ms)
        v->last_ms = ts_ms;
    if (is_icmp)
        v->icmp_packets++;
    else
        v->tcp_packets++;
    if (port || !is_icmp) {
        bool seen = false;
        for (unsigned i = 0; i < v->nports; i++)
            if (v->ports[i] == port) {
                seen = true;
                break;
            }
        if (!seen && v->nports < TEL_VICTIM_PORTS)
            v->ports[v->nports++] = port;
    }
    hll_add(v->hll_dark, TEL_VICTIM_HLL_P, dark_hash);
    return v;
}

bool tel_victim_qualifies(const struct tel_victim *v, const struct tel_victim_thresholds *th)
{
    return v->packets >= th->min_packets && v->last_ms - v->first_ms >= th->min_duration_ms &&
           v->peak_ppm >= th->min_peak_ppm;
}

static int victim_cmp(const void *a, const void *b)
{
    const struct tel_victim *x = a, *y = b;
    return ipaddr_cmp(&x->addr, &y->addr);
}

int tel_victim_expire(struct tel_victim_table *t, uint64_t now_ms,
                      int (*emit)(void *arg, const struct tel_victim *v), void *arg)
{
    /* Partition: expired attacks to the tail, sorted there by address, emitted, dropped. */
    size_t keep = 0;
    for (size_t i = 0; i < t->n; i++) {
        bool expired = now_ms == UINT64_MAX || t->ent[i].last_ms + TEL_VICTIM_TIMEOUT_MS < now_ms;
        if (!expired) {
            if (keep != i) {
                struct tel_victim tmp = t->ent[keep];
                t->ent[keep] = t->ent[i];
                t->ent[i] = tmp;
            }
            keep++;
        }
    }
    if (keep == t->n)
        return 0;
    qsort(t->ent + keep, t->n - keep, sizeof *t->ent, victim_cmp);
    int rc = 0;
    for (size_t i = keep; i < t->n; i++) {
        int r = emit(arg, &t->ent[i]);
        if (r && !rc)
            rc = r;
    }
    t->n = keep;
    reindex(t);
    return rc;
}

size_t tel_victim_memory(const struct tel_victim_table *t)
{
    return t->ent_cap * sizeof *t->ent + t->index_cap * sizeof *t->index;
}
