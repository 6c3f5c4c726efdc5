/* detect.h - C&C server detection from flow records (the `botscope detect` engine).
 *
 * Model. A flow record is one direction of a conversation. Each record is oriented to a client
 * and a server endpoint (address, port, protocol): a TCP record with only SYN set comes from
 * the client; otherwise the service port is the one below 1024, else the one outside the
 * ephemeral range (32768-65535), else the lower one. Seeds are clients believed infected (the
 * telescope's infected IoT sources, the survey's findings, operator lists). The store is read
 * once (through store_scan, so any backend) into a client table and a log of the seeds' pair
 * records, grouped by pair afterwards, which select the servers that can be candidates (a recurring
 * seed pair); a second pass, over the records the first one kept in memory, builds their servers
 * and edges (per client and server: the bot-server graph). Features are computed per server from
 * its edges; the score is a sum of named contributions (evidence), and a server becomes a candidate
 * when seeds are among its clients and its score reaches the threshold, or when a strong-case rule
 * holds. Seed expansion then makes the clients of confirmed servers seeds and scores again, bounded
 * in depth and size. docs/DETECTION.md gives every feature, weight and threshold with its reason.
 *
 * Ownership: detect_run borrows the store, seeds and allow-list and fills a detect_result the
 * caller frees with detect_result_release. Strings in results are owned by the result.
 */
#ifndef BS_DETECT_DETECT_H
#define BS_DETECT_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/htab.h"
#include "core/ipaddr.h"

struct store;
struct config;
struct buf;

/* ---- seeds ---------------------------------------------------------------------------- */

enum detect_seed_source {
    SEED_LIST,      /* plain address list */
    SEED_CSV,       /* CSV with an address column */
    SEED_TELESCOPE, /* the telescope's sources.ndjson (infected_iot) or its state DB */
    SEED_SURVEY,    /* survey findings */
    SEED_SCANNER,   /* no seeds given: clients that scan telnet ports in the flows */
    SEED_EXPANSION, /* clients of a confirmed server (seed expansion) */
};

struct detect_seed {
    struct ipaddr addr;
    uint64_t seen_ms; /* when the seed was observed (0 = unknown) */
    uint8_t source;   /* enum detect_seed_source */
    uint32_t file;    /* index into detect_seeds.files */
};

struct detect_seeds {
    struct htab index; /* addr -> index into v (first provenance wins) */
    struct detect_seed *v;
    size_t n, cap;
    char **files; /* provenance: file names */
    size_t nfiles;
    uint64_t skipped; /* lines that were not addresses (comments excluded) */
};

void detect_seeds_init(struct detect_seeds *s);
void detect_seeds_release(struct detect_seeds *s);
/* Adds one seed (a second entry for the same address keeps the first). */
int detect_seeds_add(struct detect_seeds *s, const struct ipaddr *a, uint64_t seen_ms,
                     enum detect_seed_source src, uint32_t file);
/* Loads a seeds file, recognising its format from its content: the telescope's
 * sources.ndjson (JSON lines with "src" and "infected_iot": only infected sources), CSV with a
 * header naming an address column (addr, address, ip, src, saddr, src_addr, host,
 * id.orig_h), or one address a line ('#' comments, blank lines). A telescope state database
 * (SQLite file, or a data directory holding state.db) gives its infected sources and its
 * open survey findings of infected or weak-credential devices. Returns 0
 * or BS_EPARSE/BS_EIO/-errno with errbuf naming the file and line. */
int detect_seeds_load(struct detect_seeds *s, const char *path, char errbuf[512]);
/* detect_seeds_load with the configuration, which a state database URL such as
 * "clickhouse://HOST:PORT/DB" needs for its user and password ([clickhouse]; cfg may be NULL:
 * defaults). The database is opened read-only (statedb_open_rdonly) through statedb.h, like a
 * state.db file; its errors are returned as they are (-ECONNREFUSED/-ETIMEDOUT: server down,
 * BS_ENOTFOUND: no such database). */
int detect_seeds_load_cfg(struct detect_seeds *s, const char *path, const struct config *cfg,
                          char errbuf[512]);
bool detect_seeds_has(const struct detect_seeds *s, const struct ipaddr *a);

/* ---- allow-list ----------------------------------------------------------------------- */

/* Operator allow-list: prefixes (optionally with a port) never reported. One entry a line:
 * "PREFIX" or "PREFIX PORT" ('#' comments). */
struct detect_allow {
    struct ipprefix *pfx;
    uint16_t *port; /* 0 = any */
    size_t n;
};
int detect_allow_load(struct detect_allow *a, const char *path, char errbuf[512]);
bool detect_allow_match(const struct detect_allow *a, const struct ipaddr *addr, uint16_t port);
void detect_allow_release(struct detect_allow *a);

/* ---- configuration -------------------------------------------------------------------- */

