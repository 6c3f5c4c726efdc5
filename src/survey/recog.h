/* recog.h - identify a device from what a service shows, with Rapid7 Recog fingerprints.
 *
 * An ident_db holds fingerprints loaded from Recog XML files (the format of rapid7/recog:
 * ../shared/recog/xml and botscope's own data/fingerprints). Each file has a key, its
 * `matches` attribute ("http_header.server", "ssh.banner", "ftp.banner", "html_title",
 * "rtsp_header.server", "x509.subject", "http_header.wwwauth", "snmp.sys_description", ...);
 * a file without one is keyed by its base name ("smtp_debug"), except telnet_banners.xml,
 * which is keyed "telnet.banner" so callers need one name per protocol.
 *
 * Patterns are written for Ruby; they are compiled with PCRE2 using Ruby's meanings: `^` and
 * `$` match at every line boundary, REG_ICASE is caseless, REG_MULTILINE and REG_DOT_NEWLINE
 * let `.` match a newline, and Ruby's `\h` (a hex digit) is rewritten for PCRE2. Text that is
 * valid UTF-8 is matched as characters, other text (binary banners) as bytes. Files with a
 * DOCTYPE are refused (entity expansion).
 *
 * Lifetime and threads: the db is built once (ident_db_new, ident_db_load_*) and then only
 * read; recog_match() may run from several threads at once on one db. A result holds its
 * params and summary in fixed buffers (nothing to free); its description, source and key
 * point into the db and are valid until ident_db_free().
 *
 * Caps: a file is at most RECOG_FILE_MAX bytes; a db holds at most RECOG_DB_MAX_FP
 * fingerprints; a fingerprint has at most RECOG_MAX_PARAMS params; matched text longer than
 * RECOG_TEXT_MAX bytes is matched on its first RECOG_TEXT_MAX bytes only.
 */
#ifndef BS_SURVEY_RECOG_H
#define BS_SURVEY_RECOG_H

#include <stdbool.h>
#include <stddef.h>

#include "survey/ident_diag.h"

#define RECOG_FILE_MAX   (16u << 20) /* bytes in one XML file */
#define RECOG_DB_MAX_FP  100000u     /* fingerprints in one db */
#define RECOG_MAX_PARAMS 32u         /* params in one fingerprint or result */
#define RECOG_NAME_MAX   64u         /* bytes of a param name, with the NUL */
#define RECOG_VALUE_MAX  256u        /* bytes of a param value, with the NUL (longer: cut) */
#define RECOG_TEXT_MAX   65536u      /* bytes of input matched */

struct ident_db; /* opaque */

/* One name=value pair a fingerprint yields, e.g. "hw.vendor"="Hikvision". */
struct recog_param {
    char name[RECOG_NAME_MAX];
    char value[RECOG_VALUE_MAX];
};

/* What recog_match() found. The summary fields are "" when unknown. */
struct recog_result {
    /* All params of the matching fingerprint, fixed values and captures, with `{name}`
     * placeholders filled in; a param whose capture group did not take part is omitted. */
    size_t nparams;
    struct recog_param params[RECOG_MAX_PARAMS];

    /* Summary for reports, chosen from the params in this order of preference:
     * vendor:  hw.vendor, os.vendor, service.vendor
     * product: hw.product, os.product, service.product
     * device:  hw.device, os.device, service.device (Recog's device types: "Router",
     *          "IP Camera", "DVR", "NAS", "VPN", "Firewall", ...)
     * version: os.version (the firmware), service.version (hw.version is a hardware
     *          revision and is left in params)
     * cpe:     os.cpe23, hw.cpe23, service.cpe23 (the firmware's CPE first, as NVD's
     *          firmware configurations name it), as a CPE 2.3 formatted string (Recog's
     *          params hold CPE 2.2 URIs; params keep them as written) */
    char vendor[RECOG_VALUE_MAX];
    char product[RECOG_VALUE_MAX];
    char device[RECOG_VALUE_MAX];
    char version[RECOG_VALUE_MAX];
    char cpe[RECOG_VALUE_MAX];

    /* 0..100: the fingerprint's `certainty` attribute (Recog writes 0.0..1.0) times 100, else
     * its file's, else 100 for a pattern match. */
    int certainty;

    /* Borrowed from the db (valid until ident_db_free): the fingerprint's description, the
     * file it came from (base name) and the key it was matched under. */
    const char *description;
    const char *source;
    const char *key;
};

/* Creates an empty db. Returns 0 or BS_ENOMEM. The caller owns *out (ident_db_free). */
int ident_db_new(struct ident_db **out);

/* Frees db and everything it owns. NULL is allowed. */
void ident_db_free(struct ident_db *db);

/* Loads one Recog XML file (all its fingerprints, compiled). Files are searched in load
 * order, so load the more specific ones (botscope's data/fingerprints) first.
 * Returns 0; BS_EPARSE for XML or a pattern that does not compile, BS_ELIMIT for a cap,
 * -errno for I/O, BS_ENOMEM; on error diag names file, line (and column for a pattern) and
 * the problem, and the db keeps what it had before this call. diag may be NULL. */
int ident_db_load_file(struct ident_db *db, const char *path, struct ident_diag *diag);

/* As ident_db_load_file, from data[0..len) already in memory; path names it in diag and
 * its base name is the file's source name (and key when there is no `matches`). */
int ident_db_load_buffer(struct ident_db *db, const char *path, const char *data, size_t len,
                         struct ident_diag *diag);

/* Loads every *.xml file of dir, in name order (ident_db_load_file for each). Stops at the
 * first failing file. Returns 0 or as ident_db_load_file; -ENOENT etc. if dir cannot be read. */
int ident_db_load_dir(struct ident_db *db, const char *dir, struct ident_diag *diag);

/* Number of fingerprints loaded so far. */
size_t ident_db_count(const struct ident_db *db);

/* Matches text[0..len) against the fingerprints under key (e.g. "http_header.server"), in
 * load order, and fills *res from the first that matches (Recog's rule: first match wins).
 * A fingerprint whose pattern fails at run time (PCRE2's match limit) counts as not matching
 * and the search goes on. Returns 1 on a match; 0 when none matches or no file has that key
 * (res then holds nparams 0 and empty strings); BS_EIO when none matched and a pattern
 * failed; BS_ENOMEM. text need not be NUL-terminated and may contain NULs. */
int recog_match(const struct ident_db *db, const char *key, const char *text, size_t len,
                struct recog_result *res);

/* Returns the value of param name in res, or NULL. */
const char *recog_result_get(const struct recog_result *res, const char *name);

/* Called by ident_db_check_examples for each failing example: source file base name, the
 * fingerprint's description, 1-based line of the <example> in its file, and why it failed. */
typedef void (*recog_fail_fn)(void *arg, const char *source, const char *description, int line,
                              const char *why);

/* Conformance check of every <example> of every fingerprint loaded from the file whose base
 * name is `source` (e.g. "http_servers.xml"; NULL: all files): each example must match its
 * own fingerprint and yield the params its attributes assert. Counts go to *npass and
 * *nfail; fail (may be NULL) hears about each failure. Returns 0 or BS_ENOMEM. */
int ident_db_check_examples(const struct ident_db *db, const char *source, size_t *npass,
                            size_t *nfail, recog_fail_fn fail, void *arg);

#endif
