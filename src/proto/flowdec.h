/* flowdec.h - flow-export datagram dispatcher with per-exporter state: NetFlow v5, NetFlow v9
 * (RFC 3954), IPFIX (RFC 7011, RFC 5103 reverse IEs) and sFlow v5 (through sflow.h).
 *
 * One struct flowdec_exporter holds everything the decoders remember about one exporter
 * address: v9/IPFIX templates and options templates, samplers and per-domain default sampling
 * rates, sequence-number tracking, data sets parked while their template is unknown, and
 * statistics. Templates and samplers are keyed per (version, observation domain / source ID,
 * template or sampler ID) inside the exporter, so the full key is (exporter address, version,
 * domain, ID).
 *
 * Threading: no global state. An exporter state may be used by one thread at a time; the
 * caller serialises calls on one state (different states are independent).
 *
 * Ownership: flowdec_exporter_new()/flowdec_exporter_load() allocate a state that the caller
 * frees with flowdec_exporter_free(). flowdec_decode() borrows buf for the call only (parked
 * data sets are copied). Records are delivered synchronously to the sink (flow_sink.h).
 *
 * Caps (all per exporter; hostile input cannot grow memory past them):
 *  - max_templates data + options templates (collect.max_templates_per_exporter, 4096); a new
 *    template beyond the cap evicts the least recently used one (learnt, refreshed or used by
 *    a data set longest ago; counted in templates_evicted), so a flood of template IDs cannot
 *    lock an exporter's real templates out; a redefinition of a known ID always replaces the
 *    old one (RFC 7011 8.1).
 *  - FLOWDEC_MAX_FIELDS fields per template (tshark keeps 60): larger templates are refused.
 *  - pending_bytes of parked data sets (collect.pending_bytes_per_exporter, 256 KiB); each
 *    parked set also costs FLOWDEC_PENDING_OVERHEAD bytes of that budget. A set that does not
 *    fit evicts the oldest ones; evicted and aged-out sets are counted in no_template_sets.
 *  - FLOWDEC_MAX_SAMPLERS samplers and FLOWDEC_MAX_DOMAINS (version, domain) pairs; beyond
 *    them new samplers are ignored and new domains get no sequence tracking (both counted).
 *  Worst case per exporter: max_templates x (16 bytes x fields + ~80) for templates (about
 *  32 MiB at the defaults with 512-field templates; a typical 20-field template is ~400 bytes),
 *  plus pending_bytes, plus small tables.
 *
 * Validation, every version: records with a prefix mask above 32 (IPv4) or 128 (IPv6), or
 * with more packets than bytes (when bytes are known), are refused and counted per occurrence
 * in errors[FLOWDEC_ERR_VALUE]; records outside the skew limit in errors[FLOWDEC_ERR_SKEW].
 * Neither counts in flows nor reaches the sink. nf5.c checks more (see there).
 *
 * Records: packets/bytes are IE 2/1 (v9 IN_PKTS/IN_BYTES), else the totals IE 86/85; OUT
 * counters (IE 23/24) and RFC 5103 reverse elements (PEN 29305) never count as forward, and a
 * biflow yields one record for its forward direction only (no separate reverse record). Times:
 * v5/v9 uptime-relative First/Last via the header's sysUpTime and export time; IPFIX seconds,
 * milliseconds, NTP micro/nanoseconds, delta microseconds, or uptime-relative with
 * systemInitTimeMilliseconds (IE 160, in the record or from an options record); no time field
 * means the export time. Post-NAT fields (IE 225-228) are ignored: addresses stay pre-NAT.
 * sampling_rate: IE 34/50/305+306/309+310 in the record, else the rate of the sampler whose ID
 * (IE 48/302) the record carries, else the domain default from an options record without a
 * sampler ID, else the v5 header, else 1. Packets and bytes stay as exported.
 *
 * Sequence numbers, per (exporter, version, domain): v5 and IPFIX count records, so a gap is
 * the number of lost flow records (IPFIX counts data and options records alike). v9 counts
 * export packets (RFC 3954 5.1), so a gap is a number of lost datagrams: lost_packets; its
 * lost_flows estimate is lost packets x the domain's mean records per datagram so far. A
 * backwards jump (exporter restart, reordering) is a reset, not a loss. An IPFIX message whose
 * data sets were parked leaves the next expected number unknown (no gap is computed then).
 */
