/* colenc.c - column value encodings (see colenc.h). */
#include "store/colenc.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/err.h"
#include "core/rd.h"

/* Cap on dictionary entries: indices are one byte. */
#define COLENC_DICT_MAX 256

static int put_be(struct buf *b, uint64_t v, unsigned bytes)
{
    uint8_t t[8];
    for (unsigned i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return buf_append(b, t, bytes);
}

static unsigned width_of(uint64_t range)
{
    unsigned w = 0;
    while (range) {
        w++;
        range >>= 8;
    }
    return w;
}

/* Appends the byte planes of v[i] - base for i in [0, n). */
static int put_planes(struct buf *out, const uint64_t *v, size_t n, uint64_t base, unsigned w)
{
    int rc = buf_reserve(out, (size_t)w * n);
    if (rc)
        return rc;
    uint8_t *d = (uint8_t *)out->data + out->len;
    for (unsigned j = 0; j < w; j++) {
        unsigned sh = 8 * j;
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)((v[i] - base) >> sh);
        d += n;
    }
    out->len += (size_t)w * n;
    out->data[out->len] = '\0';
    return 0;
}

/* Small open-addressing set used to find up to COLENC_DICT_MAX distinct values. Returns the
 * number of distinct values, or COLENC_DICT_MAX + 1 when there are more. */
static size_t dict_build(const uint64_t *v, size_t n, uint64_t *vals, uint8_t *idx)
{
    enum { SLOTS = 1024 };
    uint64_t key[SLOTS];
    int16_t slot[SLOTS];
    memset(slot, -1, sizeof slot);
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        size_t h = (size_t)((x * 0x9e3779b97f4a7c15ull) >> 54) & (SLOTS - 1);
        while (slot[h] >= 0 && key[h] != x)
            h = (h + 1) & (SLOTS - 1);
        if (slot[h] < 0) {
            if (nd == COLENC_DICT_MAX)
                return COLENC_DICT_MAX + 1;
            key[h] = x;
            slot[h] = (int16_t)nd;
            vals[nd++] = x;
        }
        if (idx)
            idx[i] = (uint8_t)slot[h];
    }
    return nd;
}

void colenc_stats_of(const uint64_t *v, size_t n, struct colenc_stats *st)
{
    uint64_t mn = n ? v[0] : 0, mx = mn;
    unsigned desc = 0;
    /* branchless (conditional moves): the values are often random */
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
        desc |= x < v[i - 1];
    }
    st->mn = mn;
    st->mx = mx;
    st->asc = !desc;
}

int colenc_put_u64(struct buf *out, const uint64_t *v, size_t n, int sorted)
{
    struct colenc_stats st;
    colenc_stats_of(v, n, &st);
    return colenc_put_u64_st(out, v, n, sorted, &st);
}

int colenc_put_u64_st(struct buf *out, const uint64_t *v, size_t n, int sorted,
                      const struct colenc_stats *st)
{
    int rc;
    if (n == 0)
        return buf_putc(out, COLENC_FOR) || put_be(out, 0, 8) || put_be(out, 0, 1) ? BS_ELIMIT : 0;
    uint64_t mn = st->mn, mx = st->mx;
    unsigned w = width_of(mx - mn);
    if (sorted && st->asc && n > 1) {
        uint64_t maxd = 0;
        for (size_t i = 1; i < n; i++)
            if (v[i] - v[i - 1] > maxd)
                maxd = v[i] - v[i - 1];
        unsigned dw = width_of(maxd);
        if (dw < w) {
            if ((rc = buf_putc(out, COLENC_DELTA)) || (rc = put_be(out, v[0], 8)) ||
                (rc = put_be(out, dw, 1)))
                return rc;
            rc = buf_reserve(out, (size_t)dw * (n - 1));
            if (rc)
                return rc;
            uint8_t *d = (uint8_t *)out->data + out->len;
            for (unsigned j = 0; j < dw; j++) {
                for (size_t i = 1; i < n; i++)
                    d[i - 1] = (uint8_t)((v[i] - v[i - 1]) >> (8 * j));
                d += n - 1;
            }
            out->len += (size_t)dw * (n - 1);
            out->data[out->len] = '\0';
            return 0;
        }
    }
    if (w >= 2) {
        uint64_t vals[COLENC_DICT_MAX];
        size_t nd = dict_build(v, n, vals, NULL);
        if (nd <= COLENC_DICT_MAX && nd * 8 + n < (size_t)w * n) {
            if ((rc = buf_putc(out, COLENC_DICT)) || (rc = put_be(out, nd, 2)))
                return rc;
            for (size_t i = 0; i < nd; i++)
                if ((rc = put_be(out, vals[i], 8)))
                    return rc;
            rc = buf_reserve(out, n);
            if (rc)
                return rc;
            dict_build(v, n, vals, (uint8_t *)out->data + out->len);
            out->len += n;
            out->data[out->len] = '\0';
            return 0;
        }
    }
    if ((rc = buf_putc(out, COLENC_FOR)) || (rc = put_be(out, mn, 8)) || (rc = put_be(out, w, 1)))
        return rc;
    return put_planes(out, v, n, mn, w);
}

