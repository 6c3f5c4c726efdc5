/* vuln_int.h - the in-memory form of a vuln_db, shared by vuln.c (loading) and vuln_match.c.
 *
 * Every string is owned by the db. A CVE's cpeMatch entries keep their criteria as text
 * (parsed again when a target could match them) plus a hash of vendor:product, so a target
 * skips in one comparison the records that name other products; a full NVD mirror holds
 * millions of entries, too many to keep as parsed struct cpe.
 */
#ifndef BS_SURVEY_VULN_INT_H
#define BS_SURVEY_VULN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vec.h"
#include "survey/cpe.h"
#include "survey/vuln.h"

/* Key of a CPE's vendor:product for the prefilter; 0 when either holds a wildcard or ANY
 * (such an entry is checked against every target). */
uint64_t vuln_cpe_key(const struct cpe *c);

enum { VULN_B_SI, VULN_B_SE, VULN_B_EI, VULN_B_EE, VULN_NB }; /* version bounds */

struct vuln_cm {
    char *criteria;
    char *bound[VULN_NB]; /* NULL when absent */
    uint64_t key;
    bool vulnerable;
};

struct vuln_node {
    bool op_and;
    bool negate;
    size_t first, n; /* range in vuln_cve.cms */
};

struct vuln_conf {
    bool op_and;
    size_t first, n; /* range in vuln_cve.nodes */
};

struct vuln_cve {
    char *id;
    double cvss;
    char *vector;
    bool av_network, no_privileges;
    struct vuln_cm *cms;
    size_t ncms;
    struct vuln_node *nodes;
    size_t nnodes;
    struct vuln_conf *confs;
    size_t nconfs;
};

/* Open-addressing index of strings (CVE ids) to positions; 0 slots are empty (pos + 1). */
struct vuln_index {
    size_t *slot;
    size_t cap; /* power of two */
    size_t n;
};

struct vuln_db {
    struct vec cves;    /* struct vuln_cve *, owned */
    struct vec cve_ids; /* const char *: cve_ids[i] == cves[i]->id, what cve_ix looks up in */
    struct vuln_index cve_ix;
    struct vec kev; /* struct vuln_kev */
    struct vuln_index kev_ix;
    struct vec curated; /* char *, owned */
    struct vuln_index cur_ix;
};

/* The arrays' elements (all capped at VULN_DB_MAX_CVE). */
#define VDB_CVES(db)    ((struct vuln_cve **)(db)->cves.data)
#define VDB_IDS(db)     ((const char **)(db)->cve_ids.data)
#define VDB_KEV(db)     ((struct vuln_kev *)(db)->kev.data)
#define VDB_CURATED(db) ((char **)(db)->curated.data)

/* Position of id in the index over names[i] = *(char **)((char *)base + i * stride), or
 * (size_t)-1. */
size_t vuln_index_find(const struct vuln_index *ix, const void *base, size_t stride,
                       const char *id);

/* Sets the position of names[pos] in the index (replacing an equal id). Returns 0 or
 * BS_ENOMEM. */
int vuln_index_put(struct vuln_index *ix, const void *base, size_t stride, size_t pos);

void vuln_index_release(struct vuln_index *ix);

#endif
