/* fuzz_netflow.c - NetFlow v5/v9, IPFIX through flowdec_decode() with a persistent exporter
 * state, plus the state file loader.
 *
 * Input: byte 0 selects the mode. Even: the rest is cut into up to four datagrams at offsets
 * taken from bytes 1-2 and 3-4 (so a template in one piece meets its data in a later one) and
 * each is decoded twice with one state whose caps are small (8 templates, 2 KiB parked data),
 * after which the state is saved and must load back. Odd: the rest is a state blob for
 * flowdec_exporter_load(); a loaded state then decodes the blob itself as a datagram.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "proto/flowdec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_emit(void *arg, const struct flow_rec *r)
{
    uint64_t *n = arg;
    /* touch the record so a bad one shows under the sanitizers */
    *n += r->packets + r->bytes + r->sampling_rate + r->start_ms + r->end_ms;
}

static void decode_pieces(const uint8_t *data, size_t size)
{
    struct flowdec_config cfg;
    struct flowdec_exporter *ex = NULL;
    struct ipaddr a;
    uint64_t n = 0;
    struct flow_sink sink = {count_emit, &n};
    flowdec_config_default(&cfg);
    cfg.max_templates = 8;
    cfg.pending_bytes = 2048;
    cfg.pending_max_age_ms = 10;
    ipaddr_from_v4(&a, 0x7f000001u);
    if (flowdec_exporter_new(&a, &cfg, &ex) != 0)
        return;
    size_t cut1 = 0, cut2 = 0;
    if (size >= 4) {
        cut1 = ((size_t)data[0] << 8 | data[1]);
        cut2 = ((size_t)data[2] << 8 | data[3]);
        data += 4;
        size -= 4;
    }
    cut1 = size ? cut1 % (size + 1) : 0;
    cut2 = size ? cut2 % (size + 1) : 0;
    if (cut1 > cut2) {
        size_t t = cut1;
        cut1 = cut2;
        cut2 = t;
    }
    const size_t bounds[4] = {0, cut1, cut2, size};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) {
            size_t len = bounds[i + 1] - bounds[i];
            /* exact-size copy so ASan catches reads past a piece */
            uint8_t *p = malloc(len ? len : 1);
            if (!p)
                break;
            memcpy(p, data + bounds[i], len);
            struct flowdec_result res;
            (void)flowdec_decode(ex, p, len, 1 + (uint64_t)round * 5 + (uint64_t)i, &sink, &res);
            free(p);
        }
    }
    struct buf b = BUF_INIT(1u << 24);
    if (flowdec_exporter_save(ex, &b) == 0) {
        struct flowdec_exporter *back = NULL;
        size_t used = 0;
        if (flowdec_exporter_load((const uint8_t *)b.data, b.len, &cfg, &used, &back) != 0 ||
            used != b.len)
            abort(); /* a saved state must load */
        flowdec_exporter_free(back);
    }
    buf_release(&b);
    flowdec_exporter_free(ex);
}

static void load_state(const uint8_t *data, size_t size)
{
    struct flowdec_exporter *ex = NULL;
    size_t used = 0;
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return;
    memcpy(p, data, size);
    if (flowdec_exporter_load(p, size, NULL, &used, &ex) == 0) {
        if (used > size)
            abort();
        uint64_t n = 0;
        struct flow_sink sink = {count_emit, &n};
        (void)flowdec_decode(ex, p + used, size - used, 1, &sink, NULL);
        flowdec_exporter_free(ex);
    }
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        load_state(data + 1, size - 1);
    else
        decode_pieces(data + 1, size - 1);
    return 0;
}
