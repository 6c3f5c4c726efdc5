/* jw.h - the one JSON writer: streaming, nested, into a capped struct buf.
 *
 * A writer appends one JSON text (or one NDJSON line) to a buffer as the calls come: objects
 * and arrays nest to JW_MAX_DEPTH levels; every value call takes a key, which must be a
 * string inside an object and NULL inside an array or at the top level.
 *
 *     struct jw w;
 *     jw_open(&w, &b);                    // '{' : one NDJSON object
 *     jw_u64(&w, "packets", n);
 *     jw_arr(&w, "ports");                // "ports":[
 *     jw_u64(&w, NULL, 23);               //   23
 *     jw_end(&w);                         // ]
 *     rc = jw_close(&w);                  // '}' and '\n'; 0 or the first error
 *
 * Errors are sticky: after the first one every call does nothing and jw_close/jw_finish
 * return it. BS_ELIMIT: the buffer's cap, or nesting deeper than JW_MAX_DEPTH. BS_EUSAGE: a
 * call that would write invalid JSON (a key inside an array, none inside an object, jw_end
 * with nothing open, a second top-level value). The caller checks once per document.
 *
 * Strings (values and keys) go through one escaper, jw_escape: '"' and '\\' are escaped, the
 * control characters U+0000..U+001F are written as \n, \r, \t or \u00XX, well-formed UTF-8
 * (RFC 3629: shortest form, no surrogates, at most U+10FFFF) is copied as it is, and every
 * byte that does not begin a well-formed sequence is replaced by U+FFFD, one per byte, so the
 * output is always valid UTF-8 and valid JSON whatever the input bytes.
 *
 * Numbers: jw_u64 and jw_i64 in decimal, exact; jw_dbl with "%.6g" (6 significant digits,
 * exponent form for very large or small magnitudes: 1e+06), and null for NaN and the
 * infinities, which JSON cannot represent.
 *
 * Layout: compact (no spaces) by default. jw_set_indent(w, L) puts each element at nesting
 * depth 1..L on its own line, indented two spaces per level, and the closer of a non-empty
 * container whose elements are at depth <= L on its own line (truth.json's layout).
 *
 * Streaming: with jw_set_sink, the buffer is handed to write() and emptied whenever a value
 * at depth <= 2 is complete and the buffer holds at least `chunk` bytes, and at jw_close /
 * jw_finish; memory then stays bounded by the largest such element (the buffer's cap applies
 * to it). Without a sink the whole text stays in the buffer.
 *
 * Every JSON text botscope writes comes from here, with one measured exception: the
 * telescope's sources.ndjson lines (a million a day) have a hand-tuned formatter in
 * telescope/tel_out.c, and tests/unit/telescope/test_tel_out.c checks that each of its lines
 * is byte for byte what this writer gives for the same values. (jansson stays for parsing.)
 *
 * Ownership: the writer borrows b (and the sink's context); it allocates nothing itself.
 */
#ifndef BS_CORE_JW_H
#define BS_CORE_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ipaddr.h"

#define JW_MAX_DEPTH 32

/* A sink's write: 0 or a negative error (it becomes the writer's sticky error). */
typedef int (*jw_write_fn)(void *ctx, const char *p, size_t n);

struct jw {
    struct buf *b;
    int err;
    int depth;                    /* open containers */
    unsigned indent;              /* jw_set_indent's L */
    bool done;                    /* a top-level value is complete */
    bool first[JW_MAX_DEPTH + 1]; /* no element yet at this depth */
    char closer[JW_MAX_DEPTH + 1];
    jw_write_fn write;
    void *write_ctx;
    size_t chunk;
};

/* Starts an empty writer appending to b (nothing written yet). */
void jw_init(struct jw *w, struct buf *b);
/* jw_init, then opens the top-level object (an NDJSON line's start). */
void jw_open(struct jw *w, struct buf *b);
void jw_set_indent(struct jw *w, unsigned levels);
void jw_set_sink(struct jw *w, jw_write_fn write, void *ctx, size_t chunk);

/* Opens an object or an array (key NULL inside an array or at the top level). */
void jw_obj(struct jw *w, const char *key);
void jw_arr(struct jw *w, const char *key);
/* Closes the innermost open object or array. */
void jw_end(struct jw *w);

void jw_str(struct jw *w, const char *key, const char *val);
void jw_strn(struct jw *w, const char *key, const char *val, size_t n);
void jw_u64(struct jw *w, const char *key, uint64_t val);
void jw_i64(struct jw *w, const char *key, int64_t val);
void jw_dbl(struct jw *w, const char *key, double val);
void jw_bool(struct jw *w, const char *key, bool val);
void jw_null(struct jw *w, const char *key);
/* The address as a string (ipaddr_format). */
void jw_ip(struct jw *w, const char *key, const struct ipaddr *a);
/* A value that is already valid JSON text (a number printed elsewhere, a stored document). */
void jw_raw(struct jw *w, const char *key, const char *json);
void jw_rawn(struct jw *w, const char *key, const char *json, size_t n);

/* Closes everything still open and appends '\n' (then drains to the sink). Returns 0 or the
 * first error. */
int jw_close(struct jw *w);
/* The same without the '\n': for a JSON text embedded elsewhere (a database column). */
int jw_finish(struct jw *w);

/* Appends s[0..n) as a quoted JSON string (the escaping described above). Returns 0 or
 * BS_ELIMIT (b unchanged beyond what fitted: callers treat it as the document's error). */
int jw_escape(struct buf *b, const char *s, size_t n);
/* The length of the longest prefix of s[0..n) that ends on a character boundary (never inside
 * a well-formed UTF-8 sequence) and whose jw_escape form, quotes included, takes at most room
 * bytes: how much of an untrusted string fits a fixed-size field without breaking the JSON
 * around it. 0 when room is under 2 (not even "" fits; the caller's write then fails). */
size_t jw_fit(const char *s, size_t n, size_t room);

#endif
