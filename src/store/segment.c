/* segment.c - segment file encoder and decoder (layout in segment.h). */
#include "store/segment.h"

#include <errno.h>
#include <stddef.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/crc32.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/rd.h"
#include "store/colenc.h"

static const char seg_magic[8] = {'B', 'S', 'S', 'E', 'G', 0, 0, 0};
static const char seg_end_magic[8] = {'B', 'S', 'S', 'E', 'G', 'E', 'N', 'D'};
/* Version 2 adds the MIXED46 address encoding (colenc.h); version 1 files are read as ever. */
#define SEG_VERSION     2
#define SEG_HEADER_LEN  16
#define SEG_TRAILER_LEN 16

/* Skip index limits: a sorted list up to these many distinct values, else a Bloom filter of
 * 10 bits per distinct value up to SEG_BLOOM_MAX_BITS, else none (min/max only). */
#define SEG_LIST_MAX_ADDR  32
#define SEG_LIST_MAX_PORT  64
#define SEG_BLOOM_MAX_BITS 32768
#define SEG_BLOOM_PROBES   3
/* More distinct values than this get no Bloom filter (10 bits each would not fit). */
#define SEG_BLOOM_MAX_DISTINCT (SEG_BLOOM_MAX_BITS / 10)
/* Slots of the writer's distinct-address set: a power of two over twice the most values it
 * holds (SEG_BLOOM_MAX_DISTINCT + 1), so probes stay short. */
#define SEG_DSET_SLOTS 8192
/* 64-bit words of the writer's port presence map (one bit per port). */
#define SEG_PORT_WORDS (65536 / 64)
/* Records prefetched ahead when a block is gathered through an order. */
#define SEG_GATHER_AHEAD 16

enum col_type { CT_U64, CT_U32, CT_U16, CT_U8, CT_ADDR };

static const uint8_t col_type[STORE_COL_COUNT] = {
    [STORE_COL_START_MS] = CT_U64,   [STORE_COL_END_MS] = CT_U64,   [STORE_COL_PACKETS] = CT_U64,
    [STORE_COL_BYTES] = CT_U64,      [STORE_COL_SRC] = CT_ADDR,     [STORE_COL_DST] = CT_ADDR,
    [STORE_COL_EXPORTER] = CT_ADDR,  [STORE_COL_NEXTHOP] = CT_ADDR, [STORE_COL_SAMPLING] = CT_U32,
    [STORE_COL_OBS_DOMAIN] = CT_U32, [STORE_COL_IN_IF] = CT_U32,    [STORE_COL_OUT_IF] = CT_U32,
    [STORE_COL_SRC_AS] = CT_U32,     [STORE_COL_DST_AS] = CT_U32,   [STORE_COL_SRC_PORT] = CT_U16,
    [STORE_COL_DST_PORT] = CT_U16,   [STORE_COL_VLAN] = CT_U16,     [STORE_COL_HAS] = CT_U16,
    [STORE_COL_PROTO] = CT_U8,       [STORE_COL_TCP_FLAGS] = CT_U8, [STORE_COL_TOS] = CT_U8,
    [STORE_COL_VERSION] = CT_U8,     [STORE_COL_DIRECTION] = CT_U8, [STORE_COL_SRC_MASK] = CT_U8,
    [STORE_COL_DST_MASK] = CT_U8,
};

/* Column c of r[0..n) as integers into out, with its colenc statistics (st) computed on the
 * way, so the encoder does not read the column again: one tight loop per column (the field is
 * chosen once, not per record; min and max by conditional moves). END_MS is stored as the
 * duration; it wraps back exactly. Whether the column ascends is tracked for START_MS only,
 * the one column encoded as sorted. n >= 1. */
static void extract_int(const struct flow_rec *r, size_t n, unsigned c, uint64_t *out,
                        struct colenc_stats *st)
{
    uint64_t mn = UINT64_MAX, mx = 0;
    unsigned desc = 0;
#define EXTRACT(expr)                                                                              \
    for (size_t i = 0; i < n; i++) {                                                               \
        uint64_t x = (expr);                                                                       \
        out[i] = x;                                                                                \
        mn = x < mn ? x : mn;                                                                      \
        mx = x > mx ? x : mx;                                                                      \
    }                                                                                              \
    break
    switch (c) {
    case STORE_COL_START_MS: {
        uint64_t prev = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t x = r[i].start_ms;
            out[i] = x;
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
            desc |= x < prev;
            prev = x;
        }
        break;
    }
    case STORE_COL_END_MS:
        EXTRACT(r[i].end_ms - r[i].start_ms);
    case STORE_COL_PACKETS:
        EXTRACT(r[i].packets);
    case STORE_COL_BYTES:
        EXTRACT(r[i].bytes);
    case STORE_COL_SAMPLING:
        EXTRACT(r[i].sampling_rate);
    case STORE_COL_OBS_DOMAIN:
        EXTRACT(r[i].obs_domain);
    case STORE_COL_IN_IF:
        EXTRACT(r[i].in_if);
    case STORE_COL_OUT_IF:
        EXTRACT(r[i].out_if);
    case STORE_COL_SRC_AS:
        EXTRACT(r[i].src_as);
    case STORE_COL_DST_AS:
        EXTRACT(r[i].dst_as);
    case STORE_COL_SRC_PORT:
        EXTRACT(r[i].src_port);
    case STORE_COL_DST_PORT:
        EXTRACT(r[i].dst_port);
    case STORE_COL_VLAN:
        EXTRACT(r[i].vlan);
    case STORE_COL_HAS:
        EXTRACT(r[i].has);
    case STORE_COL_PROTO:
        EXTRACT(r[i].proto);
    case STORE_COL_TCP_FLAGS:
        EXTRACT(r[i].tcp_flags);
    case STORE_COL_TOS:
        EXTRACT(r[i].tos);
    case STORE_COL_VERSION:
        EXTRACT(r[i].version);
    case STORE_COL_DIRECTION:
        EXTRACT(r[i].direction);
    case STORE_COL_SRC_MASK:
        EXTRACT(r[i].src_mask);
    case STORE_COL_DST_MASK:
        EXTRACT(r[i].dst_mask);
    default:
        memset(out, 0, n * sizeof *out);
        mn = 0;
        break;
    }
