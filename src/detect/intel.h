/* intel.h - public threat intelligence: import into the state database, look up, annotate.
 *
 * A public C&C indicator (a ThreatFox IOC, a Feodo Tracker row, a line of a plain list) is one
 * STATEDB_INTEL record in the state database (statedb.h):
 *   key      "source|indicator", e.g. "threatfox|185.244.25.235:6667", "list|192.0.2.7"
 *   addr     the indicator's address in canonical text (ipaddr_format), so lookups use the
 *            records' address index
 *   first_ms when the source first listed it; last_ms when it was last seen or listed
 *   score    the source's confidence (0..100; 0 when the source gives none)
 *   status   "listed"
 *   body     {"source":..,"indicator":..,"port":N (0 = any port),"malware":..,
 *             "threat_type":..,"confidence":N,"reference":..}
 * Re-importing the same file leaves the same records (statedb_rec_put upserts by key and keeps
 * the earliest first_ms), so imports are idempotent and a later feed extends an earlier one.
 *
 * Matching (intel_lookup): intelligence is about hosts, and a blocking decision is made per
 * address, so every indicator of an address counts as a public listing of it. The earliest
 * first_ms of those records is "when it was listed". `endpoint` tells whether some record names
 * the candidate's own port (or no port at all, or the candidate is address-level, port 0); the
 * protocol is not compared, as none of the feeds gives one (their ip:port entries are TCP).
 *
 * Ownership: every function borrows its arguments for the call; nothing is kept.
 */
#ifndef BS_DETECT_INTEL_H
#define BS_DETECT_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ipaddr.h"

struct statedb;

/* The formats `botscope intel import --format` accepts. */
enum intel_format {
    INTEL_THREATFOX_CSV,  /* ThreatFox CSV export (quoted fields, '#' comment lines) */
    INTEL_THREATFOX_JSON, /* ThreatFox JSON export: {"<ioc id>": [ {ioc_value, ...} ], ...} */
    INTEL_FEODO_CSV,      /* Feodo Tracker CSV: first_seen_utc,dst_ip,dst_port,c2_status,... */
    INTEL_LIST,           /* one address or address:port a line, '#' comments */
    INTEL_FORMAT_COUNT
};

/* The format named name ("threatfox-csv", ...), or -1. */
int intel_format_parse(const char *name);
/* The name of f; NULL when out of range. */
const char *intel_format_name(enum intel_format f);

/* Caps: an indicator file larger than this many records is refused (BS_ELIMIT), as is a line
 * or a JSON file beyond the byte caps, so hostile input cannot exhaust memory. */
#define INTEL_MAX_RECORDS    2000000u
#define INTEL_MAX_LINE       65536u
#define INTEL_MAX_JSON_BYTES (512u * 1024u * 1024u)

/* What went wrong in an import, for the CLI's message: the file's name, the line (1-based;
 * 0 when the error is not tied to a line) and a sentence. */
struct intel_error {
    unsigned long line;
    char msg[256];
};

struct intel_import_stats {
    uint64_t lines;      /* lines read (CSV, list) or entries read (JSON) */
    uint64_t indicators; /* records put */
    uint64_t skipped;    /* rows without an IP indicator (domains, URLs, hashes) */
};

/* Parses the whole of data[0..len) as format f and builds the records in memory, checking
 * every line before anything is written; then puts them into db in one transaction, so a
 * malformed file leaves nothing behind. source overrides the record source name (NULL: the
 * format's own, "threatfox", "feodo" or "list"). now_ms is used as first_ms for plain lists,
 * which carry no times. Returns 0, BS_EPARSE / BS_EMALFORMED (err filled: line and reason),
 * BS_ELIMIT, BS_ENOMEM or a statedb error. */
int intel_import(struct statedb *db, enum intel_format f, const char *data, size_t len,
                 const char *source, uint64_t now_ms, struct intel_import_stats *stats,
                 struct intel_error *err);

/* The same parsing without a database: counts the indicators data holds (for the fuzz target
 * and for tests of the parsers). Same returns as intel_import. */
int intel_parse_only(enum intel_format f, const char *data, size_t len,
                     struct intel_import_stats *stats, struct intel_error *err);

struct intel_hit {
    bool listed;              /* some record lists the address */
    bool endpoint;            /* some record names this port, no port, or the lookup was port 0 */
    uint64_t first_listed_ms; /* earliest first_ms of the address's records */
    char source[32];          /* source of that earliest record */
    char indicator[80];       /* its indicator text */
    char malware[64];         /* its malware family, "" when unknown */
};

/* Looks up addr (port and proto as the candidate has them; port 0 = address-level) in the
 * intel records of db. Fills *out (zeroed, listed = false, when nothing matches). Returns 0 or
 * a statedb error. */
int intel_lookup(struct statedb *db, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                 struct intel_hit *out);

/* Appends the candidate's `intel` object as JSON text to b:
 *   {"listed":false}
 *   {"listed":true,"source":"threatfox","first_listed_ms":N,"lead_ms":N,"endpoint":true,
 *    "indicator":"...","malware":"..."}
 * lead_ms = first_listed_ms - detected_ms: positive when we found the C&C before the public
 * listing, negative when we were late. Returns 0 or BS_ELIMIT from the buffer. */
int intel_json(const struct intel_hit *hit, uint64_t detected_ms, struct buf *b);

/* intel_lookup() then intel_json(): the one call the detector makes per candidate. */
int intel_annotate(struct statedb *db, const struct ipaddr *addr, uint16_t port, uint8_t proto,
                   uint64_t detected_ms, struct buf *b);

#endif
