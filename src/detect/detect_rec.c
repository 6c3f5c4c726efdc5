/* detect_rec.c - detection's records: oriented from the store's blocks (the client table
 * filled on the way), kept packed in the stash, unpacked for the later passes. */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hll.h"
#include "core/hugemem.h"
#include "core/ipaddr.h"

/* ---- records from the store --------------------------------------------------------------- */

/* What building a record needs ahead of time: its orientation and client, and the client
 * table slot, which is prefetched RING_A records ahead of the lookup. An IPv4 client is its
 * number alone (ca is filled only for IPv6 ones and for a new client). */
struct fkeys {
    struct ipaddr ca;
    uint64_t hc;
    uint32_t cv4;
    bool c6, fwd, skip;
};

#define RING   16
#define RING_A 8

/* The record's server key and service hashes. */
static inline void rec_hashes(const struct dctx *d, struct drec *r)
{
    if (!r->v6) { /* skey_hash's and svc_hash's IPv4 paths, without the copies */
        uint64_t a = ipaddr_v4(&r->sa), k = (uint64_t)r->sport << 8 | r->proto;
        r->hs = hash_mix64((a << 32 | k) ^ d->hseed);
        r->hsvc = hash_mix64(((a & 0xffffff00u) << 32 | k) ^ d->hseed ^ DSVC_SEED);
        return;
    }
    uint8_t skey[19];
    memcpy(skey, r->sa.b, 16);
    skey[16] = (uint8_t)(r->sport >> 8);
    skey[17] = (uint8_t)r->sport;
    skey[18] = r->proto;
    r->hs = skey_hash(d, skey);
    r->hsvc = svc_hash(d, skey);
}

static void flow_orient(const struct dctx *d, const struct store_block *b, size_t i,
                        struct fkeys *k, struct drec *r)
{
    uint64_t t = b->start_ms[i];
    k->skip = t < d->cfg->t_lo || t > d->cfg->t_hi;
    if (k->skip)
        return;
    uint8_t proto = b->proto[i];
    uint16_t sp = b->src_port[i], dp = b->dst_port[i];
    bool fwd = detect_forward(proto, sp, dp, b->tcp_flags[i]);
    /* (The scan asks for mixed address columns: an IPv4 row of a block with IPv6 ones is read
     * as 4 bytes, not widened to 16 by the store and read back.) */
    const struct store_addr_col *cc = fwd ? &b->src : &b->dst, *sc = fwd ? &b->dst : &b->src;
    if (cc->v4 && !store_addr_is6(cc, i)) {
        k->cv4 = cc->v4[i];
        k->c6 = false;
    } else {
        store_addr_get(cc, i, &k->ca);
        k->c6 = !ipaddr_is_v4(&k->ca);
        k->cv4 = ipaddr_v4(&k->ca);
    }
    if (sc->v4 && !store_addr_is6(sc, i)) {
        ipaddr_from_v4(&r->sa, sc->v4[i]);
        r->v6 = false;
    } else {
        store_addr_get(sc, i, &r->sa);
        r->v6 = !ipaddr_is_v4(&r->sa);
    }
    k->fwd = r->fwd = fwd;
    r->t = t;
    uint64_t e = b->end_ms[i];
    r->dur = e <= t ? 0 : e - t > UINT32_MAX ? UINT32_MAX : (uint32_t)(e - t);
    r->packets = b->packets[i];
    r->bytes = b->bytes[i];
    r->rate = b->sampling[i] + !b->sampling[i]; /* (unsampled: 1; no branch on a mix) */
    r->proto = proto;
    r->flags = b->tcp_flags[i];
    r->cport = fwd ? sp : dp;
    r->sport = fwd ? dp : sp;
    if (proto != 6 && proto != 17 && proto != 132)
        r->sport = r->cport = 0;
    rec_hashes(d, r);
    k->hc = r->hc = k->c6 ? htab_hash(&d->client_ix, k->ca.b) : client_hash_v4(d, k->cv4);
}

/* Client k's entry in the client table, made when new (the client pass): its client_ix value
 * into *ix. */
