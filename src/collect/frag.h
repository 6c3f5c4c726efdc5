/* frag.h - bounded reassembly of fragmented IPv4/IPv6 datagrams (offline mode).
 *
 * Exporters send export datagrams larger than the path MTU (1500+ bytes); in a capture they
 * appear as IP fragments, which the kernel would have reassembled for a live socket. A
 * frag_table holds at most FRAG_MAX_PENDING datagrams under reassembly, each at most
 * FRAG_MAX_LEN bytes of IP payload, keyed by (source, destination, protocol, identification).
 * Fragments may come in any order; a bitmap of 8-byte units tells when the datagram is whole.
 * A pending datagram older than FRAG_TIMEOUT_US (capture time) is dropped, and when every slot
 * is busy the oldest is evicted; both are counted, never fatal. Overlapping or duplicate
 * fragments are accepted (the later bytes win) and counted.
 *
 * Ownership: the table owns its buffers (allocated per slot on first use, kept for reuse);
 * frag_table_release() frees them. A completed datagram returned by frag_table_add() is
 * borrowed and valid until the next frag_table_add() or frag_table_release().
 */
#ifndef BS_COLLECT_FRAG_H
#define BS_COLLECT_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

#define FRAG_MAX_PENDING 64u
#define FRAG_MAX_LEN     65535u
#define FRAG_TIMEOUT_US  (30ull * 1000000ull)

struct frag_key {
    struct ipaddr src;
    struct ipaddr dst;
    uint32_t id;   /* IPv4 identification or IPv6 fragment identification */
    uint8_t proto; /* protocol of the reassembled payload */
};

struct frag_slot {
    struct frag_key key;
    uint64_t first_us; /* capture time of the first fragment seen */
    uint8_t *buf;      /* FRAG_MAX_LEN bytes, allocated on first use */
    uint8_t *bits;     /* one bit per 8-byte unit */
    uint32_t total;    /* payload length, known once the last fragment arrived (0 before) */
    uint32_t units_set;
    bool used;
};

struct frag_stats {
    uint64_t fragments; /* fragments accepted */
    uint64_t completed; /* datagrams reassembled */
    uint64_t timed_out; /* pending datagrams dropped after FRAG_TIMEOUT_US */
    uint64_t evicted;   /* pending datagrams dropped because every slot was busy */
    uint64_t overlaps;  /* fragments that rewrote bytes already received */
    uint64_t bad;       /* fragments past FRAG_MAX_LEN or with a misaligned length */
};

struct frag_table {
    struct frag_slot slots[FRAG_MAX_PENDING];
    struct frag_stats st;
};

void frag_table_init(struct frag_table *t);
void frag_table_release(struct frag_table *t);

/* Adds one fragment: payload p/len at byte offset off of the reassembled IP payload; more is
 * the More-Fragments flag. Returns 1 with *out and *out_len set when the datagram is complete,
 * 0 while it is pending, BS_EMALFORMED for a fragment that cannot belong to a valid datagram
 * (counted in st.bad), BS_ENOMEM when a buffer could not be allocated. */
int frag_table_add(struct frag_table *t, const struct frag_key *k, uint32_t off, bool more,
                   const uint8_t *p, size_t len, uint64_t now_us, const uint8_t **out,
                   size_t *out_len);

#endif
