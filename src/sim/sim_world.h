/* sim_world.h - the simulated world (internal to src/sim): address plan, ISPs, routers,
 * subscriber lines, IoT devices, infections, C&C servers, attacks, scanners.
 *
 * sim_world_build() draws the whole world from the "world" random stream before any traffic
 * is generated, so the world does not depend on traffic parameters (sampling, format,
 * timeouts). Every array is allocated once (sizes are fixed by scale) and owned by the world;
 * sim_world_release() frees them.
 *
 * Address plan (IPv4, all inside SIM_NET8.0.0.0/8, see docs/SIMULATOR.md):
 *   .0.0.0/16    CDN and web servers        .1.0.0/16   public services (DNS, NTP, mail, ...)
 *   .2.0.0/16    hosting (C&C, loaders, DDoS victims)
 *   .3.0.0/16    research scanners          .4.0.0/14   rest of the Internet (external hosts)
 *   .16*(i+1).0.0/12  ISP i (its first /24 holds routers, resolvers and the collector)
 *   .240.0.0/20  the default darknet
 * IPv6: ISP i has 2001:db8:ii00::/40 and each subscriber a /56; external 2001:db8:f000::/36.
 */
#ifndef BS_SIM_SIM_WORLD_H
#define BS_SIM_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/htab.h"
#include "core/ipaddr.h"
#include "sim/sim.h"
#include "sim/sim_export.h"
#include "sim/sim_rng.h"

#define SIM_NET8         25u
#define SIM_V4(b, c, d)  ((SIM_NET8 << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define SIM_NO_END       UINT64_MAX
#define SIM_MAX_C2_ADDRS 8

enum sim_family { FAM_MIRAI = 0, FAM_GAFGYT = 1, FAM_MOZI = 2, FAM_N = 3 };
enum sim_devtype { DEV_ROUTER = 0, DEV_CAMERA = 1, DEV_DVR = 2, DEV_NVR = 3, DEV_N = 4 };
enum sim_attack_type { ATK_UDP_PLAIN = 0, ATK_SYN_SPOOFED = 1, ATK_UDP_SPOOFED = 2 };
enum sim_vector { VEC_INITIAL = 0, VEC_TELNET = 1, VEC_EXPLOIT = 2 };

struct sim_isp {
    char name[16];
    uint32_t asn;
    uint32_t v4_base; /* /12 */
    unsigned first_router;
    unsigned nrouters;
    uint32_t resolver[2];
    uint32_t collector;
    unsigned subscribers; /* household lines */
    unsigned devices;     /* IoT device lines */
};

struct sim_router {
    char name[40];
    unsigned isp;
    uint32_t addr;
    uint16_t sport; /* UDP source port of its exports */
    uint16_t dport; /* 2055, 4739 or 6343 */
    uint32_t uplink_if;
    struct sim_exporter ex;
};

/* One line with a public address: a household or an Internet-reachable IoT device. */
struct sim_host {
    uint32_t v4;
    uint16_t isp;
    uint16_t router;  /* global router index */
    uint16_t ifindex; /* access interface on its router */
    uint8_t v6;       /* dual-stack household */
    uint8_t is_device;
    uint32_t v6_idx; /* subscriber /56 index within the ISP */
};

struct sim_model { /* a device model: vendor, product, firmware versions */
    uint8_t type;
    const char *vendor;
    const char *product;
    const char *firmware[3]; /* [0] current, [1..2] older; older ones may be vulnerable */
    const char *cves;        /* comma-separated CVEs of the vulnerable firmware, or "" */
    uint8_t vuln_fw_mask;    /* bit i: firmware[i] is high-risk */
    uint16_t cloud_port;     /* vendor cloud heartbeat port */
    uint16_t heartbeat_s;    /* vendor cloud heartbeat period */
};

struct sim_device {
    uint32_t host; /* its line */
    uint16_t model;
    uint8_t fw;             /* index into model->firmware */
    uint8_t cred;           /* 0: strong; else index into the weak-credential table */
    int32_t infection;      /* index into infections, -1 when never infected */
    uint64_t next_cloud_ms; /* next cloud session */
    uint64_t next_ntp_ms;
};

