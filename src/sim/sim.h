/* sim.h - the scenario simulator: a seeded world of ISPs, subscribers, IoT devices, botnets,
 * C&C servers, DDoS victims and a darknet, written out as what real exporters and a real
 * darknet sensor produce (docs/SIMULATOR.md describes every behaviour and its sources).
 *
 * sim_run() builds the world from params, then generates traffic one time slice
 * (SIM_SLICE_MS) at a time: flows live in a heap keyed by the time their next record (or sFlow
 * sample) is due, so memory is bounded by the number of concurrently active flows, never by the
 * total. It writes into params->out_dir:
 *   exports.pcap  Ethernet/IPv4/UDP datagrams from each router to its ISP's collector
 *                 (NetFlow v9 to port 2055, IPFIX to 4739, sFlow v5 to 6343), in time order;
 *   darknet.pcap  every packet that reaches the darknet prefix, Ethernet, real checksums;
 *   truth.json    the ground truth (sim_truth.c).
 * The same params give the same bytes in all three files.
 *
 * Ownership: params and out are borrowed for the call. The datagram callback (live sending) is
 * called synchronously, in time order, with a borrowed datagram.
 */
#ifndef BS_SIM_SIM_H
#define BS_SIM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* Length of one generation slice. */
#define SIM_SLICE_MS 60000u
/* Upper bounds enforced by sim_params_check(). */
#define SIM_MAX_SCALE           10000u /* about 0.64 GB per 1000 of scale (docs/SIMULATOR.md) */
#define SIM_MAX_ISPS            13u
#define SIM_MAX_ROUTERS_PER_ISP 64u
#define SIM_MAX_SAMPLING        65536u

enum sim_format {
    SIM_FORMAT_MIXED = 0,
    SIM_FORMAT_V9 = 9,
    SIM_FORMAT_IPFIX = 10,
    SIM_FORMAT_SFLOW = 5
};

struct sim_params {
    uint64_t seed;
    unsigned scale;       /* world size multiplier (subscribers, devices, bots) */
    uint64_t start_ms;    /* epoch time of the world's start */
    uint64_t duration_ms; /* simulated time span */
    enum sim_format format;
    unsigned isps;            /* number of ISPs */
    unsigned routers_per_isp; /* 0: automatic (2 at scale 1, more with scale) */
    unsigned sampling;        /* v9/IPFIX packet sampling 1:N */
    unsigned sflow_sampling;  /* sFlow agents' 1:N (used when sampling is 1) */
    uint64_t active_timeout_ms;
    uint64_t inactive_timeout_ms;
    unsigned template_every;      /* templates in every Nth datagram */
    struct ipprefix darknet;      /* IPv4 darknet prefix */
    uint64_t darknet_interval_ms; /* background: one packet per darknet address per interval */
    double darknet_share;         /* share of bot scan probes that land in the darknet */
    double scan_pps;              /* Mirai scan probes per second per bot */
    int tz_offset_h;              /* local time of the world, for the diurnal rhythm */
    const char *out_dir;
};

/* Darknet packets by source kind (names in sim_dk_kind_name). */
#define SIM_DK_KINDS 8
extern const char *const sim_dk_kind_name[SIM_DK_KINDS];

/* What sim_run() wrote. */
struct sim_stats {
    uint64_t flow_records; /* v9 + IPFIX data records + sFlow flow samples */
    uint64_t v9_records;
    uint64_t ipfix_records;
    uint64_t sflow_samples;
    uint64_t export_datagrams;
    uint64_t export_bytes; /* exports.pcap size */
    uint64_t darknet_packets;
    uint64_t darknet_bytes; /* darknet.pcap size */
    uint64_t darknet_kind[SIM_DK_KINDS];
    uint64_t truth_bytes;
    uint64_t true_flows;   /* unidirectional flows generated (before sampling/splitting) */
    uint64_t true_packets; /* packets those flows carried */
    unsigned exporters;
    unsigned subscribers;
    unsigned devices;
    unsigned vulnerable;
    unsigned infections;
    unsigned c2_servers;
    unsigned attacks;
    size_t peak_active_flows; /* largest heap size: the memory bound in practice */
};

/* Live sending of export datagrams: called for each datagram in time order. */
struct sim_output {
    void (*datagram)(void *arg, const struct ipaddr *exporter, unsigned exporter_index,
                     uint16_t dst_port, uint64_t t_ms, const uint8_t *p, size_t n);
    void *arg;
};

/* Fills p with the defaults (seed 1, scale 1, 2026-01-01 00:00 UTC, 1 h, mixed formats,
 * 3 ISPs, unsampled v9/IPFIX, sFlow 1:1024, 60 s / 15 s timeouts, templates every 20
 * datagrams, darknet 25.240.0.0/20 at one packet per address per 60 s). */
void sim_params_default(struct sim_params *p);

/* Checks ranges. Returns 0 or BS_EUSAGE with msg naming the parameter. */
int sim_params_check(const struct sim_params *p, char *msg, size_t msglen);

/* Runs the simulation. out may be NULL. Returns 0, -errno (files), BS_ENOMEM. */
int sim_run(const struct sim_params *p, const struct sim_output *out, struct sim_stats *st);

#endif
