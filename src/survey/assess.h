/* assess.h - from what a service showed to who the device is and whether its firmware is a
 * known high risk: the survey's assessor (survey.h, struct sv_assessor) built on the
 * identification code (recog.h: Recog fingerprints) and the vulnerability matcher (vuln.h:
 * KEV, NVD records, curated list), all from local files.
 *
 * An observation gives one text per Recog key: telnet.banner (the text before and with the
 * login prompt), ssh.banner (the identification string after "SSH-x.x-"), ftp.banner (the
 * greeting after its reply code), http_header.server, html_title, http_header.wwwauth (the
 * challenge as sent), x509.subject (RFC 2253 order), favicon.md5, rtsp_header.server. Every
 * match is merged into one identity (ident_device.h: the most certain value of each field,
 * every distinct CPE); the CPE reported is the most informative match's (a CPE with a
 * version, then a version, then a vendor). All the CPEs go to vuln_match(); the device is
 * "vulnerable" when one of the CVEs that apply is high risk (vuln.h's policy), and only those
 * CVEs are listed.
 *
 * Device defaults: when the vendor is known, its documented factory credentials are tried
 * before the operator's list (a short table in assess.c).
 *
 * Ownership: sv_assess_new() allocates; sv_assess_free() frees the databases. Read-only after
 * loading.
 */
#ifndef BS_SURVEY_ASSESS_H
#define BS_SURVEY_ASSESS_H

#include <stddef.h>

#include "survey/ident_diag.h"
#include "survey/survey.h"

struct sv_assess;

int sv_assess_new(struct sv_assess **out);
void sv_assess_free(struct sv_assess *a);
/* Loads a directory of Recog XML files (load the more specific first). Returns as
 * ident_db_load_dir; diag says where a file failed. */
int sv_assess_load_fingerprints(struct sv_assess *a, const char *dir, struct ident_diag *diag);
int sv_assess_load_kev(struct sv_assess *a, const char *path, struct ident_diag *diag);
int sv_assess_load_nvd(struct sv_assess *a, const char *path, struct ident_diag *diag);
int sv_assess_load_curated(struct sv_assess *a, const char *path, struct ident_diag *diag);

/* The struct sv_assessor callbacks (ctx = the sv_assess). */
int sv_assess_identify(void *ctx, const struct sv_obs *o, struct sv_ident *id);
size_t sv_assess_default_creds(void *ctx, const struct sv_ident *id, struct sv_cred *out,
                               size_t max);

#endif