struct sim_infection {
    uint32_t device;
    uint8_t family;
    uint8_t vector;
    uint8_t cleaned;
    uint8_t c2_mask;     /* C&C address intervals actually contacted (bit per address) */
    uint16_t c2;         /* C&C index (unused for Mozi) */
    int32_t infected_by; /* infection index of the spreading bot, -1 when none */
    uint64_t start_ms;
    uint64_t end_ms; /* SIM_NO_END when still infected at the end */
    /* bot state */
    uint64_t next_c2_ms;
    uint16_t scan_sport;
    uint16_t scan_window;
    uint16_t p2p_port;
    uint8_t attacked; /* took part in at least one attack */
};

struct sim_c2 {
    uint8_t family;
    uint16_t port;
    unsigned naddr;
    uint32_t addr[SIM_MAX_C2_ADDRS];
    uint64_t from[SIM_MAX_C2_ADDRS]; /* addr[i] serves from from[i] to from[i+1] (or the end) */
    uint32_t report_addr;            /* Mirai scan-report server (TCP 48101), 0 for others */
    uint32_t loader_addr;            /* loader / binary download server */
    unsigned keepalive_s;
};

struct sim_attack {
    uint32_t victim;
    uint16_t port;
    uint8_t type;
    uint8_t ttl;
    uint16_t c2;
    uint64_t start_ms;
    uint64_t end_ms;
    double bot_pps;         /* per participating ISP bot (ATK_UDP_PLAIN) */
    double backscatter_pps; /* into the darknet (spoofed attacks) */
    uint32_t bots;          /* ISP bots that sent flood flows */
};

struct sim_scanner {
    uint32_t addr;
    uint8_t tool; /* 0 zmap, 1 masscan */
    uint16_t ports[6];
    uint8_t nports;
    uint16_t sport;
    uint64_t start_ms;
    uint64_t end_ms;
    double weight; /* share of the research-scanner darknet traffic */
};

struct sim_extbot {
    uint32_t addr;
    uint8_t family; /* FAM_MIRAI (seq = dst) or FAM_GAFGYT-like (plain SYN) */
    uint16_t sport;
    uint16_t window;
};

struct sim_world {
    struct sim_params p;
    uint64_t end_ms;
    struct sim_isp isp[SIM_MAX_ISPS];
    unsigned nisp;
    struct sim_router *routers;
    unsigned nrouters;
    struct sim_host *hosts;
    unsigned nhosts;
    unsigned nhouseholds; /* hosts[0..nhouseholds) are households */
    struct sim_device *devices;
    unsigned ndevices;
    struct sim_infection *inf;
    unsigned ninf;
    unsigned inf_cap;
    struct sim_c2 *c2;
    unsigned nc2;
    struct sim_attack *atk;
    unsigned natk;
    struct sim_scanner *scanners;
    unsigned nscanners;
    struct sim_extbot *extbots;
    unsigned nextbots;
    uint32_t *mozi_nodes; /* external Mozi DHT nodes */
    unsigned nmozi_nodes;
    /* IPv4 address (uint32_t) -> host index (uint32_t), sized for every host up front */
    struct htab host_map;
};

extern const struct sim_model sim_world_models[];
extern const unsigned sim_world_nmodels;
extern const char *const sim_world_weak_creds[][2];
extern const unsigned sim_world_nweak_creds;
extern const char *const sim_world_family_name[FAM_N];
extern const char *const sim_world_devtype_name[DEV_N];

int sim_world_build(struct sim_world *w, const struct sim_params *p);
void sim_world_release(struct sim_world *w);

/* Host index of an IPv4 address, or -1. */
int64_t sim_world_host_of(const struct sim_world *w, uint32_t v4);

/* Address forms. */
void sim_world_host_addr(const struct sim_world *w, const struct sim_host *h, int v6,
                         struct ipaddr *a);

/* The C&C address serving at time t, and its index. */
unsigned sim_world_c2_addr_index(const struct sim_c2 *c, uint64_t t);

/* True when infection i is active at time t. */
static inline bool sim_world_inf_active(const struct sim_infection *i, uint64_t t)
{
    return t >= i->start_ms && t < i->end_ms;
}

/* True when infection in takes part in the non-spoofed flood at (it belongs to the ordering
 * C&C and is active when the attack starts); sets its flood interval. */
bool sim_world_attack_bot(const struct sim_world *w, const struct sim_attack *at,
                          const struct sim_infection *in, uint64_t *start, uint64_t *end);

#endif
