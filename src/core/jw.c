/* jw.c - the streaming nested JSON writer (see jw.h). */
#include "core/jw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/err.h"

void jw_init(struct jw *w, struct buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->first[0] = true;
}

void jw_open(struct jw *w, struct buf *b)
{
    jw_init(w, b);
    jw_obj(w, NULL);
}

void jw_set_indent(struct jw *w, unsigned levels)
{
    w->indent = levels;
}

void jw_set_sink(struct jw *w, jw_write_fn write, void *ctx, size_t chunk)
{
    w->write = write;
    w->write_ctx = ctx;
    w->chunk = chunk;
}

static void drain(struct jw *w, bool all)
{
    if (w->err || !w->write || !w->b->len || (!all && w->b->len < w->chunk))
        return;
    w->err = w->write(w->write_ctx, w->b->data, w->b->len);
    buf_reset(w->b);
}

/* Everything written before a value: the separator, the layout's line break, the key. A key
 * is required inside an object and refused elsewhere, so the text stays valid JSON. */
static void pre(struct jw *w, const char *key)
{
    if (w->err)
        return;
    if (w->depth == 0) {
        if (w->done || key) {
            w->err = BS_EUSAGE;
            return;
        }
    } else {
        if ((w->closer[w->depth] == '}') != (key != NULL)) {
            w->err = BS_EUSAGE;
            return;
        }
        if (!w->first[w->depth])
            w->err = buf_putc(w->b, ',');
        w->first[w->depth] = false;
        if (!w->err && (unsigned)w->depth <= w->indent)
            w->err = buf_printf(w->b, "\n%*s", w->depth * 2, "");
    }
    if (!w->err && key) {
        w->err = jw_escape(w->b, key, strlen(key));
        if (!w->err)
            w->err = buf_putc(w->b, ':');
    }
}

/* After a complete value: the end of the document at depth 0; a chance to drain when the
 * value was an element of the top-level container or of one of its members. */
static void post(struct jw *w)
{
    if (w->err)
        return;
    if (w->depth == 0)
        w->done = true;
    if (w->depth <= 2)
        drain(w, false);
}

static void open_(struct jw *w, const char *key, char c)
{
    pre(w, key);
    if (w->err)
        return;
    if (w->depth >= JW_MAX_DEPTH) {
        w->err = BS_ELIMIT;
        return;
    }
    w->err = buf_putc(w->b, c);
    w->depth++;
    w->first[w->depth] = true;
    w->closer[w->depth] = c == '{' ? '}' : ']';
}

void jw_obj(struct jw *w, const char *key)
{
    open_(w, key, '{');
}

void jw_arr(struct jw *w, const char *key)
{
    open_(w, key, '[');
}

void jw_end(struct jw *w)
{
    if (w->err)
        return;
    if (w->depth == 0) {
        w->err = BS_EUSAGE;
        return;
    }
    int d = w->depth;
    bool empty = w->first[d];
    w->depth--;
    if (!empty && (unsigned)d <= w->indent)
        w->err = buf_printf(w->b, "\n%*s", (d - 1) * 2, "");
    if (!w->err)
        w->err = buf_putc(w->b, w->closer[d]);
    post(w);
}

/* Length of the well-formed UTF-8 sequence starting at s[0] >= 0x80 within n bytes, or 0
 * (RFC 3629, table 3-7 of Unicode: no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

int jw_escape(struct buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    int rc = buf_putc(b, '"');
    size_t run = 0, i = 0; /* s[run..i) is copied as it is */
    while (i < n && !rc) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(u + i, n - i);
            if (l) {
                i += l;
                continue;
            }
        }
        rc = buf_append(b, s + run, i - run);
        if (rc)
            break;
        switch (c) {
        case '"':
            rc = buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = buf_puts(b, "\\\\");
            break;
        case '\n':
            rc = buf_puts(b, "\\n");
            break;
        case '\r':
            rc = buf_puts(b, "\\r");
            break;
        case '\t':
            rc = buf_puts(b, "\\t");
            break;
        default:
            rc = c >= 0x80 ? buf_append(b, "\xef\xbf\xbd", 3) /* U+FFFD */
                           : buf_printf(b, "\\u%04x", c);
            break;
        }
        run = ++i;
    }
    if (!rc)
        rc = buf_append(b, s + run, n - run);
    if (!rc)
        rc = buf_putc(b, '"');
    return rc;
}

size_t jw_fit(const char *s, size_t n, size_t room)
{
    const unsigned char *u = (const unsigned char *)s;
    if (room < 2)
        return 0;
    size_t used = 2, i = 0; /* the quotes */
    while (i < n) {
        unsigned c = u[i];
        size_t in = 1, out = 1; /* bytes read, bytes jw_escape writes for them */
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            out = 2;
        } else if (c < 0x20) {
            out = 6; /* \u00XX */
        } else if (c >= 0x80) {
            size_t l = utf8_len(u + i, n - i);
            in = l ? l : 1;
            out = l ? l : 3; /* kept as it is, or one U+FFFD */
        }
        if (used + out > room)
            break;
        used += out;
        i += in;
    }
    return i;
}

void jw_strn(struct jw *w, const char *key, const char *val, size_t n)
{
    pre(w, key);
    if (!w->err)
        w->err = jw_escape(w->b, val, n);
    post(w);
}

void jw_str(struct jw *w, const char *key, const char *val)
{
    jw_strn(w, key, val, strlen(val));
}

void jw_u64(struct jw *w, const char *key, uint64_t val)
{
    pre(w, key);
    if (!w->err)
        w->err = buf_printf(w->b, "%" PRIu64, val);
    post(w);
}

void jw_i64(struct jw *w, const char *key, int64_t val)
{
    pre(w, key);
    if (!w->err)
        w->err = buf_printf(w->b, "%" PRId64, val);
    post(w);
}

void jw_dbl(struct jw *w, const char *key, double val)
{
    pre(w, key);
    if (!w->err)
        w->err = isfinite(val) ? buf_printf(w->b, "%.6g", val) : buf_puts(w->b, "null");
    post(w);
}

void jw_bool(struct jw *w, const char *key, bool val)
{
    pre(w, key);
    if (!w->err)
        w->err = buf_puts(w->b, val ? "true" : "false");
    post(w);
}

void jw_null(struct jw *w, const char *key)
{
    pre(w, key);
    if (!w->err)
        w->err = buf_puts(w->b, "null");
    post(w);
}

void jw_ip(struct jw *w, const char *key, const struct ipaddr *a)
{
    char s[IPADDR_STRLEN];
    jw_str(w, key, ipaddr_format(a, s, sizeof s));
}

void jw_rawn(struct jw *w, const char *key, const char *json, size_t n)
{
    pre(w, key);
    if (!w->err)
        w->err = buf_append(w->b, json, n);
    post(w);
}

void jw_raw(struct jw *w, const char *key, const char *json)
{
    jw_rawn(w, key, json, strlen(json));
}

int jw_finish(struct jw *w)
{
    while (!w->err && w->depth > 0)
        jw_end(w);
    if (!w->err && !w->done)
        w->err = BS_EUSAGE; /* nothing was written: not a JSON text */
    drain(w, true);
    return w->err;
}

int jw_close(struct jw *w)
{
    while (!w->err && w->depth > 0)
        jw_end(w);
    if (!w->err && !w->done)
        w->err = BS_EUSAGE;
    if (!w->err)
        w->err = buf_putc(w->b, '\n');
    drain(w, true);
    return w->err;
}
