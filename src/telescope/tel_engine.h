/* tel_engine.h - the darknet telescope: packets in, intervals, source profiles and DDoS
 * victims out (to sinks).
 *
 * Pipeline per packet (tel_engine_packet): decode (pkt.h) -> advance time (closing intervals,
 * roll-ups, days and idle attacks as their ends pass) -> darknet test (a packet whose
 * destination is outside the darknet is counted in non_darknet_* and not analysed) ->
 * classification (tel_classify.h) -> source profile (tel_src.h; bogon, research, ASN and
 * country looked up once per new source) -> victim table for backscatter (tel_victim.h) ->
 * interval bucket (tel_agg.h). The per-packet path does not allocate (only the rare doubling
 * of a capped table) and costs a decode, a darknet test, two address hashes, one source-table
 * probe and a handful of counter and HyperLogLog updates.
 *
 * Time: packets are assigned to fixed intervals of interval_ms by capture time (UTC,
 * aligned to multiples of the interval since the epoch). Every interval from the first packet
 * to the last is emitted, empty ones included; roll-ups at 5 min, 1 h and 1 day are built by
 * merging base intervals and emitted with their resolution (a roll-up level is produced when
 * it is a multiple of, and longer than, the interval). A packet older than the open interval
 * (input slightly out of order) is counted in the open interval (late_packets). A forward jump
 * of more than TEL_MAX_EMPTY_INTERVALS intervals (a broken clock) restarts the series at the
 * new time without emitting the empty intervals between (time_jumps).
 * Days: source profiles are per UTC day; when a packet of a later day arrives (or at the end),
 * the day's profiles are written (sorted by address) and the table is cleared.
 *
 * infected_iot (a source profile is listed as an infected IoT device) when it is neither a
 * bogon nor a research scanner, and either
 *   - the mirai fingerprint is listed for it (see tel_src_fp_listed), or
 *   - it scanned IoT ports with bot-like behaviour: at least TEL_IOT_MIN_PACKETS TCP SYN scan
 *     packets to IoT ports (tel_is_iot_port), at least TEL_IOT_MIN_DESTINATIONS distinct
 *     darknet destinations, IoT ports making at least half of its SYN scan packets, and no
 *     tool fingerprint (masscan, zmap, nmap, unicornscan) listed - those tools are operated by
 *     people (researchers, attackers), not the self-propagating malware of an infected device.
 * A fingerprint is listed for a source when its votes (packets that matched) are a strict
 * majority of the source's SYN scan packets (one vote suffices for mirai: a random match has
 * probability 2^-32; unicornscan votes start at the second packet, so votes + 1 must be a
 * majority). This keeps the 1-in-65536 chance matches of the 16-bit rules from listing tools.
 * Scan class (per source and day): horizontal = at least 8 destinations and fewer than 8
 * ports; vertical = at least 8 ports and fewer than 8 destinations; strobe = both; "light"
 * otherwise; "none" for a source that sent no scan or probe at all (only backscatter,
 * misconfiguration noise, ...). Destination count: HyperLogLog p=8 (linear counting below
 * 640: ~3 % at 64 destinations, ~6.5 % beyond); port count exact up to 16, then estimated.
 *
 * Ownership: the engine copies what it needs from tel_opts (strings included) and loads the
 * files it names; sinks are borrowed and must outlive the engine.
 */
#ifndef BS_TELESCOPE_TEL_ENGINE_H
#define BS_TELESCOPE_TEL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "proto/pkt.h"
#include "telescope/tel_agg.h"
#include "telescope/tel_classify.h"
#include "telescope/tel_pmap.h"
#include "telescope/tel_src.h"
#include "telescope/tel_victim.h"

#define TEL_MAX_DARKNET          256    /* prefixes in the darknet list */
#define TEL_MAX_EMPTY_INTERVALS  10080u /* a week of 1-minute intervals */
#define TEL_IOT_MIN_PACKETS      3
#define TEL_IOT_MIN_DESTINATIONS 3
#define TEL_SCAN_MANY            8
#define TEL_LEVELS               4 /* base interval, 5 min, 1 h, 1 day */

struct tel_engine;

/* Output plug-in point: every sink in tel_opts receives every record. The NDJSON/CSV file
 * writer is one (tel_out.h); the state database will be another. A non-zero return is kept
 * (first error) and returned by the engine call that triggered it. */
struct tel_sink_ops {
    const char *name;
    int (*interval)(void *state, const struct tel_engine *e, const struct tel_bucket *b,
                    uint32_t resolution_s);
    int (*source)(void *state, const struct tel_engine *e, const struct tel_src_rec *r);
    int (*victim)(void *state, const struct tel_engine *e, const struct tel_victim *v);
};

struct tel_sink {
    const struct tel_sink_ops *ops;
    void *state;
};

#define TEL_MAX_SINKS 4