#ifndef BS_PROTO_FLOWDEC_H
#define BS_PROTO_FLOWDEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "proto/flow_sink.h"

struct buf;

#define FLOWDEC_MAX_FIELDS       512
#define FLOWDEC_MAX_SAMPLERS     1024
#define FLOWDEC_MAX_DOMAINS      1024
#define FLOWDEC_PENDING_OVERHEAD 64
#define FLOWDEC_STATE_UNUSED_MAX 64

struct flowdec_config {
    uint32_t max_templates;      /* per exporter, >= 1 (default 4096) */
    uint32_t pending_bytes;      /* per exporter, 0 disables parking (default 256 KiB) */
    uint32_t pending_max_age_ms; /* parked sets older than this are dropped (default 60 s) */
    /* Records whose start is more than this before, or whose end more than this after, the
     * receive time (recv_ms of flowdec_decode: the capture's packet time offline) are refused
     * and counted (FLOWDEC_ERR_SKEW). 0: no check. flowdec_config_default() leaves it off;
     * collect.max_time_skew (default 1 day) sets it for the collector. */
    uint64_t max_skew_ms;
};

/* Fills the defaults above. */
void flowdec_config_default(struct flowdec_config *cfg);

struct config;
/* Fills cfg from [collect] max_templates_per_exporter, pending_bytes_per_exporter and
 * pending_max_age of a loaded configuration (values out of range are clamped). */
void flowdec_config_from(const struct config *conf, struct flowdec_config *cfg);

/* Error kinds, counted per exporter and reported per datagram. */
enum flowdec_err {
    FLOWDEC_ERR_NONE = 0,
    FLOWDEC_ERR_VERSION,  /* unknown version in the first bytes */
    FLOWDEC_ERR_HEADER,   /* datagram shorter than its header, absurd count/length */
    FLOWDEC_ERR_TRUNC,    /* records or sets announced past the end of the datagram */
    FLOWDEC_ERR_SET,      /* set/flowset length < 4 or past the end, bad set ID */
    FLOWDEC_ERR_TEMPLATE, /* malformed template: 0 fields, bad lengths, scope inconsistent */
    FLOWDEC_ERR_RECORD,   /* data record that does not fit (variable length past the end) */
    FLOWDEC_ERR_LIMIT,    /* template cap or FLOWDEC_MAX_FIELDS reached */
    FLOWDEC_ERR_SFLOW,    /* sflow_decode() failed */
    FLOWDEC_ERR_VALUE,    /* record with impossible values (mask, packets > bytes, v5 times) */
    FLOWDEC_ERR_SKEW,     /* record whose times are beyond max_skew_ms of the receive time */
    FLOWDEC_ERR__COUNT
};

/* Static name of an error kind ("none", "version", "header", "trunc", "set", "template",
 * "record", "limit", "sflow", "value", "skew"). */
const char *flowdec_err_name(unsigned kind);

/* Per-datagram outcome of flowdec_decode(). */
struct flowdec_result {
    uint32_t version;         /* 5, 9, 10 or 105 (FLOW_SFLOW5); 0 when unrecognised */
    uint32_t obs_domain;      /* v5 engine_type<<8|engine_id, v9 source ID, IPFIX ODID */
    uint32_t sequence;        /* header sequence number */
    uint32_t flows;           /* records emitted (including parked sets decoded now) */
    uint32_t templates;       /* template and options template records learnt */
    uint32_t withdrawals;     /* IPFIX template withdrawals */
    uint32_t options_records; /* options data records applied (not emitted) */
    uint32_t pending_sets;    /* data sets parked for lack of a template */
    uint32_t pending_decoded; /* parked sets decoded because their template arrived */
    uint32_t dropped_sets;    /* parked sets given up (overflow, age, too big): no_template */
    uint32_t errors;          /* error occurrences in this datagram */
    uint8_t err_kind;         /* enum flowdec_err of the first error, NONE when clean */
    int err;                  /* BS_E* of the first error, 0 when clean */
};

