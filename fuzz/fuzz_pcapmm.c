/* fuzz_pcapmm.c - the mapped classic pcap reader (capture/pcapmm.h) over arbitrary bytes:
 * every packet it yields must lie inside the input, within the caplen cap, with wirelen >=
 * caplen and records back to back; it must stop (end or error) within len / 16 records, and
 * an error must repeat. Each packet also goes through pkt_decode, as the telescope does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture/pcapmm.h"
#include "core/err.h"
#include "proto/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcapmm *m;
    int rc = pcapmm_open_mem(data, size, &m);
    if (rc) {
        if (rc != BS_EUNSUPPORTED || m)
            abort();
        return 0;
    }
    const uint8_t *expect = data + 24 + 16; /* the first record's data */
    struct pcapin_pkt pk;
    size_t records = 0;
    while ((rc = pcapmm_next(m, &pk)) == 1) {
        if (pk.data != expect || pk.caplen > PCAPMM_MAX_CAPLEN || pk.wirelen < pk.caplen ||
            pk.data + pk.caplen > data + size || ++records > size / 16)
            abort();
        expect = pk.data + pk.caplen + 16;
        struct pkt_info pi;
        (void)pkt_decode(pk.data, pk.caplen, pk.link, &pi);
        if (pi.payload_off > pk.caplen)
            abort();
    }
    if (rc != 0 && rc != BS_ETRUNC && rc != BS_EMALFORMED)
        abort();
    if (rc != 0 && pcapmm_next(m, &pk) != rc)
        abort();
    pcapmm_close(m);
    return 0;
}