static int new_client(struct dctx *d, struct fkeys *k, uint32_t **ix)
{
    bool is_new;
    int rc = 0;
    if (!k->c6)
        ipaddr_from_v4(&k->ca, k->cv4);
    if (!(*ix = detect_client_put(d, &k->ca, k->hc, &is_new, &rc)))
        return rc;
    if (!is_new)
        return 0;
    if (d->ncli >= DCLI_IX_PAIR)
        return BS_ELIMIT;
    if ((rc = dgrow((void **)&d->cli, &d->cli_cap, d->ncli, sizeof *d->cli)))
        return rc;
    struct dcli *c = &d->cli[d->ncli];
    memset(c, 0, sizeof *c);
    c->addr = k->ca;
    c->hc = k->hc;
    **ix = (uint32_t)d->ncli++;
    if (d->seeds && detect_seeds_has(d->seeds, &k->ca)) {
        c->flags |= DCLI_SEED;
        **ix |= DCLI_IX_PAIR;
    }
    return 0;
}

/* Records are handled in batches of DBATCH: a block holds up to 65,536 records, and built
 * records of a whole block (88 bytes each) went out to L3 between one step and the next. A
 * batch of 128 (11 KiB) stays in L1 from building to pass 1 to keeping; one of 1,024 did
 * not (cachegrind on a 1 M-flow store: 17 % fewer L1 data misses in the whole run, 0.2 % more
 * instructions for the prefetch pipeline starting over more often). */
#define DBATCH 128

/* The block's records lo..hi into out[] (skipping those outside the time range): with
 * `clients`, new clients enter the table; otherwise a client the first pass did not see is
 * skipped. */
static int block_records(struct dctx *d, const struct store_block *b, size_t lo, size_t hi,
                         bool clients, struct drec *out, size_t *nout)
{
    struct fkeys ring[RING];
    size_t n = hi - lo, m = 0;
    for (size_t j = 0; j < n + RING_A; j++) {
        if (j < n) {
            struct fkeys *k = &ring[j % RING];
            flow_orient(d, b, lo + j, k, &out[j]);
            if (!k->skip && !k->c6)
                dcmap_prefetch(&d->client_v4, k->hc);
            else if (!k->skip)
                htab_prefetch(&d->client_ix, k->hc);
        }
        if (j < RING_A)
            continue;
        size_t i = j - RING_A;
        struct fkeys *k = &ring[i % RING];
        if (k->skip)
            continue;
        struct drec *r = &out[m];
        if (m != i)
            *r = out[i];
        /* An IPv4 client already in the table is found inline (most records). */
        uint32_t *ix = k->c6 ? NULL : dcmap_find(&d->client_v4, k->cv4, k->hc);
        int rc;
        if (!ix && clients) {
            if ((rc = new_client(d, k, &ix)))
                return rc;
        } else if (!ix && (!k->c6 || !(ix = detect_client_find(d, &k->ca, k->hc)))) {
            continue; /* not seen by the first pass: the store changed under us */
        }
        r->cl = *ix & ~DCLI_IX_PAIR;
        r->seed = (*ix & DCLI_IX_PAIR) != 0;
        if (clients) { /* population estimates (client addresses: parts number them apart) */
            hll_add(d->hll_srv, HLL_P, r->hs);
            /* (Two independent hashes: their sum is as uniform as either.) */
            hll_add(d->hll_edge, HLL_P, r->hs + k->hc);
        }
        m++;
    }
    *nout = m;
    return 0;
}

/* ---- running the passes ------------------------------------------------------------------- */

void detect_free_chunks(struct dctx *d)
{
    for (size_t i = 0; i < d->nslabs; i++)
        free(d->slabs[i]);
    free(d->slabs);
    d->slabs = NULL;
    d->nslabs = d->slabs_cap = 0;
    free(d->chunks);
    d->chunks = NULL;
    d->nchunks = d->chunks_cap = 0;
}

#define STASH_SLAB ((size_t)64 << 20)

