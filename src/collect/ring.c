/* ring.c - SPSC datagram ring over fixed-size slots (see ring.h for the contract). */
#include "collect/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

static uint32_t round_pow2(uint32_t v, uint32_t lo, uint32_t hi)
{
    uint32_t p = lo;
    while (p < v && p < hi)
        p <<= 1;
    return p;
}

int ring_init(struct ring *r, uint32_t nslots, uint32_t slot_size)
{
    memset(r, 0, sizeof *r);
    if (nslots == 0 || slot_size == 0)
        return BS_EUSAGE;
    r->slot_size = round_pow2(slot_size, RING_MIN_SLOT, RING_MAX_SLOT);
    r->nslots = round_pow2(nslots, 2, RING_MAX_SLOTS);
    r->slot_shift = 0;
    while ((1u << r->slot_shift) < r->slot_size)
        r->slot_shift++;
    /* aligned_alloc: entries hold 8-byte fields, and a slot per cache line keeps the two
     * threads off each other's lines. */
    size_t bytes = (size_t)r->nslots << r->slot_shift;
    r->slab = aligned_alloc(64, bytes);
    if (!r->slab)
        return BS_ENOMEM;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->pushed, 0);
    atomic_init(&r->full_drops, 0);
    atomic_init(&r->too_big, 0);
    atomic_init(&r->closed, false);
    return 0;
}

void ring_release(struct ring *r)
{
    free(r->slab);
    r->slab = NULL;
}

static inline struct ring_entry *slot_at(const struct ring *r, uint64_t pos)
{
    return (struct ring_entry *)(r->slab + ((size_t)(pos & (r->nslots - 1)) << r->slot_shift));
}

/* Counter bump by the only thread that writes it; relaxed atomics keep readers race-free. */
static inline void bump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Slots needed for len payload bytes, and the padding that must precede them at head. */
static uint64_t slots_needed(const struct ring *r, size_t len, uint64_t head, uint64_t *pad)
{
    uint64_t need = ((size_t)RING_HDR + len + r->slot_size - 1) >> r->slot_shift;
    uint64_t to_end = r->nslots - (head & (r->nslots - 1));
    *pad = need > to_end ? to_end : 0;
    return need;
}

bool ring_has_room(struct ring *r, size_t len)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed), pad;
    uint64_t need = slots_needed(r, len, head, &pad);
    if (need > r->nslots)
        return true; /* never fits: ring_push() will refuse it, waiting would not help */
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    return head + pad + need - r->tail_cache <= r->nslots;
}

int ring_push(struct ring *r, const struct ring_meta *meta, const void *data, size_t len)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed), pad;
    uint64_t need = slots_needed(r, len, head, &pad);
    if (need > r->nslots || need > UINT16_MAX) {
        bump(&r->too_big);
        return BS_EMALFORMED;
    }
    if (head + pad + need - r->tail_cache > r->nslots) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head + pad + need - r->tail_cache > r->nslots) {
            bump(&r->full_drops);
            return BS_ELIMIT;
        }
    }
    if (pad) {
        struct ring_entry *p = slot_at(r, head);
        p->len = 0;
        p->nslots = (uint16_t)pad;
        p->pad = 1;
        head += pad;
    }
    struct ring_entry *e = slot_at(r, head);
    e->meta = *meta;
    e->len = (uint32_t)len;
    e->nslots = (uint16_t)need;
    e->pad = 0;
    if (len)
        memcpy(e->data, data, len);
    atomic_store_explicit(&r->head, head + need, memory_order_release);
    bump(&r->pushed);
    return 0;
}

void ring_close(struct ring *r)
{
    atomic_store_explicit(&r->closed, true, memory_order_release);
}

const struct ring_entry *ring_peek(struct ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        if (tail == r->head_cache) {
            r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
            if (tail == r->head_cache)
                return NULL;
        }
        const struct ring_entry *e = slot_at(r, tail);
        if (!e->pad)
            return e;
        /* padding up to the end of the slab: free it and look at slot 0 */
        tail += e->nslots;
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
}

void ring_pop(struct ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    const struct ring_entry *e = slot_at(r, tail);
    atomic_store_explicit(&r->tail, tail + e->nslots, memory_order_release);
}

bool ring_done(struct ring *r)
{
    /* closed is read before emptiness: every push happened before the close, so an empty ring
     * seen after the close stays empty. */
    if (!atomic_load_explicit(&r->closed, memory_order_acquire))
        return false;
    return ring_peek(r) == NULL;
}

uint64_t ring_used_slots(struct ring *r)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    return h > t ? h - t : 0;
}

/* ---- doorbell ---------------------------------------------------------------------- */

int ring_bell_init(struct ring_bell *b)
{
    memset(b, 0, sizeof *b);
    atomic_init(&b->sleeping, 0);
    int rc = pthread_mutex_init(&b->mu, NULL);
    if (rc)
        return -rc;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        pthread_mutex_destroy(&b->mu);
        return -rc;
    }
    return 0;
}

void ring_bell_release(struct ring_bell *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

void ring_bell_arm(struct ring_bell *b)
{
    atomic_store(&b->sleeping, 1);
    atomic_thread_fence(memory_order_seq_cst);
}

void ring_bell_disarm(struct ring_bell *b)
{
    atomic_store(&b->sleeping, 0);
}

void ring_bell_wait(struct ring_bell *b, unsigned timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->signalled) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
            break;
    }
    b->signalled = 0;
    pthread_mutex_unlock(&b->mu);
    atomic_store(&b->sleeping, 0);
}

void ring_bell_ring(struct ring_bell *b)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load(&b->sleeping))
        return;
    pthread_mutex_lock(&b->mu);
    b->signalled = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}
