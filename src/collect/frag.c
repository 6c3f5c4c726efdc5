/* frag.c - bounded IP fragment reassembly (see frag.h). */
#include "collect/frag.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define FRAG_UNITS ((FRAG_MAX_LEN + 7u) / 8u)

void frag_table_init(struct frag_table *t)
{
    memset(t, 0, sizeof *t);
}

void frag_table_release(struct frag_table *t)
{
    for (unsigned i = 0; i < FRAG_MAX_PENDING; i++) {
        free(t->slots[i].buf);
        free(t->slots[i].bits);
    }
    memset(t, 0, sizeof *t);
}

static bool key_eq(const struct frag_key *a, const struct frag_key *b)
{
    return a->id == b->id && a->proto == b->proto && !ipaddr_cmp(&a->src, &b->src) &&
           !ipaddr_cmp(&a->dst, &b->dst);
}

static int slot_start(struct frag_slot *s, const struct frag_key *k, uint64_t now_us)
{
    if (!s->buf) {
        s->buf = malloc(FRAG_MAX_LEN);
        s->bits = malloc(FRAG_UNITS / 8 + 1);
        if (!s->buf || !s->bits) {
            free(s->buf);
            free(s->bits);
            s->buf = s->bits = NULL;
            return BS_ENOMEM;
        }
    }
    memset(s->bits, 0, FRAG_UNITS / 8 + 1);
    s->key = *k;
    s->first_us = now_us;
    s->total = 0;
    s->units_set = 0;
    s->used = true;
    return 0;
}

int frag_table_add(struct frag_table *t, const struct frag_key *k, uint32_t off, bool more,
                   const uint8_t *p, size_t len, uint64_t now_us, const uint8_t **out,
                   size_t *out_len)
{
    /* A non-last fragment carries a multiple of 8 bytes; nothing ends past 64 KiB. */
    if ((more && (len % 8 != 0 || len == 0)) || off % 8 != 0 || (size_t)off + len > FRAG_MAX_LEN) {
        t->st.bad++;
        return BS_EMALFORMED;
    }
    struct frag_slot *s = NULL, *free_slot = NULL, *oldest = NULL;
    for (unsigned i = 0; i < FRAG_MAX_PENDING; i++) {
        struct frag_slot *c = &t->slots[i];
        if (c->used && now_us > c->first_us && now_us - c->first_us > FRAG_TIMEOUT_US) {
            c->used = false;
            t->st.timed_out++;
        }
        if (!c->used) {
            if (!free_slot)
                free_slot = c;
            continue;
        }
        if (key_eq(&c->key, k))
            s = c;
        if (!oldest || c->first_us < oldest->first_us)
            oldest = c;
    }
    if (!s) {
        if (!free_slot) {
            free_slot = oldest;
            t->st.evicted++;
        }
        s = free_slot;
        int rc = slot_start(s, k, now_us);
        if (rc)
            return rc;
    }
    if (!more) {
        uint32_t end = off + (uint32_t)len;
        if (s->total && s->total != end) { /* two different last fragments */
            s->used = false;
            t->st.bad++;
            return BS_EMALFORMED;
        }
        s->total = end;
    }
    if (s->total && off + len > s->total) {
        s->used = false;
        t->st.bad++;
        return BS_EMALFORMED;
    }
    t->st.fragments++;
    memcpy(s->buf + off, p, len);
    uint32_t u0 = off / 8, u1 = (uint32_t)((off + len + 7) / 8);
    bool overlap = false;
    for (uint32_t u = u0; u < u1; u++) {
        uint8_t m = (uint8_t)(1u << (u % 8));
        if (s->bits[u / 8] & m) {
            overlap = true;
        } else {
            s->bits[u / 8] |= m;
            s->units_set++;
        }
    }
    if (overlap)
        t->st.overlaps++;
    if (s->total && s->units_set == (s->total + 7) / 8) {
        s->used = false;
        t->st.completed++;
        *out = s->buf;
        *out_len = s->total;
        return 1;
    }
    return 0;
}
