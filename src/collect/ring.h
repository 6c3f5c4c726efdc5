/* ring.h - bounded single-producer/single-consumer queue of datagrams, and a doorbell.
 *
 * A ring is a slab of nslots fixed-size slots (slot_size bytes each, both powers of two). A
 * datagram is copied in as one entry: a struct ring_entry header followed by its payload, in
 * ceil((header + len) / slot_size) consecutive slots. An entry never wraps: when it does not fit
 * before the end of the slab, the producer fills the rest with one padding entry (skipped by the
 * consumer) and starts again at slot 0. So most datagrams (up to slot_size - header bytes) take
 * one slot, and a 64 KiB datagram still fits when the slab is at least that large.
 *
 * Concurrency: exactly one producer thread calls ring_push(), exactly one consumer thread calls
 * ring_peek()/ring_pop(). head (written by the producer) and tail (written by the consumer) are
 * C11 atomics: the producer publishes an entry with a release store of head, the consumer frees
 * its slots with a release store of tail. Nothing else is shared; the counters readable from
 * other threads (drops, pushed) are relaxed atomics. No locks on the data path.
 *
 * A full ring is a drop, not a wait: ring_push() returns BS_ELIMIT and counts it, because a
 * receive thread that blocks lets the kernel drop instead (and the kernel's count is less
 * precise). The doorbell below lets an idle consumer sleep without missing a push.
 *
 * Ownership: the ring owns its slab (ring_init allocates, ring_release frees). Entries returned
 * by ring_peek() are borrowed until the matching ring_pop().
 */
#ifndef BS_COLLECT_RING_H
#define BS_COLLECT_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* Caps: a slot is 64 B..64 KiB; a ring has 2..2^24 slots. */
#define RING_MIN_SLOT  64u
#define RING_MAX_SLOT  65536u
#define RING_MAX_SLOTS (1u << 24)

/* What the receiver knows about one datagram; stored in front of its payload. */
struct ring_meta {
    uint64_t recv_ms;  /* wall-clock receive time */
    struct ipaddr src; /* the exporter (datagram source address) */
    uint16_t src_port;
    uint16_t dst_port; /* local port it arrived on */
};

struct ring_entry {
    struct ring_meta meta;
    uint32_t len;    /* payload bytes */
    uint16_t nslots; /* slots this entry occupies, header included */
    uint16_t pad;    /* 1 for a padding entry (consumer skips it) */
    uint8_t data[];  /* len bytes */
};

struct ring {
    /* producer side */
    _Alignas(64) _Atomic uint64_t head; /* slots ever written (published) */
    uint64_t tail_cache;                /* producer's last view of tail */
    _Atomic uint64_t pushed;            /* entries pushed (stats) */
    _Atomic uint64_t full_drops;        /* entries refused because the ring was full */
    _Atomic uint64_t too_big;           /* entries larger than the whole slab */
    /* consumer side */
    _Alignas(64) _Atomic uint64_t tail; /* slots ever consumed */
    uint64_t head_cache;                /* consumer's last view of head */
    /* read-only after init */
    _Alignas(64) uint8_t *slab;
    uint32_t nslots;
    uint32_t slot_size;
    uint32_t slot_shift;
    _Atomic bool closed; /* producer will push no more */
};

/* Size of the entry header; the payload of a one-slot entry is slot_size - this. */
#define RING_HDR ((uint32_t)sizeof(struct ring_entry))

/* Initialises r with at least nslots slots of slot_size bytes (both rounded up to powers of
 * two and clamped to the caps). Returns 0, BS_EUSAGE for zero sizes, or BS_ENOMEM. */
int ring_init(struct ring *r, uint32_t nslots, uint32_t slot_size);
/* Frees the slab. The ring must no longer be used by any thread. */
void ring_release(struct ring *r);

/* Producer: copies one datagram in. Returns 0, BS_ELIMIT when the ring is full (counted in
 * full_drops), or BS_EMALFORMED when it could never fit (counted in too_big). */
int ring_push(struct ring *r, const struct ring_meta *meta, const void *data, size_t len);
/* Producer: true when a datagram of len bytes would fit now (used to wait instead of drop
 * while draining at stop). */
bool ring_has_room(struct ring *r, size_t len);
/* Producer: no more pushes will follow (the consumer drains and then sees ring_done()). */
void ring_close(struct ring *r);

/* Consumer: the oldest entry, or NULL when the ring is empty. */
const struct ring_entry *ring_peek(struct ring *r);
/* Consumer: releases the entry returned by the last ring_peek(). */
void ring_pop(struct ring *r);
/* Consumer: true when the producer has closed the ring and every entry was consumed. */
bool ring_done(struct ring *r);
/* Any thread: entries waiting (approximate while the others run). */
uint64_t ring_used_slots(struct ring *r);

/* A doorbell lets one consumer sleep until a producer pushed something (or a timeout).
 * Consumer: ring_bell_arm(), check the rings once more, then ring_bell_wait() only if they
 * were all empty. Producer: ring_bell_ring() after a batch of pushes. The seq_cst fences in
 * arm/ring make the "check then sleep" race-free; the timeout is a second safety net. */
struct ring_bell {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int sleeping;
    int signalled; /* under mu */
};

int ring_bell_init(struct ring_bell *b);
void ring_bell_release(struct ring_bell *b);
void ring_bell_arm(struct ring_bell *b);
/* Sleeps until rung or timeout_ms passed; disarms. */
void ring_bell_wait(struct ring_bell *b, unsigned timeout_ms);
/* Cancels an arm when the consumer found work after arming. */
void ring_bell_disarm(struct ring_bell *b);
void ring_bell_ring(struct ring_bell *b);

#endif
