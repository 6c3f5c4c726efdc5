#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/text.h"

/* CFG_KEY(section, key, type, default, doc[, CFG_RANGE(..)][, CFG_ONEOF(..)]) */
#define CFG_KEY(s, k, t, d, ...) {.section = s, .key = k, .type = t, .def = d, .doc = __VA_ARGS__},
const struct cfg_key cfg_schema[] = {
#include "core/config_keys.def"
    {.section = NULL},
};
#undef CFG_KEY

#define CFG_MAX_LINE 4096

int config_parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || end == s || *end)
        return BS_EPARSE;
    *out = v;
    return 0;
}

int config_parse_duration_ms(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return BS_EPARSE;
    double mul;
    if (!*end || !strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60e3;
    else if (!strcmp(end, "h"))
        mul = 3600e3;
    else if (!strcmp(end, "d"))
        mul = 86400e3;
    else
        return BS_EPARSE;
    /* Past 2^62 ms (146 million years) the conversion to int64 would be undefined. */
    if (!(v * mul < 4611686018427387904.0))
        return BS_EPARSE;
    *out = (int64_t)(v * mul);
    return 0;
}

int config_parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return BS_EPARSE;
    double mul;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        mul = 1;
        break;
    case 'K':
        mul = 1024.0;
        break;
    case 'M':
        mul = 1024.0 * 1024;
        break;
    case 'G':
        mul = 1024.0 * 1024 * 1024;
        break;
    case 'T':
        mul = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        return BS_EPARSE;
    }
    if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && !end[2]))
        return BS_EPARSE;
    if (!(v * mul < 4611686018427387904.0)) /* past 2^62 the int64 conversion is undefined */
        return BS_EPARSE;
    *out = (int64_t)(v * mul);
    return 0;
}

/* Unquotes one scalar in place. Returns NULL on an unterminated quote. */
static char *scalar(char *s)
{
    s = text_trim(s);
    size_t n = strlen(s);
    if (n && (s[0] == '"' || s[0] == '\'')) {
        if (n < 2 || s[n - 1] != s[0])
            return NULL;
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

/* Whether word is one of the '|'-separated words. */
static int one_of(const char *words, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = words; *p;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == wl && !memcmp(p, word, l))
            return 1;
        p += l + (e != NULL);
    }
    return 0;
}

/* Checks a normalised value against its key's range or words; *why explains a refusal (in
 * buf). */
static int constrain(const struct cfg_key *k, const char *text, char *buf, size_t len,
                     const char **why)
{
    int64_t v = 0;
    if (k->oneof) {
        const char *t = text;
        do {
            if ((k->type != CFG_LIST || *t) && !one_of(k->oneof, t)) {
                snprintf(buf, len, "'%.40s' is not one of %s", t, k->oneof);
                *why = buf;
                return BS_EPARSE;
            }
            t += strlen(t) + 1;
        } while (k->type == CFG_LIST && *t);
    }
    if (!k->ranged)
        return 0;
    if (k->type == CFG_INT)
        config_parse_int(text, &v);
    else if (k->type == CFG_DURATION)
        config_parse_duration_ms(text, &v);
    else if (k->type == CFG_SIZE)
        config_parse_size(text, &v);
    if (v < k->min || v > k->max) {
        const char *unit = k->type == CFG_DURATION ? " ms" : k->type == CFG_SIZE ? " bytes" : "";
        snprintf(buf, len, "%s is out of range (%lld..%lld%s)", text, (long long)k->min,
                 (long long)k->max, unit);
        *why = buf;
        return BS_EPARSE;
    }
    return 0;
}

