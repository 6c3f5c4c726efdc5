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

/* What building a record needs ahead of time: its orientation and addresses, and the client
 * table slot, which is prefetched RING_A records ahead of the lookup. */
struct fkeys {
    struct ipaddr ca;
    uint64_t hc;
    bool fwd, skip;
};

#define RING   16
#define RING_A 8

/* The record's server key and service hashes. */
static inline void rec_hashes(const struct dctx *d, struct drec *r)
{
    if (ipaddr_is_v4(&r->sa)) { /* skey_hash's and svc_hash's IPv4 paths, without the copies */
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
    const struct store_addr_col *cc = fwd ? &b->src : &b->dst, *sc = fwd ? &b->dst : &b->src;
    if (cc->v4)
        ipaddr_from_v4(&k->ca, cc->v4[i]);
    else
        k->ca = cc->full[i];
    if (sc->v4)
        ipaddr_from_v4(&r->sa, sc->v4[i]);
    else
        r->sa = sc->full[i];
    k->fwd = r->fwd = fwd;
    r->t = t;
    uint64_t e = b->end_ms[i];
    r->dur = e <= t ? 0 : e - t > UINT32_MAX ? UINT32_MAX : (uint32_t)(e - t);
    r->packets = b->packets[i];
    r->bytes = b->bytes[i];
    r->rate = b->sampling[i] ? b->sampling[i] : 1;
    r->proto = proto;
    r->flags = b->tcp_flags[i];
    r->cport = fwd ? sp : dp;
    r->sport = fwd ? dp : sp;
    if (proto != 6 && proto != 17 && proto != 132)
        r->sport = r->cport = 0;
    rec_hashes(d, r);
    k->hc = r->hc = cc->v4 ? client_hash_v4(d, cc->v4[i]) : client_hash(d, &k->ca);
}

/* Records are handled in batches of DBATCH: a block holds up to 65,536 records, and built
 * records of a whole block (88 bytes each) went out to L3 between one step and the next. */
#define DBATCH 1024

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
            if (!k->skip)
                htab_prefetch(&d->client_ix, k->hc);
        }
        if (j < RING_A)
            continue;
        size_t i = j - RING_A;
        const struct fkeys *k = &ring[i % RING];
        if (k->skip)
            continue;
        struct drec *r = &out[m];
        if (m != i)
            *r = out[i];
        bool is_new;
        int rc = 0;
        uint32_t *ix;
        if (clients) {
            if (!(ix = htab_put_h(&d->client_ix, k->ca.b, k->hc, &is_new, &rc)))
                return rc;
            if (is_new) {
                if (d->ncli >= DCLI_IX_PAIR)
                    return BS_ELIMIT;
                if ((rc = dgrow((void **)&d->cli, &d->cli_cap, d->ncli, sizeof *d->cli)))
                    return rc;
                struct dcli *c = &d->cli[d->ncli];
                memset(c, 0, sizeof *c);
                c->addr = k->ca;
                c->hc = k->hc;
                *ix = (uint32_t)d->ncli++;
                if (d->seeds && detect_seeds_has(d->seeds, &k->ca)) {
                    c->flags |= DCLI_SEED;
                    *ix |= DCLI_IX_PAIR;
                }
            }
        } else if (!(ix = htab_find(&d->client_ix, k->ca.b))) {
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

/* Opens the chunk that keeps block b's records in part d's stash (filled by keep_add batch by
 * batch); its index, or SIZE_MAX when the block cannot be kept: the stash is over its budget or
 * out of memory (every part then stops keeping records: the passes after the client pass read
 * the store), or a record does not pack (2^32 packets or more, or the block's times span 2^32
 * ms or more: then too, every block is read from the store). */
static size_t keep_open(struct dctx *d, const struct store_block *b)
{
    struct dctx *o = d->owner ? d->owner : d;
    if (o->stash_full || d->stash_full)
        return SIZE_MAX;
    size_t n = b->n, n6 = 0;
    uint64_t t0 = UINT64_MAX, t1 = 0, pk = 0;
    for (size_t i = 0; i < n; i++) { /* column by column: no record is built for this */
        t0 = b->start_ms[i] < t0 ? b->start_ms[i] : t0;
        t1 = b->start_ms[i] > t1 ? b->start_ms[i] : t1;
        pk |= b->packets[i];
    }
    /* (An upper bound: a record's server is one of its two addresses.) */
    for (size_t i = 0; i < n && (!b->src.v4 || !b->dst.v4); i++)
        n6 += (!b->src.v4 && !ipaddr_is_v4(&b->src.full[i])) ||
              (!b->dst.v4 && !ipaddr_is_v4(&b->dst.full[i]));
    if ((n && t1 - t0 > UINT32_MAX) || pk > UINT32_MAX ||
        atomic_fetch_add(&o->stashed, n) + n > o->stash_max ||
        dgrow((void **)&d->chunks, &d->chunks_cap, d->nchunks, sizeof *d->chunks)) {
        d->stash_full = true; /* the later passes read the store, for every block */
        return SIZE_MAX;
    }
    struct dkept *k = slab_alloc(d, (n ? n : 1) * sizeof *k);
    struct ipaddr *v6 = n6 ? slab_alloc(d, n6 * sizeof *v6) : NULL;
    if (!k || (n6 && !v6)) {
        d->stash_full = true;
        return SIZE_MAX;
    }
    d->chunks[d->nchunks] = (struct dchunk){.seq = b->seq,
                                            .arrival = atomic_fetch_add(&o->arrival, 1),
                                            .t0 = n ? t0 : 0,
                                            .v = k,
                                            .v6 = v6};
    return d->nchunks++;
}

/* Packs records v[0..n) into chunk ch after those it holds. */
static void keep_add(struct dchunk *ch, const struct drec *v, size_t n)
{
    struct dkept *k = ch->v + ch->n;
    for (size_t i = 0; i < n; i++) {
        const struct drec *r = &v[i];
        uint32_t sa;
        uint8_t bits = (uint8_t)(r->flags & DK_FLAGS);
        if (ipaddr_is_v4(&r->sa)) {
            sa = ipaddr_v4(&r->sa);
        } else {
            ch->v6[ch->n6] = r->sa;
            sa = ch->n6++;
            bits |= DK_V6;
        }
        if (r->fwd)
            bits |= DK_FWD;
        if (r->seed)
            bits |= DK_SEED;
        k[i] = (struct dkept){.t = (uint32_t)(r->t - ch->t0),
                              .dur = r->dur,
                              .bytes = r->bytes,
                              .packets = (uint32_t)r->packets,
                              .sa = sa,
                              .cl = r->cl,
                              .rate = r->rate,
                              .cport = r->cport,
                              .sport = r->sport,
                              .svcb = (uint16_t)(r->hsvc >> 48),
                              .proto = r->proto,
                              .bits = bits};
    }
    ch->n += n;
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

/* Does pass p read kept record k? A pair pass reads the round's seeds' records and the
 * high-port UDP ones (peers), a server pass those its services filter and client share let
 * through. The rest are not unpacked at all. */
static bool wanted(const struct dctx *d, const struct pass *p, const struct dkept *k)
{
    if (p->pairs)
        return (d->pair_bits[k->cl >> 3] & (1u << (k->cl & 7))) ||
               (k->proto == 17 && k->sport >= 1024 && k->cport >= 1024);
    return (d->svc_filter[k->svcb >> 3] & (1u << (k->svcb & 7))) && my_client(p, k->cl);
}

/* Runs pass p (after the client pass) over chunk ch: the records it reads, unpacked into d's
 * buffer, in order. */
int detect_chunk_pass(struct dctx *d, const struct pass *p, const struct dchunk *ch)
{
    int rc = buf_room(d, DBATCH);
    if (rc)
        return rc;
    size_t m = 0;
    for (size_t i = 0; i < ch->n; i++) {
        const struct dkept *k = &ch->v[i];
        if (!wanted(d, p, k))
            continue;
        if (m == DBATCH) {
            if ((rc = detect_pass_records(p, d->buf, m)))
                return rc;
            m = 0;
        }
        struct drec *r = &d->buf[m++];
        if (k->bits & DK_V6)
            r->sa = ch->v6[k->sa];
        else
            ipaddr_from_v4(&r->sa, k->sa);
        r->t = ch->t0 + k->t;
        r->dur = k->dur;
        r->packets = k->packets;
        r->bytes = k->bytes;
        r->cl = k->cl;
        r->rate = k->rate;
        r->cport = k->cport;
        r->sport = k->sport;
        r->proto = k->proto;
        r->flags = k->bits & DK_FLAGS;
        r->fwd = (k->bits & DK_FWD) != 0;
        r->seed = (k->bits & DK_SEED) != 0;
        if (p->pairs)
            r->hc = d->cli[k->cl].hc;
        rec_hashes(d, r);
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
