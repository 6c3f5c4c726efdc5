/* recog_int.h - helpers of recog.c kept in recog_util.c (not part of the public API). */
#ifndef BS_SURVEY_RECOG_INT_H
#define BS_SURVEY_RECOG_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "survey/recog.h"

/* Trims blanks and newlines at both ends of s in place (s keeps its address). */
void recog_trim(char *s);

/* Decodes base64 text (blanks and newlines ignored) into a new buffer (*out, NUL-terminated,
 * caller frees) of *len bytes. Returns 0, BS_EPARSE or BS_ENOMEM. */
int recog_base64(const char *text, char **out, size_t *len);

/* Compiles a Recog (Ruby) pattern with PCRE2: Ruby's `\h`/`\H` become hex-digit classes,
 * an inline `m` flag becomes PCRE2's `s`, and `^`/`$` always match at line boundaries.
 * opts adds PCRE2 options. *out is the byte-mode code (for input that is not UTF-8); when
 * out_utf is not NULL, *out_utf is the UTF-8 mode code or NULL if the pattern has none.
 * Returns 0, BS_EPARSE (then *col is the 1-based offset of the error in the pattern and msg
 * says what), BS_ELIMIT (pattern over 64 KiB), BS_ENOMEM. */
int recog_compile(const char *pattern, uint32_t opts, pcre2_code **out, pcre2_code **out_utf,
                  int *col, char *msg, size_t msgsz);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF). */
bool recog_utf8_valid(const char *s, size_t len);

/* Writes tmpl to out with every {name} replaced by the value of that param in p[0..n); a
 * placeholder naming no param becomes empty. out is always NUL-terminated (cut if short). */
void recog_interpolate(const char *tmpl, const struct recog_param *p, size_t n, char *out,
                       size_t outsz);

/* Fills res's summary fields (vendor ... cpe) from its params, by recog.h's preferences. */
void recog_summarise(struct recog_result *res);

#endif
