/* tel_pmap.h - longest-prefix-match map from IPv4/IPv6 prefixes to a 32-bit value.
 *
 * Built once from a list of prefixes (any order, nested allowed), then read-only: the prefixes
 * are flattened into sorted, disjoint address ranges, each carrying the value of the most
 * specific prefix covering it, so a lookup is one binary search over 128-bit keys (IPv4 is
 * the v4-mapped form, see ipaddr.h); an IPv4 key searches only the ranges starting in its
 * /8, or its /16 past 4096 ranges (a guide table). Used for the darknet, bogon and
 * research-scanner sets (value 1), the pfx2as table (value = ASN) and the geo table (value =
 * two-letter code). Memory: 40 bytes per range, at most 2 ranges per prefix plus one, and a
 * guide of 1 KB (256 KB past 4096 ranges); the builder rejects more than
 * TEL_PMAP_MAX_PREFIXES prefixes (BS_ELIMIT).
 *
 * Ownership: a tel_pmap owns its ranges; tel_pmap_release() frees them. The loaders read a
 * text file and report the first bad line in errbuf.
 */
#ifndef BS_TELESCOPE_TEL_PMAP_H
#define BS_TELESCOPE_TEL_PMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "core/vec.h"

#define TEL_PMAP_MAX_PREFIXES (16u * 1024 * 1024)

struct tel_pmap_range;

struct tel_pmap {
    struct tel_pmap_range *r; /* sorted by lo, disjoint */
    size_t n;
    size_t n_prefixes;   /* prefixes given to the builder */
    uint32_t *guide;     /* IPv4 keys: where to search by their top guide_bits bits */
    unsigned guide_bits; /* 8, or 16 past 4096 ranges; NULL guide without IPv4 ranges */
};

struct tel_pmap_entry {
    struct ipprefix pfx;
    uint32_t val;
};

/* A growable entry list for loaders: a core vec (core/vec.h) of struct tel_pmap_entry, capped
 * at TEL_PMAP_MAX_PREFIXES entries (l.v.data, l.v.n). tel_pmap_list_init first, then
 * tel_pmap_list_release frees the entries. tel_pmap_list_push copies p and returns 0,
 * BS_ENOMEM or BS_ELIMIT. */
struct tel_pmap_list {
    struct vec v;
};
void tel_pmap_list_init(struct tel_pmap_list *l);
void tel_pmap_list_release(struct tel_pmap_list *l);
int tel_pmap_list_push(struct tel_pmap_list *l, const struct ipprefix *p, uint32_t val);

/* Builds m from n entries (m is overwritten; call release first to reuse). Returns 0,
 * BS_ENOMEM or BS_ELIMIT. */
int tel_pmap_build(struct tel_pmap *m, const struct tel_pmap_entry *e, size_t n);

/* Finds the most specific prefix holding a; stores its value in *val. */
bool tel_pmap_lookup(const struct tel_pmap *m, const struct ipaddr *a, uint32_t *val);

void tel_pmap_release(struct tel_pmap *m);

/* Loaders. errbuf (errlen bytes) names the file and line on BS_EPARSE. */

/* One prefix a line ('#' comments and blank lines ignored); value 1. */
int tel_pmap_load_prefixes(struct tel_pmap *m, const char *path, char *errbuf, size_t errlen);
/* CAIDA pfx2as: "ADDR<TAB>LEN<TAB>ASN" where ASN may be "a_b" (first kept) or "a,b" (MOAS,
 * first kept); whitespace separated. */
int tel_pmap_load_pfx2as(struct tel_pmap *m, const char *path, char *errbuf, size_t errlen);
/* Geo CSV: "PREFIX,CC" (a header line whose first field does not parse is skipped once);
 * value = CC[0] << 8 | CC[1]. */
int tel_pmap_load_geo_csv(struct tel_pmap *m, const char *path, char *errbuf, size_t errlen);

/* Parses a comma/space-separated list of prefixes into entries of value 1 (for --darknet).
 * Returns the count or a negative code; at most max entries. */
int tel_pmap_parse_list(const char *s, struct tel_pmap_entry *out, size_t max);

#endif
