/* offline.c - collecting from capture files (see offline.h). */
#include "collect/offline.h"

#include <stdio.h>
#include <string.h>

#include "capture/pcapin.h"
#include "core/err.h"
#include "core/rd.h"
#include "proto/sflow.h"

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
    case 2055: case 2056: case 4739: case 6343: case 9995: case 9996: return 1;
    default: return 0;
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
    struct pcapin_pkt pk;
    while ((rc = pcapin_next(in, &pk, eb)) == 1)
        one_frame(o, &pk);
    pcapin_close(in);
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s: %s", path, *eb ? eb : bs_strerror(rc));
        o->st.files_failed++;
        return rc;
    }
    o->st.files++;
    return 0;
}
