/* filter_set.c - the filter's address sets (hash sets of hosts, a list of wider prefixes) and
 * the map between its fields and the flow field table (see filter_int.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "query/filter_int.h"

/* ---- address sets ---------------------------------------------------------------------- */

static int filter_set_grow(struct addrset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 64;
    struct ipaddr *nk = calloc(ncap, sizeof *nk);
    if (!nk)
        return BS_ENOMEM;
    static const struct ipaddr zero;
    for (size_t i = 0; i < s->cap; i++) {
        if (!memcmp(&s->keys[i], &zero, 16))
            continue;
        size_t h = hash_bytes(&s->keys[i], 16, 0) & (ncap - 1);
        while (memcmp(&nk[h], &zero, 16))
            h = (h + 1) & (ncap - 1);
        nk[h] = s->keys[i];
    }
    free(s->keys);
    s->keys = nk;
    s->cap = ncap;
    return 0;
}

static int filter_set_grow4(struct addrset *s)
{
    size_t ncap = s->cap4 ? s->cap4 * 2 : 64;
    uint32_t *nk = calloc(ncap, sizeof *nk);
    if (!nk)
        return BS_ENOMEM;
    for (size_t i = 0; i < s->cap4; i++) {
        if (!s->keys4[i])
            continue;
        size_t h = hash_mix64(s->keys4[i]) & (ncap - 1);
        while (nk[h])
            h = (h + 1) & (ncap - 1);
        nk[h] = s->keys4[i];
    }
    free(s->keys4);
    s->keys4 = nk;
    s->cap4 = ncap;
    return 0;
}

bool filter_set_has(const struct addrset *s, const struct ipaddr *a)
{
    if (ipaddr_is_zero(a))
        return s->has_zero;
    if (s->cap) {
        static const struct ipaddr zero;
        size_t h = hash_bytes(a, 16, 0) & (s->cap - 1);
        while (memcmp(&s->keys[h], &zero, 16)) {
            if (!memcmp(&s->keys[h], a, 16))
                return true;
            h = (h + 1) & (s->cap - 1);
        }
    }
    for (size_t i = 0; i < s->npfx; i++)
        if (ipprefix_contains(&s->pfx[i], a))
            return true;
    return false;
}

bool filter_set_has4(const struct addrset *s, uint32_t v)
{
    if (s->npfx) {
        struct ipaddr a;
        ipaddr_from_v4(&a, v);
        return filter_set_has(s, &a);
    }
    if (!v)
        return s->has_zero4;
    if (!s->cap4)
        return false;
    size_t h = hash_mix64(v) & (s->cap4 - 1);
    while (s->keys4[h]) {
        if (s->keys4[h] == v)
            return true;
        h = (h + 1) & (s->cap4 - 1);
    }
    return false;
}

int filter_set_add(struct addrset *s, const struct ipprefix *pf)
{
    if (pf->len < 128) {
        if (s->npfx % 16 == 0) {
            struct ipprefix *np = realloc(s->pfx, (s->npfx + 16) * sizeof *np);
            if (!np)
                return BS_ENOMEM;
            s->pfx = np;
        }
        s->pfx[s->npfx++] = *pf;
        return 0;
    }
    const struct ipaddr *a = &pf->addr;
    if (filter_set_has(s, a))
        return 0;
    if (ipaddr_is_zero(a)) {
        s->has_zero = true;
    } else {
        if ((s->n + 1) * 2 > s->cap && filter_set_grow(s))
            return BS_ENOMEM;
        size_t h = hash_bytes(a, 16, 0) & (s->cap - 1);
        static const struct ipaddr zero;
        while (memcmp(&s->keys[h], &zero, 16))
            h = (h + 1) & (s->cap - 1);
        s->keys[h] = *a;
    }
    s->n++;
    if (ipaddr_is_v4(a)) {
        uint32_t v = ipaddr_v4(a);
        if (!v) {
            s->has_zero4 = true;
        } else {
            if ((s->n + 1) * 2 > s->cap4 && filter_set_grow4(s))
                return BS_ENOMEM;
            size_t h = hash_mix64(v) & (s->cap4 - 1);
            while (s->keys4[h])
                h = (h + 1) & (s->cap4 - 1);
            s->keys4[h] = v;
        }
    }
    return 0;
}

void filter_sets_free(struct filter *f)
{
    for (size_t i = 0; i < f->nsets; i++) {
        free(f->sets[i].keys);
        free(f->sets[i].keys4);
        free(f->sets[i].pfx);
    }
    free(f->sets);
}

/* The evaluator's fields that are flow fields (core/flow_field.h): their widths and columns
 * come from the field table, and `NAME [CMP] N` accepts the number ones by any of their names. */
const struct {
    enum flow_field_id fid;
    enum ffield ff;
} field_terms[] = {
    {FLOW_F_SRC_PORT, FF_SRC_PORT}, {FLOW_F_DST_PORT, FF_DST_PORT},
    {FLOW_F_PROTO, FF_PROTO},       {FLOW_F_PACKETS, FF_PACKETS},
    {FLOW_F_BYTES, FF_BYTES},       {FLOW_F_SRC_AS, FF_SRC_AS},
    {FLOW_F_DST_AS, FF_DST_AS},     {FLOW_F_IN_IF, FF_IN_IF},
    {FLOW_F_OUT_IF, FF_OUT_IF},     {FLOW_F_SAMPLING_RATE, FF_SAMPLING},
    {FLOW_F_TOS, FF_TOS},           {FLOW_F_VLAN, FF_VLAN},
    {FLOW_F_SRC_ADDR, FF_SRC},      {FLOW_F_DST_ADDR, FF_DST},
    {FLOW_F_EXPORTER, FF_EXPORTER},
};

int filter_term_of_field(enum flow_field_id fid)
{
    for (size_t i = 0; i < sizeof field_terms / sizeof field_terms[0]; i++)
        if (field_terms[i].fid == fid)
            return (int)field_terms[i].ff;
    return -1;
}

const struct flow_field *filter_field_of_term(enum ffield fld)
{
    for (size_t i = 0; i < sizeof field_terms / sizeof field_terms[0]; i++)
        if (field_terms[i].ff == fld)
            return &flow_fields[field_terms[i].fid];
    return NULL;
}
