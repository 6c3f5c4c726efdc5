/* statefile.h - the collector's persisted template and sampler state (collect.state_file).
 *
 * Layout: the 8-byte magic "BSCOLST1" followed by flowdec_exporter_save() blobs, concatenated
 * (each blob carries its exporter address, a version and a CRC-32C; flowdec.h validates them
 * on load). The file is replaced atomically: written to FILE.tmp, fsync'd, renamed over FILE,
 * so a crash leaves the previous complete file. Cap: STATEFILE_MAX bytes on read.
 */
#ifndef BS_COLLECT_STATEFILE_H
#define BS_COLLECT_STATEFILE_H

#include <stddef.h>

#include "core/buf.h"

#define STATEFILE_MAGIC     "BSCOLST1"
#define STATEFILE_MAGIC_LEN 8
#define STATEFILE_MAX       (256u << 20)

/* Writes magic + the n blobs. Returns 0 or -errno. */
int statefile_write(const char *path, const struct buf *const *blobs, size_t n);
/* Reads the blobs part into out (initialised by the caller with a cap >= what it accepts).
 * Returns 0, -ENOENT when there is no file yet, BS_ECORRUPT for a wrong magic, BS_ELIMIT past
 * the cap, or -errno. */
int statefile_read(const char *path, struct buf *out);

#endif