/* Chunks are carved from 64 MiB slabs in huge pages (core/hugemem.h): a few hundred megabytes
 * of records in 4 KiB pages took a page fault every 4 KiB, a fifth of the run. */
static void *slab_alloc(struct dctx *d, size_t bytes)
{
    bytes = (bytes + 63) & ~(size_t)63;
    if (!d->nslabs || d->slab_used + bytes > d->slab_size) {
        size_t size = bytes > STASH_SLAB ? bytes : STASH_SLAB;
        if (dgrow((void **)&d->slabs, &d->slabs_cap, d->nslabs, sizeof *d->slabs))
            return NULL;
        void *m = hugemem_alloc(size);
        if (!m)
            return NULL;
        d->slabs[d->nslabs++] = m;
        d->slab_used = 0;
        d->slab_size = size;
    }
    void *v = (char *)d->slabs[d->nslabs - 1] + d->slab_used;
    d->slab_used += bytes;
    return v;
}

/* The bytes an array of n values of w bytes takes in a chunk (each array 8-byte aligned). */
static size_t colsz(size_t n, size_t w)
{
    return (n * w + 7) & ~(size_t)7;
}

/* Carves an array of n values of w bytes from *p. */
static void *carve(char **p, size_t n, size_t w)
{
    void *v = *p;
    *p += colsz(n, w);
    return v;
}

/* Carves a struct dcol's array of n values of w bytes, with its slack, from *p. */
static void *carve_dcol(char **p, size_t n, size_t w)
{
    void *v = carve(p, n, w);
    *p += DCOL_SLACK;
    return v;
}

/* Opens the chunk that keeps block b's records in part d's stash (filled by keep_add batch by
 * batch); its index, or SIZE_MAX when the block cannot be kept: the stash is over its budget or
 * out of memory (every part then stops keeping records: the passes after the client pass read
 * the store). */
static size_t keep_open(struct dctx *d, const struct store_block *b)
{
    struct dctx *o = d->owner ? d->owner : d;
    if (o->stash_full || d->stash_full)
        return SIZE_MAX;
    size_t n = b->n, n6 = 0;
    uint64_t t0 = UINT64_MAX, t1 = 0, dmax = 0, pk = 0, by = 0;
    uint32_t rmax = 0;
    for (size_t i = 0; i < n; i++) { /* column by column: no record is built for this */
        uint64_t t = b->start_ms[i], e = b->end_ms[i];
        t0 = t < t0 ? t : t0;
        t1 = t > t1 ? t : t1;
        uint64_t du = e > t ? e - t : 0;
        dmax = du > dmax ? du : dmax;
        pk |= b->packets[i];
        by |= b->bytes[i];
        rmax |= b->sampling[i] ? b->sampling[i] - 1 : 0;
    }
    /* The records with an IPv6 address (the server is one of its two): for two mixed columns,
     * the bits of either bitmap, a byte at a time. */
    if (b->src.is6 && b->dst.is6) {
        for (size_t k = 0; k < (n + 7) / 8; k++)
            n6 += (size_t)__builtin_popcount(b->src.is6[k] | b->dst.is6[k]);
    } else if (b->src.is6 || b->src.full || b->dst.is6 || b->dst.full) {
        for (size_t i = 0; i < n; i++)
            n6 += store_addr_is6(&b->src, i) || store_addr_is6(&b->dst, i);
    }
    struct dchunk ch = {.t0 = n ? t0 : 0};
    dcol_init(&ch.t, n ? t1 - t0 : 0);
    dcol_init(&ch.dur, dmax > UINT32_MAX ? UINT32_MAX : dmax);
    dcol_init(&ch.packets, pk); /* (the OR of the values: the same width as the largest) */
    dcol_init(&ch.bytes, by);
    dcol_init(&ch.rate, rmax);
    size_t bytes = colsz(n6, sizeof(struct ipaddr)) + colsz(n, ch.bytes.w) +
                   colsz(n, ch.packets.w) + colsz(n, ch.t.w) + colsz(n, ch.dur.w) +
                   colsz(n, ch.rate.w) + 5 * DCOL_SLACK + 2 * colsz(n, 4) + 3 * colsz(n, 2) +
                   2 * colsz(n, 1);
    if (atomic_fetch_add(&o->stashed, bytes) + bytes > o->stash_max ||
        dgrow((void **)&d->chunks, &d->chunks_cap, d->nchunks, sizeof *d->chunks)) {
        d->stash_full = true; /* the later passes read the store, for every block */
        return SIZE_MAX;
    }
    char *m = slab_alloc(d, bytes);
    if (!m) {
        d->stash_full = true;
        return SIZE_MAX;
    }
    /* (Widest first. The variable-width columns are read and written unaligned, 8 bytes at a
     * time.) */
    ch.v6 = n6 ? carve(&m, n6, sizeof *ch.v6) : NULL;
    ch.bytes.v = carve_dcol(&m, n, ch.bytes.w);
    ch.packets.v = carve_dcol(&m, n, ch.packets.w);
    ch.t.v = carve_dcol(&m, n, ch.t.w);
    ch.dur.v = carve_dcol(&m, n, ch.dur.w);
    ch.rate.v = carve_dcol(&m, n, ch.rate.w);
    ch.cl = carve(&m, n, sizeof *ch.cl);
    ch.sa = carve(&m, n, sizeof *ch.sa);
    ch.svcb = carve(&m, n, sizeof *ch.svcb);
    ch.cport = carve(&m, n, sizeof *ch.cport);
    ch.sport = carve(&m, n, sizeof *ch.sport);
    ch.proto = carve(&m, n, sizeof *ch.proto);
    ch.bits = carve(&m, n, sizeof *ch.bits);
    ch.seq = b->seq;
    ch.arrival = atomic_fetch_add(&o->arrival, 1);
    d->chunks[d->nchunks] = ch;
    return d->nchunks++;
}

