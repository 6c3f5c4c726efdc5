/* vuln.h - known vulnerabilities of an identified device, from local files only.
 *
 * A vuln_db is loaded once from the CISA KEV catalogue (--kev FILE), NVD CVE JSON 2.0
 * records (--nvd DIR: one record a file, or NVD's yearly feeds "nvdcve-2.0-YYYY.json" with a
 * "vulnerabilities" array) and botscope's curated high-risk list (data/high-risk.txt). It
 * never touches the network.
 *
 * Matching follows NVD's applicability statements: a CVE applies when any of its
 * configurations holds. A configuration's nodes combine with its operator (AND/OR, default
 * OR); a node's cpeMatch entries combine with the node's operator and the result is inverted
 * when the node has negate. A cpeMatch entry with "vulnerable": true holds when one of the
 * target's CPEs matches its criteria (cpe_match() on every attribute but the version) and
 * the target's version lies in its range (versionStartIncluding / StartExcluding /
 * EndIncluding / EndExcluding, ordered by vercmp()), or, without bounds, equals the
 * criteria's version (ANY: every version). An entry with "vulnerable": false names a
 * platform (typically the hardware model beside a firmware) and holds when a target CPE
 * matches it, or when the target names no CPE of that part at all (unknown hardware is not
 * held against a firmware that names its model; in a negated node that assumption is not
 * made, so an unknown platform is taken as absent). A configuration holds only if at least
 * one vulnerable entry in a non-negated node matched, so platforms alone never make a
 * finding. A criteria version of NA ("-") covers every version, as ANY does.
 * A target whose version is unknown (ANY) matches only criteria that cover every version:
 * a patched build is never reported because its version could not be read.
 *
 * High risk (docs/SURVEY-IDENT.md): a finding is high risk when its CVE is in the loaded
 * KEV catalogue, or its CVSS base score is >= 9.0 with network attack vector and no
 * privileges required (v3.1, else v3.0, else v4.0, else v2 with AV:N/Au:N; NVD's primary
 * score first), or it is on the curated list.
 *
 * Lifetime and threads: build with vuln_db_new and vuln_db_load_*, then only read;
 * vuln_match() may run from several threads at once. Findings borrow strings from the db.
 * Caps: a file is at most VULN_FILE_MAX bytes; a db holds at most VULN_DB_MAX_CVE records;
 * a record at most VULN_MAX_MATCH cpeMatch entries (more: the file is refused).
 */
#ifndef BS_SURVEY_VULN_H
#define BS_SURVEY_VULN_H

#include <stdbool.h>
#include <stddef.h>

#include "survey/ident_diag.h"
#include "survey/recog.h"

#define VULN_FILE_MAX   (1u << 30) /* bytes of one JSON or list file */
#define VULN_DB_MAX_CVE 1000000u   /* CVE records in one db */
#define VULN_MAX_MATCH  20000u     /* cpeMatch entries in one CVE record */
#define VULN_TARGET_MAX 8u         /* CPE names describing one device */

struct vuln_db; /* opaque */

/* A device as the matcher sees it: CPE 2.3 names (firmware "o", hardware "h", service
 * "a"), each with its version in the version attribute ("*" when unknown). Borrowed. */
struct vuln_target {
    size_t ncpe;
    const char *cpe[VULN_TARGET_MAX];
};

enum vuln_why {
    VULN_WHY_KEV = 1u << 0,     /* in the KEV catalogue */
    VULN_WHY_CVSS = 1u << 1,    /* CVSS >= 9.0, network, no privileges */
    VULN_WHY_CURATED = 1u << 2, /* on the curated high-risk list */
};

struct vuln_finding {
    const char *cve;         /* "CVE-2020-10987"; borrowed from the db */
    const char *criteria;    /* the vulnerable cpeMatch criteria that matched; borrowed */
    double cvss;             /* base score of the chosen metric, 0 when the record has none */
    const char *cvss_vector; /* its vectorString, "" when none; borrowed */
    unsigned why;            /* VULN_WHY_* bits; high risk when non-zero */
    bool high_risk;          /* why != 0 */
};

