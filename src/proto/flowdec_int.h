/* flowdec_int.h - internals shared by flowdec.c, flowdec_state.c, nf5.c, nf9.c and ipfix.c.
 * Not part of the public API (flowdec.h). Functions named flowdec__* are internal.
 */
#ifndef BS_PROTO_FLOWDEC_INT_H
#define BS_PROTO_FLOWDEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/flowdec.h"
#include "proto/tmpl.h"
#include "proto/tmpl_map.h"

/* Per (version, domain) state. */
struct flowdec_domain {
    uint64_t sysinit_ms;   /* IPFIX systemInitTimeMilliseconds from options, 0 unknown */
    uint64_t datagrams;    /* datagrams seen (for the v9 lost-flows estimate) */
    uint64_t records;      /* records seen */
    uint32_t default_rate; /* from an options record without a sampler ID; 0 unknown */
    uint32_t next_seq;     /* expected sequence number when seq_valid */
    uint8_t seq_valid;
};

/* A stored template: the compiled template plus its place in the exporter's recency list
 * (most recently used first), which picks the victim when the template cap is reached. */
struct flowdec_tmpl {
    struct tmpl t;
    struct flowdec_tmpl *newer, *older;
    uint8_t used; /* has decoded at least one data set (or was saved as such) */
};

struct flowdec_sampler {
    uint32_t rate;
};

/* A data set parked until its template arrives. All parked sets form one FIFO by arrival
 * (prev/next, for eviction and ageing); the sets of one (version, domain, template ID) also
 * form a FIFO chain (knext) indexed by pend_keys, whose head entry holds the chain's tail
 * (ktail), so a template arriving touches only its own sets. */
struct flowdec_pend {
    struct flowdec_pend *next, *prev;
    struct flowdec_pend *knext, *ktail;
    uint64_t recv_ms;
    uint64_t export_ms;
    uint32_t sysuptime;
    uint32_t domain;
    uint32_t len;
    uint16_t tid;
    uint8_t version;
    uint8_t has_sysuptime;
    uint8_t data[];
};

struct flowdec_exporter {
    struct ipaddr addr;
    struct flowdec_config cfg;
    struct flowdec_stats st;
    struct tmpl_map tmpls; /* (version<<32|domain, template id) -> struct flowdec_tmpl * */
    struct flowdec_tmpl *lru_newest, *lru_oldest;
    struct tmpl_map samplers;  /* (version<<32|domain, sampler id) -> struct flowdec_sampler * */
    struct tmpl_map domains;   /* (version<<32|domain, 0) -> struct flowdec_domain * */
    struct tmpl_map pend_keys; /* (version<<32|domain, template id) -> first parked set */
    struct flowdec_pend *pend_head, *pend_tail;
    size_t pend_bytes;
};

/* Decoding context of one datagram (or of one parked set being decoded late). */
struct flowdec_ctx {
    struct flowdec_exporter *ex;
    const struct flow_sink *sink;
    struct flowdec_result *res;
    uint64_t recv_ms;
    uint64_t export_ms;
    uint32_t domain;
    uint32_t sysuptime;
    uint32_t records; /* data + options records decoded in this datagram */
    uint8_t version;  /* 9 or 10 (5 for v5) */
    uint8_t has_sysuptime;
    uint8_t seq_unknown; /* a set was parked or failed: record count unknown */
};

static inline uint64_t flowdec__k1(unsigned version, uint32_t domain)
{
    return (uint64_t)version << 32 | domain;
}

/* Records an error of kind (enum flowdec_err) with code err in stats and result. */
void flowdec__error(struct flowdec_ctx *c, unsigned kind, int err);
/* The same for n occurrences at once (n records refused). */
void flowdec__error_n(struct flowdec_ctx *c, unsigned kind, int err, uint32_t n);

/* Domain state, created on first use; NULL beyond FLOWDEC_MAX_DOMAINS or out of memory. */
struct flowdec_domain *flowdec__domain(struct flowdec_exporter *ex, unsigned version,
                                       uint32_t domain);

/* Handles one data set body (set header removed) of template tid: decodes it, or parks it. */
void flowdec__data_set(struct flowdec_ctx *c, uint16_t tid, const uint8_t *p, size_t len);

/* Compiles and stores a template (replacing one with the same ID), then decodes parked sets
 * waiting for it. Errors are recorded. Returns 0 or the error. */
int flowdec__template_add(struct flowdec_ctx *c, uint16_t tid, const struct tmpl_field *f,
                          unsigned n, unsigned scope_n, bool options);

/* Removes template tid of c's domain (IPFIX withdrawal). */
void flowdec__template_withdraw(struct flowdec_ctx *c, uint16_t tid);

/* Removes all data (options false) or options templates of c's domain. */
void flowdec__template_withdraw_all(struct flowdec_ctx *c, bool options);

/* Sequence check: seq announced in the header; next is the value the next datagram should
 * carry; lost_is_packets selects the v9 rule (gap = lost datagrams). */
void flowdec__seq(struct flowdec_ctx *c, uint32_t seq, uint32_t next, bool lost_is_packets);

/* Stores a compiled template (replacing one with the same key); takes ownership of t's
 * allocations on success. A new key at the template cap evicts the least recently used
 * template (counted in templates_evicted), except when from_state: the state loader appends
 * its templates as the oldest ones, in the saved order (newest first), and gets BS_ELIMIT once
 * the cap is reached. Returns 0, BS_ELIMIT or BS_ENOMEM. */
int flowdec__template_store(struct flowdec_exporter *ex, struct tmpl *t, bool from_state,
                            bool used);

/* Sets the rate of sampler id. Returns 0, BS_ELIMIT or BS_ENOMEM. */
int flowdec__sampler_set(struct flowdec_exporter *ex, unsigned version, uint32_t domain,
                         uint64_t id, uint32_t rate);

/* Version-specific decoders: parse the header into c and walk the datagram. */
int nf5_decode(struct flowdec_ctx *c, const uint8_t *buf, size_t len);
int nf9_decode(struct flowdec_ctx *c, const uint8_t *buf, size_t len);
int ipfix_decode(struct flowdec_ctx *c, const uint8_t *buf, size_t len);

#endif