/* Normalises a value of the given type into text stored in *out (malloc'd). */
static int normalise(const struct cfg_key *k, char *v, char **out, const char **why)
{
    char *res = NULL;
    int64_t tmp;
    if (k->type == CFG_LIST) {
        v = text_trim(v);
        size_t n = strlen(v);
        if (n < 2 || v[0] != '[' || v[n - 1] != ']') {
            *why = "expected a list [a, b, ...]";
            return BS_EPARSE;
        }
        v[n - 1] = '\0';
        v++;
        res = calloc(1, strlen(v) + 2);
        if (!res)
            return BS_ENOMEM;
        char *save = NULL, *item = v;
        size_t used = 0;
        /* Items never contain commas (addresses, prefixes, names), so split on them. */
        for (item = strtok_r(v, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            char *s = scalar(item);
            if (!s) {
                free(res);
                *why = "unterminated quoted string";
                return BS_EPARSE;
            }
            if (!*s)
                continue;
            memcpy(res + used, s, strlen(s));
            used += strlen(s) + 1; /* items are NUL-separated, the list ends with "\0\0" */
        }
        *out = res;
        return 0;
    }
    char *s = scalar(v);
    if (!s) {
        *why = "unterminated quoted string";
        return BS_EPARSE;
    }
    switch (k->type) {
    case CFG_INT:
        if (config_parse_int(s, &tmp)) {
            *why = "expected an integer";
            return BS_EPARSE;
        }
        break;
    case CFG_BOOL:
        if (strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "yes") && strcmp(s, "no") &&
            strcmp(s, "1") && strcmp(s, "0")) {
            *why = "expected true or false";
            return BS_EPARSE;
        }
        break;
    case CFG_DURATION:
        if (config_parse_duration_ms(s, &tmp)) {
            *why = "expected a duration such as 60s, 5m, 2h, 7d";
            return BS_EPARSE;
        }
        break;
    case CFG_SIZE:
        if (config_parse_size(s, &tmp)) {
            *why = "expected a size such as 64k, 16M, 2G";
            return BS_EPARSE;
        }
        break;
    default:
        break;
    }
    res = strdup(s);
    if (!res)
        return BS_ENOMEM;
    *out = res;
    return 0;
}

static struct cfg_val *find(const struct config *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->vals[i].key->section, section) && !strcmp(c->vals[i].key->key, key))
            return &c->vals[i];
    return NULL;
}

int config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
    size_t n = 0;
    while (cfg_schema[n].key)
        n++;
    c->vals = calloc(n, sizeof *c->vals);
    if (!c->vals)
        return BS_ENOMEM;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        char *d = strdup(cfg_schema[i].def);
        const char *why;
        c->vals[i].key = &cfg_schema[i];
        if (!d || normalise(&cfg_schema[i], d, &c->vals[i].text, &why)) {
            free(d);
            config_release(c);
            return BS_ENOMEM;
        }
        free(d);
    }
    return 0;
}

void config_release(struct config *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->vals[i].text);
    free(c->vals);
    free(c->path);
    memset(c, 0, sizeof *c);
}

static int set_at(struct config *c, const char *file, unsigned line, const char *section,
                  const char *key, char *value, struct cfg_error *err)
{
    struct cfg_val *v = find(c, section, key);
    if (!v) {
        int known = 0;
        for (size_t i = 0; i < c->n; i++)
            known |= !strcmp(c->vals[i].key->section, section);
        snprintf(err->msg, sizeof err->msg, "%s:%u: [%s] %s: %s", file, line, section, key,
                 known ? "unknown key" : "unknown section");
        return BS_EPARSE;
    }
    if (line && v->line) {
        snprintf(err->msg, sizeof err->msg, "%s:%u: [%s] %s: set twice (first on line %u)", file,
                 line, section, key, v->line);
        return BS_EPARSE;
    }
    char *text;
    const char *why = "invalid value";
    char whybuf[200];
    int rc = normalise(v->key, value, &text, &why);
    if (!rc && (rc = constrain(v->key, text, whybuf, sizeof whybuf, &why)))
        free(text);
    if (rc) {
        snprintf(err->msg, sizeof err->msg, "%s:%u: [%s] %s: %s", file, line, section, key,
                 rc == BS_ENOMEM ? "out of memory" : why);
        return rc;
    }
    free(v->text);
    v->text = text;
    v->line = line;
    return 0;
}

