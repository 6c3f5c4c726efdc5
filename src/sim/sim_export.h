/* sim_export.h - encoders of the simulated routers' export datagrams: NetFlow v9 (RFC 3954),
 * IPFIX (RFC 7011) and sFlow version 5 (sflow.org sflow_version_5.txt), with the state a real
 * exporter keeps: sequence numbers, sysUptime since boot, template and options-template
 * refresh, and datagram assembly up to a path-MTU-safe size.
 *
 * Timing model: the caller feeds records and samples in non-decreasing time order and asks
 * sim_export_deadline() for the moment the exporter must send what it holds (a datagram is
 * sent when it is full, or SIM_EXPORT_HOLD_MS after its first record was buffered). Each
 * finished datagram is handed to the emit callback with its send time.
 *
 * Ownership: struct sim_exporter is plain caller-owned state; the emit callback borrows the
 * datagram for the duration of the call.
 */
#ifndef BS_SIM_SIM_EXPORT_H
#define BS_SIM_SIM_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

enum sim_fmt { SIM_FMT_SFLOW = 5, SIM_FMT_V9 = 9, SIM_FMT_IPFIX = 10 };

/* Largest UDP payload an exporter sends (fits a 1500-byte MTU with IPv4/UDP headers). */
#define SIM_EXPORT_MTU 1400u
/* Longest time a record waits in a partly filled datagram. */
#define SIM_EXPORT_HOLD_MS 1000u
/* v9/IPFIX templates are re-sent at least this often, however few datagrams go out. */
#define SIM_TEMPLATE_TIMEOUT_MS 600000u
/* sFlow agents send interface counters this often (the sFlow default polling interval). */
#define SIM_SFLOW_COUNTER_MS 30000u
/* Bytes of each sampled packet copied into an sFlow raw packet header record. */
#define SIM_SFLOW_HEADER_BYTES 128u

/* Template IDs used by the v9 and IPFIX encoders. */
enum { SIM_TMPL_V4 = 256, SIM_TMPL_V6 = 257, SIM_TMPL_OPTIONS = 258 };

/* One unidirectional flow record as the router accounts it; packets and bytes are what the
 * router counted (already sampled when sampling is on). */
struct sim_export_rec {
    uint64_t start_ms;
    uint64_t end_ms;
    uint64_t packets;
    uint64_t bytes;
    struct ipaddr src;
    struct ipaddr dst;
    struct ipaddr nexthop;
    uint32_t in_if;
    uint32_t out_if;
    uint32_t src_as;
    uint32_t dst_as;
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t tos;
    uint8_t src_mask; /* family's own terms (0..32 or 0..128) */
    uint8_t dst_mask;
};

/* One sampled packet for sFlow. */
struct sim_sflow_sample {
    uint8_t header[SIM_SFLOW_HEADER_BYTES]; /* first bytes of the Ethernet frame */
    uint32_t header_len;
    uint32_t frame_len; /* length of the whole frame on the wire, without FCS */
    uint32_t in_if;
    uint32_t out_if;
    struct ipaddr nexthop;
    uint8_t src_mask;
    uint8_t dst_mask;
};

struct sim_exporter;
typedef void (*sim_export_emit_fn)(void *arg, const struct sim_exporter *ex, uint64_t t_ms,
                                   const uint8_t *dgram, size_t len);

struct sim_exporter {
    /* Configuration, set before the first record. */
    enum sim_fmt fmt;
    struct ipaddr addr;      /* router (agent) address, IPv4 */
    uint32_t source_id;      /* v9 source ID / IPFIX observation domain / sFlow sub-agent */
    uint32_t sampling;       /* 1:N packet sampling (>= 1) */
    uint64_t boot_ms;        /* wall time at which sysUptime was zero */
    unsigned template_every; /* v9/IPFIX: (options) templates every Nth datagram (and at
                              * least every SIM_TEMPLATE_TIMEOUT_MS) */
    uint32_t uplink_if;      /* sFlow counter samples describe this interface */
    sim_export_emit_fn emit;
    void *emit_arg;
    /* State. */
    uint32_t seq;         /* v9: datagrams sent; IPFIX: data records sent; sFlow: datagrams */
    uint32_t sample_seq;  /* sFlow flow sample sequence */
    uint32_t counter_seq; /* sFlow counter sample sequence */
    uint64_t sample_pool; /* sFlow: packets seen on sampled interfaces */
    uint64_t if_octets;   /* sFlow counters: octets and packets seen */
    uint64_t if_pkts;
    uint64_t next_counter_ms; /* sFlow: next counter sample */
    uint64_t datagrams;       /* datagrams emitted */
    uint64_t data_records;    /* flow records / flow samples emitted */
    uint64_t first_ms;        /* buffer's first record time (valid when nrec > 0) */
    uint64_t tmpl_ms;         /* when templates were last sent */
    uint64_t tmpl_datagram;   /* datagram count when templates were last sent */
    unsigned nrec;            /* records or samples buffered */
    size_t len4;              /* v9/IPFIX: bytes of buffered IPv4 records */
    size_t len6;
    uint8_t set4[SIM_EXPORT_MTU];
    uint8_t set6[SIM_EXPORT_MTU];
    uint8_t out[SIM_EXPORT_MTU + 64];
};

/* Prepares ex (all configuration fields set by the caller) for its first record. */
void sim_export_start(struct sim_exporter *ex, uint64_t now_ms);

/* Adds a flow record (v9/IPFIX exporters), sending a full datagram first when needed. */
void sim_export_add_flow(struct sim_exporter *ex, uint64_t now_ms,
                         const struct sim_export_rec *rec);

/* Adds a packet sample (sFlow exporters); true_pkts/true_bytes feed the sample pool and the
 * interface counters for the traffic the sample stands for. */
void sim_export_add_sample(struct sim_exporter *ex, uint64_t now_ms,
                           const struct sim_sflow_sample *s);

/* Accounts traffic seen by an sFlow agent (sample pool and interface counters). */
void sim_export_account(struct sim_exporter *ex, uint64_t pkts, uint64_t bytes);

/* The time at which ex must next send (buffer hold time or sFlow counters); UINT64_MAX when
 * nothing is due. */
uint64_t sim_export_deadline(const struct sim_exporter *ex);

/* Sends whatever is due at now_ms (buffered records, counter samples). */
void sim_export_tick(struct sim_exporter *ex, uint64_t now_ms);

/* Sends the buffered records now, whatever their age (end of run). */
void sim_export_flush(struct sim_exporter *ex, uint64_t now_ms);

#endif
