/* tel_live.h - live capture into the telescope engine with libpcap.
 *
 * Opens the interface with pcap_create(), immediate mode and a large kernel buffer
 * (pcap_set_buffer_size; on Linux libpcap then uses a TPACKET_V3 memory-mapped ring),
 * snaplen TEL_LIVE_SNAPLEN (headers are enough for every classifier), and feeds packets to
 * the engine until SIGINT/SIGTERM arrives or the duration has passed. The signals are
 * blocked and polled between batches (no handler, no global state). Intervals are closed by
 * the wall clock too, so quiet periods still produce their (empty) intervals. libpcap's
 * receive/drop counters are polled after every batch into the engine
 * (tel_engine_set_capture_stats): per interval in the output, totals in provenance.
 */
#ifndef BS_TELESCOPE_TEL_LIVE_H
#define BS_TELESCOPE_TEL_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "telescope/tel_engine.h"

#define TEL_LIVE_SNAPLEN 256

struct tel_live_opts {
    const char *interface;
    uint64_t buffer_bytes; /* kernel ring size */
    uint64_t duration_ms;  /* 0: until a signal */
    const char *filter;    /* optional BPF filter, NULL for none */
};

/* Returns 0 on a clean stop, or a negative code with errbuf set. */
int tel_live_run(struct tel_engine *e, const struct tel_live_opts *o, char *errbuf, size_t errlen);

#endif
