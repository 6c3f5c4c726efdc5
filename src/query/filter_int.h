/* filter_int.h - internals of the filter shared by its files (not for other libraries): the
 * compiled tree's types, address sets (filter_set.c), the evaluator's fields and the flow field
 * table (filter_set.c), parsing and compiling (filter.c), block evaluation and metadata
 * (filter_eval.c).
 *
 * Ownership: a struct filter owns its nodes, sets, value lists and bitmaps (filter_free). */
#ifndef BS_QUERY_FILTER_INT_H
#define BS_QUERY_FILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow_field.h"
#include "core/ipaddr.h"
#include "query/filter.h"

enum fkind {
    FK_ANY,
    FK_AND,
    FK_OR,
    FK_NOT,
    FK_RANGE,   /* field in [lo, hi], xor neg */
    FK_INSET,   /* field in values[] */
    FK_FLAGS,   /* (tcp_flags & mask) == mask */
    FK_NET,     /* address field in prefix */
    FK_ADDRSET, /* address field in set */
    FK_FAMILY,  /* src is IPv4 (lo = 1) or IPv6 (lo = 0) */
};

enum ffield {
    FF_SRC_PORT,
    FF_DST_PORT,
    FF_PROTO,
    FF_PACKETS,
    FF_BYTES,
    FF_SRC_AS,
    FF_DST_AS,
    FF_IN_IF,
    FF_OUT_IF,
    FF_SAMPLING,
    FF_TOS,
    FF_VLAN,
    FF_DURATION,
    FF_PPS,
    FF_BPS,
    FF_BPP,
    FF_SRC,
    FF_DST,
    FF_EXPORTER,
    /* having mode */
    FF_H_FLOWS,
    FF_H_PACKETS,
    FF_H_BYTES,
    FF_H_DISTINCT,
};

struct addrset {
    struct ipaddr *keys; /* open addressing, zero key marks empty (::/128 kept in has_zero) */
    uint32_t *keys4;     /* IPv4 members (host order), open addressing; 0 in has_zero4 */
    size_t cap, cap4, n;
    bool has_zero, has_zero4;
    struct ipprefix *pfx; /* non-host prefixes, checked linearly */
    size_t npfx;
};

struct fnode {
    uint8_t kind, field, neg;
    uint8_t flags;
    int a, b;
    uint64_t lo, hi;
    struct ipprefix pfx;
    int set; /* index into f->sets, or into f->vals for FK_INSET */
    size_t nvals;
};

struct filter {
    struct fnode *nodes;
    size_t n;
    int root;
    bool having;
    struct addrset *sets;
    size_t nsets;
    uint64_t *vals; /* FK_INSET value lists, back to back */
    size_t nv;
    uint8_t *bitmaps; /* one 8 KiB bitmap per FK_INSET on a 16-bit field */
    size_t nbitmaps;
};

/* ---- address sets (filter_set.c) ---- */
bool filter_set_has(const struct addrset *s, const struct ipaddr *a);
bool filter_set_has4(const struct addrset *s, uint32_t v);
/* Adds a prefix (a host prefix to the hash sets, others to the linear list). 0 or BS_ENOMEM. */
int filter_set_add(struct addrset *s, const struct ipprefix *pf);
/* Frees every set of f. */
void filter_sets_free(struct filter *f);

/* ---- fields (filter_set.c) ---- */
/* The evaluator's field of flow field fid, or -1 when the filter cannot test it. */
int filter_term_of_field(enum flow_field_id fid);
/* The flow field of evaluator field fld, or NULL for a derived one (duration, rates). */
const struct flow_field *filter_field_of_term(enum ffield fld);

#endif
