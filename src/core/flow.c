#include "core/flow.h"

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/flow_field.h"
#include "core/jw.h"

const char *flow_version_name(unsigned version)
{
    switch (version) {
    case FLOW_V5:
        return "5";
    case FLOW_V9:
        return "9";
    case FLOW_IPFIX:
        return "10";
    case FLOW_SFLOW5:
        return "sflow5";
    default:
        return "unknown";
    }
}

int flow_to_ndjson(const struct flow_rec *r, struct buf *b)
{
    struct jw w;
    jw_open(&w, b);
    for (size_t i = 0; i < FLOW_F_COUNT; i++)
        if (flow_field_present(&flow_fields[i], r))
            flow_field_json(&flow_fields[i], r, &w, flow_fields[i].name);
    return jw_close(&w);
}
