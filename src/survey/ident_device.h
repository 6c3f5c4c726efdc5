/* ident_device.h - one device's identity merged from several observations.
 *
 * A survey sees a device through several services (Telnet banner, HTTP Server header, realm,
 * title, certificate); each recog_match() answers for one of them. ident_device keeps the
 * most certain answer for each summary field and every distinct CPE, so the engine can
 * report one vendor/product/version and hand vuln_match() all the CPEs at once.
 *
 * Plain data (no allocation); strings are copied in. Caps: VULN_TARGET_MAX CPEs (further
 * distinct ones are dropped), RECOG_VALUE_MAX bytes per string.
 */
#ifndef BS_SURVEY_IDENT_DEVICE_H
#define BS_SURVEY_IDENT_DEVICE_H

#include <stddef.h>

#include "survey/recog.h"
#include "survey/vuln.h"

struct ident_device {
    char vendor[RECOG_VALUE_MAX];
    char product[RECOG_VALUE_MAX];
    char device[RECOG_VALUE_MAX];
    char version[RECOG_VALUE_MAX];
    int certainty[4]; /* certainty behind vendor, product, device, version; -1 when unset */
    size_t ncpe;
    char cpe[VULN_TARGET_MAX][RECOG_VALUE_MAX]; /* CPE 2.3 formatted strings, distinct */
    size_t nobs;                                /* results added */
};

/* Empties d. */
void ident_device_init(struct ident_device *d);

/* Adds one identification. Each summary field is taken from r when r has it and d has none,
 * or r is more certain than what set it. Each of r's os.cpe23, hw.cpe23 and service.cpe23
 * is added as a CPE 2.3 name unless d has it already; when d has the same part, vendor and
 * product with an unknown version and r knows the version, r's replaces it. Values that are
 * not CPE names are ignored. */
void ident_device_add(struct ident_device *d, const struct recog_result *r);

/* Fills t with d's CPEs (borrowed from d). */
void ident_device_target(const struct ident_device *d, struct vuln_target *t);

#endif
