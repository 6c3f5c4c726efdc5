/* store.h - the flow store: append flow records, read them back column-wise.
 *
 * A store is opened from a URL: a directory path selects the embedded store (store_embedded.c:
 * time-partitioned, immutable, columnar, compressed segment files under that directory); the
 * scheme "clickhouse://HOST:PORT/DB" is reserved for the ClickHouse backend. Backends are
 * `const struct store_backend` vtables listed in one registry (store.c) and chosen by scheme.
 *
 * Writer contract: store_append and store_flush may be called from several threads (they
 * serialise inside the store); store_close from one thread once the others are done, on a
 * store opened with STORE_WRITE. store_append copies the records into an in-memory batch (the
 * caller keeps ownership of its array); a full batch goes to a writer thread of the store,
 * which sorts, encodes, compresses and fsyncs it while the next batch fills (the appender
 * waits only when the writer is a whole batch behind). store_flush hands over the open batch
 * and waits until everything appended before it is written: the immutable segment file(s)
 * become visible atomically (temp file, fsync, rename), so a reader sees a segment whole or
 * not at all, and a crash loses at most the unwritten batches. Only one writer process per
 * directory: store_open(STORE_WRITE) takes an exclusive lock on DIR/LOCK.
 *
 * Reader contract: store_scan walks the blocks whose time range meets [t_lo, t_hi], lets the
 * caller reject a block from its metadata (skip index) without decompressing it, decodes only
 * the requested columns, and hands each block to a callback. A block whose checksum or
 * structure is wrong is reported (BS_ECORRUPT with path and block number, through the
 * on_corrupt callback or the log) and skipped; the scan goes on.
 *
 * Ownership: store_open allocates the handle; store_close frees it (and flushes when
 * writing). The struct store_block passed to on_block and the metadata passed to block_pred
 * are borrowed for the duration of the call only.
 */
#ifndef BS_STORE_STORE_H
#define BS_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow.h"
#include "core/ipaddr.h"

struct config;
struct store; /* opaque handle */

enum store_flags {
    STORE_RDONLY = 0,
    STORE_WRITE = 1,
};

/* Opens (creating if needed, when STORE_WRITE) the store at url: a directory path (embedded
 * store) or, later, "clickhouse://HOST:PORT/DB". Reads [store] settings from cfg (may be NULL
 * = defaults). flags: STORE_RDONLY or STORE_WRITE. Returns 0 or a negative error; errbuf
 * explains (always NUL-terminated). */
int store_open(const char *url, const struct config *cfg, int flags, struct store **out,
               char errbuf[256]);
/* Appends records (copied) to the open write batch. When the batch reaches its cap
 * (store.batch_records) it is handed to the writer thread; a write error there is reported
 * by the next store_flush/store_close (and logged). Returns 0 or a negative error (BS_EUSAGE
 * on a read-only store). */
int store_append(struct store *s, const struct flow_rec *recs, size_t n);
/* Closes the current batch into immutable segment(s), visible atomically, and waits until
 * every record appended before the call is written. Returns 0 when nothing is left unwritten;
 * on failure (e.g. -ENOSPC) the records not written are kept in memory for the next flush, up
 * to the batch cap (see the disk-full policy in store_embedded.c), and the error returned. */
int store_flush(struct store *s);
/* Flushes (when writing) and frees s. Returns the flush result; s is freed regardless. A
 * staged input not committed is discarded. */
int store_close(struct store *s);

/* All or nothing per input (offline runs: import, collect --read). After store_begin (which
 * first flushes what came before; its error is returned), what is appended is written as
 * usual but stays invisible (temp files, removed by the next writer if the process dies) until
 * store_commit makes all of it visible together (manifest lines, renames) and updates the
 * state database. A write error during the input (e.g. -ENOSPC) is not retried: the rest of
 * the input is discarded, and store_commit returns that error with nothing of the input
 * stored (so a rerun of the input does not duplicate anything). store_abort discards the
 * input. One staged input at a time; appends from one thread. Cap: EMB_STAGE_MAX segments per
 * input (BS_ELIMIT). */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_abort(struct store *s);

/* ---- columns ------------------------------------------------------------------------- */

/* One column per field of struct flow_rec. */
enum store_col {
    STORE_COL_START_MS,
    STORE_COL_END_MS,
    STORE_COL_PACKETS,
    STORE_COL_BYTES,
    STORE_COL_SRC,
    STORE_COL_DST,
    STORE_COL_EXPORTER,
    STORE_COL_NEXTHOP,
    STORE_COL_SAMPLING,
    STORE_COL_OBS_DOMAIN,
    STORE_COL_IN_IF,
    STORE_COL_OUT_IF,
    STORE_COL_SRC_AS,
    STORE_COL_DST_AS,
    STORE_COL_SRC_PORT,
    STORE_COL_DST_PORT,
    STORE_COL_VLAN,
    STORE_COL_HAS,
    STORE_COL_PROTO,
    STORE_COL_TCP_FLAGS,
    STORE_COL_TOS,
    STORE_COL_VERSION,
    STORE_COL_DIRECTION,
    STORE_COL_SRC_MASK,
    STORE_COL_DST_MASK,
    STORE_COL_COUNT
};
#define STORE_COLBIT(c) (UINT64_C(1) << (c))
#define STORE_COLS_ALL  (STORE_COLBIT(STORE_COL_COUNT) - 1)

