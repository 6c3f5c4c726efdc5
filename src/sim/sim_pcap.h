/* sim_pcap.h - a plain libpcap-format file writer for the simulator's captures (the frames
 * come from sim_pkt.h).
 *
 * File format: the classic pcap format (magic 0xa1b2c3d4, microsecond timestamps, version 2.4,
 * written little-endian), one record header per frame: the form every capture tool reads.
 * Callers pass nanoseconds since the epoch; the file keeps microseconds.
 *
 * Ownership: struct sim_pcap owns its FILE and its buffer; sim_pcap_close() releases both and
 * must be called once after sim_pcap_open(), whatever it returned. Frames passed to
 * sim_pcap_write() are borrowed.
 */
#ifndef BS_SIM_SIM_PCAP_H
#define BS_SIM_SIM_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


#define SIM_PCAP_LINKTYPE_ETHERNET 1u
#define SIM_PCAP_SNAPLEN 65535u

struct sim_pcap {
    FILE *f;
    char *iobuf;
    uint64_t frames; /* records written */
    uint64_t bytes;  /* file size so far */
    int err;         /* first write error (sticky), 0 or -errno */
};

/* Creates path (truncating) and writes the file header. Returns 0 or -errno. */
int sim_pcap_open(struct sim_pcap *p, const char *path, uint32_t linktype);

/* Appends one frame (captured whole). Returns 0 or the sticky error. */
int sim_pcap_write(struct sim_pcap *p, uint64_t ts_ns, const uint8_t *frame, size_t len);

/* Flushes and closes. Returns 0 or the first error of the file's life. */
int sim_pcap_close(struct sim_pcap *p);

#endif