/* MIXED46 (colenc.h): the IPv4 rows as an integer column, the IPv6 rows apart. */
static int put_mixed(struct buf *out, const struct ipaddr *v, size_t n, size_t n6)
{
    uint64_t *v4 = malloc((n ? n : 1) * sizeof *v4);
    if (!v4)
        return BS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v4[i] = ipaddr_is_v4(&v[i]) ? ipaddr_v4(&v[i]) : 0;
    size_t at, nb = (n + 7) / 8;
    int rc;
    if ((rc = buf_putc(out, COLENC_MIXED46)) || (rc = put_be(out, n6, 4)))
        goto out;
    at = out->len;
    if ((rc = put_be(out, 0, 4)) || (rc = colenc_put_u64(out, v4, n, 0)) ||
        (rc = buf_reserve(out, nb + 16 * n6)))
        goto out;
    be32_put((uint8_t *)out->data + at, (uint32_t)(out->len - at - 4));
    uint8_t *bm = (uint8_t *)out->data + out->len;
    memset(bm, 0, nb);
    uint8_t *a6 = bm + nb;
    for (size_t i = 0; i < n; i++)
        if (!ipaddr_is_v4(&v[i])) {
            bm[i >> 3] |= (uint8_t)(1u << (i & 7));
            memcpy(a6, v[i].b, 16);
            a6 += 16;
        }
    out->len += nb + 16 * n6;
    out->data[out->len] = '\0';
out:
    free(v4);
    return rc;
}

int colenc_put_addr(struct buf *out, const struct ipaddr *v, size_t n)
{
    int rc;
    /* Dictionary of full addresses when there are few (exporters, next hops). */
    struct ipaddr vals[COLENC_DICT_MAX];
    size_t nd = 0;
    int dict_ok = 1;
    for (size_t i = 0; i < n && dict_ok; i++) {
        size_t k = 0;
        if (nd && !memcmp(&vals[nd - 1], &v[i], 16))
            continue;
        for (k = 0; k < nd; k++)
            if (!memcmp(&vals[k], &v[i], 16))
                break;
        if (k == nd) {
            if (nd == 16) /* beyond a handful, planes compress as well and decode faster */
                dict_ok = 0;
            else
                vals[nd++] = v[i];
        }
    }
    if (dict_ok && n) {
        if ((rc = buf_putc(out, COLENC_DICT)) || (rc = put_be(out, nd, 2)))
            return rc;
        if ((rc = buf_append(out, vals, nd * 16)) || (rc = buf_reserve(out, n)))
            return rc;
        uint8_t *d = (uint8_t *)out->data + out->len;
        size_t last = 0;
        for (size_t i = 0; i < n; i++) {
            if (memcmp(&vals[last], &v[i], 16))
                for (last = 0; last < nd; last++)
                    if (!memcmp(&vals[last], &v[i], 16))
                        break;
            d[i] = (uint8_t)last;
        }
        out->len += n;
        out->data[out->len] = '\0';
        return 0;
    }
    size_t n6 = 0;
    for (size_t i = 0; i < n; i++)
        n6 += !ipaddr_is_v4(&v[i]);
    if (n6 * 4 <= n)
        return put_mixed(out, v, n, n6);
    if ((rc = buf_putc(out, COLENC_PLANES16)) || (rc = buf_reserve(out, 16 * n)))
        return rc;
    uint8_t *d = (uint8_t *)out->data + out->len;
    for (unsigned j = 0; j < 16; j++) {
        for (size_t i = 0; i < n; i++)
            d[i] = v[i].b[j];
        d += n;
    }
    out->len += 16 * n;
    out->data[out->len] = '\0';
    return 0;
}

/* The decoders share one body per output type. Planes are added in; each plane j holds bits
 * 8j..8j+7 of the difference. A value wider than the output type is truncated (only a
 * corrupt or hostile file can hold one; the checksum normally rejects it first). */
