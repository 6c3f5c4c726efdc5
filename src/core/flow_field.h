/* flow_field.h - every field of struct flow_rec named once (ZMap's fields[] way).
 *
 * flow_fields[] is the one list of the flow record's fields: its order is the order of the
 * collect NDJSON keys and of the `flows -o csv` columns; each entry gives the canonical name
 * (NDJSON key, CSV header, aggregation output name), the other names that `-A`/`-s`/`-D` and
 * the filter accept, the value type, the struct flow_rec member (offset and size), the store
 * column (the number of enum store_col in store/store.h: core may not include the store, so
 * the store's and the query's tests check that each number names the right column) and the
 * column's name in a store that names columns (ClickHouse).
 *
 * Who reads it: flow_to_ndjson (core/flow.c), the query engine's keys (query_keys.c), the
 * filter's `NAME [CMP] N` terms (filter.c), the records' CSV header and rows (query_print.c).
 * A new field is one new line here plus the code that fills it.
 *
 * Everything here is constant data and pure functions: no allocation, no state.
 */
#ifndef BS_CORE_FLOW_FIELD_H
#define BS_CORE_FLOW_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/flow.h"

/* In table order (which is the NDJSON and CSV order). */
enum flow_field_id {
    FLOW_F_EXPORTER,
    FLOW_F_VERSION,
    FLOW_F_OBS_DOMAIN,
    FLOW_F_SRC_ADDR,
    FLOW_F_DST_ADDR,
    FLOW_F_SRC_PORT,
    FLOW_F_DST_PORT,
    FLOW_F_PROTO,
    FLOW_F_TCP_FLAGS,
    FLOW_F_PACKETS,
    FLOW_F_BYTES,
    FLOW_F_SAMPLING_RATE,
    FLOW_F_START_MS,
    FLOW_F_END_MS,
    FLOW_F_IN_IF,
    FLOW_F_OUT_IF,
    FLOW_F_SRC_AS,
    FLOW_F_DST_AS,
    FLOW_F_NEXT_HOP,
    FLOW_F_VLAN,
    FLOW_F_TOS,
    FLOW_F_SRC_MASK,
    FLOW_F_DST_MASK,
    FLOW_F_DIRECTION,
    FLOW_F_COUNT
};

/* Value types. Integers are unsigned; their width is the member's size. */
enum flow_field_type {
    FLOW_FT_ADDR,      /* struct ipaddr, text as ipaddr_format */
    FLOW_FT_UINT,      /* plain counter or identifier */
    FLOW_FT_TIME_MS,   /* milliseconds since the Unix epoch */
    FLOW_FT_PROTO,     /* IP protocol number */
    FLOW_FT_FLAGS,     /* TCP flags bit set (F=0x01 ... C=0x80) */
    FLOW_FT_VERSION,   /* enum flow_version: a number, or "sflow5" */
    FLOW_FT_DIRECTION, /* enum flow_dir: "ingress" or "egress", absent when unknown */
};

/* Where a field goes (flags). */
enum flow_field_use {
    FLOW_FU_CSV = 1u << 0,         /* a column of `flows -o csv` records */
    FLOW_FU_KEY = 1u << 1,         /* an aggregation key (-A, -s, -D) */
    FLOW_FU_ZERO_IS_ONE = 1u << 2, /* NDJSON writes 0 as 1 (sampling rate: 1 when unknown) */
};

struct flow_field {
    const char *name;     /* canonical: NDJSON key, CSV header, aggregation output name */
    const char *aliases;  /* other accepted names, space-separated ("" for none) */
    const char *col_name; /* the store column's name where a store names them */
    uint8_t type;         /* enum flow_field_type */
    uint8_t use;          /* enum flow_field_use */
    uint8_t store_col;    /* enum store_col (store/store.h) */
    uint16_t offset;      /* of the struct flow_rec member */
    uint8_t size;         /* of the struct flow_rec member (the initialiser's order: has next) */
    uint16_t has;         /* FLOW_HAS_* bit the NDJSON output requires, 0 = always written */
};

extern const struct flow_field flow_fields[FLOW_F_COUNT];

/* The field named name (canonical or alias, ASCII case-insensitive), or NULL. */
const struct flow_field *flow_field_by_name(const char *name);
/* Index of f in flow_fields. */
enum flow_field_id flow_field_id(const struct flow_field *f);
/* Does name (case-insensitive) name f, canonically or as an alias? */
bool flow_field_named(const struct flow_field *f, const char *name);

/* The integer value of a non-address field of r (0 for an address field). */
uint64_t flow_field_get_uint(const struct flow_field *f, const struct flow_rec *r);
/* Stores v into the member of a non-address field of r, truncated to its width. */
void flow_field_set_uint(const struct flow_field *f, struct flow_rec *r, uint64_t v);
/* Is the field part of r's NDJSON record (its FLOW_HAS_* bit set; a direction known)? */
bool flow_field_present(const struct flow_field *f, const struct flow_rec *r);

struct jw;
/* Writes the field's NDJSON value under key (NULL inside an array or at the top level): a
 * string for addresses, "sflow5" and directions, a number otherwise. */
void flow_field_json(const struct flow_field *f, const struct flow_rec *r, struct jw *w,
                     const char *key);
/* Appends the field's CSV cell (addresses as text, the version as flow_version_name, the
 * sampling rate as stored). Returns 0 or BS_ELIMIT. */
int flow_field_put_csv(const struct flow_field *f, const struct flow_rec *r, struct buf *b);
/* Parses text (an NDJSON value without its quotes, or a CSV cell) into the field's member of
 * r: an address, a decimal number that fits the member, "sflow5" for the version, "ingress"
 * or "egress" for the direction. Returns 0 or BS_EPARSE (r unchanged). */
int flow_field_parse(const struct flow_field *f, const char *text, struct flow_rec *r);

/* The CSV header of `flows -o csv` records: the FLOW_FU_CSV fields' names in table order,
 * comma-separated, with '\n'. Returns 0 or BS_ELIMIT. */
int flow_field_csv_header(struct buf *b);

#endif
