/* sim_int.h - the simulator's engine state and the functions its files share (internal to
 * bs_sim; the public contract is sim.h).
 *
 * The engine is split by concern: sim.c (parameters, the run's time slices, the active-flow
 * heap and pool, the address plan), sim_flows.c (conversations into per-router flows and their
 * export records), sim_traffic.c (households, IoT devices, bots, infection chains, attacks)
 * and sim_darknet.c (packets reaching the darknet, written to darknet.pcap). Functions named
 * sim__* are shared between those files only.
 */
#ifndef BS_SIM_SIM_INT_H
#define BS_SIM_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "core/pcapw.h"
#include "core/vec.h"
#include "sim/sim.h"
#include "sim/sim_export.h"
#include "sim/sim_rng.h"
#include "sim/sim_world.h"

enum { STREAM_TRAFFIC = 2, STREAM_DARKNET = 3, STREAM_SAMPLING = 4 };

/* TCP flags */
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

/* How a packet's TCP header looks (drives options, sequence number and IP ID). */
enum pkt_style {
    STY_STACK = 0,   /* an ordinary OS stack: SYN with MSS/SACK/timestamps/window scale */
    STY_MIRAI = 1,   /* Mirai scanner: no options, sequence number = destination address */
    STY_ZMAP = 2,    /* ZMap: IP ID 54321, no options */
    STY_MASSCAN = 3, /* Masscan: IP ID = dst ^ dport ^ seq, window 1024 */
    STY_SYNACK = 4,  /* a server's SYN-ACK: MSS option */
};

/* A unidirectional flow as one router sees it, waiting in the heap until its next record
 * (v9/IPFIX) or sampled packet (sFlow) is due. */
struct flow_ent {
    union {
        uint64_t cur_ms;   /* v9/IPFIX: start of the part not yet exported */
        uint64_t next_pkt; /* sFlow: next sampled packet; sparse flows: next packet */
    };
    uint64_t start_ms;
    uint64_t end_ms;
    uint64_t pkts;  /* v9/IPFIX: packets left; sFlow: total packets */
    uint64_t bytes; /* v9/IPFIX: bytes left; sFlow: total bytes */
    struct ipaddr src;
    struct ipaddr dst;
    uint32_t seq;
    uint16_t in_if;
    uint16_t out_if;
    uint16_t sport;
    uint16_t dport;
    uint16_t router;
    uint16_t window;
    uint8_t proto;
    uint8_t flags;
    uint8_t tos;
    uint8_t ttl;
    uint8_t style;
    uint8_t parts;  /* records exported so far */
    uint8_t egress; /* leaving the subscriber (next hop: the ISP's upstream) */
    uint8_t sparse; /* v9/IPFIX: packets further apart than the inactive timeout */
};
/* AS numbers, prefix lengths and next hop are derived from the addresses when a record is
 * written, which keeps an active flow at 96 bytes. */
_Static_assert(sizeof(struct flow_ent) <= 96, "flow_ent grew: update the memory bound");

/* Caps on what grows with the world's size: active flows (96 bytes each, about 6 GB at the
 * cap) and darknet packets of one slice, far above what any --scale reaches (a run that hits
 * one fails with BS_ELIMIT rather than exhausting memory). */
#define SIM_MAX_ACTIVE_FLOWS  (1u << 26)
#define SIM_MAX_SLICE_DARKNET (1u << 26)

struct heap_item {
    uint64_t key;
    uint64_t ord;
    uint32_t idx;
};

/* One packet that reaches the darknet. */
struct dpkt {
    uint64_t t_ns;
    uint64_t ord;
    uint32_t src;
    uint32_t dst;
    uint32_t seq;
    uint32_t ack;
    uint16_t sport;
    uint16_t dport;
    uint16_t ip_id;
    uint16_t window;
    uint16_t plen; /* transport payload bytes */
    uint8_t proto;
    uint8_t flags;
    uint8_t ttl;
    uint8_t style;
    uint8_t icmp_type;
    uint8_t icmp_code;
    /* ICMP error quotation: the packet that caused it */
    uint32_t in_src;
    uint32_t in_dst;
    uint16_t in_sport;
    uint16_t in_dport;
    uint16_t in_id;
    uint8_t in_ttl;
};

enum dk_kind {
    DK_ISP_BOT,
    DK_EXT_MIRAI,
    DK_EXT_OTHER_BOT,
    DK_ZMAP,
    DK_MASSCAN,
    DK_SCANNER,
    DK_MISCONF,
    DK_BACKSCATTER,
    DK_N = SIM_DK_KINDS
};
struct sim {
    struct sim_world w;
    const struct sim_params *p;
    const struct sim_output *out;
    struct sim_rng tr; /* traffic */
    struct sim_rng dr; /* darknet background */
    struct sim_rng sr; /* sampling decisions */
    struct pcapw exp_pcap;
    uint64_t exp_last_ns; /* timestamp of the last export frame written */
    struct pcapw dk_pcap;
    /* active flows */
    struct vec pool;      /* struct flow_ent, by flow number */
    struct vec free_list; /* uint32_t: free flow numbers (room for every flow: never fails) */
    struct vec heap;      /* struct heap_item */
    uint64_t ord;
    uint64_t next_deadline;
    /* darknet packets of the current slice */
    struct vec dk; /* struct dpkt */
    uint32_t *mozi_active;
    unsigned nmozi_active;
    struct sim_stats *st;
    int err;
    uint8_t frame[2048];
};

