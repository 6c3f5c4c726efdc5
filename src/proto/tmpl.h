/* tmpl.h - compiled v9/IPFIX templates: a template is turned once into a list of ops (field ->
 * flow_rec slot) so that decoding a data record is one pass over the ops with no lookup and no
 * allocation.
 *
 * A template whose fields all have a fixed length is compiled into ops for the mapped fields
 * only, each with its offset in the record; unknown fields cost nothing. A template with a
 * variable-length field (length 65535, RFC 7011 7) keeps one op per field (runs of unmapped
 * fixed fields merged into one skip) and is walked sequentially.
 *
 * Shared by nf9.c and ipfix.c through flowdec. Pure: never logs; a template owns its arrays
 * (tmpl_release() frees them).
 */
#ifndef BS_PROTO_TMPL_H
#define BS_PROTO_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow.h"
#include "proto/flow_sink.h"

#define TMPL_VARLEN 65535u
/* Marker "PEN" of a NetFlow v9 options scope field: its type is a scope type (system,
 * interface, ...), not an information element, so it is skipped by length. */
#define TMPL_PEN_V9_SCOPE 0xffffffffu
/* IPFIX PEN of RFC 5103 reverse information elements. */
#define TMPL_PEN_REVERSE 29305u

/* One field specifier as the exporter sent it (enterprise bit removed from id). */
struct tmpl_field {
    uint16_t id;
    uint16_t len; /* TMPL_VARLEN for variable length */
    uint32_t pen; /* 0 for IANA elements */
};

/* What a compiled op does with its field. */
enum tmpl_op_kind {
    TOP_SKIP = 0,
    TOP_BYTES,
    TOP_PKTS,
    TOP_PROTO,
    TOP_TOS,
    TOP_FLAGS,
    TOP_SPORT,
    TOP_DPORT,
    TOP_SRC4,
    TOP_DST4,
    TOP_SRC6,
    TOP_DST6,
    TOP_SMASK,
    TOP_DMASK,
    TOP_INIF,
    TOP_OUTIF,
    TOP_NH4,
    TOP_NH6,
    TOP_SAS,
    TOP_DAS,
    TOP_UP_END,
    TOP_UP_START,
    TOP_START_S,
    TOP_END_S,
    TOP_START_MS,
    TOP_END_MS,
    TOP_START_NTP,
    TOP_END_NTP,
    TOP_START_DUS,
    TOP_END_DUS,
    TOP_ICMP_TC,
    TOP_ICMP_TYPE,
    TOP_ICMP_CODE,
    TOP_VLAN,
    TOP_DIR,
    TOP_SYSINIT,
    /* sampling (options records and data records that carry their own) */
    TOP_SAMP_INTERVAL,
    TOP_SAMP_ALGO,
    TOP_SAMPLER_ID,
    TOP_SAMP_MODE,
    TOP_SAMP_RANDOM,
    TOP_SAMP_PINTERVAL,
    TOP_SAMP_PSPACE,
    TOP_SAMP_SIZE,
    TOP_SAMP_POP,
    TOP__COUNT
};

struct tmpl_op {
    uint16_t off; /* offset in the record (fixed-length templates) */
    uint16_t len; /* field length, TMPL_VARLEN for variable */
    uint8_t kind; /* enum tmpl_op_kind */
    uint8_t pad[3];
};

/* Template flags computed at compile time. */
enum tmpl_flag {
    TMPL_F_VARLEN = 1u << 0,   /* has a variable-length field: walk sequentially */
    TMPL_F_SAMPLING = 1u << 1, /* records carry a sampling interval or a sampler ID */
    TMPL_F_UPTIME = 1u << 2,   /* times relative to system uptime (IE 21/22) */
    TMPL_F_ICMP = 1u << 3,     /* ICMP type/code fields present */
    TMPL_F_SYSINIT = 1u << 4,  /* record carries systemInitTimeMilliseconds */
};

struct tmpl {
    uint32_t domain;
    uint16_t id;
    uint8_t version; /* 9 or 10 */
    uint8_t options; /* 1 for an options template */
    uint16_t nfields;
    uint16_t scope_n; /* scope fields (options templates) */
    uint16_t nops;
    uint16_t flags;            /* TMPL_F_* */
    uint16_t has;              /* FLOW_HAS_* bits every record of this template gets */
    uint32_t min_len;          /* record length (fixed) or minimum length (variable) */
    struct tmpl_field *fields; /* nfields, kept for persistence */
    struct tmpl_op *ops;       /* nops */
};

