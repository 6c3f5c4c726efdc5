/* detect_int.h - the detection engine's tables, shared by detect.c (the scan), detect_score.c
 * (features, scores, expansion) and their tests. Internal to bs_detect. */
#ifndef BS_DETECT_DETECT_INT_H
#define BS_DETECT_DETECT_INT_H

#include "detect/detect.h"

enum { DCLI_SEED = 1, DCLI_EXPANDED = 2 };

/* Persistence is counted in slots of four widths (1 min, 10 min, 1 h, 1 day), each a 64-bit
 * set of slot numbers modulo 64: exact while the activity spans at most 64 slots, folded past
 * that. The scorer picks, per server, the finest width in which its seed clients' activity
 * fits, so a one-hour world and a month of flows are both measured in ~64 slots. */
#define DSCALES 4
extern const uint64_t detect_scale_ms[DSCALES];

/* A server endpoint (address, port, protocol). */
struct dsrv {
    struct ipaddr addr;
    uint16_t port;
    uint8_t proto;
    uint64_t flows_fwd, flows_rev, packets, bytes;
    uint64_t first_ms, last_ms;
    uint32_t clients; /* edges */
    uint32_t svc;     /* its service: the /24 (IPv4) or /48 (IPv6) with the same port */
};

/* A client address. */
struct dcli {
    struct ipaddr addr;
    uint32_t flags;        /* DCLI_* */
    uint32_t telnet_syn;   /* SYN-only records to telnet ports: scanning like an IoT bot */
    uint32_t udp_peers;    /* UDP servers on high ports on both sides: a P2P overlay member */
    uint64_t win[DSCALES]; /* slots in which it sent or received anything */
    uint64_t first_ms, last_ms;
    uint32_t seed_round; /* expansion round that made it a seed */
};

/* A client-server edge of the graph. */
struct dedge {
    uint32_t client, server;
    uint32_t flows, rev_flows, syn_only, rst_rev, tiny, port_runs, sampled, ntimes;
    uint64_t packets;
    uint64_t first_ms, last_ms, last_t;
    uint64_t win[DSCALES]; /* slots with a record */
    uint16_t last_cport;
};

/* One connection time of a seed pair (for the beacon score). */
struct dtime {
    uint32_t edge;
    uint64_t t;
};

struct dctx {
    const struct detect_config *cfg;
    const struct detect_seeds *seeds;
    const struct detect_allow *allow;
    struct htab server_ix, client_ix, edge_ix; /* key -> index into the vectors below */
    struct htab svc_ix;                        /* service key -> service number */
    struct dsrv *srv;
    struct dcli *cli;
    struct dedge *edge;
    struct dtime *times;
    size_t nsvc, nsrv, srv_cap, ncli, cli_cap, nedge, edge_cap, ntimes, times_cap, max_times;
    uint64_t t_first, t_last, flows;
    uint64_t sampling_hist[4]; /* flows at 1:1, < 1:100, < 1:1000, coarser */
    uint32_t sampling_max;
    int rc;
};

/* Orientation of a record (detect.h): true when src is the client. */
bool detect_forward(uint8_t proto, uint16_t sp, uint16_t dp, uint8_t flags);

/* Computes features and scores from the tables, runs the rules and seed expansion, links moved
 * servers and collects the graph edges into out. Returns 0 or BS_ENOMEM. */
int detect_score(struct dctx *d, struct detect_result *out, char errbuf[512]);

/* RITA-style regularity of sorted connection times t[0..n): the mean of a skew score
 * (1 - |Bowley skew| of the intervals), a dispersion score (1 - MAD/median) and a count
 * score (min(1, n/10)); 0 when n < 6. */
double detect_beacon_score(const uint64_t *t, size_t n);

/* P(X >= k) for X ~ Binomial(n, p), as -log10 (capped at 30). */
double detect_binom_tail_log10(uint64_t k, uint64_t n, double p);

#endif
