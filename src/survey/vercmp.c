/* vercmp.c - vendor-aware version ordering; the rules are listed in vercmp.h. */
#include "survey/vercmp.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A normalised version: the release and (optionally) the build part, both lower case. */
struct vc_ver {
    char rel[VERCMP_MAX_LEN + 1];
    char build[VERCMP_MAX_LEN + 1];
    bool has_build;
};

enum vc_tok_type { VC_END, VC_NUM, VC_WORD };

struct vc_tok {
    enum vc_tok_type type;
    const char *p;
    size_t len;
};

static bool vc_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool vc_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char vc_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void vc_normalise(const char *in, struct vc_ver *v)
{
    char s[VERCMP_MAX_LEN + 1];
    size_t n = 0;
    while (*in == ' ' || *in == '\t')
        in++;
    if ((*in == 'v' || *in == 'V') && vc_digit(in[1]))
        in++;
    /* Copy lower case up to a "_<letter>" tag, which is not part of the order. */
    for (; in[n] && n < VERCMP_MAX_LEN; n++) {
        if (in[n] == '_' && vc_alpha(in[n + 1]))
            break;
        s[n] = vc_lower(in[n]);
    }
    s[n] = '\0';
    v->has_build = false;
    v->build[0] = '\0';
    size_t cut = n, bstart = n;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(s + i, "build", 5) == 0 && (i == 0 || !vc_alpha(s[i - 1]))) {
            cut = i;
            bstart = i + 5;
            break;
        }
        if (s[i] == 'b' && i > 0 && vc_digit(s[i - 1]) && vc_digit(s[i + 1])) {
            cut = i;
            bstart = i + 1;
            break;
        }
    }
    if (cut < n) {
        v->has_build = true;
        memcpy(v->build, s + bstart, n - bstart + 1);
    }
    memcpy(v->rel, s, cut);
    v->rel[cut] = '\0';
}

static void vc_next(const char **pp, struct vc_tok *t)
{
    const char *p = *pp;
    while (*p && !vc_digit(*p) && !vc_alpha(*p))
        p++;
    t->p = p;
    if (!*p) {
        t->type = VC_END;
        t->len = 0;
    } else if (vc_digit(*p)) {
        t->type = VC_NUM;
        while (*p == '0' && vc_digit(p[1]))
            p++;
        t->p = p;
        while (vc_digit(*p))
            p++;
    } else {
        t->type = VC_WORD;
        while (vc_alpha(*p))
            p++;
    }
    t->len = (size_t)(p - t->p);
    *pp = p;
}

static bool vc_prerelease(const struct vc_tok *t)
{
    static const char *const words[] = {"alpha", "beta", "pre", "rc", "dev", "snapshot"};
    if (t->type != VC_WORD)
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == t->len && memcmp(words[i], t->p, t->len) == 0)
            return true;
    return false;
}

/* The side that still has items (rest, starting at t) compared with a side that has none:
 * returns <0, 0 or >0 for "rest is smaller / equal / greater". */
static int vc_tail(struct vc_tok t, const char *rest)
{
    if (vc_prerelease(&t))
        return -1;
    for (;;) {
        if (t.type == VC_END)
            return 0;
        if (t.type != VC_NUM || t.len != 1 || t.p[0] != '0')
            return 1;
        vc_next(&rest, &t);
    }
}

static int vc_cmp_items(const char *a, const char *b)
{
    struct vc_tok ta, tb;
    for (;;) {
        vc_next(&a, &ta);
        vc_next(&b, &tb);
        if (ta.type == VC_END && tb.type == VC_END)
            return 0;
        if (ta.type == VC_END)
            return -vc_tail(tb, b);
        if (tb.type == VC_END)
            return vc_tail(ta, a);
        if (ta.type != tb.type)
            return ta.type == VC_NUM ? 1 : -1;
        if (ta.type == VC_NUM && ta.len != tb.len)
            return ta.len < tb.len ? -1 : 1;
        size_t m = ta.len < tb.len ? ta.len : tb.len;
        int c = memcmp(ta.p, tb.p, m);
        if (c)
            return c < 0 ? -1 : 1;
        if (ta.len != tb.len)
            return ta.len < tb.len ? -1 : 1;
    }
}

int vercmp(const char *a, const char *b)
{
    if (!a || !b)
        return a ? 1 : (b ? -1 : 0);
    struct vc_ver va, vb;
    vc_normalise(a, &va);
    vc_normalise(b, &vb);
    int c = vc_cmp_items(va.rel, vb.rel);
    if (c || !va.has_build || !vb.has_build)
        return c;
    return vc_cmp_items(va.build, vb.build);
}
