/* pcapw.h - the one writer of classic libpcap capture files (the simulator's exports and
 * darknet captures, the telescope's synthetic captures).
 *
 * File format: the classic pcap format written little-endian: a 24-byte global header (magic
 * 0xa1b2c3d4 for microsecond or 0xa1b23c4d for nanosecond timestamps, version 2.4, snaplen,
 * link type), then per frame a 16-byte record header (seconds, fraction, captured length,
 * original length) and the captured bytes. Frames longer than the snaplen are cut to it, as a
 * capture would cut them (the original length is kept).
 *
 * Atomic files: with opts.atomic the frames go to a hidden temporary name beside the final one
 * (DIR/.NAME.tmp) that pcapw_close() syncs and renames into place only when every write
 * succeeded, so a failed run (a full disk) never leaves a cut capture under the final name.
 * The path "-" writes to stdout (never atomic, never closed).
 *
 * Ownership: struct pcapw owns its FILE, its buffer and its temporary path; pcapw_close() or
 * pcapw_abort() releases them and must be called once after pcapw_open(), whatever it
 * returned. Frames passed to pcapw_write() are borrowed.
 */
#ifndef BS_CORE_PCAPW_H
#define BS_CORE_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PCAPW_LINKTYPE_ETHERNET 1u
#define PCAPW_LINKTYPE_RAW      101u /* bare IPv4/IPv6 packets */
#define PCAPW_SNAPLEN_MAX       262144u

struct pcapw_opts {
    uint32_t linktype; /* PCAPW_LINKTYPE_*; 0 means Ethernet */
    uint32_t snaplen;  /* 0 means 65535; at most PCAPW_SNAPLEN_MAX */
    bool nanosec;      /* nanosecond timestamps (else microseconds) */
    bool atomic;       /* temporary name, renamed by pcapw_close() */
};

struct pcapw {
    FILE *f;
    char *iobuf;
    char *path;     /* final path (NULL for stdout) */
    char *tmp_path; /* temporary path while atomic, else NULL */
    uint32_t snaplen;
    bool nanosec;
    uint64_t frames; /* records written */
    uint64_t bytes;  /* file size so far */
    int err;         /* first write error (sticky), 0 or -errno */
};

/* Creates path (truncating; "-" is stdout) and writes the global header. opts may be NULL
 * (Ethernet, 65535, microseconds, not atomic). Returns 0, -errno, BS_EUSAGE (snaplen above
 * PCAPW_SNAPLEN_MAX) or BS_ENOMEM. */
int pcapw_open(struct pcapw *w, const char *path, const struct pcapw_opts *opts);

/* Appends one frame of len bytes (cut to the snaplen) stamped ts_ns nanoseconds since the
 * epoch (kept as microseconds unless opts.nanosec). Returns 0 or the sticky error. */
int pcapw_write(struct pcapw *w, uint64_t ts_ns, const uint8_t *frame, size_t len);

/* Flushes and closes; an atomic file is synced and renamed into place, or removed when any
 * write failed. Returns 0 or the first error of the file's life. */
int pcapw_close(struct pcapw *w);

/* Closes without publishing: an atomic file's temporary is removed (a plain file stays as
 * far as it got). */
void pcapw_abort(struct pcapw *w);

#endif