/* KEV facts of one CVE, borrowed from the db. */
struct vuln_kev {
    const char *cve;
    const char *vendor;  /* vendorProject, trimmed */
    const char *product; /* free text */
    const char *name;    /* vulnerabilityName */
    const char *date_added;
    bool ransomware; /* knownRansomwareCampaignUse == "Known" */
};

/* Creates an empty db; the caller owns *out (vuln_db_free). Returns 0 or BS_ENOMEM. */
int vuln_db_new(struct vuln_db **out);

/* Frees db and all it owns. NULL is allowed. */
void vuln_db_free(struct vuln_db *db);

/* Loads a KEV catalogue (known_exploited_vulnerabilities.json). Returns 0; BS_EPARSE for bad
 * JSON (diag: file, line, column) or a catalogue without a "vulnerabilities" array or an
 * entry without "cveID" (diag names the entry index); BS_ELIMIT; -errno; BS_ENOMEM. */
int vuln_db_load_kev(struct vuln_db *db, const char *path, struct ident_diag *diag);

/* Loads NVD CVE JSON 2.0 data from path: a file, or a directory whose *.json and *.json.gz
 * files (NVD ships its yearly feeds gzipped) are loaded in name order, subdirectories
 * included (files that are neither a record nor a feed, such as a LICENSES
 * folder's, are not *.json). A file is one record (an object with "id") or a feed (an
 * object with a "vulnerabilities" array of {"cve": record}). A CVE loaded twice keeps the
 * later record. Returns 0; BS_EPARSE (diag: file, line, column for JSON; the record id and
 * what is missing otherwise); BS_EUNSUPPORTED for the retired 1.1 feeds ("CVE_Items");
 * BS_ELIMIT; -errno; BS_ENOMEM. */
int vuln_db_load_nvd(struct vuln_db *db, const char *path, struct ident_diag *diag);

/* As vuln_db_load_kev and vuln_db_load_nvd (for one file), from data[0..len) in memory;
 * path only names the data in diag. */
int vuln_db_load_kev_buffer(struct vuln_db *db, const char *path, const char *data, size_t len,
                            struct ident_diag *diag);
int vuln_db_load_nvd_buffer(struct vuln_db *db, const char *path, const char *data, size_t len,
                            struct ident_diag *diag);

/* Loads the curated high-risk list: one CVE id a line, "#" starts a comment, blank lines
 * allowed. Returns 0, BS_EPARSE (diag: line of the bad entry), -errno, BS_ENOMEM. */
int vuln_db_load_curated(struct vuln_db *db, const char *path, struct ident_diag *diag);

/* Number of NVD records / KEV entries / curated ids loaded. */
size_t vuln_db_count_nvd(const struct vuln_db *db);
size_t vuln_db_count_kev(const struct vuln_db *db);
size_t vuln_db_count_curated(const struct vuln_db *db);

/* Fills t from an identification: its os.cpe23, hw.cpe23 and service.cpe23 params (those
 * present, in that order). t borrows from res. */
void vuln_target_from_recog(struct vuln_target *t, const struct recog_result *res);

/* Finds the CVEs that apply to t. Writes up to max findings to out, sorted by high risk
 * first, then CVE id; *n receives how many apply (may exceed max: only max are written).
 * Returns 0, BS_EPARSE (a target CPE does not parse) or BS_ENOMEM. */
int vuln_match(const struct vuln_db *db, const struct vuln_target *t, struct vuln_finding *out,
               size_t max, size_t *n);

/* KEV entry of cve ("CVE-2020-10987"), or NULL if the catalogue does not list it. */
const struct vuln_kev *vuln_db_kev(const struct vuln_db *db, const char *cve);

#endif
