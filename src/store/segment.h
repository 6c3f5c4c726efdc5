/* segment.h - one immutable segment file of the embedded store: encode and decode.
 *
 * A segment holds the records of one time partition written by one flush, sorted by start_ms,
 * cut into blocks of at most SEGMENT_BLOCK_RECORDS records. Each block stores every column
 * separately (colenc.h encoding, then zstd or lz4), each with its own CRC32 over the stored
 * bytes, so a query reads and checks only the columns it needs. The footer carries, per block,
 * the record count, the start time range, min/max of ports and addresses, a skip index for
 * source/destination address and port, and the column directory; it has its own CRC32.
 *
 * File layout (all integers big-endian):
 *   header   "BSSEG\0\0\0" u32 version(2; 1 is read too) u32 flags(0)         16 bytes
 *   columns  compressed column chunks, back to back
 *   footer   u32 nblocks, then per block:
 *              u32 n, u64 t_min, u64 t_max, u16 sp_min sp_max dp_min dp_max,
 *              16B src_min src_max dst_min dst_max,
 *              u8 ncols, per column: u8 id, u8 form, u8 codec, u8 0, u32 raw_len,
 *                                    u32 stored_len, u64 offset, u32 crc32
 *              4 x skip index (src, dst, src_port, dst_port): u8 kind, u32 len, len bytes
 *   trailer  u32 footer_len, u32 footer_crc32, "BSSEGEND"                         16 bytes
 * form: 0 integer, 1 address as IPv4 u32, 2 address in 16-byte form. codec: 0 none, 1 zstd,
 * 2 lz4. Skip index kinds: store.h enum store_skip_kind; a LIST holds sorted distinct values
 * (16-byte addresses or u16 ports), a BLOOM is u8 log2(bits) then the bit array (3 probes).
 *
 * The decoder (seg_parse, seg_decode_block) reads any byte string safely: every length and
 * offset is checked, corrupt input yields BS_ECORRUPT, never a crash.
 */
#ifndef BS_STORE_SEGMENT_H
#define BS_STORE_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/flow.h"
#include "store/store.h"

/* Records per block: large enough for good compression, small enough that time and skip
 * index pruning stay fine-grained and per-thread scratch stays ~10 MB. */
#define SEGMENT_BLOCK_RECORDS 32768
/* Decoder cap: a block claiming more records than this is corrupt. */
#define SEGMENT_BLOCK_MAX 65536
/* Decoder cap on blocks per segment. */
#define SEGMENT_MAX_BLOCKS (1u << 20)

enum seg_codec { SEG_CODEC_NONE = 0, SEG_CODEC_ZSTD = 1, SEG_CODEC_LZ4 = 2 };

struct seg_writer_opts {
    enum seg_codec codec;
    int zstd_level;
    /* With codec zstd: lz4 for the columns where it comes within a quarter of zstd's bytes
     * (segment.c compress_col; [store] compression = auto). */
    bool auto_lz4;
};

/* Writes recs[0..n) to the open file f as one segment, sorting them by start_ms in place
 * first unless they already are in that order (checked in one pass). cctx is a ZSTD_CCtx*
 * reused across calls (may be NULL for lz4). Returns 0, -errno (e.g. -ENOSPC) or BS_ENOMEM.
 * *bytes_out receives the file size. */
int seg_write(FILE *f, struct flow_rec *recs, size_t n, const struct seg_writer_opts *o, void *cctx,
              uint64_t *bytes_out);
/* Writer scratch (block copy, column and skip index buffers, ~6 MB), reusable across
 * seg_write_ordered calls by one thread at a time. */
struct seg_wscratch;
struct seg_wscratch *seg_wscratch_new(void);
void seg_wscratch_free(struct seg_wscratch *w);
/* Same, for records already ordered: writes recs[order[0]], recs[order[1]], ...,
 * recs[order[n-1]] (order NULL: recs[0..n) as they are), which the caller guarantees to be
 * ascending by start_ms; recs is not modified. Each block is gathered once into a scratch
 * copy of SEGMENT_BLOCK_RECORDS records, so the caller never moves whole records to sort.
 * ws: scratch to use (NULL: allocated for this call). */
int seg_write_ordered(FILE *f, const struct flow_rec *recs, const uint32_t *order, size_t n,
                      const struct seg_writer_opts *o, void *cctx, struct seg_wscratch *ws,
                      uint64_t *bytes_out);

struct seg_colref {
    uint8_t present, form, codec;
    uint32_t raw_len, stored_len, crc;
    uint64_t offset;
};

struct seg_skipref {
    uint8_t kind;
    uint32_t len;
    const uint8_t *data;
};

struct seg_block {
    struct store_block_meta meta;
    struct seg_colref cols[STORE_COL_COUNT];
    struct seg_skipref skip[4]; /* src, dst, src_port, dst_port */
};

/* A parsed segment borrows the file bytes p[0..len) (e.g. an mmap) and owns blocks[]. */
struct seg {
    const uint8_t *p;
    size_t len;
    const char *path; /* borrowed, for messages */
    uint32_t nblocks;
    struct seg_block *blocks;
};

/* Parses header, trailer and footer. Returns 0, BS_ECORRUPT or BS_ENOMEM. */
int seg_parse(struct seg *s, const uint8_t *p, size_t len, const char *path);
void seg_release(struct seg *s);

/* Per-thread decode state: decompression context and column buffers. */
struct seg_scratch;
struct seg_scratch *seg_scratch_new(void);
void seg_scratch_free(struct seg_scratch *sc);

/* Decodes the columns in mask cols of block bi into out (arrays owned by sc, valid until the
 * next call with sc), with address columns in the mixed form where stored so when flags has
 * STORE_SCAN_ADDR_MIXED. Checks each column's CRC. Returns 0 or BS_ECORRUPT. *bytes_read (may
 * be NULL) is increased by the stored bytes read. */
int seg_decode_block(const struct seg *s, unsigned bi, uint64_t cols, unsigned flags,
                     struct seg_scratch *sc, struct store_block *out, uint64_t *bytes_read);

/* Skip index queries on a parsed block (store.h explains the contract). */
bool seg_skip_may_contain(const struct seg_skipref *k, const void *val, size_t vlen);

#endif
