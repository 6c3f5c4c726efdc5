/* cpe.h - CPE 2.3 formatted strings (NISTIR 7695 binding, NISTIR 7696 matching).
 *
 * A name is "cpe:2.3:" followed by eleven colon-separated attributes: part, vendor, product,
 * version, update, edition, language, sw_edition, target_sw, target_hw, other. An attribute
 * is ANY ("*"), NA ("-") or a value. Inside a value a backslash quotes the next character
 * ("tl-wr841n_\(9.0\)", "tcp\/ip"); an unquoted "*" (any run of characters) or "?" (one
 * character) at the start or end of a value is a wildcard. Missing trailing attributes are
 * ANY, as NVD's shortened names assume.
 *
 * struct cpe keeps each value in one canonical quoted form (lower case; "." "-" "_" and
 * alphanumerics bare; every other printable character quoted; wildcards bare), so two names
 * that mean the same thing compare equal as strings. Values are at most CPE_VALUE_MAX - 1
 * bytes; longer ones are refused (BS_ELIMIT). No allocation: a struct cpe is plain data.
 */
#ifndef BS_SURVEY_CPE_H
#define BS_SURVEY_CPE_H

#include <stdbool.h>
#include <stddef.h>

#define CPE_VALUE_MAX 160u /* bytes of one canonical attribute value, with the NUL */
#define CPE_STR_MAX   (11u * CPE_VALUE_MAX + 16u) /* bytes cpe_format() may need */

enum cpe_attr {
    CPE_PART,
    CPE_VENDOR,
    CPE_PRODUCT,
    CPE_VERSION,
    CPE_UPDATE,
    CPE_EDITION,
    CPE_LANGUAGE,
    CPE_SW_EDITION,
    CPE_TARGET_SW,
    CPE_TARGET_HW,
    CPE_OTHER,
    CPE_NATTR
};

enum cpe_kind { CPE_ANY, CPE_NA, CPE_VALUE };

struct cpe {
    enum cpe_kind kind[CPE_NATTR];
    char val[CPE_NATTR][CPE_VALUE_MAX]; /* canonical quoted form; "" unless CPE_VALUE */
};

/* Sets every attribute of c to ANY. */
void cpe_init(struct cpe *c);

/* Parses a CPE 2.3 formatted string of len bytes (need not be NUL-terminated). The prefix
 * "cpe:2.3:" is case-insensitive; part must be "a", "o", "h", ANY or NA. A CPE 2.2 URI
 * ("cpe:/o:tenda:ac15_firmware:15.03.05.19", percent-encoded, "~"-packed edition) is
 * accepted too, because Recog's *.cpe23 params are written in that form. Returns 0,
 * BS_EPARSE (not a CPE 2.3 formatted string: wrong prefix, more than eleven attributes, a
 * trailing lone backslash, a control character, an embedded wildcard such as "a*b" or a
 * bad part) or BS_ELIMIT (a value too long). c is set to all-ANY on error. */
int cpe_parse(struct cpe *c, const char *s, size_t len);

/* Writes the formatted string of c ("cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:...") to
 * buf (NUL-terminated). Returns the length, or BS_ELIMIT if buf is too small (CPE_STR_MAX
 * is always enough). */
int cpe_format(const struct cpe *c, char *buf, size_t size);

/* Writes attribute a of c without quoting ("tl-wr841n_(9.0)"; wildcards stay "*" and "?";
 * ANY gives "*", NA gives "-") to buf. Returns the length or BS_ELIMIT. */
int cpe_get(const struct cpe *c, enum cpe_attr a, char *buf, size_t size);

/* Sets attribute a of c from plain text (no quoting: every character is literal; "" and
 * "*" mean ANY, "-" means NA). Returns 0, BS_ELIMIT (too long) or BS_EPARSE (a control
 * character). */
int cpe_set(struct cpe *c, enum cpe_attr a, const char *text);

/* NISTIR 7696 attribute relation of source to target. */
enum cpe_rel { CPE_DISJOINT, CPE_SUBSET, CPE_SUPERSET, CPE_EQUAL };

/* Relation of one attribute (source side is the pattern, e.g. an NVD criteria). */
enum cpe_rel cpe_compare_attr(const struct cpe *source, const struct cpe *target, enum cpe_attr a);

/* True when the name target is covered by pattern: every attribute of pattern is EQUAL to or
 * a SUPERSET of target's (NISTIR 7696 "CPE name superset or equal"). An attribute the target
 * leaves ANY (unknown) matches only a pattern ANY there. The version is compared as text like
 * every other attribute (vuln.c sets it to ANY on both sides and applies version ranges
 * with vercmp() instead). */
bool cpe_match(const struct cpe *pattern, const struct cpe *target);

#endif
