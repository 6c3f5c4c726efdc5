/* fuzz_sflow.c - sflow_decode over arbitrary datagrams, checking the records it emits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/ipaddr.h"
#include "proto/sflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_emit(void *arg, const struct flow_rec *rec)
{
    uint32_t *n = arg;
    (*n)++;
    if (rec->sampling_rate < 1 || rec->packets != 1 || rec->version != FLOW_SFLOW5 ||
        rec->start_ms != rec->end_ms)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipaddr exporter;
    ipaddr_from_v4(&exporter, 0x7f000001);
    uint32_t n = 0;
    struct flow_sink sink = {check_emit, &n};
    struct sflow_result res;
    (void)sflow_decode(data, size, &exporter, 1, &sink, &res);
    if (n != res.flow_samples)
        abort();
    if ((uint64_t)res.flow_samples + res.counter_samples + res.discard_samples + res.other_samples >
        res.samples)
        abort();
    (void)sflow_probe(data, size);
    return 0;
}
