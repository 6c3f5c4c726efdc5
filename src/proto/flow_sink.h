/* flow_sink.h - where decoders deliver records: a callback the caller owns.
 *
 * Decoders call emit() once per decoded flow record, synchronously; rec is valid only during
 * the call (copy it to keep it). The sink must not call back into the decoder.
 */
#ifndef BS_PROTO_FLOW_SINK_H
#define BS_PROTO_FLOW_SINK_H

#include "core/flow.h"

struct flow_sink {
    void (*emit)(void *arg, const struct flow_rec *rec);
    void *arg;
};

#endif