#undef EXTRACT
    st->mn = mn;
    st->mx = mx;
    st->asc = !desc;
}

/* Offset of address column c in struct flow_rec (chosen once per column, not per record). */
static size_t addr_offset(unsigned c)
{
    switch (c) {
    case STORE_COL_SRC:
        return offsetof(struct flow_rec, src);
    case STORE_COL_DST:
        return offsetof(struct flow_rec, dst);
    case STORE_COL_EXPORTER:
        return offsetof(struct flow_rec, exporter);
    default:
        return offsetof(struct flow_rec, nexthop);
    }
}

/* ipaddr_is_v4 without a memcmp call: the first 12 bytes are ::ffff:0:0/96's. */
static inline bool addr_is_v4(const struct ipaddr *a)
{
    return be64(a->b) == 0 && be32(a->b + 8) == 0xffffu;
}

#define REC_ADDR(r, off) ((const struct ipaddr *)((const char *)(r) + (off)))

/* ---- writer ---------------------------------------------------------------------------- */

static int put_be(struct buf *b, uint64_t v, unsigned bytes)
{
    uint8_t t[8];
    for (unsigned i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return buf_append(b, t, bytes);
}

static int cmp_start(const void *a, const void *b)
{
    const struct flow_rec *x = a, *y = b;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static int cmp_addr(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Seed of the skip index hash (part of the file format: readers probe with the same). */
#define SEG_BLOOM_SEED 0x5eedb10f

static void bloom_set(uint8_t *bits, unsigned log2bits, uint64_t h)
{
    uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1u;
    uint32_t mask = (1u << log2bits) - 1;
    for (unsigned i = 0; i < SEG_BLOOM_PROBES; i++) {
        uint32_t bit = (h1 + i * h2) & mask;
        bits[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    }
}

/* Appends the skip index of nd distinct values: vals[0..nd) of vlen bytes each, sorted, for a
 * list; their hashes hs[0..nd) (hash_bytes with SEG_BLOOM_SEED; NULL: computed here) for a
 * Bloom filter. nd > SEG_BLOOM_MAX_DISTINCT gives kind NONE (vals and hs unused). */
static int put_skip(struct buf *f, const uint8_t *vals, const uint64_t *hs, size_t nd, size_t vlen,
                    size_t list_max)
{
    int rc;
    if (nd <= list_max) {
        if ((rc = put_be(f, STORE_SKIP_LIST, 1)) || (rc = put_be(f, nd * vlen, 4)))
            return rc;
        return buf_append(f, vals, nd * vlen);
    }
    unsigned lg = 6;
    while ((1u << lg) < nd * 10 && lg < 15)
        lg++;
    if ((1u << lg) < nd * 10 || (1u << lg) > SEG_BLOOM_MAX_BITS)
        return put_be(f, STORE_SKIP_NONE, 1) || put_be(f, 0, 4) ? BS_ELIMIT : 0;
    size_t nbytes = (1u << lg) / 8;
    if ((rc = put_be(f, STORE_SKIP_BLOOM, 1)) || (rc = put_be(f, 1 + nbytes, 4)) ||
        (rc = put_be(f, lg, 1)) || (rc = buf_reserve(f, nbytes)))
        return rc;
    uint8_t *bits = (uint8_t *)f->data + f->len;
    memset(bits, 0, nbytes);
    for (size_t i = 0; i < nd; i++)
        bloom_set(bits, lg, hs ? hs[i] : hash_bytes(vals + i * vlen, vlen, SEG_BLOOM_SEED));
    f->len += nbytes;
    f->data[f->len] = '\0';
    return 0;
}

struct seg_wscratch {
    uint64_t *u;
    struct ipaddr *a;
    uint8_t *ports;       /* 2-byte big-endian distinct ports */
    uint64_t *pbits;      /* 65536-bit presence map (SEG_PORT_WORDS words) */
    struct flow_rec *blk; /* one block gathered in order (seg_write_ordered with an order) */
    struct ipaddr *dv;    /* distinct addresses of a block column, SEG_BLOOM_MAX_DISTINCT + 1 */
    uint64_t *dh;         /* their hashes (SEG_BLOOM_SEED) */
    uint16_t *dslot;      /* SEG_DSET_SLOTS: 0 empty, else 1 + index into dv */
    struct buf enc, comp, comp2;   /* (comp2: the other codec's try, seg_writer_opts.auto_lz4) */
    uint8_t pick[STORE_COL_COUNT]; /* auto_lz4: the codec each column takes in this segment */
};

/* Collects the distinct source (d = 0) or destination (d = 1) addresses of r[0..n) into
 * w->dv/w->dh with one hash per record. (The set is not core/htab on purpose: its 2-byte
 * slots point into dv, which keeps first-seen order for the skip index; one 16 KB scratch
 * serves every column of every block, cleared by one memset; and each address's hash is the
 * Bloom filter's (SEG_BLOOM_SEED, part of the file format), kept in dh for it.) Returns their
 * count, or SEG_BLOOM_MAX_DISTINCT + 1 as soon as there are more (the skip index is then NONE: no
 * need to go on). */
static size_t distinct_addrs(const struct flow_rec *r, size_t n, int d, struct seg_wscratch *w)
{
    memset(w->dslot, 0, SEG_DSET_SLOTS * sizeof *w->dslot);
    size_t nd = 0;
    const struct ipaddr *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct ipaddr *a = d ? &r[i].dst : &r[i].src;
        if (prev && !memcmp(prev, a, 16))
            continue; /* runs of one address are common (a scanner, a busy server) */
        prev = a;
        uint64_t h = hash_bytes(a, 16, SEG_BLOOM_SEED);
        size_t k = (size_t)(h >> 51) & (SEG_DSET_SLOTS - 1);
        for (;;) {
            unsigned j = w->dslot[k];
            if (!j) {
                if (nd == SEG_BLOOM_MAX_DISTINCT)
                    return SEG_BLOOM_MAX_DISTINCT + 1;
                w->dv[nd] = *a;
                w->dh[nd] = h;
                w->dslot[k] = (uint16_t)++nd;
                break;
            }
            if (w->dh[j - 1] == h && !memcmp(&w->dv[j - 1], a, 16))
                break;
            k = (k + 1) & (SEG_DSET_SLOTS - 1);
        }
    }
    return nd;
}

/* Compresses in into b with zstd or lz4: *got gets the stored length, or 0 when the codec
 * failed or did not make it smaller. Returns 0 or the buffer's error. */
static int zstd_into(struct buf *b, const struct buf *in, void *cctx, int level, size_t *got)
{
    size_t cap = ZSTD_compressBound(in->len);
    int rc = buf_reserve(b, cap);
    *got = 0;
    if (rc)
        return rc;
    size_t z = ZSTD_compressCCtx(cctx, b->data, cap, in->data, in->len, level);
    if (!ZSTD_isError(z) && z < in->len)
        *got = b->len = z;
    return 0;
}

static int lz4_into(struct buf *b, const struct buf *in, size_t *got)
{
    *got = 0;
    if (in->len >= (size_t)LZ4_MAX_INPUT_SIZE)
        return 0;
    int cap = LZ4_compressBound((int)in->len);
    int rc = buf_reserve(b, (size_t)cap);
    if (rc)
        return rc;
    int l = LZ4_compress_default(in->data, b->data, (int)in->len, cap);
    if (l > 0 && (size_t)l < in->len)
        *got = b->len = (size_t)l;
    return 0;
}

/* Compresses column c's encoding (w->enc) of block bi into w->comp, its codec into *codec
 * (none when no codec makes it smaller). With auto_lz4, both codecs are tried on every
 * SEG_AUTO_EVERY-th block of a segment (the first included), and until the next try the
 * column takes the faster of lz4 and no codec (whichever is smaller) when that came within
 * a quarter of zstd's bytes: on high-entropy columns (addresses, ports) zstd saves 15-20 % of
 * the bytes at 3-6 times lz4's decompression time, which every scan pays again. */
#define SEG_AUTO_EVERY 8
static int compress_col(struct seg_wscratch *w, const struct seg_writer_opts *o, void *cctx,
                        unsigned c, size_t bi, uint8_t *codec)
{
    buf_reset(&w->comp);
    *codec = SEG_CODEC_NONE;
    size_t z = 0, l = 0;
    int rc = 0;
    bool zstd = o->codec == SEG_CODEC_ZSTD && cctx;
    if (zstd && o->auto_lz4 && bi % SEG_AUTO_EVERY) { /* this segment's pick */
        rc = w->pick[c] == SEG_CODEC_LZ4 ? lz4_into(&w->comp, &w->enc, &l)
                                         : zstd_into(&w->comp, &w->enc, cctx, o->zstd_level, &z);
        *codec = l ? SEG_CODEC_LZ4 : z ? SEG_CODEC_ZSTD : SEG_CODEC_NONE;
    } else if (zstd) {
        if (!(rc = zstd_into(&w->comp, &w->enc, cctx, o->zstd_level, &z)) && z)
            *codec = SEG_CODEC_ZSTD;
        if (!rc && o->auto_lz4) {
            buf_reset(&w->comp2);
            rc = lz4_into(&w->comp2, &w->enc, &l);
            size_t fast = l ? l : w->enc.len; /* lz4, or the bytes as they are */
            if (!rc && 4 * fast <= 5 * (z ? z : w->enc.len)) {
                struct buf t = w->comp;
                w->comp = w->comp2;
                w->comp2 = t;
                *codec = l ? SEG_CODEC_LZ4 : SEG_CODEC_NONE;
            }
            w->pick[c] = *codec == SEG_CODEC_ZSTD ? SEG_CODEC_ZSTD : SEG_CODEC_LZ4;
        }
    } else if (o->codec == SEG_CODEC_LZ4) {
        if (!(rc = lz4_into(&w->comp, &w->enc, &l)) && l)
            *codec = SEG_CODEC_LZ4;
    }
    if (rc || *codec != SEG_CODEC_NONE)
        return rc;
    buf_reset(&w->comp);
    return buf_append(&w->comp, w->enc.data, w->enc.len);
}

/* Smallest and largest 16-byte address of column offset ao over r[0..n), in memcmp order
 * (compared as big-endian 64-bit halves, without memcmp calls). For blocks whose column is
 * not all IPv4 (IPv4 columns get theirs from the extraction pass). n >= 1. */
static void addr_minmax(const struct flow_rec *r, size_t n, size_t ao, struct ipaddr *mn,
                        struct ipaddr *mx)
{
    const struct ipaddr *a0 = REC_ADDR(&r[0], ao);
    uint64_t h_min = be64(a0->b), l_min = be64(a0->b + 8), h_max = h_min, l_max = l_min;
    size_t i_min = 0, i_max = 0;
    for (size_t i = 1; i < n; i++) {
        const struct ipaddr *a = REC_ADDR(&r[i], ao);
        uint64_t h = be64(a->b), l = be64(a->b + 8);
        if (h < h_min || (h == h_min && l < l_min)) {
            h_min = h, l_min = l, i_min = i;
        }
        if (h > h_max || (h == h_max && l > l_max)) {
            h_max = h, l_max = l, i_max = i;
        }
    }
    *mn = *REC_ADDR(&r[i_min], ao);
    *mx = *REC_ADDR(&r[i_max], ao);
}

/* Footer bytes of one column's directory entry: u8 id, form, codec, 0, u32 raw_len,
 * u32 stored_len, u64 offset, u32 crc32. */
#define SEG_DIR_ENTRY 24

/* Distinct ports of r[0..n) (d = 0 source, 1 destination) as 2-byte big-endian values in
 * ascending order into w->ports; returns their count. A 65,536-bit presence map, read back
 * 64 bits at a time (most words of a block's map are empty). */
static size_t distinct_ports(const struct flow_rec *r, size_t n, int d, struct seg_wscratch *w)
{
    uint64_t *bits = w->pbits;
    memset(bits, 0, SEG_PORT_WORDS * sizeof *bits);
    if (d)
        for (size_t i = 0; i < n; i++)
            bits[r[i].dst_port >> 6] |= 1ull << (r[i].dst_port & 63);
    else
        for (size_t i = 0; i < n; i++)
            bits[r[i].src_port >> 6] |= 1ull << (r[i].src_port & 63);
    size_t nd = 0;
    for (unsigned k = 0; k < SEG_PORT_WORDS; k++) {
        for (uint64_t x = bits[k]; x; x &= x - 1) {
            unsigned p = k * 64 + (unsigned)__builtin_ctzll(x);
            w->ports[2 * nd] = (uint8_t)(p >> 8);
            w->ports[2 * nd + 1] = (uint8_t)p;
            nd++;
        }
    }
    return nd;
}

/* Writes block bi (its index in the segment) of records r[0..n). */
static int write_block(FILE *f, const struct flow_rec *r, size_t n, size_t bi, struct buf *foot,
                       uint64_t *off, struct seg_wscratch *w, const struct seg_writer_opts *o,
                       void *cctx)
{
    int rc;
    /* Columns first (their data goes to f in column order); the block's summary (time range,
     * port and address min/max) comes from the extraction passes, and the footer gets the
     * summary, then the column directory kept meanwhile in dir. */
    struct colenc_stats st[STORE_COL_COUNT];
    uint8_t form[STORE_COL_COUNT];
    uint8_t dir[STORE_COL_COUNT][SEG_DIR_ENTRY];
    for (unsigned c = 0; c < STORE_COL_COUNT; c++) {
        form[c] = 0;
        buf_reset(&w->enc);
        if (col_type[c] == CT_ADDR) {
            /* IPv4 as u32 when the whole block is, checked and extracted in one pass */
            size_t ao = addr_offset(c), i = 0;
            uint64_t mn = UINT64_MAX, mx = 0;
            for (; i < n; i++) {
                const struct ipaddr *a = REC_ADDR(&r[i], ao);
                if (!addr_is_v4(a))
                    break;
                uint64_t x = ipaddr_v4(a);
                w->u[i] = x;
                mn = x < mn ? x : mn;
                mx = x > mx ? x : mx;
            }
            if (i == n) {
                form[c] = 1;
                st[c] = (struct colenc_stats){mn, mx, 0};
                rc = colenc_put_u64_st(&w->enc, w->u, n, 0, &st[c]);
            } else {
                form[c] = 2;
                for (i = 0; i < n; i++)
                    w->a[i] = *REC_ADDR(&r[i], ao);
                rc = colenc_put_addr(&w->enc, w->a, n);
            }
        } else {
            extract_int(r, n, c, w->u, &st[c]);
            rc = colenc_put_u64_st(&w->enc, w->u, n, c == STORE_COL_START_MS, &st[c]);
        }
        uint8_t codec;
        if (rc || (rc = compress_col(w, o, cctx, c, bi, &codec)))
            return rc;
        uint32_t crc = crc32_ieee(w->comp.data, w->comp.len);
        if (w->comp.len && fwrite(w->comp.data, 1, w->comp.len, f) != w->comp.len)
            return errno ? -errno : BS_EIO;
        uint8_t *e = dir[c];
        e[0] = (uint8_t)c;
        e[1] = form[c];
        e[2] = codec;
        e[3] = 0;
        be32_put(e + 4, (uint32_t)w->enc.len);
        be32_put(e + 8, (uint32_t)w->comp.len);
        be64_put(e + 12, *off);
        be32_put(e + 20, crc);
        *off += w->comp.len;
    }
    struct ipaddr smin, smax, dmin, dmax;
    if (form[STORE_COL_SRC] == 1) {
        ipaddr_from_v4(&smin, (uint32_t)st[STORE_COL_SRC].mn);
        ipaddr_from_v4(&smax, (uint32_t)st[STORE_COL_SRC].mx);
    } else {
        addr_minmax(r, n, offsetof(struct flow_rec, src), &smin, &smax);
    }
    if (form[STORE_COL_DST] == 1) {
        ipaddr_from_v4(&dmin, (uint32_t)st[STORE_COL_DST].mn);
        ipaddr_from_v4(&dmax, (uint32_t)st[STORE_COL_DST].mx);
    } else {
        addr_minmax(r, n, offsetof(struct flow_rec, dst), &dmin, &dmax);
    }
    if ((rc = put_be(foot, n, 4)) || (rc = put_be(foot, st[STORE_COL_START_MS].mn, 8)) ||
        (rc = put_be(foot, st[STORE_COL_START_MS].mx, 8)) ||
        (rc = put_be(foot, st[STORE_COL_SRC_PORT].mn, 2)) ||
        (rc = put_be(foot, st[STORE_COL_SRC_PORT].mx, 2)) ||
        (rc = put_be(foot, st[STORE_COL_DST_PORT].mn, 2)) ||
        (rc = put_be(foot, st[STORE_COL_DST_PORT].mx, 2)) || (rc = buf_append(foot, &smin, 16)) ||
        (rc = buf_append(foot, &smax, 16)) || (rc = buf_append(foot, &dmin, 16)) ||
        (rc = buf_append(foot, &dmax, 16)) || (rc = put_be(foot, STORE_COL_COUNT, 1)) ||
        (rc = buf_append(foot, dir, sizeof dir)))
        return rc;
    /* Skip indexes: addresses (distinct values by hashing: a list sorts at most
     * SEG_LIST_MAX_ADDR of them, a Bloom filter takes their hashes), then ports. */
    for (int d = 0; d < 2; d++) {
        size_t nd = distinct_addrs(r, n, d, w);
        if (nd <= SEG_LIST_MAX_ADDR)
            qsort(w->dv, nd, sizeof w->dv[0], cmp_addr);
        if ((rc = put_skip(foot, (const uint8_t *)w->dv, w->dh, nd, 16, SEG_LIST_MAX_ADDR)))
            return rc;
    }
    for (int d = 0; d < 2; d++) {
        size_t nd = distinct_ports(r, n, d, w);
        if ((rc = put_skip(foot, w->ports, NULL, nd, 2, SEG_LIST_MAX_PORT)))
            return rc;
    }
    return 0;
}

struct seg_wscratch *seg_wscratch_new(void)
{
    struct seg_wscratch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    buf_init(&w->enc, colenc_bound(SEGMENT_BLOCK_RECORDS));
    buf_init(&w->comp, 2 * colenc_bound(SEGMENT_BLOCK_RECORDS) + 4096);
    buf_init(&w->comp2, 2 * colenc_bound(SEGMENT_BLOCK_RECORDS) + 4096);
    w->u = malloc(SEGMENT_BLOCK_RECORDS * sizeof *w->u);
    w->a = malloc(SEGMENT_BLOCK_RECORDS * sizeof *w->a);
    w->ports = malloc(2 * 65536);
    w->pbits = malloc(SEG_PORT_WORDS * sizeof *w->pbits);
    w->dv = malloc((SEG_BLOOM_MAX_DISTINCT + 1) * sizeof *w->dv);
    w->dh = malloc((SEG_BLOOM_MAX_DISTINCT + 1) * sizeof *w->dh);
    w->dslot = malloc(SEG_DSET_SLOTS * sizeof *w->dslot);
    w->blk = malloc(SEGMENT_BLOCK_RECORDS * sizeof *w->blk);
    if (!w->u || !w->a || !w->ports || !w->pbits || !w->dv || !w->dh || !w->dslot || !w->blk) {
        seg_wscratch_free(w);
        return NULL;
    }
    return w;
}

void seg_wscratch_free(struct seg_wscratch *w)
{
    if (!w)
        return;
    buf_release(&w->enc);
    buf_release(&w->comp);
    buf_release(&w->comp2);
    free(w->u);
    free(w->a);
    free(w->ports);
    free(w->pbits);
    free(w->blk);
    free(w->dv);
    free(w->dh);
    free(w->dslot);
    free(w);
}

int seg_write_ordered(FILE *f, const struct flow_rec *recs, const uint32_t *order, size_t n,
                      const struct seg_writer_opts *o, void *cctx, struct seg_wscratch *ws,
                      uint64_t *bytes_out)
{
    int rc;
    struct seg_wscratch *w = ws ? ws : seg_wscratch_new();
    struct buf foot = BUF_INIT((size_t)1 << 30);
    if (!w)
        return BS_ENOMEM;

    uint8_t hdr[SEG_HEADER_LEN] = {0};
    memcpy(hdr, seg_magic, 8);
    hdr[11] = SEG_VERSION;
    errno = 0;
    if (fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr) {
        rc = errno ? -errno : BS_EIO;
        goto out_free;
    }
    uint64_t off = SEG_HEADER_LEN;
    size_t nblocks = (n + SEGMENT_BLOCK_RECORDS - 1) / SEGMENT_BLOCK_RECORDS;
    if ((rc = put_be(&foot, nblocks, 4)))
        goto out_free;
    for (size_t i = 0; i < n; i += SEGMENT_BLOCK_RECORDS) {
        size_t m = n - i < SEGMENT_BLOCK_RECORDS ? n - i : SEGMENT_BLOCK_RECORDS;
        const struct flow_rec *blk = recs + i;
        if (order) { /* gather the block once; the column passes then read it sequentially */
            for (size_t k = 0; k < m; k++) {
                if (k + SEG_GATHER_AHEAD < m) { /* random reads: start them early */
                    const char *p = (const char *)&recs[order[i + k + SEG_GATHER_AHEAD]];
                    __builtin_prefetch(p);
                    __builtin_prefetch(p + 64);
                    __builtin_prefetch(p + sizeof *recs - 1);
                }
                w->blk[k] = recs[order[i + k]];
            }
            blk = w->blk;
        }
        if ((rc = write_block(f, blk, m, i / SEGMENT_BLOCK_RECORDS, &foot, &off, w, o, cctx)))
            goto out_free;
    }
    uint32_t fcrc = crc32_ieee(foot.data, foot.len);
    uint64_t flen = foot.len;
    if ((rc = put_be(&foot, flen, 4)) || (rc = put_be(&foot, fcrc, 4)) ||
        (rc = buf_append(&foot, seg_end_magic, 8)))
        goto out_free;
    errno = 0;
    if (fwrite(foot.data, 1, foot.len, f) != foot.len || fflush(f)) {
        rc = errno ? -errno : BS_EIO;
        goto out_free;
    }
    if (bytes_out)
        *bytes_out = off + foot.len;
    rc = 0;
out_free:
    buf_release(&foot);
    if (!ws)
        seg_wscratch_free(w);
    return rc;
}

int seg_write(FILE *f, struct flow_rec *recs, size_t n, const struct seg_writer_opts *o, void *cctx,
              uint64_t *bytes_out)
{
    size_t i = 1;
    while (i < n && recs[i - 1].start_ms <= recs[i].start_ms)
        i++;
    if (i < n) /* not yet in time order */
        qsort(recs, n, sizeof *recs, cmp_start);
    return seg_write_ordered(f, recs, NULL, n, o, cctx, NULL, bytes_out);
}

/* ---- reader ---------------------------------------------------------------------------- */

static int parse_skip(struct rd *r, struct seg_skipref *k, size_t vlen)
{
    k->kind = rd_u8(r);
    k->len = rd_u32(r);
    if (rd_err(r) || k->len > rd_left(r))
        return BS_ECORRUPT;
    k->data = rd_ptr(r);
    rd_skip(r, k->len);
    if (k->kind == STORE_SKIP_LIST && k->len % vlen)
        return BS_ECORRUPT;
    if (k->kind == STORE_SKIP_BLOOM) {
        if (k->len < 2 || k->data[0] < 3 || k->data[0] > 24 ||
            k->len != 1 + ((size_t)1 << k->data[0]) / 8)
            return BS_ECORRUPT;
    } else if (k->kind != STORE_SKIP_LIST && k->kind != STORE_SKIP_NONE) {
        return BS_ECORRUPT;
    }
    return 0;
}

int seg_parse(struct seg *s, const uint8_t *p, size_t len, const char *path)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    s->len = len;
    s->path = path;
    if (len < SEG_HEADER_LEN + SEG_TRAILER_LEN + 4 || memcmp(p, seg_magic, 8) || be32(p + 8) < 1 ||
        be32(p + 8) > SEG_VERSION || memcmp(p + len - 8, seg_end_magic, 8))
        return BS_ECORRUPT;
    uint32_t flen = be32(p + len - 16), fcrc = be32(p + len - 12);
    if (flen < 4 || flen > len - SEG_HEADER_LEN - SEG_TRAILER_LEN)
        return BS_ECORRUPT;
    const uint8_t *fp = p + len - SEG_TRAILER_LEN - flen;
    if (crc32_ieee(fp, flen) != fcrc)
        return BS_ECORRUPT;
    size_t data_end = (size_t)(fp - p);
    struct rd r;
    rd_init(&r, fp, flen);
    uint32_t nb = rd_u32(&r);
    /* Each block needs at least 110 footer bytes: bounds the allocation by the file size. */
    if (nb > SEGMENT_MAX_BLOCKS || (uint64_t)nb * 110 > flen)
        return BS_ECORRUPT;
    s->blocks = calloc(nb ? nb : 1, sizeof *s->blocks);
    if (!s->blocks)
        return BS_ENOMEM;
    s->nblocks = nb;
    for (uint32_t b = 0; b < nb; b++) {
        struct seg_block *sb = &s->blocks[b];
        struct store_block_meta *m = &sb->meta;
        m->path = path;
        m->index = b;
        m->n = rd_u32(&r);
        m->t_min = rd_u64(&r);
        m->t_max = rd_u64(&r);
        m->src_port_min = rd_u16(&r);
        m->src_port_max = rd_u16(&r);
        m->dst_port_min = rd_u16(&r);
        m->dst_port_max = rd_u16(&r);
        rd_copy(&r, &m->src_min, 16);
        rd_copy(&r, &m->src_max, 16);
        rd_copy(&r, &m->dst_min, 16);
        rd_copy(&r, &m->dst_max, 16);
        unsigned ncols = rd_u8(&r);
        if (rd_err(&r) || m->n == 0 || m->n > SEGMENT_BLOCK_MAX)
            goto corrupt;
        for (unsigned i = 0; i < ncols; i++) {
            unsigned id = rd_u8(&r);
            struct seg_colref cr;
            cr.form = rd_u8(&r);
            cr.codec = rd_u8(&r);
            rd_u8(&r);
            cr.raw_len = rd_u32(&r);
            cr.stored_len = rd_u32(&r);
            cr.offset = rd_u64(&r);
            cr.crc = rd_u32(&r);
            cr.present = 1;
            if (rd_err(&r))
                goto corrupt;
            if (id >= STORE_COL_COUNT)
                continue; /* a column of a newer writer: ignored */
            if (cr.offset < SEG_HEADER_LEN || cr.offset > data_end ||
                cr.stored_len > data_end - cr.offset || cr.codec > SEG_CODEC_LZ4 ||
                cr.raw_len > colenc_bound(m->n) || (cr.form != 0) != (col_type[id] == CT_ADDR) ||
                cr.form > 2)
                goto corrupt;
            sb->cols[id] = cr;
        }
        for (int k = 0; k < 4; k++)
            if (parse_skip(&r, &sb->skip[k], k < 2 ? 16 : 2))
                goto corrupt;
        m->skip = sb->skip;
    }
    if (rd_left(&r) != 0)
        goto corrupt;
    return 0;
corrupt:
    seg_release(s);
    return BS_ECORRUPT;
}

void seg_release(struct seg *s)
{
    free(s->blocks);
    s->blocks = NULL;
    s->nblocks = 0;
}

bool seg_skip_may_contain(const struct seg_skipref *k, const void *val, size_t vlen)
{
    if (k->kind == STORE_SKIP_LIST) {
        size_t lo = 0, hi = k->len / vlen;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = memcmp(k->data + mid * vlen, val, vlen);
            if (c == 0)
                return true;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return false;
    }
    if (k->kind == STORE_SKIP_BLOOM) {
        unsigned lg = k->data[0];
        const uint8_t *bits = k->data + 1;
        uint64_t h = hash_bytes(val, vlen, 0x5eedb10f);
        uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1u;
        uint32_t mask = (1u << lg) - 1;
        for (unsigned i = 0; i < SEG_BLOOM_PROBES; i++) {
            uint32_t bit = (h1 + i * h2) & mask;
            if (!(bits[bit >> 3] & (1u << (bit & 7))))
                return false;
        }
    }
    return true;
}

struct seg_scratch {
    ZSTD_DCtx *dctx;
    uint8_t *raw;
    size_t raw_cap;
    void *col[STORE_COL_COUNT]; /* typed arrays of SEGMENT_BLOCK_MAX entries */
    uint32_t *v4[STORE_COL_COUNT];
    uint8_t *is6[STORE_COL_COUNT]; /* mixed address columns' bitmaps */
    uint64_t *start_tmp;
};

struct seg_scratch *seg_scratch_new(void)
{
    struct seg_scratch *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->dctx = ZSTD_createDCtx();
    sc->raw_cap = colenc_bound(SEGMENT_BLOCK_MAX);
    sc->raw = malloc(sc->raw_cap);
    if (!sc->dctx || !sc->raw) {
        seg_scratch_free(sc);
        return NULL;
    }
    return sc;
}

void seg_scratch_free(struct seg_scratch *sc)
{
    if (!sc)
        return;
    ZSTD_freeDCtx(sc->dctx);
    free(sc->raw);
    for (int i = 0; i < STORE_COL_COUNT; i++) {
        free(sc->col[i]);
        free(sc->v4[i]);
        free(sc->is6[i]);
    }
    free(sc->start_tmp);
    free(sc);
}

static size_t type_size(unsigned c)
{
    switch (col_type[c]) {
    case CT_U64:
        return 8;
    case CT_U32:
        return 4;
    case CT_U16:
        return 2;
    case CT_U8:
        return 1;
    default:
        return sizeof(struct ipaddr);
    }
}

/* Reads, checks and decompresses column c of block sb into sc->raw. */
static int load_col(const struct seg *s, const struct seg_block *sb, unsigned c,
                    struct seg_scratch *sc, size_t *raw_len, uint64_t *bytes_read)
{
    const struct seg_colref *cr = &sb->cols[c];
    const uint8_t *src = s->p + cr->offset;
    if (crc32_ieee(src, cr->stored_len) != cr->crc)
        return BS_ECORRUPT;
    if (bytes_read)
        *bytes_read += cr->stored_len;
    if (cr->raw_len > sc->raw_cap)
        return BS_ECORRUPT;
    switch (cr->codec) {
    case SEG_CODEC_NONE:
        if (cr->stored_len != cr->raw_len)
            return BS_ECORRUPT;
        memcpy(sc->raw, src, cr->raw_len);
        break;
    case SEG_CODEC_ZSTD: {
        size_t got = ZSTD_decompressDCtx(sc->dctx, sc->raw, cr->raw_len, src, cr->stored_len);
        if (ZSTD_isError(got) || got != cr->raw_len)
            return BS_ECORRUPT;
        break;
    }
    case SEG_CODEC_LZ4: {
        int got = LZ4_decompress_safe((const char *)src, (char *)sc->raw, (int)cr->stored_len,
                                      (int)cr->raw_len);
        if (got < 0 || (uint32_t)got != cr->raw_len)
            return BS_ECORRUPT;
        break;
    }
    default:
        return BS_ECORRUPT;
    }
    *raw_len = cr->raw_len;
    return 0;
}

/* Decodes column c of block sb: into *arr, or for an address column into *a (any form; the
 * mixed one only when mixed is true). */
static int decode_col(const struct seg *s, const struct seg_block *sb, unsigned c,
                      struct seg_scratch *sc, void **arr, struct store_addr_col *a, bool mixed,
                      uint64_t *bytes_read)
{
    size_t n = sb->meta.n;
    *arr = NULL;
    if (a)
        memset(a, 0, sizeof *a);
    if (!sc->col[c] && !(sc->col[c] = malloc(SEGMENT_BLOCK_MAX * type_size(c))))
        return BS_ENOMEM;
    const struct seg_colref *cr = &sb->cols[c];
    if (!cr->present) { /* a column this segment does not have reads as zeros */
        memset(sc->col[c], 0, n * type_size(c));
        if (a)
            a->full = sc->col[c];
        else
            *arr = sc->col[c];
        return 0;
    }
    size_t raw_len;
    int rc = load_col(s, sb, c, sc, &raw_len, bytes_read);
    if (rc)
        return rc;
    switch (col_type[c]) {
    case CT_U64:
        rc = colenc_get_u64(sc->raw, raw_len, n, sc->col[c]);
        break;
    case CT_U32:
        rc = colenc_get_u32(sc->raw, raw_len, n, sc->col[c]);
        break;
    case CT_U16:
        rc = colenc_get_u16(sc->raw, raw_len, n, sc->col[c]);
        break;
    case CT_U8:
        rc = colenc_get_u8(sc->raw, raw_len, n, sc->col[c]);
        break;
    default:
        if (!sc->v4[c] && !(sc->v4[c] = malloc(SEGMENT_BLOCK_MAX * sizeof(uint32_t))))
            return BS_ENOMEM;
        if (cr->form == 1) {
            rc = colenc_get_u32(sc->raw, raw_len, n, sc->v4[c]);
            if (!rc)
                a->v4 = sc->v4[c];
            return rc;
        }
        if (mixed && colenc_is_mixed(sc->raw, raw_len)) {
            if (!sc->is6[c] && !(sc->is6[c] = malloc(SEGMENT_BLOCK_MAX / 8)))
                return BS_ENOMEM;
            /* (The IPv6 addresses go where the 16-byte form would have gone.) */
            rc = colenc_get_mixed(sc->raw, raw_len, n, sc->v4[c], sc->is6[c], sc->col[c], &a->n6);
            if (!rc) {
                a->v4 = sc->v4[c];
                a->is6 = sc->is6[c];
                a->v6 = sc->col[c];
            }
            return rc;
        }
        rc = colenc_get_addr(sc->raw, raw_len, n, sc->col[c], sc->v4[c]);
        if (!rc)
            a->full = sc->col[c];
        return rc;
    }
    if (!rc)
        *arr = sc->col[c];
    return rc;
}

int seg_decode_block(const struct seg *s, unsigned bi, uint64_t cols, unsigned flags,
                     struct seg_scratch *sc, struct store_block *out, uint64_t *bytes_read)
{
    if (bi >= s->nblocks)
        return BS_ENOTFOUND;
    const struct seg_block *sb = &s->blocks[bi];
    memset(out, 0, sizeof *out);
    out->n = sb->meta.n;
    if (cols & STORE_COLBIT(STORE_COL_END_MS))
        cols |= STORE_COLBIT(STORE_COL_START_MS);
    int rc = 0;
    void *arr[STORE_COL_COUNT] = {0};
    struct store_addr_col ad[STORE_COL_COUNT] = {0};
    for (unsigned c = 0; c < STORE_COL_COUNT && !rc; c++)
        if (cols & STORE_COLBIT(c))
            rc = decode_col(s, sb, c, sc, &arr[c], col_type[c] == CT_ADDR ? &ad[c] : NULL,
                            (flags & STORE_SCAN_ADDR_MIXED) != 0, bytes_read);
    if (rc)
        return rc == BS_ENOMEM ? rc : BS_ECORRUPT;
    if (arr[STORE_COL_END_MS]) { /* stored as duration */
        uint64_t *e = arr[STORE_COL_END_MS];
        const uint64_t *st = arr[STORE_COL_START_MS];
        for (size_t i = 0; i < out->n; i++)
            e[i] += st[i];
    }
    out->start_ms = arr[STORE_COL_START_MS];
    out->end_ms = arr[STORE_COL_END_MS];
    out->packets = arr[STORE_COL_PACKETS];
    out->bytes = arr[STORE_COL_BYTES];
    out->src = ad[STORE_COL_SRC];
    out->dst = ad[STORE_COL_DST];
    out->exporter = ad[STORE_COL_EXPORTER];
    out->nexthop = ad[STORE_COL_NEXTHOP];
    out->sampling = arr[STORE_COL_SAMPLING];
    out->obs_domain = arr[STORE_COL_OBS_DOMAIN];
    out->in_if = arr[STORE_COL_IN_IF];
    out->out_if = arr[STORE_COL_OUT_IF];
    out->src_as = arr[STORE_COL_SRC_AS];
    out->dst_as = arr[STORE_COL_DST_AS];
    out->src_port = arr[STORE_COL_SRC_PORT];
    out->dst_port = arr[STORE_COL_DST_PORT];
    out->vlan = arr[STORE_COL_VLAN];
    out->has = arr[STORE_COL_HAS];
    out->proto = arr[STORE_COL_PROTO];
    out->tcp_flags = arr[STORE_COL_TCP_FLAGS];
    out->tos = arr[STORE_COL_TOS];
    out->version = arr[STORE_COL_VERSION];
    out->direction = arr[STORE_COL_DIRECTION];
    out->src_mask = arr[STORE_COL_SRC_MASK];
    out->dst_mask = arr[STORE_COL_DST_MASK];
    return 0;
}
