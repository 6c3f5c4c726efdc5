/* collector.h - the live collector: UDP sockets, receive threads, rings, decode threads.
 *
 *   socket(s) --recvmmsg--> receive thread --copy--> ring[r][d] --> decode thread d --> out
 *   (SO_REUSEPORT: `threads` sockets per listen address, one receive thread each)
 *
 * A receive thread owns one socket and one SPSC ring per decode thread (ring.h). It reads
 * batches with recvmmsg(), drops datagrams from exporters outside the allow-list (counted),
 * reads the kernel's drop counter from SO_RXQ_OVFL control data, and copies each datagram
 * into the ring of the decode thread that owns its exporter (exporter_thread(), a hash
 * independent of the tables' own), so each exporter's flowdec state is used by one thread
 * only. A full ring is a counted drop (queue_drops); the receive thread never waits on
 * decoding.
 *
 * A decode thread owns a struct decoder (its exporter table). It drains its rings, decodes,
 * and batches records into the shared collect_out (NDJSON or store). About once a second it
 * publishes a copy of its exporters' statistics for the metrics endpoint and log lines, and
 * when the main thread asks, a serialised copy of its exporters' template/sampler state.
 *
 * The metrics endpoint is served by the HTTP server's own thread (http/httpd.h), which reads
 * the published copies and atomic counters only; a slow client there never delays the rest.
 * The main thread waits on a signalfd (SIGTERM, SIGINT); on its timer it
 * flushes the store (store.flush_interval), logs statistics (collect.stats_interval) and saves
 * the state file (collect.state_interval). Stopping: the receive threads are told through an
 * eventfd, read what is still queued in their sockets, close their rings and exit; the decode
 * threads decode everything left and publish their final state; then the output is flushed
 * and the state file written. Nothing that reached a socket before the signal is lost.
 *
 * No mutable globals: signals arrive through the signalfd (blocked in every thread), and all
 * state lives in the struct collector built by collector_run().
 */
#ifndef BS_COLLECT_COLLECTOR_H
#define BS_COLLECT_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "collect/allow.h"
#include "collect/out.h"
#include "proto/flowdec.h"

/* Caps on thread counts (per listen address and decode threads) and listen addresses. */
#define COLLECT_MAX_THREADS 64u
#define COLLECT_MAX_LISTEN  64u
#define COLLECT_MAX_BATCH   1024u
/* Bytes per ring slot: one typical export datagram (<= 1500 bytes) plus the entry header. */
#define COLLECT_SLOT_SIZE 2048u

struct collect_live_opts {
    const char *const *listen; /* "ADDR:PORT" strings */
    size_t nlisten;
    unsigned threads; /* receive threads (sockets) per listen address */
    unsigned decode_threads;
    int rcvbuf;             /* requested socket receive buffer, bytes */
    unsigned batch;         /* datagrams per recvmmsg() */
    size_t queue_datagrams; /* total ring capacity, in COLLECT_SLOT_SIZE slots */
    const struct allow_list *allow;
    size_t max_exporters; /* per decode thread; 0 = no cap */
    struct flowdec_config fcfg;
    const char *state_file;     /* NULL: no persistence */
    const char *metrics_listen; /* NULL: no metrics endpoint */
    uint64_t stats_interval_ms; /* 0: no periodic statistics lines */
    uint64_t flush_interval_ms; /* store flush period */
    uint64_t state_interval_ms; /* state file save period */
    struct collect_out *out;
};

/* Runs until SIGTERM or SIGINT, then stops gracefully (see above). Returns 0 after a clean
 * stop; BS_EPARSE for a bad listen/metrics address (errbuf names it); -errno when a socket
 * could not be set up or a thread not started (errbuf says which). Logs through log.h. */
int collector_run(const struct collect_live_opts *o, char *errbuf, size_t errlen);

#endif
