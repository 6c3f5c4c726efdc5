/* colenc.h - value encodings for one column of a store block, applied before compression.
 *
 * Integer columns are encoded as one of:
 *   FOR   (frame of reference): base = minimum, then the byte planes of value - base, as few
 *         planes as the largest difference needs (0 planes: a constant column). Byte planes
 *         (all low bytes, then all next bytes, ...) compress far better than interleaved
 *         integers because the high planes are long runs.
 *   DICT  up to 256 distinct values, then one index byte per record (exporters, protocols,
 *         destination ports of scans).
 *   DELTA ascending columns (start times sorted within a block): first value, then FOR of the
 *         successive differences.
 * Address columns are encoded as 32-bit integers when every address of the block is IPv4
 * (the caller decides and passes host-order values), otherwise as a DICT of at most 16 full
 * addresses, as MIXED46 when at most a quarter of them are IPv6, else as 16 byte planes.
 * MIXED46 keeps an ISP's blocks (a few percent IPv6) nearly as small to decompress as IPv4
 * ones: 16 planes inflate 16 bytes an address, MIXED46 about 5.
 *
 * Encoded layout (big-endian fields): u8 kind, then per kind:
 *   FOR:   u64 base, u8 width (0..8), width planes of n bytes
 *   DICT:  u16 count (1..256), count values (u64, or 16 bytes for addresses), n index bytes
 *   DELTA: u64 first, u8 width, width planes of n-1 bytes
 *   PLANES16 (addresses only): 16 planes of n bytes
 *   MIXED46 (addresses only): u32 n6 (the IPv6 rows), u32 len, then len bytes: the IPv4 rows'
 *         host-order values as an integer column (0 in the IPv6 rows), ceil(n/8) bytes of a
 *         bitmap of the IPv6 rows (bit i of byte i/8, least significant first; no bit past
 *         n), then the n6 IPv6 addresses (16 bytes each) in row order
 * The encoders append to a struct buf (caller-owned); the decoders are pure: they read a
 * borrowed buffer, write exactly n values into a caller array, allocate nothing, and return
 * BS_ECORRUPT when the bytes are inconsistent with n (any input is safe to decode).
 */
#ifndef BS_STORE_COLENC_H
#define BS_STORE_COLENC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/ipaddr.h"

enum colenc_kind {
    COLENC_FOR = 0,
    COLENC_DICT = 1,
    COLENC_DELTA = 2,
    COLENC_PLANES16 = 3,
    COLENC_MIXED46 = 4,
};

/* Encodes v[0..n) choosing the smallest of FOR and DICT (or DELTA when sorted is non-zero and
 * v is ascending). Returns 0 or the buffer's error. */
int colenc_put_u64(struct buf *out, const uint64_t *v, size_t n, int sorted);
/* What colenc_put_u64 first computes over v[0..n): minimum, maximum, and whether v is
 * ascending (non-decreasing). A caller that produces v value by value (the segment writer,
 * extracting a column) computes it on the way and calls colenc_put_u64_st, saving a pass;
 * the output is the same bytes. asc only matters when sorted is non-zero. */
struct colenc_stats {
    uint64_t mn, mx;
    int asc;
};
void colenc_stats_of(const uint64_t *v, size_t n, struct colenc_stats *st);
/* colenc_put_u64 with st describing v[0..n) exactly (else the encoding is wrong). */
int colenc_put_u64_st(struct buf *out, const uint64_t *v, size_t n, int sorted,
                      const struct colenc_stats *st);
/* Encodes n 16-byte addresses (DICT, MIXED46 or PLANES16). Returns 0, BS_ENOMEM (MIXED46
 * takes n * 8 bytes of scratch) or the buffer's error. */
int colenc_put_addr(struct buf *out, const struct ipaddr *v, size_t n);

/* Decoders: p/len is the encoded column, n the record count of the block. */
int colenc_get_u64(const uint8_t *p, size_t len, size_t n, uint64_t *out);
int colenc_get_u32(const uint8_t *p, size_t len, size_t n, uint32_t *out);
int colenc_get_u16(const uint8_t *p, size_t len, size_t n, uint16_t *out);
int colenc_get_u8(const uint8_t *p, size_t len, size_t n, uint8_t *out);
/* tmp: room for n values, used while decoding a mixed column (COLENC_MIXED46). */
int colenc_get_addr(const uint8_t *p, size_t len, size_t n, struct ipaddr *out, uint32_t *tmp);
/* Is the encoded address column MIXED46? (Then colenc_get_mixed can decode it.) */
static inline int colenc_is_mixed(const uint8_t *p, size_t len)
{
    return len && p[0] == COLENC_MIXED46;
}
/* A MIXED46 column without widening its IPv4 rows to 16 bytes: v4[i] gets row i's IPv4
 * address, or for an IPv6 row its index into v6, where the IPv6 addresses go in row order;
 * is6 (room for ceil(n/8) bytes) gets the bitmap of the IPv6 rows (bit i of byte i/8, least
 * significant first) and *n6 their count. Row i's address is the one colenc_get_addr gives.
 * v6 needs room for n addresses (a corrupt column is refused before more than n are
 * written). Returns 0 or BS_ECORRUPT (also for a column of another kind). */
int colenc_get_mixed(const uint8_t *p, size_t len, size_t n, uint32_t *v4, uint8_t *is6,
                     struct ipaddr *v6, size_t *n6);

/* Encoded size bound for n values (for buffer caps). */
static inline size_t colenc_bound(size_t n)
{
    return 16 * n + 256 * 16 + 64;
}

#endif