#define COLENC_DECODER(NAME, T)                                                                    \
    int NAME(const uint8_t *p, size_t len, size_t n, T *out)                                       \
    {                                                                                              \
        struct rd r;                                                                               \
        rd_init(&r, p, len);                                                                       \
        unsigned kind = rd_u8(&r);                                                                 \
        if (kind == COLENC_FOR || kind == COLENC_DELTA) {                                          \
            uint64_t base = rd_u64(&r);                                                            \
            unsigned w = rd_u8(&r);                                                                \
            size_t m = kind == COLENC_DELTA ? (n ? n - 1 : 0) : n;                                 \
            if (rd_err(&r) || w > 8 || rd_left(&r) != (size_t)w * m)                               \
                return BS_ECORRUPT;                                                                \
            if (kind == COLENC_DELTA && n == 0)                                                    \
                return 0;                                                                          \
            const uint8_t *d = rd_ptr(&r);                                                         \
            T *o = kind == COLENC_DELTA ? out + 1 : out;                                           \
            if (w == 0) {                                                                          \
                for (size_t i = 0; i < m; i++)                                                     \
                    o[i] = (T)(kind == COLENC_DELTA ? 0 : base);                                   \
            } else {                                                                               \
                uint64_t b0 = kind == COLENC_DELTA ? 0 : base;                                     \
                for (size_t i = 0; i < m; i++)                                                     \
                    o[i] = (T)(b0 + d[i]);                                                         \
                for (unsigned j = 1; j < w; j++) {                                                 \
                    d += m;                                                                        \
                    unsigned sh = 8 * j;                                                           \
                    if (sh >= 8 * sizeof(T))                                                       \
                        break;                                                                     \
                    for (size_t i = 0; i < m; i++)                                                 \
                        o[i] = (T)(o[i] + ((uint64_t)d[i] << sh));                                 \
                }                                                                                  \
            }                                                                                      \
            if (kind == COLENC_DELTA) {                                                            \
                out[0] = (T)base;                                                                  \
                for (size_t i = 1; i < n; i++)                                                     \
                    out[i] = (T)(out[i] + out[i - 1]);                                             \
            }                                                                                      \
            return 0;                                                                              \
        }                                                                                          \
        if (kind == COLENC_DICT) {                                                                 \
            unsigned nd = rd_u16(&r);                                                              \
            uint64_t vals[COLENC_DICT_MAX]; /* wide: gcc -O3 misjudges a narrow T array */         \
            if (nd == 0 || nd > COLENC_DICT_MAX)                                                   \
                return BS_ECORRUPT;                                                                \
            for (unsigned k = 0; k < nd; k++)                                                      \
                vals[k] = rd_u64(&r);                                                              \
            if (rd_err(&r) || rd_left(&r) != n)                                                    \
                return BS_ECORRUPT;                                                                \
            const uint8_t *d = rd_ptr(&r);                                                         \
            for (size_t i = 0; i < n; i++) {                                                       \
                if (d[i] >= nd)                                                                    \
                    return BS_ECORRUPT;                                                            \
                out[i] = (T)vals[d[i]];                                                            \
            }                                                                                      \
            return 0;                                                                              \
        }                                                                                          \
        return BS_ECORRUPT;                                                                        \
    }

COLENC_DECODER(colenc_get_u64, uint64_t)
COLENC_DECODER(colenc_get_u32, uint32_t)
COLENC_DECODER(colenc_get_u16, uint16_t)
COLENC_DECODER(colenc_get_u8, uint8_t)

#if defined(__SSE2__)
/* Addresses i..i+15 from their 16 planes (plane j of record i at d[j * n + i]): a 16 x 16
 * byte transpose in registers. Bytes are interleaved with the planes beside them, then pairs of
 * bytes, then quads, then halves, so each output address is written once, whole. (Plane by
 * plane, every plane was a pass over the whole output, writing one byte in 16: sixteen passes
 * over a megabyte for a full block, a third of the decoding of a block with IPv6 in it.) */
static void planes16_sse2(const uint8_t *d, size_t n, size_t i, struct ipaddr *out)
{
    __m128i x[16], a[16], b[16], c[16];
    for (size_t j = 0; j < 16; j++)
        x[j] = _mm_loadu_si128((const __m128i *)(const void *)(d + j * n + i));
    for (int p = 0; p < 8; p++) { /* planes 2p, 2p+1: records 0-7, then 8-15 */
        a[p] = _mm_unpacklo_epi8(x[2 * p], x[2 * p + 1]);
        a[8 + p] = _mm_unpackhi_epi8(x[2 * p], x[2 * p + 1]);
    }
    for (int g = 0; g < 2; g++) /* planes 4q..4q+3: records 8g + 0-3, then 8g + 4-7 */
        for (int q = 0; q < 4; q++) {
            b[(g * 2) * 4 + q] = _mm_unpacklo_epi16(a[g * 8 + 2 * q], a[g * 8 + 2 * q + 1]);
            b[(g * 2 + 1) * 4 + q] = _mm_unpackhi_epi16(a[g * 8 + 2 * q], a[g * 8 + 2 * q + 1]);
        }
    for (int h = 0; h < 4; h++) /* planes 8r..8r+7: records 4h + 0-1, then 4h + 2-3 */
        for (int r = 0; r < 2; r++) {
            c[(h * 2) * 2 + r] = _mm_unpacklo_epi32(b[h * 4 + 2 * r], b[h * 4 + 2 * r + 1]);
            c[(h * 2 + 1) * 2 + r] = _mm_unpackhi_epi32(b[h * 4 + 2 * r], b[h * 4 + 2 * r + 1]);
        }
    for (int e = 0; e < 8; e++) { /* all sixteen planes: records 2e, 2e + 1 */
        _mm_storeu_si128((__m128i *)(void *)out[i + 2 * e].b,
                         _mm_unpacklo_epi64(c[e * 2], c[e * 2 + 1]));
        _mm_storeu_si128((__m128i *)(void *)out[i + 2 * e + 1].b,
                         _mm_unpackhi_epi64(c[e * 2], c[e * 2 + 1]));
    }
}
#endif

