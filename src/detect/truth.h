/* truth.h - ground truth for evaluating C&C detection: which endpoints are C&C, since when.
 *
 * A truth is a set of C&C endpoints (address, port, protocol) with the time of each one's first
 * and last C&C flow, plus the infected hosts (the bots: what an operator would use as seeds)
 * and, where the source says so, related malicious infrastructure that is not C&C (the
 * simulator's loaders and report servers). Formats, recognised from the content:
 *   TRUTH_SIM       the simulator's truth.json (c2_servers[].addresses[]: addr, first_ms,
 *                   last_ms, bots; the server's port and proto). An address's first activity
 *                   is the later of its own first_ms and the earliest infection of its bots.
 *   TRUTH_C2DEV     the c2-dev datasets' truth.json (scenarios[].cc_endpoints[]: ip, port,
 *                   proto, first_ts/last_ts in seconds, client_ips; scenarios[].infected_hosts)
 *   TRUTH_ZEEK_TSV  a Zeek conn.log with IoT-23/CTU labels (#fields header; label and
 *                   detailed-label columns). A detailed label starting with "C&C" marks the
 *                   responder endpoint as C&C and the originator as infected.
 *   TRUTH_ZEEK_CSV  the same columns as CSV with a header line (IoT-23 as preprocessed for
 *                   c2-dev: empty fields for Zeek's unset '-')
 *   TRUTH_BINETFLOW CTU-13 Argus binetflow (StartTime,...,Label): a label "flow=From-Botnet-..."
 *                   with a "CC" component (CC, CC107, ...) marks DstAddr:Dport/Proto as C&C;
 *                   the source of every From-Botnet flow is infected. Times are read as UTC.
 * Labelled logs are read line by line (lines up to TRUTH_MAX_LINE bytes), JSON files whole (up
 * to TRUTH_MAX_JSON_BYTES); at most TRUTH_MAX_ENDPOINTS endpoints and TRUTH_MAX_HOSTS hosts.
 *
 * Ownership: truth_load fills a caller-owned struct truth, truth_release frees its arrays.
 */
#ifndef BS_DETECT_TRUTH_H
#define BS_DETECT_TRUTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/ipaddr.h"
#include "core/vec.h"

enum truth_format {
    TRUTH_SIM,
    TRUTH_C2DEV,
    TRUTH_ZEEK_TSV,
    TRUTH_ZEEK_CSV,
    TRUTH_BINETFLOW,
    TRUTH_FORMAT_COUNT
};

#define TRUTH_MAX_LINE       65536u
#define TRUTH_MAX_JSON_BYTES (256u * 1024u * 1024u)
#define TRUTH_MAX_ENDPOINTS  100000u
#define TRUTH_MAX_HOSTS      1000000u

struct truth_endpoint {
    struct ipaddr addr;
    uint16_t port;              /* 0 with proto 0: the whole address */
    uint8_t proto;              /* IP protocol number */
    uint64_t first_ms, last_ms; /* first and last C&C activity */
    uint64_t flows;             /* labelled C&C flows (0 when the source does not count them) */
    uint32_t clients;           /* distinct bots seen talking to it (0 when unknown) */
};

struct truth {
    enum truth_format format;
    struct truth_endpoint *ep; /* C&C endpoints, unique by (addr, port, proto) */
    size_t n;
    struct truth_endpoint *related; /* malicious, not C&C: neither a hit nor a false alarm */
    size_t nrelated;
    struct ipaddr *infected; /* sorted, unique */
    size_t ninfected;
    uint64_t lines;         /* lines (or JSON entries) read */
    struct truth_index *ix; /* private: uniqueness while loading (freed by truth_finish) */
    /* Private: the growable storage the three arrays above are views of (ep == ep_v.data and
     * n == ep_v.n after every call, the same for related and infected). */
    struct vec ep_v, related_v, infected_v;
};

/* What went wrong, for the CLI: the line (1-based, 0 when not tied to one) and a sentence. */
struct truth_error {
    unsigned long line;
    char msg[256];
};

/* "sim", "c2dev", "zeek", "zeek-csv", "binetflow". */
const char *truth_format_name(enum truth_format f);

/* Recognises the format from the first bytes of a file (head[0..len)): -1 when unknown. */
int truth_detect_format(const char *head, size_t len);

/* Reads path (or the open stream f when not NULL, then path only names it) into *t, which is
 * initialised here. scenario (NULL = all) selects one scenario of a c2-dev truth.json by name.
 * Returns 0, BS_EUNSUPPORTED (format not recognised), BS_EPARSE / BS_EMALFORMED (err: line
 * and reason), BS_ENOTFOUND (no such scenario), BS_ELIMIT, BS_ENOMEM or -errno. On error *t is
 * released. */
int truth_load(const char *path, FILE *f, const char *scenario, struct truth *t,
               struct truth_error *err);

/* The same from memory (for tests and the fuzz target). */
int truth_load_mem(const char *data, size_t len, const char *scenario, struct truth *t,
                   struct truth_error *err);

void truth_release(struct truth *t);

/* Adds or widens the endpoint (addr, port, proto) with one C&C observation at ts_ms (flows
 * and clients are added as given). Keeps the arrays unique. Returns 0, BS_ELIMIT, BS_ENOMEM. */
int truth_add_endpoint(struct truth *t, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                       uint64_t first_ms, uint64_t last_ms, uint64_t flows, uint32_t clients);
/* Adds a related endpoint (malicious, not C&C; kept unique). Returns 0, BS_ELIMIT, BS_ENOMEM. */
int truth_add_related(struct truth *t, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                      uint64_t first_ms, uint64_t last_ms);
/* Adds an infected host (kept unique; sorted by truth_finish). */
int truth_add_infected(struct truth *t, const struct ipaddr *addr);
/* Sorts endpoints (by addr, port, proto) and infected hosts, dropping duplicate hosts. */
void truth_finish(struct truth *t);

#endif
