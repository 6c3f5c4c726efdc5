/* tel_victim.h - DDoS victims inferred from backscatter (Moore et al., "Inferring Internet
 * Denial-of-Service Activity", ACM TOCS 2006).
 *
 * Backscatter packets are grouped into attacks keyed by victim address; an attack ends when
 * its victim sends no backscatter for TEL_VICTIM_TIMEOUT_MS (Moore et al.'s flow timeout of
 * five minutes), or at the end of the input. An attack is reported (one victims.ndjson line;
 * a victim attacked twice, hours apart, gets two lines) when it meets all the thresholds:
 * at least min_packets packets, a duration (last - first packet) of at least min_duration_ms,
 * and a peak of at least min_peak_ppm packets within some sliding 60-second window. The
 * window is kept exactly at one-second resolution (60 per-second counters per victim, with a
 * bitmap of the non-zero ones so that rolling the window forward visits only the seconds
 * that held packets: O(1) amortised a packet, whatever the gap).
 * Per attack: packets, bytes, first and last packet, the attacked ports (victim's source port
 * for TCP replies, the quoted destination port for ICMP errors; first TEL_VICTIM_PORTS kept),
 * protocol counts, attacker diversity = distinct darknet addresses the backscatter reached
 * (HyperLogLog, p=8), and the rate scaled to the whole address space: observed rate x
 * 2^32 / (IPv4 darknet addresses) for IPv4 victims, the standard telescope extrapolation that
 * assumes uniformly random spoofed sources.
 *
 * Memory: the table holds at most max_victims attacks in progress (~620 bytes each); attacks
 * beyond the cap are counted in dropped_victims. Ownership: the table owns its arrays.
 */
#ifndef BS_TELESCOPE_TEL_VICTIM_H
#define BS_TELESCOPE_TEL_VICTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "core/ipaddr.h"

#define TEL_VICTIM_TIMEOUT_MS (5u * 60u * 1000u)
#define TEL_VICTIM_PORTS      16
#define TEL_VICTIM_HLL_P      8
#define TEL_VICTIM_WINDOW_S   60

struct tel_victim {
    struct ipaddr addr;
    uint64_t packets;
    uint64_t bytes;
    uint64_t first_ms;
    uint64_t last_ms;
    uint64_t tcp_packets;
    uint64_t icmp_packets;
    uint64_t win_nz;                   /* bit i set exactly when win[i] != 0 */
    uint32_t window_sum;               /* packets in the 60 s ending at last_ms / 1000 */
    uint32_t peak_ppm;                 /* max window_sum seen */
    uint32_t win[TEL_VICTIM_WINDOW_S]; /* per-second counts, indexed by second % 60 */
    uint8_t nports;
    uint16_t ports[TEL_VICTIM_PORTS];
    uint8_t hll_dark[1u << TEL_VICTIM_HLL_P];
};

struct tel_victim_thresholds {
    uint64_t min_packets;
    uint64_t min_duration_ms;
    uint32_t min_peak_ppm;
};

/* Not core/htab on purpose: a 4-byte index of entry numbers over a dense array of attacks
 * (about 400 bytes each), placed by the address hash the engine computes once per packet
 * (tel_addr_hash) and shares between its two prefetch stages and the update. htab would keep
 * the 16-byte address inline a second time (24-byte slots: 3 MB instead of 512 KB of index at
 * the 65 536-attack default, six times the cache footprint on every backscatter packet) and
 * hash it again with hash_bytes; and tel_victim_expire compacts the array and rebuilds the
 * index in one pass, which a keyed table would do entry by entry. */
struct tel_victim_table {
    uint32_t *index;
    struct tel_victim *ent;
    size_t n, ent_cap, index_cap, max;
    uint64_t seed;
    uint64_t dropped; /* backscatter packets whose attack could not be tracked (cap) */
};

int tel_victim_init(struct tel_victim_table *t, size_t max_victims, uint64_t seed);
void tel_victim_release(struct tel_victim_table *t);
/* Forgets every attack (nothing is emitted); the table keeps its memory. */
void tel_victim_clear(struct tel_victim_table *t);

/* Adds one backscatter packet. dark_hash is the hash of the darknet address it reached.
 * Returns the attack, or NULL when the table is full (counted in t->dropped). */
struct tel_victim *tel_victim_add(struct tel_victim_table *t, const struct ipaddr *victim,
                                  uint64_t victim_hash, uint64_t ts_ms, uint32_t bytes,
                                  uint16_t port, bool is_icmp, uint64_t dark_hash);

/* True when attack v meets the thresholds. */
bool tel_victim_qualifies(const struct tel_victim *v, const struct tel_victim_thresholds *th);

/* Calls emit() for every attack idle since before now_ms - TEL_VICTIM_TIMEOUT_MS (all attacks
 * when now_ms is UINT64_MAX), in address order, then removes them. emit's return value, when
 * non-zero, is returned after the sweep completes. */
int tel_victim_expire(struct tel_victim_table *t, uint64_t now_ms,
                      int (*emit)(void *arg, const struct tel_victim *v), void *arg);

size_t tel_victim_memory(const struct tel_victim_table *t);

/* Prefetch helpers for a caller that pipelines packets (no effect on the table's state):
 * first the index slot of victim_hash, later (once that slot is cached) the attack it points
 * at: its counters, the window second of ts_ms and the darknet sketch register of dark_hash.
 * tel_victim_prefetch_entry() returns the attack prefetched (or NULL); use the result, or
 * GCC may delete the call as pure. The slot is the one tel_victim_add() probes first. */
static inline size_t tel_victim_slot(const struct tel_victim_table *t, uint64_t victim_hash)
{
    return (size_t)(hash_mix64(victim_hash ^ t->seed) & (t->index_cap - 1));
}

static inline void tel_victim_prefetch_slot(const struct tel_victim_table *t, uint64_t victim_hash)
{
    __builtin_prefetch(&t->index[tel_victim_slot(t, victim_hash)]);
}

static inline const struct tel_victim *tel_victim_prefetch_entry(const struct tel_victim_table *t,
                                                                 uint64_t victim_hash,
                                                                 uint64_t ts_ms, uint64_t dark_hash)
{
    uint32_t e = t->index[tel_victim_slot(t, victim_hash)];
    if (!e)
        return NULL;
    const struct tel_victim *v = &t->ent[e - 1];
    __builtin_prefetch(v);
    __builtin_prefetch(&v->win[ts_ms / 1000 % TEL_VICTIM_WINDOW_S]);
    __builtin_prefetch(&v->hll_dark[dark_hash >> (64 - TEL_VICTIM_HLL_P)]);
    return v;
}

#endif
