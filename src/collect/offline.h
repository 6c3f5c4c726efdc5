/* offline.h - collecting from captures: frames -> UDP datagrams -> decoder.
 *
 * Files are read in the order given with one decoder, so template state carries across them
 * (a template capture followed by data captures decodes like a live stream). Each frame goes
 * through dgram_from_frame() (any link type pcapin.h knows, IPv4/IPv6, any UDP port, IP
 * fragments reassembled in a bounded frag_table). A UDP datagram is handed to the decoder when
 * it looks like an export datagram (16-bit version 5/9/10, or sflow_probe() says sFlow v5), or when
 * it comes from an address that already sent export datagrams, or when it goes to a conventional
 * flow port (2055, 2056, 4739, 6343, 9995, 9996); on a flow port or from a known exporter an
 * unrecognised datagram is that exporter's decode error, while other UDP traffic in the capture
 * (DNS, ...) is only counted as not_flow.
 *
 * Accounting: a file is read when it gave frames, also when damage (a capture cut short by a
 * killed tcpdump) stopped the reading part-way: then it is counted in files and in
 * files_truncated, and offline_file() returns the damage error (a warning for the caller: every
 * frame before the damage was used). A file that gave no frame is counted in files_failed.
 *
 * When the decoder writes to a store, each file is stored all or nothing (store_begin and
 * store_commit around it, store.h): a write failure (disk full) stores nothing of that file,
 * counts it in files_not_stored/records_not_stored, and adds its records to the output's lost
 * count and its error (out.h), so the run's final report and exit status say so; the files
 * before it stay stored.
 *
 * Ownership: the caller owns the decoder; offline_release() frees the fragment buffers.
 */
#ifndef BS_COLLECT_OFFLINE_H
#define BS_COLLECT_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "collect/decoder.h"
#include "collect/dgram.h"
#include "collect/frag.h"

struct offline_stats {
    uint64_t files;              /* files read: to the end, or up to damage (then also below) */
    uint64_t files_truncated;    /* of those, read only up to damage part-way (cut short) */
    uint64_t files_failed;       /* files that gave no frame (cannot be opened, damaged at once) */
    uint64_t files_not_stored;   /* files read whose records could not be stored (disk full) */
    uint64_t records_not_stored; /* their records, none of which was stored */
    uint64_t frames;
    uint64_t kinds[DGRAM_KINDS]; /* frames by dgram_kind */
    uint64_t not_flow;           /* UDP datagrams that are not flow exports */
    uint64_t datagrams;          /* export datagrams handed to the decoder */
    uint64_t undecodable;        /* of those, how many the decoder reported an error for */
};

struct offline {
    struct decoder *d;
    struct frag_table ft;
    struct offline_stats st;
};

void offline_init(struct offline *o, struct decoder *d);
void offline_release(struct offline *o);

/* Reads one capture ("-" for stdin) into the decoder. Returns 0; or a negative error with
 * errbuf naming the problem when the file could not be opened (nothing read), was damaged
 * part-way (the frames before the damage were used: see files_truncated), or could not be
 * stored (nothing of it stored: files_not_stored). */
int offline_file(struct offline *o, const char *path, char *errbuf, size_t errlen);

/* True when a UDP payload starts like an export datagram of a known version. */
int offline_looks_like_flow(const uint8_t *p, size_t len);

#endif