/* n addresses from their 16 byte planes. */
static void planes16_get(const uint8_t *d, size_t n, struct ipaddr *out)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16)
        planes16_sse2(d, n, i, out);
#endif
    for (; i < n; i++) /* one address at a time: written once, whole */
        for (size_t j = 0; j < 16; j++)
            out[i].b[j] = d[j * n + i];
}

/* MIXED46's parts, checked: the IPv4 values decoded into v4, the bitmap and the IPv6
 * addresses borrowed from p. */
static int get_mixed(struct rd *r, size_t n, uint32_t *v4, const uint8_t **bm, const uint8_t **a6)
{
    uint32_t n6 = rd_u32(r), len4 = rd_u32(r);
    size_t nb = (n + 7) / 8;
    if (rd_err(r) || n6 > n || len4 > rd_left(r))
        return BS_ECORRUPT;
    const uint8_t *e4 = rd_ptr(r);
    rd_skip(r, len4);
    if (rd_left(r) != nb + 16 * (size_t)n6 || colenc_get_u32(e4, len4, n, v4))
        return BS_ECORRUPT;
    *bm = rd_ptr(r);
    *a6 = *bm + nb;
    size_t ones = 0;
    for (size_t k = 0; k < nb; k++)
        ones += (size_t)__builtin_popcount((*bm)[k]);
    if (ones != n6 || (n % 8 && ((*bm)[nb - 1] >> (n % 8))))
        return BS_ECORRUPT;
    return 0;
}

int colenc_get_mixed(const uint8_t *p, size_t len, size_t n, uint32_t *v4, uint8_t *is6,
                     struct ipaddr *v6, size_t *n6)
{
    struct rd r;
    rd_init(&r, p, len);
    if (rd_u8(&r) != COLENC_MIXED46)
        return BS_ECORRUPT;
    const uint8_t *bm, *a6;
    int rc = get_mixed(&r, n, v4, &bm, &a6);
    if (rc)
        return rc;
    size_t nb = (n + 7) / 8, k = 0;
    memcpy(is6, bm, nb);
    for (size_t b = 0; b < nb; b++) /* only the IPv6 rows, found by their bits */
        for (unsigned m = bm[b]; m; m &= m - 1)
            v4[b * 8 + (unsigned)__builtin_ctz(m)] = (uint32_t)k++;
    memcpy(v6, a6, 16 * k); /* (get_mixed checked that the bitmap holds k = n6 rows) */
    *n6 = k;
    return 0;
}

int colenc_get_addr(const uint8_t *p, size_t len, size_t n, struct ipaddr *out, uint32_t *tmp)
{
    struct rd r;
    rd_init(&r, p, len);
    unsigned kind = rd_u8(&r);
    if (kind == COLENC_MIXED46) {
        const uint8_t *bm, *a6;
        int rc = get_mixed(&r, n, tmp, &bm, &a6);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++)
            if ((bm[i >> 3] >> (i & 7)) & 1) {
                memcpy(out[i].b, a6, 16);
                a6 += 16;
            } else {
                ipaddr_from_v4(&out[i], tmp[i]);
            }
        return 0;
    }
    if (kind == COLENC_PLANES16) {
        if (rd_err(&r) || rd_left(&r) != 16 * n)
            return BS_ECORRUPT;
        planes16_get(rd_ptr(&r), n, out);
        return 0;
    }
    if (kind == COLENC_DICT) {
        unsigned nd = rd_u16(&r);
        if (rd_err(&r) || nd == 0 || nd > COLENC_DICT_MAX || rd_left(&r) < 16u * nd)
            return BS_ECORRUPT;
        const uint8_t *vals = rd_ptr(&r);
        rd_skip(&r, 16u * nd);
        if (rd_left(&r) != n)
            return BS_ECORRUPT;
        const uint8_t *d = rd_ptr(&r);
        for (size_t i = 0; i < n; i++) {
            if (d[i] >= nd)
                return BS_ECORRUPT;
            memcpy(out[i].b, vals + 16 * d[i], 16);
        }
        return 0;
    }
    return BS_ECORRUPT;
}
