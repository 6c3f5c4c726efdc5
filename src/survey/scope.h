/* scope.h - who the survey may touch: the scope, the blocklist and opt-outs, and the IANA
 * special-purpose ranges.
 *
 * A survey sends traffic to other people's devices, so the decision "may this address be
 * contacted" lives in one place and is asked before every connect() (sv_scope_check), not only
 * when targets are generated. The order of the rules is the safety contract:
 *   1. an address in the blocklist or an opt-out is refused, whatever the scope says;
 *   2. an address in an IANA special-purpose range (RFC 6890 registries, plus multicast and
 *      the reserved class E) is refused unless the scope was opened with lab = true;
 *   3. an address outside the scope is refused;
 *   4. everything else is allowed.
 * Sets are kept as sorted, merged [lo, hi] ranges over the 16-byte address form (IPv4 is
 * IPv4-mapped, core/ipaddr.h), so a check is two or three binary searches.
 *
 * Files: one address or CIDR a line, '#' starts a comment, blank lines ignored. An opt-out
 * file has three comma-separated fields a line, "PREFIX,REQUESTED_BY,REQUESTED_AT" (who asked
 * and when, both mandatory, so the record of an opt-out cannot be lost). Errors name the file
 * and line in errbuf. Caps: SV_SCOPE_MAX_LINES entries per set.
 *
 * Ownership: sv_scope_init() prepares an embedded struct, sv_scope_release() frees what the
 * loaders allocated. The struct is read-only after loading, and then safe to share.
 */
#ifndef BS_SURVEY_SCOPE_H
#define BS_SURVEY_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "core/vec.h"

#define SV_SCOPE_MAX_LINES 1000000u

/* A closed range of addresses in the 16-byte form. */
struct sv_range {
    struct ipaddr lo, hi;
};

/* A sorted set of disjoint, non-adjacent ranges. */
struct sv_rangeset {
    struct vec v; /* struct sv_range, at most SV_SCOPE_MAX_LINES */
    bool sorted;
};

/* The set's ranges: sv_rangeset_at(s, 0 .. sv_rangeset_count(s) - 1). */
static inline size_t sv_rangeset_count(const struct sv_rangeset *s)
{
    return s->v.n;
}
static inline const struct sv_range *sv_rangeset_at(const struct sv_rangeset *s, size_t i)
{
    return VEC_AT(&s->v, struct sv_range, i);
}

/* One opt-out: who asked that a prefix never be surveyed, and when. */
struct sv_optout {
    struct ipprefix prefix;
    char requested_by[128];
    char requested_at[64];
};

struct sv_scope {
    struct sv_rangeset allow;   /* the scope */
    struct sv_rangeset deny;    /* blocklist + opt-outs */
    struct sv_rangeset special; /* IANA special-purpose ranges (built in) */
    struct vec optouts;         /* struct sv_optout as read, for the evidence record */
    bool lab;                   /* special-purpose ranges allowed */
};

enum sv_verdict {
    SV_ALLOW = 0,
    SV_BLOCKED = 1, /* blocklist or opt-out */
    SV_SPECIAL = 2, /* IANA special-purpose range without lab */
    SV_OUT_OF_SCOPE = 3,
};

void sv_rangeset_init(struct sv_rangeset *s);
void sv_rangeset_release(struct sv_rangeset *s);
/* Adds a prefix (unsorted until sv_rangeset_finish). Returns 0, BS_ELIMIT or BS_ENOMEM. */
int sv_rangeset_add(struct sv_rangeset *s, const struct ipprefix *p);
/* Sorts and merges overlapping and adjacent ranges. */
void sv_rangeset_finish(struct sv_rangeset *s);
/* True when a lies in a range of a finished set. */
bool sv_rangeset_contains(const struct sv_rangeset *s, const struct ipaddr *a);
/* True when [lo, hi] lies entirely inside one range of a finished set. */
bool sv_rangeset_covers(const struct sv_rangeset *s, const struct ipaddr *lo,
                        const struct ipaddr *hi);

/* Prepares sc with the built-in special-purpose ranges; lab allows them. Returns 0 or
 * BS_ENOMEM. */
int sv_scope_init(struct sv_scope *sc, bool lab);
void sv_scope_release(struct sv_scope *sc);

/* Loads a scope file. Refuses (BS_EUSAGE) a line that lies wholly inside a special-purpose
 * range without lab, so an operator learns at once that the scope cannot be surveyed; ranges
 * that only overlap one keep their other addresses. Returns 0, BS_EPARSE (errbuf names file
 * and line), BS_EUSAGE, BS_ELIMIT, or -errno when the file cannot be read. */
int sv_scope_load_scope(struct sv_scope *sc, const char *path, char *errbuf, size_t errlen);
/* Loads a blocklist file (plain prefixes). Same returns. */
int sv_scope_load_blocklist(struct sv_scope *sc, const char *path, char *errbuf, size_t errlen);
/* Loads an opt-out file ("PREFIX,REQUESTED_BY,REQUESTED_AT" a line). Same returns. */
int sv_scope_load_optouts(struct sv_scope *sc, const char *path, char *errbuf, size_t errlen);
/* Adds one scope or blocklist prefix from text (tests, command line). */
int sv_scope_add(struct sv_scope *sc, bool deny, const char *prefix);
/* Sorts and merges every set; call once after loading, before checks. Returns 0 or
 * BS_EUSAGE when the scope is empty. */
int sv_scope_finish(struct sv_scope *sc);

/* The one gate: may a be contacted? */
enum sv_verdict sv_scope_check(const struct sv_scope *sc, const struct ipaddr *a);
const char *sv_verdict_name(enum sv_verdict v);

#endif