/* An address column of a decoded block, in one of three forms:
 *   IPv4:  v4 only: every address of the block is IPv4, v4[i] row i's (host order);
 *   full:  full only: row i's address in 16-byte form;
 *   mixed: v4, is6 and v6 (only to a scan that asks for it, STORE_SCAN_ADDR_MIXED, and only
 *          where the block stores the column so): row i is IPv6 when bit i of is6 is set
 *          (store_addr_is6), its address v6[v4[i]], else IPv4, v4[i]. The block's n6 IPv6
 *          addresses are not widened to 16 bytes each with the others: a scan that reads
 *          most rows as IPv4 decodes a quarter of the bytes.
 * store_addr_get reads any form. */
struct store_addr_col {
    const uint32_t *v4;
    const struct ipaddr *full;
    const uint8_t *is6;      /* mixed: a bit a row (bit i of byte i/8, least significant first) */
    const struct ipaddr *v6; /* mixed: the IPv6 rows' addresses, in row order */
    size_t n6;               /* mixed: how many */
};

/* Is row i IPv6? (Any form: an IPv4 column never is.) */
static inline bool store_addr_is6(const struct store_addr_col *c, size_t i)
{
    if (c->is6) /* (mixed first: the form a scan that reads it row by row asked for) */
        return (c->is6[i >> 3] >> (i & 7)) & 1;
    return c->full && !ipaddr_is_v4(&c->full[i]);
}

/* Row i's address in 16-byte form, whatever the column's form. */
static inline void store_addr_get(const struct store_addr_col *c, size_t i, struct ipaddr *out)
{
    if (c->full)
        *out = c->full[i];
    else if (c->is6 && ((c->is6[i >> 3] >> (i & 7)) & 1))
        *out = c->v6[c->v4[i]];
    else
        ipaddr_from_v4(out, c->v4[i]);
}

/* One decoded block. Only the requested columns are set; the others are NULL. Records are in
 * ascending start_ms order within a block. */
struct store_block {
    size_t n;
    /* The block's position in the scan: increasing in store order, so a caller scanning with
     * several threads can restore that order (0 from a backend that delivers its blocks in
     * order from one thread). */
    uint64_t seq;
    const uint64_t *start_ms, *end_ms, *packets, *bytes;
    struct store_addr_col src, dst, exporter, nexthop;
    const uint32_t *sampling, *obs_domain, *in_if, *out_if, *src_as, *dst_as;
    const uint16_t *src_port, *dst_port, *vlan, *has;
    const uint8_t *proto, *tcp_flags, *tos, *version, *direction, *src_mask, *dst_mask;
};

/* Fills out with record i (0 <= i < b->n) of a block decoded with STORE_COLS_ALL. */
void store_block_record(const struct store_block *b, size_t i, struct flow_rec *out);

/* Skip index kinds of one column in a block's metadata. */
enum store_skip_kind {
    STORE_SKIP_NONE = 0,  /* only min/max known */
    STORE_SKIP_LIST = 1,  /* sorted list of every distinct value */
    STORE_SKIP_BLOOM = 2, /* Bloom filter over the distinct values */
};

/* Metadata of one block, available before decompression. */
struct store_block_meta {
    const char *path;      /* segment file */
    unsigned index;        /* block number in the segment */
    uint32_t n;            /* records */
    uint64_t t_min, t_max; /* start_ms range */
    uint16_t src_port_min, src_port_max, dst_port_min, dst_port_max;
    struct ipaddr src_min, src_max, dst_min, dst_max;
    const void *skip; /* opaque skip index, queried through the functions below */
};

/* Can the block contain a record whose column col (STORE_COL_SRC/DST/SRC_PORT/DST_PORT) equals
 * the value? False means certainly not; true means maybe. For address columns pass the
 * address, for ports a uint16_t. */
bool store_block_may_contain_addr(const struct store_block_meta *m, enum store_col col,
                                  const struct ipaddr *a);
bool store_block_may_contain_port(const struct store_block_meta *m, enum store_col col,
                                  uint16_t port);

/* ---- scanning ------------------------------------------------------------------------ */