int config_set(struct config *c, const char *section, const char *key, const char *value,
               struct cfg_error *err)
{
    char *dup = strdup(value);
    if (!dup)
        return BS_ENOMEM;
    int rc = set_at(c, "command line", 0, section, key, dup, err);
    free(dup);
    return rc;
}

int config_load(struct config *c, const char *path, struct cfg_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(err->msg, sizeof err->msg, "%s: not a regular file%s", path,
                 S_ISDIR(st.st_mode) ? " (a directory)" : "");
        return BS_EPARSE;
    }
    char line[CFG_MAX_LINE + 2];
    char section[64] = "general";
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err->msg, sizeof err->msg, "%s:%u: line longer than %d bytes", path, lineno,
                     CFG_MAX_LINE);
            rc = BS_EPARSE;
            break;
        }
        /* Strip a comment that is not inside quotes. */
        int inq = 0;
        for (char *p = line; *p; p++) {
            if (*p == '"')
                inq = !inq;
            else if ((*p == '#' || *p == ';') && !inq) {
                *p = '\0';
                break;
            }
        }
        char *s = text_trim(line);
        if (!*s)
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1] || end - s - 1 <= 0 || (size_t)(end - s - 1) >= sizeof section) {
                snprintf(err->msg, sizeof err->msg, "%s:%u: malformed section header", path,
                         lineno);
                rc = BS_EPARSE;
                break;
            }
            *end = '\0';
            snprintf(section, sizeof section, "%s", text_trim(s + 1));
            int known = 0;
            for (size_t i = 0; i < c->n; i++)
                known |= !strcmp(c->vals[i].key->section, section);
            if (!known) {
                snprintf(err->msg, sizeof err->msg, "%s:%u: [%s]: unknown section", path, lineno,
                         section);
                rc = BS_EPARSE;
                break;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err->msg, sizeof err->msg, "%s:%u: expected 'key = value'", path, lineno);
            rc = BS_EPARSE;
            break;
        }
        *eq = '\0';
        char *key = text_trim(s);
        if ((rc = set_at(c, path, lineno, section, key, eq + 1, err)))
            break;
    }
    if (!rc && ferror(f)) {
        snprintf(err->msg, sizeof err->msg, "%s:%u: read error", path, lineno);
        rc = BS_EPARSE;
    }
    fclose(f);
    if (!rc) {
        free(c->path);
        c->path = strdup(path);
    }
    return rc;
}

static const struct cfg_val *get(const struct config *c, const char *section, const char *key)
{
    const struct cfg_val *v = find(c, section, key);
    if (!v) {
        /* A component asked for a key it never declared: a programming error. */
        fprintf(stderr, "botscope: internal error: undeclared config key [%s] %s\n", section, key);
        abort();
    }
    return v;
}

const char *config_str(const struct config *c, const char *section, const char *key)
{
    return get(c, section, key)->text;
}

int64_t config_int(const struct config *c, const char *section, const char *key)
{
    int64_t v = 0;
    config_parse_int(get(c, section, key)->text, &v);
    return v;
}

bool config_bool(const struct config *c, const char *section, const char *key)
{
    const char *t = get(c, section, key)->text;
    return !strcmp(t, "true") || !strcmp(t, "yes") || !strcmp(t, "1");
}

int64_t config_duration_ms(const struct config *c, const char *section, const char *key)
{
    int64_t v = 0;
    config_parse_duration_ms(get(c, section, key)->text, &v);
    return v;
}

int64_t config_size(const struct config *c, const char *section, const char *key)
{
    int64_t v = 0;
    config_parse_size(get(c, section, key)->text, &v);
    return v;
}

size_t config_list(const struct config *c, const char *section, const char *key, const char **items,
                   size_t max)
{
    const char *t = get(c, section, key)->text;
    size_t n = 0;
    for (; *t; t += strlen(t) + 1) {
        if (n < max)
            items[n] = t;
        n++;
    }
    return n;
}
