#include "core/jw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void jw_open(struct jw *w, struct buf *b)
{
    w->b = b;
    w->first = true;
    w->err = buf_putc(b, '{');
}

static void jw_key(struct jw *w, const char *key)
{
    if (w->err)
        return;
    if (!w->first)
        w->err = buf_putc(w->b, ',');
    w->first = false;
    if (!w->err)
        w->err = buf_printf(w->b, "\"%s\":", key);
}

int jw_escape(struct buf *b, const char *s, size_t n)
{
    int rc = buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = buf_append(b, s + run, i - run);
        run = i + 1;
        if (rc)
            break;
        switch (c) {
        case '"': rc = buf_puts(b, "\\\""); break;
        case '\\': rc = buf_puts(b, "\\\\"); break;
        case '\n': rc = buf_puts(b, "\\n"); break;
        case '\r': rc = buf_puts(b, "\\r"); break;
        case '\t': rc = buf_puts(b, "\\t"); break;
        default: rc = buf_printf(b, "\\u%04x", c); break;
        }
    }
    if (!rc)
        rc = buf_append(b, s + run, n - run);
    if (!rc)
        rc = buf_putc(b, '"');
    return rc;
}

void jw_strn(struct jw *w, const char *key, const char *val, size_t n)
{
    jw_key(w, key);
    if (!w->err)
        w->err = jw_escape(w->b, val, n);
}

void jw_str(struct jw *w, const char *key, const char *val)
{
    jw_strn(w, key, val, strlen(val));
}

void jw_u64(struct jw *w, const char *key, uint64_t val)
{
    jw_key(w, key);
    if (!w->err)
        w->err = buf_printf(w->b, "%" PRIu64, val);
}

void jw_i64(struct jw *w, const char *key, int64_t val)
{
    jw_key(w, key);
    if (!w->err)
        w->err = buf_printf(w->b, "%" PRId64, val);
}

void jw_dbl(struct jw *w, const char *key, double val)
{
    jw_key(w, key);
    if (w->err)
        return;
    if (!isfinite(val))
        w->err = buf_puts(w->b, "null");
    else
        w->err = buf_printf(w->b, "%.6g", val);
}

void jw_bool(struct jw *w, const char *key, bool val)
{
    jw_key(w, key);
    if (!w->err)
        w->err = buf_puts(w->b, val ? "true" : "false");
}

void jw_ip(struct jw *w, const char *key, const struct ipaddr *a)
{
    char s[IPADDR_STRLEN];
    jw_str(w, key, ipaddr_format(a, s, sizeof s));
}

void jw_raw(struct jw *w, const char *key, const char *json)
{
    jw_key(w, key);
    if (!w->err)
        w->err = buf_puts(w->b, json);
}

int jw_close(struct jw *w)
{
    if (!w->err)
        w->err = buf_puts(w->b, "}\n");
    return w->err;
}