/* Values of one options (or sampling-aware data) record that are not flow fields. */
struct tmpl_samp {
    uint64_t sampler_id;
    uint64_t interval;   /* IE 34 */
    uint64_t random;     /* IE 50 */
    uint64_t pinterval;  /* IE 305 */
    uint64_t pspace;     /* IE 306 */
    uint64_t size;       /* IE 309 */
    uint64_t population; /* IE 310 */
    uint64_t sysinit_ms; /* IE 160 */
    uint8_t has_sampler_id;
    uint8_t has_sysinit;
    uint8_t algo; /* IE 35 */
    uint8_t mode; /* IE 49 */
};

/* Sampling rate a record's sampling fields give: IE 34, else IE 50, else (305+306)/305, else
 * 310/309 (rounded). 0 when the record gives none. */
uint32_t tmpl_samp_rate(const struct tmpl_samp *s);

/* Decoding environment of one data set. */
struct tmpl_env {
    struct flow_rec base;  /* exporter, version, obs_domain preset; copied per record */
    uint64_t export_ms;    /* header export time (epoch ms) */
    uint64_t boot_ms;      /* epoch ms of exporter uptime 0 (v9 header), 0 unknown */
    uint32_t sysuptime;    /* v9 header sysUpTime (ms) */
    uint32_t default_rate; /* domain's default sampling rate (>= 1) */
    uint8_t has_sysuptime; /* v9: times relative to sysuptime are converted with it */
    /* Looks up a sampler's rate (0 unknown); called only for records carrying a sampler ID. */
    uint32_t (*sampler_rate)(void *arg, uint64_t sampler_id);
    void *sampler_arg;
};

/* Compiles fields (n of them, the first scope_n being scope fields) into t. version 9 or 10.
 * On success t owns copies of the arrays. Returns 0, BS_EMALFORMED (no fields, record length
 * 0 or over 65535), BS_ELIMIT (n > FLOWDEC_MAX_FIELDS) or BS_ENOMEM. */
int tmpl_compile(struct tmpl *t, unsigned version, uint32_t domain, uint16_t id, bool options,
                 const struct tmpl_field *fields, unsigned n, unsigned scope_n);

/* Frees t's arrays. */
void tmpl_release(struct tmpl *t);

/* Decodes the data records of one data set body (set header removed) and emits them.
 * Trailing bytes shorter than one record are padding. *nrec gets the records emitted.
 * Returns 0 or BS_EMALFORMED (a variable-length field runs past the set: records before it
 * were emitted). */
int tmpl_decode_data(const struct tmpl *t, const uint8_t *p, size_t len, const struct tmpl_env *env,
                     const struct flow_sink *sink, uint32_t *nrec);

/* Decodes the records of an options data set; fn is called once per record with its sampling
 * values. Same return and padding rules as tmpl_decode_data(). */
int tmpl_decode_options(const struct tmpl *t, const uint8_t *p, size_t len,
                        void (*fn)(void *arg, const struct tmpl_samp *s), void *arg,
                        uint32_t *nrec);

/* Epoch ms of a time relative to the exporter's uptime: t ms of uptime when the header said
 * sysuptime at export_ms. The difference is taken modulo 2^32 as a signed value, so a flow that
 * started before the 49.7-day uptime counter wrapped still lands before the export time, and a
 * time slightly after sysuptime (exporter skew) lands slightly after it. */
static inline uint64_t tmpl_uptime_to_ms(uint64_t export_ms, uint32_t sysuptime, uint32_t t)
{
    int64_t before = (int32_t)(sysuptime - t);
    if (before > 0 && (uint64_t)before > export_ms)
        return 0;
    return (uint64_t)((int64_t)export_ms - before);
}

/* Epoch ms of an NTP timestamp (RFC 7011 6.1.9/6.1.10: seconds since 1900, 2^-32 fraction). */
static inline uint64_t tmpl_ntp_to_ms(uint64_t ntp)
{
    uint64_t sec = ntp >> 32;
    uint64_t frac_ms = ((ntp & 0xffffffffu) * 1000u) >> 32;
    if (sec < 2208988800u)
        return 0;
    return (sec - 2208988800u) * 1000u + frac_ms;
}

#endif