struct store_scan {
    uint64_t t_lo, t_hi; /* blocks whose start_ms range meets [t_lo, t_hi]; records inside
                          * a block are NOT filtered by time (the caller does that) */
    uint64_t cols;       /* STORE_COLBIT mask of the columns to decode */
    unsigned flags;      /* STORE_SCAN_* */
    unsigned threads;    /* 0 or 1: the caller's thread; up to STORE_SCAN_MAX_THREADS */
    /* Optional: return false to skip the block without decompressing it. May be called from
     * several threads at once (thread = 0..threads-1). */
    bool (*block_pred)(void *ctx, unsigned thread, const struct store_block_meta *m);
    /* Called with each decoded block; return 0 to go on, non-zero to stop the scan (the
     * value is returned by store_scan). Called from thread `thread` only for its own
     * blocks: per-thread state needs no lock. */
    int (*on_block)(void *ctx, unsigned thread, const struct store_block *b);
    /* Optional: told about each corrupt block (err = BS_ECORRUPT or a decompression error);
     * by default the store logs a warning naming the path and block. May be called from
     * several threads at once. */
    void (*on_corrupt)(void *ctx, const char *path, unsigned block, int err);
    void *ctx;
};
#define STORE_SCAN_MAX_THREADS 16
/* The caller reads address columns in the mixed form too (struct store_addr_col). */
#define STORE_SCAN_ADDR_MIXED 1u

struct store_scan_stats {
    uint64_t segments, blocks_total, blocks_skipped, blocks_corrupt, records_scanned;
    uint64_t bytes_read; /* compressed column bytes decompressed */
    /* Segment-level damage found by checking the store's manifests (store_embedded.c): each
     * case is logged as a warning naming the file. records_missing counts the records of
     * damaged or missing segments (as committed), which no answer includes. */
    uint64_t segments_damaged, records_missing;
};

/* Scans s as described above. Returns 0, the non-zero value of on_block, or a negative error
 * (I/O errors other than corrupt blocks). st may be NULL. */
int store_scan(struct store *s, const struct store_scan *sc, struct store_scan_stats *st);

/* ---- maintenance --------------------------------------------------------------------- */

struct store_info {
    uint64_t segments, blocks, records, bytes; /* bytes: segment files on disk */
    uint64_t t_min, t_max;                     /* start_ms range (0,0 when empty) */
    /* Damage seen on the way (manifests and segment footers; blocks are not decompressed:
     * store_check does that), each logged as a warning naming the file. */
    uint64_t segments_damaged, records_missing;
};
int store_get_info(struct store *s, struct store_info *out);

/* What store_check found. */
struct store_check_stats {
    uint64_t segments, blocks, records;        /* read and verified */
    uint64_t segments_damaged, blocks_corrupt; /* found damaged */
    uint64_t records_missing;                  /* in damaged segments and blocks */
};
/* Verifies the whole store: every manifest, every segment footer, every block's every column
 * (CRC and structure). Each problem goes to report (path, what; may be NULL: logged as a
 * warning). Returns 0 (damage is counted in st, not an error) or a negative error. */
int store_check(struct store *s, void (*report)(void *ctx, const char *path, const char *what),
                void *ctx, struct store_check_stats *st);

/* Applies retention (store.retention: segments whose partition ended and whose file was
 * written more than retention before now_ms, the wall clock; store.max_size by total size,
 * oldest partitions first). Counts what was deleted and logs it as a warning. Needs
 * STORE_WRITE. */
int store_prune(struct store *s, uint64_t now_ms, uint64_t *segments_deleted,
                uint64_t *bytes_deleted);

/* ---- SQL pushdown ------------------------------------------------------------------- */

/* Runs sql on a backend that evaluates SQL itself (ClickHouse) and streams the answer, in the
 * format the SQL names, to cb in pieces as it arrives; "{flows}" in sql stands for the
 * backend's flow table (database.table; the Distributed table on a cluster). cb returns 0 to
 * go on or a non-zero value that stops and is returned. Returns BS_EUNSUPPORTED for a backend
 * without SQL (the embedded store), else 0 or a negative error with errbuf saying why. With sql
 * NULL only tells whether the backend evaluates SQL (0) or not (BS_EUNSUPPORTED). */
int store_sql(struct store *s, const char *sql, int (*cb)(void *ctx, const uint8_t *p, size_t n),
              void *ctx, char errbuf[256]);
/* What the server read to answer the last successful store_sql: rows and uncompressed bytes
 * (ClickHouse: its query log's read_rows and read_bytes). Returns 0, or BS_EUNSUPPORTED when
 * the backend cannot tell (no SQL, or a server without a query log). */
int store_sql_stats(struct store *s, uint64_t *rows_read, uint64_t *bytes_read);

/* Human-readable backend name ("embedded", "clickhouse"). */
const char *store_backend_name(const struct store *s);

#endif
