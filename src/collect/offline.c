/* offline.c - collecting from capture files (see offline.h). */
#include "collect/offline.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "capture/pcapin.h"
#include "core/err.h"
#include "core/rd.h"
#include "collect/out.h"
#include "proto/sflow.h"
#include "store/store.h"

void offline_init(struct offline *o, struct decoder *d)
{
    memset(&o->st, 0, sizeof o->st);
    o->d = d;
    frag_table_init(&o->ft);
}

void offline_release(struct offline *o)
{
    frag_table_release(&o->ft);
}

int offline_looks_like_flow(const uint8_t *p, size_t len)
{
    if (len < 4)
        return 0;
    uint16_t v16 = be16(p);
    return v16 == 5 || v16 == 9 || v16 == 10 || sflow_probe(p, len);
}

static int flow_port(uint16_t port)
{
    switch (port) {
    case 2055:
    case 2056:
    case 4739:
    case 6343:
    case 9995:
    case 9996:
        return 1;
    default:
        return 0;
    }
}

static void one_frame(struct offline *o, const struct pcapin_pkt *pk)
{
    struct dgram dg;
    o->st.frames++;
    enum dgram_kind k = dgram_from_frame(&o->ft, pk->data, pk->caplen, pk->link, pk->ts_us, &dg);
    o->st.kinds[k]++;
    if (k != DGRAM_OK)
        return;
    if (!offline_looks_like_flow(dg.data, dg.len) && !flow_port(dg.dst_port) &&
        !exporter_table_find(&o->d->ex, &dg.src)) {
        o->st.not_flow++;
        return;
    }
    o->st.datagrams++;
    if (decoder_datagram(o->d, &dg.src, dg.data, dg.len, pk->ts_us / 1000))
        o->st.undecodable++;
}

/* The store the decoder writes to, or NULL (NDJSON output). */
static struct store *out_store(const struct offline *o)
{
    const struct collect_out *out = o->d->batch.out;
    return out && out->kind == COLLECT_OUT_STORE ? out->store : NULL;
}

/* Ends the file's staged input: commits it, or counts and reports what was not stored. */
static int store_file(struct offline *o, struct store *st, uint64_t rec0, const char *path,
                      int read_rc, char *errbuf, size_t errlen)
{
    struct collect_out *out = o->d->batch.out;
    int rc = decoder_flush(o->d);
    if (!rc)
        rc = store_commit(st);
    else
        store_abort(st);
    if (!rc)
        return read_rc;
    uint64_t n = atomic_load(&out->records) - rec0;
    o->st.files_not_stored++;
    o->st.records_not_stored += n;
    atomic_fetch_add(&out->lost, n);
    int zero = 0;
    atomic_compare_exchange_strong(&out->err, &zero, rc);
    snprintf(errbuf, errlen,
             "%s: %s: nothing of this capture was stored (%" PRIu64 " records); the captures "
             "before it are stored, so rerun with this capture and the ones after it",
             path, bs_strerror(rc), n);
    return rc;
}

int offline_file(struct offline *o, const char *path, char *errbuf, size_t errlen)
{
    char eb[PCAPIN_ERRLEN] = "";
    struct pcapin *in;
    int rc = pcapin_open(path, &in, eb);
    if (rc) {
        snprintf(errbuf, errlen, "%s: %s", path, *eb ? eb : bs_strerror(rc));
        o->st.files_failed++;
        return rc;
    }
    struct store *st = out_store(o);
    uint64_t rec0 = 0; /* (read only with a store: the output is then there) */
    /* Records of earlier files still batched in the decoder belong to those files. */
    if (st && !(rc = decoder_flush(o->d))) {
        rec0 = atomic_load(&o->d->batch.out->records);
        rc = store_begin(st);
    }
    if (rc) {
        pcapin_close(in);
        snprintf(errbuf, errlen, "%s: cannot store: %s", path, bs_strerror(rc));
        o->st.files_failed++;
        return rc;
    }
    uint64_t frames0 = o->st.frames;
    struct pcapin_pkt pk;
    while ((rc = pcapin_next(in, &pk, eb)) == 1)
        one_frame(o, &pk);
    pcapin_close(in);
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s: %s", path, *eb ? eb : bs_strerror(rc));
        if (o->st.frames == frames0) {
            o->st.files_failed++;
        } else {
            o->st.files++;
            o->st.files_truncated++;
        }
    } else {
        o->st.files++;
        rc = 0;
    }
    return st ? store_file(o, st, rec0, path, rc, errbuf, errlen) : rc;
}