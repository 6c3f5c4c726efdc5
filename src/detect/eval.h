/* eval.h - scoring C&C candidates against a ground truth (struct truth).
 *
 * Matching rules (docs/DETECTION.md, "Evaluation"):
 *  - a candidate (addr, port, proto) matches a truth endpoint with the same address, port and
 *    protocol; a candidate with port 0 and proto 0 is address-level and matches every endpoint
 *    of its address (and an address-level truth endpoint matches every candidate of its
 *    address);
 *  - candidates are first filtered by score (>= min_score), then merged by (addr, port, proto):
 *    a follow-mode run reports one server many times, and it counts once, detected at the
 *    earliest reported time (detected_ms, or last_ms when the line has none) with its highest
 *    score;
 *  - a candidate that matches some endpoint is a true positive; one that matches only related
 *    infrastructure (the simulator's loaders and report servers) is "related": neither a hit
 *    nor a false alarm (strict mode counts it as a false positive); every other is a false
 *    positive;
 *  - precision = TP / (TP + FP) over merged candidates, recall = found endpoints / endpoints,
 *    F1 their harmonic mean. With no candidates precision is 1 (nothing wrong was claimed);
 *    with no endpoints recall is 1 (nothing was there to find); F1 is 0 when both are 0;
 *  - detection delay of a found endpoint = its earliest matching detected_ms minus its first
 *    C&C activity in the truth (negative if a candidate came earlier);
 *  - per UTC day D: the candidates detected on D (precision), and the endpoints active on D
 *    (first_ms..last_ms meets D) that were found by the end of D (recall);
 *  - lead over public intelligence, per true positive whose line carries an "intel" object
 *    (as detect writes it): first_listed_ms minus the merged detected_ms.
 *
 * Ownership: eval_cands and eval_result own their arrays; release them with the _release
 * functions. eval_run borrows the truth and the candidates.
 */
#ifndef BS_DETECT_EVAL_H
#define BS_DETECT_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/ipaddr.h"
#include "core/vec.h"
#include "detect/truth.h"

#define EVAL_MAX_CANDIDATES 1000000u
#define EVAL_MAX_LINE       (1u << 20)
#define EVAL_MAX_DAYS       3660u
#define EVAL_DAY_MS         86400000ull

struct eval_cand {
    struct ipaddr addr;
    uint16_t port;
    uint8_t proto;
    double score;
    uint64_t first_ms, last_ms;
    uint64_t detected_ms;     /* detected_ms, or last_ms when the line has none */
    unsigned long line;       /* input line (of the first line merged into it) */
    bool listed;              /* its "intel" object says it was listed publicly... */
    uint64_t first_listed_ms; /* ...first at this time (from first_listed_ms, or lead_ms) */
};

struct eval_cands {
    struct eval_cand *c; /* c == v.data and n == v.n after every call */
    size_t n;
    struct vec v; /* private: the storage, at most EVAL_MAX_CANDIDATES */
};

struct eval_error {
    unsigned long line;
    char msg[256];
};

/* Reads candidate NDJSON (as `botscope detect --output ndjson` writes it) from f, appending to
 * *cs (zero-initialised by the caller). Blank lines are skipped. Every line must be an object
 * with "addr" (text address), "port" (0..65535), "proto" (0..255), "score" (number) and
 * "last_ms" or "detected_ms" (integers); an optional "intel" object with "listed" and
 * "first_listed_ms" (or "lead_ms") is kept. Returns 0, BS_EPARSE / BS_EMALFORMED (err: line and
 * reason), BS_ELIMIT, BS_ENOMEM or -errno. */
int eval_cands_read(FILE *f, struct eval_cands *cs, struct eval_error *err);
/* The same over a buffer. */
int eval_cands_read_mem(const char *data, size_t len, struct eval_cands *cs,
                        struct eval_error *err);
/* Appends one candidate (a zeroed struct eval_cands is an empty list). Returns 0, BS_ELIMIT or
 * BS_ENOMEM. */
int eval_cands_add(struct eval_cands *cs, const struct eval_cand *c);
void eval_cands_release(struct eval_cands *cs);

struct eval_opts {
    double min_score; /* candidates below are ignored */
    bool strict;      /* related infrastructure counts as false positive */
};

enum eval_class { EVAL_TP, EVAL_FP, EVAL_RELATED };

struct eval_day {
    uint64_t day_ms; /* midnight UTC */
    size_t candidates, tp, fp;
    size_t active, found; /* endpoints active that day; of them found by its end */
    double precision, recall, f1;
};

struct eval_result {
    /* merged candidates, sorted by (addr, port, proto), and their classes */
    struct eval_cand *u;
    enum eval_class *cls;
    size_t nu;
    size_t tp, fp, related;
    /* per truth endpoint (same order as truth->ep): found, and when */
    bool *found;
    uint64_t *detected_ms;
    size_t endpoints, nfound;
    double precision, recall, f1;
    /* the same by address */
    size_t hosts, hosts_found, cand_hosts, cand_hosts_tp;
    double host_precision, host_recall, host_f1;
    /* detection delay over found endpoints */
    size_t ndelay;
    int64_t delay_median_ms, delay_max_ms;
    /* public listing of the true positives (from the candidates' intel objects): listed after
     * our detection (lead > 0), listed before it (lead <= 0), never listed; median lead */
    size_t tp_listed_after, tp_listed_before, tp_unlisted;
    int64_t lead_median_ms;
    struct eval_day *days;
    size_t ndays;
    bool days_truncated;
};

/* Scores cands against t into *r (initialised here). Returns 0 or BS_ENOMEM. */
int eval_run(const struct truth *t, const struct eval_cands *cands, const struct eval_opts *o,
             struct eval_result *r);
void eval_result_release(struct eval_result *r);

/* True when candidate c matches truth endpoint e under the rules above. */
bool eval_match(const struct eval_cand *c, const struct truth_endpoint *e);

/* Appends the result as one JSON object (precision, recall, f1 at the top level; hosts,
 * delay, days, true_positives, false_positives, related, missed) and a newline to b.
 * Returns 0, BS_ENOMEM or BS_ELIMIT. */
int eval_json(const struct truth *t, const struct eval_result *r, const struct eval_opts *o,
              struct buf *b);

#endif
