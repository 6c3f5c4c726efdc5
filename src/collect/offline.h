/* offline.h - collecting from captures: frames -> UDP datagrams -> decoder.
 *
 * Files are read in the order given with one decoder, so template state carries across them
 * (a template capture followed by data captures decodes like a live stream). Each frame goes
 * through dgram_from_frame() (any link type pcapin.h knows, IPv4/IPv6, any UDP port, IP
 * fragments reassembled in a bounded frag_table). A UDP datagram is handed to the decoder when
 * it looks like an export datagram (16-bit version 5/9/10, or sflow_probe() says sFlow v5), or when it comes from an address that already sent export datagrams, or when it goes
 * to a conventional flow port (2055, 2056, 4739, 6343, 9995, 9996); on a flow port or from a
 * known exporter an unrecognised datagram is that exporter's decode error, while other UDP
 * traffic in the capture (DNS, ...) is only counted as not_flow.
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
    uint64_t files;              /* files read to the end */
    uint64_t files_failed;       /* files that could not be opened or were damaged */
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
 * errbuf naming the problem when the file could not be opened (nothing read) or was damaged
 * part-way (the frames before the damage were used). */
int offline_file(struct offline *o, const char *path, char *errbuf, size_t errlen);

/* True when a UDP payload starts like an export datagram of a known version. */
int offline_looks_like_flow(const uint8_t *p, size_t len);

#endif