struct conv {
    uint64_t start_ms;
    uint64_t dur_ms;
    struct ipaddr a; /* initiator */
    struct ipaddr b;
    int64_t ha; /* host index or -1 */
    int64_t hb;
    uint16_t aport;
    uint16_t bport;
    uint8_t proto;
    uint8_t style; /* of the a->b direction */
    uint8_t ttl_a;
    uint8_t ttl_b;
    uint64_t pkts_ab;
    uint64_t bytes_ab;
    uint64_t pkts_ba;
    uint64_t bytes_ba;
    uint8_t flags_ab;
    uint8_t flags_ba;
    uint16_t window;
};

static inline struct flow_ent *flow_at(struct sim *s, uint32_t idx)
{
    return VEC_AT(&s->pool, struct flow_ent, idx);
}

/* ---- sim.c ---- */

/* Queues flow idx to be handled at time key (ties in insertion order). 0 or BS_ELIMIT/ENOMEM. */
int sim__heap_push(struct sim *s, uint64_t key, uint32_t idx);

/* Removes and returns the earliest item; the heap must not be empty. */
struct heap_item sim__heap_pop(struct sim *s);

/* A free flow number in *idx (its entry not initialised). 0 or BS_ELIMIT/BS_ENOMEM. */
int sim__pool_alloc(struct sim *s, uint32_t *idx);

/* Returns flow number idx to the pool (never fails: the free list has room for all). */
void sim__pool_free(struct sim *s, uint32_t idx);

/* The AS number and prefix length the address plan gives a. */
void sim__addr_info(const struct sim_world *w, const struct ipaddr *a, uint32_t *as, uint8_t *mask);

/* The darknet's first IPv4 address and its size in addresses. */
uint32_t sim__darknet_base(const struct sim *s);

uint32_t sim__darknet_size(const struct sim *s);

/* True when v4 is in the darknet. */
int sim__in_darknet(const struct sim *s, uint32_t v4);

/* Path length (hops) from a source to the darknet sensor: stable per source. */
uint8_t sim__hops_of(uint32_t addr);

/* A locally administered MAC address derived from tag (a router or host). */
void sim__mac_of(uint8_t mac[6], uint32_t tag);

/* ---- sim_flows.c ---- */

/* The exporters' emit callback: writes one export datagram to exports.pcap (and sends it
 * when --send is on). */
void sim__on_datagram(void *arg, const struct sim_exporter *ex, uint64_t t_ms, const uint8_t *dg,
                      size_t len);

/* Recomputes the next exporter deadline after ex changed. */
void sim__update_deadline(struct sim *s, const struct sim_exporter *ex);

/* Pops and processes every flow due before limit, and the exporters' deadlines. */
int sim__drain(struct sim *s, uint64_t limit);

/* Turns conversation c into its unidirectional flows at every router on its path. */
int sim__conv_emit(struct sim *s, const struct conv *c);

/* Prepares a conversation from a (host ha or -1) to b (hb or -1); the caller fills the
 * packet and byte counts. */
void sim__conv_init(struct conv *c, uint64_t start, uint64_t dur, const struct ipaddr *a,
                    int64_t ha, const struct ipaddr *b, int64_t hb, uint8_t proto, uint16_t aport,
                    uint16_t bport);

/* A client's ephemeral port. */
uint16_t sim__ephemeral(struct sim *s);

/* a = the IPv4-mapped form of x. */
void sim__v4(struct ipaddr *a, uint32_t x);

/* External IPv6 server address for a service class. */
void sim__ext_v6(struct ipaddr *a, unsigned cls, uint32_t n);

/* A DNS lookup by host at time t to resolver. */
int sim__dns_query(struct sim *s, uint64_t t, int64_t host, uint32_t resolver);

/* ---- sim_traffic.c ---- */

/* The generators: each adds the traffic of its kind that starts in [t0, t1). */
int sim__gen_households(struct sim *s, uint64_t t0, uint64_t t1);

int sim__gen_devices(struct sim *s, uint64_t t0, uint64_t t1);

int sim__gen_bots(struct sim *s, uint64_t t0, uint64_t t1);

/* The flows that lead to an infection: a probe and a telnet brute force by the spreading bot,
 * its report, the loader's login and the new bot's download (Mirai, Gafgyt); an exploit
 * request and a download from the infecting peer (Mozi). */
int sim__gen_chains(struct sim *s, uint64_t t0, uint64_t t1);

int sim__gen_attacks(struct sim *s, uint64_t t0, uint64_t t1);

/* ---- sim_darknet.c ---- */

/* A zeroed darknet packet at t_ns of the given kind, or NULL with s->err set. */
struct dpkt *sim__dk_add(struct sim *s, uint64_t t_ns, enum dk_kind kind);

/* Sorts the slice's darknet packets by time and writes them to darknet.pcap. */
int sim__dk_write(struct sim *s);

/* A uniformly random darknet address. */
uint32_t sim__darknet_random(struct sim *s, struct sim_rng *r);

/* A scan probe from an ISP bot: a flow at the bot's router and, when the target is in the
 * darknet, a packet in the darknet capture. */
int sim__bot_probe(struct sim *s, const struct sim_infection *in, uint64_t t, uint16_t dport,
                   int mirai_style, uint32_t target);

/* A short TCP exchange (telnet brute force, report, download, exploit). */
int sim__tcp_exchange(struct sim *s, uint64_t t, uint64_t dur, uint32_t src, uint32_t dst,
                      uint16_t dport, uint64_t pab, uint64_t bab, uint64_t pba, uint64_t bba);

int sim__gen_darknet_bg(struct sim *s, uint64_t t0, uint64_t t1);

#endif
