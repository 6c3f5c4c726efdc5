/* decoder.h - one decoding context: an exporter table, the flowdec dispatcher, a record batch.
 *
 * The offline run uses one; the live collector runs one per decode thread (each exporter is
 * sticky to one of them, so an exporter's flowdec state is only ever used by one thread). A
 * decoder hands every datagram to its exporter's flowdec state, which recognises the version
 * (NetFlow v5, v9, IPFIX, sFlow v5), decodes it and counts per exporter; records are batched
 * into the shared collect_out.
 *
 * Ownership: the decoder owns its exporter table (and through it the flowdec states); it
 * borrows out, which must outlive it. Not thread-safe: one thread per decoder.
 */
#ifndef BS_COLLECT_DECODER_H
#define BS_COLLECT_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "collect/exporter.h"
#include "collect/out.h"
#include "collect/stats.h"
#include "core/buf.h"
#include "proto/flowdec.h"

struct decoder {
    struct exporter_table ex;
    struct out_batch batch;
    uint64_t datagrams;      /* datagrams handed to decoder_datagram() */
    uint64_t exporter_limit; /* datagrams refused: new exporter beyond collect.max_exporters */
};

/* Returns 0 or BS_ENOMEM. */
int decoder_init(struct decoder *d, struct collect_out *out, size_t max_exporters,
                 const struct flowdec_config *fcfg, uint64_t seed);
/* Flushes the batch and frees everything. */
void decoder_release(struct decoder *d);

/* Decodes one export datagram (a UDP payload) from src received at recv_ms. Returns
 * flowdec_decode()'s status (0 or a BS_E* for an undecodable datagram, already counted in the
 * exporter's statistics), or BS_ELIMIT/BS_ENOMEM when src could not get a state. */
int decoder_datagram(struct decoder *d, const struct ipaddr *src, const uint8_t *p, size_t len,
                     uint64_t recv_ms);
/* Hands the batched records to the output. Returns 0 or the output's error. */
int decoder_flush(struct decoder *d);
/* Ages out parked data sets of quiet exporters (flowdec_exporter_expire). */
void decoder_expire(struct decoder *d, uint64_t now_ms);
/* Appends the persistent state of every exporter (flowdec_exporter_save, concatenated). */
int decoder_save(const struct decoder *d, struct buf *out);
/* Restores concatenated flowdec states from [p, p+len) into this decoder; returns the number
 * restored, or a negative error for a damaged blob (states before the damage are kept). */
int decoder_load(struct decoder *d, const uint8_t *p, size_t len);
/* Copies every exporter's statistics into snaps (at most max). Returns how many exist. */
size_t decoder_snapshot(const struct decoder *d, struct exporter_snap *snaps, size_t max);

#endif
