/* decoder.c - one decoding context (see decoder.h). */
#include "collect/decoder.h"

#include <string.h>

#include "core/err.h"
#include "core/log.h"

static void emit(void *arg, const struct flow_rec *rec)
{
    struct decoder *d = arg;
    out_batch_add(&d->batch, rec);
}

int decoder_init(struct decoder *d, struct collect_out *out, size_t max_exporters,
                 const struct flowdec_config *fcfg, uint64_t seed)
{
    d->datagrams = 0;
    d->exporter_limit = 0;
    out_batch_init(&d->batch, out);
    return exporter_table_init(&d->ex, max_exporters, fcfg, seed);
}

void decoder_release(struct decoder *d)
{
    decoder_flush(d);
    exporter_table_release(&d->ex);
}

int decoder_datagram(struct decoder *d, const struct ipaddr *src, const uint8_t *p, size_t len,
                     uint64_t recv_ms)
{
    d->datagrams++;
    struct exporter *e;
    int rc = exporter_table_get(&d->ex, src, &e);
    if (rc) {
        d->exporter_limit++;
        return rc;
    }
    if (!e->first_ms)
        e->first_ms = recv_ms;
    e->last_ms = recv_ms;
    const struct flow_sink sink = {.emit = emit, .arg = d};
    rc = flowdec_decode(e->dec, p, len, recv_ms, &sink, NULL);
    if (!e->evict_logged && flowdec_exporter_stats(e->dec)->templates_evicted) {
        /* Once per exporter: a flood would otherwise log at its own rate. The count goes on
         * in botscope_collect_exporter_templates_evicted_total. */
        char a[IPADDR_STRLEN];
        e->evict_logged = true;
        log_warn("collect",
                 "exporter %s: template cap (%u) reached, evicting the least recently used "
                 "templates (a template flood, or raise collect.max_templates_per_exporter); "
                 "further evictions are only counted",
                 ipaddr_format(&e->addr, a, sizeof a), (unsigned)d->ex.fcfg.max_templates);
    }
    return rc;
}

int decoder_flush(struct decoder *d)
{
    return out_batch_flush(&d->batch);
}

void decoder_expire(struct decoder *d, uint64_t now_ms)
{
    struct exporter *e;
    for (size_t i = 0; (i = exporter_table_next(&d->ex, i, &e));)
        flowdec_exporter_expire(e->dec, now_ms);
}

int decoder_save(const struct decoder *d, struct buf *out)
{
    struct exporter *e;
    for (size_t i = 0; (i = exporter_table_next(&d->ex, i, &e));) {
        int rc = flowdec_exporter_save(e->dec, out);
        if (rc)
            return rc;
    }
    return 0;
}

int decoder_load(struct decoder *d, const uint8_t *p, size_t len)
{
    int n = 0;
    size_t off = 0;
    while (off < len) {
        struct flowdec_exporter *dec;
        size_t used = 0;
        int rc = flowdec_exporter_load(p + off, len - off, &d->ex.fcfg, &used, &dec);
        if (rc)
            return n ? n : rc;
        if (used == 0) { /* defensive: a loader that consumed nothing would loop forever */
            flowdec_exporter_free(dec);
            return n ? n : BS_EMALFORMED;
        }
        off += used;
        if (exporter_table_adopt(&d->ex, dec) == 0)
            n++;
    }
    return n;
}

size_t decoder_snapshot(const struct decoder *d, struct exporter_snap *snaps, size_t max)
{
    size_t k = 0;
    struct exporter *e;
    for (size_t i = 0; (i = exporter_table_next(&d->ex, i, &e));) {
        if (k < max) {
            snaps[k].addr = e->addr;
            snaps[k].last_ms = e->last_ms;
            snaps[k].st = *flowdec_exporter_stats(e->dec);
        }
        k++;
    }
    return k;
}
