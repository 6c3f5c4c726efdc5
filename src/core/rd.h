/* rd.h - bounds-checked big-endian reader over a borrowed byte buffer.
 *
 * A reader never reads outside [p, p+len). Any read past the end sets a sticky error
 * (BS_ETRUNC), returns zero, and leaves the cursor at the end; so a decoder reads a run of
 * fields and checks rd_err() once. The reader borrows the buffer; it allocates nothing.
 * Invariant: off <= len.
 */
#ifndef BS_CORE_RD_H
#define BS_CORE_RD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;
};

static inline void rd_init(struct rd *r, const void *p, size_t len)
{
    r->p = (const uint8_t *)p;
    r->len = len;
    r->off = 0;
    r->err = 0;
}

static inline size_t rd_left(const struct rd *r)
{
    return r->len - r->off;
}

static inline int rd_err(const struct rd *r)
{
    return r->err;
}

/* Returns 1 and advances when n bytes are available; otherwise sets the error. */
static inline int rd_need(struct rd *r, size_t n)
{
    if (r->err)
        return 0;
    if (n > r->len - r->off) {
        r->err = BS_ETRUNC;
        r->off = r->len;
        return 0;
    }
    return 1;
}

static inline const uint8_t *rd_ptr(const struct rd *r)
{
    return r->p + r->off;
}

static inline uint8_t rd_u8(struct rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    return r->p[r->off++];
}

static inline uint16_t rd_u16(struct rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    const uint8_t *b = r->p + r->off;
    r->off += 2;
    return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static inline uint32_t rd_u24(struct rd *r)
{
    if (!rd_need(r, 3))
        return 0;
    const uint8_t *b = r->p + r->off;
    r->off += 3;
    return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static inline uint32_t rd_u32(struct rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    const uint8_t *b = r->p + r->off;
    r->off += 4;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t rd_u64(struct rd *r)
{
    uint64_t hi = rd_u32(r);
    return hi << 32 | rd_u32(r);
}

/* Reads an unsigned big-endian integer of 1..8 bytes (reduced-size encoding, RFC 7011 6.2). */
static inline uint64_t rd_uint(struct rd *r, size_t n)
{
    if (n == 0 || n > 8) {
        if (!r->err)
            r->err = BS_EMALFORMED;
        return 0;
    }
    if (!rd_need(r, n))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | r->p[r->off + i];
    r->off += n;
    return v;
}

static inline void rd_copy(struct rd *r, void *dst, size_t n)
{
    if (!rd_need(r, n)) {
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}

static inline void rd_skip(struct rd *r, size_t n)
{
    if (rd_need(r, n))
        r->off += n;
}

/* Splits off the next n bytes as an independent reader; the parent advances past them. */
static inline struct rd rd_sub(struct rd *r, size_t n)
{
    struct rd s;
    if (!rd_need(r, n)) {
        rd_init(&s, r->p + r->off, 0);
        s.err = BS_ETRUNC;
        return s;
    }
    rd_init(&s, r->p + r->off, n);
    r->off += n;
    return s;
}

/* Big-endian loads from a pointer the caller has already bounds-checked. */
static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}
static inline uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t be64(const uint8_t *b)
{
    return (uint64_t)be32(b) << 32 | be32(b + 4);
}

/* Big-endian stores into a buffer the caller has already sized (the writers' counterpart). */
static inline void be16_put(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *b, uint64_t v)
{
    be32_put(b, (uint32_t)(v >> 32));
    be32_put(b + 4, (uint32_t)v);
}

#endif
