/* pcapin.h - reading captures: pcap and pcapng files, their .gz forms, and '-' for stdin.
 *
 * A thin layer over libpcap: gzip input is inflated through zlib into a stream that libpcap
 * reads (no temporary file). Packets are delivered in file order with their link type, so the
 * caller decodes them with pkt.h. pcapin_open() never prints; errors come back as a code and a
 * message in errbuf.
 *
 * Ownership: a struct pcapin is opened and closed by the caller; packet data passed to the
 * callback is borrowed and valid only during the call.
 */
#ifndef BS_CAPTURE_PCAPIN_H
#define BS_CAPTURE_PCAPIN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pkt.h"

struct pcapin;

struct pcapin_pkt {
    uint64_t ts_us;      /* capture time, microseconds since the epoch */
    const uint8_t *data; /* caplen bytes, borrowed */
    uint32_t caplen;
    uint32_t wirelen;
    enum pkt_link link; /* botscope link type (see pkt.h) */
};

#define PCAPIN_ERRLEN 512

/* Opens path ("-" for stdin; ".gz" suffix or gzip magic is inflated). Returns 0 or a
 * negative code with errbuf describing the problem. */
int pcapin_open(const char *path, struct pcapin **out, char errbuf[PCAPIN_ERRLEN]);

/* Reads the next packet into *pkt. Returns 1 for a packet, 0 at end of file, or a negative
 * code for a damaged file (errbuf set; packets before the damage were delivered). */
int pcapin_next(struct pcapin *in, struct pcapin_pkt *pkt, char errbuf[PCAPIN_ERRLEN]);

/* The libpcap link type (DLT_*) of the file. */
int pcapin_datalink(const struct pcapin *in);

void pcapin_close(struct pcapin *in);

/* Maps a libpcap DLT_* to the botscope link type; returns -1 when unsupported. */
int pcapin_link_from_dlt(int dlt);

#endif
