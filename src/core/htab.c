/* htab.c - open-addressing hash table (see htab.h). */
#include "core/htab.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/hugemem.h"

void htab_init(struct htab *t, size_t ksize, size_t vsize, size_t max, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->ksize = ksize;
    t->vsize = vsize;
    /* Values start 8-byte aligned so callers can store structs of integers in them. */
    t->voff = (ksize + 7) & ~(size_t)7;
    t->esize = (t->voff + vsize + 7) & ~(size_t)7;
    t->max = max;
    t->seed = seed;
}

void htab_init_prehashed(struct htab *t, size_t vsize, size_t max)
{
    htab_init(t, sizeof(uint64_t), vsize, max, 0);
    t->prehashed = true;
}

void htab_release(struct htab *t)
{
    free(t->ctrl);
    free(t->ent);
    t->ctrl = NULL;
    t->ent = NULL;
    t->nslots = t->n = 0;
}

static inline bool key_eq(const uint8_t *a, const void *b, size_t n)
{
    /* The common key sizes (an IPv4 address, 8 and 16 bytes) compare as words (memcmp of a
     * run-time size is a call). */
    uint64_t x[2], y[2];
    uint32_t x4, y4;
    switch (n) {
    case 4:
        memcpy(&x4, a, 4);
        memcpy(&y4, b, 4);
        return x4 == y4;
    case 8:
        memcpy(x, a, 8);
        memcpy(y, b, 8);
        return x[0] == y[0];
    case 16:
        memcpy(x, a, 16);
        memcpy(y, b, 16);
        return x[0] == y[0] && x[1] == y[1];
    default:
        if (n < 16)
            return !memcmp(a, b, n);
        memcpy(x, a, 16);
        memcpy(y, b, 16);
        return x[0] == y[0] && x[1] == y[1] && !memcmp(a + 16, (const uint8_t *)b + 16, n - 16);
    }
}

/* Slot of key: where it is, or the empty slot where it would go. */
static size_t slot_of(const struct htab *t, const void *key, uint64_t h)
{
    size_t mask = t->nslots - 1, i = (size_t)h & mask;
    uint8_t c = htab_ctrl(h);
    for (;;) {
        uint8_t s = t->ctrl[i];
        if (!s || (s == c && key_eq(t->ent + i * t->esize, key, t->ksize)))
            return i;
        i = (i + 1) & mask;
    }
}

static int resize(struct htab *t, size_t nslots)
{
    /* Big tables in huge pages: probes land at random, a TLB miss each in 4 KiB pages. */
    uint8_t *ctrl = hugemem_calloc(nslots, 1);
    uint8_t *ent = nslots > SIZE_MAX / t->esize ? NULL : hugemem_alloc(nslots * t->esize);
    if (!ctrl || !ent) {
        free(ctrl);
        free(ent);
        return BS_ENOMEM;
    }
    struct htab old = *t;
    t->ctrl = ctrl;
    t->ent = ent;
    t->nslots = nslots;
    for (size_t i = 0; i < old.nslots; i++) {
        if (!old.ctrl[i])
            continue;
        const uint8_t *e = old.ent + i * old.esize;
        uint64_t h = htab_hash(t, e);
        size_t j = slot_of(t, e, h);
        ctrl[j] = htab_ctrl(h);
        memcpy(ent + j * t->esize, e, t->esize);
    }
    free(old.ctrl);
    free(old.ent);
    return 0;
}

int htab_reserve(struct htab *t, size_t n)
{
    if (n > t->max)
        return BS_ELIMIT;
    size_t want = t->nslots ? t->nslots : 16;
    while (n > want / 2)
        want *= 2;
    return want > t->nslots ? resize(t, want) : 0;
}

void *htab_put(struct htab *t, const void *key, bool *is_new, int *rc)
{
    return htab_put_h(t, key, htab_hash(t, key), is_new, rc);
}

void *htab_put_h(struct htab *t, const void *key, uint64_t h, bool *is_new, int *rc)
{
    *is_new = false;
    if (!t->nslots || t->n + 1 > t->nslots / 2) {
        size_t want = t->n + 1 > t->max ? t->n : t->n + 1;
        if ((*rc = htab_reserve(t, want)))
            return NULL;
        if (!t->nslots && (*rc = resize(t, 16)))
            return NULL;
    }
    size_t i = slot_of(t, key, h);
    uint8_t *e = t->ent + i * t->esize;
    if (t->ctrl[i])
        return e + (t->vsize ? t->voff : 0);
    if (t->n >= t->max) {
        *rc = BS_ELIMIT;
        return NULL;
    }
    t->ctrl[i] = htab_ctrl(h);
    memcpy(e, key, t->ksize);
    memset(e + t->voff, 0, t->esize - t->voff);
    t->n++;
    *is_new = true;
    return e + (t->vsize ? t->voff : 0);
}

void *htab_find(const struct htab *t, const void *key)
{
    return htab_find_h(t, key, htab_hash(t, key));
}

void *htab_find_h(const struct htab *t, const void *key, uint64_t h)
{
    if (!t->n)
        return NULL;
    size_t i = slot_of(t, key, h);
    return t->ctrl[i] ? t->ent + i * t->esize + (t->vsize ? t->voff : 0) : NULL;
}

bool htab_del(struct htab *t, const void *key, void *val)
{
    if (!t->n)
        return false;
    size_t mask = t->nslots - 1;
    size_t i = slot_of(t, key, htab_hash(t, key));
    if (!t->ctrl[i])
        return false;
    if (val)
        memcpy(val, t->ent + i * t->esize + t->voff, t->vsize);
    /* Backward shift: an entry later in the run moves into the hole unless its home slot lies
     * cyclically in (hole, j], where moving it would put it before its home. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->ctrl[j]; j = (j + 1) & mask) {
        const uint8_t *e = t->ent + j * t->esize;
        size_t home = (size_t)htab_hash(t, e) & mask;
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        memcpy(t->ent + hole * t->esize, e, t->esize);
        t->ctrl[hole] = t->ctrl[j];
        hole = j;
    }
    t->ctrl[hole] = 0;
    t->n--;
    return true;
}

size_t htab_next(const struct htab *t, size_t i, const void **key, void **val)
{
    for (; i < t->nslots; i++) {
        if (!t->ctrl[i])
            continue;
        uint8_t *e = t->ent + i * t->esize;
        if (key)
            *key = e;
        if (val)
            *val = e + t->voff;
        return i + 1;
    }
    return 0;
}