/* Packs records v[0..n) into chunk ch after those it holds (their block opened it: they fit
 * its widths). */
static void keep_add(struct dchunk *ch, const struct drec *v, size_t n)
{
    size_t at = ch->n;
    for (size_t i = 0; i < n; i++, at++) {
        const struct drec *r = &v[i];
        uint8_t bits = (uint8_t)(r->flags & DK_FLAGS);
        if (!r->v6) {
            ch->sa[at] = ipaddr_v4(&r->sa);
        } else {
            ch->v6[ch->n6] = r->sa;
            ch->sa[at] = ch->n6++;
            bits |= DK_V6;
        }
        if (r->fwd)
            bits |= DK_FWD;
        if (r->seed)
            bits |= DK_SEED;
        ch->cl[at] = r->cl;
        ch->svcb[at] = (uint16_t)(r->hsvc >> 48);
        ch->cport[at] = r->cport;
        ch->sport[at] = r->sport;
        ch->proto[at] = r->proto;
        ch->bits[at] = bits;
        dcol_put(&ch->t, at, r->t - ch->t0);
        dcol_put(&ch->dur, at, r->dur);
        dcol_put(&ch->packets, at, r->packets);
        dcol_put(&ch->bytes, at, r->bytes);
        dcol_put(&ch->rate, at, r->rate - 1);
    }
    ch->n = at;
}

/* Room for n records in part d's buffer. */
static int buf_room(struct dctx *d, size_t n)
{
    if (n <= d->buf_cap)
        return 0;
    struct drec *nb = realloc(d->buf, n * sizeof *nb);
    if (!nb)
        return BS_ENOMEM;
    d->buf = nb;
    d->buf_cap = n;
    return 0;
}

/* Which of chunk ch's records lo..hi pass p reads, their indices into idx (returns how many).
 * A pair pass reads the round's seeds' records and the high-port UDP ones whose server may be
 * a seed (the peers counted on the server side: an IPv4 server passes the seeds' address
 * filter, an IPv6 one always), a server pass those its services filter and client share let
 * through. The rest are not unpacked at all: the test reads two narrow columns (a few more for
 * UDP), not the records. (Every high-port UDP record used to be unpacked and its server looked
 * up in the client table: 680,000 of them for 14,000 seed records in round 1 of the
 * benchmark.) */
