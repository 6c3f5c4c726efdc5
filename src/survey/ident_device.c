/* ident_device.c - merging identifications of one device (ident_device.h). */
#include "survey/ident_device.h"

#include <string.h>

#include "survey/cpe.h"

void ident_device_init(struct ident_device *d)
{
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < 4; i++)
        d->certainty[i] = -1;
}

static void ident_take(char *dst, int *cert, const char *src, int c)
{
    if (!src[0] || (dst[0] && c <= *cert))
        return;
    size_t n = strlen(src);
    if (n >= RECOG_VALUE_MAX)
        n = RECOG_VALUE_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    *cert = c;
}

static bool ident_same_product(const struct cpe *a, const struct cpe *b)
{
    for (int i = CPE_PART; i <= CPE_PRODUCT; i++)
        if (a->kind[i] != b->kind[i] || strcmp(a->val[i], b->val[i]) != 0)
            return false;
    return true;
}

static void ident_add_cpe(struct ident_device *d, const char *text)
{
    struct cpe c, have;
    char f[CPE_STR_MAX];
    if (cpe_parse(&c, text, strlen(text)) != 0)
        return;
    int fl = cpe_format(&c, f, sizeof(f));
    if (fl <= 0 || (size_t)fl >= RECOG_VALUE_MAX)
        return;
    for (size_t i = 0; i < d->ncpe; i++) {
        if (strcmp(d->cpe[i], f) == 0)
            return;
        if (cpe_parse(&have, d->cpe[i], strlen(d->cpe[i])) != 0 || !ident_same_product(&have, &c))
            continue;
        /* Same product: a known version replaces an unknown one; otherwise both stay. */
        if (have.kind[CPE_VERSION] == CPE_ANY && c.kind[CPE_VERSION] != CPE_ANY) {
            memcpy(d->cpe[i], f, (size_t)fl + 1);
            return;
        }
        if (c.kind[CPE_VERSION] == CPE_ANY)
            return;
    }
    if (d->ncpe < VULN_TARGET_MAX)
        memcpy(d->cpe[d->ncpe++], f, (size_t)fl + 1);
}

void ident_device_add(struct ident_device *d, const struct recog_result *r)
{
    d->nobs++;
    ident_take(d->vendor, &d->certainty[0], r->vendor, r->certainty);
    ident_take(d->product, &d->certainty[1], r->product, r->certainty);
    ident_take(d->device, &d->certainty[2], r->device, r->certainty);
    ident_take(d->version, &d->certainty[3], r->version, r->certainty);
    static const char *const names[] = {"os.cpe23", "hw.cpe23", "service.cpe23"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = recog_result_get(r, names[i]);
        if (v && *v)
            ident_add_cpe(d, v);
    }
}

void ident_device_target(const struct ident_device *d, struct vuln_target *t)
{
    t->ncpe = 0;
    for (size_t i = 0; i < d->ncpe && i < VULN_TARGET_MAX; i++)
        t->cpe[t->ncpe++] = d->cpe[i];
}
