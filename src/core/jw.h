/* jw.h - a minimal NDJSON object writer appending to a struct buf.
 *
 * Usage: jw_open(b); jw_u64(b, "packets", n); jw_str(b, "exporter", s); ... jw_close(b);
 * jw_close() ends the object with '\n'. Keys are trusted snake_case literals; string values are
 * escaped (RFC 8259). Errors (BS_ELIMIT from the buffer cap) are sticky in the return of
 * jw_close(): callers check once per object.
 */
#ifndef BS_CORE_JW_H
#define BS_CORE_JW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ipaddr.h"

struct jw {
    struct buf *b;
    int err;
    bool first;
};

void jw_open(struct jw *w, struct buf *b);
void jw_str(struct jw *w, const char *key, const char *val);
void jw_strn(struct jw *w, const char *key, const char *val, size_t n);
void jw_u64(struct jw *w, const char *key, uint64_t val);
void jw_i64(struct jw *w, const char *key, int64_t val);
void jw_dbl(struct jw *w, const char *key, double val);
void jw_bool(struct jw *w, const char *key, bool val);
void jw_ip(struct jw *w, const char *key, const struct ipaddr *a);
/* Appends "key": followed by raw, already-valid JSON text. */
void jw_raw(struct jw *w, const char *key, const char *json);
/* Appends a JSON string literal (escaped, quoted) to b. */
int jw_escape(struct buf *b, const char *s, size_t n);
/* Closes the object and appends '\n'. Returns 0 or the first error. */
int jw_close(struct jw *w);

#endif
