/* pcapmm.h - fast reading of uncompressed classic pcap files (mapped, no copies).
 *
 * For the common offline case - a plain (not gzip, not pcapng, not stdin) classic pcap file -
 * the file is mapped and its records walked in place: no read(2) copies, no per-packet library
 * call. pcapmm_open_mem() walks a caller's buffer the same way (tests, fuzzing). Every record
 * header is checked against the end of the data: a record running past it is reported as
 * damage (BS_ETRUNC, as libpcap does), a caplen above PCAPMM_MAX_CAPLEN as BS_EMALFORMED
 * (libpcap's own cap for any link type); a caplen above the file's snaplen is accepted (as
 * libpcap does up to its cap); wirelen is raised to caplen when it claims less. Anything
 * that is not a classic pcap with a link type pkt.h decodes makes the open functions return
 * BS_EUNSUPPORTED and the caller uses pcapin.h, which reads every format (pcapng included)
 * and reports what it cannot read. Microsecond and nanosecond files, either byte order.
 *
 * Ownership: the reader owns its mapping (pcapmm_open) or borrows the buffer, which must
 * outlive it (pcapmm_open_mem); packet data is borrowed until pcapmm_close().
 */
#ifndef BS_CAPTURE_PCAPMM_H
#define BS_CAPTURE_PCAPMM_H

#include <stddef.h>
#include <stdint.h>

#include "capture/pcapin.h"

#define PCAPMM_MAX_CAPLEN 262144u

struct pcapmm;

/* Returns 0, BS_EUNSUPPORTED (not a plain classic pcap file with a supported link type: use
 * pcapin), BS_ENOMEM or -errno (cannot open). */
int pcapmm_open(const char *path, struct pcapmm **out);
/* The same over len bytes at data (borrowed). */
int pcapmm_open_mem(const uint8_t *data, size_t len, struct pcapmm **out);
/* 1 with *pkt filled, 0 at the end, BS_ETRUNC when a record runs past the end of the data,
 * BS_EMALFORMED for a caplen above PCAPMM_MAX_CAPLEN. After an error, the reader stays at
 * the damaged record (every later call returns the same error). */
int pcapmm_next(struct pcapmm *m, struct pcapin_pkt *pkt);
void pcapmm_close(struct pcapmm *m);

#endif