struct tel_opts {
    const struct tel_pmap_entry *darknet; /* required, 1..TEL_MAX_DARKNET prefixes */
    size_t n_darknet;
    uint64_t interval_ms;      /* default 60000 */
    const char *bogons_path;   /* NULL or "": built-in special-purpose list */
    const char *research_path; /* NULL or "": none */
    const char *pfx2as_path;
    const char *geo_path; /* CSV prefix,CC */
    unsigned fp_mask;     /* 1u << enum tel_fp */
    size_t max_sources;
    size_t max_victims;
    struct tel_victim_thresholds victim;
    bool privacy;
    const char *privacy_key;
    unsigned top_n; /* port/ASN/country rows per interval line */
    struct tel_sink sinks[TEL_MAX_SINKS];
    size_t n_sinks;
};

/* Fills o with the documented defaults (no darknet, no sinks). */
void tel_opts_defaults(struct tel_opts *o);

struct tel_stats {
    uint64_t packets_read;
    uint64_t bytes_read; /* captured wire length */
    uint64_t darknet_packets;
    uint64_t darknet_bytes; /* IP length */
    uint64_t non_darknet_packets;
    uint64_t non_darknet_bytes;
    uint64_t undecoded_packets; /* no IP header found */
    uint64_t late_packets;
    uint64_t time_jumps;
    uint64_t dropped_source_packets; /* packets of sources not profiled (table at cap) */
    uint64_t dropped_sources;        /* distinct such sources (estimate, per day, summed) */
    uint64_t dropped_victim_packets;
    uint64_t dst_sketches_exhausted; /* sources whose destinations stopped counting at 8 */
    uint64_t intervals_written[TEL_LEVELS];
    uint64_t sources_written;
    uint64_t victims_written;
    uint64_t attacks_below_threshold;
    uint64_t first_ms, last_ms; /* capture time of the first/last packet */
    size_t peak_source_memory;  /* bytes, source table */
    size_t peak_victim_memory;  /* bytes, victim table */
    uint64_t pcap_received, pcap_dropped, pcap_if_dropped; /* live capture (set by caller) */
};

/* Creates an engine. On failure returns a negative code and describes it in err. */
int tel_engine_new(const struct tel_opts *o, struct tel_engine **out, char *err, size_t errlen);
void tel_engine_free(struct tel_engine *e);

/* One captured packet (data borrowed for the call). Returns 0 or a sink error. */
int tel_engine_packet(struct tel_engine *e, uint64_t ts_us, const uint8_t *data, uint32_t caplen,
                      uint32_t wirelen, enum pkt_link link);
/* One already decoded packet (tests, fuzzing, other front ends). pkt may be NULL. */
int tel_engine_decoded(struct tel_engine *e, uint64_t ts_ms, const struct pkt_info *pi,
                       const uint8_t *pkt, uint32_t wirelen);
/* Closes the intervals whose end is at or before now_ms (live capture with no traffic). */
int tel_engine_tick(struct tel_engine *e, uint64_t now_ms);
/* End of input: closes the open interval and roll-ups, writes the day's sources and every
 * attack. The engine accepts no more packets afterwards. */
int tel_engine_finish(struct tel_engine *e);
/* Forgets everything seen (nothing is emitted) and returns e to its state after
 * tel_engine_new(): same options, prefix tables and sinks, counters at zero; the tables keep
 * their reserved memory. Lets a caller (the fuzz target) reuse an engine across inputs. */
void tel_engine_reset(struct tel_engine *e);

struct tel_stats *tel_engine_stats(struct tel_engine *e);

/* Live capture: the capture's cumulative receive/drop counters (libpcap's pcap_stats), set
 * between batches. Each interval then carries the counts since the previous interval
 * closed (capture_received/_dropped/_if_dropped in its output), and the run's totals go to
 * provenance. Never called offline, where intervals have no capture counters. */
void tel_engine_set_capture_stats(struct tel_engine *e, uint64_t received, uint64_t dropped,
                                  uint64_t if_dropped);
/* True once tel_engine_set_capture_stats() was called (the sinks write the counters). */
bool tel_engine_has_capture_stats(const struct tel_engine *e);
const struct tel_stats *tel_engine_stats_const(const struct tel_engine *e);
const struct tel_opts *tel_engine_opts(const struct tel_engine *e);
/* IPv4 addresses in the darknet (for the scaling of victim rates); 0 when none. */
uint64_t tel_engine_darknet_v4_size(const struct tel_engine *e);
/* Number of darknet prefixes and their text forms (for provenance). */
size_t tel_engine_darknet_count(const struct tel_engine *e);
const struct ipprefix *tel_engine_darknet(const struct tel_engine *e, size_t i);
const char *tel_engine_bogon_source(const struct tel_engine *e);

/* Address as exported: text, or its keyed pseudonym in privacy mode. */
char *tel_engine_addr_text(const struct tel_engine *e, const struct ipaddr *a, char *buf,
                           size_t len);

/* The engine's rules for a profile (see the header comment): whether fingerprint fp is
 * listed (a majority of its SYN scan packets voted for it; any Mirai vote), and all derived
 * fields of r (fps_listed, scan_class, infected_iot) from its counts. */
bool tel_src_fp_listed(const struct tel_src_rec *r, enum tel_fp fp);
void tel_src_derive(struct tel_src_rec *r);

/* The built-in special-purpose source prefixes (IPv4 and IPv6), NULL-terminated. */
extern const char *const tel_builtin_bogons[];

#endif
