/* sflow.h - pure decoder of sFlow version 5 datagrams (sflow.org sflow_version_5.txt).
 *
 * Flow samples (format 1) and expanded flow samples (format 3) become one flow_rec each:
 * packets 1, bytes the sampled frame length, sampling_rate the sample's rate, addresses, ports,
 * protocol, flags, VLAN from the raw packet header record (decoded with pkt.h) or the sampled
 * IPv4/IPv6 records; extended switch/router/gateway records fill VLAN, next hop, masks and AS
 * numbers. Counter samples (2, 4) and discarded-packet samples (5) are counted, not emitted.
 * Unknown sample and record formats are skipped by their length. Stateless: sequence tracking
 * is the caller's (res->seq, res->agent, res->sub_agent).
 */
#ifndef BS_PROTO_SFLOW_H
#define BS_PROTO_SFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "proto/flow_sink.h"

struct sflow_result {
    struct ipaddr agent; /* agent address from the datagram header */
    uint32_t sub_agent;
    uint32_t seq; /* datagram sequence number */
    uint32_t uptime_ms;
    uint32_t samples;         /* samples announced */
    uint32_t flow_samples;    /* emitted as records (formats 1 and 3) */
    uint32_t counter_samples; /* formats 2 and 4 */
    uint32_t discard_samples; /* format 5 */
    uint32_t other_samples;   /* unknown formats or enterprises, skipped by length */
    uint32_t bad_records;     /* records inside a sample that could not be decoded */
    uint32_t sample_drops;    /* sum of the flow samples' drops fields (agent-side loss) */
};

/* Decodes one sFlow v5 datagram (UDP payload). exporter is the datagram's source address,
 * recv_ms the receive time (sFlow carries no absolute time: start_ms = end_ms = recv_ms).
 * Emits records to sink as it goes. Returns 0, or BS_ETRUNC/BS_EMALFORMED/BS_EVERSION for a
 * datagram that could not be decoded in full (records emitted before the fault stand, and
 * res says how far it got). Never reads outside [buf, buf+len). */
int sflow_decode(const uint8_t *buf, size_t len, const struct ipaddr *exporter, uint64_t recv_ms,
                 const struct flow_sink *sink, struct sflow_result *res);

/* True when buf starts like an sFlow v5 datagram: version word 5 and agent address type 1
 * or 2 (or 0, unknown). Cheap enough for a dispatcher that receives several protocols on one
 * port: a NetFlow v5 header starts with the 16-bit version, so it never matches. */
bool sflow_probe(const uint8_t *buf, size_t len);

#endif
