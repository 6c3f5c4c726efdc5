/* recog_util.c - pattern translation, base64, interpolation and summaries for recog.c. */
#include "survey/recog_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "survey/cpe.h"

#define RECOG_PATTERN_MAX 65536u

void recog_trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    memmove(s, s + i, n - i);
    s[n - i] = '\0';
}

static int recog_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int recog_base64(const char *text, char **out, size_t *len)
{
    size_t tl = strlen(text);
    char *o = malloc(tl / 4 * 3 + 4);
    if (!o)
        return BS_ENOMEM;
    size_t n = 0, pad = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            continue;
        if (*p == '=') {
            pad++;
            continue;
        }
        int v = recog_b64val(*p);
        if (v < 0 || pad)
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    /* Leftover bits must be padding zeros, and at most two "=". */
    if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
        goto bad;
    o[n] = '\0';
    *out = o;
    *len = n;
    return 0;
bad:
    free(o);
    return BS_EPARSE;
}

/* Ruby's \h is a hex digit (PCRE2's is horizontal space). */
static int recog_translate(const char *p, struct buf *b)
{
    bool in_class = false;
    int rc = 0;
    for (size_t i = 0; p[i] && rc == 0; i++) {
        char c = p[i];
        if (c == '\\' && p[i + 1]) {
            char n = p[++i];
            if (n == 'h')
                rc = buf_puts(b, in_class ? "0-9a-fA-F" : "[0-9a-fA-F]");
            else if (n == 'H' && !in_class)
                rc = buf_puts(b, "[^0-9a-fA-F]");
            else if ((rc = buf_putc(b, c)) == 0)
                rc = buf_putc(b, n);
            continue;
        }
        if (!in_class && c == '[') {
            in_class = true;
            rc = buf_putc(b, c);
            /* A ']' right after '[' or '[^' is a literal member. */
            if (rc == 0 && p[i + 1] == '^')
                rc = buf_putc(b, p[++i]);
            if (rc == 0 && p[i + 1] == ']')
                rc = buf_putc(b, p[++i]);
            continue;
        }
        if (in_class && c == ']') {
            in_class = false;
        } else if (!in_class && c == '(' && p[i + 1] == '?') {
            /* Inline flags "(?im-x:" or "(?m)": Ruby's m is PCRE2's s (dot matches newline). */
            size_t j = i + 2;
            while (p[j] && strchr("imx-", p[j]))
                j++;
            if (j > i + 2 && (p[j] == ':' || p[j] == ')')) {
                if ((rc = buf_puts(b, "(?")) != 0)
                    break;
                for (size_t k = i + 2; k < j && rc == 0; k++)
                    rc = buf_putc(b, p[k] == 'm' ? 's' : p[k]);
                i = j - 1;
                continue;
            }
        }
        rc = buf_putc(b, c);
    }
    return rc;
}

int recog_compile(const char *pattern, uint32_t opts, pcre2_code **out, pcre2_code **out_utf,
                  int *col, char *msg, size_t msgsz)
{
    if (out_utf)
        *out_utf = NULL;
    struct buf b = BUF_INIT(RECOG_PATTERN_MAX);
    int rc = recog_translate(pattern, &b);
    *col = 0;
    if (rc) {
        buf_release(&b);
        snprintf(msg, msgsz, "pattern longer than %u bytes", RECOG_PATTERN_MAX);
        return rc == BS_ELIMIT ? BS_ELIMIT : BS_ENOMEM;
    }
    int err = 0;
    PCRE2_SIZE off = 0;
    /* Ruby matches text as UTF-8 characters ("." takes all of "\u00b7") and binary input
     * as bytes, so each pattern is compiled both ways and recog_run() picks by the input. */
    PCRE2_SPTR src = (PCRE2_SPTR)(b.data ? b.data : "");
    pcre2_code *re = pcre2_compile(src, b.len, opts | PCRE2_MULTILINE, &err, &off, NULL);
    if (re && out_utf) {
        int e2 = 0;
        PCRE2_SIZE o2 = 0;
        *out_utf = pcre2_compile(src, b.len, opts | PCRE2_MULTILINE | PCRE2_UTF, &e2, &o2, NULL);
        if (*out_utf)
            (void)pcre2_jit_compile(*out_utf, PCRE2_JIT_COMPLETE);
    }
    buf_release(&b);
    if (!re) {
        PCRE2_UCHAR m[120];
        pcre2_get_error_message(err, m, sizeof(m));
        snprintf(msg, msgsz, "%s", (const char *)m);
        *col = (int)off + 1;
        return err == PCRE2_ERROR_HEAPLIMIT ? BS_ENOMEM : BS_EPARSE;
    }
    /* JIT makes a match several times faster; without it (no JIT support, out of memory)
     * the interpreter gives the same answers. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    *out = re;
    return 0;
}

void recog_interpolate(const char *tmpl, const struct recog_param *p, size_t n, char *out,
                       size_t outsz)
{
    size_t o = 0;
    for (const char *s = tmpl; *s && o + 1 < outsz;) {
        const char *close = *s == '{' ? strchr(s, '}') : NULL;
        if (close) {
            size_t nl = (size_t)(close - s - 1);
            const char *val = NULL;
            for (size_t i = 0; i < n && !val; i++)
                if (strlen(p[i].name) == nl && memcmp(p[i].name, s + 1, nl) == 0)
                    val = p[i].value;
            if (val) {
                for (; *val && o + 1 < outsz; val++)
                    out[o++] = *val;
                s = close + 1;
                continue;
            }
            if (nl > 0 && !memchr(s + 1, '{', nl)) {
                s = close + 1; /* unknown placeholder: empty */
                continue;
            }
        }
        out[o++] = *s++;
    }
    if (outsz)
        out[o] = '\0';
}

static void recog_pick(const struct recog_result *res, char *dst, size_t dsz,
                       const char *const *names)
{
    dst[0] = '\0';
    for (; *names; names++) {
        const char *v = recog_result_get(res, *names);
        if (v && *v) {
            snprintf(dst, dsz, "%s", v);
            return;
        }
    }
}

void recog_summarise(struct recog_result *res)
{
    static const char *const vendor[] = {"hw.vendor", "os.vendor", "service.vendor", NULL};
    static const char *const product[] = {"hw.product", "os.product", "service.product", NULL};
    static const char *const device[] = {"hw.device", "os.device", "service.device", NULL};
    static const char *const version[] = {"os.version", "service.version", NULL};
    static const char *const cpe[] = {"os.cpe23", "hw.cpe23", "service.cpe23", NULL};
    recog_pick(res, res->vendor, sizeof(res->vendor), vendor);
    recog_pick(res, res->product, sizeof(res->product), product);
    recog_pick(res, res->device, sizeof(res->device), device);
    recog_pick(res, res->version, sizeof(res->version), version);
    recog_pick(res, res->cpe, sizeof(res->cpe), cpe);
    /* Recog writes CPE 2.2 URIs; reports and NVD use the 2.3 formatted string. A value that
     * is not a CPE at all is dropped rather than passed on. */
    if (res->cpe[0]) {
        struct cpe c;
        char f[CPE_STR_MAX];
        int fl = cpe_parse(&c, res->cpe, strlen(res->cpe)) == 0 ? cpe_format(&c, f, sizeof(f)) : -1;
        if (fl > 0 && (size_t)fl < sizeof(res->cpe))
            memcpy(res->cpe, f, (size_t)fl + 1);
        else
            res->cpe[0] = '\0';
    }
}

bool recog_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned char c = *p;
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}