static size_t chunk_wanted(const struct dctx *d, const struct pass *p, const struct dchunk *ch,
                           size_t lo, size_t hi, uint32_t *idx)
{
    size_t m = 0;
    if (p->pairs) {
        for (size_t i = lo; i < hi; i++) {
            uint32_t c = ch->cl[i], b = seed_v4_bit(ch->sa[i]);
            unsigned w = (d->pair_bits[c >> 3] >> (c & 7)) & 1;
            unsigned srv = (ch->bits[i] & DK_V6) != 0 || ((d->seed_v4[b >> 3] >> (b & 7)) & 1);
            w |= srv & (ch->proto[i] == 17) & (ch->sport[i] >= 1024) & (ch->cport[i] >= 1024);
            idx[m] = (uint32_t)i;
            m += w;
        }
        return m;
    }
    for (size_t i = lo; i < hi; i++) {
        unsigned sb = ch->svcb[i];
        if ((d->svc_filter[sb >> 3] >> (sb & 7)) & 1 && my_client(p, ch->cl[i]))
            idx[m++] = (uint32_t)i;
    }
    return m;
}

/* Runs pass p (after the client pass) over chunk ch: the records it reads, unpacked into d's
 * buffer, in order. */
int detect_chunk_pass(struct dctx *d, const struct pass *p, const struct dchunk *ch)
{
    int rc = buf_room(d, DBATCH);
    if (rc)
        return rc;
    uint32_t idx[DBATCH];
    size_t m = 0;
    for (size_t lo = 0; lo < ch->n; lo += DBATCH) {
        size_t hi = ch->n - lo > DBATCH ? lo + DBATCH : ch->n;
        size_t nw = chunk_wanted(d, p, ch, lo, hi, idx);
        if (m + nw > DBATCH) {
            if ((rc = detect_pass_records(p, d->buf, m)))
                return rc;
            m = 0;
        }
        for (size_t k = 0; k < nw; k++) {
            size_t i = idx[k];
            struct drec *r = &d->buf[m++];
            uint8_t bits = ch->bits[i];
            if (bits & DK_V6)
                r->sa = ch->v6[ch->sa[i]];
            else
                ipaddr_from_v4(&r->sa, ch->sa[i]);
            r->t = ch->t0 + dcol_get(&ch->t, i);
            r->dur = (uint32_t)dcol_get(&ch->dur, i);
            r->packets = dcol_get(&ch->packets, i);
            r->bytes = dcol_get(&ch->bytes, i);
            r->rate = (uint32_t)dcol_get(&ch->rate, i) + 1;
            r->cl = ch->cl[i];
            r->cport = ch->cport[i];
            r->sport = ch->sport[i];
            r->proto = ch->proto[i];
            r->flags = bits & DK_FLAGS;
            r->v6 = (bits & DK_V6) != 0;
            r->fwd = (bits & DK_FWD) != 0;
            r->seed = (bits & DK_SEED) != 0;
            if (p->pairs)
                r->hc = d->cli[r->cl].hc;
            rec_hashes(d, r);
        }
    }
    return detect_pass_records(p, d->buf, m);
}

int detect_on_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct detect_scan_ctx *x = ctx;
    struct dctx *d = x->parts[thread];
    struct pass p = *x->pass;
    p.d = d;
    int rc = buf_room(d, DBATCH);
    /* Not kept: the later passes read the store. */
    size_t ch = !rc && p.clients ? keep_open(d, b) : SIZE_MAX;
    for (size_t lo = 0; lo < b->n && !rc; lo += DBATCH) {
        size_t hi = b->n - lo > DBATCH ? lo + DBATCH : b->n, n;
        if (!(rc = block_records(d, b, lo, hi, p.clients, d->buf, &n)) &&
            !(rc = detect_pass_records(&p, d->buf, n)) && ch != SIZE_MAX)
            keep_add(&d->chunks[ch], d->buf, n);
    }
    if (rc) {
        d->rc = rc;
        return 1;
    }
    return 0;
}