/* Per-exporter counters (monotonic except the "now" gauges). */
struct flowdec_stats {
    uint64_t datagrams;               /* every call of flowdec_decode() */
    uint64_t datagrams_by_version[4]; /* [0] v5, [1] v9, [2] IPFIX, [3] sFlow */
    uint64_t flows;                   /* records emitted */
    uint64_t options_records;
    uint64_t templates_learnt; /* template records accepted, refreshes included */
    uint64_t templates_withdrawn;
    uint64_t templates_evicted;          /* least recently used templates dropped at the cap */
    uint64_t errors[FLOWDEC_ERR__COUNT]; /* [0] unused */
    uint64_t bad_datagrams;              /* datagrams with at least one error */
    uint64_t no_template_sets; /* data sets never decoded: template never came (dropped) */
    uint64_t no_template_bytes;
    uint64_t pending_sets;      /* data sets parked */
    uint64_t pending_decoded;   /* parked data sets decoded later */
    uint64_t seq_gaps;          /* gap events */
    uint64_t seq_resets;        /* backwards jumps */
    uint64_t lost_flows;        /* v5/IPFIX exact, v9 estimated (see above) */
    uint64_t lost_packets;      /* v9 lost export datagrams */
    uint64_t samplers_refused;  /* beyond FLOWDEC_MAX_SAMPLERS */
    uint64_t domains_untracked; /* beyond FLOWDEC_MAX_DOMAINS */
    uint32_t templates_now;     /* gauge: templates held */
    uint32_t samplers_now;      /* gauge: samplers held */
    uint32_t pending_now;       /* gauge: bytes parked (with overhead) */
};

struct flowdec_exporter;

/* Creates the state of the exporter at addr (the datagrams' source address, copied into every
 * record). cfg NULL means defaults. Returns 0 or BS_ENOMEM. */
int flowdec_exporter_new(const struct ipaddr *addr, const struct flowdec_config *cfg,
                         struct flowdec_exporter **out);

/* Frees ex and everything it holds (parked sets are dropped uncounted). NULL is a no-op. */
void flowdec_exporter_free(struct flowdec_exporter *ex);

/* The exporter address given at creation. */
const struct ipaddr *flowdec_exporter_addr(const struct flowdec_exporter *ex);

/* Counters of ex; the pointer stays valid until ex is freed. */
const struct flowdec_stats *flowdec_exporter_stats(const struct flowdec_exporter *ex);

/* Decodes one export datagram (the UDP payload) from ex's exporter, received at recv_ms (epoch
 * ms; used for sFlow times and the age of parked sets). The version is recognised from the
 * first bytes: 16-bit 5, 9, 10, or 32-bit 5 (sFlow v5). Records go to sink as they are decoded
 * (and records of parked sets whose template arrives in this datagram). res may be NULL.
 * Returns 0 when the whole datagram decoded (parked data is not an error), else the BS_E* of
 * the first error (BS_EVERSION, BS_ETRUNC, BS_EMALFORMED, BS_ELIMIT); records emitted before
 * the fault stand, later sets are still tried when the set framing allows. Never reads outside
 * [buf, buf+len), never allocates per record. */
int flowdec_decode(struct flowdec_exporter *ex, const uint8_t *buf, size_t len, uint64_t recv_ms,
                   const struct flow_sink *sink, struct flowdec_result *res);

/* Drops parked data sets older than the configured age at now_ms (counted as no_template).
 * flowdec_decode() does this itself; call it from an idle timer for quiet exporters. */
void flowdec_exporter_expire(struct flowdec_exporter *ex, uint64_t now_ms);

/* Appends ex's persistent state to out: exporter address, templates, options templates,
 * samplers and per-domain default rates (not statistics, sequence state or parked data), in a
 * versioned little format ending in a CRC-32C. Several saved states may be concatenated.
 * Templates are saved most recently used first: every template that has decoded data, and of
 * those that never did (a template flood leaves thousands) only the FLOWDEC_STATE_UNUSED_MAX
 * most recent, so a restart does not bring a flood back.
 * Returns 0, BS_ELIMIT (out full) or BS_ENOMEM; out is unchanged on failure. */
int flowdec_exporter_save(const struct flowdec_exporter *ex, struct buf *out);

/* Parses one saved state at the start of [p, p+len) and creates a new exporter state from it
 * (address from the blob; cfg NULL means defaults; templates beyond cfg's cap are dropped).
 * *used receives the bytes consumed so concatenated states can be walked. The blob is
 * untrusted: every length, count and the checksum are validated. Returns 0, BS_ETRUNC,
 * BS_EVERSION, BS_ECORRUPT (checksum or invariant), BS_EMALFORMED or BS_ENOMEM; *out is set
 * only on success. */
int flowdec_exporter_load(const uint8_t *p, size_t len, const struct flowdec_config *cfg,
                          size_t *used, struct flowdec_exporter **out);

#endif