struct detect_config {
    uint64_t t_lo, t_hi;       /* start_ms window (inclusive) */
    double threshold;          /* candidate score threshold */
    double strong_threshold;   /* confirmed: seeds expand from here */
    uint32_t min_seed_clients; /* a candidate has at least this many seed clients */
    uint32_t expand_depth;     /* seed expansion rounds (0 = none) */
    uint32_t expand_max;       /* seeds added by expansion, at most */
    uint32_t max_pair_times;   /* connection times kept per seed pair (beacon) */
    uint32_t graph_edges_max;  /* edges per candidate kept for the graph */
    size_t max_servers, max_clients, max_edges; /* table caps (BS_ELIMIT past them) */
    uint64_t stash_bytes;                       /* memory for the records kept between passes */
    unsigned threads; /* store scan threads (1 = deterministic scan order) */
};

/* Defaults, then [detect] keys from cfg (may be NULL). */
void detect_config_init(struct detect_config *c, const struct config *cfg);

/* ---- results -------------------------------------------------------------------------- */

/* Feature values of a server (evidence.features) and the contributions they made. */
enum detect_feature {
    DF_SEED_FANIN,    /* log2(1 + seed clients) */
    DF_ENRICHMENT,    /* -log10 p of seeing this many seeds among its clients by chance */
    DF_PERSISTENCE,   /* share of the seed clients' active windows with a contact */
    DF_RETRIES,       /* share of unanswered SYN-only connections from seeds */
    DF_BEACON,        /* RITA-style regularity of seed connections (unsampled only) */
    DF_LONG_SESSION,  /* records continuing one client port over several windows */
    DF_TINY_FLOWS,    /* share of flows of at most 3 packets and 120 bytes per packet */
    DF_IOT_CLIENTS,   /* share of clients that scan telnet (IoT bot behaviour) */
    DF_PORT_PRIOR,    /* known IoT C&C port (+) or infrastructure service port (-) */
    DF_POPULARITY,    /* non-seed clients: popular services are benign (-) */
    DF_BURST,         /* packets per seed record (a flood) or records crammed into few slots (-) */
    DF_SERVER_IS_BOT, /* the server is itself a seed or scanner: a P2P peer, not a C&C (-) */
    DF_P2P,           /* share of seed clients with many UDP high-port peers: an overlay (-) */
    DF_COUNT
};

/* Name of a feature ("seed_fanin", ...). */
const char *detect_feature_name(enum detect_feature f);

struct detect_candidate {
    struct ipaddr addr;
    uint16_t port;
    uint8_t proto;
    double score;
    bool repeated; /* a seed pair recurs (or, sampled, three seeds or more): required */
    bool flood;    /* seed records average >= 100 packets: a DDoS target, never reported */
    uint64_t first_ms, last_ms, detected_ms;
    uint64_t clients, seed_clients, flows, packets, bytes;
    double value[DF_COUNT];   /* feature values */
    double contrib[DF_COUNT]; /* score contributions */
    bool used[DF_COUNT];      /* features the scorer could use */
    const char *rule;         /* "score" or a strong-case rule name */
    uint32_t round;           /* 0: initial seeds, k: after k expansion rounds */
    uint32_t seeds_by_source[SEED_EXPANSION + 1];
    bool has_previous; /* a moved C&C: the address its clients used before */
    struct ipaddr previous;
    double previous_overlap; /* Jaccard overlap of the two seed-client sets */
    uint64_t window_ms;      /* persistence slot width used for this server */
    uint32_t endpoints;      /* address level (port 0, proto 0): the endpoints it merges */
    uint32_t server;         /* internal: server index */
};

/* One client-server edge of the bot-server graph around the candidates. */
struct detect_edge {
    struct ipaddr client, server;
    uint16_t port;
    uint8_t proto;
    bool seed;
    uint64_t flows, first_ms, last_ms;
};

struct detect_result {
    struct detect_candidate *cand; /* by score, descending */
    size_t ncand;
    struct detect_edge *edges;
    size_t nedges;
    /* Population and input figures. */
    uint64_t flows, servers, clients, edges_total, seed_clients_seen, seeds_expanded;
    uint32_t sampling;     /* effective sampling rate (flow-weighted median) */
    bool timing_usable;    /* per-pair timing features used (unsampled) */
    bool seeds_from_flows; /* no seeds given: telnet scanners were the seeds */
    uint64_t t_first, t_last;
    /* Feature extraction (every pass over the records and the judging of seed pairs), and
     * the rest (scoring, expansion, the graph). */
    uint64_t features_ns, score_ns;
};

void detect_result_release(struct detect_result *r);

/* The store columns detection reads (a STORE_COLBIT mask). */
extern const uint64_t detect_cols;

/* Runs detection over s. Returns 0, BS_ELIMIT (a table cap, errbuf says which), or a store
 * error. */
int detect_run(struct store *s, const struct detect_config *cfg, const struct detect_seeds *seeds,
               const struct detect_allow *allow, struct detect_result *out, char errbuf[512]);

/* Appends c as one NDJSON line (the CLI.md keys plus detected_ms, evidence, and intel when
 * intel_json, the candidate's public-listing object, is not NULL). */
int detect_candidate_json(const struct detect_candidate *c, const struct detect_result *r,
                          const char *intel_json, struct buf *b);

#endif
