/* tel_pcapmm.h - fast offline reading of uncompressed classic pcap files.
 *
 * The telescope's offline throughput is bounded by how fast packets come off the file, so for
 * the common case - a plain (not gzip, not pcapng, not stdin) classic pcap file - the file is
 * mapped and its records walked in place: no read(2) copies, no per-packet library call.
 * Every record header is checked against the mapping (a record running past the end of the
 * file is reported as damage, as libpcap does), caplen is capped at TEL_PCAPMM_MAX_CAPLEN.
 * Anything else makes tel_pcapmm_open() return BS_EUNSUPPORTED and the caller uses pcapin.h,
 * which reads every format. Microsecond and nanosecond files, either byte order.
 *
 * Ownership: the reader owns the mapping; packet data is borrowed until the next call.
 */
#ifndef BS_TELESCOPE_TEL_PCAPMM_H
#define BS_TELESCOPE_TEL_PCAPMM_H

#include <stddef.h>
#include <stdint.h>

#include "capture/pcapin.h"

#define TEL_PCAPMM_MAX_CAPLEN 262144u

struct tel_pcapmm;

/* Returns 0, BS_EUNSUPPORTED (not a plain classic pcap file: use pcapin), BS_EMALFORMED
 * (pcap header with an unknown link type or impossible snaplen) or -errno. */
int tel_pcapmm_open(const char *path, struct tel_pcapmm **out);
/* 1 with *pkt filled, 0 at the end, BS_ETRUNC when a record runs past the end of the file,
 * BS_EMALFORMED for an impossible record length. */
int tel_pcapmm_next(struct tel_pcapmm *m, struct pcapin_pkt *pkt);
void tel_pcapmm_close(struct tel_pcapmm *m);

#endif
